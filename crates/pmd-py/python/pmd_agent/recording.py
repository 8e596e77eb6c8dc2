"""Recordings (``pmd-agent run --record DIR``) as ``pyarrow.Table``."""

from __future__ import annotations

import os
from pathlib import Path

#: The schema's major version this reader understands.
SCHEMA_MAJOR = "3"


def _read_one(path: Path, *, keep_rolled_back: bool):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.ipc as ipc

    with pa.OSFile(str(path), "rb") as source:
        try:
            reader = ipc.open_stream(source)
        except (pa.ArrowInvalid, OSError) as e:
            raise ValueError(f"{path}: not an Arrow IPC stream recording ({e})") from None
        meta = reader.schema.metadata or {}
        version = meta.get(b"pmd_agent.schema_version", b"").decode()
        if version.split(".")[0] != SCHEMA_MAJOR:
            raise ValueError(
                f"{path}: recording schema version {version or 'missing'}; this reader reads {SCHEMA_MAJOR}.x"
            )
        batches = []
        while True:
            try:
                batches.append(reader.read_next_batch())
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError):
                # A run killed mid-write leaves a partial last batch: the
                # file is good up to its last complete batch.
                break
        table = pa.Table.from_batches(batches, schema=reader.schema)
    if not keep_rolled_back and table.num_rows:
        # A rolled-back row is not a transition, unless it ends the episode.
        keep = pc.or_(pc.invert(table["rolled_back"]), table["truncated"])
        table = table.filter(keep)
    return table


def read_recording(path: str | os.PathLike, *, keep_rolled_back: bool = False):
    """The recording at ``path`` — one ``.arrows`` file, or a directory of
    them (concatenated in name order) — as a ``pyarrow.Table`` with the
    schema's metadata (run id, ROM, policy, seed). Rolled-back rows are
    dropped unless ``keep_rolled_back`` (as the native readers do)."""
    import pyarrow as pa

    root = Path(path)
    if root.is_dir():
        files = sorted(root.glob("*.arrows"))
        if not files:
            raise FileNotFoundError(f"{root}: no .arrows recordings in it")
    elif root.exists():
        files = [root]
    else:
        raise FileNotFoundError(f"{root}: no such file or directory")
    tables = [_read_one(f, keep_rolled_back=keep_rolled_back) for f in files]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
