//! `train bc|ppo|dagger`: training neural policies in Rust. Parsing is the
//! command line's (`pmd_agent::cli::train`); progress, printing and the
//! calls into pmd-torch's `train` are here.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use pmd_agent::env::EnvConfig;
use pmd_agent::memory::trajectories::trajectory_files;
use pmd_agent::memory::{EpisodicMemory, MemoryConfig};
use pmd_agent::rollout::{VecEnv, VecEnvConfig};
use pmd_torch::infer::{model_file, threads, NetConfig, PolicyNet};
use pmd_torch::train::log::MetricsLog;
use pmd_torch::train::plot::plot_training;
use pmd_torch::train::{
    load_recordings, train_bc, train_dagger, train_ppo, BcConfig, BcDataset, DaggerConfig, Expert,
    Ppo, PpoConfig, RolloutEnv, RulesExpert, SearchExpert, TrainError,
};
use serde::Serialize;
use tch::Device;

use pmd_agent::cli::cores;
use pmd_agent::cli::progress::DelayedProgress;
use pmd_agent::cli::train::{BcArgs, DaggerArgs, FitArgs, PpoArgs, TrainArgs, TrainCommand};
use pmd_agent::cli::Failure;

/// Runs `train`.
pub fn train(args: &TrainArgs) -> Result<(), Failure> {
    match &args.command {
        TrainCommand::Bc(a) => bc(a),
        TrainCommand::Ppo(a) => ppo(a),
        TrainCommand::Dagger(a) => dagger(a),
    }
}

fn fail(e: TrainError) -> Failure {
    match e {
        TrainError::Invalid(_) | TrainError::Io { .. } => Failure::bad_input(e.to_string()),
        TrainError::Infer(pmd_torch::infer::InferError::BadModelFile { .. }) => {
            Failure::bad_input(e.to_string())
        }
        other => Failure::other(other.to_string()),
    }
}

fn network(init: Option<&Path>, hidden: &[usize], seed: u64) -> Result<PolicyNet, Failure> {
    match init {
        Some(path) => {
            model_file::load_net(path, Device::Cpu).map_err(|e| Failure::bad_input(e.to_string()))
        }
        None => PolicyNet::new(
            NetConfig {
                hidden: hidden.to_vec(),
                ..NetConfig::default()
            },
            Device::Cpu,
            seed,
        )
        .map_err(|e| Failure::bad_input(e.to_string())),
    }
}

fn save(net: &PolicyNet, out: &Path) -> Result<(), Failure> {
    model_file::save(net, out).map_err(|e| Failure::other(e.to_string()))
}

#[derive(Serialize)]
struct BcReport {
    out: PathBuf,
    files: usize,
    rows: usize,
    torn_files: usize,
    rolled_back: usize,
    skipped_illegal: usize,
    epochs: Vec<EpochLine>,
}

#[derive(Serialize)]
struct EpochLine {
    epoch: usize,
    train_loss: f64,
    train_accuracy: f64,
    val_loss: Option<f64>,
    val_accuracy: Option<f64>,
    val_value_error: Option<f64>,
}

/// The trajectory files under `dirs`; a directory without any is an
/// error.
fn recordings(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for dir in dirs {
        let found = trajectory_files(dir)
            .map_err(|e| Failure::bad_input(format!("{}: {e}", dir.display())))?;
        if found.is_empty() {
            return Err(Failure::bad_input(format!(
                "{}: no trajectory files (*.arrows)",
                dir.display()
            )));
        }
        files.extend(found);
    }
    Ok(files)
}

/// The environments training plays on: the bundled cartridge.
/// The `BcConfig` of `train bc` and `train dagger`.
fn fit_config(fit: &FitArgs, epochs: usize, value_coef: f64, seed: u64) -> BcConfig {
    BcConfig {
        epochs,
        batch_size: fit.batch_size,
        learning_rate: fit.lr,
        weight_decay: fit.weight_decay,
        validation_fraction: fit.val_fraction,
        value_coef,
        seed,
    }
}

fn training_envs(
    envs: usize,
    seed: u64,
    threads: usize,
    max_episode_steps: u32,
    frames: bool,
) -> Result<RolloutEnv, Failure> {
    let rom = pmd_agent::cartridge::rom().map_err(|e| Failure::other(e.to_string()))?;
    let vec_env = VecEnv::new(
        &rom,
        VecEnvConfig {
            envs,
            seed,
            threads: Some(threads),
            // A network that reads frames needs them rendered.
            frames,
            env: EnvConfig {
                max_episode_steps: Some(max_episode_steps),
                ..EnvConfig::default()
            },
            ..VecEnvConfig::default()
        },
        |_| Ok(()),
    )
    .map_err(|e| Failure::other(e.to_string()))?;
    Ok(RolloutEnv::new(vec_env))
}

