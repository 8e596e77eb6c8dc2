//! Which actions are legal in a decoded state: [`ActionMask`].
//!
//! Legal means the game would carry the action out as a turn (or, for the
//! stairs, a floor change), judged on the game's own truth — the decoded
//! terrain and every monster, seen or not — and the game's controls:
//!
//! | action | legal when |
//! |--------|------------|
//! | move in direction d | the tile there is walkable floor with no monster on it, and a diagonal step cuts no wall corner |
//! | attack in direction d | always (a blow into thin air still takes a turn) |
//! | wait | always |
//! | use item | the bag holds an item the game can use to heal |
//! | take stairs | the leader stands on the stairs |
//!
//! and in every case the game profile has buttons for it
//! ([`GameProfile::presses`]). Outside a dungeon (no leader) nothing is
//! legal.

use super::path::can_step;
use super::ram_map::{MAP_HEIGHT, MAP_WIDTH};
use super::{Action, Direction, DungeonState, GameProfile, ACTION_COUNT};

/// A set of actions, one bit per [`Action::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ActionMask(u32);

impl ActionMask {
    /// No action.
    pub const NONE: ActionMask = ActionMask(0);
    /// Every action.
    pub const ALL: ActionMask = ActionMask((1 << ACTION_COUNT) - 1);

    /// The mask with these bits (bits past the last action are dropped).
    pub fn from_bits(bits: u32) -> ActionMask {
        ActionMask(bits & Self::ALL.0)
    }

    /// The bits, one per action index.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether `action` is in the set.
    pub fn contains(self, action: Action) -> bool {
        self.0 & (1 << action.index()) != 0
    }

    /// The set with `action` added.
    pub fn with(self, action: Action) -> ActionMask {
        ActionMask(self.0 | 1 << action.index())
    }

    /// Number of actions in the set.
    pub fn count(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The actions in the set, by index.
    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::all().filter(move |a| self.contains(*a))
    }

    /// The `n`-th action of the set (by index order), if any.
    pub fn nth(self, n: u32) -> Option<Action> {
        self.iter().nth(n as usize)
    }

    /// The set of a row of booleans, `row[i]` for action `i` (the inverse
    /// of [`ActionMask::write`]).
    pub fn from_row(row: &[bool]) -> ActionMask {
        let bits = row
            .iter()
            .take(ACTION_COUNT)
            .enumerate()
            .filter(|(_, legal)| **legal)
            .fold(0u32, |bits, (a, _)| bits | 1 << a);
        ActionMask(bits)
    }

    /// Writes the set as `ACTION_COUNT` booleans.
    pub fn write(self, out: &mut [bool]) {
        for (i, slot) in out.iter_mut().take(ACTION_COUNT).enumerate() {
            *slot = self.0 & (1 << i) != 0;
        }
    }

    /// The legal actions of `state` for the game `profile`.
    pub fn legal(state: &DungeonState, profile: &dyn GameProfile) -> ActionMask {
        let Some(leader) = state.leader() else {
            return ActionMask::NONE;
        };
        let (lx, ly) = (i32::from(leader.x), i32::from(leader.y));
        let occupied = |x: usize, y: usize| {
            state
                .wild()
                .iter()
                .chain(state.team().iter().filter(|m| !m.is_leader))
                .any(|m| (usize::from(m.x), usize::from(m.y)) == (x, y))
        };
        let walkable = |x: usize, y: usize| state.tile(x, y).is_some_and(|t| t.is_floor());
        let mut mask = ActionMask::NONE;
        for d in Direction::ALL {
            let (dx, dy) = d.delta();
            let (dx, dy) = (i32::from(dx), i32::from(dy));
            let (tx, ty) = (lx + dx, ly + dy);
            let inside =
                (0..MAP_WIDTH as i32).contains(&tx) && (0..MAP_HEIGHT as i32).contains(&ty);
            if inside && can_step(&walkable, lx, ly, dx, dy) && !occupied(tx as usize, ty as usize)
            {
                mask = mask.with(Action::Move(d));
            }
            mask = mask.with(Action::Attack(d));
        }
        mask = mask.with(Action::Wait);
        if state.bag().iter().any(|&(id, _)| profile.usable_item(id)) {
            mask = mask.with(Action::UseItem);
        }
        if state
            .tile(leader.x.into(), leader.y.into())
            .is_some_and(|t| t.is_stairs())
        {
            mask = mask.with(Action::TakeStairs);
        }
        let supported = Action::all()
            .filter(|a| profile.presses(*a).is_some())
            .fold(ActionMask::NONE, ActionMask::with);
        ActionMask(mask.0 & supported.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_and_count() {
        let m = ActionMask::NONE
            .with(Action::Wait)
            .with(Action::Move(Direction::Up));
        assert_eq!(m.count(), 2);
        assert!(m.contains(Action::Wait));
        assert!(!m.contains(Action::UseItem));
        assert_eq!(ActionMask::from_bits(m.bits()), m);
        let mut bools = [false; ACTION_COUNT];
        m.write(&mut bools);
        assert_eq!(ActionMask::from_row(&bools), m);
        assert_eq!(m.nth(0), Some(Action::Move(Direction::Up)));
        assert_eq!(m.nth(1), Some(Action::Wait));
        assert_eq!(m.nth(2), None);
        let mut row = [true; ACTION_COUNT];
        m.write(&mut row);
        assert_eq!(row.iter().filter(|b| **b).count(), 2);
        assert!(row[Action::Wait.index()]);
        assert_eq!(ActionMask::from_bits(u32::MAX), ActionMask::ALL);
        assert_eq!(ActionMask::ALL.count() as usize, ACTION_COUNT);
    }

    #[test]
    fn nothing_is_legal_outside_a_dungeon() {
        let state = DungeonState::new();
        let profile = super::super::profile_for("PMDT").unwrap();
        assert_eq!(ActionMask::legal(&state, profile), ActionMask::NONE);
    }
}
