//! `bench inference`: µs per batch and per sample of one act step — the
//! forward pass, the masked log-softmax and one sampled action per row —
//! at several batch sizes, on real observations from the cartridge.
//!
//! Each size is warmed up, then timed in rounds of about 5 ms; the figure
//! is the fastest round's mean per call. On a shared machine other
//! processes only ever add time, so the fastest round is the one least
//! disturbed (benches/torch/eager_bench.py measures PyTorch eager the same
//! way, on the same rows). The thread count is whatever libtorch is set to
//! (see `infer::threads`).

use std::time::{Duration, Instant};

use serde::Serialize;

use pmd_agent::emu::Rom;
use pmd_agent::env::{Action, EnvConfig};
use pmd_agent::policy::{BatchPolicy, Heuristic, PerEnv};
use pmd_agent::rng::Rng;
use pmd_agent::rollout::{VecEnv, VecEnvConfig, VecEnvError};
use pmd_torch::infer::contract::{N_ACTIONS, OBS_DIM};
use pmd_torch::infer::{Actor, BatchInput, InferError};

/// Length of one timing round.
pub const ROUND: Duration = Duration::from_millis(5);
/// Timing rounds per batch size.
pub const ROUNDS: usize = 40;

/// The first layer the native network is run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstLayer {
    /// The product over the features that are on (`embedding_bag`), the
    /// default on the CPU. PyTorch's counterpart in
    /// benches/torch/eager_bench.py is `--first-layer sparse`.
    Sparse,
    /// The whole product (`addmm`); always so on CUDA. PyTorch's
    /// counterpart is `nn.Linear` (`--first-layer dense`).
    Dense,
}

impl FirstLayer {
    /// Its name (as eager_bench.py's `--first-layer` spells it).
    pub fn name(self) -> &'static str {
        match self {
            FirstLayer::Sparse => "sparse",
            FirstLayer::Dense => "dense",
        }
    }
}

/// What `bench inference --json` prints (its three keys are pinned by
/// tests/cli_torch.rs; benches/torch/run.sh records which first layer ran).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InferenceReport {
    /// Batch sizes.
    pub batch: Vec<usize>,
    /// µs per batch (forward + action selection).
    pub us_per_batch: Vec<f64>,
    /// µs per sample (`us_per_batch / batch`).
    pub us_per_sample: Vec<f64>,
}

impl InferenceReport {
    /// Per-sample cost at `big` over per-sample cost at `small`, when both
    /// were measured.
    pub fn batching_ratio(&self, small: usize, big: usize) -> Option<f64> {
        let at = |b| self.batch.iter().position(|&x| x == b);
        Some(self.us_per_sample[at(big)?] / self.us_per_sample[at(small)?])
    }
}

/// Observation rows the benchmarks feed the network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// `[rows, 2395]`.
    pub obs: Vec<f32>,
    /// `[rows, 19]`.
    pub masks: Vec<bool>,
}

impl Sample {
    /// Rows held.
    pub fn rows(&self) -> usize {
        self.masks.len() / N_ACTIONS
    }

    /// Fraction of the features that are non-zero.
    pub fn density(&self) -> f64 {
        let on = self.obs.iter().filter(|&&x| x != 0.0).count();
        on as f64 / self.obs.len().max(1) as f64
    }

    /// A batch of `n` rows: the sample's rows in order, cycling.
    pub fn batch(&self, n: usize) -> (Vec<f32>, Vec<bool>) {
        let rows = self.rows().max(1);
        let mut obs = Vec::with_capacity(n * OBS_DIM);
        let mut masks = Vec::with_capacity(n * N_ACTIONS);
        for i in 0..n {
            let r = i % rows;
            obs.extend_from_slice(&self.obs[r * OBS_DIM..(r + 1) * OBS_DIM]);
            masks.extend_from_slice(&self.masks[r * N_ACTIONS..(r + 1) * N_ACTIONS]);
        }
        (obs, masks)
    }
}

/// Real observations: the heuristic plays `envs` environments of `rom`
/// (seeded with `seed`) for `rounds` lockstep rounds and every round's
/// rows are kept, `envs * rounds` rows in all.
pub fn observation_sample(
    rom: &Rom,
    envs: usize,
    rounds: usize,
    seed: u64,
) -> Result<Sample, VecEnvError> {
    let config = VecEnvConfig {
        envs,
        seed,
        env: EnvConfig {
            max_episode_steps: Some(300),
            ..EnvConfig::default()
        },
        ..VecEnvConfig::default()
    };
    let mut v = VecEnv::new(rom, config, |_| Ok(()))?;
    let mut policy = PerEnv(Heuristic::default());
    let mut actions = vec![Action::Wait; envs];
    let mut sample = Sample::default();
    for _ in 0..rounds {
        let batch = v.batch();
        for i in (0..envs).filter(|&i| batch.active[i]) {
            sample.obs.extend_from_slice(batch.row(i));
            sample.masks.extend_from_slice(batch.mask_row(i));
        }
        // The heuristic never fails to decide.
        let _ = policy.act(v.policy_input(), &mut actions);
        v.step(&actions)?;
    }
    Ok(sample)
}

