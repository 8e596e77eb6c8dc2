//! Protocol error codes and the typed errors of the library.
//!
//! league.v2 agrees only on `E001` (timeout) and `E012` (invalid auth token);
//! the other codes are ours and listed in [`ErrorCode`]. Every error a peer
//! can cause is answered with one of them as a `LEAGUE_ERROR` or
//! `GAME_ERROR`, never with an HTTP 500.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A league.v2 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A peer did not answer in time.
    E001,
    /// The envelope names another protocol than `league.v2`.
    E002,
    /// A required field is missing.
    E003,
    /// A field has the wrong type or an invalid value.
    E004,
    /// The sender is not registered in this league.
    E005,
    /// The id is already registered.
    E006,
    /// Registration is closed or the request is not accepted now.
    E007,
    /// Unknown message type, or a method that does not carry it.
    E008,
    /// The peer could not be reached.
    E009,
    /// The message is larger than the limit.
    E010,
    /// Too many messages from this sender.
    E011,
    /// Missing or wrong auth token.
    E012,
    /// The sender tries to act for someone else.
    E013,
    /// No such match (or not one of the sender's).
    E014,
    /// An illegal move or action.
    E015,
    /// The body is not JSON (or not a JSON-RPC object).
    E016,
    /// The server failed internally (e.g. its database).
    E017,
}

impl ErrorCode {
    /// The code as sent on the wire (`"E012"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::E001 => "E001",
            ErrorCode::E002 => "E002",
            ErrorCode::E003 => "E003",
            ErrorCode::E004 => "E004",
            ErrorCode::E005 => "E005",
            ErrorCode::E006 => "E006",
            ErrorCode::E007 => "E007",
            ErrorCode::E008 => "E008",
            ErrorCode::E009 => "E009",
            ErrorCode::E010 => "E010",
            ErrorCode::E011 => "E011",
            ErrorCode::E012 => "E012",
            ErrorCode::E013 => "E013",
            ErrorCode::E014 => "E014",
            ErrorCode::E015 => "E015",
            ErrorCode::E016 => "E016",
            ErrorCode::E017 => "E017",
        }
    }

    /// A short upper-case name (`"INVALID_AUTH_TOKEN"`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::E001 => "TIMEOUT",
            ErrorCode::E002 => "UNSUPPORTED_PROTOCOL",
            ErrorCode::E003 => "MISSING_FIELD",
            ErrorCode::E004 => "INVALID_FIELD",
            ErrorCode::E005 => "NOT_REGISTERED",
            ErrorCode::E006 => "DUPLICATE_REGISTRATION",
            ErrorCode::E007 => "NOT_ACCEPTED_NOW",
            ErrorCode::E008 => "UNKNOWN_MESSAGE_TYPE",
            ErrorCode::E009 => "CONNECTION_ERROR",
            ErrorCode::E010 => "MESSAGE_TOO_LARGE",
            ErrorCode::E011 => "RATE_LIMITED",
            ErrorCode::E012 => "INVALID_AUTH_TOKEN",
            ErrorCode::E013 => "SENDER_MISMATCH",
            ErrorCode::E014 => "MATCH_NOT_FOUND",
            ErrorCode::E015 => "ILLEGAL_MOVE",
            ErrorCode::E016 => "MALFORMED_JSON",
            ErrorCode::E017 => "INTERNAL_ERROR",
        }
    }

    /// The code with this wire name.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ALL_CODES.iter().copied().find(|c| c.as_str() == s)
    }

    /// The JSON-RPC 2.0 error code that carries it.
    pub fn rpc_code(self) -> i64 {
        match self {
            ErrorCode::E016 => -32700,
            ErrorCode::E010 => -32600,
            ErrorCode::E008 => -32601,
            ErrorCode::E002 | ErrorCode::E003 | ErrorCode::E004 => -32602,
            ErrorCode::E017 => -32603,
            ErrorCode::E005 | ErrorCode::E012 | ErrorCode::E013 => -32001,
            ErrorCode::E011 => -32002,
            _ => -32000,
        }
    }

    /// Whether it concerns a game (`GAME_ERROR`) rather than the league
    /// (`LEAGUE_ERROR`).
    pub fn is_game_error(self) -> bool {
        matches!(self, ErrorCode::E014 | ErrorCode::E015)
    }

    /// What the peer should do about it.
    pub fn action_required(self) -> &'static str {
        match self {
            ErrorCode::E001 | ErrorCode::E009 => "answer within the deadline",
            ErrorCode::E002 => "send protocol \"league.v2\"",
            ErrorCode::E003 | ErrorCode::E004 | ErrorCode::E016 => "fix the message and resend",
            ErrorCode::E005 => "register first",
            ErrorCode::E006 => "pick another id",
            ErrorCode::E007 => "wait for the next league",
            ErrorCode::E008 => "use a known method and message type",
            ErrorCode::E010 => "send a smaller message",
            ErrorCode::E011 => "slow down",
            ErrorCode::E012 => "send the auth_token issued at registration",
            ErrorCode::E013 => "act only for yourself",
            ErrorCode::E014 => "check the match id",
            ErrorCode::E015 => "choose one of the legal actions",
            ErrorCode::E017 => "retry later",
        }
    }

    /// Whether sending the same message again later may succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::E001 | ErrorCode::E009 | ErrorCode::E011 | ErrorCode::E017
        )
    }
}

