"""One dungeon environment as a ``gymnasium.Env``."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from .spaces import action_space, native_batch, observation_space


class DungeonEnv(gymnasium.Env):
    """One environment (a native batch of one, stepped on the calling
    thread). Observations are copies. Arguments as :class:`VectorEnv`'s;
    ``first_index`` makes it play as environment ``first_index`` of a run
    with run seed ``seed``.

    ``reset()`` without a seed gives episode 0 of the constructor's seed the
    first time and the next episode afterwards; ``reset(seed=s)`` starts
    over from run seed ``s``. Stepping after the episode ended raises
    :class:`pmd_agent.PmdAgentError`: reset first.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(
        self,
        *,
        seed: int = 0,
        observation: str = "features",
        render_mode: str | None = None,
        rom: str | None = None,
        savestate: bytes | str | None = None,
        max_episode_steps: int | None = 1000,
        frame_cap: int = 600,
        first_index: int = 0,
    ) -> None:
        self._native = native_batch(
            1, seed=seed, threads=1, observation=observation, render_mode=render_mode, rom=rom,
            savestate=savestate, max_episode_steps=max_episode_steps, frame_cap=frame_cap,
            autoreset="disabled", first_index=first_index,
        )
        self.observation_space = observation_space(observation)
        self.action_space = action_space()
        self.render_mode = render_mode
        self._observation = observation
        self._seed = int(seed)
        self._fresh = True
        self._action = np.zeros(1, dtype=np.int64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is None and self._fresh:
            seed = self._seed
        self._native.reset(seed=seed)
        self._fresh = False
        return self._obs(), self._info(False)

    def step(self, action):
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            a = np.asarray(action)
            if a.shape != () or a.dtype.kind not in "iu":
                raise TypeError(f"the action must be one integer, not {action!r}")
            action = a.item()
        self._action[0] = action
        self._native.step(self._action)
        terminated = bool(self._native.terminated[0])
        truncated = bool(self._native.truncated[0])
        reward = float(self._native.rewards[0])
        return self._obs(), reward, terminated, truncated, self._info(terminated or truncated)

    def render(self):
        return self._native.render(0)

    def action_masks(self) -> np.ndarray:
        """The legal actions now (``[19]`` bool; sb3-contrib's convention)."""
        return self._native.masks[0].copy()

    def snapshot(self) -> bytes:
        """The state (machine and episode) as bytes."""
        return self._native.snapshot(0)

    def restore(self, data: bytes) -> None:
        """Returns to a :meth:`snapshot`."""
        self._native.restore(0, bytes(data))

    def decode_state(self) -> dict[str, Any]:
        """The decoded game state (leader, team, monsters, items, map)."""
        import json

        return json.loads(self._native.decode_state_json(0))

    def _obs(self):
        features = self._native.features[0].copy()
        if self._observation == "features":
            return features
        frames = self._native.frame_rows[0].copy()
        if self._observation == "frames":
            return frames
        return {"features": features, "frames": frames}

    def _info(self, done: bool) -> dict[str, Any]:
        raw = self._native.infos()
        info = {
            "action_mask": self._native.masks[0].copy(),
            "floor": int(raw["floor"][0]),
            "max_floor": int(raw["max_floor"][0]),
        }
        if done:
            info["reason"] = raw["reason"][0]
        return info
