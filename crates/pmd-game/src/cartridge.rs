//! The bundled test cartridge's game profile and private state block.
//!
//! The cartridge is a small turn-based dungeon crawler written in C
//! (`native/cartridge/`); its ROM bytes are [`ROM_BYTES`] (built into `tests/data/cartridge.gba` and
//! embedded here, so everything runs without the commercial ROM). Its
//! dungeon lives in the PMD-Red RAM layout ([`super::ram_map`]), so
//! [`super::DungeonView`] decodes it exactly as it decodes the real game.
//! Beside it, a private state block sits at fixed EWRAM addresses
//! (`native/cartridge/cart.h` is the C side of this contract):
//!
//! | address      | type | field |
//! |--------------|------|-------|
//! | `0x02000000` | u32  | magic `"PMDT"` once booted |
//! | `0x02000004` | u32  | main-loop frames (one per VBlank) |
//! | `0x02000008` | u16  | keys held this frame (mGBA bit order) |
//! | `0x0200000A` | u16  | keys newly pressed this frame |
//! | `0x0200000C` | u32  | input hash: `h = h * 1664525 + keys + 1013904223` each frame |
//! | `0x02000010` | i16  | leader x once playing |
//! | `0x02000012` | i16  | leader y once playing |
//! | `0x02000014` | u8   | phase ([`Phase`]) |
//! | `0x02000015` | u8   | what the last input did ([`Event`]) |
//! | `0x02000016` | u16  | turns taken on this floor |
//! | `0x02000018` | u32  | turns taken in the run |
//! | `0x0200001C` | u32  | `gDungeonRngState` when this floor was generated |
//! | `0x02000020` | u8   | frames left in the seeding phase or of the title's fade-in |
//! | `0x02000021` | u8   | animation frames left in the running turn |
//! | `0x02000022` | u8   | monsters defeated in the run |
//! | `0x02000023` | u8   | main-menu entry under the cursor (0 continue, 1 options) |
//!
//! **Boot.** After reset a title screen fades in (30 frames, input
//! ignored); A or Start then opens the main menu, whose default entry
//! CONTINUE (A or Start) enters the dungeon. Menus react to newly pressed
//! keys only, like real games, so a key must be released between taps.
//! [`TestCartridge::boot`] passes them with the same paced-tap walker
//! ([`super::menu`]) that passes the real game's title and menus.
//!
//! **Seeding.** The dungeon RNG is a 32-bit LCG (`s = s * 1566083941 + 1`)
//! whose whole state is `gDungeonRngState` (0x0203B454). Entering the
//! dungeon starts the seeding phase; two VBlanks later the cartridge
//! generates floor 1 from whatever `gDungeonRngState` then holds. A host
//! seeds a run by writing that word while the phase is 1
//! ([`boot_with_seed`]); later floors continue the same stream, so a run is
//! reproducible from (seed, inputs).
//!
//! **The dungeon** has [`FINAL_FLOOR`] floors: taking the stairs on the
//! last one clears it — `gDungeon` becomes NULL, as when the real game
//! leaves a dungeon, and the phase becomes [`Phase::Cleared`].
//!
//! **Controls.** D-pad (two directions for diagonals): move, 8 frames per
//! move; B + d-pad: turn without moving (no turn taken); A: attack the
//! faced tile; L: wait a turn; Start: eat the first Oran Berry (+20 HP);
//! Select: take the stairs when standing on them. While a turn animates the
//! turn-ready flag (Dungeon +0x0F) is clear and input is ignored.

/// The cartridge image, as committed in `tests/data/cartridge.gba`.
pub const ROM_BYTES: &[u8] = include_bytes!("../../../tests/data/cartridge.gba");

/// The bundled cartridge as a validated [`Rom`](pmd_mgba::Rom).
pub fn rom() -> Result<pmd_mgba::Rom, pmd_mgba::RomError> {
    pmd_mgba::Rom::from_bytes(ROM_BYTES, "bundled test cartridge")
}

use super::menu::{tap_until, TapRhythm};
use super::profile::{BootError, DungeonExit, GameProfile, SeedScope};
use super::ram_map::addr::G_DUNGEON_RNG_STATE;
use super::{Action, Presses};
use pmd_mgba::{Emulator, Keys, MemoryError};

