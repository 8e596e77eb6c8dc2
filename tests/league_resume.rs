//! SIGKILL the manager at random points of a league, restart it each time,
//! and check that the league completes with every match recorded exactly
//! once and the very same results as a league that was never interrupted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod league_common;

use league_common::BIN;
use pmd_agent::league::seed;
use pmd_agent::league::store::Store;
use serde_json::Value;

/// A pmd_dungeon league on the cartridge: 12 matches, each two emulated
/// runs, so that it lasts long enough for kills to land in the middle.
fn args(db: &Path) -> Vec<String> {
    let players = "random,heuristic,random,heuristic";
    [
        "league",
        "run",
        "--game",
        "pmd_dungeon",
        "--players",
        players,
        "--rounds",
        "2",
        "--turns",
        "120",
        "--seed",
        "7",
        "--capacity",
        "1",
        "--bootstrap",
        "200",
        "--json",
        "--db",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([db.display().to_string()])
    .collect()
}

fn run_to_end(db: &Path) -> Value {
    let out = Command::new(BIN).args(args(db)).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Results recorded so far, read through a separate read-only connection
/// while the manager writes (0 before the database exists).
fn recorded(db: &Path) -> usize {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(c) = rusqlite::Connection::open_with_flags(db, flags) else {
        return 0;
    };
    let _ = c.busy_timeout(Duration::from_secs(1));
    c.query_row("SELECT COUNT(*) FROM results", [], |r| r.get::<_, i64>(0))
        .map(|n| n as usize)
        .unwrap_or(0)
}

enum Kill {
    /// This long after start (start-up, schedule creation, first matches).
    After(Duration),
    /// Once this many results are recorded.
    AtResults(usize),
}

#[test]
fn sigkill_at_random_points_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reference = run_to_end(&dir.path().join("reference.db"));
    let total = reference["matches"].as_u64().unwrap() as usize;
    assert_eq!(total, 12);

    let db = dir.path().join("killed.db");
    let seed = league_common::test_seed();
    let mut rng = seed::rng(seed, "kills");
    let mut targets: Vec<usize> = (0..4)
        .map(|_| 1 + rng.below(total as u32 - 1) as usize)
        .collect();
    targets.sort_unstable();
    let plan: Vec<Kill> =
        std::iter::once(Kill::After(Duration::from_millis(u64::from(rng.below(40)))))
            .chain(targets.iter().map(|&k| Kill::AtResults(k)))
            .collect();
    let mut mid_league = 0;
    for kill in &plan {
        let mut child = Command::new(BIN)
            .args(args(&db))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        match kill {
            Kill::After(d) => std::thread::sleep(*d),
            Kill::AtResults(k) => {
                let until = Instant::now() + Duration::from_secs(120);
                while recorded(&db) < *k
                    && Instant::now() < until
                    && child.try_wait().unwrap().is_none()
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "seed {seed}: the league ended before the kill"
        );
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let n = recorded(&db);
        if n > 0 && n < total {
            mid_league += 1;
        }
    }
    let resumed = run_to_end(&db);
    assert!(
        mid_league >= 3,
        "seed {seed}: only {mid_league} kills landed mid-league"
    );

    // every match exactly once (the key forbids more; count them anyway)
    let s = Store::open(&db, pmd_agent::league::store::Durability::Process).unwrap();
    assert_eq!(
        s.league_count().unwrap(),
        1,
        "seed {seed}: resumed, not restarted"
    );
    let l = s.find_league_any().unwrap().unwrap();
    let results = s.results(&l.id).unwrap();
    let matches = s.matches(&l.id).unwrap();
    assert_eq!(results.len(), total);
    let mut ids: Vec<&str> = results.iter().map(|r| r.match_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), matches.len());
    let played: u64 = resumed["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["played"].as_u64().unwrap())
        .sum();
    assert_eq!(played, 2 * total as u64);
    // and the same league as the uninterrupted one
    for key in [
        "standings",
        "glicko",
        "bradley_terry",
        "champion",
        "matches_played",
    ] {
        assert_eq!(resumed[key], reference[key], "seed {seed}: {key} differs");
    }
}
