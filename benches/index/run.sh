#!/usr/bin/env bash
# The vector memory against FAISS, side by side on the very same vectors,
# in one run: `pmd-agent bench index` builds, measures and exports the
# vectors; benches/index/faiss_bench.py measures FAISS IndexHNSWFlat and
# IndexFlatIP on the exported files; a table of both is printed.
#
#   benches/index/run.sh [POINTS] [extra `pmd-agent bench index` arguments]
#
# Installs faiss-cpu and numpy into benches/index/.venv on first use (PyPI).
# Not part of CI. Drops the page cache for the cold figures when run as root.
set -euo pipefail
POINTS=${1:-100000}
shift || true
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/benches/index/.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c "import faiss, numpy" 2>/dev/null \
  || "$VENV/bin/pip" install -q "faiss-cpu==1.15.1" "numpy==2.4.6"
cargo build --release -j2
OUT=$ROOT/target/bench-index-$POINTS
mkdir -p "$OUT"
COLD=""
[ "$(id -u)" = 0 ] && COLD=--cold
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
./target/release/pmd-agent bench index --points "$POINTS" --export "$OUT" \
  --index-dir "$OUT/pmd-agent" $COLD --json "$@" | tee "$OUT/pmd-agent.json"
"$VENV/bin/python" benches/index/faiss_bench.py --vectors "$OUT/vectors.npy" \
  --queries "$OUT/queries.npy" --dir "$OUT/faiss" $COLD | tee "$OUT/faiss.json"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = [dict(json.load(open(f"{out}/pmd-agent.json")), index="pmd-agent HNSW (mapped)")]
rows += [json.loads(l) for l in open(f"{out}/faiss.json") if l.strip()]
cols = ["points", "build_s", "build_cpu_s", "ef", "recall_at_10", "qps_1", "qps_all",
        "open_to_first_query_ms", "open_to_first_query_cold_ms", "rss_after_open_mb",
        "rss_anon_after_open_mb", "rss_open_delta_mb", "index_bytes"]
print("| index | " + " | ".join(cols) + " |")
print("|---" * (len(cols) + 1) + "|")
def fmt(v):
    if v is None: return "n/a"
    if isinstance(v, float): return f"{v:.3g}" if v < 100 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)
for r in rows:
    print(f"| {r['index']} | " + " | ".join(fmt(r.get(c)) for c in cols) + " |")
PY
