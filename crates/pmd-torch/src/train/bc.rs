//! Behaviour cloning: masked cross-entropy on recorded (observation, mask,
//! action) rows, in shuffled minibatches. When every row also has its
//! discounted return-to-go, the value head learns it too (squared error,
//! weighted by [`BcConfig::value_coef`]), so a cloned network starts PPO
//! with a value function that already knows the game.

use tch::nn::OptimizerConfig;
use tch::{nn, Kind, Tensor};

use crate::infer::contract::{N_ACTIONS, OBS_DIM};
use crate::infer::PolicyNet;
use pmd_util::rng::Rng;

use super::{shuffle, TrainError};

/// A row's value target: `ret`, plus `tail` times the network's value of
/// bootstrap state `state` (see [`BcDataset::add_bootstrap_state`]) where
/// the episode was cut short — PPO's bootstrap of a truncation. The value
/// of the bootstrap states is re-estimated at the start of every epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueTarget {
    /// The discounted rewards up to the bootstrap point.
    pub ret: f32,
    /// The discount of the bootstrap term (0: the episode ended for good).
    pub tail: f32,
    /// The bootstrap state, where `tail` is not 0.
    pub state: Option<u32>,
}

/// Rows to learn from, in memory: `obs [M, 2395]`, `masks [M, 19]`,
/// `actions [M]`.
#[derive(Debug, Clone, Default)]
pub struct BcDataset {
    obs: Vec<f32>,
    masks: Vec<bool>,
    actions: Vec<u8>,
    /// Each row's value target before its bootstrap term (see
    /// [`ValueTarget`]), or NaN where unknown.
    returns: Vec<f32>,
    /// Each row's bootstrap weight (0: none).
    tails: Vec<f32>,
    /// Each row's bootstrap state (an index into `bootstrap_obs`; 0 when
    /// its weight is 0).
    tail_states: Vec<i64>,
    /// Observations whose value the targets bootstrap from, `[S, 2395]`.
    bootstrap_obs: Vec<f32>,
    skipped_failed: usize,
    skipped_illegal: usize,
}

impl BcDataset {
    /// An empty dataset.
    pub fn new() -> Self {
        Self::default()
    }

    /// A dataset from whole buffers, checked: lengths agree, actions are in
    /// range and legal under their mask.
    pub fn from_buffers(
        obs: Vec<f32>,
        masks: Vec<bool>,
        actions: Vec<u8>,
    ) -> Result<Self, TrainError> {
        let m = actions.len();
        if obs.len() != m * OBS_DIM || masks.len() != m * N_ACTIONS {
            return Err(TrainError::Invalid(format!(
                "{m} actions need {} observation values and {} mask values, got {} and {}",
                m * OBS_DIM,
                m * N_ACTIONS,
                obs.len(),
                masks.len()
            )));
        }
        for (row, &a) in actions.iter().enumerate() {
            if usize::from(a) >= N_ACTIONS || !masks[row * N_ACTIONS + usize::from(a)] {
                return Err(TrainError::Invalid(format!(
                    "row {row}: action {a} is not legal under its mask"
                )));
            }
        }
        Ok(Self {
            returns: vec![f32::NAN; actions.len()],
            tails: vec![0.0; actions.len()],
            tail_states: vec![0; actions.len()],
            bootstrap_obs: Vec::new(),
            obs,
            masks,
            actions,
            skipped_failed: 0,
            skipped_illegal: 0,
        })
    }

    /// Adds one recorded row. Rows of failed (rolled-back) steps and rows
    /// whose action is out of range or illegal under the mask are skipped
    /// and counted; returns whether the row was kept.
    pub fn push(
        &mut self,
        obs: &[f32],
        mask: &[bool],
        action: u8,
        failed: bool,
    ) -> Result<bool, TrainError> {
        self.push_with_return(obs, mask, action, failed, f32::NAN)
    }

    /// [`BcDataset::push`] with the row's discounted return-to-go, the
    /// value head's target (an episode that ended for good).
    pub fn push_with_return(
        &mut self,
        obs: &[f32],
        mask: &[bool],
        action: u8,
        failed: bool,
        ret: f32,
    ) -> Result<bool, TrainError> {
        let target = ValueTarget {
            ret,
            tail: 0.0,
            state: None,
        };
        self.push_with_target(obs, mask, action, failed, target)
    }

