//! The Rust mGBA-http server: listeners, connections, limits and shutdown,
//! all in this file.
//!
//! * One [`Machine`] (emulator thread) per environment, each on its own
//!   port (`port`, `port + 1`, ...; port 0 picks free ones).
//! * One thread per connection: it reads, splits messages
//!   ([`next_frame`]), asks the [`Handler`] for each reply and writes it.
//!   A slow, silent or vanished client only ever blocks its own thread.
//! * Limits: message size ([`ServerConfig::max_message`]; an over-long
//!   message is answered `<|ERROR|>` and the connection closed, since the
//!   stream cannot be resynchronised), connections per environment
//!   ([`ServerConfig::max_connections`]; one more is answered `<|ERROR|>`
//!   and closed), a write timeout for clients that stop reading.
//! * [`Server::shutdown`] stops accepting, closes every connection, joins
//!   every thread and stops the emulators.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::files::FileArea;
use super::handler::Handler;
use super::machine::{Machine, MachineConfig};
use super::protocol::{next_frame, Frame, DEFAULT_MAX_MESSAGE, ERROR, TERMINATOR};
use crate::emu::Rom;
use crate::pacing::Pace;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The game every environment runs.
    pub rom: Rom,
    /// An mGBA savestate file every environment starts from.
    pub start_state: Option<Vec<u8>>,
    /// Address to listen on (loopback by default).
    pub bind: IpAddr,
    /// Port of the first environment; 0 picks free ports.
    pub port: u16,
    /// Environments (one emulator and one port each).
    pub envs: usize,
    /// The only directory file commands may use; `None` disables them.
    pub screenshot_dir: Option<PathBuf>,
    /// Frame pacing of every emulator.
    pub pace: Pace,
    /// Largest request in bytes.
    pub max_message: usize,
    /// Connections per environment at once.
    pub max_connections: usize,
    /// How long a reply may wait for a client that does not read.
    pub write_timeout: Duration,
    /// How long a connection may stay silent before it is closed (frees its
    /// slot from a client that vanished without closing).
    pub idle_timeout: Duration,
}

