//! A league.v2 player hosting a native policy over HTTP, so our agents can
//! join someone else's league (`league player --policy P --addr A
//! --manager URL`).
//!
//! It registers with its own id in `sender`, adopts the id the manager
//! answers with, and from then on accepts only messages that carry the
//! token it was given (the secret it shares with the league) from a referee
//! or the manager. Answers are JSON-RPC results with full envelopes.
//!
//! even_odd: a fair coin, seeded (no strategy beats a fair draw).
//! pmd_dungeon: with a dungeon factory whose descriptor matches the
//! invitation's, the player keeps its own copy of the match's dungeon,
//! replays the referee's actions into it (`last_action`) and checks each
//! turn that it still sees the state the referee sent; the policy then acts
//! on that copy, so lookahead policies work remotely. Without a matching
//! copy (or after a mismatch) it decides from the state it was sent alone
//! (see `fallback.rs`: a shortest path to the stairs or to unexplored map).

mod fallback;
mod handlers;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::client::{normalize_endpoint, CallKind, ClientConfig, RpcClient};
use crate::game::dungeon::{DungeonFactory, DungeonSim, NativePolicy, PolicyFactory};
use crate::http::DEFAULT_MAX_MESSAGE_BYTES;
use crate::metrics::Metrics;
use crate::protocol::jsonrpc::message;
use crate::protocol::messages::{types, LeagueRegisterRequest, PlayerMeta, RegistrationStatus};
use crate::protocol::{is_valid_id, Envelope, Sender};
use crate::rate_limit::RateLimiter;

/// Player settings.
#[derive(Debug, Clone)]
pub struct PlayerConfig {
    /// The id it asks for (sent in `sender`).
    pub id: String,
    /// Its name in the standings.
    pub display_name: String,
    /// The native policy spec.
    pub policy: String,
    /// The manager's `/mcp` URL.
    pub manager_url: String,
    /// The URL it announces (default `http://<bound address>/mcp`).
    pub contact_endpoint: Option<String>,
    /// Seed of its choices.
    pub seed: u64,
    /// Games it plays.
    pub game_types: Vec<String>,
    /// The HTTP client.
    pub client: ClientConfig,
    /// Largest request accepted.
    pub max_message_bytes: usize,
    /// Requests per second per sender that fail authentication (the
    /// league's own are not limited).
    pub rate_per_s: f64,
    /// Burst of those.
    pub rate_burst: u32,
    /// How long it keeps answering after `LEAGUE_COMPLETED`.
    pub linger: Duration,
    /// How long it keeps trying to register while the manager is not up.
    pub register_for: Duration,
    /// Accept a manager outside 127.0.0.0/8 and ::1.
    pub allow_remote: bool,
}

impl PlayerConfig {
    /// Defaults for a player of `policy` reaching `manager_url`.
    pub fn new(id: &str, policy: &str, manager_url: &str) -> PlayerConfig {
        PlayerConfig {
            id: id.to_owned(),
            display_name: format!("{id} ({policy})"),
            policy: policy.to_owned(),
            manager_url: manager_url.to_owned(),
            contact_endpoint: None,
            seed: 0,
            game_types: vec!["even_odd".into(), "pmd_dungeon".into()],
            client: ClientConfig::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            rate_per_s: 20.0,
            rate_burst: 40,
            linger: Duration::from_secs(1),
            register_for: Duration::from_secs(30),
            allow_remote: false,
        }
    }
}

/// Why a player could not play.
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    /// Bad settings.
    #[error("{0}")]
    Config(String),
    /// The manager did not register us.
    #[error("registration failed: {0}")]
    Registration(String),
    /// The server failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// How long a call that arrives while our registration is in flight waits
/// for its answer.
const REGISTRATION_WAIT: Duration = Duration::from_secs(5);

/// What registration gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The id the manager knows us by.
    pub player_id: String,
    /// The league.
    pub league_id: String,
    /// The shared secret (if the manager issued one).
    pub auth_token: Option<String>,
}

