//! `pmd-agent script FILE.lua`: runs an mGBA Lua script headless.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::emu::Emulator;
use crate::pacing::Pace;
use crate::script::{ConsoleLevel, ScriptError, ScriptHost, SlotFiles};
use clap::Args;

use super::input_file::load_rom;
use super::{input_file, Failure};

/// Arguments of `script`.
#[derive(Debug, Args)]
pub struct ScriptArgs {
    /// The Lua script (mGBA's scripting API: emu, callbacks, socket,
    /// console).
    #[arg(value_name = "FILE.lua")]
    file: PathBuf,

    /// GBA ROM to run; the bundled test cartridge when omitted.
    #[arg(long, value_name = "PATH")]
    rom: Option<PathBuf>,

    /// Frames to run, then fire "shutdown" and exit (default: until
    /// SIGINT or SIGTERM).
    #[arg(long, value_name = "N")]
    frames: Option<u64>,

    /// `none` runs as fast as possible; `realtime` holds 59.73 frames/s.
    #[arg(long, default_value = "none", value_name = "realtime|none")]
    pace: Pace,

    /// Start from an mGBA frontend savestate file (.ss1 …).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

/// Where `emu:saveStateSlot` files go: next to the ROM, named after it, as
/// in the desktop app; the working directory for the bundled cartridge.
fn slot_files(rom: Option<&Path>) -> SlotFiles {
    match rom {
        Some(path) => SlotFiles {
            dir: path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            stem: path
                .file_stem()
                .map_or_else(|| "rom".to_string(), |s| s.to_string_lossy().into_owned()),
        },
        None => SlotFiles {
            dir: PathBuf::from("."),
            stem: "cartridge".to_string(),
        },
    }
}

/// What the script prints: `console:log` on stdout, warnings and errors on
/// stderr, buffer text in the debug log.
fn print_console(level: ConsoleLevel, text: &str) {
    match level {
        ConsoleLevel::Log => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
        ConsoleLevel::Warn => eprintln!("[warn] {text}"),
        ConsoleLevel::Error => eprintln!("[error] {text}"),
        ConsoleLevel::Buffer => tracing::debug!(target: "script", "buffer: {text}"),
    }
}

fn failure(err: ScriptError) -> Failure {
    match err {
        ScriptError::Load(message) => Failure::bad_input(message),
        ScriptError::State(e) => Failure::bad_input(e.to_string()),
        ScriptError::Runtime(message) => Failure::other(message),
        other => Failure::other(other.to_string()),
    }
}

/// Runs the script.
pub fn script(args: &ScriptArgs) -> Result<(), Failure> {
    let rom = load_rom(args.rom.as_ref())?;
    let state = input_file::read_opt(args.state.as_deref(), "savestate")?;
    let emu = Emulator::new(&rom)?;
    let slots = slot_files(args.rom.as_deref());
    let mut host = ScriptHost::new(emu, Some(&slots), Box::new(print_console)).map_err(failure)?;
    host.load_file(&args.file).map_err(failure)?;
    host.start(state.as_deref())
        .map_err(|e| match (e, &args.state) {
            (ScriptError::State(e), Some(path)) => {
                Failure::bad_input(format!("{}: {e}", path.display()))
            }
            (e, _) => failure(e),
        })?;
    let summary = host.run(args.frames, args.pace, true).map_err(failure)?;
    tracing::info!(
        frames = summary.frames,
        seconds = summary.seconds,
        signal = summary.stopped_by_signal,
        "script finished"
    );
    Ok(())
}
