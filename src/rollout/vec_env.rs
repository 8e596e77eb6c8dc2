//! [`VecEnv`]: N environments stepped in lockstep on a rayon pool.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::rngs::SmallRng;
use rand::SeedableRng;
use rayon::prelude::*;

use super::{episode_seed, frames, obs};
use crate::emu::Rom;
use crate::env::{Action, Env, EnvConfig, EnvError, EnvSnapshot, StepState};
use crate::metrics::{metrics, observe};
use crate::policy::{Policy, PolicyContext};

/// Settings of a [`VecEnv`].
#[derive(Debug, Clone, Copy)]
pub struct VecEnvConfig {
    /// Number of environments.
    pub envs: usize,
    /// Run seed; every episode's dungeon seed derives from it.
    pub seed: u64,
    /// Also produce downsampled frames (renders every frame of a step).
    pub frames: bool,
    /// Per-environment settings (frame cap).
    pub env: EnvConfig,
    /// Worker threads; `None` uses every core. `Some(1)` runs every
    /// environment on the calling thread (the pool borrows it).
    pub threads: Option<usize>,
    /// Steps after which an episode is cut short (and counted as ended).
    pub max_episode_steps: u32,
    /// Steps between two "last good" snapshots of an environment.
    pub snapshot_every: u32,
}

impl Default for VecEnvConfig {
    fn default() -> Self {
        VecEnvConfig {
            envs: 1,
            seed: 0,
            frames: false,
            env: EnvConfig::default(),
            threads: None,
            max_episode_steps: 1000,
            snapshot_every: 16,
        }
    }
}

/// Counters of a rollout.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RolloutStats {
    /// Environment steps taken (all environments).
    pub steps: u64,
    /// Emulated frames run by those steps.
    pub frames: u64,
    /// Episodes finished (fainted, left the dungeon, or cut at the step cap).
    pub episodes: u64,
    /// Sum over finished episodes of the deepest floor reached.
    pub sum_max_floor: u64,
    /// Deepest floor reached by any environment.
    pub best_floor: u8,
    /// Steps that failed (error, panic, frame cap) and were recovered.
    pub failures: u64,
}

impl RolloutStats {
    /// Mean over finished episodes of the deepest floor reached.
    pub fn mean_max_floor(&self) -> f64 {
        if self.episodes == 0 {
            0.0
        } else {
            self.sum_max_floor as f64 / self.episodes as f64
        }
    }

    fn add(&mut self, other: &SlotStats) {
        self.steps += other.steps;
        self.frames += other.frames;
        self.episodes += other.episodes;
        self.sum_max_floor += other.sum_max_floor;
        self.best_floor = self.best_floor.max(other.best_floor);
        self.failures += other.failures;
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct SlotStats {
    steps: u64,
    frames: u64,
    episodes: u64,
    sum_max_floor: u64,
    best_floor: u8,
    failures: u64,
}

/// One environment and its episode bookkeeping.
struct Slot {
    env: Env,
    index: usize,
    episode: u64,
    seed: u32,
    episode_steps: u32,
    max_floor: u8,
    last_good: EnvSnapshot,
    since_snapshot: u32,
    rng: SmallRng,
    stats: SlotStats,
}

/// What one environment's last step was, before any auto-reset: the
/// record a trajectory file keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepInfo {
    /// Episode the step belonged to.
    pub episode: u64,
    /// Step index within the episode (0-based).
    pub step: u32,
    /// The episode's dungeon seed.
    pub seed: u32,
    /// The leader after the step.
    pub state: StepState,
    /// Reward of the step.
    pub reward: f32,
    /// The step ended the episode.
    pub done: bool,
    /// Frames the step took.
    pub frames: u32,
    /// The step failed and the environment was restored.
    pub failed: bool,
}

/// The batch handed to a learner: views of the contiguous buffers the
/// environments wrote in place.
#[derive(Debug, Clone, Copy)]
pub struct ObsBatch<'a> {
    /// Features, `[envs, obs::FEATURES]` row-major.
    pub features: &'a [f32],
    /// Downsampled frames, `[envs, 1, 80, 120]`, when asked for.
    pub frames: Option<&'a [u8]>,
    /// Reward of each environment's last step.
    pub rewards: &'a [f32],
    /// Whether each environment's last step ended its episode (it has
    /// been reset since; its features show the new episode).
    pub dones: &'a [bool],
}

impl ObsBatch<'_> {
    /// Number of environments.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// The feature row of environment `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * obs::FEATURES..(i + 1) * obs::FEATURES]
    }
}

/// N environments stepped in lockstep. Buffers are allocated once; a step
/// allocates nothing.
pub struct VecEnv {
    slots: Vec<Slot>,
    features: Vec<f32>,
    frames: Option<Vec<u8>>,
    rewards: Vec<f32>,
    dones: Vec<bool>,
    infos: Vec<StepInfo>,
    pool: rayon::ThreadPool,
    config: VecEnvConfig,
}

