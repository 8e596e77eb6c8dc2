#!/usr/bin/env bash
# The Python tests: builds the wheel of crates/pmd-py with maturin (the dev
# profile, so the test build's compiled crates are reused), installs it into
# .venv (replacing any older build) and runs pytest on crates/pmd-py/tests
# (the package) and tests/python (`pmd-agent mcp` under the official MCP
# client). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.venv"
out="$PWD/target/wheels"
rm -f "$out"/pmd_agent-*.whl
(cd crates/pmd-py && CARGO_BUILD_JOBS="${JOBS:-2}" "$venv/bin/maturin" build --profile dev -o "$out" >&2)
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$out"/pmd_agent-*.whl
export PMD_AGENT_BIN="${PMD_AGENT_BIN:-$PWD/target/debug/pmd-agent}"
# Ray: small, offline, no dashboard, no token written under ~/.ray.
export RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider crates/pmd-py/tests tests/python "$@"
