//! Getting through title screens and menus from power-on: one paced tap
//! loop shared by every game profile, so the test cartridge's title and
//! continue menu are passed by the very code that passes the real game's.
//!
//! Menus react to newly pressed keys (an edge, not a level), and ignore
//! input while they fade in, so the walker presses a key for a few frames,
//! releases it for a few more, and repeats, checking after every frame
//! whether the target is reached. It gives up after a fixed number of
//! frames: a game that never gets there (a save that continues into the
//! overworld, say) is reported, never waited on forever.

use pmd_mgba::{Emulator, Keys};

/// The rhythm of the taps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapRhythm {
    /// The key tapped.
    pub key: Keys,
    /// Frames the key is held.
    pub hold: u32,
    /// Frames it is released before the next tap.
    pub release: u32,
    /// Frames after which the walk gives up.
    pub max_frames: u32,
}

impl Default for TapRhythm {
    fn default() -> Self {
        TapRhythm {
            key: Keys::A,
            hold: 2,
            release: 8,
            max_frames: 3600,
        }
    }
}

/// Taps `rhythm.key` from the current state until `reached(emu)` holds
/// after a frame; returns the frames run, or `Err(frames)` when
/// `rhythm.max_frames` pass first. Keys are released on return.
pub fn tap_until(
    emu: &mut Emulator,
    rhythm: TapRhythm,
    mut reached: impl FnMut(&Emulator) -> bool,
) -> Result<u32, u32> {
    let period = (rhythm.hold + rhythm.release).max(1);
    let mut frames = 0;
    let result = loop {
        if reached(emu) {
            break Ok(frames);
        }
        if frames >= rhythm.max_frames {
            break Err(frames);
        }
        let keys = if frames % period < rhythm.hold {
            rhythm.key
        } else {
            Keys::empty()
        };
        emu.set_keys(keys);
        emu.run_frame();
        frames += 1;
    };
    emu.set_keys(Keys::empty());
    result
}
