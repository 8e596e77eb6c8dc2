//! [`VecEnv`]: N environments stepped in lockstep on a rayon pool, each
//! writing its rows of the batch buffers in place, with fault isolation
//! that cannot loop.
//!
//! **Fault isolation.** Each environment keeps a checkpoint (a snapshot,
//! 8 µs) taken at reset and every `snapshot_every` steps, and the actions
//! it took since. A step that returns an error, panics or hits the frame
//! cap is undone: the environment goes back to the checkpoint and replays
//! those actions — emulation is deterministic, so this reproduces exactly
//! the state before the failed step, at a sixteenth of the cost of a
//! snapshot before every step — and the row is marked rolled back. A
//! policy that fails deterministically fails again from the same state,
//! so after `max_consecutive_failures` failures in a row the episode ends,
//! truncated with the failure's reason, and the environment resets (a
//! replay that does not go through ends it at once). A reset that fails
//! is retried with the next episode's seed, at most `reset_attempts`
//! times; then the environment is quarantined: it is never stepped again,
//! its rows are zero and its mask is empty. Nothing here retries forever.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use super::batch::{ObsBatch, RolloutStats, StepInfo};
use super::hook::EnvHook;
use super::policy_input::{EnvSlots, PolicyInput};
use super::telemetry::{FailureKind, NoTelemetry, Telemetry};
use super::unit::EnvUnit;
use super::workers::Workers;
use super::{episode_seed, frames, obs};
use pmd_game::env::{
    Action, EndReason, Env, EnvConfig, EnvError, EnvSnapshot, SeedScope, StepResult, ACTION_COUNT,
};
use pmd_game::DungeonState;
use pmd_mgba::Rom;
use pmd_util::rng::Rng;

/// Settings of a [`VecEnv`].
#[derive(Debug, Clone, Copy)]
pub struct VecEnvConfig {
    /// Number of environments.
    pub envs: usize,
    /// Run seed; every episode's dungeon seed and every environment's
    /// random stream derive from it.
    pub seed: u64,
    /// Also produce downsampled frames (renders every frame of a step).
    pub frames: bool,
    /// Per-environment settings (frame cap, step limit).
    pub env: EnvConfig,
    /// Worker threads: `Some(1)` steps on the calling thread, more build
    /// a pool of the VecEnv's own, `None` one thread per core. The VecEnv
    /// can be stepped from any thread, whatever the count.
    pub threads: Option<usize>,
    /// Failed steps in a row after which the episode is truncated.
    pub max_consecutive_failures: u32,
    /// Failed resets in a row after which the environment is quarantined.
    pub reset_attempts: u32,
    /// Steps between two checkpoints of an environment (1: a snapshot
    /// before every step).
    pub snapshot_every: u32,
    /// What happens when an episode ends (gymnasium's autoreset modes).
    pub autoreset: AutoReset,
    /// The index of the first environment within a larger run: episode
    /// seeds and random streams of environment `i` are those of
    /// environment `first_index + i` of a single VecEnv with the same run
    /// seed (so K processes of N environments, with first indices 0, N,
    /// 2N, …, play exactly one run of K·N).
    pub first_index: usize,
}

/// What a [`VecEnv`] does when one of its environments ends an episode:
/// gymnasium's three autoreset modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AutoReset {
    /// Reset within the step that ended the episode: the environment's
    /// rows show the next episode's first observation and the terminal one
    /// is in the final rows (gymnasium's `SAME_STEP`; see [`ObsBatch`]).
    #[default]
    SameStep,
    /// The step that ends the episode shows its terminal observation; the
    /// environment's next step ignores its action and resets: reward 0, no
    /// end flags, the first observation of the next episode (gymnasium's
    /// `NEXT_STEP`).
    NextStep,
    /// The step that ends the episode shows its terminal observation and
    /// the environment waits for [`VecEnv::reset_envs`]; stepping it
    /// before is [`VecEnvError::EpisodeOver`] (gymnasium's `DISABLED`).
    Disabled,
}

impl Default for VecEnvConfig {
    fn default() -> Self {
        VecEnvConfig {
            envs: 1,
            seed: 0,
            frames: false,
            env: EnvConfig::default(),
            threads: None,
            max_consecutive_failures: 3,
            reset_attempts: 3,
            snapshot_every: 16,
            autoreset: AutoReset::SameStep,
            first_index: 0,
        }
    }
}

