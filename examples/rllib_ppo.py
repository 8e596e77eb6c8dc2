"""RLlib's PPO on pmd_agent's native batch, through gymnasium's
``vector_entry_point``: RLlib's env runners build the environments with
``gymnasium.make_vec("pmd_agent/Dungeon-v0", num_envs=N,
vectorization_mode="vector_entry_point")``, i.e. one pmd_agent.VectorEnv
per runner, NEXT_STEP autoreset (what RLlib assumes).

    pip install "ray[rllib]==2.60.0" torch   # RLlib pins gymnasium 1.2.2; pmd_agent needs >= 1.1
    python examples/rllib_ppo.py --iterations 5

Not run in CI (RLlib pins gymnasium 1.2.2 and needs PyTorch); tried on
2026-12-04 with Ray 2.60.0, gymnasium 1.2.2, torch 2.11.0. RLlib's default
RLModule ignores ``infos["action_mask"]``: illegal actions are pressed and
the game ignores them (no turn passes). Masking needs a custom RLModule
(RLlib's action-masking example reads the mask from a Dict observation).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray  # noqa: E402
from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402

import pmd_agent  # noqa: E402,F401  (registers pmd_agent/Dungeon-v0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--envs-per-runner", type=int, default=4)
    ap.add_argument("--max-episode-steps", type=int, default=300)
    args = ap.parse_args()
    ray.init(num_cpus=2, object_store_memory=128 << 20, include_dashboard=False, log_to_driver=False)
    config = (
        PPOConfig()
        .environment("pmd_agent/Dungeon-v0",
                     env_config={"max_episode_steps": args.max_episode_steps, "threads": 1})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=args.envs_per_runner,
                     gym_env_vectorize_mode="vector_entry_point")
        .training(train_batch_size_per_learner=400, minibatch_size=100, num_epochs=1)
    )
    algo = config.build_algo()
    for i in range(args.iterations):
        start = time.time()
        result = algo.train()
        runners = result.get("env_runners", {})
        print(f"iteration {i}: {time.time() - start:.1f} s, "
              f"{runners.get('num_env_steps_sampled_lifetime')} steps sampled, "
              f"mean return {runners.get('episode_return_mean')}")
    algo.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()
