//! Agent-loop overhead: the heuristic agent plays `steps` steps on one
//! environment (decode, observation encoding, policy, step bookkeeping),
//! then the exact same button presses and frame counts are replayed on a
//! bare emulator from the same start (emulation only). Same ROM, same
//! seed, same render setting (off), one thread: the ratio of the two
//! frame rates is the cost of everything that is not emulation.

use std::time::Instant;

use serde::Serialize;

use super::BenchError;
use crate::emu::{Keys, Rom};
use crate::env::{Action, Env, EnvConfig};
use crate::policy::Heuristic;
use crate::rollout::obs;

/// What the agent did, replayed by the bare side.
enum Entry {
    /// An action and the frames its step took.
    Step(Action, u32),
    /// An episode ended; the next one started with this seed.
    Reset(u32),
}

/// The `overhead` report.
#[derive(Debug, Clone, Serialize)]
pub struct OverheadReport {
    /// Frames per second of the bare replay.
    pub raw_fps: f64,
    /// Frames per second of the agent loop.
    pub agent_fps: f64,
    /// `agent_fps / raw_fps` (goal ≥ 0.95).
    pub ratio: f64,
    /// Frames run by each side.
    pub frames: u64,
    /// Agent steps.
    pub steps: u64,
}

/// Runs the suite.
pub fn run(rom: &Rom, steps: u64, seed: u32) -> Result<OverheadReport, BenchError> {
    let mut env = Env::new(rom, EnvConfig::default())?;
    env.reset(seed)?;
    let start = env.snapshot();
    let policy = Heuristic::default();
    let mut features = vec![0.0f32; obs::FEATURES];
    let mut log: Vec<Entry> = Vec::with_capacity(steps as usize);
    let mut episode_seed = seed;

    let t = Instant::now();
    for _ in 0..steps {
        obs::encode(env.state(), env.floor_turns(), &mut features);
        let action = policy.decide(env.state());
        let result = env.step(action)?;
        log.push(Entry::Step(action, result.frames));
        if result.done {
            // Both sides pay for the same resets.
            episode_seed = episode_seed.wrapping_add(1);
            env.reset(episode_seed)?;
            log.push(Entry::Reset(episode_seed));
        }
    }
    let agent_seconds = t.elapsed().as_secs_f64();
    let frames: u64 = log
        .iter()
        .map(|e| match e {
            Entry::Step(_, f) => u64::from(*f),
            Entry::Reset(_) => 0,
        })
        .sum();

    env.restore(&start)?;
    let t = Instant::now();
    for entry in &log {
        match *entry {
            Entry::Step(action, step_frames) => {
                let emu = env.emulator_mut();
                let presses = action.presses();
                let pressed = presses
                    .iter()
                    .rposition(|k| !k.is_empty())
                    .map_or(0, |i| i + 1);
                for keys in &presses[..pressed] {
                    emu.set_keys(*keys);
                    emu.run_frame();
                }
                emu.set_keys(Keys::empty());
                for _ in pressed as u32..step_frames {
                    emu.run_frame();
                }
            }
            Entry::Reset(seed) => {
                env.reset(seed)?;
            }
        }
    }
    let raw_seconds = t.elapsed().as_secs_f64();

    let fps = |s: f64| if s > 0.0 { frames as f64 / s } else { 0.0 };
    let (raw_fps, agent_fps) = (fps(raw_seconds), fps(agent_seconds));
    Ok(OverheadReport {
        raw_fps,
        agent_fps,
        ratio: if raw_fps > 0.0 {
            agent_fps / raw_fps
        } else {
            0.0
        },
        frames,
        steps,
    })
}
