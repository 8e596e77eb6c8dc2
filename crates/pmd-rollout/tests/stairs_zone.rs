//! What `pmd_game::stairs_bound` rests on, checked on the cartridge as it
//! plays: a room's tiles (its stairs included) are never shown to a leader
//! that has not stood in the room's zone (its floor and the floor next to
//! it). If the cartridge showed a room from farther away, a policy on the
//! player's view could learn where the stairs are sooner than the bound
//! allows, and the bound would not be one.

use std::collections::BTreeSet;

use pmd_game::env::{Env, EnvConfig};
use pmd_game::ram_map::{MAP_HEIGHT, MAP_WIDTH};
use pmd_game::DungeonState;
use pmd_rollout::episode_seed;
use pmd_rollout::policy::{legal_or_fallback, Heuristic};

/// The zone of each room: floor cells in or next to (8 ways) its tiles.
fn zones(state: &DungeonState) -> Vec<(u8, BTreeSet<usize>)> {
    let rooms: BTreeSet<u8> = state.tiles().iter().filter_map(|t| t.room()).collect();
    rooms
        .into_iter()
        .map(|room| {
            let mut zone = BTreeSet::new();
            for y in 0..MAP_HEIGHT {
                for x in 0..MAP_WIDTH {
                    let near = (-1i32..=1).any(|dy| {
                        (-1i32..=1).any(|dx| {
                            let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                            nx >= 0
                                && ny >= 0
                                && state
                                    .tile(nx as usize, ny as usize)
                                    .is_some_and(|t| t.room() == Some(room))
                        })
                    });
                    if near && state.tile(x, y).is_some_and(|t| t.is_floor()) {
                        zone.insert(y * MAP_WIDTH + x);
                    }
                }
            }
            (room, zone)
        })
        .collect()
}

#[test]
fn no_room_is_shown_before_the_leader_reaches_its_zone() {
    let rom = pmd_game::cartridge::rom().unwrap();
    let mut env = Env::new(&rom, EnvConfig::default()).unwrap();
    let rules = Heuristic::player_view();
    let (mut checked_steps, mut rooms_reached) = (0, 0);
    for k in 0..30 {
        env.reset(episode_seed(77, k, 0)).unwrap();
        let state = env.state();
        let floor = state.floor;
        let zones = zones(state);
        assert!(zones.len() >= 2, "episode {k}: {} rooms", zones.len());
        let mut reached: BTreeSet<u8> = BTreeSet::new();
        for _ in 0..300 {
            let state = env.state();
            if state.floor != floor {
                break;
            }
            let leader = state.leader().unwrap();
            let here = usize::from(leader.y) * MAP_WIDTH + usize::from(leader.x);
            for (room, zone) in &zones {
                if zone.contains(&here) {
                    reached.insert(*room);
                }
            }
            for (room, _) in zones.iter().filter(|(r, _)| !reached.contains(r)) {
                let shown = state
                    .tiles()
                    .iter()
                    .any(|t| t.room() == Some(*room) && t.revealed());
                assert!(
                    !shown,
                    "episode {k}: room {room} shown before the leader reached its zone \
                     (leader at {}, {})",
                    leader.x, leader.y
                );
            }
            checked_steps += 1;
            let mask = env.action_mask();
            env.step(legal_or_fallback(mask, rules.decide(state, mask)))
                .unwrap();
        }
        rooms_reached += reached.len();
    }
    // the check saw play: many steps, rooms entered beyond the first
    assert!(checked_steps > 1500, "{checked_steps} steps");
    assert!(rooms_reached > 30 * 2, "{rooms_reached} rooms reached");
}
