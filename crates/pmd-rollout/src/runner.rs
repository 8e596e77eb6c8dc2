//! [`Runner`]: the one run loop. It owns the environments ([`VecEnv`]),
//! the policy (any [`BatchPolicy`]), the trajectory recorder and the stop
//! condition; the command line, the league and language bindings all run
//! agents through it and only parse arguments and print.
//!
//! One round: the policy decides for every environment from the batch
//! buffers (no copy), the recorder copies the observations it needs into
//! its column buffers, every environment steps in parallel, the recorder
//! completes the rows. A round allocates nothing but the recorder's column
//! growth.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::memory::{EpisodicMemory, MemoryReport};
use crate::policy::{BatchPolicy, PolicyError};
use crate::record::{RecordError, RunMeta, TrajectoryWriter, DEFAULT_BATCH_ROWS};
use mhnsw::IndexError;
use pmd_game::env::{Action, EndReason, Env, EnvError};
use pmd_game::obs;
use pmd_mgba::Rom;

// The episodic memory embeds the observations this runner hands it.
const _: () = assert!(crate::memory::embed::OBS_LEN == obs::FEATURES);
use crate::{RolloutStats, VecEnv, VecEnvConfig, VecEnvError, VecEnvOptions};

/// Where episodes start: a battery save to boot with, and/or a savestate
/// (mGBA frontend format or pmd-agent's checksummed form) to start from.
#[derive(Debug, Clone, Default)]
pub struct StartPoint {
    /// Battery save bytes (`.sav`).
    pub battery: Option<Vec<u8>>,
    /// Savestate file bytes.
    pub state: Option<Vec<u8>>,
}

impl StartPoint {
    /// Prepares one environment to start here: loads the battery save,
    /// then the savestate (what every run loop does to each environment).
    pub fn prepare(&self, env: &mut Env) -> Result<(), EnvError> {
        if let Some(bytes) = &self.battery {
            env.use_battery_save(bytes)?;
        }
        if let Some(bytes) = &self.state {
            env.start_from_state_file(bytes)?;
        }
        Ok(())
    }

    /// How recordings name this start: `boot`, or `state:<crc32>`.
    pub fn describe(&self) -> String {
        match &self.state {
            Some(bytes) => format!("state:{:08x}", crc32fast::hash(bytes)),
            None => "boot".to_string(),
        }
    }
}

/// Recording settings.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// Directory of the trajectory file (`<dir>/<run id>.arrows`).
    pub dir: PathBuf,
    /// Also record the downsampled frames.
    pub frames: bool,
    /// Rows per record batch.
    pub batch_rows: usize,
    /// The run id; generated (time, process, seed) when `None`.
    pub run_id: Option<String>,
}

