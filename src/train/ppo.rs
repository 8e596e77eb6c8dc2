//! Proximal policy optimisation (clipped objective) on tch.
//!
//! [`Ppo::update`] learns from a full [`RolloutBuffer`]; [`train_ppo`]
//! drives any [`VecEnvironment`] (`train::env` implements it for
//! `VecEnv`): collect `n_steps` steps of all environments, bootstrap, update,
//! report, repeat.

use std::ops::ControlFlow;
use std::time::Instant;

use tch::nn::OptimizerConfig;
use tch::{nn, Kind, Tensor};

use crate::infer::actor::{forward_native, select_actions, BatchInput, BatchOutput, Selection};
use crate::infer::contract::{
    FRAME_CHANNELS, FRAME_HEIGHT, FRAME_LEN, FRAME_WIDTH, N_ACTIONS, OBS_DIM,
};
use crate::infer::sparse::SparseRows;
use crate::infer::PolicyNet;
use crate::rng::Rng;

use super::buffer::{RolloutBuffer, StepRecord};
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

/// One line of the training log.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateReport {
    /// 1-based update number.
    pub update: usize,
    /// Environment steps so far (all environments).
    pub env_steps: u64,
    /// Episodes finished during this rollout.
    pub episodes: usize,
    /// Mean return of those episodes (NaN if none finished).
    pub mean_return: f64,
    /// Mean last progress of those episodes (NaN if none or not reported).
    pub mean_progress: f64,
    /// The update's statistics.
    pub stats: UpdateStats,
    /// Wall-clock seconds since training started.
    pub seconds: f64,
}

/// Runs PPO for at least `total_steps` environment steps (rounded up to
/// whole rollouts), calling `on_update` after each update (with the
/// learner, e.g. to anneal its learning rate or save its network); it
/// stops early when that says so.
pub fn train_ppo<E: VecEnvironment>(
    ppo: &mut Ppo,
    env: &mut E,
    total_steps: u64,
    mut on_update: impl FnMut(&mut Ppo, &UpdateReport) -> ControlFlow<()>,
) -> Result<Vec<UpdateReport>, TrainError> {
    let n = env.num_envs();
    if n == 0 {
        return Err(TrainError::Invalid("no environments".into()));
    }
    let frames = ppo.net.config().frames;
    let mut buf = RolloutBuffer::new(n, ppo.config.n_steps, frames)?;
    let mut collector = Collector::new(n, ppo.config.seed ^ 0x0005_EED0_FAC7, frames);
    let started = Instant::now();
    let mut env_steps = 0u64;
    let mut reports = Vec::new();
    while env_steps < total_steps {
        buf.clear();
        collector.finished.clear();
        for _ in 0..ppo.config.n_steps {
            collector.step(&ppo.net, env, &mut buf)?;
            env_steps += n as u64;
        }
        collector.bootstrap(&ppo.net, env, &mut buf)?;
        let stats = ppo.update(&buf)?;
        let episodes = collector.finished.len();
        let mean = |f: fn(&(f64, f64)) -> f64| {
            if episodes == 0 {
                f64::NAN
            } else {
                collector.finished.iter().map(f).sum::<f64>() / episodes as f64
            }
        };
        let report = UpdateReport {
            update: reports.len() + 1,
            env_steps,
            episodes,
            mean_return: mean(|e| e.0),
            mean_progress: mean(|e| e.1),
            stats,
            seconds: started.elapsed().as_secs_f64(),
        };
        reports.push(report);
        if on_update(ppo, &report).is_break() {
            break;
        }
    }
    Ok(reports)
}

/// Rollout collection state that outlives one rollout: running episode
/// returns and the sampling stream.
struct Collector {
    rng: Rng,
    sparse: SparseRows,
    out: BatchOutput,
    log_probs: Vec<f32>,
    values: Vec<f32>,
    uniforms: Vec<f32>,
    final_values: Vec<f32>,
    returns: Vec<f64>,
    /// (return, progress) of episodes finished in this rollout.
    finished: Vec<(f64, f64)>,
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
    fn new(n: usize, seed: u64, frames: bool) -> Self {
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

    fn step<E: VecEnvironment>(
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
            forward_native(
                net,
                &input,
                n,
                Some(&mut self.sparse),
                &mut self.log_probs,
                &mut self.out.values,
            )?;
            self.uniforms.clear();
            let rng = &mut self.rng;
            self.uniforms.extend((0..n).map(|_| rng.unit() as f32));
            select_actions(
                &self.log_probs,
                input.mask,
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

    fn bootstrap<E: VecEnvironment>(
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

fn copy_into<T: Copy>(dst: &mut Vec<T>, src: &[T]) {
    dst.clear();
    dst.extend_from_slice(src);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::NetConfig;
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
