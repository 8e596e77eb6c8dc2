#!/usr/bin/env bash
# Proves the library builds without what only the command line, the agent
# league and the torch feature need: the dependency tree of
# `--no-default-features` must not contain them. The `cli` feature turns
# `league` on and the default features add `torch`; the league's async
# stack and SQLite come only with `league`, libtorch only with `torch`.
set -euo pipefail
cd "$(dirname "$0")/.."
cli_only=(clap indicatif tracing-subscriber tracing-appender)
league_only=(tokio axum hyper reqwest rusqlite libsqlite3-sys skillratings subtle url)
torch_only=(tch torch-sys zip)
tree=$(cargo tree --no-default-features --edges normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
status=0
for crate in "${cli_only[@]}" "${league_only[@]}" "${torch_only[@]}"; do
    if grep -qx "$crate" <<<"$tree"; then
        echo "check-lib-deps: the library depends on $crate without the cli, league and torch features" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "check-lib-deps: the library builds without ${cli_only[*]} ${league_only[*]} ${torch_only[*]}"
