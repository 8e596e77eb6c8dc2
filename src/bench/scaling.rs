//! Scaling: the heuristic agent through the runner on N environments, for
//! each N asked for and always N = 1 (the baseline every efficiency is
//! relative to, measured in the same run), each after a warm-up: steps/s,
//! frames/s and resident memory.

use std::time::Instant;

use serde::Serialize;

use super::memory::rss_bytes;
use super::BenchError;
use crate::emu::Rom;
use crate::policy::{Heuristic, PerEnv};
use crate::rollout::{VecEnvConfig, VecEnvOptions};
use crate::runner::{Runner, StartPoint};

/// The `scaling` report.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingReport {
    /// Cores of this machine.
    pub cores: usize,
    /// Worker threads of the pool.
    pub threads: usize,
    /// Environment counts (1 first).
    pub envs: Vec<usize>,
    /// Steps per second at each count.
    pub steps_per_s: Vec<f64>,
    /// Frames per second at each count.
    pub frames_per_s: Vec<f64>,
    /// Resident memory after each count's run.
    pub rss_bytes: Vec<u64>,
    /// Steps/s over N = 1's.
    pub speedup: Vec<f64>,
    /// Speed-up divided by the cores the count can use, `min(N, threads)`
    /// (1.0 is perfect scaling).
    pub efficiency: Vec<f64>,
}

/// Runs the suite: `steps_per_count` steps (after a tenth as warm-up) for
/// each count in `counts`, plus N = 1 when missing.
pub fn run(
    rom: &Rom,
    counts: &[usize],
    steps_per_count: u64,
    threads: usize,
    seed: u64,
) -> Result<ScalingReport, BenchError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut envs: Vec<usize> = std::iter::once(1)
        .chain(counts.iter().copied().filter(|&n| n > 1))
        .collect();
    envs.dedup();
    let (mut steps_per_s, mut frames_per_s, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for &n in &envs {
        let config = VecEnvConfig {
            envs: n,
            seed,
            threads: Some(threads),
            ..VecEnvConfig::default()
        };
        let policy = Box::new(PerEnv(Heuristic::default()));
        let mut runner = Runner::new(
            rom,
            config,
            &StartPoint::default(),
            policy,
            None,
            VecEnvOptions::default(),
        )?;
        runner.run(
            steps_per_count / 10,
            |_| std::ops::ControlFlow::Continue(()),
        )?;
        let before = runner.stats();
        let started = Instant::now();
        runner.run(steps_per_count, |_| std::ops::ControlFlow::Continue(()))?;
        let seconds = started.elapsed().as_secs_f64();
        let after = runner.stats();
        let per_s = |x: u64| {
            if seconds > 0.0 {
                x as f64 / seconds
            } else {
                0.0
            }
        };
        steps_per_s.push(per_s(after.steps - before.steps));
        frames_per_s.push(per_s(after.frames - before.frames));
        rss.push(rss_bytes().unwrap_or(0));
    }
    let base = steps_per_s[0];
    let speedup: Vec<f64> = steps_per_s
        .iter()
        .map(|s| if base > 0.0 { s / base } else { 0.0 })
        .collect();
    let efficiency = speedup
        .iter()
        .zip(&envs)
        .map(|(s, &n)| s / n.min(threads).max(1) as f64)
        .collect();
    Ok(ScalingReport {
        cores,
        threads,
        envs,
        steps_per_s,
        frames_per_s,
        rss_bytes: rss,
        speedup,
        efficiency,
    })
}

/// Draws steps/s and frames/s/10 against the environment count as a PNG.
pub fn plot(r: &ScalingReport, path: &std::path::Path) -> Result<(), crate::plot::PlotError> {
    use crate::plot::{line_chart, Chart, Series};
    let series = [
        Series {
            name: "steps/s".into(),
            points: r
                .envs
                .iter()
                .zip(&r.steps_per_s)
                .map(|(&n, &s)| (n as f64, s))
                .collect(),
        },
        Series {
            name: "frames/s ÷ 10".into(),
            points: r
                .envs
                .iter()
                .zip(&r.frames_per_s)
                .map(|(&n, &f)| (n as f64, f / 10.0))
                .collect(),
        },
    ];
    let chart = Chart {
        title: format!(
            "heuristic agent through the runner, {} worker threads on {} cores",
            r.threads, r.cores
        ),
        x_label: "environments".into(),
        y_label: "per second".into(),
        log2_x: true,
        log10_y: false,
    };
    line_chart(path, &chart, &series)
}
