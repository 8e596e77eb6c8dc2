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
//!   ([`ServerConfig::max_connections`]), a write timeout for clients that
//!   stop reading, and the bytes range reads hold at once over the whole
//!   server ([`ServerConfig::max_range_bytes`]; a read over it is answered
//!   `<|ERROR|>`, the connection stays open). Replies go out as they are
//!   made, a megabyte at a time.
//! * Silent sockets cannot starve real clients: a connection must send its
//!   first complete request within [`ServerConfig::handshake_timeout`] or
//!   it is closed; and when an environment is at its connection cap a new
//!   client takes the place of the oldest connection that has not sent a
//!   request yet, else of the one silent longest if that silence exceeds
//!   [`ServerConfig::evict_idle_after`]; only then is it refused
//!   (`<|ERROR|>` and closed).
//! * [`Server::shutdown`] stops accepting, closes every connection, joins
//!   every thread and stops the emulators.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::budget::ReplyBudget;
use super::files::FileArea;
use super::handler::{Handler, FLUSH_AT};
use super::machine::{Machine, MachineConfig};
use super::protocol::{next_frame, Frame, DEFAULT_MAX_MESSAGE, ERROR, TERMINATOR};
use pmd_mgba::pacing::Pace;
use pmd_mgba::Rom;

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
    /// How long a new connection may take to send its first complete
    /// request before it is closed.
    pub handshake_timeout: Duration,
    /// At the connection cap, a connection silent this long gives its
    /// place to a new client (one that never sent a request always does).
    pub evict_idle_after: Duration,
    /// Bytes that range reads (`readRange`) of all connections may hold at
    /// once; a read that does not fit is answered `<|ERROR|>`.
    pub max_range_bytes: usize,
}

impl ServerConfig {
    /// Defaults for `rom`: loopback, port 8888, one environment, no file
    /// directory, unpaced, 4 MiB messages, 64 connections, connections
    /// closed after 10 minutes of silence or 10 seconds without a first
    /// request, at the cap a place taken from a connection silent for a
    /// minute, 64 MiB of range reads at once.
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
            handshake_timeout: Duration::from_secs(10),
            evict_idle_after: Duration::from_secs(60),
            max_range_bytes: 64 << 20,
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

/// What a connection's thread tells the acceptor about its client.
#[derive(Debug, Default)]
struct Activity {
    /// A complete request has arrived.
    spoke: AtomicBool,
    /// When the last request arrived, in ms since the server started.
    last_ms: AtomicU64,
}

/// A connection as the acceptor and shutdown see it: a handle on its
/// socket, its thread, and its activity.
#[derive(Debug)]
struct OpenConnection {
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
    activity: Arc<Activity>,
}

/// Open connections of one environment, so shutdown can close them.
#[derive(Debug)]
struct Connections {
    open: Mutex<HashMap<u64, OpenConnection>>,
    /// Threads of evicted connections, joined at shutdown.
    closing: Mutex<Vec<JoinHandle<()>>>,
    count: AtomicUsize,
    next_id: AtomicU64,
    epoch: Instant,
}

impl Connections {
    fn new() -> Connections {
        Connections {
            open: Mutex::new(HashMap::new()),
            closing: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Closes the connection a new client may replace (see the module
    /// docs) and returns true, or returns false when there is none.
    fn evict_for_newcomer(&self, evict_idle_after: Duration) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.now_ms();
        let never_spoke = open
            .iter()
            .filter(|(_, c)| !c.activity.spoke.load(Ordering::Acquire))
            .map(|(&id, _)| id)
            .min();
        let victim = never_spoke.or_else(|| {
            open.iter()
                .map(|(&id, c)| {
                    (
                        now.saturating_sub(c.activity.last_ms.load(Ordering::Acquire)),
                        id,
                    )
                })
                .filter(|&(idle, _)| idle >= evict_idle_after.as_millis() as u64)
                .max()
                .map(|(_, id)| id)
        });
        let Some(entry) = victim.and_then(|id| open.remove(&id)) else {
            return false;
        };
        drop(open);
        self.count.fetch_sub(1, Ordering::SeqCst);
        tracing::info!(target: "socket", "closing a silent connection to make room for a new client");
        let _ = entry.stream.shutdown(Shutdown::Both);
        if let Some(thread) = entry.thread {
            self.closing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(thread);
        }
        true
    }
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
    handshake_timeout: Duration,
    evict_idle_after: Duration,
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
            handshake_timeout: config.handshake_timeout,
            evict_idle_after: config.evict_idle_after,
        });
        let budget = ReplyBudget::new(config.max_range_bytes);
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
            let handler = Handler::new(machine.link(), files.clone(), budget.clone());
            let connections = Arc::new(Connections::new());
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
            for (_, connection) in open {
                let _ = connection.stream.shutdown(Shutdown::Both);
                if let Some(thread) = connection.thread {
                    let _ = thread.join();
                }
            }
            let closing = std::mem::take(
                &mut *env
                    .connections
                    .closing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()),
            );
            for thread in closing {
                let _ = thread.join();
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
        if connections.count.load(Ordering::SeqCst) >= limits.max_connections
            && !connections.evict_for_newcomer(limits.evict_idle_after)
        {
            tracing::warn!(target: "socket", "connection refused: {} open", limits.max_connections);
            let _ = stream.write_all(ERROR.as_bytes());
            let _ = stream.write_all(TERMINATOR);
            continue;
        }
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        let id = connections.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::default());
        activity
            .last_ms
            .store(connections.now_ms(), Ordering::Release);
        connections.count.fetch_add(1, Ordering::SeqCst);
        // Registered before the thread starts, so shutdown always finds it;
        // the thread removes its own entry when it ends (an evicted one has
        // been removed, and counted, by the acceptor already).
        connections
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                id,
                OpenConnection {
                    stream: registered,
                    thread: None,
                    activity: Arc::clone(&activity),
                },
            );
        let thread = {
            let handler = handler.clone();
            let connections = Arc::clone(&connections);
            let limits = Arc::clone(&limits);
            std::thread::Builder::new()
                .name(format!("conn-{id}"))
                .spawn(move || {
                    serve_connection(stream, &handler, &limits, &activity, &connections);
                    let mine = connections
                        .open
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    if mine.is_some() {
                        connections.count.fetch_sub(1, Ordering::SeqCst);
                    }
                })
        };
        let mut open = connections.open.lock().unwrap_or_else(|p| p.into_inner());
        match thread {
            Ok(thread) => {
                // Gone already if the client came and went; then the handle
                // is simply dropped (the thread is finishing).
                if let Some(entry) = open.get_mut(&id) {
                    entry.thread = Some(thread);
                }
            }
            Err(e) => {
                if open.remove(&id).is_some() {
                    connections.count.fetch_sub(1, Ordering::SeqCst);
                }
                tracing::warn!(target: "socket", "cannot start a connection thread: {e}");
            }
        }
    }
}

