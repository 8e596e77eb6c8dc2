//! The `pmd-agent` command-line tool: thin glue over the `pmd_agent`
//! library. See `pmd-agent --help`.
#![forbid(unsafe_code)]

mod cli;

fn main() {
    std::process::exit(cli::main());
}
