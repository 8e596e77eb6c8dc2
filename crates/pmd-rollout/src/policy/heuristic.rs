//! Rules over the decoded map, in priority order:
//!
//! 1. HP at or below `heal_below` of max and an item the game can use to
//!    heal now (the action mask allows using an item): use it.
//! 2. A visible wild monster next to the leader: attack it.
//! 3. Standing on the stairs: take them.
//! 4. Stairs known: walk the shortest path to them (around monsters).
//! 5. A visible item and room in the bag: walk to the nearest one.
//! 6. Otherwise explore: walk to the nearest revealed walkable tile next to
//!    an unrevealed one (breadth-first search, `game::path`).
//! 7. Nothing left to explore: wait.
//!
//! Paths avoid every wild monster on the floor, seen or not (RAM shows
//! them all), unless `sees_hidden` is off: then only the monsters the
//! player can see, which makes its choices a function of what the
//! observation shows (the labeller for imitation learning).
//!
//! A choice the action mask forbids (a game without a shortcut for it)
//! falls back to waiting, or to the first legal action.

use super::{legal_or_fallback, Policy, PolicyContext};
use pmd_game::env::{Action, ActionMask, Direction};
use pmd_game::path::first_step;
use pmd_game::ram_map::{MAP_HEIGHT, MAP_WIDTH, TEAM_ITEMS};
use pmd_game::DungeonState;

/// The rule-based policy.
#[derive(Debug, Clone, Copy)]
pub struct Heuristic {
    /// Heal when HP / max HP is at or below this.
    pub heal_below: f32,
    /// Paths avoid wild monsters the player cannot see too.
    pub sees_hidden: bool,
}

impl Default for Heuristic {
    fn default() -> Self {
        Heuristic {
            heal_below: 0.4,
            sees_hidden: true,
        }
    }
}

impl Heuristic {
    /// The rules on what the player sees only: paths avoid visible wild
    /// monsters, not hidden ones.
    pub fn player_view() -> Self {
        Heuristic {
            sees_hidden: false,
            ..Heuristic::default()
        }
    }
}

fn neighbour(x: u8, y: u8, d: Direction) -> Option<(usize, usize)> {
    let (dx, dy) = d.delta();
    let (nx, ny) = (i32::from(x) + i32::from(dx), i32::from(y) + i32::from(dy));
    ((0..MAP_WIDTH as i32).contains(&nx) && (0..MAP_HEIGHT as i32).contains(&ny))
        .then_some((nx as usize, ny as usize))
}

impl Heuristic {
    /// The rule-based decision for a decoded state, whose legal actions
    /// are `mask` (rule 1 needs it: an item is used only when the game can
    /// use one to heal). The result may still be outside the mask (the
    /// stairs in a game without a shortcut for them): callers keep it to
    /// the mask with `legal_or_fallback`.
    pub fn decide(&self, s: &DungeonState, mask: ActionMask) -> Action {
        let Some(leader) = s.leader() else {
            return Action::Wait;
        };
        let (lx, ly) = (leader.x, leader.y);
        if leader.max_hp > 0
            && f32::from(leader.hp) <= self.heal_below * f32::from(leader.max_hp)
            && mask.contains(Action::UseItem)
        {
            return Action::UseItem;
        }
        for d in Direction::ALL {
            if let Some((nx, ny)) = neighbour(lx, ly, d) {
                if s.visible_wild()
                    .any(|m| (usize::from(m.x), usize::from(m.y)) == (nx, ny))
                {
                    return Action::Attack(d);
                }
            }
        }
        if s.tile(lx.into(), ly.into()).is_some_and(|t| t.is_stairs()) {
            return Action::TakeStairs;
        }
        let occupied = |x: usize, y: usize| {
            let at = |m: &&pmd_game::Monster| (usize::from(m.x), usize::from(m.y)) == (x, y);
            if self.sees_hidden {
                s.wild().iter().any(|m| at(&m))
            } else {
                s.visible_wild().any(|m| at(&m))
            }
        };
        let passable = |x: usize, y: usize| s.known_walkable(x, y) && !occupied(x, y);
        let walk = |goal: &dyn Fn(usize, usize) -> bool| {
            first_step((lx, ly), passable, goal)
                .and_then(|(d, _)| Direction::from_index(d))
                .map(Action::Move)
        };
        if let Some((sx, sy)) = s.stairs() {
            if let Some(a) = walk(&|x, y| (x, y) == (usize::from(sx), usize::from(sy))) {
                return a;
            }
        }
        if s.bag().len() < TEAM_ITEMS {
            let item_at = |x: usize, y: usize| {
                s.items()
                    .iter()
                    .any(|o| o.visible && (usize::from(o.x), usize::from(o.y)) == (x, y))
            };
            if let Some(a) = walk(&item_at) {
                return a;
            }
        }
        walk(&|x, y| s.is_frontier(x, y)).unwrap_or(Action::Wait)
    }
}

impl Policy for Heuristic {
    fn name(&self) -> &'static str {
        "heuristic"
    }

    fn act(&self, ctx: &mut PolicyContext<'_>) -> Action {
        legal_or_fallback(ctx.mask, self.decide(ctx.env.state(), ctx.mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmd_game::{profile_for, Monster};

    #[test]
    fn at_low_hp_without_a_usable_item_the_rules_go_on_to_fight() {
        // The real game's profile cannot use items from the dungeon (it
        // needs menus): a bag with an item must not make the heuristic
        // choose an item it cannot use (whose fallback was the first
        // legal action) while a monster stands next to it.
        let profile = profile_for("B24E").unwrap();
        let leader = Monster {
            x: 10,
            y: 10,
            hp: 2,
            max_hp: 20,
            is_leader: true,
            visible: true,
            ..Monster::default()
        };
        let foe = Monster {
            x: 11,
            hp: 9,
            max_hp: 9,
            ..leader
        };
        let foe = Monster {
            is_leader: false,
            ..foe
        };
        let mut s = DungeonState::for_test(true, &[leader], &[foe]);
        s.set_bag_for_test(&[(0x45, 1)]);
        let mask = ActionMask::seen(&s, profile);
        assert!(!mask.contains(Action::UseItem));
        let h = Heuristic::default();
        let attack = Action::Attack(Direction::Right);
        assert_eq!(legal_or_fallback(mask, h.decide(&s, mask)), attack);
        // where the game can heal with it, low HP still uses the item
        let cartridge = profile_for("PMDT").unwrap();
        s.set_bag_for_test(&[(pmd_game::cartridge::ORAN_BERRY, 1)]);
        let mask = ActionMask::seen(&s, cartridge);
        assert_eq!(h.decide(&s, mask), Action::UseItem);
    }
}
