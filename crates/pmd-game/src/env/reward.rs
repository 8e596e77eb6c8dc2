//! The step reward, in one place.
//!
//! | event | reward | why |
//! |-------|--------|-----|
//! | each floor descended | +1.0 | depth is the goal: it dominates every other term |
//! | each HP a wild monster loses, while it stays on the floor (same slot, same species, before and after the step) | +0.02 | fighting pays a little, so clearing a blocked corridor is not a dead loss |
//! | a wild monster defeated: gone after the step, having stood next to a team member before it | +0.02 × its remaining HP | the last blow counts like the others; a monster that vanishes out of the team's reach (a slot refilled elsewhere, a warp) earns nothing |
//! | each HP the leader gains or loses, on the same floor or across the stairs (HP carries over) | ±0.01 | staying healthy matters, but less than a floor: 100 HP lost costs one floor |
//! | the leader faints (terminated, `fainted`) | −1.0, and the HP it had left as lost | ends the run: as bad as losing a floor |
//! | the dungeon is cleared (terminated, `cleared`: the stairs of the last floor) | +5.0 | the end goal: worth five floors, so near the end finishing beats lingering |
//! | the leader leaves the dungeon alive another way (terminated, `left_dungeon`) | 0.0 | ends the run without the fainting penalty; a bonus would teach escaping instead of descending |
//! | the episode is truncated (step limit, frame cap, failures) | 0.0 | not an outcome of play: learners bootstrap from the last state's value |
//!
//! The floor, damage and HP terms compare two decoded states
//! ([`RewardBasis`]): the damage terms only on the same floor (another
//! floor's monsters are others), the HP term whenever the leader is in the
//! dungeon after the step. A step that leaves the dungeon has no state
//! after it: its HP term is the fall to 0 when the leader fainted, and none
//! otherwise; its damage terms are none. The terminal terms come from the
//! step's [`EndReason`].

use super::EndReason;
use crate::ram_map::{MAX_TEAM, MAX_WILD};
use crate::DungeonState;

/// Reward per floor descended.
pub const FLOOR: f32 = 1.0;
/// Reward per HP of damage dealt.
pub const DAMAGE_DEALT: f32 = 0.02;
/// Reward per HP of leader HP change (signed).
pub const LEADER_HP: f32 = 0.01;
/// Reward for fainting.
pub const FAINT: f32 = -1.0;
/// Reward for clearing the dungeon.
pub const CLEARED: f32 = 5.0;
/// Reward for leaving the dungeon alive without clearing it.
pub const LEFT_DUNGEON: f32 = 0.0;

/// What the reward compares between two states (copied, no allocation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RewardBasis {
    floor: u8,
    leader_hp: i16,
    /// Per wild slot: species (0: empty), HP, and tile.
    wild: [Wild; MAX_WILD],
    /// The team's tiles (`None` past the team's size).
    team: [Option<(u8, u8)>; MAX_TEAM],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Wild {
    species: i16,
    hp: i16,
    at: (u8, u8),
}

impl RewardBasis {
    /// Takes what the reward needs from a decoded state.
    pub fn of(state: &DungeonState) -> RewardBasis {
        let mut wild = [Wild::default(); MAX_WILD];
        for m in state.wild() {
            if let Some(slot) = wild.get_mut(usize::from(m.slot)) {
                *slot = Wild {
                    species: m.species,
                    hp: m.hp,
                    at: (m.x, m.y),
                };
            }
        }
        let mut team = [None; MAX_TEAM];
        for (t, m) in team.iter_mut().zip(state.team()) {
            *t = Some((m.x, m.y));
        }
        RewardBasis {
            floor: state.floor,
            leader_hp: state.leader().map_or(0, |l| l.hp),
            wild,
            team,
        }
    }

    /// The leader's HP.
    pub fn leader_hp(&self) -> i16 {
        self.leader_hp
    }

    /// Whether a team member stands on a tile next to `at`.
    fn next_to_team(&self, at: (u8, u8)) -> bool {
        self.team
            .iter()
            .flatten()
            .any(|&(x, y)| x.abs_diff(at.0) <= 1 && y.abs_diff(at.1) <= 1 && (x, y) != at)
    }
}

/// HP the wild monsters lost in a step on one floor: those still there
/// (same slot, same species) by what they lost, those defeated (gone, and
/// next to the team before) by all they had left.
fn damage_dealt(before: &RewardBasis, after: &RewardBasis) -> i32 {
    before
        .wild
        .iter()
        .zip(after.wild.iter())
        .filter(|(b, _)| b.species != 0)
        .map(|(b, a)| {
            if a.species == b.species {
                (i32::from(b.hp) - i32::from(a.hp)).max(0)
            } else if before.next_to_team(b.at) {
                i32::from(b.hp).max(0)
            } else {
                0
            }
        })
        .sum()
}

