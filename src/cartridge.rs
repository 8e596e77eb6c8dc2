//! The bundled test cartridge: a small turn-based dungeon crawler written
//! in C (`native/cartridge/`), built into `tests/data/cartridge.gba` and
//! embedded in the binary, so everything runs and is tested without the
//! commercial ROM.
//!
//! This module holds the ROM image; what the cartridge does, its state
//! block and its game profile are game knowledge and live in
//! [`crate::game::cartridge`] (re-exported here for convenience).

pub use crate::game::cartridge::*;

use crate::emu::{Rom, RomError};

/// The cartridge image, as committed in `tests/data/cartridge.gba`.
pub const ROM_BYTES: &[u8] = include_bytes!("../tests/data/cartridge.gba");

/// The bundled cartridge as a validated [`Rom`].
pub fn rom() -> Result<Rom, RomError> {
    Rom::from_bytes(ROM_BYTES, "bundled test cartridge")
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