/// The cartridge's game code.
pub const GAME_CODE: &str = "PMDT";

/// Floors of the cartridge's dungeon: the stairs of this floor clear it.
pub const FINAL_FLOOR: u8 = 10;

/// Item id of the Oran Berry, the cartridge's healing item.
pub const ORAN_BERRY: u8 = 0x46;

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
    /// i16 leader x.
    pub const LEADER_X: u32 = 0x0200_0010;
    /// i16 leader y.
    pub const LEADER_Y: u32 = 0x0200_0012;
    /// u8 phase.
    pub const PHASE: u32 = 0x0200_0014;
    /// u8 last event.
    pub const LAST_EVENT: u32 = 0x0200_0015;
    /// u16 turns on this floor.
    pub const FLOOR_TURNS: u32 = 0x0200_0016;
    /// u32 turns in the run.
    pub const TOTAL_TURNS: u32 = 0x0200_0018;
    /// u32 RNG state the floor was generated from.
    pub const FLOOR_SEED: u32 = 0x0200_001C;
    /// u8 monsters defeated.
    pub const KILLS: u32 = 0x0200_0022;
    /// u8 main-menu entry under the cursor.
    pub const MENU_CURSOR: u32 = 0x0200_0023;
}

/// The cartridge's phase (`addr::PHASE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Initialising.
    Boot,
    /// Waiting for the host's seed.
    Seeding,
    /// In the dungeon.
    Playing,
    /// The leader fainted.
    GameOver,
    /// The stairs of the last floor were taken; `gDungeon` is NULL.
    Cleared,
    /// The title screen.
    Title,
    /// The main menu.
    Menu,
    /// A value the cartridge never writes.
    Unknown(u8),
}

impl From<u8> for Phase {
    fn from(v: u8) -> Phase {
        match v {
            0 => Phase::Boot,
            1 => Phase::Seeding,
            2 => Phase::Playing,
            3 => Phase::GameOver,
            4 => Phase::Cleared,
            5 => Phase::Title,
            6 => Phase::Menu,
            other => Phase::Unknown(other),
        }
    }
}

/// What the last accepted input did (`addr::LAST_EVENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Nothing yet.
    None,
    /// Moved one tile.
    Moved,
    /// Walked into a wall or a monster: no turn taken.
    Blocked,
    /// Turned in place: no turn taken.
    Turned,
    /// Attacked the faced tile.
    Attacked,
    /// Waited a turn.
    Waited,
    /// Ate an Oran Berry.
    Ate,
    /// Tried to use an item without one: no turn taken.
    NoItem,
    /// Took the stairs.
    Stairs,
    /// Tried the stairs off the stairs: no turn taken.
    NotOnStairs,
    /// Fainted.
    Fainted,
    /// Took the stairs of the last floor.
    Cleared,
    /// A value the cartridge never writes.
    Unknown(u8),
}

impl From<u8> for Event {
    fn from(v: u8) -> Event {
        match v {
            0 => Event::None,
            1 => Event::Moved,
            2 => Event::Blocked,
            3 => Event::Turned,
            4 => Event::Attacked,
            5 => Event::Waited,
            6 => Event::Ate,
            7 => Event::NoItem,
            8 => Event::Stairs,
            9 => Event::NotOnStairs,
            10 => Event::Fainted,
            11 => Event::Cleared,
            other => Event::Unknown(other),
        }
    }
}

/// Frames [`TestCartridge::boot`] taps through the title and menu before
/// giving up (the cartridge needs about 45).
pub const BOOT_FRAME_LIMIT: u32 = 600;

/// Value of the magic word: `"PMDT"` read as a little-endian u32.
pub const MAGIC: u32 = u32::from_le_bytes(*b"PMDT");

fn phase(emu: &Emulator) -> Option<Phase> {
    (emu.read_u32(addr::MAGIC) == Ok(MAGIC))
        .then(|| emu.read_u8(addr::PHASE).ok().map(Phase::from))
        .flatten()
}