impl RecordConfig {
    /// Recording into `dir` with the defaults.
    pub fn new(dir: impl Into<PathBuf>) -> RecordConfig {
        RecordConfig {
            dir: dir.into(),
            frames: false,
            batch_rows: DEFAULT_BATCH_ROWS,
            run_id: None,
        }
    }
}

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The environments could not be built.
    #[error(transparent)]
    VecEnv(#[from] VecEnvError),
    /// The policy failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The recorder failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The vector memory failed.
    #[error("vector memory: {0}")]
    Memory(#[from] IndexError),
    /// Every environment is quarantined: nothing can be stepped.
    #[error("every environment ({envs}) is quarantined: their resets kept failing (see the log)")]
    AllQuarantined {
        /// How many there are.
        envs: usize,
    },
}

impl RunError {
    /// The start point is outside a dungeon (a user error: bad input).
    pub fn is_not_in_dungeon(&self) -> bool {
        matches!(
            self,
            RunError::VecEnv(VecEnvError::Env {
                source: EnvError::Decode(pmd_game::DecodeError::NotInDungeon),
                ..
            })
        )
    }
}

/// The summary of a run (what `run --json` prints).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Policy name.
    pub policy: String,
    /// Environments.
    pub envs: usize,
    /// Environment steps taken.
    pub steps: u64,
    /// Frames emulated.
    pub frames: u64,
    /// Episodes finished.
    pub episodes: u64,
    /// Episodes that terminated (fainted, cleared, left the dungeon).
    pub terminated: u64,
    /// Episodes that were truncated (step limit, frame cap, failures).
    pub truncated: u64,
    /// Finished episodes per end reason.
    pub end_reasons: BTreeMap<&'static str, u64>,
    /// Environments quarantined.
    pub quarantined_envs: Vec<usize>,
    /// Wall-clock seconds of the stepping loop.
    pub seconds: f64,
    /// Steps per second.
    pub steps_per_s: f64,
    /// Frames per second.
    pub frames_per_s: f64,
    /// Mean over finished episodes of the deepest floor.
    pub mean_max_floor: f64,
    /// Deepest floor reached.
    pub best_floor: u8,
    /// Steps that failed and were rolled back.
    pub failures: u64,
    /// What each episode's seed decided (`whole_episode`, `next_floor`).
    pub seed_scope: &'static str,
    /// The trajectory file, when recording.
    pub record_file: Option<PathBuf>,
    /// Rows written to it.
    pub record_rows: Option<u64>,
    /// The vector memory, when the run has one.
    pub memory: Option<MemoryReport>,
}

impl RunReport {
    /// The counters of a run of `policy` on `vec_env` that took `seconds`
    /// (both run loops report through it), with no recording or memory.
    pub(crate) fn counters(policy: &str, vec_env: &VecEnv, seconds: f64) -> RunReport {
        let stats = vec_env.stats();
        let per_s = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        RunReport {
            policy: policy.to_string(),
            envs: vec_env.len(),
            steps: stats.steps,
            frames: stats.frames,
            episodes: stats.episodes,
            terminated: stats.terminated,
            truncated: stats.truncated,
            end_reasons: EndReason::ALL
                .iter()
                .map(|r| (r.code(), stats.ended(*r)))
                .collect(),
            quarantined_envs: vec_env.quarantined().collect(),
            seconds,
            steps_per_s: per_s(stats.steps),
            frames_per_s: per_s(stats.frames),
            mean_max_floor: stats.mean_max_floor(),
            best_floor: stats.best_floor,
            failures: stats.failures,
            seed_scope: vec_env.seed_scope().name(),
            record_file: None,
            record_rows: None,
            memory: None,
        }
    }
}

/// Runs a policy on a vector of environments.
pub struct Runner {
    vec_env: VecEnv,
    policy: Box<dyn BatchPolicy>,
    recorder: Option<TrajectoryWriter>,
    memory: Option<EpisodicMemory>,
    actions: Vec<Action>,
    seconds: f64,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("vec_env", &self.vec_env)
            .field("policy", &self.policy.name())
            .finish()
    }
}

/// A run id unique enough for file names: seconds since the epoch, the
/// process id and the run seed.
pub fn default_run_id(seed: u64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("run-{secs}-{}-{seed}", std::process::id())
}

impl Runner {
    /// Builds the environments (each resets once, which checks the start
    /// point) and, when asked, creates the trajectory file.
    pub fn new(
        rom: &Rom,
        config: VecEnvConfig,
        start: &StartPoint,
        policy: Box<dyn BatchPolicy>,
        record: Option<&RecordConfig>,
        options: VecEnvOptions,
    ) -> Result<Runner, RunError> {
        let vec_env = VecEnv::with_options(rom, config, |env| start.prepare(env), options)?;
        let recorder = match record {
            Some(record) => {
                let meta = RunMeta {
                    run_id: record
                        .run_id
                        .clone()
                        .unwrap_or_else(|| default_run_id(config.seed)),
                    rom_crc32: rom.crc32(),
                    rom_title: rom.title().to_string(),
                    game_code: rom.game_code().to_string(),
                    policy: policy.name().to_string(),
                    run_seed: config.seed,
                    start: start.describe(),
                    seed_scope: vec_env.seed_scope().name().to_string(),
                };
                let writer =
                    TrajectoryWriter::create(&record.dir, meta, record.frames, record.batch_rows)?;
                tracing::info!(file = %writer.path().display(), "recording");
                Some(writer)
            }
            None => None,
        };
        let n = vec_env.len();
        Ok(Runner {
            vec_env,
            policy,
            recorder,
            memory: None,
            actions: vec![Action::Wait; n],
            seconds: 0.0,
        })
    }

