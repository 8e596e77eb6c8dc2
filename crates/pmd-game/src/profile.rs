//! Game profiles: everything pmd-agent knows about one game beyond the
//! shared PMD-Red RAM layout — its game code, how to get from power-on to
//! a dungeon, where and when the dungeon seed is written, how the episode
//! can end, and which buttons carry out each [`Action`].
//!
//! Layers above `game` (the step API, rollouts, the CLI) hold a
//! `&'static dyn GameProfile` and never branch on which game it is.

use std::fmt;

use serde::Serialize;

use super::ram_map::addr;
use super::{cartridge::TestCartridge, pmd_red::PmdRedUs, Action, Presses};
use pmd_mgba::{Emulator, MemoryError};

/// Whether a dungeon seed written at the episode's start decides the floor
/// the episode starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedScope {
    /// The floor is generated after the seed is written: every seed is its
    /// own dungeon from the first floor on.
    WholeEpisode,
    /// The start point is inside a floor that already exists: every
    /// episode starts on that same floor, and the seed decides the later
    /// floors and the game's random rolls.
    NextFloor,
}

impl SeedScope {
    /// The name used in reports (`whole_episode`, `next_floor`).
    pub fn name(self) -> &'static str {
        match self {
            SeedScope::WholeEpisode => "whole_episode",
            SeedScope::NextFloor => "next_floor",
        }
    }
}

/// How the leader left the dungeon alive (the dungeon pointer went NULL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DungeonExit {
    /// Through the stairs of the last floor: the dungeon is cleared.
    Cleared,
    /// Any other way out (an escape item, a scripted event).
    Left,
}

/// Power-on did not reach the point where the dungeon is seeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootError {
    /// The paced taps from power-on never reached a dungeon.
    #[error("{game}: no dungeon within {frames} frames of paced A taps from power-on; {hint}")]
    NoDungeon {
        /// The game's name.
        game: &'static str,
        /// Frames run.
        frames: u32,
        /// What the user can do about it.
        hint: &'static str,
    },
    /// The seed could not be written.
    #[error("cannot write the dungeon seed: {0}")]
    Seed(#[from] MemoryError),
}

/// What pmd-agent knows about one game. Implementations are stateless
/// statics: see [`profile_for`].
pub trait GameProfile: Send + Sync + fmt::Debug {
    /// The 4-character game code of the ROM header.
    fn code(&self) -> &'static str;

    /// A human name.
    fn name(&self) -> &'static str;

    /// From power-on (the emulator has just been reset), advances the game
    /// to the point where the dungeon seed is written, with bounded, paced
    /// key taps; returns what a seed written there decides.
    fn boot(&self, emu: &mut Emulator) -> Result<SeedScope, BootError>;

    /// What a seed written now decides, for a state loaded from a
    /// savestate.
    fn seed_scope(&self, emu: &Emulator) -> SeedScope;

    /// Writes the dungeon seed (`gDungeonRngState` in both known games).
    fn write_seed(&self, emu: &mut Emulator, seed: u32) -> Result<(), MemoryError> {
        emu.write_u32(addr::G_DUNGEON_RNG_STATE, seed)
    }

    /// Whether the game says the run is over even though the decoder still
    /// sees a dungeon (e.g. a game-over screen drawn over it).
    fn game_over(&self, emu: &Emulator) -> bool {
        let _ = emu;
        false
    }

    /// How the leader left the dungeon alive; `took_stairs` says whether
    /// the step was the stairs action taken on the stairs.
    fn exit(&self, emu: &Emulator, took_stairs: bool) -> DungeonExit {
        let _ = emu;
        if took_stairs {
            DungeonExit::Cleared
        } else {
            DungeonExit::Left
        }
    }

    /// The buttons, frame by frame, that carry `action` out; `None` when
    /// this game has no such shortcut (e.g. it needs menu navigation),
    /// which makes the action illegal in every state.
    fn presses(&self, action: Action) -> Option<Presses>;

    /// Whether the bag item with this id heals when used.
    fn usable_item(&self, id: u8) -> bool;
}

/// A ROM whose game code has no RAM map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("game code {code:?} has no RAM map (known: {known}); only plain frame mode runs it")]
pub struct UnsupportedGame {
    /// The ROM's game code.
    pub code: String,
    /// The known codes and names.
    pub known: String,
}

static PROFILES: [&dyn GameProfile; 2] = [&PmdRedUs, &TestCartridge];

/// Every known game.
pub fn profiles() -> &'static [&'static dyn GameProfile] {
    &PROFILES
}

/// The profile of the game with this header game code.
pub fn profile_for(code: &str) -> Result<&'static dyn GameProfile, UnsupportedGame> {
    PROFILES
        .iter()
        .copied()
        .find(|p| p.code() == code)
        .ok_or_else(|| UnsupportedGame {
            code: code.to_string(),
            known: PROFILES
                .iter()
                .map(|p| format!("{} = {}", p.code(), p.name()))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_only() {
        assert_eq!(profile_for("B24E").unwrap().code(), "B24E");
        assert_eq!(profile_for("PMDT").unwrap().code(), "PMDT");
        let err = profile_for("B24P").unwrap_err();
        assert!(err.to_string().contains("\"B24P\""), "{err}");
        assert!(err.to_string().contains("B24E = "), "{err}");
    }
}
