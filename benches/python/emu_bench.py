"""What a Python user would pick instead of pmd-agent, measured side by side.

Every side replays the very same per-frame key sequence on the same cartridge
from power-on and, at the end of each agent step, does its per-step
observation work. At the end of a pass each side reports a fingerprint of the
emulated state (the cartridge's frame counter and input hash, and the CRC-32
of the whole 256 KiB EWRAM); fingerprints must agree across sides, so the
figures compare the same emulated work.

Sides (see README.md for what each one does and its frame alignment):

  mgba_lean              PyPI `mgba` bindings over Debian's libmgba 0.10.1:
                         set keys + run frame, no video buffer (mGBA's dummy
                         renderer), RAM read at each step end
  mgba_lean_frameskip    same, but the software renderer stays attached and
                         is skipped frame by frame (what pmd-agent's
                         no-render mode does), for the breakdown
  mgba_lean_render       renders every frame, RAM + framebuffer per step
  mgba_lean_render_last  renders only each step's last frame, RAM + framebuffer
  pygba                  pygba's gymnasium env, one env.step per run of equal
                         keys (its frameskip), RGB observation every env.step
  pygba_per_frame        pygba's env at frameskip 0: one env.step per frame
  stable_retro           stable-retro's RetroEnv (its own mGBA 0.7.0 libretro
                         core), one env.step per frame (its only mode)
  stable_retro_em        stable-retro's emulator object without the env
  vector                 gymnasium AsyncVectorEnv over N copies of a
                         mgba_lean env (one step = one agent step) and of
                         pygba's env

Prints one JSON object on stdout; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import re
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402  (after the environment tweak above)

# --- The cartridge's RAM contract (native/cartridge/cart.h, crates/pmd-game/src/ram_map.rs)
EWRAM_BASE = 0x0200_0000
EWRAM_SIZE = 0x4_0000
ADDR_FRAME = 0x0200_0004  # u32: main-loop iterations
ADDR_KEYS = 0x0200_0008  # u16: keys latched this frame
ADDR_HASH = 0x0200_000C  # u32: h = h*1664525 + keys + 1013904223 per frame
G_DUNGEON = 0x0203_B418  # u32: pointer to the Dungeon struct, 0 outside
G_DUNGEON_RNG_STATE = 0x0203_B454  # u32: the dungeon RNG, seeded by the host at boot
DUNGEON_SIZE = 0x1_CEDC  # sizeof(Dungeon), what the Rust decoder reads
TEAM_INVENTORY = 0x0203_89A8
TEAM_INVENTORY_LEN = 0x60
RAM_OBS_LEN = 4 + DUNGEON_SIZE + TEAM_INVENTORY_LEN
KEY_MASK = 0x3FF
SCREEN_W, SCREEN_H = 240, 160

# mGBA's key bits, by name, as pygba's KEY_MAP names them.
PYGBA_KEY_NAMES = ["A", "B", "select", "start", "right", "left", "up", "down", "R", "L"]
# The libretro joypad slot of each mGBA key bit. stable-retro's GBA button
# order is libretro's: B, Y, SELECT, START, UP, DOWN, LEFT, RIGHT, A, X, L, R
# (the slots named None there, Y and X, do not exist on a GBA).
RETRO_SLOT_OF_BIT = [8, 0, 2, 3, 7, 6, 4, 5, 11, 10]
RETRO_BUTTONS = ["B", None, "SELECT", "START", "UP", "DOWN", "LEFT", "RIGHT", "A", None, "L", "R"]
RETRO_GAME = "PmdAgentBench-GbAdvance-v0"

ALL_SIDES = [
    "mgba_lean",
    "mgba_lean_frameskip",
    "mgba_lean_render",
    "mgba_lean_render_last",
    "pygba",
    "pygba_per_frame",
    "stable_retro",
    "stable_retro_em",
]


class BenchError(Exception):
    """A bad input or a side that cannot run; reported as one line."""


# --------------------------------------------------------------------------
# Inputs


@dataclasses.dataclass(frozen=True)
class Seed:
    """A host write of the dungeon seed during boot, as pmd-agent's
    `boot_with_seed` does: `value` goes to gDungeonRngState once the first
    `after_frames` frames have run (before frame `after_frames`)."""

    after_frames: int
    value: int


@dataclasses.dataclass(frozen=True)
class Workload:
    """The key sequence and the step boundaries, validated.

    `keys[i]` is held during frame i after power-on (frame 0 = the first
    frame after reset); `ends[k]` is the frame index at which agent step k
    ends, so step k covers frames `ends[k-1]..ends[k]` (step 0 starts at 0).

    Each side times the frames from its first timed frame on: the frames
    before it (the seed write's boot frames, and the frames a frontend runs
    by itself when it powers on) are played untimed at every power-on.
    """

    keys: np.ndarray
    ends: np.ndarray
    seed: Seed | None = None

    @property
    def frames(self) -> int:
        return int(self.ends[-1])

    @property
    def steps(self) -> int:
        return len(self.ends)

    def first_timed_frame(self, side_min: int) -> int:
        """The first frame a side times, given the first one it can drive."""
        if self.seed is not None and self.seed.after_frames < side_min:
            raise BenchError(
                f"this side runs frames 0..{side_min - 1} by itself at power-on and cannot "
                f"write the seed after frame {self.seed.after_frames}"
            )
        return max(side_min, self.seed.after_frames if self.seed else 0)

    def keys_between(self, start: int, stop: int) -> list[int]:
        """The keys of frames start..stop-1."""
        return self.keys[start:stop].tolist()

    def timed_steps(self, first: int) -> list[list[int]]:
        """Per agent step, the keys of its frames from frame `first` on
        (steps that end before it are left out)."""
        keys = self.keys.tolist()
        out, start = [], 0
        for end in self.ends.tolist():
            begin = max(start, first)
            if end > begin:
                out.append(keys[begin:end])
            start = end
        return out

    def prefix(self, steps: int) -> Workload:
        """The first `steps` agent steps."""
        steps = min(steps, self.steps)
        ends = self.ends[:steps]
        return Workload(self.keys[: int(ends[-1])], ends, self.seed)


def load_workload(keys_path: str, steps_path: str, max_steps: int | None, seed: Seed | None) -> Workload:
    """Reads and checks `--keys` and `--steps` (see README.md for the format)."""
    keys = _load_array(keys_path, "--keys")
    ends = _load_array(steps_path, "--steps")
    if keys.ndim != 1 or keys.dtype != np.uint16:
        raise BenchError(f"{keys_path}: expected a 1-D uint16 array, got {keys.dtype} {keys.shape}")
    if ends.ndim != 1 or ends.dtype != np.uint32:
        raise BenchError(f"{steps_path}: expected a 1-D uint32 array, got {ends.dtype} {ends.shape}")
    if len(ends) == 0 or len(keys) == 0:
        raise BenchError("the key sequence and the step list must not be empty")
    if np.any(keys & ~np.uint16(KEY_MASK)):
        bad = int(np.flatnonzero(keys & ~np.uint16(KEY_MASK))[0])
        raise BenchError(f"{keys_path}: frame {bad} has bits outside the 10 GBA keys ({int(keys[bad]):#x})")
    if ends[0] == 0 or np.any(np.diff(ends.astype(np.int64)) <= 0):
        raise BenchError(f"{steps_path}: step ends must be strictly increasing and positive")
    if int(ends[-1]) > len(keys):
        raise BenchError(
            f"{steps_path}: the last step ends at frame {int(ends[-1])}, but {keys_path} has only {len(keys)} frames"
        )
    if seed is not None and not 0 <= seed.after_frames < int(ends[-1]):
        raise BenchError(f"--seed-after {seed.after_frames}: must be a frame of the sequence (0..{int(ends[-1]) - 1})")
    workload = Workload(keys[: int(ends[-1])].copy(), ends.copy(), seed)
    if max_steps is not None:
        workload = workload.prefix(max_steps)
    return workload


def _load_array(path: str, flag: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise BenchError(f"{flag} {path}: cannot read a .npy array ({e})") from None


def retro_mask(bits: int) -> np.ndarray:
    """An mGBA key bitmask as stable-retro's 12-slot button array."""
    mask = np.zeros(len(RETRO_BUTTONS), dtype=np.uint8)
    for bit, slot in enumerate(RETRO_SLOT_OF_BIT):
        if bits >> bit & 1:
            mask[slot] = 1
    return mask


