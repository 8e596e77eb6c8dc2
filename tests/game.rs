//! The game layer and step API on the test cartridge: scripted actions
//! checked against what they must produce, determinism, branching, and the
//! decoder's refusal of bad RAM.

use pmd_agent::cartridge::{self, addr as cart_addr, CartState, Event};
use pmd_agent::emu::{Emulator, Rom, EWRAM_BASE, EWRAM_SIZE};
use pmd_agent::env::{Action, Direction, EndReason, Env, EnvConfig, EnvError, StepResult};
use pmd_agent::game::path::first_step;
use pmd_agent::game::ram_map::{addr, dungeon, entity, info};
use pmd_agent::game::{DecodeError, DungeonState, DungeonView};

fn env() -> Env {
    Env::new(&cartridge::rom().unwrap(), EnvConfig::default()).unwrap()
}

fn leader(env: &Env) -> (u8, u8) {
    let l = env.state().leader().expect("leader");
    (l.x, l.y)
}

fn event(env: &Env) -> Event {
    CartState::read(env.emulator()).unwrap().last_event
}

/// A direction from the leader into a wall, if any.
fn wall_direction(env: &Env) -> Option<Direction> {
    let (x, y) = leader(env);
    Direction::ALL.into_iter().find(|d| {
        let (dx, dy) = d.delta();
        let t = env
            .state()
            .tile(
                (x as i32 + dx as i32) as usize,
                (y as i32 + dy as i32) as usize,
            )
            .unwrap();
        t.is_wall() && (dx == 0 || dy == 0)
    })
}

#[test]
fn reset_starts_floor_one_ready_for_input() {
    let mut env = env();
    let start = env.reset(42).unwrap();
    assert_eq!(env.profile().code(), "PMDT");
    assert_eq!(start.floor, 1);
    assert_eq!(start.hp, 40);
    assert_eq!(start.max_hp, 40);
    assert_eq!(start.belly, 100);
    let s = env.state();
    assert!(s.turn_ready);
    let l = s.leader().unwrap();
    assert!(l.is_leader);
    assert_eq!(l.level, 5);
    assert!(s.tile(l.x.into(), l.y.into()).unwrap().is_floor());
    assert!(s.tile(l.x.into(), l.y.into()).unwrap().visited());
    // gLeaderPosition mirrors the entity
    let emu = env.emulator();
    assert_eq!(
        emu.read_u16(addr::G_LEADER_POSITION).unwrap(),
        u16::from(l.x)
    );
    assert_eq!(
        emu.read_u16(addr::G_LEADER_POSITION + 2).unwrap(),
        u16::from(l.y)
    );
    // the map has rooms and walls, and at least three wild monsters exist
    let floors = s.tiles().iter().filter(|t| t.is_floor()).count();
    assert!(floors > 100, "{floors} floor tiles");
    assert!(s.wild().len() >= 3, "{} wild monsters", s.wild().len());
    assert!(!s.items().is_empty());
    assert_eq!(s.tiles().iter().filter(|t| t.is_stairs()).count(), 1);
}

#[test]
fn walking_into_a_wall_does_not_move_the_leader() {
    let mut env = env();
    // Find a seed whose start tile touches a wall orthogonally.
    let dir = (1..50)
        .find_map(|seed| {
            env.reset(seed).unwrap();
            wall_direction(&env)
        })
        .expect("some start next to a wall");
    let before = leader(&env);
    let r = env.step(Action::Move(dir)).unwrap();
    assert_eq!(leader(&env), before);
    assert_eq!(event(&env), Event::Blocked);
    assert_eq!(r.state.floor_turns, 0, "a blocked move takes no turn");
    assert!(r.frames <= 3, "blocked move took {} frames", r.frames);
    assert!(!r.done() && r.reason.is_none());
}

#[test]
fn a_move_takes_several_frames_with_the_turn_flag_clear() {
    let mut env = env();
    env.reset(3).unwrap();
    let (x, y) = leader(&env);
    let dir = Direction::ALL
        .into_iter()
        .find(|d| {
            let (dx, dy) = d.delta();
            let (tx, ty) = (
                (x as i32 + dx as i32) as usize,
                (y as i32 + dy as i32) as usize,
            );
            env.state().tile(tx, ty).unwrap().is_floor()
                && dx != 0
                && dy == 0
                && !env
                    .state()
                    .wild()
                    .iter()
                    .any(|m| (m.x as usize, m.y as usize) == (tx, ty))
        })
        .expect("a free horizontal neighbour");

    // Raw frames: the flag clears when the move starts and comes back later.
    let emu = env.emulator_mut();
    emu.set_keys(dir.keys());
    emu.run_frame();
    emu.set_keys(pmd_agent::emu::Keys::empty());
    let mut busy = 0;
    for _ in 0..30 {
        if DungeonView::of(emu).unwrap().turn_ready() {
            break;
        }
        busy += 1;
        emu.run_frame();
    }
    assert!(
        (6..=12).contains(&busy),
        "turn flag clear for {busy} frames"
    );
    env.refresh().unwrap();
    let (dx, _) = dir.delta();
    assert_eq!(leader(&env), ((x as i32 + dx as i32) as u8, y));
}

