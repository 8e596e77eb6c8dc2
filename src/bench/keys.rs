//! Matched work for comparisons with other emulator frontends: the
//! heuristic agent's exact input, frame by frame, and the speed of our own
//! agent path on the very same run.
//!
//! One episode is played from power-on by the heuristic on one environment
//! with input logging on: the keys of every frame (the title and menu taps
//! included), the frame at which each agent step ends, and the frame
//! after which the dungeon seed was written are exported (`keys.npy`
//! `uint16`, `steps.npy` `uint32`, `meta.json`). `benches/python/`
//! replays them in other frontends. Then the same run is timed through the
//! runner on one worker thread (decode, observation and mask encoding, the
//! policy, fault-isolation checkpoints), in whole passes from power-on
//! after a warm-up pass, and each pass's end state is
//! fingerprinted — the cartridge's frame counter and input hash, and the
//! CRC-32 of all of EWRAM — as the Python sides fingerprint theirs: equal
//! fingerprints prove every side emulated the same frames.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::BenchError;
use crate::cartridge::addr as cart;
use crate::emu::Rom;
use crate::env::{Env, EnvConfig};
use crate::policy::{legal_or_fallback, Heuristic, PerEnv};
use crate::rollout::{episode_seed, VecEnvConfig, VecEnvOptions};
use crate::runner::{Runner, StartPoint};

/// Timed passes continue until at least this much CPU time was used...
const MIN_TIMED_CPU_S: f64 = 3.0;
/// ...and at least this many passes ran...
const MIN_PASSES: u32 = 3;
/// ...but never more than this many.
const MAX_PASSES: u32 = 200;

/// The end state every side must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    /// The cartridge's main-loop frame counter (EWRAM 0x02000004).
    pub frame_counter: u32,
    /// The cartridge's hash of every frame's keys (EWRAM 0x0200000C).
    pub input_hash: u32,
    /// CRC-32 of the whole 256 KiB EWRAM.
    pub ewram_crc32: u32,
}

fn fingerprint(env: &Env) -> Result<Fingerprint, BenchError> {
    let emu = env.emulator();
    let read = |a| {
        emu.read_u32(a)
            .map_err(|e| BenchError::Io(format!("cannot read the cartridge's state: {e}")))
    };
    Ok(Fingerprint {
        frame_counter: read(cart::FRAME)?,
        input_hash: read(cart::INPUT_HASH)?,
        ewram_crc32: crc32fast::hash(emu.ewram()),
    })
}

/// The `keys` report.
#[derive(Debug, Clone, Serialize)]
pub struct KeysReport {
    /// Agent steps recorded (fewer than asked when the episode ended).
    pub steps: u64,
    /// Frames recorded.
    pub frames: u64,
    /// The dungeon seed written.
    pub seed: u32,
    /// Frames from power-on before the seed was written.
    pub seed_after: u32,
    /// Our agent path on one worker thread: steps per second.
    pub steps_per_s: f64,
    /// Steps per second of CPU time (the process's, all threads).
    pub steps_per_cpu_s: f64,
    /// Frames per second.
    pub frames_per_s: f64,
    /// Frames per second of CPU time.
    pub frames_per_cpu_s: f64,
    /// Wall seconds of the timed passes, all together.
    pub seconds: f64,
    /// CPU seconds of the timed passes, all together.
    pub cpu_seconds: f64,
    /// Timed passes over the recorded run (after one warm-up pass).
    pub passes: u32,
    /// The end state, after the recorded run and after the timed run
    /// (they must be equal).
    pub fingerprint: Fingerprint,
}

/// Writes a one-dimensional `.npy` array of little-endian `descr` items.
fn write_npy(path: &Path, descr: &str, len: usize, data: &[u8]) -> Result<(), BenchError> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({len},), }}");
    // magic (6) + version (2) + length (2) + header, padded to 64 with a newline
    let total = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    let mut bytes = Vec::with_capacity(total + data.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    crate::atomic_file::write(path, &bytes)
        .map_err(|e| BenchError::Io(format!("{}: {e}", path.display())))
}

