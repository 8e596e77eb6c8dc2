//! DAgger (dataset aggregation): behaviour cloning on the states the
//! learner itself reaches, each labelled with what an expert would do
//! there.
//!
//! Cloning recorded play alone teaches the learner the expert's states
//! only; once it strays, it meets states it never saw and its errors
//! compound. DAgger closes that gap: every round the current network plays
//! (sampling from its masked policy), the expert labels every state the
//! network visits, the labelled rows join all earlier ones, and the network
//! is trained further on the whole aggregate. The expert is an [`Expert`]:
//! rules on the decoded state ([`RulesExpert`]), or the search
//! ([`SearchExpert`]), which branches on in-memory savestates from every
//! state the network reaches — expert iteration: the network learns to do
//! in one forward pass what the search finds by lookahead. Labelling runs
//! on the rollout's pool, every environment at once; it is the expensive
//! part, and each round reports its throughput. The search's labels carry
//! the return its chosen branch expects from the state (bootstrapped from
//! the branch's end), the value head's target. The expert may use what
//! the observation does not show; what the learner cannot see it cannot
//! learn, which is why the observation carries a coarse map of the floor
//! (`rollout::obs`).
//!
//! Without a network trained beforehand, the first rounds
//! ([`DaggerConfig::expert_rounds`]) let the expert act, so the first rows
//! are the expert's own trajectories (DAgger's β = 1 there, 0 after).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use super::bc::{train_bc, BcConfig, BcDataset, BcEpoch, ValueTarget};
use super::env::RolloutEnv;
use super::env::VecEnvironment;
use super::TrainError;
use crate::infer::actor::{act_native, draw_uniforms, BatchOutput, Selection};
use crate::infer::contract::{N_ACTIONS, OBS_DIM};
use crate::infer::sparse::SparseRows;
use crate::infer::PolicyNet;
use pmd_game::env::Action;
use pmd_game::ActionMask;
use pmd_rollout::policy::{BatchPolicy, Heuristic, PerEnv, PlannedReturn, Search};
use pmd_rollout::PolicyInput;
use pmd_util::rng::Rng;

/// DAgger's schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct DaggerConfig {
    /// Rounds of play, labelling and training.
    pub rounds: usize,
    /// Environment steps played per round, over all environments (rounded
    /// up to whole lockstep steps).
    pub steps_per_round: usize,
    /// Rounds at the start in which the expert acts (DAgger's β = 1): for
    /// a network that has not learnt anything yet, the expert's own
    /// trajectories, which are also the cheapest to label (a search's
    /// plan stands while it is followed).
    pub expert_rounds: usize,
    /// Training after each round (its `epochs` are per round).
    pub bc: BcConfig,
    /// Seed of the learner's action sampling.
    pub seed: u64,
}

impl Default for DaggerConfig {
    fn default() -> Self {
        Self {
            rounds: 6,
            steps_per_round: 8_000,
            expert_rounds: 0,
            bc: BcConfig {
                epochs: 4,
                ..BcConfig::default()
            },
            seed: 0,
        }
    }
}

/// One round's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct DaggerRound {
    /// 1-based round.
    pub round: usize,
    /// Whether the expert acted this round (else the network did).
    pub expert_acted: bool,
    /// Rows labelled this round.
    pub new_rows: usize,
    /// Rows in the aggregate after this round.
    pub rows: usize,
    /// Fraction of this round's steps where the network's action (before
    /// training) was the expert's label; NaN when the expert acted.
    pub agreement: f64,
    /// Episodes that ended this round.
    pub episodes: usize,
    /// Mean deepest floor of those episodes (NaN when none ended).
    pub mean_floor: f64,
    /// Rows of this round with a value target from the expert.
    pub valued_rows: usize,
    /// Time the expert spent labelling this round's states.
    pub label_time: Duration,
    /// The last training epoch of the round.
    pub last_epoch: BcEpoch,
}

impl DaggerRound {
    /// States the expert labelled per second this round.
    pub fn labels_per_s(&self) -> f64 {
        self.new_rows as f64 / self.label_time.as_secs_f64().max(1e-9)
    }
}

/// What labels the states the learner reaches.
pub trait Expert {
    /// Writes the expert's action for every environment into `actions`.
    /// It may branch on the environments but leaves each where it found
    /// it.
    fn label(&mut self, input: PolicyInput<'_>, actions: &mut [Action]) -> Result<(), TrainError>;

    /// The value target of environment `i`'s state just labelled, where
    /// the expert has one.
    fn value_target(&self, _i: usize) -> Option<PlannedReturn<'_>> {
        None
    }
}

/// Rules on the decoded state (the heuristic's, or the player-view's) as
/// the expert; no value targets.
#[derive(Debug, Clone)]
pub struct RulesExpert(pub PerEnv<Heuristic>);

impl RulesExpert {
    /// An expert following `rules`.
    pub fn new(rules: Heuristic) -> RulesExpert {
        RulesExpert(PerEnv(rules))
    }
}

impl Expert for RulesExpert {
    fn label(&mut self, input: PolicyInput<'_>, actions: &mut [Action]) -> Result<(), TrainError> {
        self.0
            .act(input, actions)
            .map_err(|e| TrainError::Env(e.to_string()))
    }
}

/// The search as the expert: each state gets the search's action and the
/// return of its chosen branch from there, bootstrapped from the branch's
/// end where the episode went on ([`Search::planned_return`]).
/// While the learner follows the search's plan the plan stands, so the
/// better the learner, the cheaper the labels.
#[derive(Debug, Clone)]
pub struct SearchExpert(pub Search);

impl Expert for SearchExpert {
    fn label(&mut self, input: PolicyInput<'_>, actions: &mut [Action]) -> Result<(), TrainError> {
        self.0
            .act(input, actions)
            .map_err(|e| TrainError::Env(e.to_string()))
    }

