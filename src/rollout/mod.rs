//! Headless high-throughput rollouts: many environments stepped in
//! lockstep on a rayon pool, observations written in place into contiguous
//! batch buffers.

pub mod frames;
pub mod obs;
mod seeds;
mod vec_env;

pub use seeds::episode_seed;
pub use vec_env::{ObsBatch, RolloutStats, StepInfo, VecEnv, VecEnvConfig, VecEnvError};
