//! Agent-path overhead: what everything that is not emulation costs on the
//! path users run.
//!
//! The agent side is the [`Runner`]: `envs` environments in lockstep on
//! its rayon pool of `threads` workers, the heuristic policy through the
//! batch-policy seam, checkpoints every 16 steps (fault isolation),
//! observation and mask encoding; once with the recorder off and once with
//! it on (zstd-compressed Arrow batches into a temporary directory). The
//! bare side replays, on as many threads, the very same key presses,
//! frame counts and resets on bare emulators: emulation only. A warm-up
//! run comes first; runs are deterministic, so every side emulates the
//! same frames (checked: the frame totals must agree).

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::BenchError;
use crate::emu::{Keys, Rom};
use crate::env::{Action, Env, EnvConfig};
use crate::policy::{Heuristic, PerEnv};
use crate::procfs::self_cpu_seconds as cpu_seconds;
use crate::rollout::{episode_seed, VecEnvConfig, VecEnvOptions};
use crate::runner::{RecordConfig, Runner, StartPoint};

/// The `overhead` report.
#[derive(Debug, Clone, Serialize)]
pub struct OverheadReport {
    /// Cores of this machine.
    pub cores: usize,
    /// Worker threads of each side.
    pub threads: usize,
    /// Environments.
    pub envs: usize,
    /// Agent steps per side.
    pub steps: u64,
    /// Frames emulated per side.
    pub frames: u64,
    /// Seconds of the bare replay.
    pub raw_seconds: f64,
    /// Frames per second of the bare replay.
    pub raw_fps: f64,
    /// Seconds of the agent path, recorder off.
    pub agent_seconds: f64,
    /// Frames per second of the agent path, recorder off.
    pub agent_fps: f64,
    /// Seconds of the agent path, recorder on.
    pub agent_record_seconds: f64,
    /// Frames per second of the agent path, recorder on.
    pub agent_record_fps: f64,
    /// `agent_fps / raw_fps` (goal ≥ 0.95).
    pub ratio: f64,
    /// `agent_record_fps / raw_fps`.
    pub ratio_record: f64,
    /// CPU seconds (all threads) of the bare replay.
    pub raw_cpu_seconds: f64,
    /// CPU seconds of the agent path, recorder off.
    pub agent_cpu_seconds: f64,
    /// CPU seconds of the agent path, recorder on.
    pub agent_record_cpu_seconds: f64,
    /// `raw_cpu_seconds / agent_cpu_seconds`: the ratio in CPU time, far
    /// less sensitive than wall time to other load on the machine.
    pub cpu_ratio: f64,
    /// The same with the recorder on.
    pub cpu_ratio_record: f64,
}

/// What one environment did, replayed by the bare side.
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// An action and the frames its step took.
    Step(Action, u32),
    /// An episode ended; the next one started with this seed.
    Reset(u32),
}

fn config(envs: usize, threads: usize, seed: u64) -> VecEnvConfig {
    VecEnvConfig {
        envs,
        seed,
        threads: Some(threads),
        ..VecEnvConfig::default()
    }
}

/// What one agent-side run did.
struct AgentRun {
    seconds: f64,
    cpu_seconds: f64,
    steps: u64,
    frames: u64,
    /// Each environment's entries, when asked for.
    logs: Vec<Vec<Entry>>,
}

