//! The lean player's command line: its help, and bad input refused in one
//! line with exit code 2 before it listens or registers. (Playing a league
//! is the `lean` suite of `benches/league.rs`, which `cargo test` runs.)

use std::process::Command;

fn player(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_league-player"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn help_names_the_manager_option() {
    let out = player(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--manager"), "{text}");
}

#[test]
fn a_manager_url_that_is_not_one_is_refused_in_one_line() {
    for url in ["not a url", "ftp://127.0.0.1/mcp", "http://10.1.2.3:9/mcp"] {
        let out = player(&["--manager", url, "--addr", "127.0.0.1:0"]);
        assert_eq!(out.status.code(), Some(2), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{url}: {err}");
        assert!(err.starts_with("league-player: "), "{err}");
    }
}
