//! The hosted player's HTTP endpoints and its answers to each message.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{fallback, MatchState, Player, Registration};
use crate::error::{ErrorCode, ProtocolError};
use crate::game::even_odd;
use crate::http::{self, read_body, rpc_err, rpc_ok_flat};
use crate::protocol::jsonrpc::message;
use crate::protocol::messages::{
    types, ChooseActionCall, ChooseActionResponse, ChooseParityCall, ChooseParityResponse,
    GameInvitation, GameJoinAck, MessageAck,
};
use crate::protocol::time::now_iso;
use crate::protocol::{Envelope, Inbound, Role, Sender};
use crate::seed;

/// Most matches a player keeps state for at once.
const MAX_OPEN_MATCHES: usize = 16_384;

const KNOWN: [&str; 12] = [
    types::GAME_INVITATION,
    types::CHOOSE_PARITY_CALL,
    types::CHOOSE_ACTION_CALL,
    types::GAME_OVER,
    types::ROUND_ANNOUNCEMENT,
    types::LEAGUE_STANDINGS_UPDATE,
    types::ROUND_COMPLETED,
    types::LEAGUE_COMPLETED,
    types::LEAGUE_ERROR,
    types::GAME_ERROR,
    types::SHUTDOWN_COMMAND,
    types::MATCH_RESULT_ACK,
];

