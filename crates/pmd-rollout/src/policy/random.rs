//! Uniformly random legal actions: the baseline every other policy must
//! beat.

use super::{Policy, PolicyContext};
use pmd_game::env::Action;

/// Picks one of the legal actions uniformly (waits when none is legal).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomPolicy;

impl Policy for RandomPolicy {
    fn name(&self) -> &'static str {
        "random"
    }

    fn act(&self, ctx: &mut PolicyContext<'_>) -> Action {
        let n = ctx.mask.count();
        ctx.mask.nth(ctx.rng.below(n)).unwrap_or(Action::Wait)
    }
}
