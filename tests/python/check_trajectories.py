#!/usr/bin/env python3
"""Reads a pmd-agent trajectory file with pyarrow and checks it.

usage: check_trajectories.py FILE ROWS ENVS [PARQUET]

Exits non-zero with a message on the first mismatch.
"""
import sys

import pyarrow as pa
import pyarrow.ipc as ipc

COLUMNS = [
    "run_id", "env", "episode", "step", "seed", "floor", "hp", "max_hp", "belly",
    "x", "y", "action", "action_id", "reward", "done", "failed", "obs",
]
OBS_FEATURES = 15 * 15 * 8 + 4


def fail(message):
    print(f"check_trajectories: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    path, rows, envs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with pa.OSFile(path, "rb") as f:
        table = ipc.open_stream(f).read_all()
    names = table.schema.names
    for column in COLUMNS:
        if column not in names:
            fail(f"missing column {column}: {names}")
    if table.num_rows != rows:
        fail(f"{table.num_rows} rows, expected {rows}")
    env_values = set(table.column("env").to_pylist())
    if env_values != set(range(envs)):
        fail(f"env values {sorted(env_values)}, expected 0..{envs}")
    obs_type = table.schema.field("obs").type
    if not pa.types.is_fixed_size_list(obs_type) or obs_type.list_size != OBS_FEATURES:
        fail(f"obs has type {obs_type}")
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    for key in ["pmd_agent.run_id", "pmd_agent.rom_crc32", "pmd_agent.policy", "pmd_agent.start"]:
        if key not in meta:
            fail(f"missing metadata {key}")
    actions = set(table.column("action").to_pylist())
    if not actions:
        fail("no actions")
    floors = table.column("floor").to_pylist()
    if min(floors) < 1:
        fail(f"floor below 1: {min(floors)}")
    if len(sys.argv) > 4:
        import pyarrow.parquet as pq

        parquet = pq.read_table(sys.argv[4])
        if parquet.num_rows != rows or parquet.schema.names != names:
            fail(f"parquet has {parquet.num_rows} rows, columns {parquet.schema.names}")
    print(f"ok: {table.num_rows} rows, {len(names)} columns, {len(actions)} distinct actions")


if __name__ == "__main__":
    main()
