"""pmd_agent.VectorEnv against the native runner it wraps, same run (issue 20).

    .venv/bin/python benches/python/vector_env.py --bin target/release/pmd-agent \
        --envs 1,8,32 --threads 2 --steps 20000 --reps 5 > report.json

For each batch size N, alternating reps: the native runner
(`pmd-agent run --policy random --envs N --threads T --steps S --json`,
its own steps/s, which times the stepping loop only), then Python:
`VectorEnv(N, threads=T)` stepped S/N rounds with observations returned,
the actions chosen by (a) the native random policy through
`pmd_agent.Policy("random").act(env)` (the very decisions the runner makes)
and (b) numpy (a uniformly random legal action per row from the mask:
what a Python user writes). The wheel must be a release build
(`maturin build --release`). The report gives medians, min and max and
each ratio to the native runner's median, and the median of the per-rep
ratios (each Python run against the native run just before it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import pmd_agent


def native(bin_path: str, n: int, threads: int, steps: int, seed: int) -> float:
    out = subprocess.run(
        [bin_path, "run", "--policy", "random", "--envs", str(n), "--threads", str(threads),
         "--steps", str(steps), "--seed", str(seed), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return float(json.loads(out)["steps_per_s"])


def python(n: int, threads: int, steps: int, seed: int, chooser: str) -> float:
    env = pmd_agent.VectorEnv(n, seed=seed, threads=threads, autoreset_mode="SameStep")
    obs, infos = env.reset()
    rounds = -(-steps // n)
    policy = pmd_agent.Policy("random")
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    if chooser == "native":
        for _ in range(rounds):
            obs, rewards, terminated, truncated, infos = env.step(policy.act(env))
    else:
        for _ in range(rounds):
            masks = infos["action_mask"]
            actions = np.argmax(rng.random(masks.shape) * masks, axis=1)
            obs, rewards, terminated, truncated, infos = env.step(actions)
    seconds = time.perf_counter() - start
    return rounds * n / seconds


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 1), "min": round(min(values), 1),
            "max": round(max(values), 1), "runs": [round(v, 1) for v in values]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/pmd-agent")
    ap.add_argument("--envs", default="1,8,32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    report = {"threads": args.threads, "steps": args.steps, "reps": args.reps,
              "load_before": os.getloadavg()[0], "results": []}
    for n in [int(x) for x in args.envs.split(",")]:
        threads = min(args.threads, n)
        sides = {"native": [], "python_native_policy": [], "python_numpy_random": []}
        for rep in range(args.reps):
            seed = args.seed + rep
            sides["native"].append(native(args.bin, n, threads, args.steps, seed))
            sides["python_native_policy"].append(python(n, threads, args.steps, seed, "native"))
            sides["python_numpy_random"].append(python(n, threads, args.steps, seed, "numpy"))
            print(f"envs {n} rep {rep}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in sides.items()),
                  file=sys.stderr)
        base = statistics.median(sides["native"])
        entry = {"envs": n, "threads": threads}
        for k, v in sides.items():
            entry[k] = summary(v)
            entry[f"{k}_ratio"] = round(statistics.median(v) / base, 3)
            # each rep's Python run against the native run just before it
            paired = [p / q for p, q in zip(v, sides["native"])]
            entry[f"{k}_paired_ratio_median"] = round(statistics.median(paired), 3)
        report["results"].append(entry)
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
