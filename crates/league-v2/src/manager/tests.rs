//! The manager's handlers called through its router (no sockets), with the
//! peer address a server would attach, and a database that can be held.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;
use crate::game::dungeon::LegalRandomFactory;
use crate::protocol::time::now_iso;

/// Bound on anything that should answer at once: reached only by a hang.
const HANG: Duration = Duration::from_secs(20);

fn manager(cfg: ManagerConfig) -> (Manager, Arc<Store>) {
    let store = Arc::new(Store::in_memory().unwrap());
    let m = Manager::open(cfg, store.clone(), Arc::new(LegalRandomFactory), None).unwrap();
    (m, store)
}

fn serve_cfg() -> ManagerConfig {
    let mut cfg = ManagerConfig::new(LeagueSettings::new(Mode::Serve, GameType::EvenOdd));
    cfg.client.timeouts = crate::client::Timeouts {
        join: Duration::from_millis(300),
        moves: Duration::from_millis(300),
        other: Duration::from_millis(300),
    };
    cfg
}

fn rpc(method: &str, message_type: &str, sender: &str, fields: Value) -> Value {
    let mut params = json!({
        "protocol": "league.v2", "message_type": message_type, "sender": sender,
        "timestamp": now_iso(), "conversation_id": "test",
    });
    for (k, v) in fields.as_object().unwrap() {
        params[k] = v.clone();
    }
    json!({"jsonrpc": "2.0", "method": method, "id": 1, "params": params})
}

fn register(id: &str, endpoint: &str) -> Value {
    rpc(
        "register_player",
        "LEAGUE_REGISTER_REQUEST",
        &format!("player:{id}"),
        json!({"player_meta": {"display_name": id, "version": "1", "game_types": ["even_odd"],
               "contact_endpoint": endpoint}}),
    )
}

/// Posts `msg` to the router as if from `peer`.
async fn post(m: &Manager, peer: &str, msg: &Value) -> Value {
    let peer: SocketAddr = peer.parse().unwrap();
    let mut req = Request::post("/mcp")
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(msg).unwrap()))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let resp = m.router().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Holds the database (every store call waits) on a thread of its own
/// until the returned sender is dropped or sent to.
fn hold_database(store: &Arc<Store>) -> std::sync::mpsc::Sender<()> {
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (held_tx, held) = std::sync::mpsc::channel::<()>();
    let store = store.clone();
    std::thread::spawn(move || {
        let _guard = store.hold();
        let _ = held_tx.send(());
        let _ = released.recv();
    });
    held.recv().unwrap();
    release
}

fn code(v: &Value) -> &str {
    v["error"]["data"]["error_code"].as_str().unwrap_or("none")
}

#[tokio::test]
async fn a_remote_peer_cannot_register_the_managers_loopback_services() {
    let (m, _) = manager(serve_cfg());
    // Bound to 0.0.0.0, a manager hears 10.0.0.5 naming a port on the
    // manager's own loopback: refused.
    let v = post(
        &m,
        "10.0.0.5:40000",
        &register("EVIL", "http://127.0.0.1:6379/mcp"),
    )
    .await;
    assert_eq!(code(&v), "E004", "{v}");
    let why = v["error"]["data"]["error_description"].as_str().unwrap();
    assert!(why.contains("not the registering peer's address"), "{why}");
    // A loopback peer naming a loopback endpoint is fine (the usual setup).
    let v = post(
        &m,
        "127.0.0.1:40000",
        &register("P01", "http://localhost:8101/mcp"),
    )
    .await;
    assert_eq!(v["result"]["status"], "ACCEPTED", "{v}");
    assert_eq!(m.player_count().await, 1);
}

