//! `pmd-agent train bc|ppo|dagger`: the arguments. The command runs in
//! `pmd-agent-torch` (crates/pmd-agent-torch/src/train.rs), where libtorch
//! is linked; this binary hands it over (see [`super::TorchCommands`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[allow(missing_docs)]
    #[command(subcommand)]
    pub command: TrainCommand,
}

/// `train`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Behaviour cloning: imitate recorded trajectories (`run --record`),
    /// masked cross-entropy on each step's observation and action.
    Bc(BcArgs),
    /// Proximal policy optimisation on the environments.
    Ppo(PpoArgs),
    /// DAgger / expert iteration: the network plays, an expert (rules or
    /// the search) labels every state it reaches, and it is cloned again
    /// on all labelled states.
    Dagger(DaggerArgs),
}

/// How `train bc` and `train dagger` fit the network to labelled rows.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Rows per minibatch.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub batch_size: usize,

    /// AdamW learning rate.
    #[arg(long, default_value_t = 1e-3, value_name = "LR")]
    pub lr: f64,

    /// AdamW weight decay.
    #[arg(long, default_value_t = 1e-2, value_name = "WD")]
    pub weight_decay: f64,

    /// Fraction of rows held out to report validation loss and accuracy.
    #[arg(long, default_value_t = 0.1, value_name = "F")]
    pub val_fraction: f64,
}

/// `train dagger`.
#[derive(Debug, Args)]
pub struct DaggerArgs {
    /// Where to write the model (after every round).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Start from this model file's network (e.g. a behaviour-cloned one);
    /// without it a fresh network starts and the expert plays round 1.
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,

    /// Recorded trajectories (`run --record`) to start the aggregate with;
    /// repeatable.
    #[arg(long, value_name = "DIR")]
    pub data: Vec<PathBuf>,

    /// The expert that labels the states: `player-view` (the heuristic's
    /// rules on what the player sees, so every label can be learnt from the
    /// observation), `heuristic` (the rules as the heuristic policy runs
    /// them, which also avoid wild monsters the player cannot see), or a
    /// search spec, `search[:horizon=H:branches=B:commit=C][:guide=PATH]`
    /// (lookahead on savestates from every state the network reaches; its
    /// chosen branch's return is the value target; with `guide=` a
    /// model's network guides it).
    #[arg(long, default_value = "player-view", value_name = "EXPERT")]
    pub expert: String,

    /// Rounds at the start in which the expert plays (its own
    /// trajectories are labelled); the network plays the rest. Default: 1
    /// for a fresh network without `--data`, else 0.
    #[arg(long, value_name = "N")]
    pub expert_rounds: Option<usize>,

    /// Weight of the value head's loss, on rows with a value target (the
    /// search expert's returns, or recordings' returns-to-go from --data);
    /// 0 leaves the value head alone.
    #[arg(long, default_value_t = 0.5, value_name = "C")]
    pub value_coef: f64,

    /// Environments stepped in lockstep.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub envs: usize,

    /// Rounds of play, labelling and training.
    #[arg(long, default_value_t = 6, value_name = "N")]
    pub rounds: usize,

    /// Environment steps played per round (over all environments).
    #[arg(long, default_value_t = 8000, value_name = "N")]
    pub steps_per_round: usize,

    /// Passes over the aggregate after each round.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub epochs: usize,

    // (clap reads doc comments as help text: none on flattened groups)
    #[allow(missing_docs)]
    #[command(flatten)]
    pub fit: FitArgs,

    /// Hidden layer widths of a fresh network.
    #[arg(long, value_delimiter = ',', default_values_t = [128, 128], value_name = "W[,W..]")]
    pub hidden: Vec<usize>,

    /// Run seed of the episodes played (keep it away from the seeds
    /// policies are judged on); also seeds the weights and the sampling.
    #[arg(long, default_value_t = 5000, value_name = "S")]
    pub seed: u64,

    /// Steps after which an episode is truncated.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub max_episode_steps: u32,

    /// Also keep each round's model as `OUT` with `.round-N.pt`.
    #[arg(long)]
    pub keep_rounds: bool,

