//! What a [`VecEnv`](super::VecEnv) hands out after each step: borrowed
//! views of its contiguous buffers ([`ObsBatch`]), what each environment's
//! step was ([`StepInfo`]), and the counters of the run ([`RolloutStats`]).

use ndarray::ArrayView2;
use serde::Serialize;

use super::{frames, obs};
use pmd_game::env::{ActionMask, EndReason, StepState, ACTION_COUNT};

/// What one environment's last step was: the record a trajectory file
/// keeps. With auto-reset, `state` is the state the step reached (the
/// terminal one when the step ended the episode), not the next episode's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepInfo {
    /// Episode the step belonged to.
    pub episode: u64,
    /// Step index within the episode (0-based). A rolled-back step is
    /// taken again with the same index.
    pub step: u32,
    /// The episode's dungeon seed.
    pub seed: u32,
    /// The leader after the step.
    pub state: StepState,
    /// Reward of the step.
    pub reward: f32,
    /// The deepest floor of the episode up to and with this step.
    pub max_floor: u8,
    /// The step ended the episode by the game's outcome.
    pub terminated: bool,
    /// The step cut the episode short.
    pub truncated: bool,
    /// Why the episode ended, when it did.
    pub reason: Option<EndReason>,
    /// Frames the step took.
    pub frames: u32,
    /// The step failed and was undone: the environment went back to the
    /// state before it (`state` is that state). Such rows are not
    /// transitions; readers skip them by default.
    pub rolled_back: bool,
    /// The environment is quarantined: nothing was stepped.
    pub quarantined: bool,
}

impl StepInfo {
    /// Whether the step ended the episode.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// The batch handed to a learner: views of the contiguous buffers the
/// environments wrote in place.
///
/// **Auto-reset (gymnasium's same-step mode).** When environment `i`'s
/// step ends its episode, the environment is reset within that same step:
/// row `i` of `features`, `masks` and `frames` already shows the next
/// episode's first observation, while the terminal observation of the
/// episode that ended is in row `i` of `final_features` (and
/// `final_frames`). Final rows are valid only where `terminated[i] ||
/// truncated[i]`; elsewhere they hold stale data. A learner bootstraps a
/// truncated episode from the value of its final observation.
#[derive(Debug, Clone, Copy)]
pub struct ObsBatch<'a> {
    /// Features, `[envs, obs::FEATURES]` row-major.
    pub features: &'a [f32],
    /// Legal actions, `[envs, ACTION_COUNT]` row-major (a quarantined
    /// environment's row is all false).
    pub masks: &'a [bool],
    /// Downsampled frames, `[envs, 1, 80, 120]`, when asked for.
    pub frames: Option<&'a [u8]>,
    /// Reward of each environment's last step.
    pub rewards: &'a [f32],
    /// Whether each environment's last step terminated its episode.
    pub terminated: &'a [bool],
    /// Whether each environment's last step truncated its episode.
    pub truncated: &'a [bool],
    /// Terminal observations, `[envs, obs::FEATURES]` (see above).
    pub final_features: &'a [f32],
    /// Terminal frames, `[envs, 1, 80, 120]`, when frames are asked for.
    pub final_frames: Option<&'a [u8]>,
    /// Whether each environment is stepping (not quarantined).
    pub active: &'a [bool],
}

