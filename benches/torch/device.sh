#!/usr/bin/env bash
# The CUDA figures, on a machine with a GPU, PyTorch 2.11 (CUDA build) as
# `python3`, and no Rust toolchain: a prebuilt pmd-agent-torch is carried
# to it and runs against PyTorch's own libtorch.
#
#   # on the build machine: a stripped copy of the release binary (~26 MB
#   # instead of ~230 MB with debug info), in an ignored folder to carry
#   cargo build --release -p pmd-agent -p pmd-agent-torch
#   benches/torch/device.sh --prepare          # -> target/device/pmd-agent-torch
#   # on the GPU machine, from the repository root (the device tool: run
#   # with carry ["target/device"]); results go under $OUT
#   benches/torch/device.sh [--out DIR] [--bin PATH] [--python PATH] [--no-cpu]
#   # anywhere, to test the script without a GPU (device cpu, short runs)
#   benches/torch/device.sh --cpu-dry-run [--python .venv/bin/python]
#
# What it runs, in order, each report as JSON under the output folder:
#   inference-cuda/   `bench inference --device cuda --dense` beside
#                     eager_bench.py --device cuda on the same rows, batches
#                     1,8,64,256,1024,4096 (benches/torch/run.sh --bin ...;
#                     on CUDA our actor's first layer is always dense)
#   inference-cpu/    the CPU pairs (dense and sparse) on the same machine,
#                     for reference (skipped with --no-cpu)
#   e2e-cuda.json     `bench e2e --device cuda` at N = 256
#   e2e-cpu.json      the same on the CPU (skipped with --no-cpu)
#   env.txt           GPU, driver, torch version, load, the libraries used
# It stops with one line on stderr, before measuring anything, when CUDA is
# absent (exit 3) or the binary's libraries cannot be found (exit 2).
#
# Which libtorch: the binary links libtorch_cpu.so and libc10.so
# dynamically (RUNPATH = the build machine's .libtorch/lib, absent here)
# and is not carried with them. It runs against the ones in python3's torch
# package (torch/lib; libcudart and libcupti from the nvidia/ packages
# beside it), put first on LD_LIBRARY_PATH. The link dropped
# libtorch_cuda.so as unused (--as-needed), and without it libtorch sees no
# GPU, so it is loaded with LD_PRELOAD: its initialisers register CUDA with
# libtorch. Both must be PyTorch 2.11.x, the version tch 0.24 was built
# against. The binary needs a glibc at least as new as the build machine's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/target/device/pmd-agent-torch"
python="${PYTHON:-python3}"
out="${OUT:-$root/device-out}"
cpu=1
dry=0
usage="usage: $0 [--prepare | --cpu-dry-run] [--out DIR] [--bin PATH] [--python PATH] [--no-cpu]"
while (($#)); do
    case "$1" in
        --prepare)
            src="$root/target/release/pmd-agent-torch"
            [ -x "$src" ] || { echo "device.sh: build first: cargo build --release -p pmd-agent -p pmd-agent-torch" >&2; exit 2; }
            mkdir -p "$(dirname "$bin")"
            objcopy --strip-all "$src" "$bin"
            echo "device.sh: $bin ($(du -h "$bin" | cut -f1)); carry target/device to the GPU machine"
            exit 0 ;;
        --cpu-dry-run) dry=1; shift ;;
        --out) out="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        --python) python="$2"; shift 2 ;;
        --no-cpu) cpu=0; shift ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
fail() { echo "device.sh: $2" >&2; exit "$1"; }

[ -x "$bin" ] || fail 2 "no executable at $bin (run --prepare on the build machine, carry target/device)"
command -v "$python" >/dev/null 2>&1 || fail 2 "no $python (PyTorch 2.11 with CUDA expected)"
torch_lib="$("$python" -c 'import torch, os; print(os.path.dirname(torch.__file__) + "/lib")' 2>/dev/null)" \
    || fail 2 "$python cannot import torch"
torch_version="$("$python" -c 'import torch; print(torch.__version__)')"
[[ "$torch_version" == 2.11.* ]] || fail 2 "$python has torch $torch_version; the binary was built against 2.11"

if [ "$dry" = 0 ]; then
    cuda="$("$python" -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null || echo 0)"
    [ "$cuda" = 1 ] || fail 3 "CUDA is absent here (torch $torch_version: torch.cuda.is_available() is False); nothing measured (--cpu-dry-run tests the script on a CPU)"
fi

# PyTorch's libtorch for our binary (see the header).
libs="$torch_lib"
for d in "$torch_lib"/../../nvidia/*/lib; do
    [ -d "$d" ] && libs="$libs:$(cd "$d" && pwd)"
done
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -f "$torch_lib/libtorch_cuda.so" ]; then
    export LD_PRELOAD="$torch_lib/libtorch_cuda.so${LD_PRELOAD:+ $LD_PRELOAD}"
elif [ "$dry" = 0 ]; then
    fail 3 "CUDA is absent here: $torch_lib has no libtorch_cuda.so (a CPU-only torch)"
fi
missing="$(ldd "$bin" | awk '/not found/ {print $1}' | tr '\n' ' ')"
[ -z "$missing" ] || fail 2 "$bin: libraries not found: $missing(LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"

if [ "$dry" = 1 ]; then
    device=cpu batches=1,8,64 e2e_steps=2000 e2e_envs=16
else
    device=cuda batches=1,8,64,256,1024,4096 e2e_steps=16000 e2e_envs=256
fi
mkdir -p "$out"
{
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(uname -srm), $(nproc) cores; load before: $(uptime | sed 's/.*load average: //')"
    echo "python: $("$python" --version 2>&1), torch $torch_version, CUDA $("$python" -c 'import torch; print(torch.version.cuda)')"
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    echo "binary: $bin"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo "LD_PRELOAD=${LD_PRELOAD:-}"
    ldd "$bin" | grep -E 'torch|c10|gomp|cud|cupti' || true
} >"$out/env.txt"
cat "$out/env.txt"

step() { echo; echo "== $*"; }
step "inference, $device: ours (dense) against PyTorch eager, same rows"
"$here/run.sh" --bin "$bin" --python "$python" --device "$device" --layers dense \
    --batches "$batches" --threads 1 --out "$out/inference-$device" \
    || fail 1 "the $device inference pair failed (above)"
if [ "$cpu" = 1 ] && [ "$device" != cpu ]; then
    step "inference, cpu: both pairs, for reference"
    "$here/run.sh" --bin "$bin" --python "$python" --device cpu --layers dense,sparse \
        --threads 1 --out "$out/inference-cpu" || fail 1 "the cpu inference pairs failed (above)"
fi
step "e2e, $device: N = $e2e_envs"
"$bin" bench e2e --model "$root/models/default.pt" --device "$device" --envs "$e2e_envs" \
    --steps "$e2e_steps" --max-batch "$e2e_envs" --json | tee "$out/e2e-$device.json" \
    || fail 1 "bench e2e --device $device failed (above)"
if [ "$cpu" = 1 ] && [ "$device" != cpu ]; then
    step "e2e, cpu: N = $e2e_envs"
    "$bin" bench e2e --model "$root/models/default.pt" --device cpu --envs "$e2e_envs" \
        --steps "$e2e_steps" --max-batch "$e2e_envs" --json | tee "$out/e2e-cpu.json" \
        || fail 1 "bench e2e --device cpu failed (above)"
fi
echo "load after: $(uptime | sed 's/.*load average: //')" | tee -a "$out/env.txt"
echo "device.sh: results in $out"
