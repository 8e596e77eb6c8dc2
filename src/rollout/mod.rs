//! Headless high-throughput rollouts: many environments stepped in
//! lockstep on a rayon pool, observations, action masks and terminal
//! observations written in place into contiguous batch buffers, with
//! fault isolation that cannot loop.
//!
//! **Invariant:** `rollout` knows nothing of policies, recordings or the
//! command line; `VecEnv::step` allocates nothing.

mod batch;
pub mod frames;
mod hook;
pub mod obs;
mod policy_input;
mod seeds;
mod telemetry;
mod unit;
mod vec_env;
mod workers;

pub use batch::{ObsBatch, RolloutStats, StepInfo};
pub use hook::EnvHook;
pub use policy_input::{EnvContext, EnvSlots, PolicyInput};
pub use seeds::episode_seed;
pub use telemetry::{FailureKind, NoTelemetry, Telemetry};
pub use unit::EnvUnit;
pub use vec_env::{VecEnv, VecEnvConfig, VecEnvError, VecEnvOptions};