/// Walks the leader to `goal` (attacking monsters in the way); returns the
/// steps' results.
fn walk_to(env: &mut Env, goal: (u8, u8), limit: usize) -> Vec<StepResult> {
    let mut results = Vec::new();
    for _ in 0..limit {
        let here = leader(env);
        if here == goal || env.done() {
            break;
        }
        let s = env.state();
        let (dir, _) = first_step(
            here,
            |x, y| s.tile(x, y).is_some_and(|t| !t.is_wall()),
            |x, y| (x, y) == (goal.0 as usize, goal.1 as usize),
        )
        .expect("goal reachable");
        let d = Direction::from_index(dir).unwrap();
        let (dx, dy) = d.delta();
        let next = (
            (here.0 as i32 + dx as i32) as u8,
            (here.1 as i32 + dy as i32) as u8,
        );
        let blocked = s.wild().iter().any(|m| (m.x, m.y) == next);
        let action = if blocked {
            Action::Attack(d)
        } else {
            Action::Move(d)
        };
        results.push(env.step(action).unwrap());
    }
    results
}

fn stairs_of(s: &DungeonState) -> (u8, u8) {
    let i = s.tiles().iter().position(|t| t.is_stairs()).unwrap();
    ((i % 56) as u8, (i / 56) as u8)
}

#[test]
fn taking_the_stairs_increments_the_floor() {
    let mut env = env();
    env.reset(11).unwrap();
    let stairs = stairs_of(env.state());
    let results = walk_to(&mut env, stairs, 400);
    assert!(!env.done(), "fainted on the way: {:?}", results.last());
    assert_eq!(leader(&env), stairs);
    assert!(env.state().stairs().is_some(), "stairs revealed on arrival");
    let total_before = CartState::read(env.emulator()).unwrap().total_turns;
    assert!(total_before > 0);
    let r = env.step(Action::TakeStairs).unwrap();
    assert_eq!(r.state.floor, 2);
    assert_eq!(env.state().floor, 2);
    assert_eq!(event(&env), Event::Stairs);
    assert!(r.reward >= 1.0, "reward {}", r.reward);
    assert_eq!(r.state.floor_turns, 0);
    // a new map: the leader stands on a fresh floor tile
    let l = env.state().leader().unwrap();
    assert!(env.state().tile(l.x.into(), l.y.into()).unwrap().is_floor());
}

#[test]
fn stairs_off_the_stairs_and_items_without_items_take_no_turn() {
    let mut env = env();
    env.reset(5).unwrap();
    let r = env.step(Action::TakeStairs).unwrap();
    assert_eq!(event(&env), Event::NotOnStairs);
    assert_eq!(r.state.floor, 1);
    assert_eq!(r.state.floor_turns, 0);
    let r = env.step(Action::UseItem).unwrap();
    assert_eq!(event(&env), Event::NoItem);
    assert_eq!(r.state.floor_turns, 0);
    let r = env.step(Action::Wait).unwrap();
    assert_eq!(event(&env), Event::Waited);
    assert_eq!(r.state.floor_turns, 1);
}

#[test]
fn picking_up_and_eating_an_item_heals() {
    let mut env = env();
    env.reset(8).unwrap();
    let item = env.state().items()[0];
    walk_to(&mut env, (item.x, item.y), 400);
    assert!(!env.done());
    assert!(
        !env.state()
            .items()
            .iter()
            .any(|o| (o.x, o.y) == (item.x, item.y)),
        "item still on the floor"
    );
    let inventory = env.emulator().read_u8(addr::G_TEAM_INVENTORY).unwrap();
    assert_eq!(inventory & 1, 1, "bag slot 0 in use");
    // hurt the leader by hand, then eat
    let hp_addr = leader_info_addr(&env) + info::HP as u32;
    env.emulator_mut().write_u16(hp_addr, 10).unwrap();
    env.refresh().unwrap();
    let r = env.step(Action::UseItem).unwrap();
    assert_eq!(event(&env), Event::Ate);
    assert!(r.state.hp >= 30, "hp {}", r.state.hp);
    assert!(r.reward > 0.0);
}

