"""Similar-state queries on a run's episodic memory (``pmd-agent run
--memory DIR``): the memory-mapped HNSW index, and the embedding it
stores."""

from __future__ import annotations

import os

import numpy as np

from . import _native


def embed(features: np.ndarray) -> np.ndarray:
    """The episodic memory's embedding of observation rows: ``(N, 2395)``
    float32 in, ``(N, 128)`` unit vectors out."""
    array = np.asarray(features, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    return _native.embed_features(np.ascontiguousarray(array))


class MemoryIndex:
    """An index directory opened read-only (memory-mapped, shared between
    processes). ``search(queries, k)`` returns a dict of ``(Q, k)`` arrays:
    ``ids``, ``distances`` and each point's ``episode``, ``step``, ``env``,
    ``floor`` and ``outcome``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self._index = _native.Index(os.fspath(path))

    def __len__(self) -> int:
        return len(self._index)

    @property
    def dim(self) -> int:
        return self._index.dim

    def search(self, queries: np.ndarray, k: int = 10, ef: int = 64) -> dict[str, np.ndarray]:
        array = np.asarray(queries, dtype=np.float32)
        if array.ndim == 1:
            array = array[None, :]
        return self._index.search(np.ascontiguousarray(array), k=int(k), ef=int(ef))
