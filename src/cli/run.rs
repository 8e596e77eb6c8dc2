//! `pmd-agent run`: runs a ROM for a number of frames and reports speed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use pmd_agent::cartridge;
use pmd_agent::emu::{Emulator, Rom, GBA_FPS};
use pmd_agent::policy::PolicyKind;
use serde::Serialize;

use super::progress::DelayedProgress;
use super::{input_file, Failure};

/// Frames run between two progress updates.
const CHUNK: u32 = 256;

/// Arguments of `run` (also accepted with no subcommand).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// GBA ROM to run; the bundled test cartridge when omitted.
    #[arg(long, value_name = "PATH")]
    pub rom: Option<PathBuf>,

    /// Frame mode: number of frames to run (any GBA ROM).
    #[arg(long, default_value_t = 3600, value_name = "N", conflicts_with_all = ["policy", "steps", "envs"])]
    frames: u32,

    /// Skip the scanline renderer (nobody looks at the frames).
    #[arg(long)]
    no_render: bool,

    /// Print exactly one JSON object on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,

    /// Agent mode: the policy choosing every action.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub policy: Option<PolicyKind>,

    /// Agent mode: environments run in parallel (default: one per core).
    #[arg(long, value_name = "N")]
    pub envs: Option<usize>,

    /// Agent mode: total environment steps, rounded up to whole rounds
    /// (default 5000).
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,

    /// Agent mode: run seed; every episode's dungeon seed derives from it.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,

    /// Agent mode: steps after which an episode is cut short.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_episode_steps: u32,

    /// Agent mode: record every step to an Arrow IPC stream file in DIR.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,

    /// Agent mode: also record the 120x80 grey frame each action was
    /// chosen on.
    #[arg(long, requires = "record")]
    pub record_frames: bool,

    /// Agent mode: serve /metrics, /health and /ready on this address
    /// while the run goes (e.g. 127.0.0.1:9100).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// Agent mode: rows per record batch; each batch is flushed whole.
    #[arg(long, default_value_t = 2048, value_name = "N", requires = "record")]
    pub record_batch_rows: usize,

    /// Write the last frame as a PNG file (it is rendered even with
    /// `--no-render`).
    #[arg(long, value_name = "PATH")]
    screenshot: Option<PathBuf>,

    /// Start from an mGBA frontend savestate file (.ss1 …).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Boot with this battery save (.sav).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
}

/// The result of a frame run, as printed with `--json`.
#[derive(Debug, Serialize)]
struct RunReport {
    rom_title: String,
    game_code: String,
    frames: u64,
    seconds: f64,
    fps: f64,
    render: bool,
}

/// Loads the ROM named by `--rom`, or the bundled cartridge.
pub fn load_rom(path: Option<&PathBuf>) -> Result<Rom, Failure> {
    match path {
        Some(path) => Ok(Rom::from_path(path)?),
        None => cartridge::rom()
            .map_err(|e| Failure::other(format!("the bundled cartridge is damaged: {e}"))),
    }
}

/// Installs a battery save and/or loads a frontend savestate, with
/// bad-input failures that name the file.
pub fn load_start(
    emu: &mut Emulator,
    save: Option<&Path>,
    state: Option<&Path>,
) -> Result<(), Failure> {
    if let (Some(path), Some(bytes)) = (save, input_file::read_opt(save, "battery save")?) {
        emu.load_battery_save(&bytes)
            .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))?;
    }
    if let (Some(path), Some(bytes)) = (state, input_file::read_opt(state, "savestate")?) {
        emu.load_mgba_state_file(&bytes)
            .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// Runs the agent job when a policy or agent option is given, else the
/// frame job.
pub fn run(args: &RunArgs) -> Result<(), Failure> {
    let agent_mode = args.policy.is_some()
        || args.envs.is_some()
        || args.steps.is_some()
        || args.record.is_some();
    if agent_mode {
        return super::agent::run_agent(args, args.policy.unwrap_or(PolicyKind::Heuristic));
    }
    run_frames(args)
}

/// Runs the frame job.
fn run_frames(args: &RunArgs) -> Result<(), Failure> {
    let rom = load_rom(args.rom.as_ref())?;
    let mut emu = Emulator::new(&rom)?;
    load_start(&mut emu, args.save.as_deref(), args.state.as_deref())?;
    emu.set_rendering(!args.no_render);
    tracing::info!(
        rom = rom.origin(),
        title = rom.title(),
        code = rom.game_code(),
        "running"
    );

    let mut progress = DelayedProgress::new(u64::from(args.frames), "frames");
    let started = Instant::now();
    let mut done = 0u32;
    while done < args.frames {
        let n = CHUNK.min(args.frames - done);
        let last_chunk = done + n == args.frames;
        if last_chunk && args.screenshot.is_some() {
            emu.run_frames(n - 1);
            emu.set_rendering(true);
            emu.run_frame();
            emu.set_rendering(!args.no_render);
        } else {
            emu.run_frames(n);
        }
        done += n;
        progress.set_position(u64::from(done));
    }
    let seconds = started.elapsed().as_secs_f64();
    progress.finish();
    if let Some(path) = &args.screenshot {
        pmd_agent::screenshot::write_png(emu.frame(), path)
            .map_err(|e| Failure::bad_input(e.to_string()))?;
    }

    let report = RunReport {
        rom_title: rom.title().to_string(),
        game_code: rom.game_code().to_string(),
        frames: u64::from(done),
        seconds,
        fps: if seconds > 0.0 {
            f64::from(done) / seconds
        } else {
            0.0
        },
        render: emu.rendering(),
    };
    if args.json {
        let line = serde_json::to_string(&report)
            .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
        println!("{line}");
    } else {
        print_summary(&rom, &report);
    }
    Ok(())
}

fn print_summary(rom: &Rom, r: &RunReport) {
    println!(
        "ROM      {} [{}] from {}",
        r.rom_title,
        r.game_code,
        rom.origin()
    );
    println!(
        "frames   {} ({})",
        r.frames,
        if r.render { "rendered" } else { "not rendered" }
    );
    println!("time     {:.3} s", r.seconds);
    println!(
        "speed    {:.0} frames/s, {:.0}x real time",
        r.fps,
        r.fps / GBA_FPS
    );
}
