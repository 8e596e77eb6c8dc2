//! `bench smoke`: a short suite (well under a minute on two cores) for CI
//! and for the bench history: the agent path against bare emulation
//! ([`overhead`], 300 rounds) and the rule policies' depth and speed
//! ([`policies`], 16 episodes of at most 150 steps each).
//!
//! Its figures are small samples: they catch a large slow-down, and with
//! repeated runs (`bench compare`, three or more a side) a smaller one.

use serde::Serialize;

use super::overhead::{self, OverheadReport};
use super::policies::{self, PoliciesReport};
use super::BenchError;
use crate::emu::Rom;
use crate::policy::{BuildOptions, PolicySpec};

/// Lockstep rounds of the overhead part.
pub const ROUNDS: u64 = 300;
/// Episodes per policy of the policies part.
pub const EPISODES: usize = 16;
/// Step limit of those episodes.
pub const MAX_STEPS: u32 = 150;

/// Both parts' reports.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeReport {
    /// The agent path against bare emulation.
    pub overhead: OverheadReport,
    /// The heuristic's and the random policy's depth and steps/s.
    pub policies: PoliciesReport,
}

/// Runs both parts on `threads` threads (as many environments).
pub fn run(rom: &Rom, threads: usize, seed: u64) -> Result<SmokeReport, BenchError> {
    let overhead = overhead::run(rom, threads, threads, ROUNDS, seed)?;
    let specs = [PolicySpec::Heuristic, PolicySpec::Random];
    let policies = policies::run(
        rom,
        &specs,
        EPISODES,
        MAX_STEPS,
        seed,
        Some(threads),
        &BuildOptions::default(),
        &[],
    )?;
    Ok(SmokeReport { overhead, policies })
}
