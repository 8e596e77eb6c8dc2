//! What a batch policy is handed each step: [`PolicyInput`] — the batch
//! buffers, read-only and contiguous (a forward pass reads them without a
//! copy), and [`EnvSlots`], the environments themselves, mutable, for
//! policies that look at decoded states or branch with savestates, on the
//! rollout's own workers (its pool, or the calling thread when it has one
//! thread).

use rayon::prelude::*;

use super::batch::ObsBatch;
use super::obs;
use super::vec_env::Slot;
use super::workers::Workers;
use pmd_game::env::{Action, ActionMask, Env};
use pmd_game::DungeonState;
use pmd_util::rng::Rng;

/// The input of one batched decision.
pub struct PolicyInput<'a> {
    /// Features, masks (and frames) of every environment.
    pub obs: ObsBatch<'a>,
    /// The environments.
    pub envs: EnvSlots<'a>,
}

/// One environment as a per-environment policy sees it.
pub struct EnvContext<'a> {
    /// Which environment.
    pub index: usize,
    /// The environment; a policy that steps it must restore it before
    /// returning (see the search policy).
    pub env: &'a mut Env,
    /// Its observation row (`obs::FEATURES` floats).
    pub features: &'a [f32],
    /// Its legal actions.
    pub mask: ActionMask,
    /// Its own random stream (reproducible from the run seed, whatever
    /// the thread count).
    pub rng: &'a mut Rng,
}

/// The environments of a rollout, lent to a policy for one decision.
pub struct EnvSlots<'a> {
    slots: &'a mut [Slot],
    workers: &'a Workers,
    features: &'a [f32],
}

impl<'a> EnvSlots<'a> {
    pub(super) fn new(
        slots: &'a mut [Slot],
        workers: &'a Workers,
        features: &'a [f32],
    ) -> EnvSlots<'a> {
        EnvSlots {
            slots,
            workers,
            features,
        }
    }

    /// Number of environments.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether environment `i` is stepping (not quarantined).
    pub fn is_active(&self, i: usize) -> bool {
        !self.slots[i].quarantined
    }

    /// The decoded state of environment `i`.
    pub fn state(&self, i: usize) -> &DungeonState {
        self.slots[i].env.state()
    }

    /// Environment `i`.
    pub fn env(&self, i: usize) -> &Env {
        &self.slots[i].env
    }

    /// Environment `i`'s own random stream (what per-environment
    /// policies draw from), for batch policies that sample.
    pub fn rng(&mut self, i: usize) -> &mut Rng {
        &mut self.slots[i].rng
    }

    /// Runs `decide` for every active environment, in parallel on the
    /// rollout's workers, writing its action into `actions[i]`
    /// (a quarantined environment gets [`Action::Wait`], which is never
    /// stepped). `actions` must have one entry per environment.
    pub fn par_decide(
        &mut self,
        actions: &mut [Action],
        decide: impl Fn(&mut EnvContext<'_>) -> Action + Sync,
    ) {
        // One zero-sized state per environment: no allocation.
        let mut units = vec![(); self.slots.len()];
        self.par_decide_with(actions, &mut units, |ctx, _| decide(ctx));
    }

    /// Like [`par_decide`](Self::par_decide), with a state of the policy's
    /// own per environment (`states[i]` goes with environment `i`; it must
    /// have one entry per environment).
    pub fn par_decide_with<S: Send>(
        &mut self,
        actions: &mut [Action],
        states: &mut [S],
        decide: impl Fn(&mut EnvContext<'_>, &mut S) -> Action + Sync,
    ) {
        let features = self.features;
        let slots = &mut *self.slots;
        let each = |((slot, action), state): ((&mut Slot, &mut Action), &mut S)| {
            if slot.quarantined {
                *action = Action::Wait;
                return;
            }
            let i = slot.index;
            let mut ctx = EnvContext {
                index: i,
                mask: slot.env.action_mask(),
                env: &mut slot.env,
                features: &features[i * obs::FEATURES..(i + 1) * obs::FEATURES],
                rng: &mut slot.rng,
            };
            *action = decide(&mut ctx, state);
        };
        match self.workers {
            Workers::Inline => slots
                .iter_mut()
                .zip(actions.iter_mut())
                .zip(states.iter_mut())
                .for_each(each),
            Workers::Pool(pool) => pool.install(|| {
                slots
                    .par_iter_mut()
                    .zip(actions.par_iter_mut())
                    .zip(states.par_iter_mut())
                    .for_each(each)
            }),
        }
    }
}
