//! Lookahead with savestate branching — what the socket design cannot
//! afford. For each sensible first action (moves onto free tiles, attacks
//! on adjacent monsters, wait, eat when something is in the bag, stairs
//! when on them): snapshot, play it and then `depth` heuristic turns,
//! score where the branch ends up, restore. The heuristic's own choice is
//! the first candidate; another is taken only when its branch scores
//! better by `margin`.
//!
//! Branch value: 10 per floor, +0.02 per leader HP, −100 for fainting;
//! with the stairs known +5 and −0.1 per step of path to them, otherwise
//! +0.01 per revealed tile and −0.1 per step of path to the nearest
//! unexplored edge. The distance terms keep a short horizon from
//! preferring to stand still over a path that costs a little HP.

use super::{legal_or_fallback, Heuristic, Policy, PolicyContext};
use crate::env::{Action, ActionMask, Direction};
use crate::game::path::first_step;
use crate::game::DungeonState;

/// The lookahead policy.
#[derive(Debug, Clone, Copy)]
pub struct Search {
    /// Heuristic turns played after each candidate action.
    pub depth: u32,
    /// How much better than the heuristic's branch another branch must
    /// score to be taken. Short branches are noisy (a monster's step, a few
    /// HP, a room revealed a turn earlier); the margin keeps the search on
    /// the heuristic's course unless the lookahead sees something decisive:
    /// fainting avoided (100) or a floor descended sooner (10). Over 100
    /// seeds (BENCHMARKS.md) a margin of 1 chased revealed tiles (mean max
    /// floor 2.96 against the heuristic's 4.32), 4 also followed stairs
    /// glimpsed a turn earlier (4.30), 6 gives 4.34.
    pub margin: f32,
    /// The policy followed inside branches.
    pub heuristic: Heuristic,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            depth: 4,
            margin: 6.0,
            heuristic: Heuristic::default(),
        }
    }
}

/// How good a state looks (see the module text).
fn value(s: &DungeonState, fainted: bool) -> f32 {
    let Some(leader) = s.leader() else {
        return f32::NEG_INFINITY;
    };
    let mut v = 10.0 * f32::from(s.floor) + 0.02 * f32::from(leader.hp);
    match s.stairs() {
        Some((sx, sy)) => {
            // Known stairs: worth more than any exploring, and closer is better.
            v += 5.0;
            let passable =
                |x: usize, y: usize| s.tile(x, y).is_some_and(|t| t.revealed() && !t.is_wall());
            let goal = |x: usize, y: usize| (x, y) == (usize::from(sx), usize::from(sy));
            if let Some((_, distance)) = first_step((leader.x, leader.y), passable, goal) {
                v -= 0.1 * distance as f32;
            }
        }
        None => {
            // Exploring: more of the map seen, and the unseen part close.
            v += 0.01 * s.tiles().iter().filter(|t| t.revealed()).count() as f32;
            let passable =
                |x: usize, y: usize| s.tile(x, y).is_some_and(|t| t.revealed() && !t.is_wall());
            let frontier = |x: usize, y: usize| {
                Direction::ALL.into_iter().any(|d| {
                    let (dx, dy) = d.delta();
                    let (nx, ny) = (x as i32 + i32::from(dx), y as i32 + i32::from(dy));
                    nx >= 0
                        && ny >= 0
                        && s.tile(nx as usize, ny as usize)
                            .is_some_and(|t| !t.revealed())
                })
            };
            if let Some((_, distance)) = first_step((leader.x, leader.y), passable, frontier) {
                v -= 0.1 * distance as f32;
            }
        }
    }
    if fainted {
        v -= 100.0;
    }
    v
}

/// The first actions worth trying in `s` among the legal ones; `first`
/// (the heuristic's) leads.
fn candidates(s: &DungeonState, mask: ActionMask, first: Action, out: &mut Vec<Action>) {
    out.clear();
    out.push(first);
    let Some(leader) = s.leader() else {
        return;
    };
    let monster_at = |x: i32, y: i32| {
        s.wild()
            .iter()
            .any(|m| (i32::from(m.x), i32::from(m.y)) == (x, y))
    };
    for d in Direction::ALL {
        let (dx, dy) = d.delta();
        let (x, y) = (
            i32::from(leader.x) + i32::from(dx),
            i32::from(leader.y) + i32::from(dy),
        );
        let free = x >= 0 && y >= 0 && s.tile(x as usize, y as usize).is_some_and(|t| t.is_floor());
        if monster_at(x, y) {
            out.push(Action::Attack(d));
        } else if free {
            out.push(Action::Move(d));
        }
    }
    out.push(Action::Wait);
    if !s.bag().is_empty() {
        out.push(Action::UseItem);
    }
    if s.tile(leader.x.into(), leader.y.into())
        .is_some_and(|t| t.is_stairs())
    {
        out.push(Action::TakeStairs);
    }
    let mut seen = 0usize;
    out.retain(|a| {
        let bit = 1usize << a.index();
        let new = seen & bit == 0;
        seen |= bit;
        new && mask.contains(*a)
    });
}

impl Policy for Search {
    fn name(&self) -> &'static str {
        "search"
    }

    fn act(&self, ctx: &mut PolicyContext<'_>) -> Action {
        let mask = ctx.mask;
        let env = &mut *ctx.env;
        let first = legal_or_fallback(mask, self.heuristic.decide(env.state()));
        let mut tries = Vec::with_capacity(crate::env::ACTION_COUNT);
        candidates(env.state(), mask, first, &mut tries);
        if tries.len() <= 1 {
            return first;
        }
        let Ok(root) = env.snapshot() else {
            return first;
        };
        let mut best = (f32::NEG_INFINITY, first);
        for (i, &candidate) in tries.iter().enumerate() {
            let mut action = candidate;
            let mut fainted = false;
            for _ in 0..=self.depth {
                match env.step(action) {
                    Ok(r) if r.done() => {
                        fainted = r.reason == Some(crate::env::EndReason::Fainted);
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => {
                        fainted = true;
                        break;
                    }
                }
                action = legal_or_fallback(env.action_mask(), self.heuristic.decide(env.state()));
            }
            // The heuristic's branch (the first) sets the bar.
            let score = value(env.state(), fainted) - if i == 0 { 0.0 } else { self.margin };
            if score > best.0 {
                best = (score, candidate);
            }
            if env.restore(&root).is_err() {
                return first;
            }
        }
        best.1
    }
}
