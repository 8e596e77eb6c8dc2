//! Vectorised rollouts and policies on the test cartridge.

use pmd_agent::cartridge;
use pmd_agent::env::{Action, Direction, Env, EnvConfig};
use pmd_agent::game::ram_map::addr;
use pmd_agent::policy::{Heuristic, Policy, PolicyContext, PolicyKind, Search};
use pmd_agent::rollout::obs::{self, channel, FEATURES, WINDOW};
use pmd_agent::rollout::{frames, RolloutStats, VecEnv, VecEnvConfig};
use rand::SeedableRng;

fn vec_env(envs: usize, threads: usize, config: VecEnvConfig) -> VecEnv {
    let rom = cartridge::rom().unwrap();
    VecEnv::new(
        &rom,
        VecEnvConfig {
            envs,
            threads: Some(threads),
            ..config
        },
        |_| Ok(()),
    )
    .unwrap()
}

fn run(v: &mut VecEnv, policy: &dyn Policy, rounds: usize) -> (Vec<f32>, RolloutStats) {
    let mut actions = vec![Action::Wait; v.len()];
    for _ in 0..rounds {
        v.act(policy, &mut actions);
        v.step(&actions);
    }
    (v.batch().features.to_vec(), v.stats())
}

#[test]
fn observations_are_written_in_place_and_centred_on_the_leader() {
    let v = vec_env(
        2,
        2,
        VecEnvConfig {
            seed: 1,
            ..Default::default()
        },
    );
    let batch = v.batch();
    assert_eq!(batch.features.len(), 2 * FEATURES);
    assert_eq!(batch.len(), 2);
    for i in 0..2 {
        let row = batch.row(i);
        let c = WINDOW / 2;
        assert_eq!(
            row[obs::index(channel::FLOOR, c, c)],
            1.0,
            "leader stands on floor"
        );
        assert_eq!(row[obs::index(channel::VISITED, c, c)], 1.0);
        let walls = (0..WINDOW * WINDOW)
            .filter(|&k| row[obs::index(channel::WALL, k / WINDOW, k % WINDOW)] == 1.0)
            .count();
        assert!(walls > 0, "some wall in view");
        // scalars: full HP and belly, floor 1, no turns yet
        let s = &row[FEATURES - 4..];
        assert_eq!(s, &[1.0, 1.0, 0.1, 0.0]);
    }
    // different seeds, different maps
    assert_ne!(batch.row(0), batch.row(1));
}

#[test]
fn parallel_rollouts_match_a_single_thread() {
    let config = VecEnvConfig {
        seed: 9,
        ..Default::default()
    };
    let heuristic = Heuristic::default();
    let mut one = vec_env(4, 1, config);
    let mut two = vec_env(4, 2, config);
    let (f1, s1) = run(&mut one, &heuristic, 40);
    let (f2, s2) = run(&mut two, &heuristic, 40);
    assert_eq!(s1, s2);
    assert!(f1 == f2, "features differ between 1 and 2 threads");
    assert_eq!(s1.steps, 160);
    assert!(s1.frames > 160 * 5);
}

#[test]
fn episodes_reset_with_new_seeds_at_the_step_cap() {
    let mut v = vec_env(
        2,
        2,
        VecEnvConfig {
            seed: 4,
            max_episode_steps: 5,
            ..Default::default()
        },
    );
    let first_map = v.env(0).state().ascii_rows();
    let mut actions = vec![Action::Wait; 2];
    for round in 1..=5 {
        let batch = v.step(&actions);
        assert_eq!(batch.dones, &[round == 5, round == 5]);
    }
    assert_eq!(v.stats().episodes, 2);
    assert_ne!(
        v.env(0).state().ascii_rows(),
        first_map,
        "a new dungeon after reset"
    );
    assert_eq!(v.env(0).floor_turns(), 0);
    actions[0] = Action::Move(Direction::Up);
    v.step(&actions);
    assert_eq!(v.stats().episodes, 2);
}

#[test]
fn a_failing_env_is_restored_and_counted_while_the_others_go_on() {
    let mut v = vec_env(
        2,
        2,
        VecEnvConfig {
            seed: 2,
            ..Default::default()
        },
    );
    let heuristic = Heuristic::default();
    run(&mut v, &heuristic, 20);
    // garbage behind gDungeon in env 0
    v.env_mut(0)
        .emulator_mut()
        .write_u32(addr::G_DUNGEON, 0x0800_0000)
        .unwrap();
    let actions = [Action::Wait, Action::Wait];
    v.step(&actions);
    let stats = v.stats();
    assert_eq!(stats.failures, 1);
    // env 0 is back in its dungeon and both keep stepping
    assert!(v.env(0).state().leader().is_some());
    let (_, after) = run(&mut v, &heuristic, 10);
    assert_eq!(after.failures, 1);
    assert_eq!(after.steps, stats.steps + 20);
}

#[test]
fn timeouts_count_as_failures() {
    let mut v = vec_env(
        1,
        1,
        VecEnvConfig {
            seed: 2,
            // enough for reset (about 7 frames), too few for a turn (about 10)
            env: EnvConfig {
                frame_cap: 8,
                ..EnvConfig::default()
            },
            ..Default::default()
        },
    );
    v.step(&[Action::Wait]);
    assert_eq!(v.stats().failures, 1);
}

#[test]
fn frames_are_downsampled_when_asked_for() {
    let mut v = vec_env(
        2,
        2,
        VecEnvConfig {
            seed: 5,
            frames: true,
            ..Default::default()
        },
    );
    let batch = v.step(&[Action::Wait, Action::Wait]);
    let frames_buf = batch.frames.expect("frames");
    assert_eq!(frames_buf.len(), 2 * frames::LEN);
    for f in frames_buf.chunks_exact(frames::LEN) {
        let lit = f.iter().filter(|&&p| p > 20).count();
        assert!(lit > 100, "frame mostly black: {lit} lit pixels");
    }
}

fn mean_max_floor(kind: PolicyKind, episodes: u64) -> f64 {
    let mut v = vec_env(
        2,
        2,
        VecEnvConfig {
            seed: 77,
            max_episode_steps: 150,
            ..Default::default()
        },
    );
    let policy = kind.build();
    let mut actions = vec![Action::Wait; 2];
    while v.stats().episodes < episodes {
        v.act(policy.as_ref(), &mut actions);
        v.step(&actions);
    }
    v.stats().mean_max_floor()
}

#[test]
fn heuristic_clearly_beats_random() {
    let random = mean_max_floor(PolicyKind::Random, 6);
    let heuristic = mean_max_floor(PolicyKind::Heuristic, 6);
    assert!(
        heuristic >= random + 1.0,
        "heuristic {heuristic} vs random {random}"
    );
}

#[test]
fn search_leaves_its_environment_as_it_found_it() {
    let mut env = Env::new(&cartridge::rom().unwrap(), EnvConfig::default()).unwrap();
    env.reset(31).unwrap();
    for _ in 0..5 {
        let a = Heuristic::default().decide(env.state());
        env.step(a).unwrap();
    }
    let before = (
        env.state().ascii_rows(),
        *env.state().leader().unwrap(),
        env.emulator().ewram().to_vec(),
    );
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0);
    let mut ctx = PolicyContext {
        env: &mut env,
        features: &[],
        rng: &mut rng,
    };
    let action = Search::default().act(&mut ctx);
    let after = (
        env.state().ascii_rows(),
        *env.state().leader().unwrap(),
        env.emulator().ewram().to_vec(),
    );
    assert!(before == after, "search changed the environment");
    env.step(action).unwrap();
}
