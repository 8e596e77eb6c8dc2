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
            if env.step(action).unwrap().done {
                break;
            }
        }
    });
    assert_eq!(step.count_total, 0, "stepping allocated");
}