/// Records up to `steps` steps of one heuristic episode (run seed
/// `run_seed`, environment 0) into `out` when given, then times the same
/// run through the runner.
pub fn run(
    rom: &Rom,
    steps: u64,
    run_seed: u64,
    out: Option<&Path>,
) -> Result<KeysReport, BenchError> {
    let seed = episode_seed(run_seed, 0, 0);
    let config = EnvConfig {
        max_episode_steps: None,
        ..EnvConfig::default()
    };
    let heuristic = Heuristic::default();
    // The recording stops before a step that would end the episode (the
    // runner would reset within that step, leaving another end state):
    // when one does, the run is recorded again one step shorter.
    let mut limit = steps;
    let (env, boundaries) = loop {
        let mut env = Env::new(rom, config)?;
        env.emulator_mut().log_inputs(true);
        env.reset(seed)?;
        let mut boundaries: Vec<u32> = Vec::new();
        let mut ended = false;
        for _ in 0..limit {
            let mask = env.action_mask();
            let action = legal_or_fallback(mask, heuristic.decide(env.state(), mask));
            ended = env.step(action)?.done();
            boundaries.push(env.emulator().input_log().len() as u32);
            if ended {
                break;
            }
        }
        if !ended {
            break (env, boundaries);
        }
        limit = boundaries.len() as u64 - 1;
    };
    let recorded = fingerprint(&env)?;
    let keys: Vec<u8> = env
        .emulator()
        .input_log()
        .iter()
        .flat_map(|k| k.bits().to_le_bytes())
        .collect();
    let frames = env.emulator().input_log().len();
    let seed_after = env
        .boot_frames()
        .ok_or_else(|| BenchError::Io("the game was not booted from power-on".into()))?;
    if let Some(dir) = out {
        std::fs::create_dir_all(dir)
            .map_err(|e| BenchError::Io(format!("{}: {e}", dir.display())))?;
        write_npy(&dir.join("keys.npy"), "<u2", frames, &keys)?;
        let ends: Vec<u8> = boundaries.iter().flat_map(|b| b.to_le_bytes()).collect();
        write_npy(&dir.join("steps.npy"), "<u4", boundaries.len(), &ends)?;
        let meta = serde_json::json!({
            "rom_crc32": format!("{:08x}", rom.crc32()),
            "seed": seed, "seed_after": seed_after, "frames": frames,
            "steps": boundaries.len(), "fingerprint": recorded,
        });
        crate::atomic_file::write(&dir.join("meta.json"), meta.to_string().as_bytes())
            .map_err(|e| BenchError::Io(e.to_string()))?;
    }

    // The same run through the runner, on one worker thread: a warm-up
    // pass, then whole passes from power-on (booting is not timed, as on
    // the Python sides) until at least `MIN_TIMED_CPU_S` of CPU time and
    // `MIN_PASSES` passes; figures are totals over the timed passes.
    let vec_config = VecEnvConfig {
        envs: 1,
        seed: run_seed,
        threads: Some(1),
        env: config,
        ..VecEnvConfig::default()
    };
    let (mut seconds, mut cpu_seconds, mut frames_timed, mut passes) = (0.0, 0.0, 0u64, 0u32);
    for pass in 0..=MAX_PASSES {
        let mut runner = Runner::new(
            rom,
            vec_config,
            &StartPoint::default(),
            Box::new(PerEnv(Heuristic::default())),
            None,
            VecEnvOptions::default(),
        )?;
        let (cpu, started) = (crate::procfs::self_cpu_seconds(), Instant::now());
        for _ in 0..boundaries.len() {
            runner.round()?;
        }
        let (wall, used) = (
            started.elapsed().as_secs_f64(),
            crate::procfs::self_cpu_seconds() - cpu,
        );
        let timed = fingerprint(runner.vec_env().env(0))?;
        if timed != recorded {
            return Err(BenchError::Io(format!(
                "the timed run ended elsewhere than the recorded one: {timed:?} vs {recorded:?}"
            )));
        }
        if pass == 0 {
            continue; // warm-up
        }
        seconds += wall;
        cpu_seconds += used;
        frames_timed += runner.stats().frames;
        passes += 1;
        if passes >= MIN_PASSES && cpu_seconds >= MIN_TIMED_CPU_S {
            break;
        }
    }
    let n = (boundaries.len() as u64 * u64::from(passes)) as f64;
    let f = frames_timed as f64;
    let per = |x: f64, s: f64| if s > 0.0 { x / s } else { 0.0 };
    Ok(KeysReport {
        steps: boundaries.len() as u64,
        frames: frames as u64,
        seed,
        seed_after,
        steps_per_s: per(n, seconds),
        steps_per_cpu_s: per(n, cpu_seconds),
        frames_per_s: per(f, seconds),
        frames_per_cpu_s: per(f, cpu_seconds),
        seconds,
        cpu_seconds,
        passes,
        fingerprint: recorded,
    })
}