/// Hooks a [`VecEnv`] calls: telemetry and the fault-isolation hook.
#[derive(Clone)]
pub struct VecEnvOptions {
    /// Where step, episode and failure events go.
    pub telemetry: Arc<dyn Telemetry>,
    /// Run before each reset and step, inside the fault isolation.
    pub hook: Option<Arc<dyn EnvHook>>,
}

impl Default for VecEnvOptions {
    fn default() -> Self {
        VecEnvOptions {
            telemetry: Arc::new(NoTelemetry),
            hook: None,
        }
    }
}

impl std::fmt::Debug for VecEnvOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecEnvOptions")
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

/// One environment and its episode bookkeeping.
pub(super) struct Slot {
    pub(super) env: Env,
    pub(super) index: usize,
    episode: u64,
    seed: u32,
    max_floor: u8,
    /// The environment at its last checkpoint.
    checkpoint: EnvSnapshot,
    /// The actions taken since the checkpoint (capacity `snapshot_every`:
    /// pushing never allocates).
    since_checkpoint: Vec<Action>,
    consecutive_failures: u32,
    pub(super) quarantined: bool,
    pub(super) rng: Rng,
    stats: RolloutStats,
    /// The state the last finished episode ended in.
    final_state: DungeonState,
    /// Its episode ended and it has not been reset yet
    /// ([`AutoReset::NextStep`] and [`AutoReset::Disabled`]).
    awaiting_reset: bool,
}

/// The contiguous batch buffers, allocated once.
struct Buffers {
    features: Vec<f32>,
    masks: Vec<bool>,
    final_features: Vec<f32>,
    /// `envs * frame_len` bytes: `frames::LEN` per env with frames on, one
    /// unused byte per env with frames off (so one code path zips them).
    frames: Vec<u8>,
    final_frames: Vec<u8>,
    with_frames: bool,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    active: Vec<bool>,
}

impl Buffers {
    fn new(n: usize, with_frames: bool) -> Buffers {
        let frame_len = if with_frames { frames::LEN } else { 1 };
        Buffers {
            features: vec![0.0; n * obs::FEATURES],
            masks: vec![false; n * ACTION_COUNT],
            final_features: vec![0.0; n * obs::FEATURES],
            frames: vec![0u8; n * frame_len],
            final_frames: vec![0u8; n * frame_len],
            with_frames,
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            active: vec![true; n],
        }
    }

    /// Writes what `slot` (environment `i`) looks like now into row `i`.
    fn observe_row(&mut self, i: usize, slot: &Slot) {
        let frame_len = self.frame_len();
        let frame = self
            .with_frames
            .then(|| &mut self.frames[i * frame_len..(i + 1) * frame_len]);
        observe(
            slot,
            &mut self.features[i * obs::FEATURES..(i + 1) * obs::FEATURES],
            &mut self.masks[i * ACTION_COUNT..(i + 1) * ACTION_COUNT],
            frame,
        );
    }

    fn frame_len(&self) -> usize {
        if self.with_frames {
            frames::LEN
        } else {
            1
        }
    }

    /// The borrowed view handed out.
    fn view(&self) -> ObsBatch<'_> {
        ObsBatch {
            features: &self.features,
            masks: &self.masks,
            frames: self.with_frames.then_some(&self.frames[..]),
            rewards: &self.rewards,
            terminated: &self.terminated,
            truncated: &self.truncated,
            final_features: &self.final_features,
            final_frames: self.with_frames.then_some(&self.final_frames[..]),
            active: &self.active,
        }
    }
}

/// What [`VecEnv::step`] hands each environment's step: its slot, action
/// and info, its feature and mask rows, its final-feature row and its two
/// frame rows (zipped the same way inline and on the pool).
type SlotRows<'a> = (
    (
        ((&'a mut Slot, &'a Action), &'a mut StepInfo),
        (&'a mut [f32], &'a mut [bool]),
    ),
    (&'a mut [f32], (&'a mut [u8], &'a mut [u8])),
);

/// N environments stepped in lockstep. Buffers are allocated once; a step
/// allocates nothing.
pub struct VecEnv {
    slots: Vec<Slot>,
    buffers: Buffers,
    infos: Vec<StepInfo>,
    workers: Workers,
    config: VecEnvConfig,
    options: VecEnvOptions,
    seed_scope: SeedScope,
}

impl Drop for VecEnv {
    fn drop(&mut self) {
        self.options.telemetry.envs(-(self.slots.len() as i64));
    }
}

impl std::fmt::Debug for VecEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecEnv")
            .field("config", &self.config)
            .finish()
    }
}

