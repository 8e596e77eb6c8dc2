//! The league manager: registers players, schedules the round robin, runs
//! each round's matches on its in-process referees (concurrently, up to
//! their declared capacity), records every result in SQLite as it comes,
//! and closes each round with its standings and Glicko-2 ratings.
//!
//! **Resuming**: everything that matters is in the database (see
//! [`store`](crate::store)). Opened on a database that holds an unfinished
//! league with the same settings, the manager skips completed rounds and
//! recorded matches and plays the rest; a match that was in flight when the
//! process died is played again from its seed, and the database's
//! one-result-per-match key makes sure nothing is counted twice. A `serve`
//! league is found by its game; asked for other settings than the stored
//! ones, [`Manager::open`] refuses, naming the first difference (unless
//! [`ManagerConfig::keep_stored_settings`]).
//!
//! Remote players register over `POST /mcp` ([`Manager::router`], or the
//! service's routes, [`crate::api::LeagueService`]). Referees run in-process
//! (`ManagerConfig::referees`) and, with `ManagerConfig::remote_referees`,
//! in other processes (`referees.rs`: `REFEREE_REGISTER_REQUEST`,
//! `MATCH_ASSIGNMENT`, `MATCH_RESULT_REPORT`); without it a referee's
//! registration is answered `REJECTED`. `live.rs` publishes the league's
//! events and per-player gauges as it goes.

mod admission;
mod handlers;
mod live;
mod notify;
mod referees;
mod registry;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::api::events::EventLog;
use crate::client::{ClientConfig, RpcClient};
use crate::error::{ErrorCode, GameError, ProtocolError};
use crate::game::dungeon::{DungeonFactory, PolicyFactory};
use crate::game::GameType;
use crate::http::DEFAULT_MAX_MESSAGE_BYTES;
use crate::metrics::Metrics;
use crate::protocol::messages::{GameStatus, MatchResultAck, MatchResultReport, Record};
use crate::protocol::{is_valid_id, Sender};
use crate::rate_limit::RateLimiter;
use crate::ratings::BtConfig;
use crate::referee::{MatchContext, MatchSpec, Outbox, Referee, Seat, MATCH_BREAKER};
use crate::report::{self, LeagueReport, Timing};
use crate::schedule;
use crate::seed;
use crate::standings::{self, GameOutcome, Points};
use crate::store::{
    LeagueRow, LeagueStatus, MatchRecord, MatchRow, PlayerKind, PlayerRow, RatingSnapshot,
    Recorded, StandingSnapshot, Store, StoreError,
};
pub(crate) use live::standing_out;
use registry::Registry;

/// How the league was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One-shot local league of native players (`league run`).
    Run,
    /// Long-running manager with remote players (`league serve`).
    Serve,
}

/// The settings that define a league (stored with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeagueSettings {
    /// Run or serve.
    pub mode: Mode,
    /// The game.
    pub game: GameType,
    /// Points per outcome.
    pub points: Points,
    /// Round-robin cycles: every pair meets this many times (sides swapped
    /// every second cycle).
    pub cycles: u32,
    /// The league seed.
    pub seed: u64,
    /// pmd_dungeon: turns per player.
    pub turn_budget: u32,
    /// Native players' policy specs.
    pub natives: Vec<String>,
    /// Serve: start once this many players (native included) are registered
    /// (0: only on a `START_LEAGUE` call).
    pub start_when: usize,
    /// pmd_dungeon: the dungeon played (the factory's descriptor: game,
    /// ROM CRC-32, start point); set by [`Manager::open`]. A league is
    /// resumed only on the dungeon it was started on.
    #[serde(default)]
    pub dungeon: String,
    /// Serve: the league's name, when a service runs several leagues of
    /// one game (leagues created over the API); part of what identifies it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

impl LeagueSettings {
    /// Defaults for `game` in `mode`.
    pub fn new(mode: Mode, game: GameType) -> LeagueSettings {
        LeagueSettings {
            mode,
            game,
            points: Points::default(),
            cycles: 1,
            seed: 1,
            turn_budget: 200,
            natives: Vec::new(),
            start_when: 0,
            dungeon: String::new(),
            name: String::new(),
        }
    }

    /// What makes two leagues "the same" for resuming: every setting for
    /// `run`; the game for `serve` (a restarted server picks up its league).
    pub fn config_key(&self) -> String {
        match self.mode {
            Mode::Run => format!("run:{}", serde_json::to_string(self).unwrap_or_default()),
            Mode::Serve if self.name.is_empty() => format!("serve:{}", self.game),
            Mode::Serve => format!("serve:{}:{}", self.game, self.name),
        }
    }
}

