#!/usr/bin/env bash
# Installs PyTorch 2.11.0 (the version of the libtorch scripts/libtorch.sh
# links) and numpy into the project venv, for tests/torch_python.rs (our
# model files against real PyTorch). Only what is missing; safe to run any
# number of times and from several processes at once; once installed, a
# run only reads two package versions (well under a second).
#
#   scripts/torch-venv.sh          into ./.venv (made by scripts/setup.sh)
#   scripts/torch-venv.sh VENV     into another venv
#
# Where it comes from: the torch wheel libtorch.sh already keeps in its
# cache (and the two NVIDIA wheels beside it), so torch itself is never
# downloaded twice. PyPI's only Linux x86-64 torch is a CUDA 13 build whose
# Python module links the CUDA libraries even for a CPU run, so pip also
# installs the NVIDIA wheels torch's metadata pins (cuBLAS, cuDNN, NCCL, ...):
# several GB, once per venv. Runs on the CPU; no GPU is needed or used.
set -euo pipefail

TORCH_VERSION=2.11.0

project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$project/.venv}"
py="$venv/bin/python"

log() { echo "torch-venv.sh: $*" >&2; }

installed() {
    "$py" - "$TORCH_VERSION" <<'PY' 2>/dev/null
import importlib.metadata as md, sys
try:
    ok = md.version("torch").split("+")[0] == sys.argv[1] and md.version("numpy")
except md.PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
PY
}

if [ ! -x "$py" ]; then
    log "$venv has no python (scripts/setup.sh makes .venv)"
    exit 1
fi
# Fast path, without the lock.
if installed; then
    exit 0
fi

exec 9>"$venv/.torch-venv.lock"
if ! flock -n 9; then
    log "another install is running; waiting for it"
    flock 9
fi
if installed; then
    exit 0
fi

# The cached wheel is for CPython 3.11 (Debian 12's python3); another
# Python gets the same version from PyPI.
if [ "$("$py" -c 'import sys; print(sys.implementation.name, *sys.version_info[:2])')" = "cpython 3 11" ]; then
    mapfile -t wheels < <("$project/scripts/libtorch.sh" --wheels)
else
    wheels=("torch==$TORCH_VERSION")
fi
log "installing torch $TORCH_VERSION (CPU use; with the NVIDIA wheels it links, several GB) and numpy into $venv"
"$py" -m pip install -q --disable-pip-version-check --no-cache-dir "${wheels[@]}" numpy >&2

# One real CPU computation, so a broken install fails here, not in a test.
"$py" -c 'import torch; assert torch.__version__.split("+")[0] == "'"$TORCH_VERSION"'", torch.__version__; assert int((torch.ones(2, 3) @ torch.ones(3)).sum()) == 6' || {
    log "torch does not import or compute in $venv"
    exit 1
}
log "torch $TORCH_VERSION ready in $venv"
