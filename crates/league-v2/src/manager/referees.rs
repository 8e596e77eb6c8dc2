//! Remote referees: registered over `REFEREE_REGISTER_REQUEST`, each given
//! matches (`MATCH_ASSIGNMENT`) up to the capacity it declared; its
//! `MATCH_RESULT_REPORT` is checked and recorded like an in-process
//! referee's. A referee that refuses an assignment, cannot be reached, or
//! does not report within the deadline is dropped from the pool and the
//! match is played again elsewhere from its seed (one result per match is
//! kept, so a late report is refused, never counted twice).
//!
//! **Invariant:** a referee never holds more assigned matches than its
//! capacity (`in_flight` is taken and released under the pool's lock).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{oneshot, Notify};

use super::Manager;
use crate::auth::AuthToken;
use crate::client::{CallError, CallKind};
use crate::error::{ErrorCode, ProtocolError};
use crate::protocol::jsonrpc::{message, ReplyError};
use crate::protocol::messages::{
    types, AssignedSeat, GameStatus, MatchAssignment, MatchResultReport,
};
use crate::protocol::Envelope;
use crate::referee::{MatchSpec, Seat};
use crate::store::{MatchRecord, MatchRow};

/// Most remote referees a league keeps.
pub(super) const MAX_REMOTE_REFEREES: usize = 1024;

/// How long a referee that failed a match is left out of rotation.
pub(super) const REST: Duration = Duration::from_secs(5);

impl RemoteReferee {
    fn is_up(&self, now: Instant) -> bool {
        self.resting_until.is_none_or(|t| t <= now)
    }
}

/// A registered remote referee.
pub(super) struct RemoteReferee {
    pub(super) id: String,
    pub(super) endpoint: String,
    pub(super) token: AuthToken,
    pub(super) capacity: usize,
    in_flight: usize,
    /// Out of rotation until then (it failed a match).
    resting_until: Option<Instant>,
    /// Which registration this is (a re-registered referee's old slots
    /// must not release the new one's).
    generation: u32,
}

/// The league's remote referees.
#[derive(Default)]
pub(super) struct RemotePool {
    referees: Mutex<Vec<RemoteReferee>>,
    /// A slot freed or a referee registered.
    pub(super) changed: Notify,
    next: AtomicU32,
}

/// A match slot on a remote referee; released on drop.
pub(super) struct Slot {
    pool: Arc<RemotePool>,
    pub(super) referee_id: String,
    pub(super) endpoint: String,
    pub(super) token: String,
    generation: u32,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut list = self.pool.list();
            if let Some(r) = list
                .iter_mut()
                .find(|r| r.id == self.referee_id && r.generation == self.generation)
            {
                r.in_flight = r.in_flight.saturating_sub(1);
            }
        }
        self.pool.changed.notify_waiters();
    }
}

impl RemotePool {
    fn list(&self) -> MutexGuard<'_, Vec<RemoteReferee>> {
        self.referees.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `wanted` (its own id) at `endpoint`; a referee that
    /// registers again (restarted) replaces its old entry. Returns the id
    /// and token.
    pub(super) fn register(
        &self,
        wanted: &str,
        endpoint: &str,
        capacity: usize,
    ) -> Result<(String, AuthToken), ProtocolError> {
        let token = AuthToken::generate()
            .map_err(|e| ProtocolError::new(ErrorCode::E017, e.to_string()))?;
        let mut list = self.list();
        let id = match list.iter().position(|r| r.id == wanted) {
            Some(i) if list[i].endpoint == endpoint => {
                // The same referee again: its old matches are re-assigned
                // when their deadlines pass.
                list.remove(i);
                wanted.to_owned()
            }
            Some(_) => {
                return Err(ProtocolError::new(
                    ErrorCode::E006,
                    format!("the referee id {wanted} is taken"),
                ))
            }
            None => wanted.to_owned(),
        };
        if list.len() >= MAX_REMOTE_REFEREES {
            return Err(ProtocolError::new(
                ErrorCode::E007,
                "this league has all the referees it takes",
            ));
        }
        let generation = self.next.fetch_add(1, Ordering::Relaxed);
        list.push(RemoteReferee {
            generation,
            id: id.clone(),
            endpoint: endpoint.to_owned(),
            token: token.clone(),
            capacity,
            in_flight: 0,
            resting_until: None,
        });
        drop(list);
        self.changed.notify_waiters();
        Ok((id, token))
    }

