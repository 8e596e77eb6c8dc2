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

/// Which frames the in-process design renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// Every frame, as the servers do.
    EveryFrame,
    /// Only one frame per step, the one the agent fetches.
    ObservedOnly,
}

/// The in-process design: `envs` threads, each an [`Env`] played by the
/// heuristic for `steps` steps. Kept in one function so it can be
/// re-pointed at another rollout API.
pub fn inprocess_path(
    rom: &Rom,
    seed: u32,
    envs: usize,
    steps: u64,
    rendering: Rendering,
) -> Result<PathReport, BenchError> {
    reset_peak_rss();
    let cpu_before = cpu_seconds(None);
    let started = Instant::now();
    let results: Vec<Result<EnvRun, BenchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..envs)
            .map(|i| {
                scope.spawn(move || {
                    inprocess_env(rom, seed.wrapping_add(i as u32), steps, rendering)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(BenchError::NoRss)))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(None).map(|after| after - cpu_before.unwrap_or(after));
    let mut all = EnvRun::default();
    for run in results {
        all.merge(run?);
    }
    let peak = peak_rss(None).unwrap_or(0);
    Ok(all.report(envs, seconds, cpu.unwrap_or(0.0), peak))
}

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

fn inprocess_env(
    rom: &Rom,
    seed: u32,
    steps: u64,
    rendering: Rendering,
) -> Result<EnvRun, BenchError> {
    let config = EnvConfig {
        render: rendering == Rendering::EveryFrame,
        ..EnvConfig::default()
    };
    let mut env = Env::new(rom, config)?;
    env.reset(seed)?;
    let policy = Heuristic::default();
    let mut state = DungeonState::new();
    let mut rgb = vec![0u8; crate::emu::SCREEN_WIDTH * crate::emu::SCREEN_HEIGHT * 3];
    let mut run = EnvRun::default();
    let mut episode = 0u32;
    for _ in 0..steps {
        let t0 = Instant::now();
        // The state read: the decoder over live EWRAM (what the socket
        // client does over received bytes).
        let decoded = DungeonView::of(env.emulator())
            .and_then(|view| state.decode(&view))
            .is_ok();
        let t1 = Instant::now();
        if rendering == Rendering::ObservedOnly {
            // The game waits for input; one more frame, drawn.
            let emu = env.emulator_mut();
            emu.set_rendering(true);
            emu.run_frame();
            emu.set_rendering(false);
            run.frames += 1;
        }
        rgb_into(env.emulator().frame(), &mut rgb);
        // The pixels are the output: without this the compiler may drop
        // the conversion, since nothing here reads them.
        std::hint::black_box(&mut rgb);
        let t2 = Instant::now();
        let action = if decoded {
            legal_or_fallback(env.action_mask(), policy.decide(&state, env.action_mask()))
        } else {
            Action::Wait
        };
        let t3 = Instant::now();
        let result = env.step(action)?;
        let t4 = Instant::now();
        run.record(&StepTimes {
            state_read: t1 - t0,
            frame_fetch: t2 - t1,
            press: t4 - t3,
            total: t4 - t0,
            action,
            ram_bytes: crate::game::ram_map::dungeon::SIZE,
            decoded,
        });
        run.frames += u64::from(result.frames);
        if result.done() {
            episode += 1;
            env.reset(seed.wrapping_add(episode.wrapping_mul(7919)))?;
        }
    }
    Ok(run)
}

/// The framebuffer (`0x00BBGGRR` pixels) as packed RGB into a buffer of
/// exactly three bytes per pixel: what the socket client gets from its
/// PNG, without the PNG.
pub fn rgb_into(frame: &[u32], out: &mut [u8]) {
    // Four pixels (the low three bytes of each word) make three words.
    let mut quads = out.chunks_exact_mut(12).zip(frame.chunks_exact(4));
    for (dst, px) in &mut quads {
        let p = |i: usize| px[i] & 0x00FF_FFFF;
        let words = [
            p(0) | p(1) << 24,
            p(1) >> 8 | p(2) << 16,
            p(2) >> 16 | p(3) << 8,
        ];
        for (d, w) in dst.chunks_exact_mut(4).zip(words) {
            d.copy_from_slice(&w.to_le_bytes());
        }
    }
    let done = frame.len() / 4 * 4;
    for (rgb, &pixel) in out[done * 3..].chunks_exact_mut(3).zip(&frame[done..]) {
        rgb.copy_from_slice(&pixel.to_le_bytes()[..3]);
    }
}

// ---------------------------------------------------------------------------
// Socket designs

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// `mgba-http-server.lua` in `pmd-agent script`.
    Lua,
    /// `pmd-agent serve-socket`.
    Rust,
}

