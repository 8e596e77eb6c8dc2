//! pmd-agent: plays and evaluates agents for *Pokémon Mystery Dungeon: Red
//! Rescue Team* at machine speed, with the mGBA core linked into this
//! process.
//!
//! This crate is the command line ([`cli`], the `pmd-agent` binary), the
//! benchmark suites ([`bench`]), pmd_dungeon on this project's emulator and
//! policies ([`league::pmd`]), and one front door to the workspace's crates
//! under their familiar names: [`emu`] is pmd-mgba, [`game`], [`env`],
//! [`cartridge`] and the observation encoder are pmd-game, [`rollout`] and
//! the runners, policies and recordings are pmd-rollout, [`memory`] is
//! mhnsw plus the agent's episodic memory, [`socket`] is mgba-http and
//! [`league`] is league-v2 (the `league` feature). Neural policies are
//! pmd-torch, which this crate does not link: the `pmd-agent-torch`
//! executable (crates/pmd-agent-torch) runs the same command line with
//! libtorch. ARCHITECTURE.md draws the graph.
//!
//! The library is usable without the command-line tool. Its base is
//! [`emu::Emulator`], a safe handle on one in-process mGBA core: RAM and the
//! framebuffer are borrowed straight from emulated memory and savestates
//! live in memory.
//!
//! ```
//! use pmd_agent::{cartridge, emu::{Emulator, Keys}};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let rom = cartridge::rom()?;
//! let mut emu = Emulator::new(&rom)?;
//! emu.set_rendering(false); // nobody looks at these frames
//! emu.set_keys(Keys::A);
//! emu.run_frames(10);
//! let state = cartridge::CartState::read(&emu)?;
//! assert_eq!(state.keys, Keys::A);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "league")]
pub mod league;
pub mod memory;

pub use mgba_http as socket;
pub use pmd_game as game;
pub use pmd_game::{cartridge, env};
pub use pmd_mgba as emu;
pub use pmd_mgba::{pacing, screenshot, script, stop_signal};
pub use pmd_plot as plot;
pub use pmd_rollout as rollout;
pub use pmd_rollout::{async_runner, device, metrics, policy, record, replay, runner};
pub use pmd_util::{atomic_file, procfs, rng};
