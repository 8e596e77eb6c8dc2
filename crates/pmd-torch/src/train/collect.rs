//! Rollout collection for PPO: the network acts on every environment
//! (sampled, on the shared native acting path), the environment steps, and
//! each step goes into the [`RolloutBuffer`] with V(final observation) of
//! the environments a limit cut (their bootstrap).

use crate::infer::actor::{
    act_native, draw_uniforms, forward_native, BatchInput, BatchOutput, Selection,
};
use crate::infer::contract::{FRAME_LEN, N_ACTIONS, OBS_DIM};
use crate::infer::sparse::SparseRows;
use crate::infer::PolicyNet;
use pmd_util::rng::Rng;

use super::buffer::{RolloutBuffer, StepRecord};
use super::env::VecEnvironment;
use super::TrainError;

/// Rollout collection state that outlives one rollout: running episode
/// returns and the sampling stream.
pub(super) struct Collector {
    rng: Rng,
    sparse: SparseRows,
    out: BatchOutput,
    log_probs: Vec<f32>,
    values: Vec<f32>,
    uniforms: Vec<f32>,
    final_values: Vec<f32>,
    returns: Vec<f64>,
    /// (return, progress) of episodes finished in this rollout.
    pub(super) finished: Vec<(f64, f64)>,
    // This step's inputs, kept until the step's outcome is known.
    obs: Vec<f32>,
    mask: Vec<bool>,
    frame_rows: Vec<u8>,
    // Scratch for V(final observation) of truncated environments.
    final_obs: Vec<f32>,
    final_frames: Vec<u8>,
    final_rows: Vec<usize>,
    all_legal: Vec<bool>,
    frames: bool,
}

impl Collector {
    pub(super) fn new(n: usize, seed: u64, frames: bool) -> Self {
        Self {
            rng: Rng::new(seed, 1),
            sparse: SparseRows::default(),
            out: BatchOutput::default(),
            log_probs: Vec::new(),
            values: Vec::new(),
            uniforms: Vec::with_capacity(n),
            final_values: vec![0.0; n],
            returns: vec![0.0; n],
            finished: Vec::new(),
            obs: Vec::new(),
            mask: Vec::new(),
            frame_rows: Vec::new(),
            final_obs: Vec::new(),
            final_frames: Vec::new(),
            final_rows: Vec::new(),
            all_legal: Vec::new(),
            frames,
        }
    }

    /// Acts on the current observations (sampling), steps, and records
    /// the step in `buf` with V(final observation) of truncated
    /// environments.
    pub(super) fn step<E: VecEnvironment>(
        &mut self,
        net: &PolicyNet,
        env: &mut E,
        buf: &mut RolloutBuffer,
    ) -> Result<(), TrainError> {
        let n = env.num_envs();
        // Act on the current observation and copy it out: the environment
        // overwrites its buffers when it steps.
        {
            let input = env.observe();
            let rows = input.rows(self.frames)?;
            if rows != n {
                return Err(TrainError::Env(format!(
                    "{rows} observations for {n} environments"
                )));
            }
            draw_uniforms(&mut self.rng, n, &mut self.uniforms);
            act_native(
                net,
                &input,
                n,
                Some(&mut self.sparse),
                &mut self.log_probs,
                Selection::Sample,
                &self.uniforms,
                &mut self.out,
            )?;
            copy_into(&mut self.obs, input.obs);
            copy_into(&mut self.mask, input.mask);
            if self.frames {
                copy_into(&mut self.frame_rows, input.frames.unwrap_or_default());
            }
        }
        let outcome = env.step(&self.out.actions)?;
        let bad =
            |what: &str| TrainError::Env(format!("step returned a {what} of the wrong length"));
        if outcome.rewards.len() != n
            || outcome.terminated.len() != n
            || outcome.truncated.len() != n
        {
            return Err(bad("reward/terminated/truncated slice"));
        }
        if outcome.final_obs.len() != n * OBS_DIM {
            return Err(bad("final observation buffer"));
        }
        self.final_values.fill(0.0);
        self.final_rows.clear();
        self.final_rows
            .extend((0..n).filter(|&i| outcome.truncated[i] && !outcome.terminated[i]));
        if !self.final_rows.is_empty() {
            self.final_obs.clear();
            self.final_frames.clear();
            for &i in &self.final_rows {
                self.final_obs
                    .extend_from_slice(&outcome.final_obs[i * OBS_DIM..(i + 1) * OBS_DIM]);
                if self.frames {
                    let row = outcome
                        .final_frames
                        .and_then(|f| f.get(i * FRAME_LEN..(i + 1) * FRAME_LEN))
                        .ok_or_else(|| bad("final frames buffer"))?;
                    self.final_frames.extend_from_slice(row);
                }
            }
            // The value head does not read the mask; any legal mask will do.
            let k = self.final_rows.len();
            self.all_legal.clear();
            self.all_legal.resize(k * N_ACTIONS, true);
            let input = BatchInput {
                obs: &self.final_obs,
                mask: &self.all_legal,
                frames: self.frames.then_some(self.final_frames.as_slice()),
            };
            forward_native(
                net,
                &input,
                k,
                Some(&mut self.sparse),
                // The step's log-probabilities are spent: reuse their buffer.
                &mut self.log_probs,
                &mut self.values,
            )?;
            for (j, &i) in self.final_rows.iter().enumerate() {
                self.final_values[i] = self.values[j];
            }
        }
        for i in 0..n {
            self.returns[i] += f64::from(outcome.rewards[i]);
            if outcome.terminated[i] || outcome.truncated[i] {
                let progress = outcome
                    .progress
                    .and_then(|p| p.get(i))
                    .map_or(f64::NAN, |&p| f64::from(p));
                self.finished.push((self.returns[i], progress));
                self.returns[i] = 0.0;
            }
        }
        buf.push(&StepRecord {
            obs: &self.obs,
            masks: &self.mask,
            frames: self.frames.then_some(self.frame_rows.as_slice()),
            actions: &self.out.actions,
            log_probs: &self.out.log_probs,
            values: &self.out.values,
            rewards: outcome.rewards,
            terminated: outcome.terminated,
            truncated: outcome.truncated,
            final_values: &self.final_values,
            excluded: outcome.excluded,
        })
    }

