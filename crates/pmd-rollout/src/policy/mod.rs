//! Policies: how actions are chosen.
//!
//! Two traits, one seam:
//!
//! - [`BatchPolicy`] sees the whole batch at once — the contiguous
//!   `[N, F]` feature buffer and `[N, A]` action masks (as `ndarray`
//!   views over the rollout's own buffers, so a forward pass reads them
//!   without copying), and the environments — and writes N actions. The
//!   runner drives every policy through it.
//! - [`Policy`] decides for one environment at a time, seeing its decoded
//!   state, its feature row, its mask and its own random stream (and the
//!   `Env` itself, mutable, so lookahead can branch with savestates).
//!   [`PerEnv`] adapts it to a `BatchPolicy`, running it for every
//!   environment in parallel on the rollout's pool.
//!
//! Policies are chosen by a parsed [`PolicySpec`] (`random`, `heuristic`,
//! `search`, `torch:PATH`). Every built-in policy honours the action mask.
//! Policies that decide from observation rows alone implement
//! [`RowPolicy`] (random, torch) and run in lockstep ([`Lockstep`]) or
//! asynchronously ([`crate::async_runner`]).

mod heuristic;
mod random;
mod rows;
mod search;
mod spec;

pub use crate::device::{DeviceChoice, DeviceError};
pub mod threads;
pub use heuristic::Heuristic;
pub use random::RandomPolicy;
pub use rows::{InferenceMetrics, Lockstep, RowBatch, RowPolicy};
pub use search::{Guide, PlannedReturn, Search, PRUNE_PRIOR, RETURN_GAMMA};
pub use spec::{
    install_guide_loader, install_torch_loader, BuildOptions, GuideLoader, PolicySpec,
    PolicySpecError, SearchParams, TorchLoader, TORCH_FEATURE_NEEDED,
};

pub use crate::EnvContext as PolicyContext;
use crate::PolicyInput;
use pmd_game::env::{Action, ActionMask};

/// Why a policy could not be built or could not decide.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy needs something this build or machine lacks.
    #[error("{policy}: {reason}")]
    Unavailable {
        /// The policy spec.
        policy: String,
        /// What is missing.
        reason: String,
    },
    /// The policy failed to decide.
    #[error("{policy} failed: {reason}")]
    Failed {
        /// The policy's name.
        policy: String,
        /// Why.
        reason: String,
    },
}

/// Decides for one environment at a time.
pub trait Policy: Send + Sync {
    /// A short name (`random`, `heuristic`, `search`).
    fn name(&self) -> &'static str;
    /// The action for one environment; must be in `ctx.mask` unless the
    /// mask is empty.
    fn act(&self, ctx: &mut PolicyContext<'_>) -> Action;
}

/// Decides for every environment of a batch at once.
pub trait BatchPolicy: Send {
    /// A short name for reports.
    fn name(&self) -> &str;
    /// Writes one action per environment into `actions` (its length is
    /// the number of environments). Quarantined environments' actions are
    /// ignored.
    fn act(&mut self, input: PolicyInput<'_>, actions: &mut [Action]) -> Result<(), PolicyError>;

    /// Whether it needs the downsampled frames beside the features (the
    /// run then makes them); false unless a policy says so.
    fn reads_frames(&self) -> bool {
        false
    }
}

/// A per-environment [`Policy`] run for every environment in parallel.
#[derive(Debug, Clone, Copy, Default)]
pub struct PerEnv<P>(pub P);

impl<P: Policy> BatchPolicy for PerEnv<P> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn act(
        &mut self,
        mut input: PolicyInput<'_>,
        actions: &mut [Action],
    ) -> Result<(), PolicyError> {
        let policy = &self.0;
        input.envs.par_decide(actions, |ctx| policy.act(ctx));
        Ok(())
    }
}

/// `choice` when `mask` allows it; otherwise waiting when allowed, else the
/// first legal action; `Wait` when nothing is legal.
pub fn legal_or_fallback(mask: ActionMask, choice: Action) -> Action {
    if mask.contains(choice) {
        choice
    } else if mask.contains(Action::Wait) {
        Action::Wait
    } else {
        mask.nth(0).unwrap_or(Action::Wait)
    }
}
