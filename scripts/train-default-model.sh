#!/usr/bin/env bash
# Reproduces models/default.pt, the default torch policy, from nothing:
#
#   1. record the search policy on training seed range 3000 (40,000 steps),
#   2. behaviour-clone it (train bc),
#   3. fine-tune with PPO on training seed range 1000 (train ppo).
#
# Seed ranges: 3000 and 1000 train, 2000 tunes (the same range the search
# was tuned on), 1 judges (bench policies --seed 1), never used before
# judging. The run is deterministic on one machine and thread count; other
# machines may differ in the last digits of libtorch's floating point.
#
#   scripts/train-default-model.sh [WORKDIR]   (default target/train-default)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$root/target/train-default}"
bin="$root/target/release/pmd-agent"
(cd "$root" && cargo build -q --release -j2)
rm -rf "$work"
mkdir -p "$work"
"$bin" run --policy search --envs 2 --threads 2 --steps 40000 --seed 3000 \
    --max-episode-steps 300 --record "$work/search" --json >"$work/search.json"
"$bin" train bc --data "$work/search" --out "$work/bc.pt" --epochs 20 --seed 0 --threads 2
"$bin" train ppo --init "$work/bc.pt" --envs 8 --steps 240000 --seed 1000 --threads 2 \
    --out "$work/ppo.pt"
echo "candidates: $work/bc.pt $work/ppo.pt; judge with:"
echo "  $bin bench policies --seed 1 --episodes 100 --max-steps 300 --greedy --policies random,heuristic,search,torch:$work/bc.pt,torch:$work/ppo.pt"
