//! `pmd-agent bench <suite>`: the measurement suites of
//! `pmd_agent::bench`, printed as a summary or one JSON object.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use pmd_agent::bench::{memory, overhead, policies, scaling};
use pmd_agent::game::Game;
use pmd_agent::policy::PolicyKind;
use serde::Serialize;

use super::run::load_rom;
use super::Failure;

/// Which suite to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Suite {
    /// Raw emulation versus the full agent loop over the same frames.
    Overhead,
    /// Steps/s for 1, 2, 4 and 8 environments.
    Scaling,
    /// RSS per environment and growth over a long run.
    Memory,
    /// Mean max floor of random, heuristic and search on the same seeds.
    Policies,
    /// The mGBA-http socket designs (Lua server in mGBA, our server)
    /// against in-process.
    Socket,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The suite.
    #[arg(value_enum)]
    suite: Suite,

    /// ROM with a RAM map; the bundled test cartridge when omitted.
    #[arg(long, value_name = "PATH")]
    rom: Option<PathBuf>,

    /// overhead: agent steps (default 3000); socket: steps per
    /// environment (default 200).
    #[arg(long, value_name = "N")]
    steps: Option<u64>,

    /// scaling: lockstep rounds per environment count.
    #[arg(long, default_value_t = 300, value_name = "N")]
    rounds: u32,

    /// scaling: environment counts (default 1,2,4,8); socket: environment
    /// count, or counts to sweep (default 1).
    #[arg(long, value_delimiter = ',', value_name = "N,N,..")]
    envs: Option<Vec<usize>>,

    /// socket: draw steps/s against the environment counts as a PNG.
    #[arg(long, value_name = "PNG")]
    plot: Option<PathBuf>,

    /// socket: steps of the original-style Python client (0 skips it).
    #[arg(long, default_value_t = 50, value_name = "N")]
    python_steps: u64,

    /// socket: pacing of the server processes (`realtime` is the desktop
    /// app's 59.73 frames/s; in-process is never paced).
    #[arg(long, default_value = "none", value_name = "realtime|none")]
    server_pace: pmd_agent::pacing::Pace,

    /// memory: frames of the soak run.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    soak_frames: u64,

    /// policies: episodes per policy.
    #[arg(long, default_value_t = 100, value_name = "N")]
    episodes: usize,

    /// policies: step cap per episode.
    #[arg(long, default_value_t = 200, value_name = "N")]
    max_steps: u32,

    /// policies: which policies.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PolicyKind::Random, PolicyKind::Heuristic, PolicyKind::Search])]
    policies: Vec<PolicyKind>,

    /// Seed of the dungeons.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u32,

    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

fn emit<T: Serialize>(json: bool, report: &T, human: impl FnOnce(&T)) -> Result<(), Failure> {
    if json {
        let line = serde_json::to_string(report)
            .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
        println!("{line}");
    } else {
        human(report);
    }
    Ok(())
}

/// Runs `bench`.
pub fn bench(args: &BenchArgs) -> Result<(), Failure> {
    let rom = load_rom(args.rom.as_ref())?;
    Game::from_code(rom.game_code())
        .map_err(|e| Failure::bad_input(format!("{}: {e}", rom.origin())))?;
    let fail = |e: pmd_agent::bench::BenchError| Failure::other(e.to_string());
    match args.suite {
        Suite::Overhead => {
            let steps = args.steps.unwrap_or(3000);
            if steps == 0 {
                return Err(Failure::bad_input("--steps must be at least 1"));
            }
            let r = overhead::run(&rom, steps, args.seed).map_err(fail)?;
            emit(args.json, &r, |r| {
                println!(
                    "overhead: {} steps, {} frames on one core",
                    r.steps, r.frames
                );
                println!("  raw emulation  {:>10.0} frames/s", r.raw_fps);
                println!("  agent loop     {:>10.0} frames/s", r.agent_fps);
                println!("  ratio          {:>10.3} (goal >= 0.95)", r.ratio);
            })
        }
        Suite::Scaling => {
            let envs = args.envs.clone().unwrap_or_else(|| vec![1, 2, 4, 8]);
            if envs.is_empty() || envs.contains(&0) || args.rounds == 0 {
                return Err(Failure::bad_input(
                    "--envs must list counts of at least 1, and --rounds be at least 1",
                ));
            }
            let r = scaling::run(&rom, &envs, args.rounds, u64::from(args.seed)).map_err(fail)?;
            emit(args.json, &r, |r| {
                println!("scaling: heuristic agent, {} worker threads", r.threads);
                for ((n, s), e) in r.envs.iter().zip(&r.steps_per_s).zip(&r.efficiency) {
                    println!("  {n:>3} envs  {s:>9.0} steps/s  efficiency {e:.2}");
                }
            })
        }
        Suite::Policies => {
            if args.episodes == 0 || args.max_steps == 0 {
                return Err(Failure::bad_input(
                    "--episodes and --max-steps must be at least 1",
                ));
            }
            let r = policies::run(
                &rom,
                &args.policies,
                args.episodes,
                args.max_steps,
                u64::from(args.seed),
            )
            .map_err(fail)?;
            emit(args.json, &r, |r| {
                println!(
                    "policies: {} episodes each, at most {} steps",
                    r.episodes, r.max_steps
                );
                for p in &r.results {
                    println!(
                        "  {:<10} mean max floor {:>6.2}   fainted {:>3}",
                        p.policy, p.mean_max_floor, p.fainted
                    );
                }
            })
        }
        Suite::Socket => super::bench_socket::bench(&super::bench_socket::SocketArgs {
            rom: args.rom.as_ref(),
            steps: args.steps.unwrap_or(200),
            envs: args.envs.as_deref().unwrap_or(&[1]),
            seed: args.seed,
            json: args.json,
            plot: args.plot.as_deref(),
            python_steps: args.python_steps,
            server_pace: args.server_pace,
        }),
        Suite::Memory => {
            let r = memory::run(&rom, args.soak_frames, u64::from(args.seed)).map_err(fail)?;
            emit(args.json, &r, |r| {
                let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
                println!("memory:");
                println!("  RSS, 1 env       {:>8.1} MiB", mib(r.rss_1));
                println!("  RSS, 64 envs     {:>8.1} MiB", mib(r.rss_64));
                println!(
                    "  per extra env    {:>8.2} MiB (goal <= 4)",
                    mib(r.per_env_bytes)
                );
                println!(
                    "  soak growth      {:>8.2} MiB over {} frames (goal <= 1)",
                    r.soak_growth_bytes as f64 / (1024.0 * 1024.0),
                    r.soak_frames
                );
            })
        }
    }
}
