//! [`RowPolicy`]: policies that decide from observation rows alone — the
//! features, the mask and one random draw per row — without the
//! environments. They can be driven two ways:
//!
//! - in lockstep, over the whole batch at once, by [`Lockstep`] (a
//!   [`BatchPolicy`]): the rows are the runner's own contiguous buffers,
//!   not copied;
//! - asynchronously, by [`crate::async_runner::AsyncRunner`]: whichever
//!   environments are ready are gathered into a batch.
//!
//! Every row's draw comes from its environment's own random stream (one
//! `next_u64` per step, the stream per-environment policies use), so an
//! environment's actions do not depend on which other rows shared its
//! batch, on the thread count, or on the mode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{BatchPolicy, PolicyError, RandomPolicy};
use crate::{obs, PolicyInput};
use pmd_game::env::{Action, ActionMask, ACTION_COUNT};
use pmd_util::rng::below_of;

/// The rows of one decision.
#[derive(Debug, Clone, Copy)]
pub struct RowBatch<'a> {
    /// Observations, `[B, obs::FEATURES]` row-major.
    pub features: &'a [f32],
    /// Legal actions, `[B, ACTION_COUNT]` row-major. A row with no legal
    /// action belongs to a quarantined environment: its action is ignored.
    pub masks: &'a [bool],
    /// Downsampled frames, `[B, 1, 80, 120]`, when the rollout makes them.
    pub frames: Option<&'a [u8]>,
    /// One random draw per row from the row's environment's stream.
    pub draws: &'a [u64],
    /// The environment of each row.
    pub envs: &'a [usize],
}

impl RowBatch<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.draws.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.draws.is_empty()
    }

    /// Row `i`'s legal actions as a set.
    pub fn mask(&self, i: usize) -> ActionMask {
        ActionMask::from_row(&self.masks[i * ACTION_COUNT..(i + 1) * ACTION_COUNT])
    }

    /// Checks that every buffer has the size the row count implies.
    pub fn check(&self) -> Result<(), String> {
        let n = self.len();
        let frames_ok = self
            .frames
            .is_none_or(|f| f.len() == n * crate::frames::LEN);
        if self.features.len() != n * obs::FEATURES
            || self.masks.len() != n * ACTION_COUNT
            || self.envs.len() != n
            || !frames_ok
        {
            return Err(format!(
                "a batch of {n} rows needs {} features, {} mask flags and {n} environments; got {}, {} and {}",
                n * obs::FEATURES,
                n * ACTION_COUNT,
                self.features.len(),
                self.masks.len(),
                self.envs.len()
            ));
        }
        Ok(())
    }
}

/// Decides for rows of observations.
pub trait RowPolicy: Send {
    /// A short name for reports.
    fn name(&self) -> &str;

    /// Writes one action per row into `actions` (`rows.len()` of them). A
    /// row with an empty mask gets any action (it is not stepped).
    fn act_rows(&mut self, rows: RowBatch<'_>, actions: &mut [Action]) -> Result<(), PolicyError>;

    /// Whether it needs the downsampled frames beside the features (the
    /// run then makes them); false unless a policy says so.
    fn reads_frames(&self) -> bool {
        false
    }
}

impl<P: RowPolicy + ?Sized> RowPolicy for Box<P> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn reads_frames(&self) -> bool {
        (**self).reads_frames()
    }

    fn act_rows(&mut self, rows: RowBatch<'_>, actions: &mut [Action]) -> Result<(), PolicyError> {
        (**self).act_rows(rows, actions)
    }
}

/// The uniform policy decides from the mask and the draw: the same action
/// [`RandomPolicy`] picks from the same stream (`below(count)` of one
/// draw), so lockstep and asynchronous random runs are the same runs.
impl RowPolicy for RandomPolicy {
    fn name(&self) -> &str {
        "random"
    }

    fn act_rows(&mut self, rows: RowBatch<'_>, actions: &mut [Action]) -> Result<(), PolicyError> {
        for (i, action) in actions.iter_mut().enumerate().take(rows.len()) {
            let mask = rows.mask(i);
            *action = mask
                .nth(below_of(rows.draws[i], mask.count()))
                .unwrap_or(Action::Wait);
        }
        Ok(())
    }
}

/// Where batched inference reports what it does; [`crate::metrics::Metrics`]
/// keeps them as Prometheus histograms.
pub trait InferenceMetrics: Send + Sync {
    /// One forward pass over `rows` rows took `forward`.
    fn observe_batch(&self, rows: usize, forward: Duration);
    /// One environment waited `latency` from its observation being ready
    /// to its action (asynchronous mode: queueing, gathering and the
    /// forward pass).
    fn observe_request(&self, latency: Duration);
}

/// A [`RowPolicy`] driven in lockstep: one decision over every
/// environment's row per round, straight from the runner's buffers.
pub struct Lockstep<P> {
    policy: P,
    draws: Vec<u64>,
    envs: Vec<usize>,
    metrics: Option<Arc<dyn InferenceMetrics>>,
}

impl<P: RowPolicy> Lockstep<P> {
    /// Wraps `policy`.
    pub fn new(policy: P) -> Lockstep<P> {
        Lockstep {
            policy,
            draws: Vec::new(),
            envs: Vec::new(),
            metrics: None,
        }
    }

    /// Reports each round's batch size and time to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn InferenceMetrics>) -> Lockstep<P> {
        self.metrics = Some(metrics);
        self
    }

    /// The wrapped policy.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The wrapped policy, mutable.
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.policy
    }
}

impl<P: RowPolicy> BatchPolicy for Lockstep<P> {
    fn name(&self) -> &str {
        self.policy.name()
    }

    fn reads_frames(&self) -> bool {
        self.policy.reads_frames()
    }

    fn act(
        &mut self,
        mut input: PolicyInput<'_>,
        actions: &mut [Action],
    ) -> Result<(), PolicyError> {
        let n = input.obs.len();
        self.draws.clear();
        self.envs.clear();
        for i in 0..n {
            // Quarantined environments draw nothing, as with per-env
            // policies.
            let draw = if input.obs.active[i] {
                input.envs.rng(i).next_u64()
            } else {
                0
            };
            self.draws.push(draw);
            self.envs.push(i);
        }
        let rows = RowBatch {
            // The runner's buffer itself.
            features: input.obs.features,
            masks: input.obs.masks,
            frames: input.obs.frames,
            draws: &self.draws,
            envs: &self.envs,
        };
        let started = self.metrics.is_some().then(Instant::now);
        self.policy.act_rows(rows, actions)?;
        if let (Some(m), Some(t)) = (&self.metrics, started) {
            m.observe_batch(n, t.elapsed());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_rows_pick_legal_actions_and_wait_on_empty_masks() {
        let mut masks = vec![false; 2 * ACTION_COUNT];
        masks[3] = true;
        masks[7] = true;
        let features = vec![0.0; 2 * obs::FEATURES];
        let rows = RowBatch {
            features: &features,
            masks: &masks,
            frames: None,
            draws: &[u64::MAX, 5],
            envs: &[0, 1],
        };
        rows.check().unwrap();
        let mut actions = [Action::TakeStairs; 2];
        RandomPolicy.act_rows(rows, &mut actions).unwrap();
        assert_eq!(actions[0], Action::from_index(7).unwrap());
        assert_eq!(actions[1], Action::Wait);
        let short = RowBatch { envs: &[0], ..rows };
        assert!(short.check().is_err());
    }
}
