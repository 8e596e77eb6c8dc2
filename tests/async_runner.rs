//! The asynchronous runner on the test cartridge: the same trajectories
//! as lockstep for a policy that decides row by row, batches within
//! `max_batch`, a failing policy ends the run with an error (no hang),
//! quarantine.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pmd_agent::async_runner::{AsyncConfig, AsyncError, AsyncRunner};
use pmd_agent::cartridge;
use pmd_agent::env::{Action, Env, EnvConfig, EnvError};
use pmd_agent::policy::{
    InferenceMetrics, PolicyError, PolicySpec, RandomPolicy, RowBatch, RowPolicy,
};
use pmd_agent::rollout::{EnvHook, VecEnvConfig, VecEnvOptions};
use pmd_agent::runner::{RunError, Runner, StartPoint};

fn config(envs: usize, seed: u64, step_limit: u32) -> VecEnvConfig {
    VecEnvConfig {
        envs,
        seed,
        threads: Some(2),
        env: EnvConfig {
            max_episode_steps: Some(step_limit),
            ..EnvConfig::default()
        },
        ..VecEnvConfig::default()
    }
}

fn async_runner(
    c: VecEnvConfig,
    policy: Box<dyn RowPolicy>,
    max_batch: usize,
    options: VecEnvOptions,
) -> AsyncRunner {
    AsyncRunner::new(
        &cartridge::rom().unwrap(),
        c,
        &StartPoint::default(),
        policy,
        AsyncConfig {
            workers: 2,
            max_batch,
            max_wait: Duration::from_micros(100),
        },
        options,
    )
    .unwrap()
}

#[derive(Default)]
struct Batches {
    sizes: Mutex<Vec<usize>>,
    requests: AtomicUsize,
}

