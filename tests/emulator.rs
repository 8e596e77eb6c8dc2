//! The emulator layer driven on the bundled cartridge: boot, keys, memory,
//! rendering, savestates and parallel determinism.

use pmd_agent::cartridge::{self, addr, CartState, Phase};
use pmd_agent::emu::{
    Domain, EmuError, Emulator, Keys, Rom, Snapshot, SnapshotError, EWRAM_SIZE, IWRAM_SIZE,
    SCREEN_HEIGHT, SCREEN_WIDTH,
};
use rayon::prelude::*;

fn cart() -> Rom {
    cartridge::rom().expect("bundled cartridge is valid")
}

/// An emulator whose cartridge is in its dungeon (floor generated, one
/// main-loop iteration per frame from then on).
fn booted() -> Emulator {
    let mut emu = Emulator::new(&cart()).expect("emulator");
    cartridge::boot_with_seed(&mut emu, 1).expect("the title and menu are passed");
    emu.run_frames(BOOT_FRAMES);
    assert_eq!(CartState::read(&emu).unwrap().phase, Phase::Playing);
    emu
}

/// Frames from the seeding phase until the cartridge plays (generating
/// floor 1 takes a few frames).
const BOOT_FRAMES: u32 = 20;

/// The same cartridge with another title: a different ROM to the emulator.
fn other_rom() -> Rom {
    let mut bytes = cartridge::ROM_BYTES.to_vec();
    bytes[0xA0] = b'Q';
    let sum = bytes[0xA0..0xBD]
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b));
    bytes[0xBD] = 0u8.wrapping_sub(sum.wrapping_add(0x19));
    Rom::from_bytes(bytes, "modified cartridge").expect("still a valid ROM")
}

#[test]
fn cartridge_boots_and_counts_one_frame_per_frame() {
    let mut emu = booted();
    let before = CartState::read(&emu).unwrap();
    assert!(before.booted, "magic word missing: {before:?}");
    let emu_before = emu.frame_count();
    emu.run_frames(100);
    let after = CartState::read(&emu).unwrap();
    assert_eq!(after.frame - before.frame, 100);
    assert_eq!(emu.frame_count() - emu_before, 100);
}

#[test]
fn memory_is_the_right_size_and_reads_agree_with_slices() {
    let emu = booted();
    assert_eq!(emu.ewram().len(), EWRAM_SIZE);
    assert_eq!(emu.iwram().len(), IWRAM_SIZE);
    let frame = emu.read_u32(addr::FRAME).unwrap();
    let raw = &emu.ewram()[4..8];
    assert_eq!(frame, u32::from_le_bytes(raw.try_into().unwrap()));
    assert_eq!(emu.read_u8(addr::MAGIC).unwrap(), b'P');
    assert_eq!(
        emu.read_u16(addr::MAGIC).unwrap(),
        u16::from_le_bytes(*b"PM")
    );
    // The BIOS interrupt vector the cartridge installs lives in IWRAM.
    assert_ne!(emu.read_u32(0x0300_7FFC).unwrap(), 0);
}

#[test]
fn out_of_range_reads_and_writes_are_errors() {
    let mut emu = booted();
    for addr in [0u32, 0x0203_FFFE, 0x0300_8000, 0x0800_0000, u32::MAX] {
        let err = emu.read_u32(addr).unwrap_err();
        assert_eq!(err.addr, addr);
    }
    let before = emu.ewram()[EWRAM_SIZE - 2..].to_vec();
    assert!(emu.write_u32(0x0203_FFFE, 0xFFFF_FFFF).is_err());
    assert_eq!(emu.ewram()[EWRAM_SIZE - 2..], before[..], "partial write");
}

#[test]
fn keys_reach_the_game() {
    let mut emu = booted();
    emu.set_keys(Keys::RIGHT | Keys::A);
    emu.run_frame();
    let held = CartState::read(&emu).unwrap();
    assert_eq!(held.keys, Keys::RIGHT | Keys::A);
    assert_eq!(held.pressed, Keys::RIGHT | Keys::A);
    emu.run_frame();
    let still = CartState::read(&emu).unwrap();
    assert_eq!(still.keys, Keys::RIGHT | Keys::A);
    assert_eq!(still.pressed, Keys::empty(), "a held key is pressed once");
    emu.set_keys(Keys::empty());
    emu.run_frame();
    assert_eq!(CartState::read(&emu).unwrap().keys, Keys::empty());
}

