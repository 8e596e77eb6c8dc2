"""The observation and action spaces, shared by both environment classes."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ._native import ACTION_COUNT, FEATURES, FRAME_SHAPE

#: What an observation holds: the feature vector, the downsampled frame, or both.
OBSERVATIONS = ("features", "frames", "both")


def features_space() -> spaces.Box:
    """One feature vector: 2,395 float32 (see ``pmd_game::obs``). Every
    feature is at least -1 (the stairs' offsets); the scalars that count
    floors and turns have no upper bound on the real game."""
    return spaces.Box(low=-1.0, high=np.inf, shape=(FEATURES,), dtype=np.float32)


def frames_space() -> spaces.Box:
    """One downsampled grey frame, ``(1, 80, 120)`` uint8."""
    return spaces.Box(low=0, high=255, shape=FRAME_SHAPE, dtype=np.uint8)


def observation_space(observation: str) -> spaces.Space:
    """The single-environment observation space for ``observation``."""
    if observation == "features":
        return features_space()
    if observation == "frames":
        return frames_space()
    if observation == "both":
        return spaces.Dict({"features": features_space(), "frames": frames_space()})
    raise ValueError(f"observation must be one of {OBSERVATIONS}, not {observation!r}")


def action_space() -> spaces.Discrete:
    """The 19 actions: 0-7 moves, 8-15 attacks (N, NE, E, SE, S, SW, W, NW),
    16 wait, 17 use item, 18 take the stairs."""
    return spaces.Discrete(ACTION_COUNT)


def native_batch(num_envs, *, seed, threads, observation, render_mode, rom, savestate,
                 max_episode_steps, frame_cap, autoreset, first_index):
    """The native batch both environment classes stand on, with their
    shared argument checks (render mode, observation kind, savestate as
    bytes or a path)."""
    from . import _native

    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', not {render_mode!r}")
    if observation not in OBSERVATIONS:
        raise ValueError(f"observation must be one of {OBSERVATIONS}, not {observation!r}")
    return _native.VecEnv(
        int(num_envs),
        seed=int(seed),
        threads=threads,
        frames=observation in ("frames", "both"),
        render=render_mode == "rgb_array",
        rom=None if rom is None else str(rom),
        savestate=read_savestate(savestate),
        max_episode_steps=max_episode_steps,
        frame_cap=int(frame_cap),
        autoreset=autoreset,
        first_index=int(first_index),
    )


def read_savestate(savestate):
    """Bytes of a savestate given as bytes, a path, or None."""
    if savestate is None or isinstance(savestate, (bytes, bytearray, memoryview)):
        return None if savestate is None else bytes(savestate)
    with open(savestate, "rb") as f:
        return f.read()
