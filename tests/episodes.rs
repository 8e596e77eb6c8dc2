//! Episode semantics of one `Env` on the test cartridge: how episodes end
//! (terminated: fainted, cleared, left; truncated: step limit, frame cap),
//! the reward of each ending, the title and menu passed from power-on by
//! the game profile, what a seed decides, and savestates checked before
//! mGBA sees them.

use pmd_agent::cartridge::{self, CartState, Event, Phase, FINAL_FLOOR};
use pmd_agent::emu::{Emulator, Keys, Rom, Snapshot};
use pmd_agent::env::{reward, Action, EndReason, Env, EnvConfig, EnvError, SeedScope};
use pmd_agent::game::menu::{tap_until, TapRhythm};
use pmd_agent::game::path::first_step;
use pmd_agent::game::ram_map::{addr, dungeon};
use pmd_agent::game::{profile_for, ActionMask, Direction};
use pmd_agent::policy::Heuristic;

fn env_with(config: EnvConfig) -> Env {
    Env::new(&cartridge::rom().unwrap(), config).unwrap()
}

fn env() -> Env {
    env_with(EnvConfig::default())
}

/// Sets the floor number in RAM (the cartridge clears after FINAL_FLOOR).
fn set_floor(env: &mut Env, floor: u8) {
    let emu = env.emulator_mut();
    let d = emu.read_u32(addr::G_DUNGEON).unwrap();
    emu.write_u8(d + dungeon::FLOOR as u32, floor).unwrap();
    env.refresh().unwrap();
}

/// Walks to the stairs (attacking what blocks the way); true on arrival.
fn walk_to_stairs(env: &mut Env) -> bool {
    let stairs = {
        let i = env
            .state()
            .tiles()
            .iter()
            .position(|t| t.is_stairs())
            .unwrap();
        ((i % 56) as u8, (i / 56) as u8)
    };
    for _ in 0..400 {
        let s = env.state();
        let l = s.leader().unwrap();
        if (l.x, l.y) == stairs {
            return true;
        }
        let Some((dir, _)) = first_step(
            (l.x, l.y),
            |x, y| s.tile(x, y).is_some_and(|t| !t.is_wall()),
            |x, y| (x, y) == (usize::from(stairs.0), usize::from(stairs.1)),
        ) else {
            return false;
        };
        let d = Direction::from_index(dir).unwrap();
        let (dx, dy) = d.delta();
        let next = (
            (l.x as i32 + dx as i32) as u8,
            (l.y as i32 + dy as i32) as u8,
        );
        let action = if s.wild().iter().any(|m| (m.x, m.y) == next) {
            Action::Attack(d)
        } else {
            Action::Move(d)
        };
        if env.step(action).unwrap().done() {
            return false;
        }
    }
    false
}

#[test]
fn the_stairs_of_the_last_floor_clear_the_dungeon() {
    let mut env = env();
    env.reset(11).unwrap();
    set_floor(&mut env, FINAL_FLOOR);
    assert!(walk_to_stairs(&mut env), "reached the stairs");
    assert!(env.action_mask().contains(Action::TakeStairs));
    let r = env.step(Action::TakeStairs).unwrap();
    assert!(r.terminated && !r.truncated, "{r:?}");
    assert_eq!(r.reason, Some(EndReason::Cleared));
    assert_eq!(r.reward, reward::CLEARED);
    assert_eq!(r.state.floor, FINAL_FLOOR, "the last state seen inside");
    let cart = CartState::read(env.emulator()).unwrap();
    assert_eq!(cart.phase, Phase::Cleared);
    assert_eq!(cart.last_event, Event::Cleared);
    assert_eq!(env.emulator().read_u32(addr::G_DUNGEON).unwrap(), 0);
    assert!(env.done());
    assert_eq!(env.action_mask(), ActionMask::NONE);
    assert!(matches!(env.step(Action::Wait), Err(EnvError::EpisodeOver)));
    // the floor before the last one only descends
    let mut env = self::env();
    env.reset(11).unwrap();
    set_floor(&mut env, FINAL_FLOOR - 1);
    assert!(walk_to_stairs(&mut env));
    let r = env.step(Action::TakeStairs).unwrap();
    assert_eq!(r.reason, None);
    assert_eq!(r.state.floor, FINAL_FLOOR);
}

#[test]
fn leaving_the_dungeon_another_way_terminates_as_left() {
    let mut env = env();
    env.reset(3).unwrap();
    // the dungeon pointer goes NULL, as when the game leaves a dungeon
    env.emulator_mut().write_u32(addr::G_DUNGEON, 0).unwrap();
    let r = env.step(Action::Wait).unwrap();
    assert!(r.terminated && !r.truncated);
    assert_eq!(r.reason, Some(EndReason::LeftDungeon));
    assert_eq!(r.reward, reward::LEFT_DUNGEON);
    assert!(r.state.hp > 0);
}

