//! Lookahead over in-memory savestates — what the socket design cannot
//! afford: the emulator itself is the model.
//!
//! While the stairs are unknown, the search plans. From a snapshot of the
//! environment it plays several branches for up to `horizon` steps each:
//! the heuristic's own, and one towards each of a few exploration targets
//! spread over the map's frontier (revealed floor next to unrevealed
//! tiles, chosen nearest first and then farthest from those already
//! chosen). A branch walks to its target — fighting, healing and taking
//! the stairs by the heuristic's rules — and then follows the heuristic.
//! It stops when it changes floor, ends the episode or runs out of steps.
//! It is scored (see [`score`]): fainting is the worst, then a floor
//! descended sooner beats a later one, then stairs found, then tiles
//! revealed. The environment goes back to the snapshot, and the best
//! branch's actions become the plan.
//!
//! The emulator is deterministic, so replaying a plan's actions reproduces
//! its branch exactly: the plan is executed open-loop for up to `commit`
//! steps (or through its floor change) before planning again. Before each
//! planned action the environment's fingerprint (frame counter, episode
//! step, floor, leader position) is compared with the one the branch saw;
//! any difference (a rollback, a reset) drops the plan. Once the stairs
//! are known the heuristic walks to them without planning.
//!
//! Cost: about `branches × horizon / commit` simulated steps per real step
//! (see BENCHMARKS.md for the steps/s this gives).
//!
//! **Guided** ([`Search::with_guide`]): a network's action prior and value
//! ([`Guide`]) join the plan. One branch follows the network's most
//! probable legal action; exploration targets whose first move the network
//! gives less than [`PRUNE_PRIOR`] are not played (their budget is saved);
//! and a branch that ends undecided (no floor change, no faint, no stairs
//! seen) is scored by its discounted reward plus the discounted network
//! value of the state it reached, instead of by what it revealed, so
//! branches can be cut short (a smaller `horizon`) and more of them played
//! for the same simulated steps. (On the cartridge this lost to the plain
//! search: BENCHMARKS.md.)
//!
//! **Returns** ([`Search::planned_return`]): the discounted return (the
//! environment's reward, [`RETURN_GAMMA`]) of the chosen branch from each
//! planned step to the branch's end, and where the branch ended with the
//! episode still going, the discount and the observation to bootstrap
//! from there. Expert iteration trains a network's value head on them.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::{legal_or_fallback, BatchPolicy, Heuristic, PolicyError};
use crate::{EnvContext, PolicyInput};
use pmd_game::env::{
    Action, ActionMask, Direction, EndReason, Env, EnvError, EnvSnapshot, StepResult, ACTION_COUNT,
};
use pmd_game::path::{first_step, CELLS};
use pmd_game::ram_map::MAP_WIDTH;
use pmd_game::{obs, DungeonState};

/// Discount of [`Search::planned_return`].
pub const RETURN_GAMMA: f32 = 0.99;

/// A guided search does not play an exploration target whose first move
/// the network gives less probability than this.
pub const PRUNE_PRIOR: f32 = 0.02;

/// What guides a search: a network's action logits and value for one
/// observation row (`pmd_game::obs::FEATURES` floats).
pub trait Guide: Send + Sync {
    /// Writes the unmasked logits of every action into `logits` (one per
    /// `Action::index`) and returns the state's value (in reward units).
    fn evaluate(&self, features: &[f32], logits: &mut [f32; ACTION_COUNT]) -> f32;
}

/// The planning policy.
#[derive(Clone)]
pub struct Search {
    /// Steps each branch may play.
    pub horizon: u32,
    /// Branches per plan (the heuristic's and `branches - 1` targets; guided,
    /// the heuristic's, the network's and `branches - 2` targets).
    pub branches: usize,
    /// Planned steps executed before planning again (a floor change ends a
    /// plan too).
    pub commit: u32,
    /// The rules followed inside branches and once the stairs are known.
    pub heuristic: Heuristic,
    guide: Option<Arc<dyn Guide>>,
    plans: Vec<Plan>,
}

