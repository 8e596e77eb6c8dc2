//! The step reward, in one place.
//!
//! | event | reward | why |
//! |-------|--------|-----|
//! | each floor descended | +1.0 | depth is the goal: it dominates every other term |
//! | each HP of damage dealt to wild monsters (same floor) | +0.02 | fighting pays a little, so clearing a blocked corridor is not a dead loss |
//! | each HP the leader gains or loses (same floor) | ±0.01 | staying healthy matters, but less than a floor: 100 HP lost costs one floor |
//! | the leader faints (terminated, `fainted`) | −1.0 | ends the run: as bad as losing a floor |
//! | the dungeon is cleared (terminated, `cleared`: the stairs of the last floor) | +5.0 | the end goal: worth five floors, so near the end finishing beats lingering |
//! | the leader leaves the dungeon alive another way (terminated, `left_dungeon`) | 0.0 | ends the run without the fainting penalty; a bonus would teach escaping instead of descending |
//! | the episode is truncated (step limit, frame cap, failures) | 0.0 | not an outcome of play: learners bootstrap from the last state's value |
//!
//! The floor, damage and HP terms compare two decoded states
//! ([`RewardBasis`]); the terminal terms come from the step's
//! [`EndReason`].

use super::EndReason;
use crate::game::ram_map::MAX_WILD;
use crate::game::DungeonState;

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
    wild_hp: [i16; MAX_WILD],
}

impl RewardBasis {
    /// Takes what the reward needs from a decoded state.
    pub fn of(state: &DungeonState) -> RewardBasis {
        let mut wild_hp = [0i16; MAX_WILD];
        for m in state.wild() {
            if let Some(slot) = wild_hp.get_mut(usize::from(m.slot)) {
                *slot = m.hp;
            }
        }
        RewardBasis {
            floor: state.floor,
            leader_hp: state.leader().map_or(0, |l| l.hp),
            wild_hp,
        }
    }

    /// The leader's HP.
    pub fn leader_hp(&self) -> i16 {
        self.leader_hp
    }
}

/// The reward for going from `before` to `after` in a step that ended the
/// episode for `end` (if it did).
pub fn reward(before: &RewardBasis, after: &RewardBasis, end: Option<EndReason>) -> f32 {
    let mut r = 0.0;
    if after.floor > before.floor {
        r += FLOOR * f32::from(after.floor - before.floor);
    } else if after.floor == before.floor {
        let dealt: i32 = before
            .wild_hp
            .iter()
            .zip(after.wild_hp.iter())
            .map(|(b, a)| (i32::from(*b) - i32::from(*a)).max(0))
            .sum();
        r += DAMAGE_DEALT * dealt as f32;
        r += LEADER_HP * f32::from(after.leader_hp - before.leader_hp);
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

    fn basis(floor: u8, hp: i16, wild: &[(usize, i16)]) -> RewardBasis {
        let mut b = RewardBasis {
            floor,
            leader_hp: hp,
            wild_hp: [0; MAX_WILD],
        };
        for &(slot, hp) in wild {
            b.wild_hp[slot] = hp;
        }
        b
    }

    #[test]
    fn each_term() {
        let start = basis(1, 30, &[(0, 10), (3, 12)]);
        assert_eq!(reward(&start, &basis(2, 30, &[]), None), FLOOR);
        // 4 damage dealt to slot 0, 12 to slot 3 (defeated), 5 HP lost
        let after = basis(1, 25, &[(0, 6)]);
        let expected = DAMAGE_DEALT * 16.0 - LEADER_HP * 5.0;
        assert!((reward(&start, &after, None) - expected).abs() < 1e-6);
        let fainted = basis(1, 0, &[(0, 10), (3, 12)]);
        let expected = FAINT - LEADER_HP * 30.0;
        let got = reward(&start, &fainted, Some(EndReason::Fainted));
        assert!((got - expected).abs() < 1e-6);
        assert_eq!(reward(&start, &start, None), 0.0);
        // leaving: no state after it, only the terminal term
        assert_eq!(reward(&start, &start, Some(EndReason::Cleared)), CLEARED);
        assert_eq!(
            reward(&start, &start, Some(EndReason::LeftDungeon)),
            LEFT_DUNGEON
        );
        assert_eq!(reward(&start, &start, Some(EndReason::StepLimit)), 0.0);
    }
}
