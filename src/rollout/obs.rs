//! The observation encoder, in one place: what a policy sees of a decoded
//! dungeon as a flat `f32` feature vector.
//!
//! Layout (`FEATURES` = 15 x 15 x 8 + 4 = 1,804 floats):
//!
//! 1. An egocentric window of `WINDOW` x `WINDOW` cells centred on the
//!    leader, channel-major (`[channel][dy][dx]`), each cell 0 or 1:
//!    - 0 wall (also every cell outside the map),
//!    - 1 walkable floor, 2 water, 3 stairs,
//!    - 4 visible wild monster, 5 visible item, 6 visible trap,
//!    - 7 visited by the leader.
//!
//!    Unrevealed cells are all zeros: the agent sees what the player sees.
//! 2. Four scalars: HP / max HP, belly / max belly, floor / 10, turns on
//!    this floor / 100.

use crate::game::ram_map::{MAP_HEIGHT, MAP_WIDTH};
use crate::game::DungeonState;

/// Side of the egocentric window, in cells (odd: the leader is the centre).
pub const WINDOW: usize = 15;
/// Channels per window cell.
pub const CHANNELS: usize = 8;
/// Scalars after the window.
pub const SCALARS: usize = 4;
/// Length of one observation.
pub const FEATURES: usize = WINDOW * WINDOW * CHANNELS + SCALARS;

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
    let ratio = |a: i16, b: i16| {
        if b > 0 {
            f32::from(a) / f32::from(b)
        } else {
            0.0
        }
    };
    let scalars = &mut out[WINDOW * WINDOW * CHANNELS..];
    scalars[0] = ratio(leader.hp, leader.max_hp);
    scalars[1] = ratio(leader.belly, leader.max_belly);
    scalars[2] = f32::from(state.floor) / 10.0;
    scalars[3] = floor_turns as f32 / 100.0;
}

/// The window index of channel `channel` at window cell (`wy`, `wx`).
pub fn index(channel: usize, wy: usize, wx: usize) -> usize {
    cell(channel, wy, wx)
}
