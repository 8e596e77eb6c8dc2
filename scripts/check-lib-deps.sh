#!/usr/bin/env bash
# Proves the library builds without what only the command line needs: the
# dependency tree of `--no-default-features` must not contain them.
set -euo pipefail
cd "$(dirname "$0")/.."
cli_only=(clap indicatif tiny_http tracing-subscriber tracing-appender)
tree=$(cargo tree --no-default-features --edges normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
status=0
for crate in "${cli_only[@]}"; do
    if grep -qx "$crate" <<<"$tree"; then
        echo "check-lib-deps: the library depends on $crate without the cli feature" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "check-lib-deps: the library builds without ${cli_only[*]}"
exit "$status"
