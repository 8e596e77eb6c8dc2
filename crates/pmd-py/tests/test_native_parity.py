"""The Python batch reproduces the native runner: the same seed, policy and
step limit give the very trajectories `pmd-agent run` records; the
recording reads as a pyarrow.Table."""

import subprocess

import numpy as np
import pyarrow as pa

import pmd_agent
from pmd_agent import VectorEnv

ENVS, ROUNDS, SEED, LIMIT = 2, 60, 5, 25


def test_reset_seed_reproduces_the_native_runner(cli, tmp_path):
    subprocess.run(
        [cli, "run", "--policy", "heuristic", "--envs", str(ENVS), "--threads", "2",
         "--steps", str(ENVS * ROUNDS), "--seed", str(SEED), "--max-episode-steps", str(LIMIT),
         "--record", tmp_path, "--run-id", "parity", "--json"],
        check=True, capture_output=True,
    )
    table = pmd_agent.read_recording(tmp_path)
    assert isinstance(table, pa.Table)
    assert table.schema.metadata[b"pmd_agent.run_seed"] == str(SEED).encode()
    assert table.num_rows == ENVS * ROUNDS

    # Python: a batch that has played something else first, then reset(seed=SEED).
    env = VectorEnv(ENVS, seed=99, threads=2, max_episode_steps=LIMIT, autoreset_mode="SameStep")
    env.reset()
    policy = pmd_agent.Policy("heuristic")
    for _ in range(7):
        env.step(policy.act(env))
    env.reset(seed=SEED)
    rows = {k: [] for k in ("env", "action_id", "reward", "floor", "terminated", "truncated")}
    for _ in range(ROUNDS):
        actions = policy.act(env)
        _, rewards, terminated, truncated, _ = env.step(actions)
        raw = env._native.infos()
        for i in range(ENVS):
            rows["env"].append(i)
            rows["action_id"].append(int(actions[i]))
            rows["reward"].append(float(rewards[i]))
            rows["floor"].append(int(raw["step_floor"][i]))
            rows["terminated"].append(bool(terminated[i]))
            rows["truncated"].append(bool(truncated[i]))
    ours = {k: np.array(v) for k, v in rows.items()}
    recorded = table.sort_by([("env", "ascending"), ("episode", "ascending"), ("step", "ascending")])
    order = np.lexsort((np.arange(len(ours["env"])), ours["env"]))
    for key in ("action_id", "reward", "floor", "terminated", "truncated"):
        np.testing.assert_array_equal(
            np.asarray(recorded[key].to_numpy(zero_copy_only=False)),
            ours[key][order],
            err_msg=key,
        )
    assert int(np.sum(ours["truncated"])) >= 2, "the comparison crosses episode ends"
