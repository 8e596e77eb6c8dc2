//! `pmd-agent run` in frame mode: runs any GBA ROM for a number of frames
//! and reports the speed.

use std::time::Instant;

use crate::emu::{Emulator, Rom, GBA_FPS};
use serde::Serialize;

use super::input_file::{battery_save, load_rom, read_opt};
use super::progress::DelayedProgress;
use super::run::RunArgs;
use super::Failure;

/// Frames run between two progress updates.
const CHUNK: u32 = 256;

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

/// Runs the frame job.
pub fn run_frames(args: &RunArgs) -> Result<(), Failure> {
    let rom = load_rom(args.rom.as_ref())?;
    let mut emu = Emulator::new(&rom)?;
    if let Some((path, bytes)) = battery_save(args.rom.as_ref(), args.save.as_deref())? {
        emu.load_battery_save(&bytes)
            .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))?;
    }
    if let (Some(path), Some(bytes)) = (
        args.state.as_deref(),
        read_opt(args.state.as_deref(), "savestate")?,
    ) {
        emu.load_mgba_state_file(&bytes)
            .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))?;
    }
    emu.set_rendering(!args.no_render);
    tracing::info!(
        rom = rom.origin(),
        title = rom.title(),
        code = rom.game_code(),
        "running"
    );

    let mut progress = DelayedProgress::new(u64::from(args.frame_count()), "frames");
    let started = Instant::now();
    let mut done = 0u32;
    while done < args.frame_count() {
        let n = CHUNK.min(args.frame_count() - done);
        let last_chunk = done + n == args.frame_count();
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
        crate::screenshot::write_png(emu.frame(), path)
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
