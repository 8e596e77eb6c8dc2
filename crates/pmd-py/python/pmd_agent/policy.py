"""Policies on a :class:`~pmd_agent.VectorEnv`'s batch."""

from __future__ import annotations

import numpy as np

from . import _native
from .vector import VectorEnv


def _native_env(env) -> _native.VecEnv:
    inner = getattr(env, "unwrapped", env)
    native = getattr(inner, "_native", None)
    if not isinstance(native, _native.VecEnv):
        raise TypeError(f"expected a pmd_agent VectorEnv or DungeonEnv, not {type(env).__name__}")
    return native


class Policy:
    """A native policy: ``random``, ``heuristic``, ``search`` or
    ``search:horizon=H:branches=B:commit=C``; ``torch:PATH`` gives a
    :class:`TorchPolicy`.

    ``act(env)`` returns one action per environment (int64) for the
    batch's current observations, decided natively on the batch's worker
    pool with the GIL released. ``search`` branches on savestates and leaves
    every environment as it was.
    """

    def __new__(cls, spec: str):
        if cls is Policy and isinstance(spec, str) and spec.startswith("torch:"):
            return TorchPolicy(spec[len("torch:"):])
        return super().__new__(cls)

    def __init__(self, spec: str) -> None:
        self._policy = _native.Policy(spec)
        self.spec = spec

    def act(self, env: VectorEnv) -> np.ndarray:
        return self._policy.act(_native_env(env))

    def __repr__(self) -> str:
        return f"Policy({self.spec!r})"


class TorchPolicy:
    """A ``torch:PATH`` model file (TorchScript; what ``pmd-agent train``
    writes, or any module with the contract of ``pmd_torch::infer::contract``:
    ``forward(obs [N, 2395] float32, mask [N, 19] bool[, frames])`` returning
    ``(logits, value)`` or one ``[N, 20]`` tensor) run by PyTorch on the
    batch. Illegal actions are masked; ``greedy`` takes the most probable
    legal action, otherwise one is sampled (``seed`` seeds the sampler).
    """

    def __init__(self, path: str, *, greedy: bool = False, seed: int = 0) -> None:
        import torch  # optional dependency: pip install pmd-agent[torch]

        self._torch = torch
        self.spec = f"torch:{path}"
        self.module = torch.jit.load(str(path), map_location="cpu")
        self.module.eval()
        self.greedy = greedy
        self._generator = torch.Generator().manual_seed(seed)

    def act(self, env: VectorEnv) -> np.ndarray:
        torch = self._torch
        native = _native_env(env)
        obs = torch.from_numpy(np.array(native.features))
        mask = torch.from_numpy(np.array(native.masks))
        with torch.no_grad():
            out = self.module(obs, mask)
        logits = out[0] if isinstance(out, (tuple, list)) else out[:, : mask.shape[1]]
        logits = logits.float().masked_fill(~mask, float("-inf"))
        none_legal = ~mask.any(dim=1)
        logits[none_legal] = 0.0
        if self.greedy:
            actions = logits.argmax(dim=1)
        else:
            actions = torch.multinomial(logits.softmax(dim=1), 1, generator=self._generator)[:, 0]
        return actions.to(torch.int64).numpy()

    def __repr__(self) -> str:
        return f"TorchPolicy({self.spec!r})"