/// Why a [`VecEnv`] could not be built or stepped.
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
    /// A batch of actions whose length is not the number of environments.
    #[error("{actual} actions for {expected} environments")]
    ActionCount {
        /// Environments.
        expected: usize,
        /// Actions given.
        actual: usize,
    },
    /// A reset mask whose length is not the number of environments.
    #[error("a reset mask of {actual} entries for {expected} environments")]
    MaskLength {
        /// Environments.
        expected: usize,
        /// Entries given.
        actual: usize,
    },
    /// With [`AutoReset::Disabled`], a step for an environment whose
    /// episode has ended and that was not reset.
    #[error("environment {index}: its episode has ended; reset it first (autoreset is disabled)")]
    EpisodeOver {
        /// Which environment.
        index: usize,
    },
}

impl VecEnv {
    /// Builds `config.envs` environments over `rom` and resets each with its
    /// first episode seed. `prepare` runs on each new environment before
    /// its first reset (e.g. to load a start savestate). The first resets
    /// must succeed: they check the start point.
    pub fn new(
        rom: &Rom,
        config: VecEnvConfig,
        prepare: impl Fn(&mut Env) -> Result<(), EnvError> + Sync,
    ) -> Result<VecEnv, VecEnvError> {
        VecEnv::with_options(rom, config, prepare, VecEnvOptions::default())
    }

    /// [`VecEnv::new`] with telemetry and a hook.
    pub fn with_options(
        rom: &Rom,
        config: VecEnvConfig,
        prepare: impl Fn(&mut Env) -> Result<(), EnvError> + Sync,
        options: VecEnvOptions,
    ) -> Result<VecEnv, VecEnvError> {
        if config.envs == 0 {
            return Err(VecEnvError::NoEnvs);
        }
        let workers = Workers::new(config.threads)?;
        // Frames need rendering; `config.env.render` alone renders without
        // making frame rows (for screenshots).
        let env_config = EnvConfig {
            render: config.frames || config.env.render,
            ..config.env
        };
        let build = |index: usize| {
            let wrap = |source| VecEnvError::Env { index, source };
            let mut env = Env::new(rom, env_config).map_err(wrap)?;
            prepare(&mut env).map_err(wrap)?;
            let seed = episode_seed(config.seed, config.first_index + index, 0);
            env.reset(seed).map_err(wrap)?;
            let checkpoint = env.snapshot().map_err(wrap)?;
            Ok(Slot {
                max_floor: env.state().floor.max(1),
                env,
                index,
                episode: 0,
                seed,
                checkpoint,
                since_checkpoint: Vec::with_capacity(config.snapshot_every.max(1) as usize),
                consecutive_failures: 0,
                quarantined: false,
                rng: Rng::new(config.seed, (config.first_index + index) as u64),
                stats: RolloutStats::default(),
                final_state: DungeonState::new(),
                awaiting_reset: false,
            })
        };
        let slots: Result<Vec<Slot>, VecEnvError> = match &workers {
            Workers::Inline => (0..config.envs).map(build).collect(),
            Workers::Pool(pool) => {
                pool.install(|| (0..config.envs).into_par_iter().map(build).collect())
            }
        };
        let slots = slots?;
        let n = config.envs;
        let seed_scope = slots[0].env.seed_scope();
        let mut vec_env = VecEnv {
            slots,
            buffers: Buffers::new(n, config.frames),
            infos: vec![StepInfo::default(); n],
            workers,
            config,
            options,
            seed_scope,
        };
        vec_env.observe_all();
        vec_env.options.telemetry.envs(n as i64);
        Ok(vec_env)
    }

    fn observe_all(&mut self) {
        for (i, slot) in self.slots.iter().enumerate() {
            self.buffers.observe_row(i, slot);
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

    /// The settings.
    pub fn config(&self) -> &VecEnvConfig {
        &self.config
    }

    /// What each episode's seed decides (see [`Env::seed_scope`]).
    pub fn seed_scope(&self) -> SeedScope {
        self.seed_scope
    }

    /// The current batch.
    pub fn batch(&self) -> ObsBatch<'_> {
        self.buffers.view()
    }

    /// The batch and the environments, as a batch policy sees them: the
    /// buffers read-only, the environments mutable (for lookahead) on this
    /// pool.
    pub fn policy_input(&mut self) -> PolicyInput<'_> {
        PolicyInput {
            obs: self.buffers.view(),
            envs: EnvSlots::new(&mut self.slots, &self.workers, &self.buffers.features),
        }
    }

