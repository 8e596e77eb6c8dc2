//! Memory: resident set size with 1 and with 64 environments alive, and
//! its growth over a long run (the heuristic agent on two environments
//! until `soak_frames` frames have been emulated, measured from the end of
//! a warm-up tenth).

use serde::Serialize;

use super::BenchError;
use crate::emu::Rom;
use crate::env::Action;
use crate::policy::{BatchPolicy, Heuristic, PerEnv};
use crate::rollout::{VecEnv, VecEnvConfig};

/// The `memory` report (bytes).
#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    /// RSS with one environment.
    pub rss_1: u64,
    /// RSS with 64 environments.
    pub rss_64: u64,
    /// `(rss_64 - rss_1) / 63` (goal ≤ 4 MiB).
    pub per_env_bytes: u64,
    /// Frames emulated by the soak run.
    pub soak_frames: u64,
    /// RSS growth over the soak run after warm-up (goal ≤ 1 MiB).
    pub soak_growth_bytes: i64,
}

pub use crate::procfs::rss_bytes;

fn envs(rom: &Rom, n: usize, seed: u64) -> Result<VecEnv, BenchError> {
    let config = VecEnvConfig {
        envs: n,
        seed,
        ..VecEnvConfig::default()
    };
    Ok(VecEnv::new(rom, config, |_| Ok(()))?)
}

/// Runs the suite.
pub fn run(rom: &Rom, soak_frames: u64, seed: u64) -> Result<MemoryReport, BenchError> {
    let mut policy = PerEnv(Heuristic::default());
    let rss_1 = {
        let mut one = envs(rom, 1, seed)?;
        // touch every buffer once
        one.step(&[Action::Wait])?;
        rss_bytes().ok_or(BenchError::NoRss)?
    };
    let rss_64 = {
        let mut many = envs(rom, 64, seed)?;
        many.step(&[Action::Wait; 64])?;
        rss_bytes().ok_or(BenchError::NoRss)?
    };

    let mut soak = envs(rom, 2, seed)?;
    let mut actions = [Action::Wait; 2];
    let warm_up = soak_frames / 10;
    let mut baseline = None;
    while soak.stats().frames < soak_frames {
        policy.act(soak.policy_input(), &mut actions)?;
        soak.step(&actions)?;
        if baseline.is_none() && soak.stats().frames >= warm_up {
            baseline = rss_bytes();
        }
    }
    let end = rss_bytes().ok_or(BenchError::NoRss)?;
    let baseline = baseline.unwrap_or(end);
    Ok(MemoryReport {
        rss_1,
        rss_64,
        per_env_bytes: rss_64.saturating_sub(rss_1) / 63,
        soak_frames: soak.stats().frames,
        soak_growth_bytes: end as i64 - baseline as i64,
    })
}
