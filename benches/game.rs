//! Criterion benchmarks of the game layer on the bundled cartridge: a full
//! decode of the dungeon state (goal: at most 2 µs), following `gDungeon`
//! alone, and a whole environment step. Figures are in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use pmd_agent::cartridge;
use pmd_agent::env::{Action, Direction, Env, EnvConfig};
use pmd_agent::game::{DungeonState, DungeonView};

fn playing_env() -> Env {
    let mut env =
        Env::new(&cartridge::rom().expect("cartridge"), EnvConfig::default()).expect("env");
    env.reset(7).expect("reset");
    // Walk a little so the map has revealed and visited tiles.
    for d in [
        Direction::Right,
        Direction::Down,
        Direction::Left,
        Direction::Up,
    ] {
        env.step(Action::Move(d)).expect("step");
    }
    env
}

fn decode(c: &mut Criterion) {
    let env = playing_env();
    let ewram = env.emulator().ewram();
    let mut state = DungeonState::new();
    c.bench_function("decode/view", |b| {
        b.iter(|| {
            DungeonView::new(black_box(ewram))
                .expect("view")
                .turn_ready()
        })
    });
    c.bench_function("decode/full_state", |b| {
        b.iter(|| {
            let view = DungeonView::new(black_box(ewram)).expect("view");
            state.decode(&view).expect("decode");
            black_box(state.floor)
        })
    });
}

fn step(c: &mut Criterion) {
    let mut env = playing_env();
    let snap = env.snapshot().expect("snapshot");
    let mut i = 0usize;
    c.bench_function("env/step_move_or_wait", |b| {
        b.iter(|| {
            i += 1;
            if i.is_multiple_of(64) {
                env.restore(&snap).expect("restore");
            }
            let action = if i.is_multiple_of(2) {
                Action::Wait
            } else {
                Action::Move(Direction::ALL[i % 8])
            };
            match env.step(action) {
                Ok(r) if r.done() => env.restore(&snap).expect("restore"),
                Ok(_) => {}
                Err(e) => panic!("step failed: {e}"),
            }
        })
    });
}

// No HTML charts: with plotters' `ab_glyph` feature on (the project draws
// its own PNGs with it) criterion's charts find no registered font and
// panic; the figures are printed either way.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = decode, step
}
criterion_main!(benches);