/// Manager settings.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// The league.
    pub settings: LeagueSettings,
    /// In-process referees.
    pub referees: usize,
    /// Matches each referee runs at once (its `max_concurrent_matches`).
    pub referee_capacity: usize,
    /// The HTTP client.
    pub client: ClientConfig,
    /// Largest request accepted.
    pub max_message_bytes: usize,
    /// Requests per second per sender.
    pub rate_per_s: f64,
    /// Burst per sender.
    pub rate_burst: u32,
    /// Most players in a league.
    pub max_players: usize,
    /// Accept contact endpoints outside 127.0.0.0/8 and ::1 (each still
    /// the registering peer's own address, or on `endpoint_allow`).
    pub allow_remote_endpoints: bool,
    /// Hosts (IP addresses or names, as written in URLs) that any peer may
    /// register as its contact endpoint; any other endpoint must be the
    /// registering peer's own address (a loopback peer may name any
    /// loopback address).
    pub endpoint_allow: Vec<String>,
    /// The secret that `START_LEAGUE` must carry.
    pub admin_token: Option<String>,
    /// This manager's own `/mcp` URL (sent as `referee_endpoint`).
    pub public_url: Option<String>,
    /// Bradley–Terry settings.
    pub bt: BtConfig,
    /// At the end of the league, how long the players' notifications
    /// (`LEAGUE_COMPLETED` last) may take to be delivered before the
    /// manager gives up on them (a silent player's are abandoned).
    pub notify_flush: Duration,
    /// The seed was drawn at random, not asked for: a resumed league keeps
    /// its own without complaint.
    pub random_seed: bool,
    /// Resume a stored league with its stored settings even when these
    /// differ (each difference is logged); otherwise [`Manager::open`]
    /// refuses, naming the first.
    pub keep_stored_settings: bool,
    /// The metrics registry to report into (shared by the leagues of one
    /// service, so that one `/metrics` shows them all); a fresh one when
    /// `None`.
    pub metrics: Option<Arc<Metrics>>,
    /// Live events the league keeps for SSE clients to resume from.
    pub event_capacity: usize,
    /// Accept remote referees (`REFEREE_REGISTER_REQUEST`); with
    /// `referees` 0, every match waits for one.
    pub remote_referees: bool,
    /// How long a remote referee may take from assignment to report before
    /// the match is played elsewhere.
    pub referee_deadline: Duration,
}

impl ManagerConfig {
    /// Defaults around `settings`: 2 referees of 64 matches each, 64 KiB
    /// messages, 50 requests/s per sender (burst 100), 1024 players.
    pub fn new(settings: LeagueSettings) -> ManagerConfig {
        ManagerConfig {
            settings,
            referees: 2,
            referee_capacity: 64,
            client: ClientConfig::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            rate_per_s: 50.0,
            rate_burst: 100,
            max_players: 1024,
            allow_remote_endpoints: false,
            endpoint_allow: Vec::new(),
            admin_token: None,
            public_url: None,
            bt: BtConfig::default(),
            notify_flush: Duration::from_secs(10),
            random_seed: false,
            keep_stored_settings: false,
            metrics: None,
            event_capacity: 4096,
            remote_referees: false,
            referee_deadline: Duration::from_secs(120),
        }
    }
}

