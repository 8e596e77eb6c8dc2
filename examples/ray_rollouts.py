"""Rollouts on Ray: actors each owning a pmd_agent.VectorEnv, returning
Arrow tables through Ray's object store.

    python examples/ray_rollouts.py --actors 2 --envs-per-actor 8 --rounds 500

Locally this starts a small Ray (``ray.init(num_cpus=…)``). On a cluster,
start Ray on every node (``ray start --head`` on one, ``ray start
--address=HEAD:6379`` on the others), install the same ``pmd-agent`` wheel
and Debian's ``libmgba`` on each, and pass ``--address auto``: the same
code then places the actors across the nodes. Actor k plays environments
``k*E .. k*E+E-1`` of one run (``first_index``), so the split does not
change what is played: two actors of 8 produce exactly the rows of one
VectorEnv of 16.
"""

from __future__ import annotations

import argparse
import json
import time

import ray

import pmd_agent


@ray.remote(num_cpus=1)
class RolloutActor:
    """One VectorEnv and one policy in a Ray worker process."""

    def __init__(self, envs: int, seed: int, first_index: int, policy: str,
                 max_episode_steps: int, threads: int = 1) -> None:
        self.env = pmd_agent.VectorEnv(
            envs, seed=seed, first_index=first_index, threads=threads,
            max_episode_steps=max_episode_steps, autoreset_mode="SameStep",
        )
        self.env.reset()
        self.policy = pmd_agent.Policy(policy)

    def collect(self, rounds: int, observations: bool = True):
        """``rounds`` lockstep rounds as a pyarrow.Table (see
        ``pmd_agent.collect``)."""
        return pmd_agent.collect(self.env, self.policy, rounds, observations=observations)


def start_actors(actors: int, envs_per_actor: int, seed: int, policy: str,
                 max_episode_steps: int) -> list:
    return [
        RolloutActor.remote(envs_per_actor, seed, k * envs_per_actor, policy, max_episode_steps)
        for k in range(actors)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--envs-per-actor", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--chunks", type=int, default=5, help="collect calls per actor")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--policy", default="random")
    ap.add_argument("--max-episode-steps", type=int, default=1000)
    ap.add_argument("--no-obs", action="store_true", help="leave the observations out of the tables")
    ap.add_argument("--address", default=None, help="an existing cluster (e.g. auto); default: a local Ray")
    ap.add_argument("--object-store-mb", type=int, default=256)
    args = ap.parse_args()
    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.actors, object_store_memory=args.object_store_mb << 20,
                 include_dashboard=False, log_to_driver=False)
    actors = start_actors(args.actors, args.envs_per_actor, args.seed, args.policy,
                          args.max_episode_steps)
    ray.get([a.collect.remote(1, False) for a in actors])  # warm: built and reset
    per_chunk = max(1, args.rounds // args.chunks)
    start = time.perf_counter()
    refs = [a.collect.remote(per_chunk, not args.no_obs) for a in actors for _ in range(args.chunks)]
    rows = sum(t.num_rows for t in ray.get(refs))
    seconds = time.perf_counter() - start
    print(json.dumps({
        "actors": args.actors, "envs_per_actor": args.envs_per_actor, "rows": rows,
        "seconds": round(seconds, 3), "steps_per_s": round(rows / seconds, 1),
        "observations": not args.no_obs, "policy": args.policy,
    }))


if __name__ == "__main__":
    main()
