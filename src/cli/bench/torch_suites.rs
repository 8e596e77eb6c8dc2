//! `bench inference` and `bench e2e`: the neural-policy suites.

use std::time::Duration;

use pmd_agent::bench::e2e::{self, E2eConfig};
use pmd_agent::emu::Rom;
use pmd_agent::policy::PolicySpec;

use super::{emit, BenchArgs};
use crate::cli::Failure;

/// `bench inference`: the model's act step at each batch size, on real
/// observations, with `--threads` libtorch threads (default 1).
pub(super) fn inference(args: &BenchArgs, rom: &Rom) -> Result<(), Failure> {
    #[cfg(feature = "torch")]
    {
        use pmd_agent::bench::inference::{bench_actor, observation_sample, ROUND, ROUNDS};
        use pmd_agent::infer::{threads, Actor, Selection};
        use pmd_agent::policy::DeviceChoice;

        if args.batches.is_empty() || args.batches.contains(&0) {
            return Err(Failure::bad_input("--batches must be sizes of at least 1"));
        }
        let intra = threads::set_intra_op_threads(args.threads.unwrap_or(1));
        let mut actor = Actor::load(
            &args.model,
            args.device.unwrap_or(DeviceChoice::Cpu),
            Selection::Sample,
        )
        .map_err(|e| Failure::bad_input(e.to_string()))?;
        actor.set_sparse_input(!args.dense);
        // 1,024 real rows: 8 environments of the heuristic, 128 rounds.
        let sample = observation_sample(rom, 8, 128, args.seed)
            .map_err(|e| Failure::other(e.to_string()))?;
        if let Some(dir) = &args.export {
            export_sample(dir, &sample)?;
        }
        let r = bench_actor(&mut actor, &sample, &args.batches, ROUND, ROUNDS)
            .map_err(|e| Failure::other(e.to_string()))?;
        emit(args, &r, |r| {
            println!(
                "inference: {} ({} first layer), {intra} libtorch thread(s), {} real observation rows ({:.1}% of features on)",
                args.model.display(),
                if args.dense { "dense" } else { "sparse" },
                sample.rows(),
                100.0 * sample.density()
            );
            for i in 0..r.batch.len() {
                println!(
                    "  batch {:>5}  {:>10.1} µs/batch  {:>8.2} µs/sample",
                    r.batch[i], r.us_per_batch[i], r.us_per_sample[i]
                );
            }
            if let Some(ratio) = r.batching_ratio(1, 64) {
                println!(
                    "  per-sample cost at 64 / at 1: {ratio:.3} (goal <= 0.125: {})",
                    if ratio <= 0.125 { "met" } else { "not met" }
                );
            }
        })
    }
    #[cfg(not(feature = "torch"))]
    {
        let _ = (args, rom);
        Err(Failure::bad_input(format!(
            "bench inference: {}",
            pmd_agent::policy::TORCH_FEATURE_NEEDED
        )))
    }
}

#[cfg(feature = "torch")]
fn export_sample(
    dir: &std::path::Path,
    sample: &pmd_agent::bench::inference::Sample,
) -> Result<(), Failure> {
    use pmd_agent::infer::{N_ACTIONS, OBS_DIM};
    use pmd_agent::memory::npy;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::bad_input(format!("{}: {e}", dir.display())))?;
    let rows = sample.rows();
    let bad = |e: pmd_agent::memory::IndexError| Failure::bad_input(e.to_string());
    npy::write(&dir.join("obs.npy"), rows, OBS_DIM, &sample.obs).map_err(bad)?;
    let mask: Vec<f32> = sample
        .masks
        .iter()
        .map(|&m| f32::from(u8::from(m)))
        .collect();
    npy::write(&dir.join("mask.npy"), rows, N_ACTIONS, &mask).map_err(bad)
}

/// `bench e2e`: the model as a torch policy, lockstep and asynchronous,
/// next to the heuristic.
pub(super) fn e2e(args: &BenchArgs, rom: &Rom, threads: usize) -> Result<(), Failure> {
    let steps = args.steps.unwrap_or(2000);
    if steps == 0 || args.max_batch == 0 {
        return Err(Failure::bad_input(
            "--steps and --max-batch must be at least 1",
        ));
    }
    let envs = if args.envs.is_empty() {
        vec![1, 8, 64]
    } else {
        args.envs.clone()
    };
    let config = E2eConfig {
        policy: PolicySpec::Torch(args.model.clone()),
        baseline: PolicySpec::Heuristic,
        envs,
        steps,
        threads,
        seed: args.seed,
        max_batch: args.max_batch,
        max_wait: Duration::from_micros(args.max_wait_us),
        jitter_us: args.jitter_us,
        device: args.device.unwrap_or_default(),
    };
    let r = e2e::run(rom, &config).map_err(|e| match e {
        pmd_agent::bench::BenchError::Policy(p) => Failure::bad_input(p.to_string()),
        other => Failure::other(other.to_string()),
    })?;
    emit(args, &r, |r| {
        println!(
            "e2e: {} vs {}, {} worker threads, {} cores, {} steps per measurement, jitter {} µs",
            r.policy, r.baseline, r.threads, r.cores, r.steps, r.jitter_us
        );
        for i in 0..r.envs.len() {
            println!(
                "  {:>3} envs  {} lockstep {:>7.0} steps/s | torch lockstep {:>7.0} ({:.2}x) | torch async {:>7.0} ({:.2}x, {:.2}x lockstep, mean batch {:.1})",
                r.envs[i],
                r.baseline,
                r.baseline_lockstep[i],
                r.lockstep[i],
                r.lockstep_vs_baseline[i],
                r.async_[i],
                r.async_vs_baseline[i],
                r.async_vs_lockstep[i],
                r.async_mean_batch[i]
            );
        }
    })
}