/// Why a league could not run.
#[derive(Debug, thiserror::Error)]
pub enum LeagueFailure {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad settings.
    #[error("{0}")]
    Config(String),
    /// A policy or dungeon could not be made.
    #[error(transparent)]
    Game(#[from] GameError),
    /// A round ended without every result recorded (the database refused
    /// one); restarting resumes it.
    #[error("round {round} is missing results: {missing:?}")]
    Incomplete {
        /// The round.
        round: u32,
        /// Its matches without a result.
        missing: Vec<String>,
    },
    /// A task failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// A league manager (cheap to clone; all clones are the same manager).
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

/// In-memory view of the results, rebuilt from the database on resume.
#[derive(Default)]
struct Tally {
    schedule: Vec<MatchRow>,
    index: HashMap<String, usize>,
    done: HashSet<String>,
    outcomes: Vec<(u32, GameOutcome)>,
    records: HashMap<String, Record>,
    /// Each recorded match's result (the read API pages the schedule from
    /// memory for a live league).
    result_of: HashMap<String, (GameStatus, Option<String>)>,
}

impl Tally {
    fn set_schedule(&mut self, schedule: Vec<MatchRow>) {
        self.index = schedule
            .iter()
            .enumerate()
            .map(|(i, m)| (m.match_id.clone(), i))
            .collect();
        self.schedule = schedule;
    }

    /// Records `match_id`'s outcome.
    fn record(&mut self, match_id: &str, round: u32, o: GameOutcome) {
        self.done.insert(match_id.to_owned());
        self.result_of
            .insert(match_id.to_owned(), (o.status, o.winner.clone()));
        self.add(round, o);
    }

    fn add(&mut self, round: u32, o: GameOutcome) {
        for me in [&o.a, &o.b] {
            let r = self.records.entry(me.clone()).or_default();
            match o.side(me) {
                crate::standings::Side::Won => r.wins += 1,
                crate::standings::Side::Drew => r.draws += 1,
                crate::standings::Side::Lost => r.losses += 1,
            }
        }
        self.outcomes.push((round, o));
    }
}

struct Inner {
    cfg: ManagerConfig,
    league: LeagueRow,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    referees: Vec<Referee>,
    sender: Sender,
    limiter: RateLimiter,
    registry: Mutex<Registry>,
    outbox: Arc<Outbox>,
    tally: Mutex<Tally>,
    start: Notify,
    start_requested: AtomicBool,
    completed: AtomicBool,
    last_registration: Mutex<Option<Instant>>,
    events: Arc<EventLog>,
    /// A `standings_changed` is scheduled.
    standings_pending: AtomicBool,
    /// Glicko-2 ratings after the last completed round.
    glicko: Mutex<Option<(u32, BTreeMap<String, skillratings::glicko2::Glicko2Rating>)>>,
    playing: Mutex<HashSet<String>>,
    remotes: Arc<referees::RemotePool>,
    awaiting: referees::Awaiting,
    assigned: Mutex<HashMap<String, String>>,
    /// Calls to remote referees (with the configured breaker).
    rpc: Arc<RpcClient>,
    frames: Option<Arc<crate::referee::frames::FrameHub>>,
}

impl Inner {
    /// The registry (a plain mutex: never held across an `.await`).
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn blocking_err(e: tokio::task::JoinError) -> LeagueFailure {
    LeagueFailure::Internal(e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, LeagueFailure> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(blocking_err)??)
}

/// Ids for native players: the spec made id-safe, with `-2`, `-3`... for
/// repeats (`random,random` plays `random` against `random-2`).
pub fn native_ids(specs: &[String]) -> Vec<String> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    specs
        .iter()
        .map(|s| {
            let mut base: String = s
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .take(48)
                .collect();
            if base.is_empty() {
                base.push('p');
            }
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                base
            } else {
                format!("{base}-{n}")
            }
        })
        .collect()
}

impl Manager {
    /// Opens the league for `cfg.settings` in `store`: resumes the newest
    /// unfinished league with the same settings (or, for `run`, reports a
    /// finished one), else creates it with its native players. A `serve`
    /// league is found by its game: any other setting that differs is a
    /// [`LeagueFailure::Config`] naming it, unless `cfg.keep_stored_settings`
    /// (then the stored settings win, and the differences are logged).
    /// Reads the database synchronously (call it at start-up, or from a
    /// blocking thread).
    pub fn open(
        mut cfg: ManagerConfig,
        store: Arc<Store>,
        policies: Arc<dyn PolicyFactory>,
        dungeons: Option<Arc<dyn DungeonFactory>>,
    ) -> Result<Manager, LeagueFailure> {
        cfg.settings.dungeon = match (cfg.settings.game, &dungeons) {
            (GameType::PmdDungeon, Some(d)) => d.descriptor(),
            _ => String::new(),
        };
        let wanted_dungeon = cfg.settings.dungeon.clone();
        let key = cfg.settings.config_key();
        let existing = store
            .find_league(&key)?
            .filter(|l| cfg.settings.mode == Mode::Run || l.status != LeagueStatus::Completed);
        let league = match existing {
            Some(l) => {
                // A resumed league keeps the settings it was created with;
                // asked for others, the manager refuses (or, told to keep
                // the stored ones, says which it keeps).
                let stored: LeagueSettings = serde_json::from_value(l.config.clone())
                    .map_err(|e| StoreError::Corrupt(format!("league settings: {e}")))?;
                let diffs = settings_differences(&stored, &cfg.settings, !cfg.random_seed);
                if let Some(first) = diffs.first() {
                    if !cfg.keep_stored_settings {
                        return Err(LeagueFailure::Config(format!(
                            "league {} in this database was started with {first}; restart with \
                             the same settings, pass --keep-stored-settings to resume it as \
                             stored, or use another database",
                            l.id
                        )));
                    }
                    tracing::warn!(
                        "resuming league {} with its stored settings: {}",
                        l.id,
                        diffs.join("; ")
                    );
                }
                cfg.settings = stored;
                if cfg.settings.dungeon != wanted_dungeon {
                    return Err(LeagueFailure::Config(format!(
                        "league {} is played on {:?}, not {:?} (same ROM and start state, or another database)",
                        l.id, cfg.settings.dungeon, wanted_dungeon
                    )));
                }
                l
            }
            None => {
                validate(&cfg.settings, policies.as_ref(), dungeons.as_deref())?;
                let natives: Vec<PlayerRow> = native_ids(&cfg.settings.natives)
                    .into_iter()
                    .zip(&cfg.settings.natives)
                    .map(|(id, spec)| PlayerRow {
                        display_name: spec.clone(),
                        player_id: id,
                        kind: PlayerKind::Native,
                        spec: spec.clone(),
                        auth_token: None,
                    })
                    .collect();
                let config = serde_json::to_value(&cfg.settings)
                    .map_err(|e| LeagueFailure::Config(e.to_string()))?;
                store.create_league(cfg.settings.game, &config, &key, &natives)?
            }
        };
        if cfg.settings.game == GameType::PmdDungeon && dungeons.is_none() {
            return Err(LeagueFailure::Config(
                "pmd_dungeon needs a dungeon factory".into(),
            ));
        }
        let metrics = cfg
            .metrics
            .clone()
            .unwrap_or_else(|| Arc::new(Metrics::new()));
        // Notifications go through the configured breaker (fail fast on a
        // dead player); match calls through none (see `MATCH_BREAKER`).
        let client = |breaker| {
            RpcClient::new(
                ClientConfig {
                    breaker,
                    ..cfg.client.clone()
                },
                metrics.clone(),
            )
            .map(Arc::new)
            .map_err(|e| LeagueFailure::Config(e.to_string()))
        };
        let notify_client = client(cfg.client.breaker)?;
        let rpc = notify_client.clone();
        let client = client(MATCH_BREAKER)?;
        let ctx = Arc::new(MatchContext {
            league_id: league.id.clone(),
            league_seed: cfg.settings.seed,
            game: cfg.settings.game,
            turn_budget: cfg.settings.turn_budget,
            points: cfg.settings.points,
            client: client.clone(),
            metrics: metrics.clone(),
            policies,
            dungeons,
            outbox: Arc::new(Outbox::new(notify_client)),
            frames: (cfg.settings.game == GameType::PmdDungeon)
                .then(|| Arc::new(crate::referee::frames::FrameHub::default())),
        });
        let outbox = ctx.outbox.clone();
        let frames = ctx.frames.clone();
        if cfg.referees == 0 && !cfg.remote_referees {
            return Err(LeagueFailure::Config(
                "a league needs a referee: in-process ones, or remote referees allowed".into(),
            ));
        }
        let referees: Vec<Referee> = (1..=cfg.referees)
            .map(|i| Referee::new(&format!("REF{i:02}"), cfg.referee_capacity, ctx.clone()))
            .collect();
        for r in &referees {
            store.add_referee(&league.id, r.id(), r.capacity() as u32)?;
        }
        let registry = Registry::load(store.players(&league.id)?);
        metrics.players.set(registry.len() as i64);
        let mut tally = Tally::default();
        tally.set_schedule(store.matches(&league.id)?);
        for r in store.results(&league.id)? {
            tally.record(&r.match_id, r.round, GameOutcome::from_row(&r));
        }
        let limiter = RateLimiter::new(cfg.rate_per_s, cfg.rate_burst, 4096);
        let event_capacity = cfg.event_capacity;
        Ok(Manager {
            inner: Arc::new(Inner {
                sender: Sender::manager(&league.id),
                completed: AtomicBool::new(league.status == LeagueStatus::Completed),
                registry: Mutex::new(registry),
                outbox,
                cfg,
                league,
                store,
                metrics,
                referees,
                limiter,
                tally: Mutex::new(tally),
                start: Notify::new(),
                start_requested: AtomicBool::new(false),
                last_registration: Mutex::new(None),
                events: Arc::new(EventLog::new(event_capacity)),
                standings_pending: AtomicBool::new(false),
                glicko: Mutex::new(None),
                playing: Mutex::new(HashSet::new()),
                remotes: Arc::new(referees::RemotePool::default()),
                awaiting: Mutex::new(HashMap::new()),
                assigned: Mutex::new(HashMap::new()),
                rpc,
                frames,
            }),
        })
    }