impl ServerConfig {
    /// Defaults for `rom`: loopback, port 8888, one environment, no file
    /// directory, unpaced, 4 MiB messages, 64 connections, connections
    /// closed after 10 minutes of silence.
    pub fn new(rom: Rom) -> ServerConfig {
        ServerConfig {
            rom,
            start_state: None,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8888,
            envs: 1,
            screenshot_dir: None,
            pace: Pace::None,
            max_message: DEFAULT_MAX_MESSAGE,
            max_connections: 64,
            write_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// Binding a port failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The screenshot directory cannot be used.
    #[error("screenshot directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An emulator did not start.
    #[error("environment {env}: {message}")]
    Machine {
        /// Which.
        env: usize,
        /// Why.
        message: String,
    },
}

/// A connection as shutdown sees it: a handle on its socket and its thread.
type OpenConnection = (TcpStream, Option<JoinHandle<()>>);

/// Open connections of one environment, so shutdown can close them.
#[derive(Debug, Default)]
struct Connections {
    open: Mutex<HashMap<u64, OpenConnection>>,
    count: AtomicUsize,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct EnvServer {
    addr: SocketAddr,
    machine: Machine,
    acceptor: Option<JoinHandle<()>>,
    connections: Arc<Connections>,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    envs: Vec<EnvServer>,
    stopping: Arc<AtomicBool>,
}

struct Limits {
    max_message: usize,
    max_connections: usize,
    write_timeout: Duration,
    idle_timeout: Duration,
}

impl Server {
    /// Boots every environment and starts listening.
    pub fn start(config: ServerConfig) -> Result<Server, ServerError> {
        if config.envs == 0 {
            return Err(ServerError::Config("--envs must be at least 1".into()));
        }
        if config.port != 0 && usize::from(config.port) + config.envs - 1 > usize::from(u16::MAX) {
            return Err(ServerError::Config(format!(
                "ports {}..{} do not fit",
                config.port,
                usize::from(config.port) + config.envs
            )));
        }
        let files = match &config.screenshot_dir {
            Some(dir) => FileArea::new(dir).map_err(|source| ServerError::Directory {
                path: dir.clone(),
                source,
            })?,
            None => FileArea::disabled(),
        };
        let stopping = Arc::new(AtomicBool::new(false));
        let limits = Arc::new(Limits {
            max_message: config.max_message,
            max_connections: config.max_connections,
            write_timeout: config.write_timeout,
            idle_timeout: config.idle_timeout,
        });
        let mut server = Server {
            envs: Vec::with_capacity(config.envs),
            stopping: Arc::clone(&stopping),
        };
        for env in 0..config.envs {
            let port = if config.port == 0 {
                0
            } else {
                config.port + env as u16
            };
            let addr = SocketAddr::new(config.bind, port);
            let listener =
                TcpListener::bind(addr).map_err(|source| ServerError::Bind { addr, source })?;
            let addr = listener
                .local_addr()
                .map_err(|source| ServerError::Bind { addr, source })?;
            let machine = Machine::start(
                MachineConfig {
                    rom: config.rom.clone(),
                    start_state: config.start_state.clone(),
                    pace: config.pace,
                },
                format!("env-{env}"),
            )
            .map_err(|message| ServerError::Machine { env, message })?;
            let handler = Handler::new(machine.link(), files.clone());
            let connections = Arc::new(Connections::default());
            let acceptor = {
                let stopping = Arc::clone(&stopping);
                let connections = Arc::clone(&connections);
                let limits = Arc::clone(&limits);
                std::thread::Builder::new()
                    .name(format!("accept-{env}"))
                    .spawn(move || accept_loop(listener, handler, connections, stopping, limits))
                    .map_err(|e| ServerError::Machine {
                        env,
                        message: e.to_string(),
                    })?
            };
            server.envs.push(EnvServer {
                addr,
                machine,
                acceptor: Some(acceptor),
                connections,
            });
        }
        Ok(server)
    }

    /// The address of each environment, in order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.envs.iter().map(|e| e.addr).collect()
    }

    /// Connections open now, over all environments.
    pub fn open_connections(&self) -> usize {
        self.envs
            .iter()
            .map(|e| e.connections.count.load(Ordering::Relaxed))
            .sum()
    }

    /// Stops accepting, closes every connection, waits for every thread
    /// and stops the emulators.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        for env in &mut self.envs {
            // Wake the blocking accept with a connection of our own.
            let _ = TcpStream::connect_timeout(&wake_addr(env.addr), Duration::from_millis(200));
            if let Some(acceptor) = env.acceptor.take() {
                let _ = acceptor.join();
            }
            let open: Vec<_> = {
                let mut map = env
                    .connections
                    .open
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                map.drain().collect()
            };
            for (_, (stream, thread)) in open {
                let _ = stream.shutdown(Shutdown::Both);
                if let Some(thread) = thread {
                    let _ = thread.join();
                }
            }
        }
        for env in self.envs.drain(..) {
            env.machine.stop();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.envs.is_empty() {
            self.stop_all();
        }
    }
}

/// Where to connect to reach a listener bound to `addr` (an unspecified
/// address is reached through loopback).
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn accept_loop(
    listener: TcpListener,
    handler: Handler,
    connections: Arc<Connections>,
    stopping: Arc<AtomicBool>,
    limits: Arc<Limits>,
) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(target: "socket", "accept failed: {e}");
                // Out of file descriptors and the like: do not spin.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(limits.write_timeout));
        let _ = stream.set_read_timeout(Some(limits.idle_timeout));
        if connections.count.load(Ordering::SeqCst) >= limits.max_connections {
            tracing::warn!(target: "socket", "connection refused: {} open", limits.max_connections);
            let _ = stream.write_all(ERROR.as_bytes());
            let _ = stream.write_all(TERMINATOR);
            continue;
        }
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        let id = connections.next_id.fetch_add(1, Ordering::Relaxed);
        connections.count.fetch_add(1, Ordering::SeqCst);
        // Registered before the thread starts, so shutdown always finds it;
        // the thread removes its own entry when it ends.
        connections
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (registered, None));
        let thread = {
            let handler = handler.clone();
            let connections = Arc::clone(&connections);
            let limits = Arc::clone(&limits);
            std::thread::Builder::new()
                .name(format!("conn-{id}"))
                .spawn(move || {
                    serve_connection(stream, &handler, limits.max_message);
                    connections
                        .open
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    connections.count.fetch_sub(1, Ordering::SeqCst);
                })
        };
        let mut open = connections.open.lock().unwrap_or_else(|p| p.into_inner());
        match thread {
            Ok(thread) => {
                // Gone already if the client came and went; then the handle
                // is simply dropped (the thread is finishing).
                if let Some(entry) = open.get_mut(&id) {
                    entry.1 = Some(thread);
                }
            }
            Err(e) => {
                open.remove(&id);
                connections.count.fetch_sub(1, Ordering::SeqCst);
                tracing::warn!(target: "socket", "cannot start a connection thread: {e}");
            }
        }
    }
}

