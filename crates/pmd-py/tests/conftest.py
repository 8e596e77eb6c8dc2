"""Shared fixtures: the pmd-agent command line (for the tests that compare
with the native runner) and small environment settings."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def cli() -> Path:
    """The pmd-agent executable `cargo test` built (or PMD_AGENT_BIN)."""
    path = Path(os.environ.get("PMD_AGENT_BIN", ROOT / "target" / "debug" / "pmd-agent"))
    assert path.is_file(), f"{path} is missing: build it (cargo build) or set PMD_AGENT_BIN"
    return path


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
