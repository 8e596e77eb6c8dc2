//! Proximal policy optimisation (clipped objective) on tch: the learner.
//!
//! [`Ppo::update`] learns from a full [`RolloutBuffer`]; the rollouts come
//! from [`collect`](super::collect), the loop is
//! [`train_ppo`](super::driver::train_ppo).

use tch::nn::OptimizerConfig;
use tch::{nn, Kind, Tensor};

use crate::infer::contract::{FRAME_CHANNELS, FRAME_HEIGHT, FRAME_WIDTH, N_ACTIONS, OBS_DIM};
use crate::infer::PolicyNet;
use pmd_util::rng::Rng;

use super::buffer::RolloutBuffer;
use super::gae::{compute_gae, GaeInput};
use super::{shuffle, TrainError};

/// PPO hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PpoConfig {
    /// Steps per environment per rollout.
    pub n_steps: usize,
    /// Discount γ.
    pub gamma: f32,
    /// GAE λ.
    pub gae_lambda: f32,
    /// Clip range ε of the probability ratio.
    pub clip: f64,
    /// Weight of the value loss.
    pub value_coef: f64,
    /// Weight of the entropy bonus.
    pub entropy_coef: f64,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Passes over each rollout.
    pub epochs: usize,
    /// Rows per minibatch.
    pub minibatch_size: usize,
    /// Gradient norm clip.
    pub max_grad_norm: f64,
    /// Stop the epochs of an update early once the approximate KL of an
    /// epoch exceeds this.
    pub target_kl: Option<f64>,
    /// Normalise advantages per minibatch (mean 0, std 1).
    pub normalize_advantages: bool,
    /// Seed of minibatch shuffling and action sampling.
    pub seed: u64,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            n_steps: 128,
            gamma: 0.99,
            gae_lambda: 0.95,
            clip: 0.2,
            value_coef: 0.5,
            entropy_coef: 0.01,
            learning_rate: 2.5e-4,
            epochs: 4,
            minibatch_size: 256,
            max_grad_norm: 0.5,
            target_kl: None,
            normalize_advantages: true,
            seed: 0,
        }
    }
}

impl PpoConfig {
    /// Checks the values make sense.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| Err(TrainError::Invalid(format!("PPO: {m}")));
        if self.n_steps == 0 || self.epochs == 0 || self.minibatch_size == 0 {
            return bad("n_steps, epochs and minibatch_size must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.gamma) || !(0.0..=1.0).contains(&self.gae_lambda) {
            return bad("gamma and gae_lambda must be in [0, 1]");
        }
        if !(self.clip > 0.0 && self.learning_rate > 0.0 && self.max_grad_norm > 0.0) {
            return bad("clip, learning_rate and max_grad_norm must be positive");
        }
        Ok(())
    }
}

/// What one update did (means over its minibatches).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateStats {
    /// Clipped surrogate loss.
    pub policy_loss: f64,
    /// Value loss (½ squared error).
    pub value_loss: f64,
    /// Entropy of the masked policy.
    pub entropy: f64,
    /// Approximate KL(old ‖ new), the `(r - 1) - ln r` estimator.
    pub approx_kl: f64,
    /// Fraction of rows whose ratio left [1 - ε, 1 + ε].
    pub clip_fraction: f64,
    /// Epochs run (fewer than configured after a KL stop).
    pub epochs: usize,
}

/// The learner: the network, its optimiser, and the advantage buffers.
pub struct Ppo {
    net: PolicyNet,
    opt: nn::Optimizer,
    config: PpoConfig,
    rng: Rng,
    advantages: Vec<f32>,
    returns: Vec<f32>,
    updates: usize,
}

impl Ppo {
    /// A learner for `net` (fresh or loaded with `--init`).
    pub fn new(net: PolicyNet, config: PpoConfig) -> Result<Self, TrainError> {
        config.validate()?;
        let opt = nn::Adam::default()
            .eps(1e-5)
            .build(net.var_store(), config.learning_rate)?;
        let rng = Rng::new(config.seed, 0);
        Ok(Self {
            net,
            opt,
            config,
            rng,
            advantages: Vec::new(),
            returns: Vec::new(),
            updates: 0,
        })
    }

    /// The network.
    pub fn net(&self) -> &PolicyNet {
        &self.net
    }

    /// The configuration.
    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    /// Gives the network back.
    pub fn into_net(self) -> PolicyNet {
        self.net
    }

