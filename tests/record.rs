//! Trajectory files: recorded by the binary, read by pyarrow, exported to
//! Parquet, readable after SIGKILL, replayed into a GIF.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{heuristic_run, pmd_agent, spawn_endless_run, stderr};
use pmd_agent::record::{read_trajectories, read_trajectories_with, ReadOptions, RecordError};

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
        let rows = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| read_trajectories(&e.ok()?.path()).ok())
            .map(|t| t.rows())
            .sum::<usize>();
        if rows >= 256 || started.elapsed() > Duration::from_secs(60) {
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

#[test]
fn the_same_seed_gives_identical_files_with_one_and_two_threads() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut files = Vec::new();
    for (dir, threads) in dirs.iter().zip(["1", "2"]) {
        let out = pmd_agent(&[
            "run",
            "--policy",
            "random",
            "--envs",
            "3",
            "--threads",
            threads,
            "--steps",
            "600",
            "--seed",
            "11",
            "--max-episode-steps",
            "50",
            "--record",
            dir.path().to_str().unwrap(),
            "--run-id",
            "same-run",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        files.push(std::fs::read(the_file(dir.path())).unwrap());
    }
    assert!(files[0].len() > 1000);
    assert!(
        files[0] == files[1],
        "the files differ between 1 and 2 threads"
    );
}

#[test]
fn recordings_take_at_most_a_kilobyte_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), "4000", &[]);
    let bytes = std::fs::metadata(&file).unwrap().len();
    let rows = read_trajectories(&file).unwrap().rows() as u64;
    assert_eq!(rows, 4000);
    assert!(
        bytes <= 1024 * rows,
        "{bytes} bytes for {rows} rows: {} per step",
        bytes / rows
    );
}

/// The byte offsets of the record batch messages' bodies and buffers.
fn batch_buffers(file: &[u8]) -> Vec<(usize, usize)> {
    let mut at = 0;
    let mut found = Vec::new();
    while at + 8 <= file.len() {
        let word = |i: usize| u32::from_le_bytes(file[i..i + 4].try_into().unwrap()) as usize;
        assert_eq!(word(at), 0xFFFF_FFFF, "continuation marker");
        let len = word(at + 4);
        if len == 0 {
            break;
        }
        let meta = &file[at + 8..at + 8 + len];
        let message = arrow_ipc::root_as_message(meta).unwrap();
        let body = at + 8 + len;
        if let Some(batch) = message.header_as_record_batch() {
            for b in batch.buffers().unwrap().iter() {
                if b.length() >= 8 {
                    found.push((body + b.offset() as usize, b.length() as usize));
                }
            }
        }
        at = body + message.bodyLength() as usize;
    }
    found
}

