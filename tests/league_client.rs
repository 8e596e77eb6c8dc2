//! The pooled client against misbehaving servers: retries with backoff for
//! idempotent calls only, deadlines, the circuit breaker, reply size cap.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use pmd_agent::league::client::{
    BreakerConfig, CallError, CallKind, ClientConfig, RpcClient, Timeouts,
};
use pmd_agent::league::metrics::Metrics;
use serde_json::json;

/// A server whose first `fail` answers are 503, then a JSON-RPC result; it
/// sleeps `delay` before answering and counts requests.
async fn flaky(fail: u32, delay: Duration, body_len: usize) -> (String, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/mcp",
        post(move || {
            let h = h.clone();
            async move {
                let n = h.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                if n < fail {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy".to_string())
                } else {
                    let pad = "x".repeat(body_len);
                    (
                        StatusCode::OK,
                        json!({"jsonrpc":"2.0","id":1,"result":{"ok":true,"pad":pad}}).to_string(),
                    )
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, hits)
}

fn client(cfg: ClientConfig) -> (RpcClient, Arc<Metrics>) {
    let m = Arc::new(Metrics::new());
    (RpcClient::new(cfg, m.clone()).unwrap(), m)
}

#[tokio::test]
async fn idempotent_calls_are_retried_others_not() {
    let (url, hits) = flaky(2, Duration::ZERO, 0).await;
    let (c, m) = client(ClientConfig::default());
    let v = c
        .call(&url, "notify_round", json!({}), CallKind::Other, true)
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert!(m.encode().contains("league_retries_total 2"));

    let (url, hits) = flaky(2, Duration::ZERO, 0).await;
    let err = c
        .call(&url, "choose_parity", json!({}), CallKind::Move, false)
        .await
        .unwrap_err();
    assert_eq!(err, CallError::Status(503));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a move is not sent twice");
}

#[tokio::test]
async fn deadline_is_one_for_all_attempts() {
    let (url, _) = flaky(0, Duration::from_millis(500), 0).await;
    let cfg = ClientConfig {
        timeouts: Timeouts {
            join: Duration::from_millis(100),
            ..Timeouts::default()
        },
        ..ClientConfig::default()
    };
    let (c, m) = client(cfg);
    let t = Instant::now();
    let err = c
        .call(
            &url,
            "handle_game_invitation",
            json!({}),
            CallKind::Join,
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(err, CallError::Timeout);
    assert_eq!(err.code().as_str(), "E001");
    assert!(
        // not retried past its deadline (generous: CI machines are slow)
        t.elapsed() < Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    assert!(m.encode().contains("league_timeouts_total 1"));
}

#[tokio::test]
async fn breaker_opens_on_a_dead_endpoint_and_fails_fast() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", dead.local_addr().unwrap());
    drop(dead);
    let cfg = ClientConfig {
        max_retries: 0,
        breaker: BreakerConfig {
            failure_threshold: 3,
            reset_after: Duration::from_secs(60),
        },
        ..ClientConfig::default()
    };
    let (c, _) = client(cfg);
    for _ in 0..3 {
        let e = c
            .call(&url, "x", json!({}), CallKind::Other, true)
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::Connect(_)), "{e:?}");
    }
    assert!(c.is_open(&url));
    let e = c
        .call(&url, "x", json!({}), CallKind::Other, true)
        .await
        .unwrap_err();
    assert_eq!(e, CallError::CircuitOpen);
}

#[tokio::test]
async fn oversized_replies_are_refused() {
    let (url, _) = flaky(0, Duration::ZERO, 4096).await;
    let cfg = ClientConfig {
        max_reply_bytes: 1024,
        ..ClientConfig::default()
    };
    let (c, _) = client(cfg);
    let e = c
        .call(&url, "x", json!({}), CallKind::Other, true)
        .await
        .unwrap_err();
    assert_eq!(e, CallError::TooLarge);
}
