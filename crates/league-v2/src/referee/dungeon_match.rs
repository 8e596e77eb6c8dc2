//! A pmd_dungeon match: each side plays its own copy of the same seeded
//! dungeon. Native sides run whole on a blocking thread; remote sides get a
//! `CHOOSE_ACTION_CALL` per turn with the decoded state and the legal
//! actions, and every emulator step runs on a blocking thread too.

use std::cmp::Ordering;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::{Fault, MatchSpec, Referee, Seat, SideResult};
use crate::client::CallKind;
use crate::game::dungeon::{
    compare, play_native_watched, DungeonSim, DungeonStep, DungeonSummary, Turn,
};
use crate::protocol::jsonrpc::message;
use crate::protocol::messages::{types, ChooseActionCall, GameStatus};
use crate::protocol::time::format_iso;
use crate::seed;

/// Plays one side to the end of its turn budget (or of its run).
pub(super) async fn play_side(referee: &Referee, spec: &MatchSpec, seat: &Seat) -> SideResult {
    let ctx = &referee.ctx;
    let Some(factory) = ctx.dungeons.clone() else {
        return faulted(
            Fault::Illegal("no dungeon configured".into()),
            Vec::new(),
            Value::Null,
        );
    };
    let budget = ctx.turn_budget;
    let dungeon_seed = spec.seed;
    let feed = ctx
        .frames
        .as_ref()
        .map(|hub| hub.open(&spec.match_id, seat.player_id()));
    match seat {
        Seat::Native {
            player_id,
            spec: policy,
        } => {
            let policies = ctx.policies.clone();
            let policy = policy.clone();
            let policy_seed = seed::derive(spec.seed, &format!("{}/{player_id}", spec.match_id));
            let run = tokio::task::spawn_blocking(move || {
                let mut sim = factory
                    .create(dungeon_seed)
                    .map_err(|e| Fault::Illegal(e.to_string()))?;
                let mut policy = policies
                    .create(&policy, policy_seed)
                    .map_err(|e| Fault::Illegal(e.to_string()))?;
                let outcome =
                    play_native_watched(sim.as_mut(), policy.as_mut(), budget, &mut |sim| {
                        super::frames::after_turn(feed.as_ref(), sim)
                    });
                Ok::<_, Fault>((outcome, sim.summary()))
            })
            .await;
            match run {
                Ok(Ok((Ok(turns), summary))) => finished(turns, &summary),
                Ok(Ok((Err(fault), summary))) => faulted(
                    Fault::Illegal(fault.error.to_string()),
                    fault.turns,
                    summary_json(&summary),
                ),
                Ok(Err(f)) => faulted(f, Vec::new(), Value::Null),
                Err(_) => faulted(
                    Fault::Illegal("the policy panicked".into()),
                    Vec::new(),
                    Value::Null,
                ),
            }
        }
        Seat::Remote { player_id, .. } => {
            let created = tokio::task::spawn_blocking(move || {
                factory
                    .create(dungeon_seed)
                    .map(|sim| {
                        let obs = Observation::of(sim.as_ref());
                        (sim, obs)
                    })
                    .map_err(|e| Fault::Illegal(e.to_string()))
            })
            .await;
            let (mut sim, mut obs) = match created {
                Ok(Ok(x)) => x,
                Ok(Err(f)) => return faulted(f, Vec::new(), Value::Null),
                Err(_) => {
                    return faulted(
                        Fault::Illegal("the dungeon panicked".into()),
                        Vec::new(),
                        Value::Null,
                    )
                }
            };
            let mut turns: Vec<Turn> = Vec::new();
            for turn in 0..budget {
                if obs.done {
                    break;
                }
                let last = turns.last().map(|t| &t.action);
                let action =
                    match ask_action(referee, spec, seat, player_id, turn, &obs, last).await {
                        Ok(a) => a,
                        Err(f) => {
                            let summary = summary_json(&sim.summary());
                            return faulted(f, turns, summary);
                        }
                    };
                let a = action.clone();
                let watched = feed.as_ref().filter(|f| f.watched()).is_some();
                let stepped = tokio::task::spawn_blocking(move || {
                    sim.set_watched(watched);
                    let r = sim.step(&a).map(|step| {
                        let png = if watched { sim.frame_png() } else { None };
                        (step, Observation::of(sim.as_ref()), png)
                    });
                    (sim, r)
                })
                .await;
                match stepped {
                    Ok((s, Ok((step, next, png)))) => {
                        sim = s;
                        obs = next;
                        if let (Some(f), Some(png)) = (&feed, png) {
                            f.publish(png);
                        }
                        turns.push(Turn { action, step });
                    }
                    Ok((s, Err(e))) => {
                        let summary = summary_json(&s.summary());
                        return faulted(Fault::Illegal(e.to_string()), turns, summary);
                    }
                    Err(_) => {
                        return faulted(
                            Fault::Illegal("the dungeon panicked".into()),
                            turns,
                            Value::Null,
                        )
                    }
                }
            }
            finished(turns, &sim.summary())
        }
    }
}

