//! The manager's HTTP endpoints.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::admission::{check_display_name, check_endpoint_peer};
use super::Manager;
use crate::auth::AuthToken;
use crate::client::normalize_endpoint;
use crate::error::{ErrorCode, ProtocolError};
use crate::http::{self, read_body, rpc_err, rpc_ok};
use crate::protocol::jsonrpc::message;
use crate::protocol::messages::{
    method_carries, types, LeagueQuery, LeagueQueryResponse, LeagueRegisterRequest,
    LeagueRegisterResponse, MatchResultReport, QueryType, RefereeRegisterRequest,
    RefereeRegisterResponse, RegistrationStatus, StartLeague,
};
use crate::protocol::{Envelope, Inbound, Role};
use crate::report::standing_entries;
use crate::standings::{self, GameOutcome};
use crate::store::{PlayerKind, PlayerRow, StoreError};

/// The message types the manager knows (for metrics labels).
const KNOWN: [&str; 5] = [
    types::LEAGUE_REGISTER_REQUEST,
    types::REFEREE_REGISTER_REQUEST,
    types::LEAGUE_QUERY,
    types::MATCH_RESULT_REPORT,
    types::START_LEAGUE,
];

/// `POST /mcp`. The peer's address comes from the connection (see
/// [`crate::http::serve`]); without it, only allow-listed contact
/// endpoints can register.
pub(super) async fn mcp(State(m): State<Manager>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let inner = &m.inner;
    let metrics = &inner.metrics;
    let bytes = match read_body(&headers, body, inner.cfg.max_message_bytes).await {
        Ok(b) => b,
        Err(e) => return rpc_err(metrics, &Value::Null, &e, &inner.sender, ""),
    };
    let inb = match Inbound::parse(&bytes) {
        Ok(i) => i,
        Err(r) => return rpc_err(metrics, &r.id, &r.error, &inner.sender, ""),
    };
    let conv = inb.envelope.conversation_id.clone();
    let mt = inb.envelope.message_type.as_str();
    metrics.request(mt, KNOWN.contains(&mt));
    // A registered referee presenting its token is never throttled (it
    // reports every match it plays); everyone else is, per sender.
    let referee = inb.sender.role == Role::Referee
        && inner
            .remotes
            .authenticate(&inb.sender.id, inb.envelope.auth_token.as_deref());
    if !referee && !inner.limiter.allow(&inb.envelope.sender, Instant::now()) {
        let e = ProtocolError::new(ErrorCode::E011, "too many messages")
            .for_player(inb.sender.id.clone());
        return rpc_err(metrics, &inb.id, &e, &inner.sender, &conv);
    }
    if !method_carries(&inb.method, mt) {
        let e = ProtocolError::new(
            ErrorCode::E008,
            format!(
                "method {:?} does not carry {mt:?} (or the manager does not handle it)",
                inb.method
            ),
        );
        return rpc_err(metrics, &inb.id, &e, &inner.sender, &conv);
    }
    let answer = match mt {
        types::LEAGUE_REGISTER_REQUEST => m.register_player(&inb, peer).await,
        types::REFEREE_REGISTER_REQUEST => m.register_referee(&inb, peer),
        types::LEAGUE_QUERY => m.query(&inb).await,
        types::START_LEAGUE => m.start_league(&inb).await,
        types::MATCH_RESULT_REPORT => m.result_report(&inb).await,
        _ => Err(ProtocolError::new(
            ErrorCode::E008,
            format!("the manager does not handle {mt}"),
        )),
    };
    match answer {
        Ok(v) => rpc_ok(&inb.id, v),
        Err(e) => rpc_err(metrics, &inb.id, &e, &inner.sender, &conv),
    }
}

impl Manager {
    fn answer<T: serde::Serialize>(&self, message_type: &str, conv: &str, body: &T) -> Value {
        message(
            &Envelope::new(message_type, &self.inner.sender, conv, None),
            body,
        )
    }