/// Resets `emu` (running the cartridge), passes the title and menu, and
/// seeds the run: returns in the seeding phase with `seed` in
/// `gDungeonRngState` and floor 1 not yet generated (a few frames later it
/// is).
pub fn boot_with_seed(emu: &mut Emulator, seed: u32) -> Result<(), BootError> {
    emu.reset();
    TestCartridge.boot(emu)?;
    TestCartridge.write_seed(emu, seed)?;
    Ok(())
}

/// The test cartridge's profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestCartridge;

impl GameProfile for TestCartridge {
    fn code(&self) -> &'static str {
        GAME_CODE
    }

    fn name(&self) -> &'static str {
        "pmd-agent test cartridge"
    }

    fn boot(&self, emu: &mut Emulator) -> Result<SeedScope, BootError> {
        let rhythm = TapRhythm {
            max_frames: BOOT_FRAME_LIMIT,
            ..TapRhythm::default()
        };
        tap_until(emu, rhythm, |emu| phase(emu) == Some(Phase::Seeding))
            .map(|_| SeedScope::WholeEpisode)
            .map_err(|frames| BootError::NoDungeon {
                game: self.name(),
                frames,
                hint: "the cartridge did not reach its seeding phase (a damaged build?)",
            })
    }

    fn seed_scope(&self, emu: &Emulator) -> SeedScope {
        match phase(emu) {
            Some(Phase::Seeding | Phase::Title | Phase::Menu | Phase::Boot) => {
                SeedScope::WholeEpisode
            }
            _ => SeedScope::NextFloor,
        }
    }

    fn write_seed(&self, emu: &mut Emulator, seed: u32) -> Result<(), MemoryError> {
        emu.write_u32(G_DUNGEON_RNG_STATE, seed)
    }

    fn game_over(&self, emu: &Emulator) -> bool {
        phase(emu) == Some(Phase::GameOver)
    }

    fn exit(&self, emu: &Emulator, _took_stairs: bool) -> DungeonExit {
        if phase(emu) == Some(Phase::Cleared) {
            DungeonExit::Cleared
        } else {
            DungeonExit::Left
        }
    }

    /// D-pad to walk; B + d-pad to face, then A; L, Start and Select are
    /// the cartridge's shortcuts for waiting, eating and the stairs.
    fn presses(&self, action: Action) -> Option<Presses> {
        let none = Keys::empty();
        Some(match action {
            Action::Move(d) => [d.keys(), none, none],
            Action::Attack(d) => [d.keys() | Keys::B, none, Keys::A],
            Action::Wait => [Keys::L, none, none],
            Action::UseItem => [Keys::START, none, none],
            Action::TakeStairs => [Keys::SELECT, none, none],
        })
    }

    fn usable_item(&self, id: u8) -> bool {
        id == ORAN_BERRY
    }
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
    /// Leader position mirrored by the cartridge.
    pub leader: (i16, i16),
    /// Phase.
    pub phase: Phase,
    /// What the last input did.
    pub last_event: Event,
    /// Turns on this floor.
    pub floor_turns: u16,
    /// Turns in the run.
    pub total_turns: u32,
    /// RNG state this floor was generated from.
    pub floor_seed: u32,
    /// Monsters defeated in the run.
    pub kills: u8,
    /// Main-menu entry under the cursor.
    pub menu_cursor: u8,
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
            leader: (i16_at(addr::LEADER_X)?, i16_at(addr::LEADER_Y)?),
            phase: Phase::from(emu.read_u8(addr::PHASE)?),
            last_event: Event::from(emu.read_u8(addr::LAST_EVENT)?),
            floor_turns: emu.read_u16(addr::FLOOR_TURNS)?,
            total_turns: emu.read_u32(addr::TOTAL_TURNS)?,
            floor_seed: emu.read_u32(addr::FLOOR_SEED)?,
            kills: emu.read_u8(addr::KILLS)?,
            menu_cursor: emu.read_u8(addr::MENU_CURSOR)?,
        })
    }
}

#[cfg(test)]
mod rom_tests {
    #[test]
    fn bundled_cartridge_is_a_valid_rom() {
        let rom = super::rom().unwrap();
        assert_eq!(rom.game_code(), super::GAME_CODE);
        assert_eq!(rom.title(), "PMD-AGENT");
    }
}
