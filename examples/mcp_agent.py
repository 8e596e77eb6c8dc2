"""An agent loop through MCP: the shape an LLM agent's loop takes, with a
scripted chooser in place of the model. Each turn it observes, asks
`lookahead` how every legal move plays out over a few turns (the session
does not move), and acts on the best one.

    .venv/bin/python examples/mcp_agent.py --bin target/release/pmd-agent --turns 100

Replace `choose` with a call to your model (give it `observation["view"]`,
`observation["legend"]` and `observation["legal_actions"]`).
"""

from __future__ import annotations

import argparse
import asyncio

from mcp import Client, StdioServerParameters


def choose(observation: dict, outcomes: list[dict], candidates: list[str]) -> str:
    """The candidate whose lookahead earned most (ties: the first)."""
    best = max(range(len(candidates)), key=lambda i: (outcomes[i]["total_reward"], -i))
    return candidates[best]


async def play(bin_path: str, turns: int, seed: int, horizon: int) -> dict:
    async with Client(StdioServerParameters(command=bin_path, args=["mcp"])) as client:
        new = await client.call_tool("session_new", {"seed": seed})
        session = new.structured_content["session"]
        observation = new.structured_content["observation"]
        total = 0.0
        for turn in range(turns):
            if observation["episode_over"]:
                break
            candidates = observation["legal_actions"]
            look = await client.call_tool("lookahead", {
                "session": session,
                "sequences": [[a] + ["wait"] * (horizon - 1) for a in candidates][:16],
            })
            action = choose(observation, look.structured_content["outcomes"], candidates[:16])
            result = (await client.call_tool("act", {"session": session, "action": action})).structured_content
            total += result["reward"]
            observation = result["observation"]
            if result["terminated"] or result["truncated"]:
                break
        return {"turns": turn + 1, "reward": round(total, 3), "floor": observation["floor"],
                "max_floor": observation["max_floor"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/pmd-agent")
    ap.add_argument("--turns", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--horizon", type=int, default=3)
    args = ap.parse_args()
    print(asyncio.run(play(args.bin, args.turns, args.seed, args.horizon)))


if __name__ == "__main__":
    main()
