//! The `pmd-agent` command-line tool: thin glue over the `pmd_agent`
//! library. See `pmd-agent --help`. It links no libtorch: commands that
//! need it are handed to `pmd-agent-torch` (see `pmd_agent::cli`).
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(pmd_agent::cli::main(None));
}
