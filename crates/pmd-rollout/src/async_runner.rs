//! [`AsyncRunner`]: asynchronous rollouts (EnvPool's design). Environment
//! workers step environments on their own threads; one inference loop
//! gathers the environments whose observations are ready, runs one
//! decision over them, and hands each its action back.
//!
//! ```text
//!   workers (W threads)                      inference loop (caller's thread)
//!   take (env, action) from the todo queue   wait for a first ready env, then gather
//!   step it (fault isolation, auto-reset)    more until --max-batch, --max-wait-us
//!   put it on the ready queue       ──▶      after the first, or every env is back;
//!                                   ◀──      one RowPolicy decision; scatter actions
//! ```
//!
//! **Semantics.** Everything an environment does is what it does under
//! [`Runner`](crate::runner::Runner): the same fault isolation and
//! quarantine, gymnasium's same-step auto-reset (the unit's rows show the
//! next episode, the terminal observation is in its final row), the same
//! per-environment episode seeds and random stream (one draw per step, see
//! [`RowPolicy`]). Every environment takes the same number of steps,
//! `ceil(steps / N)`, as in lockstep rounds, so with a policy whose
//! decision for a row depends only on that row (the random policy; a
//! network up to floating-point summation order) a run gives each
//! environment the very trajectory a lockstep run with the same seed
//! gives it, whatever the batching. Statistics are the vector's own
//! ([`VecEnv::stats`]); the progress callback gets running counts.
//! Recording is not supported in this mode (the recorder writes whole
//! lockstep rounds): record with the lockstep runner.
//!
//! **Bounded, no livelock.** Exactly N environments exist, each in exactly
//! one place (the todo queue, a worker, the ready queue, or the batch
//! being decided), and both queues hold N: no send ever blocks. The loop
//! ends when every environment has taken its steps (or is quarantined) and
//! none is in flight; a worker thread that dies is noticed within
//! [`WATCHDOG`] and ends the run with an error instead of a hang.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::policy::{InferenceMetrics, RowBatch, RowPolicy};
use crate::runner::{RunError, RunReport, StartPoint};
use crate::{frames, obs, EnvUnit, RolloutStats, VecEnv, VecEnvConfig, VecEnvOptions};
use pmd_game::env::{Action, ACTION_COUNT};
use pmd_mgba::Rom;

/// How often the inference loop checks that its workers are alive while
/// it waits.
pub const WATCHDOG: Duration = Duration::from_millis(100);

/// Settings of the asynchronous mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncConfig {
    /// Environment worker threads.
    pub workers: usize,
    /// Largest batch of one decision (`--max-batch`).
    pub max_batch: usize,
    /// How long to wait for more ready environments after the first one
    /// of a batch (`--max-wait-us`); zero takes only those already ready.
    pub max_wait: Duration,
}

impl Default for AsyncConfig {
    fn default() -> Self {
        AsyncConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_batch: 64,
            max_wait: Duration::from_micros(200),
        }
    }
}

/// Why an asynchronous run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum AsyncError {
    /// What stops a lockstep run stops this one too.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Settings that cannot work.
    #[error("asynchronous mode: {0}")]
    Config(String),
    /// A worker thread could not be started.
    #[error("cannot start an environment worker thread: {0}")]
    Spawn(std::io::Error),
    /// A worker thread ended while environments were in its hands.
    #[error("an environment worker thread stopped unexpectedly")]
    WorkerDied,
}

/// Runs a [`RowPolicy`] on environments stepped asynchronously.
pub struct AsyncRunner {
    vec_env: VecEnv,
    policy: Box<dyn RowPolicy>,
    config: AsyncConfig,
    metrics: Option<Arc<dyn InferenceMetrics>>,
    seconds: f64,
    batches: u64,
    rows: u64,
}

impl std::fmt::Debug for AsyncRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRunner")
            .field("vec_env", &self.vec_env)
            .field("policy", &self.policy.name())
            .field("config", &self.config)
            .finish()
    }
}

/// One environment on its way through the loop.
struct Ticket<'a> {
    unit: EnvUnit<'a>,
    action: Action,
    /// Steps taken in this run.
    steps: u64,
    /// When its observation became ready.
    ready_at: Instant,
}

/// Sets the flag when a worker thread unwinds.
struct DeathFlag<'a>(&'a AtomicBool);

impl Drop for DeathFlag<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