/// The reward for going from `before` to `after` in a step that ended the
/// episode for `end` (if it did). `after` is `None` when the step left the
/// dungeon (no state to decode after it).
pub fn reward(before: &RewardBasis, after: Option<&RewardBasis>, end: Option<EndReason>) -> f32 {
    let mut r = 0.0;
    match after {
        Some(after) => {
            if after.floor > before.floor {
                r += FLOOR * f32::from(after.floor - before.floor);
            } else if after.floor == before.floor {
                r += DAMAGE_DEALT * damage_dealt(before, after) as f32;
            }
            r += LEADER_HP * f32::from(after.leader_hp - before.leader_hp);
        }
        None if end == Some(EndReason::Fainted) => {
            r -= LEADER_HP * f32::from(before.leader_hp.max(0));
        }
        None => {}
    }
    r += match end {
        Some(EndReason::Fainted) => FAINT,
        Some(EndReason::Cleared) => CLEARED,
        Some(EndReason::LeftDungeon) => LEFT_DUNGEON,
        _ => 0.0,
    };
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLIME: i16 = 7;

    /// A basis with the leader at (10, 10) and wild monsters
    /// `(slot, hp, x)` on row 10.
    fn basis(floor: u8, hp: i16, wild: &[(usize, i16, u8)]) -> RewardBasis {
        let mut b = RewardBasis {
            floor,
            leader_hp: hp,
            team: [Some((10, 10)), None, None, None],
            ..RewardBasis::default()
        };
        for &(slot, hp, x) in wild {
            b.wild[slot] = Wild {
                species: SLIME,
                hp,
                at: (x, 10),
            };
        }
        b
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn each_term() {
        // slot 0 next to the leader, slot 3 far away
        let start = basis(1, 30, &[(0, 10, 11), (3, 12, 30)]);
        // descending: the floor, and the HP the leader lost on the way
        let down = basis(2, 28, &[(0, 40, 5)]);
        assert!(close(
            reward(&start, Some(&down), None),
            FLOOR - LEADER_HP * 2.0
        ));
        // 4 damage dealt to slot 0, which stays; 5 HP lost
        let after = basis(1, 25, &[(0, 6, 11), (3, 12, 30)]);
        let expected = DAMAGE_DEALT * 4.0 - LEADER_HP * 5.0;
        assert!(close(reward(&start, Some(&after), None), expected));
        // slot 0 defeated (gone, it stood next to the leader): its last
        // 10 HP count; slot 3 vanishing far away earns nothing
        let after = basis(1, 30, &[]);
        assert!(close(
            reward(&start, Some(&after), None),
            DAMAGE_DEALT * 10.0
        ));
        // a slot refilled by another species is another monster
        let mut refilled = basis(1, 30, &[(0, 10, 11), (3, 50, 30)]);
        refilled.wild[3].species = SLIME + 1;
        assert_eq!(reward(&start, Some(&refilled), None), 0.0);
        // fainting in the dungeon: all HP lost, and the penalty
        let fainted = basis(1, 0, &[(0, 10, 11), (3, 12, 30)]);
        let expected = FAINT - LEADER_HP * 30.0;
        assert!(close(
            reward(&start, Some(&fainted), Some(EndReason::Fainted)),
            expected
        ));
        assert_eq!(reward(&start, Some(&start), None), 0.0);
    }

    #[test]
    fn leaving_the_dungeon_counts_the_same_terms() {
        let start = basis(3, 30, &[(0, 10, 11)]);
        // fainting out of the dungeon costs the same as fainting in it
        let out = reward(&start, None, Some(EndReason::Fainted));
        let fainted = basis(3, 0, &[(0, 10, 11)]);
        let inside = reward(&start, Some(&fainted), Some(EndReason::Fainted));
        assert!(close(out, inside), "{out} vs {inside}");
        // leaving alive: only the terminal term
        assert_eq!(reward(&start, None, Some(EndReason::Cleared)), CLEARED);
        assert_eq!(
            reward(&start, None, Some(EndReason::LeftDungeon)),
            LEFT_DUNGEON
        );
        assert_eq!(
            reward(&start, Some(&start), Some(EndReason::StepLimit)),
            0.0
        );
    }
}
