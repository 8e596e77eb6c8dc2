//! Loading and validating GBA ROM images.
//!
//! A ROM is read once into memory and shared by reference count: any number
//! of emulators in the process run the same bytes without copying them.
//! (The file is read rather than memory-mapped on purpose: a mapped file
//! truncated by another process would kill the emulator with SIGBUS, and a
//! ROM is at most 32 MiB, read in milliseconds.)

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Smallest accepted ROM: the 192-byte cartridge header, which mGBA runs
/// (homebrew test ROMs can be that small; the header checks still reject
/// garbage).
pub const MIN_ROM_LEN: usize = 0xC0;
/// Largest GBA ROM: the 32 MiB cartridge address space.
pub const MAX_ROM_LEN: usize = 32 * 1024 * 1024;

const HEADER_LEN: usize = 0xC0;
const FIXED_BYTE_OFFSET: usize = 0xB2;
const FIXED_BYTE: u8 = 0x96;
const COMPLEMENT_OFFSET: usize = 0xBD;

/// Why a ROM was refused. Every variant names where the ROM came from.
#[derive(Debug, thiserror::Error)]
pub enum RomError {
    /// Nothing exists at the path.
    #[error("{}: no such file", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The path names a directory.
    #[error("{}: is a directory, not a ROM file", path.display())]
    IsDirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The file has no bytes.
    #[error("{origin}: empty file, not a GBA ROM")]
    Empty {
        /// Where the bytes came from.
        origin: String,
    },
    /// Too short to hold a GBA header and code.
    #[error("{origin}: too small for a GBA ROM ({len} bytes, at least {MIN_ROM_LEN} expected)")]
    TooSmall {
        /// Where the bytes came from.
        origin: String,
        /// The length found.
        len: u64,
    },
    /// Larger than the cartridge address space.
    #[error("{origin}: too large for a GBA ROM ({len} bytes, at most 32 MiB)")]
    TooLarge {
        /// Where the bytes came from.
        origin: String,
        /// The length found.
        len: u64,
    },
    /// The header is not a GBA cartridge header.
    #[error("{origin}: not a GBA ROM ({reason})")]
    NotGba {
        /// Where the bytes came from.
        origin: String,
        /// Which header check failed.
        reason: String,
    },
}

/// The identifying fields of a GBA cartridge header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RomHeader {
    /// Game title (up to 12 characters, 0xA0).
    pub title: String,
    /// Four-character game code (0xAC), e.g. `B24E` for PMD Red (US).
    pub game_code: String,
    /// Two-character maker code (0xB0).
    pub maker_code: String,
    /// Software version (0xBC).
    pub version: u8,
}

impl RomHeader {
    /// Checks the header of `bytes` and reads its fields. Three independent
    /// checks make random data pass with odds of about 1 in 16 million: the
    /// entry point is an ARM branch, byte 0xB2 is 0x96, and the complement
    /// byte at 0xBD matches the header.
    fn parse(bytes: &[u8]) -> Result<RomHeader, String> {
        let header = bytes
            .get(..HEADER_LEN)
            .ok_or_else(|| "shorter than the 192-byte header".to_string())?;
        if header[3] != 0xEA {
            return Err("the entry point at 0x00 is not an ARM branch instruction".into());
        }
        if header[FIXED_BYTE_OFFSET] != FIXED_BYTE {
            return Err(format!(
                "header byte 0xB2 is {:#04x}, expected 0x96",
                header[FIXED_BYTE_OFFSET]
            ));
        }
        let expected = header_complement(header);
        if header[COMPLEMENT_OFFSET] != expected {
            return Err(format!(
                "header complement at 0xBD is {:#04x}, expected {:#04x}",
                header[COMPLEMENT_OFFSET], expected
            ));
        }
        Ok(RomHeader {
            title: ascii_field(&header[0xA0..0xAC]),
            game_code: ascii_field(&header[0xAC..0xB0]),
            maker_code: ascii_field(&header[0xB0..0xB2]),
            version: header[0xBC],
        })
    }
}

/// The complement byte a GBA header must carry at 0xBD: the sum of bytes
/// 0xA0..=0xBC, plus 0x19, plus the complement is 0 modulo 256.
pub(crate) fn header_complement(header: &[u8]) -> u8 {
    let sum = header[0xA0..COMPLEMENT_OFFSET]
        .iter()
        .fold(0u8, |acc, b| acc.wrapping_add(*b));
    0u8.wrapping_sub(sum.wrapping_add(0x19))
}

