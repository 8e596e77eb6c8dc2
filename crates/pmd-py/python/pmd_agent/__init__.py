"""pmd_agent: Pokémon Mystery Dungeon environments at machine speed.

The emulators (mGBA) run inside this process; a step of the whole batch is
one native call that releases the GIL, and the observations are numpy
views of the native batch buffers.

- :class:`VectorEnv` — a ``gymnasium.vector.VectorEnv`` of N environments
  (``gymnasium.make_vec("pmd_agent/Dungeon-v0", num_envs=N,
  vectorization_mode="vector_entry_point")``).
- :class:`DungeonEnv` — one environment, a ``gymnasium.Env``
  (``gymnasium.make("pmd_agent/Dungeon-v0")``).
- :class:`Policy` — the native ``random``, ``heuristic`` and ``search``
  policies on a VectorEnv's batch; :class:`TorchPolicy` runs a
  ``torch:PATH`` model file through PyTorch.
- :func:`collect` — rollouts as a ``pyarrow.Table`` (what a Ray actor
  returns; see ``examples/ray_rollouts.py``).
- :func:`read_recording` — a run's recording as a ``pyarrow.Table``.
- :class:`MemoryIndex` and :func:`embed` — similar-state queries on a
  run's episodic memory.

Without a ROM the bundled test cartridge runs; ``rom="pmd.gba"`` plays the
real game (bring your own ROM).
"""

from __future__ import annotations

import os as _os

# The mGBA shim library ships inside the package; the native module opens
# it when the first emulator is made.
_shim = _os.path.join(_os.path.dirname(__file__), "libpmd_mgba.so")
if "PMD_MGBA_SHIM" not in _os.environ and _os.path.isfile(_shim):
    _os.environ["PMD_MGBA_SHIM"] = _shim

from . import _native  # noqa: E402
from ._native import ACTION_COUNT, ACTION_NAMES, FEATURES, FRAME_SHAPE, PmdAgentError  # noqa: E402
from .env import DungeonEnv  # noqa: E402
from .memory import MemoryIndex, embed  # noqa: E402
from .policy import Policy, TorchPolicy  # noqa: E402
from .recording import read_recording  # noqa: E402
from .registration import ENV_ID, register_envs  # noqa: E402
from .rollouts import collect  # noqa: E402
from .vector import VectorEnv  # noqa: E402

__version__ = _native.__version__

__all__ = [
    "ACTION_COUNT",
    "ACTION_NAMES",
    "ENV_ID",
    "FEATURES",
    "FRAME_SHAPE",
    "DungeonEnv",
    "MemoryIndex",
    "PmdAgentError",
    "Policy",
    "TorchPolicy",
    "VectorEnv",
    "collect",
    "embed",
    "read_recording",
    "register_envs",
]

register_envs()
