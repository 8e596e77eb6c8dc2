#!/usr/bin/env bash
# `make fuzz-smoke` (and the end of `make test`): builds the cargo-fuzz
# targets in fuzz/ and runs each for FUZZ_SECONDS (default 20) from a seed
# corpus of valid inputs made here, failing on any crash, panic, timeout or
# out-of-memory. A smoke run, not a campaign: it proves the targets build
# and that the parsers survive the first minutes of mutation; run longer
# by hand with `cargo +nightly fuzz run TARGET`.
#
# Installs what is missing first, only then: a nightly toolchain (rustup,
# minimal profile; FUZZ_TOOLCHAIN names another) and cargo-fuzz 0.13.2
# (`cargo install --locked`). The targets are built without a sanitizer
# (`-s none`) and in the dev profile: libFuzzer's coverage instrumentation
# and its crash detection (panics abort) are what a smoke run needs, and
# AddressSanitizer would double the build of every dependency for code
# that is safe Rust apart from the FFI and the memory map.
#
# Seeds (fuzz/corpus/, ignored by git): mGBA-http requests; a league.v2
# registration; a model file saved by this build; a trajectory file and a
# memory index made by the debug binary from a short heuristic run.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain="${FUZZ_TOOLCHAIN:-nightly}"
seconds="${FUZZ_SECONDS:-20}"
targets=(request_parser league_inbound model_file trajectory_file index_file)

if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing the $toolchain toolchain" >&2
    rustup toolchain install "$toolchain" --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0\.13\.'; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz --version 0.13.2
fi

fuzz=(cargo "+$toolchain" fuzz)
# The targets link libtorch (the model-file reader lives behind the torch
# feature); build.rs gives only the main package's binaries its run path.
export LD_LIBRARY_PATH="$PWD/.libtorch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
flags=(-s none --dev)
CARGO_BUILD_JOBS="${JOBS:-2}" "${fuzz[@]}" build "${flags[@]}"

corpus=fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
agent=(cargo run -q -j "${JOBS:-2}" --)

for t in "${targets[@]}"; do mkdir -p "$corpus/$t"; done
printf 'core.getGameTitle\n<|END|>' >"$corpus/request_parser/title"
printf 'core.read8,33554432\n<|END|>mgba-http.button.tap,A\n<|END|>' >"$corpus/request_parser/two"
printf 'core.readRange,33554432,16\n<|END|>' >"$corpus/request_parser/range"
cat >"$corpus/league_inbound/register" <<'JSON'
{"jsonrpc":"2.0","method":"register_player","id":1,"params":{"protocol":"league.v2","message_type":"LEAGUE_REGISTER_REQUEST","sender":"player:P01","timestamp":"2026-01-15T10:30:00.000Z","conversation_id":"c1","player_meta":{"display_name":"P01","version":"1","game_types":["even_odd"],"contact_endpoint":"http://127.0.0.1:8101/mcp"}}}
JSON
cat >"$corpus/league_inbound/query" <<'JSON'
{"jsonrpc":"2.0","method":"league_query","id":"q","params":{"protocol":"league.v2","message_type":"LEAGUE_QUERY","sender":"player:P01","timestamp":"2026-01-15T10:30:00Z","conversation_id":"c2","auth_token":"tok","query_type":"GET_STANDINGS"}}
JSON

# A trajectory file and an index from a short run of the debug binary.
"${agent[@]}" run --policy heuristic --envs 1 --steps 40 --max-episode-steps 20 \
    --record "$work/traj" --record-batch-rows 8 >/dev/null
cp "$work"/traj/*.arrows "$corpus/trajectory_file/run.arrows"
"${agent[@]}" index build --from "$work/traj" --out "$work/index" >/dev/null
python3 - "$work/index" "$corpus/index_file/run" <<'PY'
import json, os, struct, sys
src, out = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(src, "MANIFEST.json")))
parts = {}
for key in ("base", "delta"):
    if manifest.get(key):
        parts[key] = open(os.path.join(src, manifest[key]), "rb").read()
        manifest[key] = key  # the target writes the files under these names
m = json.dumps(manifest).encode()
base = parts.get("base", b"")
with open(out, "wb") as f:
    f.write(struct.pack("<II", len(m), len(base)) + m + base + parts.get("delta", b""))
PY
cp models/default.pt "$corpus/model_file/default.pt"

for t in "${targets[@]}"; do
    echo "fuzz-smoke: $t for ${seconds}s" >&2
    if ! "${fuzz[@]}" run "${flags[@]}" "$t" "$corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$work/$t.log" 2>&1; then
        tail -n 60 "$work/$t.log" >&2
        echo "fuzz-smoke: $t failed (the input is in fuzz/artifacts/$t)" >&2
        exit 1
    fi
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$work/$t.log" |
        sed "s/^/fuzz-smoke: $t: /" >&2
done
echo "fuzz-smoke: every target ran ${seconds}s without a finding" >&2