impl<'a> ObsBatch<'a> {
    /// Number of environments.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// The feature row of environment `i`.
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.features[i * obs::FEATURES..(i + 1) * obs::FEATURES]
    }

    /// The terminal feature row of environment `i` (valid when its last
    /// step ended the episode).
    pub fn final_row(&self, i: usize) -> &'a [f32] {
        &self.final_features[i * obs::FEATURES..(i + 1) * obs::FEATURES]
    }

    /// The mask row of environment `i`.
    pub fn mask_row(&self, i: usize) -> &'a [bool] {
        &self.masks[i * ACTION_COUNT..(i + 1) * ACTION_COUNT]
    }

    /// The legal actions of environment `i` as a set.
    pub fn mask(&self, i: usize) -> ActionMask {
        ActionMask::from_row(self.mask_row(i))
    }

    /// The frame of environment `i`, when frames are on.
    pub fn frame(&self, i: usize) -> Option<&'a [u8]> {
        self.frames
            .map(|f| &f[i * frames::LEN..(i + 1) * frames::LEN])
    }

    /// Whether environment `i`'s last step ended its episode.
    pub fn done(&self, i: usize) -> bool {
        self.terminated[i] || self.truncated[i]
    }

    /// The features as an `[envs, FEATURES]` array view (no copy).
    pub fn features_view(&self) -> ArrayView2<'a, f32> {
        ArrayView2::from_shape((self.len(), obs::FEATURES), self.features)
            .expect("the feature buffer is envs x FEATURES by construction")
    }

    /// The terminal features as an `[envs, FEATURES]` array view.
    pub fn final_features_view(&self) -> ArrayView2<'a, f32> {
        ArrayView2::from_shape((self.len(), obs::FEATURES), self.final_features)
            .expect("the final feature buffer is envs x FEATURES by construction")
    }

    /// The masks as an `[envs, ACTION_COUNT]` array view (no copy).
    pub fn masks_view(&self) -> ArrayView2<'a, bool> {
        ArrayView2::from_shape((self.len(), ACTION_COUNT), self.masks)
            .expect("the mask buffer is envs x ACTION_COUNT by construction")
    }
}

/// Counters of a rollout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RolloutStats {
    /// Environment steps taken (all environments; rolled-back ones too).
    pub steps: u64,
    /// Emulated frames run by those steps.
    pub frames: u64,
    /// Episodes finished.
    pub episodes: u64,
    /// Episodes that terminated (fainted, cleared, left the dungeon).
    pub terminated: u64,
    /// Episodes that were truncated (step limit, frame cap, failures).
    pub truncated: u64,
    /// Episodes per end reason, in [`EndReason::ALL`] order.
    pub by_reason: [u64; EndReason::ALL.len()],
    /// Sum over finished episodes of the deepest floor reached.
    pub sum_max_floor: u64,
    /// Deepest floor reached by any environment.
    pub best_floor: u8,
    /// Steps that failed (error, panic, frame cap) and were rolled back.
    pub failures: u64,
    /// Resets that failed.
    pub reset_failures: u64,
    /// Environments quarantined (their resets kept failing).
    pub quarantined: u64,
}

impl RolloutStats {
    /// Mean over finished episodes of the deepest floor reached.
    pub fn mean_max_floor(&self) -> f64 {
        if self.episodes == 0 {
            0.0
        } else {
            self.sum_max_floor as f64 / self.episodes as f64
        }
    }

    /// Episodes that ended for `reason`.
    pub fn ended(&self, reason: EndReason) -> u64 {
        EndReason::ALL
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.by_reason[i])
    }

    pub(crate) fn add(&mut self, other: &RolloutStats) {
        self.steps += other.steps;
        self.frames += other.frames;
        self.episodes += other.episodes;
        self.terminated += other.terminated;
        self.truncated += other.truncated;
        for (a, b) in self.by_reason.iter_mut().zip(other.by_reason) {
            *a += b;
        }
        self.sum_max_floor += other.sum_max_floor;
        self.best_floor = self.best_floor.max(other.best_floor);
        self.failures += other.failures;
        self.reset_failures += other.reset_failures;
        self.quarantined += other.quarantined;
    }

    pub(crate) fn count_end(&mut self, reason: EndReason, max_floor: u8) {
        self.episodes += 1;
        if reason.is_termination() {
            self.terminated += 1;
        } else {
            self.truncated += 1;
        }
        if let Some(i) = EndReason::ALL.iter().position(|r| *r == reason) {
            self.by_reason[i] += 1;
        }
        self.sum_max_floor += u64::from(max_floor);
    }
}
