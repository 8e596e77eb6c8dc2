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
    "x", "y", "action", "action_id", "legal_actions", "reward", "terminated",
    "truncated", "reason", "rolled_back", "obs",
]
REASONS = {"fainted", "cleared", "left_dungeon", "step_limit", "frame_cap", "step_error", "panic"}
OBS_FEATURES = 15 * 15 * 8 + 14 * 8 * 5 + 3 * 8 + 11  # rollout::obs::FEATURES


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
    for key in ["pmd_agent.run_id", "pmd_agent.rom_crc32", "pmd_agent.policy",
                "pmd_agent.start", "pmd_agent.seed_scope"]:
        if key not in meta:
            fail(f"missing metadata {key}")
    if meta.get("pmd_agent.schema_version", "").split(".")[0] != "3":
        fail(f"schema version {meta.get('pmd_agent.schema_version')}")
    terminated = table.column("terminated").to_pylist()
    truncated = table.column("truncated").to_pylist()
    reasons = table.column("reason").to_pylist()
    for t, u, r in zip(terminated, truncated, reasons):
        if t and u:
            fail("a row both terminated and truncated")
        if (t or u) != (r is not None):
            fail(f"reason {r!r} with terminated={t} truncated={u}")
        if r is not None and r not in REASONS:
            fail(f"unknown reason {r!r}")
    if not any(terminated) and not any(truncated):
        fail("no episode ended: expected some")
    # every action taken was legal: bit action_id of legal_actions is set
    for a, legal in zip(table.column("action_id").to_pylist(),
                        table.column("legal_actions").to_pylist()):
        if not (legal >> a) & 1:
            fail(f"action {a} outside the legal set {legal:#x}")
    floors = table.column("floor").to_pylist()
    if min(floors) < 1:
        fail(f"floor below 1: {min(floors)}")
    if len(sys.argv) > 4:
        import pyarrow.parquet as pq

        parquet = pq.read_table(sys.argv[4])
        if parquet.num_rows != rows or parquet.schema.names != names:
            fail(f"parquet has {parquet.num_rows} rows, columns {parquet.schema.names}")
    print(f"ok: {table.num_rows} rows, {len(names)} columns")


if __name__ == "__main__":
    main()