#[test]
fn writes_land_in_emulated_memory() {
    let mut emu = booted();
    // 0x02000100 is outside every structure the cartridge uses.
    emu.write_u32(0x0200_0100, 0xCAFE_F00D).unwrap();
    emu.write_u16(0x0300_4000, 0xBEEF).unwrap();
    emu.run_frames(2);
    assert_eq!(emu.read_u32(0x0200_0100).unwrap(), 0xCAFE_F00D);
    assert_eq!(emu.ewram()[0x100..0x104], 0xCAFE_F00Du32.to_le_bytes());
    assert_eq!(emu.read_u16(0x0300_4000).unwrap(), 0xBEEF);
}

fn distinct_colours(frame: &[u32]) -> usize {
    let mut colours: Vec<u32> = frame.to_vec();
    colours.sort_unstable();
    colours.dedup();
    colours.len()
}

#[test]
fn rendering_draws_the_screen_and_can_be_skipped() {
    let mut emu = booted();
    assert_eq!(emu.frame().len(), SCREEN_WIDTH * SCREEN_HEIGHT);
    emu.run_frame();
    assert_eq!(emu.frame_rendered_at(), Some(emu.frame_count()));
    // background, text, floor and cursor colours
    assert!(distinct_colours(emu.frame()) >= 3, "nothing drawn");

    let shown = emu.frame().to_vec();
    emu.set_rendering(false);
    emu.set_keys(Keys::DOWN);
    emu.run_frames(30);
    assert_eq!(
        emu.frame(),
        &shown[..],
        "framebuffer changed while not rendering"
    );
    assert_eq!(emu.frame_rendered_at(), Some(emu.frame_count() - 30));
}

#[test]
fn a_frame_rendered_after_skipped_frames_matches_an_always_rendered_run() {
    let script = |i: u32| match i % 7 {
        0 => Keys::RIGHT,
        3 => Keys::DOWN | Keys::B,
        _ => Keys::empty(),
    };
    let mut always = Emulator::new(&cart()).unwrap();
    let mut sometimes = Emulator::new(&cart()).unwrap();
    sometimes.set_rendering(false);
    for i in 0..200 {
        always.set_keys(script(i));
        sometimes.set_keys(script(i));
        sometimes.set_rendering(i == 199);
        always.run_frame();
        sometimes.run_frame();
    }
    assert_eq!(always.frame(), sometimes.frame());
    assert_eq!(always.ewram(), sometimes.ewram());
}

#[test]
fn snapshot_restore_round_trip_replays_identically() {
    let mut emu = booted();
    emu.set_keys(Keys::UP);
    emu.run_frames(5);
    let snap = emu.snapshot().unwrap();
    let frame_at_snapshot = emu.frame_count();
    let ewram_at_snapshot = emu.ewram().to_vec();

    let script = [
        Keys::LEFT,
        Keys::empty(),
        Keys::A,
        Keys::DOWN,
        Keys::empty(),
    ];
    let run = |emu: &mut Emulator| {
        for keys in script {
            emu.set_keys(keys);
            emu.run_frames(3);
        }
        (
            emu.ewram().to_vec(),
            emu.iwram().to_vec(),
            emu.frame().to_vec(),
        )
    };
    let first = run(&mut emu);
    assert_ne!(emu.ewram(), &ewram_at_snapshot[..]);

    emu.restore(&snap).unwrap();
    assert_eq!(emu.frame_count(), frame_at_snapshot);
    assert_eq!(emu.ewram(), &ewram_at_snapshot[..]);
    let second = run(&mut emu);
    assert!(first == second, "replay after restore diverged");
}

