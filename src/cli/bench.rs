//! `pmd-agent bench <suite>`: the measurement suites of
//! `crate::bench`, printed as a summary or one JSON object.

use std::path::PathBuf;

use crate::bench::{memory, overhead, policies, scaling, smoke};
use crate::game::profile_for;
use crate::policy::PolicySpec;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::bench_history::{record, HistoryTool, Started};
use super::input_file::load_rom;
use super::Failure;

mod torch_suites;

/// Arguments of `bench`: a suite, each with its own arguments, or a tool
/// over recorded runs (`bench compare`, `bench plot`).
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to run.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// `bench`'s suites and tools.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The agent path (runner on its pool) versus bare emulation of the
    /// same frames and keys on as many threads.
    Overhead(OverheadArgs),
    /// Steps/s, frames/s and memory by environment count, relative to one.
    Scaling(ScalingArgs),
    /// RSS per environment and growth over a long run.
    Memory(MemoryArgs),
    /// Mean max floor of policies on the same seeds.
    Policies(PoliciesArgs),
    /// The vector memory's index: build, recall, queries/s, open time, RSS.
    Index(IndexArgs),
    /// The heuristic agent's exact input (keys.npy, steps.npy) for other
    /// frontends, and our agent path's speed on that very run.
    Keys(KeysArgs),
    /// µs per batch and per sample of a model's inference at several batch
    /// sizes, on real observations (runs in pmd-agent-torch).
    Inference(InferenceArgs),
    /// A torch policy's rollout steps/s in lockstep and asynchronously,
    /// next to the heuristic's (runs in pmd-agent-torch).
    E2e(E2eArgs),
    /// The mGBA-http socket designs (Lua server in mGBA, our server)
    /// against in-process.
    Socket(SocketArgs),
    /// Overhead and the rule policies, in well under a minute: for CI and
    /// the history (`--json --history FILE`).
    Smoke(SmokeArgs),
    #[allow(missing_docs)]
    #[command(flatten)]
    Tool(HistoryTool),
}

impl BenchCommand {
    /// The suite's name (`overhead`, …); `None` for the tools.
    pub fn suite(&self) -> Option<&'static str> {
        Some(match self {
            BenchCommand::Overhead(_) => "overhead",
            BenchCommand::Scaling(_) => "scaling",
            BenchCommand::Memory(_) => "memory",
            BenchCommand::Policies(_) => "policies",
            BenchCommand::Index(_) => "index",
            BenchCommand::Keys(_) => "keys",
            BenchCommand::Inference(_) => "inference",
            BenchCommand::E2e(_) => "e2e",
            BenchCommand::Socket(_) => "socket",
            BenchCommand::Smoke(_) => "smoke",
            BenchCommand::Tool(_) => return None,
        })
    }
}

/// The game a suite plays: the ROM and the run's seed.
#[derive(Debug, Args)]
pub struct Game {
    /// ROM with a RAM map; the bundled test cartridge when omitted.
    #[arg(long, value_name = "PATH")]
    pub rom: Option<PathBuf>,

    /// Run seed (for policies: the seed range judged on).
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
}

/// How every suite prints its report.
#[derive(Debug, Args)]
pub struct Common {
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,

    /// With --json: also append the report, with the commit, the machine
    /// (cores, load before and after) and the date, as one line of this
    /// JSON-lines file (`bench compare` and `bench plot` read it).
    #[arg(long, value_name = "FILE", requires = "json")]
    pub history: Option<PathBuf>,

    /// The load average when the arguments were read: the history's
    /// "before".
    #[arg(skip = Started::now())]
    started: Started,
}

/// `bench overhead`.
#[derive(Debug, Args)]
pub struct OverheadArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Environments (default: one per worker thread).
    #[arg(long, value_name = "N")]
    pub envs: Option<usize>,
    /// Lockstep rounds.
    #[arg(long, default_value_t = 1500, value_name = "N")]
    pub rounds: u64,
}

/// `bench scaling`.
#[derive(Debug, Args)]
pub struct ScalingArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The environment counts to measure besides 1 (default 2,4,8,16).
    #[arg(long, value_delimiter = ',', value_name = "N[,N..]")]
    pub envs: Vec<usize>,
    /// Steps measured per environment count.
    #[arg(long, default_value_t = 4000, value_name = "N")]
    pub steps: u64,
    /// Also draw steps/s against environments as a PNG chart.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
}