#[test]
fn corrupted_lengths_cannot_make_the_reader_allocate_gigabytes() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), "200", &["--record-batch-rows", "100"]);
    let good = std::fs::read(&file).unwrap();
    let buffers = batch_buffers(&good);
    assert!(buffers.len() > 10, "{buffers:?}");

    // a compressed buffer claiming a terabyte once decompressed
    let mut huge = good.clone();
    let (at, _) = buffers[buffers.len() / 2];
    huge[at..at + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
    let path = dir.path().join("huge.arrows");
    std::fs::write(&path, &huge).unwrap();
    let t = read_trajectories(&path).unwrap();
    assert_eq!(t.rows(), 100, "the intact first batch is kept");
    assert!(
        t.torn.as_deref().is_some_and(|e| e.contains("states")),
        "{:?}",
        t.torn
    );

    // a message claiming 2 GiB of metadata
    let mut long = good.clone();
    let schema_len = u32::from_le_bytes(good[4..8].try_into().unwrap()) as usize;
    let second = 8 + schema_len;
    long[second + 4..second + 8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    let path = dir.path().join("long.arrows");
    std::fs::write(&path, &long).unwrap();
    let t = read_trajectories(&path).unwrap();
    assert_eq!(t.rows(), 0);
    assert!(t.torn.is_some());

    // random bytes over every buffer, one at a time: never a panic
    for (i, (at, len)) in buffers.iter().enumerate().step_by(7) {
        let mut damaged = good.clone();
        for (k, b) in damaged[*at..*at + len.min(&64)].iter_mut().enumerate() {
            *b = (i * 31 + k * 7) as u8;
        }
        let path = dir.path().join(format!("damaged{i}.arrows"));
        std::fs::write(&path, &damaged).unwrap();
        let _ = read_trajectories(&path);
    }
}

fn write_with_version(path: &Path, version: Option<&str>) {
    let meta = pmd_agent::record::RunMeta {
        run_id: "v".into(),
        policy: "heuristic".into(),
        start: "boot".into(),
        ..Default::default()
    };
    let schema = pmd_agent::record::schema(&meta, false);
    let mut map = schema.metadata().clone();
    match version {
        Some(v) => map.insert("pmd_agent.schema_version".to_string(), v.to_string()),
        None => map.remove("pmd_agent.schema_version"),
    };
    let schema = schema.with_metadata(map);
    let file = std::fs::File::create(path).unwrap();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(file, &schema).unwrap();
    writer.finish().unwrap();
}

#[test]
fn unknown_schema_versions_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (version, needle) in [
        (Some("4.0"), "4.x"),
        // version 2 recorded the 1,804-float observation
        (Some("2.0"), "2.x"),
        (None, "no version"),
        (Some("two"), "two"),
    ] {
        let path = dir.path().join("v.arrows");
        write_with_version(&path, version);
        let err = read_trajectories(&path).unwrap_err();
        assert!(matches!(err, RecordError::Version { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    let path = dir.path().join("minor.arrows");
    write_with_version(&path, Some("3.7"));
    assert!(
        read_trajectories(&path).is_ok(),
        "a newer minor version reads"
    );
}

#[test]
fn rolled_back_rows_stay_recorded_and_are_skipped_by_default() {
    use pmd_agent::env::{Env, EnvError};
    use pmd_agent::game::ram_map::addr;
    use pmd_agent::policy::{Heuristic, PerEnv};
    use pmd_agent::rollout::{EnvHook, VecEnvConfig, VecEnvOptions};
    use pmd_agent::runner::{RecordConfig, Runner, StartPoint};

    /// Breaks env 0's step 4 of every episode.
    struct BreakStepFour;
    impl EnvHook for BreakStepFour {
        fn before_step(&self, i: usize, _: u64, step: u32, env: &mut Env) -> Result<(), EnvError> {
            if i == 0 && step == 4 {
                env.emulator_mut().write_u32(addr::G_DUNGEON, 1).unwrap();
            }
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let options = VecEnvOptions {
        hook: Some(std::sync::Arc::new(BreakStepFour)),
        ..VecEnvOptions::default()
    };
    let mut runner = Runner::new(
        &pmd_agent::cartridge::rom().unwrap(),
        VecEnvConfig {
            envs: 2,
            threads: Some(2),
            ..VecEnvConfig::default()
        },
        &StartPoint::default(),
        Box::new(PerEnv(Heuristic::default())),
        Some(&RecordConfig::new(dir.path())),
        options,
    )
    .unwrap();
    runner
        .run(40, |_| std::ops::ControlFlow::Continue(()))
        .unwrap();
    let report = runner.finish().unwrap();
    let file = report.record_file.unwrap();
    let all = read_trajectories_with(
        &file,
        ReadOptions {
            include_rolled_back: true,
        },
    )
    .unwrap();
    let clean = read_trajectories(&file).unwrap();
    // env 0 in 20 rounds: 4 good steps, 3 failed tries of step 4 (then
    // the episode is truncated), twice, then 4 good steps and 2 failures
    assert_eq!(report.failures, 8);
    assert_eq!(all.rows(), 40);
    // the undone tries are skipped; each given-up episode's last row (a
    // failed try that truncated it) stays, with its reason
    assert_eq!(clean.rows(), 34);
    assert_eq!(clean.rolled_back_rows, 6);
    use arrow_array::Array;
    let column = |name: &str| {
        clean
            .batches
            .iter()
            .flat_map(|b| {
                let c = b.column_by_name(name).unwrap();
                let c = c
                    .as_any()
                    .downcast_ref::<arrow_array::StringArray>()
                    .unwrap();
                (0..c.len())
                    .map(|i| c.is_valid(i).then(|| c.value(i).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let reasons = column("reason");
    assert_eq!(
        reasons
            .iter()
            .flatten()
            .filter(|r| *r == "step_error")
            .count(),
        2,
        "both given-up endings are read: {reasons:?}"
    );
    let (_, steps) = pmd_agent::record::episode_actions(&all, "f", 0, 0).unwrap();
    assert_eq!(steps.len(), 7);
    assert_eq!(steps.iter().filter(|s| s.rolled_back).count(), 3);
}

#[test]
fn no_record_batch_exceeds_batch_rows_even_when_a_round_has_more_rows() {
    use arrow_array::{Array, FixedSizeListArray, Float32Array, UInt32Array};
    use pmd_agent::policy::{Heuristic, PerEnv};
    use pmd_agent::rollout::{VecEnvConfig, VecEnvOptions};
    use pmd_agent::runner::{RecordConfig, Runner, StartPoint};

    let record = |batch_rows: usize| {
        let dir = tempfile::tempdir().unwrap();
        let record = RecordConfig {
            batch_rows,
            ..RecordConfig::new(dir.path())
        };
        let mut runner = Runner::new(
            &pmd_agent::cartridge::rom().unwrap(),
            VecEnvConfig {
                envs: 5,
                threads: Some(2),
                seed: 3,
                ..VecEnvConfig::default()
            },
            &StartPoint::default(),
            Box::new(PerEnv(Heuristic::default())),
            Some(&record),
            VecEnvOptions::default(),
        )
        .unwrap();
        runner
            .run(40, |_| std::ops::ControlFlow::Continue(()))
            .unwrap();
        let file = runner.finish().unwrap().record_file.unwrap();
        read_trajectories(&file).unwrap()
    };
    let split = record(3);
    let whole = record(4096);
    let sizes: Vec<usize> = split.batches.iter().map(|b| b.num_rows()).collect();
    assert!(sizes.iter().all(|&n| n <= 3), "batch sizes {sizes:?}");
    assert_eq!(split.rows(), 40);
    assert_eq!(whole.batches.len(), 1);
    // every row keeps its own observation and legal actions across the
    // splits: the same run recorded in one batch has the same rows
    let obs = |t: &pmd_agent::record::Trajectories| -> Vec<f32> {
        t.batches
            .iter()
            .flat_map(|b| {
                let list = b.column_by_name("obs").unwrap();
                let list = list.as_any().downcast_ref::<FixedSizeListArray>().unwrap();
                let values = list
                    .values()
                    .as_any()
                    .downcast_ref::<Float32Array>()
                    .unwrap();
                values.values().to_vec()
            })
            .collect()
    };
    let u32s = |t: &pmd_agent::record::Trajectories, name: &str| -> Vec<u32> {
        t.batches
            .iter()
            .flat_map(|b| {
                let c = b.column_by_name(name).unwrap();
                c.as_any()
                    .downcast_ref::<UInt32Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect()
    };
    assert!(obs(&split) == obs(&whole), "observations differ");
    assert_eq!(u32s(&split, "legal_actions"), u32s(&whole, "legal_actions"));
    assert_eq!(u32s(&split, "env"), u32s(&whole, "env"));
}

/// Found by `make fuzz-smoke` (target `trajectory_file`): a recording whose
/// record batch declares an array length that, multiplied by the 2,395
/// values of an observation row, overflowed inside arrow's validation (a
/// panic). The reader now bounds every array's length by the batch's rows
/// first: a typed error or the batches before it, never a panic.
#[test]
fn a_batch_whose_array_lengths_overflow_is_refused_not_a_panic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz/trajectory_node_overflow.arrows");
    for include_rolled_back in [false, true] {
        let read = std::panic::catch_unwind(|| {
            read_trajectories_with(
                &path,
                ReadOptions {
                    include_rolled_back,
                },
            )
        });
        let result = read.expect("no panic");
        if let Ok(t) = result {
            assert!(t.torn.is_some(), "the damaged batch ends the stream");
        }
    }
}
