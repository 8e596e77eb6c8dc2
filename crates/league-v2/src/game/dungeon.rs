//! pmd_dungeon: both players play the same seeded dungeon, each in its own
//! copy, for a fixed turn budget.
//!
//! The emulator lives behind [`DungeonSim`] / [`DungeonFactory`] and the
//! agents behind [`NativePolicy`] / [`PolicyFactory`]; [`crate::pmd`]
//! implements them over pmd-agent's environments and policies. Stepping is
//! CPU-bound and synchronous: callers run it on blocking threads, never on
//! the async executor.
//!
//! **Winner** (see [`compare`]): the deeper floor reached (clearing the
//! dungeon counts as one floor below its last); on equal floors the one who
//! reached it in fewer turns; then more HP left at the end (a fainted
//! leader has 0); otherwise a draw. A turn is one action played, whether
//! or not the game let time pass for it.

use std::any::Any;
use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::GameError;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DungeonStep {
    /// The floor after the step (1-based).
    pub floor: u32,
    /// The leader's HP after it.
    pub hp: i32,
    /// The leader's column after it.
    pub x: u32,
    /// The leader's row after it.
    pub y: u32,
    /// The step failed inside the simulator and was undone (it still
    /// counts as a turn; a replay skips it).
    pub rolled_back: bool,
    /// Turns taken so far.
    pub turns: u32,
    /// Whether the run is over (fainted, cleared, left, or cut).
    pub done: bool,
}

/// One turn played: the action and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// The action's name.
    pub action: String,
    /// Its effect.
    pub step: DungeonStep,
}

/// How far a player got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DungeonSummary {
    /// The deepest floor reached.
    pub deepest_floor: u32,
    /// The turn on which it was first reached (0 for the starting floor).
    pub turns_to_deepest: u32,
    /// Turns taken.
    pub turns: u32,
    /// HP at the end.
    pub hp: i32,
    /// Maximum HP.
    pub max_hp: i32,
    /// Whether the leader fainted.
    pub fainted: bool,
    /// Why the run ended, when it did before the budget (`fainted`,
    /// `cleared`, `left_dungeon`, `frame_cap`, `step_error`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// One player's in-process dungeon.
pub trait DungeonSim: Send + 'static {
    /// The decoded state, in the shape of `pmd-agent inspect --json`.
    fn state_json(&self) -> Value;
    /// The action names allowed now (`move_up`, `attack_down_left`, `wait`,
    /// `use_item`, `take_stairs`).
    fn legal_actions(&self) -> Vec<String>;
    /// Plays one action (one game turn).
    fn step(&mut self, action: &str) -> Result<DungeonStep, GameError>;
    /// How far the player got so far.
    fn summary(&self) -> DungeonSummary;
    /// Whether the run is over.
    fn done(&self) -> bool;
    /// The concrete simulator, so a policy that needs more than this trait
    /// (savestate lookahead, feature rows) can reach its own type.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Starts (`true`) or stops drawing the screen on each step: off by
    /// default, since drawing costs; on while someone watches the match.
    fn set_watched(&mut self, _on: bool) {}
    /// The screen as a PNG, when the last step drew it.
    fn frame_png(&self) -> Option<Vec<u8>> {
        None
    }
}

/// Makes dungeons.
pub trait DungeonFactory: Send + Sync {
    /// Names the dungeon (cartridge, or ROM + savestate CRC); sent
    /// with invitations so that a player mirroring the match can check it
    /// plays the same one.
    fn descriptor(&self) -> String;
    /// The dungeon for `seed`: the same seed gives the same dungeon.
    fn create(&self, seed: u64) -> Result<Box<dyn DungeonSim>, GameError>;
}

/// An in-process agent.
pub trait NativePolicy: Send {
    /// Its name (`random`, `heuristic`, `search`, `torch:PATH`).
    fn name(&self) -> &str;
    /// The next action for `sim`'s current state. A lookahead policy may step
    /// `sim` but must leave it as it found it.
    fn act(&mut self, sim: &mut dyn DungeonSim) -> Result<String, GameError>;
}

/// Makes policies from their specs.
pub trait PolicyFactory: Send + Sync {
    /// The policy for `spec`, its randomness seeded by `seed`.
    fn create(&self, spec: &str, seed: u64) -> Result<Box<dyn NativePolicy>, GameError>;
}

/// The eight moves of the dungeon grid as the wire names them
/// (`move_down` … `move_down_left`), in the game's direction order, with
/// each one's (dx, dy) in tiles. pmd-agent's tests check these against its
/// game layer's `Direction`.
pub const MOVES: [(&str, (i8, i8)); 8] = [
    ("move_down", (0, 1)),
    ("move_down_right", (1, 1)),
    ("move_right", (1, 0)),
    ("move_up_right", (1, -1)),
    ("move_up", (0, -1)),
    ("move_up_left", (-1, -1)),
    ("move_left", (-1, 0)),
    ("move_down_left", (-1, 1)),
];

