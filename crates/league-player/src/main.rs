//! `league-player`: a league.v2 player in a small process — league-v2 and
//! its HTTP stack on one thread, without the emulator, the game crates or
//! libtorch, so hosting a player costs a few megabytes (BENCHMARKS.md,
//! "Lean league player").
//!
//! It plays `even_odd` (its parity drawn from `--seed`) and `pmd_dungeon`
//! from the state the referee sends (league-v2's state-only decision: the
//! stairs, else a shortest path to them or to the unexplored). Its policy is
//! `random`, the one policy that needs no game crate; `pmd-agent league
//! player` hosts the project's real policies with their emulator.
//!
//! **Depends on** league-v2 only (plus argument parsing and logging); CI
//! checks that the game, emulator and torch crates stay out of its tree.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use league_v2::game::dungeon::LegalRandomFactory;
use league_v2::player::{host, PlayerConfig, PlayerError};

/// A lean league.v2 player (even_odd; pmd_dungeon from the sent state).
#[derive(Debug, Parser)]
#[command(name = "league-player", version)]
struct Args {
    /// The manager's /mcp URL.
    #[arg(long, value_name = "URL")]
    manager: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8101", value_name = "ADDR")]
    addr: SocketAddr,
    /// The id to ask for (default: `lean-<port>`).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Display name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Seed of its choices.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// The URL to announce (default `http://<bound address>/mcp`).
    #[arg(long, value_name = "URL")]
    contact: Option<String>,
    /// Accept a manager outside 127.0.0.0/8 and ::1.
    #[arg(long)]
    allow_remote: bool,
}

fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PMD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(args) {
        eprintln!("league-player: {e}");
        std::process::exit(e.code());
    }
}

/// What ended the player early, with its exit code.
enum Failure {
    BadInput(String),
    Other(String),
}

impl Failure {
    fn code(&self) -> i32 {
        match self {
            Failure::BadInput(_) => 2,
            Failure::Other(_) => 1,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::BadInput(m) | Failure::Other(m) => f.write_str(m),
        }
    }
}

fn run(args: Args) -> Result<(), Failure> {
    // One thread: a player waits on the network nearly all the time.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(|e| Failure::Other(format!("cannot listen on {}: {e}", args.addr)))?;
        let port = listener
            .local_addr()
            .map_err(|e| Failure::Other(e.to_string()))?
            .port();
        let id = args.id.unwrap_or_else(|| format!("lean-{port}"));
        let mut cfg = PlayerConfig::new(&id, "random", &args.manager);
        cfg.seed = args.seed;
        cfg.contact_endpoint = args.contact;
        cfg.allow_remote = args.allow_remote;
        if let Some(n) = args.name {
            cfg.display_name = n;
        }
        host(cfg, Arc::new(LegalRandomFactory), None, listener)
            .await
            .map_err(|e| match e {
                PlayerError::Config(_) => Failure::BadInput(e.to_string()),
                other => Failure::Other(other.to_string()),
            })?;
        Ok(())
    })
}