/// Replies buffered beyond this many bytes are sent before the next
/// request is answered.
const FLUSH_AT: usize = 1 << 20;

/// Writes out what `outbox` holds; false when the client is gone.
fn flush(stream: &mut TcpStream, outbox: &mut Vec<u8>, peer: &str) -> bool {
    if outbox.is_empty() {
        return true;
    }
    if let Err(e) = stream.write_all(outbox) {
        tracing::debug!(target: "socket", %peer, "write failed: {e}");
        return false;
    }
    outbox.clear();
    // Do not keep a huge reply buffer for the connection's life.
    outbox.shrink_to(FLUSH_AT);
    true
}

/// Serves one client until it disconnects, errs, stays silent for the idle
/// timeout, or sends an over-long message.
fn serve_connection(mut stream: TcpStream, handler: &Handler, max_message: usize) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    tracing::debug!(target: "socket", %peer, "connected");
    let mut inbox: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut outbox: Vec<u8> = Vec::new();
    // Bytes of `inbox` already scanned for a terminator, from `start`.
    let mut scanned = 0usize;
    loop {
        // Messages are answered in order; `start` moves past each one and
        // the inbox is drained once per read, not once per message.
        let mut start = 0usize;
        loop {
            match next_frame(&inbox[start..], scanned, max_message) {
                Ok(Frame::Message { body, consumed }) => {
                    handler.reply(body, &mut outbox);
                    start += consumed;
                    scanned = 0;
                    // Replies can be far larger than requests (a readRange
                    // of megabytes asked in a few bytes): send them as they
                    // come, so pipelined requests cannot pile up memory.
                    if outbox.len() >= FLUSH_AT && !flush(&mut stream, &mut outbox, &peer) {
                        return;
                    }
                }
                Ok(Frame::Incomplete) => {
                    scanned = inbox.len() - start;
                    break;
                }
                Err(e) => {
                    tracing::warn!(target: "socket", %peer, "closing: {e}");
                    outbox.extend_from_slice(ERROR.as_bytes());
                    outbox.extend_from_slice(TERMINATOR);
                    let _ = stream.write_all(&outbox);
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
        inbox.drain(..start);
        if !flush(&mut stream, &mut outbox, &peer) {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => inbox.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                tracing::debug!(target: "socket", %peer, "closing an idle connection");
                break;
            }
            Err(e) => {
                tracing::debug!(target: "socket", %peer, "read failed: {e}");
                break;
            }
        }
    }
    tracing::debug!(target: "socket", %peer, "disconnected");
}
