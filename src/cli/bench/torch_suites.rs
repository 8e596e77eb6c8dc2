//! `bench e2e`: the neural-policy suite that runs through policy specs
//! (`bench inference` runs in `pmd-agent-torch`: crates/pmd-agent-torch/src/inference.rs).

use std::time::Duration;

use crate::bench::e2e::{self, E2eConfig};
use crate::emu::Rom;
use crate::policy::PolicySpec;

use super::{emit, worker_threads, E2eArgs};
use crate::cli::Failure;

/// `bench e2e`: the model as a torch policy, lockstep and asynchronous,
/// next to the heuristic.
pub(super) fn e2e(args: &E2eArgs, rom: &Rom) -> Result<(), Failure> {
    let threads = worker_threads(args.threads)?;
    let steps = args.steps;
    if steps == 0 || args.max_batch == 0 || args.envs.contains(&0) {
        return Err(Failure::bad_input(
            "--steps, --envs and --max-batch must be at least 1",
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
        seed: args.game.seed,
        max_batch: args.max_batch,
        max_wait: Duration::from_micros(args.max_wait_us),
        jitter_us: args.jitter_us,
        device: args.device.unwrap_or_default(),
    };
    let r = e2e::run(rom, &config).map_err(|e| match e {
        crate::bench::BenchError::Policy(p) => Failure::bad_input(p.to_string()),
        other => Failure::other(other.to_string()),
    })?;
    emit(&args.common, "e2e", &r, |r| {
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
