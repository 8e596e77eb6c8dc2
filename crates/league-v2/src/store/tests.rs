use super::*;
use serde_json::json;

fn native(id: &str) -> PlayerRow {
    PlayerRow {
        player_id: id.into(),
        display_name: id.into(),
        kind: PlayerKind::Native,
        spec: "random".into(),
        auth_token: None,
    }
}

fn schedule() -> Vec<MatchRow> {
    vec![
        MatchRow {
            match_id: "R1M1".into(),
            round: 1,
            player_a: "a".into(),
            player_b: "b".into(),
            referee_id: "REF01".into(),
            seed: u64::MAX - 3,
        },
        MatchRow {
            match_id: "R2M1".into(),
            round: 2,
            player_a: "b".into(),
            player_b: "a".into(),
            referee_id: "REF01".into(),
            seed: 5,
        },
    ]
}

fn record(id: &str) -> MatchRecord {
    MatchRecord {
        match_id: id.into(),
        status: GameStatus::Win,
        winner: Some("a".into()),
        details: json!({"drawn_number": 4}),
        moves: vec![
            ("a".into(), vec![MoveRecord::plain("even")]),
            (
                "b".into(),
                vec![MoveRecord {
                    action: "move_up".into(),
                    after: Some(StepAfter {
                        floor: 2,
                        hp: -1,
                        x: 55,
                        y: 31,
                        rolled_back: true,
                    }),
                }],
            ),
        ],
    }
}

#[test]
fn league_lifecycle_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let league = {
        let s = Store::open(&path, Durability::Process).unwrap();
        let l = s
            .create_league(
                GameType::EvenOdd,
                &json!({"x": 1}),
                "key",
                &[native("a"), native("b")],
            )
            .unwrap();
        assert_eq!(l.id, "L1");
        s.start_league(&l.id, &schedule()).unwrap();
        assert_eq!(
            s.record_result(&l.id, &record("R1M1")).unwrap(),
            Recorded::Inserted
        );
        l
    };
    let s = Store::open(&path, Durability::Process).unwrap();
    let l = s.find_league("key").unwrap().unwrap();
    assert_eq!(l.id, league.id);
    assert_eq!(l.status, LeagueStatus::Running);
    assert_eq!(l.config, json!({"x": 1}));
    assert_eq!(s.players(&l.id).unwrap().len(), 2);
    let m = s.matches(&l.id).unwrap();
    assert_eq!(m, schedule(), "seeds keep all 64 bits");
    let r = s.results(&l.id).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].winner.as_deref(), Some("a"));
    assert_eq!(r[0].player_b, "b");
    // a second schedule is ignored
    s.start_league(&l.id, &schedule()[..1]).unwrap();
    assert_eq!(s.matches(&l.id).unwrap().len(), 2);
    s.complete_league(&l.id).unwrap();
    assert_eq!(
        s.league(&l.id).unwrap().unwrap().status,
        LeagueStatus::Completed
    );
}

#[test]
fn results_are_recorded_once() {
    let s = Store::in_memory().unwrap();
    let l = s
        .create_league(
            GameType::EvenOdd,
            &json!({}),
            "k",
            &[native("a"), native("b")],
        )
        .unwrap();
    s.start_league(&l.id, &schedule()).unwrap();
    assert_eq!(
        s.record_result(&l.id, &record("R1M1")).unwrap(),
        Recorded::Inserted
    );
    let mut again = record("R1M1");
    again.winner = Some("b".into());
    assert_eq!(s.record_result(&l.id, &again).unwrap(), Recorded::Duplicate);
    let r = s.results(&l.id).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].winner.as_deref(), Some("a"), "first record stands");
    let replay = s.match_replay(&l.id, "R1M1").unwrap();
    assert_eq!(replay.seed, u64::MAX - 3);
    assert_eq!(replay.details["drawn_number"], 4);
    assert_eq!(replay.players[0].moves, record("R1M1").moves[0].1);
    assert_eq!(replay.players[1].moves, record("R1M1").moves[1].1);
    assert!(matches!(
        s.match_replay(&l.id, "R1M2"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.record_result(&l.id, &record("R9M9")),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.match_replay(&l.id, "R9M9"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn duplicate_players_are_refused_and_rounds_complete() {
    let s = Store::in_memory().unwrap();
    let l = s
        .create_league(GameType::PmdDungeon, &json!({}), "k", &[native("a")])
        .unwrap();
    assert!(matches!(
        s.add_player(&l.id, &native("a")),
        Err(StoreError::Duplicate(_))
    ));
    s.add_player(&l.id, &native("b")).unwrap();
    assert_eq!(
        s.players(&l.id)
            .unwrap()
            .iter()
            .map(|p| p.player_id.as_str())
            .collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    s.start_league(&l.id, &schedule()).unwrap();
    let snap = StandingSnapshot {
        player_id: "a".into(),
        rank: 1,
        played: 1,
        wins: 1,
        draws: 0,
        losses: 0,
        technical_losses: 0,
        points: 3,
    };
    let rating = RatingSnapshot {
        player_id: "a",
        rating: 1600.0,
        deviation: 200.0,
        volatility: 0.06,
    };
    s.complete_round(&l.id, 1, std::slice::from_ref(&snap), &[rating])
        .unwrap();
    assert_eq!(s.completed_rounds(&l.id).unwrap(), vec![1]);
    assert_eq!(s.standings_after(&l.id, 1).unwrap(), vec![snap]);
    s.ping().unwrap();
}

#[test]
fn refuses_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 7).unwrap();
    }
    assert!(matches!(
        Store::open(&path, Durability::Process),
        Err(StoreError::Corrupt(_))
    ));
}
