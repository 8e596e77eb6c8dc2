//! The two sides of a match: a native policy in this process, or a
//! league.v2 player reached over HTTP.

/// One side of a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seat {
    /// A policy run in-process (no HTTP).
    Native {
        /// The player.
        player_id: String,
        /// Its policy spec.
        spec: String,
    },
    /// A remote league.v2 player.
    Remote {
        /// The player.
        player_id: String,
        /// Its `/mcp` URL.
        endpoint: String,
        /// The secret shared with it at registration; sent with every message
        /// to it so that it can tell the league from an impostor.
        token: Option<String>,
    },
}

impl Seat {
    /// The player's id.
    pub fn player_id(&self) -> &str {
        match self {
            Seat::Native { player_id, .. } | Seat::Remote { player_id, .. } => player_id,
        }
    }
}

/// Why a side lost by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No answer in time.
    Timeout,
    /// Could not be reached (or its circuit breaker is open).
    Unreachable(String),
    /// Declined the invitation.
    Declined,
    /// Answered something unusable.
    BadReply(String),
    /// Answered for someone else.
    Impersonation(String),
    /// Chose an illegal action, or its simulation failed.
    Illegal(String),
}

impl Fault {
    /// Why, for the record.
    pub fn describe(&self) -> String {
        match self {
            Fault::Timeout => "did not answer in time (E001)".to_owned(),
            Fault::Unreachable(e) => format!("could not be reached (E009: {e})"),
            Fault::Declined => "declined the invitation".to_owned(),
            Fault::BadReply(e) => format!("answered an unusable reply (E004: {e})"),
            Fault::Impersonation(e) => format!("answered for another player (E013: {e})"),
            Fault::Illegal(e) => format!("broke the rules (E015: {e})"),
        }
    }
}
