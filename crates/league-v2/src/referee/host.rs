//! A referee in its own process (`league referee --manager URL`): it
//! registers with a manager (`REFEREE_REGISTER_REQUEST`), takes the matches
//! the manager assigns it (`MATCH_ASSIGNMENT`, our extension), plays each
//! exactly as an in-process referee does (the same [`Referee`], so a match
//! plays the same wherever it is refereed) and reports it to the manager
//! over HTTP (`MATCH_RESULT_REPORT`, with the moves the manager stores).
//!
//! It accepts assignments only from the manager it registered with,
//! carrying the token the manager gave it, and never more at once than
//! the capacity it declared. A report that cannot be delivered is retried
//! within its deadline; the manager re-assigns a match whose report never
//! comes, and keeps one result per match.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use super::{MatchContext, MatchSpec, Outbox, Referee, Seat, MATCH_BREAKER};
use crate::auth::AuthToken;
use crate::client::{normalize_endpoint, CallError, CallKind, ClientConfig, RpcClient};
use crate::error::{ErrorCode, ProtocolError};
use crate::game::dungeon::{DungeonFactory, PolicyFactory};
use crate::game::GameType;
use crate::http::{self, read_body, rpc_err, rpc_ok, DEFAULT_MAX_MESSAGE_BYTES};
use crate::metrics::Metrics;
use crate::protocol::jsonrpc::{message, ReplyError};
use crate::protocol::messages::{
    types, MatchAssignment, MatchResultAck, MatchResultReport, MessageAck, RefereeMeta,
    RefereeRegisterRequest, RegistrationStatus,
};
use crate::protocol::{is_valid_id, Envelope, Inbound, Role, Sender};
use crate::store::{MatchRecord, PlayerMoves};

/// Referee process settings.
#[derive(Debug, Clone)]
pub struct RefereeHostConfig {
    /// The id it asks for.
    pub id: String,
    /// The manager's `/mcp` URL.
    pub manager_url: String,
    /// The URL it announces (default `http://<bound address>/mcp`).
    pub contact_endpoint: Option<String>,
    /// Matches it plays at once.
    pub capacity: usize,
    /// Games it referees.
    pub game_types: Vec<GameType>,
    /// The HTTP client (calls to players and to the manager).
    pub client: ClientConfig,
    /// Largest request accepted.
    pub max_message_bytes: usize,
    /// How long it keeps trying to register while the manager is not up.
    pub register_for: Duration,
    /// How long a result report may take to reach the manager.
    pub report_for: Duration,
    /// Accept a manager outside 127.0.0.0/8 and ::1.
    pub allow_remote: bool,
}

impl RefereeHostConfig {
    /// Defaults for referee `id` of `manager_url`, capacity 64, even_odd.
    pub fn new(id: &str, manager_url: &str) -> RefereeHostConfig {
        RefereeHostConfig {
            id: id.to_owned(),
            manager_url: manager_url.to_owned(),
            contact_endpoint: None,
            capacity: 64,
            game_types: vec![GameType::EvenOdd],
            client: ClientConfig::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            register_for: Duration::from_secs(30),
            report_for: Duration::from_secs(30),
            allow_remote: false,
        }
    }
}

/// Why a referee process stopped.
#[derive(Debug, thiserror::Error)]
pub enum RefereeHostError {
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

/// What registration gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefereeRegistration {
    /// The id the manager knows us by.
    pub referee_id: String,
    /// The league.
    pub league_id: String,
    /// The secret assignments carry and reports present.
    pub auth_token: String,
}

/// A referee process (cheap to clone).
#[derive(Clone)]
pub struct RefereeHost {
    inner: Arc<HostInner>,
}

