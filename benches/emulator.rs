//! Criterion benchmarks of the emulator layer on the bundled cartridge:
//! frames/s with and without rendering, snapshot and restore, a 4-byte RAM
//! read and a whole-EWRAM scan. Figures are recorded in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pmd_agent::cartridge;
use pmd_agent::emu::{Emulator, Keys};

fn booted() -> Emulator {
    let rom = cartridge::rom().expect("bundled cartridge");
    let mut emu = Emulator::new(&rom).expect("emulator");
    emu.run_frames(10);
    emu
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frames");
    const N: u32 = 60;
    group.throughput(Throughput::Elements(u64::from(N)));
    for (name, render) in [("rendered", true), ("not_rendered", false)] {
        let mut emu = booted();
        emu.set_rendering(render);
        emu.set_keys(Keys::RIGHT);
        group.bench_function(name, |b| b.iter(|| emu.run_frames(N)));
    }
    group.finish();
}

fn savestates(c: &mut Criterion) {
    let mut emu = booted();
    let mut snap = emu.snapshot().expect("snapshot");
    c.bench_function("snapshot_into", |b| {
        b.iter(|| emu.snapshot_into(&mut snap).expect("snapshot"))
    });
    c.bench_function("snapshot_alloc", |b| {
        b.iter(|| black_box(emu.snapshot().expect("snapshot")))
    });
    c.bench_function("restore", |b| {
        b.iter_batched_ref(
            || (),
            |_| emu.restore(black_box(&snap)).expect("restore"),
            BatchSize::SmallInput,
        )
    });
}

fn memory(c: &mut Criterion) {
    let mut emu = booted();
    emu.run_frames(5);
    c.bench_function("read_u32", |b| {
        b.iter(|| {
            emu.read_u32(black_box(cartridge::addr::FRAME))
                .expect("read")
        })
    });
    let mut group = c.benchmark_group("ewram_scan");
    group.throughput(Throughput::Bytes(emu.ewram().len() as u64));
    group.bench_function("count_nonzero_words", |b| {
        b.iter(|| {
            black_box(emu.ewram())
                .chunks_exact(4)
                .filter(|w| *w != [0, 0, 0, 0])
                .count()
        })
    });
    group.finish();
}

// No HTML charts: with plotters' `ab_glyph` feature on (the project draws
// its own PNGs with it) criterion's charts find no registered font and
// panic; the figures are printed either way.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = frames, savestates, memory
}
criterion_main!(benches);
