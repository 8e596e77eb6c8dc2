//! `pmd-agent mcp`: the MCP server for LLM agents, over stdio (the client
//! starts it as a child process; logs go to stderr, stdout carries only
//! the protocol) or, with `--http ADDR`, over streamable HTTP at
//! `http://ADDR/mcp`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::failure::Failure;

/// `mcp`'s options.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Sessions (emulators) open at once, at most.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    max_sessions: u64,
    /// Named branches (savestates, ~400 KB each) per session, at most.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_branches: u64,
    /// Seconds after which an unused session is closed.
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Let `write_memory` and `run_lua` change the sessions' machines (off:
    /// both refuse).
    #[arg(long)]
    allow_writes: bool,
    /// Serve from pmd-agent-torch (libtorch loaded), so that `rollout` also
    /// takes `torch:PATH` policies.
    #[arg(long)]
    pub(super) torch: bool,
    /// Serve streamable HTTP on this address (e.g. 127.0.0.1:8765; port 0
    /// picks one and prints it) instead of stdio.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Bearer token HTTP clients must send (`Authorization: Bearer TOKEN`);
    /// required when ADDR is not a loopback address.
    #[arg(long, env = "PMD_MCP_TOKEN", hide_env_values = true, requires = "http")]
    token: Option<String>,
}

/// Serves until the client closes stdin.
pub fn mcp(args: &McpArgs) -> Result<(), Failure> {
    let limits = pmd_mcp::Limits {
        max_sessions: args.max_sessions as usize,
        max_branches: args.max_branches as usize,
        idle: Duration::from_secs(args.idle_timeout),
        allow_writes: args.allow_writes,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::other(format!("cannot start the async runtime: {e}")))?;
    let served = match args.http {
        Some(addr) => rt.block_on(pmd_mcp::serve_http(
            addr,
            args.token.clone(),
            limits,
            |bound| {
                eprintln!("pmd-agent mcp: serving MCP on http://{bound}/mcp");
            },
        )),
        None => rt.block_on(pmd_mcp::serve_stdio(limits)),
    };
    served.map_err(|e| match e {
        pmd_mcp::McpError::Config(message) => Failure::bad_input(message),
        other => Failure::other(other.to_string()),
    })
}