/// Every code, in order.
pub const ALL_CODES: [ErrorCode; 17] = [
    ErrorCode::E001,
    ErrorCode::E002,
    ErrorCode::E003,
    ErrorCode::E004,
    ErrorCode::E005,
    ErrorCode::E006,
    ErrorCode::E007,
    ErrorCode::E008,
    ErrorCode::E009,
    ErrorCode::E010,
    ErrorCode::E011,
    ErrorCode::E012,
    ErrorCode::E013,
    ErrorCode::E014,
    ErrorCode::E015,
    ErrorCode::E016,
    ErrorCode::E017,
];

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol-level error: what a `LEAGUE_ERROR` / `GAME_ERROR` says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {}: {description}", code.name())]
pub struct ProtocolError {
    /// The code.
    pub code: ErrorCode,
    /// What went wrong, for humans.
    pub description: String,
    /// The player (or referee) id concerned, when known.
    pub affected_player: Option<String>,
}

impl ProtocolError {
    /// An error with this code and description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> ProtocolError {
        ProtocolError {
            code,
            description: description.into(),
            affected_player: None,
        }
    }

    /// The same error naming the id concerned.
    pub fn for_player(mut self, id: impl Into<String>) -> ProtocolError {
        self.affected_player = Some(id.into());
        self
    }

    /// Maps a serde error on a message body: a missing field is `E003`,
    /// anything else (wrong type, bad value) `E004`.
    pub fn from_serde(what: &str, err: &serde_json::Error) -> ProtocolError {
        let text = err.to_string();
        let code = if text.starts_with("missing field") {
            ErrorCode::E003
        } else {
            ErrorCode::E004
        };
        ProtocolError::new(code, format!("{what}: {text}"))
    }
}

/// Errors of a game simulation or of a policy (the integrator's emulator
/// side reports its failures through this type).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GameError {
    /// The action is not legal in this state.
    #[error("illegal action {0:?}")]
    IllegalAction(String),
    /// No policy by this name or spec.
    #[error("unknown policy {0:?}")]
    UnknownPolicy(String),
    /// The simulation failed (emulator error, corrupt state, ...).
    #[error("simulation failed: {0}")]
    Sim(String),
    /// The game cannot be played with this setup.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for c in ALL_CODES {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
            assert!(seen.insert(c.name()));
        }
        assert_eq!(ErrorCode::parse("E999"), None);
        assert_eq!(ErrorCode::E012.name(), "INVALID_AUTH_TOKEN");
        assert_eq!(ErrorCode::E001.name(), "TIMEOUT");
    }

    #[test]
    fn serde_errors_split_missing_from_mistyped() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        let missing = serde_json::from_str::<T>("{}").unwrap_err();
        let mistyped = serde_json::from_str::<T>(r#"{"a":"x"}"#).unwrap_err();
        assert_eq!(
            ProtocolError::from_serde("t", &missing).code,
            ErrorCode::E003
        );
        assert_eq!(
            ProtocolError::from_serde("t", &mistyped).code,
            ErrorCode::E004
        );
    }
}