impl Drop for VecEnv {
    fn drop(&mut self) {
        metrics().envs.dec_by(self.slots.len() as i64);
    }
}

impl std::fmt::Debug for VecEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecEnv")
            .field("config", &self.config)
            .finish()
    }
}

/// Why a [`VecEnv`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum VecEnvError {
    /// An environment could not be created or reset.
    #[error("environment {index}: {source}")]
    Env {
        /// Which environment.
        index: usize,
        /// Why.
        source: EnvError,
    },
    /// The worker pool could not be started.
    #[error("cannot start the worker pool: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
    /// Zero environments were asked for.
    #[error("at least one environment is needed")]
    NoEnvs,
}

impl VecEnv {
    /// Builds `config.envs` environments over `rom` and resets each with its
    /// first episode seed. `prepare` runs on each new environment before
    /// its first reset (e.g. to load a start savestate).
    pub fn new(
        rom: &Rom,
        config: VecEnvConfig,
        prepare: impl Fn(&mut Env) -> Result<(), EnvError> + Sync,
    ) -> Result<VecEnv, VecEnvError> {
        if config.envs == 0 {
            return Err(VecEnvError::NoEnvs);
        }
        let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("rollout-{i}"));
        match config.threads {
            Some(1) => builder = builder.num_threads(1).use_current_thread(),
            Some(threads) => builder = builder.num_threads(threads),
            None => {}
        }
        let pool = builder.build()?;
        let env_config = EnvConfig {
            render: config.frames,
            ..config.env
        };
        let slots = pool.install(|| {
            (0..config.envs)
                .into_par_iter()
                .map(|index| {
                    let wrap = |source| VecEnvError::Env { index, source };
                    let mut env = Env::new(rom, env_config).map_err(wrap)?;
                    prepare(&mut env).map_err(wrap)?;
                    let seed = episode_seed(config.seed, index, 0);
                    env.reset(seed).map_err(wrap)?;
                    let last_good = env.snapshot();
                    Ok(Slot {
                        env,
                        index,
                        episode: 0,
                        seed,
                        episode_steps: 0,
                        max_floor: 1,
                        last_good,
                        since_snapshot: 0,
                        rng: SmallRng::seed_from_u64(config.seed ^ (index as u64).rotate_left(32)),
                        stats: SlotStats::default(),
                    })
                })
                .collect::<Result<Vec<Slot>, VecEnvError>>()
        })?;
        let n = config.envs;
        let mut vec_env = VecEnv {
            slots,
            features: vec![0.0; n * obs::FEATURES],
            frames: config.frames.then(|| vec![0u8; n * frames::LEN]),
            rewards: vec![0.0; n],
            dones: vec![false; n],
            infos: vec![StepInfo::default(); n],
            pool,
            config,
        };
        vec_env.observe_all();
        metrics().envs.inc_by(n as i64);
        Ok(vec_env)
    }

    fn observe_all(&mut self) {
        let frames = self.frames.as_deref_mut();
        for (i, slot) in self.slots.iter().enumerate() {
            obs::encode(
                slot.env.state(),
                slot.env.floor_turns(),
                &mut self.features[i * obs::FEATURES..(i + 1) * obs::FEATURES],
            );
        }
        if let Some(frames) = frames {
            for (slot, out) in self.slots.iter().zip(frames.chunks_exact_mut(frames::LEN)) {
                frames::downsample(slot.env.emulator().frame(), out);
            }
        }
    }

    /// Number of environments.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no environments (never: `new` refuses zero).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The current batch.
    pub fn batch(&self) -> ObsBatch<'_> {
        ObsBatch {
            features: &self.features,
            frames: self.frames.as_deref(),
            rewards: &self.rewards,
            dones: &self.dones,
        }
    }

    /// Environment `i` (read only: its decoded state, its emulator).
    pub fn env(&self, i: usize) -> &Env {
        &self.slots[i].env
    }

    /// Environment `i`, mutable: raw control for tools and tests (the next
    /// `step` goes on from whatever it is left in).
    pub fn env_mut(&mut self, i: usize) -> &mut Env {
        &mut self.slots[i].env
    }

    /// Asks `policy` for one action per environment, in parallel.
    pub fn act(&mut self, policy: &dyn Policy, actions: &mut [Action]) {
        let features = &self.features;
        self.pool.install(|| {
            self.slots
                .par_iter_mut()
                .zip(actions.par_iter_mut())
                .for_each(|(slot, action)| {
                    let row =
                        &features[slot.index * obs::FEATURES..(slot.index + 1) * obs::FEATURES];
                    let mut ctx = PolicyContext {
                        env: &mut slot.env,
                        features: row,
                        rng: &mut slot.rng,
                    };
                    *action = policy.act(&mut ctx);
                })
        });
    }

    /// Steps every environment with its action, in parallel, and writes
    /// observations, rewards and dones in place. An environment whose step
    /// fails (error, panic, frame cap) is restored to its last good
    /// snapshot and counted; the others go on. Finished episodes reset
    /// with the next seed.
    pub fn step(&mut self, actions: &[Action]) -> ObsBatch<'_> {
        let config = self.config;
        let frames = self.frames.as_deref_mut();
        let rows = self.features.par_chunks_exact_mut(obs::FEATURES);
        let outs = self
            .rewards
            .par_iter_mut()
            .zip(self.dones.par_iter_mut())
            .zip(self.infos.par_iter_mut());
        match frames {
            Some(frames) => self.pool.install(|| {
                self.slots
                    .par_iter_mut()
                    .zip(actions.par_iter())
                    .zip(rows)
                    .zip(outs)
                    .zip(frames.par_chunks_exact_mut(frames::LEN))
                    .for_each(|((((slot, action), row), ((reward, done), info)), frame)| {
                        *info = step_slot(slot, *action, &config);
                        (*reward, *done) = (info.reward, info.done);
                        obs::encode(slot.env.state(), slot.env.floor_turns(), row);
                        frames::downsample(slot.env.emulator().frame(), frame);
                    })
            }),
            None => self.pool.install(|| {
                self.slots
                    .par_iter_mut()
                    .zip(actions.par_iter())
                    .zip(rows)
                    .zip(outs)
                    .for_each(|(((slot, action), row), ((reward, done), info))| {
                        *info = step_slot(slot, *action, &config);
                        (*reward, *done) = (info.reward, info.done);
                        obs::encode(slot.env.state(), slot.env.floor_turns(), row);
                    })
            }),
        }
        self.batch()
    }

    /// What each environment's last step was (before auto-reset).
    pub fn infos(&self) -> &[StepInfo] {
        &self.infos
    }

    /// Counters summed over every environment.
    pub fn stats(&self) -> RolloutStats {
        let mut total = RolloutStats::default();
        for slot in &self.slots {
            total.add(&slot.stats);
        }
        total
    }
}