    async fn register_player(
        &self,
        inb: &Inbound,
        peer: Option<SocketAddr>,
    ) -> Result<Value, ProtocolError> {
        let inner = &self.inner;
        let req: LeagueRegisterRequest = inb.body()?;
        let conv = &inb.envelope.conversation_id;
        if inb.sender.role != Role::Player {
            return Err(ProtocolError::new(
                ErrorCode::E013,
                "register_player must come from a player:ID sender",
            ));
        }
        let meta = &req.player_meta;
        check_display_name(&meta.display_name)?;
        let endpoint = normalize_endpoint(&meta.contact_endpoint, inner.cfg.allow_remote_endpoints)
            .map_err(|e| ProtocolError::new(ErrorCode::E004, format!("contact_endpoint {e}")))?;
        check_endpoint_peer(&endpoint, peer, &inner.cfg.endpoint_allow)
            .map_err(|e| ProtocolError::new(ErrorCode::E004, format!("contact_endpoint {e}")))?;
        let id = inb.sender.id.clone();
        let game = inner.cfg.settings.game.as_str();
        if !meta.game_types.iter().any(|g| g == game) {
            return Ok(self.answer(
                types::LEAGUE_REGISTER_RESPONSE,
                conv,
                &LeagueRegisterResponse {
                    status: RegistrationStatus::Rejected,
                    player_id: None,
                    auth_token: None,
                    league_id: inner.league.id.clone(),
                    reason: Some(format!("this league plays {game}")),
                },
            ));
        }
        let taken =
            || ProtocolError::new(ErrorCode::E006, format!("the id {id} is taken")).for_player(&id);
        let token = AuthToken::generate()
            .map_err(|e| ProtocolError::new(ErrorCode::E017, e.to_string()))?;
        let row = PlayerRow {
            player_id: id.clone(),
            display_name: meta.display_name.trim().to_owned(),
            kind: PlayerKind::Remote,
            spec: endpoint,
            auth_token: Some(token.as_str().to_owned()),
        };
        {
            let mut reg = inner.registry();
            if reg.is_closed() || inner.league.status != crate::store::LeagueStatus::Registering {
                return Err(ProtocolError::new(
                    ErrorCode::E007,
                    "registration is closed: the league has started",
                )
                .for_player(&id));
            }
            if reg.contains(&id) {
                return Err(taken());
            }
            if reg.claimed() >= inner.cfg.max_players {
                return Err(ProtocolError::new(
                    ErrorCode::E007,
                    format!("the league is full ({} players)", inner.cfg.max_players),
                )
                .for_player(&id));
            }
            reg.reserve(&id);
        }
        // The write and its outcome in the registry happen on a blocking
        // thread, without the registry lock held while the database works;
        // it completes (and settles the reservation) even if this request is
        // dropped half-way.
        let saved = {
            let mut pending = Pending {
                manager: self.clone(),
                id: id.clone(),
                stored: None,
            };
            let token = token.clone();
            tokio::task::spawn_blocking(move || {
                let inner = &pending.manager.inner;
                let saved = inner.store.add_player(&inner.league.id, &row);
                if saved.is_ok() {
                    pending.landed(row, token);
                }
                saved
            })
            .await
            .map_err(|e| ProtocolError::new(ErrorCode::E017, e.to_string()))?
        };
        match saved {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) => return Err(taken()),
            Err(e) => return Err(ProtocolError::new(ErrorCode::E017, e.to_string())),
        }
        *inner
            .last_registration
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        tracing::info!("registered player {id}");
        Ok(self.answer(
            types::LEAGUE_REGISTER_RESPONSE,
            conv,
            &LeagueRegisterResponse {
                status: RegistrationStatus::Accepted,
                player_id: Some(id),
                auth_token: Some(token.as_str().to_owned()),
                league_id: inner.league.id.clone(),
                reason: None,
            },
        ))
    }

    fn register_referee(
        &self,
        inb: &Inbound,
        peer: Option<SocketAddr>,
    ) -> Result<Value, ProtocolError> {
        let req: RefereeRegisterRequest = inb.body()?;
        let inner = &self.inner;
        let conv = &inb.envelope.conversation_id;
        let reject = |reason: String| {
            self.answer(
                types::REFEREE_REGISTER_RESPONSE,
                conv,
                &RefereeRegisterResponse {
                    status: RegistrationStatus::Rejected,
                    referee_id: None,
                    auth_token: None,
                    league_id: inner.league.id.clone(),
                    reason: Some(reason),
                },
            )
        };
        if !inner.cfg.remote_referees {
            return Ok(reject(
                "this manager runs its referees in-process (serve with --remote-referees)".into(),
            ));
        }
        if inb.sender.role != Role::Referee {
            return Err(ProtocolError::new(
                ErrorCode::E013,
                "register_referee must come from a referee:ID sender",
            ));
        }
        let meta = &req.referee_meta;
        let game = inner.cfg.settings.game.as_str();
        if !meta.game_types.iter().any(|g| g == game) {
            return Ok(reject(format!("this league plays {game}")));
        }
        if meta.max_concurrent_matches == 0 {
            return Ok(reject("max_concurrent_matches must be at least 1".into()));
        }
        check_display_name(&meta.display_name)?;
        let endpoint = normalize_endpoint(&meta.contact_endpoint, inner.cfg.allow_remote_endpoints)
            .map_err(|e| ProtocolError::new(ErrorCode::E004, format!("contact_endpoint {e}")))?;
        check_endpoint_peer(&endpoint, peer, &inner.cfg.endpoint_allow)
            .map_err(|e| ProtocolError::new(ErrorCode::E004, format!("contact_endpoint {e}")))?;
        let capacity = (meta.max_concurrent_matches as usize).min(100_000);
        let (id, token) = inner
            .remotes
            .register(&inb.sender.id, &endpoint, capacity)?;
        let store = inner.store.clone();
        let (league, rid) = (inner.league.id.clone(), id.clone());
        // Recorded for the operator; the pool itself is in memory (a
        // restarted manager's referees register again).
        if let Err(e) = store.add_referee(&league, &rid, capacity as u32) {
            tracing::warn!("referee {rid}: {e}");
        }
        tracing::info!("referee {id} registered at {endpoint} (capacity {capacity})");
        Ok(self.answer(
            types::REFEREE_REGISTER_RESPONSE,
            conv,
            &RefereeRegisterResponse {
                status: RegistrationStatus::Accepted,
                referee_id: Some(id),
                auth_token: Some(token.as_str().to_owned()),
                league_id: inner.league.id.clone(),
                reason: None,
            },
        ))
    }

    /// `MATCH_RESULT_REPORT` from a remote referee: its own token, a match
    /// assigned to it, a result that fits the pairing.
    async fn result_report(&self, inb: &Inbound) -> Result<Value, ProtocolError> {
        let inner = &self.inner;
        if inb.sender.role != Role::Referee || !inner.remotes.knows(&inb.sender.id) {
            return Err(ProtocolError::new(
                ErrorCode::E005,
                format!("{} is not a registered referee", inb.sender),
            ));
        }
        if !inner
            .remotes
            .authenticate(&inb.sender.id, inb.envelope.auth_token.as_deref())
        {
            return Err(ProtocolError::new(
                ErrorCode::E012,
                "a result report needs the referee's own auth_token",
            ));
        }
        let report: MatchResultReport = inb.body()?;
        let record = super::referees::record_of(&report);
        let ack = self
            .accept_report(inb.sender.id.clone(), report, record)
            .await?;
        Ok(self.answer(types::MATCH_RESULT_ACK, &inb.envelope.conversation_id, &ack))
    }

    /// Checks the sender is a registered player carrying its own token.
    fn authenticate(&self, inb: &Inbound) -> Result<String, ProtocolError> {
        if inb.sender.role != Role::Player {
            return Err(ProtocolError::new(
                ErrorCode::E005,
                format!("{} is not a registered player", inb.sender),
            ));
        }
        let id = inb.sender.id.clone();
        let reg = self.inner.registry();
        let entry = reg.get(&id).ok_or_else(|| {
            ProtocolError::new(ErrorCode::E005, format!("{id} is not registered"))
                .for_player(id.clone())
        })?;
        let presented = inb.envelope.auth_token.as_deref().unwrap_or("");
        match &entry.token {
            Some(t) if t.verify(presented) => Ok(id),
            _ => Err(
                ProtocolError::new(ErrorCode::E012, "missing or wrong auth_token").for_player(id),
            ),
        }
    }

    async fn query(&self, inb: &Inbound) -> Result<Value, ProtocolError> {
        let q: LeagueQuery = inb.body()?;
        // Standings and the schedule are public (every player hears them in
        // the round announcements): a query without a token, as the public
        // Python player sends, is answered; a token, if sent, must be right.
        let me = match inb.envelope.auth_token.as_deref() {
            None | Some("") => None,
            Some(_) => Some(self.authenticate(inb)?),
        };
        let inner = &self.inner;
        let data = match q.query_type {
            QueryType::GetStandings => {
                let names = inner.registry().names();
                let games: Vec<GameOutcome> = {
                    let t = inner.tally.lock().unwrap_or_else(|e| e.into_inner());
                    t.outcomes.iter().map(|(_, g)| g.clone()).collect()
                };
                let table = standings::compute(&names, &games, inner.cfg.settings.points);
                json!({"standings": standing_entries(&table)})
            }
            QueryType::GetNextMatch => {
                let me = match me {
                    Some(me) => me,
                    None => {
                        let id = inb.sender.id.clone();
                        if !inner.registry().contains(&id) {
                            return Err(ProtocolError::new(
                                ErrorCode::E005,
                                format!("{id} is not registered"),
                            )
                            .for_player(id));
                        }
                        id
                    }
                };
                let whose = q.player_id.unwrap_or_else(|| me.clone());
                if whose != me {
                    return Err(ProtocolError::new(
                        ErrorCode::E013,
                        "a player may ask only for its own next match",
                    )
                    .for_player(me));
                }
                let t = inner.tally.lock().unwrap_or_else(|e| e.into_inner());
                let next = t.schedule.iter().find(|m| {
                    !t.done.contains(&m.match_id) && (m.player_a == me || m.player_b == me)
                });
                match next {
                    Some(m) => json!({
                        "match_id": m.match_id, "round_id": m.round,
                        "opponent_id": if m.player_a == me { &m.player_b } else { &m.player_a },
                        "role_in_match": if m.player_a == me { "PLAYER_A" } else { "PLAYER_B" },
                    }),
                    None => Value::Null,
                }
            }
        };
        Ok(self.answer(
            types::LEAGUE_QUERY_RESPONSE,
            &inb.envelope.conversation_id,
            &LeagueQueryResponse {
                query_type: q.query_type,
                league_id: inner.league.id.clone(),
                data,
            },
        ))
    }

    async fn start_league(&self, inb: &Inbound) -> Result<Value, ProtocolError> {
        let _req: StartLeague = inb.body()?;
        let inner = &self.inner;
        let presented = inb.envelope.auth_token.as_deref().unwrap_or("");
        let ok = inner
            .cfg
            .admin_token
            .as_deref()
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(presented.as_bytes())));
        if !ok {
            return Err(ProtocolError::new(
                ErrorCode::E012,
                "START_LEAGUE needs the admin token",
            ));
        }
        self.request_start();
        let players = inner.registry().len();
        let status = if players >= 2 {
            "starting"
        } else {
            "waiting_for_players"
        };
        Ok(self.answer(
            types::MESSAGE_ACK,
            &inb.envelope.conversation_id,
            &json!({"status": status, "players": players}),
        ))
    }
}

