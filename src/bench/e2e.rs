//! End to end: rollout steps/s of a policy at several environment counts,
//! in lockstep ([`Runner`]) and asynchronously ([`AsyncRunner`]), next to
//! a baseline policy in lockstep, all in the same run. Each measurement
//! builds its environments, warms up for a tenth of its steps, then times
//! `steps` steps.
//!
//! Step times vary by themselves (a move is 8 frames, a floor change
//! dozens, a map redraw costs more than an idle turn); `jitter_us` adds
//! more: before each step the environment sleeps a pseudo-random 0 to
//! `jitter_us` µs (a hook, the same for every policy and mode), standing
//! in for games whose turns vary more than the cartridge's.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::BenchError;
use crate::async_runner::{AsyncConfig, AsyncRunner};
use crate::emu::Rom;
use crate::env::{Env, EnvError};
use crate::policy::{BuildOptions, PolicySpec};
use crate::rng::mix64;
use crate::rollout::{EnvHook, NoTelemetry, VecEnvConfig, VecEnvOptions};
use crate::runner::{Runner, StartPoint};

/// What to measure.
#[derive(Debug, Clone)]
pub struct E2eConfig {
    /// The policy measured in both modes (a row policy: random or torch).
    pub policy: PolicySpec,
    /// The lockstep baseline (the heuristic).
    pub baseline: PolicySpec,
    /// Environment counts.
    pub envs: Vec<usize>,
    /// Steps timed per measurement (after a tenth as warm-up).
    pub steps: u64,
    /// Worker threads: the lockstep pool, and the asynchronous workers
    /// (at most one per environment).
    pub threads: usize,
    /// Run seed.
    pub seed: u64,
    /// Asynchronous mode: largest batch.
    pub max_batch: usize,
    /// Asynchronous mode: wait for more ready environments.
    pub max_wait: Duration,
    /// Extra per-step delay, up to this many µs (0: none).
    pub jitter_us: u64,
    /// Where the policy's network runs.
    pub device: crate::policy::DeviceChoice,
}

/// The `e2e` report.
#[derive(Debug, Clone, Serialize)]
pub struct E2eReport {
    /// Cores of this machine.
    pub cores: usize,
    /// Worker threads.
    pub threads: usize,
    /// The policy measured.
    pub policy: String,
    /// The baseline.
    pub baseline: String,
    /// Environment counts.
    pub envs: Vec<usize>,
    /// Steps timed per measurement.
    pub steps: u64,
    /// Extra per-step delay bound, µs.
    pub jitter_us: u64,
    /// Baseline steps/s in lockstep, per count.
    pub baseline_lockstep: Vec<f64>,
    /// The policy's steps/s in lockstep.
    pub lockstep: Vec<f64>,
    /// The policy's steps/s asynchronously.
    #[serde(rename = "async")]
    pub async_: Vec<f64>,
    /// Lockstep over the baseline.
    pub lockstep_vs_baseline: Vec<f64>,
    /// Asynchronous over the baseline.
    pub async_vs_baseline: Vec<f64>,
    /// Asynchronous over lockstep.
    pub async_vs_lockstep: Vec<f64>,
    /// Mean rows per inference in asynchronous mode.
    pub async_mean_batch: Vec<f64>,
}

/// Sleeps a pseudo-random `0..=max_us` µs before each step, the same for a
/// given (environment, episode, step) in every run.
#[derive(Debug, Clone, Copy)]
pub struct JitterHook {
    /// Upper bound, µs.
    pub max_us: u64,
}

impl EnvHook for JitterHook {
    fn before_step(
        &self,
        index: usize,
        episode: u64,
        step: u32,
        _env: &mut Env,
    ) -> Result<(), EnvError> {
        if self.max_us > 0 {
            let h = mix64(mix64(index as u64 ^ (episode << 20)) ^ u64::from(step));
            std::thread::sleep(Duration::from_micros(h % (self.max_us + 1)));
        }
        Ok(())
    }
}

