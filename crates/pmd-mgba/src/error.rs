//! The error type of [`Emulator`](super::Emulator) operations.

use super::{MemoryError, RomError, SnapshotError};

/// Anything that can go wrong creating or driving an emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmuError {
    /// The ROM was missing, unreadable or not a GBA ROM.
    #[error(transparent)]
    Rom(#[from] RomError),
    /// mGBA itself could not be loaded (the shim library or libmgba is
    /// missing or broken); the message says which file and why.
    #[error("{0}")]
    Library(String),
    /// mGBA refused to create a core for a ROM that passed validation.
    #[error("{origin}: mGBA could not load this ROM")]
    CoreInit {
        /// Where the ROM came from (a path or a description).
        origin: String,
    },
    /// mGBA's emulated memory did not have the size a GBA has.
    #[error("mGBA reported {region} of {actual} bytes, expected {expected}")]
    MemoryLayout {
        /// The memory region.
        region: &'static str,
        /// The size the GBA has.
        expected: usize,
        /// The size mGBA reported.
        actual: usize,
    },
    /// A bus address outside the readable regions.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// A savestate that does not fit this emulator.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}
