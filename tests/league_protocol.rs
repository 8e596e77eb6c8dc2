//! Strict validation on the wire: bad, oversized, unauthenticated and
//! impersonating messages get league.v2 errors (never a 500), and the
//! manager keeps serving.

mod league_common;

use league_common::*;
use pmd_agent::league::game::GameType;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_rejects_bad_messages_and_keeps_serving() {
    let s = serve(serve_config(GameType::EvenOdd, 0, &[])).await;
    let url = &s.url;

    // Unknown fields are tolerated.
    let mut ok = register_msg("P01", "http://localhost:9/mcp");
    ok["params"]["favourite_colour"] = json!("green");
    ok["params"]["player_meta"]["extra"] = json!({"nested": [1, 2]});
    let (st, v) = post(url, &ok).await;
    assert_eq!(st, 200);
    assert_eq!(v["result"]["status"], "ACCEPTED", "{v}");
    assert_eq!(
        v["result"]["player_id"], "P01",
        "the player's own id is kept"
    );
    assert_eq!(v["result"]["message_type"], "LEAGUE_REGISTER_RESPONSE");
    let token = v["result"]["auth_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);

    // Missing field -> E003, mistyped -> E004.
    let mut missing = register_msg("P02", "http://127.0.0.1:9/mcp");
    missing["params"]["player_meta"]
        .as_object_mut()
        .unwrap()
        .remove("game_types");
    let (st, v) = post(url, &missing).await;
    assert_eq!((st, code(&v)), (200, "E003"), "{v}");
    let mut mistyped = register_msg("P02", "http://127.0.0.1:9/mcp");
    mistyped["params"]["player_meta"]["game_types"] = json!("even_odd");
    assert_eq!(code(&post(url, &mistyped).await.1), "E004");
    let mut no_sender = register_msg("P02", "http://127.0.0.1:9/mcp");
    no_sender["params"]
        .as_object_mut()
        .unwrap()
        .remove("sender");
    assert_eq!(code(&post(url, &no_sender).await.1), "E003");
    let mut bad_ts = register_msg("P02", "http://127.0.0.1:9/mcp");
    bad_ts["params"]["timestamp"] = json!("yesterday");
    assert_eq!(code(&post(url, &bad_ts).await.1), "E004");
    let mut bad_proto = register_msg("P02", "http://127.0.0.1:9/mcp");
    bad_proto["params"]["protocol"] = json!("league.v1");
    assert_eq!(code(&post(url, &bad_proto).await.1), "E002");

    // Non-loopback endpoints are refused.
    assert_eq!(
        code(
            &post(url, &register_msg("P03", "http://10.1.2.3:80/mcp"))
                .await
                .1
        ),
        "E004"
    );

    // Not JSON, not JSON-RPC, wrong method for the type, unknown type.
    let (st, v) = post_raw(url, b"{\"jsonrpc\": ".to_vec()).await;
    assert_eq!((st, code(&v)), (200, "E016"));
    assert_eq!(v["error"]["code"], -32700);
    let wrong_method = {
        let mut m = register_msg("P04", "http://127.0.0.1:9/mcp");
        m["method"] = json!("league_query");
        m
    };
    assert_eq!(code(&post(url, &wrong_method).await.1), "E008");
    let unknown = rpc(
        "frobnicate",
        "FROBNICATE",
        "player:P01",
        Some(&token),
        json!({}),
    );
    assert_eq!(code(&post(url, &unknown).await.1), "E008");

    // Oversized -> 413 with a LEAGUE_ERROR body.
    let mut big = register_msg("P05", "http://127.0.0.1:9/mcp");
    big["params"]["padding"] = json!("x".repeat(100 * 1024));
    let (st, v) = post(url, &big).await;
    assert_eq!((st, code(&v)), (413, "E010"), "{v}");
    assert_eq!(v["error"]["data"]["message_type"], "LEAGUE_ERROR");

    // Authentication: no token -> the public standings (the public Python
    // player never sends one); a wrong token -> E012; the right one works.
    let q = |tok: Option<&str>, sender: &str, fields| {
        rpc("league_query", "LEAGUE_QUERY", sender, tok, fields)
    };
    let standings = json!({"query_type": "GET_STANDINGS"});
    let (_, v) = post(url, &q(None, "player:P01", standings.clone())).await;
    assert_eq!(
        v["result"]["data"]["standings"][0]["player_id"], "P01",
        "{v}"
    );
    let wrong = "0".repeat(32);
    assert_eq!(
        code(
            &post(url, &q(Some(&wrong), "player:P01", standings.clone()))
                .await
                .1
        ),
        "E012"
    );
    let (_, v) = post(url, &q(Some(&token), "player:P01", standings.clone())).await;
    assert_eq!(v["result"]["message_type"], "LEAGUE_QUERY_RESPONSE", "{v}");
    assert_eq!(v["result"]["data"]["standings"][0]["player_id"], "P01");

    // Impersonation: P06 registers, then P01's token cannot speak as P06, and
    // P01 cannot ask for P06's next match.
    let (_, v) = post(url, &register_msg("P06", "http://127.0.0.1:9/mcp")).await;
    assert_eq!(v["result"]["status"], "ACCEPTED");
    assert_eq!(
        code(
            &post(url, &q(Some(&token), "player:P06", standings.clone()))
                .await
                .1
        ),
        "E012"
    );
    let next_of_p06 = json!({"query_type": "GET_NEXT_MATCH", "player_id": "P06"});
    assert_eq!(
        code(
            &post(url, &q(Some(&token), "player:P01", next_of_p06))
                .await
                .1
        ),
        "E013"
    );
    let unregistered = q(Some(&token), "player:NOBODY", standings.clone());
    assert_eq!(code(&post(url, &unregistered).await.1), "E005");

    // Duplicate id -> E006 (not a second token).
    let (_, v) = post(url, &register_msg("P01", "http://127.0.0.1:9/mcp")).await;
    assert_eq!(code(&v), "E006", "{v}");
    assert!(v["result"].is_null());

    // Referees are in-process: a remote one is rejected; a result report from
    // anyone else is refused.
    let reg_ref = rpc(
        "register_referee",
        "REFEREE_REGISTER_REQUEST",
        "referee:R9",
        None,
        json!({"referee_meta": {"display_name": "r", "version": "1", "game_types": ["even_odd"],
               "contact_endpoint": "http://127.0.0.1:9/mcp", "max_concurrent_matches": 2}}),
    );
    assert_eq!(post(url, &reg_ref).await.1["result"]["status"], "REJECTED");
    let report = rpc(
        "report_match_result",
        "MATCH_RESULT_REPORT",
        "player:P01",
        Some(&token),
        json!({"league_id": "L1", "round_id": 1, "match_id": "R1M1", "game_type": "even_odd",
               "result": {"winner": "P01", "score": {"P01": 3, "P06": 0}, "details": {}}}),
    );
    assert_eq!(code(&post(url, &report).await.1), "E005");

    // START_LEAGUE needs the admin token.
    let start = |tok| {
        rpc(
            "start_league",
            "START_LEAGUE",
            "league_manager:admin",
            tok,
            json!({}),
        )
    };
    assert_eq!(code(&post(url, &start(Some("guess"))).await.1), "E012");

    // Rate limit: a burst beyond the bucket gets E011 for that sender only.
    let mut limited = 0;
    for _ in 0..150 {
        if code(
            &post(url, &q(Some(&token), "player:P01", standings.clone()))
                .await
                .1,
        ) == "E011"
        {
            limited += 1;
        }
    }
    assert!(limited > 0, "burst of 150 against a bucket of 100");
    let (_, v) = post(url, &q(Some("x"), "player:P06", standings.clone())).await;
    assert_eq!(code(&v), "E012", "other senders are not limited");

    // Still serving.
    let health = client()
        .get(format!("http://{}/health", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = client()
        .get(format!("http://{}/ready", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    let metrics = client()
        .get(format!("http://{}/metrics", s.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("league_request_errors_total{kind=\"E012\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("league_players 2"));
    let nowhere = client()
        .get(format!("http://{}/nowhere", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_player_accepts_only_its_league() {
    let s = serve(serve_config(GameType::EvenOdd, 0, &[])).await;
    let (addr, _h) = player("P01", "random", &s.url).await;
    let url = format!("http://{addr}/mcp");
    let token = registered_token(&s, addr).await;
    let call = |sender: &str, tok: Option<&str>| {
        rpc(
            "choose_parity",
            "CHOOSE_PARITY_CALL",
            sender,
            tok,
            json!({"match_id": "R1M1", "player_id": "P01", "game_type": "even_odd",
                   "context": {"opponent_id": "P02", "round_id": 1, "your_standings": {"wins": 0, "losses": 0, "draws": 0}},
                   "deadline": "2030-01-01T00:00:00Z"}),
        )
    };
    assert_eq!(
        code(&post(&url, &call("referee:REF01", None)).await.1),
        "E012"
    );
    assert_eq!(
        code(&post(&url, &call("referee:REF01", Some("nope"))).await.1),
        "E012"
    );
    assert_eq!(
        code(&post(&url, &call("player:P02", Some(&token))).await.1),
        "E013"
    );
    let (_, v) = post(&url, &call("referee:REF01", Some(&token))).await;
    let choice = v["result"]["parity_choice"].as_str().unwrap_or("?");
    assert!(choice == "even" || choice == "odd", "{v}");
    assert_eq!(v["result"]["sender"], "player:P01");
    let mut other = call("referee:REF01", Some(&token));
    other["params"]["player_id"] = json!("P02");
    assert_eq!(code(&post(&url, &other).await.1), "E013");
    let mut bad = call("referee:REF01", Some(&token));
    bad["params"]["context"]["round_id"] = json!([1]);
    assert_eq!(code(&post(&url, &bad).await.1), "E004");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_player_throttles_only_strangers() {
    let s = serve(serve_config(GameType::EvenOdd, 0, &[])).await;
    let (addr, _h) = player("P01", "random", &s.url).await;
    let url = format!("http://{addr}/mcp");
    let token = registered_token(&s, addr).await;
    let note = |tok: Option<&str>| {
        rpc(
            "notify_round",
            "ROUND_ANNOUNCEMENT",
            "referee:REF01",
            tok,
            json!({"league_id": "L1", "round_id": 1, "matches": []}),
        )
    };
    let mut codes = std::collections::HashMap::new();
    for _ in 0..60 {
        *codes
            .entry(code(&post(&url, &note(Some("bad"))).await.1).to_owned())
            .or_insert(0) += 1;
    }
    assert!(codes.get("E011").copied().unwrap_or(0) > 0, "{codes:?}");
    assert!(codes.get("E012").copied().unwrap_or(0) > 0, "{codes:?}");
    for _ in 0..200 {
        let (_, v) = post(&url, &note(Some(&token))).await;
        assert_eq!(v["result"]["status"], "ok", "{v}");
    }
}
