//! The `pmd-agent bench` suites: measurements made in one run, so their
//! ratios compare like with like.
//!
//! - [`overhead`]: raw emulation versus the full agent loop over the very
//!   same frames.
//! - [`scaling`]: steps/s as the number of environments grows.
//! - [`memory`]: resident memory per environment and over a long run.
//! - [`policies`]: how deep each policy gets on the same seeds.
//! - [`socket`]: the mGBA-http socket designs (the Lua server in mGBA, our
//!   server) against in-process, same ROM, seed and policy.

pub mod memory;
pub mod overhead;
pub mod plot;
pub mod policies;
pub mod scaling;
pub mod socket;

use crate::env::EnvError;
use crate::rollout::VecEnvError;

/// Why a suite could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An environment failed.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A vectorised environment failed.
    #[error(transparent)]
    VecEnv(#[from] VecEnvError),
    /// Resident memory cannot be read on this system.
    #[error("resident memory is not readable here (/proc/self/status)")]
    NoRss,
}
