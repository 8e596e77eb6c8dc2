//! [`Emulator`]: a safe handle on one in-process mGBA core.

use super::ffi::{Block, Core, StateFileCheck};
use super::memory::{self, MemoryError, EWRAM_SIZE, IWRAM_SIZE};
use super::{EmuError, Keys, Rom, Snapshot, SnapshotError};

/// One GBA running a [`Rom`], driven frame by frame from the calling thread.
///
/// * Memory is borrowed zero-copy: [`ewram`](Self::ewram) and
///   [`iwram`](Self::iwram) are slices of emulated RAM itself.
/// * [`frame`](Self::frame) borrows the framebuffer. Rendering can be
///   switched off with [`set_rendering`](Self::set_rendering) for frames
///   nobody looks at (several times faster on light games); the framebuffer
///   then keeps the last rendered picture, see
///   [`frame_rendered_at`](Self::frame_rendered_at).
/// * Savestates live in memory ([`snapshot`](Self::snapshot),
///   [`restore`](Self::restore)).
///
/// `Emulator` is `Send` (run many on many threads) but not `Sync`.
pub struct Emulator {
    core: Core,
    rom: Rom,
    keys: Keys,
    rendering: bool,
    rendered_at: Option<u32>,
    /// The keys of every frame run, while input logging is on.
    input_log: Option<Vec<Keys>>,
}

impl Emulator {
    /// Boots `rom` (already validated by [`Rom`]); the ROM's bytes are
    /// shared, not copied, except by a cartridge with GPIO hardware (a
    /// clock, a sensor), whose port registers mGBA writes into ROM: that
    /// core runs on a private copy, so the shared bytes are never written.
    pub fn new(rom: &Rom) -> Result<Emulator, EmuError> {
        let core = Core::new(rom.shared_bytes())
            .map_err(EmuError::Library)?
            .ok_or_else(|| EmuError::CoreInit {
                origin: rom.origin().to_string(),
            })?;
        let emu = Emulator {
            core,
            rom: rom.clone(),
            keys: Keys::empty(),
            rendering: true,
            rendered_at: None,
            input_log: None,
        };
        for (region, block, expected) in [
            ("EWRAM", Block::Ewram, EWRAM_SIZE),
            ("IWRAM", Block::Iwram, IWRAM_SIZE),
        ] {
            let actual = emu.core.memory(block).len();
            if actual != expected {
                return Err(EmuError::MemoryLayout {
                    region,
                    expected,
                    actual,
                });
            }
        }
        Ok(emu)
    }

    /// The core, for the other FFI users of `emu` (memory domains, the
    /// scripting host).
    pub(super) fn core(&self) -> &Core {
        &self.core
    }

