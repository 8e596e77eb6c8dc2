"""pmd-agent's MCP server against mgba-live-mcp 0.5.0 (PyPI), same run, same
client (the official Python `mcp` 2.3 in the project's venv), same
cartridge (issue 21). Outside CI.

    apt-get install mgba-qt xvfb xauth                 # Debian's mGBA 0.10.1 frontend (Lua scripting on)
    python3 -m venv benches/mcp/.venv-mlm
    benches/mcp/.venv-mlm/bin/pip install mgba-live-mcp==0.5.0 "mcp<2"   # 0.5.0 breaks on mcp 2.x
    .venv/bin/python benches/mcp/mgba_live.py --bin target/release/pmd-agent --calls 100

mgba-live-mcp drives an `mgba-qt` process (here under `xvfb-run`) through
files and a Lua bridge; pmd-agent runs the emulator inside the server.
Each side: read 16 bytes of EWRAM, take a screenshot, press A for one
frame (pmd-agent: `press`; mgba-live-mcp: `input_tap`), and pmd-agent's
own `observe`, `act`, `branch_save`+`branch_restore` (mgba-live-mcp has no
equivalent). p50 / p90 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
ROM = str(ROOT / "tests" / "data" / "cartridge.gba")


def pct(values: list[float]) -> dict:
    v = sorted(values)
    return {"p50_ms": round(statistics.median(v) * 1e3, 2),
            "p90_ms": round(v[int(0.9 * (len(v) - 1))] * 1e3, 2), "calls": len(v)}


async def timed_calls(client, tool, args, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        result = await client.call_tool(tool, args)
        times.append(time.perf_counter() - start)
        assert not result.is_error, (tool, result.content)
    return pct(times)


async def theirs(venv: Path, calls: int) -> dict:
    env = dict(os.environ, PATH="/usr/games:" + os.environ.get("PATH", ""))
    server = StdioServerParameters(command="xvfb-run", args=["-a", str(venv / "bin" / "mgba-live-mcp")], env=env)
    out = {}
    async with Client(server, read_timeout_seconds=120) as client:
        start = time.perf_counter()
        started = await client.call_tool("mgba_live_start", {"rom": ROM})
        assert not started.is_error, started.content
        out["start_s"] = round(time.perf_counter() - start, 2)
        text = " ".join(getattr(c, "text", "") for c in started.content)
        session = (started.structured_content or {}).get("session_id") or json.loads(text).get("session_id")
        s = {"session": session}
        await asyncio.sleep(2)  # let the frontend boot the ROM
        out["read_16_bytes"] = await timed_calls(client, "mgba_live_read_range", {**s, "start": 0x02000000, "length": 16}, calls)
        out["screenshot"] = await timed_calls(client, "mgba_live_get_view", s, max(10, calls // 5))
        out["press_a_1_frame"] = await timed_calls(client, "mgba_live_input_tap", {**s, "key": "A", "frames": 1}, calls)
        await client.call_tool("mgba_live_stop", s)
    return out


async def ours(bin_path: str, calls: int) -> dict:
    out = {}
    async with Client(StdioServerParameters(command=bin_path, args=["mcp"])) as client:
        start = time.perf_counter()
        new = await client.call_tool("session_new", {"max_episode_steps": 100000})
        out["start_s"] = round(time.perf_counter() - start, 2)
        s = {"session": new.structured_content["session"]}
        out["read_16_bytes"] = await timed_calls(client, "read_memory", {**s, "address": "0x02000000", "length": 16}, calls)
        out["screenshot"] = await timed_calls(client, "screenshot", {**s, "scale": 1}, max(10, calls // 5))
        out["press_a_1_frame"] = await timed_calls(client, "press", {**s, "buttons": "a", "frames": 1}, calls)
        out["observe"] = await timed_calls(client, "observe", s, calls)
        out["act_wait"] = await timed_calls(client, "act", {**s, "action": "wait"}, calls)
        await client.call_tool("branch_save", {**s, "name": "b"})
        pairs = []
        for _ in range(calls // 2):
            t = time.perf_counter()
            await client.call_tool("branch_save", {**s, "name": "b"})
            await client.call_tool("branch_restore", {**s, "name": "b"})
            pairs.append(time.perf_counter() - t)
        out["branch_save_plus_restore"] = pct(pairs)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/pmd-agent")
    ap.add_argument("--mlm-venv", default=str(ROOT / "benches" / "mcp" / ".venv-mlm"))
    ap.add_argument("--calls", type=int, default=100)
    args = ap.parse_args()
    report = {"load_before": os.getloadavg()[0]}
    report["pmd_agent"] = asyncio.run(ours(args.bin, args.calls))
    report["mgba_live_mcp"] = asyncio.run(theirs(Path(args.mlm_venv), args.calls))
    for k in ("read_16_bytes", "screenshot", "press_a_1_frame"):
        a, b = report["pmd_agent"][k]["p50_ms"], report["mgba_live_mcp"][k]["p50_ms"]
        report[f"{k}_speedup_p50"] = round(b / a, 1) if a else None
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
