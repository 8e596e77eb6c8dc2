//! The `pmd-agent bench` suites: measurements made in one run, so their
//! ratios compare like with like.
//!
//! - [`overhead`]: the agent path users run (the runner on its pool)
//!   versus bare emulation of the very same frames and keys on as many
//!   threads.
//! - [`scaling`]: steps/s, frames/s and memory as the number of
//!   environments grows, relative to one environment in the same run.
//! - [`memory`]: resident memory per environment and over a long run.
//! - [`policies`]: how deep each policy gets on the same seeds.
//! - [`keys`]: the agent's exact input for other frontends to replay, and
//!   our own speed on that very run.
//! - [`e2e`]: a policy's steps/s in lockstep and asynchronously next to a
//!   baseline's (`bench e2e`).
//! - `bench inference` (µs per batch and per sample of a model's act
//!   step) lives with libtorch, in `pmd-agent-torch`.
//! - [`smoke`]: overhead and policies in well under a minute, for CI and
//!   the history.
//! - [`history`]: runs kept as JSON lines with commit, machine and date,
//!   and old against new compared beyond their noise (`bench compare`).
//! - [`socket`]: the mGBA-http socket designs (the Lua server in mGBA, our
//!   server) against in-process, same ROM, seed and policy.

pub mod e2e;
pub mod history;
pub mod keys;
pub mod memory;
pub mod overhead;
pub mod policies;
pub mod scaling;
pub mod smoke;
pub mod socket;

use crate::env::EnvError;
use crate::policy::PolicyError;
use crate::rollout::VecEnvError;
use crate::runner::RunError;

/// Why a suite could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An environment failed.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A vectorised environment failed.
    #[error(transparent)]
    VecEnv(#[from] VecEnvError),
    /// A policy failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// An asynchronous run failed.
    #[error(transparent)]
    Async(#[from] crate::async_runner::AsyncError),
    /// A file could not be written.
    #[error("{0}")]
    Io(String),
    /// Resident memory cannot be read on this system.
    #[error("resident memory is not readable here (/proc/self/status)")]
    NoRss,
}