#[tokio::test]
async fn remote_endpoints_must_be_the_peers_own_or_allow_listed() {
    let mut cfg = serve_cfg();
    cfg.allow_remote_endpoints = true;
    cfg.endpoint_allow = vec!["10.0.0.9".into()];
    let (m, _) = manager(cfg);
    let v = post(&m, "10.0.0.5:1", &register("A", "http://10.0.0.6:8101/mcp")).await;
    assert_eq!(code(&v), "E004", "another host: {v}");
    let v = post(
        &m,
        "127.0.0.1:1",
        &register("B", "http://10.0.0.6:8101/mcp"),
    )
    .await;
    assert_eq!(code(&v), "E004", "from loopback: {v}");
    let v = post(&m, "10.0.0.5:1", &register("C", "http://10.0.0.5:8101/mcp")).await;
    assert_eq!(v["result"]["status"], "ACCEPTED", "its own address: {v}");
    let v = post(&m, "10.0.0.5:1", &register("D", "http://10.0.0.9:8101/mcp")).await;
    assert_eq!(v["result"]["status"], "ACCEPTED", "allow-listed: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_database_write_does_not_hold_the_registry() {
    let (m, store) = manager(serve_cfg());
    let guard = hold_database(&store);
    let registering = tokio::spawn({
        let m = m.clone();
        async move {
            post(
                &m,
                "127.0.0.1:1",
                &register("P01", "http://127.0.0.1:9/mcp"),
            )
            .await
        }
    });
    // Wait until the handler has started (it counts the request first).
    let started = tokio::time::timeout(HANG, async {
        while !m.metrics().encode().contains("LEAGUE_REGISTER_REQUEST") {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(started.is_ok(), "the registration never started");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // While the write waits for the database, the registry answers.
    let count = tokio::time::timeout(HANG, m.player_count()).await;
    assert_eq!(count, Ok(0), "player_count hung behind the database write");
    // ...and the id is taken already: a second registration of it is refused.
    let v = tokio::time::timeout(
        HANG,
        post(
            &m,
            "127.0.0.1:1",
            &register("P01", "http://127.0.0.1:9/mcp"),
        ),
    )
    .await
    .expect("a registration hung behind another one's database write");
    assert_eq!(code(&v), "E006", "{v}");
    assert!(!registering.is_finished());
    drop(guard);
    let v = tokio::time::timeout(HANG, registering)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["result"]["status"], "ACCEPTED", "{v}");
    assert_eq!(m.player_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_league_closes_registration_only_after_pending_writes() {
    // Regression guard for the reservation: a start requested while a
    // registration is being written waits for it, so the stored player is
    // in the schedule.
    let mut cfg = serve_cfg();
    cfg.settings.natives = vec!["random".into(), "random".into()];
    let (m, store) = manager(cfg);
    let guard = hold_database(&store);
    let registering = tokio::spawn({
        let m = m.clone();
        async move {
            post(
                &m,
                "127.0.0.1:1",
                &register("P01", "http://127.0.0.1:9/mcp"),
            )
            .await
        }
    });
    tokio::time::timeout(HANG, async {
        while !m.metrics().encode().contains("LEAGUE_REGISTER_REQUEST") {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    m.request_start();
    let run = tokio::spawn({
        let m = m.clone();
        async move { m.run().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(guard);
    let v = tokio::time::timeout(HANG, registering)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["result"]["status"], "ACCEPTED", "{v}");
    let report = tokio::time::timeout(HANG, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(report.matches_played, 3, "P01 is in the schedule");
}

#[tokio::test]
async fn registration_refusals_carry_e006_and_e007() {
    let mut cfg = serve_cfg();
    cfg.max_players = 1;
    let (m, _) = manager(cfg);
    let v = post(
        &m,
        "127.0.0.1:1",
        &register("P01", "http://127.0.0.1:9/mcp"),
    )
    .await;
    assert_eq!(v["result"]["status"], "ACCEPTED", "{v}");
    let v = post(
        &m,
        "127.0.0.1:1",
        &register("P01", "http://127.0.0.1:9/mcp"),
    )
    .await;
    assert_eq!(code(&v), "E006", "{v}");
    assert_eq!(v["error"]["data"]["affected_player"], "P01");
    let v = post(
        &m,
        "127.0.0.1:1",
        &register("P02", "http://127.0.0.1:9/mcp"),
    )
    .await;
    assert_eq!(code(&v), "E007", "full: {v}");
}

#[tokio::test]
async fn display_names_with_control_characters_are_refused() {
    let (m, _) = manager(serve_cfg());
    for name in ["evil\u{1b}[2J", "two\nlines", "bell\u{7}"] {
        let mut msg = register("P01", "http://127.0.0.1:9/mcp");
        msg["params"]["player_meta"]["display_name"] = json!(name);
        let v = post(&m, "127.0.0.1:1", &msg).await;
        assert_eq!(code(&v), "E004", "{name:?}: {v}");
    }
    assert_eq!(m.player_count().await, 0);
}

#[tokio::test]
async fn a_query_without_a_token_gets_the_public_standings() {
    let (m, _) = manager(serve_cfg());
    let v = post(
        &m,
        "127.0.0.1:1",
        &register("P01", "http://127.0.0.1:9/mcp"),
    )
    .await;
    let token = v["result"]["auth_token"].as_str().unwrap().to_owned();
    // As the public Python player asks: no auth_token at all.
    let q = rpc(
        "league_query",
        "LEAGUE_QUERY",
        "player:P01",
        json!({"query_type": "GET_STANDINGS"}),
    );
    let v = post(&m, "127.0.0.1:1", &q).await;
    assert_eq!(v["result"]["message_type"], "LEAGUE_QUERY_RESPONSE", "{v}");
    assert_eq!(v["result"]["data"]["standings"][0]["player_id"], "P01");
    // A stranger may read them too; a wrong token is still an error.
    let mut stranger = q.clone();
    stranger["params"]["sender"] = json!("player:SOMEONE");
    let v = post(&m, "127.0.0.1:1", &stranger).await;
    assert_eq!(
        v["result"]["data"]["standings"][0]["player_id"], "P01",
        "{v}"
    );
    let mut wrong = q.clone();
    wrong["params"]["auth_token"] = json!("0".repeat(32));
    assert_eq!(code(&post(&m, "127.0.0.1:1", &wrong).await), "E012");
    let mut right = q;
    right["params"]["auth_token"] = json!(token);
    let v = post(&m, "127.0.0.1:1", &right).await;
    assert_eq!(
        v["result"]["data"]["standings"][0]["player_id"], "P01",
        "{v}"
    );
    // The next match (public too: the announcements list every pairing) for
    // a registered sender; nothing for an unknown one.
    let next = |sender: &str| {
        rpc(
            "league_query",
            "LEAGUE_QUERY",
            sender,
            json!({"query_type": "GET_NEXT_MATCH"}),
        )
    };
    let v = post(&m, "127.0.0.1:1", &next("player:P01")).await;
    assert_eq!(v["result"]["query_type"], "GET_NEXT_MATCH", "{v}");
    assert!(v["result"]["data"].is_null(), "no schedule yet: {v}");
    let v = post(&m, "127.0.0.1:1", &next("player:SOMEONE")).await;
    assert_eq!(code(&v), "E005", "{v}");
}

#[tokio::test]
async fn a_restarted_server_refuses_other_settings_and_names_them() {
    let store = Arc::new(Store::in_memory().unwrap());
    let open =
        |cfg: ManagerConfig| Manager::open(cfg, store.clone(), Arc::new(LegalRandomFactory), None);
    let mut first = serve_cfg();
    first.settings.seed = 7;
    let id = open(first.clone()).unwrap().league_id().to_owned();
    // Same settings: resumed.
    assert_eq!(open(first.clone()).unwrap().league_id(), id);
    // Another --rounds: refused, naming it.
    let mut rounds = first.clone();
    rounds.settings.cycles = 3;
    let e = open(rounds.clone())
        .err()
        .expect("resumed with other settings");
    let text = e.to_string();
    assert!(matches!(e, LeagueFailure::Config(_)), "{text}");
    assert!(text.contains("--rounds 1, not 3"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    // Another explicit seed: refused; a seed drawn at random: kept quietly.
    let mut seed = first.clone();
    seed.settings.seed = 8;
    let text = open(seed.clone()).err().unwrap().to_string();
    assert!(text.contains("--seed 7, not 8"), "{text}");
    seed.random_seed = true;
    assert_eq!(open(seed).unwrap().settings().seed, 7);
    // Natives and start_when count too.
    let mut natives = first.clone();
    natives.settings.natives = vec!["random".into()];
    let text = open(natives).err().unwrap().to_string();
    assert!(text.contains("--native (none), not random"), "{text}");
    // Told to keep the stored settings: resumed as stored.
    rounds.keep_stored_settings = true;
    let m = open(rounds).unwrap();
    assert_eq!((m.league_id(), m.settings().cycles), (id.as_str(), 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_player_does_not_hold_up_the_league() {
    // Announcements (and GAME_OVER) to a player that accepts connections and
    // never answers: with an hour's deadline for them, the league must still
    // play on (its matches with that player are lost on the 300 ms join
    // deadline) and end once the final notifications had their bounded time.
    let mut cfg = serve_cfg();
    cfg.settings.natives = vec!["random".into(), "random".into()];
    cfg.settings.start_when = 3;
    cfg.client.timeouts.other = Duration::from_secs(3600);
    cfg.notify_flush = Duration::from_millis(300);
    let (m, _) = manager(cfg);
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/mcp", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            held.push(c);
        }
    });
    let v = post(&m, "127.0.0.1:1", &register("MUTE", &silent_url)).await;
    assert_eq!(v["result"]["status"], "ACCEPTED", "{v}");
    let report = tokio::time::timeout(Duration::from_secs(60), m.run())
        .await
        .expect("the league waited on a silent player's announcements")
        .unwrap();
    assert_eq!(report.matches_played, 3);
    let mute = report
        .standings
        .iter()
        .find(|r| r.player_id == "MUTE")
        .unwrap();
    assert_eq!(mute.technical_losses, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opened_by_a_slow_patch_forfeits_no_match() {
    // One failure opens the configured breaker for an hour: the player's
    // first invitation fails once (503), its retry must still reach it.
    let mut cfg = serve_cfg();
    cfg.settings.natives = vec!["random".into()];
    cfg.settings.start_when = 2;
    cfg.client.timeouts.join = Duration::from_secs(5);
    cfg.client.timeouts.moves = Duration::from_secs(5);
    cfg.client.breaker = crate::client::BreakerConfig {
        failure_threshold: 1,
        reset_after: Duration::from_secs(3600),
    };
    cfg.notify_flush = Duration::from_secs(5);
    let (m, store) = manager(cfg);
    let (url, seen) = crate::referee::tests::fake_player("GAME_INVITATION", 1).await;
    let v = post(&m, "127.0.0.1:1", &register("R", &url)).await;
    assert_eq!(v["result"]["status"], "ACCEPTED", "{v}");
    let report = tokio::time::timeout(HANG, m.run()).await.unwrap().unwrap();
    let results = store.results(&report.league_id).unwrap();
    assert_eq!(results.len(), 1);
    assert_ne!(
        results[0].status,
        crate::protocol::messages::GameStatus::TechnicalLoss,
        "{:?}",
        results[0].details
    );
    assert_eq!(seen.lock().unwrap()["GAME_INVITATION"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_dropped_mid_write_still_lands_whole() {
    // The client goes away while the write waits for the database: the
    // write completes, and registry and database agree.
    let (m, store) = manager(serve_cfg());
    let guard = hold_database(&store);
    let registering = tokio::spawn({
        let m = m.clone();
        async move {
            post(
                &m,
                "127.0.0.1:1",
                &register("P01", "http://127.0.0.1:9/mcp"),
            )
            .await
        }
    });
    tokio::time::timeout(HANG, async {
        while !m.metrics().encode().contains("LEAGUE_REGISTER_REQUEST") {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    registering.abort();
    drop(guard);
    let landed = tokio::time::timeout(HANG, async {
        while m.player_count().await == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(landed.is_ok(), "the reservation never settled");
    let stored = store.players(m.league_id()).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].player_id, "P01");
}
