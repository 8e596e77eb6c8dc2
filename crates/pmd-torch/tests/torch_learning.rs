//! Training that must learn (the `torch` feature): PPO on a small
//! corridor world, behaviour cloning of a fixed labelling function. Fixed
//! seeds; the thresholds are far from what an untrained network gets, so
//! a broken update fails.

use std::ops::ControlFlow;

use pmd_torch::infer::contract::{N_ACTIONS, OBS_DIM};
use pmd_torch::infer::{BatchInput, NetConfig, PolicyNet};
use pmd_torch::train::{
    train_bc, train_ppo, BcConfig, BcDataset, Ppo, PpoConfig, StepOutcome, TrainError,
    VecEnvironment,
};
use pmd_util::rng::Rng;
use tch::Device;

/// N corridors of `LEN` cells. Start at 0; action 1 moves right, 0 left,
/// 16 waits (the only legal ones). Reaching the last cell pays +1 and
/// terminates; every other step costs 0.01; episodes are truncated after
/// `LIMIT` steps. Same-step auto-reset, gymnasium style.
struct Corridor {
    pos: Vec<usize>,
    t: Vec<usize>,
    obs: Vec<f32>,
    mask: Vec<bool>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    final_obs: Vec<f32>,
    progress: Vec<f32>,
}

const LEN: usize = 8;
const LIMIT: usize = 16;

impl Corridor {
    fn new(n: usize) -> Self {
        let mut mask = vec![false; n * N_ACTIONS];
        for row in mask.chunks_exact_mut(N_ACTIONS) {
            row[0] = true;
            row[1] = true;
            row[16] = true;
        }
        let mut env = Self {
            pos: vec![0; n],
            t: vec![0; n],
            obs: vec![0.0; n * OBS_DIM],
            mask,
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            final_obs: vec![0.0; n * OBS_DIM],
            progress: vec![0.0; n],
        };
        for i in 0..n {
            env.write_obs(i);
        }
        env
    }

    fn write_obs(&mut self, i: usize) {
        let row = &mut self.obs[i * OBS_DIM..(i + 1) * OBS_DIM];
        row.fill(0.0);
        row[self.pos[i]] = 1.0;
    }
}

impl VecEnvironment for Corridor {
    fn num_envs(&self) -> usize {
        self.pos.len()
    }

    fn observe(&self) -> BatchInput<'_> {
        BatchInput {
            obs: &self.obs,
            mask: &self.mask,
            frames: None,
        }
    }

    fn step(&mut self, actions: &[u8]) -> Result<StepOutcome<'_>, TrainError> {
        for (i, &a) in actions.iter().enumerate() {
            match a {
                0 => self.pos[i] = self.pos[i].saturating_sub(1),
                1 => self.pos[i] += 1,
                16 => {}
                _ => return Err(TrainError::Env(format!("illegal action {a}"))),
            }
            self.t[i] += 1;
            let goal = self.pos[i] == LEN - 1;
            self.rewards[i] = if goal { 1.0 } else { -0.01 };
            self.terminated[i] = goal;
            self.truncated[i] = !goal && self.t[i] >= LIMIT;
            self.progress[i] = self.pos[i] as f32;
            if goal || self.truncated[i] {
                self.write_obs(i);
                let (src, dst) = (i * OBS_DIM, (i + 1) * OBS_DIM);
                self.final_obs[src..dst].copy_from_slice(&self.obs[src..dst]);
                self.pos[i] = 0;
                self.t[i] = 0;
            }
            self.write_obs(i);
        }
        Ok(StepOutcome {
            rewards: &self.rewards,
            terminated: &self.terminated,
            truncated: &self.truncated,
            final_obs: &self.final_obs,
            final_frames: None,
            progress: Some(&self.progress),
            excluded: None,
        })
    }
}

