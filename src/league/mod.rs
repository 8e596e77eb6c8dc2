//! The agent league: league-v2 (re-exported whole) and [`pmd`], the
//! pmd_dungeon game on this project's emulator and policies
//! ([`pmd::PmdDungeonFactory`], [`pmd::PmdPolicyFactory`]).

pub mod pmd;

pub use league_v2::*;
