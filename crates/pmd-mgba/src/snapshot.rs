//! In-memory savestates.
//!
//! A [`Snapshot`] is mGBA's own serialized machine state plus the CRC-32 of
//! the ROM it was taken on, so restoring it on another game is refused
//! before mGBA sees it. [`Snapshot::to_bytes`] and [`Snapshot::from_bytes`]
//! give a self-checking byte form for files and sockets.

/// Why a savestate cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The state has a different size than this core's states.
    #[error("savestate is {actual} bytes, this emulator's states are {expected} bytes")]
    WrongSize {
        /// This core's state size.
        expected: usize,
        /// The snapshot's size.
        actual: usize,
    },
    /// The state was taken on another ROM.
    #[error(
        "savestate was taken on another ROM (CRC-32 {actual:08x}, this ROM is {expected:08x})"
    )]
    OtherRom {
        /// This emulator's ROM CRC-32.
        expected: u32,
        /// The snapshot's ROM CRC-32.
        actual: u32,
    },
    /// mGBA refused the state (inconsistent contents).
    #[error("mGBA rejected the savestate as inconsistent")]
    Rejected,
    /// mGBA could not save the machine state.
    #[error("mGBA failed to save the machine state")]
    SaveFailed,
    /// A frontend savestate of another save-state format version.
    #[error("the savestate was written by an mGBA with another save-state format")]
    StateFileVersion,
    /// A frontend savestate of another game.
    #[error("the savestate belongs to another game (its header names another title or game code)")]
    StateFileOtherGame,
    /// A frontend savestate file that is damaged or not a savestate.
    #[error("not a usable mGBA savestate file: {0}")]
    StateFileDamaged(&'static str),
    /// mGBA refused a frontend savestate file.
    #[error("mGBA rejected the savestate file (damaged, or taken on another game)")]
    StateFileRejected,
    /// A battery save whose size no GBA save chip has.
    #[error("battery save is {len} bytes; GBA saves are 512, 8192, 32768, 65536 or 131072 bytes")]
    BatterySize {
        /// The size found.
        len: usize,
    },
    /// mGBA refused the battery save.
    #[error("mGBA rejected the battery save")]
    BatteryRejected,
    /// The byte form is damaged or not a snapshot at all.
    #[error("not a pmd-agent snapshot: {0}")]
    Corrupt(&'static str),
}

const MAGIC: &[u8; 8] = b"PMDSNAP1";
const HEADER_LEN: usize = 8 + 4 + 4 + 4;

/// A complete machine state of one emulator, held in memory.
///
/// Taken while frames are rendered, it also keeps the picture on screen
/// (as mGBA's frontend keeps a screenshot with each savestate), so a
/// restore shows the restored moment rather than the last frame drawn.
/// That picture is not part of the machine state: equality and the byte
/// form ignore it.
#[derive(Clone)]
pub struct Snapshot {
    rom_crc32: u32,
    state: Box<[u8]>,
    frame: Option<Box<[u32]>>,
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Snapshot) -> bool {
        self.rom_crc32 == other.rom_crc32 && self.state == other.state
    }
}

impl Eq for Snapshot {}

impl Snapshot {
    pub(crate) fn new(rom_crc32: u32, state: Box<[u8]>) -> Snapshot {
        Snapshot {
            rom_crc32,
            state,
            frame: None,
        }
    }

    /// Keeps `frame` as the picture of this state (reusing the buffer), or
    /// forgets it.
    pub(crate) fn set_frame(&mut self, frame: Option<&[u32]>) {
        match (frame, &mut self.frame) {
            (Some(f), Some(kept)) if kept.len() == f.len() => kept.copy_from_slice(f),
            (Some(f), kept) => *kept = Some(f.into()),
            (None, kept) => *kept = None,
        }
    }

    /// The picture on screen when the state was taken, if frames were
    /// being rendered then.
    pub(crate) fn frame(&self) -> Option<&[u32]> {
        self.frame.as_deref()
    }

    pub(crate) fn state_mut(&mut self) -> &mut [u8] {
        &mut self.state
    }

    pub(crate) fn set_rom_crc32(&mut self, crc: u32) {
        self.rom_crc32 = crc;
    }

    /// mGBA's serialized state.
    pub fn state(&self) -> &[u8] {
        &self.state
    }

    /// CRC-32 of the ROM the state was taken on.
    pub fn rom_crc32(&self) -> u32 {
        self.rom_crc32
    }

    /// Size of the state in bytes.
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// Whether the state is empty (never true for a state taken by mGBA).
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    /// Whether `bytes` start like the byte form of [`Snapshot::to_bytes`].
    pub fn is_byte_form(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC)
    }

    /// Self-delimiting byte form: magic, ROM CRC-32, state length, CRC-32
    /// of the state (all little-endian), then the state.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.state.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.rom_crc32.to_le_bytes());
        // A state is a few hundred KiB; its length always fits in u32.
        out.extend_from_slice(&(self.state.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&self.state).to_le_bytes());
        out.extend_from_slice(&self.state);
        out
    }

    /// Parses the form written by [`Snapshot::to_bytes`], checking its
    /// magic, length and checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let header = bytes
            .get(..HEADER_LEN)
            .ok_or(SnapshotError::Corrupt("shorter than its header"))?;
        if &header[..8] != MAGIC {
            return Err(SnapshotError::Corrupt("bad magic"));
        }
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let rom_crc32 = word(8);
        let len = word(12) as usize;
        let checksum = word(16);
        let state = &bytes[HEADER_LEN..];
        if state.len() != len {
            return Err(SnapshotError::Corrupt("length does not match its header"));
        }
        if crc32fast::hash(state) != checksum {
            return Err(SnapshotError::Corrupt("checksum mismatch"));
        }
        Ok(Snapshot::new(rom_crc32, state.into()))
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("rom_crc32", &format_args!("{:08x}", self.rom_crc32))
            .field("len", &self.state.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_form_round_trips_and_detects_damage() {
        let snap = Snapshot::new(0xDEAD_BEEF, vec![1, 2, 3, 4, 5].into());
        let bytes = snap.to_bytes();
        assert_eq!(Snapshot::from_bytes(&bytes).unwrap(), snap);

        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            Snapshot::from_bytes(&flipped),
            Err(SnapshotError::Corrupt("checksum mismatch"))
        );
        assert!(Snapshot::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Snapshot::from_bytes(&bytes[..10]).is_err());
        assert!(Snapshot::from_bytes(b"PNG....................").is_err());
    }
}
