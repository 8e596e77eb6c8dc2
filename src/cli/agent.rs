//! `pmd-agent run --policy …`: the main job — N environments in parallel,
//! a policy choosing every action, a summary of what it reached.

use std::time::Instant;

use pmd_agent::env::{Action, EnvConfig, EnvError};
use pmd_agent::policy::PolicyKind;
use pmd_agent::rollout::{VecEnv, VecEnvConfig};
use serde::Serialize;

use super::progress::DelayedProgress;
use super::run::{load_rom, RunArgs};
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
    let state = match &args.state {
        Some(path) => Some(input_file::read(path, "savestate")?),
        None => None,
    };
    let save = match &args.save {
        Some(path) => Some(input_file::read(path, "battery save")?),
        None => None,
    };
    let envs = args
        .envs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if envs == 0 {
        return Err(Failure::bad_input("--envs must be at least 1"));
    }
    let config = VecEnvConfig {
        envs,
        seed: args.seed,
        env: EnvConfig::default(),
        ..VecEnvConfig::default()
    };
    let policy = kind.build();
    let mut vec_env = VecEnv::new(&rom, config, |env| {
        if let Some(bytes) = &save {
            env.use_battery_save(bytes)?;
        }
        if let Some(bytes) = &state {
            env.start_from_state_file(bytes)?;
        }
        Ok::<(), EnvError>(())
    })
    .map_err(|e| Failure::bad_input(e.to_string()))?;

    let total = args.steps.unwrap_or(DEFAULT_STEPS);
    let rounds = total.div_ceil(envs as u64);
    let mut actions = vec![Action::Wait; envs];
    let mut progress = DelayedProgress::new(rounds * envs as u64, "steps");
    let started = Instant::now();
    for _ in 0..rounds {
        vec_env.act(policy.as_ref(), &mut actions);
        vec_env.step(&actions);
        let stats = vec_env.stats();
        progress.set_position(stats.steps);
        progress.set_message(format!(
            "episodes {} best floor {}",
            stats.episodes, stats.best_floor
        ));
    }
    let seconds = started.elapsed().as_secs_f64();
    progress.finish();

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
        println!("time     {:.3} s", report.seconds);
    }
    Ok(())
}