    /// Environment `i` (read only: its decoded state, its emulator).
    pub fn env(&self, i: usize) -> &Env {
        &self.slots[i].env
    }

    /// Environment `i`, mutable: raw control for tools and tests (the next
    /// `step` goes on from whatever it is left in; call
    /// [`VecEnv::resync_env`] after changing it so rollbacks and rows follow).
    pub fn env_mut(&mut self, i: usize) -> &mut Env {
        &mut self.slots[i].env
    }

    /// The state environment `i`'s last finished episode ended in (valid
    /// after a step that ended it; see [`ObsBatch`] on auto-reset).
    pub fn final_state(&self, i: usize) -> &DungeonState {
        &self.slots[i].final_state
    }

    /// Whether environment `i` is quarantined.
    pub fn is_quarantined(&self, i: usize) -> bool {
        self.slots[i].quarantined
    }

    /// The indices of the quarantined environments.
    pub fn quarantined(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots.iter().filter(|s| s.quarantined).map(|s| s.index)
    }

    /// Steps every environment with its action, in parallel, and writes
    /// observations, masks, rewards and episode ends in place (see
    /// [`ObsBatch`] for auto-reset). A failing environment is rolled back
    /// or, when it keeps failing, ends its episode or is quarantined (see
    /// the module text); the others go on. `actions` must have one action
    /// per environment (a quarantined environment's is ignored).
    pub fn step(&mut self, actions: &[Action]) -> Result<ObsBatch<'_>, VecEnvError> {
        if actions.len() != self.slots.len() {
            return Err(VecEnvError::ActionCount {
                expected: self.slots.len(),
                actual: actions.len(),
            });
        }
        if self.config.autoreset == AutoReset::Disabled {
            if let Some(slot) = self
                .slots
                .iter()
                .find(|s| s.awaiting_reset && !s.quarantined)
            {
                return Err(VecEnvError::EpisodeOver { index: slot.index });
            }
        }
        let b = &mut self.buffers;
        let frame_len = b.frame_len();
        let ctx = StepContext {
            config: &self.config,
            hook: self.options.hook.as_deref(),
            telemetry: &*self.options.telemetry,
        };
        let each = |((((slot, action), info), (row, mask)), (final_row, (frame, final_frame))): SlotRows<'_>| {
                let out = Rows {
                    row,
                    mask,
                    final_row,
                    frame: ctx.config.frames.then_some(frame),
                    final_frame: ctx.config.frames.then_some(final_frame),
                };
                *info = step_slot(slot, *action, out, &ctx);
            };
        let slots = &mut self.slots;
        let infos = &mut self.infos;
        match &self.workers {
            Workers::Inline => slots
                .iter_mut()
                .zip(actions)
                .zip(infos.iter_mut())
                .zip(
                    b.features
                        .chunks_exact_mut(obs::FEATURES)
                        .zip(b.masks.chunks_exact_mut(ACTION_COUNT)),
                )
                .zip(
                    b.final_features.chunks_exact_mut(obs::FEATURES).zip(
                        b.frames
                            .chunks_exact_mut(frame_len)
                            .zip(b.final_frames.chunks_exact_mut(frame_len)),
                    ),
                )
                .for_each(each),
            Workers::Pool(pool) => pool.install(|| {
                slots
                    .par_iter_mut()
                    .zip(actions.par_iter())
                    .zip(infos.par_iter_mut())
                    .zip(
                        b.features
                            .par_chunks_exact_mut(obs::FEATURES)
                            .zip(b.masks.par_chunks_exact_mut(ACTION_COUNT)),
                    )
                    .zip(
                        b.final_features.par_chunks_exact_mut(obs::FEATURES).zip(
                            b.frames
                                .par_chunks_exact_mut(frame_len)
                                .zip(b.final_frames.par_chunks_exact_mut(frame_len)),
                        ),
                    )
                    .for_each(each)
            }),
        }
        self.publish_infos();
        Ok(self.batch())
    }

    /// Resets the environments `mask` selects (every one without a mask),
    /// on the calling thread, and writes their rows: each starts its next
    /// episode, or with `seed` the run starts over from that seed — the
    /// selected environments begin its episode 0 with fresh random streams,
    /// exactly as a new `VecEnv` with that seed would, and later episodes'
    /// seeds of every environment derive from it. Their step infos become
    /// the reset's (reward 0, no end). A quarantined environment selected
    /// gets a fresh try. gymnasium's `reset(seed=…, options={"reset_mask":
    /// …})`.
    pub fn reset_envs(
        &mut self,
        seed: Option<u64>,
        mask: Option<&[bool]>,
    ) -> Result<ObsBatch<'_>, VecEnvError> {
        if let Some(mask) = mask {
            if mask.len() != self.slots.len() {
                return Err(VecEnvError::MaskLength {
                    expected: self.slots.len(),
                    actual: mask.len(),
                });
            }
        }
        if let Some(seed) = seed {
            self.config.seed = seed;
        }
        let ctx = StepContext {
            config: &self.config,
            hook: self.options.hook.as_deref(),
            telemetry: &*self.options.telemetry,
        };
        let b = &mut self.buffers;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if mask.is_some_and(|m| !m[i]) {
                continue;
            }
            let first = match seed {
                Some(seed) => {
                    slot.rng = Rng::new(seed, (self.config.first_index + i) as u64);
                    0
                }
                None => slot.episode + 1,
            };
            start_episode(slot, &ctx, first);
            self.infos[i] = StepInfo {
                episode: slot.episode,
                seed: slot.seed,
                state: slot.env.step_state(),
                max_floor: slot.max_floor,
                quarantined: slot.quarantined,
                ..StepInfo::default()
            };
            b.observe_row(i, slot);
        }
        self.publish_infos();
        Ok(self.batch())
    }

    /// A branch point of environment `i` (see [`Env::snapshot`]).
    pub fn snapshot_env(&mut self, i: usize) -> Result<EnvSnapshot, VecEnvError> {
        self.slots[i]
            .env
            .snapshot()
            .map_err(|source| VecEnvError::Env { index: i, source })
    }

    /// Returns environment `i` to a branch point taken on it (or on any
    /// environment of the same ROM) and writes its rows; its fault
    /// isolation starts over from there (a new checkpoint). A snapshot the
    /// emulator refuses leaves the environment as it was. Its episode
    /// number and seed stay; its deepest floor becomes the restored one.
    pub fn restore_env(&mut self, i: usize, snapshot: &EnvSnapshot) -> Result<(), VecEnvError> {
        let wrap = |source| VecEnvError::Env { index: i, source };
        let slot = &mut self.slots[i];
        slot.env.restore(snapshot).map_err(wrap)?;
        slot.env.snapshot_into(&mut slot.checkpoint).map_err(wrap)?;
        slot.since_checkpoint.clear();
        slot.consecutive_failures = 0;
        slot.quarantined = false;
        slot.max_floor = slot.env.state().floor.max(1);
        slot.awaiting_reset = !slot.env.is_running();
        self.infos[i] = StepInfo {
            episode: slot.episode,
            step: slot.env.episode_steps(),
            seed: slot.seed,
            state: slot.env.step_state(),
            max_floor: slot.max_floor,
            ..StepInfo::default()
        };
        self.buffers.observe_row(i, slot);
        self.publish_infos();
        Ok(())
    }

    /// The deepest floor environment `i`'s current episode has reached.
    pub fn max_floor(&self, i: usize) -> u8 {
        self.slots[i].max_floor
    }

    /// Takes environment `i` as it now stands after raw control through
    /// [`VecEnv::env_mut`] (frames run, memory written): re-decodes it,
    /// re-takes its fault-isolation checkpoint there (a rollback must not
    /// return to a state from before the raw change) and rewrites its rows.
    pub fn resync_env(&mut self, i: usize) -> Result<(), VecEnvError> {
        let now = self.snapshot_env(i)?;
        self.restore_env(i, &now)
    }

    /// Whether environment `i`'s episode has ended and it waits for a
    /// reset ([`AutoReset::NextStep`] until its next step,
    /// [`AutoReset::Disabled`] until [`VecEnv::reset_envs`]).
    pub fn awaiting_reset(&self, i: usize) -> bool {
        self.slots[i].awaiting_reset
    }

    /// Adds `bonus[i]` to environment `i`'s reward of the last step (in
    /// the reward buffer and its `StepInfo`): reward shaping such as the
    /// vector memory's novelty bonus. Extra entries are ignored.
    pub fn add_rewards(&mut self, bonus: &[f32]) {
        let rewards = self.buffers.rewards.iter_mut();
        for ((reward, info), b) in rewards.zip(&mut self.infos).zip(bonus) {
            *reward += b;
            info.reward += b;
        }
    }

    /// Lends every environment out as an [`EnvUnit`] for `f`'s duration:
    /// each unit steps on its own, with the same fault isolation and
    /// auto-reset as [`VecEnv::step`], writing its own rows of the batch
    /// buffers, in whatever order and on whatever threads `f` chooses (the
    /// asynchronous runner's workers). When `f` returns, the
    /// per-environment buffers (rewards, episode ends, active) are brought
    /// up to date from each environment's last step.
    pub fn with_units<R>(&mut self, f: impl FnOnce(Vec<EnvUnit<'_>>) -> R) -> R {
        let frame_len = self.buffers.frame_len();
        let with_frames = self.config.frames;
        let ctx = StepContext {
            config: &self.config,
            hook: self.options.hook.as_deref(),
            telemetry: &*self.options.telemetry,
        };
        let b = &mut self.buffers;
        let units = self
            .slots
            .iter_mut()
            .zip(b.features.chunks_exact_mut(obs::FEATURES))
            .zip(b.masks.chunks_exact_mut(ACTION_COUNT))
            .zip(b.final_features.chunks_exact_mut(obs::FEATURES))
            .zip(
                b.frames
                    .chunks_exact_mut(frame_len)
                    .zip(b.final_frames.chunks_exact_mut(frame_len)),
            )
            .zip(self.infos.iter_mut())
            .map(
                |(((((slot, row), mask), final_row), (frame, final_frame)), info)| {
                    let rows = Rows {
                        row,
                        mask,
                        final_row,
                        frame: with_frames.then_some(frame),
                        final_frame: with_frames.then_some(final_frame),
                    };
                    EnvUnit::new(slot, rows, info, &ctx)
                },
            )
            .collect();
        let out = f(units);
        self.publish_infos();
        out
    }

    /// Brings the per-environment buffers (rewards, episode ends, active)
    /// up to date from each environment's last step.
    fn publish_infos(&mut self) {
        let b = &mut self.buffers;
        for (i, info) in self.infos.iter().enumerate() {
            b.rewards[i] = info.reward;
            b.terminated[i] = info.terminated;
            b.truncated[i] = info.truncated;
            b.active[i] = !self.slots[i].quarantined;
        }
    }

    /// What each environment's last step was (before any auto-reset).
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

/// What every environment's step shares.
pub(super) struct StepContext<'a> {
    config: &'a VecEnvConfig,
    hook: Option<&'a dyn EnvHook>,
    telemetry: &'a dyn Telemetry,
}

