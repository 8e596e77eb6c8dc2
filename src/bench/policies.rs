//! Policy quality: each policy plays the same episodes — environment `k`
//! of a run seeded with `seed` plays its first episode, whose dungeon seed
//! is `episode_seed(seed, k, 0)` — each cut at `max_steps` steps, through
//! the same path a run takes (the runner's batch-policy seam on a
//! `VecEnv`), so any policy spec, batched or not, is measured alike. The
//! seed picks the seed range: tune on one, judge on another.

use std::time::Instant;

use serde::Serialize;

use super::BenchError;
use crate::emu::Rom;
use crate::env::{EndReason, EnvConfig};
use crate::policy::{BuildOptions, PolicySpec};
use crate::rollout::{VecEnv, VecEnvConfig};

/// One policy's results.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    /// Policy spec.
    pub policy: String,
    /// Mean over episodes of the deepest floor reached.
    pub mean_max_floor: f64,
    /// Episodes that ended with the leader fainting.
    pub fainted: usize,
    /// Episodes that cleared the dungeon.
    pub cleared: usize,
    /// Environment steps per second while playing them.
    pub steps_per_s: f64,
    /// Exploration: tiles revealed (summed over the floors visited) per
    /// step, mean over episodes.
    pub revealed_per_step: f64,
    /// Deepest floor of each episode, in seed order.
    pub max_floors: Vec<u8>,
}

/// The `policies` report.
#[derive(Debug, Clone, Serialize)]
pub struct PoliciesReport {
    /// Episodes per policy.
    pub episodes: usize,
    /// Step cap per episode.
    pub max_steps: u32,
    /// The run seed (the seed range: `episode_seed(seed, k, 0)` for each
    /// episode k).
    pub seed: u64,
    /// Results, in the order asked for.
    pub results: Vec<PolicyResult>,
}

/// Plays `episodes` episodes with each policy in `specs`, built with
/// `options` (a torch policy's device, greedy or sampled actions).
pub fn run(
    rom: &Rom,
    specs: &[PolicySpec],
    episodes: usize,
    max_steps: u32,
    seed: u64,
    threads: Option<usize>,
    options: &BuildOptions,
) -> Result<PoliciesReport, BenchError> {
    let mut results = Vec::with_capacity(specs.len());
    for spec in specs {
        let mut policy = spec.build_with(options)?;
        let config = VecEnvConfig {
            envs: episodes.max(1),
            seed,
            threads,
            env: EnvConfig {
                max_episode_steps: Some(max_steps),
                ..EnvConfig::default()
            },
            ..VecEnvConfig::default()
        };
        let mut v = VecEnv::new(rom, config, |_| Ok(()))?;
        let n = v.len();
        let mut max_floor: Vec<u8> = (0..n).map(|i| v.env(i).state().floor).collect();
        let mut ended: Vec<Option<EndReason>> = vec![None; n];
        let mut finished = vec![false; n];
        // Per env: revealed tiles of the floors left behind, of the
        // current floor, the floor, and the steps taken.
        let revealed = |s: &crate::game::DungeonState| {
            s.tiles().iter().filter(|t| t.revealed()).count() as u64
        };
        let mut explored: Vec<(u64, u64, u8, u64)> = (0..n)
            .map(|i| (0, revealed(v.env(i).state()), v.env(i).state().floor, 0))
            .collect();
        let mut actions = vec![crate::env::Action::Wait; n];
        let started = Instant::now();
        while finished.iter().any(|f| !f) {
            policy.act(v.policy_input(), &mut actions)?;
            v.step(&actions)?;
            for (i, info) in v.infos().iter().enumerate() {
                if finished[i] || info.episode != 0 || info.rolled_back {
                    continue;
                }
                max_floor[i] = max_floor[i].max(info.state.floor);
                let state = if info.done() {
                    v.final_state(i)
                } else {
                    v.env(i).state()
                };
                let e = &mut explored[i];
                if state.floor != e.2 {
                    e.0 += e.1;
                    e.2 = state.floor;
                }
                e.1 = revealed(state);
                e.3 += 1;
                if info.done() {
                    ended[i] = info.reason;
                    finished[i] = true;
                }
            }
            // A quarantined environment will never finish its episode.
            for (i, done) in finished.iter_mut().enumerate() {
                *done |= v.is_quarantined(i);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let steps = v.stats().steps;
        results.push(PolicyResult {
            policy: spec.to_string(),
            mean_max_floor: max_floor.iter().map(|&f| f64::from(f)).sum::<f64>() / n as f64,
            fainted: ended
                .iter()
                .filter(|r| **r == Some(EndReason::Fainted))
                .count(),
            cleared: ended
                .iter()
                .filter(|r| **r == Some(EndReason::Cleared))
                .count(),
            steps_per_s: if seconds > 0.0 {
                steps as f64 / seconds
            } else {
                0.0
            },
            revealed_per_step: explored
                .iter()
                .map(|e| (e.0 + e.1) as f64 / e.3.max(1) as f64)
                .sum::<f64>()
                / n as f64,
            max_floors: max_floor,
        });
    }
    Ok(PoliciesReport {
        episodes,
        max_steps,
        seed,
        results,
    })
}