/// `train bc`.
fn bc(args: &BcArgs) -> Result<(), Failure> {
    threads::set_intra_op_threads(args.threads.unwrap_or_else(cores));
    let files = recordings(&args.data)?;
    let mut data = BcDataset::new();
    let loaded = load_recordings(&files, &mut data, args.max_rows, args.gamma).map_err(fail)?;
    if !args.json {
        eprintln!(
            "train bc: {} rows from {} files ({} with a torn tail, their complete batches read; {} rows rolled back and {} with an illegal action left out); actions taken: {:?}",
            data.len(),
            loaded.files,
            loaded.torn,
            loaded.rolled_back,
            data.skipped_illegal(),
            data.action_counts()
        );
    }
    let mut net = network(args.init.as_deref(), &args.hidden, args.seed)?;
    let config = fit_config(&args.fit, args.epochs, args.value_coef, args.seed);
    let mut progress = DelayedProgress::new(args.epochs as u64, "epochs");
    let json = args.json;
    let epochs = train_bc(&mut net, &data, &config, |e| {
        progress.set_position(e.epoch as u64);
        progress.set_message(format!(
            "loss {:.3} val accuracy {:.3}",
            e.train_loss, e.val_accuracy
        ));
        if !json {
            eprintln!(
                "epoch {:>3}: train loss {:.4} accuracy {:.3}, validation loss {:.4} accuracy {:.3} value error {:.4}",
                e.epoch, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.val_value_error
            );
        }
    })
    .map_err(fail)?;
    progress.finish();
    save(&net, &args.out)?;
    let finite = |x: f64| x.is_finite().then_some(x);
    let report = BcReport {
        out: args.out.clone(),
        files: loaded.files,
        rows: data.len(),
        torn_files: loaded.torn,
        rolled_back: loaded.rolled_back,
        skipped_illegal: data.skipped_illegal(),
        epochs: epochs
            .iter()
            .map(|e| EpochLine {
                epoch: e.epoch,
                train_loss: e.train_loss,
                train_accuracy: e.train_accuracy,
                val_loss: finite(e.val_loss),
                val_accuracy: finite(e.val_accuracy),
                val_value_error: finite(e.val_value_error),
            })
            .collect(),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| Failure::other(e.to_string()))?
        );
    } else {
        println!("wrote {}", args.out.display());
    }
    Ok(())
}

#[derive(Serialize)]
struct PpoReport {
    out: PathBuf,
    log: PathBuf,
    plot: PathBuf,
    updates: usize,
    env_steps: u64,
    seconds: f64,
    last_mean_return: Option<f64>,
    last_mean_floor: Option<f64>,
    /// States in the memory at the end (with --memory).
    memory_points: Option<u64>,
    /// Mean novelty bonus per step (with --memory).
    mean_novelty_bonus: Option<f64>,
}

