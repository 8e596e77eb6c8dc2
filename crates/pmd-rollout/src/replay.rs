//! Re-simulating a recorded episode from its seed and actions (runs are
//! deterministic) and writing what the screen showed as an animated GIF.

use std::path::Path;

use crate::record::EpisodeRecord;
use pmd_game::env::{Env, EnvConfig, EnvError};
use pmd_mgba::{Rom, SCREEN_HEIGHT, SCREEN_WIDTH};

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The environment failed.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The re-simulation went elsewhere than the recording.
    #[error("replay diverged at step {step}: recorded floor {rec_floor} hp {rec_hp} at ({rec_x}, {rec_y}), replayed floor {floor} hp {hp} at ({x}, {y}); same ROM and start state?")]
    Diverged {
        /// Step index.
        step: usize,
        /// Recorded floor.
        rec_floor: u8,
        /// Recorded HP.
        rec_hp: i16,
        /// Recorded x.
        rec_x: u8,
        /// Recorded y.
        rec_y: u8,
        /// Replayed floor.
        floor: u8,
        /// Replayed HP.
        hp: i16,
        /// Replayed x.
        x: u8,
        /// Replayed y.
        y: u8,
    },
    /// Writing the GIF failed.
    #[error("{path}: {reason}")]
    Gif {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Replays `steps` from `seed` (and the start savestate, if the run had
/// one), checking every step against the recording; returns the screen
/// after reset and after each step.
pub fn replay(
    rom: &Rom,
    start_state: Option<&[u8]>,
    seed: u32,
    steps: &[EpisodeRecord],
) -> Result<Vec<Vec<u32>>, ReplayError> {
    let mut env = Env::new(
        rom,
        EnvConfig {
            render: true,
            // the recording decides where the episode ends
            max_episode_steps: None,
            ..EnvConfig::default()
        },
    )?;
    if let Some(bytes) = start_state {
        env.start_from_state_file(bytes)?;
    }
    env.reset(seed)?;
    let mut frames = vec![env.emulator().frame().to_vec()];
    // A rolled-back step left the environment as it was: skip it.
    for (i, rec) in steps.iter().filter(|r| !r.rolled_back).enumerate() {
        let r = env.step(rec.action)?;
        let s = r.state;
        if (s.floor, s.hp, s.x, s.y) != (rec.floor, rec.hp, rec.x, rec.y) {
            return Err(ReplayError::Diverged {
                step: i,
                rec_floor: rec.floor,
                rec_hp: rec.hp,
                rec_x: rec.x,
                rec_y: rec.y,
                floor: s.floor,
                hp: s.hp,
                x: s.x,
                y: s.y,
            });
        }
        frames.push(env.emulator().frame().to_vec());
        if r.done() {
            break;
        }
    }
    Ok(frames)
}

/// Writes frames (240x160 `0x00BBGGRR`) as an animated GIF, `delay_cs`
/// hundredths of a second each, atomically.
pub fn write_gif(frames: &[Vec<u32>], path: &Path, delay_cs: u16) -> Result<(), ReplayError> {
    let err = |reason: String| ReplayError::Gif {
        path: path.display().to_string(),
        reason,
    };
    let bytes = encode_gif(frames, delay_cs).map_err(|e| match e {
        ReplayError::Gif { reason, .. } => err(reason),
        other => other,
    })?;
    pmd_util::atomic_file::write(path, &bytes).map_err(|e| err(e.to_string()))
}

/// Frames (240x160 `0x00BBGGRR`) as an animated GIF in memory.
pub fn encode_gif(frames: &[Vec<u32>], delay_cs: u16) -> Result<Vec<u8>, ReplayError> {
    let err = |reason: String| ReplayError::Gif {
        path: "(memory)".to_owned(),
        reason,
    };
    let mut bytes = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut bytes, SCREEN_WIDTH as u16, SCREEN_HEIGHT as u16, &[])
                .map_err(|e| err(e.to_string()))?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(|e| err(e.to_string()))?;
        let mut rgb = Vec::with_capacity(SCREEN_WIDTH * SCREEN_HEIGHT * 3);
        for frame in frames {
            pmd_mgba::screenshot::frame_to_rgb(frame, &mut rgb);
            let mut f =
                gif::Frame::from_rgb_speed(SCREEN_WIDTH as u16, SCREEN_HEIGHT as u16, &rgb, 10);
            f.delay = delay_cs;
            encoder.write_frame(&f).map_err(|e| err(e.to_string()))?;
        }
    }
    Ok(bytes)
}
