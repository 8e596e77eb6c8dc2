//! Policy quality: each policy plays the same episodes (seeds
//! `episode_seed(seed, 0, k)` for k in 0..episodes), each cut at
//! `max_steps`; the deepest floor of every episode is reported. Episodes
//! run in parallel, one environment per worker thread.

use rand::rngs::SmallRng;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::Serialize;

use super::BenchError;
use crate::emu::Rom;
use crate::env::{Env, EnvConfig};
use crate::policy::{PolicyContext, PolicyKind};
use crate::rollout::{episode_seed, obs};

/// One policy's results.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    /// Policy name.
    pub policy: String,
    /// Mean over episodes of the deepest floor reached.
    pub mean_max_floor: f64,
    /// Episodes that ended with the leader fainting.
    pub fainted: usize,
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
    /// Results, in the order asked for.
    pub results: Vec<PolicyResult>,
}

/// Plays `episodes` episodes with each policy in `kinds`.
pub fn run(
    rom: &Rom,
    kinds: &[PolicyKind],
    episodes: usize,
    max_steps: u32,
    seed: u64,
) -> Result<PoliciesReport, BenchError> {
    let mut results = Vec::with_capacity(kinds.len());
    for &kind in kinds {
        let policy = kind.build();
        let outcomes: Vec<(u8, bool)> = (0..episodes)
            .into_par_iter()
            .map_init(
                || vec![0.0f32; obs::FEATURES],
                |features, k| -> Result<(u8, bool), BenchError> {
                    // A core per episode: creating one takes about a millisecond.
                    let env = &mut Env::new(rom, EnvConfig::default())?;
                    let episode_seed = episode_seed(seed, 0, k as u64);
                    env.reset(episode_seed)?;
                    let mut rng = SmallRng::seed_from_u64(u64::from(episode_seed));
                    let mut max_floor = env.state().floor;
                    let mut fainted = false;
                    for _ in 0..max_steps {
                        obs::encode(env.state(), env.floor_turns(), features);
                        let mut ctx = PolicyContext {
                            env,
                            features,
                            rng: &mut rng,
                        };
                        let action = policy.act(&mut ctx);
                        let r = env.step(action)?;
                        max_floor = max_floor.max(r.state.floor);
                        if r.done {
                            fainted = r.state.hp <= 0;
                            break;
                        }
                    }
                    Ok((max_floor, fainted))
                },
            )
            .collect::<Result<_, _>>()?;
        let max_floors: Vec<u8> = outcomes.iter().map(|(f, _)| *f).collect();
        results.push(PolicyResult {
            policy: policy.name().to_string(),
            mean_max_floor: max_floors.iter().map(|&f| f64::from(f)).sum::<f64>()
                / episodes.max(1) as f64,
            fainted: outcomes.iter().filter(|(_, fainted)| *fainted).count(),
            max_floors,
        });
    }
    Ok(PoliciesReport {
        episodes,
        max_steps,
        results,
    })
}
