//! The profile of *Pokémon Mystery Dungeon: Red Rescue Team* (US, `B24E`).
//!
//! Nothing here has been verified on a retail ROM (the project has none):
//! the RAM map comes from the public decompilation
//! (`shared/reference/pmd-red-ram.md`), the controls from the game's
//! conventions. What is known to be missing is said so: waiting, items
//! and the stairs go through the game's menus, which are not navigated,
//! so those actions are illegal in every state here.

use super::menu::{tap_until, TapRhythm};
use super::profile::{BootError, GameProfile, SeedScope};
use super::{Action, DungeonView, Presses};
use pmd_mgba::{Emulator, Keys};

/// Frames of paced taps from power-on before the boot gives up (one
/// minute of game time: the intro, the title, the main menu, "continue").
pub const BOOT_FRAME_LIMIT: u32 = 3600;

/// The US retail game's profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct PmdRedUs;

fn in_live_dungeon(emu: &Emulator) -> bool {
    DungeonView::of(emu).is_ok_and(|v| v.turn_ready())
}

impl GameProfile for PmdRedUs {
    fn code(&self) -> &'static str {
        "B24E"
    }

    fn name(&self) -> &'static str {
        "Pokémon Mystery Dungeon: Red Rescue Team (US)"
    }

    /// Taps A through the intro, the title and the main menu ("Continue"
    /// is its default entry) until the decoder sees a dungeon ready for
    /// input: that happens when the battery save continues inside a
    /// dungeon (a quicksave). The floor then already exists, so the seed
    /// decides only the later floors.
    fn boot(&self, emu: &mut Emulator) -> Result<SeedScope, BootError> {
        let rhythm = TapRhythm {
            max_frames: BOOT_FRAME_LIMIT,
            ..TapRhythm::default()
        };
        tap_until(emu, rhythm, in_live_dungeon)
            .map(|_| SeedScope::NextFloor)
            .map_err(|frames| BootError::NoDungeon {
                game: self.name(),
                frames,
                hint: "start from a savestate taken inside a dungeon (--state FILE, made with \
                       mGBA's File > Save State to File, or `pmd-agent inspect --write-state`), \
                       or a battery save quicksaved inside one",
            })
    }

    fn seed_scope(&self, emu: &Emulator) -> SeedScope {
        if DungeonView::of(emu).is_ok() {
            SeedScope::NextFloor
        } else {
            SeedScope::WholeEpisode
        }
    }

    /// D-pad to walk; to attack, the direction (which turns the leader
    /// towards a monster that blocks the way) and then A. Waiting, items
    /// and stairs need menus: unsupported.
    fn presses(&self, action: Action) -> Option<Presses> {
        let none = Keys::empty();
        match action {
            Action::Move(d) => Some([d.keys(), none, none]),
            Action::Attack(d) => Some([d.keys(), none, Keys::A]),
            Action::Wait | Action::UseItem | Action::TakeStairs => None,
        }
    }

    fn usable_item(&self, _id: u8) -> bool {
        false
    }
}