/// Batch buffers of the inference loop, allocated once per run.
#[derive(Default)]
struct Gathered {
    features: Vec<f32>,
    masks: Vec<bool>,
    frames: Vec<u8>,
    draws: Vec<u64>,
    envs: Vec<usize>,
    actions: Vec<Action>,
}

impl AsyncRunner {
    /// Builds the environments (each resets once, which checks the start
    /// point).
    pub fn new(
        rom: &Rom,
        config: VecEnvConfig,
        start: &StartPoint,
        policy: Box<dyn RowPolicy>,
        async_config: AsyncConfig,
        options: VecEnvOptions,
    ) -> Result<AsyncRunner, AsyncError> {
        if async_config.workers == 0 || async_config.max_batch == 0 {
            return Err(AsyncError::Config(
                "workers and max batch must be at least 1".into(),
            ));
        }
        let vec_env = VecEnv::with_options(rom, config, |env| start.prepare(env), options)
            .map_err(RunError::from)?;
        Ok(AsyncRunner {
            vec_env,
            policy,
            config: async_config,
            metrics: None,
            seconds: 0.0,
            batches: 0,
            rows: 0,
        })
    }

    /// Reports batch sizes, forward times and per-environment latency to
    /// `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn InferenceMetrics>) -> AsyncRunner {
        self.metrics = Some(metrics);
        self
    }

    /// The environments.
    pub fn vec_env(&self) -> &VecEnv {
        &self.vec_env
    }

    /// Decisions made so far, and the rows they covered (their mean is
    /// the mean batch size).
    pub fn batching(&self) -> (u64, u64) {
        (self.batches, self.rows)
    }

    /// Runs until every environment has taken `ceil(steps / N)` more
    /// steps (or is quarantined), or `progress` (called about every 16
    /// steps per environment, with running counts) says stop.
    pub fn run(
        &mut self,
        steps: u64,
        mut progress: impl FnMut(&RolloutStats) -> ControlFlow<()>,
    ) -> Result<(), AsyncError> {
        let n = self.vec_env.len();
        let quota = steps.div_ceil(n as u64);
        let config = self.config;
        let started = Instant::now();
        let policy = &mut self.policy;
        let metrics = self.metrics.clone();
        let with_frames = self.vec_env.config().frames;
        let (batches, rows) = self.vec_env.with_units(|units| {
            let counts = Counts {
                quota,
                with_frames,
                every: 16 * n as u64,
            };
            drive(
                units,
                policy.as_mut(),
                config,
                metrics.as_deref(),
                counts,
                &mut progress,
            )
        })?;
        self.seconds += started.elapsed().as_secs_f64();
        self.batches += batches;
        self.rows += rows;
        if self.vec_env.quarantined().count() == n {
            return Err(RunError::AllQuarantined { envs: n }.into());
        }
        Ok(())
    }

    /// The counters so far.
    pub fn stats(&self) -> RolloutStats {
        self.vec_env.stats()
    }

    /// The report of the run (what `run --json` prints).
    pub fn report(&self) -> RunReport {
        RunReport::counters(self.policy.name(), &self.vec_env, self.seconds)
    }
}

/// Fixed figures of one run of the loop.
struct Counts {
    /// Steps each environment takes.
    quota: u64,
    with_frames: bool,
    /// Steps between progress calls.
    every: u64,
}

/// The inference loop and its workers, over the lent units. Returns the
/// decisions made and the rows they covered.
fn drive(
    units: Vec<EnvUnit<'_>>,
    policy: &mut dyn RowPolicy,
    config: AsyncConfig,
    metrics: Option<&dyn InferenceMetrics>,
    counts: Counts,
    progress: &mut dyn FnMut(&RolloutStats) -> ControlFlow<()>,
) -> Result<(u64, u64), AsyncError> {
    let n = units.len();
    let (todo_tx, todo_rx) = mpsc::sync_channel::<Ticket<'_>>(n);
    let todo_rx = Mutex::new(todo_rx);
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Ticket<'_>>(n);
    let died = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let mut workers = Vec::with_capacity(config.workers.min(n));
        for w in 0..config.workers.min(n) {
            let ready_tx = ready_tx.clone();
            let (todo_rx, died) = (&todo_rx, &died);
            let spawned = std::thread::Builder::new()
                .name(format!("env-worker-{w}"))
                .spawn_scoped(scope, move || worker(todo_rx, ready_tx, died));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    // Close the queue so the workers already started leave.
                    drop(todo_tx);
                    join_workers(workers);
                    return Err(AsyncError::Spawn(e));
                }
            }
        }
        // Only workers send on the ready queue: when they are all gone,
        // receiving says so.
        drop(ready_tx);
        let now = Instant::now();
        let ready = units
            .into_iter()
            .map(|unit| Ticket {
                unit,
                action: Action::Wait,
                steps: 0,
                ready_at: now,
            })
            .collect();
        let mut state = LoopState {
            ready,
            in_flight: 0,
            finished: Vec::with_capacity(n),
            stopping: false,
            stats: RolloutStats::default(),
            next_progress: counts.every,
            batches: 0,
            rows: 0,
        };
        let result = inference_loop(
            &mut state, &todo_tx, &ready_rx, &died, policy, config, metrics, &counts, progress,
        );
        // Workers leave once the todo queue is closed; they are joined
        // here, so a worker's panic becomes `WorkerDied` instead of
        // unwinding out of the scope into the caller. Environments still
        // in flight come back or are dropped with the queues (they are
        // only borrowed).
        drop(todo_tx);
        let all_joined = join_workers(workers);
        match result {
            Ok(()) if !all_joined => Err(AsyncError::WorkerDied),
            result => result.map(|()| (state.batches, state.rows)),
        }
    })
}

