//! pmd-mcp: a Model Context Protocol server for LLM agents, on the official
//! Rust SDK (`rmcp`). Each session is an emulator in this process (a
//! one-environment [`VecEnv`](pmd_rollout::VecEnv) with its fault
//! isolation); tools observe it as structured data and a text map, act with
//! semantic actions, take screenshots, save and restore named in-memory
//! branches (microseconds, where a socket frontend cannot branch at all),
//! look ahead along candidate action sequences without moving the session,
//! let a native policy play, and read memory.
//!
//! Bad input is a tool error (`isError`) with one line; the server keeps
//! serving every other session. Sessions are bounded in number and close
//! after being idle.
//!
//! **Depends on** pmd-game, pmd-mgba, pmd-rollout and rmcp; never on
//! libtorch, the league or the command line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod http;
mod image;
mod observe;
mod resources;
mod server;
mod sessions;

pub use http::serve_http;
pub use server::PmdMcp;
pub use sessions::Limits;

use rmcp::ServiceExt;

/// How often idle sessions are looked for: a quarter of the idle time,
/// between 100 ms and a minute.
pub(crate) fn reap_period(limits: &Limits) -> std::time::Duration {
    (limits.idle / 4).clamp(
        std::time::Duration::from_millis(100),
        std::time::Duration::from_secs(60),
    )
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The MCP handshake or transport failed.
    #[error("MCP: {0}")]
    Protocol(String),
    /// The server cannot start as configured (address, token).
    #[error("{0}")]
    Config(String),
}

/// Serves MCP over stdin/stdout until the client closes the connection.
/// A client that disconnects before its first request is a normal exit.
pub async fn serve_stdio(limits: Limits) -> Result<(), McpError> {
    let server = PmdMcp::new(limits);
    server.reap_idle(reap_period(&limits));
    let running = match server.serve(rmcp::transport::stdio()).await {
        Ok(running) => running,
        Err(e) => {
            tracing::info!(error = %e, "the client left before the handshake");
            return Ok(());
        }
    };
    running
        .waiting()
        .await
        .map(|_| ())
        .map_err(|e| McpError::Protocol(e.to_string()))
}