/// A registration whose database write is under way: settles its
/// reservation when dropped (also if the write panicked), adding the player
/// when it was stored, and wakes the league's start.
struct Pending {
    manager: Manager,
    id: String,
    stored: Option<(PlayerRow, Option<AuthToken>)>,
}

impl Pending {
    /// The player was stored: the reservation becomes a registration.
    fn landed(&mut self, row: PlayerRow, token: AuthToken) {
        self.stored = Some((row, Some(token)));
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let inner = &self.manager.inner;
        let mut reg = inner.registry();
        reg.settle(&self.id, self.stored.take());
        inner.metrics.players.set(reg.len() as i64);
        drop(reg);
        inner.start.notify_waiters();
    }
}

/// `GET /health`: the process answers.
pub(super) async fn health() -> Response {
    http::json(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /ready`: the database answers and referees are there.
pub(super) async fn ready(State(m): State<Manager>) -> Response {
    let inner = &m.inner;
    let store = inner.store.clone();
    let db = tokio::task::spawn_blocking(move || store.ping())
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let referees = inner.referees.len() + inner.remotes.alive_count();
    let capacity: usize = inner.referees.iter().map(|r| r.capacity()).sum();
    // With remote referees allowed, ready means ready to register them.
    let ok = db.is_ok() && (referees > 0 || inner.cfg.remote_referees);
    let body = json!({
        "status": if ok { "ready" } else { "not_ready" },
        "database": match &db { Ok(()) => "ok".to_owned(), Err(e) => e.clone() },
        "referees": referees,
        "capacity": capacity,
        "league_id": inner.league.id,
        "players": inner.metrics.players.get(),
        "completed": inner.completed.load(Ordering::SeqCst),
    });
    http::json(
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        &body,
    )
}

/// `GET /metrics`.
pub(super) async fn metrics(State(m): State<Manager>) -> Response {
    http::metrics_response(&m.inner.metrics)
}