    /// The league's id.
    pub fn league_id(&self) -> &str {
        &self.inner.league.id
    }

    /// The settings in force (a resumed league's own).
    pub fn settings(&self) -> &LeagueSettings {
        &self.inner.cfg.settings
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The league's stored row, from memory (the status as this process
    /// knows it).
    pub fn league_row(&self) -> LeagueRow {
        let status = if self.is_completed() {
            LeagueStatus::Completed
        } else if self
            .inner
            .tally
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .schedule
            .is_empty()
        {
            self.inner.league.status
        } else {
            LeagueStatus::Running
        };
        LeagueRow {
            status,
            ..self.inner.league.clone()
        }
    }

    /// The league's live events.
    pub fn events(&self) -> &Arc<EventLog> {
        &self.inner.events
    }

    /// pmd_dungeon: the live frames of the matches played here.
    pub fn frames(&self) -> Option<&Arc<crate::referee::frames::FrameHub>> {
        self.inner.frames.as_ref()
    }

    /// Whether `match_id` is being played now.
    pub fn is_playing(&self, match_id: &str) -> bool {
        self.inner
            .playing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(match_id)
    }

    /// One page of the schedule with results, from memory (what
    /// [`Store::match_page`] reads from the database), and how many matches
    /// pass the filters.
    pub fn match_page(
        &self,
        round: Option<u32>,
        player: Option<&str>,
        state: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> (u32, Vec<crate::store::ScheduledMatch>) {
        let playing = self
            .inner
            .playing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let t = self.inner.tally.lock().unwrap_or_else(|e| e.into_inner());
        let mut total = 0u32;
        let mut page = Vec::with_capacity(limit.min(1024));
        for m in &t.schedule {
            if round.is_some_and(|r| r != m.round)
                || player.is_some_and(|p| p != m.player_a && p != m.player_b)
            {
                continue;
            }
            let result = t.result_of.get(&m.match_id);
            let st = match (result, playing.contains(&m.match_id)) {
                (Some(_), _) => "finished",
                (None, true) => "playing",
                (None, false) => "scheduled",
            };
            if state.is_some_and(|s| s != st) {
                continue;
            }
            if (total as usize) >= offset && page.len() < limit {
                page.push(crate::store::ScheduledMatch {
                    match_id: m.match_id.clone(),
                    round: m.round,
                    player_a: m.player_a.clone(),
                    player_b: m.player_b.clone(),
                    referee_id: m.referee_id.clone(),
                    status: result.map(|r| r.0),
                    winner: result.and_then(|r| r.1.clone()),
                });
            }
            total += 1;
        }
        (total, page)
    }

    /// The matches being played now.
    pub fn playing(&self) -> Vec<String> {
        self.inner
            .playing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// What has changed since: players registered, results recorded,
    /// whether the league has ended (cheap: from memory).
    pub fn progress(&self) -> (usize, usize, bool) {
        let done = self
            .inner
            .tally
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .done
            .len();
        (self.inner.registry().len(), done, self.is_completed())
    }

    /// Whether the league has ended.
    pub fn is_completed(&self) -> bool {
        self.inner.completed.load(Ordering::SeqCst)
    }

    /// Answers one `POST /mcp` request (what [`Manager::router`] routes
    /// there), for a service that routes several leagues.
    pub async fn handle_mcp(&self, request: axum::extract::Request) -> axum::response::Response {
        handlers::mcp(axum::extract::State(self.clone()), request).await
    }

    /// Answers `GET /ready`.
    pub async fn handle_ready(&self) -> axum::response::Response {
        handlers::ready(axum::extract::State(self.clone())).await
    }

    /// Players registered so far.
    pub async fn player_count(&self) -> usize {
        self.inner.registry().len()
    }

    /// Asks the league to start as soon as two players are registered.
    pub fn request_start(&self) {
        self.inner.start_requested.store(true, Ordering::SeqCst);
        self.inner.start.notify_waiters();
    }

    /// The HTTP routes: `POST /mcp`, `GET /health`, `/ready`, `/metrics`.
    /// Serve them with [`crate::http::serve`], which attaches the
    /// peer's address: without it, a registration's contact endpoint is
    /// accepted only when its host is on `ManagerConfig::endpoint_allow`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/mcp", post(handlers::mcp))
            .route("/health", get(handlers::health))
            .route("/ready", get(handlers::ready))
            .route("/metrics", get(handlers::metrics))
            .fallback(|| async { crate::http::not_found() })
            .with_state(self.clone())
    }

    /// The current report (standings and ratings so far).
    pub async fn report(&self) -> Result<LeagueReport, LeagueFailure> {
        let inner = self.inner.clone();
        blocking(move || {
            let status = if inner.completed.load(Ordering::SeqCst) {
                LeagueStatus::Completed
            } else {
                inner
                    .store
                    .league(&inner.league.id)?
                    .map_or(inner.league.status, |l| l.status)
            };
            let league = LeagueRow {
                status,
                ..inner.league.clone()
            };
            let s = &inner.cfg.settings;
            report::build(&inner.store, &league, s.seed, s.points, &inner.cfg.bt)
        })
        .await
    }

    /// Runs the league to completion: waits for the start condition (serve),
    /// schedules, plays every remaining round, and returns the final report.
    pub async fn run(&self) -> Result<LeagueReport, LeagueFailure> {
        let inner = &self.inner;
        if inner.completed.load(Ordering::SeqCst) {
            return self.report().await;
        }
        self.wait_for_start().await;
        let play_started = Instant::now();
        self.schedule().await?;
        let matches = inner
            .tally
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .schedule
            .clone();
        let done_rounds: HashSet<u32> = {
            let (store, id) = (inner.store.clone(), inner.league.id.clone());
            blocking(move || store.completed_rounds(&id))
                .await?
                .into_iter()
                .collect()
        };
        let mut rounds: BTreeMap<u32, Vec<MatchRow>> = BTreeMap::new();
        for m in matches {
            rounds.entry(m.round).or_default().push(m);
        }
        let last_round = rounds.keys().next_back().copied().unwrap_or(0);
        for (&round, ms) in &rounds {
            if done_rounds.contains(&round) {
                continue;
            }
            self.announce_round(round, ms);
            self.live_round_started(round, ms);
            let pending: Vec<MatchRow> = {
                let t = inner.tally.lock().unwrap_or_else(|e| e.into_inner());
                ms.iter()
                    .filter(|m| !t.done.contains(&m.match_id))
                    .cloned()
                    .collect()
            };
            let mut set = JoinSet::new();
            for m in pending {
                let me = self.clone();
                set.spawn(async move { me.play_match(m).await });
            }
            while let Some(r) = set.join_next().await {
                if let Err(e) = r {
                    tracing::error!("match task failed: {e}");
                }
            }
            self.finish_round(round, (round < last_round).then_some(round + 1))
                .await?;
        }
        {
            let (store, id) = (inner.store.clone(), inner.league.id.clone());
            blocking(move || store.complete_league(&id)).await?;
        }
        inner.completed.store(true, Ordering::SeqCst);
        let mut report = self.report().await?;
        let done_at = Instant::now();
        let last = *inner
            .last_registration
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        report.timing = Some(Timing {
            play_seconds: done_at.duration_since(play_started).as_secs_f64(),
            seconds_after_last_registration: last.map(|t| done_at.duration_since(t).as_secs_f64()),
        });
        self.live_league_completed(&report);
        self.announce_completed(&report).await;
        Ok(report)
    }

    async fn wait_for_start(&self) {
        let inner = &self.inner;
        loop {
            let notified = inner.start.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut reg = inner.registry();
                let n = reg.len();
                let wanted = inner.cfg.settings.start_when;
                let ready = match inner.cfg.settings.mode {
                    Mode::Run => true,
                    Mode::Serve => {
                        n >= 2
                            && ((wanted > 0 && n >= wanted)
                                || inner.start_requested.load(Ordering::SeqCst))
                    }
                };
                // A league that already has a schedule (resumed) starts at once.
                let scheduled = !inner
                    .tally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .schedule
                    .is_empty();
                // A registration whose database write is under way lands
                // first (it notifies `start` when it settles), so that
                // every stored player is in the schedule.
                let started = scheduled || inner.league.status != LeagueStatus::Registering;
                if (ready || started) && reg.pending() == 0 {
                    reg.close();
                    return;
                }
            }
            notified.await;
        }
    }

    /// Saves the schedule (once) and loads it into the tally.
    async fn schedule(&self) -> Result<(), LeagueFailure> {
        let inner = &self.inner;
        if !inner
            .tally
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .schedule
            .is_empty()
        {
            return Ok(());
        }
        let players: Vec<String> = inner.registry().ids();
        let s = &inner.cfg.settings;
        let n_ref = inner.referees.len();
        let mut rows = Vec::new();
        let mut k = 0usize;
        for (r, round) in schedule::schedule(players.len(), s.cycles.max(1))
            .iter()
            .enumerate()
        {
            for (i, p) in round.iter().enumerate() {
                let match_id = schedule::match_id(r as u32 + 1, i as u32 + 1);
                rows.push(MatchRow {
                    seed: seed::derive(s.seed, &match_id),
                    match_id,
                    round: r as u32 + 1,
                    player_a: players[p.a].clone(),
                    player_b: players[p.b].clone(),
                    // The planned referee; remote referees are chosen when
                    // the match is played.
                    referee_id: if n_ref == 0 {
                        "remote".to_owned()
                    } else {
                        inner.referees[k % n_ref].id().to_owned()
                    },
                });
                k += 1;
            }
        }
        let (store, id) = (inner.store.clone(), inner.league.id.clone());
        let saved = blocking(move || {
            store.start_league(&id, &rows)?;
            store.matches(&id)
        })
        .await?;
        inner
            .tally
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_schedule(saved);
        Ok(())
    }

    async fn play_match(&self, m: MatchRow) {
        let inner = &self.inner;
        let (seat_a, seat_b) = {
            let reg = inner.registry();
            (reg.seat(&m.player_a), reg.seat(&m.player_b))
        };
        let (Some(a), Some(b)) = (seat_a, seat_b) else {
            tracing::error!("match {}: unknown player", m.match_id);
            return;
        };
        let (record_a, record_b) = {
            let t = inner.tally.lock().unwrap_or_else(|e| e.into_inner());
            let get = |id: &str| t.records.get(id).copied().unwrap_or_default();
            (get(&m.player_a), get(&m.player_b))
        };
        let spec = MatchSpec {
            round: m.round,
            match_id: m.match_id.clone(),
            seed: m.seed,
            a,
            b,
            record_a,
            record_b,
        };
        // A free remote referee first; else an in-process one; with none
        // in-process, wait for a remote slot. A remote referee that fails
        // is dropped and the match played again from its seed.
        loop {
            if let Some(slot) = inner.remotes.try_take() {
                let id = slot.referee_id.clone();
                self.live_match_started(&m);
                match self.play_remote(&m, &spec, slot).await {
                    Ok(()) => break,
                    Err(referees::RemoteFailure::Busy) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    Err(referees::RemoteFailure::Failed(e)) => {
                        tracing::warn!("referee {id} failed match {}: {e}", m.match_id);
                        inner.remotes.mark_dead(&id);
                        if inner
                            .tally
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .done
                            .contains(&m.match_id)
                        {
                            break;
                        }
                        continue;
                    }
                }
            }
            if !inner.referees.is_empty() {
                let referee = inner
                    .referees
                    .iter()
                    .find(|r| r.id() == m.referee_id)
                    .unwrap_or(&inner.referees[0]);
                let referee_id = referee.id().to_owned();
                self.assign_to(&m.match_id, &referee_id);
                self.live_match_started(&m);
                let played = referee
                    .run(spec.clone(), |report, record| {
                        self.accept_report(referee_id, report, record)
                    })
                    .await;
                if let Err(e) = &played.ack {
                    tracing::error!("match {}: result not recorded: {e}", m.match_id);
                }
                break;
            }
            if !inner.remotes.any_alive() {
                tracing::warn!("match {} waits for a referee to register", m.match_id);
            }
            self.wait_for_referee(Duration::from_secs(1)).await;
        }
        self.live_match_ended(&m.match_id);
    }

    /// The manager's side of `MATCH_RESULT_REPORT`: checks the report against
    /// the schedule and records it (once).
    async fn accept_report(
        &self,
        referee_id: String,
        report: MatchResultReport,
        record: MatchRecord,
    ) -> Result<MatchResultAck, ProtocolError> {
        let inner = &self.inner;
        if report.league_id != inner.league.id {
            return Err(ProtocolError::new(
                ErrorCode::E004,
                "report for another league",
            ));
        }
        let m = {
            let t = inner.tally.lock().unwrap_or_else(|e| e.into_inner());
            t.index
                .get(&report.match_id)
                .map(|&i| t.schedule[i].clone())
        }
        .ok_or_else(|| {
            ProtocolError::new(ErrorCode::E014, format!("no match {}", report.match_id))
        })?;
        let expected = self
            .assigned_referee(&m.match_id)
            .unwrap_or_else(|| m.referee_id.clone());
        if expected != referee_id {
            return Err(ProtocolError::new(
                ErrorCode::E013,
                "match assigned to another referee",
            ));
        }
        let players_ok = report.result.score.len() == 2
            && report.result.score.contains_key(&m.player_a)
            && report.result.score.contains_key(&m.player_b);
        let winner_ok = report
            .result
            .winner
            .as_ref()
            .is_none_or(|w| *w == m.player_a || *w == m.player_b);
        if !players_ok || !winner_ok || record.match_id != m.match_id {
            return Err(ProtocolError::new(
                ErrorCode::E004,
                "report does not match the pairing",
            ));
        }
        let record_status = record.status;
        let outcome = GameOutcome {
            a: m.player_a.clone(),
            b: m.player_b.clone(),
            status: record.status,
            winner: record.winner.clone(),
        };
        let (store, id) = (inner.store.clone(), inner.league.id.clone());
        let recorded = tokio::task::spawn_blocking(move || store.record_result(&id, &record))
            .await
            .map_err(|e| ProtocolError::new(ErrorCode::E017, e.to_string()))?
            .map_err(|e| ProtocolError::new(ErrorCode::E017, e.to_string()))?;
        let status = match recorded {
            Recorded::Inserted => {
                {
                    let mut t = inner.tally.lock().unwrap_or_else(|e| e.into_inner());
                    t.record(&m.match_id, m.round, outcome.clone());
                }
                self.live_match_recorded(&m, &outcome);
                self.report_arrived(&m.match_id, record_status);
                "recorded"
            }
            Recorded::Duplicate => {
                self.report_arrived(&m.match_id, record_status);
                "duplicate"
            }
        };
        Ok(MatchResultAck {
            match_id: m.match_id,
            status: status.to_owned(),
        })
    }

    async fn finish_round(&self, round: u32, next: Option<u32>) -> Result<(), LeagueFailure> {
        let inner = &self.inner;
        let (missing, games) = {
            let t = inner.tally.lock().unwrap_or_else(|e| e.into_inner());
            let missing: Vec<String> = t
                .schedule
                .iter()
                .filter(|m| m.round == round && !t.done.contains(&m.match_id))
                .map(|m| m.match_id.clone())
                .collect();
            (missing, t.outcomes.clone())
        };
        if !missing.is_empty() {
            return Err(LeagueFailure::Incomplete { round, missing });
        }
        let names = inner.registry().names();
        let ids: Vec<String> = names.iter().map(|(id, _)| id.clone()).collect();
        let plain: Vec<GameOutcome> = games.iter().map(|(_, g)| g.clone()).collect();
        let table = standings::compute(&names, &plain, inner.cfg.settings.points);
        // Carried from the previous round when it is the one before (one
        // rating period more); replayed from the start otherwise (resumed).
        let ratings = {
            let mut carried = inner.glicko.lock().unwrap_or_else(|e| e.into_inner());
            let next = match carried.as_ref() {
                Some((r, prev)) if *r + 1 == round && prev.len() == ids.len() => {
                    let this: Vec<GameOutcome> = games
                        .iter()
                        .filter(|(r, _)| *r == round)
                        .map(|(_, g)| g.clone())
                        .collect();
                    crate::ratings::glicko::period(prev, &this)
                }
                _ => report::glicko_after(&ids, &games, round),
            };
            *carried = Some((round, next.clone()));
            next
        };
        let snapshots: Vec<StandingSnapshot> = table
            .iter()
            .map(|s| StandingSnapshot {
                player_id: s.player_id.clone(),
                rank: s.rank,
                played: s.played,
                wins: s.wins,
                draws: s.draws,
                losses: s.losses,
                technical_losses: s.technical_losses,
                points: s.points,
            })
            .collect();
        let matches_in_round = games.iter().filter(|(r, _)| *r == round).count() as u32;
        {
            let (store, id) = (inner.store.clone(), inner.league.id.clone());
            let ratings = ratings.clone();
            blocking(move || {
                let rows: Vec<RatingSnapshot<'_>> = ratings
                    .iter()
                    .map(|(p, r)| RatingSnapshot {
                        player_id: p,
                        rating: r.rating,
                        deviation: r.deviation,
                        volatility: r.volatility,
                    })
                    .collect();
                store.complete_round(&id, round, &snapshots, &rows)
            })
            .await?;
        }
        self.announce_round_completed(round, next, &table, matches_in_round, &games);
        self.live_round_completed(round, next, &ratings, &table, games.len() as u32);
        Ok(())
    }
}

/// How the settings asked for differ from a stored league's, one entry per
/// setting, named by its `league` option: `--rounds 1, not 3`. The mode and
/// game are part of what identifies the league; the dungeon is checked on
/// its own.
fn settings_differences(
    stored: &LeagueSettings,
    wanted: &LeagueSettings,
    compare_seed: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |flag: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{flag} {a}, not {b}"));
        }
    };
    check(
        "--rounds",
        stored.cycles.to_string(),
        wanted.cycles.to_string(),
    );
    check(
        "--points",
        stored.points.to_string(),
        wanted.points.to_string(),
    );
    if compare_seed {
        check("--seed", stored.seed.to_string(), wanted.seed.to_string());
    }
    if stored.game == GameType::PmdDungeon {
        check(
            "--turns",
            stored.turn_budget.to_string(),
            wanted.turn_budget.to_string(),
        );
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.join(",")
        }
    };
    let natives = if stored.mode == Mode::Serve {
        "--native"
    } else {
        "--players"
    };
    check(natives, list(&stored.natives), list(&wanted.natives));
    if stored.mode == Mode::Serve {
        check(
            "--start-when",
            stored.start_when.to_string(),
            wanted.start_when.to_string(),
        );
    }
    out
}

