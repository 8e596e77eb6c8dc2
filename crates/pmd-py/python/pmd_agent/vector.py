"""The native batch as a ``gymnasium.vector.VectorEnv``."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector import VectorEnv as _GymVectorEnv
from gymnasium.vector.utils import batch_space

from .spaces import action_space, native_batch, observation_space

_MODES = {
    AutoresetMode.NEXT_STEP: "next_step",
    AutoresetMode.SAME_STEP: "same_step",
    AutoresetMode.DISABLED: "disabled",
}


def _autoreset_mode(mode) -> AutoresetMode:
    if isinstance(mode, AutoresetMode):
        return mode
    try:
        return AutoresetMode(mode)
    except ValueError:
        raise ValueError(
            f"autoreset_mode must be one of {[m.value for m in AutoresetMode]}, not {mode!r}"
        ) from None


def check_actions(actions: Any, num_envs: int) -> np.ndarray:
    """``actions`` as a contiguous int64 array of ``num_envs`` entries, or a
    TypeError (not integers) or ValueError (wrong shape); the range is
    checked natively."""
    array = np.asarray(actions)
    if array.dtype.kind not in "iu":
        raise TypeError(f"actions must be integers, not {array.dtype}")
    if array.shape != (num_envs,):
        raise ValueError(f"actions must have shape ({num_envs},), not {array.shape}")
    return np.ascontiguousarray(array, dtype=np.int64)


class VectorEnv(_GymVectorEnv):
    """N dungeon environments stepped in lockstep by native code.

    Args:
        num_envs: environments (1..4096).
        seed: the run seed: environment i plays episode e with a dungeon
            seed derived from (seed, first_index + i, e), exactly as
            ``pmd-agent run --seed`` does.
        threads: worker threads (None: one per core; 1 steps on the
            calling thread).
        observation: ``"features"`` (float32 vectors), ``"frames"``
            (downsampled grey frames) or ``"both"`` (a Dict space).
        render_mode: ``"rgb_array"`` to render frames for :meth:`render`.
        rom: path of a GBA ROM (default: the bundled test cartridge).
        savestate: bytes or a path: every episode starts from it.
        max_episode_steps: steps after which an episode is truncated
            (None: no limit).
        frame_cap: frames a step may take before it fails.
        autoreset_mode: ``NEXT_STEP`` (default), ``SAME_STEP`` or
            ``DISABLED`` (gymnasium's ``AutoresetMode`` or its value).
        copy: return copies instead of views of the native buffers.
        first_index: this batch's first environment within a run split
            over processes (see ``seed``).

    **Views.** With ``copy=False`` (the default) the observations, rewards,
    flags and ``infos["action_mask"]`` returned by ``reset`` and ``step``
    are read-only numpy views of the native buffers: no copy is made, and
    the next ``step`` or ``reset`` overwrites them in place. Keep a result
    across steps with ``np.copy`` or pass ``copy=True``.

    **Infos.** ``action_mask`` (``[N, 19]`` bool; an environment waiting
    for its reset offers only ``wait``, whose action is ignored), ``floor``
    and ``max_floor`` (the episode's deepest floor so far), and where an
    episode ended ``reason`` (``fainted``, ``cleared``, ``left_dungeon``,
    ``step_limit``, ``frame_cap``, ``step_error``, ``panic``); each key
    ``k`` with its mask ``_k``. With ``SAME_STEP`` the top-level keys
    describe the new episode and the ended one's are in ``final_info``
    (``floor``, ``max_floor``, ``reason``) beside ``final_obs``, with
    ``_final_obs`` / ``_final_info``, as gymnasium lays them out.
    """

    metadata = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": ["rgb_array"],
        "render_fps": 60,
    }

    def __init__(
        self,
        num_envs: int = 8,
        *,
        seed: int = 0,
        threads: int | None = None,
        observation: str = "features",
        render_mode: str | None = None,
        rom: str | None = None,
        savestate: bytes | str | None = None,
        max_episode_steps: int | None = 1000,
        frame_cap: int = 600,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        copy: bool = False,
        first_index: int = 0,
    ) -> None:
        mode = _autoreset_mode(autoreset_mode)
        self._native = native_batch(
            num_envs, seed=seed, threads=threads, observation=observation, render_mode=render_mode,
            rom=rom, savestate=savestate, max_episode_steps=max_episode_steps, frame_cap=frame_cap,
            autoreset=_MODES[mode], first_index=first_index,
        )
        self.single_observation_space = observation_space(observation)
        self.single_action_space = action_space()
        self.num_envs = self._native.num_envs
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.render_mode = render_mode
        self.autoreset_mode = mode
        self.copy = bool(copy)
        self._observation = observation
        self._seed = int(seed)
        self._first_index = int(first_index)
        self._fresh = True
        self._all = np.ones(self.num_envs, dtype=bool)
        self._bind_views()

    def _bind_views(self) -> None:
        """Takes the views of the native buffers once: every step rewrites
        the same memory."""
        n = self._native
        self._features = n.features
        self._frames = n.frame_rows
        self._final_features = n.final_features
        self._final_frames = n.final_frame_rows
        self._masks = n.masks
        self._rewards = n.rewards
        self._terminated = n.terminated
        self._truncated = n.truncated

    # -- gymnasium API ----------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Resets every environment (or those ``options["reset_mask"]``
        selects). ``seed`` (an int) starts the run over from that run seed;
        without one, the first reset gives episode 0 of the constructor's
        seed and later resets each environment's next episode."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(
                f"seed must be one int (the run seed; environment i derives its own), not {type(seed).__name__}"
            )
        super().reset(seed=None if seed is None else int(seed))
        mask = None
        if options is not None and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"])
            if mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
                raise ValueError(
                    f"reset_mask must be a bool array of shape ({self.num_envs},), not {mask.dtype} {mask.shape}"
                )
        if seed is None and self._fresh:
            seed = self._seed
        self._native.reset(seed=None if seed is None else int(seed), mask=mask)
        self._fresh = False
        return self._observations(), self._infos(None)

    def step(self, actions: Any):
        """Steps every environment with its action (``[N]`` integers)."""
        self._native.step(check_actions(actions, self.num_envs))
        terminated, truncated = self._terminated, self._truncated
        done = terminated | truncated
        infos = self._infos(done)
        rewards = self._rewards
        if self.copy:
            rewards, terminated, truncated = rewards.copy(), terminated.copy(), truncated.copy()
        return self._observations(), rewards, terminated, truncated, infos

    def render(self, index: int = 0) -> np.ndarray:
        """Environment ``index``'s screen as ``(160, 240, 3)`` uint8 RGB
        (needs ``render_mode="rgb_array"`` or frame observations)."""
        return self._native.render(index)

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release early: the emulators are freed with the
        object (and the views that keep it alive)."""

    # -- beyond gymnasium -------------------------------------------------

    def snapshot(self, index: int) -> bytes:
        """Environment ``index``'s state (machine and episode) as bytes."""
        return self._native.snapshot(index)

    def restore(self, index: int, data: bytes) -> None:
        """Returns environment ``index`` to a :meth:`snapshot` (of any
        environment of this ROM); its rows are rewritten. Damaged bytes or
        another ROM's state raise ValueError and change nothing."""
        self._native.restore(index, bytes(data))

    def decode_state(self, index: int) -> dict[str, Any]:
        """Environment ``index``'s decoded game state: leader, team,
        monsters, items, traps, stairs and the map's rows."""
        import json

        return json.loads(self._native.decode_state_json(index))

    def stats(self) -> dict[str, Any]:
        """Counters over the batch's life: steps, frames, episodes, mean and
        best deepest floor, failures."""
        return self._native.stats()

    # -- internals --------------------------------------------------------

    def _observations(self):
        features, frames = self._features, self._frames
        if self.copy:
            features = features.copy()
            frames = None if frames is None else frames.copy()
        if self._observation == "features":
            return features
        if self._observation == "frames":
            return frames
        return {"features": features, "frames": frames}

    def _final_observation(self, i: int):
        features = self._final_features[i].copy()
        if self._observation == "features":
            return features
        frames = self._final_frames[i].copy()
        if self._observation == "frames":
            return frames
        return {"features": features, "frames": frames}

    def _infos(self, done: np.ndarray | None) -> dict[str, Any]:
        raw = self._native.infos()
        masks = self._masks.copy() if self.copy else self._masks
        infos: dict[str, Any] = {
            "action_mask": masks,
            "_action_mask": self._all,
            "floor": raw["floor"],
            "_floor": self._all,
            "max_floor": raw["max_floor"],
            "_max_floor": self._all,
        }
        if done is None or not done.any():
            return infos
        reasons = np.array(raw["reason"], dtype=object)
        infos["reason"] = reasons
        infos["_reason"] = done.copy()
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            # gymnasium's layout: final_obs an object array (None where no
            # episode ended), final_info the ended steps' infos as a dict
            # of arrays with their masks.
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(done):
                final_obs[i] = self._final_observation(i)
            infos["final_obs"] = final_obs
            infos["_final_obs"] = done.copy()
            infos["final_info"] = {
                "floor": raw["step_floor"],
                "_floor": done.copy(),
                "max_floor": raw["step_max_floor"],
                "_max_floor": done.copy(),
                "reason": reasons,
                "_reason": done.copy(),
            }
            infos["_final_info"] = done.copy()
            del infos["reason"], infos["_reason"]
        return infos
