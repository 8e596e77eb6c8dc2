//! `pmd-agent run --policy …`: the main job — N environments in parallel,
//! a policy choosing every action, a summary of what it reached.

use std::path::PathBuf;
use std::time::Instant;

use pmd_agent::env::{Action, EnvConfig, EnvError};
use pmd_agent::game::DecodeError;
use pmd_agent::policy::PolicyKind;
use pmd_agent::record::{RunMeta, TrajectoryWriter};
use pmd_agent::rollout::{frames, obs, ObsBatch, StepInfo, VecEnv, VecEnvConfig, VecEnvError};
use serde::Serialize;

use super::progress::DelayedProgress;
use super::run::{load_rom, RunArgs};
use super::serve::MetricsServer;
use super::{input_file, Failure};

/// Steps run when `--steps` is not given.
const DEFAULT_STEPS: u64 = 5000;

/// The result of an agent run, as printed with `--json`.
#[derive(Debug, Serialize)]
struct AgentReport {
    policy: &'static str,
    envs: usize,
    steps: u64,
    frames: u64,
    episodes: u64,
    seconds: f64,
    steps_per_s: f64,
    frames_per_s: f64,
    mean_max_floor: f64,
    best_floor: u8,
    failures: u64,
}

/// Runs the agent job.
pub fn run_agent(args: &RunArgs, kind: PolicyKind) -> Result<(), Failure> {
    let rom = load_rom(args.rom.as_ref())?;
    pmd_agent::game::Game::from_code(rom.game_code())
        .map_err(|e| Failure::bad_input(format!("{}: {e}", rom.origin())))?;
    let state = input_file::read_opt(args.state.as_deref(), "savestate")?;
    let save = input_file::read_opt(args.save.as_deref(), "battery save")?;
    let envs = args
        .envs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if envs == 0 {
        return Err(Failure::bad_input("--envs must be at least 1"));
    }
    if args.max_episode_steps == 0 {
        return Err(Failure::bad_input("--max-episode-steps must be at least 1"));
    }
    let config = VecEnvConfig {
        envs,
        seed: args.seed,
        env: EnvConfig::default(),
        frames: args.record_frames,
        max_episode_steps: args.max_episode_steps,
        ..VecEnvConfig::default()
    };
    let policy = kind.build();
    let _server = match args.metrics_addr {
        Some(addr) => Some(MetricsServer::start(addr)?),
        None => None,
    };
    let mut vec_env = VecEnv::new(&rom, config, |env| {
        if let Some(bytes) = &save {
            env.use_battery_save(bytes)?;
        }
        if let Some(bytes) = &state {
            env.start_from_state_file(bytes)?;
        }
        Ok::<(), EnvError>(())
    })
    .map_err(|e| match e {
        VecEnvError::Env {
            source: EnvError::Decode(DecodeError::NotInDungeon),
            ..
        } => Failure::bad_input(format!(
            "{}: the game is not in a dungeon after reset; agents play from a savestate taken inside one (--state FILE)",
            rom.origin()
        )),
        other => Failure::bad_input(other.to_string()),
    })?;

    pmd_agent::metrics::metrics().set_ready(true);
    let mut recorder = match &args.record {
        Some(dir) => {
            let meta = RunMeta {
                run_id: run_id(args.seed),
                rom_crc32: rom.crc32(),
                rom_title: rom.title().to_string(),
                game_code: rom.game_code().to_string(),
                policy: policy.name().to_string(),
                run_seed: args.seed,
                start: match &state {
                    Some(bytes) => format!("state:{:08x}", crc32fast::hash(bytes)),
                    None => "boot".to_string(),
                },
            };
            let writer =
                TrajectoryWriter::create(dir, meta, args.record_frames, args.record_batch_rows)
                    .map_err(|e| Failure::bad_input(e.to_string()))?;
            tracing::info!(file = %writer.path().display(), "recording");
            Some(Recorder::new(writer, envs, args.record_frames))
        }
        None => None,
    };

    let total = args.steps.unwrap_or(DEFAULT_STEPS);
    let rounds = total.div_ceil(envs as u64);
    let mut actions = vec![Action::Wait; envs];
    let mut progress = DelayedProgress::new(rounds * envs as u64, "steps");
    let started = Instant::now();
    for round in 0..rounds {
        vec_env.act(policy.as_ref(), &mut actions);
        if let Some(rec) = recorder.as_mut() {
            rec.keep(&vec_env.batch());
        }
        vec_env.step(&actions);
        if let Some(rec) = recorder.as_mut() {
            rec.write(&actions, vec_env.infos())?;
        }
        if round % 16 == 15 {
            let stats = vec_env.stats();
            progress.set_position(stats.steps);
            progress.set_message(format!(
                "episodes {} best floor {}",
                stats.episodes, stats.best_floor
            ));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    progress.finish();
    let recorded = match recorder {
        Some(rec) => Some(rec.finish()?),
        None => None,
    };

    let stats = vec_env.stats();
    let per_s = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    let report = AgentReport {
        policy: policy.name(),
        envs,
        steps: stats.steps,
        frames: stats.frames,
        episodes: stats.episodes,
        seconds,
        steps_per_s: per_s(stats.steps),
        frames_per_s: per_s(stats.frames),
        mean_max_floor: stats.mean_max_floor(),
        best_floor: stats.best_floor,
        failures: stats.failures,
    };
    if args.json {
        let line = serde_json::to_string(&report)
            .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
        println!("{line}");
    } else {
        println!(
            "policy   {} on {} envs ({})",
            report.policy,
            report.envs,
            rom.title()
        );
        println!(
            "steps    {} ({:.0} steps/s)",
            report.steps, report.steps_per_s
        );
        println!(
            "frames   {} ({:.0} frames/s)",
            report.frames, report.frames_per_s
        );
        println!(
            "episodes {} finished, mean max floor {:.2}, best floor {}",
            report.episodes, report.mean_max_floor, report.best_floor
        );
        println!("failures {}", report.failures);
        if let Some((path, rows)) = &recorded {
            println!("recorded {rows} rows to {}", path.display());
        }
        println!("time     {:.3} s", report.seconds);
    }
    Ok(())
}

/// A run id unique enough for file names: seconds since the epoch, the
/// process id and the run seed.
fn run_id(seed: u64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("run-{secs}-{}-{seed}", std::process::id())
}

/// Keeps the batch each round's actions were chosen on, then writes it
/// with what the steps did.
struct Recorder {
    writer: TrajectoryWriter,
    features: Vec<f32>,
    frames: Option<Vec<u8>>,
    rewards: Vec<f32>,
    dones: Vec<bool>,
}

impl Recorder {
    fn new(writer: TrajectoryWriter, envs: usize, with_frames: bool) -> Recorder {
        Recorder {
            writer,
            features: vec![0.0; envs * obs::FEATURES],
            frames: with_frames.then(|| vec![0; envs * frames::LEN]),
            rewards: vec![0.0; envs],
            dones: vec![false; envs],
        }
    }

    fn keep(&mut self, batch: &ObsBatch<'_>) {
        self.features.copy_from_slice(batch.features);
        if let (Some(dst), Some(src)) = (self.frames.as_mut(), batch.frames) {
            dst.copy_from_slice(src);
        }
    }

    fn write(&mut self, actions: &[Action], infos: &[StepInfo]) -> Result<(), Failure> {
        let before = ObsBatch {
            features: &self.features,
            frames: self.frames.as_deref(),
            rewards: &self.rewards,
            dones: &self.dones,
        };
        self.writer
            .append(&before, actions, infos)
            .map_err(|e| Failure::other(e.to_string()))
    }

    fn finish(self) -> Result<(PathBuf, u64), Failure> {
        let path = self.writer.path().to_path_buf();
        let rows = self
            .writer
            .finish()
            .map_err(|e| Failure::other(e.to_string()))?;
        Ok((path, rows))
    }
}