    /// Changes the learning rate (for annealing).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.opt.set_lr(lr);
    }

    /// Advantages of the last update, `[T, N]`.
    pub fn advantages(&self) -> &[f32] {
        &self.advantages
    }

    /// One PPO update over a full rollout.
    pub fn update(&mut self, buf: &RolloutBuffer) -> Result<UpdateStats, TrainError> {
        let rows = buf.rows();
        if rows == 0 {
            return Err(TrainError::Invalid("empty rollout".into()));
        }
        let gae = GaeInput {
            n_envs: buf.n_envs(),
            rewards: &buf.rewards,
            values: &buf.values,
            terminated: &buf.terminated,
            truncated: &buf.truncated,
            final_values: &buf.final_values,
            last_values: &buf.last_values,
            excluded: Some(&buf.excluded),
            gamma: self.config.gamma,
            lambda: self.config.gae_lambda,
        };
        gae.check().map_err(TrainError::Invalid)?;
        compute_gae(&gae, &mut self.advantages, &mut self.returns);

        let device = self.net.device();
        let r = rows as i64;
        let obs = Tensor::f_from_slice(&buf.obs)?
            .f_view([r, OBS_DIM as i64])?
            .f_to_device(device)?;
        let masks = Tensor::f_from_slice(&buf.masks)?
            .f_view([r, N_ACTIONS as i64])?
            .f_to_device(device)?;
        let frames = if buf.has_frames() {
            Some(
                Tensor::f_from_slice(&buf.frames)?
                    .f_view([
                        r,
                        FRAME_CHANNELS as i64,
                        FRAME_HEIGHT as i64,
                        FRAME_WIDTH as i64,
                    ])?
                    .f_to_device(device)?,
            )
        } else {
            None
        };
        let actions: Vec<i64> = buf.actions.iter().map(|&a| i64::from(a)).collect();
        let actions = Tensor::f_from_slice(&actions)?.f_to_device(device)?;
        let old_logp = Tensor::f_from_slice(&buf.log_probs)?.f_to_device(device)?;
        // Only transitions are learnt from: rows that are not (see
        // `StepOutcome::excluded`) are left out of every minibatch.
        let mut order: Vec<i64> = (0..r).filter(|&k| !buf.excluded[k as usize]).collect();
        if order.is_empty() {
            return Err(TrainError::Invalid(
                "the rollout holds no transition (every row was excluded)".into(),
            ));
        }
        // Advantages are normalised once over the rollout's transitions
        // (RLlib's convention), so every minibatch, one row included, sees
        // the same scale.
        if self.config.normalize_advantages {
            normalize(&mut self.advantages, &order);
        }
        let advantages = Tensor::f_from_slice(&self.advantages)?.f_to_device(device)?;
        let returns = Tensor::f_from_slice(&self.returns)?.f_to_device(device)?;

        let mb = self.config.minibatch_size.min(order.len());
        let mut sums = UpdateStats::default();
        let mut minibatches = 0usize;
        let mut epochs = 0;
        for _ in 0..self.config.epochs {
            shuffle(&mut order, &mut self.rng);
            let mut epoch_kl = 0.0;
            let mut epoch_batches = 0usize;
            for chunk in order.chunks(mb) {
                let idx = Tensor::f_from_slice(chunk)?.f_to_device(device)?;
                let stats = self.minibatch_step(
                    &obs.f_index_select(0, &idx)?,
                    &masks.f_index_select(0, &idx)?,
                    frames
                        .as_ref()
                        .map(|f| f.f_index_select(0, &idx))
                        .transpose()?
                        .as_ref(),
                    &actions.f_index_select(0, &idx)?,
                    &old_logp.f_index_select(0, &idx)?,
                    &advantages.f_index_select(0, &idx)?,
                    &returns.f_index_select(0, &idx)?,
                )?;
                sums.policy_loss += stats.policy_loss;
                sums.value_loss += stats.value_loss;
                sums.entropy += stats.entropy;
                sums.approx_kl += stats.approx_kl;
                sums.clip_fraction += stats.clip_fraction;
                epoch_kl += stats.approx_kl;
                epoch_batches += 1;
                minibatches += 1;
            }
            epochs += 1;
            if let Some(target) = self.config.target_kl {
                if epoch_kl / epoch_batches.max(1) as f64 > target {
                    break;
                }
            }
        }
        self.updates += 1;
        let k = minibatches.max(1) as f64;
        let stats = UpdateStats {
            policy_loss: sums.policy_loss / k,
            value_loss: sums.value_loss / k,
            entropy: sums.entropy / k,
            approx_kl: sums.approx_kl / k,
            clip_fraction: sums.clip_fraction / k,
            epochs,
        };
        for (what, value) in [
            ("policy loss", stats.policy_loss),
            ("value loss", stats.value_loss),
        ] {
            if !value.is_finite() {
                return Err(TrainError::Diverged {
                    what,
                    value,
                    update: self.updates,
                });
            }
        }
        Ok(stats)
    }

    #[allow(clippy::too_many_arguments)]
    fn minibatch_step(
        &mut self,
        obs: &Tensor,
        masks: &Tensor,
        frames: Option<&Tensor>,
        actions: &Tensor,
        old_logp: &Tensor,
        advantages: &Tensor,
        returns: &Tensor,
    ) -> Result<UpdateStats, TrainError> {
        let (logits, values) = self.net.forward(obs, masks, frames)?;
        let logp_all = logits.f_log_softmax(-1, Kind::Float)?;
        let logp = logp_all
            .f_gather(1, &actions.f_unsqueeze(1)?, false)?
            .f_squeeze_dim(1)?;
        // Masked actions have p = 0 and a finite log p, so p·log p = 0.
        let entropy = -(logp_all.f_exp()? * &logp_all)
            .f_sum_dim_intlist(-1, false, Kind::Float)?
            .f_mean(Kind::Float)?;

        let adv = advantages.shallow_clone();
        let log_ratio = &logp - old_logp;
        let ratio = log_ratio.f_exp()?;
        let clip = self.config.clip;
        let surrogate =
            (&ratio * &adv).f_min_other(&(ratio.f_clamp(1.0 - clip, 1.0 + clip)? * &adv))?;
        let policy_loss = -surrogate.f_mean(Kind::Float)?;
        let value_loss = (&values - returns).f_square()?.f_mean(Kind::Float)? * 0.5;
        let loss = &policy_loss + &value_loss * self.config.value_coef
            - &entropy * self.config.entropy_coef;
        self.opt.zero_grad();
        loss.f_backward()?;
        self.opt.clip_grad_norm(self.config.max_grad_norm);
        self.opt.step();

        let _no_grad = tch::no_grad_guard();
        let approx_kl = ((&ratio - 1.0) - &log_ratio)
            .f_mean(Kind::Float)?
            .f_double_value(&[])?;
        let clip_fraction = (&ratio - 1.0)
            .f_abs()?
            .f_gt(clip)?
            .f_to_kind(Kind::Float)?
            .f_mean(Kind::Float)?
            .f_double_value(&[])?;
        Ok(UpdateStats {
            policy_loss: policy_loss.f_double_value(&[])?,
            value_loss: value_loss.f_double_value(&[])?,
            entropy: entropy.f_double_value(&[])?,
            approx_kl,
            clip_fraction,
            epochs: 1,
        })
    }
}