impl fmt::Debug for Search {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Search")
            .field("horizon", &self.horizon)
            .field("branches", &self.branches)
            .field("commit", &self.commit)
            .field("guided", &self.guide.is_some())
            .finish()
    }
}

impl Default for Search {
    fn default() -> Self {
        Search::new(60, 4, 20)
    }
}

/// Where the environment stood before a planned action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    frame: u32,
    step: u32,
    floor: u8,
    leader: (u8, u8),
}

fn fingerprint(env: &Env) -> Fingerprint {
    let leader = env.state().leader().map_or((0, 0), |l| (l.x, l.y));
    Fingerprint {
        frame: env.emulator().frame_count(),
        step: env.episode_steps(),
        floor: env.state().floor,
        leader,
    }
}

/// One environment's plan: actions with the fingerprint each expects.
#[derive(Debug, Clone, Default)]
struct Plan {
    steps: Vec<(Fingerprint, Action)>,
    /// The chosen branch's discounted return from each step on.
    returns: Vec<f32>,
    /// The discount of the bootstrap from the branch's end, from each step
    /// (0 when the branch ended the episode).
    tails: Vec<f32>,
    /// The observation at the branch's end (when it did not end the
    /// episode).
    end: Vec<f32>,
    /// Counts the plans made (names the bootstrap state of each).
    id: u64,
    next: usize,
    /// The step of the plan the last action came from (`None` when that
    /// action was not planned).
    last: Option<usize>,
    /// Why planning left the environment in an unknown state (it could
    /// not be returned to where planning began); the policy then fails.
    failed: Option<String>,
}

/// How planning moves an environment: [`Direct`]ly, or in tests through
/// one that fails on purpose.
trait Branching {
    fn step(&self, env: &mut Env, action: Action) -> Result<StepResult, EnvError>;
    fn restore(&self, env: &mut Env, root: &EnvSnapshot) -> Result<(), EnvError>;
}

/// The environment's own step and restore.
struct Direct;

impl Branching for Direct {
    fn step(&self, env: &mut Env, action: Action) -> Result<StepResult, EnvError> {
        env.step(action)
    }

    fn restore(&self, env: &mut Env, root: &EnvSnapshot) -> Result<(), EnvError> {
        env.restore(root)
    }
}

/// A branch's outcome, as [`score`] weighs it.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    fainted: bool,
    cleared: bool,
    floors: u32,
    steps: u32,
    stairs_distance: Option<u32>,
    revealed: u32,
    /// The branch ended the episode (fainted, cleared, cut).
    ended: bool,
    /// Guided, undecided: the branch's discounted reward plus the
    /// discounted guide's value of the state it reached.
    value: Option<f32>,
}

/// The value target the search gives the state it last decided in (see
/// [`Search::planned_return`]): `ret + tail × V(end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedReturn<'a> {
    /// The chosen branch's discounted reward from this state to its end.
    pub ret: f32,
    /// The discount of the value at the branch's end (0: the episode ended
    /// there).
    pub tail: f32,
    /// The observation at the branch's end, where `tail` is not 0.
    pub end: Option<&'a [f32]>,
    /// Which plan (per environment, counting up): rows of one plan share
    /// its end.
    pub plan: u64,
}

/// How good a branch is: fainting is the worst; clearing the dungeon the
/// best; then each floor descended, sooner better; then stairs found,
/// nearer better; then (guided) the guide's value of the state reached;
/// then tiles revealed.
fn score(o: &Outcome) -> f64 {
    if o.fainted {
        return -1e9;
    }
    if o.cleared {
        return 1e8 - f64::from(o.steps);
    }
    if o.floors > 0 {
        return 1e6 * f64::from(o.floors) - f64::from(o.steps);
    }
    match (o.stairs_distance, o.value) {
        // (Above every revealed count, and guided, every value; unguided as
        // the plain search always scored it.)
        (Some(d), None) => 1e4 - f64::from(o.steps + d),
        (Some(d), Some(_)) => 2e4 - f64::from(o.steps + d),
        // Undecided, guided: the network's value, below every branch that
        // found the stairs and above every revealed count.
        (None, Some(v)) => 1e4 + 1e3 * f64::from(v.clamp(-5.0, 5.0)),
        (None, None) => f64::from(o.revealed),
    }
}