/// Runs the agent path for `rounds` rounds, logging each environment's
/// entries when `log`.
fn agent(
    rom: &Rom,
    config: VecEnvConfig,
    rounds: u64,
    record: Option<&RecordConfig>,
    log: bool,
) -> Result<AgentRun, BenchError> {
    let policy = Box::new(PerEnv(Heuristic::default()));
    let mut runner = Runner::new(
        rom,
        config,
        &StartPoint::default(),
        policy,
        record,
        VecEnvOptions::default(),
    )?;
    let mut logs = vec![Vec::new(); if log { config.envs } else { 0 }];
    let cpu = cpu_seconds();
    let started = Instant::now();
    for _ in 0..rounds {
        runner.round()?;
        for (i, (entries, (info, action))) in logs
            .iter_mut()
            .zip(runner.vec_env().infos().iter().zip(runner.actions()))
            .enumerate()
        {
            entries.push(Entry::Step(*action, info.frames));
            if info.done() {
                entries.push(Entry::Reset(episode_seed(config.seed, i, info.episode + 1)));
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_seconds() - cpu;
    let stats = runner.stats();
    runner.finish()?;
    Ok(AgentRun {
        seconds,
        cpu_seconds,
        steps: stats.steps,
        frames: stats.frames,
        logs,
    })
}

/// Replays `log` on the bare emulator of `env` (reset to the log's first
/// episode); returns the frames run.
fn bare(env: &mut Env, log: &[Entry]) -> Result<u64, BenchError> {
    let mut frames = 0u64;
    for entry in log {
        match *entry {
            Entry::Step(action, step_frames) => {
                let presses = env.profile().presses(action).unwrap_or([Keys::empty(); 3]);
                let emu = env.emulator_mut();
                let pressed = presses
                    .iter()
                    .rposition(|k| !k.is_empty())
                    .map_or(0, |i| i + 1) as u32;
                for keys in &presses[..pressed.min(step_frames) as usize] {
                    emu.set_keys(*keys);
                    emu.run_frame();
                }
                emu.set_keys(Keys::empty());
                for _ in pressed.min(step_frames)..step_frames {
                    emu.run_frame();
                }
                frames += u64::from(step_frames);
            }
            Entry::Reset(seed) => {
                env.reset(seed)?;
            }
        }
    }
    Ok(frames)
}

/// Runs the suite: `rounds` lockstep rounds of `envs` environments on
/// `threads` workers.
pub fn run(
    rom: &Rom,
    envs: usize,
    threads: usize,
    rounds: u64,
    seed: u64,
) -> Result<OverheadReport, BenchError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config = config(envs, threads, seed);
    // Warm-up (caches, page faults, the pool), then the log of what the
    // agent does (not timed: logging is not part of the agent path).
    agent(rom, config, (rounds / 10).max(10), None, false)?;
    let logged = agent(rom, config, rounds, None, true)?;
    let plain = agent(rom, config, rounds, None, false)?;
    let dir = tempfile::tempdir().map_err(|e| BenchError::Io(e.to_string()))?;
    let recorded = agent(
        rom,
        config,
        rounds,
        Some(&RecordConfig::new(dir.path())),
        false,
    )?;
    let (logs, logged_frames) = (logged.logs, logged.frames);
    let (agent_seconds, steps, frames) = (plain.seconds, plain.steps, plain.frames);
    let (agent_record_seconds, record_frames) = (recorded.seconds, recorded.frames);
    let (agent_cpu_seconds, agent_record_cpu_seconds) = (plain.cpu_seconds, recorded.cpu_seconds);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| BenchError::Io(e.to_string()))?;
    let mut bare_envs = pool.install(|| {
        (0..envs)
            .into_par_iter()
            .map(|i| {
                let mut env = Env::new(rom, EnvConfig::default())?;
                env.reset(episode_seed(seed, i, 0))?;
                Ok(env)
            })
            .collect::<Result<Vec<Env>, BenchError>>()
    })?;
    let raw_cpu = cpu_seconds();
    let started = Instant::now();
    let raw_frames: u64 = pool
        .install(|| {
            bare_envs
                .par_iter_mut()
                .zip(logs.par_iter())
                .map(|(env, log)| bare(env, log))
                .collect::<Result<Vec<u64>, BenchError>>()
        })?
        .iter()
        .sum();
    let raw_seconds = started.elapsed().as_secs_f64();
    let raw_cpu_seconds = cpu_seconds() - raw_cpu;
    if raw_frames != frames || logged_frames != frames || record_frames != frames {
        return Err(BenchError::Io(format!(
            "the sides did not emulate the same frames: agent {frames}, logged {logged_frames}, \
             recorded {record_frames}, bare {raw_frames} (is the run deterministic?)"
        )));
    }
    let fps = |s: f64| if s > 0.0 { frames as f64 / s } else { 0.0 };
    let (raw_fps, agent_fps, agent_record_fps) = (
        fps(raw_seconds),
        fps(agent_seconds),
        fps(agent_record_seconds),
    );
    let ratio = |x: f64| if raw_fps > 0.0 { x / raw_fps } else { 0.0 };
    let cpu_ratio = |agent: f64| {
        if agent > 0.0 {
            raw_cpu_seconds / agent
        } else {
            0.0
        }
    };
    Ok(OverheadReport {
        cores,
        threads,
        envs,
        steps,
        frames,
        raw_seconds,
        raw_fps,
        agent_seconds,
        agent_fps,
        agent_record_seconds,
        agent_record_fps,
        ratio: ratio(agent_fps),
        ratio_record: ratio(agent_record_fps),
        raw_cpu_seconds,
        agent_cpu_seconds,
        agent_record_cpu_seconds,
        cpu_ratio: cpu_ratio(agent_cpu_seconds),
        cpu_ratio_record: cpu_ratio(agent_record_cpu_seconds),
    })
}