    /// Gives the run a vector memory: every round, the states reached are
    /// remembered and each step's reward gets the memory's novelty bonus
    /// (see [`crate::memory::EpisodicMemory`]).
    pub fn with_memory(mut self, memory: EpisodicMemory) -> Runner {
        self.memory = Some(memory);
        self
    }

    /// The environments.
    pub fn vec_env(&self) -> &VecEnv {
        &self.vec_env
    }

    /// The environments, mutable (tools and tests).
    pub fn vec_env_mut(&mut self) -> &mut VecEnv {
        &mut self.vec_env
    }

    /// The actions of the last round.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// One lockstep round: decide, record, step. Fails when every
    /// environment is quarantined.
    pub fn round(&mut self) -> Result<(), RunError> {
        let started = Instant::now();
        self.policy
            .act(self.vec_env.policy_input(), &mut self.actions)?;
        if let Some(recorder) = self.recorder.as_mut() {
            recorder.begin_round(&self.vec_env.batch());
        }
        let batch = self.vec_env.step(&self.actions)?;
        let all_quarantined = !batch.active.iter().any(|a| *a);
        if let Some(memory) = self.memory.as_mut() {
            let bonus = memory.observe(&self.vec_env.batch(), self.vec_env.infos())?;
            self.vec_env.add_rewards(bonus);
        }
        if let Some(recorder) = self.recorder.as_mut() {
            recorder.end_round(&self.actions, self.vec_env.infos())?;
        }
        self.seconds += started.elapsed().as_secs_f64();
        if all_quarantined {
            return Err(RunError::AllQuarantined {
                envs: self.vec_env.len(),
            });
        }
        Ok(())
    }

    /// Runs rounds until `steps` environment steps are taken in all
    /// (rounded up to whole rounds), or `progress` (called every 16
    /// rounds with the counters) says stop.
    pub fn run(
        &mut self,
        steps: u64,
        mut progress: impl FnMut(&RolloutStats) -> ControlFlow<()>,
    ) -> Result<(), RunError> {
        let rounds = steps.div_ceil(self.vec_env.len() as u64);
        for round in 0..rounds {
            self.round()?;
            if round % 16 == 15 && progress(&self.vec_env.stats()).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// The counters so far.
    pub fn stats(&self) -> RolloutStats {
        self.vec_env.stats()
    }

    /// Closes the trajectory file (end-of-stream mark) and returns the
    /// report.
    pub fn finish(mut self) -> Result<RunReport, RunError> {
        let recorded = match self.recorder.take() {
            Some(writer) => {
                let path = writer.path().to_path_buf();
                Some((path, writer.finish()?))
            }
            None => None,
        };
        let memory = self.memory.take().map(EpisodicMemory::finish).transpose()?;
        let mut report = self.report();
        report.memory = memory;
        if let Some((path, rows)) = recorded {
            report.record_file = Some(path);
            report.record_rows = Some(rows);
        }
        Ok(report)
    }

    /// The report of the run so far.
    pub fn report(&self) -> RunReport {
        RunReport {
            record_file: self.recorder.as_ref().map(|w| w.path().to_path_buf()),
            record_rows: self.recorder.as_ref().map(TrajectoryWriter::rows),
            memory: self.memory.as_ref().map(EpisodicMemory::report),
            ..RunReport::counters(self.policy.name(), &self.vec_env, self.seconds)
        }
    }
}