/// Breadth-first distances from the leader over revealed walkable tiles
/// (`u16::MAX` where unreachable).
fn distances(s: &DungeonState, from: (u8, u8), out: &mut [u16; CELLS]) {
    pmd_game::path::distances([from], |x, y| s.known_walkable(x, y), out);
}

/// Up to `count` exploration targets within `reach` steps: the nearest
/// frontier tile, then each time the one farthest from those chosen.
fn targets(s: &DungeonState, count: usize, reach: u32, out: &mut Vec<(u8, u8)>) {
    out.clear();
    let Some(leader) = s.leader() else {
        return;
    };
    let mut dist = [0u16; CELLS];
    distances(s, (leader.x, leader.y), &mut dist);
    let frontier = |i: usize| {
        let (x, y) = (i % MAP_WIDTH, i / MAP_WIDTH);
        u32::from(dist[i]) <= reach && dist[i] > 0 && s.is_frontier(x, y)
    };
    let Some(nearest) = (0..CELLS).filter(|&i| frontier(i)).min_by_key(|&i| dist[i]) else {
        return;
    };
    let at = |i: usize| ((i % MAP_WIDTH) as u8, (i / MAP_WIDTH) as u8);
    out.push(at(nearest));
    while out.len() < count {
        let spread = |i: usize| {
            let (x, y) = at(i);
            out.iter()
                .map(|&(tx, ty)| x.abs_diff(tx).max(y.abs_diff(ty)))
                .min()
                .unwrap_or(0)
        };
        match (0..CELLS)
            .filter(|&i| frontier(i))
            .max_by_key(|&i| spread(i))
        {
            Some(i) if spread(i) >= 4 => out.push(at(i)),
            _ => break,
        }
    }
}

/// What a branch follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Branch {
    /// The heuristic's rules.
    Rules,
    /// The way to an exploration target, then the rules.
    Target((u8, u8)),
    /// The guide's most probable legal action.
    Network,
}

/// `out[k]` = the discounted sum of `rewards[k..]`.
fn discounted_returns(rewards: &[f32], out: &mut Vec<f32>) {
    out.clear();
    out.resize(rewards.len(), 0.0);
    let mut g = 0f32;
    for (o, r) in out.iter_mut().zip(rewards).rev() {
        g = r + RETURN_GAMMA * g;
        *o = g;
    }
}

/// Softmax of `logits` over the legal actions (0 elsewhere).
fn softmax_legal(logits: &[f32; ACTION_COUNT], mask: ActionMask) -> [f32; ACTION_COUNT] {
    let mut p = [0f32; ACTION_COUNT];
    let legal = |i: usize| Action::from_index(i).is_some_and(|a| mask.contains(a));
    let max = (0..ACTION_COUNT)
        .filter(|&i| legal(i))
        .map(|i| logits[i])
        .fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return p;
    }
    let mut sum = 0f32;
    for (i, q) in p.iter_mut().enumerate() {
        if legal(i) {
            *q = (logits[i] - max).exp();
            sum += *q;
        }
    }
    for q in &mut p {
        *q /= sum;
    }
    p
}

impl Search {
    /// A search with these parameters (see the fields).
    pub fn new(horizon: u32, branches: usize, commit: u32) -> Search {
        Search {
            horizon: horizon.max(1),
            branches: branches.max(1),
            commit: commit.max(1),
            heuristic: Heuristic::default(),
            guide: None,
            plans: Vec::new(),
        }
    }

    /// This search guided by `guide` (see the module documentation).
    pub fn with_guide(mut self, guide: Arc<dyn Guide>) -> Search {
        self.guide = Some(guide);
        self
    }

