"""Each autoreset mode against gymnasium's own SyncVectorEnv over single
DungeonEnvs (environment i of the batch = DungeonEnv(first_index=i)): the
same actions must give the same observations, rewards, flags and (in
SAME_STEP) final observations, step by step, across several episode ends."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from pmd_agent import DungeonEnv, PmdAgentError, VectorEnv

N = 3
STEPS = 60
LIMIT = 7  # episodes end often (step limit), at different times per env


def pair(mode: AutoresetMode):
    ours = VectorEnv(N, seed=11, threads=2, max_episode_steps=LIMIT, autoreset_mode=mode)
    theirs = SyncVectorEnv(
        [
            (lambda i=i: DungeonEnv(seed=11, first_index=i, max_episode_steps=LIMIT))
            for i in range(N)
        ],
        autoreset_mode=mode,
        copy=True,
    )
    return ours, theirs


def actions_from(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.choice(np.flatnonzero(m)) for m in masks], dtype=np.int64)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_autoreset_matches_sync_vector_env(mode):
    ours, theirs = pair(mode)
    assert ours.metadata["autoreset_mode"] == mode
    o1, i1 = ours.reset()
    o2, i2 = theirs.reset()
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(i1["action_mask"], i2["action_mask"])
    rng = np.random.default_rng(0)
    ends = 0
    for step in range(STEPS):
        a = actions_from(i1["action_mask"], rng)
        o1, r1, te1, tr1, i1 = ours.step(a)
        o2, r2, te2, tr2, i2 = theirs.step(a)
        np.testing.assert_array_equal(o1, o2, err_msg=f"step {step}")
        np.testing.assert_array_equal(r1, r2, err_msg=f"step {step}")
        np.testing.assert_array_equal(te1, te2, err_msg=f"step {step}")
        np.testing.assert_array_equal(tr1, tr2, err_msg=f"step {step}")
        done = te1 | tr1
        ends += int(done.sum())
        if mode == AutoresetMode.SAME_STEP and done.any():
            np.testing.assert_array_equal(i1["_final_obs"], i2["_final_obs"])
            np.testing.assert_array_equal(i1["_final_info"], i2["_final_info"])
            for k in np.flatnonzero(done):
                np.testing.assert_array_equal(i1["final_obs"][k], i2["final_obs"][k])
                for key in ("reason", "floor", "max_floor"):
                    assert i1["final_info"][key][k] == i2["final_info"][key][k], key
        for key in ("floor", "max_floor"):
            np.testing.assert_array_equal(i1[key], i2[key], err_msg=f"{key} at step {step}")
        if mode == AutoresetMode.NEXT_STEP and done.any():
            np.testing.assert_array_equal(i1["_reason"], i2["_reason"])
            for k in np.flatnonzero(done):
                assert i1["reason"][k] == i2["reason"][k] == "step_limit"
    assert ends >= N * 5, f"only {ends} episode ends: the test must cross many"


def test_next_step_ignores_the_action_after_an_end():
    env = VectorEnv(1, seed=3, max_episode_steps=2)
    obs, infos = env.reset()
    env.step(np.array([16]))
    _, r, te, tr, infos = env.step(np.array([16]))
    assert tr[0] and infos["reason"][0] == "step_limit"
    # only `wait` is offered while the environment waits for its reset
    assert infos["action_mask"][0].sum() == 1 and infos["action_mask"][0][16]
    obs, r, te, tr, infos = env.step(np.array([3]))
    assert r[0] == 0.0 and not te[0] and not tr[0]
    fresh = VectorEnv(1, seed=3, max_episode_steps=2)
    fresh.reset()
    fresh._native.reset()  # the next episode of env 0, as the autoreset did
    np.testing.assert_array_equal(obs, fresh._features)


def test_disabled_mode_with_reset_mask_matches_sync_vector_env():
    ours, theirs = pair(AutoresetMode.DISABLED)
    o1, i1 = ours.reset()
    o2, i2 = theirs.reset()
    rng = np.random.default_rng(5)
    resets = 0
    for step in range(STEPS):
        a = actions_from(i1["action_mask"], rng)
        o1, r1, te1, tr1, i1 = ours.step(a)
        o2, r2, te2, tr2, i2 = theirs.step(a)
        np.testing.assert_array_equal(o1, o2, err_msg=f"step {step}")
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(te1 | tr1, te2 | tr2)
        done = te1 | tr1
        if done.any():
            with pytest.raises(PmdAgentError, match="reset it first"):
                ours.step(a)  # stepping an ended environment is refused
            o1, i1 = ours.reset(options={"reset_mask": done})
            o2, i2 = theirs.reset(options={"reset_mask": done})
            np.testing.assert_array_equal(o1, o2, err_msg=f"reset after step {step}")
            resets += 1
    assert resets >= 5


def test_reset_seed_reproduces_a_fresh_batch():
    a = VectorEnv(2, seed=0, max_episode_steps=20)
    a.reset()
    rng = np.random.default_rng(2)
    masks = a._masks
    for _ in range(25):
        a.step(actions_from(masks, rng))
    obs, _ = a.reset(seed=42)
    b = VectorEnv(2, seed=42, max_episode_steps=20)
    obs_b, _ = b.reset()
    np.testing.assert_array_equal(obs, obs_b)
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(25):
        oa, ra, *_ = a.step(actions_from(a._masks, rng_a))
        ob, rb, *_ = b.step(actions_from(b._masks, rng_b))
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(ra, rb)