    /// Adds an observation value targets can bootstrap from; returns its
    /// index for [`ValueTarget::state`].
    pub fn add_bootstrap_state(&mut self, obs: &[f32]) -> Result<u32, TrainError> {
        if obs.len() != OBS_DIM {
            return Err(TrainError::Invalid(format!(
                "a bootstrap state needs {OBS_DIM} observation values, got {}",
                obs.len()
            )));
        }
        let index = u32::try_from(self.bootstrap_obs.len() / OBS_DIM)
            .map_err(|_| TrainError::Invalid("too many bootstrap states".into()))?;
        self.bootstrap_obs.extend_from_slice(obs);
        Ok(index)
    }

    /// [`BcDataset::push`] with the row's value target.
    pub fn push_with_target(
        &mut self,
        obs: &[f32],
        mask: &[bool],
        action: u8,
        failed: bool,
        target: ValueTarget,
    ) -> Result<bool, TrainError> {
        let states = self.bootstrap_obs.len() / OBS_DIM;
        let state = match target.state {
            Some(s) if (s as usize) < states => i64::from(s),
            Some(s) => {
                return Err(TrainError::Invalid(format!(
                    "bootstrap state {s} was never added ({states} are)"
                )))
            }
            None if target.tail == 0.0 => 0,
            None => {
                return Err(TrainError::Invalid(
                    "a value target with a bootstrap weight needs its state".into(),
                ))
            }
        };
        if obs.len() != OBS_DIM || mask.len() != N_ACTIONS {
            return Err(TrainError::Invalid(format!(
                "a row needs {OBS_DIM} observation and {N_ACTIONS} mask values, got {} and {}",
                obs.len(),
                mask.len()
            )));
        }
        if failed {
            self.skipped_failed += 1;
            return Ok(false);
        }
        if usize::from(action) >= N_ACTIONS || !mask[usize::from(action)] {
            self.skipped_illegal += 1;
            return Ok(false);
        }
        self.obs.extend_from_slice(obs);
        self.masks.extend_from_slice(mask);
        self.actions.push(action);
        self.returns.push(target.ret);
        self.tails.push(target.tail);
        self.tail_states.push(state);
        Ok(true)
    }

    /// Whether every row has a return-to-go.
    pub fn has_returns(&self) -> bool {
        !self.returns.is_empty() && self.returns.iter().all(|r| r.is_finite())
    }

    /// Rows with a value target (the value head learns from these; rows
    /// without one teach only the policy).
    pub fn rows_with_returns(&self) -> usize {
        self.returns.iter().filter(|r| r.is_finite()).count()
    }

    /// How often each action was taken.
    pub fn action_counts(&self) -> [usize; N_ACTIONS] {
        let mut counts = [0; N_ACTIONS];
        for &a in &self.actions {
            counts[usize::from(a)] += 1;
        }
        counts
    }

    /// Rows kept.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether no row was kept.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Rows skipped because their step failed.
    pub fn skipped_failed(&self) -> usize {
        self.skipped_failed
    }

    /// Rows skipped because their action was illegal.
    pub fn skipped_illegal(&self) -> usize {
        self.skipped_illegal
    }
}

/// Behaviour-cloning hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BcConfig {
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per minibatch.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW (decoupled) weight decay; recorded observations have many
    /// features that never matter, and decay keeps the network from
    /// memorising them.
    pub weight_decay: f64,
    /// Fraction of rows held out for validation (0 for none).
    pub validation_fraction: f64,
    /// Weight of the value head's squared error, when the rows have
    /// returns (0: the value head is left alone).
    pub value_coef: f64,
    /// Seed of the split and the shuffles.
    pub seed: u64,
}