/// Normalises `values` at `rows` to mean 0 and standard deviation 1 (a
/// single row, or rows all alike, become 0); the other entries are left.
fn normalize(values: &mut [f32], rows: &[i64]) {
    let n = rows.len() as f64;
    let mean = rows
        .iter()
        .map(|&k| f64::from(values[k as usize]))
        .sum::<f64>()
        / n;
    let var = rows
        .iter()
        .map(|&k| (f64::from(values[k as usize]) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0);
    let scale = 1.0 / (var.sqrt() + 1e-8);
    for &k in rows {
        let v = &mut values[k as usize];
        *v = ((f64::from(*v) - mean) * scale) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::NetConfig;
    use crate::train::buffer::StepRecord;
    use tch::Device;

    #[test]
    fn advantages_are_normalised_over_the_transitions_only() {
        let mut values = vec![1.0, 100.0, 3.0, -50.0];
        normalize(&mut values, &[0, 2]);
        assert!((values[0] + 0.70710677).abs() < 1e-5, "{values:?}");
        assert!((values[2] - 0.70710677).abs() < 1e-5, "{values:?}");
        assert_eq!(
            (values[1], values[3]),
            (100.0, -50.0),
            "excluded rows untouched"
        );
        let mut one = vec![7.0];
        normalize(&mut one, &[0]);
        assert_eq!(one, [0.0], "a single row has no spread: 0, not NaN or raw");
    }

    #[test]
    fn an_update_learns_from_no_excluded_row() {
        // Every row but one is excluded, and an excluded row carries a
        // reward of f32::MAX: had it reached the value loss, the loss would
        // not be finite and the update would fail as diverged.
        let net = PolicyNet::new(
            NetConfig {
                hidden: vec![8],
                ..NetConfig::default()
            },
            Device::Cpu,
            4,
        )
        .unwrap();
        let mut ppo = Ppo::new(
            net,
            PpoConfig {
                minibatch_size: 2,
                epochs: 1,
                ..PpoConfig::default()
            },
        )
        .unwrap();
        let mut buf = RolloutBuffer::new(2, 2, false).unwrap();
        let obs = vec![0.5; 2 * OBS_DIM];
        let masks = vec![true; 2 * N_ACTIONS];
        for excluded in [[true, false], [true, true]] {
            buf.push(&StepRecord {
                obs: &obs,
                masks: &masks,
                frames: None,
                actions: &[1, 2],
                log_probs: &[-2.9, -2.9],
                values: &[0.0, 0.0],
                rewards: &[f32::MAX, 1.0],
                terminated: &[false, false],
                truncated: &[false, false],
                final_values: &[0.0, 0.0],
                excluded: Some(&excluded),
            })
            .unwrap();
        }
        buf.set_last_values(&[0.0, 0.0]).unwrap();
        let stats = ppo.update(&buf).unwrap();
        assert!(
            stats.value_loss.is_finite() && stats.policy_loss.is_finite(),
            "{stats:?}"
        );
        // nothing at all to learn from is an error, not a silent no-op
        let mut empty = RolloutBuffer::new(1, 1, false).unwrap();
        empty
            .push(&StepRecord {
                obs: &obs[..OBS_DIM],
                masks: &masks[..N_ACTIONS],
                frames: None,
                actions: &[0],
                log_probs: &[0.0],
                values: &[0.0],
                rewards: &[0.0],
                terminated: &[false],
                truncated: &[false],
                final_values: &[0.0],
                excluded: Some(&[true]),
            })
            .unwrap();
        assert!(ppo.update(&empty).is_err());
    }
}
