//! Referees: run one match between two seats, native or remote, and report
//! the result.
//!
//! A referee holds as many permits as its declared capacity
//! (`max_concurrent_matches`); a match waits for one. Talking to a remote
//! player it is strict in what it sends (full envelopes, the player's own
//! token, an `id` on every request) and liberal in what it reads back: the
//! answer may be a JSON-RPC `result`, a request-shaped body with the fields
//! in `params` (as the best-known public player sends), or a bare message;
//! `accept` defaults to true; parity is read in any case. A player that does
//! not answer in time, or answers something unusable, loses by default
//! (`TECHNICAL_LOSS`). Invitations and moves are retried with backoff
//! within their one deadline. No circuit breaker stands between a referee
//! and a player ([`MATCH_BREAKER`]): results are written once, so a breaker
//! that failed calls fast would turn a slow patch into forfeits for good,
//! and one that waited would stall every match of a dead player; each call
//! gets its own deadline instead, which bounds a dead player's cost.
//! `GAME_OVER` goes through the [`Outbox`], off the match's path.

mod dungeon_match;
pub mod frames;
pub mod host;
mod outbox;
mod seat;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::client::{BreakerConfig, CallError, CallKind, RpcClient};
use crate::error::ProtocolError;
use crate::game::dungeon::{DungeonFactory, DungeonStep, PolicyFactory};
use crate::game::even_odd::{self, Verdict};
use crate::game::GameType;
use crate::metrics::Metrics;
use crate::protocol::jsonrpc::{message, ReplyError};
use crate::protocol::messages::{
    types, ChooseParityCall, DungeonTerms, GameInvitation, GameOver, GameResult, GameStatus,
    MatchResult, MatchResultAck, MatchResultReport, MatchRole, Parity, ParityContext, Record,
};
use crate::protocol::time::format_iso;
use crate::protocol::{Envelope, Sender};
use crate::seed;
use crate::standings::Points;
use crate::store::{MatchRecord, MoveRecord, StepAfter};
pub use outbox::{Outbox, QUEUE_CAPACITY};
pub use seat::{Fault, Seat};

/// The circuit breaker of the referee's client: never opens (a call that
/// fails is the player's failure; a breaker's refusal would not be).
pub const MATCH_BREAKER: BreakerConfig = BreakerConfig {
    failure_threshold: u32::MAX,
    reset_after: Duration::ZERO,
};

/// What every referee of a league shares.
pub struct MatchContext {
    /// The league.
    pub league_id: String,
    /// Its seed.
    pub league_seed: u64,
    /// Its game.
    pub game: GameType,
    /// pmd_dungeon: turns per player.
    pub turn_budget: u32,
    /// Points per outcome (for the report's `score`).
    pub points: Points,
    /// The pooled client for calls to players during matches; its breaker
    /// should be [`MATCH_BREAKER`] (one that never opens).
    pub client: Arc<RpcClient>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Native policies.
    pub policies: Arc<dyn PolicyFactory>,
    /// pmd_dungeon: the dungeons.
    pub dungeons: Option<Arc<dyn DungeonFactory>>,
    /// Where `GAME_OVER` goes (the manager's announcements share it, so each
    /// player hears everything in order).
    pub outbox: Arc<Outbox>,
    /// pmd_dungeon: where live frames go (`None`: never drawn).
    pub frames: Option<Arc<frames::FrameHub>>,
}

/// One match to play.
#[derive(Debug, Clone)]
pub struct MatchSpec {
    /// Its round.
    pub round: u32,
    /// `R1M1`.
    pub match_id: String,
    /// Its seed (pmd_dungeon: the dungeon both play).
    pub seed: u64,
    /// Side A.
    pub a: Seat,
    /// Side B.
    pub b: Seat,
    /// Side A's record so far (sent in `CHOOSE_PARITY_CALL`).
    pub record_a: Record,
    /// Side B's record so far.
    pub record_b: Record,
}

/// A finished match.
#[derive(Debug, Clone)]
pub struct Played {
    /// What was reported.
    pub report: MatchResultReport,
    /// What was recorded.
    pub record: MatchRecord,
    /// The manager's acknowledgement (or why it refused).
    pub ack: Result<MatchResultAck, ProtocolError>,
    /// Invitation to acknowledged result.
    pub elapsed: Duration,
}

