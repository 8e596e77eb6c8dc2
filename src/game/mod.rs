//! The game layer: which ROMs have a RAM map, and a zero-copy decoder of
//! the dungeon state (`DungeonView`) that reads the real game and the test
//! cartridge alike.
//!
//! **Invariant:** nothing here mutates emulator state; decoding borrows
//! EWRAM and never panics or reads out of bounds, whatever the bytes.

mod decode;
mod direction;
pub mod path;
pub mod ram_map;
mod state;
mod view;

pub use decode::DecodeError;
pub use direction::Direction;
pub use state::{DungeonState, FloorObject, Monster, ObjectKind, Tile};
pub use view::DungeonView;

use crate::cartridge;

/// A game whose RAM layout pmd-agent knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Game {
    /// Pokémon Mystery Dungeon: Red Rescue Team, US ROM (`B24E`).
    PmdRedUs,
    /// The bundled test cartridge (`PMDT`), which keeps the same layout.
    TestCartridge,
}

/// A ROM whose game code has no RAM map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("game code {code:?} has no RAM map (known: B24E = PMD Red Rescue Team US, PMDT = the test cartridge); only plain frame mode runs it")]
pub struct UnsupportedGame {
    /// The ROM's game code.
    pub code: String,
}

impl Game {
    /// The game with this header game code.
    pub fn from_code(code: &str) -> Result<Game, UnsupportedGame> {
        match code {
            "B24E" => Ok(Game::PmdRedUs),
            cartridge::GAME_CODE => Ok(Game::TestCartridge),
            _ => Err(UnsupportedGame {
                code: code.to_string(),
            }),
        }
    }

    /// A human name.
    pub fn name(self) -> &'static str {
        match self {
            Game::PmdRedUs => "Pokémon Mystery Dungeon: Red Rescue Team (US)",
            Game::TestCartridge => "pmd-agent test cartridge",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_only() {
        assert_eq!(Game::from_code("B24E"), Ok(Game::PmdRedUs));
        assert_eq!(Game::from_code("PMDT"), Ok(Game::TestCartridge));
        let err = Game::from_code("B24P").unwrap_err();
        assert!(err.to_string().contains("\"B24P\""));
    }
}
