//! pmd-agent: plays and evaluates agents for *Pokémon Mystery Dungeon: Red
//! Rescue Team* at machine speed, with the mGBA core linked into this
//! process.
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
// `unsafe` only in the four modules that allow it (`emu::ffi`,
// `emu::script_ffi`, `sys::mmap`, `sys::tensor_view`; tests/unsafe_map.rs
// checks that list), each block or impl with a `// SAFETY:` comment (clippy).
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod async_runner;
pub mod atomic_file;
pub mod bench;
pub mod cartridge;
pub mod device;
pub mod emu;
pub mod env;
pub mod game;
#[cfg(feature = "torch")]
pub mod infer;
#[cfg(feature = "league")]
pub mod league;
pub mod memory;
pub mod metrics;
pub mod pacing;
pub mod plot;
pub mod policy;
pub mod procfs;
pub mod record;
pub mod replay;
pub mod rng;
pub mod rollout;
pub mod runner;
pub mod screenshot;
pub mod script;
pub mod socket;
pub mod stop_signal;
mod sys;
#[cfg(feature = "torch")]
pub mod train;
