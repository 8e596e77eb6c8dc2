#!/usr/bin/env bash
# Side-by-side inference benchmark, like for like: `pmd-agent bench
# inference` (Rust, tch) against Python PyTorch eager running the same
# network (the model file's weights), on the same observation rows, with
# the same thread count and timing method, in the same run. Two pairs:
#
#   dense   ours with --dense (addmm over the whole observation)
#           against PyTorch's nn.Linear;
#   sparse  ours by default (embedding_bag over the features that are on)
#           against torch.nn.functional.embedding_bag(mode="sum") over the
#           non-zero features, found in the call as ours finds them; plus,
#           for reference only, PyTorch's sparse layer with the features
#           found before timing (a lower bound, not like for like).
#
# Not part of CI.
#
#   benches/torch/run.sh [--model FILE] [--threads N] [--install]
#                        [--layers dense,sparse] [--batches 1,8,64,256,1024]
#                        [--device cpu|cuda] [--bin PATH] [--python PATH]
#                        [--out DIR]
#
# Prints both tables and the goal lines, then one line `json: {...}` with
# every figure; with --out, also DIR/inference.json and each side's raw
# report. --bin runs that prebuilt executable (pmd-agent-torch, or
# pmd-agent beside it) instead of building; --python that interpreter (with
# torch and numpy) instead of a venv (benches/torch/device.sh uses both).
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
layers=dense,sparse
batches=1,8,64,256,1024
device=cpu
bin=""
python=""
out=""
usage="usage: $0 [--model FILE] [--threads N] [--install] [--layers dense,sparse] [--batches N,..] [--device cpu|cuda] [--bin PATH] [--python PATH] [--out DIR]"
while (($#)); do
    case "$1" in
        --model) model="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --install) install=1; shift ;;
        --layers) layers="$2"; shift 2 ;;
        --batches) batches="$2"; shift 2 ;;
        --device) device="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        --python) python="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
for layer in ${layers//,/ }; do
    case "$layer" in
        dense|sparse) ;;
        *) echo "run.sh: --layers takes dense and/or sparse, not '$layer'" >&2; exit 2 ;;
    esac
done
if [[ "$device" != cpu && ",$layers," == *",sparse,"* ]]; then
    # Our actor runs the sparse first layer on the CPU only.
    echo "run.sh: the sparse pair is CPU only; use --layers dense with --device $device" >&2
    exit 2
fi

if [ -n "$python" ]; then
    "$python" -c 'import torch, numpy' || { echo "run.sh: $python has no torch and numpy" >&2; exit 2; }
else
    venv="${PMD_TORCH_VENV:-$here/.venv}"
    if [ -n "${PMD_TORCH_VENV:-}" ]; then
        "$venv/bin/python" -c 'import torch, numpy' || { echo "run.sh: $venv has no torch and numpy" >&2; exit 2; }
    elif [ "$install" = 1 ] || ! "$venv/bin/python" -c 'import torch, numpy' >/dev/null 2>&1; then
        echo "run.sh: installing torch==2.11.0 and numpy into $venv (several GB, once)" >&2
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check torch==2.11.0 numpy >&2
    fi
    python="$venv/bin/python"
fi

if [ -z "$bin" ]; then
    "$root/scripts/libtorch.sh"
    (cd "$root" && cargo build -q --release -j2 -p pmd-agent -p pmd-agent-torch)
    bin="$root/target/release/pmd-agent"
