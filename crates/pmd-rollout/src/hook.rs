//! [`EnvHook`]: code run inside an environment's fault isolation, just
//! before each reset and each step — for instrumentation, and for fault
//! injection: a hook that returns an error or panics is handled exactly
//! like an environment that does (the tests use it to prove that recovery
//! is bounded and that broken environments are quarantined).

use pmd_game::env::{Env, EnvError};

/// Runs before resets and steps of the environments of a
/// [`VecEnv`](super::VecEnv), on their worker threads.
pub trait EnvHook: Send + Sync {
    /// Before environment `index` resets for `episode`; an error counts as
    /// a failed reset.
    fn before_reset(&self, index: usize, episode: u64, env: &mut Env) -> Result<(), EnvError> {
        let _ = (index, episode, env);
        Ok(())
    }

    /// Before environment `index` takes step `step` of `episode`; an error
    /// counts as a failed step.
    fn before_step(
        &self,
        index: usize,
        episode: u64,
        step: u32,
        env: &mut Env,
    ) -> Result<(), EnvError> {
        let _ = (index, episode, step, env);
        Ok(())
    }

    /// Before environment `index` takes a checkpoint (a snapshot to roll
    /// back to) after a successful step; an error counts as a failed
    /// checkpoint, which keeps the step and the previous checkpoint.
    fn before_checkpoint(&self, index: usize, env: &mut Env) -> Result<(), EnvError> {
        let _ = (index, env);
        Ok(())
    }
}
