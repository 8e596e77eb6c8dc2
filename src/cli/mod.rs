//! Command-line parsing, dispatch and the mapping of errors to one line on
//! stderr plus an exit code (2: bad input, 1: anything else).
//!
//! **Two executables, one command line.** `pmd-agent` links no libtorch,
//! so a command that runs no network starts in milliseconds and a few
//! megabytes. A command that needs libtorch (`train`, `bench inference`,
//! `bench e2e`, any `torch:PATH` policy) is handed, arguments unchanged,
//! to `pmd-agent-torch` beside it (`exec`: same process id, same standard
//! streams), which runs this same command line with [`TorchCommands`]
//! and pmd-torch's policy loader installed.

mod agent;
mod agent_async;
pub mod bench;
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
mod mcp;
pub mod progress;
mod replay;
mod run;
mod script;
mod serve;
mod serve_socket;
pub mod train;

use clap::{Parser, Subcommand};

pub use agent::cores;
pub use failure::Failure;

/// What only the libtorch executable (`pmd-agent-torch`) can do; it passes
/// its implementation to [`main`]. Policy specs need nothing here: they
/// build through pmd-torch's loader (`pmd_torch::install`).
pub trait TorchCommands {
    /// `train bc|ppo|dagger`.
    fn train(&self, args: &train::TrainArgs) -> Result<(), Failure>;
    /// `bench inference`.
    fn bench_inference(
        &self,
        args: &bench::InferenceArgs,
        rom: &crate::emu::Rom,
    ) -> Result<(), Failure>;
}

/// The libtorch executable's name, looked for beside this one.
pub const TORCH_EXECUTABLE: &str = "pmd-agent-torch";

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
    /// Serve MCP (Model Context Protocol) over stdio for LLM agents:
    /// sessions of in-process emulators to observe, act on and branch.
    Mcp(mcp::McpArgs),
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
            if crate::game::profile_for(rom.game_code()).is_ok() {
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
/// process exit code. Without `torch` a command that needs libtorch is
/// handed to [`TORCH_EXECUTABLE`] (and this returns only if that fails).
pub fn main(torch: Option<&dyn TorchCommands>) -> i32 {
    let cli = Cli::parse();
    if torch.is_none() && needs_torch(&cli) {
        return hand_to_torch().report();
    }
    if let Err(failure) = logging::init(&cli.log) {
        return failure.report();
    }
    let result = match cli.command {
        Some(Command::Run(args)) => run(&args),
        Some(Command::Inspect(args)) => inspect::inspect(&args),
        Some(Command::Bench(args)) => bench::bench(&args, torch),
        Some(Command::Export(args)) => export::export(&args),
        Some(Command::Index(args)) => index::index(&args),
        Some(Command::Replay(args)) => replay::replay(&args),
        Some(Command::Train(args)) => match torch {
            Some(torch) => torch.train(&args),
            None => Err(Failure::bad_input(format!(
                "train: {}",
                crate::policy::TORCH_FEATURE_NEEDED
            ))),
        },
        Some(Command::League(args)) => league::league(args),
        Some(Command::Script(args)) => script::script(&args),
        Some(Command::ServeSocket(args)) => serve_socket::serve_socket(&args),
        Some(Command::Mcp(args)) => mcp::mcp(&args),
        None => run(&cli.run),
    };
    match result {
        Ok(()) => 0,
        Err(failure) => failure.report(),
    }
}

/// Whether the command needs libtorch: `train`, `bench inference` and
/// `bench e2e` always; any other command when one of its arguments names a
/// `torch:PATH` policy (alone, in a comma-separated list, or after `=`) or
/// a guided search (`search:…guide=PATH`, whose guide is a model file).
/// A false positive costs only libtorch's start-up: the other executable
/// runs this same command line.
fn needs_torch(cli: &Cli) -> bool {
    match &cli.command {
        Some(Command::Train(_)) => return true,
        Some(Command::Mcp(m)) if m.torch => return true,
        Some(Command::Bench(b))
            if matches!(
                b.command,
                bench::BenchCommand::Inference(_) | bench::BenchCommand::E2e(_)
            ) =>
        {
            return true
        }
        _ => {}
    }
    std::env::args_os().skip(1).any(|arg| {
        let arg = arg.to_string_lossy();
        let guided = arg
            .split(',')
            .any(|part| part.contains("search:") && part.contains("guide="));
        guided
            || arg
                .split([',', '='])
                .any(|part| part.trim_start().starts_with("torch:"))
    })
}

/// Replaces this process with [`TORCH_EXECUTABLE`] from this executable's
/// directory, with the same arguments; returns only on failure.
fn hand_to_torch() -> Failure {
    use std::os::unix::process::CommandExt;
    let this = match std::env::current_exe() {
        Ok(path) => path,
        Err(e) => return Failure::other(format!("cannot find this executable: {e}")),
    };
    let torch = this.with_file_name(TORCH_EXECUTABLE);
    if !torch.is_file() {
        return Failure::other(format!(
            "this command needs libtorch, which lives in {TORCH_EXECUTABLE}: {} is missing \
             (build it with `cargo build --release -p {TORCH_EXECUTABLE}`, or `make run`)",
            torch.display()
        ));
    }
    let error = std::process::Command::new(&torch)
        .args(std::env::args_os().skip(1))
        .exec();
    Failure::other(format!("cannot start {}: {error}", torch.display()))
}