struct HostInner {
    cfg: RefereeHostConfig,
    policies: Arc<dyn PolicyFactory>,
    dungeons: Option<Arc<dyn DungeonFactory>>,
    metrics: Arc<Metrics>,
    /// Calls to players (no breaker, as every referee's).
    match_client: Arc<RpcClient>,
    /// Calls to the manager and notifications.
    client: Arc<RpcClient>,
    outbox: Arc<Outbox>,
    permits: Arc<Semaphore>,
    registration: Mutex<Option<RefereeRegistration>>,
    /// One referee per league (its context: seed, game, points).
    leagues: Mutex<HashMap<String, Arc<Referee>>>,
    finished: Notify,
}

impl RefereeHost {
    /// A referee process (checks the settings).
    pub fn new(
        cfg: RefereeHostConfig,
        policies: Arc<dyn PolicyFactory>,
        dungeons: Option<Arc<dyn DungeonFactory>>,
    ) -> Result<RefereeHost, RefereeHostError> {
        if !is_valid_id(&cfg.id) {
            return Err(RefereeHostError::Config(format!(
                "bad referee id {:?}",
                cfg.id
            )));
        }
        if cfg.capacity == 0 || cfg.capacity > 100_000 {
            return Err(RefereeHostError::Config(
                "capacity must be 1..=100000".into(),
            ));
        }
        if cfg.game_types.contains(&GameType::PmdDungeon) && dungeons.is_none() {
            return Err(RefereeHostError::Config(
                "refereeing pmd_dungeon needs the dungeon".into(),
            ));
        }
        let mut cfg = cfg;
        cfg.manager_url = normalize_endpoint(&cfg.manager_url, cfg.allow_remote)
            .map_err(RefereeHostError::Config)?;
        let metrics = Arc::new(Metrics::new());
        let client = |breaker| {
            RpcClient::new(
                ClientConfig {
                    breaker,
                    ..cfg.client.clone()
                },
                metrics.clone(),
            )
            .map(Arc::new)
            .map_err(|e| RefereeHostError::Config(e.to_string()))
        };
        let match_client = client(MATCH_BREAKER)?;
        let notify_client = client(cfg.client.breaker)?;
        Ok(RefereeHost {
            inner: Arc::new(HostInner {
                permits: Arc::new(Semaphore::new(cfg.capacity)),
                outbox: Arc::new(Outbox::new(notify_client.clone())),
                client: notify_client,
                match_client,
                cfg,
                policies,
                dungeons,
                metrics,
                registration: Mutex::new(None),
                leagues: Mutex::new(HashMap::new()),
                finished: Notify::new(),
            }),
        })
    }

