//! pmd_dungeon on the real emulator (the bundled cartridge): a league of
//! four native players runs to completion and the standings and both
//! ratings put heuristic and search above the random players; every match
//! replays, step for step, through the replay tool; the command line
//! writes a GIF of it and refuses bad input.

mod league_common;

use std::sync::Arc;

use league_common::{dungeons, policies, BIN};
use pmd_agent::league::game::dungeon::DungeonFactory;
use pmd_agent::league::game::GameType;
use pmd_agent::league::manager::{LeagueSettings, Manager, ManagerConfig, Mode};
use pmd_agent::league::pmd::{replay_plan, PmdDungeonFactory};
use pmd_agent::league::store::Store;
use pmd_agent::replay::replay;
use std::process::Command;

fn settings() -> LeagueSettings {
    let mut s = LeagueSettings::new(Mode::Run, GameType::PmdDungeon);
    s.natives = ["random", "heuristic", "search", "random"]
        .iter()
        .map(|x| x.to_string())
        .collect();
    // Enough turns for the heuristic (about 70 turns a floor on the
    // cartridge) to leave floor 1, which random never does.
    s.turn_budget = 200;
    s.seed = 11;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heuristic_and_search_rank_above_random_and_every_match_replays() {
    let mut cfg = ManagerConfig::new(settings());
    cfg.bt.bootstrap = 200;
    cfg.referee_capacity = 2;
    let store = Arc::new(Store::in_memory().unwrap());
    let m = Manager::open(cfg, store.clone(), policies(), Some(dungeons())).unwrap();
    let report = m.run().await.unwrap();
    assert_eq!(report.status, "completed");
    assert_eq!(report.matches_played, 6);
    let rank = |id: &str| {
        report
            .standings
            .iter()
            .find(|r| r.player_id == id)
            .unwrap()
            .rank
    };
    let bt = |id: &str| {
        report
            .bradley_terry
            .iter()
            .find(|r| r.player_id == id)
            .unwrap()
            .rating
    };
    let gl = |id: &str| {
        report
            .glicko
            .iter()
            .find(|r| r.player_id == id)
            .unwrap()
            .rating
    };
    for smart in ["heuristic", "search"] {
        for dumb in ["random", "random-2"] {
            assert!(
                rank(smart) < rank(dumb),
                "{smart} vs {dumb}: {:?}",
                report.standings
            );
            assert!(
                bt(smart) > bt(dumb) && gl(smart) > gl(dumb),
                "{smart} vs {dumb}: {report:#?}"
            );
        }
    }

    // Every match is replayable: seed and actions, checked step by step
    // against the positions recorded during the league.
    let factory = PmdDungeonFactory::cartridge().unwrap();
    let rom = factory.rom().clone();
    for r in store.results(&report.league_id).unwrap() {
        let recorded = store.match_replay(&report.league_id, &r.match_id).unwrap();
        assert_eq!(recorded.seed, r.details["seed"].as_u64().unwrap());
        for p in &recorded.players {
            let runs = &r.details["runs"][&p.player_id];
            assert_eq!(p.moves.len() as u64, runs["turns"].as_u64().unwrap());
            let plan = replay_plan(&recorded, &p.player_id, &factory.descriptor()).unwrap();
            let frames = replay(&rom, None, plan.seed, &plan.steps)
                .unwrap_or_else(|e| panic!("{} {}: {e}", r.match_id, p.player_id));
            assert!(frames.len() > 1);
            let last = plan.steps.last().unwrap();
            assert_eq!(
                u64::from(last.floor),
                runs["deepest_floor"].as_u64().unwrap().min(10)
            );
        }
        assert!(replay_plan(&recorded, "nobody", &factory.descriptor()).is_err());
        assert!(replay_plan(&recorded, &recorded.players[0].player_id, "B24E other").is_err());
    }

    // The same settings on the same database report the same league.
    let again = Manager::open(
        ManagerConfig::new(settings()),
        store.clone(),
        policies(),
        Some(dungeons()),
    )
    .unwrap();
    let second = again.run().await.unwrap();
    assert_eq!(second.league_id, report.league_id);
    assert_eq!(second.standings, report.standings);
    assert_eq!(store.league_count().unwrap(), 1);
}

fn pmd_agent(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn the_command_line_plays_replays_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let db_arg = db.to_str().unwrap();
    let out = pmd_agent(&[
        "league",
        "run",
        "--game",
        "pmd_dungeon",
        "--players",
        "heuristic,random",
        "--turns",
        "40",
        "--seed",
        "3",
        "--json",
        "--db",
        db_arg,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["matches_played"], 1);

    let gif = dir.path().join("r.gif");
    let out = pmd_agent(&[
        "league",
        "replay",
        "--db",
        db_arg,
        "--match",
        "R1M1",
        "--player",
        "heuristic",
        "--gif",
        gif.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&gif).unwrap();
    assert!(bytes.starts_with(b"GIF89a"));

    let not_a_db = dir.path().join("x.db");
    std::fs::write(&not_a_db, vec![7u8; 4096]).unwrap();
    // clap's own refusal: exit code 2 (its message has a usage hint).
    let out = pmd_agent(&[
        "league",
        "run",
        "--players",
        "random,random",
        "--game",
        "chess",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let bad: [&[&str]; 5] = [
        &["league", "run", "--players", "random,greedy"],
        &["league", "run", "--players", "random", "--game", "even_odd"],
        &[
            "league",
            "run",
            "--players",
            "random,random",
            "--db",
            not_a_db.to_str().unwrap(),
        ],
        &[
            "league",
            "replay",
            "--db",
            db_arg,
            "--match",
            "R9M9",
            "--player",
            "heuristic",
            "--gif",
            "/tmp/x.gif",
        ],
        &[
            "league",
            "replay",
            "--db",
            db_arg,
            "--match",
            "R1M1",
            "--player",
            "nobody",
            "--gif",
            "/tmp/x.gif",
        ],
    ];
    for args in bad {
        let out = pmd_agent(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    }
}

/// The lean `league-player` (no emulator) plays pmd_dungeon from the
/// state the referee sends: two of them and a heuristic native under
/// `league serve` finish the league with every match played and no
/// technical loss (an illegal or missing answer would be one), and the
/// players exit by themselves.
#[test]
fn lean_players_play_pmd_dungeon_from_the_sent_state() {
    use std::process::Stdio;
    let lean = std::path::Path::new(BIN).with_file_name("league-player");
    assert!(
        lean.is_file(),
        "{} is missing: build the workspace",
        lean.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let port = league_common::free_port();
    let manager = Command::new(BIN)
        .args([
            "league",
            "serve",
            "--game",
            "pmd_dungeon",
            "--start-when",
            "3",
        ])
        .args(["--once", "--json", "--turns", "40", "--native", "heuristic"])
        .arg("--db")
        .arg(dir.path().join("l.db"))
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    league_common::wait_listening(port);
    let players: Vec<_> = ["lean-a", "lean-b"]
        .iter()
        .map(|id| {
            Command::new(&lean)
                .args(["--id", id, "--addr", "127.0.0.1:0"])
                .args(["--manager", &format!("http://127.0.0.1:{port}/mcp")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let out = manager.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "completed", "{report}");
    assert_eq!(report["matches_played"], 3, "{report}");
    for row in report["standings"].as_array().unwrap() {
        assert_eq!(row["technical_losses"], 0, "{report}");
    }
    for p in players {
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
