//! pmd-game: the game layer — what pmd-agent knows about each game it plays — the
//! shared PMD-Red RAM map, a zero-copy decoder of the dungeon state
//! (`DungeonView`) that reads the real game and the test cartridge alike,
//! the agent's actions and which of them are legal, and one
//! [`GameProfile`] per game for everything that differs between games.
//!
//! **Invariant:** decoding never mutates emulator state and never panics
//! or reads out of bounds, whatever the bytes; only a profile's `boot` and
//! `write_seed` drive the emulator. No module here imports one above it.
//!
//! Also here: the bundled test cartridge ([`cartridge`], its ROM embedded),
//! the environment ([`env::Env`]: one game, stepped an action at a time,
//! with rewards and endings) and the observation encoder ([`obs`]) whose
//! layout is the contract every policy and recording shares.
//!
//! **Depends on** pmd-mgba (the emulator) only; knows no policy,
//! rollout, network or libtorch.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod action;
pub mod cartridge;
mod decode;
mod direction;
pub mod env;
mod mask;
pub mod menu;
pub mod obs;
pub mod path;
pub mod pmd_red;
mod profile;
pub mod ram_map;
pub mod stairs_bound;
mod state;
mod state_json;
mod view;

pub use action::{Action, ParseActionError, Presses, ACTION_COUNT};
pub use decode::DecodeError;
pub use direction::Direction;
pub use mask::ActionMask;
pub use profile::{
    profile_for, profiles, BootError, DungeonExit, GameProfile, SeedScope, UnsupportedGame,
};
pub use state::{DungeonState, FloorObject, Monster, ObjectKind, Tile};
pub use state_json::state_json;
pub use view::DungeonView;
