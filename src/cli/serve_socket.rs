//! `pmd-agent serve-socket`: the mGBA-http protocol served natively.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::pacing::Pace;
use crate::socket::protocol::DEFAULT_MAX_MESSAGE;
use crate::socket::{Server, ServerConfig, ServerError};
use clap::Args;

use super::input_file::load_rom;
use super::{input_file, Failure};

/// Arguments of `serve-socket`.
#[derive(Debug, Args)]
pub struct ServeSocketArgs {
    /// GBA ROM to serve; the bundled test cartridge when omitted.
    #[arg(long, value_name = "PATH")]
    rom: Option<PathBuf>,

    /// Address to listen on (loopback by default; the Lua server listens
    /// on every interface).
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    bind: IpAddr,

    /// Port of the first environment (the others follow); 0 picks free
    /// ports.
    #[arg(long, default_value_t = 8888, value_name = "PORT")]
    port: u16,

    /// The only directory `core.screenshot` and the savestate-file
    /// commands may use (file commands fail without it).
    #[arg(long, value_name = "DIR")]
    screenshot_dir: Option<PathBuf>,

    /// Environments, one emulator and one port each.
    #[arg(long, default_value_t = 1, value_name = "N")]
    envs: usize,

    /// `none` runs frames as fast as possible; `realtime` holds 59.73
    /// frames/s like the desktop app.
    #[arg(long, default_value = "none", value_name = "realtime|none")]
    pace: Pace,

    /// Start every environment from an mGBA frontend savestate file.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,

    /// Largest request in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE, value_name = "BYTES")]
    max_message: usize,

    /// Connections per environment at once.
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_connections: usize,
}

/// Serves until SIGINT or SIGTERM.
pub fn serve_socket(args: &ServeSocketArgs) -> Result<(), Failure> {
    let rom = load_rom(args.rom.as_ref())?;
    let start_state = input_file::read_opt(args.state.as_deref(), "savestate")?;
    let mut config = ServerConfig::new(rom);
    config.start_state = start_state;
    config.bind = args.bind;
    config.port = args.port;
    config.envs = args.envs;
    config.screenshot_dir = args.screenshot_dir.clone();
    config.pace = args.pace;
    config.max_message = args.max_message;
    config.max_connections = args.max_connections.max(1);
    crate::stop_signal::install().map_err(|e| Failure::other(e.to_string()))?;
    let server = Server::start(config).map_err(|e| match e {
        ServerError::Config(_) | ServerError::Directory { .. } => Failure::bad_input(e.to_string()),
        ServerError::Machine { .. } if args.state.is_some() => Failure::bad_input(e.to_string()),
        other => Failure::other(other.to_string()),
    })?;
    for (env, addr) in server.addrs().iter().enumerate() {
        println!("env {env} listening on {addr}");
    }
    while !crate::stop_signal::requested() {
        std::thread::sleep(Duration::from_millis(50));
    }
    tracing::info!("stopping");
    server.shutdown();
    Ok(())
}