/// `bench memory`.
#[derive(Debug, Args)]
pub struct MemoryArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// Frames of the soak run.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub soak_frames: u64,
}

/// `bench policies`.
#[derive(Debug, Args)]
pub struct PoliciesArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Episodes per policy.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub episodes: usize,
    /// Step cap per episode.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub max_steps: u32,
    /// Which policies (random, heuristic, search, torch:PATH).
    #[arg(long, value_delimiter = ',', value_parser = parse_policy,
          default_values = ["random", "heuristic", "search"])]
    pub policies: Vec<PolicySpec>,
    /// Where a torch policy's network runs (cpu, cuda, cuda:N; default cpu).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<crate::policy::DeviceChoice>,
    /// Torch policies take their most probable legal action instead of
    /// sampling (the others are unaffected).
    #[arg(long, conflicts_with = "modes")]
    pub greedy: bool,
    /// Play each torch policy in each of these modes (sampled, greedy), on
    /// the same episodes, so their paired difference is reported too.
    #[arg(long, value_delimiter = ',', value_parser = ["sampled", "greedy"], value_name = "MODE[,MODE]")]
    pub modes: Vec<String>,
}

/// `bench index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    /// Synthetic points (dim 128, 1,000 clusters).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub points: usize,
    /// Synthetic queries.
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    pub queries_count: usize,
    /// Base vectors from a .npy float32 [N, D] file (L2-normalised by the
    /// caller) instead of synthetic ones; with --queries.
    #[arg(long, value_name = "FILE", requires = "queries")]
    pub vectors: Option<PathBuf>,
    /// Query vectors, .npy float32 [Q, D].
    #[arg(long, value_name = "FILE", requires = "vectors")]
    pub queries: Option<PathBuf>,
    /// Real state embeddings from recorded rollouts in DIR (every tenth
    /// state is a query, the rest the index).
    #[arg(long, value_name = "DIR", conflicts_with = "vectors")]
    pub trajectories: Option<PathBuf>,
    /// Also write the vectors and queries as .npy files into DIR (for the
    /// FAISS script).
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Where to build the index (replaced).
    #[arg(long, default_value = "target/bench-index", value_name = "DIR")]
    pub index_dir: PathBuf,
    /// Also measure a cold open (drops the page cache; needs root).
    #[arg(long)]
    pub cold: bool,
    /// Instead, measure exact scan against the graph at these synthetic
    /// sizes (where exact search stops paying; comma list).
    #[arg(long, value_delimiter = ',', value_name = "N[,N..]")]
    pub threshold_sizes: Vec<usize>,
    /// Seconds per throughput figure.
    #[arg(long, default_value_t = 2.0, value_name = "S")]
    pub min_time: f64,
}

/// `bench keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// Steps recorded.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub max_steps: u32,
    /// Where to write keys.npy, steps.npy and meta.json.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
}

/// `bench inference`.
#[derive(Debug, Args)]
pub struct InferenceArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// libtorch threads.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    /// The model file.
    #[arg(long, default_value = "models/default.pt", value_name = "FILE")]
    pub model: PathBuf,
    /// Where the network runs (cpu, cuda, cuda:N; default cpu).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<crate::policy::DeviceChoice>,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 64, 256, 1024], value_name = "N[,N..]")]
    pub batches: Vec<usize>,
    /// The dense first layer instead of the sparse one.
    #[arg(long)]
    pub dense: bool,
    /// Also write obs.npy and mask.npy, the rows it times, into DIR (for
    /// benches/torch/eager_bench.py).
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
}

