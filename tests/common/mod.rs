//! Helpers shared by the tests that run the `pmd-agent` binary.
#![allow(dead_code)] // each test crate uses a different subset

use std::process::{Command, Output};

/// Runs the binary with `args` (no `RUST_LOG` from the environment).
pub fn pmd_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pmd-agent"))
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