impl InferenceMetrics for Batches {
    fn observe_batch(&self, rows: usize, _: Duration) {
        self.sizes.lock().unwrap().push(rows);
    }
    fn observe_request(&self, _: Duration) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn asynchronous_random_runs_are_the_lockstep_runs() {
    // Random decides from each row's own draw, so every environment must
    // follow the trajectory it follows in lockstep, however batched.
    let (envs, steps) = (5, 5 * 60);
    let c = config(envs, 3, 25);
    let mut lockstep = Runner::new(
        &cartridge::rom().unwrap(),
        c,
        &StartPoint::default(),
        PolicySpec::Random.build().unwrap(),
        None,
        VecEnvOptions::default(),
    )
    .unwrap();
    lockstep.run(steps, |_| ControlFlow::Continue(())).unwrap();

    let metrics = Arc::new(Batches::default());
    let mut asynchronous = async_runner(c, Box::new(RandomPolicy), 2, VecEnvOptions::default())
        .with_metrics(metrics.clone());
    asynchronous
        .run(steps, |_| ControlFlow::Continue(()))
        .unwrap();

    let (a, b) = (lockstep.stats(), asynchronous.stats());
    assert_eq!(a.steps, steps);
    assert!(a.episodes >= envs as u64, "episodes ended: {a:?}");
    assert_eq!(a, b, "the counters differ");
    assert_eq!(
        lockstep.vec_env().batch().features,
        asynchronous.vec_env().batch().features,
        "the last observations differ"
    );
    assert_eq!(
        lockstep.vec_env().batch().rewards,
        asynchronous.vec_env().batch().rewards
    );
    for i in 0..envs {
        assert_eq!(
            lockstep.vec_env().infos()[i],
            asynchronous.vec_env().infos()[i],
            "env {i}"
        );
    }
    // Every step was decided once, in batches of at most 2.
    let sizes = metrics.sizes.lock().unwrap();
    assert_eq!(sizes.iter().sum::<usize>() as u64, steps);
    assert!(sizes.iter().all(|&s| (1..=2).contains(&s)), "{sizes:?}");
    assert_eq!(metrics.requests.load(Ordering::SeqCst) as u64, steps);
    let (batches, rows) = asynchronous.batching();
    assert_eq!((batches as usize, rows), (sizes.len(), steps));
    let report = asynchronous.report();
    assert_eq!(report.steps, steps);
    assert_eq!(report.policy, "random");
}

#[test]
fn a_second_run_goes_on_from_the_first() {
    let c = config(3, 9, 40);
    let mut whole = async_runner(c, Box::new(RandomPolicy), 3, VecEnvOptions::default());
    whole.run(3 * 30, |_| ControlFlow::Continue(())).unwrap();
    let mut halves = async_runner(c, Box::new(RandomPolicy), 1, VecEnvOptions::default());
    halves.run(3 * 10, |_| ControlFlow::Continue(())).unwrap();
    halves.run(3 * 20, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(whole.stats(), halves.stats());
    assert_eq!(
        whole.vec_env().batch().features,
        halves.vec_env().batch().features
    );
}

/// Fails on its `n`-th decision.
struct FailsOnCall(usize, usize);

impl RowPolicy for FailsOnCall {
    fn name(&self) -> &str {
        "fails"
    }
    fn act_rows(&mut self, rows: RowBatch<'_>, actions: &mut [Action]) -> Result<(), PolicyError> {
        self.1 += 1;
        if self.1 == self.0 {
            return Err(PolicyError::Failed {
                policy: "fails".into(),
                reason: "on purpose".into(),
            });
        }
        RandomPolicy.act_rows(rows, actions)
    }
}

#[test]
fn a_failing_policy_ends_the_run_with_its_error() {
    let mut r = async_runner(
        config(4, 1, 50),
        Box::new(FailsOnCall(6, 0)),
        2,
        VecEnvOptions::default(),
    );
    let err = r.run(400, |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, AsyncError::Run(RunError::Policy(_))), "{err}");
    assert!(err.to_string().contains("on purpose"), "{err}");
}

#[test]
fn progress_can_stop_a_run_early() {
    let mut r = async_runner(
        config(2, 1, 50),
        Box::new(RandomPolicy),
        2,
        VecEnvOptions::default(),
    );
    let mut calls = 0;
    r.run(100_000, |stats| {
        calls += 1;
        assert!(stats.steps > 0);
        ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(calls, 1);
    assert!(r.stats().steps < 1000, "{:?}", r.stats());
}

struct FailResetsOf(usize);

impl EnvHook for FailResetsOf {
    fn before_reset(&self, index: usize, _: u64, _: &mut Env) -> Result<(), EnvError> {
        if index == self.0 || self.0 == usize::MAX {
            return Err(EnvError::NotReady(0));
        }
        Ok(())
    }
}

#[test]
fn quarantined_environments_drop_out_and_the_rest_go_on() {
    let options = VecEnvOptions {
        hook: Some(Arc::new(FailResetsOf(0))),
        ..VecEnvOptions::default()
    };
    let mut r = async_runner(config(3, 2, 4), Box::new(RandomPolicy), 3, options);
    r.run(3 * 30, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(r.vec_env().quarantined().collect::<Vec<_>>(), [0]);
    let stats = r.stats();
    assert_eq!(stats.quarantined, 1);
    // Env 0 took its 4 steps, then never again; the others all 30.
    assert_eq!(stats.steps, 4 + 2 * 30, "{stats:?}");
    assert!(!r.vec_env().batch().active[0]);

    let options = VecEnvOptions {
        hook: Some(Arc::new(FailResetsOf(usize::MAX))),
        ..VecEnvOptions::default()
    };
    let mut r = async_runner(config(2, 2, 3), Box::new(RandomPolicy), 2, options);
    let err = r.run(100, |_| ControlFlow::Continue(())).unwrap_err();
    assert!(
        matches!(err, AsyncError::Run(RunError::AllQuarantined { envs: 2 })),
        "{err}"
    );
}

#[test]
fn only_row_policies_run_asynchronously() {
    let opts = Default::default();
    assert!(PolicySpec::Heuristic.build_rows(&opts).is_err());
    assert!("search"
        .parse::<PolicySpec>()
        .unwrap()
        .build_rows(&opts)
        .is_err());
    assert!(PolicySpec::Random.build_rows(&opts).is_ok());
    let bad = AsyncRunner::new(
        &cartridge::rom().unwrap(),
        config(1, 0, 5),
        &StartPoint::default(),
        Box::new(RandomPolicy),
        AsyncConfig {
            workers: 0,
            max_batch: 1,
            max_wait: Duration::ZERO,
        },
        VecEnvOptions::default(),
    );
    assert!(matches!(bad, Err(AsyncError::Config(_))));
}

/// A telemetry sink that panics on its `n`th step report: a fault outside
/// the environment's own isolation, in a worker thread.
struct PanicsOnStep(AtomicUsize);

impl pmd_agent::rollout::Telemetry for PanicsOnStep {
    fn step(&self, _: u32, _: Option<f64>) {
        if self.0.fetch_sub(1, Ordering::SeqCst) == 1 {
            panic!("telemetry sink failed on purpose");
        }
    }
}

#[test]
fn a_worker_that_panics_ends_the_run_with_worker_died() {
    let options = VecEnvOptions {
        telemetry: Arc::new(PanicsOnStep(AtomicUsize::new(5))),
        ..VecEnvOptions::default()
    };
    let mut r = async_runner(config(4, 1, 50), Box::new(RandomPolicy), 2, options);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        r.run(400, |_| ControlFlow::Continue(()))
    }));
    match outcome {
        Ok(Err(AsyncError::WorkerDied)) => {}
        Ok(other) => panic!("expected WorkerDied, got {other:?}"),
        Err(_) => panic!("the worker's panic reached the caller"),
    }
}
