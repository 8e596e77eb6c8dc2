//! `pmd-agent inspect`: runs a game for some frames with no input and
//! prints the decoded dungeon state (ASCII map and team) or one JSON object.

use std::path::{Path, PathBuf};

use crate::emu::Emulator;
use crate::game::ram_map::MAP_WIDTH;
use crate::game::{profile_for, state_json, DecodeError, DungeonState, DungeonView, GameProfile};
use clap::Args;

use super::input_file::{battery_save, load_rom, read_opt};
use super::Failure;

/// Seed used when `--seed` is not given.
pub const DEFAULT_SEED: u32 = 1;

/// Arguments of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// GBA ROM (a game with a RAM map); the bundled test cartridge when
    /// omitted.
    #[arg(long, value_name = "PATH")]
    rom: Option<PathBuf>,

    /// Dungeon RNG seed (written into gDungeonRngState).
    #[arg(long, value_name = "S")]
    seed: Option<u32>,

    /// Frames to run with no input before decoding.
    #[arg(long, default_value_t = 30, value_name = "N")]
    frames: u32,

    /// Start from an mGBA frontend savestate file (.ss1 …).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,

    /// Boot with this battery save (.sav) instead of the one beside the
    /// ROM.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,

    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,

    /// Also write the screen as a PNG file.
    #[arg(long, value_name = "PATH")]
    screenshot: Option<PathBuf>,

    /// Also write the machine state as an mGBA frontend savestate file.
    #[arg(long, value_name = "PATH")]
    write_state: Option<PathBuf>,
}

/// Runs `inspect`.
pub fn inspect(args: &InspectArgs) -> Result<(), Failure> {
    let rom = load_rom(args.rom.as_ref())?;
    let profile = profile_for(rom.game_code())
        .map_err(|e| Failure::bad_input(format!("{}: {e}", rom.origin())))?;
    let mut emu = Emulator::new(&rom)?;
    emu.set_rendering(false);

    if let Some((path, bytes)) = battery_save(args.rom.as_ref(), args.save.as_deref())? {
        emu.load_battery_save(&bytes)
            .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))?;
    }
    let seed = match (
        args.state.as_deref(),
        read_opt(args.state.as_deref(), "savestate")?,
    ) {
        (Some(path), Some(bytes)) => {
            emu.load_mgba_state_file(&bytes)
                .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))?;
            args.seed
        }
        _ => {
            // From power-on: the game's own way through its title and
            // menus (a game that never reaches a dungeon is shown as it is).
            emu.reset();
            if let Err(e) = profile.boot(&mut emu) {
                tracing::warn!(error = %e, "no dungeon reached from power-on");
            }
            Some(args.seed.unwrap_or(DEFAULT_SEED))
        }
    };
    if let Some(seed) = seed {
        profile
            .write_seed(&mut emu, seed)
            .map_err(|e| Failure::other(e.to_string()))?;
    }

    if args.frames > 0 {
        emu.run_frames(args.frames - 1);
    }
    emu.set_rendering(true);
    emu.run_frame();

    let decoded = match DungeonView::of(&emu) {
        Ok(view) => Some(
            DungeonState::from_view(&view)
                .map_err(|e| Failure::other(format!("cannot decode the dungeon: {e}")))?,
        ),
        Err(DecodeError::NotInDungeon) => None,
        Err(e) => return Err(Failure::other(format!("cannot decode the dungeon: {e}"))),
    };

    if let Some(path) = &args.screenshot {
        crate::screenshot::write_png(emu.frame(), path)
            .map_err(|e| Failure::bad_input(e.to_string()))?;
    }
    if let Some(path) = &args.write_state {
        write_state(&mut emu, path)?;
    }

    if args.json {
        let line = serde_json::to_string(&state_json(decoded.as_ref()))
            .map_err(|e| Failure::other(format!("cannot encode the state: {e}")))?;
        println!("{line}");
    } else {
        print_human(profile, decoded.as_ref());
    }
    Ok(())
}

fn write_state(emu: &mut Emulator, path: &Path) -> Result<(), Failure> {
    let bytes = emu
        .export_mgba_state_file()
        .map_err(|e| Failure::other(e.to_string()))?;
    crate::atomic_file::write(path, &bytes)
        .map_err(|e| Failure::bad_input(format!("{}: cannot write: {e}", path.display())))
}

fn print_human(profile: &dyn GameProfile, state: Option<&DungeonState>) {
    println!("{}", profile.name());
    let Some(s) = state else {
        println!("not in a dungeon (gDungeon is NULL: title screen, menus or overworld)");
        return;
    };
    println!(
        "dungeon {}  floor {}  {}",
        s.dungeon_id,
        s.floor,
        if s.turn_ready {
            "ready for input"
        } else {
            "busy"
        }
    );
    let border = format!("+{}+", "-".repeat(MAP_WIDTH));
    println!("{border}");
    for row in s.ascii_rows() {
        println!("|{row}|");
    }
    println!("{border}");
    println!("@ leader  P partner  m monster  * item  ^ trap  > stairs  # wall  . floor");
    for m in s.team() {
        println!(
            "{} species {:>3}  Lv {:>2}  HP {:>3}/{:<3}  belly {:>3}/{:<3}  at ({}, {})",
            if m.is_leader { "leader " } else { "partner" },
            m.species,
            m.level,
            m.hp,
            m.max_hp,
            m.belly,
            m.max_belly,
            m.x,
            m.y
        );
    }
    for m in s.visible_wild() {
        println!(
            "wild    species {:>3}  Lv {:>2}  HP {:>3}/{:<3}  at ({}, {})",
            m.species, m.level, m.hp, m.max_hp, m.x, m.y
        );
    }
    match s.stairs() {
        Some((x, y)) => println!("stairs at ({x}, {y})"),
        None => println!("stairs not found yet"),
    }
}
