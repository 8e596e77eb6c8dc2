"""pmd_agent.VectorEnv against pygba's gymnasium env (issue 20), same run.

Run in benches/python/.venv (made by run.sh) with the release wheel added:

    benches/python/run.sh --help >/dev/null      # creates the venv once
    benches/python/.venv/bin/pip install --no-deps target/wheels/pmd_agent-*.whl   # a --release build
    benches/python/.venv/bin/python benches/python/pygba_vector.py --seconds 10 --reps 3 > report.json

Both sides emulate the bundled cartridge and return an observation per
step: pygba its 240x160 RGB screen (every frame rendered); pmd_agent
either the downsampled grey frame (``observation="frames"``: every frame
rendered too, beside the decoded state, features and mask it always makes)
or its default, the feature vector (``"features"``: nothing rendered, as a
user who reads the game's state rather than its pixels runs it). Units differ per step (a
pmd_agent step is one game turn: as many frames as the game takes, about
10; pygba's is ``frameskip + 1`` frames), so the matched unit is
**emulated frames per second**; pygba's frameskip is set to pmd_agent's
measured mean frames per step, so steps/s are comparable too.
Actions: a random legal action per env (pmd_agent, from the mask) and a
random button combination (pygba, which knows no legality).

- per core: ``VectorEnv(1, threads=1)`` against one ``PyGBAEnv``;
- all cores: ``VectorEnv(2*C, threads=C)`` against gymnasium's
  ``AsyncVectorEnv`` of C ``PyGBAEnv`` processes (C = cores), its default
  shared-memory observations.

pygba's ``reset`` takes no ``options`` (gymnasium's vector envs pass them):
a subclass accepts and ignores them, nothing else changes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
ROM = str(REPO / "tests" / "data" / "cartridge.gba")


def pmd_side(envs: int, threads: int, seconds: float, seed: int, observation: str = "frames") -> dict:
    import pmd_agent

    env = pmd_agent.VectorEnv(envs, seed=seed, threads=threads, observation=observation,
                              max_episode_steps=1000, autoreset_mode="SameStep")
    obs, infos = env.reset()
    rng = np.random.default_rng(seed)
    for _ in range(20):  # warm
        masks = infos["action_mask"]
        obs, *_, infos = env.step(np.argmax(rng.random(masks.shape) * masks, axis=1))
    before = env.stats()
    start = time.perf_counter()
    rounds = 0
    while time.perf_counter() - start < seconds:
        masks = infos["action_mask"]
        obs, *_, infos = env.step(np.argmax(rng.random(masks.shape) * masks, axis=1))
        rounds += 1
    wall = time.perf_counter() - start
    after = env.stats()
    frames = after["frames"] - before["frames"]
    steps = after["steps"] - before["steps"]
    return {"steps_per_s": steps / wall, "frames_per_s": frames / wall,
            "frames_per_step": frames / max(1, steps)}


def make_pygba(frameskip: int):
    from pygba import PyGBA, PyGBAEnv

    class Env(PyGBAEnv):
        def reset(self, seed=None, options=None):  # gymnasium's vector envs pass options
            return super().reset(seed=seed)

    def thunk():
        import gymnasium

        gymnasium.logger.min_level = 40  # pygba warns about the missing game wrapper
        return Env(PyGBA.load(ROM), obs_type="rgb", frameskip=frameskip, max_episode_steps=None)

    return thunk


def pygba_side(processes: int, frameskip: int, seconds: float, seed: int) -> dict:
    import gymnasium

    if processes == 1:
        env = make_pygba(frameskip)()
        env.action_space.seed(seed)
        env.reset()
        step = lambda: env.step(env.action_space.sample())  # noqa: E731
        n = 1
    else:
        env = gymnasium.vector.AsyncVectorEnv([make_pygba(frameskip)] * processes)
        env.action_space.seed(seed)
        env.reset()
        step = lambda: env.step(env.action_space.sample())  # noqa: E731
        n = processes
    for _ in range(20):
        step()
    start = time.perf_counter()
    steps = 0
    while time.perf_counter() - start < seconds:
        step()
        steps += n
    wall = time.perf_counter() - start
    env.close()
    frames = steps * (frameskip + 1)
    return {"steps_per_s": steps / wall, "frames_per_s": frames / wall,
            "frames_per_step": frameskip + 1}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    import pmd_agent
    import pygba

    report = {"cores": args.cores, "seconds_per_side": args.seconds, "reps": args.reps,
              "pmd_agent": pmd_agent.__version__, "pygba": getattr(pygba, "__version__", "0.2.9"),
              "load_before": os.getloadavg()[0], "configs": {}}
    # frames per pmd_agent step, to match pygba's frameskip
    probe = pmd_side(1, 1, 2.0, args.seed)
    frameskip = max(0, round(probe["frames_per_step"]) - 1)
    report["pygba_frameskip"] = frameskip
    configs = {
        "per_core": (lambda s, o: pmd_side(1, 1, args.seconds, s, o),
                     lambda s: pygba_side(1, frameskip, args.seconds, s)),
        "all_cores": (lambda s, o: pmd_side(2 * args.cores, args.cores, args.seconds, s, o),
                      lambda s: pygba_side(args.cores, frameskip, args.seconds, s)),
    }
    for name, (ours, theirs) in configs.items():
        runs = {"pmd_agent_frames": [], "pmd_agent_features": [], "pygba": []}
        for rep in range(args.reps):
            runs["pmd_agent_frames"].append(ours(args.seed + rep, "frames"))
            runs["pmd_agent_features"].append(ours(args.seed + rep, "features"))
            runs["pygba"].append(theirs(args.seed + rep))
            print(f"{name} rep {rep}: " + ", ".join(f"{k} {v[-1]['frames_per_s']:.0f}" for k, v in runs.items())
                  + " frames/s", file=sys.stderr)
        entry = {}
        for side, rs in runs.items():
            entry[side] = {k: round(statistics.median(r[k] for r in rs), 1) for k in rs[0]}
            entry[side]["frames_per_s_runs"] = [round(r["frames_per_s"], 1) for r in rs]
        for side in ("pmd_agent_frames", "pmd_agent_features"):
            entry[f"{side}_ratio"] = round(entry[side]["frames_per_s"] / entry["pygba"]["frames_per_s"], 2)
        report["configs"][name] = entry
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