#[test]
fn snapshot_reuses_its_buffer_and_survives_the_byte_form() {
    let mut emu = booted();
    let mut snap = emu.snapshot().unwrap();
    emu.run_frames(10);
    emu.snapshot_into(&mut snap).unwrap();
    let restored = Snapshot::from_bytes(&snap.to_bytes()).unwrap();
    assert_eq!(restored, snap);
    let expected = CartState::read(&emu).unwrap();
    emu.run_frames(10);
    emu.restore(&restored).unwrap();
    assert_eq!(CartState::read(&emu).unwrap(), expected);
}

#[test]
fn snapshot_of_wrong_size_is_refused_without_harm() {
    let mut emu = booted();
    let good = emu.snapshot().unwrap();
    let mut bytes = good.to_bytes();
    // Re-frame the state one byte short, with a consistent header.
    bytes.pop();
    let state = &bytes[20..];
    let mut reframed = Vec::new();
    reframed.extend_from_slice(b"PMDSNAP1");
    reframed.extend_from_slice(&good.rom_crc32().to_le_bytes());
    reframed.extend_from_slice(&(state.len() as u32).to_le_bytes());
    reframed.extend_from_slice(&crc32fast::hash(state).to_le_bytes());
    reframed.extend_from_slice(state);
    let short = Snapshot::from_bytes(&reframed).unwrap();

    let before = emu.ewram().to_vec();
    let err = emu.restore(&short).unwrap_err();
    assert!(
        matches!(err, EmuError::Snapshot(SnapshotError::WrongSize { actual, expected })
            if actual + 1 == expected),
        "{err}"
    );
    assert_eq!(emu.ewram(), &before[..]);
    emu.run_frame(); // still runs
}

#[test]
fn snapshot_from_another_rom_is_refused() {
    let mut other = Emulator::new(&other_rom()).unwrap();
    other.run_frames(3);
    let foreign = other.snapshot().unwrap();
    let mut emu = booted();
    let err = emu.restore(&foreign).unwrap_err();
    assert!(
        matches!(err, EmuError::Snapshot(SnapshotError::OtherRom { .. })),
        "{err}"
    );
}

#[test]
fn reset_returns_to_boot_state() {
    let mut emu = Emulator::new(&cart()).unwrap();
    emu.run_frames(3);
    let boot = emu.ewram().to_vec();
    emu.set_keys(Keys::RIGHT);
    emu.run_frames(20);
    emu.set_keys(Keys::empty());
    emu.reset();
    assert_eq!(emu.frame_count(), 0);
    emu.run_frames(3);
    assert_eq!(emu.ewram(), &boot[..]);
}

/// A per-emulator input script: different for every index.
fn scripted_keys(env: usize, frame: u32) -> Keys {
    let names = [
        Keys::RIGHT,
        Keys::LEFT,
        Keys::UP,
        Keys::DOWN,
        Keys::A,
        Keys::B,
    ];
    let pick = (frame as usize / (env + 2) + env) % (names.len() + 1);
    names.get(pick).copied().unwrap_or(Keys::empty())
}

fn run_script(rom: &Rom, env: usize) -> (Vec<u8>, Vec<u8>) {
    let mut emu = Emulator::new(rom).unwrap();
    emu.set_rendering(env.is_multiple_of(2));
    for frame in 0..300 {
        emu.set_keys(scripted_keys(env, frame));
        emu.run_frame();
    }
    (emu.ewram().to_vec(), emu.iwram().to_vec())
}

#[test]
fn eight_emulators_on_four_threads_match_a_sequential_run() {
    let rom = cart();
    let sequential: Vec<_> = (0..8).map(|env| run_script(&rom, env)).collect();

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    // Emulators are created and stepped on the pool's threads, and each is
    // moved between threads while it runs (Send).
    let parallel: Vec<_> = pool.install(|| {
        let mut emus: Vec<Emulator> = (0..8)
            .into_par_iter()
            .map(|_| Emulator::new(&rom).unwrap())
            .collect();
        for (env, emu) in emus.iter_mut().enumerate() {
            emu.set_rendering(env % 2 == 0);
        }
        for frame in 0..300 {
            emus.par_iter_mut().enumerate().for_each(|(env, emu)| {
                emu.set_keys(scripted_keys(env, frame));
                emu.run_frame();
            });
        }
        emus.iter()
            .map(|emu| (emu.ewram().to_vec(), emu.iwram().to_vec()))
            .collect()
    });

    for env in 0..8 {
        assert!(
            sequential[env] == parallel[env],
            "env {env} diverged between sequential and parallel runs"
        );
    }
    // The scripts differ, so the states must too: the check can fail.
    let hashes: std::collections::HashSet<_> = sequential
        .iter()
        .map(|(ewram, _)| ewram[12..16].to_vec())
        .collect();
    assert_eq!(hashes.len(), 8, "scripts did not produce distinct states");
}