def fingerprint(ewram: bytes | memoryview | np.ndarray) -> dict[str, Any]:
    """The state every side must agree on after a pass."""
    data = np.frombuffer(ewram, dtype=np.uint8, count=EWRAM_SIZE)
    word = data.view("<u4")
    return {
        "frame_counter": int(word[(ADDR_FRAME - EWRAM_BASE) // 4]),
        "input_hash": f"{int(word[(ADDR_HASH - EWRAM_BASE) // 4]):#010x}",
        "ewram_crc32": f"{zlib.crc32(data) & 0xFFFFFFFF:#010x}",
    }


def screen_crc32(rgb: np.ndarray) -> str:
    """CRC-32 of a screen (H x W x 3, R G B) at the GBA's 5 bits per channel.

    Frontends widen the 5-bit channels to 8 bits differently (c << 3, or
    c << 3 | c >> 2); the top 5 bits are the GBA's own colour either way.
    """
    return f"{zlib.crc32(np.ascontiguousarray(rgb >> 3)) & 0xFFFFFFFF:#010x}"


SCREEN_KEY = "screen_rgb555_crc32"


class RamObserver:
    """The per-step RAM observation: what the Rust decoder reads.

    `gDungeon` (the pointer), the Dungeon struct it points to and the team
    inventory, copied out of a zero-copy view of EWRAM into one reusable
    buffer.
    """

    def __init__(self, ewram: np.ndarray):
        self.ewram = ewram
        self.obs = np.zeros(RAM_OBS_LEN, dtype=np.uint8)
        self._ptr_at = (G_DUNGEON - EWRAM_BASE) // 4
        self._words = ewram.view("<u4")
        self._team_at = TEAM_INVENTORY - EWRAM_BASE

    def read(self) -> np.ndarray:
        ptr = int(self._words[self._ptr_at])
        obs, ewram = self.obs, self.ewram
        obs[0:4] = ewram[self._ptr_at * 4 : self._ptr_at * 4 + 4]
        at = ptr - EWRAM_BASE
        if 0 <= at and at + DUNGEON_SIZE <= EWRAM_SIZE:
            obs[4 : 4 + DUNGEON_SIZE] = ewram[at : at + DUNGEON_SIZE]
        else:
            obs[4 : 4 + DUNGEON_SIZE] = 0
        obs[4 + DUNGEON_SIZE :] = ewram[self._team_at : self._team_at + TEAM_INVENTORY_LEN]
        return obs


# --------------------------------------------------------------------------
# Side 1: the PyPI `mgba` bindings

_QUIET_LOGGER = None


def quiet_mgba_log() -> None:
    """Drops mGBA's log messages in C, before they are formatted.

    With no logger, libmgba prints every message on stdout (this cartridge
    makes the HLE BIOS log one stub line per frame: VBlankIntrWait);
    `mgba.log.silence()` installs a Python logger, so every message still
    costs a C-to-Python callback. A filter that accepts no level stops them
    in `mLog` itself. Process-wide: it also applies to pygba's core, so
    pygba is measured without the print it does by default.
    """
    global _QUIET_LOGGER
    if _QUIET_LOGGER is not None:
        return
    import mgba.log
    from mgba._pylib import ffi, lib

    logger = mgba.log.NullLogger()
    log_filter = ffi.new("struct mLogFilter *")
    lib.mLogFilterInit(log_filter)
    log_filter.defaultLevels = 0
    logger._native.filter = log_filter
    mgba.log.Logger.install_default(logger)
    _QUIET_LOGGER = (logger, log_filter)  # both must outlive every core


@dataclasses.dataclass(frozen=True)
class Boot:
    """What a side does at every power-on before its timed frames: play the
    keys of its untimed frames, then write the seed (if any)."""

    keys: list[int]
    seed: int | None

    @staticmethod
    def of(workload: Workload, side_min: int) -> Boot:
        first = workload.first_timed_frame(side_min)
        return Boot(workload.keys_between(side_min, first), workload.seed.value if workload.seed else None)


def write_u32(ewram: np.ndarray, address: int, value: int) -> None:
    ewram.view("<u4")[(address - EWRAM_BASE) // 4] = value


class MgbaCore:
    """One mGBA core through the PyPI `mgba` bindings (cffi over libmgba).

    `mode` chooses the video path:
      "dummy"        no video buffer is ever set: mGBA attaches its dummy
                     renderer and draws nothing (the cheapest way)
      "frameskip"    a video buffer is set (software renderer attached) and
                     every frame is skipped through video.frameskipCounter,
                     as pmd-agent's shim does for its no-render mode
      "render"       every frame is drawn into the buffer
      "render_last"  the renderer draws only the last frame of each step
    """

    def __init__(self, rom: str, mode: str, boot: Boot | None = None):
        import mgba.core
        import mgba.image
        from mgba._pylib import ffi

        quiet_mgba_log()
        core = mgba.core.load_path(rom)
        if core is None:
            raise BenchError(f"{rom}: mGBA cannot load it")
        # As pmd-agent's shim: no BIOS file, HLE BIOS, boot animation skipped.
        core._core.opts.useBios = False
        core._core.opts.skipBios = True
        self.core = core
        self.mode = mode
        self.boot = boot or Boot([], None)
        self.framebuffer = None
        if mode != "dummy":
            self.framebuffer = mgba.image.Image(SCREEN_W, SCREEN_H)
            core.set_video_buffer(self.framebuffer)
        core.reset()
        size = ffi.new("size_t *")
        ptr = core._core.getMemoryBlock(core._core, 2, size)  # REGION_WORKING_RAM
        if size[0] != EWRAM_SIZE:
            raise BenchError(f"mGBA reports {size[0]} bytes of EWRAM, {EWRAM_SIZE} expected")
        self.ewram = np.frombuffer(ffi.buffer(ptr, EWRAM_SIZE), dtype=np.uint8)
        self.ram = RamObserver(self.ewram)
        self.video = core._native.video
        self.screen = None
        self.screen_obs = None
        if self.framebuffer is not None:
            raw = np.frombuffer(ffi.buffer(self.framebuffer.buffer), dtype=np.uint8)
            self.screen = raw.reshape(SCREEN_H, SCREEN_W, 4)
            self.screen_obs = np.zeros((SCREEN_H, SCREEN_W, 4), dtype=np.uint8)

    def power_on(self) -> None:
        core = self.core
        core.set_keys(raw=0)
        core.reset()
        for keys in self.boot.keys:
            core.set_keys(raw=keys)
            core.run_frame()
        if self.boot.seed is not None:
            write_u32(self.ewram, G_DUNGEON_RNG_STATE, self.boot.seed)

    def run_steps(self, steps: list[list[int]]) -> None:
        """Plays agent steps, observing at the end of each."""
        if self.mode in ("dummy", "render"):
            self._run_plain(steps)
        else:
            self._run_frameskip(steps, render_last=self.mode == "render_last")

    def _run_plain(self, steps: list[list[int]]) -> None:
        core, observe = self.core, self.observe
        for frames in steps:
            for keys in frames:
                core.set_keys(raw=keys)
                core.run_frame()
            observe()

    def _run_frameskip(self, steps: list[list[int]], render_last: bool) -> None:
        core, observe, video = self.core, self.observe, self.video
        for frames in steps:
            last = len(frames) - 1
            for i, keys in enumerate(frames):
                video.frameskip = 0
                video.frameskipCounter = 0 if (render_last and i == last) else 1
                core.set_keys(raw=keys)
                core.run_frame()
            observe()

    def observe(self) -> None:
        self.ram.read()
        if self.screen_obs is not None and self.mode != "frameskip":
            # The whole RGBX buffer (one contiguous copy); dropping X in
            # the same copy makes it strided and several times slower.
            np.copyto(self.screen_obs, self.screen)

    def fingerprint(self) -> dict[str, Any]:
        fp = fingerprint(self.ewram)
        if self.screen is not None and self.mode != "frameskip":
            fp[SCREEN_KEY] = screen_crc32(self.screen[:, :, :3])
        return fp


def run_mgba_side(rom: str, workload: Workload, opts: Options, mode: str) -> dict[str, Any]:
    first = workload.first_timed_frame(0)
    emu = MgbaCore(rom, mode, Boot.of(workload, 0))
    steps = workload.timed_steps(first)
    warm = workload.prefix(opts.warmup_steps).timed_steps(first)
    result = time_passes(
        power_on=emu.power_on,
        play=lambda: emu.run_steps(steps),
        warm=lambda: emu.run_steps(warm),
        finish=emu.fingerprint,
        opts=opts,
    )
    result.update(rates(workload.frames - first, len(steps), result))
    result["alignment"] = "frame i of the sequence = runFrame i after reset (as pmd-agent)"
    return result


# --------------------------------------------------------------------------
# Side 2: pygba's gymnasium env

_PYGBA_ENV_CLASS = None


def pygba_env_class():
    """pygba's PyGBAEnv, extended only as far as replaying a recording needs.

    - Its action set (one arrow x one button) cannot hold the recording's
      diagonals or d-pad + B; the key sets the recording uses are appended
      to `env.actions`, and pygba's own `step` presses them.
    - Its `frameskip` repeats one key set; an action here is a (key set,
      frames) pair from a table, and `step` sets `frameskip` to frames - 1
      before calling pygba's `step` unchanged (observation included).
    - `reset` accepts `options`, which gymnasium's vector envs pass, and
      after pygba's own reset (which runs frame 0) plays the untimed boot
      frames and writes the seed, if any.
    """
    global _PYGBA_ENV_CLASS
    if _PYGBA_ENV_CLASS is not None:
        return _PYGBA_ENV_CLASS
    import gymnasium as gym
    from pygba import PyGBAEnv

    class MatchedPyGBAEnv(PyGBAEnv):
        def __init__(self, gba, runs: list[tuple[int, int]], boot: list[int], seed: int | None, **kwargs):
            self._boot: list[int] = []  # pygba's __init__ calls reset()
            self._seed = None
            super().__init__(gba, **kwargs)
            self._boot, self._seed = boot, seed
            self._run_table: list[tuple[int, int]] = []
            for bits, frames in runs:
                names = tuple(name for bit, name in enumerate(PYGBA_KEY_NAMES) if bits >> bit & 1)
                if names not in self.actions:
                    self.actions.append(names)
                self._run_table.append((self.actions.index(names), frames))
            self.action_space = gym.spaces.Discrete(len(self._run_table))

        def step(self, action):
            action_id, frames = self._run_table[int(action)]
            self.frameskip = frames - 1
            return super().step(action_id)

        def reset(self, seed=None, options=None):
            observation, info = super().reset(seed=seed)
            for action in self._boot:
                observation = self.step(action)[0]
            if self._seed is not None:
                write_u32(_mgba_ewram(self.gba.core), G_DUNGEON_RNG_STATE, self._seed)
            return observation, info

        def fingerprint(self) -> dict[str, Any]:
            return fingerprint(_mgba_ewram(self.gba.core))

    _PYGBA_ENV_CLASS = MatchedPyGBAEnv
    return MatchedPyGBAEnv


def _mgba_ewram(core) -> np.ndarray:
    from mgba._pylib import ffi

    size = ffi.new("size_t *")
    ptr = core._core.getMemoryBlock(core._core, 2, size)
    return np.frombuffer(ffi.buffer(ptr, size[0]), dtype=np.uint8)


PYGBA_FIRST_FRAME = 1  # pygba's reset() runs frame 0 itself


@dataclasses.dataclass(frozen=True)
class PygbaPlan:
    """The recording as pygba env actions.

    `table` lists (key bits, frames) pairs; `steps[k]` the table indices that
    play timed agent step k; `boot` the indices (one frame each) that reset()
    plays after pygba's own reset, which runs frame 0 with no keys.
    """

    table: list[tuple[int, int]]
    steps: list[list[int]]
    boot: list[int]
    seed: int | None
    timed_frames: int


def pygba_plan(workload: Workload, per_frame: bool, warm_steps: int = 0) -> tuple[PygbaPlan, list[list[int]]]:
    """The plan of the whole workload, and that of its first `warm_steps`
    steps (same table)."""
    first = workload.first_timed_frame(PYGBA_FIRST_FRAME)
    index: dict[tuple[int, int], int] = {}
    table: list[tuple[int, int]] = []

    def ids_of(runs: list[tuple[int, int]]) -> list[int]:
        ids = []
        for run in runs:
            if run not in index:
                index[run] = len(table)
                table.append(run)
            ids.append(index[run])
        return ids

    boot = ids_of([(bits, 1) for bits in workload.keys_between(PYGBA_FIRST_FRAME, first)])
    plans = []
    for steps in (workload.timed_steps(first), workload.prefix(warm_steps).timed_steps(first) if warm_steps else []):
        plans.append([ids_of(runs_of(frames, per_frame)) for frames in steps])
    seed = workload.seed.value if workload.seed else None
    return PygbaPlan(table, plans[0], boot, seed, workload.frames - first), plans[1]


def runs_of(frames: list[int], per_frame: bool) -> list[tuple[int, int]]:
    """Frames as (key bits, length) runs of equal keys (or one per frame)."""
    runs: list[tuple[int, int]] = []
    for bits in frames:
        if runs and runs[-1][0] == bits and not per_frame:
            runs[-1] = (bits, runs[-1][1] + 1)
        else:
            runs.append((bits, 1))
    return runs


def make_pygba_env(rom: str, plan: PygbaPlan):
    """A pygba env on `rom` (picklable factory for the vector env)."""
    import gymnasium as gym
    from pygba import PyGBA

    gym.logger.min_level = 40  # pygba warns that no GameWrapper is given
    quiet_mgba_log()
    gba = PyGBA.load(rom)
    return pygba_env_class()(gba, plan.table, plan.boot, plan.seed, obs_type="rgb", frameskip=0)


def run_pygba_side(rom: str, workload: Workload, opts: Options, per_frame: bool) -> dict[str, Any]:
    plan, warm_steps = pygba_plan(workload, per_frame, opts.warmup_steps)
    env = make_pygba_env(rom, plan)

    def play(steps: list[list[int]]) -> None:
        step = env.step
        for ids in steps:
            for i in ids:
                obs = step(i)[0]
            del obs  # the agent step's observation: the last env.step's

    result = time_passes(
        power_on=env.reset,
        play=lambda: play(plan.steps),
        warm=lambda: play(warm_steps),
        finish=lambda: {**env.fingerprint(), SCREEN_KEY: screen_crc32(env._get_observation().transpose(1, 0, 2))},
        opts=opts,
    )
    result.update(rates(plan.timed_frames, len(plan.steps), result))
    result["env_steps_per_pass"] = sum(len(ids) for ids in plan.steps)
    result["alignment"] = (
        "env.reset() runs frame 0 (no keys; the game reads none before frame 2), env.step calls run frames 1.."
    )
    return result


# --------------------------------------------------------------------------
# Side 3: stable-retro


def make_retro_integration(rom: str, root: str) -> None:
    """A custom stable-retro integration of the cartridge under `root`."""
    game = os.path.join(root, RETRO_GAME)
    os.makedirs(game, exist_ok=True)
    with open(rom, "rb") as f:
        data = f.read()
    with open(os.path.join(game, "rom.gba"), "wb") as f:
        f.write(data)
    with open(os.path.join(game, "rom.sha"), "w") as f:
        f.write(hashlib.sha1(data).hexdigest() + "\n")
    info = {
        "info": {
            "frame": {"address": ADDR_FRAME, "type": "<u4"},
            "input_hash": {"address": ADDR_HASH, "type": "<u4"},
            "dungeon_rng": {"address": G_DUNGEON_RNG_STATE, "type": "<u4"},
        }
    }
    files = {
        "data.json": info,
        "scenario.json": {"done": {"variables": {}}, "reward": {"variables": {}}},
        "metadata.json": {},
    }
    for name, content in files.items():
        with open(os.path.join(game, name), "w") as f:
            json.dump(content, f)


class RetroSide:
    """stable-retro's RetroEnv on the cartridge.

    Alignment: its mGBA 0.7.0 starts the first frame after power-on at
    scanline 0 while mGBA 0.10 starts it at VCOUNT 126, so retro's first
    frame ends at the VBlank that ends libmgba 0.10's second frame: retro's
    frame j (j >= 1) is frame j + 1 of the sequence. The frame run when the
    env is built covers sequence frames 0 and 1 (no keys; the game reads none
    before frame 2); its state is kept as the power-on point of every pass.
    """

    def __init__(self, rom: str, tmp: str, boot: list[np.ndarray], seed: int | None):
        import stable_retro as retro

        make_retro_integration(rom, tmp)
        retro.data.Integrations.add_custom_path(tmp)
        self.env = retro.make(
            RETRO_GAME,
            state=retro.State.NONE,
            inttype=retro.data.Integrations.CUSTOM_ONLY,
            use_restricted_actions=retro.Actions.ALL,
            render_mode=None,
        )
        if list(self.env.buttons) != RETRO_BUTTONS:
            raise BenchError(f"stable-retro's GBA buttons changed: {self.env.buttons}")
        self.start = self.env.em.get_state()  # after the build's one frame
        self.env.reset()  # RetroEnv refuses step() before reset()
        self.boot, self.seed = boot, seed

    def power_on(self) -> None:
        env = self.env
        env.em.set_state(self.start)
        env.data.reset()
        for mask in self.boot:
            env.step(mask)
        if self.seed is not None:
            env.data.set_value("dungeon_rng", self.seed)

    def fingerprint(self) -> dict[str, Any]:
        self.env.data.update_ram()
        fp = fingerprint(bytes(self.env.data.memory.blocks[EWRAM_BASE]))
        fp[SCREEN_KEY] = screen_crc32(self.env.em.get_screen())
        return fp


RETRO_FIRST_FRAME = 2  # the frame run when the env is built covers frames 0-1


def retro_masks(steps: list[list[int]]) -> list[list[np.ndarray]]:
    masks: dict[int, np.ndarray] = {}
    return [[masks.setdefault(bits, retro_mask(bits)) for bits in frames] for frames in steps]


def run_retro_side(rom: str, workload: Workload, opts: Options, lean: bool) -> dict[str, Any]:
    first = workload.first_timed_frame(RETRO_FIRST_FRAME)
    steps = retro_masks(workload.timed_steps(first))
    warm = retro_masks(workload.prefix(opts.warmup_steps).timed_steps(first))
    boot = retro_masks([workload.keys_between(RETRO_FIRST_FRAME, first)])[0]
    seed = workload.seed.value if workload.seed else None
    with tempfile.TemporaryDirectory(prefix="retro-int-") as tmp:
        side = RetroSide(rom, tmp, boot, seed)
        env = side.env

        def play_env(plan: list[list[np.ndarray]]) -> None:
            step = env.step
            for masks in plan:
                for mask in masks:
                    obs = step(mask)[0]
                del obs  # the agent step's observation: the last frame's

        def play_em(plan: list[list[np.ndarray]]) -> None:
            em = env.em
            set_mask, em_step, screen = em.set_button_mask, em.step, em.get_screen
            for masks in plan:
                for mask in masks:
                    set_mask(mask, 0)
                    em_step()
                screen()

        play = play_em if lean else play_env
        result = time_passes(
            power_on=side.power_on,
            play=lambda: play(steps),
            warm=lambda: play(warm),
            finish=side.fingerprint,
            opts=opts,
        )
        env.close()
    result.update(rates(workload.frames - first, len(steps), result))
    result["alignment"] = (
        "retro frame j = sequence frame j+1; the env's build frame covers "
        "sequence frames 0-1 (no keys; unread by the game)"
    )
    result["core"] = retro_core_version()
    return result


def retro_core_version() -> str:
    """The version string inside stable-retro's bundled mGBA libretro core."""
    try:
        import stable_retro

        path = os.path.join(os.path.dirname(stable_retro.__file__), "cores", "mgba_libretro.so")
        with open(path, "rb") as f:
            blob = f.read()
    except (ImportError, OSError):
        return "unknown"
    found = re.search(rb"\x00(\d+\.\d+\.\d+(?: [0-9a-f]{7,8})?)\x00", blob)
    return "mGBA " + found.group(1).decode() if found else "unknown"


# --------------------------------------------------------------------------
# Timing


@dataclasses.dataclass(frozen=True)
class Options:
    """Run-wide settings from the command line."""

    warmup_steps: int
    min_seconds: float
    max_passes: int
    vector_n: tuple[int, ...]
    vector_steps: int
    vector_min_seconds: float


def time_passes(
    power_on: Callable[[], Any],
    play: Callable[[], None],
    warm: Callable[[], None],
    finish: Callable[[], dict[str, Any]],
    opts: Options,
) -> dict[str, Any]:
    """Warms up, then times whole passes from power-on until `min_seconds`.

    Only `play` is timed (power-on and the fingerprint are not). Every pass
    must end in the same fingerprint: the emulation is deterministic, and a
    pass that differs means the power-on point is not what it should be.
    """
    power_on()
    warm()
    seconds: list[float] = []
    cpu: list[float] = []
    first: dict[str, Any] | None = None
    while len(seconds) < opts.max_passes and (not seconds or sum(seconds) < opts.min_seconds):
        power_on()
        t0, c0 = time.perf_counter(), time.process_time()
        play()
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        fp = finish()
        if first is None:
            first = fp
        elif fp != first:
            raise BenchError(f"pass {len(seconds)} ended in {fp}, pass 1 in {first}: not deterministic")
    assert first is not None
    return {
        "passes": len(seconds),
        "seconds": sum(seconds),
        "cpu_seconds": sum(cpu),
        "pass_seconds": [round(s, 4) for s in seconds],
        "fingerprint": first,
    }


def rates(frames: int, steps: int, result: dict[str, Any]) -> dict[str, Any]:
    """Wall-clock rates over the timed frames and steps of a pass, and the
    same per second of this process's CPU time (one core's worth of work;
    less disturbed by other load)."""
    passes, seconds, cpu = result["passes"], result["seconds"], result["cpu_seconds"]
    return {
        "timed_frames": frames,
        "timed_steps": steps,
        "frames_per_s": round(frames * passes / seconds, 1),
        "steps_per_s": round(steps * passes / seconds, 1),
        "us_per_frame": round(seconds / (frames * passes) * 1e6, 3),
        "cpu_frames_per_s": round(frames * passes / cpu, 1),
        "cpu_steps_per_s": round(steps * passes / cpu, 1),
    }


# --------------------------------------------------------------------------
# Side 4: all cores, gymnasium's subprocess vector env


def _leanenv_class():
    import gymnasium as gym

    class LeanMgbaEnv(gym.Env):
        """Side 1 as a gymnasium env: one step = one agent step of the recording.

        The action is the index of the agent step to play (the recording is
        the policy); the observation is the RAM observation (`RamObserver`).
        """

        metadata: dict[str, Any] = {"render_modes": []}

        def __init__(self, rom: str, workload: Workload):
            self.emu = MgbaCore(rom, "dummy", Boot.of(workload, 0))
            self.steps = workload.timed_steps(workload.first_timed_frame(0))
            self.observation_space = gym.spaces.Box(0, 255, (RAM_OBS_LEN,), np.uint8)
            self.action_space = gym.spaces.Discrete(len(self.steps))
            self.next_step = 0

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            self.emu.power_on()
            self.next_step = 0
            return self.emu.ram.read(), {}

        def step(self, action):
            action = int(action)
            if action != self.next_step:
                raise ValueError(f"agent step {action} played out of order (expected {self.next_step})")
            self.next_step += 1
            emu = self.emu
            core = emu.core
            for keys in self.steps[action]:
                core.set_keys(raw=keys)
                core.run_frame()
            return emu.ram.read(), 0.0, False, False, {}

        def fingerprint(self) -> dict[str, Any]:
            return self.emu.fingerprint()

    return LeanMgbaEnv


def make_lean_env(rom: str, workload: Workload):
    """Picklable factory for the vector env."""
    return _leanenv_class()(rom, workload)


def run_vector(rom: str, workload: Workload, opts: Options) -> dict[str, Any]:
    """steps/s and frames/s vs N for AsyncVectorEnv over side 1 and pygba."""
    import gymnasium as gym

    work = workload.prefix(opts.vector_steps)
    first = work.first_timed_frame(0)
    reference = MgbaCore(rom, "dummy", Boot.of(work, 0))
    reference.power_on()
    lean_steps = work.timed_steps(first)
    reference.run_steps(lean_steps)
    expected = reference.fingerprint()
    del reference

    out: dict[str, Any] = {
        "agent_steps_per_copy": work.steps,
        "frames_per_copy": work.frames,
        "expected_fingerprint": expected,
    }
    plan, _ = pygba_plan(work, per_frame=False)
    kinds = (
        (
            "mgba_lean",
            functools.partial(make_lean_env, rom, work),
            [[k] for k in range(len(lean_steps))],
            work.frames - first,
        ),
        ("pygba", functools.partial(make_pygba_env, rom, plan), plan.steps, plan.timed_frames),
    )
    for name, fn, actions, timed_frames in kinds:
        row: dict[str, Any] = {
            "N": [],
            "steps_per_s": [],
            "frames_per_s": [],
            "cpu_steps_per_s": [],
            "seconds": [],
            "passes": [],
        }
        for n in opts.vector_n:
            vec = gym.vector.AsyncVectorEnv([fn] * n, shared_memory=True)
            try:
                seconds, cpu, passes, fps = _time_vector(vec, n, actions, opts)
            finally:
                vec.close()
            mismatched = [fp for fp in fps if fp != expected]
            if mismatched:
                raise BenchError(f"vector {name} N={n}: a copy ended in {mismatched[0]}, expected {expected}")
            row["N"].append(n)
            row["steps_per_s"].append(round(len(actions) * n * passes / seconds, 1))
            row["frames_per_s"].append(round(timed_frames * n * passes / seconds, 1))
            row["cpu_steps_per_s"].append(round(len(actions) * n * passes / cpu, 1))
            row["seconds"].append(round(seconds, 3))
            row["passes"].append(passes)
        out[name] = row
    return out


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError as e:
        raise BenchError(f"cannot read the CPU time of process {pid}: {e}") from None
    # After the command name: state is field 3, utime and stime fields 14-15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vector_cpu_seconds(vec) -> float:
    """CPU time of the driver and of every worker process of `vec`."""
    return time.process_time() + sum(process_cpu_seconds(p.pid) for p in vec.processes)


def _time_vector(vec, n: int, actions: list[list[int]], opts: Options) -> tuple[float, float, int, list[dict]]:
    """Times whole passes of `actions` on all copies in lockstep: wall
    seconds, and CPU seconds of the driver and all workers together."""
    warm = actions[: max(1, opts.warmup_steps)]

    def play(plan: list[list[int]]) -> None:
        for ids in plan:
            for i in ids:
                vec.step(np.full(n, i, dtype=np.int64))

    vec.reset()
    play(warm)
    total, cpu, passes, fps = 0.0, 0.0, 0, []
    while passes < opts.max_passes and (passes == 0 or total < opts.vector_min_seconds):
        vec.reset()
        t0, c0 = time.perf_counter(), vector_cpu_seconds(vec)
        play(actions)
        total += time.perf_counter() - t0
        cpu += vector_cpu_seconds(vec) - c0
        passes += 1
        fps = list(vec.call("fingerprint"))
    return total, cpu, passes, fps


# --------------------------------------------------------------------------
# Where the time goes


def run_breakdown(rom: str, workload: Workload, opts: Options) -> dict[str, Any]:
    """Per-call costs of each binding, for the per-step analysis in README.md.

    Timed in CPU time of this process, which other load on a shared machine
    disturbs far less than wall time.
    """
    out: dict[str, Any] = {}
    work = Workload(workload.keys, workload.ends).prefix(1000)  # no seed write: costs only
    frames = work.keys.tolist()

    # Emulation through the public wrappers vs direct cffi calls vs direct
    # calls with the bindings' per-frame Python callbacks removed.
    emu = MgbaCore(rom, "dummy")
    core, native = emu.core, emu.core._core

    def timed(loop: Callable[[], None]) -> float:
        best = float("inf")
        for _ in range(3):
            emu.power_on()
            t0 = time.process_time()
            loop()
            best = min(best, time.process_time() - t0)
        return best / len(frames) * 1e6

    def wrapped() -> None:
        for k in frames:
            core.set_keys(raw=k)
            core.run_frame()

    set_keys, run_frame = native.setKeys, native.runFrame

    def direct() -> None:
        for k in frames:
            set_keys(native, k)
            run_frame(native)

    out["mgba_us_per_frame_public_api"] = round(timed(wrapped), 3)
    out["mgba_us_per_frame_direct_cffi"] = round(timed(direct), 3)
    native.clearCoreCallbacks(native)
    out["mgba_us_per_frame_direct_no_py_callbacks"] = round(timed(direct), 3)
    native.addCoreCallbacks(native, core._callbacks.context)
    import mgba.log

    mgba.log.silence()  # the documented way: a Python logger that drops messages
    out["mgba_us_per_frame_public_api_python_null_logger"] = round(timed(wrapped), 3)
    assert _QUIET_LOGGER is not None
    mgba.log.Logger.install_default(_QUIET_LOGGER[0])

    n = 200_000
    t0 = time.process_time()
    for _ in range(n):
        core.set_keys(raw=0)
    out["mgba_us_set_keys_public_api"] = round((time.process_time() - t0) / n * 1e6, 4)
    t0 = time.process_time()
    for _ in range(n):
        set_keys(native, 0)
    out["mgba_us_set_keys_direct_cffi"] = round((time.process_time() - t0) / n * 1e6, 4)
    frame_counter = native.frameCounter
    t0 = time.process_time()
    for _ in range(n):
        frame_counter(native)
    out["mgba_us_cffi_call_cheap_c_function"] = round((time.process_time() - t0) / n * 1e6, 4)

    # The RAM observation: zero-copy view + numpy copy, vs the bindings'
    # MemoryView (one cffi bus read per byte), timed on 4 KiB.
    emu.power_on()
    emu.run_steps(work.timed_steps(0))
    reads = 2000
    t0 = time.process_time()
    for _ in range(reads):
        emu.ram.read()
    out["ram_obs_us_per_step_numpy_copy"] = round((time.process_time() - t0) / reads * 1e6, 3)
    out["ram_obs_bytes"] = RAM_OBS_LEN
    t0 = time.process_time()
    data = emu.core.memory.wram.u8[0:4096]  # one cffi busRead8 per byte
    per_byte = (time.process_time() - t0) / 4096
    assert bytes(data) == emu.ewram[:4096].tobytes()
    out["ram_obs_us_per_step_memoryview_api"] = round(per_byte * RAM_OBS_LEN * 1e6, 1)
    del emu

    # The video paths on the same frames, interleaved (A B C D A B C D ...)
    # so that load from elsewhere hits all of them alike; best of 5.
    step_keys = work.timed_steps(0)
    cores = {mode: MgbaCore(rom, mode) for mode in ("dummy", "frameskip", "render_last", "render")}
    best = {mode: float("inf") for mode in cores}
    for _ in range(5):
        for mode, emu in cores.items():
            emu.power_on()
            t0 = time.process_time()
            emu.run_steps(step_keys)
            best[mode] = min(best[mode], time.process_time() - t0)
    for mode, seconds in best.items():
        out[f"video_{mode}_us_per_frame"] = round(seconds / work.frames * 1e6, 3)
    del cores

    # Rendering and the framebuffer copy.
    render = MgbaCore(rom, "render")
    render.power_on()
    render.run_steps(work.timed_steps(0))
    t0 = time.process_time()
    for _ in range(reads):
        np.copyto(render.screen_obs, render.screen)
    out["framebuffer_copy_rgbx_us"] = round((time.process_time() - t0) / reads * 1e6, 3)
    rgb = np.zeros((SCREEN_H, SCREEN_W, 3), dtype=np.uint8)
    t0 = time.process_time()
    for _ in range(reads):
        rgb[...] = render.screen[:, :, :3]
    out["framebuffer_copy_rgb_us"] = round((time.process_time() - t0) / reads * 1e6, 3)
    del render

    # pygba's observation (PIL conversion of the framebuffer).
    env = make_pygba_env(rom, PygbaPlan([(0, 1)], [], [], None, 0))
    env.reset()
    for _ in range(300):
        env.step(0)
    t0 = time.process_time()
    for _ in range(reads):
        env._get_observation()
    out["pygba_observation_us"] = round((time.process_time() - t0) / reads * 1e6, 3)
    t0 = time.process_time()
    for _ in range(reads):
        env.step(0)
    out["pygba_env_step_us_one_frame"] = round((time.process_time() - t0) / reads * 1e6, 3)
    del env
    out["note"] = (
        "microseconds of process CPU time; per-frame figures: best of 3 (video_*: of 5) "
        "passes over the first 1000 agent steps"
    )
    return out


def run_retro_breakdown(rom: str, workload: Workload, opts: Options) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="retro-int-") as tmp:
        side = RetroSide(rom, tmp, [], None)
        env = side.env
        em = env.em
        for _ in range(300):
            env.step(retro_mask(0))
        n = 2000
        zero = retro_mask(0)
        parts = {
            "retro_env_step_us": lambda: env.step(zero),
            "retro_em_step_us": lambda: (em.set_button_mask(zero, 0), em.step()),
            "retro_get_screen_us": env.get_screen,
            "retro_update_ram_us": env.data.update_ram,
            "retro_action_to_array_us": lambda: env.action_to_array(zero),
            "retro_compute_step_us": env.compute_step,
        }
        for name, fn in parts.items():
            t0 = time.process_time()
            for _ in range(n):
                fn()
            out[name] = round((time.process_time() - t0) / n * 1e6, 3)
        env.close()
    return out


# --------------------------------------------------------------------------
# Driver


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    return {
        "cores": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu": model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    out = {}
    for name in ("mgba", "pygba", "stable-retro", "gymnasium", "numpy", "cffi", "pillow", "pygame"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        import mgba

        out["libmgba (loaded by mgba)"] = mgba.__version__
    except ImportError:
        pass
    out["stable-retro mgba core"] = retro_core_version()
    return out


def run_side(name: str, rom: str, workload: Workload, opts: Options) -> dict[str, Any]:
    """Runs one side; called in a fresh process."""
    if name.startswith("mgba_lean"):
        mode = {
            "mgba_lean": "dummy",
            "mgba_lean_frameskip": "frameskip",
            "mgba_lean_render": "render",
            "mgba_lean_render_last": "render_last",
        }[name]
        return run_mgba_side(rom, workload, opts, mode)
    if name in ("pygba", "pygba_per_frame"):
        return run_pygba_side(rom, workload, opts, per_frame=name == "pygba_per_frame")
    if name in ("stable_retro", "stable_retro_em"):
        return run_retro_side(rom, workload, opts, lean=name == "stable_retro_em")
    if name == "vector":
        return run_vector(rom, workload, opts)
    if name == "breakdown":
        return run_breakdown(rom, workload, opts)
    if name == "retro_breakdown":
        return run_retro_breakdown(rom, workload, opts)
    raise BenchError(f"unknown side {name}")


def _child(name: str, rom: str, workload: Workload, opts: Options) -> dict[str, Any]:
    try:
        return {"ok": run_side(name, rom, workload, opts)}
    except BenchError as e:
        return {"error": str(e)}
    except Exception as e:  # noqa: BLE001  (one side's bug must not lose the others' figures)
        import traceback

        traceback.print_exc()
        return {"error": f"{type(e).__name__}: {e}"}


def in_fresh_process(name: str, rom: str, workload: Workload, opts: Options) -> dict[str, Any]:
    """Each side runs alone in its own process: stable-retro allows one
    emulator per process, and no side inherits another's heap."""
    ctx = multiprocessing.get_context("spawn")
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            return pool.submit(_child, name, rom, workload, opts).result()
    except concurrent.futures.process.BrokenProcessPool as e:
        return {"error": f"the side's process died: {e}"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Python emulator sides of pmd-agent's benchmark (issue 9).")
    p.add_argument("--rom", required=True, help="the cartridge (GBA ROM)")
    p.add_argument("--keys", required=True, help="1-D uint16 .npy: GBA keys per frame from power-on")
    p.add_argument("--steps", required=True, help="1-D uint32 .npy: frame index at which each agent step ends")
    p.add_argument(
        "--sides",
        default=",".join(ALL_SIDES + ["vector", "breakdown"]),
        help="comma-separated sides to run (default: all, then 'vector' and 'breakdown')",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="run every side this many times, interleaved; figures are medians (default 3)",
    )
    p.add_argument("--max-steps", type=int, default=None, help="use only the first N agent steps")
    p.add_argument(
        "--seed",
        type=lambda v: int(v, 0),
        default=None,
        help="write this u32 to gDungeonRngState during boot (as pmd-agent's boot_with_seed); needs --seed-after",
    )
    p.add_argument("--seed-after", type=int, default=None, help="frames run after power-on before the seed is written")
    p.add_argument("--warmup-steps", type=int, default=30, help="agent steps played before timing (default 30)")
    p.add_argument(
        "--min-seconds",
        type=float,
        default=2.0,
        help="per round, repeat whole passes until at least this long (default 2)",
    )
    p.add_argument("--max-passes", type=int, default=20)
    p.add_argument("--vector-n", default="1,2,4", help="vector env sizes (default 1,2,4)")
    p.add_argument(
        "--vector-steps", type=int, default=1000, help="agent steps each vector copy plays per pass (default 1000)"
    )
    p.add_argument("--vector-min-seconds", type=float, default=2.0)
    args = p.parse_args(argv)
    if min(args.warmup_steps, args.max_passes, args.vector_steps, args.rounds) < 1:
        p.error("--warmup-steps, --max-passes, --vector-steps and --rounds must be >= 1")
    if (args.seed is None) != (args.seed_after is None):
        p.error("--seed and --seed-after go together")
    if args.seed is not None and not 0 <= args.seed <= 0xFFFFFFFF:
        p.error("--seed must fit in 32 bits")
    return args


def main(argv: list[str]) -> int:
    # Libraries print on stdout (mGBA's logger, pygame, stable-retro): the
    # JSON object alone goes there, everything else to stderr.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        args = parse_args(argv)
        opts = Options(
            warmup_steps=args.warmup_steps,
            min_seconds=args.min_seconds,
            max_passes=args.max_passes,
            vector_n=tuple(int(x) for x in args.vector_n.split(",") if x),
            vector_steps=args.vector_steps,
            vector_min_seconds=args.vector_min_seconds,
        )
        if not opts.vector_n or min(opts.vector_n) < 1:
            raise BenchError("--vector-n needs sizes >= 1")
        if not os.path.isfile(args.rom):
            raise BenchError(f"--rom {args.rom}: no such file")
        rom = os.path.abspath(args.rom)
        seed = Seed(args.seed_after, args.seed) if args.seed is not None else None
        workload = load_workload(args.keys, args.steps, args.max_steps, seed)
        sides = [s for s in args.sides.split(",") if s]
        unknown = set(sides) - set(ALL_SIDES + ["vector", "breakdown"])
        if unknown:
            raise BenchError(f"unknown side(s): {', '.join(sorted(unknown))}")
    except (BenchError, ValueError) as e:
        print(f"emu_bench: error: {e}", file=sys.stderr)
        return 2

    with open(rom, "rb") as f:
        rom_bytes = f.read()
    report: dict[str, Any] = {
        "command": " ".join([os.path.basename(sys.argv[0])] + argv),
        "machine": machine_info(),
        "versions": versions(),
        "rom": {"path": args.rom, "bytes": len(rom_bytes), "crc32": f"{zlib.crc32(rom_bytes):#010x}"},
        "keys_file": args.keys,
        "steps_file": args.steps,
        "frames": workload.frames,
        "steps": workload.steps,
        "seed": None if seed is None else {"value": f"{seed.value:#010x}", "after_frames": seed.after_frames},
        "warmup_steps": opts.warmup_steps,
        "rounds": args.rounds,
        "sides": {},
    }
    errors: dict[str, str] = {}
    runs: dict[str, list[dict[str, Any]]] = {}
    timed_sides = [s for s in sides if s != "breakdown"]
    for round_no in range(args.rounds):
        for name in timed_sides:
            if name in errors:
                continue
            print(f"emu_bench: round {round_no + 1}/{args.rounds}: {name} ...", file=sys.stderr)
            res = in_fresh_process(name, rom, workload, opts)
            if "error" in res:
                errors[name] = res["error"]
                print(f"emu_bench: {name}: error: {res['error']}", file=sys.stderr)
            else:
                runs.setdefault(name, []).append(res["ok"])
    for name, side_runs in runs.items():
        try:
            report["sides"][name] = aggregate_vector(side_runs) if name == "vector" else aggregate(side_runs)
        except BenchError as e:
            errors[name] = str(e)
    for name, error in errors.items():
        report["sides"][name] = {"error": error}
    if "breakdown" in sides:
        print("emu_bench: breakdown ...", file=sys.stderr)
        res = in_fresh_process("breakdown", rom, workload, opts)
        if "ok" in res:
            retro = in_fresh_process("retro_breakdown", rom, workload, opts)
            res["ok"].update(retro.get("ok", {"retro_error": retro.get("error")}))
            report["breakdown"] = res["ok"]
        else:
            errors["breakdown"] = res["error"]
            report["breakdown"] = {"error": res["error"]}

    report["machine"]["loadavg_end"] = os.getloadavg()
    mismatch = check_fingerprints(report)
    json.dump(report, json_out, indent=1)
    json_out.write("\n")
    json_out.flush()
    return 1 if (mismatch or errors) else 0


def median(values: list[float]) -> float:
    return round(float(np.median(values)), 1)


def aggregate(side_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's rounds: median rates, every round kept, one fingerprint."""
    first = side_runs[0]
    for run in side_runs[1:]:
        if run["fingerprint"] != first["fingerprint"]:
            raise BenchError(f"rounds ended in different fingerprints: {first['fingerprint']} vs {run['fingerprint']}")
    out = {k: v for k, v in first.items() if k not in ("passes", "seconds", "cpu_seconds", "pass_seconds")}
    out["frames_per_s"] = median([r["frames_per_s"] for r in side_runs])
    out["steps_per_s"] = median([r["steps_per_s"] for r in side_runs])
    out["us_per_frame"] = round(float(np.median([r["us_per_frame"] for r in side_runs])), 3)
    # On a shared machine other load only ever slows a round down: the best
    # round is the least disturbed one.
    out["best_frames_per_s"] = max(r["frames_per_s"] for r in side_runs)
    out["best_steps_per_s"] = max(r["steps_per_s"] for r in side_runs)
    out["cpu_frames_per_s"] = median([r["cpu_frames_per_s"] for r in side_runs])
    out["cpu_steps_per_s"] = median([r["cpu_steps_per_s"] for r in side_runs])
    out["rounds"] = [
        {
            "frames_per_s": r["frames_per_s"],
            "steps_per_s": r["steps_per_s"],
            "cpu_steps_per_s": r["cpu_steps_per_s"],
            "passes": r["passes"],
            "seconds": round(r["seconds"], 3),
        }
        for r in side_runs
    ]
    return out


def aggregate_vector(side_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The vector rounds: per env kind and N, the median over rounds."""
    out = {k: v for k, v in side_runs[0].items() if not isinstance(v, dict) or "N" not in v}
    for kind, row in side_runs[0].items():
        if not (isinstance(row, dict) and "N" in row):
            continue
        merged: dict[str, Any] = {"N": row["N"]}
        for key in ("steps_per_s", "frames_per_s", "cpu_steps_per_s"):
            merged[key] = [median([r[kind][key][i] for r in side_runs]) for i in range(len(row["N"]))]
        merged["best_steps_per_s"] = [max(r[kind]["steps_per_s"][i] for r in side_runs) for i in range(len(row["N"]))]
        merged["rounds"] = [
            {"steps_per_s": r[kind]["steps_per_s"], "cpu_steps_per_s": r[kind]["cpu_steps_per_s"]} for r in side_runs
        ]
        out[kind] = merged
    return out


def check_fingerprints(report: dict[str, Any]) -> bool:
    """Compares every side's pass fingerprint; True (and loud) on a mismatch."""
    prints = {
        name: side["fingerprint"]
        for name, side in report["sides"].items()
        if isinstance(side, dict) and "fingerprint" in side
    }
    groups: dict[str, list[str]] = {}
    screens: dict[str, list[str]] = {}
    for name, fp in prints.items():
        ram = {k: v for k, v in fp.items() if k != SCREEN_KEY}
        groups.setdefault(json.dumps(ram, sort_keys=True), []).append(name)
        if SCREEN_KEY in fp:
            screens.setdefault(fp[SCREEN_KEY], []).append(name)
    report["fingerprints_agree"] = len(groups) <= 1
    report["fingerprint_groups"] = [{"fingerprint": json.loads(k), "sides": v} for k, v in groups.items()]
    report["screens_agree"] = len(screens) <= 1
    report["screen_groups"] = [{SCREEN_KEY: k, "sides": v} for k, v in screens.items()]
    if len(groups) > 1:
        print("emu_bench: FINGERPRINTS DIFFER: the sides did not emulate the same work", file=sys.stderr)
        for k, v in groups.items():
            print(f"  {k}: {', '.join(v)}", file=sys.stderr)
    if len(screens) > 1:
        print("emu_bench: FINAL SCREENS DIFFER between the sides with observations", file=sys.stderr)
        for k, v in screens.items():
            print(f"  {k}: {', '.join(v)}", file=sys.stderr)
    return len(groups) > 1 or len(screens) > 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