fn leader_info_addr(env: &Env) -> u32 {
    let emu = env.emulator();
    let d = emu.read_u32(addr::G_DUNGEON).unwrap();
    let e = emu.read_u32(d + dungeon::TEAM_PTRS as u32).unwrap();
    emu.read_u32(e + entity::INFO as u32).unwrap()
}

#[test]
fn starving_at_one_hp_faints_and_ends_the_episode() {
    let mut env = env();
    env.reset(9).unwrap();
    let info_addr = leader_info_addr(&env);
    env.emulator_mut()
        .write_u16(info_addr + info::HP as u32, 1)
        .unwrap();
    env.emulator_mut()
        .write_u16(info_addr + info::BELLY as u32, 0)
        .unwrap();
    env.refresh().unwrap();
    let r = env.step(Action::Wait).unwrap();
    assert!(r.terminated && !r.truncated);
    assert_eq!(r.reason, Some(EndReason::Fainted));
    assert_eq!(r.state.hp, 0);
    assert!(r.reward <= -1.0, "reward {}", r.reward);
    assert_eq!(
        CartState::read(env.emulator()).unwrap().last_event,
        Event::Fainted
    );
    assert!(matches!(env.step(Action::Wait), Err(EnvError::EpisodeOver)));
}

fn script() -> Vec<Action> {
    let mut actions = Vec::new();
    for i in 0..60usize {
        let d = Direction::from_index(((i * 7) % 8) as u8).unwrap();
        actions.push(match i % 5 {
            3 => Action::Attack(d),
            4 => Action::Wait,
            _ => Action::Move(d),
        });
    }
    actions
}

fn trajectory(seed: u32) -> Vec<(StepResult, Vec<String>)> {
    let mut env = env();
    env.reset(seed).unwrap();
    let mut out = Vec::new();
    for a in script() {
        if env.done() {
            break;
        }
        let r = env.step(a).unwrap();
        out.push((r, env.state().ascii_rows()));
    }
    out
}

#[test]
fn same_seed_and_actions_give_identical_trajectories() {
    let a = trajectory(1234);
    let b = trajectory(1234);
    assert_eq!(a.len(), b.len());
    assert!(a == b, "trajectories differ");
    let c = trajectory(1235);
    assert!(a != c, "different seeds gave the same trajectory");
}

#[test]
fn snapshot_restore_gives_identical_decoded_state() {
    let mut env = env();
    env.reset(77).unwrap();
    for a in script().into_iter().take(10) {
        env.step(a).unwrap();
    }
    let snap = env.snapshot().unwrap();
    let rows = env.state().ascii_rows();
    let leader_before = *env.state().leader().unwrap();
    let wild_before = env.state().wild().to_vec();
    let branch_a: Vec<StepResult> = script()[10..25]
        .iter()
        .map(|a| env.step(*a).unwrap())
        .collect();
    env.restore(&snap).unwrap();
    assert_eq!(env.state().ascii_rows(), rows);
    assert_eq!(*env.state().leader().unwrap(), leader_before);
    assert_eq!(env.state().wild(), &wild_before[..]);
    let branch_b: Vec<StepResult> = script()[10..25]
        .iter()
        .map(|a| env.step(*a).unwrap())
        .collect();
    assert_eq!(branch_a, branch_b);
}

#[test]
fn roms_without_a_ram_map_are_refused() {
    let mut bytes = cartridge::ROM_BYTES.to_vec();
    bytes[0xAC..0xB0].copy_from_slice(b"B24P");
    let sum = bytes[0xA0..0xBD]
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b));
    bytes[0xBD] = 0u8.wrapping_sub(sum.wrapping_add(0x19));
    let rom = Rom::from_bytes(bytes, "eu").unwrap();
    let err = Env::new(&rom, EnvConfig::default()).unwrap_err();
    assert!(err.to_string().contains("B24P"), "{err}");
    // plain frame mode still runs it
    let mut emu = Emulator::new(&rom).unwrap();
    emu.run_frames(5);
}

