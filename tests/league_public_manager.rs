//! Our `league player` in a league run by a manager and referee that behave
//! on the wire like the best-known public implementation's
//! (tests/python/league_manager.py; the facts are in
//! shared/reference/league-v2.md): lower-case roles, empty standings in
//! the parity call, replies read from the top level or `params` only,
//! broadcasts signed `league_manager`, no tokens. Four of our players
//! must play all six matches and exit when the league completes — also
//! when they start before the manager listens.

mod league_common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use league_common::{free_port, python, wait_listening, BIN};
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/python/league_manager.py"
);

fn manager(port: u16, players: &[(String, u16)]) -> Child {
    let list: Vec<String> = players
        .iter()
        .map(|(id, p)| format!("{id}=http://127.0.0.1:{p}/mcp"))
        .collect();
    Command::new(python())
        .arg(FIXTURE)
        .args(["--port", &port.to_string(), "--players", &list.join(",")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test (make setup provides it)")
}

fn player(id: &str, port: u16, manager_port: u16) -> Child {
    Command::new(BIN)
        .args(["league", "player", "--policy", "random", "--id", id])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--manager", &format!("http://127.0.0.1:{manager_port}/mcp")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` for at most `limit`; kills it past that.
fn wait(mut child: Child, limit: Duration, what: &str) -> std::process::Output {
    let until = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} still running after {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn league(players_first: bool) {
    let manager_port = free_port();
    let ids: Vec<(String, u16)> = (1..=4).map(|i| (format!("P0{i}"), free_port())).collect();
    let start_players = || -> Vec<Child> {
        ids.iter()
            .map(|(id, port)| player(id, *port, manager_port))
            .collect()
    };
    let (fixture, players) = if players_first {
        let players = start_players();
        // long enough for a few refused connections (a circuit breaker
        // opened after five would stay open for its whole reset time)
        std::thread::sleep(Duration::from_millis(1500));
        (manager(manager_port, &ids), players)
    } else {
        let fixture = manager(manager_port, &ids);
        wait_listening(manager_port);
        (fixture, start_players())
    };
    let out = wait(fixture, Duration::from_secs(120), "the fixture league");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "fixture failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(report["matches_played"], 6, "{report}\n{stderr}");
    assert_eq!(report["dropped"], 0, "{report}\n{stderr}");
    assert_eq!(report["technical_losses"], 0, "{report}\n{stderr}");
    let played: u64 = report["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["played"].as_u64().unwrap())
        .sum();
    assert_eq!(played, 12, "every player played three matches");
    // Each player accepted LEAGUE_COMPLETED, signed `league_manager`, and
    // exits by itself.
    for (p, (id, _)) in players.into_iter().zip(&ids) {
        let out = wait(p, Duration::from_secs(30), id);
        assert!(
            out.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn four_of_our_players_play_every_match_under_the_public_manager_and_referee() {
    league(false);
}

#[test]
fn players_started_before_the_public_manager_wait_for_it_and_register() {
    league(true);
}