#[test]
fn the_step_limit_truncates() {
    let mut env = env_with(EnvConfig {
        max_episode_steps: Some(3),
        ..EnvConfig::default()
    });
    env.reset(5).unwrap();
    for k in 1..=3 {
        let r = env.step(Action::Wait).unwrap();
        assert_eq!(r.truncated, k == 3);
        assert!(!r.terminated);
    }
    assert_eq!(env.end_reason(), Some(EndReason::StepLimit));
    assert_eq!(env.episode_steps(), 3);
    env.reset(6).unwrap();
    assert_eq!(env.episode_steps(), 0);
    assert!(!env.done());
}

#[test]
fn the_frame_cap_truncates() {
    let mut env = env_with(EnvConfig {
        frame_cap: 8,
        ..EnvConfig::default()
    });
    env.reset(5).unwrap();
    let r = env.step(Action::Wait).unwrap();
    assert!(r.truncated && !r.terminated);
    assert_eq!(r.reason, Some(EndReason::FrameCap));
    assert_eq!(r.frames, 8);
}

#[test]
fn masks_follow_the_bag_and_the_stairs() {
    let mut env = env();
    env.reset(8).unwrap();
    assert!(!env.action_mask().contains(Action::UseItem), "empty bag");
    assert!(!env.action_mask().contains(Action::TakeStairs));
    // an Oran Berry in bag slot 0
    env.emulator_mut()
        .write_bytes(addr::G_TEAM_INVENTORY, &[1, 1, cartridge::ORAN_BERRY, 0])
        .unwrap();
    env.refresh().unwrap();
    assert!(env.action_mask().contains(Action::UseItem));
    // another item does not heal
    env.emulator_mut()
        .write_bytes(addr::G_TEAM_INVENTORY, &[1, 1, 0x10, 0])
        .unwrap();
    env.refresh().unwrap();
    assert!(!env.action_mask().contains(Action::UseItem));
    assert!(walk_to_stairs(&mut env));
    assert!(env.action_mask().contains(Action::TakeStairs));
}

#[test]
fn the_real_game_profile_masks_what_needs_menus() {
    // the B24E profile has no shortcuts for waiting, items and stairs
    let profile = profile_for("B24E").unwrap();
    let mut env = env();
    env.reset(2).unwrap();
    let mask = ActionMask::legal(env.state(), profile);
    assert!(!mask.contains(Action::Wait));
    assert!(!mask.contains(Action::UseItem));
    assert!(mask.contains(Action::Attack(Direction::Up)));
    assert!(mask.iter().any(|a| matches!(a, Action::Move(_))));
    assert_eq!(profile.presses(Action::TakeStairs), None);
}

#[test]
fn the_title_and_menu_are_edge_triggered_and_passed_by_paced_taps() {
    let rom = cartridge::rom().unwrap();
    let mut emu = Emulator::new(&rom).unwrap();
    let phase = |emu: &Emulator| CartState::read(emu).unwrap().phase;
    // holding A from power-on: pressed during the fade-in only, ignored
    emu.set_keys(Keys::A);
    emu.run_frames(120);
    assert_eq!(phase(&emu), Phase::Title);
    emu.set_keys(Keys::empty());
    // one tap opens the menu; OPTIONS is not the way in
    emu.run_frame();
    emu.set_keys(Keys::A);
    emu.run_frame();
    emu.set_keys(Keys::empty());
    emu.run_frame();
    assert_eq!(phase(&emu), Phase::Menu);
    emu.set_keys(Keys::DOWN);
    emu.run_frame();
    emu.set_keys(Keys::empty());
    emu.run_frame();
    emu.set_keys(Keys::A);
    emu.run_frame();
    emu.set_keys(Keys::empty());
    emu.run_frame();
    assert_eq!(phase(&emu), Phase::Menu, "OPTIONS leads nowhere");
    assert_eq!(CartState::read(&emu).unwrap().menu_cursor, 1);
    // the shared walker passes the rest
    let frames = tap_until(&mut emu, TapRhythm::default(), |e| {
        phase(e) == Phase::Seeding
    });
    assert!(frames.is_err(), "tapping A on OPTIONS never gets in");
    emu.reset();
    let taps = tap_until(&mut emu, TapRhythm::default(), |e| {
        phase(e) == Phase::Seeding
    })
    .expect("from power-on the walker reaches the dungeon");
    assert!((30..200).contains(&taps), "{taps} frames");
}

#[test]
fn a_seed_decides_the_whole_episode_from_power_on() {
    let mut env = env();
    env.reset(100).unwrap();
    assert_eq!(env.seed_scope(), SeedScope::WholeEpisode);
    let a = env.state().ascii_rows();
    env.reset(101).unwrap();
    assert_ne!(env.state().ascii_rows(), a);
    env.reset(100).unwrap();
    assert_eq!(env.state().ascii_rows(), a, "resets restore the boot point");
    assert_eq!(
        env.emulator()
            .read_u32(cartridge::addr::FLOOR_SEED)
            .unwrap(),
        100
    );
}

