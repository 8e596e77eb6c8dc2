//! Starting the two mGBA-http servers as child processes for the socket
//! tests: the Lua server in `pmd-agent script`, and `pmd-agent
//! serve-socket`.
#![allow(dead_code)] // each test crate uses a different subset

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pmd_agent::socket::Client;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `benches/socket/mgba-http-server.lua` inside mGBA's Lua engine.
    Lua,
    /// `pmd-agent serve-socket`.
    Rust,
}

/// A server child process and its scratch directory; killed on drop.
pub struct ServerUnderTest {
    pub kind: Kind,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Drop for ServerUnderTest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn lua_server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/socket/mgba-http-server.lua")
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits for a stdout line containing "listening"; returns it. The rest of
/// the output is drained on a thread so the child never blocks on it.
fn wait_listening(child: &mut Child) -> Option<String> {
    let stdout = child.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut sent = false;
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if !sent && line.contains("listening") {
                let _ = tx.send(line.clone());
                sent = true;
            }
            line.clear();
        }
    });
    rx.recv_timeout(Duration::from_secs(30)).ok()
}

/// Starts a server of `kind`, retrying when the chosen port was taken.
pub fn start(kind: Kind) -> ServerUnderTest {
    start_with_rom(kind, None)
}

/// [`start`], with the bundled cartridge written as `rom` in the scratch
/// directory and run from there (`--rom`) when given.
pub fn start_with_rom(kind: Kind, rom: Option<&str>) -> ServerUnderTest {
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let mut command = Command::new(env!("CARGO_BIN_EXE_pmd-agent"));
        let rom_path = rom.map(|name| {
            let path = dir.path().join(name);
            std::fs::write(&path, pmd_agent::cartridge::ROM_BYTES).expect("the ROM is written");
            path
        });
        command
            .env_remove("RUST_LOG")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let port = match kind {
            Kind::Lua => {
                let port = free_port();
                command
                    .arg("script")
                    .arg(lua_server_script())
                    .env("MGBA_HTTP_PORT", port.to_string())
                    .env("MGBA_HTTP_BIND", "127.0.0.1")
                    .env("MGBA_HTTP_LOG", "warn");
                Some(port)
            }
            Kind::Rust => {
                command
                    .args(["serve-socket", "--port", "0", "--screenshot-dir"])
                    .arg(dir.path());
                None
            }
        };
        if let Some(path) = &rom_path {
            command.arg("--rom").arg(path);
        }
        let mut child = command.spawn().expect("pmd-agent starts");
        let Some(line) = wait_listening(&mut child) else {
            let _ = child.kill();
            let _ = child.wait();
            continue;
        };
        let port = port.unwrap_or_else(|| {
            line.trim()
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("a port in the listening line")
        });
        return ServerUnderTest {
            kind,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            child,
        };
    }
    panic!("{kind:?} server did not start");
}

impl ServerUnderTest {
    /// A connected client with a generous timeout (a hung server fails
    /// the test instead of hanging it).
    pub fn client(&self) -> Client {
        let client = Client::connect(self.addr, Duration::from_secs(10)).expect("connects");
        client
            .set_timeout(Some(Duration::from_secs(30)))
            .expect("timeout set");
        client
    }

    /// How a file in the scratch directory is named in a request: the Lua
    /// server takes any path, ours a name inside its directory.
    pub fn file_arg(&self, name: &str) -> String {
        match self.kind {
            Kind::Lua => self.dir.path().join(name).to_string_lossy().into_owned(),
            Kind::Rust => name.to_string(),
        }
    }

    /// Whether the child is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// The Python to run: `PMD_PYTHON` when set (a missing interpreter there is
/// a failure), else `python3` on the PATH if there is one. None (the caller
/// skips) only when neither exists and `PMD_REQUIRE_PYTHON=1` is not set;
/// `make test` sets both variables, so CI never skips the Python client.
pub fn python3() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("PMD_PYTHON") {
        let python = PathBuf::from(python);
        assert!(
            python.is_file(),
            "PMD_PYTHON={} does not exist",
            python.display()
        );
        return Some(python);
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("python3"))
            .find(|p| p.is_file())
    });
    assert!(
        found.is_some() || std::env::var("PMD_REQUIRE_PYTHON").as_deref() != Ok("1"),
        "PMD_REQUIRE_PYTHON=1 but no PMD_PYTHON and no python3 on the PATH (run `make setup`)"
    );
    found
}
