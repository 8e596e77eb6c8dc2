//! The observation encoder, in one place: what a policy sees of a decoded
//! dungeon as a flat `f32` feature vector.
//!
//! Layout (`FEATURES` = 15 x 15 x 8 + 14 x 8 x 5 + 3 x 8 + 11 = 2,395
//! floats):
//!
//! 1. An egocentric window of `WINDOW` x `WINDOW` cells centred on the
//!    leader, channel-major (`[channel][dy][dx]`), each cell 0 or 1:
//!    - 0 wall (also every cell outside the map),
//!    - 1 walkable floor, 2 water, 3 stairs,
//!    - 4 visible wild monster, 5 visible item, 6 visible trap,
//!    - 7 visited by the leader.
//!
//!    Unrevealed cells are all zeros: the agent sees what the player sees.
//! 2. A coarse map of the whole floor, as the game's minimap shows it:
//!    the 56 x 32 map cut into 4 x 4 blocks (`COARSE_WIDTH` x
//!    `COARSE_HEIGHT` = 14 x 8), channel-major (`[channel][by][bx]`), each
//!    block 0 or 1 (`coarse` channel indices):
//!    - 0 some revealed walkable tile,
//!    - 1 some frontier tile (revealed, walkable, next to an unrevealed
//!      tile: where exploring goes on),
//!    - 2 some tile visited by the leader,
//!    - 3 the stairs, once revealed,
//!    - 4 the leader.
//!
//!    The window sees 7 tiles each way; the coarse map says where the
//!    unexplored parts and the stairs are when they are farther.
//! 3. Ways: for each of three goals (`nav` indices: the stairs, the nearest
//!    frontier tile, the nearest visible item), 8 cells (the moves, in
//!    `Direction` order), 1 at the first move of a shortest path to the
//!    goal and 0 elsewhere (`game::path::first_step`, over the revealed
//!    walkable map without the tiles of visible wild monsters; all 0 when
//!    no such goal is known or reachable, or the leader stands on one).
//!    It is what a player reads off the map at a glance: which way leads
//!    to the stairs or to unexplored ground.
//! 4. Eleven scalars: HP / max HP, belly / max belly, floor / 10, turns on
//!    this floor / 100, stairs revealed (0 or 1), the stairs' offset
//!    from the leader, dx / 56 and dy / 32 (0 while unrevealed), the
//!    bag's fill (items / 20), and from `REACH` on, for each goal of the
//!    ways, `1 / (1 + d)` with `d` the length of that shortest path (1 on
//!    the goal, 0 when none is known or reachable).

use crate::path::{first_step, CELLS};
use crate::ram_map::{MAP_HEIGHT, MAP_WIDTH, TEAM_ITEMS};
use crate::DungeonState;

/// Side of the egocentric window, in cells (odd: the leader is the centre).
pub const WINDOW: usize = 15;
/// Channels per window cell.
pub const CHANNELS: usize = 8;
/// Side of one coarse-map block, in tiles.
pub const BLOCK: usize = 4;
/// Coarse-map width, in blocks.
pub const COARSE_WIDTH: usize = MAP_WIDTH.div_ceil(BLOCK);
/// Coarse-map height, in blocks.
pub const COARSE_HEIGHT: usize = MAP_HEIGHT.div_ceil(BLOCK);
/// Channels per coarse-map block.
pub const COARSE_CHANNELS: usize = 5;
/// Where the coarse map starts in an observation.
pub const COARSE_START: usize = WINDOW * WINDOW * CHANNELS;
/// Where the ways start in an observation.
pub const NAV_START: usize = COARSE_START + COARSE_WIDTH * COARSE_HEIGHT * COARSE_CHANNELS;
/// Goals the ways lead to.
pub const NAV_GOALS: usize = 3;
/// Scalars after the ways.
pub const SCALARS: usize = 11;
/// Where the reach scalars (one per `nav` goal) start among the scalars.
pub const REACH: usize = 8;
/// Where the scalars start in an observation.
pub const SCALARS_START: usize = NAV_START + NAV_GOALS * 8;
/// Length of one observation.
pub const FEATURES: usize = SCALARS_START + SCALARS;