/// What one side did.
#[derive(Debug, Clone)]
pub(crate) struct SideResult {
    /// Its actions (even_odd: the choice).
    pub actions: Vec<String>,
    /// pmd_dungeon: what each action did (one per action).
    pub steps: Vec<DungeonStep>,
    /// Why it lost by default, if it did.
    pub fault: Option<Fault>,
    /// Game-specific summary (JSON).
    pub summary: Value,
}

/// An in-process referee.
pub struct Referee {
    id: String,
    sender: Sender,
    capacity: usize,
    permits: Semaphore,
    ctx: Arc<MatchContext>,
}

impl Referee {
    /// Referee `id` running at most `capacity` matches at once.
    pub fn new(id: &str, capacity: usize, ctx: Arc<MatchContext>) -> Referee {
        let capacity = capacity.max(1);
        Referee {
            id: id.to_owned(),
            sender: Sender::referee(id),
            capacity,
            permits: Semaphore::new(capacity),
            ctx,
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its declared capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Plays `spec` and reports the result through `report` (the manager's
    /// `MATCH_RESULT_REPORT` handler); `GAME_OVER` goes to the players at the
    /// same time.
    pub async fn run<F, Fut>(&self, spec: MatchSpec, report: F) -> Played
    where
        F: FnOnce(MatchResultReport, MatchRecord) -> Fut,
        Fut: Future<Output = Result<MatchResultAck, ProtocolError>>,
    {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.permits.acquire().await.ok();
        let m = &self.ctx.metrics;
        let _active = ActiveMatch::start(m);
        let started = Instant::now();
        let (a, b) = self.play(&spec).await;
        let (status, winner, reason) = verdict(&spec, &a, &b, self.ctx.game);
        let record = self.record(&spec, &a, &b, status, winner.as_deref(), &reason);
        let match_report = self.report(&spec, &record);
        // GAME_OVER is queued, not awaited: a player that does not listen
        // delays neither this match nor the next.
        self.game_over(&spec, &a, &b, status, winner.as_deref(), &reason);
        let ack = report(match_report.clone(), record.clone()).await;
        let elapsed = started.elapsed();
        m.match_finished(self.ctx.game.as_str(), status.as_str(), elapsed);
        Played {
            report: match_report,
            record,
            ack,
            elapsed,
        }
    }

    async fn play(&self, spec: &MatchSpec) -> (SideResult, SideResult) {
        let (ia, ib) = tokio::join!(
            self.invite(spec, &spec.a, MatchRole::PlayerA, spec.b.player_id()),
            self.invite(spec, &spec.b, MatchRole::PlayerB, spec.a.player_id()),
        );
        let refused = |f: Fault| SideResult {
            actions: Vec::new(),
            steps: Vec::new(),
            fault: Some(f),
            summary: Value::Null,
        };
        if ia.is_err() || ib.is_err() {
            // No game without both players: whoever joined wins by default.
            let side = |r: Result<(), Fault>| match r {
                Ok(()) => SideResult {
                    actions: Vec::new(),
                    steps: Vec::new(),
                    fault: None,
                    summary: Value::Null,
                },
                Err(f) => refused(f),
            };
            return (side(ia), side(ib));
        }
        match self.ctx.game {
            GameType::EvenOdd => tokio::join!(
                self.parity(spec, &spec.a, spec.b.player_id(), spec.record_a),
                self.parity(spec, &spec.b, spec.a.player_id(), spec.record_b),
            ),
            GameType::PmdDungeon => tokio::join!(
                dungeon_match::play_side(self, spec, &spec.a),
                dungeon_match::play_side(self, spec, &spec.b),
            ),
        }
    }

    fn envelope(&self, message_type: &str, spec: &MatchSpec, seat: &Seat) -> Envelope {
        let token = match seat {
            Seat::Remote { token, .. } => token.as_deref(),
            Seat::Native { .. } => None,
        };
        let conversation = format!("{}/{}", self.ctx.league_id, spec.match_id);
        Envelope::new(message_type, &self.sender, &conversation, token)
    }

    /// Calls a remote seat and returns the message of its reply, checked:
    /// not an error message, and not on behalf of another player or match.
    pub(crate) async fn ask(
        &self,
        spec: &MatchSpec,
        seat: &Seat,
        method: &str,
        params: Value,
        kind: CallKind,
        idempotent: bool,
    ) -> Result<Value, Fault> {
        let Seat::Remote {
            player_id,
            endpoint,
            ..
        } = seat
        else {
            return Err(Fault::BadReply("not a remote seat".into()));
        };
        let reply = self
            .ctx
            .client
            .call(endpoint, method, params, kind, idempotent)
            .await
            .map_err(|e| match e {
                CallError::Timeout => Fault::Timeout,
                CallError::Reply(ReplyError::Rpc { message, .. }) => Fault::BadReply(message),
                CallError::Reply(r) => Fault::BadReply(r.to_string()),
                other => Fault::Unreachable(other.to_string()),
            })?;
        check_reply(&reply, player_id, &spec.match_id)?;
        Ok(reply)
    }

    async fn invite(
        &self,
        spec: &MatchSpec,
        seat: &Seat,
        role: MatchRole,
        opponent: &str,
    ) -> Result<(), Fault> {
        if matches!(seat, Seat::Native { .. }) {
            return Ok(());
        }
        let dungeon = match (self.ctx.game, &self.ctx.dungeons) {
            (GameType::PmdDungeon, Some(f)) => Some(DungeonTerms {
                seed: spec.seed,
                turn_budget: self.ctx.turn_budget,
                start: f.descriptor(),
            }),
            _ => None,
        };
        let body = GameInvitation {
            league_id: self.ctx.league_id.clone(),
            round_id: spec.round,
            match_id: spec.match_id.clone(),
            game_type: self.ctx.game.as_str().to_owned(),
            role_in_match: role,
            opponent_id: opponent.to_owned(),
            dungeon,
        };
        let params = message(&self.envelope(types::GAME_INVITATION, spec, seat), &body);
        let reply = self
            .ask(
                spec,
                seat,
                "handle_game_invitation",
                params,
                CallKind::Join,
                true,
            )
            .await?;
        // Liberal: a reply without `accept` is an acceptance.
        match reply.get("accept") {
            Some(Value::Bool(false)) => Err(Fault::Declined),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Err(Fault::Declined),
            _ => Ok(()),
        }
    }

    async fn parity(
        &self,
        spec: &MatchSpec,
        seat: &Seat,
        opponent: &str,
        record: Record,
    ) -> SideResult {
        let choice = match seat {
            Seat::Native { player_id, .. } => Ok(even_odd::native_choice(
                self.ctx.league_seed,
                &spec.match_id,
                player_id,
            )),
            Seat::Remote { player_id, .. } => {
                let deadline = SystemTime::now() + self.ctx.client.timeout(CallKind::Move);
                let body = ChooseParityCall {
                    match_id: spec.match_id.clone(),
                    player_id: player_id.clone(),
                    game_type: self.ctx.game.as_str().to_owned(),
                    context: ParityContext {
                        opponent_id: opponent.to_owned(),
                        round_id: spec.round,
                        your_standings: record,
                    },
                    deadline: format_iso(deadline),
                };
                let params = message(&self.envelope(types::CHOOSE_PARITY_CALL, spec, seat), &body);
                // Retried as idempotent (league.v2: up to 3 retries with
                // backoff, all within the one move deadline): the call names
                // its match, the referee keeps only the answer it gets, and a
                // player asked twice answers the same question twice.
                match self
                    .ask(spec, seat, "choose_parity", params, CallKind::Move, true)
                    .await
                {
                    Ok(reply) => reply
                        .get("parity_choice")
                        .and_then(Value::as_str)
                        .and_then(Parity::parse_loose)
                        .ok_or_else(|| Fault::BadReply("no valid parity_choice".into())),
                    Err(f) => Err(f),
                }
            }
        };
        match choice {
            Ok(p) => SideResult {
                actions: vec![p.as_str().to_owned()],
                steps: Vec::new(),
                fault: None,
                summary: json!(p.as_str()),
            },
            Err(f) => SideResult {
                actions: Vec::new(),
                steps: Vec::new(),
                fault: Some(f),
                summary: Value::Null,
            },
        }
    }

    fn record(
        &self,
        spec: &MatchSpec,
        a: &SideResult,
        b: &SideResult,
        status: GameStatus,
        winner: Option<&str>,
        reason: &str,
    ) -> MatchRecord {
        let mut details = json!({
            "status": status.as_str(),
            "reason": reason,
            "referee": self.id,
            "seed": spec.seed,
        });
        if let GameType::EvenOdd = self.ctx.game {
            if let (Some(pa), Some(pb)) = (parity_of(a), parity_of(b)) {
                let drawn = drawn_number(spec.seed);
                details["drawn_number"] = json!(drawn);
                details["number_parity"] = json!(Parity::of(drawn).as_str());
                details["choices"] =
                    json!({spec.a.player_id(): pa.as_str(), spec.b.player_id(): pb.as_str()});
            }
        } else {
            details["turn_budget"] = json!(self.ctx.turn_budget);
            if let Some(d) = &self.ctx.dungeons {
                details["dungeon"] = json!(d.descriptor());
            }
            details["runs"] = json!({spec.a.player_id(): a.summary, spec.b.player_id(): b.summary});
        }
        MatchRecord {
            match_id: spec.match_id.clone(),
            status,
            winner: winner.map(str::to_owned),
            details,
            moves: vec![
                (spec.a.player_id().to_owned(), moves_of(a)),
                (spec.b.player_id().to_owned(), moves_of(b)),
            ],
        }
    }

    fn report(&self, spec: &MatchSpec, record: &MatchRecord) -> MatchResultReport {
        let pts = |id: &str| {
            self.ctx.points.of(crate::standings::side(
                record.status,
                record.winner.as_deref(),
                id,
            ))
        };
        let score: BTreeMap<String, u32> = [spec.a.player_id(), spec.b.player_id()]
            .iter()
            .map(|id| ((*id).to_owned(), pts(id)))
            .collect();
        MatchResultReport {
            league_id: self.ctx.league_id.clone(),
            round_id: spec.round,
            match_id: spec.match_id.clone(),
            game_type: self.ctx.game.as_str().to_owned(),
            result: MatchResult {
                winner: record.winner.clone(),
                score,
                details: record.details.clone(),
            },
            moves: Vec::new(),
        }
    }

    fn game_over(
        &self,
        spec: &MatchSpec,
        a: &SideResult,
        b: &SideResult,
        status: GameStatus,
        winner: Option<&str>,
        reason: &str,
    ) {
        let even_odd = self.ctx.game == GameType::EvenOdd;
        let drawn = (even_odd && parity_of(a).is_some() && parity_of(b).is_some())
            .then(|| drawn_number(spec.seed));
        let mut choices = BTreeMap::new();
        choices.insert(spec.a.player_id().to_owned(), a.summary.clone());
        choices.insert(spec.b.player_id().to_owned(), b.summary.clone());
        let body = GameOver {
            match_id: spec.match_id.clone(),
            game_type: self.ctx.game.as_str().to_owned(),
            game_result: GameResult {
                status,
                winner_player_id: winner.map(str::to_owned),
                drawn_number: drawn,
                number_parity: drawn.map(Parity::of),
                choices,
                reason: reason.to_owned(),
            },
        };
        for seat in [&spec.a, &spec.b] {
            if let Seat::Remote { endpoint, .. } = seat {
                // A player that misses the news still has its result recorded.
                let params = message(&self.envelope(types::GAME_OVER, spec, seat), &body);
                self.ctx
                    .outbox
                    .post(endpoint, "notify_match_result", params);
            }
        }
    }
}

/// Counts a match as active until dropped (also when the match is
/// cancelled half-way).
struct ActiveMatch<'a>(&'a Metrics);

impl<'a> ActiveMatch<'a> {
    fn start(m: &'a Metrics) -> ActiveMatch<'a> {
        m.active_matches.inc();
        ActiveMatch(m)
    }
}

impl Drop for ActiveMatch<'_> {
    fn drop(&mut self) {
        self.0.active_matches.dec();
    }
}

/// A side's moves as recorded: each action with, for pmd_dungeon, where
/// the leader stood after it (what a replay checks).
fn moves_of(side: &SideResult) -> Vec<MoveRecord> {
    side.actions
        .iter()
        .enumerate()
        .map(|(i, action)| MoveRecord {
            action: action.clone(),
            after: side.steps.get(i).map(StepAfter::from),
        })
        .collect()
}

fn parity_of(side: &SideResult) -> Option<Parity> {
    if side.fault.is_some() {
        return None;
    }
    side.actions.first().and_then(|a| Parity::parse_loose(a))
}

/// The number a match draws, from the match seed (itself derived from the
/// league seed and the match id), so a match replayed after a crash draws
/// the same.
pub fn drawn_number(match_seed: u64) -> u32 {
    even_odd::draw_number(&mut seed::rng(match_seed, "draw"))
}

/// Checks a reply is not an error and speaks for the right player and match.
fn check_reply(reply: &Value, player_id: &str, match_id: &str) -> Result<(), Fault> {
    if let Some(t) = reply.get("message_type").and_then(Value::as_str) {
        if t == types::LEAGUE_ERROR || t == types::GAME_ERROR {
            let code = reply
                .get("error_code")
                .and_then(Value::as_str)
                .unwrap_or("?");
            return Err(Fault::BadReply(format!("{t} {code}")));
        }
    }
    if let Some(p) = reply.get("player_id").and_then(Value::as_str) {
        if p != player_id {
            return Err(Fault::Impersonation(format!("player_id {p:?}")));
        }
    }
    if let Some(s) = reply.get("sender").and_then(Value::as_str) {
        if let Ok(sender) = Sender::parse(s) {
            if sender.role == crate::protocol::Role::Player && sender.id != player_id {
                return Err(Fault::Impersonation(format!("sender {s:?}")));
            }
        }
    }
    if let Some(m) = reply.get("match_id").and_then(Value::as_str) {
        if m != match_id {
            return Err(Fault::BadReply(format!("answer for match {m:?}")));
        }
    }
    Ok(())
}

/// Status, winner and reason from the two sides.
fn verdict(
    spec: &MatchSpec,
    a: &SideResult,
    b: &SideResult,
    game: GameType,
) -> (GameStatus, Option<String>, String) {
    let (ida, idb) = (spec.a.player_id(), spec.b.player_id());
    match (&a.fault, &b.fault) {
        (Some(fa), Some(fb)) => (
            GameStatus::TechnicalLoss,
            None,
            format!("{ida} {}; {idb} {}", fa.describe(), fb.describe()),
        ),
        (Some(f), None) => (
            GameStatus::TechnicalLoss,
            Some(idb.to_owned()),
            format!("{ida} {}", f.describe()),
        ),
        (None, Some(f)) => (
            GameStatus::TechnicalLoss,
            Some(ida.to_owned()),
            format!("{idb} {}", f.describe()),
        ),
        (None, None) => match game {
            GameType::EvenOdd => {
                let (pa, pb) = (parity_of(a), parity_of(b));
                let (Some(pa), Some(pb)) = (pa, pb) else {
                    return (GameStatus::Draw, None, "no choices".to_owned());
                };
                let drawn = drawn_number(spec.seed);
                match even_odd::decide(pa, pb, drawn) {
                    Verdict::Draw => (
                        GameStatus::Draw,
                        None,
                        format!("both chose {}", pa.as_str()),
                    ),
                    Verdict::A => (
                        GameStatus::Win,
                        Some(ida.to_owned()),
                        format!(
                            "drew {drawn} ({}); {ida} chose {}",
                            Parity::of(drawn).as_str(),
                            pa.as_str()
                        ),
                    ),
                    Verdict::B => (
                        GameStatus::Win,
                        Some(idb.to_owned()),
                        format!(
                            "drew {drawn} ({}); {idb} chose {}",
                            Parity::of(drawn).as_str(),
                            pb.as_str()
                        ),
                    ),
                }
            }
            GameType::PmdDungeon => dungeon_match::decide(spec, a, b),
        },
    }
}
#[cfg(test)]
pub(crate) mod tests;
