//! Agent actions: what an agent can decide in a dungeon. Which buttons
//! carry an action out is each game's own knowledge
//! ([`GameProfile::presses`](super::GameProfile::presses)).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Direction;
use pmd_mgba::Keys;

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

    /// The action's name (`move_up`, `attack_down_left`, `wait`,
    /// `use_item`, `take_stairs`), without allocating.
    pub fn name(self) -> &'static str {
        NAMES[self.index()]
    }

    /// Every action, by index.
    pub fn all() -> impl Iterator<Item = Action> {
        (0..ACTION_COUNT).filter_map(Action::from_index)
    }
}

/// Action names by index (directions in PMD order).
const NAMES: [&str; ACTION_COUNT] = [
    "move_down",
    "move_down_right",
    "move_right",
    "move_up_right",
    "move_up",
    "move_up_left",
    "move_left",
    "move_down_left",
    "attack_down",
    "attack_down_right",
    "attack_right",
    "attack_up_right",
    "attack_up",
    "attack_up_left",
    "attack_left",
    "attack_down_left",
    "wait",
    "use_item",
    "take_stairs",
];

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
            .find(|a| a.name() == s)
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
            let expected = match a {
                Action::Move(d) => format!("move_{}", d.name()),
                Action::Attack(d) => format!("attack_{}", d.name()),
                other => other.name().to_string(),
            };
            assert_eq!(a.name(), expected);
            assert_eq!(a.to_string().parse::<Action>().unwrap(), *a);
        }
        assert!(Action::from_index(ACTION_COUNT).is_none());
        assert!("jump".parse::<Action>().is_err());
    }

    #[test]
    fn diagonal_keys_press_two_directions() {
        assert_eq!(Direction::UpLeft.keys(), Keys::UP | Keys::LEFT);
        assert_eq!(Direction::Down.keys(), Keys::DOWN);
        for d in Direction::ALL {
            let (dx, dy) = d.delta();
            assert_eq!(Direction::from_delta(dx.into(), dy.into()), Some(d));
        }
    }
}