/// One environment's rows of the batch buffers.
pub(super) struct Rows<'a> {
    pub(super) row: &'a mut [f32],
    pub(super) mask: &'a mut [bool],
    pub(super) final_row: &'a mut [f32],
    pub(super) frame: Option<&'a mut [u8]>,
    pub(super) final_frame: Option<&'a mut [u8]>,
}

/// Writes what environment `slot` looks like now into its rows (an
/// environment waiting for its reset shows its terminal observation and
/// only `wait` legal).
fn observe(slot: &Slot, row: &mut [f32], mask: &mut [bool], frame: Option<&mut [u8]>) {
    if slot.quarantined {
        row.fill(0.0);
        mask.fill(false);
        if let Some(frame) = frame {
            frame.fill(0);
        }
        return;
    }
    obs::encode(slot.env.state(), slot.env.floor_turns(), row);
    if slot.awaiting_reset {
        // The episode is over and the next step's action is ignored: only
        // `wait` is offered, so a policy that samples from the mask (or a
        // softmax over it) always has one legal action.
        mask.fill(false);
        mask[Action::Wait.index()] = true;
    } else {
        slot.env.action_mask().write(mask);
    }
    if let Some(frame) = frame {
        write_frame(&slot.env, frame);
    }
}

/// Writes the environment's screen, downsampled; black when the
/// framebuffer does not show the present state (restored from a state
/// that carried no picture), never a stale picture.
fn write_frame(env: &Env, out: &mut [u8]) {
    let emu = env.emulator();
    if emu.frame_is_current() {
        frames::downsample(emu.frame(), out);
    } else {
        out.fill(0);
    }
}

