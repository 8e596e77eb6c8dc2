//! `pmd-agent bench <suite>`: the measurement suites of
//! `pmd_agent::bench`, printed as a summary or one JSON object.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use pmd_agent::bench::{memory, overhead, policies, scaling};
use pmd_agent::game::profile_for;
use pmd_agent::policy::PolicySpec;
use serde::Serialize;

use super::input_file::load_rom;
use super::Failure;

/// Which suite to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Suite {
    /// The agent path (runner on its pool) versus bare emulation of the
    /// same frames and keys on as many threads.
    Overhead,
    /// Steps/s, frames/s and memory by environment count, relative to one.
    Scaling,
    /// RSS per environment and growth over a long run.
    Memory,
    /// Mean max floor of policies on the same seeds.
    Policies,
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

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// overhead: environments (default: one per worker thread); scaling:
    /// the environment counts to measure besides 1.
    #[arg(long, value_delimiter = ',', value_name = "N[,N..]")]
    envs: Vec<usize>,

    /// overhead: lockstep rounds.
    #[arg(long, default_value_t = 1500, value_name = "N")]
    rounds: u64,

    /// scaling: steps measured per environment count.
    #[arg(long, default_value_t = 4000, value_name = "N")]
    steps: u64,

    /// memory: frames of the soak run.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    soak_frames: u64,

    /// policies: episodes per policy.
    #[arg(long, default_value_t = 100, value_name = "N")]
    episodes: usize,

    /// policies: step cap per episode.
    #[arg(long, default_value_t = 300, value_name = "N")]
    max_steps: u32,

    /// policies: which policies (random, heuristic, search, torch:PATH).
    #[arg(long, value_delimiter = ',', value_parser = parse_policy,
          default_values = ["random", "heuristic", "search"])]
    policies: Vec<PolicySpec>,

    /// Run seed (for policies: the seed range judged on).
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,

    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_policy(text: &str) -> Result<PolicySpec, String> {
    text.parse()
        .map_err(|e: pmd_agent::policy::PolicySpecError| e.to_string())
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
    profile_for(rom.game_code())
        .map_err(|e| Failure::bad_input(format!("{}: {e}", rom.origin())))?;
    let fail = |e: pmd_agent::bench::BenchError| Failure::other(e.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(cores);
    if threads == 0 || args.envs.contains(&0) {
        return Err(Failure::bad_input(
            "--threads and --envs must be at least 1",
        ));
    }
    match args.suite {
        Suite::Overhead => {
            if args.rounds == 0 || args.envs.len() > 1 {
                return Err(Failure::bad_input(
                    "overhead takes one --envs count and --rounds of at least 1",
                ));
            }
            let envs = args.envs.first().copied().unwrap_or(threads);
            let r = overhead::run(&rom, envs, threads, args.rounds, args.seed).map_err(fail)?;
            emit(args.json, &r, |r| {
                println!(
                    "overhead: {} envs on {} threads ({} cores), {} steps, {} frames per side",
                    r.envs, r.threads, r.cores, r.steps, r.frames
                );
                println!(
                    "  bare emulation        {:>10.0} frames/s  ({:.3} s)",
                    r.raw_fps, r.raw_seconds
                );
                println!(
                    "  agent, recorder off   {:>10.0} frames/s  ({:.3} s)  ratio {:.3} (goal >= 0.95)",
                    r.agent_fps, r.agent_seconds, r.ratio
                );
                println!(
                    "  agent, recorder on    {:>10.0} frames/s  ({:.3} s)  ratio {:.3}",
                    r.agent_record_fps, r.agent_record_seconds, r.ratio_record
                );
            })
        }
        Suite::Scaling => {
            if args.steps == 0 {
                return Err(Failure::bad_input("--steps must be at least 1"));
            }
            let counts = if args.envs.is_empty() {
                vec![1, 2, 4, 8, 16]
            } else {
                args.envs.clone()
            };
            let r = scaling::run(&rom, &counts, args.steps, threads, args.seed).map_err(fail)?;
            emit(args.json, &r, |r| {
                println!(
                    "scaling: heuristic agent through the runner, {} worker threads, {} cores",
                    r.threads, r.cores
                );
                for i in 0..r.envs.len() {
                    println!(
                        "  {:>3} envs  {:>9.0} steps/s  {:>9.0} frames/s  speed-up {:>5.2}  efficiency {:.2}  RSS {:>6.1} MiB",
                        r.envs[i],
                        r.steps_per_s[i],
                        r.frames_per_s[i],
                        r.speedup[i],
                        r.efficiency[i],
                        r.rss_bytes[i] as f64 / (1024.0 * 1024.0)
                    );
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
                args.seed,
                args.threads,
            )
            .map_err(|e| match e {
                pmd_agent::bench::BenchError::Policy(p) => Failure::bad_input(p.to_string()),
                other => fail(other),
            })?;
            emit(args.json, &r, |r| {
                println!(
                    "policies: {} episodes each (seed range {}), at most {} steps",
                    r.episodes, r.seed, r.max_steps
                );
                for p in &r.results {
                    println!(
                        "  {:<12} mean max floor {:>6.2}   fainted {:>3}   cleared {:>3}   {:>7.0} steps/s",
                        p.policy, p.mean_max_floor, p.fainted, p.cleared, p.steps_per_s
                    );
                }
            })
        }
        Suite::Memory => {
            let r = memory::run(&rom, args.soak_frames, args.seed).map_err(fail)?;
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