    /// The core, mutably (see [`core`](Self::core)).
    pub(super) fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }

    /// The ROM this emulator runs.
    pub fn rom(&self) -> &Rom {
        &self.rom
    }

    /// Resets the machine to power-on (BIOS skipped). Held keys and the
    /// rendering setting are kept.
    pub fn reset(&mut self) {
        self.core.reset();
        self.core.set_keys(self.keys.bits());
        self.rendered_at = None;
    }

    /// Runs until the next frame ends (start of VBlank).
    pub fn run_frame(&mut self) {
        if let Some(log) = &mut self.input_log {
            log.push(self.keys);
        }
        self.core.run_frame(self.rendering);
        if self.rendering {
            self.rendered_at = Some(self.core.frame_counter());
        }
    }

    /// Runs `n` frames with the current keys and rendering setting.
    pub fn run_frames(&mut self, n: u32) {
        for _ in 0..n {
            self.run_frame();
        }
    }

    /// Holds `keys` from now on (until the next call).
    pub fn set_keys(&mut self, keys: Keys) {
        self.keys = keys;
        self.core.set_keys(keys.bits());
    }

    /// The keys currently held.
    pub fn keys(&self) -> Keys {
        self.keys
    }

    /// Starts (or stops) logging the keys of every frame run, to replay the
    /// very same input elsewhere (another emulator, another frontend).
    /// Starting clears the log.
    pub fn log_inputs(&mut self, on: bool) {
        self.input_log = on.then(Vec::new);
    }

    /// The keys of every frame run since logging started.
    pub fn input_log(&self) -> &[Keys] {
        self.input_log.as_deref().unwrap_or(&[])
    }

    /// Frames completed since reset (mGBA's counter; saved in snapshots).
    pub fn frame_count(&self) -> u32 {
        self.core.frame_counter()
    }

    /// Turns the scanline renderer on or off for the following frames.
    pub fn set_rendering(&mut self, on: bool) {
        self.rendering = on;
    }

    /// Whether frames are rendered.
    pub fn rendering(&self) -> bool {
        self.rendering
    }

    /// The framebuffer, 240x160 pixels row by row, each `0x00BBGGRR`
    /// (8 bits per channel). Holds the last rendered frame.
    pub fn frame(&self) -> &[u32] {
        self.core.framebuffer()
    }

    /// Whether the framebuffer shows the machine's present moment: the
    /// last frame run was rendered, or a restored snapshot brought its
    /// picture back. False after a reset, after frames run without
    /// rendering, and after restoring a state that carries no picture
    /// (one taken while not rendering, or read from bytes).
    pub fn frame_is_current(&self) -> bool {
        self.rendered_at == Some(self.frame_count())
    }

    /// The [`frame_count`](Self::frame_count) at which the framebuffer was
    /// last completed; `None` if no frame was rendered since reset.
    pub fn frame_rendered_at(&self) -> Option<u32> {
        self.rendered_at
    }

    /// On-board work RAM (256 KiB at 0x02000000), borrowed in place.
    pub fn ewram(&self) -> &[u8] {
        self.core.memory(Block::Ewram)
    }

    /// In-chip work RAM (32 KiB at 0x03000000), borrowed in place.
    pub fn iwram(&self) -> &[u8] {
        self.core.memory(Block::Iwram)
    }

    /// EWRAM, writable (seeding tests, setting RNG state).
    pub fn ewram_mut(&mut self) -> &mut [u8] {
        self.core.memory_mut(Block::Ewram)
    }

    /// IWRAM, writable.
    pub fn iwram_mut(&mut self) -> &mut [u8] {
        self.core.memory_mut(Block::Iwram)
    }

    /// `len` bytes at bus address `addr`, borrowed in place.
    pub fn read_bytes(&self, addr: u32, len: usize) -> Result<&[u8], MemoryError> {
        memory::slice(self.ewram(), self.iwram(), addr, len)
    }

    /// The byte at bus address `addr`.
    pub fn read_u8(&self, addr: u32) -> Result<u8, MemoryError> {
        Ok(self.read_bytes(addr, 1)?[0])
    }

    /// The little-endian u16 at bus address `addr` (any alignment).
    pub fn read_u16(&self, addr: u32) -> Result<u16, MemoryError> {
        let b = self.read_bytes(addr, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// The little-endian u32 at bus address `addr` (any alignment).
    pub fn read_u32(&self, addr: u32) -> Result<u32, MemoryError> {
        let b = self.read_bytes(addr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Writes `bytes` at bus address `addr`; nothing is written when any
    /// byte would fall outside EWRAM/IWRAM.
    pub fn write_bytes(&mut self, addr: u32, bytes: &[u8]) -> Result<(), MemoryError> {
        let err = MemoryError {
            addr,
            len: bytes.len(),
        };
        let (region, offset) = super::Region::locate(addr, bytes.len()).ok_or(err)?;
        let block = match region {
            super::Region::Ewram => self.ewram_mut(),
            super::Region::Iwram => self.iwram_mut(),
        };
        block
            .get_mut(offset..offset + bytes.len())
            .ok_or(err)?
            .copy_from_slice(bytes);
        Ok(())
    }

    /// Writes a byte at bus address `addr`.
    pub fn write_u8(&mut self, addr: u32, value: u8) -> Result<(), MemoryError> {
        self.write_bytes(addr, &[value])
    }

    /// Writes a little-endian u16 at bus address `addr`.
    pub fn write_u16(&mut self, addr: u32, value: u16) -> Result<(), MemoryError> {
        self.write_bytes(addr, &value.to_le_bytes())
    }

    /// Writes a little-endian u32 at bus address `addr`.
    pub fn write_u32(&mut self, addr: u32, value: u32) -> Result<(), MemoryError> {
        self.write_bytes(addr, &value.to_le_bytes())
    }

    /// Size in bytes of this core's savestates.
    pub fn state_size(&mut self) -> usize {
        self.core.state_size()
    }

    /// Takes an in-memory savestate of the whole machine.
    pub fn snapshot(&mut self) -> Result<Snapshot, EmuError> {
        let mut snap = Snapshot::new(self.rom.crc32(), vec![0u8; self.state_size()].into());
        self.snapshot_into(&mut snap)?;
        Ok(snap)
    }

    /// Takes a savestate into an existing [`Snapshot`], reusing its buffer
    /// when the size matches (no allocation on the hot path of a search).
    /// A failure of mGBA's `saveState` is an error in every build: the
    /// snapshot is then unusable and a restore of it would be refused.
    pub fn snapshot_into(&mut self, snap: &mut Snapshot) -> Result<(), EmuError> {
        let size = self.state_size();
        if snap.len() != size {
            *snap = Snapshot::new(self.rom.crc32(), vec![0u8; size].into());
        }
        if self.core.save_state(snap.state_mut()) {
            snap.set_rom_crc32(self.rom.crc32());
            let picture = self.frame_is_current().then(|| self.core.framebuffer());
            snap.set_frame(picture);
            Ok(())
        } else {
            // Mark it as belonging to no ROM, so it can never be restored.
            snap.set_rom_crc32(!self.rom.crc32());
            Err(SnapshotError::SaveFailed.into())
        }
    }

    /// Restores a savestate taken on the same ROM. A state of the wrong
    /// size or from another ROM is refused before mGBA sees it.
    pub fn restore(&mut self, snap: &Snapshot) -> Result<(), EmuError> {
        if snap.rom_crc32() != self.rom.crc32() {
            return Err(SnapshotError::OtherRom {
                expected: self.rom.crc32(),
                actual: snap.rom_crc32(),
            }
            .into());
        }
        let expected = self.state_size();
        if snap.len() != expected {
            return Err(SnapshotError::WrongSize {
                expected,
                actual: snap.len(),
            }
            .into());
        }
        if !self.core.load_state(snap.state()) {
            return Err(SnapshotError::Rejected.into());
        }
        self.core.set_keys(self.keys.bits());
        self.rendered_at = match snap.frame() {
            Some(picture) => {
                self.core.framebuffer_mut().copy_from_slice(picture);
                Some(self.core.frame_counter())
            }
            None => None,
        };
        Ok(())
    }
}

/// Sizes of GBA battery saves: EEPROM 512 B / 8 KiB, SRAM 32 KiB, flash
/// 64 KiB / 128 KiB.
pub const BATTERY_SAVE_SIZES: [usize; 5] = [512, 8192, 32768, 65536, 131072];

impl Emulator {
    /// Loads a savestate file as mGBA's desktop frontend writes it (`.ss1`
    /// …: a PNG carrying the state, or the raw state). mGBA checks it
    /// belongs to this game; on refusal the machine is left as it was.
    pub fn load_mgba_state_file(&mut self, bytes: &[u8]) -> Result<(), EmuError> {
        let size = self.state_size();
        super::state_file::check(bytes, size).map_err(SnapshotError::StateFileDamaged)?;
        // Its header, read through mGBA's own struct: same save-state
        // format, same game, this very ROM (mGBA itself only warns when
        // another version of the game wrote it).
        match self.core.check_state_file(bytes) {
            StateFileCheck::Ok => {}
            StateFileCheck::Unreadable => {
                return Err(
                    SnapshotError::StateFileDamaged("mGBA cannot extract a state from it").into(),
                )
            }
            StateFileCheck::OtherFormat => return Err(SnapshotError::StateFileVersion.into()),
            StateFileCheck::OtherGame => return Err(SnapshotError::StateFileOtherGame.into()),
            StateFileCheck::OtherRom { state_crc32 } => {
                return Err(SnapshotError::OtherRom {
                    expected: self.rom.crc32(),
                    actual: state_crc32,
                }
                .into())
            }
        }
        if !self.core.load_state_file(bytes) {
            return Err(SnapshotError::StateFileRejected.into());
        }
        self.core.set_keys(self.keys.bits());
        self.rendered_at = None;
        Ok(())
    }

    /// The machine state as an mGBA frontend savestate file (PNG with a
    /// screenshot and the state), loadable by mGBA's desktop frontend.
    pub fn export_mgba_state_file(&mut self) -> Result<Vec<u8>, EmuError> {
        self.core
            .export_state_file()
            .ok_or(EmuError::Snapshot(SnapshotError::StateFileRejected))
    }

    /// Installs a battery save (`.sav`) and resets, so the game boots with
    /// it.
    pub fn load_battery_save(&mut self, bytes: &[u8]) -> Result<(), EmuError> {
        if !BATTERY_SAVE_SIZES.contains(&bytes.len()) {
            return Err(SnapshotError::BatterySize { len: bytes.len() }.into());
        }
        if !self.core.load_battery(bytes) {
            return Err(SnapshotError::BatteryRejected.into());
        }
        self.core.set_keys(self.keys.bits());
        self.rendered_at = None;
        Ok(())
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("rom", &self.rom)
            .field("frame_count", &self.frame_count())
            .field("keys", &self.keys)
            .field("rendering", &self.rendering)
            .finish()
    }
}