#[test]
fn mgba_state_files_start_episodes() {
    let mut env = env();
    env.reset(21).unwrap();
    for a in script().into_iter().take(6) {
        env.step(a).unwrap();
    }
    let file = env.emulator_mut().export_mgba_state_file().unwrap();
    assert_eq!(
        &file[..8],
        b"\x89PNG\r\n\x1a\n",
        "frontend states are PNG files"
    );
    let expected = env.state().ascii_rows();

    let mut other = self::env();
    other.start_from_state_file(&file).unwrap();
    let s = other.reset(99).unwrap();
    assert_eq!(other.state().ascii_rows(), expected);
    assert_eq!(s.floor, 1);
    assert_eq!(
        other
            .emulator()
            .read_u32(addr::G_DUNGEON_RNG_STATE)
            .unwrap(),
        99,
        "seed written after loading"
    );

    // damaged files are refused and leave the environment usable
    let mut damaged = file.clone();
    let mid = damaged.len() / 2;
    damaged.truncate(mid);
    assert!(other.start_from_state_file(&damaged).is_err());
    assert!(other
        .start_from_state_file(b"not a savestate at all")
        .is_err());
    other.reset(5).unwrap();
}

#[test]
fn battery_saves_of_wrong_size_are_refused() {
    let mut env = env();
    assert!(env.use_battery_save(&[0u8; 1000]).is_err());
    env.use_battery_save(&vec![0xFFu8; 32768]).unwrap();
    env.reset(1).unwrap();
}

// ----- decoder robustness -----

fn ewram_of_running_game() -> Vec<u8> {
    let mut env = env();
    env.reset(3).unwrap();
    env.emulator().ewram().to_vec()
}

fn put_u32(ram: &mut [u8], bus: u32, value: u32) {
    let o = (bus - EWRAM_BASE) as usize;
    ram[o..o + 4].copy_from_slice(&value.to_le_bytes());
}

fn get_u32(ram: &[u8], bus: u32) -> u32 {
    let o = (bus - EWRAM_BASE) as usize;
    u32::from_le_bytes(ram[o..o + 4].try_into().unwrap())
}

#[test]
fn decoder_reports_each_broken_invariant() {
    let good = ewram_of_running_game();
    assert!(DungeonState::from_view(&DungeonView::new(&good).unwrap()).is_ok());

    let mut ram = good.clone();
    put_u32(&mut ram, addr::G_DUNGEON, 0);
    assert_eq!(
        DungeonView::new(&ram).unwrap_err(),
        DecodeError::NotInDungeon
    );

    put_u32(&mut ram, addr::G_DUNGEON, 0x0800_0000);
    assert!(matches!(
        DungeonView::new(&ram),
        Err(DecodeError::PointerOutOfRange { .. })
    ));

    put_u32(
        &mut ram,
        addr::G_DUNGEON,
        EWRAM_BASE + EWRAM_SIZE as u32 - 0x100,
    );
    assert!(matches!(
        DungeonView::new(&ram),
        Err(DecodeError::PastEnd { .. })
    ));

    let base = get_u32(&good, addr::G_DUNGEON);
    let leader_entity = get_u32(&good, base + dungeon::TEAM_PTRS as u32);
    let leader_info = get_u32(&good, leader_entity + entity::INFO as u32);

    let mut ram = good.clone();
    let o = (leader_info - EWRAM_BASE) as usize + info::HP;
    ram[o..o + 2].copy_from_slice(&500i16.to_le_bytes());
    let err = DungeonState::from_view(&DungeonView::new(&ram).unwrap()).unwrap_err();
    assert!(matches!(err, DecodeError::BadHp { hp: 500, .. }), "{err}");

    let mut ram = good.clone();
    let o = (leader_entity - EWRAM_BASE) as usize + entity::POS;
    ram[o..o + 2].copy_from_slice(&56i16.to_le_bytes());
    let err = DungeonState::from_view(&DungeonView::new(&ram).unwrap()).unwrap_err();
    assert!(matches!(err, DecodeError::OutOfMap { x: 56, .. }), "{err}");

    let mut ram = good.clone();
    put_u32(&mut ram, base + dungeon::WILD_PTRS as u32, 0x0300_0000);
    let err = DungeonState::from_view(&DungeonView::new(&ram).unwrap()).unwrap_err();
    assert!(
        matches!(err, DecodeError::PointerOutOfRange { .. }),
        "{err}"
    );

    let mut ram = good.clone();
    put_u32(&mut ram, leader_entity + entity::TYPE as u32, 7);
    let err = DungeonState::from_view(&DungeonView::new(&ram).unwrap()).unwrap_err();
    assert!(
        matches!(err, DecodeError::BadEntityType { found: 7, .. }),
        "{err}"
    );
}

