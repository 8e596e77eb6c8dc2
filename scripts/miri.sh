#!/usr/bin/env bash
# `make miri`: the library's pure-Rust unit tests under Miri (undefined
# behaviour, leaks, data races in what they run). Not part of `make test`.
#
# Installs what is missing first, only then: the nightly toolchain with its
# `miri` component (rustup; the first time about 20 s and 0.7 GB), and
# Miri's own sysroot (`cargo miri setup`: once per nightly, about 35 s and
# 0.1 GB in ~/.cache/miri). A machine that already has a nightly with miri
# keeps it (no update on each run); MIRI_TOOLCHAIN names another one.
#
# What runs (ARCHITECTURE.md, Cross-cutting concerns, says the same): the
# library built without default features (no `torch`, `league`, `cli`:
# libtorch, SQLite and the HTTP stack are foreign code or far too slow
# under Miri), and of its unit tests only the modules in MODULES below,
# minus SKIP. Left out, by reason:
#   - foreign code Miri cannot call: everything that builds an mGBA core
#     (`emu::emulator`, `env`, `policy::search`, `bench::e2e`,
#     `socket::handler`, `socket::machine`, ...);
#     `sys::tensor_view` and `infer`/`train` need libtorch (not even built);
#   - file-backed memory maps, which Miri does not implement: `sys::mmap`'s
#     own test is `cfg_attr(miri, ignore)`;
#   - too slow interpreted (1.5 to over 4 minutes each, measured):
#     `emu::rom::tests::rejects_sizes` (a 32 MiB ROM), `plot`, `screenshot`
#     and `bench::socket` (PNG encoding), `procfs` (a busy loop);
#   - `bench::e2e` also runs rayon, whose crossbeam-epoch fails Stacked
#     Borrows inside crossbeam (not this crate's code).
# The socket server's pure modules run; `socket::handler` and
# `socket::machine` drive a core, so they do not. `-Zmiri-disable-isolation`
# lets tests use the real clock and temporary files (atomic_file);
# `-Zmiri-deterministic-floats` turns off Miri's deliberate imprecision of
# `powf` and friends, which would change `metrics`' exact histogram labels.
set -euo pipefail

toolchain="${MIRI_TOOLCHAIN:-nightly}"

if ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^miri'; then
    echo "miri.sh: installing the $toolchain toolchain with miri" >&2
    rustup toolchain install "$toolchain" --component miri --profile minimal
fi
# Builds Miri's sysroot when missing (and adds rust-src if needed); a few
# hundred milliseconds when it is there.
cargo "+$toolchain" miri setup >&2

# crate:filter... (the unit-test modules run under Miri, per crate)
RUNS=(
    "pmd-mgba ffi:: keys:: memory:: mgba_log:: rom:: snapshot:: state_file::"
    "pmd-util atomic_file:: rng::"
    "mhnsw ::"
    "pmd-game action:: cartridge:: decode:: direction:: mask:: menu:: path:: pmd_red:: profile:: ram_map:: state:: state_json:: view:: env::outcome:: env::reward::"
    "pmd-rollout device:: metrics:: memory:: policy::heuristic:: policy::rows:: policy::spec:: policy::threads:: frames:: seeds::"
    "mgba-http budget:: command:: files:: hex:: protocol::"
)
# ffi:: is the framebuffer ownership pattern (an unsafe module); mhnsw's
# mmap test (the other unsafe module here) is ignored under Miri. A 32 MiB
# ROM takes minutes interpreted:
SKIP=(
    rom::tests::rejects_sizes
)

skip_args=()
for s in "${SKIP[@]}"; do
    skip_args+=(--skip "$s")
done

for run in "${RUNS[@]}"; do
    read -r crate filters <<<"$run"
    # shellcheck disable=SC2086 # the filters are words
    MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-disable-isolation -Zmiri-deterministic-floats" \
        cargo "+$toolchain" miri test -j "${JOBS:-2}" -p "$crate" --lib -- \
        $filters "${skip_args[@]}"
done
