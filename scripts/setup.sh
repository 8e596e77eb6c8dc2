#!/usr/bin/env bash
# Installs what pmd-agent needs on Debian 12, only what is missing; safe to
# run any number of times. Uses sudo only when not root.
#
#   libmgba-dev        mGBA 0.10 core, linked in-process
#   gcc-arm-none-eabi  rebuilds the test cartridge (reproducibility test)
#   pkg-config, gcc, make, python3: build helpers (g++ for tch's C++
#                      wrapper and libFuzzer in the fuzz targets); python3 also runs the
#                      league tests' even_odd player (standard library only)
#   fonts-dejavu-core  the font plots label their axes with
#   chromium           the headless browser the league dashboard test drives
#                      (through PyPI playwright, never `playwright install`)
#   prometheus         promtool, which checks deploy/prometheus/alerts.yml
# and libtorch 2.11.0 for the `torch` feature (scripts/libtorch.sh: a
# per-machine cache, linked to ./.libtorch), and PyTorch 2.11.0 with numpy
# in .venv for tests/torch_python.rs (scripts/torch-venv.sh, from the torch
# wheel libtorch.sh caches).
set -euo pipefail

packages=(libmgba-dev gcc-arm-none-eabi binutils-arm-none-eabi make gcc g++ python3 fonts-dejavu-core
    chromium prometheus)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    echo "setup: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi

# Python with pyarrow for the trajectory-file tests, in a project venv
# (.venv, ignored by git) so the system Python is never modified.
venv=".venv"
if ! "$venv/bin/python" -c 'import pyarrow' >/dev/null 2>&1; then
    if [ ! -x "$venv/bin/python" ]; then
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            # Debian's python3 needs its venv package
            sudo=""
            [ "$(id -u)" -ne 0 ] && sudo="sudo"
            $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >&2
            rm -rf "$venv"
            python3 -m venv "$venv"
        fi
    fi
    echo "setup: installing pyarrow into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check pyarrow >&2
fi

# The Python package's build and tests (scripts/python-test.sh, run by
# `make test`): maturin builds the wheel, pytest runs it against gymnasium's
# own vector envs and on a local Ray, and drives `pmd-agent mcp` with the
# official MCP client (`mcp`). Pinned to the versions tested; only
# what is missing is installed (a check is one import, ~0.5 s).
# The league service's tests: schemathesis fuzzes the read API from its
# OpenAPI document, playwright drives Debian's chromium, httpx-sse reads the
# event stream.
python_pkgs=("gymnasium==1.4.0" "pytest==9.2.0" "maturin==1.16.0" "ray==2.60.0" "mcp==2.3.0"
    "schemathesis==4.32.5" "playwright==1.65.0" "httpx==0.28.1" "httpx-sse==0.4.3")
if ! "$venv/bin/python" -c 'import gymnasium, pytest, ray, maturin, mcp, schemathesis, playwright, httpx, httpx_sse' >/dev/null 2>&1 \
    || [ ! -x "$venv/bin/maturin" ]; then
    echo "setup: installing ${python_pkgs[*]} into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${python_pkgs[@]}" >&2
fi

# libtorch for the torch feature (on by default in the command line): the
# first run on a machine downloads ~0.5 GB into ~/.cache/pmd-agent, later
# runs only check the stamp and the ./.libtorch link (well under a second).
"$(dirname "$0")/libtorch.sh"

# PyTorch in .venv for the cross-check of our model files against PyTorch
# (tests/torch_python.rs): the first run installs it from libtorch.sh's
# cached torch wheel plus the NVIDIA wheels it links (~4.7 GB in .venv,
# about a minute), later runs only read two package versions (~0.1 s).
"$(dirname "$0")/torch-venv.sh"