/// Channel indices.
pub mod channel {
    /// Wall or outside the map.
    pub const WALL: usize = 0;
    /// Walkable floor.
    pub const FLOOR: usize = 1;
    /// Water or lava.
    pub const WATER: usize = 2;
    /// Stairs.
    pub const STAIRS: usize = 3;
    /// Visible wild monster.
    pub const MONSTER: usize = 4;
    /// Visible item.
    pub const ITEM: usize = 5;
    /// Visible trap.
    pub const TRAP: usize = 6;
    /// Visited by the leader.
    pub const VISITED: usize = 7;
}

/// Coarse-map channel indices.
pub mod coarse {
    /// Some revealed walkable tile.
    pub const WALKABLE: usize = 0;
    /// Some revealed walkable tile next to an unrevealed one.
    pub const FRONTIER: usize = 1;
    /// Some tile the leader visited.
    pub const VISITED: usize = 2;
    /// The stairs, once revealed.
    pub const STAIRS: usize = 3;
    /// The leader.
    pub const LEADER: usize = 4;
}

/// Goal indices of the ways (each a run of 8 moves).
pub mod nav {
    /// The stairs, once revealed.
    pub const STAIRS: usize = 0;
    /// The nearest frontier tile (revealed, walkable, next to an unrevealed
    /// one).
    pub const FRONTIER: usize = 1;
    /// The nearest visible item.
    pub const ITEM: usize = 2;
}

const HALF: i32 = (WINDOW / 2) as i32;

fn cell(channel: usize, wy: usize, wx: usize) -> usize {
    (channel * WINDOW + wy) * WINDOW + wx
}

/// Writes the observation of `state` into `out` (`FEATURES` floats). With
/// no leader (outside a dungeon) the observation is all zeros.
pub fn encode(state: &DungeonState, floor_turns: u32, out: &mut [f32]) {
    let out = &mut out[..FEATURES];
    out.fill(0.0);
    let Some(leader) = state.leader() else {
        return;
    };
    let (lx, ly) = (i32::from(leader.x), i32::from(leader.y));
    let window_of = |x: u8, y: u8| {
        let (wx, wy) = (i32::from(x) - lx + HALF, i32::from(y) - ly + HALF);
        ((0..WINDOW as i32).contains(&wx) && (0..WINDOW as i32).contains(&wy))
            .then_some((wy as usize, wx as usize))
    };
    for wy in 0..WINDOW {
        for wx in 0..WINDOW {
            let (x, y) = (lx + wx as i32 - HALF, ly + wy as i32 - HALF);
            if !(0..MAP_WIDTH as i32).contains(&x) || !(0..MAP_HEIGHT as i32).contains(&y) {
                out[cell(channel::WALL, wy, wx)] = 1.0;
                continue;
            }
            let Some(t) = state.tile(x as usize, y as usize) else {
                continue;
            };
            if !t.revealed() {
                continue;
            }
            let ch = if t.is_wall() {
                channel::WALL
            } else if t.is_water() {
                channel::WATER
            } else {
                channel::FLOOR
            };
            out[cell(ch, wy, wx)] = 1.0;
            if t.is_stairs() {
                out[cell(channel::STAIRS, wy, wx)] = 1.0;
            }
            if t.visited() {
                out[cell(channel::VISITED, wy, wx)] = 1.0;
            }
        }
    }
    for m in state.visible_wild() {
        if let Some((wy, wx)) = window_of(m.x, m.y) {
            out[cell(channel::MONSTER, wy, wx)] = 1.0;
        }
    }
    for o in state.items().iter().filter(|o| o.visible) {
        if let Some((wy, wx)) = window_of(o.x, o.y) {
            out[cell(channel::ITEM, wy, wx)] = 1.0;
        }
    }
    for o in state.traps().iter().filter(|o| o.visible) {
        if let Some((wy, wx)) = window_of(o.x, o.y) {
            out[cell(channel::TRAP, wy, wx)] = 1.0;
        }
    }
    // Computed once: the coarse map marks it, the ways search it.
    let mut frontier = [false; CELLS];
    for (cell, f) in frontier.iter_mut().enumerate() {
        *f = state.is_frontier(cell % MAP_WIDTH, cell / MAP_WIDTH);
    }
    encode_coarse(
        state,
        &frontier,
        (leader.x, leader.y),
        &mut out[COARSE_START..NAV_START],
    );
    let (ways, scalars) = out[NAV_START..].split_at_mut(SCALARS_START - NAV_START);
    encode_ways(
        state,
        &frontier,
        (leader.x, leader.y),
        ways,
        &mut scalars[REACH..REACH + NAV_GOALS],
    );
    let ratio = |a: i16, b: i16| {
        if b > 0 {
            f32::from(a) / f32::from(b)
        } else {
            0.0
        }
    };
    let scalars = &mut out[SCALARS_START..];
    scalars[0] = ratio(leader.hp, leader.max_hp);
    scalars[1] = ratio(leader.belly, leader.max_belly);
    scalars[2] = f32::from(state.floor) / 10.0;
    scalars[3] = floor_turns as f32 / 100.0;
    scalars[7] = state.bag().len() as f32 / TEAM_ITEMS as f32;
    if let Some((sx, sy)) = state.stairs() {
        scalars[4] = 1.0;
        scalars[5] = (f32::from(sx) - f32::from(leader.x)) / MAP_WIDTH as f32;
        scalars[6] = (f32::from(sy) - f32::from(leader.y)) / MAP_HEIGHT as f32;
    }
}