#[test]
fn emulator_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Emulator>();
}

/// A 32 MiB ROM (the largest, which mGBA maps instead of copying) with the
/// game code of a game mGBA gives a real-time clock (`AXVE`), whose code
/// turns on the GPIO port and writes its three registers (ROM 0xC4, 0xC6,
/// 0xC8), then loops.
fn gpio_rom() -> Rom {
    let mut bytes = vec![0u8; 32 * 1024 * 1024];
    let mut put = |at: usize, words: &[u32]| {
        for (i, w) in words.iter().enumerate() {
            bytes[at + 4 * i..at + 4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
    };
    put(0, &[0xEA00_003E]); // b 0x100
    put(
        0x100,
        &[
            0xE3A0_0302, // mov r0, #0x08000000
            0xE280_00C4, // add r0, r0, #0xC4
            0xE3A0_1001, // mov r1, #1
            0xE1C0_10B4, // strh r1, [r0, #4]   control: read/write
            0xE3A0_1007, // mov r1, #7
            0xE1C0_10B2, // strh r1, [r0, #2]   direction
            0xE3A0_1005, // mov r1, #5
            0xE1C0_10B0, // strh r1, [r0]       data
            0xEAFF_FFF6, // b 0x100 (again, every pass)
        ],
    );
    bytes[0xA0..0xAC].copy_from_slice(b"GPIO TEST   ");
    bytes[0xAC..0xB0].copy_from_slice(b"AXVE");
    bytes[0xB0..0xB2].copy_from_slice(b"01");
    bytes[0xB2] = 0x96;
    let sum = bytes[0xA0..0xBD]
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b));
    bytes[0xBD] = 0u8.wrapping_sub(sum.wrapping_add(0x19));
    Rom::from_bytes(bytes, "generated GPIO ROM").expect("a valid header")
}

#[test]
fn a_game_with_gpio_hardware_never_writes_the_shared_rom() {
    let rom = gpio_rom();
    let before = rom.bytes()[0xC0..0xD0].to_vec();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let mut emu = Emulator::new(&rom).unwrap();
                emu.run_frames(30);
                // the game ran and sees its own GPIO registers (control
                // at 0xC8 turned on)
                let cart = emu.domain(Domain::Cart0);
                assert_eq!(
                    u16::from_le_bytes([cart[0xC8], cart[0xC9]]),
                    1,
                    "GPIO control"
                );
            });
        }
    });
    assert_eq!(
        &rom.bytes()[0xC0..0xD0],
        &before[..],
        "the shared ROM bytes changed"
    );
}

#[test]
fn a_full_size_rom_without_gpio_hardware_is_shared_not_copied() {
    // the same 32 MiB program under a game code mGBA gives no hardware:
    // its cores borrow the one copy of the ROM
    let gpio = gpio_rom();
    let mut bytes = gpio.bytes().to_vec();
    bytes[0xAC..0xB0].copy_from_slice(b"ZZZE");
    let sum = bytes[0xA0..0xBD]
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b));
    bytes[0xBD] = 0u8.wrapping_sub(sum.wrapping_add(0x19));
    let rom = Rom::from_bytes(bytes, "no hardware").unwrap();
    let mut emu = Emulator::new(&rom).unwrap();
    emu.run_frames(5);
    assert_eq!(emu.domain(Domain::Cart0).as_ptr(), rom.bytes().as_ptr());
    // and a GPIO game's core does not
    let emu = Emulator::new(&gpio).unwrap();
    assert_ne!(emu.domain(Domain::Cart0).as_ptr(), gpio.bytes().as_ptr());
}
