//! `bench inference`: the model's act step at each batch size, timed on
//! real observations (the measurement is `crate::bench_inference`).

use pmd_agent::cli::bench::{emit, InferenceArgs};
use pmd_agent::cli::Failure;
use pmd_agent::emu::Rom;

/// `bench inference`: the model's act step at each batch size, on real
/// observations, with `--threads` libtorch threads (default 1). The first
/// layer is sparse on the CPU unless `--dense`, dense on CUDA (the only
/// one the actor runs there).
pub fn inference(args: &InferenceArgs, rom: &Rom) -> Result<(), Failure> {
    {
        use crate::bench_inference::{bench_actor, observation_sample, FirstLayer, ROUND, ROUNDS};
        use pmd_agent::policy::DeviceChoice;
        use pmd_torch::infer::{threads, Actor, Selection};

        if args.batches.is_empty() || args.batches.contains(&0) {
            return Err(Failure::bad_input("--batches must be sizes of at least 1"));
        }
        let intra = threads::set_intra_op_threads(args.threads.max(1));
        let device = args.device.unwrap_or(DeviceChoice::Cpu);
        let mut actor = Actor::load(&args.model, device, Selection::Sample)
            .map_err(|e| Failure::bad_input(e.to_string()))?;
        let first_layer = if args.dense || device != DeviceChoice::Cpu {
            FirstLayer::Dense
        } else {
            FirstLayer::Sparse
        };
        // 1,024 real rows: 8 environments of the heuristic, 128 rounds.
        let sample = observation_sample(rom, 8, 128, args.game.seed)
            .map_err(|e| Failure::other(e.to_string()))?;
        if let Some(dir) = &args.export {
            export_sample(dir, &sample)?;
        }
        let r = bench_actor(
            &mut actor,
            &sample,
            first_layer,
            &args.batches,
            ROUND,
            ROUNDS,
        )
        .map_err(|e| Failure::other(e.to_string()))?;
        emit(&args.common, "inference", &r, |r| {
            println!(
                "inference: {} ({} first layer, {device}), {intra} libtorch thread(s), {} real observation rows ({:.1}% of features on)",
                args.model.display(),
                first_layer.name(),
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
}

fn export_sample(
    dir: &std::path::Path,
    sample: &crate::bench_inference::Sample,
) -> Result<(), Failure> {
    use pmd_agent::memory::npy;
    use pmd_torch::infer::{N_ACTIONS, OBS_DIM};
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
