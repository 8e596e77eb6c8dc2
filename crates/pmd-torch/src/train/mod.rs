//! Training in Rust on tch (the `torch` feature): PPO and behaviour
//! cloning.
//!
//! - [`buffer`]: the rollout buffer (T steps × N environments).
//! - [`gae`]: advantages with gymnasium's terminated/truncated semantics.
//! - [`env`]: [`VecEnvironment`], what training drives, and the project's
//!   `VecEnv` as one.
//! - [`collect`]: PPO's rollouts; [`ppo`]: the clipped-objective update;
//!   [`driver`]: the loop of both.
//! - [`bc`]: behaviour cloning; [`data`] reads its rows from recorded
//!   trajectories; [`dagger`]: cloning on the learner's own states,
//!   labelled by an expert.
//! - [`log`] and [`plot`]: the CSV log and its PNG.

pub mod bc;
pub mod buffer;
mod collect;
pub mod dagger;
pub mod data;
pub mod driver;
pub mod env;
mod error;
pub mod gae;
pub mod log;
pub mod plot;
pub mod ppo;

pub use bc::{train_bc, BcConfig, BcDataset, BcEpoch};
pub use buffer::{RolloutBuffer, StepRecord};
pub use dagger::{train_dagger, DaggerConfig, DaggerRound, Expert, RulesExpert, SearchExpert};
pub use data::{load_recordings, LoadReport};
pub use driver::{train_ppo, UpdateReport};
pub use env::{RolloutEnv, StepOutcome, VecEnvironment};
pub use error::TrainError;
pub use ppo::{Ppo, PpoConfig, UpdateStats};

use pmd_util::rng::Rng;

/// Fisher–Yates shuffle on the project's portable generator.
pub(crate) fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(u32::try_from(i + 1).unwrap_or(u32::MAX)) as usize;
        items.swap(i, j.min(i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_permutes() {
        let mut v: Vec<u32> = (0..100).collect();
        shuffle(&mut v, &mut Rng::new(1, 0));
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        let mut again: Vec<u32> = (0..100).collect();
        shuffle(&mut again, &mut Rng::new(1, 0));
        assert_eq!(v, again, "same seed, same order");
    }
}
