//! The league.v2 envelope every message carries, and sender addresses.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::time::{is_utc_timestamp, now_iso};
use crate::error::{ErrorCode, ProtocolError};

/// The protocol name every envelope must carry.
pub const PROTOCOL: &str = "league.v2";

/// The fields common to every league.v2 message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always [`PROTOCOL`].
    pub protocol: String,
    /// What the message is (`GAME_INVITATION`, ...).
    pub message_type: String,
    /// Who sends it (`player:P01`, `referee:REF01`).
    pub sender: String,
    /// When it was sent (UTC ISO-8601 ending in `Z`).
    pub timestamp: String,
    /// Ties the messages of one exchange together.
    pub conversation_id: String,
    /// The secret issued at registration (absent before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
}

impl Envelope {
    /// A fresh envelope stamped now.
    pub fn new(
        message_type: &str,
        sender: &Sender,
        conversation_id: &str,
        auth_token: Option<&str>,
    ) -> Envelope {
        Envelope {
            protocol: PROTOCOL.to_owned(),
            message_type: message_type.to_owned(),
            sender: sender.to_string(),
            timestamp: now_iso(),
            conversation_id: conversation_id.to_owned(),
            auth_token: auth_token.map(str::to_owned),
        }
    }

    /// Checks the protocol name, the timestamp and the sender address; returns
    /// the parsed sender.
    pub fn validate(&self) -> Result<Sender, ProtocolError> {
        if self.protocol != PROTOCOL {
            return Err(ProtocolError::new(
                ErrorCode::E002,
                format!("protocol must be {PROTOCOL:?}, got {:?}", self.protocol),
            ));
        }
        let sender = Sender::parse(&self.sender)?;
        if !is_utc_timestamp(&self.timestamp) {
            return Err(ProtocolError::new(
                ErrorCode::E004,
                format!("timestamp {:?} is not UTC ISO-8601", self.timestamp),
            )
            .for_player(sender.id.clone()));
        }
        if self.message_type.is_empty() || self.message_type.len() > 64 {
            return Err(ProtocolError::new(ErrorCode::E004, "bad message_type"));
        }
        if self.conversation_id.len() > 256 {
            return Err(ProtocolError::new(
                ErrorCode::E004,
                "conversation_id longer than 256 bytes",
            ));
        }
        Ok(sender)
    }
}

/// The role part of a sender address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A player (`player:P01`).
    Player,
    /// A referee (`referee:REF01`).
    Referee,
    /// The league manager (`league_manager:L1`).
    Manager,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Player => "player",
            Role::Referee => "referee",
            Role::Manager => "league_manager",
        }
    }
}

/// A sender address `role:id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sender {
    /// The role.
    pub role: Role,
    /// The id within the role.
    pub id: String,
}

impl Sender {
    /// A player address.
    pub fn player(id: &str) -> Sender {
        Sender {
            role: Role::Player,
            id: id.to_owned(),
        }
    }

    /// A referee address.
    pub fn referee(id: &str) -> Sender {
        Sender {
            role: Role::Referee,
            id: id.to_owned(),
        }
    }

    /// The manager's address.
    pub fn manager(id: &str) -> Sender {
        Sender {
            role: Role::Manager,
            id: id.to_owned(),
        }
    }

    /// Parses `role:id` (roles `player`, `referee`, `league_manager` or
    /// `manager`; the id must be a valid [`is_valid_id`]), or the bare
    /// `league_manager`.
    pub fn parse(s: &str) -> Result<Sender, ProtocolError> {
        let bad =
            || ProtocolError::new(ErrorCode::E004, format!("bad sender {s:?} (want role:id)"));
        // The best-known public manager signs its broadcasts with the bare
        // role (its schema's constant): the manager, whose id is then its
        // role's name.
        if s == "league_manager" {
            return Ok(Sender {
                role: Role::Manager,
                id: s.to_owned(),
            });
        }
        let (role, id) = s.split_once(':').ok_or_else(bad)?;
        let role = match role {
            "player" => Role::Player,
            "referee" => Role::Referee,
            "league_manager" | "manager" => Role::Manager,
            _ => return Err(bad()),
        };
        if !is_valid_id(id) {
            return Err(bad());
        }
        Ok(Sender {
            role,
            id: id.to_owned(),
        })
    }
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.role.as_str(), self.id)
    }
}

/// Whether `id` is a usable player, referee or match id: 1 to 64 ASCII
/// letters, digits, `_`, `-` or `.`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bare_role_of_the_public_manager_is_the_manager() {
        let s = Sender::parse("league_manager").unwrap();
        assert_eq!(s.role, Role::Manager);
        assert!(
            Sender::parse("referee").is_err(),
            "only the manager's role stands alone"
        );
        assert!(Sender::parse("player").is_err());
    }

    #[test]
    fn senders_parse_and_print() {
        let s = Sender::parse("player:P01").unwrap();
        assert_eq!(s, Sender::player("P01"));
        assert_eq!(s.to_string(), "player:P01");
        assert_eq!(Sender::parse("referee:REF01").unwrap().role, Role::Referee);
        for bad in ["P01", "player:", "judge:X", "player:a b", "player:ä"] {
            assert_eq!(
                Sender::parse(bad).unwrap_err().code,
                ErrorCode::E004,
                "{bad}"
            );
        }
    }

    #[test]
    fn envelope_validation() {
        let e = Envelope::new("X", &Sender::player("P1"), "c", None);
        assert!(e.validate().is_ok());
        let mut wrong = e.clone();
        wrong.protocol = "league.v1".into();
        assert_eq!(wrong.validate().unwrap_err().code, ErrorCode::E002);
        let mut wrong = e;
        wrong.timestamp = "yesterday".into();
        assert_eq!(wrong.validate().unwrap_err().code, ErrorCode::E004);
    }
}