fn validate(
    s: &LeagueSettings,
    policies: &dyn PolicyFactory,
    dungeons: Option<&dyn DungeonFactory>,
) -> Result<(), LeagueFailure> {
    if s.mode == Mode::Run && s.natives.len() < 2 {
        return Err(LeagueFailure::Config(
            "a league needs at least two players".into(),
        ));
    }
    if s.cycles == 0 || s.cycles > 100 {
        return Err(LeagueFailure::Config(
            "rounds (cycles) must be 1..=100".into(),
        ));
    }
    if s.game == GameType::PmdDungeon && (s.turn_budget == 0 || s.turn_budget > 100_000) {
        return Err(LeagueFailure::Config(
            "turn budget must be 1..=100000".into(),
        ));
    }
    for spec in &s.natives {
        policies.create(spec, 0)?;
    }
    if s.game == GameType::PmdDungeon && dungeons.is_none() {
        return Err(LeagueFailure::Config(
            "pmd_dungeon needs a dungeon factory".into(),
        ));
    }
    if native_ids(&s.natives).iter().any(|id| !is_valid_id(id)) {
        return Err(LeagueFailure::Config("bad native policy name".into()));
    }
    Ok(())
}

impl From<&registry::Entry> for Seat {
    fn from(e: &registry::Entry) -> Seat {
        match e.row.kind {
            PlayerKind::Native => Seat::Native {
                player_id: e.row.player_id.clone(),
                spec: e.row.spec.clone(),
            },
            PlayerKind::Remote => Seat::Remote {
                player_id: e.row.player_id.clone(),
                endpoint: e.row.spec.clone(),
                token: e.token.as_ref().map(|t| t.as_str().to_owned()),
            },
        }
    }
}

#[cfg(test)]
mod tests;
