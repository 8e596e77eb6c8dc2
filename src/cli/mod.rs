//! Command-line parsing, dispatch and the mapping of errors to one line on
//! stderr plus an exit code (2: bad input, 1: anything else).

mod agent;
mod agent_async;
mod bench;
mod bench_history;
mod bench_socket;
mod export;
mod failure;
mod frames;
mod index;
mod input_file;
mod inspect;
mod league;
mod logging;
mod progress;
mod replay;
mod run;
mod script;
mod serve;
mod serve_socket;
mod train;

use clap::{Parser, Subcommand};

pub use failure::Failure;

/// Plays and evaluates agents for Pokémon Mystery Dungeon: Red Rescue Team
/// with mGBA in-process. With no subcommand, does what `run` does.
#[derive(Debug, Parser)]
#[command(
    name = "pmd-agent",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    run: run::RunArgs,

    #[command(flatten)]
    log: logging::LogArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play: a policy on environments in parallel (agent mode), or run any
    /// ROM headless for a number of frames and report the speed (frame
    /// mode).
    Run(run::RunArgs),
    /// Run a game for some frames with no input and print the decoded
    /// dungeon state.
    Inspect(inspect::InspectArgs),
    /// Run a measurement suite: overhead, scaling, memory, policies, keys, index, socket, inference or e2e.
    Bench(Box<bench::BenchArgs>),
    /// The vector memory: build, query, inspect and compact indexes of
    /// game states.
    Index(index::IndexArgs),
    /// Convert a recorded trajectory file to Parquet.
    Export(export::ExportArgs),
    /// Re-simulate a recorded episode and write it as an animated GIF.
    Replay(replay::ReplayArgs),
    /// Train a neural policy: behaviour cloning from recordings, or PPO
    /// (needs the torch feature).
    Train(train::TrainArgs),
    /// The agent league (league.v2): run, serve, host a player, replay.
    League(league::LeagueArgs),
    /// Run an mGBA Lua script headless (mGBA's own scripting engine).
    Script(script::ScriptArgs),
    /// Serve the mGBA-http socket protocol from in-process emulators.
    ServeSocket(serve_socket::ServeSocketArgs),
}

/// `run`: agent mode when a policy or an agent option is given; frame mode
/// when a frame-mode option is; otherwise a `--rom` whose game has a RAM
/// map is played (the design card's `pmd-agent --rom pmd.gba`), and any
/// other ROM, or none, runs frames.
fn run(args: &run::RunArgs) -> Result<(), Failure> {
    if args.agent_mode() {
        return agent::run_agent(args);
    }
    if !args.frame_mode_asked() {
        if let Some(path) = &args.rom {
            let rom = input_file::load_rom(Some(path))?;
            if pmd_agent::game::profile_for(rom.game_code()).is_ok() {
                if !args.json {
                    eprintln!(
                        "pmd-agent: {} ({}) is a game pmd-agent knows: playing it with the \
                         default policy (--frames N runs frames instead)",
                        rom.origin(),
                        rom.game_code()
                    );
                }
                return agent::run_agent(args);
            }
        }
    }
    frames::run_frames(args)
}

/// Parses arguments, runs the command, prints any error; returns the
/// process exit code.
pub fn main() -> i32 {
    #[cfg(feature = "torch")]
    pmd_agent::infer_install();
    let cli = Cli::parse();
    if let Err(failure) = logging::init(&cli.log) {
        return failure.report();
    }
    let result = match cli.command {
        Some(Command::Run(args)) => run(&args),
        Some(Command::Inspect(args)) => inspect::inspect(&args),
        Some(Command::Bench(args)) => bench::bench(&args),
        Some(Command::Export(args)) => export::export(&args),
        Some(Command::Index(args)) => index::index(&args),
        Some(Command::Replay(args)) => replay::replay(&args),
        Some(Command::Train(args)) => train::train(&args),
        Some(Command::League(args)) => league::league(args),
        Some(Command::Script(args)) => script::script(&args),
        Some(Command::ServeSocket(args)) => serve_socket::serve_socket(&args),
        None => run(&cli.run),
    };
    match result {
        Ok(()) => 0,
        Err(failure) => failure.report(),
    }
}
