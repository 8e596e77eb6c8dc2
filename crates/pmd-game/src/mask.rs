//! Which actions are legal in a decoded state: [`ActionMask`].
//!
//! Legal means the game would carry the action out as a turn (or, for the
//! stairs, a floor change). Two masks judge it on two kinds of knowledge:
//!
//! - [`ActionMask::legal`], on the game's own truth: the decoded terrain and
//!   every monster, seen or not (the environment's own bookkeeping);
//! - [`ActionMask::seen`], on what the player is shown: revealed tiles and
//!   the wild monsters on screen. This is the mask policies choose from and
//!   observations carry: a hidden monster or unrevealed floor must not leak
//!   into a decision through the mask. A move it allows onto a hidden
//!   monster is pressed like any other; the game ignores it.
//!
//! | action | legal when |
//! |--------|------------|
//! | move in direction d | the tile there is walkable floor (for `seen`: revealed walkable floor) with no wild monster on it (for `seen`: none shown), and a diagonal step cuts no wall corner; a teammate there is no obstacle (the game swaps places) |
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

    /// The legal actions of `state` for the game `profile`, judged on the
    /// game's own truth (every monster, every tile).
    pub fn legal(state: &DungeonState, profile: &dyn GameProfile) -> ActionMask {
        Self::judged(state, profile, false)
    }

    /// The legal actions of `state` as far as the player can tell:
    /// judged on revealed tiles and the wild monsters shown.
    pub fn seen(state: &DungeonState, profile: &dyn GameProfile) -> ActionMask {
        Self::judged(state, profile, true)
    }

    fn judged(state: &DungeonState, profile: &dyn GameProfile, seen_only: bool) -> ActionMask {
        let Some(leader) = state.leader() else {
            return ActionMask::NONE;
        };
        let (lx, ly) = (i32::from(leader.x), i32::from(leader.y));
        // Teammates never block: walking into one swaps places.
        let occupied = |x: usize, y: usize| {
            state
                .wild()
                .iter()
                .filter(|m| m.visible || !seen_only)
                .any(|m| (usize::from(m.x), usize::from(m.y)) == (x, y))
        };
        // What the player knows is walkable, or (the truth) any floor.
        let walkable = |x: usize, y: usize| {
            if seen_only {
                state.known_walkable(x, y)
            } else {
                state.tile(x, y).is_some_and(|t| t.is_floor())
            }
        };
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

    fn monster(x: u8, y: u8, leader: bool, visible: bool) -> crate::Monster {
        crate::Monster {
            x,
            y,
            hp: 10,
            max_hp: 10,
            is_leader: leader,
            visible,
            ..crate::Monster::default()
        }
    }

    #[test]
    fn the_players_mask_uses_only_what_is_shown() {
        let profile = crate::profile_for("PMDT").unwrap();
        let leader = monster(10, 10, true, true);
        // a hidden wild monster to the right, a shown one to the left
        let wild = [monster(11, 10, false, false), monster(9, 10, false, true)];
        let mut state = DungeonState::for_test(true, &[leader], &wild);
        let (truth, seen) = (
            ActionMask::legal(&state, profile),
            ActionMask::seen(&state, profile),
        );
        let right = Action::Move(Direction::Right);
        let left = Action::Move(Direction::Left);
        assert!(!truth.contains(right), "the game knows the hidden monster");
        assert!(seen.contains(right), "the player does not");
        assert!(
            !truth.contains(left) && !seen.contains(left),
            "a shown monster blocks both"
        );
        // unrevealed floor: walkable in truth, unknown to the player
        state.set_revealed_for_test(10, 9, false);
        let up = Action::Move(Direction::Up);
        assert!(ActionMask::legal(&state, profile).contains(up));
        assert!(!ActionMask::seen(&state, profile).contains(up));
    }

    #[test]
    fn walking_into_a_teammate_is_legal_it_swaps_places() {
        let profile = crate::profile_for("PMDT").unwrap();
        let team = [monster(10, 10, true, true), monster(10, 11, false, true)];
        let state = DungeonState::for_test(true, &team, &[]);
        let down = Action::Move(Direction::Down);
        assert!(ActionMask::legal(&state, profile).contains(down));
        assert!(ActionMask::seen(&state, profile).contains(down));
    }
}
