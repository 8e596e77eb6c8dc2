//! A Python client (`tests/python/mgba_http_client.py`, standard library
//! only) drives both mGBA-http servers: the Lua one running in mGBA's own
//! Lua engine on the bundled cartridge, and ours.

mod socket_support;

use std::path::Path;
use std::process::Command;

use socket_support::{python3, start, Kind};

fn python_check(kind: Kind) {
    let Some(python) = python3() else {
        eprintln!("skipped: no python3 on PATH");
        return;
    };
    let server = start(kind);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/mgba_http_client.py");
    let out = Command::new(python)
        .arg(script)
        .args(["check", "--port", &server.addr.port().to_string(), "--dir"])
        .arg(server.dir.path())
        .args([
            "--server",
            match kind {
                Kind::Lua => "lua",
                Kind::Rust => "rust",
            },
        ])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{kind:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok: "), "{stdout}");
}

#[test]
fn python_client_drives_the_lua_server_in_mgba() {
    python_check(Kind::Lua);
}

#[test]
fn python_client_drives_the_rust_server() {
    python_check(Kind::Rust);
}
