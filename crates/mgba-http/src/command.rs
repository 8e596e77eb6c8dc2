//! Requests checked and typed: every argument parsed up front, so a bad
//! number, an unknown key or domain, or an unknown command is an error
//! before anything touches the emulator (the Lua server reports some of
//! these as success, see the conformance tests). Extra arguments are
//! ignored, as by the Lua server.

use std::fmt;

use super::protocol::Request;
use pmd_mgba::{Domain, Keys};

/// Frames a tap holds its keys when no duration is given (the protocol's
/// default; a press lasts `duration + 1` frames).
pub const DEFAULT_TAP_FRAMES: u32 = 15;

/// Largest `readRange` length (16 MiB): bigger than any GBA memory domain
/// but small enough that the reply (three bytes of text per byte) stays
/// bounded.
pub const MAX_RANGE: u32 = 16 << 20;

/// Longest hold in frames (about 10 hours of game time).
pub const MAX_HOLD_FRAMES: u32 = 1 << 21;

/// Highest savestate slot (slots live in memory, a full savestate each:
/// a client cannot make more than ten).
pub const MAX_SLOT: u64 = 9;

/// Access width of a read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// One byte.
    W8,
    /// Two bytes, little-endian, aligned down to 2 (as mGBA does).
    W16,
    /// Four bytes, little-endian, aligned down to 4 (as mGBA does).
    W32,
}

impl Width {
    /// Bytes accessed.
    pub fn bytes(self) -> u32 {
        match self {
            Width::W8 => 1,
            Width::W16 => 2,
            Width::W32 => 4,
        }
    }

    fn max(self) -> u64 {
        match self {
            Width::W8 => 0xFF,
            Width::W16 => 0xFFFF,
            Width::W32 => 0xFFFF_FFFF,
        }
    }
}

/// Where a `console.*` line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleKind {
    /// `console.log`.
    Log,
    /// `console.warn`.
    Warn,
    /// `console.error`.
    Error,
}

/// A checked request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `mgba-http.button.add` / `addMany` / `core.addKey(s)`: hold keys.
    AddKeys(Keys),
    /// `mgba-http.button.clear` / `clearMany` / `core.clearKey(s)`.
    ClearKeys(Keys),
    /// `core.setKeys`: hold exactly these.
    SetKeys(Keys),
    /// `mgba-http.button.get,<Key>` / `core.getKey,<bit>`: 1 or 0.
    GetKey(Keys),
    /// `mgba-http.button.getAll`: held key names, comma-separated.
    GetAllKeyNames,
    /// `core.getKeys`: the held keys as a bitmask.
    GetKeys,
    /// `mgba-http.button.tap(Many)` / `hold(Many)`: hold keys for
    /// `frames + 1` frames, applied by the emulator loop.
    Press {
        /// The keys.
        keys: Keys,
        /// The duration (the press lasts one frame longer).
        frames: u32,
    },
    /// `core.currentFrame`.
    CurrentFrame,
    /// `core.frameCycles`.
    FrameCycles,
    /// `core.frequency`.
    Frequency,
    /// `core.getGameTitle`.
    GameTitle,
    /// `core.getGameCode`.
    GameCode,
    /// `core.platform` (0: GBA).
    Platform,
    /// `core.romSize`.
    RomSize,
    /// `core.checksum`: the ROM's CRC-32 as a decimal number.
    Checksum,
    /// `core.read8/16/32,<address>`: a bus read.
    BusRead {
        /// Width.
        width: Width,
        /// Bus address.
        address: u32,
    },
    /// `core.readRange,<address>,<length>`: bus bytes as hex.
    BusReadRange {
        /// Bus address.
        address: u32,
        /// Bytes.
        length: u32,
    },
    /// `core.write8/16/32,<address>,<value>`.
    BusWrite {
        /// Width.
        width: Width,
        /// Bus address.
        address: u32,
        /// Value.
        value: u32,
    },
    /// `core.screenshot,<path>`: write the frame as a PNG file.
    Screenshot(String),
    /// `core.saveStateFile,<path>[,flags]`.
    SaveStateFile(String),
    /// `core.loadStateFile,<path>[,flags]`.
    LoadStateFile(String),
    /// `core.saveStateSlot,<n>[,flags]`.
    SaveStateSlot(u32),
    /// `core.loadStateSlot,<n>[,flags]`.
    LoadStateSlot(u32),
    /// `core.saveStateBuffer[,flags]`: the savestate as hex bytes.
    SaveStateBuffer,
    /// `core.loadStateBuffer,[hex bytes][,flags]`.
    LoadStateBuffer(Vec<u8>),
    /// `coreAdapter.reset`.
    Reset,
    /// `coreAdapter.memory`: the domain names.
    DomainNames,
    /// `memoryDomain.base,<domain>`.
    DomainBase(Domain),
    /// `memoryDomain.bound,<domain>`.
    DomainBound(Domain),
    /// `memoryDomain.name,<domain>`.
    DomainName(Domain),
    /// `memoryDomain.size,<domain>`.
    DomainSize(Domain),
    /// `memoryDomain.read8/16/32,<domain>,<offset>`.
    DomainRead {
        /// Domain.
        domain: Domain,
        /// Width.
        width: Width,
        /// Offset (wraps at the domain's size, as in mGBA).
        offset: u32,
    },
    /// `memoryDomain.readRange,<domain>,<offset>,<length>`.
    DomainReadRange {
        /// Domain.
        domain: Domain,
        /// Offset (wraps).
        offset: u32,
        /// Bytes.
        length: u32,
    },
    /// `memoryDomain.write8/16/32,<domain>,<offset>,<value>`.
    DomainWrite {
        /// Domain.
        domain: Domain,
        /// Width.
        width: Width,
        /// Offset (wraps).
        offset: u32,
        /// Value.
        value: u32,
    },
    /// `console.log/warn/error,<text>`: into the server's log.
    Console(ConsoleKind, String),
}