fi
[ -x "$bin" ] || { echo "run.sh: no executable at $bin" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rows="$work/rows"
exported=0
load="$(uptime | sed 's/.*load average: //')"
for layer in ${layers//,/ }; do
    ours=(bench inference --model "$model" --threads "$threads" --device "$device" --batches "$batches" --json)
    [ "$layer" = dense ] && ours+=(--dense)
    # Ours exports the rows it times; the first run's rows are what every
    # Python run reads, and each later run must have timed the same ones.
    if [ "$exported" = 0 ]; then
        "$bin" "${ours[@]}" --export "$rows" >"$work/ours-$layer.json"
        exported=1
    else
        "$bin" "${ours[@]}" --export "$work/rows-$layer" >"$work/ours-$layer.json"
        cmp -s "$rows/obs.npy" "$work/rows-$layer/obs.npy" && cmp -s "$rows/mask.npy" "$work/rows-$layer/mask.npy" \
            || { echo "run.sh: the $layer run timed other rows than the first run" >&2; exit 1; }
    fi
    eager=("$here/eager_bench.py" --model "$model" --rows "$rows" --threads "$threads" --device "$device" --batches "$batches" --first-layer "$layer")
    "$python" "${eager[@]}" >"$work/python-$layer.json"
    if [ "$layer" = sparse ]; then
        "$python" "${eager[@]}" --indices-given >"$work/python-sparse-given.json"
    fi
    echo "rust (tch), $layer:     $(cat "$work/ours-$layer.json")"
    echo "python (eager), $layer: $(cat "$work/python-$layer.json")"
done
load="$load -> $(uptime | sed 's/.*load average: //')"

"$python" - "$work" "$threads" "$device" "$model" "$load" "$layers" <<'PY' | tee "$work/summary.txt"
import json, os, sys
work, threads, device, model, load, layers = sys.argv[1:7]
read = lambda name: json.load(open(os.path.join(work, name)))
summary = {"threads": int(threads), "device": device, "model": model,
           "load_average_before_after": load}
for layer in layers.split(","):
    ours, theirs = read(f"ours-{layer}.json"), read(f"python-{layer}.json")
    given = read("python-sparse-given.json") if layer == "sparse" else None
    pair = {"ours": ours, "python": theirs}
    what = {"dense": "ours addmm (--dense) vs PyTorch nn.Linear",
            "sparse": "ours embedding_bag vs PyTorch F.embedding_bag, features found in the call"}[layer]
    print(f"\n{layer}/{layer}: {what}; threads={threads}, device={device}")
    head = f"{'batch':>6} {'rust us/batch':>14} {'py us/batch':>12} {'rust us/sample':>15} {'py us/sample':>13} {'rust/py':>8}"
    if given:
        head += f" {'py given us/batch':>18}"
    print(head)
    pair["ours_over_python"] = []
    for i, b in enumerate(ours["batch"]):
        ob, tb = ours["us_per_batch"][i], theirs["us_per_batch"][i]
        line = (f"{b:>6} {ob:>14.1f} {tb:>12.1f} {ours['us_per_sample'][i]:>15.2f} "
                f"{theirs['us_per_sample'][i]:>13.2f} {ob / tb:>8.2f}")
        if given:
            line += f" {given['us_per_batch'][i]:>18.1f}"
        pair["ours_over_python"].append(ob / tb)
        print(line)
    goals = {}
    if 1 in ours["batch"] and 64 in ours["batch"]:
        i1, i64 = ours["batch"].index(1), ours["batch"].index(64)
        for side, r in (("ours", ours), ("python", theirs)):
            ratio = r["us_per_sample"][i64] / r["us_per_sample"][i1]
            goals[f"batching_ratio_{side}"] = ratio
            print(f"batching goal, {side:>6} (b64 per-sample <= 1/8 of b1): "
                  f"{ratio:.3f} -> {'met' if ratio <= 1 / 8 else 'NOT met'}")
    if 1 in ours["batch"]:
        i1 = ours["batch"].index(1)
        r = ours["us_per_batch"][i1] / theirs["us_per_batch"][i1]
        goals["b1_ours_over_python"] = r
        print(f"vs Python eager at batch 1 (goal <= 2/3): {r:.3f} -> {'met' if r <= 2 / 3 else 'NOT met'}")
    pair["goals"] = goals
    if given:
        pair["python_indices_given"] = given
        print("(py given: PyTorch's sparse layer with the non-zero features found before timing;"
              " not like for like, a lower bound)")
    summary[layer] = pair
with open(os.path.join(work, "inference.json"), "w") as f:
    json.dump(summary, f)
print("\njson: " + json.dumps(summary))
PY
if [ -n "$out" ]; then
    mkdir -p "$out"
    cp "$work"/*.json "$work/summary.txt" "$out/"
fi
