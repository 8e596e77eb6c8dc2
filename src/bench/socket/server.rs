//! Spawning the two servers of the mGBA-http protocol as child processes
//! (the Lua server in `pmd-agent script`, and `pmd-agent serve-socket`).

use super::*;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// `mgba-http-server.lua` in `pmd-agent script`.
    Lua,
    /// `pmd-agent serve-socket`.
    Rust,
}

/// A server child process, killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its screenshot directory.
    pub dir: PathBuf,
}

impl ServerProcess {
    /// Starts one server and waits until it accepts connections.
    pub fn spawn(
        config: &SocketBenchConfig,
        kind: ServerKind,
        index: usize,
    ) -> Result<ServerProcess, SocketBenchError> {
        let dir = config.work_dir.join(format!(
            "{}-{index}",
            match kind {
                ServerKind::Lua => "lua",
                ServerKind::Rust => "rust",
            }
        ));
        std::fs::create_dir_all(&dir).map_err(|e| socket_err("server directory")(e.to_string()))?;
        let port = free_port().map_err(|e| socket_err("free port")(e.to_string()))?;
        let mut command = Command::new(&config.exe);
        match kind {
            ServerKind::Lua => {
                command
                    .arg("script")
                    .arg(&config.lua_server)
                    .env("MGBA_HTTP_PORT", port.to_string())
                    .env("MGBA_HTTP_BIND", "127.0.0.1");
            }
            ServerKind::Rust => {
                command
                    .arg("serve-socket")
                    .arg("--port")
                    .arg(port.to_string())
                    .arg("--screenshot-dir")
                    .arg(&dir);
            }
        }
        if let Some(rom) = &config.rom_path {
            command.arg("--rom").arg(rom);
        }
        if config.server_pace == Pace::Realtime {
            command.args(["--pace", "realtime"]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command
            .spawn()
            .map_err(|e| socket_err("starting a server")(e.to_string()))?;
        // Wait for its "listening" line, then drain the rest of its output
        // (the Lua server logs every request, as the original does).
        let stdout = child.stdout.take();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                let mut told = false;
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    if !told && line.contains("listening") {
                        let _ = ready_tx.send(());
                        told = true;
                    }
                    line.clear();
                }
            });
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = ServerProcess { child, addr, dir };
        if ready_rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let status = server.child.try_wait().ok().flatten();
            return Err(SocketBenchError::Socket(format!(
                "{kind:?} server did not start (exit status {status:?})"
            )));
        }
        Ok(server)
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}
