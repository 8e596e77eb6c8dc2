//! League figures over loopback HTTP (127.0.0.1 only), printed as JSON lines.
//!
//! `cargo bench --bench league -- [latency|concurrent|league|lean|python|all] [--matches N] [--concurrent N] [--runs N] [--players N]`
//!
//! Run by `cargo test --all-targets` (no `--bench` argument), every suite
//! runs once at a small size (20 sequential and 50 concurrent matches, one
//! league of each kind) so that it cannot rot; the figures come from
//! `cargo bench`.
//!
//! - `latency`: 4 `pmd-agent league player` processes; one referee plays even_odd
//!   matches against them one after another (invitations, choices, GAME_OVER,
//!   result committed to SQLite) and reports p50/p99 per match.
//! - `concurrent`: the same players; N matches started at once on one
//!   referee of capacity N; reports errors (technical losses or unrecorded
//!   results), wall time, throughput, latency under load, players' peak RSS.
//! - `league`: `pmd-agent league serve` + 4 (`--players N`) `pmd-agent
//!   league player` processes, a full even_odd league; wall time, time after
//!   the last registration, peak RSS (VmHWM) of the manager and of the
//!   players, and the largest anonymous and file-backed resident sets
//!   sampled (RssAnon, RssFile). Three runs (`--runs N`).
//! - `lean`: the same with the lean `league-player` binary (no emulator,
//!   no libtorch; `cargo build --release -p league-player` first).
//! - `python`: the same with 4 Python players that behave on the wire like
//!   the best-known public player (tests/python/league_player.py).
//!
//! Every loop is bounded; every process is stopped at the end.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pmd_agent::league::client::ClientConfig;
use pmd_agent::league::game::GameType;
use pmd_agent::league::manager::{LeagueSettings, Manager, ManagerConfig, Mode};
use pmd_agent::league::metrics::Metrics;
use pmd_agent::league::pmd::PmdPolicyFactory;
use pmd_agent::league::referee::{MatchContext, MatchSpec, Referee, Seat};
use pmd_agent::league::store::{Durability, MatchRow, Store};
use serde_json::{json, Value};

#[path = "../tests/league_common/mod.rs"]
mod league_common;
use league_common::{free_port, python, wait_listening, BIN, PYTHON_PLAYER};

/// A field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Largest values seen of a process's memory fields while sampling it.
#[derive(Debug, Default, Clone, Copy)]
struct Peaks {
    vm_hwm: Option<u64>,
    rss_anon: Option<u64>,
    rss_file: Option<u64>,
}

impl Peaks {
    fn sample(&mut self, pid: u32) {
        let max = |a: Option<u64>, b: Option<u64>| a.max(b);
        self.vm_hwm = max(self.vm_hwm, status_kib(pid, "VmHWM:"));
        self.rss_anon = max(self.rss_anon, status_kib(pid, "RssAnon:"));
        self.rss_file = max(self.rss_file, status_kib(pid, "RssFile:"));
    }

    fn json(&self) -> Value {
        json!({"vmhwm_kib": self.vm_hwm, "max_rss_anon_kib": self.rss_anon,
               "max_rss_file_kib": self.rss_file})
    }
}

