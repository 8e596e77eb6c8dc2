//! The arguments of `pmd-agent run` (also accepted with no subcommand):
//! frame mode (`frames.rs`) or agent mode (`agent.rs`).

use std::path::PathBuf;

use crate::policy::{DeviceChoice, PolicySpec};
use clap::Args;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// GBA ROM to run; the bundled test cartridge when omitted. A battery
    /// save beside it (`pmd.gba` → `pmd.sav`) is loaded, as mGBA does.
    #[arg(long, value_name = "PATH")]
    pub rom: Option<PathBuf>,

    /// Frame mode: number of frames to run (any GBA ROM; default 3600).
    /// A ROM whose game pmd-agent knows is played instead, unless this or
    /// another frame-mode option is given.
    #[arg(long, value_name = "N",
          conflicts_with_all = ["policy", "steps", "envs", "metrics_addr", "record", "threads", "memory", "async_mode", "device", "greedy"])]
    pub frames: Option<u32>,

    /// Frame mode: skip the scanline renderer (nobody looks at the frames).
    #[arg(long)]
    pub no_render: bool,

    /// Print exactly one JSON object on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,

    /// Agent mode: the policy choosing every action (random, heuristic,
    /// search, torch:PATH).
    #[arg(long, value_name = "POLICY", value_parser = parse_policy)]
    pub policy: Option<PolicySpec>,

    /// Agent mode: environments run in parallel (default: one per core).
    #[arg(long, value_name = "N")]
    pub envs: Option<usize>,

    /// Agent mode: worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Agent mode: total environment steps, rounded up to whole rounds
    /// (default 5000).
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,

    /// Agent mode: run seed; every episode's dungeon seed derives from it.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,

    /// Agent mode: steps after which an episode is truncated.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_episode_steps: u32,

    /// Agent mode: record every step to an Arrow IPC stream file in DIR.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,

    /// Agent mode: also record the 120x80 grey frame each action was
    /// chosen on.
    #[arg(long, requires = "record")]
    pub record_frames: bool,

    /// Agent mode: rows per record batch; each batch is flushed whole.
    #[arg(long, default_value_t = 2048, value_name = "N", requires = "record")]
    pub record_batch_rows: usize,

    /// Agent mode: the run id naming the trajectory file and tagging the
    /// memory's states (default: time, process id and seed).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,

    /// Agent mode: a vector memory of game states in DIR (mapped if an
    /// earlier run left one there, saved at the end): each step's reward
    /// gets a novelty bonus.
    #[arg(long, value_name = "DIR")]
    pub memory: Option<PathBuf>,

    /// Agent mode, with --memory: weight of the novelty bonus.
    #[arg(long, default_value_t = 0.05, value_name = "B", requires = "memory")]
    pub novelty_beta: f32,

    /// Agent mode, with --memory: save the states added so far every S
    /// seconds (0: every round), so a killed run loses at most that much.
    #[arg(long, default_value_t = 30.0, value_name = "S", requires = "memory")]
    pub memory_save_secs: f64,

    /// Agent mode: where a torch policy's network runs (cpu, cuda, cuda:N; default cpu).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<DeviceChoice>,

    /// Agent mode: a torch policy takes its most probable legal action
    /// instead of sampling.
    #[arg(long)]
    pub greedy: bool,

    /// Agent mode: step environments asynchronously on worker threads
    /// while one inference loop batches whichever are ready (random and
    /// torch policies; no recording).
    #[arg(long = "async", conflicts_with_all = ["record", "memory"])]
    pub async_mode: bool,

    /// Asynchronous mode: largest batch of one inference.
    #[arg(long, default_value_t = 64, value_name = "N", requires = "async_mode")]
    pub max_batch: usize,

    /// Asynchronous mode: µs to wait for more ready environments after the
    /// first one of a batch.
    #[arg(
        long,
        default_value_t = 200,
        value_name = "US",
        requires = "async_mode"
    )]
    pub max_wait_us: u64,

    /// Agent mode: serve /metrics, /health and /ready on this address
    /// while the run goes (e.g. 127.0.0.1:9100).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// Frame mode: write the last frame as a PNG file (it is rendered even
    /// with `--no-render`).
    #[arg(long, value_name = "PATH")]
    pub screenshot: Option<PathBuf>,

    /// Start from a savestate file: mGBA's frontend format (.ss1 …) or
    /// pmd-agent's own.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Boot with this battery save (.sav) instead of the one beside the ROM.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
}

fn parse_policy(text: &str) -> Result<PolicySpec, String> {
    text.parse()
        .map_err(|e: crate::policy::PolicySpecError| e.to_string())
}

/// Frames a frame-mode run runs when `--frames` is not given.
pub const DEFAULT_FRAMES: u32 = 3600;

impl RunArgs {
    /// Whether a frame-mode option is given (`--frames`, `--no-render`,
    /// `--screenshot`).
    pub fn frame_mode_asked(&self) -> bool {
        self.frames.is_some() || self.no_render || self.screenshot.is_some()
    }

    /// Frames to run in frame mode.
    pub fn frame_count(&self) -> u32 {
        self.frames.unwrap_or(DEFAULT_FRAMES)
    }

    /// Whether a policy or an agent option is given (agent mode), rather
    /// than frame mode.
    pub fn agent_mode(&self) -> bool {
        self.policy.is_some()
            || self.envs.is_some()
            || self.threads.is_some()
            || self.steps.is_some()
            || self.record.is_some()
            || self.memory.is_some()
            || self.metrics_addr.is_some()
            || self.async_mode
            || self.device.is_some()
            || self.greedy
    }
}
