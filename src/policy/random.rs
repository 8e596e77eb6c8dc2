//! Uniformly random actions: the baseline every other policy must beat.

use rand::Rng;

use super::{Policy, PolicyContext};
use crate::env::{Action, ACTION_COUNT};

/// Picks one of the `ACTION_COUNT` actions uniformly.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomPolicy;

impl Policy for RandomPolicy {
    fn name(&self) -> &'static str {
        "random"
    }

    fn act(&self, ctx: &mut PolicyContext<'_>) -> Action {
        let i = ctx.rng.random_range(0..ACTION_COUNT);
        Action::from_index(i).unwrap_or(Action::Wait)
    }
}