/// What a remote player is shown each turn.
struct Observation {
    state: Value,
    legal: Vec<String>,
    done: bool,
}

impl Observation {
    fn of(sim: &dyn DungeonSim) -> Observation {
        Observation {
            state: sim.state_json(),
            legal: sim.legal_actions(),
            done: sim.done(),
        }
    }
}

async fn ask_action(
    referee: &Referee,
    spec: &MatchSpec,
    seat: &Seat,
    player_id: &str,
    turn: u32,
    obs: &Observation,
    last: Option<&String>,
) -> Result<String, Fault> {
    let deadline = SystemTime::now() + referee.ctx.client.timeout(CallKind::Move);
    let body = ChooseActionCall {
        match_id: spec.match_id.clone(),
        player_id: player_id.to_owned(),
        game_type: referee.ctx.game.as_str().to_owned(),
        turn,
        state: obs.state.clone(),
        legal_actions: obs.legal.clone(),
        last_action: last.cloned(),
        deadline: format_iso(deadline),
    };
    let params = message(
        &referee.envelope(types::CHOOSE_ACTION_CALL, spec, seat),
        &body,
    );
    // Retried as idempotent, like a parity call: the call names its turn,
    // and a player asked twice for one turn answers it twice.
    let reply = referee
        .ask(spec, seat, "choose_action", params, CallKind::Move, true)
        .await?;
    let action = reply
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| Fault::BadReply("no action".into()))?;
    if obs.legal.iter().any(|l| l == action) {
        Ok(action.to_owned())
    } else {
        Err(Fault::Illegal(format!("illegal action {action:?}")))
    }
}

fn summary_json(s: &DungeonSummary) -> Value {
    json!(s)
}

fn split(turns: Vec<Turn>) -> (Vec<String>, Vec<DungeonStep>) {
    turns.into_iter().map(|t| (t.action, t.step)).unzip()
}

fn finished(turns: Vec<Turn>, summary: &DungeonSummary) -> SideResult {
    let (actions, steps) = split(turns);
    SideResult {
        actions,
        steps,
        fault: None,
        summary: summary_json(summary),
    }
}

fn faulted(fault: Fault, turns: Vec<Turn>, summary: Value) -> SideResult {
    let (actions, steps) = split(turns);
    SideResult {
        actions,
        steps,
        fault: Some(fault),
        summary,
    }
}

/// Both sides finished: deeper floor, then fewer turns to it, then more HP.
pub(super) fn decide(
    spec: &MatchSpec,
    a: &SideResult,
    b: &SideResult,
) -> (GameStatus, Option<String>, String) {
    let parse = |v: &Value| serde_json::from_value::<DungeonSummary>(v.clone()).ok();
    let (Some(sa), Some(sb)) = (parse(&a.summary), parse(&b.summary)) else {
        return (GameStatus::Draw, None, "no summaries".to_owned());
    };
    let (ida, idb) = (spec.a.player_id(), spec.b.player_id());
    let line = |id: &str, s: &DungeonSummary| {
        format!(
            "{id} floor {} (turn {}) HP {}",
            s.deepest_floor,
            s.turns_to_deepest,
            s.hp.max(0)
        )
    };
    let reason = format!("{}; {}", line(ida, &sa), line(idb, &sb));
    match compare(&sa, &sb) {
        Ordering::Greater => (GameStatus::Win, Some(ida.to_owned()), reason),
        Ordering::Less => (GameStatus::Win, Some(idb.to_owned()), reason),
        Ordering::Equal => (GameStatus::Draw, None, reason),
    }
}