/// xorshift64*: reproducible pseudo-random bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_ram_never_panics_the_decoder() {
    let good = ewram_of_running_game();
    let base = get_u32(&good, addr::G_DUNGEON);
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut state = DungeonState::new();
    let (mut ok, mut errors) = (0, 0);
    for case in 0..3000 {
        let mut ram = match case % 3 {
            // pure noise
            0 => (0..EWRAM_SIZE)
                .map(|_| rng.next() as u8)
                .collect::<Vec<u8>>(),
            // a real state with random words written over the dungeon's
            // pointer tables, entities and records
            _ => good.clone(),
        };
        if case % 3 != 0 {
            for _ in 0..(1 + rng.below(40)) {
                let span = match rng.below(3) {
                    0 => dungeon::TEAM_PTRS..dungeon::SIZE,
                    1 => dungeon::TEAM_INFO..dungeon::FLOOR_ITEMS,
                    _ => 0..dungeon::SIZE,
                };
                let off = base as usize - EWRAM_BASE as usize
                    + span.start
                    + rng.below((span.end - span.start - 4) as u64) as usize;
                let word = match rng.below(4) {
                    0 => EWRAM_BASE + rng.below(EWRAM_SIZE as u64 + 64) as u32,
                    1 => rng.next() as u32,
                    2 => rng.below(8) as u32,
                    _ => 0,
                };
                ram[off..off + 4].copy_from_slice(&word.to_le_bytes());
            }
        }
        if case % 7 == 0 {
            put_u32(
                &mut ram,
                addr::G_DUNGEON,
                EWRAM_BASE + rng.below(EWRAM_SIZE as u64) as u32,
            );
        }
        // also truncated images
        let len = if case % 11 == 0 {
            rng.below(EWRAM_SIZE as u64) as usize
        } else {
            ram.len()
        };
        match DungeonView::new(&ram[..len]) {
            Ok(view) => match state.decode(&view) {
                Ok(()) => {
                    ok += 1;
                    let _ = state.ascii_rows();
                }
                Err(_) => errors += 1,
            },
            Err(_) => errors += 1,
        }
    }
    // both outcomes occur, so the cases exercise the checks
    assert!(ok > 100 && errors > 100, "ok {ok}, errors {errors}");
}

#[test]
fn cart_state_mirrors_the_dungeon() {
    let mut env = env();
    env.reset(4).unwrap();
    let cart = CartState::read(env.emulator()).unwrap();
    let l = env.state().leader().unwrap();
    assert_eq!(cart.leader, (l.x as i16, l.y as i16));
    assert_eq!(cart.phase, cartridge::Phase::Playing);
    assert_eq!(
        env.emulator().read_u32(cart_addr::FLOOR_SEED).unwrap(),
        4,
        "floor 1 generated from the seed"
    );
}

#[test]
fn the_screen_shows_the_leader_where_the_decoder_puts_it() {
    let mut env = Env::new(
        &cartridge::rom().unwrap(),
        EnvConfig {
            render: true,
            ..EnvConfig::default()
        },
    )
    .unwrap();
    env.reset(11).unwrap();
    for d in [Direction::Up, Direction::Right, Direction::Up] {
        env.step(Action::Move(d)).unwrap();
    }
    let (x, y) = leader(&env);
    // The cartridge's camera: centred on the leader, clamped to the map.
    let cam_x = (x as i32 * 8 + 4 - 120).clamp(0, 56 * 8 - 240);
    let cam_y = (y as i32 * 8 + 4 - 88).clamp(-8, 32 * 8 - 160);
    let (sx, sy) = (x as i32 * 8 - cam_x, y as i32 * 8 - cam_y);
    let frame = env.emulator().frame();
    let pixel = frame[((sy + 4) * 240 + sx + 3) as usize];
    let [r, g, b, _] = pixel.to_le_bytes();
    assert!(r > 200 && g > 180 && b < 80, "leader pixel is {pixel:08x}");
    // and nowhere far from there
    let yellow = |p: u32| {
        let [r, g, b, _] = p.to_le_bytes();
        r > 200 && g > 180 && b < 80
    };
    let far = frame
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            let (px, py) = ((i % 240) as i32, (i / 240) as i32);
            yellow(**p) && ((px - sx).abs() > 10 || (py - sy).abs() > 10)
        })
        .count();
    assert_eq!(far, 0, "leader-coloured pixels away from the leader");
}