/// A server child process, killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its screenshot directory.
    pub dir: PathBuf,
}

impl ServerProcess {
    /// Starts one server and waits until it accepts connections.
    pub fn spawn(
        config: &SocketBenchConfig,
        kind: ServerKind,
        index: usize,
    ) -> Result<ServerProcess, SocketBenchError> {
        let dir = config.work_dir.join(format!(
            "{}-{index}",
            match kind {
                ServerKind::Lua => "lua",
                ServerKind::Rust => "rust",
            }
        ));
        std::fs::create_dir_all(&dir).map_err(|e| socket_err("server directory")(e.to_string()))?;
        let port = free_port().map_err(|e| socket_err("free port")(e.to_string()))?;
        let mut command = Command::new(&config.exe);
        match kind {
            ServerKind::Lua => {
                command
                    .arg("script")
                    .arg(&config.lua_server)
                    .env("MGBA_HTTP_PORT", port.to_string())
                    .env("MGBA_HTTP_BIND", "127.0.0.1");
            }
            ServerKind::Rust => {
                command
                    .arg("serve-socket")
                    .arg("--port")
                    .arg(port.to_string())
                    .arg("--screenshot-dir")
                    .arg(&dir);
            }
        }
        if let Some(rom) = &config.rom_path {
            command.arg("--rom").arg(rom);
        }
        if config.server_pace == Pace::Realtime {
            command.args(["--pace", "realtime"]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command
            .spawn()
            .map_err(|e| socket_err("starting a server")(e.to_string()))?;
        // Wait for its "listening" line, then drain the rest of its output
        // (the Lua server logs every request, as the original does).
        let stdout = child.stdout.take();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                let mut told = false;
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    if !told && line.contains("listening") {
                        let _ = ready_tx.send(());
                        told = true;
                    }
                    line.clear();
                }
            });
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = ServerProcess { child, addr, dir };
        if ready_rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let status = server.child.try_wait().ok().flatten();
            return Err(SocketBenchError::Socket(format!(
                "{kind:?} server did not start (exit status {status:?})"
            )));
        }
        Ok(server)
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn socket_path(
    config: &SocketBenchConfig,
    kind: ServerKind,
    start_state: &Path,
) -> Result<PathReport, SocketBenchError> {
    let profile =
        profile_for(config.rom.game_code()).map_err(|e| socket_err("game")(e.to_string()))?;
    let servers = (0..config.envs)
        .map(|i| ServerProcess::spawn(config, kind, i))
        .collect::<Result<Vec<_>, _>>()?;
    // Connect and load the start state before the clock starts.
    let mut agents = Vec::with_capacity(servers.len());
    for server in &servers {
        let state = stage_start_state(kind, server, start_state)?;
        let client = Client::connect(server.addr, Duration::from_secs(10))
            .map_err(|e| socket_err("connect")(e.to_string()))?;
        let shot = server.dir.join("frame.png");
        let shot_request = match kind {
            ServerKind::Lua => shot.to_string_lossy().into_owned(),
            ServerKind::Rust => "frame.png".to_string(),
        };
        let mut agent = BaselineAgent::new(client, profile, shot_request, shot);
        agent
            .client()
            .ok(&format!("core.loadStateFile,{state}"))
            .map_err(|e| socket_err("loading the start state")(e.to_string()))?;
        agents.push((agent, state));
    }
    let pids: Vec<u32> = servers.iter().map(ServerProcess::pid).collect();
    let server_cpu_before: f64 = pids.iter().filter_map(|&p| cpu_seconds(Some(p))).sum();
    let self_cpu_before = cpu_seconds(None);
    let steps = config.steps;
    let started = Instant::now();
    let results: Vec<Result<EnvRun, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = agents
            .iter_mut()
            .map(|(agent, state)| scope.spawn(move || socket_env(agent, state, steps)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("client thread panicked".into()))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let self_cpu = cpu_seconds(None).map(|a| a - self_cpu_before.unwrap_or(a));
    let server_cpu: f64 = pids.iter().filter_map(|&p| cpu_seconds(Some(p))).sum();
    let peak: u64 = pids.iter().filter_map(|&p| peak_rss(Some(p))).sum();
    let mut all = EnvRun::default();
    for run in results {
        all.merge(run.map_err(socket_err(match kind {
            ServerKind::Lua => "lua",
            ServerKind::Rust => "rust server",
        }))?);
    }
    let cpu = self_cpu.unwrap_or(0.0) + (server_cpu - server_cpu_before).max(0.0);
    drop(servers);
    Ok(all.report(config.envs, seconds, cpu, peak))
}

/// Puts the start state where the server may read it; returns the path to
/// send.
fn stage_start_state(
    kind: ServerKind,
    server: &ServerProcess,
    start_state: &Path,
) -> Result<String, SocketBenchError> {
    let copy = server.dir.join("start.ss0");
    std::fs::copy(start_state, &copy).map_err(|e| socket_err("start state")(e.to_string()))?;
    Ok(match kind {
        ServerKind::Lua => copy.to_string_lossy().into_owned(),
        ServerKind::Rust => "start.ss0".to_string(),
    })
}

fn socket_env(agent: &mut BaselineAgent, state: &str, steps: u64) -> Result<EnvRun, String> {
    let mut run = EnvRun::default();
    let mut last_frame: Option<u64> = None;
    for _ in 0..steps {
        let times = agent.step().map_err(|e| e.to_string())?;
        run.record(&times);
        let frame = agent.last_frame();
        if let (Some(last), Some(now)) = (last_frame, frame) {
            run.frames += if now >= last { now - last } else { now };
        }
        last_frame = frame;
        let fainted = agent.state().leader().is_none_or(|l| l.hp <= 0);
        if !times.decoded || fainted {
            // Episode over (or never started): back to the start, as the
            // in-process design resets.
            agent
                .client()
                .ok(&format!("core.loadStateFile,{state}"))
                .map_err(|e| e.to_string())?;
            last_frame = None;
        }
    }
    Ok(run)
}

fn original_client(
    config: &SocketBenchConfig,
    (python, script): &(PathBuf, PathBuf),
    kind: ServerKind,
    start_state: &Path,
) -> Result<OriginalClientReport, SocketBenchError> {
    let server = ServerProcess::spawn(config, kind, 99)?;
    let state = stage_start_state(kind, &server, start_state)?;
    let shot = server.dir.join("frame.png");
    let shot_request = match kind {
        ServerKind::Lua => shot.to_string_lossy().into_owned(),
        ServerKind::Rust => "frame.png".to_string(),
    };
    let output = Command::new(python)
        .arg(script)
        .arg("bench")
        .arg("--port")
        .arg(server.addr.port().to_string())
        .arg("--steps")
        .arg(config.python_steps.to_string())
        .arg("--shot-request")
        .arg(&shot_request)
        .arg("--shot-path")
        .arg(&shot)
        .arg("--state")
        .arg(&state)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| socket_err("python client")(e.to_string()))?;
    drop(server);
    if !output.status.success() {
        return Err(SocketBenchError::Socket(format!(
            "python client failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| socket_err("python client report")(e.to_string()))
}

// ---------------------------------------------------------------------------
// /proc

use crate::procfs::cpu_seconds;

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
    fn rgb_matches_the_png_path() {
        let frame: Vec<u32> = (0..240 * 160u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        let mut slow = Vec::new();
        crate::screenshot::frame_to_rgb(&frame, &mut slow);
        let mut fast = vec![0u8; slow.len()];
        rgb_into(&frame, &mut fast);
        assert_eq!(fast, slow);
    }

    #[test]
    fn cpu_and_memory_of_this_process_are_readable() {
        assert!(cpu_seconds(None).is_some_and(|s| s >= 0.0));
        assert!(peak_rss(None).is_some_and(|b| b > 1 << 20));
        assert!(cpu_seconds(Some(u32::MAX)).is_none());
    }
}
