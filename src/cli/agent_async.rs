//! `pmd-agent run --async`: the agent job on the library's
//! [`AsyncRunner`] (environments stepped by worker threads, one batching
//! inference loop). Same arguments, progress and report as lockstep.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use crate::async_runner::{AsyncConfig, AsyncError, AsyncRunner};
use crate::emu::Rom;
use crate::metrics::Metrics;
use crate::policy::{BuildOptions, InferenceMetrics, PolicySpec, RowPolicy as _};
use crate::rollout::{VecEnvConfig, VecEnvOptions};
use crate::runner::StartPoint;

use super::agent::{failure, print_report};
use super::progress::DelayedProgress;
use super::run::RunArgs;
use super::Failure;

use super::agent::DEFAULT_STEPS;

/// What `run_agent` prepared for the run.
pub struct AsyncRun<'a> {
    /// The game.
    pub rom: &'a Rom,
    /// Where episodes start.
    pub start: &'a StartPoint,
    /// The environments.
    pub config: VecEnvConfig,
    /// Telemetry.
    pub options: VecEnvOptions,
    /// Environment worker threads.
    pub workers: usize,
    /// The metrics registry, when served.
    pub metrics: Option<Arc<Metrics>>,
}

fn async_failure(origin: &str, e: AsyncError) -> Failure {
    match e {
        AsyncError::Run(e) => failure(origin, e),
        AsyncError::Config(_) => Failure::bad_input(e.to_string()),
        other => Failure::other(other.to_string()),
    }
}

/// Runs the agent job asynchronously.
pub fn run_async(
    args: &RunArgs,
    spec: &PolicySpec,
    build: &BuildOptions,
    run: AsyncRun<'_>,
) -> Result<(), Failure> {
    if args.max_batch == 0 {
        return Err(Failure::bad_input("--max-batch must be at least 1"));
    }
    let policy = spec
        .build_rows(build)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let mut config = run.config;
    config.frames |= policy.reads_frames();
    let async_config = AsyncConfig {
        workers: run.workers,
        max_batch: args.max_batch,
        max_wait: Duration::from_micros(args.max_wait_us),
    };
    let origin = run.rom.origin();
    let mut runner = AsyncRunner::new(
        run.rom,
        config,
        run.start,
        policy,
        async_config,
        run.options,
    )
    .map_err(|e| async_failure(origin, e))?;
    if let Some(m) = &run.metrics {
        runner = runner.with_metrics(Arc::clone(m) as Arc<dyn InferenceMetrics>);
        m.set_ready(true);
    }
    let envs = config.envs as u64;
    let total = args.steps.unwrap_or(DEFAULT_STEPS);
    let mut progress = DelayedProgress::new(total.div_ceil(envs) * envs, "steps");
    let ran = runner.run(total, |stats| {
        progress.set_position(stats.steps);
        progress.set_message(format!(
            "episodes {} best floor {}",
            stats.episodes, stats.best_floor
        ));
        ControlFlow::Continue(())
    });
    progress.finish();
    ran.map_err(|e| async_failure(origin, e))?;
    let report = runner.report();
    if args.json {
        let line = serde_json::to_string(&report)
            .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
        println!("{line}");
    } else {
        print_report(&report, run.rom.title());
        let (batches, rows) = runner.batching();
        println!(
            "batching   {batches} inference batches, {:.1} rows on average",
            rows as f64 / batches.max(1) as f64
        );
    }
    Ok(())
}
