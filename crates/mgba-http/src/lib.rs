//! mgba-http: the mGBA-http socket protocol: the design this project replaces,
//! served natively so existing clients get faster without changing a
//! line, plus a client for it.
//!
//! * [`protocol`] — framing and request syntax on bytes (no I/O).
//! * [`command`] — requests checked and typed.
//! * [`hex`] — the protocol's comma-separated hex bytes.
//! * [`machine`] — an emulator on its own thread, free-running frames and
//!   applying taps frame by frame.
//! * [`handler`] — one request in, one reply out.
//! * [`files`] — the one directory file commands may touch.
//! * [`budget`] — the server-wide bound on bytes held by range reads.
//! * [`server`] — listeners, connections, limits, shutdown.
//! * [`client`] — a blocking client.
//! * [`baseline`] — the original agent's per-step sequence over a socket.
//!
//! **Depends on** pmd-mgba (the emulator it serves), pmd-game (the bundled
//! cartridge, the baseline's decoding), pmd-rollout (the baseline's
//! heuristic) and pmd-util; never on libtorch, the league or the command
//! line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baseline;
pub mod budget;
pub mod client;
pub mod command;
pub mod files;
pub mod handler;
pub mod hex;
pub mod machine;
pub mod protocol;
pub mod server;

pub use client::{Client, ClientError};
pub use server::{Server, ServerConfig, ServerError};
