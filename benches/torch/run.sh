#!/usr/bin/env bash
# Side-by-side inference benchmark: `pmd-agent bench inference` (Rust, tch)
# against Python PyTorch eager, same network shape, same observation rows,
# same thread count, same machine, same run. Not part of CI.
#
#   benches/torch/run.sh [--model models/default.pt] [--threads N] [--install]
#
# The Python side runs in its own venv (benches/torch/.venv, ignored by
# git) with torch==2.11.0 from PyPI, installed when missing or when
# --install is given. PyPI's Linux wheel is a CUDA 13 build: `import torch`
# loads the CUDA libraries even for a CPU run, so the install pulls the
# NVIDIA wheels too (several GB, once). PMD_TORCH_VENV names another venv
# that already has torch 2.11.0 and numpy (used as is, never installed into).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
model="$root/models/default.pt"
threads=1
install=0
while (($#)); do
    case "$1" in
        --model) model="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --install) install=1; shift ;;
        *) echo "usage: $0 [--model FILE] [--threads N] [--install]" >&2; exit 2 ;;
    esac
done

venv="${PMD_TORCH_VENV:-$here/.venv}"
if [ -n "${PMD_TORCH_VENV:-}" ]; then
    "$venv/bin/python" -c 'import torch, numpy' || { echo "run.sh: $venv has no torch and numpy" >&2; exit 2; }
elif [ "$install" = 1 ] || ! "$venv/bin/python" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "run.sh: installing torch==2.11.0 and numpy into $venv (several GB, once)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check torch==2.11.0 numpy >&2
fi

"$root/scripts/libtorch.sh"
(cd "$root" && cargo build -q --release -j2 -p pmd-agent -p pmd-agent-torch)
rows="$(mktemp -d)"
trap 'rm -rf "$rows"' EXIT
ours="$("$root/target/release/pmd-agent" bench inference --model "$model" --threads "$threads" --export "$rows" --json)"
theirs="$("$venv/bin/python" "$here/eager_bench.py" --model "$model" --rows "$rows" --threads "$threads")"
echo "rust (tch):     $ours"
echo "python (eager): $theirs"
"$venv/bin/python" - "$ours" "$theirs" "$threads" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"\nthreads={sys.argv[3]}")
print(f"{'batch':>6} {'rust us/batch':>14} {'py us/batch':>12} {'rust us/sample':>15} {'py us/sample':>13} {'rust/py':>8}")
for b, ob, tb, os_, ts in zip(ours["batch"], ours["us_per_batch"], theirs["us_per_batch"],
                              ours["us_per_sample"], theirs["us_per_sample"]):
    print(f"{b:>6} {ob:>14.1f} {tb:>12.1f} {os_:>15.2f} {ts:>13.2f} {ob / tb:>8.2f}")
i1, i64 = ours["batch"].index(1), ours["batch"].index(64)
r = ours["us_per_sample"][i64] / ours["us_per_sample"][i1]
print(f"\nbatching goal (b64 per-sample <= 1/8 of b1): {r:.3f} -> {'met' if r <= 1 / 8 else 'NOT met'}")
r = ours["us_per_batch"][i1] / theirs["us_per_batch"][i1]
print(f"vs Python eager at batch 1 (goal <= 2/3): {r:.3f} -> {'met' if r <= 2 / 3 else 'NOT met'}")
PY