/// One environment step with recovery.
fn step_slot(slot: &mut Slot, action: Action, config: &VecEnvConfig) -> StepInfo {
    let mut info = StepInfo {
        episode: slot.episode,
        step: slot.episode_steps,
        seed: slot.seed,
        ..StepInfo::default()
    };
    let started = std::time::Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| slot.env.step(action)));
    let m = metrics();
    observe(&m.step_seconds, started.elapsed());
    m.steps.inc();
    slot.stats.steps += 1;
    match outcome {
        Ok(Ok(result)) if !result.timed_out => {
            slot.stats.frames += u64::from(result.frames);
            m.frames.inc_by(u64::from(result.frames));
            slot.episode_steps += 1;
            slot.max_floor = slot.max_floor.max(result.state.floor);
            slot.stats.best_floor = slot.stats.best_floor.max(slot.max_floor);
            info.state = result.state;
            info.reward = result.reward;
            info.frames = result.frames;
            let cut = slot.episode_steps >= config.max_episode_steps;
            if result.done || cut {
                finish_episode(slot, config);
                info.done = true;
                return info;
            }
            slot.since_snapshot += 1;
            if slot.since_snapshot >= config.snapshot_every {
                slot.env.snapshot_into(&mut slot.last_good);
                slot.since_snapshot = 0;
            }
            info
        }
        failed => {
            if let Ok(Ok(result)) = &failed {
                slot.stats.frames += u64::from(result.frames);
                m.frames.inc_by(u64::from(result.frames));
                info.frames = result.frames;
            }
            let reason = match &failed {
                Ok(Ok(_)) => "frame cap".to_string(),
                Ok(Err(e)) => e.to_string(),
                Err(_) => "panic".to_string(),
            };
            tracing::warn!(env = slot.index, episode = slot.episode, %reason, "step failed; restoring the last good snapshot");
            slot.stats.failures += 1;
            m.env_failures.inc();
            info.failed = true;
            if slot.env.restore(&slot.last_good).is_err() {
                finish_episode(slot, config);
                info.done = true;
            }
            info.state = slot.env.step_state();
            info
        }
    }
}

fn finish_episode(slot: &mut Slot, config: &VecEnvConfig) {
    slot.stats.episodes += 1;
    metrics().episodes.inc();
    slot.stats.sum_max_floor += u64::from(slot.max_floor);
    // Reset until one works: a reset that fails is a failure too.
    for _ in 0..8 {
        slot.episode += 1;
        slot.seed = episode_seed(config.seed, slot.index, slot.episode);
        match catch_unwind(AssertUnwindSafe(|| slot.env.reset(slot.seed))) {
            Ok(Ok(_)) => break,
            _ => slot.stats.failures += 1,
        }
    }
    slot.episode_steps = 0;
    slot.max_floor = slot.env.state().floor.max(1);
    slot.env.snapshot_into(&mut slot.last_good);
    slot.since_snapshot = 0;
}
