//! A referee against a fake remote player that fails on cue: dropped moves
//! are retried; a dead player loses on its own failed calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use super::*;
use crate::client::{ClientConfig, Timeouts};
use crate::game::dungeon::LegalRandomFactory;

const HANG: Duration = Duration::from_secs(30);

/// A league.v2 player `R` that answers `503` to the first `fail` messages
/// of type `failing`, and properly to everything else; counts messages by
/// type.
pub(crate) async fn fake_player(
    failing: &'static str,
    fail: u32,
) -> (String, Arc<Mutex<HashMap<String, u32>>>) {
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let failed = Arc::new(AtomicU32::new(0));
    let s = seen.clone();
    let app = Router::new().route(
        "/mcp",
        post(move |body: String| {
            let (s, failed) = (s.clone(), failed.clone());
            async move {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let t = v["params"]["message_type"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned();
                *s.lock().unwrap().entry(t.clone()).or_default() += 1;
                if t == failing && failed.fetch_add(1, Ordering::SeqCst) < fail {
                    return (StatusCode::SERVICE_UNAVAILABLE, "busy".to_owned());
                }
                let m = v["params"]["match_id"].clone();
                let result = match t.as_str() {
                    "GAME_INVITATION" => json!({"message_type": "GAME_JOIN_ACK",
                        "match_id": m, "player_id": "R", "accept": true}),
                    "CHOOSE_PARITY_CALL" => json!({"message_type": "CHOOSE_PARITY_RESPONSE",
                        "match_id": m, "player_id": "R", "parity_choice": "even"}),
                    _ => json!({}),
                };
                let reply = json!({"jsonrpc": "2.0", "id": v["id"], "result": result});
                (StatusCode::OK, reply.to_string())
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, seen)
}

fn referee() -> Referee {
    let metrics = Arc::new(Metrics::new());
    let cfg = ClientConfig {
        timeouts: Timeouts {
            join: Duration::from_secs(5),
            moves: Duration::from_secs(5),
            other: Duration::from_secs(5),
        },
        breaker: MATCH_BREAKER,
        ..ClientConfig::default()
    };
    let client = Arc::new(RpcClient::new(cfg, metrics.clone()).unwrap());
    let ctx = Arc::new(MatchContext {
        league_id: "L1".into(),
        league_seed: 1,
        game: GameType::EvenOdd,
        turn_budget: 0,
        points: Points::default(),
        outbox: Arc::new(Outbox::new(client.clone())),
        frames: None,
        client,
        metrics,
        policies: Arc::new(LegalRandomFactory),
        dungeons: None,
    });
    Referee::new("REF01", 4, ctx)
}

async fn play(r: &Referee, endpoint: &str) -> Played {
    let spec = MatchSpec {
        round: 1,
        match_id: "R1M1".into(),
        seed: 3,
        a: Seat::Remote {
            player_id: "R".into(),
            endpoint: endpoint.to_owned(),
            token: Some("t".into()),
        },
        b: Seat::Native {
            player_id: "N".into(),
            spec: "random".into(),
        },
        record_a: Record::default(),
        record_b: Record::default(),
    };
    let run = r.run(spec, |_, record| async move {
        Ok(MatchResultAck {
            match_id: record.match_id,
            status: "recorded".into(),
        })
    });
    tokio::time::timeout(HANG, run)
        .await
        .expect("the match hung")
}

#[tokio::test]
async fn a_move_lost_on_the_way_is_retried() {
    let (url, seen) = fake_player("CHOOSE_PARITY_CALL", 1).await;
    let played = play(&referee(), &url).await;
    assert_ne!(
        played.record.status,
        GameStatus::TechnicalLoss,
        "{:?}",
        played.record.details
    );
    assert_eq!(seen.lock().unwrap()["CHOOSE_PARITY_CALL"], 2, "asked again");
}

#[tokio::test]
async fn a_dead_player_still_loses_on_its_own_failed_calls() {
    // Nothing listens: the calls really fail (retried, within the join
    // deadline), and the match ends as a technical loss (E009).
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", gone.local_addr().unwrap());
    drop(gone);
    let played = play(&referee(), &url).await;
    assert_eq!(played.record.status, GameStatus::TechnicalLoss);
    assert_eq!(played.record.winner.as_deref(), Some("N"));
    let reason = played.record.details["reason"].as_str().unwrap();
    assert!(reason.contains("E009"), "{reason}");
}
