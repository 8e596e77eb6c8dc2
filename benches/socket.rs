//! Criterion benchmarks of the micro-operations of the three designs
//! `bench socket` compares: the Lua mGBA-http server in mGBA
//! (`pmd-agent script`), our server (`pmd-agent serve-socket`), both as
//! child processes over loopback TCP, and in-process. Figures are in
//! BENCHMARKS.md.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use pmd_agent::bench::socket::{ServerKind, ServerProcess, SocketBenchConfig};
use pmd_agent::cartridge;
use pmd_agent::emu::Keys;
use pmd_agent::env::{Action, Env, EnvConfig};
use pmd_agent::game::{profile_for, DungeonState, DungeonView};
use pmd_agent::socket::baseline::BaselineAgent;
use pmd_agent::socket::Client;

struct Remote {
    name: &'static str,
    agent: BaselineAgent,
    _server: ServerProcess,
}

fn remotes(work: &std::path::Path) -> Vec<Remote> {
    let config = SocketBenchConfig {
        rom: cartridge::rom().expect("cartridge"),
        rom_path: None,
        steps: 1,
        envs: 1,
        seed: 1,
        exe: PathBuf::from(env!("CARGO_BIN_EXE_pmd-agent")),
        lua_server: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("benches/socket/mgba-http-server.lua"),
        python: None,
        python_steps: 0,
        work_dir: work.to_path_buf(),
        server_pace: pmd_agent::pacing::Pace::None,
    };
    let profile = profile_for(config.rom.game_code()).expect("a known game");
    let start_state = in_dungeon()
        .emulator_mut()
        .export_mgba_state_file()
        .expect("start state");
    [("lua", ServerKind::Lua), ("rust_server", ServerKind::Rust)]
        .into_iter()
        .map(|(name, kind)| {
            let server = ServerProcess::spawn(&config, kind, 0).expect("server starts");
            let client = Client::connect(server.addr, Duration::from_secs(10)).expect("connects");
            let shot = server.dir.join("frame.png");
            let request = match kind {
                ServerKind::Lua => shot.to_string_lossy().into_owned(),
                ServerKind::Rust => "frame.png".to_string(),
            };
            let mut agent = BaselineAgent::new(client, profile, request, shot);
            // Start where the in-process side starts: on floor 1 (the
            // cartridge boots to a title screen).
            let state = server.dir.join("start.ss0");
            std::fs::write(&state, &start_state).expect("start state written");
            let state_request = match kind {
                ServerKind::Lua => state.to_string_lossy().into_owned(),
                ServerKind::Rust => "start.ss0".to_string(),
            };
            agent
                .client()
                .ok(&format!("core.loadStateFile,{state_request}"))
                .expect("start state loaded");
            let (decoded, _) = agent.read_state().expect("state read");
            assert!(decoded, "{name}: no dungeon after loading the start state");
            Remote {
                name,
                agent,
                _server: server,
            }
        })
        .collect()
}

/// An environment reset into its first floor, renderer on (as the
/// servers render every frame).
fn in_dungeon() -> Env {
    let rom = cartridge::rom().expect("cartridge");
    let config = EnvConfig {
        render: true,
        ..EnvConfig::default()
    };
    let mut env = Env::new(&rom, config).expect("environment");
    env.reset(1).expect("reset");
    env.emulator_mut().run_frame();
    env
}

fn socket(c: &mut Criterion) {
    let work = tempfile::tempdir().expect("scratch directory");
    let mut remotes = remotes(work.path());
    let mut env = in_dungeon();
    let mut state = DungeonState::new();
    let mut bytes = Vec::new();
    let mut rgb = Vec::new();

    let mut group = c.benchmark_group("round_trip");
    for r in &mut remotes {
        let client = r.agent.client();
        group.bench_function(format!("{}/read8", r.name), |b| {
            b.iter(|| black_box(client.number("memoryDomain.read8,wram,1").expect("read8")))
        });
    }
    let emu = env.emulator();
    group.bench_function("inprocess/read_u8", |b| {
        b.iter(|| black_box(emu.read_u8(black_box(0x0200_0001)).expect("read")))
    });
    group.finish();

    let mut group = c.benchmark_group("state_read");
    group.sample_size(10);
    for r in &mut remotes {
        let client = r.agent.client();
        group.bench_function(format!("{}/readRange_64KiB", r.name), |b| {
            b.iter(|| {
                client
                    .bytes("memoryDomain.readRange,wram,0,65536", &mut bytes)
                    .expect("readRange");
                black_box(bytes.len())
            })
        });
        let agent = &mut r.agent;
        group.bench_function(format!("{}/decoder_ram_and_decode", r.name), |b| {
            b.iter(|| black_box(agent.read_state().expect("state")))
        });
    }
    group.bench_function("inprocess/decode", |b| {
        b.iter(|| {
            let view = DungeonView::of(emu).expect("in a dungeon");
            state.decode(&view).expect("decodes");
            black_box(state.floor)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("frame_fetch");
    group.sample_size(20);
    for r in &mut remotes {
        let agent = &mut r.agent;
        group.bench_function(format!("{}/screenshot_png", r.name), |b| {
            b.iter(|| agent.fetch_frame().expect("frame"))
        });
    }
    rgb.resize(240 * 160 * 3, 0);
    group.bench_function("inprocess/frame_to_rgb", |b| {
        b.iter(|| {
            pmd_agent::bench::socket::rgb_into(emu.frame(), &mut rgb);
            black_box(rgb[0])
        })
    });
    group.finish();

    let mut group = c.benchmark_group("button_press");
    group.sample_size(20);
    for r in &mut remotes {
        let agent = &mut r.agent;
        group.bench_function(format!("{}/tap_until_seen", r.name), |b| {
            b.iter(|| agent.press(Action::Wait).expect("press"))
        });
    }
    let emu = env.emulator_mut();
    group.bench_function("inprocess/press_and_frame", |b| {
        b.iter(|| {
            emu.set_keys(Keys::L);
            emu.run_frame();
            emu.set_keys(Keys::empty());
        })
    });
    group.finish();
}

// No plots: with plotters' `ab_glyph` feature on (crates/pmd-plot/src/lib.rs needs it),
// criterion's own charts find no registered font and panic.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = socket
}
criterion_main!(benches);
