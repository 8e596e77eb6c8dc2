#!/usr/bin/env bash
# pmd-agent against the Python emulator frontends on matched work, in one
# run: `pmd-agent bench keys` records the heuristic agent's exact input
# from power-on and times our agent path on that very run; emu_bench.py
# replays the same keys in the PyPI mgba bindings, pygba and stable-retro
# (each in the venv run.sh creates); every side prints the fingerprint of
# its end state, which must be equal; then the table.
#
#   benches/python/compare.sh [STEPS] [extra emu_bench.py arguments]
#
# Not part of CI.
set -euo pipefail
STEPS=${1:-3000}
shift || true
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/target/bench-python
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -j2
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
./target/release/pmd-agent bench keys --max-steps "$STEPS" --export "$OUT" --json | tee "$OUT/pmd-agent.json"
SEED=$(python3 -c "import json;print(json.load(open('$OUT/meta.json'))['seed'])")
AFTER=$(python3 -c "import json;print(json.load(open('$OUT/meta.json'))['seed_after'])")
"$HERE/run.sh" --rom "$ROOT/tests/data/cartridge.gba" --keys "$OUT/keys.npy" --steps "$OUT/steps.npy" \
  --seed "$SEED" --seed-after "$AFTER" "$@" > "$OUT/python.json"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
ours = json.load(open(f"{out}/pmd-agent.json"))
py = json.load(open(f"{out}/python.json"))
fp = ours["fingerprint"]
want = (fp["frame_counter"], f"{fp['input_hash']:#010x}", f"{fp['ewram_crc32']:#010x}")
print(f"| side | steps/CPU-s | frames/CPU-s | wall steps/s | fingerprint matches |")
print("|---|---|---|---|---|")
print(f"| pmd-agent runner, 1 thread | {ours['steps_per_cpu_s']:,.0f} | {ours['frames_per_cpu_s']:,.0f} | {ours['steps_per_s']:,.0f} | reference |")
for name, side in py.get("sides", {}).items():
    if not isinstance(side, dict) or "fingerprint" not in side:
        continue
    f = side["fingerprint"]
    got = (f["frame_counter"], f["input_hash"].lower(), f["ewram_crc32"].lower())
    cpu = side.get("cpu_steps_per_s")
    fcpu = side.get("cpu_frames_per_s")
    wall = side.get("steps_per_s")
    fmt = lambda v: f"{v:,.0f}" if isinstance(v, (int, float)) else "n/a"
    print(f"| {name} | {fmt(cpu)} | {fmt(fcpu)} | {fmt(wall)} | {'yes' if got == want else 'NO: ' + str(got)} |")
PY