fn rust_player(id: &str, manager_port: u16) -> Child {
    Command::new(BIN)
        .args([
            "league",
            "player",
            "--policy",
            "random",
            "--addr",
            "127.0.0.1:0",
            "--id",
            id,
        ])
        .args(["--manager", &format!("http://127.0.0.1:{manager_port}/mcp")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The lean player binary (crates/league-player): `PMD_LEAN_PLAYER`, else
/// the one built beside `pmd-agent` by the same workspace build. Its
/// figures in BENCHMARKS.md are of the `lean` profile's build
/// (`cargo build --profile lean -p league-player`).
fn lean_bin() -> std::path::PathBuf {
    let bin = std::env::var_os("PMD_LEAN_PLAYER")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(BIN).with_file_name("league-player"));
    assert!(
        bin.is_file(),
        "{} is missing: cargo build -p league-player (--release for cargo bench)",
        bin.display()
    );
    bin
}

fn lean_player(id: &str, manager_port: u16) -> Child {
    Command::new(lean_bin())
        .args(["--addr", "127.0.0.1:0", "--id", id])
        .args(["--manager", &format!("http://127.0.0.1:{manager_port}/mcp")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Which player processes a league runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Players {
    /// `pmd-agent league player --policy random`.
    Agent,
    /// The lean `league-player` binary.
    Lean,
    /// The Python fixture player.
    Python,
}

impl Players {
    fn suite(self) -> &'static str {
        match self {
            Players::Agent => "league",
            Players::Lean => "lean",
            Players::Python => "python",
        }
    }
}

fn python_player(id: &str, manager_port: u16) -> Child {
    Command::new(python())
        .arg(PYTHON_PLAYER)
        .args(["--id", id, "--port", &free_port().to_string()])
        .args(["--manager", &format!("http://localhost:{manager_port}/mcp")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// An in-process manager the player processes register with (for their
/// tokens), and the seats built from their registrations.
async fn registered_players(n: usize) -> (Manager, Vec<Seat>, Vec<Child>) {
    let store = Arc::new(Store::in_memory().unwrap());
    let mut s = LeagueSettings::new(Mode::Serve, GameType::EvenOdd);
    s.start_when = 0;
    let manager = Manager::open(
        ManagerConfig::new(s),
        store.clone(),
        Arc::new(PmdPolicyFactory),
        None,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(pmd_agent::league::http::serve(
        listener,
        manager.router(),
        std::future::pending(),
    ));
    let players: Vec<Child> = (0..n)
        .map(|i| rust_player(&format!("P{i:02}"), port))
        .collect();
    let until = Instant::now() + Duration::from_secs(30);
    while manager.player_count().await < n {
        assert!(Instant::now() < until, "players did not register");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seats = store
        .players(manager.league_id())
        .unwrap()
        .into_iter()
        .map(|p| Seat::Remote {
            player_id: p.player_id,
            endpoint: p.spec,
            token: p.auth_token,
        })
        .collect();
    (manager, seats, players)
}

/// A referee whose reports are committed to a WAL SQLite file, as the
/// manager's are.
struct Bench {
    referee: Referee,
    store: Arc<Store>,
    league_id: String,
    rows: Vec<MatchRow>,
    _dir: tempfile::TempDir,
}

fn bench_referee(seats: &[Seat], matches: usize, capacity: usize) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("bench.db"), Durability::Process).unwrap());
    let ids: Vec<&str> = seats.iter().map(Seat::player_id).collect();
    let league = store
        .create_league(GameType::EvenOdd, &json!({}), "bench", &[])
        .unwrap();
    let pairs: Vec<(usize, usize)> = (0..ids.len())
        .flat_map(|i| (i + 1..ids.len()).map(move |j| (i, j)))
        .collect();
    let rows: Vec<MatchRow> = (0..matches)
        .map(|k| {
            let (a, b) = pairs[k % pairs.len()];
            MatchRow {
                match_id: format!("B{k}"),
                round: 1,
                player_a: ids[a].to_owned(),
                player_b: ids[b].to_owned(),
                referee_id: "REF01".into(),
                seed: k as u64,
            }
        })
        .collect();
    store.start_league(&league.id, &rows).unwrap();
    let metrics = Arc::new(Metrics::new());
    let client = Arc::new(
        pmd_agent::league::client::RpcClient::new(ClientConfig::default(), metrics.clone())
            .unwrap(),
    );
    let outbox = Arc::new(pmd_agent::league::referee::Outbox::new(client.clone()));
    let ctx = Arc::new(MatchContext {
        league_id: league.id.clone(),
        league_seed: 1,
        game: GameType::EvenOdd,
        turn_budget: 0,
        points: Default::default(),
        client,
        metrics,
        policies: Arc::new(PmdPolicyFactory),
        dungeons: None,
        outbox,
        frames: None,
    });
    Bench {
        referee: Referee::new("REF01", capacity, ctx),
        store,
        league_id: league.id,
        rows,
        _dir: dir,
    }
}

/// Plays match `k`; returns (seconds, ok).
async fn play(b: &Bench, seats: &[Seat], k: usize) -> (f64, bool) {
    let row = &b.rows[k];
    let seat = |id: &str| seats.iter().find(|s| s.player_id() == id).unwrap().clone();
    let spec = MatchSpec {
        round: 1,
        match_id: row.match_id.clone(),
        seed: row.seed,
        a: seat(&row.player_a),
        b: seat(&row.player_b),
        record_a: Default::default(),
        record_b: Default::default(),
    };
    let (store, id) = (b.store.clone(), b.league_id.clone());
    let played = b
        .referee
        .run(spec, |report, record| async move {
            tokio::task::spawn_blocking(move || store.record_result(&id, &record))
                .await
                .unwrap()
                .map(|_| pmd_agent::league::protocol::messages::MatchResultAck {
                    match_id: report.match_id,
                    status: "recorded".into(),
                })
                .map_err(|e| {
                    pmd_agent::league::error::ProtocolError::new(
                        pmd_agent::league::error::ErrorCode::E017,
                        e.to_string(),
                    )
                })
        })
        .await;
    let ok = played.ack.is_ok()
        && played.record.status != pmd_agent::league::protocol::messages::GameStatus::TechnicalLoss;
    (played.elapsed.as_secs_f64(), ok)
}

async fn latency(matches: usize) -> Value {
    let (_m, seats, players) = registered_players(4).await;
    let b = bench_referee(&seats, matches + 50, 1);
    for k in 0..50 {
        play(&b, &seats, k).await; // warm-up: connections, pages
    }
    let mut times = Vec::with_capacity(matches);
    let mut errors = 0;
    let t0 = Instant::now();
    for k in 50..50 + matches {
        let (t, ok) = play(&b, &seats, k).await;
        times.push(t * 1e3);
        errors += usize::from(!ok);
    }
    let wall = t0.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    players.into_iter().for_each(stop);
    json!({"suite": "latency", "players": 4, "matches": matches, "errors": errors,
           "p50_ms": quantile(&times, 0.5), "p90_ms": quantile(&times, 0.9), "p99_ms": quantile(&times, 0.99),
           "max_ms": times.last(), "matches_per_s": matches as f64 / wall})
}

async fn concurrent(n: usize) -> Value {
    let (_m, seats, players) = registered_players(4).await;
    let b = Arc::new(bench_referee(&seats, n + 50, n));
    for k in 0..50 {
        play(&b, &seats, k).await;
    }
    let seats = Arc::new(seats);
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for k in 50..50 + n {
        let (b, seats) = (b.clone(), seats.clone());
        set.spawn(async move { play(&b, &seats, k).await });
    }
    let mut times = Vec::with_capacity(n);
    let mut errors = 0;
    while let Some(r) = set.join_next().await {
        let (t, ok) = r.unwrap();
        times.push(t * 1e3);
        errors += usize::from(!ok);
    }
    let wall = t0.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let recorded = b.store.results(&b.league_id).unwrap().len() - 50;
    let rss: Vec<Value> = players
        .iter()
        .map(|p| {
            let mut m = Peaks::default();
            m.sample(p.id());
            m.json()
        })
        .collect();
    players.into_iter().for_each(stop);
    json!({"suite": "concurrent", "players": 4, "matches_at_once": n, "errors": errors, "recorded": recorded,
           "wall_s": wall, "matches_per_s": n as f64 / wall,
           "p50_ms": quantile(&times, 0.5), "p99_ms": quantile(&times, 0.99),
           "players_mem": rss})
}

/// An `n`-player league with `pmd-agent league serve` and player processes.
fn league_run(kind: Players, n: usize) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut manager = Command::new(BIN)
        .args([
            "league",
            "serve",
            "--game",
            "even_odd",
            "--start-when",
            &n.to_string(),
            "--json",
            "--addr",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--db")
        .arg(dir.path().join("league.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port);
    let t0 = Instant::now();
    let mut players: Vec<Child> = (1..=n)
        .map(|i| {
            let id = format!("P{i:02}");
            match kind {
                Players::Agent => rust_player(&id, port),
                Players::Lean => lean_player(&id, port),
                Players::Python => python_player(&id, port),
            }
        })
        .collect();
    // The report comes as one line on the manager's stdout; meanwhile every
    // process's memory is sampled.
    let stdout = manager.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        line
    });
    let mut manager_mem = Peaks::default();
    let mut player_mem = vec![Peaks::default(); players.len()];
    let give_up = Instant::now() + Duration::from_secs(120);
    while !reader.is_finished() && Instant::now() < give_up {
        manager_mem.sample(manager.id());
        for (p, m) in players.iter().zip(&mut player_mem) {
            m.sample(p.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = t0.elapsed().as_secs_f64();
    manager_mem.sample(manager.id());
    if !reader.is_finished() {
        let _ = manager.kill();
    }
    let line = reader.join().unwrap_or_default();
    let report: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    // The players linger about a second after LEAGUE_COMPLETED: keep
    // sampling until they exit by themselves.
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until
        && players
            .iter_mut()
            .any(|p| p.try_wait().ok().flatten().is_none())
    {
        for (p, m) in players.iter().zip(&mut player_mem) {
            m.sample(p.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let exited = players
        .iter_mut()
        .all(|p| p.try_wait().ok().flatten().is_some());
    players.into_iter().for_each(stop);
    let _ = Command::new("kill").arg(manager.id().to_string()).status();
    let _ = manager.wait();
    let tl: u64 = report["standings"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r["technical_losses"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    json!({"suite": kind.suite(), "players": n,
           "matches": report["matches_played"], "technical_losses": tl,
           "wall_s_from_first_player_start": wall,
           "play_s": report["timing"]["play_seconds"],
           "after_last_registration_s": report["timing"]["seconds_after_last_registration"],
           "manager": manager_mem.json(),
           "players_mem": player_mem.iter().map(Peaks::json).collect::<Vec<_>>(),
           "players_exited_by_themselves": exited})
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; `cargo test` does not: then every
    // suite runs once, small.
    let measuring = raw.iter().any(|a| a == "--bench");
    let args: Vec<String> = raw.into_iter().filter(|a| a != "--bench").collect();
    let suite = args
        .first()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_else(|| "all".into());
    let size = |name: &str, bench: usize, test: usize| {
        arg(&args, name, if measuring { bench } else { test })
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let all = suite == "all";
    let mut out = Vec::new();
    if all || suite == "latency" {
        out.push(rt.block_on(latency(size("--matches", 2000, 20))));
        println!("{}", out[out.len() - 1]);
    }
    if all || suite == "concurrent" {
        out.push(rt.block_on(concurrent(size("--concurrent", 1000, 50))));
        println!("{}", out[out.len() - 1]);
    }
    for kind in [Players::Agent, Players::Lean, Players::Python] {
        if all || suite == kind.suite() {
            for _ in 0..size("--runs", 3, 1) {
                out.push(league_run(kind, arg(&args, "--players", 4)));
                println!("{}", out[out.len() - 1]);
            }
        }
    }
    if !measuring {
        // As a test: every suite ran clean.
        for v in &out {
            assert!(v.get("errors").is_none_or(|e| e == 0), "{v}");
            assert!(v.get("technical_losses").is_none_or(|e| e == 0), "{v}");
            if ["league", "lean", "python"].contains(&v["suite"].as_str().unwrap_or("")) {
                assert!(v["matches"].as_u64().is_some_and(|m| m > 0), "{v}");
                assert_eq!(v["players_exited_by_themselves"], true, "{v}");
            }
        }
    }
}