/// One environment step with recovery; writes the environment's rows.
pub(super) fn step_slot(
    slot: &mut Slot,
    action: Action,
    out: Rows<'_>,
    ctx: &StepContext<'_>,
) -> StepInfo {
    let mut info = StepInfo {
        episode: slot.episode,
        step: slot.env.episode_steps(),
        seed: slot.seed,
        quarantined: slot.quarantined,
        ..StepInfo::default()
    };
    if slot.quarantined {
        observe(slot, out.row, out.mask, out.frame);
        return info;
    }
    if slot.awaiting_reset {
        // NEXT_STEP: this step is the reset (its action is ignored). With
        // autoreset disabled `VecEnv::step` refuses before getting here;
        // an `EnvUnit` step of a waiting environment resets it likewise.
        reset_slot(slot, ctx);
        info = StepInfo {
            episode: slot.episode,
            seed: slot.seed,
            state: slot.env.step_state(),
            max_floor: slot.max_floor,
            quarantined: slot.quarantined,
            ..StepInfo::default()
        };
        observe(slot, out.row, out.mask, out.frame);
        return info;
    }
    match try_step(slot, action, &mut info, ctx) {
        Ok(result) => stepped(slot, action, result, info, out, ctx),
        Err(failure) => failed(slot, failure, info, out, ctx),
    }
}