    /// `POST /mcp`, `GET /health`, `/ready`, `/metrics`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/mcp", post(mcp))
            .route(
                "/health",
                get(|| async { http::json(StatusCode::OK, &json!({"status": "ok"})) }),
            )
            .route("/ready", get(ready))
            .route(
                "/metrics",
                get(|State(h): State<RefereeHost>| async move {
                    http::metrics_response(&h.inner.metrics)
                }),
            )
            .fallback(|| async { http::not_found() })
            .with_state(self.clone())
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The registration, once done.
    pub fn registration(&self) -> Option<RefereeRegistration> {
        self.inner
            .registration
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Registers with the manager, announcing `contact_endpoint`; retries
    /// while the manager cannot be reached, up to `register_for`.
    pub async fn register(
        &self,
        contact_endpoint: &str,
    ) -> Result<RefereeRegistration, RefereeHostError> {
        let cfg = &self.inner.cfg;
        let body = RefereeRegisterRequest {
            referee_meta: RefereeMeta {
                display_name: cfg.id.clone(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                game_types: cfg
                    .game_types
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect(),
                contact_endpoint: contact_endpoint.to_owned(),
                max_concurrent_matches: cfg.capacity as u32,
            },
        };
        let envelope = || {
            Envelope::new(
                types::REFEREE_REGISTER_REQUEST,
                &Sender::referee(&cfg.id),
                &format!("register/{}", cfg.id),
                None,
            )
        };
        let reply = self
            .inner
            .client
            .call_until_reached(
                &cfg.manager_url,
                "register_referee",
                || message(&envelope(), &body),
                CallKind::Other,
                cfg.register_for,
            )
            .await
            .map_err(|e| RefereeHostError::Registration(e.to_string()))?;
        self.accept_registration(&reply)
    }

    fn accept_registration(&self, v: &Value) -> Result<RefereeRegistration, RefereeHostError> {
        let status: Option<RegistrationStatus> = v
            .get("status")
            .and_then(|s| serde_json::from_value(s.clone()).ok());
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        if status != Some(RegistrationStatus::Accepted) {
            return Err(RefereeHostError::Registration(
                text("reason").unwrap_or_else(|| "rejected".into()),
            ));
        }
        let referee_id = text("referee_id").unwrap_or_else(|| self.inner.cfg.id.clone());
        let auth_token = text("auth_token").ok_or_else(|| {
            RefereeHostError::Registration("the manager issued no auth_token".into())
        })?;
        if !is_valid_id(&referee_id) {
            return Err(RefereeHostError::Registration(format!(
                "bad referee_id {referee_id:?}"
            )));
        }
        let reg = RefereeRegistration {
            referee_id,
            league_id: text("league_id").unwrap_or_default(),
            auth_token,
        };
        *self
            .inner
            .registration
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(reg.clone());
        Ok(reg)
    }

    /// Resolves when the manager says the league is over or tells the
    /// referee to stop.
    pub async fn finished(&self) {
        self.inner.finished.notified().await;
    }

    /// The referee for the assignment's league (made on first use).
    fn referee_for(
        &self,
        a: &MatchAssignment,
        reg: &RefereeRegistration,
    ) -> Result<Arc<Referee>, ProtocolError> {
        let inner = &self.inner;
        let game: GameType = a
            .game_type
            .parse()
            .map_err(|e: String| ProtocolError::new(ErrorCode::E004, e))?;
        if !inner.cfg.game_types.contains(&game) {
            return Err(ProtocolError::new(
                ErrorCode::E004,
                format!("this referee does not referee {game}"),
            ));
        }
        let mut leagues = inner.leagues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = leagues.get(&a.league_id) {
            return Ok(r.clone());
        }
        if leagues.len() >= 1024 {
            return Err(ProtocolError::new(ErrorCode::E004, "too many leagues"));
        }
        let ctx = Arc::new(MatchContext {
            league_id: a.league_id.clone(),
            league_seed: a.league_seed,
            game,
            turn_budget: a.turn_budget,
            points: a.points,
            client: inner.match_client.clone(),
            metrics: inner.metrics.clone(),
            policies: inner.policies.clone(),
            dungeons: inner.dungeons.clone(),
            outbox: inner.outbox.clone(),
            frames: None,
        });
        // The permits are this process's (`permits`), so the referee's own
        // limit never binds first.
        let r = Arc::new(Referee::new(&reg.referee_id, 100_000, ctx));
        leagues.insert(a.league_id.clone(), r.clone());
        Ok(r)
    }

    fn seat(s: &crate::protocol::messages::AssignedSeat) -> Result<Seat, ProtocolError> {
        if !is_valid_id(&s.player_id) {
            return Err(ProtocolError::new(ErrorCode::E004, "bad player_id"));
        }
        match s.kind.as_str() {
            "native" => Ok(Seat::Native {
                player_id: s.player_id.clone(),
                spec: s.spec.clone(),
            }),
            "remote" => Ok(Seat::Remote {
                player_id: s.player_id.clone(),
                endpoint: s.spec.clone(),
                token: s.auth_token.clone(),
            }),
            k => Err(ProtocolError::new(
                ErrorCode::E004,
                format!("seat kind {k:?}"),
            )),
        }
    }

    /// Takes an assignment: checks it, holds a permit and plays it on a
    /// task of its own.
    fn assign(
        &self,
        a: MatchAssignment,
        reg: &RefereeRegistration,
    ) -> Result<Value, ProtocolError> {
        let spec = MatchSpec {
            round: a.round_id,
            match_id: a.match_id.clone(),
            seed: a.seed,
            a: Self::seat(&a.player_a)?,
            b: Self::seat(&a.player_b)?,
            record_a: a.player_a.record,
            record_b: a.player_b.record,
        };
        if !is_valid_id(&a.match_id) {
            return Err(ProtocolError::new(ErrorCode::E004, "bad match_id"));
        }
        let referee = self.referee_for(&a, reg)?;
        let permit = self
            .inner
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                ProtocolError::new(
                    ErrorCode::E011,
                    format!("busy: {} matches in play", self.inner.cfg.capacity),
                )
            })?;
        let (host, reg, report_to) = (self.clone(), reg.clone(), a.report_to.clone());
        tokio::spawn(async move {
            // The permit covers the match, not its report: the manager
            // frees our slot as soon as it records the result, and may
            // assign the next match before the report's answer reaches us.
            let mut permit = Some(permit);
            let played = referee
                .run(spec, |report, record| {
                    permit.take();
                    host.report(report, record, &reg, &report_to)
                })
                .await;
            if let Err(e) = played.ack {
                tracing::error!("match {}: result not accepted: {e}", played.report.match_id);
            }
        });
        Ok(json!(MessageAck {
            status: "accepted".into()
        }))
    }