/// `bench e2e`.
#[derive(Debug, Args)]
pub struct E2eArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Environment counts (default 1,8,64).
    #[arg(long, value_delimiter = ',', value_name = "N[,N..]")]
    pub envs: Vec<usize>,
    /// Steps per measurement.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub steps: u64,
    /// The model file.
    #[arg(long, default_value = "models/default.pt", value_name = "FILE")]
    pub model: PathBuf,
    /// Where the network runs (cpu, cuda, cuda:N; default cpu).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<crate::policy::DeviceChoice>,
    /// Asynchronous mode's largest batch.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_batch: usize,
    /// Asynchronous mode's wait for more ready environments, µs.
    #[arg(long, default_value_t = 200, value_name = "US")]
    pub max_wait_us: u64,
    /// Sleep up to this many µs before each step (pseudo-random, the same
    /// in every mode): step times that vary more.
    #[arg(long, default_value_t = 0, value_name = "US")]
    pub jitter_us: u64,
}

/// `bench socket`.
#[derive(Debug, Args)]
pub struct SocketArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// Environment count, or counts to sweep.
    #[arg(long, value_delimiter = ',', default_values_t = [1], value_name = "N[,N..]")]
    pub envs: Vec<usize>,
    /// Steps per environment.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub steps: u64,
    /// Also draw steps/s against environments as a PNG chart.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Steps of the original-style Python client (0 skips it).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub python_steps: u64,
    /// Pacing of the server processes (`realtime` is the desktop app's
    /// 59.73 frames/s; in-process is never paced).
    #[arg(long, default_value = "none", value_name = "realtime|none")]
    pub server_pace: crate::pacing::Pace,
}

/// `bench smoke`.
#[derive(Debug, Args)]
pub struct SmokeArgs {
    #[allow(missing_docs)]
    #[command(flatten)]
    pub common: Common,
    #[allow(missing_docs)]
    #[command(flatten)]
    pub game: Game,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

fn parse_policy(text: &str) -> Result<PolicySpec, String> {
    text.parse()
        .map_err(|e: crate::policy::PolicySpecError| e.to_string())
}

/// Prints a suite's report: one JSON object with `--json` (appended to
/// `--history FILE` as well, under `suite`), else the human summary
/// `human` prints.
pub fn emit<T: Serialize>(
    common: &Common,
    suite: &str,
    report: &T,
    human: impl FnOnce(&T),
) -> Result<(), Failure> {
    if common.json {
        let value = serde_json::to_value(report)
            .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
        println!("{value}");
        if let Some(path) = &common.history {
            record(path, suite.to_owned(), common.started, value)?;
        }
    } else {
        human(report);
    }
    Ok(())
}

/// Worker threads: `--threads`, else one per core; at least 1.
fn worker_threads(threads: Option<usize>) -> Result<usize, Failure> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match threads.unwrap_or(cores) {
        0 => Err(Failure::bad_input("--threads must be at least 1")),
        n => Ok(n),
    }
}

/// The suite's ROM, which must be a game with a RAM map.
fn suite_rom(game: &Game) -> Result<crate::emu::Rom, Failure> {
    let rom = load_rom(game.rom.as_ref())?;
    profile_for(rom.game_code())
        .map_err(|e| Failure::bad_input(format!("{}: {e}", rom.origin())))?;
    Ok(rom)
}

fn fail(e: crate::bench::BenchError) -> Failure {
    Failure::other(e.to_string())
}

/// Runs `bench`; `bench inference` through `torch` (libtorch's commands).
pub fn bench(args: &BenchArgs, torch: Option<&dyn super::TorchCommands>) -> Result<(), Failure> {
    match &args.command {
        BenchCommand::Tool(tool) => super::bench_history::run(tool),
        BenchCommand::Overhead(a) => overhead_suite(a),
        BenchCommand::Scaling(a) => scaling_suite(a),
        BenchCommand::Memory(a) => memory_suite(a),
        BenchCommand::Policies(a) => policies_suite(a),
        BenchCommand::Index(a) => bench_index(a),
        BenchCommand::Keys(a) => keys_suite(a),
        BenchCommand::Inference(a) => match torch {
            Some(torch) => torch.bench_inference(a, &suite_rom(&a.game)?),
            None => Err(Failure::bad_input(format!(
                "bench inference: {}",
                crate::policy::TORCH_FEATURE_NEEDED
            ))),
        },
        BenchCommand::E2e(a) => torch_suites::e2e(a, &suite_rom(&a.game)?),
        BenchCommand::Socket(a) => socket_suite(a),
        BenchCommand::Smoke(a) => smoke_suite(a),
    }
}

