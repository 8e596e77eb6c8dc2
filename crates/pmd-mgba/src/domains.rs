//! Memory domains as mGBA's scripting API names them (`emu.memory.wram`,
//! …): each a block of emulated memory addressed from its own start.

use std::fmt;
use std::str::FromStr;

use super::{script_ffi, Emulator};

/// A memory domain of the GBA, named as in mGBA's scripting API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    /// The BIOS (16 KiB at 0x00000000; mGBA's built-in one), read-only.
    Bios,
    /// On-board work RAM (256 KiB at 0x02000000).
    Wram,
    /// In-chip work RAM (32 KiB at 0x03000000).
    Iwram,
    /// Palette RAM (1 KiB at 0x05000000).
    Palette,
    /// Video RAM (96 KiB at 0x06000000).
    Vram,
    /// Object attribute memory (1 KiB at 0x07000000).
    Oam,
    /// The cartridge ROM (at 0x08000000), read-only.
    Cart0,
}

impl Domain {
    /// Every domain, in mGBA's order.
    pub const ALL: [Domain; 7] = [
        Domain::Bios,
        Domain::Wram,
        Domain::Iwram,
        Domain::Palette,
        Domain::Vram,
        Domain::Oam,
        Domain::Cart0,
    ];

    /// The name mGBA's scripting API uses (`emu.memory[name]`).
    pub fn name(self) -> &'static str {
        match self {
            Domain::Bios => "bios",
            Domain::Wram => "wram",
            Domain::Iwram => "iwram",
            Domain::Palette => "palette",
            Domain::Vram => "vram",
            Domain::Oam => "oam",
            Domain::Cart0 => "cart0",
        }
    }

    /// The bus address of the domain's first byte.
    pub fn base(self) -> u32 {
        match self {
            Domain::Bios => 0x0000_0000,
            Domain::Wram => 0x0200_0000,
            Domain::Iwram => 0x0300_0000,
            Domain::Palette => 0x0500_0000,
            Domain::Vram => 0x0600_0000,
            Domain::Oam => 0x0700_0000,
            Domain::Cart0 => 0x0800_0000,
        }
    }

    /// The domain's size as mGBA reports it (`memoryDomain:size()`, also
    /// the period at which offsets wrap); the ROM's is the 32 MiB window.
    pub fn size(self) -> u32 {
        match self {
            Domain::Bios => 0x4000,
            Domain::Wram => 0x4_0000,
            Domain::Iwram => 0x8000,
            Domain::Palette | Domain::Oam => 0x400,
            Domain::Vram => 0x1_8000,
            Domain::Cart0 => 0x200_0000,
        }
    }

    /// The first bus address past the domain (`memoryDomain:bound()`).
    pub fn bound(self) -> u32 {
        self.base() + self.size()
    }

    /// mGBA's short human-readable name (`memoryDomain:name()`).
    pub fn display_name(self) -> &'static str {
        match self {
            Domain::Bios => "BIOS",
            Domain::Wram => "EWRAM",
            Domain::Iwram => "IWRAM",
            Domain::Palette => "Palette",
            Domain::Vram => "VRAM",
            Domain::Oam => "OAM",
            Domain::Cart0 => "ROM",
        }
    }

    /// The bus address of `offset`, wrapped at the domain's size as mGBA's
    /// memory domains do (so a bus address given as an offset lands on
    /// the same byte for every domain here).
    pub fn address_of(self, offset: u32) -> u32 {
        self.base() + offset % self.size()
    }

    /// Whether scripts may write it (RAM, not ROM or BIOS).
    pub fn writable(self) -> bool {
        !matches!(self, Domain::Bios | Domain::Cart0)
    }

    /// `PMD_DOMAIN_*` in `pmd_script.h`: the declaration order above.
    fn shim_id(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A domain name mGBA does not have (names are case-sensitive, as in mGBA).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown memory domain {0:?} (bios, wram, iwram, palette, vram, oam, cart0)")]
pub struct UnknownDomain(pub String);

impl FromStr for Domain {
    type Err = UnknownDomain;

    fn from_str(s: &str) -> Result<Domain, UnknownDomain> {
        Domain::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDomain(s.to_string()))
    }
}