    /// Whether a network guides this search.
    pub fn is_guided(&self) -> bool {
        self.guide.is_some()
    }

    /// For environment `i` of the last [`BatchPolicy::act`], the return the
    /// search expects from the state it just decided in: the chosen
    /// branch's discounted reward ([`RETURN_GAMMA`]) from there to the
    /// branch's end, plus where the episode went on, the discount and the
    /// state to bootstrap from. `None` where the action was not planned
    /// (the stairs were known, planning fell back on the rules, or the
    /// environment was not asked).
    pub fn planned_return(&self, i: usize) -> Option<PlannedReturn<'_>> {
        let plan = self.plans.get(i)?;
        let k = plan.last?;
        let tail = *plan.tails.get(k)?;
        Some(PlannedReturn {
            ret: *plan.returns.get(k)?,
            tail,
            end: (tail != 0.0).then_some(&plan.end[..]),
            plan: plan.id,
        })
    }

    /// The guide's choice: its most probable legal action.
    fn guided_action(guide: &dyn Guide, env: &Env, features: &mut [f32]) -> (Action, f32) {
        obs::encode(env.state(), env.floor_turns(), features);
        let mut logits = [0f32; ACTION_COUNT];
        let value = guide.evaluate(features, &mut logits);
        let mask = env.action_mask();
        let best = (0..ACTION_COUNT)
            .filter_map(|i| Action::from_index(i).filter(|a| mask.contains(*a)))
            .max_by(|a, b| logits[a.index()].total_cmp(&logits[b.index()]));
        (best.unwrap_or(Action::Wait), value)
    }

    /// The action inside a branch heading for `target`.
    fn branch_action(
        &self,
        s: &DungeonState,
        mask: ActionMask,
        target: Option<(u8, u8)>,
    ) -> Action {
        let rules = self.heuristic.decide(s, mask);
        let urgent = matches!(
            rules,
            Action::Attack(_) | Action::UseItem | Action::TakeStairs
        ) || s.stairs().is_some();
        let heading = target.filter(|&(x, y)| !urgent && s.is_frontier(x.into(), y.into()));
        let Some((tx, ty)) = heading else {
            return legal_or_fallback(mask, rules);
        };
        let Some(leader) = s.leader() else {
            return legal_or_fallback(mask, rules);
        };
        let passable = |x: usize, y: usize| s.known_walkable(x, y);
        let goal = |x: usize, y: usize| (x, y) == (usize::from(tx), usize::from(ty));
        match first_step((leader.x, leader.y), passable, goal)
            .and_then(|(d, _)| Direction::from_index(d))
        {
            Some(d) if mask.contains(Action::Move(d)) => Action::Move(d),
            Some(d) => legal_or_fallback(mask, Action::Attack(d)),
            None => legal_or_fallback(mask, rules),
        }
    }

    /// Plays one branch from the environment's current state; returns its
    /// outcome and fills `actions` with what it did and `rewards` with the
    /// reward of each step.
    fn branch(
        &self,
        env: &mut Env,
        kind: Branch,
        actions: &mut Vec<(Fingerprint, Action)>,
        rewards: &mut Vec<f32>,
        features: &mut [f32],
        ops: &dyn Branching,
    ) -> Outcome {
        actions.clear();
        rewards.clear();
        let floor = env.state().floor;
        let mut outcome = Outcome {
            fainted: false,
            cleared: false,
            floors: 0,
            steps: 0,
            stairs_distance: None,
            revealed: 0,
            ended: false,
            value: None,
        };
        let mut ended = false;
        for _ in 0..self.horizon {
            let action = match (kind, &self.guide) {
                (Branch::Network, Some(guide)) => Self::guided_action(&**guide, env, features).0,
                (Branch::Target(t), _) => {
                    self.branch_action(env.state(), env.action_mask(), Some(t))
                }
                _ => self.branch_action(env.state(), env.action_mask(), None),
            };
            actions.push((fingerprint(env), action));
            outcome.steps += 1;
            // A step that panics (inside the emulator or the decoder) ends
            // the branch like a failed one; the restore that follows puts
            // the environment back.
            match catch_unwind(AssertUnwindSafe(|| ops.step(env, action))) {
                Ok(Ok(r)) => {
                    rewards.push(r.reward);
                    match r.reason {
                        Some(EndReason::Fainted) => outcome.fainted = true,
                        Some(EndReason::Cleared) => outcome.cleared = true,
                        _ => {}
                    }
                    if r.done() {
                        ended = true;
                        break;
                    }
                }
                Ok(Err(_)) | Err(_) => {
                    rewards.push(0.0);
                    outcome.fainted = true;
                    ended = true;
                    break;
                }
            }
            if env.state().floor != floor {
                break;
            }
        }
        let s = env.state();
        outcome.floors = u32::from(s.floor.saturating_sub(floor));
        outcome.revealed = s.tiles().iter().filter(|t| t.revealed()).count() as u32;
        if let (Some((sx, sy)), Some(l)) = (s.stairs(), s.leader()) {
            let passable =
                |x: usize, y: usize| s.tile(x, y).is_some_and(|t| t.revealed() && !t.is_wall());
            let goal = |x: usize, y: usize| (x, y) == (usize::from(sx), usize::from(sy));
            outcome.stairs_distance =
                Some(first_step((l.x, l.y), passable, goal).map_or(0, |(_, d)| d));
        }
        outcome.ended = ended;
        let undecided = !ended && outcome.floors == 0 && outcome.stairs_distance.is_none();
        if let (true, Some(guide)) = (undecided, &self.guide) {
            let end = Self::guided_action(&**guide, env, features).1;
            let earned = rewards.iter().rev().fold(0f32, |g, r| r + RETURN_GAMMA * g);
            let discount = RETURN_GAMMA.powi(i32::try_from(rewards.len()).unwrap_or(i32::MAX));
            outcome.value = Some(earned + discount * end);
        }
        outcome
    }

    /// Plans from the environment's state (which it leaves as it found it);
    /// leaves the best branch's actions in `plan`. An error when the
    /// environment could not be returned to that state: it is then
    /// somewhere inside a branch, and no real step may follow.
    fn plan(&self, env: &mut Env, plan: &mut Plan, ops: &dyn Branching) -> Result<(), String> {
        plan.steps.clear();
        plan.returns.clear();
        plan.tails.clear();
        plan.next = 0;
        plan.id += 1;
        let Ok(root) = env.snapshot() else {
            // Nothing was played: the heuristic decides instead.
            return Ok(());
        };
        // The guide's input (only a guided search reads it).
        let mut features = match self.guide {
            Some(_) => vec![0f32; obs::FEATURES],
            None => Vec::new(),
        };
        let mut branches = vec![Branch::Rules];
        let mut goals = Vec::with_capacity(self.branches);
        match &self.guide {
            None => targets(
                env.state(),
                self.branches.saturating_sub(1),
                self.horizon,
                &mut goals,
            ),
            Some(guide) => {
                if self.branches > 1 {
                    branches.push(Branch::Network);
                }
                targets(
                    env.state(),
                    self.branches.saturating_sub(2),
                    self.horizon,
                    &mut goals,
                );
                // (`targets` gives the nearest frontier even when asked
                // for none.)
                goals.truncate(self.branches.saturating_sub(2));
                // The prior prunes targets whose first move it finds unlikely.
                obs::encode(env.state(), env.floor_turns(), &mut features);
                let mut logits = [0f32; ACTION_COUNT];
                guide.evaluate(&features, &mut logits);
                let mask = env.action_mask();
                let priors = softmax_legal(&logits, mask);
                let s = env.state();
                goals.retain(|&t| {
                    let first = self.branch_action(s, mask, Some(t));
                    priors[first.index()] >= PRUNE_PRIOR
                });
            }
        }
        branches.extend(goals.iter().map(|&t| Branch::Target(t)));
        let mut best = f64::NEG_INFINITY;
        let mut actions = Vec::with_capacity(self.horizon as usize);
        let mut rewards = Vec::with_capacity(self.horizon as usize);
        for kind in branches {
            let outcome = self.branch(env, kind, &mut actions, &mut rewards, &mut features, ops);
            let value = score(&outcome);
            if value > best {
                best = value;
                plan.steps.clone_from(&actions);
                discounted_returns(&rewards, &mut plan.returns);
                let len = rewards.len();
                plan.tails.clear();
                plan.tails.extend((0..len).map(|k| {
                    let left = i32::try_from(len - k).unwrap_or(i32::MAX);
                    if outcome.ended {
                        0.0
                    } else {
                        RETURN_GAMMA.powi(left)
                    }
                }));
                if !outcome.ended {
                    plan.end.resize(obs::FEATURES, 0.0);
                    obs::encode(env.state(), env.floor_turns(), &mut plan.end);
                }
            }
            let restored = catch_unwind(AssertUnwindSafe(|| ops.restore(env, &root)));
            match restored {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    plan.steps.clear();
                    plan.returns.clear();
                    plan.tails.clear();
                    return Err(format!("cannot return to the state before planning: {e}"));
                }
                Err(_) => {
                    plan.steps.clear();
                    plan.returns.clear();
                    plan.tails.clear();
                    return Err("returning to the state before planning panicked".into());
                }
            }
        }
        plan.steps.truncate(self.commit.max(1) as usize);
        plan.returns.truncate(plan.steps.len());
        plan.tails.truncate(plan.steps.len());
        Ok(())
    }

    /// The action for one environment.
    fn decide(&self, ctx: &mut EnvContext<'_>, plan: &mut Plan) -> Action {
        let env = &mut *ctx.env;
        plan.last = None;
        if env.state().stairs().is_some() {
            plan.steps.clear();
            return legal_or_fallback(ctx.mask, self.heuristic.decide(env.state(), ctx.mask));
        }
        let here = fingerprint(env);
        let valid = plan.steps.get(plan.next).is_some_and(|(f, _)| *f == here);
        if !valid {
            if let Err(reason) = self.plan(env, plan, &Direct) {
                plan.failed = Some(reason);
                return Action::Wait;
            }
        }
        match plan.steps.get(plan.next) {
            Some((f, action)) if *f == here && ctx.mask.contains(*action) => {
                plan.last = Some(plan.next);
                plan.next += 1;
                *action
            }
            _ => {
                plan.steps.clear();
                legal_or_fallback(ctx.mask, self.heuristic.decide(env.state(), ctx.mask))
            }
        }
    }
}