#[test]
fn ppo_learns_the_corridor() {
    tch::set_num_threads(1);
    let net = PolicyNet::new(
        NetConfig {
            hidden: vec![32],
            ..NetConfig::default()
        },
        Device::Cpu,
        1,
    )
    .unwrap();
    let config = PpoConfig {
        n_steps: 32,
        minibatch_size: 64,
        epochs: 4,
        learning_rate: 1e-3,
        gamma: 0.95,
        seed: 7,
        ..PpoConfig::default()
    };
    let mut ppo = Ppo::new(net, config).unwrap();
    let mut env = Corridor::new(8);
    let reports = train_ppo(&mut ppo, &mut env, 40 * 8 * 32, |_, _| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(reports.len(), 40);
    let mean = |rs: &[pmd_torch::train::UpdateReport]| {
        let v: Vec<f64> = rs
            .iter()
            .map(|r| r.mean_return)
            .filter(|x| x.is_finite())
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let first = mean(&reports[..3]);
    let last = mean(&reports[35..]);
    let last_progress = reports[35..].iter().map(|r| r.mean_progress).sum::<f64>() / 5.0;
    eprintln!(
        "PPO corridor: mean return {first:.3} → {last:.3}, final progress {last_progress:.2}"
    );
    assert!(
        first < 0.3,
        "an untrained policy should rarely reach the goal: {first}"
    );
    assert!(last > 0.8, "PPO did not learn to walk right: {last}");
    assert!(last_progress > 6.0);
    assert!(reports
        .iter()
        .all(|r| r.stats.approx_kl.is_finite() && r.stats.entropy.is_finite()));
    // The policy got sharper.
    assert!(reports[39].stats.entropy < reports[0].stats.entropy);
}

/// Labels are a fixed function of the observation: each action has a key
/// feature (a fixed random position); the one key that is on names the
/// action. Other features are sparse noise, and the mask allows the label
/// plus random others.
fn synthetic_dataset(rows: usize, seed: u64) -> BcDataset {
    // N_ACTIONS distinct key features, spread over the observation.
    let key: Vec<usize> = (0..N_ACTIONS).map(|a| 7 + a * 94).collect();
    let mut rng = Rng::new(seed, 0);
    let mut data = BcDataset::new();
    for _ in 0..rows {
        let mut obs: Vec<f32> = (0..OBS_DIM)
            .map(|_| if rng.below(20) == 0 { 1.0 } else { 0.0 })
            .collect();
        let label = rng.below(N_ACTIONS as u32) as usize;
        for (a, &k) in key.iter().enumerate() {
            obs[k] = if a == label { 1.0 } else { 0.0 };
        }
        let mut mask: Vec<bool> = (0..N_ACTIONS).map(|_| rng.below(2) == 0).collect();
        mask[label] = true;
        data.push(&obs, &mask, label as u8, false).unwrap();
    }
    data
}

#[test]
fn behaviour_cloning_reaches_high_accuracy() {
    tch::set_num_threads(1);
    let data = synthetic_dataset(8000, 3);
    let mut net = PolicyNet::new(
        NetConfig {
            hidden: vec![64],
            ..NetConfig::default()
        },
        Device::Cpu,
        2,
    )
    .unwrap();
    let config = BcConfig {
        epochs: 10,
        batch_size: 128,
        learning_rate: 2e-3,
        weight_decay: 1e-2,
        validation_fraction: 0.2,
        seed: 5,
        ..BcConfig::default()
    };
    let epochs = train_bc(&mut net, &data, &config, |_| {}).unwrap();
    let first = epochs[0];
    let last = epochs.last().unwrap();
    eprintln!(
        "BC: val accuracy {:.3} → {:.3}, val loss {:.3} → {:.3}",
        first.val_accuracy, last.val_accuracy, first.val_loss, last.val_loss
    );
    // Chance is about 1 in 10 legal actions.
    assert!(
        first.val_accuracy < 0.6,
        "first epoch already at {}",
        first.val_accuracy
    );
    assert!(
        last.val_accuracy > 0.95,
        "held-out accuracy {}",
        last.val_accuracy
    );
    assert!(last.val_loss < first.val_loss);
}
