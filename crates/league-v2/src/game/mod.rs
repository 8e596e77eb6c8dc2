//! The games a league plays: `even_odd` (the course game, for
//! interoperability) and `pmd_dungeon` (both players play the same seeded
//! dungeon; the emulator and the policies behind traits, implemented on
//! pmd-agent in [`crate::pmd`]).

pub mod dungeon;
pub mod even_odd;

use std::fmt;
use std::str::FromStr;

/// Which game a league plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GameType {
    /// Both choose even or odd; the referee draws 1–10.
    EvenOdd,
    /// Both play the same seeded dungeon for a fixed turn budget.
    PmdDungeon,
}

impl GameType {
    /// The wire name (`even_odd`, `pmd_dungeon`).
    pub fn as_str(self) -> &'static str {
        match self {
            GameType::EvenOdd => "even_odd",
            GameType::PmdDungeon => "pmd_dungeon",
        }
    }
}

impl fmt::Display for GameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GameType {
    type Err = String;

    fn from_str(s: &str) -> Result<GameType, String> {
        match s {
            "even_odd" => Ok(GameType::EvenOdd),
            "pmd_dungeon" => Ok(GameType::PmdDungeon),
            _ => Err(format!("unknown game {s:?} (even_odd or pmd_dungeon)")),
        }
    }
}
