//! `bench socket`: the same ROM, seed and heuristic policy through three
//! designs in one run —
//!
//! * `lua`: the mGBA-http protocol served by `benches/socket/mgba-http-server.lua`
//!   inside mGBA's own Lua engine (`pmd-agent script`), one process per
//!   environment, driven over TCP by [`BaselineAgent`] (the original
//!   agent's per-step sequence);
//! * `rust_server`: the same client against `pmd-agent serve-socket`, one
//!   process per environment;
//! * `inprocess`: [`Env`] in this process, one thread per environment.
//!
//! Per-operation latencies (state read, frame fetch, button press), agent
//! steps/s, emulated frames/s, CPU seconds per step (client and servers)
//! and peak RSS (the emulator side: the server processes, or this process
//! for `inprocess`). Optionally the original agent's kind of client — a
//! Python program parsing replies the way the original does — against
//! both servers.
//!
//! By job: this file holds the configuration, the reports, the sampling
//! of one environment's run (`EnvRun`) and the run of the whole suite;
//! `inprocess` the in-process design, `server` spawning the server
//! processes, `remote` driving them over their sockets (the baseline agent
//! and the original-style client). The plot is the CLI's.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::BenchError;
use crate::emu::Rom;
use crate::env::{Env, EnvConfig};
use crate::game::{profile_for, Action, DungeonState, DungeonView};
use crate::pacing::Pace;
use crate::policy::{legal_or_fallback, Heuristic};
use crate::socket::baseline::{BaselineAgent, StepTimes};
use crate::socket::Client;

mod inprocess;
mod remote;
mod server;

use crate::procfs::cpu_seconds;
pub use inprocess::{inprocess_path, rgb_into, Rendering};
use remote::{original_client, socket_path};
pub use server::{ServerKind, ServerProcess};

/// How the suite runs.
#[derive(Debug, Clone)]
pub struct SocketBenchConfig {
    /// The game (a ROM with a RAM map).
    pub rom: Rom,
    /// `--rom` as given, passed on to the server processes (`None`: the
    /// bundled cartridge).
    pub rom_path: Option<PathBuf>,
    /// Agent steps per environment.
    pub steps: u64,
    /// Environments (one server process each for the socket designs).
    pub envs: usize,
    /// Dungeon seed of the start state.
    pub seed: u32,
    /// The `pmd-agent` binary that runs the servers.
    pub exe: PathBuf,
    /// The Lua server script.
    pub lua_server: PathBuf,
    /// A Python 3 interpreter and the original-style client script, when
    /// that comparison is wanted.
    pub python: Option<(PathBuf, PathBuf)>,
    /// Steps of the original-style client.
    pub python_steps: u64,
    /// Scratch directory (screenshots, the start state).
    pub work_dir: PathBuf,
    /// Frame pacing of the server processes (in-process is never paced).
    pub server_pace: Pace,
}

/// Median and 99th percentile, milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

impl Latency {
    /// Percentiles of `samples` (nearest rank).
    pub fn of(samples: &mut [Duration]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1].as_secs_f64() * 1e3
        };
        Latency {
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }
}

/// One design's figures.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PathReport {
    /// Environments.
    pub envs: usize,
    /// Agent steps, all environments.
    pub steps: u64,
    /// Wall-clock seconds of the stepping.
    pub seconds: f64,
    /// Agent steps per second, all environments.
    pub steps_per_s: f64,
    /// Emulated frames per second, all environments (for the servers: the
    /// frame counter's advance seen by the client).
    pub frames_per_s: f64,
    /// Reading and decoding the game state.
    pub state_read: Latency,
    /// Getting the current frame as RGB pixels.
    pub frame_fetch: Latency,
    /// Pressing the chosen button until the game has it (in-process: the
    /// whole `Env::step`, i.e. until the turn is over).
    pub button_press: Latency,
    /// A whole step.
    pub step: Latency,
    /// CPU seconds per agent step, client and emulator together.
    pub cpu_seconds_per_step: f64,
    /// Peak resident memory of the emulator side, bytes.
    pub peak_rss_bytes: u64,
    /// RAM bytes transferred (socket) or decoded (in-process) per step.
    pub ram_bytes_per_step: f64,
    /// Share of steps whose state decoded as a dungeon.
    pub decoded_fraction: f64,
}