/// `train ppo`.
fn ppo(args: &PpoArgs) -> Result<(), Failure> {
    if args.envs == 0 || args.steps == 0 || args.max_episode_steps == 0 {
        return Err(Failure::bad_input(
            "--envs, --steps and --max-episode-steps must be at least 1",
        ));
    }
    if args.threads == Some(0) {
        return Err(Failure::bad_input("--threads must be at least 1"));
    }
    let pool = args.threads.unwrap_or_else(cores);
    // Lockstep: collection and the forward passes take turns.
    threads::set_intra_op_threads(pool);
    let net = network(args.init.as_deref(), &args.hidden, args.seed)?;
    let config = PpoConfig {
        n_steps: args.n_steps,
        gamma: args.gamma,
        gae_lambda: args.gae_lambda,
        clip: args.clip,
        value_coef: args.vf_coef,
        entropy_coef: args.ent_coef,
        learning_rate: args.lr,
        epochs: args.epochs,
        minibatch_size: args.minibatch,
        target_kl: args.target_kl,
        seed: args.seed,
        ..PpoConfig::default()
    };
    let mut ppo = Ppo::new(net, config).map_err(fail)?;
    let frames = ppo.net().config().frames;
    let mut env = training_envs(args.envs, args.seed, pool, args.max_episode_steps, frames)?;
    if let Some(dir) = &args.memory {
        if !(args.novelty_beta.is_finite() && args.novelty_beta >= 0.0) {
            return Err(Failure::bad_input("--novelty-beta must be a number >= 0"));
        }
        let memory = EpisodicMemory::open(
            dir,
            &format!("ppo-seed-{}", args.seed),
            MemoryConfig {
                beta: args.novelty_beta,
                ..MemoryConfig::default()
            },
        )
        .map_err(|e| Failure::bad_input(format!("{}: {e}", dir.display())))?;
        env = env.with_memory(memory);
    }
    let log_path = args
        .log
        .clone()
        .unwrap_or_else(|| args.out.with_extension("csv"));
    let plot_path = args
        .plot
        .clone()
        .unwrap_or_else(|| args.out.with_extension("png"));
    let mut log = MetricsLog::create(&log_path).map_err(fail)?;
    let rollout = (args.envs * args.n_steps) as u64;
    let updates = args.steps.div_ceil(rollout);
    let mut progress = DelayedProgress::new(updates * rollout, "steps");
    let mut failure: Option<Failure> = None;
    let (lr, save_every, out, json) = (args.lr, args.save_every.max(1), &args.out, args.json);
    let reports = {
        let mut on_update = |ppo: &mut Ppo, r: &pmd_torch::train::UpdateReport| {
            progress.set_position(r.env_steps);
            progress.set_message(format!(
                "return {:.2} floor {:.2} entropy {:.2} kl {:.4}",
                r.mean_return, r.mean_progress, r.stats.entropy, r.stats.approx_kl
            ));
            if let Err(e) = log.append(r) {
                failure.get_or_insert(fail(e));
                return ControlFlow::Break(());
            }
            // Linear annealing to a tenth of the rate.
            let done = r.update as f64 / updates.max(1) as f64;
            ppo.set_learning_rate(lr * (1.0 - 0.9 * done.min(1.0)));
            if r.update.is_multiple_of(save_every) {
                if let Err(e) = save(ppo.net(), out) {
                    failure.get_or_insert(e);
                    return ControlFlow::Break(());
                }
            }
            if !json {
                eprintln!(
                    "update {:>4} steps {:>8}: episodes {:>3} return {:>7.3} floor {:>5.2} entropy {:.3} kl {:.4} clip {:.3} value loss {:.4}",
                    r.update, r.env_steps, r.episodes, r.mean_return, r.mean_progress,
                    r.stats.entropy, r.stats.approx_kl, r.stats.clip_fraction, r.stats.value_loss
                );
            }
            ControlFlow::Continue(())
        };
        train_ppo(&mut ppo, &mut env, args.steps, &mut on_update)
    };
    progress.finish();
    if let Some(f) = failure {
        return Err(f);
    }
    let reports = reports.map_err(fail)?;
    let memory = env.finish_memory().map_err(fail)?;
    save(ppo.net(), &args.out)?;
    plot_training(&reports, &plot_path).map_err(fail)?;
    let last = reports.last();
    let finite = |x: f64| x.is_finite().then_some(x);
    let report = PpoReport {
        out: args.out.clone(),
        log: log_path,
        plot: plot_path,
        updates: reports.len(),
        env_steps: last.map_or(0, |r| r.env_steps),
        seconds: last.map_or(0.0, |r| r.seconds),
        last_mean_return: last.and_then(|r| finite(r.mean_return)),
        last_mean_floor: last.and_then(|r| finite(r.mean_progress)),
        memory_points: memory.as_ref().map(|m| m.points_at_end),
        mean_novelty_bonus: memory.as_ref().map(|m| m.mean_bonus),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| Failure::other(e.to_string()))?
        );
    } else {
        println!(
            "wrote {} ({} updates, {} steps); log {}, plot {}",
            report.out.display(),
            report.updates,
            report.env_steps,
            report.log.display(),
            report.plot.display()
        );
        if let (Some(points), Some(bonus)) = (report.memory_points, report.mean_novelty_bonus) {
            println!("memory: {points} states at the end, mean novelty bonus {bonus:.4} per step");
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct DaggerReport {
    out: PathBuf,
    initial_rows: usize,
    rows: usize,
    rounds: Vec<DaggerLine>,
}

#[derive(Serialize)]
struct DaggerLine {
    round: usize,
    expert_acted: bool,
    new_rows: usize,
    rows: usize,
    agreement: Option<f64>,
    episodes: usize,
    mean_floor: Option<f64>,
    train_accuracy: f64,
    val_accuracy: Option<f64>,
    val_value_error: Option<f64>,
    valued_rows: usize,
    label_seconds: f64,
    labels_per_s: f64,
}

/// The expert `--expert` names: rules, or a (possibly guided) search spec.
fn expert(name: &str) -> Result<Box<dyn Expert>, Failure> {
    use pmd_agent::policy::{Heuristic, PolicySpec, Search};
    match name {
        "heuristic" => return Ok(Box::new(RulesExpert::new(Heuristic::default()))),
        "player-view" => return Ok(Box::new(RulesExpert::new(Heuristic::player_view()))),
        _ => {}
    }
    let bad = || {
        Failure::bad_input(format!(
            "--expert {name:?}: expected player-view, heuristic or search[:horizon=H:branches=B:commit=C][:guide=PATH]"
        ))
    };
    let Ok(PolicySpec::Search(p)) = name.parse::<PolicySpec>() else {
        return Err(bad());
    };
    let mut search = Search::new(p.horizon, p.branches, p.commit);
    if let Some(path) = &p.guide {
        let guide = pmd_torch::infer::guide::load_guide(path)
            .map_err(|e| Failure::bad_input(e.to_string()))?;
        search = search.with_guide(guide);
    }
    Ok(Box::new(SearchExpert(search)))
}

/// `train dagger`.
fn dagger(args: &DaggerArgs) -> Result<(), Failure> {
    if args.envs == 0 || args.max_episode_steps == 0 {
        return Err(Failure::bad_input(
            "--envs and --max-episode-steps must be at least 1",
        ));
    }
    if args.threads == Some(0) {
        return Err(Failure::bad_input("--threads must be at least 1"));
    }
    let pool = args.threads.unwrap_or_else(cores);
    threads::set_intra_op_threads(pool);
    let mut data = BcDataset::new();
    if !args.data.is_empty() {
        let files = recordings(&args.data)?;
        load_recordings(&files, &mut data, None, 0.99).map_err(fail)?;
    }
    let initial_rows = data.len();
    let mut net = network(args.init.as_deref(), &args.hidden, args.seed)?;
    let mut env = training_envs(args.envs, args.seed, pool, args.max_episode_steps, false)?;
    let mut expert = expert(&args.expert)?;
    let config = DaggerConfig {
        rounds: args.rounds,
        steps_per_round: args.steps_per_round,
        expert_rounds: args
            .expert_rounds
            .unwrap_or(usize::from(args.init.is_none() && initial_rows == 0)),
        bc: fit_config(&args.fit, args.epochs, args.value_coef, args.seed),
        seed: args.seed,
    };
    let mut progress = DelayedProgress::new(args.rounds as u64, "rounds");
    let mut failure: Option<Failure> = None;
    let finite = |x: f64| x.is_finite().then_some(x);
    let rounds = train_dagger(
        &mut net,
        &mut env,
        &mut *expert,
        &mut data,
        &config,
        |r, net| {
            progress.set_position(r.round as u64);
            progress.set_message(format!(
                "agreement {:.3} floor {:.2}",
                r.agreement, r.mean_floor
            ));
            if !args.json {
                eprintln!(
                    "round {:>3}: {} acted, {} new rows ({} in all), agreement {:.3}, {} episodes, mean deepest floor {:.2}, validation accuracy {:.3}, value error {:.4}, {:.0} labels/s",
                    r.round,
                    if r.expert_acted { "the expert" } else { "the network" },
                    r.new_rows,
                    r.rows,
                    r.agreement,
                    r.episodes,
                    r.mean_floor,
                    r.last_epoch.val_accuracy,
                    r.last_epoch.val_value_error,
                    r.labels_per_s()
                );
            }
            let mut outs = vec![args.out.clone()];
            if args.keep_rounds {
                outs.push(args.out.with_extension(format!("round-{}.pt", r.round)));
            }
            for out in &outs {
                if let Err(e) = save(net, out) {
                    failure.get_or_insert(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        },
    );
    progress.finish();
    if let Some(f) = failure {
        return Err(f);
    }
    let rounds = rounds.map_err(fail)?;
    let report = DaggerReport {
        out: args.out.clone(),
        initial_rows,
        rows: data.len(),
        rounds: rounds
            .iter()
            .map(|r| DaggerLine {
                round: r.round,
                expert_acted: r.expert_acted,
                new_rows: r.new_rows,
                rows: r.rows,
                agreement: finite(r.agreement),
                episodes: r.episodes,
                mean_floor: finite(r.mean_floor),
                train_accuracy: r.last_epoch.train_accuracy,
                val_accuracy: finite(r.last_epoch.val_accuracy),
                val_value_error: finite(r.last_epoch.val_value_error),
                valued_rows: r.valued_rows,
                label_seconds: r.label_time.as_secs_f64(),
                labels_per_s: r.labels_per_s(),
            })
            .collect(),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| Failure::other(e.to_string()))?
        );
    } else {
        println!(
            "wrote {} ({} rows labelled in all)",
            args.out.display(),
            report.rows
        );
    }
    Ok(())
}