impl Default for BcConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 256,
            learning_rate: 1e-3,
            weight_decay: 1e-2,
            validation_fraction: 0.1,
            value_coef: 0.5,
            seed: 0,
        }
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BcEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy (argmax of the masked logits vs the label).
    pub train_accuracy: f64,
    /// Validation loss (NaN without a validation split).
    pub val_loss: f64,
    /// Validation accuracy (NaN without a validation split).
    pub val_accuracy: f64,
    /// Mean squared error of the value head on the validation rows (NaN
    /// without returns or a validation split).
    pub val_value_error: f64,
}

/// Trains `net` to imitate `data`; calls `on_epoch` after each epoch.
pub fn train_bc(
    net: &mut PolicyNet,
    data: &BcDataset,
    config: &BcConfig,
    mut on_epoch: impl FnMut(&BcEpoch),
) -> Result<Vec<BcEpoch>, TrainError> {
    if data.is_empty() {
        return Err(TrainError::Invalid("no rows to learn from".into()));
    }
    if net.config().frames {
        return Err(TrainError::Invalid(
            "behaviour cloning of frame-reading networks is not supported".into(),
        ));
    }
    if config.epochs == 0
        || config.batch_size == 0
        || !(0.0..1.0).contains(&config.validation_fraction)
    {
        return Err(TrainError::Invalid(
            "BC: epochs and batch_size ≥ 1, validation_fraction in [0, 1)".into(),
        ));
    }
    let mut rng = Rng::new(config.seed, 0);
    let mut rows: Vec<i64> = (0..data.len() as i64).collect();
    shuffle(&mut rows, &mut rng);
    let n_val = (data.len() as f64 * config.validation_fraction) as usize;
    let (val_rows, train_rows) = rows.split_at(n_val);
    if train_rows.is_empty() {
        return Err(TrainError::Invalid(
            "no training rows left after the validation split".into(),
        ));
    }
    let mut train_rows = train_rows.to_vec();

    let device = net.device();
    let m = data.len() as i64;
    let obs = Tensor::f_from_slice(&data.obs)?
        .f_view([m, OBS_DIM as i64])?
        .f_to_device(device)?;
    let masks = Tensor::f_from_slice(&data.masks)?
        .f_view([m, N_ACTIONS as i64])?
        .f_to_device(device)?;
    let actions: Vec<i64> = data.actions.iter().map(|&a| i64::from(a)).collect();
    let actions = Tensor::f_from_slice(&actions)?.f_to_device(device)?;
    let value_coef = if data.rows_with_returns() > 0 {
        config.value_coef
    } else {
        0.0
    };
    // Rows without a target weigh 0 in the value loss.
    let known: Vec<f32> = data
        .returns
        .iter()
        .map(|r| f32::from(u8::from(r.is_finite())))
        .collect();
    let known = Tensor::f_from_slice(&known)?.f_to_device(device)?;
    let partial: Vec<f32> = data
        .returns
        .iter()
        .map(|&r| if r.is_finite() { r } else { 0.0 })
        .collect();
    let targets = Targets {
        partial: Tensor::f_from_slice(&partial)?.f_to_device(device)?,
        tails: Tensor::f_from_slice(&data.tails)?.f_to_device(device)?,
        states: Tensor::f_from_slice(&data.tail_states)?.f_to_device(device)?,
        bootstrap: if data.bootstrap_obs.is_empty() {
            None
        } else {
            let s = (data.bootstrap_obs.len() / OBS_DIM) as i64;
            Some(
                Tensor::f_from_slice(&data.bootstrap_obs)?
                    .f_view([s, OBS_DIM as i64])?
                    .f_to_device(device)?,
            )
        },
    };
    let mut opt = nn::AdamW::default()
        .wd(config.weight_decay)
        .build(net.var_store(), config.learning_rate)?;

    let mut epochs = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        let returns = targets.estimate(net)?;
        shuffle(&mut train_rows, &mut rng);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0.0, 0usize);
        for chunk in train_rows.chunks(config.batch_size) {
            let idx = Tensor::f_from_slice(chunk)?.f_to_device(device)?;
            let target = actions.f_index_select(0, &idx)?;
            let (logits, values) = net.forward(
                &obs.f_index_select(0, &idx)?,
                &masks.f_index_select(0, &idx)?,
                None,
            )?;
            let loss = logits
                .f_log_softmax(-1, Kind::Float)?
                .f_nll_loss::<Tensor>(&target, None, tch::Reduction::Mean, -100)?;
            let total = if value_coef > 0.0 {
                let weight = known.f_index_select(0, &idx)?;
                let value_loss = ((&values - returns.f_index_select(0, &idx)?).f_square()?
                    * &weight)
                    .f_sum(Kind::Float)?
                    / weight.f_sum(Kind::Float)?.f_clamp_min(1.0)?;
                &loss + value_loss * value_coef
            } else {
                loss.shallow_clone()
            };
            opt.zero_grad();
            total.f_backward()?;
            opt.step();
            let batch_loss = loss.f_double_value(&[])?;
            if !batch_loss.is_finite() {
                return Err(TrainError::Diverged {
                    what: "BC loss",
                    value: batch_loss,
                    update: epoch,
                });
            }
            loss_sum += batch_loss * chunk.len() as f64;
            correct += hits(&logits, &target)?;
            seen += chunk.len();
        }
        let (val_loss, val_accuracy, val_value_error) = if val_rows.is_empty() {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            let tensors = Rows {
                obs: &obs,
                masks: &masks,
                actions: &actions,
                returns: (value_coef > 0.0).then_some((&returns, &known)),
            };
            evaluate(net, &tensors, val_rows, config.batch_size)?
        };
        let report = BcEpoch {
            epoch,
            train_loss: loss_sum / seen as f64,
            train_accuracy: correct / seen as f64,
            val_loss,
            val_accuracy,
            val_value_error,
        };
        on_epoch(&report);
        epochs.push(report);
    }
    Ok(epochs)
}

