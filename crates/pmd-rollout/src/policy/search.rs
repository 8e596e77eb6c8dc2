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

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{legal_or_fallback, BatchPolicy, Heuristic, PolicyError};
use crate::{EnvContext, PolicyInput};
use pmd_game::env::{
    Action, ActionMask, Direction, EndReason, Env, EnvError, EnvSnapshot, StepResult,
};
use pmd_game::path::{can_step, first_step};
use pmd_game::ram_map::{MAP_HEIGHT, MAP_WIDTH};
use pmd_game::DungeonState;

/// The planning policy.
#[derive(Debug, Clone)]
pub struct Search {
    /// Steps each branch may play.
    pub horizon: u32,
    /// Branches per plan (the heuristic's and `branches - 1` targets).
    pub branches: usize,
    /// Planned steps executed before planning again (a floor change ends a
    /// plan too).
    pub commit: u32,
    /// The rules followed inside branches and once the stairs are known.
    pub heuristic: Heuristic,
    plans: Vec<Plan>,
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
    next: usize,
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
}

/// How good a branch is: fainting is the worst; clearing the dungeon the
/// best; then each floor descended, sooner better; then stairs found,
/// nearer better; then tiles revealed.
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
    match o.stairs_distance {
        Some(d) => 1e4 - f64::from(o.steps + d),
        None => f64::from(o.revealed),
    }
}

const CELLS: usize = MAP_WIDTH * MAP_HEIGHT;

/// Breadth-first distances from the leader over revealed walkable tiles
/// (`u16::MAX` where unreachable).
fn distances(s: &DungeonState, from: (u8, u8), out: &mut [u16; CELLS]) {
    out.fill(u16::MAX);
    let passable = |x: usize, y: usize| s.known_walkable(x, y);
    let start = usize::from(from.1) * MAP_WIDTH + usize::from(from.0);
    let mut queue = [0u16; CELLS];
    let (mut head, mut tail) = (0, 1);
    queue[0] = start as u16;
    out[start] = 0;
    while head < tail {
        let cell = usize::from(queue[head]);
        head += 1;
        let (x, y) = ((cell % MAP_WIDTH) as i32, (cell / MAP_WIDTH) as i32);
        for d in Direction::ALL {
            let (dx, dy) = d.delta();
            let (dx, dy) = (i32::from(dx), i32::from(dy));
            if !can_step(&passable, x, y, dx, dy) {
                continue;
            }
            let next = (y + dy) as usize * MAP_WIDTH + (x + dx) as usize;
            if out[next] == u16::MAX {
                out[next] = out[cell] + 1;
                queue[tail] = next as u16;
                tail += 1;
            }
        }
    }
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

impl Search {
    /// A search with these parameters (see the fields).
    pub fn new(horizon: u32, branches: usize, commit: u32) -> Search {
        Search {
            horizon: horizon.max(1),
            branches: branches.max(1),
            commit: commit.max(1),
            heuristic: Heuristic::default(),
            plans: Vec::new(),
        }
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
    /// outcome and fills `actions` with what it did.
    fn branch(
        &self,
        env: &mut Env,
        target: Option<(u8, u8)>,
        actions: &mut Vec<(Fingerprint, Action)>,
        ops: &dyn Branching,
    ) -> Outcome {
        actions.clear();
        let floor = env.state().floor;
        let mut outcome = Outcome {
            fainted: false,
            cleared: false,
            floors: 0,
            steps: 0,
            stairs_distance: None,
            revealed: 0,
        };
        for _ in 0..self.horizon {
            let action = self.branch_action(env.state(), env.action_mask(), target);
            actions.push((fingerprint(env), action));
            outcome.steps += 1;
            // A step that panics (inside the emulator or the decoder) ends
            // the branch like a failed one; the restore that follows puts
            // the environment back.
            match catch_unwind(AssertUnwindSafe(|| ops.step(env, action))) {
                Ok(Ok(r)) => {
                    match r.reason {
                        Some(EndReason::Fainted) => outcome.fainted = true,
                        Some(EndReason::Cleared) => outcome.cleared = true,
                        _ => {}
                    }
                    if r.done() {
                        break;
                    }
                }
                Ok(Err(_)) | Err(_) => {
                    outcome.fainted = true;
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
        outcome
    }

    /// Plans from the environment's state (which it leaves as it found it);
    /// leaves the best branch's actions in `plan`. An error when the
    /// environment could not be returned to that state: it is then
    /// somewhere inside a branch, and no real step may follow.
    fn plan(&self, env: &mut Env, plan: &mut Plan, ops: &dyn Branching) -> Result<(), String> {
        plan.steps.clear();
        plan.next = 0;
        let Ok(root) = env.snapshot() else {
            // Nothing was played: the heuristic decides instead.
            return Ok(());
        };
        let mut goals = Vec::with_capacity(self.branches);
        targets(
            env.state(),
            self.branches.saturating_sub(1),
            self.horizon,
            &mut goals,
        );
        let mut best = f64::NEG_INFINITY;
        let mut actions = Vec::with_capacity(self.horizon as usize);
        for target in std::iter::once(None).chain(goals.iter().copied().map(Some)) {
            let outcome = self.branch(env, target, &mut actions, ops);
            let value = score(&outcome);
            if value > best {
                best = value;
                plan.steps.clone_from(&actions);
            }
            let restored = catch_unwind(AssertUnwindSafe(|| ops.restore(env, &root)));
            match restored {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    plan.steps.clear();
                    return Err(format!("cannot return to the state before planning: {e}"));
                }
                Err(_) => {
                    plan.steps.clear();
                    return Err("returning to the state before planning panicked".into());
                }
            }
        }
        plan.steps.truncate(self.commit.max(1) as usize);
        Ok(())
    }

    /// The action for one environment.
    fn decide(&self, ctx: &mut EnvContext<'_>, plan: &mut Plan) -> Action {
        let env = &mut *ctx.env;
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
        "search"
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
                policy: "search".into(),
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
}
