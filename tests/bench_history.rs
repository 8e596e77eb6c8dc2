//! `bench --history`, `bench compare` and `bench plot` end to end: a real
//! smoke run is recorded with its commit, machine and date; compare stays
//! quiet on runs of one build, flags a slowed one (exit 1, naming the
//! figures) and refuses what it cannot judge with one line (exit 2).

mod common;

use std::path::Path;

use common::{one_json_object, pmd_agent, stderr};
use serde_json::{json, Value};

/// A history line of the `smoke` suite, with the frames/s and steps/s of
/// a run scaled by `speed`.
fn smoke_line(commit: &str, speed: f64, wobble: f64) -> String {
    let fps = 20_000.0 * speed * (1.0 + wobble);
    let record = json!({
        "suite": "smoke",
        "date": "2026-12-03T12:00:00.000Z",
        "commit": commit,
        "machine": {"cores": 2, "load_before": [0.1, 0.1, 0.1], "load_after": [0.2, 0.1, 0.1]},
        "result": {
            "overhead": {"envs": 2, "raw_fps": 30_000.0 * (1.0 + wobble), "agent_fps": fps,
                         "cpu_ratio": fps / 30_000.0},
            "policies": {"episodes": 16, "results": [
                {"policy": "heuristic", "mean_max_floor": 2.5, "steps_per_s": fps / 25.0,
                 "max_floors": [2, 3]}
            ]}
        }
    });
    record.to_string()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_smoke_run_is_recorded_with_its_commit_machine_and_date() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    let h = history.to_str().unwrap();
    let report = one_json_object(&["bench", "smoke", "--threads", "1", "--json", "--history", h]);
    let text = std::fs::read_to_string(&history).unwrap();
    assert_eq!(text.lines().count(), 1);
    let record: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(record["suite"], "smoke");
    assert_eq!(
        record["result"], report,
        "the history keeps the printed report"
    );
    assert!(record["commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(record["machine"]["cores"].as_u64().unwrap() >= 1);
    assert_eq!(
        record["machine"]["load_before"].as_array().unwrap().len(),
        3
    );
    assert!(record["date"].as_str().unwrap().ends_with('Z'));
    assert!(report["overhead"]["agent_fps"].as_f64().unwrap() > 0.0);
    assert_eq!(report["policies"]["results"][0]["policy"], "heuristic");
    // the figures compare against themselves: one run a side judges nothing
    let out = pmd_agent(&["bench", "compare", h, h]);
    assert!(out.status.success(), "{}", stderr(&out));
    // and can be drawn
    let png = dir.path().join("fps.png");
    let out = pmd_agent(&[
        "bench",
        "plot",
        h,
        "--figure",
        "overhead.agent_fps",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    // --history without --json is refused by the parser
    let out = pmd_agent(&["bench", "smoke", "--history", h]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn compare_is_quiet_on_one_build_and_flags_a_slowed_one() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.jsonl");
    let h = history.to_str().unwrap();
    // one build run four times with ±3% noise, again four times, then a
    // build 30% slower four times, all in one history file
    let wobble = [0.0, 0.03, -0.02, 0.01];
    let mut lines: Vec<String> = wobble
        .iter()
        .map(|&w| smoke_line("aaaa111", 1.0, w))
        .collect();
    lines.extend(
        wobble
            .iter()
            .rev()
            .map(|&w| smoke_line("bbbb222", 1.0, w * 0.9)),
    );
    lines.extend(wobble.iter().map(|&w| smoke_line("cccc333", 0.7, w)));
    write_lines(&history, &lines);

    let quiet = pmd_agent(&[
        "bench",
        "compare",
        h,
        h,
        "--old-commit",
        "aaaa",
        "--new-commit",
        "bbbb",
    ]);
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    let table = String::from_utf8(quiet.stdout).unwrap();
    assert!(!table.contains("REGRESSION"), "{table}");
    assert!(table.contains("overhead.agent_fps"), "{table}");

    let slowed = pmd_agent(&[
        "bench",
        "compare",
        h,
        h,
        "--old-commit",
        "aaaa",
        "--new-commit",
        "cccc",
        "--json",
    ]);
    assert_eq!(slowed.status.code(), Some(1), "{}", stderr(&slowed));
    let err = stderr(&slowed);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("3 regression(s)"), "{err}");
    let v: Value = serde_json::from_slice(&slowed.stdout).unwrap();
    let flagged: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "regression")
        .map(|c| c["figure"].as_str().unwrap())
        .collect();
    assert_eq!(
        flagged,
        [
            "overhead.agent_fps",
            "overhead.cpu_ratio",
            "policies.results[policy=heuristic].steps_per_s"
        ]
    );
    // the bare emulation and the depth did not change
    for c in v["changes"].as_array().unwrap() {
        if c["figure"] == "overhead.raw_fps" || c["figure"].as_str().unwrap().ends_with("floor") {
            assert_eq!(c["verdict"], "same", "{c}");
        }
    }
}

#[test]
fn compare_refuses_what_it_cannot_judge_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = dir.path().join("mixed.jsonl");
    let mut other: Value = serde_json::from_str(&smoke_line("a", 1.0, 0.0)).unwrap();
    other["suite"] = json!("overhead");
    write_lines(&mixed, &[smoke_line("a", 1.0, 0.0), other.to_string()]);
    let garbage = dir.path().join("garbage.jsonl");
    std::fs::write(&garbage, b"\x00\x01 not json\n[1, 2]\n").unwrap();
    let m = mixed.to_str().unwrap();
    let g = garbage.to_str().unwrap();
    let missing = dir.path().join("missing.jsonl");
    for (args, needle) in [
        (vec!["bench", "compare", m, m], "--suite"),
        (vec!["bench", "compare", g, m], "no bench run"),
        (
            vec!["bench", "compare", missing.to_str().unwrap(), m],
            "missing.jsonl",
        ),
        (
            vec![
                "bench",
                "compare",
                m,
                m,
                "--suite",
                "smoke",
                "--new-commit",
                "zzz",
            ],
            "no run of suite smoke",
        ),
        (vec!["bench", "compare", m, m, "--alpha", "2"], "--alpha"),
    ] {
        let out = pmd_agent(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
    }
}