impl BatchPolicy for Search {
    fn name(&self) -> &str {
        if self.guide.is_some() {
            "guided search"
        } else {
            "search"
        }
    }

    fn act(
        &mut self,
        mut input: PolicyInput<'_>,
        actions: &mut [Action],
    ) -> Result<(), PolicyError> {
        let n = input.envs.len();
        if self.plans.len() != n {
            self.plans = vec![Plan::default(); n];
        }
        let mut plans = std::mem::take(&mut self.plans);
        // Environments not asked this time (quarantined) have no return.
        plans.iter_mut().for_each(|p| p.last = None);
        let search = &*self;
        input
            .envs
            .par_decide_with(actions, &mut plans, |ctx, plan| search.decide(ctx, plan));
        let failed = plans
            .iter_mut()
            .enumerate()
            .find_map(|(i, plan)| plan.failed.take().map(|reason| (i, reason)));
        self.plans = plans;
        match failed {
            Some((i, reason)) => Err(PolicyError::Failed {
                policy: self.name().into(),
                reason: format!("environment {i}: {reason}"),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use pmd_game::env::EnvConfig;

    fn started_env() -> Env {
        let rom = pmd_game::cartridge::rom().unwrap();
        let mut env = Env::new(&rom, EnvConfig::default()).unwrap();
        env.reset(11).unwrap();
        env
    }

    /// Steps for real, but panics on its `n`th step.
    struct PanicsOnStep(AtomicU32);

    impl Branching for PanicsOnStep {
        fn step(&self, env: &mut Env, action: Action) -> Result<StepResult, EnvError> {
            if self.0.fetch_sub(1, Ordering::SeqCst) == 1 {
                panic!("a branch step panicked on purpose");
            }
            env.step(action)
        }

        fn restore(&self, env: &mut Env, root: &EnvSnapshot) -> Result<(), EnvError> {
            env.restore(root)
        }
    }

    /// Steps for real; every restore fails.
    struct RestoreFails;

    impl Branching for RestoreFails {
        fn step(&self, env: &mut Env, action: Action) -> Result<StepResult, EnvError> {
            env.step(action)
        }

        fn restore(&self, _: &mut Env, _: &EnvSnapshot) -> Result<(), EnvError> {
            Err(EnvError::NotReady(0))
        }
    }

    #[test]
    fn a_panicking_branch_is_scored_out_and_the_environment_restored() {
        let mut env = started_env();
        let before = fingerprint(&env);
        let search = Search::default();
        let mut plan = Plan::default();
        search
            .plan(&mut env, &mut plan, &PanicsOnStep(AtomicU32::new(3)))
            .unwrap();
        assert_eq!(fingerprint(&env), before, "back where planning began");
        assert!(!plan.steps.is_empty(), "the other branches still plan");
        assert_eq!(plan.steps[0].0, before);
    }

    #[test]
    fn a_failed_restore_is_an_error_not_a_silent_branch_state() {
        let mut env = started_env();
        let search = Search::default();
        let mut plan = Plan::default();
        let err = search.plan(&mut env, &mut plan, &RestoreFails).unwrap_err();
        assert!(err.contains("cannot return"), "{err}");
        assert!(plan.steps.is_empty());
    }

    /// Gives one action all the prior and every state the same value.
    struct Prefers(Action, f32);

    impl Guide for Prefers {
        fn evaluate(&self, features: &[f32], logits: &mut [f32; ACTION_COUNT]) -> f32 {
            assert_eq!(features.len(), obs::FEATURES);
            logits.fill(0.0);
            logits[self.0.index()] = 10.0;
            self.1
        }
    }

    #[test]
    fn a_guided_search_plans_with_returns_and_restores_the_environment() {
        let mut env = started_env();
        let before = fingerprint(&env);
        let guide = Arc::new(Prefers(Action::Wait, 0.5));
        let search = Search::new(20, 6, 10).with_guide(guide);
        assert!(search.is_guided());
        let mut plan = Plan::default();
        search.plan(&mut env, &mut plan, &Direct).unwrap();
        assert_eq!(fingerprint(&env), before, "back where planning began");
        assert!(!plan.steps.is_empty());
        assert!(plan.steps.len() <= 10, "cut to the commit");
        assert_eq!(plan.returns.len(), plan.steps.len());
        assert_eq!(plan.tails.len(), plan.steps.len());
        assert!(plan.returns.iter().all(|r| r.is_finite()));
        // Tails grow towards the branch's end (or are all 0 when it ended
        // the episode).
        assert!(plan.tails.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn returns_are_discounted_from_each_step_to_the_end() {
        let mut out = Vec::new();
        discounted_returns(&[0.0, 0.0, 1.0], &mut out);
        let g = RETURN_GAMMA;
        assert_eq!(out, vec![g * g, g, 1.0]);
    }

    #[test]
    fn the_prior_is_a_distribution_over_legal_actions() {
        let mut logits = [0f32; ACTION_COUNT];
        logits[Action::Wait.index()] = 3.0;
        logits[Action::TakeStairs.index()] = 100.0;
        let mask = ActionMask::from_row(
            &(0..ACTION_COUNT)
                .map(|i| i != Action::TakeStairs.index())
                .collect::<Vec<_>>(),
        );
        let p = softmax_legal(&logits, mask);
        assert_eq!(p[Action::TakeStairs.index()], 0.0, "illegal");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p[Action::Wait.index()] > 0.5);
    }
}