fn overhead_suite(args: &OverheadArgs) -> Result<(), Failure> {
    let rom = suite_rom(&args.game)?;
    let threads = worker_threads(args.threads)?;
    if args.rounds == 0 || args.envs == Some(0) {
        return Err(Failure::bad_input(
            "overhead takes --envs and --rounds of at least 1",
        ));
    }
    let envs = args.envs.unwrap_or(threads);
    let r = overhead::run(&rom, envs, threads, args.rounds, args.game.seed).map_err(fail)?;
    emit(&args.common, "overhead", &r, |r| {
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
        println!(
            "  CPU seconds: bare {:.3}, agent {:.3} (ratio {:.3}), recorder on {:.3} (ratio {:.3})",
            r.raw_cpu_seconds,
            r.agent_cpu_seconds,
            r.cpu_ratio,
            r.agent_record_cpu_seconds,
            r.cpu_ratio_record
        );
    })
}

fn scaling_suite(args: &ScalingArgs) -> Result<(), Failure> {
    let rom = suite_rom(&args.game)?;
    let threads = worker_threads(args.threads)?;
    if args.steps == 0 || args.envs.contains(&0) {
        return Err(Failure::bad_input("--steps and --envs must be at least 1"));
    }
    let counts = if args.envs.is_empty() {
        vec![1, 2, 4, 8, 16]
    } else {
        args.envs.clone()
    };
    let r = scaling::run(&rom, &counts, args.steps, threads, args.game.seed).map_err(fail)?;
    if let Some(path) = &args.plot {
        scaling::plot(&r, path).map_err(|e| Failure::bad_input(e.to_string()))?;
    }
    emit(&args.common, "scaling", &r, |r| {
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

fn policies_suite(args: &PoliciesArgs) -> Result<(), Failure> {
    let rom = suite_rom(&args.game)?;
    if args.episodes == 0 || args.max_steps == 0 || args.threads == Some(0) {
        return Err(Failure::bad_input(
            "--episodes, --max-steps and --threads must be at least 1",
        ));
    }
    let r = policies::run(
        &rom,
        &args.policies,
        args.episodes,
        args.max_steps,
        args.game.seed,
        args.threads,
        &crate::policy::BuildOptions {
            greedy: args.greedy,
            device: args.device.unwrap_or_default(),
            ..Default::default()
        },
        &args.modes.iter().map(|m| m == "greedy").collect::<Vec<_>>(),
    )
    .map_err(|e| match e {
        crate::bench::BenchError::Policy(p) => Failure::bad_input(p.to_string()),
        other => fail(other),
    })?;
    emit(&args.common, "policies", &r, |r| {
        println!(
            "policies: {} episodes each (seed range {}), at most {} steps; [95% bootstrap interval]",
            r.episodes, r.seed, r.max_steps
        );
        let name = |p: &policies::PolicyResult| match p.mode {
            Some(mode) => format!("{} ({mode})", p.policy),
            None => p.policy.clone(),
        };
        for p in &r.results {
            println!(
                "  {:<12} mean max floor {:>6.2} [{:.2}, {:.2}]   fainted {:>3}   cleared {:>3}   {:>5.2} tiles revealed/step   {:>7.0} steps/s",
                name(p), p.mean_max_floor, p.ci95[0], p.ci95[1], p.fainted, p.cleared, p.revealed_per_step, p.steps_per_s
            );
        }
        if let Some(b) = &r.first_floor_bounds {
            println!(
                "first floor: steps to leave it (not left: counted as {}); stairs on {} floors: shortest walk {:.1} [{:.1}, {:.1}], player-view bound {:.1} [{:.1}, {:.1}]",
                r.max_steps, b.floors, b.oracle_mean, b.oracle_ci95[0], b.oracle_ci95[1], b.player_mean, b.player_ci95[0], b.player_ci95[1]
            );
        }
        for p in &r.results {
            let bound = p.minus_player_bound.as_ref().map_or(String::new(), |d| {
                format!(
                    "   minus the player-view bound {:+.1} [{:+.1}, {:+.1}]",
                    d.mean, d.ci95[0], d.ci95[1]
                )
            });
            println!(
                "  {:<12} first floor {:>6.1} steps [{:.1}, {:.1}]   not left {:>3}{bound}",
                name(p),
                p.first_floor_mean,
                p.first_floor_ci95[0],
                p.first_floor_ci95[1],
                p.first_floor_unfinished
            );
        }
        if !r.paired.is_empty() {
            println!("paired differences (second minus first, same episodes):");
        }
        for d in &r.paired {
            let [w, l, t] = d.wins_losses_ties;
            println!(
                "  {} − {}: {:+.2} [{:+.2}, {:+.2}]   deeper {w}, shallower {l}, tied {t}",
                name(&r.results[d.b]),
                name(&r.results[d.a]),
                d.mean,
                d.ci95[0],
                d.ci95[1]
            );
        }
    })
}

fn socket_suite(args: &SocketArgs) -> Result<(), Failure> {
    if args.envs.is_empty() || args.envs.contains(&0) {
        return Err(Failure::bad_input("--envs must be at least 1"));
    }
    let report = super::bench_socket::bench(&super::bench_socket::SocketRun {
        rom: args.game.rom.as_ref(),
        steps: args.steps,
        envs: &args.envs,
        seed: u32::try_from(args.game.seed)
            .map_err(|_| Failure::bad_input("socket: --seed must fit in 32 bits"))?,
        json: args.common.json,
        plot: args.plot.as_deref(),
        python_steps: args.python_steps,
        server_pace: args.server_pace,
    })?;
    match report {
        Some(value) => emit(&args.common, "socket", &value, |_| {}),
        None => Ok(()),
    }
}

fn smoke_suite(args: &SmokeArgs) -> Result<(), Failure> {
    let rom = suite_rom(&args.game)?;
    let threads = worker_threads(args.threads)?;
    let r = smoke::run(&rom, threads, args.game.seed).map_err(fail)?;
    emit(&args.common, "smoke", &r, |r| {
        println!(
                "smoke: {} envs on {} threads, {} rounds; agent/bare frames/s ratio {:.3}, CPU ratio {:.3}",
                r.overhead.envs, r.overhead.threads, smoke::ROUNDS, r.overhead.ratio, r.overhead.cpu_ratio
            );
        for p in &r.policies.results {
            println!(
                    "  {:<10} mean max floor {:>5.2} over {} episodes of at most {} steps, {:>7.0} steps/s",
                    p.policy, p.mean_max_floor, r.policies.episodes, r.policies.max_steps, p.steps_per_s
                );
        }
    })
}

fn keys_suite(args: &KeysArgs) -> Result<(), Failure> {
    let rom = suite_rom(&args.game)?;
    let steps = args.max_steps.max(1);
    let r = crate::bench::keys::run(
        &rom,
        u64::from(steps),
        args.game.seed,
        args.export.as_deref(),
    )
    .map_err(fail)?;
    emit(&args.common, "keys", &r, |r| {
        println!(
            "keys: {} steps, {} frames (seed {} written after {} frames)",
            r.steps, r.frames, r.seed, r.seed_after
        );
        println!(
                "  our agent path, one thread, {} timed passes: {:.0} steps/s, {:.0} steps per CPU-second, {:.0} frames per CPU-second",
                r.passes, r.steps_per_s, r.steps_per_cpu_s, r.frames_per_cpu_s
            );
        println!(
            "  fingerprint: frame counter {}, input hash {:#010x}, EWRAM CRC-32 {:#010x}",
            r.fingerprint.frame_counter, r.fingerprint.input_hash, r.fingerprint.ewram_crc32
        );
    })
}

fn memory_suite(args: &MemoryArgs) -> Result<(), Failure> {
    let rom = suite_rom(&args.game)?;
    let r = memory::run(&rom, args.soak_frames, args.game.seed).map_err(fail)?;
    emit(&args.common, "memory", &r, |r| {
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

/// `bench index`: the vector memory's measurement on synthetic, given or
/// recorded vectors.
fn bench_index(args: &IndexArgs) -> Result<(), Failure> {
    use crate::memory::bench::{self as ibench, BenchOptions, Synthetic};
    use crate::memory::{npy, IndexConfig, Metric};
    let bad = |e: crate::memory::IndexError| Failure::bad_input(e.to_string());
    if !(args.min_time > 0.0 && args.min_time.is_finite()) {
        return Err(Failure::bad_input("--min-time must be positive"));
    }
    if !args.threshold_sizes.is_empty() {
        if args.threshold_sizes.contains(&0) {
            return Err(Failure::bad_input("--threshold-sizes must be at least 1"));
        }
        let rows = ibench::threshold_sweep(
            &args.threshold_sizes,
            &args.index_dir,
            std::time::Duration::from_secs_f64(args.min_time),
        )
        .map_err(|e| Failure::other(e.to_string()))?;
        return emit(&args.common, "index", &rows, |rows| {
            println!("points   exact q/s   HNSW q/s   ef   recall@10 (one thread)");
            for r in rows {
                println!(
                    "{:>7} {:>11.0} {:>10.0} {:>4} {:>10.3}",
                    r.points, r.exact_qps_1, r.hnsw_qps_1, r.ef, r.recall_at_10
                );
            }
        });
    }
    let (vectors, queries, dim) = match (&args.vectors, &args.queries, &args.trajectories) {
        (Some(v), Some(q), _) => {
            let v = npy::read(v).map_err(bad)?;
            let q = npy::read(q).map_err(bad)?;
            if v.cols != q.cols || v.cols == 0 {
                return Err(Failure::bad_input(format!(
                    "vectors have {} columns, queries {}",
                    v.cols, q.cols
                )));
            }
            (v.data, q.data, v.cols)
        }
        (_, _, Some(dir)) => {
            let files = crate::memory::trajectories::trajectory_files(dir)
                .map_err(|e| Failure::bad_input(format!("{}: {e}", dir.display())))?;
            let steps = crate::memory::trajectories::embed_trajectories(&files)
                .map_err(|e| Failure::bad_input(e.to_string()))?;
            let dim = crate::memory::embed::EMBED_DIM;
            let (mut base, mut query) = (Vec::new(), Vec::new());
            for (i, row) in steps.vectors.chunks_exact(dim).enumerate() {
                if i % 10 == 9 {
                    query.extend_from_slice(row);
                } else {
                    base.extend_from_slice(row);
                }
            }
            if query.is_empty() {
                return Err(Failure::bad_input(format!(
                    "{}: too few recorded states",
                    dir.display()
                )));
            }
            (base, query, dim)
        }
        _ => {
            if args.points == 0 || args.queries_count == 0 {
                return Err(Failure::bad_input(
                    "--points and --queries-count must be at least 1",
                ));
            }
            let syn = Synthetic::default();
            (
                syn.points(args.points, 0),
                syn.points(args.queries_count, 1),
                syn.dim,
            )
        }
    };
    if let Some(dir) = &args.export {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::bad_input(format!("{}: {e}", dir.display())))?;
        npy::write(&dir.join("vectors.npy"), vectors.len() / dim, dim, &vectors).map_err(bad)?;
        npy::write(&dir.join("queries.npy"), queries.len() / dim, dim, &queries).map_err(bad)?;
    }
    let exe = std::env::current_exe()
        .map_err(|e| Failure::other(format!("cannot find this program: {e}")))?;
    let opts = BenchOptions {
        vectors,
        queries,
        dim,
        metric: Metric::InnerProduct,
        config: IndexConfig::new(dim, Metric::InnerProduct),
        dir: args.index_dir.clone(),
        quantized: true,
        probe_command: Some(vec![
            exe.to_string_lossy().into_owned(),
            "index".into(),
            "probe".into(),
        ]),
        cold: args.cold,
        min_time: std::time::Duration::from_secs_f64(args.min_time),
    };
    let r = ibench::run(&opts).map_err(|e| Failure::other(e.to_string()))?;
    emit(&args.common, "index", &r, |r| {
        println!(
            "index: {} points of dim {}, built in {:.2} s; recall@10 {:.3} at ef {}; {:.0} q/s on 1 thread, {:.0} q/s on all; open → first query {:.2} ms; RSS after open {:.1} MB",
            r.points, r.dim, r.build_s, r.recall_at_10, r.ef, r.qps_1, r.qps_all,
            r.open_to_first_query_ms, r.rss_after_open_mb
        );
    })
}