/// Why a request is not a valid command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such command.
    #[error("unknown command {0:?}")]
    Unknown(String),
    /// A command of the protocol this server does not offer.
    #[error("{0} is not offered by this server ({1})")]
    NotOffered(String, &'static str),
    /// A required argument is missing.
    #[error("{command}: missing {what}")]
    Missing {
        /// The command.
        command: String,
        /// The argument.
        what: &'static str,
    },
    /// An argument is not a number in range.
    #[error("{command}: {what} {text:?} is not a valid number")]
    BadNumber {
        /// The command.
        command: String,
        /// The argument.
        what: &'static str,
        /// What was sent.
        text: String,
    },
    /// A key name the protocol does not know (names are case-sensitive).
    #[error("unknown key {0:?} (A, B, Select, Start, Right, Left, Up, Down, R, L)")]
    UnknownKey(String),
    /// A memory domain this server does not know.
    #[error("unknown memory domain {0:?} (wram, iwram, vram, oam, palette, bios, cart0)")]
    UnknownDomain(String),
    /// A write to the ROM or the BIOS.
    #[error("memory domain {0} is read-only")]
    ReadOnly(Domain),
    /// A `[..]` byte list that is not hex bytes.
    #[error("bad byte list: {0}")]
    BadBytes(String),
}

/// The protocol's key names, in bit order.
pub const KEY_NAMES: [&str; 10] = [
    "A", "B", "Select", "Start", "Right", "Left", "Up", "Down", "R", "L",
];

/// One key by its protocol name (case-sensitive).
pub fn key_by_name(name: &str) -> Result<Keys, CommandError> {
    KEY_NAMES
        .iter()
        .position(|&n| n == name)
        .and_then(|bit| Keys::from_bits(1 << bit))
        .ok_or_else(|| CommandError::UnknownKey(name.to_string()))
}

/// `;`-separated key names; every name must be known.
pub fn keys_by_names(list: &str) -> Result<Keys, CommandError> {
    let mut keys = Keys::empty();
    let mut any = false;
    for name in list.split(';').filter(|n| !n.is_empty()) {
        keys |= key_by_name(name)?;
        any = true;
    }
    if any {
        Ok(keys)
    } else {
        Err(CommandError::UnknownKey(list.to_string()))
    }
}

/// The protocol names of `keys`, comma-separated, in bit order.
pub fn key_names(keys: Keys) -> String {
    let mut out = String::new();
    for (bit, name) in KEY_NAMES.iter().enumerate() {
        if keys.bits() & (1 << bit) != 0 {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(name);
        }
    }
    out
}

/// Parses a number as Lua's `tonumber` does for integers: decimal or
/// `0x` hexadecimal, surrounding spaces allowed. Fractions, exponents and
/// negative numbers are refused (mGBA would refuse them as addresses too).
pub fn parse_number(text: &str) -> Option<u64> {
    let t = text.trim_matches([' ', '\t']);
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (t, 10),
    };
    if digits.is_empty() || digits.starts_with('+') {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Decodes a `[0a,ff,...]` byte list.
pub fn parse_byte_list(text: &str) -> Result<Vec<u8>, CommandError> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| CommandError::BadBytes("not enclosed in [ ]".to_string()))?;
    inner
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| {
            let f = f.trim_matches(' ');
            if f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(CommandError::BadBytes(format!("{f:?} is not a hex byte")));
            }
            u8::from_str_radix(f, 16)
                .map_err(|_| CommandError::BadBytes(format!("{f:?} is not a hex byte")))
        })
        .collect()
}