/// One match the player is in.
struct MatchState {
    /// pmd_dungeon mirror: the dungeon copy and the policy (taken out while a
    /// turn is being computed).
    mirror: Option<(Box<dyn DungeonSim>, Box<dyn NativePolicy>)>,
    /// Turns applied to the mirror.
    turns: u32,
}

/// A hosted native player.
#[derive(Clone)]
pub struct Player {
    inner: Arc<PlayerInner>,
}

struct PlayerInner {
    cfg: PlayerConfig,
    policies: Arc<dyn PolicyFactory>,
    dungeons: Option<Arc<dyn DungeonFactory>>,
    metrics: Arc<Metrics>,
    client: RpcClient,
    registration: Mutex<Option<Registration>>,
    /// Set while a registration request is in flight: the league may call
    /// us before its answer (which carries our token) has reached us.
    registering: AtomicBool,
    /// Signalled when a registration attempt ends, accepted or not.
    registered: Notify,
    matches: Mutex<HashMap<String, MatchState>>,
    finished: Notify,
    is_finished: AtomicBool,
    limiter: RateLimiter,
}

impl Player {
    /// A player (checks the policy spec and the manager URL).
    pub fn new(
        cfg: PlayerConfig,
        policies: Arc<dyn PolicyFactory>,
        dungeons: Option<Arc<dyn DungeonFactory>>,
    ) -> Result<Player, PlayerError> {
        if !is_valid_id(&cfg.id) {
            return Err(PlayerError::Config(format!("bad player id {:?}", cfg.id)));
        }
        policies
            .create(&cfg.policy, 0)
            .map_err(|e| PlayerError::Config(e.to_string()))?;
        let mut cfg = cfg;
        cfg.manager_url =
            normalize_endpoint(&cfg.manager_url, cfg.allow_remote).map_err(PlayerError::Config)?;
        let metrics = Arc::new(Metrics::new());
        let client = RpcClient::new(cfg.client.clone(), metrics.clone())
            .map_err(|e| PlayerError::Config(e.to_string()))?;
        let limiter = RateLimiter::new(cfg.rate_per_s, cfg.rate_burst, 1024);
        Ok(Player {
            inner: Arc::new(PlayerInner {
                cfg,
                policies,
                dungeons,
                metrics,
                client,
                registration: Mutex::new(None),
                registering: AtomicBool::new(false),
                registered: Notify::new(),
                matches: Mutex::new(HashMap::new()),
                finished: Notify::new(),
                is_finished: AtomicBool::new(false),
                limiter,
            }),
        })
    }