/// Policies that need nothing beyond [`DungeonSim`], so a league runs
/// without any game crate: only `random` (uniform over the legal actions,
/// from a stream seeded by the policy's seed). pmd-agent's own factory
/// replaces it where the real policies are wanted.
#[derive(Debug, Clone, Copy, Default)]
pub struct LegalRandomFactory;

struct LegalRandom(pmd_util::rng::Rng);

impl NativePolicy for LegalRandom {
    fn name(&self) -> &str {
        "random"
    }

    fn act(&mut self, sim: &mut dyn DungeonSim) -> Result<String, GameError> {
        let legal = sim.legal_actions();
        let n = u32::try_from(legal.len()).unwrap_or(u32::MAX);
        if n == 0 {
            return Err(GameError::Unsupported("no legal action".into()));
        }
        Ok(legal[self.0.below(n) as usize].clone())
    }
}

impl PolicyFactory for LegalRandomFactory {
    fn create(&self, spec: &str, seed: u64) -> Result<Box<dyn NativePolicy>, GameError> {
        match spec {
            "random" => Ok(Box::new(LegalRandom(pmd_util::rng::Rng::new(seed, 0)))),
            _ => Err(GameError::UnknownPolicy(spec.to_owned())),
        }
    }
}

/// Orders two runs: `Greater` when `a` did better (see the module docs).
pub fn compare(a: &DungeonSummary, b: &DungeonSummary) -> Ordering {
    a.deepest_floor
        .cmp(&b.deepest_floor)
        .then(b.turns_to_deepest.cmp(&a.turns_to_deepest))
        .then(a.hp.max(0).cmp(&b.hp.max(0)))
}

/// Why a native run stopped early (a technical loss for its player).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFault {
    /// What happened.
    pub error: GameError,
    /// The turns played before it.
    pub turns: Vec<Turn>,
}

/// Plays `policy` on `sim` until the budget is spent or the run ends;
/// returns the turns played. A policy answering an illegal action, or a
/// simulator failing, ends the run with a [`RunFault`].
pub fn play_native(
    sim: &mut dyn DungeonSim,
    policy: &mut dyn NativePolicy,
    turn_budget: u32,
) -> Result<Vec<Turn>, RunFault> {
    play_native_watched(sim, policy, turn_budget, &mut |_| {})
}

/// [`play_native`], calling `after_turn` with the simulator after each
/// turn (the referee's live frames).
pub fn play_native_watched(
    sim: &mut dyn DungeonSim,
    policy: &mut dyn NativePolicy,
    turn_budget: u32,
    after_turn: &mut dyn FnMut(&mut dyn DungeonSim),
) -> Result<Vec<Turn>, RunFault> {
    let mut turns = Vec::with_capacity(turn_budget.min(100_000) as usize);
    for _ in 0..turn_budget {
        if sim.done() {
            break;
        }
        let step = policy
            .act(sim)
            .and_then(|a| {
                if sim.legal_actions().contains(&a) {
                    Ok(a)
                } else {
                    Err(GameError::IllegalAction(a))
                }
            })
            .and_then(|a| sim.step(&a).map(|step| Turn { action: a, step }));
        match step {
            Ok(t) => {
                turns.push(t);
                after_turn(sim);
            }
            Err(error) => return Err(RunFault { error, turns }),
        }
    }
    Ok(turns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(floor: u32, t: u32, hp: i32) -> DungeonSummary {
        DungeonSummary {
            deepest_floor: floor,
            turns_to_deepest: t,
            turns: 100,
            hp,
            max_hp: 20,
            fainted: hp <= 0,
            end: None,
        }
    }

    #[test]
    fn winner_rule() {
        assert_eq!(
            compare(&s(3, 90, 1), &s(2, 10, 20)),
            Ordering::Greater,
            "deeper wins"
        );
        assert_eq!(
            compare(&s(3, 40, 1), &s(3, 50, 20)),
            Ordering::Greater,
            "then faster"
        );
        assert_eq!(
            compare(&s(3, 40, 5), &s(3, 40, 9)),
            Ordering::Less,
            "then more HP"
        );
        assert_eq!(compare(&s(3, 40, 5), &s(3, 40, 5)), Ordering::Equal);
        assert_eq!(
            compare(&s(1, 0, -3), &s(1, 0, 0)),
            Ordering::Equal,
            "fainted is 0 HP"
        );
    }
}
