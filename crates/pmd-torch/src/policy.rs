//! [`TorchPolicy`] (the `torch` feature): `--policy torch:PATH`, a model
//! file or any TorchScript module following the
//! [contract](crate::infer::contract), as a [`RowPolicy`] — in lockstep
//! over the runner's own buffers ([`pmd_rollout::policy::Lockstep`]), or asynchronously
//! over gathered rows ([`pmd_rollout::async_runner`]). The network itself is
//! `infer`'s, which knows nothing of policies.

use std::path::Path;

use crate::infer::contract::N_ACTIONS;
use crate::infer::threads::set_intra_op_threads;
use crate::infer::{Actor, BatchInput, Selection};
use pmd_game::env::Action;
use pmd_rollout::policy::{BuildOptions, PolicyError, RowBatch, RowPolicy};
use pmd_util::rng::unit_of;

/// A neural policy on libtorch.
#[derive(Debug)]
pub struct TorchPolicy {
    actor: Actor,
    name: String,
    uniforms: Vec<f32>,
    masks: Vec<bool>,
}

impl TorchPolicy {
    /// Loads the model at `path` with `options` (device, selection,
    /// libtorch's thread count). A missing or malformed file is
    /// [`PolicyError::Unavailable`], naming the file and the problem.
    pub fn load(path: &Path, options: &BuildOptions) -> Result<TorchPolicy, PolicyError> {
        let name = format!("torch:{}", path.display());
        if let Some(threads) = options.intra_op_threads {
            set_intra_op_threads(threads);
        }
        let selection = if options.greedy {
            Selection::Greedy
        } else {
            Selection::Sample
        };
        let actor =
            Actor::load(path, options.device, selection).map_err(|e| PolicyError::Unavailable {
                policy: name.clone(),
                reason: e.to_string(),
            })?;
        Ok(TorchPolicy::new(actor, name))
    }

    /// Wraps an actor; `name` is what reports call the policy.
    pub fn new(actor: Actor, name: String) -> TorchPolicy {
        TorchPolicy {
            actor,
            name,
            uniforms: Vec::new(),
            masks: Vec::new(),
        }
    }

    /// The actor (model, device, selection).
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

impl RowPolicy for TorchPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn reads_frames(&self) -> bool {
        self.actor.model().reads_frames()
    }

    fn act_rows(&mut self, rows: RowBatch<'_>, actions: &mut [Action]) -> Result<(), PolicyError> {
        let failed = |reason: String| PolicyError::Failed {
            policy: self.name.clone(),
            reason,
        };
        rows.check().map_err(failed)?;
        if actions.len() < rows.len() {
            return Err(failed(format!(
                "{} actions for {} rows",
                actions.len(),
                rows.len()
            )));
        }
        self.uniforms.clear();
        self.uniforms
            .extend(rows.draws.iter().map(|&d| unit_of(d) as f32));
        // A row with no legal action is a quarantined environment's: its
        // action is ignored, but the network needs a legal one to mask by.
        let complete = rows
            .masks
            .chunks_exact(N_ACTIONS)
            .all(|r| r.contains(&true));
        let mask = if complete {
            rows.masks
        } else {
            self.masks.clear();
            self.masks.extend_from_slice(rows.masks);
            for row in self.masks.chunks_exact_mut(N_ACTIONS) {
                if !row.contains(&true) {
                    row[Action::Wait.index()] = true;
                }
            }
            &self.masks
        };
        let input = BatchInput {
            obs: rows.features,
            mask,
            frames: rows.frames,
        };
        let out = self
            .actor
            .act(&input, &self.uniforms)
            .map_err(|e| PolicyError::Failed {
                policy: self.name.clone(),
                reason: e.to_string(),
            })?;
        for (action, &a) in actions.iter_mut().zip(&out.actions) {
            *action = Action::from_index(usize::from(a)).unwrap_or(Action::Wait);
        }
        Ok(())
    }
}
