//! The `pmd-agent` command-line tool: thin glue over the `pmd_agent`
//! library. See `pmd-agent --help`.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