/// The value targets as tensors: `partial + tails * V(bootstrap[states])`.
struct Targets {
    partial: Tensor,
    tails: Tensor,
    states: Tensor,
    bootstrap: Option<Tensor>,
}

impl Targets {
    /// The targets under the network's present value estimates (no
    /// gradient flows into them).
    fn estimate(&self, net: &PolicyNet) -> Result<Tensor, TrainError> {
        let Some(bootstrap) = &self.bootstrap else {
            return Ok(self.partial.shallow_clone());
        };
        let _no_grad = tch::no_grad_guard();
        // The value head does not read the mask; any mask will do.
        let rows = bootstrap.size()[0];
        let masks = Tensor::f_ones([rows, N_ACTIONS as i64], (Kind::Bool, bootstrap.device()))?;
        let (_, values) = net.forward(bootstrap, &masks, None)?;
        let values = values.f_index_select(0, &self.states)?;
        Ok((&self.partial + &self.tails * values).f_detach()?)
    }
}

/// Correct argmax predictions in a batch.
fn hits(logits: &Tensor, target: &Tensor) -> Result<f64, TrainError> {
    let _no_grad = tch::no_grad_guard();
    Ok(logits
        .f_argmax(-1, false)?
        .f_eq_tensor(target)?
        .f_to_kind(Kind::Float)?
        .f_sum(Kind::Float)?
        .f_double_value(&[])?)
}

/// The whole dataset as tensors.
struct Rows<'a> {
    obs: &'a Tensor,
    masks: &'a Tensor,
    actions: &'a Tensor,
    /// The value targets and which rows have one (1) or not (0).
    returns: Option<(&'a Tensor, &'a Tensor)>,
}

