//! `pmd-agent replay FILE --episode K --gif OUT`: re-simulates a recorded
//! episode and writes what the screen showed.

use std::path::PathBuf;

use crate::record::{episode_actions, read_trajectories};
use crate::replay::{replay as resimulate, write_gif};
use clap::Args;

use super::input_file::{self, load_rom};
use super::Failure;

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Trajectory file written by `run --record`.
    file: PathBuf,

    /// Episode number (per environment, from 0).
    #[arg(long, value_name = "K")]
    episode: u64,

    /// Environment index.
    #[arg(long, default_value_t = 0, value_name = "E")]
    env: u32,

    /// The animated GIF to write.
    #[arg(long, value_name = "OUT")]
    gif: PathBuf,

    /// The ROM the run used; the bundled test cartridge when omitted.
    #[arg(long, value_name = "PATH")]
    rom: Option<PathBuf>,

    /// The savestate the run started from, if it did.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,

    /// Hundredths of a second per step in the GIF.
    #[arg(long, default_value_t = 15, value_name = "CS")]
    delay: u16,
}

/// Runs `replay`.
pub fn replay(args: &ReplayArgs) -> Result<(), Failure> {
    let shown = args.file.display().to_string();
    let t = read_trajectories(&args.file).map_err(|e| Failure::bad_input(e.to_string()))?;
    let rom = load_rom(args.rom.as_ref())?;
    if rom.crc32() != t.meta.rom_crc32 {
        return Err(Failure::bad_input(format!(
            "{shown}: recorded on ROM {} (CRC-32 {:08x}), not {} ({:08x}); pass --rom",
            t.meta.rom_title,
            t.meta.rom_crc32,
            rom.origin(),
            rom.crc32()
        )));
    }
    let state = input_file::read_opt(args.state.as_deref(), "savestate")?;
    match (&state, t.meta.start.as_str()) {
        (None, start) if start != "boot" => {
            return Err(Failure::bad_input(format!(
                "{shown}: the run started from a savestate ({start}); pass it with --state"
            )))
        }
        (Some(bytes), start) if start != format!("state:{:08x}", crc32fast::hash(bytes)) => {
            return Err(Failure::bad_input(format!(
                "{shown}: the run started from {start}, not from this savestate"
            )))
        }
        _ => {}
    }
    let (seed, steps) = episode_actions(&t, &shown, args.env, args.episode)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let frames = resimulate(&rom, state.as_deref(), seed, &steps)
        .map_err(|e| Failure::other(e.to_string()))?;
    write_gif(&frames, &args.gif, args.delay).map_err(|e| Failure::bad_input(e.to_string()))?;
    println!(
        "replayed env {} episode {} ({} steps, seed {seed}) into {} ({} frames)",
        args.env,
        args.episode,
        steps.len(),
        args.gif.display(),
        frames.len()
    );
    Ok(())
}
