//! The environment seam of training: [`VecEnvironment`] (N environments
//! stepped together, what PPO and DAgger drive) and the project's
//! [`VecEnv`] as one ([`RolloutEnv`]): same-step auto-reset, terminal
//! observations in the final rows, the floor as each episode's progress,
//! and optionally the episodic memory's novelty bonus added to each
//! step's reward ([`RolloutEnv::with_memory`]).

use super::TrainError;
use crate::infer::BatchInput;
use pmd_game::env::{Action, ACTION_COUNT};
use pmd_rollout::memory::{EpisodicMemory, MemoryReport};
use pmd_rollout::VecEnv;

/// What a vectorised environment returns from a step. Slices have one
/// entry (or row) per environment.
#[derive(Debug, Clone, Copy)]
pub struct StepOutcome<'a> {
    /// Rewards.
    pub rewards: &'a [f32],
    /// Episode ended for good.
    pub terminated: &'a [bool],
    /// Episode cut by a limit.
    pub truncated: &'a [bool],
    /// The terminal observations `[N, 2395]`, valid where an episode ended
    /// (gymnasium's same-step auto-reset: the current observation is
    /// already the next episode's first).
    pub final_obs: &'a [f32],
    /// Terminal frames `[N, 1, 80, 120]`, for networks that read frames.
    pub final_frames: Option<&'a [u8]>,
    /// A progress figure per environment after the step (the dungeon
    /// floor), logged as each finished episode's last value.
    pub progress: Option<&'a [f32]>,
    /// Rows that are not transitions and must not be learnt from: a
    /// quarantined environment's (zero observation, forced wait), or a
    /// step that failed and was undone while its episode went on (a
    /// self-loop). `None`: every row is a transition.
    pub excluded: Option<&'a [bool]>,
}

/// N environments stepped together with same-step auto-reset.
pub trait VecEnvironment {
    /// N.
    fn num_envs(&self) -> usize;
    /// The current observations, masks and frames.
    fn observe(&self) -> BatchInput<'_>;
    /// Applies one action per environment.
    fn step(&mut self, actions: &[u8]) -> Result<StepOutcome<'_>, TrainError>;
}

/// A [`VecEnv`] that PPO can drive.
///
/// A step that failed and was rolled back while its episode went on (see
/// `rollout`) and a quarantined environment's row reach PPO marked
/// [`excluded`](StepOutcome::excluded): they are not transitions. A failed
/// step that ends the episode (given up) is a truncation like any other.
pub struct RolloutEnv {
    vec_env: VecEnv,
    memory: Option<EpisodicMemory>,
    actions: Vec<Action>,
    /// The vector's masks, with waiting made legal for quarantined
    /// environments (whose actions are ignored) so every row has one.
    masks: Vec<bool>,
    progress: Vec<f32>,
    excluded: Vec<bool>,
}

impl RolloutEnv {
    /// Wraps `vec_env`.
    pub fn new(vec_env: VecEnv) -> RolloutEnv {
        let n = vec_env.len();
        let mut env = RolloutEnv {
            vec_env,
            memory: None,
            actions: vec![Action::Wait; n],
            masks: vec![false; n * ACTION_COUNT],
            progress: vec![0.0; n],
            excluded: vec![false; n],
        };
        env.refresh_masks();
        env
    }

    /// Gives every step's reward the memory's novelty bonus (see
    /// [`EpisodicMemory`]): the states reached are remembered, and a state
    /// far from all remembered ones earns up to the memory's `beta`.
    pub fn with_memory(mut self, memory: EpisodicMemory) -> RolloutEnv {
        self.memory = Some(memory);
        self
    }

    /// Folds the memory's new states into its base and reports on it
    /// (`None` without a memory).
    pub fn finish_memory(&mut self) -> Result<Option<MemoryReport>, TrainError> {
        self.memory
            .take()
            .map(EpisodicMemory::finish)
            .transpose()
            .map_err(|e| TrainError::Env(format!("vector memory: {e}")))
    }

    /// The environments.
    pub fn vec_env(&self) -> &VecEnv {
        &self.vec_env
    }

    /// The batch and the environments as a batch policy sees them (an
    /// expert labelling states): a policy that branches must leave every
    /// environment where it found it.
    pub fn policy_input(&mut self) -> pmd_rollout::PolicyInput<'_> {
        self.vec_env.policy_input()
    }

    fn refresh_masks(&mut self) {
        self.masks.copy_from_slice(self.vec_env.batch().masks);
        for row in self.masks.chunks_exact_mut(ACTION_COUNT) {
            if !row.contains(&true) {
                row[Action::Wait.index()] = true;
            }
        }
    }
}

impl std::fmt::Debug for RolloutEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RolloutEnv")
            .field("vec_env", &self.vec_env)
            .field("memory", &self.memory.as_ref().map(|m| m.index().len()))
            .finish()
    }
}

impl VecEnvironment for RolloutEnv {
    fn num_envs(&self) -> usize {
        self.vec_env.len()
    }

    fn observe(&self) -> BatchInput<'_> {
        let batch = self.vec_env.batch();
        BatchInput {
            obs: batch.features,
            mask: &self.masks,
            frames: batch.frames,
        }
    }

    fn step(&mut self, actions: &[u8]) -> Result<StepOutcome<'_>, TrainError> {
        if actions.len() != self.actions.len() {
            return Err(TrainError::Env(format!(
                "{} actions for {} environments",
                actions.len(),
                self.actions.len()
            )));
        }
        for (a, &i) in self.actions.iter_mut().zip(actions) {
            *a = Action::from_index(usize::from(i))
                .ok_or_else(|| TrainError::Env(format!("action {i} out of range")))?;
        }
        self.vec_env
            .step(&self.actions)
            .map_err(|e| TrainError::Env(e.to_string()))?;
        if let Some(memory) = self.memory.as_mut() {
            let bonus = memory
                .observe(&self.vec_env.batch(), self.vec_env.infos())
                .map_err(|e| TrainError::Env(format!("vector memory: {e}")))?;
            self.vec_env.add_rewards(bonus);
        }
        if self.vec_env.quarantined().count() == self.vec_env.len() {
            return Err(TrainError::Env(
                "every environment is quarantined (their resets kept failing)".into(),
            ));
        }
        self.refresh_masks();
        let rows = self.progress.iter_mut().zip(&mut self.excluded);
        for ((p, excluded), info) in rows.zip(self.vec_env.infos()) {
            *p = f32::from(info.state.floor);
            let ended = info.terminated || info.truncated;
            *excluded = info.quarantined || (info.rolled_back && !ended);
        }
        let batch = self.vec_env.batch();
        Ok(StepOutcome {
            rewards: batch.rewards,
            terminated: batch.terminated,
            truncated: batch.truncated,
            final_obs: batch.final_features,
            final_frames: batch.final_frames,
            progress: Some(&self.progress),
            excluded: Some(&self.excluded),
        })
    }
}
