"""Rollouts as Arrow tables: what a worker process (a Ray actor, a
multiprocessing worker) sends back to a learner."""

from __future__ import annotations

import numpy as np

from .vector import VectorEnv


def collect(env: VectorEnv, policy, rounds: int, *, observations: bool = True):
    """Plays ``rounds`` lockstep rounds of ``env`` with ``policy`` (anything
    with ``act(env) -> actions``: :class:`~pmd_agent.Policy`,
    :class:`~pmd_agent.TorchPolicy`) and returns one row per environment
    step as a ``pyarrow.Table``: ``env`` (the run-wide index,
    ``first_index + i``), ``round``, ``action``, ``reward``,
    ``terminated``, ``truncated``, ``floor``, ``max_floor`` and, with
    ``observations``, ``obs`` (the 2,395 features the action was chosen
    on, a fixed-size list). The environment goes on from where it is."""
    import pyarrow as pa

    n = env.num_envs
    first = env._first_index
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("action", "reward", "terminated", "truncated", "floor", "max_floor", "obs")
    }
    features = env._features
    for _ in range(int(rounds)):
        if observations:
            cols["obs"].append(features.copy())
        actions = policy.act(env)
        _, rewards, terminated, truncated, infos = env.step(actions)
        cols["action"].append(np.asarray(actions, dtype=np.uint8))
        cols["reward"].append(rewards.copy())
        cols["terminated"].append(terminated.copy())
        cols["truncated"].append(truncated.copy())
        cols["floor"].append(np.asarray(infos["floor"], dtype=np.uint8))
        cols["max_floor"].append(np.asarray(infos["max_floor"], dtype=np.uint8))
    rounds = len(cols["action"])
    data = {
        "env": pa.array(np.tile(np.arange(first, first + n, dtype=np.uint32), rounds)),
        "round": pa.array(np.repeat(np.arange(rounds, dtype=np.uint32), n)),
    }
    for key in ("action", "reward", "terminated", "truncated", "floor", "max_floor"):
        data[key] = pa.array(np.concatenate(cols[key]) if rounds else np.array([]))
    if observations:
        flat = np.concatenate(cols["obs"]).reshape(-1) if rounds else np.zeros(0, np.float32)
        data["obs"] = pa.FixedSizeListArray.from_arrays(pa.array(flat), features.shape[1])
    return pa.table(data)