    fn value_target(&self, i: usize) -> Option<PlannedReturn<'_>> {
        self.0.planned_return(i)
    }
}

/// Runs DAgger on `env`, training `net` on `data` (which may already hold
/// rows, e.g. recorded expert play) plus every state `net` reaches;
/// `on_round` sees each round and the network after it and may stop early.
pub fn train_dagger(
    net: &mut PolicyNet,
    env: &mut RolloutEnv,
    expert: &mut dyn Expert,
    data: &mut BcDataset,
    config: &DaggerConfig,
    mut on_round: impl FnMut(&DaggerRound, &PolicyNet) -> ControlFlow<()>,
) -> Result<Vec<DaggerRound>, TrainError> {
    if config.rounds == 0 || config.steps_per_round == 0 {
        return Err(TrainError::Invalid(
            "DAgger: rounds and steps per round must be at least 1".into(),
        ));
    }
    if net.config().frames {
        return Err(TrainError::Invalid(
            "DAgger of frame-reading networks is not supported".into(),
        ));
    }
    let n = env.num_envs();
    let lockstep_steps = config.steps_per_round.div_ceil(n);
    let mut rng = Rng::new(config.seed, 2);
    let mut sparse = SparseRows::default();
    let mut log_probs = Vec::new();
    let mut uniforms = Vec::with_capacity(n);
    let mut out = BatchOutput::default();
    let mut deepest: Vec<u8> = (0..n).map(|i| env.vec_env().env(i).state().floor).collect();
    let mut labels = vec![Action::Wait; n];
    // Each plan's end state is added once: (environment, plan) → index.
    let mut bootstraps: HashMap<(usize, u64), u32> = HashMap::new();
    let mut actions = vec![0u8; n];
    let mut rounds = Vec::with_capacity(config.rounds);
    for round in 1..=config.rounds {
        let expert_acts = round <= config.expert_rounds;
        let (mut agreed, mut new_rows, mut floors, mut episodes) = (0usize, 0usize, 0u64, 0usize);
        let (mut valued_rows, mut label_time) = (0usize, Duration::ZERO);
        for _ in 0..lockstep_steps {
            let started = Instant::now();
            expert.label(env.policy_input(), &mut labels)?;
            label_time += started.elapsed();
            {
                let input = env.observe();
                let vec_env = env.vec_env();
                for (i, label) in labels.iter_mut().enumerate() {
                    let legal = ActionMask::from_row(&input.mask[i * N_ACTIONS..][..N_ACTIONS]);
                    *label = pmd_rollout::policy::legal_or_fallback(legal, *label);
                }
                if expert_acts {
                    for (a, l) in actions.iter_mut().zip(&labels) {
                        *a = l.index() as u8;
                    }
                } else {
                    draw_uniforms(&mut rng, n, &mut uniforms);
                    act_native(
                        net,
                        &input,
                        n,
                        Some(&mut sparse),
                        &mut log_probs,
                        Selection::Sample,
                        &uniforms,
                        &mut out,
                    )?;
                    actions.copy_from_slice(&out.actions);
                    agreed += actions
                        .iter()
                        .zip(&labels)
                        .filter(|(&a, l)| usize::from(a) == l.index())
                        .count();
                }
                for (i, label) in labels.iter().enumerate() {
                    if vec_env.is_quarantined(i) {
                        continue;
                    }
                    let obs = &input.obs[i * OBS_DIM..][..OBS_DIM];
                    let mask = &input.mask[i * N_ACTIONS..][..N_ACTIONS];
                    let target = match expert.value_target(i) {
                        None => ValueTarget {
                            ret: f32::NAN,
                            tail: 0.0,
                            state: None,
                        },
                        Some(planned) => {
                            let state = match planned.end {
                                None => None,
                                Some(end) => Some(match bootstraps.get(&(i, planned.plan)) {
                                    Some(&index) => index,
                                    None => {
                                        let index = data.add_bootstrap_state(end)?;
                                        bootstraps.insert((i, planned.plan), index);
                                        index
                                    }
                                }),
                            };
                            ValueTarget {
                                ret: planned.ret,
                                tail: planned.tail,
                                state,
                            }
                        }
                    };
                    let valued = target.ret.is_finite();
                    if data.push_with_target(obs, mask, label.index() as u8, false, target)? {
                        new_rows += 1;
                        valued_rows += usize::from(valued);
                    }
                }
            }
            env.step(&actions)?;
            let vec_env = env.vec_env();
            for (i, (d, info)) in deepest.iter_mut().zip(vec_env.infos()).enumerate() {
                if info.terminated || info.truncated {
                    let last = vec_env.final_state(i).floor.max(*d);
                    floors += u64::from(last);
                    episodes += 1;
                    *d = vec_env.env(i).state().floor;
                } else {
                    *d = (*d).max(info.state.floor);
                }
            }
        }
        let epochs = train_bc(net, data, &config.bc, |_| {})?;
        let last_epoch = *epochs
            .last()
            .ok_or_else(|| TrainError::Invalid("BC ran no epoch".into()))?;
        let steps = lockstep_steps * n;
        let report = DaggerRound {
            round,
            expert_acted: expert_acts,
            new_rows,
            rows: data.len(),
            agreement: if expert_acts {
                f64::NAN
            } else {
                agreed as f64 / steps as f64
            },
            episodes,
            mean_floor: if episodes == 0 {
                f64::NAN
            } else {
                floors as f64 / episodes as f64
            },
            valued_rows,
            label_time,
            last_epoch,
        };
        let flow = on_round(&report, net);
        rounds.push(report);
        if flow.is_break() {
            break;
        }
    }
    Ok(rounds)
}
