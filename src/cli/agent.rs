//! `pmd-agent run --policy …`: the main job. Parses the arguments, hands
//! the run to the library's [`Runner`], shows progress and prints the
//! report.

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::env::{EnvConfig, EnvError, SeedScope};
use crate::game::{profile_for, DecodeError};
use crate::memory::{EpisodicMemory, MemoryConfig};
use crate::metrics::Metrics;
use crate::policy::{threads, BuildOptions, InferenceMetrics, PolicySpec};
use crate::rollout::{NoTelemetry, Telemetry, VecEnvConfig, VecEnvError, VecEnvOptions};
use crate::runner::{default_run_id, RecordConfig, RunError, RunReport, Runner, StartPoint};

use super::input_file::{battery_save, load_rom, read_opt};
use super::progress::DelayedProgress;
use super::run::RunArgs;
use super::serve::MetricsServer;
use super::Failure;

/// Steps run when `--steps` is not given.
pub(super) const DEFAULT_STEPS: u64 = 5000;

/// The machine's cores (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One line for a run that could not start or go on.
pub(super) fn failure(origin: &str, e: RunError) -> Failure {
    match e {
        RunError::VecEnv(VecEnvError::Env {
            source: EnvError::Decode(DecodeError::NotInDungeon),
            ..
        }) => Failure::bad_input(format!(
            "{origin}: the game is not in a dungeon after reset; agents play from a savestate \
             taken inside one (--state FILE)"
        )),
        RunError::VecEnv(VecEnvError::Env {
            source: source @ (EnvError::Boot(_) | EnvError::Emu(_)),
            ..
        }) => Failure::bad_input(format!("{origin}: {source}")),
        RunError::Record(e) => Failure::bad_input(e.to_string()),
        other => Failure::other(other.to_string()),
    }
}

