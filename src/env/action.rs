//! Agent actions and the button presses that carry them out.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::emu::Keys;
pub use crate::game::Direction;

/// One agent decision; each takes at most one game turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Walk one tile (blocked by walls and monsters: no turn taken).
    Move(Direction),
    /// Face a direction, then attack the tile in front.
    Attack(Direction),
    /// Skip a turn.
    Wait,
    /// Use a healing item from the bag.
    UseItem,
    /// Take the stairs (when standing on them).
    TakeStairs,
}

/// Number of distinct actions (8 moves, 8 attacks, wait, use item, stairs).
pub const ACTION_COUNT: usize = 19;

/// The buttons of an action, one entry per frame (at most three frames;
/// trailing empty entries are not pressed).
pub type Presses = [Keys; 3];

impl Action {
    /// Dense index in `0..ACTION_COUNT` (moves, attacks, then the rest).
    pub fn index(self) -> usize {
        match self {
            Action::Move(d) => d as usize,
            Action::Attack(d) => 8 + d as usize,
            Action::Wait => 16,
            Action::UseItem => 17,
            Action::TakeStairs => 18,
        }
    }

    /// The action with dense index `i`.
    pub fn from_index(i: usize) -> Option<Action> {
        match i {
            0..=7 => Direction::from_index(i as u8).map(Action::Move),
            8..=15 => Direction::from_index((i - 8) as u8).map(Action::Attack),
            16 => Some(Action::Wait),
            17 => Some(Action::UseItem),
            18 => Some(Action::TakeStairs),
            _ => None,
        }
    }

    /// Every action, by index.
    pub fn all() -> impl Iterator<Item = Action> {
        (0..ACTION_COUNT).filter_map(Action::from_index)
    }

    /// The frames of buttons that carry the action out (empty frames are
    /// skipped). These are the test cartridge's controls, which follow
    /// PMD's where they are known: d-pad to walk, B + d-pad to turn in
    /// place, A to attack. Wait (L), items (Start) and stairs (Select) are
    /// the cartridge's shortcuts; the real game reaches them through menus,
    /// which this layer does not navigate.
    pub fn presses(self) -> Presses {
        let none = Keys::empty();
        match self {
            Action::Move(d) => [d.keys(), none, none],
            Action::Attack(d) => [d.keys() | Keys::B, none, Keys::A],
            Action::Wait => [Keys::L, none, none],
            Action::UseItem => [Keys::START, none, none],
            Action::TakeStairs => [Keys::SELECT, none, none],
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Move(d) => write!(f, "move_{}", d.name()),
            Action::Attack(d) => write!(f, "attack_{}", d.name()),
            Action::Wait => f.write_str("wait"),
            Action::UseItem => f.write_str("use_item"),
            Action::TakeStairs => f.write_str("take_stairs"),
        }
    }
}

/// An action name that [`Action::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action {0:?} (e.g. move_up, attack_down_left, wait, use_item, take_stairs)")]
pub struct ParseActionError(pub String);

impl FromStr for Action {
    type Err = ParseActionError;

    /// Parses the names [`Display`](fmt::Display) prints.
    fn from_str(s: &str) -> Result<Action, ParseActionError> {
        let s = s.trim().to_ascii_lowercase();
        Action::all()
            .find(|a| a.to_string() == s)
            .ok_or(ParseActionError(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_dense_and_round_trip() {
        let all: Vec<Action> = Action::all().collect();
        assert_eq!(all.len(), ACTION_COUNT);
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a.index(), i);
            assert_eq!(a.to_string().parse::<Action>().unwrap(), *a);
        }
        assert!(Action::from_index(ACTION_COUNT).is_none());
        assert!("jump".parse::<Action>().is_err());
    }

    #[test]
    fn diagonals_press_two_directions() {
        assert_eq!(Direction::UpLeft.keys(), Keys::UP | Keys::LEFT);
        assert_eq!(Direction::Down.keys(), Keys::DOWN);
        for d in Direction::ALL {
            let (dx, dy) = d.delta();
            assert_eq!(Direction::from_delta(dx.into(), dy.into()), Some(d));
        }
    }
}