/// Loss, accuracy and value error over `rows`.
fn evaluate(
    net: &PolicyNet,
    data: &Rows<'_>,
    rows: &[i64],
    batch: usize,
) -> Result<(f64, f64, f64), TrainError> {
    let _no_grad = tch::no_grad_guard();
    let (mut loss_sum, mut correct, mut value_sum, mut value_rows) = (0.0, 0.0, 0.0, 0.0);
    for chunk in rows.chunks(batch) {
        let idx = Tensor::f_from_slice(chunk)?.f_to_device(data.obs.device())?;
        let target = data.actions.f_index_select(0, &idx)?;
        let (logits, values) = net.forward(
            &data.obs.f_index_select(0, &idx)?,
            &data.masks.f_index_select(0, &idx)?,
            None,
        )?;
        loss_sum += logits
            .f_log_softmax(-1, Kind::Float)?
            .f_nll_loss::<Tensor>(&target, None, tch::Reduction::Mean, -100)?
            .f_double_value(&[])?
            * chunk.len() as f64;
        correct += hits(&logits, &target)?;
        if let Some((returns, known)) = data.returns {
            let weight = known.f_index_select(0, &idx)?;
            value_sum += ((&values - returns.f_index_select(0, &idx)?).f_square()? * &weight)
                .f_sum(Kind::Float)?
                .f_double_value(&[])?;
            value_rows += weight.f_sum(Kind::Float)?.f_double_value(&[])?;
        }
    }
    let n = rows.len() as f64;
    let value_error = if data.returns.is_some() && value_rows > 0.0 {
        value_sum / value_rows
    } else {
        f64::NAN
    };
    Ok((loss_sum / n, correct / n, value_error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_skips_failed_and_illegal_rows() {
        let mut data = BcDataset::new();
        let obs = vec![0.0; OBS_DIM];
        let mut mask = vec![false; N_ACTIONS];
        mask[3] = true;
        assert!(data.push(&obs, &mask, 3, false).unwrap());
        assert!(!data.push(&obs, &mask, 3, true).unwrap());
        assert!(!data.push(&obs, &mask, 4, false).unwrap());
        assert!(!data.push(&obs, &mask, 200, false).unwrap());
        assert!(data.push(&obs[1..], &mask, 3, false).is_err());
        assert_eq!(
            (data.len(), data.skipped_failed(), data.skipped_illegal()),
            (1, 1, 2)
        );
        assert!(BcDataset::from_buffers(obs.clone(), mask.clone(), vec![4]).is_err());
        assert!(BcDataset::from_buffers(obs, mask, vec![3, 3]).is_err());
    }

    #[test]
    fn a_cut_episode_bootstraps_from_the_networks_value_of_its_state() {
        let net = PolicyNet::new(
            crate::infer::NetConfig {
                hidden: vec![8],
                ..crate::infer::NetConfig::default()
            },
            tch::Device::Cpu,
            5,
        )
        .unwrap();
        let mut data = BcDataset::new();
        let mask = vec![true; N_ACTIONS];
        let cut_state = vec![0.25; OBS_DIM];
        let s = data.add_bootstrap_state(&cut_state).unwrap();
        let obs = vec![0.0; OBS_DIM];
        let ended = ValueTarget {
            ret: 2.0,
            tail: 0.0,
            state: None,
        };
        let cut = ValueTarget {
            ret: 1.0,
            tail: 0.5,
            state: Some(s),
        };
        assert!(data.push_with_target(&obs, &mask, 0, false, ended).unwrap());
        assert!(data.push_with_target(&obs, &mask, 0, false, cut).unwrap());
        let missing = ValueTarget {
            state: Some(s + 1),
            ..cut
        };
        assert!(data
            .push_with_target(&obs, &mask, 0, false, missing)
            .is_err());
        assert!(data.has_returns());

        let tensor = |v: &[f32]| Tensor::f_from_slice(v).unwrap();
        let targets = Targets {
            partial: tensor(&data.returns),
            tails: tensor(&data.tails),
            states: Tensor::f_from_slice(&data.tail_states).unwrap(),
            bootstrap: Some(tensor(&data.bootstrap_obs).view([1, OBS_DIM as i64])),
        };
        let got: Vec<f32> = Vec::try_from(targets.estimate(&net).unwrap()).unwrap();
        let (_, v) = net
            .forward(
                &tensor(&cut_state).view([1, OBS_DIM as i64]),
                &Tensor::ones([1, N_ACTIONS as i64], (Kind::Bool, tch::Device::Cpu)),
                None,
            )
            .unwrap();
        let v = v.double_value(&[0]) as f32;
        assert_eq!(got[0], 2.0, "ended for good: no bootstrap");
        assert!((got[1] - (1.0 + 0.5 * v)).abs() < 1e-6, "{got:?}, V = {v}");
    }
}
