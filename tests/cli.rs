//! The `pmd-agent` binary end to end: the frame job, its JSON, and one test
//! per bad-input case (exit code 2, one line on stderr, no panic).

use std::path::Path;
use std::process::{Command, Output};

fn pmd_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pmd-agent"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

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
fn two_hundred_byte_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.gba");
    std::fs::write(&path, [0x5Au8; 200]).unwrap();
    assert_bad_rom(&path, "too small");
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
