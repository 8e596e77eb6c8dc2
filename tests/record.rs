//! Trajectory files: recorded by the binary, read by pyarrow, exported to
//! Parquet, readable after SIGKILL, replayed into a GIF.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{heuristic_run, pmd_agent, spawn_endless_run, stderr};
use pmd_agent::record::read_trajectories;

fn the_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "arrows"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

fn record(dir: &Path, steps: &str, extra: &[&str]) -> PathBuf {
    let dir_arg = dir.to_str().unwrap();
    let mut args = heuristic_run(steps, &["--max-episode-steps", "60", "--record", dir_arg]);
    args.extend_from_slice(extra);
    let out = pmd_agent(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    the_file(dir)
}

/// The Python that has pyarrow: `PMD_PYTHON` (set by `make test` to the
/// project venv), else `python3`.
fn python() -> Option<String> {
    let candidate = std::env::var("PMD_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&candidate)
        .args(["-c", "import pyarrow"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(candidate);
    }
    assert!(
        std::env::var("PMD_REQUIRE_PYARROW").as_deref() != Ok("1"),
        "pyarrow is required (make setup installs it into .venv)"
    );
    None
}

#[test]
fn recorded_files_are_read_by_pyarrow_and_exported_to_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), "300", &[]);
    let t = read_trajectories(&file).unwrap();
    assert_eq!(t.rows(), 300);
    assert!(t.torn.is_none(), "{:?}", t.torn);
    assert_eq!(t.meta.policy, "heuristic");
    assert_eq!(t.meta.start, "boot");

    let parquet = dir.path().join("out.parquet");
    let out = pmd_agent(&[
        "export",
        file.to_str().unwrap(),
        "--parquet",
        parquet.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&parquet).unwrap().starts_with(b"PAR1"));

    let Some(python) = python() else {
        eprintln!("skipped the pyarrow check: pyarrow not installed (run `make setup`)");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_trajectories.py");
    let out = Command::new(python)
        .arg(script)
        .args([
            file.to_str().unwrap(),
            "300",
            "2",
            parquet.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow check failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

#[test]
fn frames_can_be_recorded_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), "20", &["--record-frames"]);
    let t = read_trajectories(&file).unwrap();
    assert!(t.schema.field_with_name("frame").is_ok());
    assert_eq!(t.rows(), 20);
}

#[test]
fn a_run_killed_with_sigkill_leaves_a_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_endless_run(&[
        "--record",
        dir.path().to_str().unwrap(),
        "--record-batch-rows",
        "64",
    ]);
    // wait for a few batches to be flushed
    let started = Instant::now();
    loop {
        let size = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum::<u64>();
        if size > 2_000_000 || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let t = read_trajectories(&the_file(dir.path())).unwrap();
    assert!(t.rows() >= 128, "{} rows", t.rows());
    assert_eq!(t.rows() % 64, 0, "only whole batches");
}

#[test]
fn a_torn_file_keeps_its_complete_batches() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), "300", &["--record-batch-rows", "50"]);
    let bytes = std::fs::read(&file).unwrap();
    let torn = dir.path().join("torn.arrows");
    std::fs::write(&torn, &bytes[..bytes.len() - 5000]).unwrap();
    let t = read_trajectories(&torn).unwrap();
    assert_eq!(t.rows(), 250, "the last of six batches is torn");
    assert!(t.torn.is_some());
}

#[test]
fn replay_makes_a_gif_of_a_recorded_episode() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), "300", &[]);
    let gif = dir.path().join("ep.gif");
    let out = pmd_agent(&[
        "replay",
        file.to_str().unwrap(),
        "--episode",
        "1",
        "--env",
        "1",
        "--gif",
        gif.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&gif).unwrap();
    assert!(bytes.starts_with(b"GIF89a"));
    // one image descriptor (0x2C after a graphic control block) per frame:
    // reset + 60 steps
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(60 steps"), "{text}");
    assert!(text.contains("61 frames"), "{text}");
}

#[test]
fn bad_trajectory_inputs_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.arrows");
    std::fs::write(&garbage, [7u8; 4096]).unwrap();
    let missing = dir.path().join("missing.arrows");
    let gif = dir.path().join("x.gif");
    let parquet = dir.path().join("x.parquet");
    for args in [
        vec![
            "export",
            garbage.to_str().unwrap(),
            "--parquet",
            parquet.to_str().unwrap(),
        ],
        vec![
            "export",
            missing.to_str().unwrap(),
            "--parquet",
            parquet.to_str().unwrap(),
        ],
        vec![
            "replay",
            garbage.to_str().unwrap(),
            "--episode",
            "0",
            "--gif",
            gif.to_str().unwrap(),
        ],
    ] {
        let out = pmd_agent(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(!parquet.exists(), "a half-written parquet file was left");
    }
    let rec_dir = dir.path().join("rec");
    let file = record(&rec_dir, "10", &[]);
    let out = pmd_agent(&[
        "replay",
        file.to_str().unwrap(),
        "--episode",
        "99",
        "--gif",
        gif.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("episode 99"), "{}", stderr(&out));
}