#[test]
fn a_savestate_inside_a_floor_says_the_seed_decides_only_later_floors() {
    let mut env = env();
    env.reset(21).unwrap();
    for _ in 0..4 {
        let a = Heuristic::default().decide(env.state(), env.action_mask());
        env.step(a).unwrap();
    }
    let file = env.emulator_mut().export_mgba_state_file().unwrap();
    let mut other = self::env();
    other.start_from_state_file(&file).unwrap();
    other.reset(1).unwrap();
    assert_eq!(other.seed_scope(), SeedScope::NextFloor);
    let first = other.state().ascii_rows();
    other.reset(2).unwrap();
    assert_eq!(other.state().ascii_rows(), first, "the same floor");
}

#[test]
fn pmd_agent_snapshots_start_episodes_and_damaged_ones_are_refused() {
    let mut env = env();
    env.reset(31).unwrap();
    env.step(Action::Wait).unwrap();
    let bytes = env.emulator_mut().snapshot().unwrap().to_bytes();
    let expected = env.state().ascii_rows();
    let mut other = self::env();
    other.start_from_state_file(&bytes).unwrap();
    other.reset(31).unwrap();
    assert_eq!(other.state().ascii_rows(), expected);
    // a flipped byte: the checksum catches it before mGBA sees it
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x40;
    let err = other.start_from_state_file(&damaged).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    // from another ROM: refused by its recorded CRC-32
    let mut foreign = Snapshot::from_bytes(&bytes).unwrap().to_bytes();
    foreign[8..12].copy_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
    assert!(other.start_from_state_file(&foreign).is_err());
    other.reset(4).unwrap();
}

/// The cartridge with another title and game code: another game.
fn other_game() -> Rom {
    let mut bytes = cartridge::ROM_BYTES.to_vec();
    bytes[0xA0] = b'Q';
    bytes[0xAC..0xB0].copy_from_slice(b"QQQQ");
    let sum = bytes[0xA0..0xBD]
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b));
    bytes[0xBD] = 0u8.wrapping_sub(sum.wrapping_add(0x19));
    Rom::from_bytes(bytes, "other game").unwrap()
}

/// The cartridge with one byte of code changed: the same game (title and
/// code), another ROM image.
fn other_version() -> Rom {
    let mut bytes = cartridge::ROM_BYTES.to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    Rom::from_bytes(bytes, "other version").unwrap()
}

#[test]
fn frontend_savestates_of_another_game_or_version_are_refused_before_loading() {
    for (rom, needle) in [
        (other_game(), "another game"),
        (other_version(), "another ROM"),
    ] {
        let mut emu = Emulator::new(&rom).unwrap();
        emu.run_frames(5);
        let file = emu.export_mgba_state_file().unwrap();
        let mut env = env();
        let err = env.start_from_state_file(&file).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
        env.reset(1).unwrap();
    }
}

