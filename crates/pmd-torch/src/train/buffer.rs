//! The rollout buffer PPO learns from: T steps of N environments,
//! time-major, allocated once.

use crate::infer::contract::{FRAME_LEN, N_ACTIONS, OBS_DIM};

use super::TrainError;

/// One step of all N environments, as the runner saw it.
#[derive(Debug, Clone, Copy)]
pub struct StepRecord<'a> {
    /// Observations the actions were chosen on, `[N, 2395]`.
    pub obs: &'a [f32],
    /// Action masks, `[N, 19]`.
    pub masks: &'a [bool],
    /// Frames `[N, 1, 80, 120]`, when the network reads them.
    pub frames: Option<&'a [u8]>,
    /// Chosen actions `[N]`.
    pub actions: &'a [u8],
    /// log π(action) under the policy that acted `[N]`.
    pub log_probs: &'a [f32],
    /// V(obs) `[N]`.
    pub values: &'a [f32],
    /// Rewards `[N]`.
    pub rewards: &'a [f32],
    /// Episode ended for good `[N]`.
    pub terminated: &'a [bool],
    /// Episode cut by a limit `[N]`.
    pub truncated: &'a [bool],
    /// V(final observation) `[N]`, read only where truncated.
    pub final_values: &'a [f32],
    /// Rows that are not transitions `[N]` (see [`StepOutcome::excluded`]
    /// in `ppo`); `None`: every row is one.
    pub excluded: Option<&'a [bool]>,
}

/// T steps of N environments.
#[derive(Debug, Clone)]
pub struct RolloutBuffer {
    n_envs: usize,
    capacity: usize,
    steps: usize,
    frames_enabled: bool,
    /// `[T, N, 2395]`.
    pub obs: Vec<f32>,
    /// `[T, N, 19]`.
    pub masks: Vec<bool>,
    /// `[T, N, 1, 80, 120]` when frames are enabled, else empty.
    pub frames: Vec<u8>,
    /// `[T, N]`.
    pub actions: Vec<u8>,
    /// `[T, N]`.
    pub log_probs: Vec<f32>,
    /// `[T, N]`.
    pub values: Vec<f32>,
    /// `[T, N]`.
    pub rewards: Vec<f32>,
    /// `[T, N]`.
    pub terminated: Vec<bool>,
    /// `[T, N]`.
    pub truncated: Vec<bool>,
    /// `[T, N]`.
    pub final_values: Vec<f32>,
    /// `[T, N]`: rows PPO leaves out of its losses.
    pub excluded: Vec<bool>,
    /// V of each environment's observation after the last step, `[N]`.
    pub last_values: Vec<f32>,
}

impl RolloutBuffer {
    /// Room for `steps` steps of `n_envs` environments.
    pub fn new(n_envs: usize, steps: usize, frames: bool) -> Result<Self, TrainError> {
        if n_envs == 0 || steps == 0 {
            return Err(TrainError::Invalid(
                "a rollout needs at least one environment and one step".into(),
            ));
        }
        let rows = n_envs
            .checked_mul(steps)
            .filter(|r| r.checked_mul(OBS_DIM).is_some())
            .ok_or_else(|| TrainError::Invalid("rollout too large".into()))?;
        Ok(Self {
            n_envs,
            capacity: steps,
            steps: 0,
            frames_enabled: frames,
            obs: Vec::with_capacity(rows * OBS_DIM),
            masks: Vec::with_capacity(rows * N_ACTIONS),
            frames: Vec::with_capacity(if frames { rows * FRAME_LEN } else { 0 }),
            actions: Vec::with_capacity(rows),
            log_probs: Vec::with_capacity(rows),
            values: Vec::with_capacity(rows),
            rewards: Vec::with_capacity(rows),
            terminated: Vec::with_capacity(rows),
            truncated: Vec::with_capacity(rows),
            final_values: Vec::with_capacity(rows),
            excluded: Vec::with_capacity(rows),
            last_values: vec![0.0; n_envs],
        })
    }

    /// Environments per step.
    pub fn n_envs(&self) -> usize {
        self.n_envs
    }

    /// Steps recorded.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Whether all `capacity` steps are recorded.
    pub fn is_full(&self) -> bool {
        self.steps == self.capacity
    }

    /// Rows recorded (steps × environments).
    pub fn rows(&self) -> usize {
        self.steps * self.n_envs
    }

    /// Whether frames are stored.
    pub fn has_frames(&self) -> bool {
        self.frames_enabled
    }