    /// Sends a result to the manager (retried within `report_for`: the
    /// manager keeps one result per match, so a repeat is harmless).
    async fn report(
        &self,
        mut report: MatchResultReport,
        record: MatchRecord,
        reg: &RefereeRegistration,
        report_to: &str,
    ) -> Result<MatchResultAck, ProtocolError> {
        report.moves = record
            .moves
            .into_iter()
            .map(|(player_id, moves)| PlayerMoves { player_id, moves })
            .collect();
        let url = normalize_endpoint(report_to, self.inner.cfg.allow_remote)
            .unwrap_or_else(|_| self.inner.cfg.manager_url.clone());
        let env = Envelope::new(
            types::MATCH_RESULT_REPORT,
            &Sender::referee(&reg.referee_id),
            &format!("{}/{}", report.league_id, report.match_id),
            Some(&reg.auth_token),
        );
        let params = message(&env, &report);
        let give_up = Instant::now() + self.inner.cfg.report_for;
        let mut pause = Duration::from_millis(50);
        loop {
            let reply = self
                .inner
                .client
                .call_once(&url, "report_match_result", params.clone(), CallKind::Other)
                .await;
            match reply {
                Ok(v) => {
                    return serde_json::from_value::<MatchResultAck>(v).map_err(|e| {
                        ProtocolError::new(ErrorCode::E004, format!("MATCH_RESULT_ACK: {e}"))
                    })
                }
                // Throttled: wait and send it again.
                Err(CallError::Reply(ReplyError::Rpc {
                    league_code: Some(code),
                    ..
                })) if code == "E011" && Instant::now() < give_up => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(CallError::Reply(ReplyError::Rpc {
                    message,
                    league_code,
                    ..
                })) => {
                    let code = league_code
                        .as_deref()
                        .and_then(ErrorCode::parse)
                        .unwrap_or(ErrorCode::E004);
                    return Err(ProtocolError::new(code, message));
                }
                Err(e) if Instant::now() < give_up => {
                    tracing::warn!("report of {}: {e}; retrying", report.match_id);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(ProtocolError::new(ErrorCode::E001, e.to_string())),
            }
        }
    }

    fn finish(&self) {
        self.inner.finished.notify_waiters();
    }
}

async fn ready(State(h): State<RefereeHost>) -> Response {
    let reg = h.registration();
    let ok = reg.is_some();
    http::json(
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        &json!({
            "status": if ok { "ready" } else { "not_registered" },
            "capacity": h.inner.cfg.capacity,
            "in_play": h.inner.cfg.capacity - h.inner.permits.available_permits(),
        }),
    )
}

/// `POST /mcp`: assignments and the manager's notices, from the manager
/// only, with our token.
async fn mcp(State(h): State<RefereeHost>, headers: HeaderMap, body: Body) -> Response {
    let inner = &h.inner;
    let metrics = &inner.metrics;
    let reg = h.registration();
    let me = Sender::referee(
        reg.as_ref()
            .map_or(inner.cfg.id.as_str(), |r| r.referee_id.as_str()),
    );
    let bytes = match read_body(&headers, body, inner.cfg.max_message_bytes).await {
        Ok(b) => b,
        Err(e) => return rpc_err(metrics, &Value::Null, &e, &me, ""),
    };
    let inb = match Inbound::parse(&bytes) {
        Ok(i) => i,
        Err(r) => return rpc_err(metrics, &r.id, &r.error, &me, ""),
    };
    let conv = inb.envelope.conversation_id.clone();
    let mt = inb.envelope.message_type.clone();
    metrics.request(&mt, true);
    let answer = (|| {
        let reg = reg.ok_or_else(|| ProtocolError::new(ErrorCode::E005, "not registered yet"))?;
        if inb.sender.role != Role::Manager {
            return Err(ProtocolError::new(
                ErrorCode::E013,
                "only the manager may call a referee",
            ));
        }
        if !AuthToken::from_stored(reg.auth_token.clone())
            .verify(inb.envelope.auth_token.as_deref().unwrap_or(""))
        {
            return Err(ProtocolError::new(
                ErrorCode::E012,
                "missing or wrong auth_token",
            ));
        }
        match mt.as_str() {
            types::MATCH_ASSIGNMENT => h.assign(inb.body()?, &reg),
            types::LEAGUE_COMPLETED | types::SHUTDOWN_COMMAND => {
                h.finish();
                Ok(json!(MessageAck {
                    status: "ok".into()
                }))
            }
            types::ROUND_ANNOUNCEMENT | types::ROUND_COMPLETED | types::LEAGUE_STANDINGS_UPDATE => {
                Ok(json!(MessageAck {
                    status: "ok".into()
                }))
            }
            other => Err(ProtocolError::new(
                ErrorCode::E008,
                format!("a referee does not handle {other}"),
            )),
        }
    })();
    match answer {
        Ok(body) => rpc_ok(
            &inb.id,
            message(&Envelope::new(types::MESSAGE_ACK, &me, &conv, None), &body),
        ),
        Err(e) => rpc_err(metrics, &inb.id, &e, &me, &conv),
    }
}

/// Serves a referee on `listener`, registers it, referees until the
/// manager says the league is over (or `stop` resolves), and returns its
/// registration.
pub async fn host_referee(
    cfg: RefereeHostConfig,
    policies: Arc<dyn PolicyFactory>,
    dungeons: Option<Arc<dyn DungeonFactory>>,
    listener: TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<RefereeRegistration, RefereeHostError> {
    let contact = match &cfg.contact_endpoint {
        Some(c) => c.clone(),
        None => format!("http://{}/mcp", listener.local_addr()?),
    };
    let host = RefereeHost::new(cfg, policies, dungeons)?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(http::serve(listener, host.router(), async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    let reg = match host.register(&contact).await {
        Ok(r) => r,
        Err(e) => {
            let _ = stop_tx.send(true);
            let _ = server.await;
            return Err(e);
        }
    };
    tracing::info!("referee {} registered in {}", reg.referee_id, reg.league_id);
    tokio::select! {
        _ = host.finished() => {}
        _ = stop => {}
    }
    // Matches in play finish and report first.
    let _ = tokio::time::timeout(
        host.inner.cfg.report_for,
        host.inner
            .permits
            .acquire_many(host.inner.cfg.capacity as u32),
    )
    .await;
    host.inner.outbox.flush(Duration::from_secs(5)).await;
    let _ = stop_tx.send(true);
    server
        .await
        .map_err(|e| RefereeHostError::Io(std::io::Error::other(e.to_string())))??;
    Ok(reg)
}
