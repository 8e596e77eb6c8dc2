//! What finding the stairs costs, read off a whole floor in RAM: the
//! shortest walk for a policy that knows where they are (the search finds
//! out by trying branches on savestates), and a lower bound for any policy
//! that sees only what the player sees.
//!
//! The bound assumes the floor is laid out as the bundled cartridge lays
//! it out (`native/cartridge/game.c`): rooms joined by corridors, the
//! stairs on a floor tile of a room other than the leader's, every such
//! room equally likely, and a room's tiles shown only to a leader standing
//! in it or next to it (the cartridge shows a whole room from inside, the
//! eight tiles around the leader from a corridor). The player is given
//! more than that: the whole map but the stairs, and all of a room — where
//! the stairs are or that they are not there — as soon as it reaches the
//! room's *zone* (its floor and the floor next to it; the cartridge shows
//! no room tile to a leader that has not stood in that zone, which
//! `pmd-rollout`'s `tests/stairs_zone.rs` checks as the rules play; from
//! a corridor it does show room tiles before the room is entered). Then
//! the only thing
//! a policy decides is the order in which it reaches the zones, so the
//! bound takes the order with the least expected time to reach the
//! stairs' room's zone (a dynamic programme, exact over the orders, as for
//! a travelling salesman), each walk from zone to zone at its shortest,
//! and adds the shortest walk from that zone to the stairs and the step
//! that takes them. Monsters, fights and detours are left out: they only
//! add steps. So no policy on the player's view finds the stairs faster in
//! expectation over where they lie — taking, as the generator intends,
//! the stairs' room as unknown: the layout comes from one random stream,
//! and a policy that rebuilt the stream's state from the rooms it saw could
//! know more. (Wild monsters, shown up to two tiles away, say nothing of it.)
//!
//! The `player` figure of one floor is the expectation over the stairs'
//! room plus that floor's own walk in, so it is a bound in the mean over
//! floors, not floor by floor (one floor's shortest walk may exceed it).

use crate::path::{distances, CELLS, UNREACHABLE};
use crate::ram_map::{MAP_HEIGHT, MAP_WIDTH};
use crate::DungeonState;

/// Rooms besides the leader's the bound orders at most (the programme is
/// `2^n n^2`); a floor with more has no bound.
pub const MAX_ROOMS: usize = 16;

/// The two figures for one floor, in steps (moves plus the step that
/// takes the stairs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StairsBound {
    /// The shortest walk from the leader to the stairs, plus one.
    pub oracle: u32,
    /// A lower bound on the expected steps to the stairs for a policy that
    /// does not know which room holds them (see the module doc).
    pub player: f64,
}

/// The cell `c` and the cells around it (8 ways), inside the map.
fn around(c: usize) -> impl Iterator<Item = usize> {
    let (x, y) = ((c % MAP_WIDTH) as i32, (c / MAP_WIDTH) as i32);
    (-1..=1)
        .flat_map(move |dy| (-1..=1).map(move |dx| (x + dx, y + dy)))
        .filter(|&(nx, ny)| {
            (0..MAP_WIDTH as i32).contains(&nx) && (0..MAP_HEIGHT as i32).contains(&ny)
        })
        .map(|(nx, ny)| ny as usize * MAP_WIDTH + nx as usize)
}