fn options(jitter_us: u64) -> VecEnvOptions {
    VecEnvOptions {
        telemetry: Arc::new(NoTelemetry),
        hook: (jitter_us > 0)
            .then(|| Arc::new(JitterHook { max_us: jitter_us }) as Arc<dyn EnvHook>),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn per_s(steps: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        steps as f64 / seconds
    } else {
        0.0
    }
}

fn vec_config(c: &E2eConfig, n: usize) -> VecEnvConfig {
    VecEnvConfig {
        envs: n,
        seed: c.seed,
        threads: Some(c.threads),
        ..VecEnvConfig::default()
    }
}

/// Lockstep steps/s of `spec` on `n` environments.
fn lockstep(rom: &Rom, c: &E2eConfig, spec: &PolicySpec, n: usize) -> Result<f64, BenchError> {
    let build = BuildOptions {
        intra_op_threads: Some(crate::policy::threads::lockstep_threads(c.threads)),
        device: c.device,
        ..BuildOptions::default()
    };
    let policy = spec.build_with(&build)?;
    let mut runner = Runner::new(
        rom,
        vec_config(c, n),
        &StartPoint::default(),
        policy,
        None,
        options(c.jitter_us),
    )?;
    runner.run(c.steps / 10, |_| ControlFlow::Continue(()))?;
    let before = runner.stats().steps;
    let started = Instant::now();
    runner.run(c.steps, |_| ControlFlow::Continue(()))?;
    Ok(per_s(
        runner.stats().steps - before,
        started.elapsed().as_secs_f64(),
    ))
}

/// Asynchronous steps/s of `spec` on `n` environments, and the mean batch.
fn asynchronous(
    rom: &Rom,
    c: &E2eConfig,
    spec: &PolicySpec,
    n: usize,
) -> Result<(f64, f64), BenchError> {
    let workers = c.threads.min(n);
    let build = BuildOptions {
        intra_op_threads: Some(crate::policy::threads::async_threads(cores(), workers)),
        device: c.device,
        ..BuildOptions::default()
    };
    let policy = spec.build_rows(&build)?;
    let config = AsyncConfig {
        workers,
        max_batch: c.max_batch,
        max_wait: c.max_wait,
    };
    let mut runner = AsyncRunner::new(
        rom,
        vec_config(c, n),
        &StartPoint::default(),
        policy,
        config,
        options(c.jitter_us),
    )?;
    runner.run(c.steps / 10, |_| ControlFlow::Continue(()))?;
    let before = runner.stats().steps;
    let (batches_before, rows_before) = runner.batching();
    let started = Instant::now();
    runner.run(c.steps, |_| ControlFlow::Continue(()))?;
    let seconds = started.elapsed().as_secs_f64();
    let (batches, rows) = runner.batching();
    let mean_batch = (rows - rows_before) as f64 / (batches - batches_before).max(1) as f64;
    Ok((per_s(runner.stats().steps - before, seconds), mean_batch))
}

/// Runs the suite.
pub fn run(rom: &Rom, c: &E2eConfig) -> Result<E2eReport, BenchError> {
    let mut r = E2eReport {
        cores: cores(),
        threads: c.threads,
        policy: c.policy.to_string(),
        baseline: c.baseline.to_string(),
        envs: c.envs.clone(),
        steps: c.steps,
        jitter_us: c.jitter_us,
        baseline_lockstep: Vec::new(),
        lockstep: Vec::new(),
        async_: Vec::new(),
        lockstep_vs_baseline: Vec::new(),
        async_vs_baseline: Vec::new(),
        async_vs_lockstep: Vec::new(),
        async_mean_batch: Vec::new(),
    };
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    for &n in &c.envs {
        let base = lockstep(rom, c, &c.baseline, n)?;
        let lock = lockstep(rom, c, &c.policy, n)?;
        let (asy, mean_batch) = asynchronous(rom, c, &c.policy, n)?;
        r.baseline_lockstep.push(base);
        r.lockstep.push(lock);
        r.async_.push(asy);
        r.lockstep_vs_baseline.push(ratio(lock, base));
        r.async_vs_baseline.push(ratio(asy, base));
        r.async_vs_lockstep.push(ratio(asy, lock));
        r.async_mean_batch.push(mean_batch);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_every_count_in_both_modes() {
        let rom = crate::cartridge::rom().unwrap();
        let c = E2eConfig {
            policy: PolicySpec::Random,
            baseline: PolicySpec::Heuristic,
            envs: vec![1, 3],
            steps: 30,
            threads: 2,
            seed: 4,
            max_batch: 2,
            max_wait: Duration::from_micros(50),
            jitter_us: 100,
            device: crate::policy::DeviceChoice::Cpu,
        };
        let r = run(&rom, &c).unwrap();
        assert_eq!(r.envs, [1, 3]);
        for v in [&r.baseline_lockstep, &r.lockstep, &r.async_] {
            assert_eq!(v.len(), 2);
            assert!(v.iter().all(|&s| s > 0.0), "{v:?}");
        }
        assert!(r.async_mean_batch.iter().all(|&b| (1.0..=2.0).contains(&b)));
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["async"].is_array(), "{json}");
    }
}
