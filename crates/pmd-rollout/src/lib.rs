//! pmd-rollout: headless high-throughput rollouts: many environments stepped in
//! lockstep on a rayon pool, observations, action masks and terminal
//! observations written in place into contiguous batch buffers, with
//! fault isolation that cannot loop.
//!
//! **Invariant:** the vectorised environment (this root module) knows
//! nothing of policies, recordings or the command line; `VecEnv::step`
//! allocates nothing.
//!
//! Around it: the policy traits and the rule policies ([`policy`]: random,
//! heuristic, search; libtorch policies plug in through
//! [`policy::install_torch_loader`]), the lockstep and asynchronous runners
//! ([`runner`], [`async_runner`]), recordings ([`record`]), replays,
//! run metrics and the episodic memory ([`memory`]).
//!
//! **Depends on** pmd-game, pmd-mgba, mhnsw and pmd-util; never on libtorch,
//! the league, the network or the command line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
pub mod frames;
mod hook;
mod policy_input;
mod seeds;
mod telemetry;
mod unit;
mod vec_env;
mod workers;

pub mod async_runner;
pub mod device;
pub mod memory;
pub mod metrics;
pub mod policy;
pub mod record;
pub mod replay;
pub mod runner;

/// The observation encoder, which lives with the game (re-exported here,
/// where the rollout writes its rows).
pub use pmd_game::obs;

pub use batch::{ObsBatch, RolloutStats, StepInfo};
pub use hook::EnvHook;
pub use policy_input::{EnvContext, EnvSlots, PolicyInput};
pub use seeds::episode_seed;
pub use telemetry::{FailureKind, NoTelemetry, Telemetry};
pub use unit::EnvUnit;
pub use vec_env::{AutoReset, VecEnv, VecEnvConfig, VecEnvError, VecEnvOptions};