/// Throughput and latency of the original-style (Python) client.
#[derive(Debug, Clone, Default, Serialize, PartialEq, serde::Deserialize)]
pub struct OriginalClientReport {
    /// Steps run.
    pub steps: u64,
    /// Steps per second.
    pub steps_per_s: f64,
    /// Median state read (request and parse), ms.
    pub state_read_p50_ms: f64,
    /// Median frame fetch (request, file read, inflate), ms.
    pub frame_fetch_p50_ms: f64,
    /// Median tap and frame wait, ms.
    pub button_press_p50_ms: f64,
}

/// The original-style client against both servers.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OriginalClients {
    /// Against the Lua server.
    pub lua: OriginalClientReport,
    /// Against our server.
    pub rust_server: OriginalClientReport,
}

/// Ratios; higher means the newer design is faster.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Ratios {
    /// Lua state read p50 ÷ in-process state read p50.
    pub state_read_p50: f64,
    /// Lua frame fetch p50 ÷ in-process frame fetch p50.
    pub frame_fetch_p50: f64,
    /// In-process steps/s ÷ Lua steps/s.
    pub steps_per_s: f64,
    /// Our server's steps/s ÷ the Lua server's, same lean client.
    pub rust_server_vs_lua_steps_per_s: f64,
    /// The same with the original-style client, when it ran.
    pub rust_server_vs_lua_original_client_steps_per_s: Option<f64>,
}

/// The suite's report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SocketReport {
    /// The Lua server in mGBA.
    pub lua: PathReport,
    /// Our server.
    pub rust_server: PathReport,
    /// In-process, every frame rendered (as the servers and `VecEnv`
    /// with frames do).
    pub inprocess: PathReport,
    /// In-process, rendering only the frame the agent looks at: each step
    /// runs unrendered, then one more frame is rendered for the frame
    /// fetch (what an in-process design can do and a server cannot know).
    pub inprocess_render_observed: PathReport,
    /// Ratios.
    pub ratio: Ratios,
    /// The original-style client, when Python was available.
    pub original_client: Option<OriginalClients>,
}

/// Why the socket suite failed.
#[derive(Debug, thiserror::Error)]
pub enum SocketBenchError {
    /// The in-process side failed.
    #[error(transparent)]
    Bench(#[from] BenchError),
    /// A server or client failed.
    #[error("{0}")]
    Socket(String),
}

fn socket_err(context: &str) -> impl Fn(String) -> SocketBenchError + '_ {
    move |e| SocketBenchError::Socket(format!("{context}: {e}"))
}

/// Runs the three designs (and the original-style client) once.
pub fn run(config: &SocketBenchConfig) -> Result<SocketReport, SocketBenchError> {
    if config.envs == 0 || config.steps == 0 {
        return Err(SocketBenchError::Socket(
            "--envs and --steps must be at least 1".into(),
        ));
    }
    std::fs::create_dir_all(&config.work_dir)
        .map_err(|e| socket_err("work directory")(e.to_string()))?;
    let start_state = write_start_state(config)?;
    let inprocess = inprocess_path(
        &config.rom,
        config.seed,
        config.envs,
        config.steps,
        Rendering::EveryFrame,
    )?;
    let inprocess_render_observed = inprocess_path(
        &config.rom,
        config.seed,
        config.envs,
        config.steps,
        Rendering::ObservedOnly,
    )?;
    let lua = socket_path(config, ServerKind::Lua, &start_state)?;
    let rust_server = socket_path(config, ServerKind::Rust, &start_state)?;
    let original_client = match &config.python {
        Some(python) => Some(OriginalClients {
            lua: original_client(config, python, ServerKind::Lua, &start_state)?,
            rust_server: original_client(config, python, ServerKind::Rust, &start_state)?,
        }),
        None => None,
    };
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let ratio = Ratios {
        state_read_p50: div(lua.state_read.p50_ms, inprocess.state_read.p50_ms),
        frame_fetch_p50: div(lua.frame_fetch.p50_ms, inprocess.frame_fetch.p50_ms),
        steps_per_s: div(inprocess.steps_per_s, lua.steps_per_s),
        rust_server_vs_lua_steps_per_s: div(rust_server.steps_per_s, lua.steps_per_s),
        rust_server_vs_lua_original_client_steps_per_s: original_client
            .as_ref()
            .map(|o| div(o.rust_server.steps_per_s, o.lua.steps_per_s)),
    };
    Ok(SocketReport {
        lua,
        rust_server,
        inprocess,
        inprocess_render_observed,
        ratio,
        original_client,
    })
}

