//! Helpers shared by the tests that run the `pmd-agent` binary.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// The `pmd-agent` binary: cargo names it to the root package's tests; the
/// tests of other packages (pmd-agent-torch's) find it where the same
/// workspace build puts it, beside their own `deps/` directory.
pub fn bin() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_pmd-agent") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = dir.join("pmd-agent");
    assert!(
        path.is_file(),
        "{} is missing: build the workspace (cargo test --workspace, or make test)",
        path.display()
    );
    path
}

/// Runs the binary with `args` (no `RUST_LOG` from the environment).
pub fn pmd_agent(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

/// The command's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the binary, which must succeed and print exactly one JSON line.
pub fn one_json_object(args: &[&str]) -> serde_json::Value {
    let out = pmd_agent(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert_eq!(text.lines().count(), 1, "not one line: {text:?}");
    serde_json::from_str(&text).expect("a JSON object")
}

/// `run --policy heuristic --envs 2 --steps STEPS` followed by `extra`.
pub fn heuristic_run<'a>(steps: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--policy",
        "heuristic",
        "--envs",
        "2",
        "--steps",
        steps,
    ];
    args.extend_from_slice(extra);
    args
}

/// Starts a heuristic run that goes on until killed, its output discarded
/// (an unread pipe could stall it).
pub fn spawn_endless_run(extra: &[&str]) -> Child {
    Command::new(bin())
        .args(heuristic_run("100000000", extra))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts")
}