    /// Records V(current observation) for the rollout's bootstrap.
    pub(super) fn bootstrap<E: VecEnvironment>(
        &mut self,
        net: &PolicyNet,
        env: &E,
        buf: &mut RolloutBuffer,
    ) -> Result<(), TrainError> {
        let input = env.observe();
        let n = input.rows(self.frames)?;
        forward_native(
            net,
            &input,
            n,
            Some(&mut self.sparse),
            &mut self.log_probs,
            &mut self.values,
        )?;
        buf.set_last_values(&self.values)
    }
}

fn copy_into<T: Copy>(dst: &mut Vec<T>, src: &[T]) {
    dst.clear();
    dst.extend_from_slice(src);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::NetConfig;
    use crate::train::env::StepOutcome;
    use tch::Device;

    /// Two environments; env 0 is truncated at every step, env 1 is
    /// terminated at every step. The terminal observation (all ones) is not
    /// the reset observation (all zeros).
    struct Cut {
        obs: Vec<f32>,
        mask: Vec<bool>,
        final_obs: Vec<f32>,
    }

    impl VecEnvironment for Cut {
        fn num_envs(&self) -> usize {
            2
        }
        fn observe(&self) -> BatchInput<'_> {
            BatchInput {
                obs: &self.obs,
                mask: &self.mask,
                frames: None,
            }
        }
        fn step(&mut self, _: &[u8]) -> Result<StepOutcome<'_>, TrainError> {
            Ok(StepOutcome {
                rewards: &[1.0, 1.0],
                terminated: &[false, true],
                truncated: &[true, false],
                final_obs: &self.final_obs,
                final_frames: None,
                progress: None,
                excluded: None,
            })
        }
    }

    #[test]
    fn truncation_records_the_value_of_the_final_observation() {
        let net = PolicyNet::new(
            NetConfig {
                hidden: vec![16],
                ..NetConfig::default()
            },
            Device::Cpu,
            3,
        )
        .unwrap();
        let mut env = Cut {
            obs: vec![0.0; 2 * OBS_DIM],
            mask: vec![true; 2 * N_ACTIONS],
            final_obs: vec![1.0; 2 * OBS_DIM],
        };
        let mut buf = RolloutBuffer::new(2, 1, false).unwrap();
        let mut collector = Collector::new(2, 0, false);
        collector.step(&net, &mut env, &mut buf).unwrap();

        let (mut logp, mut values) = (Vec::new(), Vec::new());
        let ones = vec![1.0; OBS_DIM];
        let input = BatchInput {
            obs: &ones,
            mask: &[true; N_ACTIONS],
            frames: None,
        };
        forward_native(&net, &input, 1, None, &mut logp, &mut values).unwrap();
        assert!(
            (buf.final_values[0] - values[0]).abs() < 1e-5,
            "V(final obs) of the truncated env"
        );
        assert_eq!(buf.final_values[1], 0.0, "terminated: no bootstrap value");
        // The buffer's own value is V(reset obs), a different number.
        assert!((buf.values[0] - values[0]).abs() > 1e-6);
        assert_eq!(collector.finished.len(), 2);
    }
}