    /// Worker threads for the environments; libtorch gets as many.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `train bc`.
#[derive(Debug, Args)]
pub struct BcArgs {
    /// Directory (or file) of trajectory files (`*.arrows`); repeatable.
    #[arg(long, required = true, value_name = "DIR")]
    pub data: Vec<PathBuf>,

    /// Where to write the model (a TorchScript file).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Start from this model file's network instead of a fresh one.
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,

    /// Hidden layer widths of a fresh network.
    #[arg(long, value_delimiter = ',', default_values_t = [128, 128], value_name = "W[,W..]")]
    pub hidden: Vec<usize>,

    /// Passes over the training rows.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub epochs: usize,

    // (clap reads doc comments as help text: none on flattened groups)
    #[allow(missing_docs)]
    #[command(flatten)]
    pub fit: FitArgs,

    /// Use at most this many rows.
    #[arg(long, value_name = "N")]
    pub max_rows: Option<usize>,

    /// Discount of the returns-to-go the value head learns.
    #[arg(long, default_value_t = 0.99, value_name = "G")]
    pub gamma: f32,

    /// Weight of the value head's loss (0: leave it untrained).
    #[arg(long, default_value_t = 0.5, value_name = "C")]
    pub value_coef: f64,

    /// Seed of the initial weights, the split and the shuffles.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,

    /// libtorch threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `train ppo`.
#[derive(Debug, Args)]
pub struct PpoArgs {
    /// Start from this model file's network (e.g. a behaviour-cloned one).
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,

    /// Where to write the model (also after every `--save-every` updates).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Environments stepped in lockstep.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub envs: usize,

    /// Environment steps in all (rounded up to whole rollouts).
    #[arg(long, value_name = "N")]
    pub steps: u64,

    /// Run seed of the training episodes (keep it away from the seeds
    /// policies are judged on).
    #[arg(long, default_value_t = 1000, value_name = "S")]
    pub seed: u64,

    /// Steps after which an episode is truncated (and bootstrapped).
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub max_episode_steps: u32,

    /// Hidden layer widths of a fresh network.
    #[arg(long, value_delimiter = ',', default_values_t = [128, 128], value_name = "W[,W..]")]
    pub hidden: Vec<usize>,

    /// Steps per environment per rollout.
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub n_steps: usize,

    /// Adam learning rate (annealed linearly to a tenth).
    #[arg(long, default_value_t = 2.5e-4, value_name = "LR")]
    pub lr: f64,

    /// Passes over each rollout.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub epochs: usize,

    /// Rows per minibatch.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub minibatch: usize,

    /// Discount.
    #[arg(long, default_value_t = 0.99, value_name = "G")]
    pub gamma: f32,

    /// GAE λ.
    #[arg(long, default_value_t = 0.95, value_name = "L")]
    pub gae_lambda: f32,

    /// Clip range of the probability ratio.
    #[arg(long, default_value_t = 0.2, value_name = "E")]
    pub clip: f64,

    /// Weight of the entropy bonus.
    #[arg(long, default_value_t = 0.01, value_name = "C")]
    pub ent_coef: f64,

    /// Weight of the value loss.
    #[arg(long, default_value_t = 0.5, value_name = "C")]
    pub vf_coef: f64,

    /// Stop an update's epochs once their mean approximate KL exceeds this.
    #[arg(long, value_name = "KL")]
    pub target_kl: Option<f64>,

    /// The CSV training log (default: the model's path with `.csv`).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// The PNG of the training curves (default: the model's path with
    /// `.png`).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

    /// Write the model every N updates as well as at the end.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub save_every: usize,

    /// A vector memory of the states reached, in DIR (created, or mapped
    /// if an earlier run left one there): each step's reward gets the
    /// episodic memory's novelty bonus. Without it, no bonus.
    #[arg(long, value_name = "DIR")]
    pub memory: Option<PathBuf>,

    /// With --memory: weight of the novelty bonus (a state unlike every
    /// remembered one earns B; a floor is worth 1).
    #[arg(long, default_value_t = 0.05, value_name = "B", requires = "memory")]
    pub novelty_beta: f32,

    /// Worker threads for the environments; libtorch gets as many.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}
