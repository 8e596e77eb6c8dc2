//! Policies: one action per environment per step.
//!
//! A policy sees its environment through a [`PolicyContext`]: the decoded
//! state and the feature row for feature-based policies, and the `Env`
//! itself (mutable) so lookahead policies can branch with savestates.
//! [`VecEnv::act`](crate::rollout::VecEnv::act) calls it for every
//! environment in parallel.

mod heuristic;
mod random;
mod search;

use std::str::FromStr;

use rand::rngs::SmallRng;

use crate::env::{Action, Env};

pub use heuristic::Heuristic;
pub use random::RandomPolicy;
pub use search::Search;

/// What a policy may look at (and, for lookahead, branch) for one
/// environment.
pub struct PolicyContext<'a> {
    /// The environment; a policy that steps it must restore it before
    /// returning (see [`Search`]).
    pub env: &'a mut Env,
    /// The environment's observation row (`rollout::obs::FEATURES`).
    pub features: &'a [f32],
    /// The environment's own random stream (reproducible per run seed).
    pub rng: &'a mut SmallRng,
}

/// Decides actions.
pub trait Policy: Send + Sync {
    /// A short name (`random`, `heuristic`, `search`).
    fn name(&self) -> &'static str;
    /// The action for one environment.
    fn act(&self, ctx: &mut PolicyContext<'_>) -> Action;
}

/// The policies the CLI offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyKind {
    /// Uniformly random actions.
    Random,
    /// Map-reading rules: fight, heal, stairs, explore.
    Heuristic,
    /// Savestate lookahead over the heuristic.
    Search,
}

impl PolicyKind {
    /// Builds the policy.
    pub fn build(self) -> Box<dyn Policy> {
        match self {
            PolicyKind::Random => Box::new(RandomPolicy),
            PolicyKind::Heuristic => Box::new(Heuristic::default()),
            PolicyKind::Search => Box::new(Search::default()),
        }
    }
}

impl FromStr for PolicyKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <PolicyKind as clap::ValueEnum>::from_str(s, true)
    }
}
