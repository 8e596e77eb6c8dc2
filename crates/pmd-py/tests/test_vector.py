"""The VectorEnv's contract: spaces, zero-copy views, copies, GIL release,
savestates, rendering and bad input."""

import threading

import gymnasium as gym
import numpy as np
import pytest

import pmd_agent
from pmd_agent import PmdAgentError, VectorEnv


def legal_random(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.choice(np.flatnonzero(m)) for m in masks], dtype=np.int64)


def test_spaces_and_registration():
    env = gym.make_vec("pmd_agent/Dungeon-v0", num_envs=3, vectorization_mode="vector_entry_point",
                       max_episode_steps=50)
    assert isinstance(env, VectorEnv)
    assert env.num_envs == 3
    assert env.single_action_space == gym.spaces.Discrete(19)
    assert env.single_observation_space.shape == (pmd_agent.FEATURES,)
    assert env.observation_space.shape == (3, pmd_agent.FEATURES)
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, infos = env.reset(seed=3)
    assert obs in env.observation_space
    assert infos["action_mask"].shape == (3, 19) and infos["action_mask"].dtype == np.bool_
    assert infos["action_mask"].any(axis=1).all()

    both = VectorEnv(2, observation="both", max_episode_steps=50)
    assert isinstance(both.single_observation_space, gym.spaces.Dict)
    obs, _ = both.reset()
    assert obs["frames"].shape == (2, 1, 80, 120) and obs["frames"].dtype == np.uint8
    assert obs["frames"].any(), "the frames show the screen"
    assert obs in both.observation_space


def test_views_are_the_native_buffers_and_are_overwritten():
    env = VectorEnv(2, threads=1, max_episode_steps=50)
    obs, infos = env.reset(seed=1)
    assert obs.base is env._native  # the array's memory is the native buffer
    assert not obs.flags.writeable
    with pytest.raises(ValueError):
        obs[0, 0] = 1.0
    before = obs.copy()
    rng = np.random.default_rng(0)
    changed = False
    for _ in range(5):
        obs2, rewards, terminated, truncated, infos = env.step(legal_random(infos["action_mask"], rng))
        assert np.shares_memory(obs, obs2)
        assert rewards.base is env._native and terminated.base is env._native
        changed |= not np.array_equal(before, obs2)
    assert changed, "the steps rewrote the very buffer the first view shows"
    np.testing.assert_array_equal(obs, obs2)


def test_copy_true_returns_independent_writable_arrays():
    env = VectorEnv(2, threads=1, copy=True, max_episode_steps=50)
    obs, infos = env.reset(seed=1)
    obs2, rewards, *_ , infos = env.step(legal_random(infos["action_mask"], np.random.default_rng(0)))
    assert not np.shares_memory(obs, obs2)
    assert obs2.flags.writeable and rewards.flags.writeable
    obs2[0, 0] = 5.0  # allowed: a copy


def test_step_releases_the_gil():
    # 32 environments on the calling thread: one step takes many ms, and a
    # Python thread must make progress meanwhile.
    env = VectorEnv(32, threads=1, max_episode_steps=200)
    _, infos = env.reset(seed=2)
    actions = legal_random(infos["action_mask"], np.random.default_rng(0))
    ticks = 0
    stop = threading.Event()
    started = threading.Event()

    def count():
        nonlocal ticks
        started.set()
        while not stop.is_set():
            ticks += 1

    worker = threading.Thread(target=count)
    worker.start()
    started.wait()
    before = ticks
    env.step(actions)
    during = ticks - before
    stop.set()
    worker.join()
    assert during > 1000, f"the counting thread advanced only {during} times during a step"


def test_a_second_thread_gets_an_error_not_a_deadlock():
    env = VectorEnv(32, threads=1, max_episode_steps=200)
    _, infos = env.reset(seed=2)
    actions = legal_random(infos["action_mask"], np.random.default_rng(0))
    errors = []
    go = threading.Event()

    def other():
        go.wait()
        try:
            for _ in range(200):
                env.snapshot(0)
        except PmdAgentError as e:
            errors.append(str(e))

    t = threading.Thread(target=other)
    t.start()
    go.set()
    for _ in range(3):
        env.step(actions)
    t.join(timeout=60)
    assert not t.is_alive()
    assert all("busy" in e for e in errors)


