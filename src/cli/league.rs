//! `pmd-agent league run|serve|player|replay`: the agent league's command
//! line. Parses, builds the Tokio runtime, calls `crate::league`,
//! prints.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::emu::Rom;
use crate::game::profile_for;
use crate::league::api::{LeagueOpener, LeagueService, MatchMedia, ServiceConfig};
use crate::league::auth::AuthToken;
use crate::league::client::{ClientConfig, Timeouts};
use crate::league::error::GameError;
use crate::league::game::dungeon::{DungeonFactory, PolicyFactory};
use crate::league::game::GameType;
use crate::league::http::ServeLimits;
use crate::league::manager::{LeagueFailure, LeagueSettings, Manager, ManagerConfig, Mode};
use crate::league::metrics::Metrics;
use crate::league::player::{host, PlayerConfig, PlayerError};
use crate::league::pmd::{self, PmdDungeonFactory, PmdPolicyFactory};
use crate::league::referee::host::{host_referee, RefereeHostConfig, RefereeHostError};
use crate::league::report::LeagueReport;
use crate::league::standings::Points;
use crate::league::store::{Durability, Store, StoreError};
use crate::replay::{replay as resimulate, write_gif};
use crate::runner::StartPoint;
use clap::{Args, Subcommand};

use super::input_file::{battery_save, load_rom, read_opt};
use super::Failure;

/// Arguments of `league`.
#[derive(Debug, Args)]
pub struct LeagueArgs {
    #[command(subcommand)]
    command: LeagueCommand,
}

#[derive(Debug, Subcommand)]
enum LeagueCommand {
    /// A one-shot local league of native players; prints standings and
    /// ratings.
    Run(RunArgs),
    /// A long-running manager with in-process referees and remote players.
    Serve(ServeArgs),
    /// Hosts a native policy as a remote league.v2 player.
    Player(PlayerArgs),
    /// A referee in its own process: registers with a manager (serving
    /// with --remote-referees) and plays the matches it is assigned.
    Referee(RefereeArgs),
    /// Re-simulates one player's run of a recorded pmd_dungeon match and
    /// writes it as an animated GIF.
    Replay(ReplayArgs),
    /// Prints a league's standings and ratings from its database (running
    /// or finished; the database is only read).
    Report(ReportArgs),
}

