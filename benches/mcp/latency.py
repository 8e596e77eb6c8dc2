"""Tool-call latency of `pmd-agent mcp` under the official Python MCP client
(`mcp` on PyPI) over stdio, and the emulation inside it (issue 21).

    cargo build --release --bin pmd-agent
    .venv/bin/python benches/mcp/latency.py --bin target/release/pmd-agent --calls 300 > report.json

`observe` (no emulation), `act` (one game turn) and the same turns played
natively through `pmd_agent.VectorEnv` (the emulation and the
observation encoding alone, no MCP) give the protocol's own cost per call;
`branch_save` + `branch_restore`, and `lookahead` of 8 sequences x 10 steps.
Medians (p50) and p90 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import numpy as np
from mcp import Client, StdioServerParameters


def pct(values: list[float]) -> dict:
    v = sorted(values)
    return {"p50_ms": round(statistics.median(v) * 1e3, 3),
            "p90_ms": round(v[int(0.9 * (len(v) - 1))] * 1e3, 3), "calls": len(v)}


async def measure(bin_path: str, calls: int, seed: int) -> dict:
    server = StdioServerParameters(command=bin_path, args=["mcp"])
    out = {}
    async with Client(server) as client:
        new = (await client.call_tool("session_new", {"seed": seed, "max_episode_steps": 100000})).structured_content
        sid = new["session"]

        async def timed(tool, args):
            start = time.perf_counter()
            result = await client.call_tool(tool, args)
            elapsed = time.perf_counter() - start
            assert not result.is_error, result.content
            return elapsed, result.structured_content

        for _ in range(20):  # warm
            await timed("observe", {"session": sid})
        out["observe"] = pct([(await timed("observe", {"session": sid}))[0] for _ in range(calls)])

        actions, times = [], []
        await client.call_tool("branch_save", {"session": sid, "name": "start"})
        obs = new["observation"]
        for _ in range(calls):
            # waiting is always legal: every call is one game turn
            a = "wait"
            t, res = await timed("act", {"session": sid, "action": a})
            actions.append(16)
            times.append(t)
        out["act"] = pct(times)

        pairs = []
        for _ in range(calls // 3):
            t1, _ = await timed("branch_save", {"session": sid, "name": "b"})
            t2, _ = await timed("branch_restore", {"session": sid, "name": "b"})
            pairs.append(t1 + t2)
        out["branch_save_plus_restore"] = pct(pairs)

        names = [a for a in obs["legal_actions"] if a.startswith("move_")][:4] + ["wait"] * 4
        seqs = [[names[i % len(names)]] * 10 for i in range(8)]
        out["lookahead_8x10"] = pct([(await timed("lookahead", {"session": sid, "sequences": seqs}))[0]
                                     for _ in range(max(10, calls // 20))])
    return out, actions


def native_turns(seed: int, actions: list[int]) -> dict:
    """The same turns without MCP: a one-env VectorEnv on this thread."""
    import pmd_agent

    env = pmd_agent.VectorEnv(1, seed=seed, threads=1, render_mode="rgb_array", max_episode_steps=100000)
    env.reset()
    a = np.zeros(1, dtype=np.int64)
    times = []
    for action in actions:
        a[0] = action
        start = time.perf_counter()
        env.step(a)
        times.append(time.perf_counter() - start)
    return pct(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/pmd-agent")
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    report = {"load_before": os.getloadavg()[0]}
    mcp_side, actions = asyncio.run(measure(args.bin, args.calls, args.seed))
    report.update(mcp_side)
    report["native_turn_same_actions"] = native_turns(args.seed, actions)
    report["act_minus_native_p50_ms"] = round(report["act"]["p50_ms"] - report["native_turn_same_actions"]["p50_ms"], 3)
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