fn coarse_cell(channel: usize, x: usize, y: usize) -> usize {
    (channel * COARSE_HEIGHT + y / BLOCK) * COARSE_WIDTH + x / BLOCK
}

/// Fills the ways (`out` is their zeroed slice of the observation) and
/// the three reach scalars (`reach`, one per goal); `frontier` is
/// `DungeonState::is_frontier` of every cell.
fn encode_ways(
    state: &DungeonState,
    frontier: &[bool; CELLS],
    leader: (u8, u8),
    out: &mut [f32],
    reach: &mut [f32],
) {
    let (lx, ly) = (usize::from(leader.0), usize::from(leader.1));
    if lx >= MAP_WIDTH || ly >= MAP_HEIGHT {
        return;
    }
    // As the rules walk: around the wild monsters the player can see.
    let monster_at = |x: usize, y: usize| {
        state
            .visible_wild()
            .any(|m| (usize::from(m.x), usize::from(m.y)) == (x, y))
    };
    let passable = |x: usize, y: usize| state.known_walkable(x, y) && !monster_at(x, y);
    let stairs = state
        .stairs()
        .map(|(x, y)| (usize::from(x), usize::from(y)));
    let item_at = |x: usize, y: usize| {
        state
            .items()
            .iter()
            .any(|o| o.visible && (usize::from(o.x), usize::from(o.y)) == (x, y))
    };
    for goal in [nav::STAIRS, nav::FRONTIER, nav::ITEM] {
        let is_goal = |x: usize, y: usize| match goal {
            nav::STAIRS => Some((x, y)) == stairs,
            nav::FRONTIER => frontier[y * MAP_WIDTH + x],
            _ => item_at(x, y),
        };
        if goal == nav::STAIRS && stairs.is_none() {
            continue;
        }
        if is_goal(lx, ly) {
            reach[goal] = 1.0;
            continue;
        }
        if let Some((dir, len)) = first_step(leader, passable, is_goal) {
            out[goal * 8 + usize::from(dir)] = 1.0;
            reach[goal] = 1.0 / (1.0 + len as f32);
        }
    }
}

/// Fills the coarse map (`out` is its zeroed slice of the observation);
/// `frontier` is `DungeonState::is_frontier` of every cell.
fn encode_coarse(
    state: &DungeonState,
    frontier: &[bool; CELLS],
    leader: (u8, u8),
    out: &mut [f32],
) {
    for y in 0..MAP_HEIGHT {
        for x in 0..MAP_WIDTH {
            if state.tile(x, y).is_some_and(|t| t.visited()) {
                out[coarse_cell(coarse::VISITED, x, y)] = 1.0;
            }
            if state.known_walkable(x, y) {
                out[coarse_cell(coarse::WALKABLE, x, y)] = 1.0;
                if frontier[y * MAP_WIDTH + x] {
                    out[coarse_cell(coarse::FRONTIER, x, y)] = 1.0;
                }
            }
        }
    }
    // Positions come from RAM: off-map ones (garbage) mark nothing.
    let mut mark = |channel: usize, (x, y): (u8, u8)| {
        let (x, y) = (usize::from(x), usize::from(y));
        if x < MAP_WIDTH && y < MAP_HEIGHT {
            out[coarse_cell(channel, x, y)] = 1.0;
        }
    };
    if let Some(stairs) = state.stairs() {
        mark(coarse::STAIRS, stairs);
    }
    mark(coarse::LEADER, leader);
}

/// The window index of channel `channel` at window cell (`wy`, `wx`).
pub fn index(channel: usize, wy: usize, wx: usize) -> usize {
    cell(channel, wy, wx)
}