    /// The HTTP routes: `POST /mcp`, `GET /health`, `/ready`, `/metrics`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/mcp", post(handlers::mcp))
            .route("/health", get(handlers::health))
            .route("/ready", get(handlers::ready))
            .route("/metrics", get(handlers::metrics))
            .fallback(|| async { crate::http::not_found() })
            .with_state(self.clone())
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The registration, once done.
    pub fn registration(&self) -> Option<Registration> {
        self.inner
            .registration
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Registers with the manager, announcing `contact_endpoint`; retries
    /// while the manager cannot be reached, up to `register_for`.
    pub async fn register(&self, contact_endpoint: &str) -> Result<Registration, PlayerError> {
        self.inner.registering.store(true, Ordering::SeqCst);
        let result = self.register_once(contact_endpoint).await;
        self.inner.registering.store(false, Ordering::SeqCst);
        self.inner.registered.notify_waiters();
        result
    }

    /// The registration, waiting up to `REGISTRATION_WAIT` for one in
    /// flight: the manager may start the league (and a referee call us)
    /// between accepting us and our reading its answer.
    pub(crate) async fn registration_or_wait(&self) -> Option<Registration> {
        if let Some(reg) = self.registration() {
            return Some(reg);
        }
        let notified = self.inner.registered.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.inner.registering.load(Ordering::SeqCst) {
            return self.registration();
        }
        if let Some(reg) = self.registration() {
            return Some(reg);
        }
        let _ = tokio::time::timeout(REGISTRATION_WAIT, notified).await;
        self.registration()
    }

    async fn register_once(&self, contact_endpoint: &str) -> Result<Registration, PlayerError> {
        let cfg = &self.inner.cfg;
        let body = LeagueRegisterRequest {
            player_meta: PlayerMeta {
                display_name: cfg.display_name.clone(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                game_types: cfg.game_types.clone(),
                contact_endpoint: contact_endpoint.to_owned(),
            },
        };
        let envelope = || {
            Envelope::new(
                types::LEAGUE_REGISTER_REQUEST,
                &Sender::player(&cfg.id),
                &format!("register/{}", cfg.id),
                None,
            )
        };
        // Past the breaker: a manager not listening yet must be waited for
        // over the whole window, not given up on after a few refused
        // connections.
        let reply = self
            .inner
            .client
            .call_until_reached(
                &cfg.manager_url,
                "register_player",
                || message(&envelope(), &body),
                CallKind::Other,
                cfg.register_for,
            )
            .await
            .map_err(|e| PlayerError::Registration(e.to_string()))?;
        self.accept_registration(&reply)
    }

    fn accept_registration(&self, v: &Value) -> Result<Registration, PlayerError> {
        let status: Option<RegistrationStatus> = v
            .get("status")
            .and_then(|s| serde_json::from_value(s.clone()).ok());
        if status != Some(RegistrationStatus::Accepted) {
            let reason = v
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("rejected");
            return Err(PlayerError::Registration(reason.to_owned()));
        }
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let player_id = text("player_id").unwrap_or_else(|| self.inner.cfg.id.clone());
        if !is_valid_id(&player_id) {
            return Err(PlayerError::Registration(format!(
                "bad player_id {player_id:?}"
            )));
        }
        let reg = Registration {
            player_id,
            league_id: text("league_id").unwrap_or_default(),
            auth_token: text("auth_token"),
        };
        *self
            .inner
            .registration
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(reg.clone());
        Ok(reg)
    }

    /// Resolves once the league is over (`LEAGUE_COMPLETED`) or the player
    /// was told to stop (`SHUTDOWN_COMMAND`).
    pub async fn finished(&self) {
        loop {
            let n = self.inner.finished.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.inner.is_finished.load(Ordering::SeqCst) {
                return;
            }
            n.await;
        }
    }

    fn finish(&self) {
        self.inner.is_finished.store(true, Ordering::SeqCst);
        self.inner.finished.notify_waiters();
    }
}

/// Serves a player on `listener`, registers it, plays until the league is
/// over, answers for `linger` more, and returns its registration.
pub async fn host(
    cfg: PlayerConfig,
    policies: Arc<dyn PolicyFactory>,
    dungeons: Option<Arc<dyn DungeonFactory>>,
    listener: TcpListener,
) -> Result<Registration, PlayerError> {
    let contact = match &cfg.contact_endpoint {
        Some(c) => c.clone(),
        None => format!("http://{}/mcp", listener.local_addr()?),
    };
    let linger = cfg.linger;
    let player = Player::new(cfg, policies, dungeons)?;
    let stop = player.clone();
    let server = tokio::spawn(crate::http::serve(listener, player.router(), async move {
        stop.finished().await;
        tokio::time::sleep(linger).await;
    }));
    let reg = match player.register(&contact).await {
        Ok(r) => r,
        Err(e) => {
            player.finish();
            let _ = server.await;
            return Err(e);
        }
    };
    tracing::info!("registered as {} in {}", reg.player_id, reg.league_id);
    server
        .await
        .map_err(|e| PlayerError::Io(std::io::Error::other(e.to_string())))??;
    Ok(reg)
}