/// Where pmd_dungeon is played: the bundled cartridge, or a ROM with a
/// savestate or a battery save.
#[derive(Debug, Args)]
struct DungeonArgs {
    /// GBA ROM with a RAM map; the bundled test cartridge when omitted.
    #[arg(long, value_name = "PATH")]
    rom: Option<PathBuf>,
    /// Start every dungeon from this savestate (mGBA frontend file).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Boot with this battery save instead of the one beside the ROM.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct LeagueOptions {
    /// The game.
    #[arg(long, default_value = "even_odd", value_name = "GAME")]
    game: GameType,
    /// Round-robin cycles: every pair meets R times (sides swapped every
    /// second cycle).
    #[arg(long, default_value_t = 1, value_name = "R")]
    rounds: u32,
    /// League seed (`run`: 1 when omitted; `serve`: random).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// pmd_dungeon: turns per player.
    #[arg(long, default_value_t = 200, value_name = "N")]
    turns: u32,
    /// Points per win,draw,loss.
    #[arg(long, default_value = "3,1,0", value_name = "W,D,L")]
    points: Points,
    /// In-process referees.
    #[arg(long, default_value_t = 2, value_name = "N")]
    referees: usize,
    /// Matches each referee runs at once (default: 64 for even_odd, the
    /// number of cores for pmd_dungeon, whose matches are CPU-bound).
    #[arg(long, value_name = "N")]
    capacity: Option<usize>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// fsync every commit (survives power loss, not only a crash).
    #[arg(long)]
    fsync: bool,
    /// Bootstrap resamples for the Bradley–Terry intervals.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    bootstrap: u32,
    #[command(flatten)]
    dungeon: DungeonArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Native players (policy specs: random, heuristic, search[:…],
    /// torch:PATH), comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_name = "SPECS")]
    players: Vec<String>,
    /// Database file (resumes an unfinished league with the same settings;
    /// in memory when omitted).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    #[command(flatten)]
    league: LeagueOptions,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Database file.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR")]
    addr: SocketAddr,
    /// Start once this many players (native ones included) are registered;
    /// 0: only on a START_LEAGUE call with the admin token.
    #[arg(long, default_value_t = 4, value_name = "N")]
    start_when: usize,
    /// Native players to add (policy specs), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "SPECS")]
    native: Vec<String>,
    /// Secret for START_LEAGUE (a random one is printed when absent).
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// Exit once the league is completed.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    deadlines: Deadlines,
    /// Restarted on a database whose league was started with other
    /// settings, resume it with the stored ones (logged) instead of
    /// refusing.
    #[arg(long)]
    keep_stored_settings: bool,
    /// Accept contact endpoints outside loopback (each must still be the
    /// registering player's own address, or allowed by --allow-endpoint).
    #[arg(long)]
    allow_remote_endpoints: bool,
    /// Hosts (IP address or name) any player may register as its contact
    /// endpoint, e.g. a proxy; otherwise an endpoint must be the registering
    /// player's own address. Comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "HOSTS")]
    allow_endpoint: Vec<String>,
    /// Longest time one HTTP request may take (408 past it), ms.
    #[arg(long, default_value_t = 60_000, value_name = "MS")]
    request_timeout_ms: u64,
    /// HTTP requests handled at once (503 beyond).
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_in_flight: usize,
    /// HTTP connections open at once (more wait; idle ones close after
    /// 75 s, or the request timeout if longer).
    #[arg(long, default_value_t = 4096, value_name = "N")]
    max_connections: usize,
    /// Accept referees in other processes (`league referee`); with
    /// `--referees 0` every match is played by one of them.
    #[arg(long)]
    remote_referees: bool,
    /// How long a remote referee may take from assignment to report before
    /// the match is played elsewhere, ms.
    #[arg(long, default_value_t = 120_000, value_name = "MS")]
    referee_deadline_ms: u64,
    #[command(flatten)]
    league: LeagueOptions,
}

#[derive(Debug, Args)]
struct PlayerArgs {
    /// The native policy (random, heuristic, search[:…], torch:PATH).
    #[arg(long, value_name = "SPEC")]
    policy: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8101", value_name = "ADDR")]
    addr: SocketAddr,
    /// The manager's /mcp URL.
    #[arg(long, value_name = "URL")]
    manager: String,
    /// The id to ask for (default: the policy name and port).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Display name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Seed of its choices.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    #[command(flatten)]
    dungeon: DungeonArgs,
}

#[derive(Debug, Args)]
struct RefereeArgs {
    /// The manager's /mcp URL.
    #[arg(long, value_name = "URL")]
    manager: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8001", value_name = "ADDR")]
    addr: SocketAddr,
    /// The id to ask for (default: REF-<port>).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Matches it plays at once (its max_concurrent_matches).
    #[arg(long, default_value_t = 64, value_name = "N")]
    capacity: usize,
    /// The game it referees.
    #[arg(long, default_value = "even_odd", value_name = "GAME")]
    game: GameType,
    #[command(flatten)]
    deadlines: Deadlines,
    #[command(flatten)]
    dungeon: DungeonArgs,
}

/// The deadlines of calls to players (manager and referees alike).
#[derive(Debug, Args)]
struct Deadlines {
    /// Invitation answer deadline, ms.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    join_timeout_ms: u64,
    /// Move deadline, ms.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    move_timeout_ms: u64,
    /// Other calls' deadline, ms.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    timeout_ms: u64,
}

impl Deadlines {
    /// The HTTP client with these deadlines.
    fn client(&self) -> ClientConfig {
        ClientConfig {
            timeouts: Timeouts {
                join: Duration::from_millis(self.join_timeout_ms),
                moves: Duration::from_millis(self.move_timeout_ms),
                other: Duration::from_millis(self.timeout_ms),
            },
            ..ClientConfig::default()
        }
    }
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// The league database.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// The league (default: the newest in the database).
    #[arg(long, value_name = "ID")]
    league: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Bootstrap resamples for the Bradley–Terry intervals.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    bootstrap: u32,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The league database.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// The match (`R1M2`).
    #[arg(long = "match", value_name = "ID")]
    match_id: String,
    /// Whose run to show.
    #[arg(long, value_name = "PLAYER")]
    player: String,
    /// The league (default: the newest in the database).
    #[arg(long, value_name = "ID")]
    league: Option<String>,
    /// The animated GIF to write.
    #[arg(long, value_name = "OUT")]
    gif: PathBuf,
    /// Hundredths of a second per step in the GIF.
    #[arg(long, default_value_t = 15, value_name = "CS")]
    delay: u16,
    #[command(flatten)]
    dungeon: DungeonArgs,
}

/// Runs `league`.
pub fn league(args: LeagueArgs) -> Result<(), Failure> {
    if let LeagueCommand::Replay(a) = &args.command {
        return replay(a);
    }
    if let LeagueCommand::Report(a) = &args.command {
        return report(a);
    }
    // A hosted player is I/O-bound and small: one thread serves it (and
    // keeps its memory down); a manager uses every core.
    let mut builder = match args.command {
        LeagueCommand::Player(_) | LeagueCommand::Referee(_) => {
            tokio::runtime::Builder::new_current_thread()
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let rt = builder
        .enable_all()
        .build()
        .map_err(|e| Failure::other(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        match args.command {
            LeagueCommand::Run(a) => run(a).await,
            LeagueCommand::Serve(a) => serve(a).await,
            LeagueCommand::Player(a) => player(a).await,
            LeagueCommand::Referee(a) => referee(a).await,
            LeagueCommand::Replay(_) | LeagueCommand::Report(_) => Ok(()),
        }
    })
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The start point and ROM of `--rom/--state/--save`, checked.
fn dungeon_source(a: &DungeonArgs) -> Result<(Rom, StartPoint), Failure> {
    let rom = load_rom(a.rom.as_ref())?;
    profile_for(rom.game_code())
        .map_err(|e| Failure::bad_input(format!("{}: {e}", rom.origin())))?;
    let start = StartPoint {
        state: read_opt(a.state.as_deref(), "savestate")?,
        battery: battery_save(a.rom.as_ref(), a.save.as_deref())?.map(|(_, b)| b),
    };
    Ok((rom, start))
}

/// The dungeon factory, after booting one dungeon to check the start point
/// (a ROM that never reaches a dungeon is the user's to fix).
async fn dungeons(a: &DungeonArgs) -> Result<Arc<PmdDungeonFactory>, Failure> {
    let (rom, start) = dungeon_source(a)?;
    let origin = rom.origin().to_owned();
    let factory = Arc::new(PmdDungeonFactory::new(rom, start));
    let probe = factory.clone();
    tokio::task::spawn_blocking(move || probe.create(0).map(drop))
        .await
        .map_err(|e| Failure::other(e.to_string()))?
        .map_err(|e| match e {
            GameError::Sim(reason) => Failure::bad_input(format!(
                "{origin}: {reason}; pmd_dungeon needs a start inside a dungeon \
                 (--state FILE, or a battery save that continues in one)"
            )),
            other => Failure::other(other.to_string()),
        })?;
    Ok(factory)
}

fn policies() -> Arc<dyn PolicyFactory> {
    Arc::new(PmdPolicyFactory)
}

fn settings(mode: Mode, a: &LeagueOptions, natives: Vec<String>, seed: u64) -> LeagueSettings {
    LeagueSettings {
        points: a.points,
        cycles: a.rounds,
        seed,
        turn_budget: a.turns,
        natives,
        ..LeagueSettings::new(mode, a.game)
    }
}

fn manager_config(a: &LeagueOptions, s: LeagueSettings) -> Result<ManagerConfig, Failure> {
    if a.capacity == Some(0) {
        return Err(Failure::bad_input("--capacity must be at least 1"));
    }
    let mut cfg = ManagerConfig::new(s);
    cfg.referees = a.referees;
    cfg.referee_capacity = a.capacity.unwrap_or(match a.game {
        GameType::EvenOdd => 64,
        GameType::PmdDungeon => cores(),
    });
    cfg.bt.bootstrap = a.bootstrap;
    Ok(cfg)
}

fn store_failure(path: Option<&Path>, e: StoreError) -> Failure {
    let shown = path.map_or_else(|| "database".to_owned(), |p| p.display().to_string());
    if e.is_bad_file() {
        Failure::bad_input(format!("{shown}: {e}"))
    } else {
        Failure::other(format!("{shown}: {e}"))
    }
}

fn open_store(db: Option<&Path>, fsync: bool) -> Result<Arc<Store>, Failure> {
    let durability = if fsync {
        Durability::PowerLoss
    } else {
        Durability::Process
    };
    if let Some(p) = db {
        if p.is_dir() {
            return Err(Failure::bad_input(format!(
                "{}: is a directory, not a database",
                p.display()
            )));
        }
    }
    let store = match db {
        Some(p) => Store::open(p, durability),
        None => Store::in_memory(),
    };
    store.map(Arc::new).map_err(|e| store_failure(db, e))
}

fn league_failure(db: Option<&Path>, e: LeagueFailure) -> Failure {
    match e {
        LeagueFailure::Config(_) | LeagueFailure::Game(_) => Failure::bad_input(e.to_string()),
        LeagueFailure::Store(s) => store_failure(db, s),
        other => Failure::other(other.to_string()),
    }
}

fn print_report(report: &LeagueReport, json: bool) -> Result<(), Failure> {
    if json {
        let line = serde_json::to_string(report)
            .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
        println!("{line}");
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

async fn dungeons_for(a: &LeagueOptions) -> Result<Option<Arc<dyn DungeonFactory>>, Failure> {
    Ok(match a.game {
        GameType::PmdDungeon => Some(dungeons(&a.dungeon).await? as Arc<dyn DungeonFactory>),
        GameType::EvenOdd => None,
    })
}

async fn run(a: RunArgs) -> Result<(), Failure> {
    let db = a.db.as_deref();
    let store = open_store(db, a.league.fsync)?;
    let s = settings(
        Mode::Run,
        &a.league,
        a.players.clone(),
        a.league.seed.unwrap_or(1),
    );
    let cfg = manager_config(&a.league, s)?;
    let dungeons = dungeons_for(&a.league).await?;
    let manager =
        Manager::open(cfg, store, policies(), dungeons).map_err(|e| league_failure(db, e))?;
    let report = manager.run().await.map_err(|e| league_failure(db, e))?;
    print_report(&report, a.league.json)
}

async fn serve(a: ServeArgs) -> Result<(), Failure> {
    let db = Some(a.db.as_path());
    let store = open_store(db, a.league.fsync)?;
    let seed = a.league.seed.unwrap_or_else(crate::league::seed::fresh);
    let mut s = settings(Mode::Serve, &a.league, a.native.clone(), seed);
    s.start_when = a.start_when;
    let mut cfg = manager_config(&a.league, s)?;
    // pmd_dungeon: the dungeons, and replays on the same ROM and start.
    let pmd = match a.league.game {
        GameType::PmdDungeon => Some(dungeons(&a.league.dungeon).await?),
        GameType::EvenOdd => None,
    };
    let dungeons = pmd.clone().map(|d| d as Arc<dyn DungeonFactory>);
    let media = pmd.map(|d| Arc::new(pmd::PmdMedia::new(d, 15)) as Arc<dyn MatchMedia>);
    let listener = tokio::net::TcpListener::bind(a.addr)
        .await
        .map_err(|e| Failure::other(format!("cannot listen on {}: {e}", a.addr)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::other(e.to_string()))?;
    if a.max_in_flight == 0 || a.max_connections == 0 || a.request_timeout_ms == 0 {
        return Err(Failure::bad_input(
            "--max-in-flight, --max-connections and --request-timeout-ms must be at least 1",
        ));
    }
    let admin = match &a.admin_token {
        Some(t) => t.clone(),
        None => AuthToken::generate()
            .map_err(|e| Failure::other(e.to_string()))?
            .as_str()
            .to_owned(),
    };
    cfg.admin_token = Some(admin.clone());
    cfg.random_seed = a.league.seed.is_none();
    cfg.remote_referees = a.remote_referees;
    cfg.referee_deadline = Duration::from_millis(a.referee_deadline_ms.max(1));
    cfg.keep_stored_settings = a.keep_stored_settings;
    cfg.allow_remote_endpoints = a.allow_remote_endpoints;
    cfg.endpoint_allow = a.allow_endpoint.clone();
    cfg.public_url = Some(format!("http://{local}/mcp"));
    cfg.client = a.deadlines.client();
    let metrics = Arc::new(Metrics::new());
    cfg.metrics = Some(metrics.clone());
    let template = cfg.settings.clone();
    let opener: LeagueOpener = {
        let (cfg, store, dungeons) = (cfg.clone(), store.clone(), dungeons.clone());
        Arc::new(move |settings: LeagueSettings| {
            Manager::open(
                ManagerConfig {
                    settings,
                    keep_stored_settings: false,
                    random_seed: false,
                    ..cfg.clone()
                },
                store.clone(),
                policies(),
                dungeons.clone(),
            )
        })
    };
    let manager = Manager::open(cfg.clone(), store.clone(), policies(), dungeons)
        .map_err(|e| league_failure(db, e))?;
    let service = LeagueService::new(
        store,
        metrics,
        ServiceConfig {
            admin_token: Some(admin.clone()),
            opener: Some(opener),
            template: Some(LeagueSettings {
                natives: Vec::new(),
                start_when: template.start_when,
                ..template
            }),
            bt: cfg.bt,
            api_games: api_games(cfg.settings.game),
            media,
            // The read API's own connections (WAL: readers and the writer
            // never wait for each other).
            readers: (0..4)
                .map(|_| Store::open_reader(&a.db).map(Arc::new))
                .collect::<Result<_, _>>()
                .map_err(|e| store_failure(db, e))?,
            api_policies: ["random", "heuristic", "search"]
                .map(str::to_owned)
                .to_vec(),
            ..ServiceConfig::default()
        },
    );
    service.add(manager.clone());
    eprintln!(
        "pmd-agent: league {} ({}) on http://{local}/mcp; starts at {} players; admin token {admin}",
        manager.league_id(),
        manager.settings().game,
        manager.settings().start_when
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = {
        let mut rx = stop_rx.clone();
        let limits = ServeLimits {
            request_timeout: Duration::from_millis(a.request_timeout_ms),
            max_in_flight: a.max_in_flight,
            max_connections: a.max_connections,
            ..ServeLimits::default()
        };
        tokio::spawn(crate::league::http::serve_with(
            listener,
            service.router(),
            limits,
            async move {
                let _ = rx.wait_for(|s| *s).await;
            },
        ))
    };
    let outcome = tokio::select! {
        r = manager.run() => match r {
            Ok(report) => {
                print_report(&report, a.league.json)?;
                if !a.once {
                    shutdown_signal().await;
                }
                Ok(())
            }
            Err(e) => Err(league_failure(db, e)),
        },
        _ = shutdown_signal() => {
            tracing::warn!("stopping; the league resumes on restart");
            Ok(())
        }
    };
    // Event and frame streams never end by themselves: end them, so that
    // the graceful shutdown does not wait on them.
    service.close_streams();
    let _ = stop_tx.send(true);
    let _ = server.await;
    outcome
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    if let Ok(mut term) = signal(SignalKind::terminate()) {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn referee(a: RefereeArgs) -> Result<(), Failure> {
    let dungeons: Option<Arc<dyn DungeonFactory>> = match a.game {
        GameType::PmdDungeon => Some(dungeons(&a.dungeon).await? as Arc<dyn DungeonFactory>),
        GameType::EvenOdd => None,
    };
    let listener = tokio::net::TcpListener::bind(a.addr)
        .await
        .map_err(|e| Failure::other(format!("cannot listen on {}: {e}", a.addr)))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::other(e.to_string()))?
        .port();
    let id = a.id.unwrap_or_else(|| format!("REF-{port}"));
    let mut cfg = RefereeHostConfig::new(&id, &a.manager);
    cfg.capacity = a.capacity;
    cfg.game_types = vec![a.game];
    cfg.client = a.deadlines.client();
    let reg = host_referee(cfg, policies(), dungeons, listener, shutdown_signal())
        .await
        .map_err(|e| match e {
            RefereeHostError::Config(_) => Failure::bad_input(e.to_string()),
            other => Failure::other(other.to_string()),
        })?;
    tracing::info!(referee = %reg.referee_id, league = %reg.league_id, "referee done");
    Ok(())
}

async fn player(a: PlayerArgs) -> Result<(), Failure> {
    PmdPolicyFactory
        .create(&a.policy, 0)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    // The copy of each match's dungeon is made on demand; booting one here
    // would make every player pay for an emulator it may never use.
    let (rom, start) = dungeon_source(&a.dungeon)?;
    let dungeons: Arc<dyn DungeonFactory> = Arc::new(PmdDungeonFactory::new(rom, start));
    let listener = tokio::net::TcpListener::bind(a.addr)
        .await
        .map_err(|e| Failure::other(format!("cannot listen on {}: {e}", a.addr)))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::other(e.to_string()))?
        .port();
    let id = a.id.unwrap_or_else(|| {
        let base: String = a
            .policy
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(32)
            .collect();
        format!("{base}-{port}")
    });
    let mut cfg = PlayerConfig::new(&id, &a.policy, &a.manager);
    cfg.seed = a.seed;
    if let Some(n) = a.name {
        cfg.display_name = n;
    }
    let reg = host(cfg, policies(), Some(dungeons), listener)
        .await
        .map_err(|e| match e {
            PlayerError::Config(_) => Failure::bad_input(e.to_string()),
            other => Failure::other(other.to_string()),
        })?;
    tracing::info!(player = %reg.player_id, league = %reg.league_id, "league over");
    Ok(())
}

/// The games a serve process can create leagues of over the API: even_odd
/// always, pmd_dungeon when it has the dungeon.
fn api_games(served: GameType) -> Vec<String> {
    let mut games = vec![GameType::EvenOdd.as_str().to_owned()];
    if served == GameType::PmdDungeon {
        games.push(served.as_str().to_owned());
    }
    games
}

fn report(a: &ReportArgs) -> Result<(), Failure> {
    // Opening would create a missing file; a report only reads.
    if !a.db.is_file() {
        return Err(Failure::bad_input(format!(
            "{}: no such database file",
            a.db.display()
        )));
    }
    let db = Some(a.db.as_path());
    let store = open_store(db, false)?;
    let league = match &a.league {
        Some(id) => store.league(id),
        None => store.find_league_any(),
    }
    .map_err(|e| store_failure(db, e))?
    .ok_or_else(|| {
        Failure::bad_input(match &a.league {
            Some(id) => format!("{}: no league {id}", a.db.display()),
            None => format!("{}: holds no league", a.db.display()),
        })
    })?;
    let settings: LeagueSettings = serde_json::from_value(league.config.clone()).map_err(|e| {
        Failure::bad_input(format!(
            "{}: league {} settings: {e}",
            a.db.display(),
            league.id
        ))
    })?;
    let bt = crate::league::ratings::BtConfig {
        bootstrap: a.bootstrap,
        ..Default::default()
    };
    let report = crate::league::report::build(&store, &league, settings.seed, settings.points, &bt)
        .map_err(|e| store_failure(db, e))?;
    print_report(&report, a.json)
}

fn replay(a: &ReplayArgs) -> Result<(), Failure> {
    let shown = a.db.display().to_string();
    if !a.db.is_file() {
        return Err(Failure::bad_input(format!(
            "{shown}: no such database file"
        )));
    }
    let store =
        Store::open(&a.db, Durability::Process).map_err(|e| store_failure(Some(&a.db), e))?;
    let league_id = match &a.league {
        Some(id) => id.clone(),
        None => {
            store
                .find_league_any()
                .map_err(|e| store_failure(Some(&a.db), e))?
                .ok_or_else(|| Failure::bad_input(format!("{shown}: no league in this database")))?
                .id
        }
    };
    let recorded = store
        .match_replay(&league_id, &a.match_id)
        .map_err(|e| match e {
            StoreError::NotFound(what) => {
                Failure::bad_input(format!("{shown}: league {league_id} has no {what}"))
            }
            other => store_failure(Some(&a.db), other),
        })?;
    let (rom, start) = dungeon_source(&a.dungeon)?;
    let factory = PmdDungeonFactory::new(rom.clone(), start);
    let plan = pmd::replay_plan(&recorded, &a.player, &factory.descriptor())
        .map_err(|e| Failure::bad_input(format!("{shown}: {e}")))?;
    let frames = resimulate(
        &rom,
        factory.start().state.as_deref(),
        plan.seed,
        &plan.steps,
    )
    .map_err(|e| Failure::other(e.to_string()))?;
    write_gif(&frames, &a.gif, a.delay).map_err(|e| Failure::bad_input(e.to_string()))?;
    println!(
        "replayed {} in {} {} ({} turns, dungeon seed {}) into {} ({} frames)",
        a.player,
        league_id,
        a.match_id,
        plan.steps.len(),
        plan.seed,
        a.gif.display(),
        frames.len()
    );
    Ok(())
}
