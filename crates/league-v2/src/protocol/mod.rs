//! The league.v2 wire protocol: envelope, message bodies, JSON-RPC framing
//! and timestamps. Pure data and parsing: no I/O.

pub mod envelope;
pub mod jsonrpc;
pub mod messages;
pub mod time;

pub use envelope::{is_valid_id, Envelope, Role, Sender, PROTOCOL};
pub use jsonrpc::{extract_reply, Inbound, Rejection, ReplyError};
pub use messages::types;