/// Runs the agent job.
pub fn run_agent(args: &RunArgs) -> Result<(), Failure> {
    let rom = load_rom(args.rom.as_ref())?;
    profile_for(rom.game_code())
        .map_err(|e| Failure::bad_input(format!("{}: {e}", rom.origin())))?;
    let start = StartPoint {
        state: read_opt(args.state.as_deref(), "savestate")?,
        battery: battery_save(args.rom.as_ref(), args.save.as_deref())?.map(|(_, b)| b),
    };
    let envs = args.envs.unwrap_or_else(cores);
    if envs == 0 || args.threads == Some(0) {
        return Err(Failure::bad_input(
            "--envs and --threads must be at least 1",
        ));
    }
    if args.max_episode_steps == 0 {
        return Err(Failure::bad_input("--max-episode-steps must be at least 1"));
    }
    let spec = args.policy.clone().unwrap_or(PolicySpec::Heuristic);
    let metrics = args.metrics_addr.map(|_| Arc::new(Metrics::new()));
    let pool_threads = args.threads.unwrap_or_else(cores);
    let workers = pool_threads.min(envs);
    let build = BuildOptions {
        device: args.device.unwrap_or_default(),
        // crate::policy::threads says why.
        intra_op_threads: Some(if args.async_mode {
            threads::async_threads(cores(), workers)
        } else {
            threads::lockstep_threads(pool_threads)
        }),
        greedy: args.greedy,
        metrics: metrics
            .as_ref()
            .map(|m| Arc::clone(m) as Arc<dyn InferenceMetrics>),
    };
    let _server = match (args.metrics_addr, &metrics) {
        (Some(addr), Some(m)) => Some(MetricsServer::start(addr, Arc::clone(m))?),
        _ => None,
    };
    let telemetry: Arc<dyn Telemetry> = match &metrics {
        Some(m) => Arc::clone(m) as Arc<dyn Telemetry>,
        None => Arc::new(NoTelemetry),
    };
    let mut config = VecEnvConfig {
        envs,
        seed: args.seed,
        // Turned on below too when the policy reads frames.
        frames: args.record_frames,
        threads: args.threads,
        env: EnvConfig {
            max_episode_steps: Some(args.max_episode_steps),
            ..EnvConfig::default()
        },
        ..VecEnvConfig::default()
    };
    if args.async_mode {
        let options = VecEnvOptions {
            telemetry,
            hook: None,
        };
        let run = super::agent_async::AsyncRun {
            rom: &rom,
            start: &start,
            config,
            options,
            workers,
            metrics,
        };
        return super::agent_async::run_async(args, &spec, &build, run);
    }
    let policy = spec
        .build_with(&build)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    config.frames |= policy.reads_frames();
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| default_run_id(args.seed));
    let record = args.record.as_ref().map(|dir| RecordConfig {
        dir: dir.clone(),
        frames: args.record_frames,
        batch_rows: args.record_batch_rows,
        run_id: Some(run_id.clone()),
    });
    if !(args.novelty_beta.is_finite() && args.novelty_beta >= 0.0) {
        return Err(Failure::bad_input("--novelty-beta must be a number >= 0"));
    }
    let save_every = std::time::Duration::try_from_secs_f64(args.memory_save_secs)
        .map_err(|_| Failure::bad_input("--memory-save-secs must be a number >= 0"))?;
    let memory = match &args.memory {
        Some(dir) => Some(
            EpisodicMemory::open(
                dir,
                &run_id,
                MemoryConfig {
                    beta: args.novelty_beta,
                    save_every: Some(save_every),
                    ..MemoryConfig::default()
                },
            )
            .map_err(|e| Failure::bad_input(format!("{}: {e}", dir.display())))?,
        ),
        None => None,
    };
    let options = VecEnvOptions {
        telemetry,
        hook: None,
    };
    let mut runner = Runner::new(&rom, config, &start, policy, record.as_ref(), options)
        .map_err(|e| failure(rom.origin(), e))?;
    if let Some(memory) = memory {
        runner = runner.with_memory(memory);
    }
    if let Some(m) = &metrics {
        m.set_ready(true);
    }
    if runner.vec_env().seed_scope() == SeedScope::NextFloor {
        eprintln!(
            "pmd-agent: note: the start point is inside a floor that already exists, so every \
             episode starts on that same floor; the seed decides only the later floors and the \
             game's random rolls"
        );
    }

    let total = args.steps.unwrap_or(DEFAULT_STEPS);
    let mut progress = DelayedProgress::new(total.div_ceil(envs as u64) * envs as u64, "steps");
    let ran = runner.run(total, |stats| {
        progress.set_position(stats.steps);
        let quarantined = if stats.quarantined > 0 {
            format!(" quarantined {}", stats.quarantined)
        } else {
            String::new()
        };
        progress.set_message(format!(
            "episodes {} best floor {}{quarantined}",
            stats.episodes, stats.best_floor
        ));
        ControlFlow::Continue(())
    });
    progress.finish();
    ran.map_err(|e| failure(rom.origin(), e))?;
    let report = runner.finish().map_err(|e| failure(rom.origin(), e))?;
    if args.json {
        let line = serde_json::to_string(&report)
            .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
        println!("{line}");
    } else {
        print_report(&report, rom.title());
    }
    Ok(())
}

pub(super) fn print_report(r: &RunReport, title: &str) {
    println!("policy     {} on {} envs ({title})", r.policy, r.envs);
    println!("steps      {} ({:.0} steps/s)", r.steps, r.steps_per_s);
    println!("frames     {} ({:.0} frames/s)", r.frames, r.frames_per_s);
    println!(
        "episodes   {} finished: {} terminated, {} truncated; mean max floor {:.2}, best floor {}",
        r.episodes, r.terminated, r.truncated, r.mean_max_floor, r.best_floor
    );
    let reasons: Vec<String> = r
        .end_reasons
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    if !reasons.is_empty() {
        println!("ended by   {}", reasons.join(", "));
    }
    println!("failures   {} (rolled back)", r.failures);
    if !r.quarantined_envs.is_empty() {
        println!("quarantined envs {:?}", r.quarantined_envs);
    }
    if let Some(m) = &r.memory {
        println!(
            "memory     {} states at start ({} mapped), {} at end, mean novelty bonus {:.4}",
            m.points_at_start, m.mapped_at_start, m.points_at_end, m.mean_bonus
        );
    }
    if let (Some(path), Some(rows)) = (&r.record_file, r.record_rows) {
        println!("recorded   {rows} rows to {}", path.display());
    }
    println!("time       {:.3} s", r.seconds);
}