/// The bounds of the floor in `state` (read whole: unrevealed tiles
/// included), or `None` where the floor is not laid out as the bound
/// assumes: no leader or stairs, the leader or the stairs outside a room,
/// the stairs out of reach, or more than [`MAX_ROOMS`] other rooms.
pub fn stairs_bound(state: &DungeonState) -> Option<StairsBound> {
    let leader = state.leader()?;
    let (lx, ly) = (usize::from(leader.x), usize::from(leader.y));
    let tiles = state.tiles();
    let stairs = tiles.iter().position(|t| t.is_stairs())?;
    let start_room = state.tile(lx, ly)?.room()?;
    let stairs_room = tiles[stairs].room()?;
    let walk = |x: usize, y: usize| state.tile(x, y).is_some_and(|t| t.is_floor());
    let at = |cell: usize| ((cell % MAP_WIDTH) as u8, (cell / MAP_WIDTH) as u8);
    // A room's zone: its floor and the floor next to it (8 ways).
    let zone_of = |room: u8| {
        (0..CELLS).filter(move |&c| {
            tiles[c].is_floor() && around(c).any(|n| tiles[n].room() == Some(room))
        })
    };
    let nearest = |dist: &[u16; CELLS], room: u8| {
        zone_of(room)
            .map(|c| dist[c])
            .min()
            .filter(|&d| d != UNREACHABLE)
    };

    let mut from_leader = [0u16; CELLS];
    distances([(leader.x, leader.y)], walk, &mut from_leader);
    if from_leader[stairs] == UNREACHABLE {
        return None;
    }
    let oracle = u32::from(from_leader[stairs]) + 1;
    // The rooms the stairs may be in: every other room the leader can reach.
    let mut rooms: Vec<u8> = tiles.iter().filter_map(|t| t.room()).collect();
    rooms.sort_unstable();
    rooms.dedup();
    let others: Vec<(u8, u64)> = rooms
        .into_iter()
        .filter(|&r| r != start_room)
        .filter_map(|r| Some((r, u64::from(nearest(&from_leader, r)?))))
        .collect();
    let n = others.len();
    if n == 0 || n > MAX_ROOMS || !others.iter().any(|&(r, _)| r == stairs_room) {
        return None;
    }
    let mut d = [0u16; CELLS];
    let between: Vec<Vec<u64>> = others
        .iter()
        .map(|&(a, _)| {
            distances(zone_of(a).map(at), walk, &mut d);
            others
                .iter()
                .map(|&(b, _)| nearest(&d, b).map_or(u64::MAX / 4, u64::from))
                .collect()
        })
        .collect();
    // best[set][last]: the least sum, over the zones in `set` reached so
    // far, of the weighted walks, `last` reached last. Reaching the k-th
    // zone adds its walk to the time of every zone from the k-th on:
    // weight n - k + 1; the expected time is the full sum over n.
    let full = (1usize << n) - 1;
    let mut best = vec![u64::MAX; (full + 1) * n];
    for (r, &(_, d)) in others.iter().enumerate() {
        best[(1 << r) * n + r] = d * n as u64;
    }
    for set in 1..=full {
        let weight = (n - set.count_ones() as usize) as u64;
        for last in 0..n {
            let here = best[set * n + last];
            if here == u64::MAX {
                continue;
            }
            for next in (0..n).filter(|&r| set & (1 << r) == 0) {
                let slot = &mut best[(set | 1 << next) * n + next];
                let walk = between[last][next].saturating_mul(weight);
                *slot = (*slot).min(here.saturating_add(walk));
            }
        }
    }
    let order = (0..n).map(|last| best[full * n + last]).min()?;
    // Into the stairs' room: a walk from outside first reaches its zone on
    // a tile next to floor outside it.
    let zone: Vec<usize> = zone_of(stairs_room).collect();
    let outside = |c: usize| around(c).any(|n| tiles[n].is_floor() && !zone.contains(&n));
    let mut from_stairs = [0u16; CELLS];
    distances([at(stairs)], walk, &mut from_stairs);
    let inside = zone
        .iter()
        .filter(|&&c| outside(c))
        .map(|&c| from_stairs[c])
        .min()
        .unwrap_or(0);
    Some(StairsBound {
        oracle,
        player: order as f64 / n as f64 + f64::from(inside) + 1.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ram_map::tile::{FLAG_STAIRS, TERRAIN_FLOOR, TERRAIN_WALL};
    use crate::Monster;

    /// A floor of walls but for a corridor along y = 5 over `floor`, the
    /// leader at (`leader_x`, 5).
    fn corridor(leader_x: u8, floor: std::ops::RangeInclusive<usize>) -> DungeonState {
        let leader = Monster {
            x: leader_x,
            y: 5,
            is_leader: true,
            visible: true,
            ..Monster::default()
        };
        let mut s = DungeonState::for_test(false, &[leader], &[]);
        for y in 0..MAP_HEIGHT {
            for x in 0..MAP_WIDTH {
                let terrain = if y == 5 && floor.contains(&x) {
                    TERRAIN_FLOOR
                } else {
                    TERRAIN_WALL
                };
                s.set_tile_for_test(x, y, terrain, None);
            }
        }
        s
    }

    /// A floor of walls with three rooms in a row at y = 5, joined by a
    /// corridor along y = 5: room 0 at x = 10 (the leader's), room 1 at
    /// `left`, room 2 from `right` to `right + wide`; the stairs in room
    /// `stairs` (room 2: at its far end).
    fn floor(left: usize, right: usize, wide: usize, stairs: u8) -> DungeonState {
        let mut s = corridor(10, left..=right);
        let mut rooms = vec![(0u8, 10), (1, left)];
        rooms.extend((right..=right + wide).map(|x| (2, x)));
        for (room, x) in rooms {
            let here = room == stairs && (room != 2 || x == right + wide);
            let flags = if here {
                TERRAIN_FLOOR | FLAG_STAIRS
            } else {
                TERRAIN_FLOOR
            };
            s.set_tile_for_test(x, 5, flags, Some(room));
        }
        s
    }

    #[test]
    fn the_bound_takes_the_best_order_and_the_oracle_the_shortest_walk() {
        // A room is known from the tile next to it: room 1's zone is 1
        // step left (x = 9), room 2's 19 right (x = 29), 20 apart. Left
        // first: zones reached at 1 and 21, mean 11; right first: 19 and
        // 39, mean 29. Then one step in from the zone's first tile, and
        // the step that takes the stairs.
        let b = stairs_bound(&floor(8, 30, 0, 2)).unwrap();
        assert_eq!(b.oracle, 21);
        assert_eq!(b.player, 11.0 + 1.0 + 1.0);
        // where the stairs lie changes the oracle, and the bound only by
        // the walk in from the zone
        let b = stairs_bound(&floor(8, 30, 0, 1)).unwrap();
        assert_eq!((b.oracle, b.player), (3, 13.0));
        // room 2 three tiles wide, the stairs at its far end (x = 33):
        // the walk in from the zone's first tile (x = 29) is 4 steps
        let b = stairs_bound(&floor(8, 30, 3, 2)).unwrap();
        assert_eq!((b.oracle, b.player), (24, 11.0 + 4.0 + 1.0));
    }

    #[test]
    fn floors_the_bound_does_not_model_have_none() {
        // stairs in the leader's room
        assert_eq!(stairs_bound(&floor(8, 30, 0, 0)), None);
        // no stairs at all
        assert_eq!(stairs_bound(&floor(8, 30, 0, 9)), None);
        // the stairs' room cut off by a wall
        let mut s = floor(8, 30, 0, 2);
        s.set_tile_for_test(20, 5, TERRAIN_WALL, None);
        assert_eq!(stairs_bound(&s), None);
        // no leader
        let empty = DungeonState::for_test(false, &[], &[]);
        assert_eq!(stairs_bound(&empty), None);
    }

    #[test]
    fn the_nearest_room_first_is_not_always_the_best_order() {
        // One row, corridor x = 9..=26; the leader's room 0 at x = 20.
        // Room 1 at 26 (zone 25..=26, 5 steps away), rooms 2 at 12 (zone
        // 11..=13, 7 away) and 3 at 9 (zone 9..=10, 10 away); zones 1-2
        // 12 apart, 1-3 15, 2-3 1. Weighted 3, 2, 1: nearest first
        // (1, 2, 3) costs 15 + 24 + 1 = 40; the best, (2, 3, 1), costs
        // 21 + 2 + 15 = 38.
        let mut s = corridor(20, 9..=26);
        for (room, x) in [(0u8, 20), (2, 12), (3, 9)] {
            s.set_tile_for_test(x, 5, TERRAIN_FLOOR, Some(room));
        }
        s.set_tile_for_test(26, 5, TERRAIN_FLOOR | FLAG_STAIRS, Some(1));
        let b = stairs_bound(&s).unwrap();
        assert_eq!(b.oracle, 7);
        // the walk in: from the zone's first tile (25) to the stairs (26)
        assert!((b.player - (38.0 / 3.0 + 1.0 + 1.0)).abs() < 1e-9, "{b:?}");
    }
}
