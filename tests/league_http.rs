//! Whole leagues over loopback HTTP with hosted Rust players.

mod league_common;

use std::sync::Arc;
use std::time::Duration;

use league_common::*;
use pmd_agent::league::game::GameType;
use pmd_agent::league::protocol::messages::GameStatus;
use pmd_agent::league::store::{Durability, Store};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn even_odd_league_with_remote_players_completes() {
    let s = serve(serve_config(GameType::EvenOdd, 4, &[])).await;
    let mut handles = Vec::new();
    for (i, policy) in ["random", "heuristic", "search", "random"]
        .iter()
        .enumerate()
    {
        handles.push(player(&format!("P0{}", i + 1), policy, &s.url).await.1);
    }
    let report = tokio::time::timeout(Duration::from_secs(30), s.manager.run())
        .await
        .expect("league finishes")
        .unwrap();
    assert_eq!(report.status, "completed");
    assert_eq!(report.matches, 6);
    assert_eq!(report.matches_played, 6);
    assert!(
        report.standings.iter().all(|r| r.played == 3),
        "{:?}",
        report.standings
    );
    let results = s.store.results(&report.league_id).unwrap();
    assert!(
        results
            .iter()
            .all(|r| r.status != GameStatus::TechnicalLoss),
        "{results:?}"
    );
    // Each even_odd result carries the choices the players sent.
    for r in &results {
        let choices = r.details["choices"].as_object().unwrap();
        assert_eq!(choices.len(), 2);
        let replay = s
            .store
            .match_replay(&report.league_id, &r.match_id)
            .unwrap();
        assert_eq!(replay.players[0].moves.len(), 1);
        assert_eq!(
            choices[&r.player_a],
            json!(replay.players[0].moves[0].action)
        );
    }
    // LEAGUE_COMPLETED makes every hosted player exit by itself.
    for h in handles {
        let reg = tokio::time::timeout(Duration::from_secs(10), h)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(reg.league_id, report.league_id);
    }
    let text = s.manager.metrics().encode();
    assert!(
        text.contains("league_matches_total{game=\"even_odd\""),
        "{text}"
    );
    assert!(text.contains("league_active_matches 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pmd_dungeon_league_with_remote_mirrors_and_natives() {
    let mut cfg = serve_config(GameType::PmdDungeon, 4, &["random", "heuristic"]);
    cfg.settings.turn_budget = 120;
    cfg.referee_capacity = 2;
    // Emulated turns on a loaded machine: a generous move deadline.
    cfg.client.timeouts.moves = Duration::from_secs(20);
    let s = serve(cfg).await;
    let (s1, h1) = player_lingering("S1", "search", &s.url, Duration::from_secs(5)).await;
    let (_, h2) = player("R1", "random", &s.url).await;
    let report = tokio::time::timeout(Duration::from_secs(120), s.manager.run())
        .await
        .expect("league finishes")
        .unwrap();
    assert_eq!(report.matches_played, 6);
    let results = s.store.results(&report.league_id).unwrap();
    assert!(
        results
            .iter()
            .all(|r| r.status != GameStatus::TechnicalLoss),
        "{results:?}"
    );
    let rank = |id: &str| {
        report
            .standings
            .iter()
            .find(|r| r.player_id == id)
            .unwrap()
            .rank
    };
    // the remote search player (acting on its own mirror of the dungeon) beats both randoms
    assert!(
        rank("S1") < rank("R1") && rank("S1") < rank("random"),
        "{:?}",
        report.standings
    );
    // moves are recorded for replay, one per turn played, with where the
    // leader stood after each
    for r in &results {
        let replay = s
            .store
            .match_replay(&report.league_id, &r.match_id)
            .unwrap();
        let runs = &r.details["runs"];
        for p in &replay.players {
            assert_eq!(
                p.moves.len() as u64,
                runs[&p.player_id]["turns"].as_u64().unwrap()
            );
            assert!(p.moves.iter().all(|m| m.after.is_some()));
        }
    }
    // S1 decided every turn with its own policy on its own copy of the
    // dungeon, never from the state alone.
    let text = client()
        .get(format!("http://{s1}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("league_decisions_total{kind=\"mirror\"}"),
        "{text}"
    );
    assert!(!text.contains("kind=\"fallback\""), "{text}");
    for h in [h1, h2] {
        tokio::time::timeout(Duration::from_secs(10), h)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_vanished_players_lose_technically() {
    let mut cfg = serve_config(GameType::EvenOdd, 3, &["random"]);
    cfg.client.timeouts.join = Duration::from_millis(300);
    cfg.client.timeouts.moves = Duration::from_millis(300);
    cfg.client.timeouts.other = Duration::from_millis(300);
    let s = serve(cfg).await;
    // A player that registers, then never answers: a listener that accepts
    // connections and says nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/mcp", silent.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            conns.push(c);
        }
    });
    let (_, v) = post(&s.url, &register_msg("MUTE", &silent_url)).await;
    assert_eq!(v["result"]["status"], "ACCEPTED");
    // A player that registers and is gone (nothing listens there).
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone_url = format!("http://{}/mcp", gone.local_addr().unwrap());
    drop(gone);
    let (_, v) = post(&s.url, &register_msg("GONE", &gone_url)).await;
    assert_eq!(v["result"]["status"], "ACCEPTED");
    let report = tokio::time::timeout(Duration::from_secs(30), s.manager.run())
        .await
        .expect("league finishes")
        .unwrap();
    assert_eq!(report.matches_played, 3);
    let results = s.store.results(&report.league_id).unwrap();
    for r in &results {
        assert_eq!(r.status, GameStatus::TechnicalLoss, "{r:?}");
        let reason = r.details["reason"].as_str().unwrap();
        if r.player_a == "random" || r.player_b == "random" {
            assert_eq!(r.winner.as_deref(), Some("random"), "{r:?}");
        } else {
            assert_eq!(r.winner, None, "both failed: {r:?}");
        }
        assert!(
            reason.contains("E001") || reason.contains("E009"),
            "{reason}"
        );
    }
    let row = |id: &str| {
        report
            .standings
            .iter()
            .find(|r| r.player_id == id)
            .unwrap()
            .clone()
    };
    assert_eq!(row("random").points, 6);
    assert_eq!(row("MUTE").technical_losses, 2);
    assert_eq!(row("GONE").technical_losses, 2);
    let text = s.manager.metrics().encode();
    assert!(text.contains("league_timeouts_total"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_league_call_starts_with_the_players_present() {
    let s = serve(serve_config(GameType::EvenOdd, 0, &["random", "search"])).await;
    let run = tokio::spawn({
        let m = s.manager.clone();
        async move { m.run().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!run.is_finished(), "no start without the call");
    let (_, v) = post(&s.url, &start_league_msg()).await;
    assert_eq!(v["result"]["status"], "starting", "{v}");
    let report = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(report.matches_played, 1);
    // registration is closed now: E007
    let (_, v) = post(&s.url, &register_msg("LATE", "http://127.0.0.1:9/mcp")).await;
    assert_eq!(code(&v), "E007", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_mode_resumes_with_its_registered_players() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.db");
    let open = || Arc::new(Store::open(&path, Durability::Process).unwrap());
    let first = serve_with(serve_config(GameType::EvenOdd, 8, &[]), open()).await;
    let mut handles = Vec::new();
    for i in 1..=8 {
        handles.push(player(&format!("P{i}"), "random", &first.url).await.1);
    }
    let run = tokio::spawn({
        let m = first.manager.clone();
        async move { m.run().await }
    });
    // stop the manager (and its match tasks) as soon as the first round is in
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let league_id = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no round completed within a minute"
        );
        if let Ok(Some(l)) = first.store.find_league_any() {
            if !first.store.completed_rounds(&l.id).unwrap().is_empty() {
                break l.id;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    run.abort();
    let _ = run.await;
    let before = first.store.results(&league_id).unwrap().len();
    assert!((4..28).contains(&before), "{before} results when stopped");
    drop(first);

    // a new manager on the same database picks the league up
    let second = serve_with(serve_config(GameType::EvenOdd, 8, &[]), open()).await;
    assert_eq!(second.manager.league_id(), league_id);
    assert_eq!(second.manager.player_count().await, 8);
    let report = tokio::time::timeout(Duration::from_secs(60), second.manager.run())
        .await
        .expect("league finishes")
        .unwrap();
    assert_eq!(report.matches_played, 28);
    assert!(report.standings.iter().all(|r| r.played == 7));
    assert!(
        report.standings.iter().all(|r| r.technical_losses == 0),
        "{:?}",
        report.standings
    );
    for h in handles {
        tokio::time::timeout(Duration::from_secs(10), h)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
