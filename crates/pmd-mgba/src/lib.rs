//! pmd-mgba: one in-process mGBA core behind a safe API — the FFI to
//! libmgba through the C shim in `shim/` (compiled by `build.rs`), ROMs,
//! savestates, keys, frame pacing, screenshots and mGBA's scripting engine
//! hosted headless.
//!
//! [`Rom`] validates and holds cartridge bytes (shared, never copied per
//! emulator); [`Emulator`] runs them; [`Snapshot`] is an in-memory
//! savestate; [`Keys`] is the button bitmask. All `unsafe` code of the crate
//! lives in the `ffi` submodule and, for mGBA's scripting engine and the
//! memory domains, `script_ffi`: the rest of the crate denies it.
//!
//! **Depends on** pmd-util only; knows no game (the game layer is
//! pmd-game), no policy and no network.
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod domains;
mod emulator;
mod error;
mod ffi;
mod keys;
mod memory;
mod mgba_log;
mod rom;
pub(crate) mod script_ffi;
mod snapshot;
mod state_file;

pub mod pacing;
pub mod screenshot;
pub mod script;
pub mod stop_signal;

pub use domains::{Domain, UnknownDomain};
pub use emulator::{Emulator, BATTERY_SAVE_SIZES};
pub use error::EmuError;
pub use keys::{Keys, ParseKeysError};
pub use memory::{MemoryError, Region, EWRAM_BASE, EWRAM_SIZE, IWRAM_BASE, IWRAM_SIZE};
pub use rom::{Rom, RomError, RomHeader, MAX_ROM_LEN, MIN_ROM_LEN};
pub use snapshot::{Snapshot, SnapshotError};

/// Width of the GBA screen in pixels.
pub const SCREEN_WIDTH: usize = 240;
/// Height of the GBA screen in pixels.
pub const SCREEN_HEIGHT: usize = 160;
/// GBA frames per second of emulated time (16.78 MHz / 280,896 cycles).
pub const GBA_FPS: f64 = 59.727_500_569_606;