/// Joins the workers; false when any of them panicked (its panic is
/// observed here, so it does not re-raise from the thread scope).
fn join_workers(workers: Vec<std::thread::ScopedJoinHandle<'_, ()>>) -> bool {
    // Every handle is joined, even after a panicked one.
    let mut all_ok = true;
    for handle in workers {
        all_ok &= handle.join().is_ok();
    }
    all_ok
}

/// A worker: step whatever environment comes, send it back.
fn worker<'a>(
    todo: &Mutex<Receiver<Ticket<'a>>>,
    ready: SyncSender<Ticket<'a>>,
    died: &AtomicBool,
) {
    let _flag = DeathFlag(died);
    loop {
        // One worker waits on the queue at a time; the others wait for
        // the lock, which comes to the same.
        let next = todo.lock().recv();
        let Ok(mut ticket) = next else {
            return;
        };
        ticket.unit.step(ticket.action);
        ticket.steps += 1;
        ticket.ready_at = Instant::now();
        if ready.send(ticket).is_err() {
            return;
        }
    }
}

struct LoopState<'a> {
    /// Environments whose observation is ready, in arrival order.
    ready: std::collections::VecDeque<Ticket<'a>>,
    /// Environments at the workers or in the queues.
    in_flight: usize,
    /// Environments done with this run.
    finished: Vec<Ticket<'a>>,
    /// Progress asked to stop: no new actions.
    stopping: bool,
    /// Running counts for the progress callback.
    stats: RolloutStats,
    next_progress: u64,
    batches: u64,
    rows: u64,
}

impl<'a> LoopState<'a> {
    /// Files a ticket that came back from a worker.
    fn arrive(&mut self, ticket: Ticket<'a>, quota: u64) {
        self.in_flight -= 1;
        let info = ticket.unit.info();
        self.stats.steps += 1;
        self.stats.best_floor = self.stats.best_floor.max(info.state.floor);
        if info.done() {
            self.stats.episodes += 1;
            if info.terminated {
                self.stats.terminated += 1;
            } else {
                self.stats.truncated += 1;
            }
        }
        if !ticket.unit.is_active() {
            self.stats.quarantined += 1;
        }
        self.file(ticket, quota);
    }

    /// Puts a ticket with the ready ones, or with the finished ones.
    fn file(&mut self, ticket: Ticket<'a>, quota: u64) {
        if self.stopping || ticket.steps >= quota || !ticket.unit.is_active() {
            self.finished.push(ticket);
        } else {
            self.ready.push_back(ticket);
        }
    }
}

