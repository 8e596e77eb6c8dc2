//! The vector memory in the agent and on the command line: a warm start
//! across two runs maps the first run's states, the novelty bonus reaches
//! the rewards, and the `index` commands build, query and check indexes.

mod common;

use common::{heuristic_run, one_json_object, pmd_agent, stderr};

#[test]
fn a_second_run_starts_with_the_first_runs_states_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let memory = dir.path().join("memory");
    let mem = memory.to_str().unwrap();
    let first = one_json_object(&heuristic_run("200", &["--memory", mem, "--json"]));
    assert_eq!(first["memory"]["points_at_start"], 0);
    assert_eq!(first["memory"]["points_at_end"], 200);
    assert!(first["memory"]["mean_bonus"].as_f64().unwrap() > 0.0);
    let second = one_json_object(&heuristic_run(
        "100",
        &["--memory", mem, "--seed", "3", "--json"],
    ));
    assert_eq!(second["memory"]["points_at_start"], 200);
    assert_eq!(
        second["memory"]["mapped_at_start"], 200,
        "mapped, not reloaded"
    );
    assert_eq!(second["memory"]["points_at_end"], 300);
    let stats = one_json_object(&["index", "stats", mem, "--verify", "--json"]);
    assert_eq!(stats["points"], 300);
    assert_eq!(stats["delta_points"], 0, "compacted at the end of the run");
}

#[test]
fn the_novelty_bonus_is_added_to_the_recorded_rewards() {
    use pmd_agent::record::read_trajectories;
    let dir = tempfile::tempdir().unwrap();
    let rewards = |beta: &str, sub: &str| -> f64 {
        let rec = dir.path().join(sub);
        let mem = dir.path().join(format!("{sub}-memory"));
        let out = pmd_agent(&heuristic_run(
            "100",
            &[
                "--record",
                rec.to_str().unwrap(),
                "--memory",
                mem.to_str().unwrap(),
                "--novelty-beta",
                beta,
            ],
        ));
        assert!(out.status.success(), "{}", stderr(&out));
        let file = std::fs::read_dir(&rec)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let t = read_trajectories(&file).unwrap();
        t.batches
            .iter()
            .map(|b| {
                let r = b
                    .column_by_name("reward")
                    .unwrap()
                    .as_any()
                    .downcast_ref::<arrow_array::Float32Array>()
                    .unwrap()
                    .values()
                    .iter()
                    .map(|x| f64::from(*x))
                    .sum::<f64>();
                r
            })
            .sum()
    };
    let without = rewards("0", "a");
    let with = rewards("1", "b");
    // the first 10 states of each environment are all novel (fewer than
    // k = 10 neighbours): at least 20 × 1.0 more reward in all
    assert!(with > without + 15.0, "with {with}, without {without}");
}

#[test]
fn index_commands_build_query_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let traj = dir.path().join("traj");
    let out = pmd_agent(&heuristic_run("120", &["--record", traj.to_str().unwrap()]));
    assert!(out.status.success(), "{}", stderr(&out));
    let idx = dir.path().join("idx");
    let built = one_json_object(&[
        "index",
        "build",
        "--from",
        traj.to_str().unwrap(),
        "--out",
        idx.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(built["points"], 120);
    let file = std::fs::read_dir(&traj)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let found = one_json_object(&[
        "index",
        "query",
        idx.to_str().unwrap(),
        "--trajectory",
        file.to_str().unwrap(),
        "--rows",
        "7",
        "-k",
        "3",
        "--json",
    ]);
    let first = &found["results"][0][0];
    assert_eq!(first["id"], 7, "a recorded state finds itself first");
    assert!(first["distance"].as_f64().unwrap().abs() < 1e-4);
    // damaged index files: a one-line error, exit 2
    let base = std::fs::read_dir(&idx)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "mhnsw"))
        .unwrap();
    let mut bytes = std::fs::read(&base).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&base, bytes).unwrap();
    for args in [
        vec!["index", "stats", idx.to_str().unwrap()],
        vec!["index", "stats", dir.path().join("none").to_str().unwrap()],
        vec![
            "index",
            "build",
            "--from",
            dir.path().to_str().unwrap(),
            "--out",
            "/tmp/x",
        ],
    ] {
        let out = pmd_agent(&args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"));
    }
}

#[test]
fn bench_index_prints_the_issue_keys() {
    let dir = tempfile::tempdir().unwrap();
    let v = one_json_object(&[
        "bench",
        "index",
        "--points",
        "3000",
        "--queries-count",
        "100",
        "--min-time",
        "0.05",
        "--index-dir",
        dir.path().join("i").to_str().unwrap(),
        "--json",
    ]);
    for key in [
        "points",
        "dim",
        "build_s",
        "recall_at_10",
        "qps_1",
        "qps_all",
        "open_to_first_query_ms",
        "rss_after_open_mb",
    ] {
        assert!(v[key].is_number(), "{key} in {v}");
    }
    assert_eq!(v["points"], 3000);
    assert!(v["recall_at_10"].as_f64().unwrap() >= 0.95, "{v}");
}

#[test]
fn bench_index_measures_where_exact_search_stops_paying() {
    let dir = tempfile::tempdir().unwrap();
    let v = one_json_object(&[
        "bench",
        "index",
        "--threshold-sizes",
        "300,600",
        "--min-time",
        "0.05",
        "--index-dir",
        dir.path().join("t").to_str().unwrap(),
        "--json",
    ]);
    let rows = v.as_array().expect("one row per size");
    assert_eq!(rows.len(), 2, "{v}");
    for (row, points) in rows.iter().zip([300, 600]) {
        assert_eq!(row["points"], points);
        assert!(row["exact_qps_1"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["hnsw_qps_1"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["recall_at_10"].as_f64().unwrap() >= 0.95, "{row}");
    }
}

#[test]
fn a_run_killed_with_sigkill_keeps_the_states_it_saved() {
    use pmd_agent::memory::Index;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let memory = dir.path().join("memory");
    let mut child = common::spawn_endless_run(&[
        "--memory",
        memory.to_str().unwrap(),
        "--memory-save-secs",
        "0",
    ]);
    // Wait until a save has published states (the manifest appears with
    // the first delta), then kill the run without warning.
    let started = Instant::now();
    let saved = loop {
        match Index::open(&memory) {
            Ok(index) if index.len() >= 64 => break index.len(),
            _ if started.elapsed() > Duration::from_secs(120) => {
                let _ = child.kill();
                panic!("no states were saved while the run went on");
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let index = Index::open(&memory).expect("what the killed run saved opens");
    assert!(index.len() >= saved, "{} < {saved}", index.len());
    index.verify().unwrap();
    // The lock died with the process: the next run can write at once.
    let out = common::pmd_agent(&heuristic_run(
        "20",
        &["--memory", memory.to_str().unwrap(), "--json"],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
}