struct Args<'r, 'a> {
    command: &'r str,
    args: &'r [&'a str],
}

impl<'a> Args<'_, 'a> {
    fn text(&self, i: usize, what: &'static str) -> Result<&'a str, CommandError> {
        self.args
            .get(i)
            .copied()
            .ok_or_else(|| CommandError::Missing {
                command: self.command.to_string(),
                what,
            })
    }

    fn number(&self, i: usize, what: &'static str, max: u64) -> Result<u32, CommandError> {
        let text = self.text(i, what)?;
        parse_number(text)
            .filter(|&n| n <= max)
            .map(|n| n as u32)
            .ok_or_else(|| CommandError::BadNumber {
                command: self.command.to_string(),
                what,
                text: text.to_string(),
            })
    }

    fn u32(&self, i: usize, what: &'static str) -> Result<u32, CommandError> {
        self.number(i, what, u64::from(u32::MAX))
    }

    /// An optional savestate-flags argument: checked, then ignored (this
    /// server always saves and loads the whole machine).
    fn flags(&self, i: usize) -> Result<(), CommandError> {
        if self.args.len() > i {
            self.u32(i, "flags")?;
        }
        Ok(())
    }

    fn domain(&self, i: usize) -> Result<Domain, CommandError> {
        let name = self.text(i, "memory domain")?;
        name.parse::<Domain>()
            .map_err(|_| CommandError::UnknownDomain(name.to_string()))
    }

    fn key_bit(&self, i: usize) -> Result<Keys, CommandError> {
        let bit = self.number(i, "key", 9)?;
        Ok(Keys::from_bits_truncate(1 << bit))
    }

    fn key_mask(&self, i: usize) -> Result<Keys, CommandError> {
        let mask = self.number(i, "key mask", 0x3FF)?;
        Ok(Keys::from_bits_truncate(mask as u16))
    }

    fn duration(&self, i: usize) -> Result<u32, CommandError> {
        if self.args.len() > i {
            self.number(i, "duration", u64::from(MAX_HOLD_FRAMES))
        } else {
            Ok(DEFAULT_TAP_FRAMES)
        }
    }

    fn range_length(&self, i: usize) -> Result<u32, CommandError> {
        self.number(i, "length", u64::from(MAX_RANGE))
    }

    fn value(&self, i: usize, width: Width) -> Result<u32, CommandError> {
        self.number(i, "value", width.max())
    }

    fn rest_as_text(&self) -> String {
        self.args.join(",")
    }
}

const WIDTHS: [(&str, Width); 3] = [("8", Width::W8), ("16", Width::W16), ("32", Width::W32)];

fn width_of(suffix: &str) -> Option<Width> {
    WIDTHS.iter().find(|(s, _)| *s == suffix).map(|&(_, w)| w)
}

