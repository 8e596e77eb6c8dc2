#!/usr/bin/env bash
# Keeps the crate docs' "Depends on" lines true: each crate's normal
# dependency tree (`cargo tree -p CRATE`) must not contain what its doc says
# it does without; the pmd-agent library without features has none of the
# command line's, the league's or libtorch's crates, and with its features
# no libtorch (that is pmd-agent-torch's); and ARCHITECTURE.md's
# crate graph is the one cargo metadata gives (scripts/crate-graph.py).
set -euo pipefail
cd "$(dirname "$0")/.."

cli_only=(clap indicatif tracing-subscriber tracing-appender)
async_net=(tokio axum hyper reqwest)
league_only=(league-v2 rusqlite libsqlite3-sys skillratings)
torch_only=(pmd-torch tch torch-sys zip)
emulator=(pmd-mgba cc)
game=(pmd-game pmd-rollout mhnsw mgba-http)

status=0
# check CRATE CARGO_TREE_FLAGS... -- FORBIDDEN...
check() {
    local crate=$1; shift
    local flags=()
    while [ "$1" != "--" ]; do flags+=("$1"); shift; done
    shift
    local tree
    tree=$(cargo tree -p "$crate" "${flags[@]}" --edges normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
    local found=()
    for dep in "$@"; do
        [ "$dep" = "$crate" ] && continue
        if grep -qx "$dep" <<<"$tree"; then found+=("$dep"); fi
    done
    if [ "${#found[@]}" -gt 0 ]; then
        echo "check-crates: $crate ${flags[*]} depends on ${found[*]}" >&2
        status=1
    else
        echo "check-crates: $crate${flags[*]:+ ${flags[*]}}: none of $*"
    fi
}

check pmd-util -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}" "${emulator[@]}" "${game[@]}" pmd-plot
check pmd-plot -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}" "${emulator[@]}" "${game[@]}"
check pmd-mgba -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}" "${game[@]}"
check pmd-game -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}" pmd-rollout mhnsw mgba-http
check mhnsw -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}" "${emulator[@]}" "${game[@]}"
check pmd-rollout -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}" mgba-http
check pmd-torch -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" mgba-http
check mgba-http -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}"
check league-v2 -- "${cli_only[@]}" "${torch_only[@]}" "${emulator[@]}" "${game[@]}"
check league-player -- "${torch_only[@]}" "${emulator[@]}" "${game[@]}"
# The MCP server: the core crates and rmcp; no libtorch, league or CLI.
check pmd-mcp -- "${cli_only[@]}" "${league_only[@]}" "${torch_only[@]}" mgba-http
# The Python package: the core crates, no libtorch (torch:PATH runs in PyTorch).
check pmd-py -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}" mgba-http
# The command line links no libtorch: torch commands run in pmd-agent-torch.
check pmd-agent -- "${torch_only[@]}"
check pmd-agent --no-default-features -- "${cli_only[@]}" "${async_net[@]}" "${league_only[@]}" "${torch_only[@]}"
check pmd-agent --no-default-features --features league -- "${cli_only[@]}" "${torch_only[@]}"

python3 scripts/crate-graph.py --check || status=1
exit "$status"
