"""Renders an emu_bench.py report (JSON) as Markdown tables.

python table.py report.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def sides_table(report: dict[str, Any]) -> list[str]:
    rows = [
        "| side | timed frames | frames/s | steps/s | steps/s, best round | steps/s per CPU-second | fingerprint |",
        "|------|-------------:|---------:|--------:|--------------------:|-----------------------:|-------------|",
    ]
    for name, side in report["sides"].items():
        if name == "vector":
            continue
        if "error" in side:
            rows.append(f"| `{name}` | | | | | | error: {side['error']} |")
            continue
        fp = side["fingerprint"]
        mark = f"{fp['frame_counter']} / {fp['input_hash']} / {fp['ewram_crc32']}"
        if "screen_rgb555_crc32" in fp:
            mark += f", screen {fp['screen_rgb555_crc32']}"
        rows.append(
            f"| `{name}` | {side['timed_frames']:,} | {side['frames_per_s']:,.0f} | {side['steps_per_s']:,.0f} "
            f"| {side['best_steps_per_s']:,.0f} | {side['cpu_steps_per_s']:,.0f} | {mark} |"
        )
    return rows


def vector_table(report: dict[str, Any]) -> list[str]:
    vector = report["sides"].get("vector")
    if not vector or "error" in vector:
        return [f"vector: {vector.get('error') if vector else 'not run'}"]
    rows = [
        f"{vector['agent_steps_per_copy']} agent steps ({vector['frames_per_copy']:,} frames) per copy; "
        f"every copy ended in {vector['expected_fingerprint']}.",
        "",
        "| env | N | steps/s (all copies) | frames/s | steps/s, best round | steps per CPU-second (all processes) |",
        "|-----|--:|---------------------:|---------:|--------------------:|-------------------------------------:|",
    ]
    for kind in ("mgba_lean", "pygba"):
        row = vector.get(kind)
        if not row:
            continue
        for i, n in enumerate(row["N"]):
            rows.append(
                f"| `{kind}` | {n} | {row['steps_per_s'][i]:,.0f} | {row['frames_per_s'][i]:,.0f} "
                f"| {row['best_steps_per_s'][i]:,.0f} | {row.get('cpu_steps_per_s', ['-'] * len(row['N']))[i]:,} |"
            )
    return rows


def breakdown_table(report: dict[str, Any]) -> list[str]:
    breakdown = report.get("breakdown")
    if not breakdown:
        return []
    rows = ["| cost | µs |", "|------|---:|"]
    for key, value in breakdown.items():
        if isinstance(value, (int, float)):
            rows.append(f"| `{key}` | {value:,.3f} |")
    if "note" in breakdown:
        rows += ["", breakdown["note"]]
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[0]) as f:
            report = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"table.py: {argv[0]}: {e}", file=sys.stderr)
        return 2
    m = report["machine"]
    out = [
        f"`{report.get('command', '')}`",
        "",
        f"{m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}; load average "
        f"{m.get('loadavg_start', [0])[0]:.1f} at the start, {m.get('loadavg_end', [0])[0]:.1f} at the end. "
        f"{report['frames']:,} frames, {report['steps']:,} agent steps, {report['rounds']} rounds "
        f"(medians). Fingerprints agree: {report.get('fingerprints_agree')}; "
        f"final screens agree: {report.get('screens_agree')}.",
        "",
        *sides_table(report),
        "",
        *vector_table(report),
        "",
        *breakdown_table(report),
    ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