impl Command {
    /// Checks a request and types its arguments.
    pub fn from_request(request: &Request<'_>) -> Result<Command, CommandError> {
        let name = request.name;
        let a = Args {
            command: name,
            args: &request.args,
        };
        let cmd = match name {
            "mgba-http.button.add" | "mgba-http.button.addMany" => {
                Command::AddKeys(keys_by_names(a.text(0, "keys")?)?)
            }
            "mgba-http.button.clear" | "mgba-http.button.clearMany" => {
                Command::ClearKeys(keys_by_names(a.text(0, "keys")?)?)
            }
            "mgba-http.button.get" => Command::GetKey(key_by_name(a.text(0, "key")?)?),
            "mgba-http.button.getAll" => Command::GetAllKeyNames,
            "mgba-http.button.tap" | "mgba-http.button.tapMany" => Command::Press {
                keys: keys_by_names(a.text(0, "keys")?)?,
                frames: DEFAULT_TAP_FRAMES,
            },
            "mgba-http.button.hold" | "mgba-http.button.holdMany" => Command::Press {
                keys: keys_by_names(a.text(0, "keys")?)?,
                frames: a.duration(1)?,
            },
            "core.addKey" => Command::AddKeys(a.key_bit(0)?),
            "core.addKeys" => Command::AddKeys(a.key_mask(0)?),
            "core.clearKey" => Command::ClearKeys(a.key_bit(0)?),
            "core.clearKeys" => Command::ClearKeys(a.key_mask(0)?),
            "core.setKeys" => Command::SetKeys(a.key_mask(0)?),
            "core.getKey" => Command::GetKey(a.key_bit(0)?),
            "core.getKeys" => Command::GetKeys,
            "core.currentFrame" => Command::CurrentFrame,
            "core.frameCycles" => Command::FrameCycles,
            "core.frequency" => Command::Frequency,
            "core.getGameTitle" => Command::GameTitle,
            "core.getGameCode" => Command::GameCode,
            "core.platform" => Command::Platform,
            "core.romSize" => Command::RomSize,
            "core.checksum" => Command::Checksum,
            "core.readRange" => Command::BusReadRange {
                address: a.u32(0, "address")?,
                length: a.range_length(1)?,
            },
            "core.screenshot" => Command::Screenshot(a.text(0, "path")?.to_string()),
            "core.saveStateFile" => {
                a.flags(1)?;
                Command::SaveStateFile(a.text(0, "path")?.to_string())
            }
            "core.loadStateFile" => {
                a.flags(1)?;
                Command::LoadStateFile(a.text(0, "path")?.to_string())
            }
            "core.saveStateSlot" => {
                a.flags(1)?;
                Command::SaveStateSlot(a.number(0, "slot", MAX_SLOT)?)
            }
            "core.loadStateSlot" => {
                a.flags(1)?;
                Command::LoadStateSlot(a.number(0, "slot", MAX_SLOT)?)
            }
            "core.saveStateBuffer" => {
                a.flags(0)?;
                Command::SaveStateBuffer
            }
            "core.loadStateBuffer" => {
                a.flags(1)?;
                Command::LoadStateBuffer(parse_byte_list(a.text(0, "byte list")?)?)
            }
            "coreAdapter.reset" => Command::Reset,
            "coreAdapter.memory" => Command::DomainNames,
            "memoryDomain.base" => Command::DomainBase(a.domain(0)?),
            "memoryDomain.bound" => Command::DomainBound(a.domain(0)?),
            "memoryDomain.name" => Command::DomainName(a.domain(0)?),
            "memoryDomain.size" => Command::DomainSize(a.domain(0)?),
            "memoryDomain.readRange" => Command::DomainReadRange {
                domain: a.domain(0)?,
                offset: a.u32(1, "offset")?,
                length: a.range_length(2)?,
            },
            "console.log" => Command::Console(ConsoleKind::Log, a.rest_as_text()),
            "console.warn" => Command::Console(ConsoleKind::Warn, a.rest_as_text()),
            "console.error" => Command::Console(ConsoleKind::Error, a.rest_as_text()),
            "core.step" | "core.runFrame" => {
                return Err(CommandError::NotOffered(
                    name.to_string(),
                    "the server runs frames itself",
                ))
            }
            "core.loadFile"
            | "core.loadSaveFile"
            | "core.autoloadSave"
            | "mgba-http.extension.loadFile" => {
                return Err(CommandError::NotOffered(
                    name.to_string(),
                    "the ROM is chosen when the server starts",
                ))
            }
            "core.readRegister" | "core.writeRegister" => {
                return Err(CommandError::NotOffered(
                    name.to_string(),
                    "CPU registers are not exposed",
                ))
            }
            _ => return Self::sized(name, &a),
        };
        Ok(cmd)
    }

    /// The commands with a width suffix (`read8`, `write32`, ...).
    fn sized(name: &str, a: &Args<'_, '_>) -> Result<Command, CommandError> {
        let unknown = || CommandError::Unknown(name.to_string());
        let (family, op) = name.rsplit_once('.').ok_or_else(unknown)?;
        if let Some(width) = op.strip_prefix("read").and_then(width_of) {
            return match family {
                "core" => Ok(Command::BusRead {
                    width,
                    address: a.u32(0, "address")?,
                }),
                "memoryDomain" => Ok(Command::DomainRead {
                    domain: a.domain(0)?,
                    width,
                    offset: a.u32(1, "offset")?,
                }),
                _ => Err(unknown()),
            };
        }
        if let Some(width) = op.strip_prefix("write").and_then(width_of) {
            return match family {
                "core" => Ok(Command::BusWrite {
                    width,
                    address: a.u32(0, "address")?,
                    value: a.value(1, width)?,
                }),
                "memoryDomain" => {
                    let domain = a.domain(0)?;
                    if !domain.writable() {
                        return Err(CommandError::ReadOnly(domain));
                    }
                    Ok(Command::DomainWrite {
                        domain,
                        width,
                        offset: a.u32(1, "offset")?,
                        value: a.value(2, width)?,
                    })
                }
                _ => Err(unknown()),
            };
        }
        Err(unknown())
    }
}

