//! The hot paths allocate nothing on the Rust heap: decoding the dungeon
//! and stepping the environment, counted with `allocation-counter` (its
//! global allocator counts the current thread's allocations). mGBA's own C
//! allocations are not seen here; it allocates nothing per frame.

use pmd_agent::cartridge;
use pmd_agent::env::{Action, Direction, Env, EnvConfig};
use pmd_agent::game::{DungeonState, DungeonView};

#[test]
fn decode_and_step_do_not_allocate() {
    let mut env = Env::new(&cartridge::rom().unwrap(), EnvConfig::default()).unwrap();
    env.reset(6).unwrap();
    let mut state = DungeonState::new();

    // The counter sees allocations, so zero below means zero.
    let probe = allocation_counter::measure(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert!(probe.count_total >= 1);

    let decode = allocation_counter::measure(|| {
        for _ in 0..100 {
            let view = DungeonView::of(env.emulator()).unwrap();
            state.decode(&view).unwrap();
        }
    });
    assert_eq!(decode.count_total, 0, "decode allocated");

    let step = allocation_counter::measure(|| {
        for i in 0..50usize {
            let action = if i.is_multiple_of(3) {
                Action::Wait
            } else {
                Action::Move(Direction::ALL[i % 8])
            };
            if env.step(action).unwrap().done() {
                break;
            }
        }
    });
    assert_eq!(step.count_total, 0, "stepping allocated");
}

#[test]
fn vectorised_steps_do_not_allocate() {
    use pmd_agent::env::Action;
    use pmd_agent::policy::{BatchPolicy, Heuristic, PerEnv, Policy, PolicyContext};
    use pmd_agent::rollout::{VecEnv, VecEnvConfig};

    // One thread: the environments step inline on this thread, where the
    // counter counts.
    let mut config = VecEnvConfig {
        envs: 3,
        seed: 5,
        threads: Some(1),
        ..VecEnvConfig::default()
    };
    config.env.max_episode_steps = Some(40);
    let mut v = VecEnv::new(&cartridge::rom().unwrap(), config, |_| Ok(())).unwrap();
    let mut policy = PerEnv(Heuristic::default());
    let mut actions = vec![Action::Wait; 3];
    // warm up: the first round touches lazily built statics
    policy.act(v.policy_input(), &mut actions).unwrap();
    v.step(&actions).unwrap();
    let info = allocation_counter::measure(|| {
        for _ in 0..100 {
            policy.act(v.policy_input(), &mut actions).unwrap();
            v.step(&actions).unwrap();
        }
    });
    assert!(
        v.stats().episodes >= 3,
        "episodes reset inside the measured steps"
    );
    assert_eq!(info.count_total, 0, "policy + VecEnv::step allocated");

    // The check can fail: a policy that allocates is seen, so the work
    // does run where the counter counts.
    struct Allocating;
    impl Policy for Allocating {
        fn name(&self) -> &'static str {
            "allocating"
        }
        fn act(&self, _: &mut PolicyContext<'_>) -> Action {
            std::hint::black_box(Box::new([0u8; 16]));
            Action::Wait
        }
    }
    let mut allocating = PerEnv(Allocating);
    let seen =
        allocation_counter::measure(|| allocating.act(v.policy_input(), &mut actions).unwrap());
    assert_eq!(seen.count_total, 3);
}