    /// Empties the buffer, keeping its memory.
    pub fn clear(&mut self) {
        self.steps = 0;
        self.obs.clear();
        self.masks.clear();
        self.frames.clear();
        self.actions.clear();
        self.log_probs.clear();
        self.values.clear();
        self.rewards.clear();
        self.terminated.clear();
        self.truncated.clear();
        self.final_values.clear();
        self.excluded.clear();
    }

    /// Appends one step after checking every slice's length.
    pub fn push(&mut self, step: &StepRecord<'_>) -> Result<(), TrainError> {
        if self.is_full() {
            return Err(TrainError::Invalid("rollout buffer is full".into()));
        }
        let n = self.n_envs;
        let check = |what: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(TrainError::Invalid(format!(
                    "{what}: {got} values, expected {want}"
                )))
            }
        };
        check("obs", step.obs.len(), n * OBS_DIM)?;
        check("masks", step.masks.len(), n * N_ACTIONS)?;
        for (what, len) in [
            ("actions", step.actions.len()),
            ("log_probs", step.log_probs.len()),
            ("values", step.values.len()),
            ("rewards", step.rewards.len()),
            ("terminated", step.terminated.len()),
            ("truncated", step.truncated.len()),
            ("final_values", step.final_values.len()),
            ("excluded", step.excluded.map_or(n, <[bool]>::len)),
        ] {
            check(what, len, n)?;
        }
        if let Some(a) = step
            .actions
            .iter()
            .position(|&a| usize::from(a) >= N_ACTIONS)
        {
            return Err(TrainError::Invalid(format!(
                "env {a}: action {} out of range",
                step.actions[a]
            )));
        }
        if self.frames_enabled {
            let frames = step
                .frames
                .ok_or_else(|| TrainError::Invalid("frames missing".into()))?;
            check("frames", frames.len(), n * FRAME_LEN)?;
            self.frames.extend_from_slice(frames);
        }
        self.obs.extend_from_slice(step.obs);
        self.masks.extend_from_slice(step.masks);
        self.actions.extend_from_slice(step.actions);
        self.log_probs.extend_from_slice(step.log_probs);
        self.values.extend_from_slice(step.values);
        self.rewards.extend_from_slice(step.rewards);
        self.terminated.extend_from_slice(step.terminated);
        self.truncated.extend_from_slice(step.truncated);
        self.final_values.extend_from_slice(step.final_values);
        match step.excluded {
            Some(excluded) => self.excluded.extend_from_slice(excluded),
            None => self.excluded.extend(std::iter::repeat_n(false, n)),
        }
        self.steps += 1;
        Ok(())
    }

    /// Sets V of the observations after the last step.
    pub fn set_last_values(&mut self, values: &[f32]) -> Result<(), TrainError> {
        if values.len() != self.n_envs {
            return Err(TrainError::Invalid(format!(
                "last values: {} for {} environments",
                values.len(),
                self.n_envs
            )));
        }
        self.last_values.copy_from_slice(values);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_checks_lengths_and_capacity() {
        let mut buf = RolloutBuffer::new(2, 2, false).unwrap();
        let obs = vec![0.0; 2 * OBS_DIM];
        let masks = vec![true; 2 * N_ACTIONS];
        let step = StepRecord {
            obs: &obs,
            masks: &masks,
            frames: None,
            actions: &[1, 2],
            log_probs: &[0.0, 0.0],
            values: &[0.0, 0.0],
            rewards: &[0.0, 1.0],
            terminated: &[false, true],
            truncated: &[false, false],
            final_values: &[0.0, 0.0],
            excluded: None,
        };
        buf.push(&step).unwrap();
        assert!(buf
            .push(&StepRecord {
                actions: &[1],
                ..step
            })
            .is_err());
        assert!(buf
            .push(&StepRecord {
                actions: &[1, 19],
                ..step
            })
            .is_err());
        assert!(buf
            .push(&StepRecord {
                obs: &obs[1..],
                ..step
            })
            .is_err());
        buf.push(&step).unwrap();
        assert!(buf.is_full());
        assert!(buf.push(&step).is_err());
        assert_eq!(buf.rows(), 4);
        buf.clear();
        assert_eq!(buf.rows(), 0);
        assert!(RolloutBuffer::new(0, 1, false).is_err());
        assert!(RolloutBuffer::new(usize::MAX, 2, false).is_err());
    }
}