impl Emulator {
    /// A memory domain, borrowed in place (empty if mGBA backs it with no
    /// memory).
    pub fn domain(&self, domain: Domain) -> &[u8] {
        script_ffi::domain(self.core(), domain.shim_id())
    }

    /// A writable memory domain, borrowed mutably in place; `None` for the
    /// ROM and the BIOS.
    pub fn domain_mut(&mut self, domain: Domain) -> Option<&mut [u8]> {
        domain
            .writable()
            .then(|| script_ffi::domain_mut(self.core_mut(), domain.shim_id()))
    }

    /// `out.len()` bytes of a domain from `offset`, each offset wrapping
    /// at the domain's size (`memoryDomain:readRange`). Bytes of the ROM
    /// window past the ROM read as the GBA's open bus, as in mGBA.
    pub fn domain_read_range(&self, domain: Domain, offset: u32, out: &mut [u8]) {
        let block = self.domain(domain);
        let size = domain.size() as usize;
        let mut at = offset as usize % size;
        let mut filled = 0;
        while filled < out.len() {
            // Copy up to the end of the backing block or the wrap point.
            let run = (size - at).min(out.len() - filled);
            let backed = block.len().saturating_sub(at).min(run);
            out[filled..filled + backed].copy_from_slice(&block[at..at + backed]);
            for (i, byte) in out[filled + backed..filled + run].iter_mut().enumerate() {
                *byte = open_bus_byte(domain.base() + (at + backed + i) as u32);
            }
            filled += run;
            at = 0;
        }
    }

    /// A little-endian read of `width` bytes (1, 2 or 4) at a domain
    /// offset, aligned down to the width as mGBA does.
    pub fn domain_read(&self, domain: Domain, offset: u32, width: u32) -> u32 {
        let at = (offset % domain.size()) & !(width.max(1) - 1);
        let mut bytes = [0u8; 4];
        let n = width.clamp(1, 4) as usize;
        self.domain_read_range(domain, at, &mut bytes[..n]);
        u32::from_le_bytes(bytes)
    }

    /// A write of `width` bytes at a domain offset (wrapping), the way
    /// mGBA's memory domains write (the renderer sees VRAM, palette and OAM
    /// changes). Nothing is written to the ROM or the BIOS.
    pub fn domain_write(&mut self, domain: Domain, offset: u32, width: u32, value: u32) {
        if domain.writable() {
            script_ffi::raw_write(self.core_mut(), domain.address_of(offset), width, value);
        }
    }

    /// A bus read of `width` bytes (1, 2 or 4) at any address, exactly as
    /// mGBA's `emu:read8/16/32` (I/O registers, open bus and mirrors
    /// included).
    pub fn bus_read(&mut self, address: u32, width: u32) -> u32 {
        script_ffi::bus_read(self.core_mut(), address, width)
    }

    /// Bus bytes from `address`, as mGBA's `emu:readRange`.
    pub fn bus_read_range(&mut self, address: u32, out: &mut [u8]) {
        script_ffi::bus_read_range(self.core_mut(), address, out);
    }

    /// A bus write, as mGBA's `emu:write8/16/32`.
    pub fn bus_write(&mut self, address: u32, width: u32, value: u32) {
        script_ffi::bus_write(self.core_mut(), address, width, value);
    }

    /// The ROM header's title, as mGBA's `emu:getGameTitle()` returns it.
    pub fn game_title(&self) -> String {
        script_ffi::game_title(self.core())
    }

    /// The game code, as mGBA's `emu:getGameCode()` returns it (`AGB-XXXX`).
    pub fn game_code(&self) -> String {
        script_ffi::game_code(self.core())
    }
}

/// What the GBA reads from the cartridge bus where no ROM is: the low bits
/// of the address (mGBA's model of the open bus).
fn open_bus_byte(address: u32) -> u8 {
    let half = (address >> 1) & 0xFFFF;
    (half >> ((address & 1) * 8)) as u8
}