/// Waits for one ticket, checking on the workers every [`WATCHDOG`].
fn wait_one<'a>(
    rx: &Receiver<Ticket<'a>>,
    died: &AtomicBool,
    deadline: Option<Instant>,
) -> Result<Option<Ticket<'a>>, AsyncError> {
    loop {
        let now = Instant::now();
        let wait = match deadline {
            Some(d) if d <= now => {
                return match rx.try_recv() {
                    Ok(t) => Ok(Some(t)),
                    Err(TryRecvError::Empty) => Ok(None),
                    Err(TryRecvError::Disconnected) => Err(AsyncError::WorkerDied),
                }
            }
            Some(d) => (d - now).min(WATCHDOG),
            None => WATCHDOG,
        };
        match rx.recv_timeout(wait) {
            Ok(t) => return Ok(Some(t)),
            Err(RecvTimeoutError::Disconnected) => return Err(AsyncError::WorkerDied),
            Err(RecvTimeoutError::Timeout) => {
                if died.load(Ordering::SeqCst) {
                    return Err(AsyncError::WorkerDied);
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn inference_loop<'a>(
    state: &mut LoopState<'a>,
    todo: &SyncSender<Ticket<'a>>,
    ready_rx: &Receiver<Ticket<'a>>,
    died: &AtomicBool,
    policy: &mut dyn RowPolicy,
    config: AsyncConfig,
    metrics: Option<&dyn InferenceMetrics>,
    counts: &Counts,
    progress: &mut dyn FnMut(&RolloutStats) -> ControlFlow<()>,
) -> Result<(), AsyncError> {
    let mut g = Gathered::default();
    // Environments that start quarantined or with nothing to do.
    for t in std::mem::take(&mut state.ready) {
        state.file(t, counts.quota);
    }
    // Reused by every decision: no allocation per batch.
    let mut batch: Vec<Ticket<'a>> = Vec::with_capacity(config.max_batch);
    loop {
        if state.ready.is_empty() {
            if state.in_flight == 0 {
                return Ok(());
            }
            if let Some(t) = wait_one(ready_rx, died, None)? {
                state.arrive(t, counts.quota);
            }
            continue;
        }
        // Gather: until a full batch, the deadline after the first ready
        // one, or every environment that will act is here.
        let deadline = state.ready[0].ready_at + config.max_wait;
        while state.ready.len() < config.max_batch && state.in_flight > 0 {
            match wait_one(ready_rx, died, Some(deadline))? {
                Some(t) => state.arrive(t, counts.quota),
                None => break,
            }
        }
        let take = state.ready.len().min(config.max_batch);
        batch.extend(state.ready.drain(..take));
        decide(&mut g, &mut batch, policy, metrics, counts.with_frames)?;
        for (mut ticket, action) in batch.drain(..).zip(g.actions.iter().copied()) {
            if let Some(m) = metrics {
                m.observe_request(ticket.ready_at.elapsed());
            }
            ticket.action = action;
            // Never blocks: the queue holds every environment.
            if todo.send(ticket).is_err() {
                return Err(AsyncError::WorkerDied);
            }
            state.in_flight += 1;
        }
        state.batches += 1;
        state.rows += take as u64;
        if state.stats.steps >= state.next_progress {
            state.next_progress = state.stats.steps + counts.every;
            if progress(&state.stats).is_break() {
                state.stopping = true;
                state.finished.extend(state.ready.drain(..));
            }
        }
    }
}

/// One decision over the gathered tickets; leaves the actions in
/// `g.actions`.
fn decide(
    g: &mut Gathered,
    batch: &mut [Ticket<'_>],
    policy: &mut dyn RowPolicy,
    metrics: Option<&dyn InferenceMetrics>,
    with_frames: bool,
) -> Result<(), AsyncError> {
    g.features.clear();
    g.masks.clear();
    g.frames.clear();
    g.draws.clear();
    g.envs.clear();
    for ticket in batch.iter_mut() {
        // One draw per step from the environment's own stream, as in
        // lockstep (`Lockstep` draws the same way).
        g.draws.push(ticket.unit.rng().next_u64());
        g.features.extend_from_slice(ticket.unit.features());
        g.masks.extend_from_slice(ticket.unit.mask_row());
        if with_frames {
            match ticket.unit.frame() {
                Some(f) => g.frames.extend_from_slice(f),
                None => g.frames.extend(std::iter::repeat_n(0, frames::LEN)),
            }
        }
        g.envs.push(ticket.unit.index());
    }
    debug_assert_eq!(g.features.len(), batch.len() * obs::FEATURES);
    debug_assert_eq!(g.masks.len(), batch.len() * ACTION_COUNT);
    g.actions.clear();
    g.actions.resize(batch.len(), Action::Wait);
    let rows = RowBatch {
        features: &g.features,
        masks: &g.masks,
        frames: with_frames.then_some(g.frames.as_slice()),
        draws: &g.draws,
        envs: &g.envs,
    };
    let started = Instant::now();
    policy
        .act_rows(rows, &mut g.actions)
        .map_err(|e| AsyncError::Run(RunError::Policy(e)))?;
    if let Some(m) = metrics {
        m.observe_batch(batch.len(), started.elapsed());
    }
    Ok(())
}
