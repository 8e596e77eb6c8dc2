//! Policy quality: each policy plays the same episodes — environment `k`
//! of a run seeded with `seed` plays its first episode, whose dungeon seed
//! is `episode_seed(seed, k, 0)` — each cut at `max_steps` steps, through
//! the same path a run takes (the runner's batch-policy seam on a
//! `VecEnv`), so any policy spec, batched or not, is measured alike. The
//! seed picks the seed range: tune on one, judge on another.
//!
//! Each mean comes with a 95% interval (percentile bootstrap over
//! episodes, [`BOOTSTRAP_RESAMPLES`] resamples), and every pair of
//! policies with the paired difference of their means on the same
//! episodes and its interval: the episodes differ far more from each other
//! than the policies do, so pairing is what resolves a small difference.
//!
//! Each policy also has the steps it took to leave the first floor, and
//! the report has, for the same first floors read whole from RAM, the
//! shortest walk to the stairs and the lower bound for any policy on the
//! player's view (`pmd_game::stairs_bound`); each policy's paired
//! difference from that bound says whether it finds the stairs faster
//! than a player could.

use std::time::Instant;

use serde::Serialize;

use super::BenchError;
use crate::emu::Rom;
use crate::env::{EndReason, EnvConfig};
use crate::game::stairs_bound::{stairs_bound, StairsBound};
use crate::policy::{BuildOptions, PolicySpec};
use crate::rng::Rng;
use crate::rollout::{VecEnv, VecEnvConfig};

/// One policy's results.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    /// Policy spec.
    pub policy: String,
    /// Greedy (most probable legal action) or sampled, for torch policies;
    /// `None` for the others.
    pub mode: Option<&'static str>,
    /// Mean over episodes of the deepest floor reached.
    pub mean_max_floor: f64,
    /// 95% bootstrap interval of that mean.
    pub ci95: [f64; 2],
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
    /// Steps each episode took to leave its first floor (`None`: it did
    /// not, within the cap or before it ended), in seed order.
    pub first_floor_steps: Vec<Option<u32>>,
    /// Mean of those steps, an episode that did not leave counted as the
    /// step cap, and its 95% bootstrap interval.
    pub first_floor_mean: f64,
    /// 95% bootstrap interval of `first_floor_mean`.
    pub first_floor_ci95: [f64; 2],
    /// Episodes that did not leave their first floor.
    pub first_floor_unfinished: usize,
    /// The steps to leave the first floor (counted as above) minus the
    /// player-view bound, paired over the episodes that have one: below
    /// zero (with every episode leaving its first floor: an episode cut
    /// short counts as the cap, less than it would have taken), faster in
    /// the mean than any policy on the player's view can be.
    pub minus_player_bound: Option<BoundDifference>,
}

/// A policy's first-floor steps minus a bound, on the same floors.
#[derive(Debug, Clone, Serialize)]
pub struct BoundDifference {
    /// Mean difference, in steps.
    pub mean: f64,
    /// Its 95% bootstrap interval.
    pub ci95: [f64; 2],
    /// Floors it is taken over.
    pub floors: usize,
}

/// The first floors' stairs bounds (`pmd_game::stairs_bound`), over the
/// episodes whose floor has one.
#[derive(Debug, Clone, Serialize)]
pub struct FirstFloorBounds {
    /// Episodes whose first floor has the bounds.
    pub floors: usize,
    /// Mean shortest walk to the stairs (plus the step onto the next
    /// floor) and its 95% bootstrap interval.
    pub oracle_mean: f64,
    /// Interval of `oracle_mean`.
    pub oracle_ci95: [f64; 2],
    /// Mean lower bound for a policy on the player's view, and interval.
    pub player_mean: f64,
    /// Interval of `player_mean`.
    pub player_ci95: [f64; 2],
    /// Per episode in seed order: `[oracle, player]`, or `None`.
    pub per_episode: Vec<Option<[f64; 2]>>,
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
    /// Every pair of results (`b` after `a` in `results`): the mean over
    /// episodes of `b`'s deepest floor minus `a`'s, on the same episodes.
    pub paired: Vec<PairedDifference>,
    /// What finding the first floor's stairs costs: the shortest walk and
    /// the player-view bound (`None` when no episode's floor has them, and
    /// for any game but the bundled cartridge, whose layout the bound
    /// assumes).
    pub first_floor_bounds: Option<FirstFloorBounds>,
}

/// Resamples of each bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// One pair's difference, episode by episode.
#[derive(Debug, Clone, Serialize)]
pub struct PairedDifference {
    /// Index in `results` of the first policy.
    pub a: usize,
    /// Index of the second.
    pub b: usize,
    /// Mean of `b − a` over episodes.
    pub mean: f64,
    /// 95% bootstrap interval of that mean.
    pub ci95: [f64; 2],
    /// Episodes where `b` went deeper, where `a` did, and ties.
    pub wins_losses_ties: [usize; 3],
}