/// The seeded start as an mGBA savestate file both servers load.
fn write_start_state(config: &SocketBenchConfig) -> Result<PathBuf, SocketBenchError> {
    let mut env = Env::new(&config.rom, EnvConfig::default()).map_err(BenchError::from)?;
    env.reset(config.seed).map_err(BenchError::from)?;
    let bytes = env
        .emulator_mut()
        .export_mgba_state_file()
        .map_err(|e| socket_err("start state")(e.to_string()))?;
    let path = config.work_dir.join("start.ss0");
    crate::atomic_file::write(&path, &bytes)
        .map_err(|e| socket_err("start state")(e.to_string()))?;
    Ok(path)
}

// ---------------------------------------------------------------------------
// In-process

#[derive(Debug, Default)]
struct EnvRun {
    state_read: Vec<Duration>,
    frame_fetch: Vec<Duration>,
    press: Vec<Duration>,
    step: Vec<Duration>,
    frames: u64,
    ram_bytes: u64,
    decoded: u64,
}

impl EnvRun {
    fn merge(&mut self, other: EnvRun) {
        self.state_read.extend(other.state_read);
        self.frame_fetch.extend(other.frame_fetch);
        self.press.extend(other.press);
        self.step.extend(other.step);
        self.frames += other.frames;
        self.ram_bytes += other.ram_bytes;
        self.decoded += other.decoded;
    }

    fn record(&mut self, t: &StepTimes) {
        self.state_read.push(t.state_read);
        self.frame_fetch.push(t.frame_fetch);
        self.press.push(t.press);
        self.step.push(t.total);
        self.ram_bytes += t.ram_bytes as u64;
        self.decoded += u64::from(t.decoded);
    }

    fn report(mut self, envs: usize, seconds: f64, cpu: f64, peak_rss: u64) -> PathReport {
        let steps = self.step.len() as u64;
        let per_s = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let per_step = |x: f64| if steps > 0 { x / steps as f64 } else { 0.0 };
        PathReport {
            envs,
            steps,
            seconds,
            steps_per_s: per_s(steps),
            frames_per_s: per_s(self.frames),
            state_read: Latency::of(&mut self.state_read),
            frame_fetch: Latency::of(&mut self.frame_fetch),
            button_press: Latency::of(&mut self.press),
            step: Latency::of(&mut self.step),
            cpu_seconds_per_step: per_step(cpu),
            peak_rss_bytes: peak_rss,
            ram_bytes_per_step: per_step(self.ram_bytes as f64),
            decoded_fraction: per_step(self.decoded as f64),
        }
    }
}

/// Peak resident memory (`VmHWM`) of a process (`None`: this one), bytes.
pub fn peak_rss(pid: Option<u32>) -> Option<u64> {
    crate::procfs::status_kib(pid, "VmHWM:").map(|k| k * 1024)
}

/// Resets this process's peak resident memory to its current size
/// (Linux's `clear_refs`; ignored where unsupported), so the in-process
/// design's peak is its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let l = Latency::of(&mut samples);
        assert_eq!((l.p50_ms, l.p99_ms), (50.0, 99.0));
        let mut one = vec![Duration::from_micros(1500)];
        assert_eq!(Latency::of(&mut one).p99_ms, 1.5);
        assert_eq!(Latency::of(&mut []), Latency::default());
    }

    #[test]
    fn cpu_and_memory_of_this_process_are_readable() {
        assert!(cpu_seconds(None).is_some_and(|s| s >= 0.0));
        assert!(peak_rss(None).is_some_and(|b| b > 1 << 20));
        assert!(cpu_seconds(Some(u32::MAX)).is_none());
    }
}
