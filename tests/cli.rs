//! The `pmd-agent` binary end to end: the frame job, its JSON, and one test
//! per bad-input case (exit code 2, one line on stderr, no panic).

mod common;

use std::path::Path;

use common::{heuristic_run, one_json_object, pmd_agent, stderr};

/// Runs with `--rom path` and checks the bad-input contract; returns the
/// error line.
fn assert_bad_rom(path: &Path, needle: &str) -> String {
    let out = pmd_agent(&["--rom", path.to_str().unwrap(), "--frames", "10"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(path.to_str().unwrap()), "no path in {err:?}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    err
}

#[test]
fn frame_job_prints_exactly_one_json_object() {
    let out = pmd_agent(&["run", "--frames", "2000", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text:?}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["rom_title"], "PMD-AGENT");
    assert_eq!(v["game_code"], "PMDT");
    assert_eq!(v["frames"], 2000);
    let seconds = v["seconds"].as_f64().unwrap();
    let fps = v["fps"].as_f64().unwrap();
    assert!(seconds > 0.0);
    assert!(
        (fps * seconds - 2000.0).abs() < 1.0,
        "fps {fps} x {seconds} s"
    );
    assert!(stderr(&out).is_empty(), "stderr: {}", stderr(&out));
}

#[test]
fn no_subcommand_runs_the_same_job() {
    let out = pmd_agent(&["--frames", "100", "--no-render", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["frames"], 100);
    assert_eq!(v["render"], false);
}

#[test]
fn human_summary_names_the_rom() {
    let out = pmd_agent(&["--frames", "60"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("PMD-AGENT [PMDT]"), "{text}");
    assert!(text.contains("frames/s"), "{text}");
}

#[test]
fn a_rom_file_runs_like_the_bundled_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cart.gba");
    std::fs::write(&path, pmd_agent::cartridge::ROM_BYTES).unwrap();
    let out = pmd_agent(&["--rom", path.to_str().unwrap(), "--frames", "30", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["game_code"], "PMDT");
}

#[test]
fn screenshot_is_a_png_of_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shot.png");
    let out = pmd_agent(&[
        "--frames",
        "20",
        "--no-render",
        "--screenshot",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn missing_path_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_bad_rom(&dir.path().join("absent.gba"), "no such file");
}

#[test]
fn directory_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_bad_rom(dir.path(), "is a directory");
}

#[test]
fn empty_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.gba");
    std::fs::write(&path, b"").unwrap();
    assert_bad_rom(&path, "empty file");
}

#[test]
fn a_file_shorter_than_the_header_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.gba");
    std::fs::write(&path, [0x5Au8; 191]).unwrap();
    assert_bad_rom(&path, "too small");
    // header-sized garbage: the header checks refuse it
    std::fs::write(&path, [0x5Au8; 192]).unwrap();
    assert_bad_rom(&path, "not a GBA ROM");
}

/// A valid homebrew ROM of `len` bytes: a header whose entry point is an
/// endless loop (`b .`).
fn tiny_rom(len: usize) -> Vec<u8> {
    let mut rom = vec![0u8; len];
    rom[..4].copy_from_slice(&[0xFE, 0xFF, 0xFF, 0xEA]);
    rom[0xA0..0xA4].copy_from_slice(b"TINY");
    rom[0xAC..0xB0].copy_from_slice(b"TINY");
    rom[0xB2] = 0x96;
    let sum = rom[0xA0..0xBD].iter().fold(0u8, |a, b| a.wrapping_add(*b));
    rom[0xBD] = 0u8.wrapping_sub(sum.wrapping_add(0x19));
    rom
}

#[test]
fn valid_roms_as_small_as_their_header_run() {
    let dir = tempfile::tempdir().unwrap();
    for len in [192, 256, 511] {
        let path = dir.path().join(format!("tiny{len}.gba"));
        std::fs::write(&path, tiny_rom(len)).unwrap();
        let v = one_json_object(&["--rom", path.to_str().unwrap(), "--frames", "30", "--json"]);
        assert_eq!(v["frames"], 30, "{len} bytes");
        assert_eq!(v["game_code"], "TINY");
    }
}

#[test]
fn random_mebibyte_exits_2() {
    // A fixed xorshift stream: random-looking, reproducible.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let bytes: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.gba");
    std::fs::write(&path, bytes).unwrap();
    assert_bad_rom(&path, "not a GBA ROM");
}

#[test]
fn unwritable_screenshot_exits_2_with_one_line() {
    let out = pmd_agent(&["--frames", "5", "--screenshot", "/nonexistent-dir/shot.png"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn bad_arguments_exit_2() {
    let out = pmd_agent(&["--frames", "lots"]);
    assert_eq!(out.status.code(), Some(2));
}

fn inspect_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["inspect", "--json"];
    all.extend_from_slice(args);
    one_json_object(&all)
}

#[test]
fn inspect_prints_the_decoded_dungeon_as_one_json_object() {
    let v = inspect_json(&["--seed", "5"]);
    assert_eq!(v["in_dungeon"], true);
    assert_eq!(v["floor"], 1);
    assert_eq!(v["dungeon_id"], 1);
    assert_eq!(v["turn_ready"], true);
    let leader = &v["leader"];
    for key in ["species", "level", "hp", "max_hp", "belly", "x", "y"] {
        assert!(leader[key].is_number(), "leader.{key} missing: {leader}");
    }
    assert_eq!(leader["hp"], 40);
    assert!(v["team"].is_array() && v["monsters"].is_array() && v["items"].is_array());
    assert!(v["stairs"].is_null() || v["stairs"]["x"].is_number());
    let map = &v["map"];
    assert_eq!(map["width"], 56);
    assert_eq!(map["height"], 32);
    let rows = map["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 32);
    assert!(rows
        .iter()
        .all(|r| r.as_str().unwrap().chars().count() == 56));
    let (x, y) = (
        leader["x"].as_u64().unwrap() as usize,
        leader["y"].as_u64().unwrap() as usize,
    );
    assert_eq!(rows[y].as_str().unwrap().chars().nth(x), Some('@'));
}

#[test]
fn inspect_is_reproducible_from_the_seed() {
    let a = inspect_json(&["--seed", "99"]);
    let b = inspect_json(&["--seed", "99"]);
    let c = inspect_json(&["--seed", "100"]);
    assert_eq!(a, b);
    assert_ne!(a["map"], c["map"]);
}

#[test]
fn inspect_human_output_draws_the_map() {
    let out = pmd_agent(&["inspect", "--seed", "3"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("+{}+", "-".repeat(56))), "{text}");
    assert!(text.contains('@'));
    assert!(text.contains("leader"));
}

#[test]
fn inspect_refuses_a_rom_without_a_ram_map() {
    let mut bytes = pmd_agent::cartridge::ROM_BYTES.to_vec();
    bytes[0xAC..0xB0].copy_from_slice(b"B24P");
    let sum = bytes[0xA0..0xBD]
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b));
    bytes[0xBD] = 0u8.wrapping_sub(sum.wrapping_add(0x19));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eu.gba");
    std::fs::write(&path, bytes).unwrap();
    let out = pmd_agent(&["inspect", "--rom", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("B24P"), "{err}");
    // plain frame mode runs it
    let out = pmd_agent(&["run", "--rom", path.to_str().unwrap(), "--frames", "10"]);
    assert!(out.status.success());
}

#[test]
fn inspect_state_files_round_trip_and_bad_ones_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("cart.ss1");
    let first = inspect_json(&["--seed", "8", "--write-state", state.to_str().unwrap()]);
    let again = inspect_json(&["--state", state.to_str().unwrap(), "--frames", "1"]);
    assert_eq!(first["map"], again["map"]);
    assert_eq!(first["leader"], again["leader"]);

    let garbage = dir.path().join("garbage.ss1");
    std::fs::write(&garbage, [0x42u8; 5000]).unwrap();
    let mut truncated = std::fs::read(&state).unwrap();
    truncated.truncate(truncated.len() / 2);
    let half = dir.path().join("half.ss1");
    std::fs::write(&half, truncated).unwrap();
    for (path, needle) in [
        (dir.path().join("absent.ss1"), "no such"),
        (garbage, "savestate"),
        (half, "savestate"),
        (dir.path().to_path_buf(), "directory"),
    ] {
        let out = pmd_agent(&["inspect", "--state", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err:?}");
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
        assert!(
            !err.contains("panicked") && !err.contains("libpng"),
            "{err}"
        );
    }
}

#[test]
fn inspect_battery_save_of_wrong_size_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("game.sav");
    std::fs::write(&save, [0u8; 1234]).unwrap();
    let out = pmd_agent(&["inspect", "--save", save.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("1234 bytes"), "{}", stderr(&out));
}

#[test]
fn agent_mode_prints_exactly_one_json_object() {
    let out = pmd_agent(&heuristic_run("200", &["--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text:?}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in [
        "policy",
        "envs",
        "steps",
        "frames",
        "episodes",
        "terminated",
        "truncated",
        "end_reasons",
        "quarantined_envs",
        "seconds",
        "steps_per_s",
        "frames_per_s",
        "mean_max_floor",
        "failures",
        "seed_scope",
    ] {
        assert!(!v[key].is_null(), "{key} missing in {v}");
    }
    assert_eq!(v["policy"], "heuristic");
    assert_eq!(v["envs"], 2);
    assert_eq!(v["steps"], 200);
    assert_eq!(v["failures"], 0);
    assert_eq!(v["quarantined_envs"], serde_json::json!([]));
    assert_eq!(v["seed_scope"], "whole_episode");
    assert!(v["frames"].as_u64().unwrap() > 200 * 5);
}

#[test]
fn agent_mode_counts_terminated_and_truncated_episodes() {
    // 2 envs x 2000 steps: the heuristic clears the 10-floor dungeon in
    // some episodes, the 150-step limit truncates others.
    let v = one_json_object(&heuristic_run(
        "2000",
        &["--max-episode-steps", "150", "--json"],
    ));
    let (terminated, truncated) = (
        v["terminated"].as_u64().unwrap(),
        v["truncated"].as_u64().unwrap(),
    );
    assert_eq!(terminated + truncated, v["episodes"].as_u64().unwrap());
    assert!(truncated >= 1, "{v}");
    let reasons = &v["end_reasons"];
    assert_eq!(
        reasons["step_limit"].as_u64().unwrap(),
        truncated,
        "every truncation here is the step limit: {v}"
    );
    let ended: u64 = ["fainted", "cleared", "left_dungeon"]
        .iter()
        .map(|r| reasons[*r].as_u64().unwrap())
        .sum();
    assert_eq!(ended, terminated);
}

#[test]
fn agent_mode_refuses_frames_together_with_agent_options() {
    for args in [
        vec!["run", "--policy", "random", "--frames", "10"],
        vec!["run", "--frames", "10", "--metrics-addr", "127.0.0.1:0"],
        vec!["run", "--policy", "telepathy"],
        vec!["run", "--policy", "torch:"],
    ] {
        let out = pmd_agent(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_battery_save_beside_the_rom_is_loaded() {
    // A save of an impossible size beside the ROM proves it is read: the
    // run refuses it, naming it. With --save another file replaces it.
    let dir = tempfile::tempdir().unwrap();
    let rom = dir.path().join("game.gba");
    std::fs::write(&rom, pmd_agent::cartridge::ROM_BYTES).unwrap();
    let beside = dir.path().join("game.sav");
    std::fs::write(&beside, [0u8; 1000]).unwrap();
    let out = pmd_agent(&["--rom", rom.to_str().unwrap(), "--frames", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("game.sav"), "{}", stderr(&out));
    let good = dir.path().join("other.sav");
    std::fs::write(&good, vec![0xFFu8; 65536]).unwrap();
    let out = pmd_agent(&[
        "--rom",
        rom.to_str().unwrap(),
        "--save",
        good.to_str().unwrap(),
        "--frames",
        "10",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&beside, vec![0xFFu8; 65536]).unwrap();
    let v = one_json_object(&heuristic_run(
        "20",
        &["--rom", rom.to_str().unwrap(), "--json"],
    ));
    assert_eq!(v["steps"], 20);
}

fn bench_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.push("--json");
    one_json_object(&all)
}

#[test]
fn bench_suites_print_their_json() {
    let v = bench_json(&["overhead", "--rounds", "30", "--envs", "2"]);
    for key in [
        "raw_fps",
        "agent_fps",
        "agent_record_fps",
        "ratio",
        "ratio_record",
    ] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key} in {v}");
    }
    assert_eq!(v["envs"], 2);
    assert!(v["cores"].as_u64().unwrap() >= 1);
    assert!(v["frames"].as_u64().unwrap() > 30 * 2 * 5);
    let v = bench_json(&["scaling", "--envs", "2", "--steps", "60"]);
    assert_eq!(
        v["envs"],
        serde_json::json!([1, 2]),
        "N = 1 is always measured"
    );
    assert_eq!(v["steps_per_s"].as_array().unwrap().len(), 2);
    assert_eq!(v["frames_per_s"].as_array().unwrap().len(), 2);
    assert_eq!(v["speedup"][0], 1.0);
    assert!(v["cores"].as_u64().unwrap() >= 1);
    assert!(v["rss_bytes"][1].as_u64().unwrap() > 0);
    let v = bench_json(&["memory", "--soak-frames", "3000"]);
    assert!(v["rss_64"].as_u64().unwrap() > v["rss_1"].as_u64().unwrap());
    assert!(v["per_env_bytes"].as_u64().unwrap() > 0);
    assert!(v["soak_frames"].as_u64().unwrap() >= 3000);
    assert!(v["soak_growth_bytes"].is_i64());
}

#[test]
fn a_rom_of_a_known_game_is_played_and_any_other_runs_frames() {
    // the design card's `pmd-agent --rom pmd.gba`: a game with a RAM map
    // is played by the default policy, with a summary
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("cart.gba");
    std::fs::write(&known, pmd_agent::cartridge::ROM_BYTES).unwrap();
    let v = one_json_object(&["--rom", known.to_str().unwrap(), "--json"]);
    assert_eq!(v["policy"], "heuristic", "{v}");
    assert_eq!(v["steps"], 5000, "{v}");
    assert!(v["episodes"].as_u64().unwrap() > 0, "{v}");
    // --frames keeps frame mode explicit
    let v = one_json_object(&["--rom", known.to_str().unwrap(), "--frames", "30", "--json"]);
    assert_eq!(v["frames"], 30, "{v}");
    assert!(v.get("policy").is_none(), "{v}");
    // a ROM no profile knows (another game code) runs frames
    let mut other = pmd_agent::cartridge::ROM_BYTES.to_vec();
    other[0xAC..0xB0].copy_from_slice(b"ZZZE");
    let sum = other[0xA0..0xBD]
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b));
    other[0xBD] = 0u8.wrapping_sub(sum.wrapping_add(0x19));
    let unknown = dir.path().join("other.gba");
    std::fs::write(&unknown, other).unwrap();
    let v = one_json_object(&["--rom", unknown.to_str().unwrap(), "--json"]);
    assert_eq!(v["frames"], 3600, "{v}");
    assert!(v.get("policy").is_none(), "{v}");
}