/// Mean of `values` and its 95% percentile-bootstrap interval (resampling
/// the values with replacement; `seed` fixes the resamples).
pub fn bootstrap_mean(values: &[f64], seed: u64) -> (f64, [f64; 2]) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, [f64::NAN, f64::NAN]);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut rng = Rng::new(seed, 0x600d);
    let bound = u32::try_from(n).unwrap_or(u32::MAX);
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            (0..n)
                .map(|_| values[rng.below(bound) as usize])
                .sum::<f64>()
                / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (means.len() - 1) as f64).round() as usize).min(means.len() - 1)];
    (mean, [at(0.025), at(0.975)])
}

fn first_floor_bounds(bounds: &[Option<StairsBound>], seed: u64) -> Option<FirstFloorBounds> {
    let known: Vec<_> = bounds.iter().flatten().collect();
    if known.is_empty() {
        return None;
    }
    let oracle: Vec<f64> = known.iter().map(|b| f64::from(b.oracle)).collect();
    let player: Vec<f64> = known.iter().map(|b| b.player).collect();
    let (oracle_mean, oracle_ci95) = bootstrap_mean(&oracle, seed);
    let (player_mean, player_ci95) = bootstrap_mean(&player, seed);
    Some(FirstFloorBounds {
        floors: known.len(),
        oracle_mean,
        oracle_ci95,
        player_mean,
        player_ci95,
        per_episode: bounds
            .iter()
            .map(|b| b.map(|b| [f64::from(b.oracle), b.player]))
            .collect(),
    })
}

fn paired(results: &[PolicyResult], seed: u64) -> Vec<PairedDifference> {
    let mut out = Vec::new();
    for a in 0..results.len() {
        for b in a + 1..results.len() {
            let (fa, fb) = (&results[a].max_floors, &results[b].max_floors);
            let diffs: Vec<f64> = fa
                .iter()
                .zip(fb)
                .map(|(&x, &y)| f64::from(y) - f64::from(x))
                .collect();
            let (mean, ci95) = bootstrap_mean(&diffs, seed);
            let count = |f: fn(f64) -> bool| diffs.iter().filter(|&&d| f(d)).count();
            out.push(PairedDifference {
                a,
                b,
                mean,
                ci95,
                wins_losses_ties: [count(|d| d > 0.0), count(|d| d < 0.0), count(|d| d == 0.0)],
            });
        }
    }
    out
}