/// Writes out what `outbox` holds and empties it.
fn send(stream: &mut TcpStream, outbox: &mut Vec<u8>) -> std::io::Result<()> {
    if outbox.is_empty() {
        return Ok(());
    }
    stream.write_all(outbox)?;
    outbox.clear();
    // Do not keep a huge reply buffer for the connection's life.
    outbox.shrink_to(2 * FLUSH_AT);
    Ok(())
}

/// Writes out what `outbox` holds; false when the client is gone.
fn flush(stream: &mut TcpStream, outbox: &mut Vec<u8>, peer: &str) -> bool {
    match send(stream, outbox) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(target: "socket", %peer, "write failed: {e}");
            false
        }
    }
}

/// Serves one client until it disconnects, errs, stays silent for the idle
/// timeout (or sends no first request within the handshake timeout), is
/// evicted, or sends an over-long message.
fn serve_connection(
    mut stream: TcpStream,
    handler: &Handler,
    limits: &Limits,
    activity: &Activity,
    connections: &Connections,
) {
    let max_message = limits.max_message;
    // Until the first request, reads wait at most until this instant.
    let mut handshake_until =
        Some(Instant::now() + limits.handshake_timeout.min(limits.idle_timeout));
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
                    if handshake_until.take().is_some() {
                        activity.spoke.store(true, Ordering::Release);
                        let _ = stream.set_read_timeout(Some(limits.idle_timeout));
                    }
                    activity
                        .last_ms
                        .store(connections.now_ms(), Ordering::Release);
                    // Replies can be far larger than requests (a readRange
                    // of megabytes asked in a few bytes): they go out as
                    // they are made, so neither one reply nor pipelined
                    // requests pile up memory.
                    let sent =
                        handler.reply_streaming(body, &mut outbox, &mut |o| send(&mut stream, o));
                    if let Err(e) = sent {
                        tracing::debug!(target: "socket", %peer, "write failed: {e}");
                        return;
                    }
                    start += consumed;
                    scanned = 0;
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
        if let Some(until) = handshake_until {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::debug!(target: "socket", %peer, "closing: no request within the handshake timeout");
                break;
            }
            let _ = stream.set_read_timeout(Some(left));
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
