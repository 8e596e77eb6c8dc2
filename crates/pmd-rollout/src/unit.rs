//! [`EnvUnit`]: one environment of a [`VecEnv`](super::VecEnv) lent out to
//! step on its own, for asynchronous rollouts (EnvPool's design): worker
//! threads step whichever environment has its action, while a batch of
//! others waits for inference.
//!
//! A unit keeps every guarantee of [`VecEnv::step`](super::VecEnv::step):
//! the same fault isolation (it runs the same `step_slot`: a checkpoint
//! every few steps, rollback and replay, bounded failures, quarantine), the
//! same same-step auto-reset (the terminal
//! observation in [`EnvUnit::final_features`], the next episode's first
//! in [`EnvUnit::features`]), the same episode seeds and the same
//! telemetry. It writes into its own rows of the vector's batch buffers,
//! so nothing is copied when the units are handed back.

use super::batch::StepInfo;
use super::vec_env::{step_slot, Rows, Slot, StepContext};
use pmd_game::env::{Action, ActionMask, Env};
use pmd_util::rng::Rng;

/// One environment of a [`VecEnv`](super::VecEnv), stepping on its own
/// (see [`VecEnv::with_units`](super::VecEnv::with_units)).
pub struct EnvUnit<'a> {
    slot: &'a mut Slot,
    rows: Rows<'a>,
    info: &'a mut StepInfo,
    ctx: &'a StepContext<'a>,
}

impl std::fmt::Debug for EnvUnit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvUnit")
            .field("index", &self.slot.index)
            .field("active", &!self.slot.quarantined)
            .finish()
    }
}

impl<'a> EnvUnit<'a> {
    pub(super) fn new(
        slot: &'a mut Slot,
        rows: Rows<'a>,
        info: &'a mut StepInfo,
        ctx: &'a StepContext<'a>,
    ) -> EnvUnit<'a> {
        EnvUnit {
            slot,
            rows,
            info,
            ctx,
        }
    }

    /// The environment's index in its vector.
    pub fn index(&self) -> usize {
        self.slot.index
    }

    /// Whether the environment is stepping (not quarantined).
    pub fn is_active(&self) -> bool {
        !self.slot.quarantined
    }

    /// Its current observation (`obs::FEATURES` floats).
    pub fn features(&self) -> &[f32] {
        self.rows.row
    }

    /// Its legal actions now, one flag per action (all false when
    /// quarantined).
    pub fn mask_row(&self) -> &[bool] {
        self.rows.mask
    }

    /// Its legal actions now, as a set.
    pub fn mask(&self) -> ActionMask {
        ActionMask::from_row(self.rows.mask)
    }

    /// Its current downsampled frame, when the vector makes frames.
    pub fn frame(&self) -> Option<&[u8]> {
        self.rows.frame.as_deref()
    }

    /// The terminal observation of the episode its last step ended (valid
    /// only when [`EnvUnit::info`] says the step ended one).
    pub fn final_features(&self) -> &[f32] {
        self.rows.final_row
    }

    /// What its last step was.
    pub fn info(&self) -> &StepInfo {
        self.info
    }

    /// Its own random stream (the one per-environment policies get).
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.slot.rng
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.slot.env
    }

    /// Steps the environment with `action`, exactly as
    /// [`VecEnv::step`](super::VecEnv::step) steps each of its
    /// environments, and writes its rows. A quarantined environment is not
    /// stepped.
    pub fn step(&mut self, action: Action) -> &StepInfo {
        let rows = Rows {
            row: &mut *self.rows.row,
            mask: &mut *self.rows.mask,
            final_row: &mut *self.rows.final_row,
            frame: self.rows.frame.as_deref_mut(),
            final_frame: self.rows.final_frame.as_deref_mut(),
        };
        *self.info = step_slot(self.slot, action, rows, self.ctx);
        self.info
    }
}