/// Plays `episodes` episodes with each policy in `specs`, built with
/// `options` (a torch policy's device); torch policies play once in each
/// of `modes` (`false`: sampled, `true`: greedy; empty: `options.greedy`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    rom: &Rom,
    specs: &[PolicySpec],
    episodes: usize,
    max_steps: u32,
    seed: u64,
    threads: Option<usize>,
    options: &BuildOptions,
    modes: &[bool],
) -> Result<PoliciesReport, BenchError> {
    let default_mode = [options.greedy];
    let modes = if modes.is_empty() {
        &default_mode[..]
    } else {
        modes
    };
    // The first floors' bounds, read from the first run's environments
    // before they step (every run starts from the same floors).
    let mut bounds: Vec<Option<StairsBound>> = Vec::new();
    let mut runs = Vec::new();
    for spec in specs {
        if matches!(spec, PolicySpec::Torch(_)) {
            runs.extend(modes.iter().map(|&greedy| (spec, Some(greedy))));
        } else {
            runs.push((spec, None));
        }
    }
    let mut results = Vec::with_capacity(runs.len());
    for (spec, greedy) in runs {
        let options = BuildOptions {
            greedy: greedy.unwrap_or(options.greedy),
            ..options.clone()
        };
        let mut policy = spec.build_with(&options)?;
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
        // Only the cartridge's floors are laid out as the bound assumes.
        if bounds.is_empty() && rom.game_code() == crate::cartridge::GAME_CODE {
            bounds = (0..n).map(|i| stairs_bound(v.env(i).state())).collect();
        }
        let first_floor: Vec<u8> = (0..n).map(|i| v.env(i).state().floor).collect();
        let mut left_first: Vec<Option<u32>> = vec![None; n];
        let mut actions = vec![crate::env::Action::Wait; n];
        let started = Instant::now();
        while finished.iter().any(|f| !f) {
            policy.act(v.policy_input(), &mut actions)?;
            v.step(&actions)?;
            for (i, info) in v.infos().iter().enumerate() {
                if finished[i] || info.episode != 0 {
                    continue;
                }
                if info.rolled_back {
                    // A failed step changed nothing, unless the runner gave
                    // up on the episode (then it resets to the next one).
                    if info.done() {
                        ended[i] = info.reason;
                        finished[i] = true;
                    }
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
                if left_first[i].is_none() && info.state.floor != first_floor[i] {
                    left_first[i] = u32::try_from(e.3).ok();
                }
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
        let floors: Vec<f64> = max_floor.iter().map(|&f| f64::from(f)).collect();
        let (mean_max_floor, ci95) = bootstrap_mean(&floors, seed);
        let capped: Vec<f64> = left_first
            .iter()
            .map(|s| f64::from(s.unwrap_or(max_steps)))
            .collect();
        let (first_floor_mean, first_floor_ci95) = bootstrap_mean(&capped, seed);
        let minus_bound: Vec<f64> = capped
            .iter()
            .zip(&bounds)
            .filter_map(|(&steps, b)| b.map(|b| steps - b.player))
            .collect();
        let minus_player_bound = (!minus_bound.is_empty()).then(|| {
            let (mean, ci95) = bootstrap_mean(&minus_bound, seed);
            BoundDifference {
                mean,
                ci95,
                floors: minus_bound.len(),
            }
        });
        results.push(PolicyResult {
            policy: spec.to_string(),
            mode: greedy.map(|g| if g { "greedy" } else { "sampled" }),
            mean_max_floor,
            ci95,
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
            first_floor_unfinished: left_first.iter().filter(|s| s.is_none()).count(),
            first_floor_steps: left_first,
            first_floor_mean,
            first_floor_ci95,
            minus_player_bound,
        });
    }
    let paired = paired(&results, seed);
    Ok(PoliciesReport {
        episodes,
        max_steps,
        seed,
        results,
        paired,
        first_floor_bounds: first_floor_bounds(&bounds, seed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_interval_holds_the_mean_and_narrows_with_episodes() {
        let few: Vec<f64> = (0..20).map(|i| f64::from(i % 5)).collect();
        let many: Vec<f64> = (0..2000).map(|i| f64::from(i % 5)).collect();
        let (m, [lo, hi]) = bootstrap_mean(&few, 1);
        assert!((m - 2.0).abs() < 1e-12);
        assert!(lo < m && m < hi, "{lo} {m} {hi}");
        let (_, [lo2, hi2]) = bootstrap_mean(&many, 1);
        assert!(
            hi2 - lo2 < (hi - lo) / 5.0,
            "{lo2}..{hi2} against {lo}..{hi}"
        );
        let constant = bootstrap_mean(&[3.0; 10], 1);
        assert_eq!(constant, (3.0, [3.0, 3.0]));
    }

    #[test]
    fn paired_differences_see_what_unpaired_intervals_miss() {
        // b is a's floors plus one on every fourth episode: the policies'
        // intervals overlap, the paired difference excludes zero.
        let a: Vec<u8> = (0..100).map(|i| 1 + (i % 7) as u8).collect();
        let b: Vec<u8> = a
            .iter()
            .enumerate()
            .map(|(i, &f)| f + u8::from(i % 4 == 0))
            .collect();
        let result = |floors: Vec<u8>| PolicyResult {
            policy: String::new(),
            mode: None,
            mean_max_floor: 0.0,
            ci95: [0.0; 2],
            fainted: 0,
            cleared: 0,
            steps_per_s: 0.0,
            revealed_per_step: 0.0,
            max_floors: floors,
            first_floor_steps: Vec::new(),
            first_floor_mean: 0.0,
            first_floor_ci95: [0.0; 2],
            first_floor_unfinished: 0,
            minus_player_bound: None,
        };
        let d = &paired(&[result(a), result(b)], 3)[0];
        assert!((d.mean - 0.25).abs() < 1e-12);
        assert!(d.ci95[0] > 0.0 && d.ci95[1] > d.ci95[0], "{:?}", d.ci95);
        assert_eq!(d.wins_losses_ties, [25, 0, 75]);
    }

    #[test]
    fn no_policy_leaves_the_first_floor_faster_than_the_shortest_walk() {
        // The bench reads the bounds from the same floors the policies
        // play: a policy that left its first floor took at least the
        // shortest walk to the stairs (and the step onto them).
        let rom = crate::cartridge::rom().unwrap();
        let specs: Vec<PolicySpec> = vec!["heuristic".parse().unwrap()];
        let r = run(
            &rom,
            &specs,
            6,
            200,
            11,
            Some(1),
            &BuildOptions::default(),
            &[],
        )
        .unwrap();
        let b = r
            .first_floor_bounds
            .as_ref()
            .expect("cartridge floors have bounds");
        assert_eq!((b.floors, b.per_episode.len()), (6, 6));
        let p = &r.results[0];
        assert_eq!(p.first_floor_steps.len(), 6);
        let mut left = 0;
        for (steps, bound) in p.first_floor_steps.iter().zip(&b.per_episode) {
            let [oracle, player] = bound.unwrap();
            assert!(oracle >= 2.0 && player >= 2.0, "{oracle} {player}");
            if let Some(steps) = steps {
                assert!(
                    f64::from(*steps) >= oracle,
                    "{steps} steps, shortest walk {oracle}"
                );
                left += 1;
            }
        }
        assert!(left > 0, "the heuristic left no first floor in 200 steps");
        assert_eq!(p.first_floor_unfinished, 6 - left);
        let d = p.minus_player_bound.as_ref().unwrap();
        assert_eq!(d.floors, 6);
        assert!(d.ci95[0] <= d.mean && d.mean <= d.ci95[1]);
    }
}
