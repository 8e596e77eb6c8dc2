//! DAgger (dataset aggregation): behaviour cloning on the states the
//! learner itself reaches, each labelled with what an expert would do
//! there.
//!
//! Cloning recorded play alone teaches the learner the expert's states
//! only; once it strays, it meets states it never saw and its errors
//! compound. DAgger closes that gap: every round the current network plays
//! (sampling from its masked policy), the expert labels every state the
//! network visits, the labelled rows join all earlier ones, and the network
//! is trained further on the whole aggregate. The expert is any function
//! of the decoded state (for the CLI: the heuristic policy), so it may use
//! what the observation does not show; what the learner cannot see it
//! cannot learn, which is why the observation carries a coarse map of the
//! floor (`rollout::obs`).
//!
//! Without a network trained beforehand (`round 1` with an untrained net),
//! the first round lets the expert act, so the first rows are the
//! expert's own trajectory (DAgger's β = 1 in round 1, 0 after).

use std::ops::ControlFlow;

use super::bc::{train_bc, BcConfig, BcDataset, BcEpoch};
use super::env::RolloutEnv;
use super::env::VecEnvironment;
use super::TrainError;
use crate::infer::actor::{act_native, draw_uniforms, BatchOutput, Selection};
use crate::infer::contract::{N_ACTIONS, OBS_DIM};
use crate::infer::sparse::SparseRows;
use crate::infer::PolicyNet;
use pmd_game::env::Action;
use pmd_game::{ActionMask, DungeonState};
use pmd_util::rng::Rng;

/// DAgger's schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct DaggerConfig {
    /// Rounds of play, labelling and training.
    pub rounds: usize,
    /// Environment steps played per round, over all environments (rounded
    /// up to whole lockstep steps).
    pub steps_per_round: usize,
    /// Let the expert act in the first round (for a network that has not
    /// learnt anything yet).
    pub expert_first: bool,
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
            expert_first: false,
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
    /// The last training epoch of the round.
    pub last_epoch: BcEpoch,
}

/// An expert: the action it takes in a decoded state, given what is legal.
pub type Expert<'a> = dyn FnMut(&DungeonState, ActionMask) -> Action + 'a;

/// Runs DAgger on `env`, training `net` on `data` (which may already hold
/// rows, e.g. recorded expert play) plus every state `net` reaches;
/// `on_round` sees each round and the network after it and may stop early.
pub fn train_dagger(
    net: &mut PolicyNet,
    env: &mut RolloutEnv,
    expert: &mut Expert<'_>,
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
    let mut actions = vec![0u8; n];
    let mut rounds = Vec::with_capacity(config.rounds);
    for round in 1..=config.rounds {
        let expert_acts = round == 1 && config.expert_first;
        let (mut agreed, mut new_rows, mut floors, mut episodes) = (0usize, 0usize, 0u64, 0usize);
        for _ in 0..lockstep_steps {
            {
                let input = env.observe();
                let vec_env = env.vec_env();
                for (i, label) in labels.iter_mut().enumerate() {
                    let legal = ActionMask::from_row(&input.mask[i * N_ACTIONS..][..N_ACTIONS]);
                    *label = pmd_rollout::policy::legal_or_fallback(
                        legal,
                        expert(vec_env.env(i).state(), legal),
                    );
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
                    if data.push(obs, mask, label.index() as u8, false)? {
                        new_rows += 1;
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