/// `POST /mcp`.
pub(super) async fn mcp(State(p): State<Player>, headers: HeaderMap, body: Body) -> Response {
    let inner = &p.inner;
    let metrics = &inner.metrics;
    let reg = p.registration_or_wait().await;
    let me = Sender::player(
        reg.as_ref()
            .map_or(inner.cfg.id.as_str(), |r| r.player_id.as_str()),
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
    let mt = inb.envelope.message_type.as_str();
    metrics.request(mt, KNOWN.contains(&mt));
    // The league (which holds our token) is never throttled: it may run
    // thousands of our matches at once. Everyone else is, per sender, so
    // guessing the token is slow.
    let answer = match authorize(&inb, reg.as_ref()) {
        Ok(reg) => p.dispatch(&inb, &reg).await,
        Err(_) if !inner.limiter.allow(&inb.envelope.sender, Instant::now()) => {
            Err(ProtocolError::new(ErrorCode::E011, "too many messages"))
        }
        Err(e) => Err(e),
    };
    match answer {
        Ok((message_type, body)) => {
            let token = reg.as_ref().and_then(|r| r.auth_token.as_deref());
            rpc_ok_flat(
                &inb.id,
                message(&Envelope::new(message_type, &me, &conv, token), &body),
            )
        }
        Err(e) => rpc_err(metrics, &inb.id, &e, &me, &conv),
    }
}

/// Only a referee or the manager, carrying our token, may talk to us.
fn authorize(inb: &Inbound, reg: Option<&Registration>) -> Result<Registration, ProtocolError> {
    let reg = reg
        .ok_or_else(|| ProtocolError::new(ErrorCode::E005, "this player is not registered yet"))?;
    if !matches!(inb.sender.role, Role::Referee | Role::Manager) {
        return Err(ProtocolError::new(
            ErrorCode::E013,
            "only a referee or the manager may call a player",
        ));
    }
    if let Some(token) = &reg.auth_token {
        let ok = crate::auth::AuthToken::from_stored(token.clone())
            .verify(inb.envelope.auth_token.as_deref().unwrap_or(""));
        if !ok {
            return Err(ProtocolError::new(
                ErrorCode::E012,
                "missing or wrong auth_token",
            ));
        }
    }
    Ok(reg.clone())
}

type Answer = Result<(&'static str, Value), ProtocolError>;

impl Player {
    async fn dispatch(&self, inb: &Inbound, reg: &Registration) -> Answer {
        let ack = || {
            Ok((
                types::MESSAGE_ACK,
                json!(MessageAck {
                    status: "ok".into()
                }),
            ))
        };
        match inb.envelope.message_type.as_str() {
            types::GAME_INVITATION => self.invitation(inb.body()?, reg).await,
            types::CHOOSE_PARITY_CALL => self.parity(inb.body()?, reg),
            types::CHOOSE_ACTION_CALL => self.action(inb.body()?, reg).await,
            types::GAME_OVER => {
                if let Some(m) = inb.params.get("match_id").and_then(Value::as_str) {
                    self.inner
                        .matches
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(m);
                }
                ack()
            }
            types::LEAGUE_COMPLETED | types::SHUTDOWN_COMMAND => {
                self.finish();
                ack()
            }
            types::ROUND_ANNOUNCEMENT
            | types::LEAGUE_STANDINGS_UPDATE
            | types::ROUND_COMPLETED
            | types::MATCH_RESULT_ACK => ack(),
            types::LEAGUE_ERROR | types::GAME_ERROR => {
                tracing::warn!("league error: {}", inb.params);
                ack()
            }
            other => Err(ProtocolError::new(
                ErrorCode::E008,
                format!("a player does not handle {other}"),
            )),
        }
    }

    async fn invitation(&self, inv: GameInvitation, reg: &Registration) -> Answer {
        let inner = &self.inner;
        let plays = inner.cfg.game_types.contains(&inv.game_type);
        let mut state = MatchState {
            mirror: None,
            turns: 0,
        };
        if let (Some(terms), Some(factory)) = (&inv.dungeon, &inner.dungeons) {
            if factory.descriptor() == terms.start {
                let (factory, policies) = (factory.clone(), inner.policies.clone());
                let (spec, dseed) = (inner.cfg.policy.clone(), terms.seed);
                let pseed = seed::derive(
                    inner.cfg.seed,
                    &format!("{}/{}", inv.match_id, reg.player_id),
                );
                let made = tokio::task::spawn_blocking(move || {
                    Some((
                        factory.create(dseed).ok()?,
                        policies.create(&spec, pseed).ok()?,
                    ))
                })
                .await
                .ok()
                .flatten();
                state.mirror = made;
            } else {
                tracing::warn!(
                    "match {}: dungeon {:?} is not ours; playing from the state alone",
                    inv.match_id,
                    terms.start
                );
            }
        }
        {
            let mut matches = inner.matches.lock().unwrap_or_else(|e| e.into_inner());
            // Matches whose GAME_OVER never came (a manager that died) would
            // pile up: keep the table bounded.
            if matches.len() >= MAX_OPEN_MATCHES && !matches.contains_key(&inv.match_id) {
                if let Some(k) = matches.keys().next().cloned() {
                    matches.remove(&k);
                }
            }
            matches.insert(inv.match_id.clone(), state);
        }
        let ack = GameJoinAck {
            match_id: inv.match_id,
            player_id: reg.player_id.clone(),
            arrival_timestamp: now_iso(),
            accept: plays,
        };
        Ok((types::GAME_JOIN_ACK, json!(ack)))
    }

    fn parity(&self, call: ChooseParityCall, reg: &Registration) -> Answer {
        if call.player_id != reg.player_id {
            return Err(ProtocolError::new(
                ErrorCode::E013,
                "asked for another player's choice",
            ));
        }
        let choice = even_odd::native_choice(self.inner.cfg.seed, &call.match_id, &reg.player_id);
        let r = ChooseParityResponse {
            match_id: call.match_id,
            player_id: reg.player_id.clone(),
            parity_choice: choice,
        };
        Ok((types::CHOOSE_PARITY_RESPONSE, json!(r)))
    }

    async fn action(&self, call: ChooseActionCall, reg: &Registration) -> Answer {
        if call.player_id != reg.player_id {
            return Err(ProtocolError::new(
                ErrorCode::E013,
                "asked for another player's action",
            ));
        }
        if call.legal_actions.is_empty() {
            return Err(ProtocolError::new(
                ErrorCode::E015,
                "no legal action offered",
            ));
        }
        let taken = {
            let mut matches = self.inner.matches.lock().unwrap_or_else(|e| e.into_inner());
            matches
                .get_mut(&call.match_id)
                .and_then(|m| m.mirror.take().map(|mirror| (mirror, m.turns)))
        };
        let (action, kept) = match taken {
            Some((mirror, turns)) => {
                let call2 = call.clone();
                tokio::task::spawn_blocking(move || act_on_mirror(mirror, turns, &call2))
                    .await
                    .unwrap_or_default()
            }
            None => (None, None),
        };
        if let Some((mirror, turns)) = kept {
            if let Some(m) = self
                .inner
                .matches
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(&call.match_id)
            {
                m.mirror = Some(mirror);
                m.turns = turns;
            }
        }
        let action = match action {
            Some(a) => {
                self.inner.metrics.decision("mirror");
                a
            }
            None => {
                self.inner.metrics.decision("fallback");
                fallback::decide(&call.state, &call.legal_actions)
            }
        };
        let r = ChooseActionResponse {
            match_id: call.match_id,
            player_id: reg.player_id.clone(),
            action,
        };
        Ok((types::CHOOSE_ACTION_RESPONSE, json!(r)))
    }
}

type Mirror = (
    Box<dyn crate::game::dungeon::DungeonSim>,
    Box<dyn crate::game::dungeon::NativePolicy>,
);

/// Brings the mirror to the referee's turn, checks it sees the same state,
/// and asks the policy. Returns the action (if the mirror is in step) and
/// the mirror to keep (dropped once it has diverged).
fn act_on_mirror(
    mirror: Mirror,
    turns: u32,
    call: &ChooseActionCall,
) -> (Option<String>, Option<(Mirror, u32)>) {
    let (mut sim, mut policy) = mirror;
    let mut turns = turns;
    if turns + 1 == call.turn {
        let Some(last) = &call.last_action else {
            return (None, None);
        };
        if sim.step(last).is_err() {
            return (None, None);
        }
        turns += 1;
    }
    if turns != call.turn || sim.state_json() != call.state {
        tracing::warn!(
            "match {}: our copy of the dungeon diverged; playing from the state alone",
            call.match_id
        );
        return (None, None);
    }
    match policy.act(sim.as_mut()) {
        Ok(a) if call.legal_actions.contains(&a) => (Some(a), Some(((sim, policy), turns))),
        _ => (None, Some(((sim, policy), turns))),
    }
}

/// `GET /health`.
pub(super) async fn health() -> Response {
    http::json(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /ready`: registered with a league.
pub(super) async fn ready(State(p): State<Player>) -> Response {
    match p.registration() {
        Some(r) => http::json(
            StatusCode::OK,
            &json!({"status": "ready", "player_id": r.player_id, "league_id": r.league_id}),
        ),
        None => http::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "not_registered"}),
        ),
    }
}

/// `GET /metrics`.
pub(super) async fn metrics(State(p): State<Player>) -> Response {
    http::metrics_response(&p.inner.metrics)
}