    /// A free slot on the least loaded live referee, if any.
    pub(super) fn try_take(self: &Arc<Self>) -> Option<Slot> {
        let mut list = self.list();
        let now = Instant::now();
        let r = list
            .iter_mut()
            .filter(|r| r.is_up(now) && r.in_flight < r.capacity)
            .min_by(|a, b| {
                // least loaded relative to capacity
                (a.in_flight * b.capacity).cmp(&(b.in_flight * a.capacity))
            })?;
        r.in_flight += 1;
        Some(Slot {
            pool: self.clone(),
            referee_id: r.id.clone(),
            endpoint: r.endpoint.clone(),
            token: r.token.as_str().to_owned(),
            generation: r.generation,
        })
    }

    /// Whether any referee is registered and in rotation.
    pub(super) fn any_alive(&self) -> bool {
        let now = Instant::now();
        self.list().iter().any(|r| r.is_up(now))
    }

    /// How many are in rotation.
    pub(super) fn alive_count(&self) -> usize {
        let now = Instant::now();
        self.list().iter().filter(|r| r.is_up(now)).count()
    }

    /// Takes `id` out of rotation for [`REST`] (it failed a match); it is
    /// tried again after that, so a referee that was only slow or briefly
    /// unreachable comes back, and one that is gone costs one deadline per
    /// rest.
    pub(super) fn mark_dead(&self, id: &str) {
        if let Some(r) = self.list().iter_mut().find(|r| r.id == id) {
            r.resting_until = Some(Instant::now() + REST);
        }
    }

    /// Whether `id` ever registered (dead or alive).
    pub(super) fn knows(&self, id: &str) -> bool {
        self.list().iter().any(|r| r.id == id)
    }

    /// Whether `token` is referee `id`'s own.
    pub(super) fn authenticate(&self, id: &str, token: Option<&str>) -> bool {
        self.list()
            .iter()
            .any(|r| r.id == id && r.token.verify(token.unwrap_or("")))
    }

    /// Every registered referee's endpoint and token (for notices).
    pub(super) fn contacts(&self) -> Vec<(String, String, String)> {
        self.list()
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    r.endpoint.clone(),
                    r.token.as_str().to_owned(),
                )
            })
            .collect()
    }
}

fn assigned_seat(seat: &Seat, record: crate::protocol::messages::Record) -> AssignedSeat {
    match seat {
        Seat::Native { player_id, spec } => AssignedSeat {
            player_id: player_id.clone(),
            kind: "native".into(),
            spec: spec.clone(),
            auth_token: None,
            record,
        },
        Seat::Remote {
            player_id,
            endpoint,
            token,
        } => AssignedSeat {
            player_id: player_id.clone(),
            kind: "remote".into(),
            spec: endpoint.clone(),
            auth_token: token.clone(),
            record,
        },
    }
}

/// What a remote referee's report says happened, as the manager records it.
pub(super) fn record_of(report: &MatchResultReport) -> MatchRecord {
    let status = report
        .result
        .details
        .get("status")
        .and_then(Value::as_str)
        .and_then(GameStatus::parse)
        .unwrap_or(if report.result.winner.is_some() {
            GameStatus::Win
        } else {
            GameStatus::Draw
        });
    MatchRecord {
        match_id: report.match_id.clone(),
        status,
        winner: report.result.winner.clone(),
        details: report.result.details.clone(),
        moves: report
            .moves
            .iter()
            .map(|p| (p.player_id.clone(), p.moves.clone()))
            .collect(),
    }
}