def test_snapshot_restore_round_trip():
    env = VectorEnv(2, threads=1, max_episode_steps=100)
    obs, infos = env.reset(seed=4)
    rng = np.random.default_rng(1)
    for _ in range(3):
        obs, *_, infos = env.step(legal_random(infos["action_mask"], rng))
    saved = env.snapshot(0)
    saved_obs = obs[0].copy()
    saved_state = env.decode_state(0)
    for _ in range(4):
        obs, *_, infos = env.step(legal_random(infos["action_mask"], rng))
    env.restore(0, saved)
    np.testing.assert_array_equal(env._features[0], saved_obs)
    assert env.decode_state(0) == saved_state
    # the restored environment goes on deterministically from there
    a = legal_random(env._masks, rng)
    env.step(a)
    after_first = env._features[0].copy()
    env.restore(0, saved)
    env.step(a)
    np.testing.assert_array_equal(env._features[0], after_first)
    # another environment of the same ROM takes it too
    env.restore(1, saved)
    np.testing.assert_array_equal(env._features[1], env._features[1])
    assert env.decode_state(1)["leader"] == saved_state["leader"]


def test_render_and_decode_state():
    env = VectorEnv(1, render_mode="rgb_array", max_episode_steps=50)
    env.reset()
    frame = env.render()
    assert frame.shape == (160, 240, 3) and frame.dtype == np.uint8 and frame.any()
    state = env.decode_state(0)
    assert {"leader", "map"} <= set(state)
    no_render = VectorEnv(1, max_episode_steps=50)
    no_render.reset()
    with pytest.raises(PmdAgentError, match="render"):
        no_render.render()


def test_bad_input_raises_clear_exceptions(tmp_path):
    env = VectorEnv(2, threads=1, max_episode_steps=50)
    env.reset()
    with pytest.raises(TypeError, match="integers"):
        env.step(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        env.step(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="out of range"):
        env.step(np.array([0, 19]))
    with pytest.raises(ValueError, match="out of range"):
        env.step(np.array([-1, 0]))
    with pytest.raises(IndexError):
        env.snapshot(2)
    with pytest.raises(ValueError, match="snapshot"):
        env.restore(0, b"not a savestate")
    good = env.snapshot(0)
    damaged = bytearray(good)
    damaged[-10] ^= 0xFF
    with pytest.raises(ValueError, match="checksum"):
        env.restore(0, bytes(damaged))
    # the environments were not touched by the refused calls
    env.step(np.array([16, 16]))
    with pytest.raises(ValueError, match="num_envs"):
        VectorEnv(0)
    with pytest.raises(ValueError, match="autoreset_mode"):
        VectorEnv(1, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="observation"):
        VectorEnv(1, observation="pixels")
    rom = tmp_path / "bad.gba"
    rom.write_bytes(b"\0" * 100)
    with pytest.raises(ValueError):
        VectorEnv(1, rom=str(rom))
    with pytest.raises(ValueError):
        VectorEnv(1, rom=str(tmp_path / "missing.gba"))
    with pytest.raises(ValueError):
        VectorEnv(1, savestate=b"garbage that is no savestate")
    with pytest.raises(TypeError, match="seed"):
        env.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": np.array([1, 0])})


def test_savestate_start(tmp_path):
    env = VectorEnv(1, threads=1, max_episode_steps=50)
    env.reset(seed=9)
    env.step(np.array([16]))
    state = env.snapshot(0)
    path = tmp_path / "start.state"
    path.write_bytes(state)
    started = VectorEnv(2, threads=1, savestate=str(path), max_episode_steps=50)
    started.reset()
    # both start from the saved game (floor and leader as saved)
    saved = env.decode_state(0)
    assert started.decode_state(0)["floor"] == saved["floor"]


def test_native_policies_play_legal_actions():
    env = VectorEnv(3, threads=2, max_episode_steps=60)
    obs, infos = env.reset(seed=5)
    for spec in ["random", "heuristic", "search:horizon=4:branches=3:commit=2"]:
        policy = pmd_agent.Policy(spec)
        snap = env.snapshot(0)
        actions = policy.act(env)
        assert actions.shape == (3,) and actions.dtype == np.int64
        assert infos["action_mask"][np.arange(3), actions].all()
        assert env.snapshot(0) == snap, f"{spec} left the environment as it was"
    with pytest.raises(ValueError):
        pmd_agent.Policy("telepathy")
