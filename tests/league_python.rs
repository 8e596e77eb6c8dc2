//! Leagues with external players written in Python that behave on the wire
//! like the best-known public player (tests/python/league_player.py):
//! request-shaped answers in response bodies, no auth token sent back, its
//! own id, `localhost` endpoints, exit after LEAGUE_COMPLETED.

mod league_common;

use std::process::{Child, Command, Stdio};

use league_common::{free_port, python_player, wait_listening, BIN};
use serde_json::Value;

fn league(natives: &str, pythons: &[&str]) -> (Value, Vec<std::process::Output>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut args: Vec<String> = [
        "league",
        "serve",
        "--game",
        "even_odd",
        "--start-when",
        "4",
        "--once",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(["--db".into(), dir.path().join("l.db").display().to_string()]);
    args.extend([
        "--addr".into(),
        format!("127.0.0.1:{port}"),
        "--bootstrap".into(),
        "200".into(),
    ]);
    if !natives.is_empty() {
        args.extend(["--native".into(), natives.into()]);
    }
    let manager = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_listening(port);
    let players: Vec<Child> = pythons
        .iter()
        .map(|id| python_player(id, port, "0.2"))
        .collect();
    let out = manager.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The players exit by themselves about a second after LEAGUE_COMPLETED.
    let outputs = players
        .into_iter()
        .map(|p| p.wait_with_output().unwrap())
        .collect();
    (report, outputs)
}

fn check(report: &Value, outputs: &[std::process::Output], pythons: &[&str]) {
    assert_eq!(report["status"], "completed");
    assert_eq!(report["matches_played"], 6);
    for row in report["standings"].as_array().unwrap() {
        assert_eq!(row["played"], 3, "{row}");
        assert_eq!(
            row["technical_losses"], 0,
            "no player lost by default: {row}"
        );
    }
    for (id, out) in pythons.iter().zip(outputs) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(&format!("registered {id}")), "{stdout}");
        assert!(stdout.contains("played 3 games, exiting"), "{id}: {stdout}");
    }
}

#[test]
fn league_mixing_native_and_python_players_completes() {
    let pythons = ["P01", "P02"];
    let (report, outputs) = league("random,heuristic", &pythons);
    check(&report, &outputs, &pythons);
}

#[test]
fn league_of_python_players_completes() {
    let pythons = ["P01", "P02", "P03", "P04"];
    let (report, outputs) = league("", &pythons);
    check(&report, &outputs, &pythons);
    assert!(
        report["timing"]["seconds_after_last_registration"]
            .as_f64()
            .unwrap()
            < 30.0
    );
}