impl Manager {
    /// Plays `spec` on the remote referee of `slot`: assigns it, then waits
    /// for its report up to the deadline. `Err` says why the referee failed
    /// (the caller drops it and plays the match elsewhere).
    pub(super) async fn play_remote(
        &self,
        m: &MatchRow,
        spec: &MatchSpec,
        slot: Slot,
    ) -> Result<(), RemoteFailure> {
        let inner = &self.inner;
        let s = &inner.cfg.settings;
        let (tx, rx) = oneshot::channel();
        inner
            .awaiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(m.match_id.clone(), tx);
        self.assign_to(&m.match_id, &slot.referee_id);
        let body = MatchAssignment {
            league_id: inner.league.id.clone(),
            league_seed: s.seed,
            round_id: m.round,
            match_id: m.match_id.clone(),
            game_type: s.game.as_str().to_owned(),
            seed: m.seed,
            turn_budget: s.turn_budget,
            points: s.points,
            player_a: assigned_seat(&spec.a, spec.record_a),
            player_b: assigned_seat(&spec.b, spec.record_b),
            report_to: inner
                .cfg
                .public_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1/mcp".into()),
        };
        let env = Envelope::new(
            types::MATCH_ASSIGNMENT,
            &inner.sender,
            &format!("{}/{}", inner.league.id, m.match_id),
            Some(&slot.token),
        );
        let started = Instant::now();
        let assigned = inner
            .rpc
            .call(
                &slot.endpoint,
                "assign_match",
                message(&env, &body),
                CallKind::Other,
                true,
            )
            .await;
        let outcome = match assigned {
            // It has no room now (it still holds a finished match): not a
            // failure of the referee.
            Err(CallError::Reply(ReplyError::Rpc {
                league_code: Some(code),
                ..
            })) if code == "E011" => Err(RemoteFailure::Busy),
            Err(e) => Err(RemoteFailure::Failed(format!("assignment: {e}"))),
            Ok(v) if v.get("status").and_then(Value::as_str) != Some("accepted") => Err(
                RemoteFailure::Failed(format!("assignment not accepted: {v}")),
            ),
            Ok(_) => match tokio::time::timeout(inner.cfg.referee_deadline, rx).await {
                Ok(Ok(status)) => {
                    inner.metrics.match_finished(
                        s.game.as_str(),
                        status.as_str(),
                        started.elapsed(),
                    );
                    Ok(())
                }
                Ok(Err(_)) => Err(RemoteFailure::Failed("report channel closed".into())),
                Err(_) => Err(RemoteFailure::Failed(format!(
                    "no report within {:?}",
                    inner.cfg.referee_deadline
                ))),
            },
        };
        inner
            .awaiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&m.match_id);
        drop(slot);
        outcome
    }

    /// Records which referee plays `match_id` now (reports from any other
    /// are refused).
    pub(super) fn assign_to(&self, match_id: &str, referee_id: &str) {
        self.inner
            .assigned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(match_id.to_owned(), referee_id.to_owned());
    }

    /// The referee `match_id` is assigned to, if any.
    pub(super) fn assigned_referee(&self, match_id: &str) -> Option<String> {
        self.inner
            .assigned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(match_id)
            .cloned()
    }

    /// Wakes the match waiting for `match_id`'s report.
    pub(super) fn report_arrived(&self, match_id: &str, status: GameStatus) {
        if let Some(tx) = self
            .inner
            .awaiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(match_id)
        {
            let _ = tx.send(status);
        }
    }

    /// Waits until a remote slot may be free (a release, a registration),
    /// at most `max`.
    pub(super) async fn wait_for_referee(&self, max: Duration) {
        let n = self.inner.remotes.changed.notified();
        tokio::pin!(n);
        n.as_mut().enable();
        let _ = tokio::time::timeout(max, n).await;
    }
}

/// Why a remote referee did not play a match.
#[derive(Debug)]
pub(super) enum RemoteFailure {
    /// It refused for want of room: try again (it is not dropped).
    Busy,
    /// It failed: drop it for a while and play the match elsewhere.
    Failed(String),
}

/// Pending report waits, by match.
pub(super) type Awaiting = Mutex<HashMap<String, oneshot::Sender<GameStatus>>>;
