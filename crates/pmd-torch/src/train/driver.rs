//! The PPO training loop: collect `n_steps` steps of every environment,
//! bootstrap, update, report, repeat.

use std::ops::ControlFlow;
use std::time::Instant;

use super::buffer::RolloutBuffer;
use super::collect::Collector;
use super::env::VecEnvironment;
use super::ppo::{Ppo, UpdateStats};
use super::TrainError;

/// One line of the training log.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateReport {
    /// 1-based update number.
    pub update: usize,
    /// Environment steps so far (all environments).
    pub env_steps: u64,
    /// Episodes finished during this rollout.
    pub episodes: usize,
    /// Mean return of those episodes (NaN if none finished).
    pub mean_return: f64,
    /// Mean last progress of those episodes (NaN if none or not reported).
    pub mean_progress: f64,
    /// The update's statistics.
    pub stats: UpdateStats,
    /// Wall-clock seconds since training started.
    pub seconds: f64,
}

/// Runs PPO for at least `total_steps` environment steps (rounded up to
/// whole rollouts), calling `on_update` after each update (with the
/// learner, e.g. to anneal its learning rate or save its network); it
/// stops early when that says so.
pub fn train_ppo<E: VecEnvironment>(
    ppo: &mut Ppo,
    env: &mut E,
    total_steps: u64,
    mut on_update: impl FnMut(&mut Ppo, &UpdateReport) -> ControlFlow<()>,
) -> Result<Vec<UpdateReport>, TrainError> {
    let n = env.num_envs();
    if n == 0 {
        return Err(TrainError::Invalid("no environments".into()));
    }
    let frames = ppo.net().config().frames;
    let mut buf = RolloutBuffer::new(n, ppo.config().n_steps, frames)?;
    let mut collector = Collector::new(n, ppo.config().seed ^ 0x0005_EED0_FAC7, frames);
    let started = Instant::now();
    let mut env_steps = 0u64;
    let mut reports = Vec::new();
    while env_steps < total_steps {
        buf.clear();
        collector.finished.clear();
        for _ in 0..ppo.config().n_steps {
            collector.step(ppo.net(), env, &mut buf)?;
            env_steps += n as u64;
        }
        collector.bootstrap(ppo.net(), env, &mut buf)?;
        let stats = ppo.update(&buf)?;
        let episodes = collector.finished.len();
        let mean = |f: fn(&(f64, f64)) -> f64| {
            if episodes == 0 {
                f64::NAN
            } else {
                collector.finished.iter().map(f).sum::<f64>() / episodes as f64
            }
        };
        let report = UpdateReport {
            update: reports.len() + 1,
            env_steps,
            episodes,
            mean_return: mean(|e| e.0),
            mean_progress: mean(|e| e.1),
            stats,
            seconds: started.elapsed().as_secs_f64(),
        };
        reports.push(report);
        if on_update(ppo, &report).is_break() {
            break;
        }
    }
    Ok(reports)
}
