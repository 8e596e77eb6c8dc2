"""Registration of the gymnasium ids (done at ``import pmd_agent``)."""

from __future__ import annotations

import gymnasium

#: The environment id: ``gymnasium.make(ENV_ID)`` for one environment,
#: ``gymnasium.make_vec(ENV_ID, num_envs=N,
#: vectorization_mode="vector_entry_point")`` for the native batch.
ENV_ID = "pmd_agent/Dungeon-v0"


def register_envs() -> None:
    """Registers :data:`ENV_ID` with gymnasium (idempotent)."""
    if ENV_ID in gymnasium.registry:
        return
    gymnasium.register(
        id=ENV_ID,
        entry_point="pmd_agent.env:DungeonEnv",
        vector_entry_point="pmd_agent.vector:VectorEnv",
        # The native side enforces the step limit (max_episode_steps=);
        # no TimeLimit wrapper on top.
        max_episode_steps=None,
    )