impl fmt::Display for Width {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.bytes() * 8)
    }
}

#[cfg(test)]
mod tests {
    use super::super::protocol::parse_request;
    use super::*;

    fn cmd(text: &str) -> Result<Command, CommandError> {
        Command::from_request(&parse_request(text.as_bytes()).unwrap())
    }

    #[test]
    fn reads_with_hex_and_decimal_numbers() {
        assert_eq!(
            cmd("memoryDomain.read32,wram,0x0203B418"),
            Ok(Command::DomainRead {
                domain: Domain::Wram,
                width: Width::W32,
                offset: 0x0203_B418
            })
        );
        assert_eq!(
            cmd("memoryDomain.readRange,wram,0,65536"),
            Ok(Command::DomainReadRange {
                domain: Domain::Wram,
                offset: 0,
                length: 65536
            })
        );
        assert_eq!(
            cmd("core.read8,33554432"),
            Ok(Command::BusRead {
                width: Width::W8,
                address: 0x0200_0000
            })
        );
    }

    #[test]
    fn bad_numbers_are_errors() {
        for text in [
            "memoryDomain.read8,wram,abc",
            "memoryDomain.read8,wram,-1",
            "memoryDomain.read8,wram,1.5",
            "memoryDomain.read8,wram,0x",
            "memoryDomain.read8,wram,4294967296",
            "memoryDomain.readRange,wram,0,99999999999",
            "memoryDomain.write8,wram,0,256",
            "mgba-http.button.hold,A,soon",
        ] {
            assert!(
                matches!(cmd(text), Err(CommandError::BadNumber { .. })),
                "{text}: {:?}",
                cmd(text)
            );
        }
        assert!(matches!(
            cmd("memoryDomain.read8,wram"),
            Err(CommandError::Missing { .. })
        ));
    }

    #[test]
    fn keys_are_case_sensitive_and_checked() {
        assert_eq!(
            cmd("mgba-http.button.tapMany,A;Right"),
            Ok(Command::Press {
                keys: Keys::A | Keys::RIGHT,
                frames: DEFAULT_TAP_FRAMES
            })
        );
        assert_eq!(
            cmd("mgba-http.button.hold,Start,4"),
            Ok(Command::Press {
                keys: Keys::START,
                frames: 4
            })
        );
        assert_eq!(
            cmd("mgba-http.button.tap,a"),
            Err(CommandError::UnknownKey("a".into()))
        );
        assert_eq!(
            cmd("mgba-http.button.tapMany,A;Foo"),
            Err(CommandError::UnknownKey("Foo".into()))
        );
        assert_eq!(key_names(Keys::A | Keys::L | Keys::UP), "A,Up,L");
    }

    #[test]
    fn unknown_and_refused_commands() {
        assert_eq!(
            cmd("core.fly"),
            Err(CommandError::Unknown("core.fly".into()))
        );
        assert_eq!(
            cmd("nonsense"),
            Err(CommandError::Unknown("nonsense".into()))
        );
        assert!(matches!(
            cmd("core.loadFile,/x.gba"),
            Err(CommandError::NotOffered(..))
        ));
        assert_eq!(
            cmd("memoryDomain.read8,sram,0"),
            Err(CommandError::UnknownDomain("sram".into()))
        );
        assert_eq!(
            cmd("memoryDomain.write8,cart0,0,1"),
            Err(CommandError::ReadOnly(Domain::Cart0))
        );
        assert!(matches!(
            cmd("core.currentFrame,extra"),
            Ok(Command::CurrentFrame)
        ));
        // Extra arguments are ignored, as by the Lua server.
        assert_eq!(
            cmd("mgba-http.button.getAll,extra"),
            Ok(Command::GetAllKeyNames)
        );
    }

    #[test]
    fn byte_lists() {
        assert_eq!(parse_byte_list("[0a,FF,00]"), Ok(vec![0x0a, 0xff, 0]));
        assert_eq!(parse_byte_list("[]"), Ok(vec![]));
        assert!(parse_byte_list("[0a,1ff]").is_err());
        assert!(parse_byte_list("[zz]").is_err());
        assert!(parse_byte_list("0a,ff").is_err());
        assert_eq!(
            cmd("core.loadStateBuffer,[01,02],0"),
            Ok(Command::LoadStateBuffer(vec![1, 2]))
        );
    }
}
