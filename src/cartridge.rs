//! The bundled test cartridge: a small GBA program written in C
//! (`native/cartridge/`), built into `tests/data/cartridge.gba` and embedded
//! in the binary, so everything runs and is tested without the commercial
//! ROM.
//!
//! Its state block sits at fixed EWRAM addresses (`native/cartridge/cart.h`
//! is the C side of this contract):
//!
//! | address      | type | field |
//! |--------------|------|-------|
//! | `0x02000000` | u32  | magic `"PMDT"` once booted |
//! | `0x02000004` | u32  | main-loop frames (one per VBlank) |
//! | `0x02000008` | u16  | keys held this frame (mGBA bit order) |
//! | `0x0200000A` | u16  | keys newly pressed this frame |
//! | `0x0200000C` | u32  | input hash: `h = h * 1664525 + keys + 1013904223` each frame |
//! | `0x02000010` | i16  | cursor x (cell), moved by d-pad presses |
//! | `0x02000012` | i16  | cursor y (cell) |

use crate::emu::{Emulator, Keys, MemoryError, Rom, RomError};

/// The cartridge image, as committed in `tests/data/cartridge.gba`.
pub const ROM_BYTES: &[u8] = include_bytes!("../tests/data/cartridge.gba");

/// The cartridge's game code.
pub const GAME_CODE: &str = "PMDT";

/// Fixed EWRAM addresses of the cartridge's state block.
pub mod addr {
    /// u32 magic, [`MAGIC`](super::MAGIC) once the cartridge has booted.
    pub const MAGIC: u32 = 0x0200_0000;
    /// u32 count of main-loop iterations (one per VBlank).
    pub const FRAME: u32 = 0x0200_0004;
    /// u16 keys held this frame.
    pub const KEYS: u32 = 0x0200_0008;
    /// u16 keys newly pressed this frame.
    pub const PRESSED: u32 = 0x0200_000A;
    /// u32 hash of every frame's keys.
    pub const INPUT_HASH: u32 = 0x0200_000C;
    /// i16 cursor column.
    pub const CURSOR_X: u32 = 0x0200_0010;
    /// i16 cursor row.
    pub const CURSOR_Y: u32 = 0x0200_0012;
}

/// Value of the magic word: `"PMDT"` read as a little-endian u32.
pub const MAGIC: u32 = u32::from_le_bytes(*b"PMDT");

/// The bundled cartridge as a validated [`Rom`].
pub fn rom() -> Result<Rom, RomError> {
    Rom::from_bytes(ROM_BYTES, "bundled test cartridge")
}

/// The cartridge's state block, decoded from EWRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartState {
    /// Whether the magic word is present (the cartridge has booted).
    pub booted: bool,
    /// Main-loop frames since boot.
    pub frame: u32,
    /// Keys held as of the last frame.
    pub keys: Keys,
    /// Keys newly pressed in the last frame.
    pub pressed: Keys,
    /// Hash over every frame's keys.
    pub input_hash: u32,
    /// Cursor cell.
    pub cursor: (i16, i16),
}

impl CartState {
    /// Reads the state block from an emulator's EWRAM.
    pub fn read(emu: &Emulator) -> Result<CartState, MemoryError> {
        let i16_at = |a| emu.read_u16(a).map(|v| v as i16);
        Ok(CartState {
            booted: emu.read_u32(addr::MAGIC)? == MAGIC,
            frame: emu.read_u32(addr::FRAME)?,
            keys: Keys::from_bits_truncate(emu.read_u16(addr::KEYS)?),
            pressed: Keys::from_bits_truncate(emu.read_u16(addr::PRESSED)?),
            input_hash: emu.read_u32(addr::INPUT_HASH)?,
            cursor: (i16_at(addr::CURSOR_X)?, i16_at(addr::CURSOR_Y)?),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_cartridge_is_a_valid_rom() {
        let rom = super::rom().unwrap();
        assert_eq!(rom.game_code(), super::GAME_CODE);
        assert_eq!(rom.title(), "PMD-AGENT");
    }
}