/// Text up to the first NUL, non-printable bytes shown as `?`.
fn ascii_field(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take_while(|b| **b != 0)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// A validated GBA ROM image, cheap to clone (the bytes are shared).
#[derive(Clone)]
pub struct Rom {
    bytes: Arc<[u8]>,
    header: RomHeader,
    crc32: u32,
    origin: Arc<str>,
}

impl Rom {
    /// Reads and validates the ROM file at `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Rom, RomError> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => RomError::NotFound {
                path: path.to_path_buf(),
            },
            _ => RomError::Unreadable {
                path: path.to_path_buf(),
                source,
            },
        })?;
        if meta.is_dir() {
            return Err(RomError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        let origin = path.display().to_string();
        // Refuse a huge file before reading it into memory.
        if meta.len() > MAX_ROM_LEN as u64 {
            return Err(RomError::TooLarge {
                origin,
                len: meta.len(),
            });
        }
        let bytes = std::fs::read(path).map_err(|source| RomError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Rom::from_bytes(bytes, &origin)
    }

    /// Validates ROM bytes already in memory; `origin` names them in errors.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>, origin: &str) -> Result<Rom, RomError> {
        let bytes: Arc<[u8]> = bytes.into();
        let len = bytes.len() as u64;
        let origin_owned = || origin.to_string();
        if bytes.is_empty() {
            return Err(RomError::Empty {
                origin: origin_owned(),
            });
        }
        if bytes.len() < MIN_ROM_LEN {
            return Err(RomError::TooSmall {
                origin: origin_owned(),
                len,
            });
        }
        if bytes.len() > MAX_ROM_LEN {
            return Err(RomError::TooLarge {
                origin: origin_owned(),
                len,
            });
        }
        let header = RomHeader::parse(&bytes).map_err(|reason| RomError::NotGba {
            origin: origin_owned(),
            reason,
        })?;
        let crc32 = crc32fast::hash(&bytes);
        Ok(Rom {
            bytes,
            header,
            crc32,
            origin: origin.into(),
        })
    }

    /// The ROM's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The shared handle on the bytes (for the FFI layer, which must keep
    /// them alive as long as the core runs).
    pub(crate) fn shared_bytes(&self) -> Arc<[u8]> {
        Arc::clone(&self.bytes)
    }

    /// The parsed header.
    pub fn header(&self) -> &RomHeader {
        &self.header
    }

    /// The game title from the header.
    pub fn title(&self) -> &str {
        &self.header.title
    }

    /// The four-character game code from the header.
    pub fn game_code(&self) -> &str {
        &self.header.game_code
    }

    /// CRC-32 of the whole image: identifies the ROM in savestates.
    pub fn crc32(&self) -> u32 {
        self.crc32
    }

    /// Where the ROM came from: its path, or the description given.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl fmt::Debug for Rom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rom")
            .field("origin", &self.origin)
            .field("header", &self.header)
            .field("len", &self.bytes.len())
            .field("crc32", &format_args!("{:08x}", self.crc32))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal_rom() -> Vec<u8> {
        let mut rom = vec![0u8; MIN_ROM_LEN];
        rom[..4].copy_from_slice(&[0x2E, 0x00, 0x00, 0xEA]);
        rom[0xA0..0xA4].copy_from_slice(b"TEST");
        rom[0xAC..0xB0].copy_from_slice(b"ABCD");
        rom[0xB2] = 0x96;
        rom[0xBD] = header_complement(&rom);
        rom
    }

    #[test]
    fn accepts_a_well_formed_header() {
        let rom = Rom::from_bytes(minimal_rom(), "test").unwrap();
        assert_eq!(rom.title(), "TEST");
        assert_eq!(rom.game_code(), "ABCD");
        assert_eq!(rom.crc32(), crc32fast::hash(&minimal_rom()));
    }

    #[test]
    fn rejects_each_broken_header_field() {
        let cases: [(usize, u8, &str); 3] = [
            (3, 0x00, "ARM branch"),
            (0xB2, 0x00, "0xB2"),
            (0xBD, 0x00, "complement"),
        ];
        for (offset, value, needle) in cases {
            let mut bytes = minimal_rom();
            bytes[offset] = value;
            let err = Rom::from_bytes(bytes, "t").unwrap_err();
            assert!(
                matches!(&err, RomError::NotGba { reason, .. } if reason.contains(needle)),
                "{offset:#x}: {err}"
            );
        }
    }

    #[test]
    fn rejects_sizes() {
        assert!(matches!(
            Rom::from_bytes(Vec::new(), "t"),
            Err(RomError::Empty { .. })
        ));
        assert!(matches!(
            Rom::from_bytes(vec![0u8; 191], "t"),
            Err(RomError::TooSmall { len: 191, .. })
        ));
        // 192 bytes of garbage pass the size check and fail the header's
        assert!(matches!(
            Rom::from_bytes(vec![0u8; 192], "t"),
            Err(RomError::NotGba { .. })
        ));
        let mut big = minimal_rom();
        big.resize(MAX_ROM_LEN + 1, 0);
        assert!(matches!(
            Rom::from_bytes(big, "t"),
            Err(RomError::TooLarge { .. })
        ));
    }

    #[test]
    fn header_text_is_sanitised() {
        assert_eq!(ascii_field(b"AB\x01C\0\0junk"), "AB?C");
    }
}