/// Benchmarks `actor` with `first_layer` on batches cut from `sample`:
/// `rounds` rounds of about `round` each per batch size; uniforms for
/// sampling come from a fixed stream. (The actor takes the sparse layer
/// only on the CPU: on CUDA pass [`FirstLayer::Dense`].)
pub fn bench_actor(
    actor: &mut Actor,
    sample: &Sample,
    first_layer: FirstLayer,
    batches: &[usize],
    round: Duration,
    rounds: usize,
) -> Result<InferenceReport, InferError> {
    if sample.rows() == 0 {
        return Err(InferError::EmptyBatch);
    }
    actor.set_sparse_input(first_layer == FirstLayer::Sparse);
    let mut report = InferenceReport {
        batch: Vec::new(),
        us_per_batch: Vec::new(),
        us_per_sample: Vec::new(),
    };
    let mut rng = Rng::new(1, 0);
    for &n in batches {
        if n == 0 {
            return Err(InferError::EmptyBatch);
        }
        let (obs, mask) = sample.batch(n);
        let uniforms: Vec<f32> = (0..n).map(|_| rng.unit() as f32).collect();
        let input = BatchInput {
            obs: &obs,
            mask: &mask,
            frames: None,
        };
        let per_call = time_calls(|| actor.act(&input, &uniforms).map(|_| ()), round, rounds)?;
        let us = per_call.as_secs_f64() * 1e6;
        report.batch.push(n);
        report.us_per_batch.push(us);
        report.us_per_sample.push(us / n as f64);
    }
    Ok(report)
}

/// The fastest of `rounds` rounds' mean time per call, each round lasting
/// about `round`.
pub fn time_calls(
    mut f: impl FnMut() -> Result<(), InferError>,
    round: Duration,
    rounds: usize,
) -> Result<Duration, InferError> {
    // Warm-up: allocator, OpenMP pool, and a first estimate of the cost.
    let start = Instant::now();
    let mut warm = 0u32;
    while warm < 3 || (start.elapsed() < round && warm < 1000) {
        f()?;
        warm += 1;
    }
    let per_call = start.elapsed() / warm;
    let calls = (round.as_nanos() / per_call.as_nanos().max(1)).clamp(1, 100_000) as u32;
    let mut means = Vec::with_capacity(rounds.max(1));
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        for _ in 0..calls {
            f()?;
        }
        means.push(t.elapsed() / calls);
    }
    Ok(means.into_iter().min().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmd_torch::infer::{Model, NetConfig, PolicyNet, Selection};
    use tch::Device;

    #[test]
    fn report_has_one_entry_per_batch() {
        let net = PolicyNet::new(
            NetConfig {
                hidden: vec![8],
                ..NetConfig::default()
            },
            Device::Cpu,
            0,
        )
        .unwrap();
        let mut actor = Actor::new(Model::Native(net), Device::Cpu, Selection::Sample);
        let rom = pmd_agent::cartridge::rom().unwrap();
        let sample = observation_sample(&rom, 2, 3, 5).unwrap();
        assert_eq!(sample.rows(), 6);
        let density = sample.density();
        assert!(density > 0.01 && density < 0.5, "density {density}");
        let r = bench_actor(
            &mut actor,
            &sample,
            FirstLayer::Dense,
            &[1, 4],
            Duration::from_millis(1),
            3,
        )
        .unwrap();
        assert_eq!(r.batch, [1, 4]);
        assert_eq!(r.us_per_batch.len(), 2);
        assert!((r.us_per_sample[1] * 4.0 - r.us_per_batch[1]).abs() < 1e-9);
        assert!(r.us_per_batch.iter().all(|&us| us > 0.0));
        assert!(r.batching_ratio(1, 4).is_some());
        assert!(r.batching_ratio(1, 64).is_none());
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.starts_with(r#"{"batch":[1,4],"us_per_batch":["#),
            "{json}"
        );
        let sparse = bench_actor(
            &mut actor,
            &sample,
            FirstLayer::Sparse,
            &[2],
            Duration::from_millis(1),
            1,
        )
        .unwrap();
        assert_eq!(sparse.batch, [2]);
        assert_eq!(FirstLayer::Sparse.name(), "sparse");
        assert!(bench_actor(
            &mut actor,
            &sample,
            FirstLayer::Sparse,
            &[0],
            Duration::from_millis(1),
            1
        )
        .is_err());
    }
}