/// Runs the hook and the step inside the fault isolation; counts the step
/// and its frames. A frame-capped step is a failure like an error or a
/// panic.
fn try_step(
    slot: &mut Slot,
    action: Action,
    info: &mut StepInfo,
    ctx: &StepContext<'_>,
) -> Result<StepResult, FailureKind> {
    let started = ctx.telemetry.timed().then(Instant::now);
    let (index, episode, step) = (slot.index, slot.episode, info.step);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if let Some(hook) = ctx.hook {
            hook.before_step(index, episode, step, &mut slot.env)?;
        }
        slot.env.step(action)
    }));
    slot.stats.steps += 1;
    match outcome {
        Ok(Ok(result)) => {
            ctx.telemetry
                .step(result.frames, started.map(|t| t.elapsed().as_secs_f64()));
            slot.stats.frames += u64::from(result.frames);
            info.frames = result.frames;
            if result.reason == Some(EndReason::FrameCap) {
                Err(FailureKind::FrameCap)
            } else {
                Ok(result)
            }
        }
        Ok(Err(e)) => {
            tracing::warn!(env = slot.index, episode = slot.episode, error = %e, "step failed");
            Err(FailureKind::Error)
        }
        Err(_) => {
            tracing::warn!(env = slot.index, episode = slot.episode, "step panicked");
            Err(FailureKind::Panic)
        }
    }
}

/// A step that went through: progress, then the episode's end or (every
/// `snapshot_every` steps) a checkpoint, and the new observation.
fn stepped(
    slot: &mut Slot,
    action: Action,
    result: StepResult,
    mut info: StepInfo,
    out: Rows<'_>,
    ctx: &StepContext<'_>,
) -> StepInfo {
    slot.consecutive_failures = 0;
    slot.max_floor = slot.max_floor.max(result.state.floor);
    slot.stats.best_floor = slot.stats.best_floor.max(slot.max_floor);
    info.state = result.state;
    info.reward = result.reward;
    info.max_floor = slot.max_floor;
    if let Some(reason) = result.reason {
        end_episode(slot, reason, &mut info, out, ctx);
        return info;
    }
    slot.since_checkpoint.push(action);
    if slot.since_checkpoint.len() >= ctx.config.snapshot_every.max(1) as usize {
        checkpoint(slot, ctx);
    }
    observe(slot, out.row, out.mask, out.frame);
    info
}

/// A step that failed: roll back to the last checkpoint and replay; give
/// up on the episode when that fails or failures keep coming.
fn failed(
    slot: &mut Slot,
    failure: FailureKind,
    mut info: StepInfo,
    out: Rows<'_>,
    ctx: &StepContext<'_>,
) -> StepInfo {
    ctx.telemetry.failure(failure);
    slot.stats.failures += 1;
    slot.consecutive_failures += 1;
    info.rolled_back = true;
    let restored = roll_back(slot);
    info.state = slot.env.step_state();
    info.max_floor = slot.max_floor;
    if !restored || slot.consecutive_failures >= ctx.config.max_consecutive_failures {
        tracing::warn!(
            env = slot.index,
            episode = slot.episode,
            failures = slot.consecutive_failures,
            "giving up on the episode"
        );
        end_episode(slot, failure.end_reason(), &mut info, out, ctx);
        return info;
    }
    observe(slot, out.row, out.mask, out.frame);
    info
}