/// The observation's coarse map, ways, reach, bag and stairs scalars against their definition
/// (`rollout::obs`), recomputed tile by tile here, step by step while the
/// heuristic explores a floor.
#[test]
fn the_coarse_map_and_stairs_scalars_follow_the_revealed_map() {
    use pmd_agent::rollout::obs::{
        self, coarse, nav, COARSE_HEIGHT, COARSE_START, COARSE_WIDTH, FEATURES, NAV_START, REACH,
        SCALARS_START,
    };
    let mut env = env();
    env.reset(21).unwrap();
    let heuristic = Heuristic::default();
    let mut row = vec![0.0f32; FEATURES];
    let (mut saw_unknown_stairs, mut saw_known_stairs) = (false, false);
    let mut saw_way_to_stairs = false;
    let mut frontier_blocks = Vec::new();
    for _ in 0..120 {
        let s = env.state();
        let l = s.leader().unwrap();
        obs::encode(s, env.floor_turns(), &mut row);
        // ' ' unrevealed, '.' revealed and walkable, '#' revealed and not
        let rows: Vec<Vec<u8>> = (0..32)
            .map(|y| {
                (0..56)
                    .map(|x| match s.tile(x, y).unwrap() {
                        t if !t.revealed() => b' ',
                        t if t.is_wall() || t.is_water() => b'#',
                        _ => b'.',
                    })
                    .collect()
            })
            .collect();
        let at = |x: i32, y: i32| {
            (x >= 0 && y >= 0)
                .then(|| rows.get(y as usize)?.get(x as usize).copied())
                .flatten()
        };
        let mut want = vec![0.0f32; COARSE_WIDTH * COARSE_HEIGHT * 5];
        let mut set = |c: usize, x: usize, y: usize| {
            want[(c * COARSE_HEIGHT + y / 4) * COARSE_WIDTH + x / 4] = 1.0;
        };
        for (y, line) in rows.iter().enumerate() {
            for (x, &ch) in line.iter().enumerate() {
                if s.tile(x, y).unwrap().visited() {
                    set(coarse::VISITED, x, y);
                }
                if ch != b'.' {
                    continue;
                }
                set(coarse::WALKABLE, x, y);
                let near_unknown = (-1..=1)
                    .any(|dy| (-1..=1).any(|dx| at(x as i32 + dx, y as i32 + dy) == Some(b' ')));
                if near_unknown {
                    set(coarse::FRONTIER, x, y);
                }
            }
        }
        set(coarse::LEADER, l.x.into(), l.y.into());
        let scalars = &row[SCALARS_START..];
        match s.stairs() {
            Some((sx, sy)) => {
                saw_known_stairs = true;
                set(coarse::STAIRS, sx.into(), sy.into());
                assert_eq!(scalars[4], 1.0);
                assert_eq!(scalars[5], (f32::from(sx) - f32::from(l.x)) / 56.0);
                assert_eq!(scalars[6], (f32::from(sy) - f32::from(l.y)) / 32.0);
            }
            None => {
                saw_unknown_stairs = true;
                assert_eq!(&scalars[4..7], &[0.0; 3]);
            }
        }
        assert_eq!(&row[COARSE_START..NAV_START], &want[..]);
        assert_eq!(scalars[7], s.bag().len() as f32 / 20.0);
        // Each goal's ways: a one-hot at the first move of the shortest path
        // `first_step` finds around visible monsters, and its reach scalar
        // 1 / (1 + length) (1 when standing on a goal).
        let seen_monster = |x: usize, y: usize| {
            s.visible_wild()
                .any(|m| (usize::from(m.x), usize::from(m.y)) == (x, y))
        };
        let walk = |x: usize, y: usize| {
            s.tile(x, y)
                .is_some_and(|t| t.revealed() && !t.is_wall() && !t.is_water())
                && !seen_monster(x, y)
        };
        let check = |goal: usize, on_goal: bool, path: Option<(u8, u32)>| {
            let ways = &row[NAV_START + 8 * goal..][..8];
            let reach = scalars[REACH + goal];
            let mut want = [0.0f32; 8];
            let want_reach = match (on_goal, path) {
                (true, _) => 1.0,
                (false, Some((dir, len))) => {
                    want[usize::from(dir)] = 1.0;
                    1.0 / (1.0 + len as f32)
                }
                (false, None) => 0.0,
            };
            assert_eq!(ways, &want[..], "ways to goal {goal}");
            assert_eq!(reach, want_reach, "reach of goal {goal}");
        };
        let frontier = |x: usize, y: usize| {
            s.tile(x, y)
                .is_some_and(|t| t.revealed() && !t.is_wall() && !t.is_water())
                && (-1..=1)
                    .any(|dy| (-1..=1).any(|dx| at(x as i32 + dx, y as i32 + dy) == Some(b' ')))
        };
        check(
            nav::FRONTIER,
            frontier(l.x.into(), l.y.into()),
            first_step((l.x, l.y), walk, frontier),
        );
        let item_at = |x: usize, y: usize| {
            s.items()
                .iter()
                .any(|o| o.visible && (usize::from(o.x), usize::from(o.y)) == (x, y))
        };
        check(
            nav::ITEM,
            item_at(l.x.into(), l.y.into()),
            first_step((l.x, l.y), walk, item_at),
        );
        if let Some((sx, sy)) = s.stairs() {
            let on = |x: usize, y: usize| (x, y) == (usize::from(sx), usize::from(sy));
            let path = first_step((l.x, l.y), walk, on);
            saw_way_to_stairs |= path.is_some_and(|(_, len)| len > 1);
            check(nav::STAIRS, (l.x, l.y) == (sx, sy), path);
        } else {
            check(nav::STAIRS, false, None);
        }
        frontier_blocks.push(
            want[COARSE_WIDTH * COARSE_HEIGHT..][..COARSE_WIDTH * COARSE_HEIGHT]
                .iter()
                .sum::<f32>(),
        );
        if env
            .step(heuristic.decide(env.state(), env.action_mask()))
            .unwrap()
            .done()
        {
            break;
        }
        if env.state().floor != 1 {
            break;
        }
    }
    assert!(
        saw_unknown_stairs,
        "the floor starts with the stairs unseen"
    );
    assert!(saw_known_stairs, "the heuristic finds the stairs");
    assert!(saw_way_to_stairs, "and walks a way to them");
    assert!(
        frontier_blocks[0] > 0.0,
        "a new floor has somewhere to explore"
    );
}
