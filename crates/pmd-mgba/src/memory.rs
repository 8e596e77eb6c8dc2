//! GBA bus addresses of the two work RAMs and bounds-checked little-endian
//! access to them.
//!
//! Only the canonical ranges are accepted (no mirrors): an address the
//! game's pointers can legitimately hold. Everything here works on plain
//! slices, so the same checks serve a live emulator and a copied RAM image.

/// Bus address of on-board work RAM (EWRAM).
pub const EWRAM_BASE: u32 = 0x0200_0000;
/// Size of EWRAM in bytes (256 KiB).
pub const EWRAM_SIZE: usize = 0x4_0000;
/// Bus address of in-chip work RAM (IWRAM).
pub const IWRAM_BASE: u32 = 0x0300_0000;
/// Size of IWRAM in bytes (32 KiB).
pub const IWRAM_SIZE: usize = 0x8000;

/// A memory region the emulator exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// On-board work RAM, 0x02000000..0x02040000.
    Ewram,
    /// In-chip work RAM, 0x03000000..0x03008000.
    Iwram,
}

impl Region {
    /// The bus address of the region's first byte.
    pub const fn base(self) -> u32 {
        match self {
            Region::Ewram => EWRAM_BASE,
            Region::Iwram => IWRAM_BASE,
        }
    }

    /// The region's size in bytes.
    pub const fn size(self) -> usize {
        match self {
            Region::Ewram => EWRAM_SIZE,
            Region::Iwram => IWRAM_SIZE,
        }
    }

    /// Finds the region holding `len` bytes starting at bus address `addr`
    /// and the offset of `addr` in it; `None` when any byte falls outside.
    pub fn locate(addr: u32, len: usize) -> Option<(Region, usize)> {
        [Region::Ewram, Region::Iwram]
            .into_iter()
            .find_map(|region| {
                let offset = usize::try_from(addr.checked_sub(region.base())?).ok()?;
                let end = offset.checked_add(len)?;
                (end <= region.size()).then_some((region, offset))
            })
    }
}

/// A read or write outside EWRAM and IWRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} byte(s) at {addr:#010x} are outside EWRAM (0x02000000..0x02040000) and IWRAM (0x03000000..0x03008000)")]
pub struct MemoryError {
    /// The bus address asked for.
    pub addr: u32,
    /// The number of bytes asked for.
    pub len: usize,
}

/// Bounds-checked access over the two RAM slices.
pub(crate) fn slice<'a>(
    ewram: &'a [u8],
    iwram: &'a [u8],
    addr: u32,
    len: usize,
) -> Result<&'a [u8], MemoryError> {
    let (region, offset) = Region::locate(addr, len).ok_or(MemoryError { addr, len })?;
    let block = match region {
        Region::Ewram => ewram,
        Region::Iwram => iwram,
    };
    block
        .get(offset..offset + len)
        .ok_or(MemoryError { addr, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_both_regions_and_their_ends() {
        assert_eq!(Region::locate(0x0200_0000, 4), Some((Region::Ewram, 0)));
        assert_eq!(
            Region::locate(0x0203_FFFC, 4),
            Some((Region::Ewram, 0x3FFFC))
        );
        assert_eq!(Region::locate(0x0203_FFFD, 4), None);
        assert_eq!(
            Region::locate(0x0300_7FFF, 1),
            Some((Region::Iwram, 0x7FFF))
        );
        assert_eq!(Region::locate(0x0300_8000, 1), None);
        assert_eq!(Region::locate(0x0800_0000, 1), None);
        assert_eq!(Region::locate(0, 4), None);
        assert_eq!(Region::locate(u32::MAX, 4), None);
    }

    #[test]
    fn slice_checks_every_byte() {
        let ewram = vec![7u8; EWRAM_SIZE];
        let iwram = vec![9u8; IWRAM_SIZE];
        assert_eq!(slice(&ewram, &iwram, 0x0300_0010, 2).unwrap(), &[9, 9]);
        let err = slice(&ewram, &iwram, 0x0203_FFFF, 2).unwrap_err();
        assert_eq!(
            err,
            MemoryError {
                addr: 0x0203_FFFF,
                len: 2
            }
        );
        assert!(err.to_string().contains("0x0203ffff"));
    }
}