/// Takes a checkpoint after a successful step. When that fails the step
/// stands (it is not rolled back) and the actions since the last
/// checkpoint, this one included, are kept to replay: a later failure
/// still rolls back to the right state, or, if the failed snapshot damaged
/// the checkpoint, cannot restore it and ends the episode.
fn checkpoint(slot: &mut Slot, ctx: &StepContext<'_>) {
    let index = slot.index;
    let (env, snapshot) = (&mut slot.env, &mut slot.checkpoint);
    let taken = catch_unwind(AssertUnwindSafe(|| {
        if let Some(hook) = ctx.hook {
            hook.before_checkpoint(index, env)?;
        }
        env.snapshot_into(snapshot)
    }));
    match taken {
        Ok(Ok(())) => slot.since_checkpoint.clear(),
        Ok(Err(e)) => {
            tracing::warn!(env = index, error = %e, "cannot take a checkpoint; keeping the last one")
        }
        Err(_) => tracing::warn!(
            env = index,
            "taking a checkpoint panicked; keeping the last one"
        ),
    }
}

/// Returns the environment to the state before the failed step: the
/// checkpoint, then the actions taken since it. False when that does not
/// go through (the environment is then in no known state).
fn roll_back(slot: &mut Slot) -> bool {
    if slot.env.restore(&slot.checkpoint).is_err() {
        return false;
    }
    for &action in &slot.since_checkpoint {
        match catch_unwind(AssertUnwindSafe(|| slot.env.step(action))) {
            Ok(Ok(r)) if !r.done() => {}
            _ => return false,
        }
    }
    true
}

/// Ends the episode for `reason`: keeps its final observation and state,
/// counts it, and resets (or quarantines) the environment.
fn end_episode(
    slot: &mut Slot,
    reason: EndReason,
    info: &mut StepInfo,
    out: Rows<'_>,
    ctx: &StepContext<'_>,
) {
    info.terminated = reason.is_termination();
    info.truncated = !reason.is_termination();
    info.reason = Some(reason);
    ctx.telemetry.episode_end(reason);
    slot.stats.count_end(reason, slot.max_floor);
    obs::encode(slot.env.state(), slot.env.floor_turns(), out.final_row);
    if let Some(final_frame) = out.final_frame {
        write_frame(&slot.env, final_frame);
    }
    slot.final_state.clone_from(slot.env.state());
    match ctx.config.autoreset {
        AutoReset::SameStep => reset_slot(slot, ctx),
        AutoReset::NextStep | AutoReset::Disabled => slot.awaiting_reset = true,
    }
    observe(slot, out.row, out.mask, out.frame);
}

/// Resets with the next episode's seed, retrying with the following seeds
/// a bounded number of times; quarantines the environment when every try
/// fails.
fn reset_slot(slot: &mut Slot, ctx: &StepContext<'_>) {
    let next = slot.episode + 1;
    start_episode(slot, ctx, next);
}

/// Starts episode `first` of the environment (its seed from the run seed),
/// or on failure the following ones, a bounded number of times; quarantines
/// the environment when every try fails.
fn start_episode(slot: &mut Slot, ctx: &StepContext<'_>, first: u64) {
    slot.consecutive_failures = 0;
    slot.awaiting_reset = false;
    for attempt in 0..u64::from(ctx.config.reset_attempts.max(1)) {
        slot.episode = first + attempt;
        slot.seed = episode_seed(
            ctx.config.seed,
            ctx.config.first_index + slot.index,
            slot.episode,
        );
        let (index, episode, seed) = (slot.index, slot.episode, slot.seed);
        let (env, checkpoint) = (&mut slot.env, &mut slot.checkpoint);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Some(hook) = ctx.hook {
                hook.before_reset(index, episode, env)?;
            }
            env.reset(seed)?;
            env.snapshot_into(checkpoint)
        }));
        match outcome {
            Ok(Ok(())) => {
                slot.since_checkpoint.clear();
                slot.max_floor = slot.env.state().floor.max(1);
                slot.quarantined = false;
                return;
            }
            Ok(Err(e)) => {
                tracing::warn!(env = index, episode, error = %e, "reset failed");
            }
            Err(_) => tracing::warn!(env = index, episode, "reset panicked"),
        }
        slot.stats.reset_failures += 1;
    }
    tracing::error!(
        env = slot.index,
        attempts = ctx.config.reset_attempts,
        "every reset failed; quarantining the environment"
    );
    slot.quarantined = true;
    slot.stats.quarantined = 1;
    ctx.telemetry.quarantined();
}
