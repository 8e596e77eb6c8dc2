//! Scaling: the heuristic agent on N = 1, 2, 4, 8 environments (one worker
//! thread per core), `rounds` lockstep rounds each; steps/s and parallel
//! efficiency (speed-up over N = 1, divided by N).

use std::time::Instant;

use serde::Serialize;

use super::BenchError;
use crate::emu::Rom;
use crate::env::Action;
use crate::policy::Heuristic;
use crate::rollout::{VecEnv, VecEnvConfig};

/// The `scaling` report.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingReport {
    /// Environment counts.
    pub envs: Vec<usize>,
    /// Steps per second at each count.
    pub steps_per_s: Vec<f64>,
    /// Speed-up over one environment divided by the count.
    pub efficiency: Vec<f64>,
    /// Worker threads used.
    pub threads: usize,
}

/// Runs the suite for each count in `counts`.
pub fn run(
    rom: &Rom,
    counts: &[usize],
    rounds: u32,
    seed: u64,
) -> Result<ScalingReport, BenchError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let policy = Heuristic::default();
    let mut steps_per_s = Vec::with_capacity(counts.len());
    for &n in counts {
        let config = VecEnvConfig {
            envs: n,
            seed,
            threads: Some(threads),
            ..VecEnvConfig::default()
        };
        let mut vec_env = VecEnv::new(rom, config, |_| Ok(()))?;
        let mut actions = vec![Action::Wait; n];
        let t = Instant::now();
        for _ in 0..rounds {
            vec_env.act(&policy, &mut actions);
            vec_env.step(&actions);
        }
        let seconds = t.elapsed().as_secs_f64();
        let steps = vec_env.stats().steps as f64;
        steps_per_s.push(if seconds > 0.0 { steps / seconds } else { 0.0 });
    }
    let base = steps_per_s.first().copied().unwrap_or(0.0);
    let efficiency = counts
        .iter()
        .zip(&steps_per_s)
        .map(|(&n, &s)| if base > 0.0 { s / base / n as f64 } else { 0.0 })
        .collect();
    Ok(ScalingReport {
        envs: counts.to_vec(),
        steps_per_s,
        efficiency,
        threads,
    })
}
