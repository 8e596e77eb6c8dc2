//! The league as a service over loopback HTTP, every party its own
//! process, figures printed as JSON lines:
//!
//! `cargo bench --bench league_service -- [remote|stress|api|sse|all] [options]`
//!
//! Run by `cargo test --all-targets` (no `--bench` argument), every suite
//! runs once at a small size so that it cannot rot; the figures come from
//! `cargo bench`.
//!
//! - `remote` (`--cycles C`, default 100, the most a league takes): `league serve --referees 0
//!   --remote-referees`, one `league referee` process and 4 `league player`
//!   processes; every match goes the whole way: assignment to the referee
//!   (HTTP), invitations and choices to the players (HTTP), the result
//!   report to the manager (HTTP), its SQLite commit. A match is timed by
//!   an event-stream client from its `match_started` to its
//!   `match_finished` (published after the commit). The first 50 matches
//!   are warm-up.
//! - `stress` (`--players P --referees R --cycles C`, default 32, 16, 32):
//!   the manager, R referee processes (capacity 4 each) and P player
//!   processes play a round robin of C cycles (C·(P−1) rounds,
//!   C·P(P−1)/2 matches); wall time from the start (all players
//!   registered) to the end, and each process's CPU seconds and peak
//!   RSS (VmHWM), sampled from `/proc` until it exits.
//! - `api` (`--clients N --seconds S --interval-ms I`, default 200, 10,
//!   100): while a league of 16 players plays (1 referee process), N
//!   concurrent clients each read `GET …/standings` and `GET
//!   …/matches?per_page=50` in turn for S seconds, pausing I ms between
//!   requests (a dashboard polling; `--interval-ms 0`: back to back, the
//!   throughput); latency quantiles, requests per second, non-200 answers.
//! - `sse` (`--subscribers N`, default 1000): N event-stream clients
//!   subscribe before a 4-player league starts; every one must receive
//!   every event; reports how long the last subscriber got
//!   `league_completed` after the first, and the manager's peak RSS.
//!
//! Every loop is bounded; every process is stopped at the end.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "../tests/league_common/mod.rs"]
mod league_common;
use league_common::{free_port, wait_listening, BIN};

const ADMIN: &str = "bench-admin-secret";

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds (user + system) and VmHWM (KiB) of a live process.
fn proc_sample(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    // USER_HZ is 100 on Linux.
    Some((ticks / 100.0, hwm))
}

/// A process and the last CPU and memory figures seen of it.
struct Proc {
    kind: &'static str,
    child: Child,
    cpu_s: f64,
    hwm_kib: u64,
}

impl Proc {
    fn new(kind: &'static str, child: Child) -> Proc {
        Proc {
            kind,
            child,
            cpu_s: 0.0,
            hwm_kib: 0,
        }
    }

    fn sample(&mut self) {
        if let Some((cpu, hwm)) = proc_sample(self.child.id()) {
            self.cpu_s = self.cpu_s.max(cpu);
            self.hwm_kib = self.hwm_kib.max(hwm);
        }
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Figures per kind of process: count, CPU seconds (sum, max), peak RSS
/// (max, sum) in MiB.
fn by_kind(procs: &[Proc]) -> Value {
    let mut out = serde_json::Map::new();
    for kind in ["manager", "referee", "player"] {
        let ps: Vec<&Proc> = procs.iter().filter(|p| p.kind == kind).collect();
        if ps.is_empty() {
            continue;
        }
        let cpu: Vec<f64> = ps.iter().map(|p| p.cpu_s).collect();
        let mem: Vec<f64> = ps.iter().map(|p| p.hwm_kib as f64 / 1024.0).collect();
        out.insert(
            kind.into(),
            json!({"processes": ps.len(),
                   "cpu_s_sum": cpu.iter().sum::<f64>(),
                   "cpu_s_max": cpu.iter().cloned().fold(0.0, f64::max),
                   "peak_rss_mib_max": mem.iter().cloned().fold(0.0, f64::max),
                   "peak_rss_mib_sum": mem.iter().sum::<f64>()}),
        );
    }
    Value::Object(out)
}

fn spawn(args: &[String]) -> Child {
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A running league: the manager, its referees and players.
struct League {
    url: String,
    procs: Vec<Proc>,
    _dir: tempfile::TempDir,
}

impl League {
    /// `players` player processes (random), `referees` referee processes of
    /// `capacity`, `cycles` round-robin cycles; started by `START_LEAGUE`
    /// when `start_when` is 0, else when that many players registered.
    fn start(
        players: usize,
        referees: usize,
        capacity: usize,
        cycles: usize,
        start_when: usize,
    ) -> League {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut args = strings(&[
            "league",
            "serve",
            "--game",
            "even_odd",
            "--referees",
            "0",
            "--remote-referees",
            "--admin-token",
            ADMIN,
            "--bootstrap",
            "200",
            "--seed",
            "1",
            "--max-connections",
            "8192",
            "--max-in-flight",
            "4096",
        ]);
        args.extend(["--start-when".into(), start_when.to_string()]);
        args.extend(["--rounds".into(), cycles.to_string()]);
        args.extend(["--addr".into(), format!("127.0.0.1:{port}")]);
        args.extend(["--db".into(), dir.path().join("l.db").display().to_string()]);
        let mut procs = vec![Proc::new("manager", spawn(&args))];
        wait_listening(port);
        let manager = format!("{url}/mcp");
        for i in 0..referees {
            let p = free_port();
            procs.push(Proc::new(
                "referee",
                spawn(&[
                    "league".into(),
                    "referee".into(),
                    "--manager".into(),
                    manager.clone(),
                    "--addr".into(),
                    format!("127.0.0.1:{p}"),
                    "--id".into(),
                    format!("REF{i:02}"),
                    "--capacity".into(),
                    capacity.to_string(),
                ]),
            ));
        }
        // Referees first: with none registered, matches wait.
        let until = Instant::now() + Duration::from_secs(60);
        while referees_ready(&url) < referees {
            assert!(Instant::now() < until, "the referees did not register");
            std::thread::sleep(Duration::from_millis(20));
        }
        for i in 0..players {
            procs.push(Proc::new(
                "player",
                spawn(&[
                    "league".into(),
                    "player".into(),
                    "--policy".into(),
                    "random".into(),
                    "--manager".into(),
                    manager.clone(),
                    "--addr".into(),
                    "127.0.0.1:0".into(),
                    "--id".into(),
                    format!("P{i:02}"),
                ]),
            ));
        }
        League {
            url,
            procs,
            _dir: dir,
        }
    }

    fn sample(&mut self) {
        for p in &mut self.procs {
            p.sample();
        }
    }

    fn summary(&self) -> Value {
        get_json(&self.url, "/api/leagues/L1").unwrap_or(Value::Null)
    }

    /// Waits for `n` registered players (bounded).
    fn wait_players(&mut self, n: u64) {
        let until = Instant::now() + Duration::from_secs(120);
        while self.summary()["players"].as_u64().unwrap_or(0) < n {
            assert!(Instant::now() < until, "players did not register");
            self.sample();
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Samples every process until the league completes (bounded).
    fn wait_completed(&mut self, limit: Duration) -> Value {
        let until = Instant::now() + limit;
        loop {
            self.sample();
            let s = self.summary();
            if s["status"] == "completed" {
                return s;
            }
            assert!(Instant::now() < until, "the league did not complete: {s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// After the league: samples until the referees and players exit by
    /// themselves (bounded), then the manager's last sample.
    fn wind_down(&mut self) -> bool {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let mut all = true;
            for p in &mut self.procs {
                if p.kind != "manager" && !p.exited() {
                    p.sample();
                    all = false;
                }
            }
            if all {
                break;
            }
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(m) = self.procs.iter_mut().find(|p| p.kind == "manager") {
            m.sample();
        }
        true
    }
}

/// Live referees the manager reports ready (from `/ready`).
fn referees_ready(url: &str) -> usize {
    get_json(url, "/ready")
        .and_then(|v| v["referees"].as_u64())
        .unwrap_or(0) as usize
}

fn get_json(url: &str, path: &str) -> Option<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let r = reqwest::get(format!("{url}{path}")).await.ok()?;
        r.json().await.ok()
    })
}

fn start_message() -> Value {
    league_common::rpc(
        "start_league",
        "START_LEAGUE",
        "league_manager:admin",
        Some(ADMIN),
        json!({}),
    )
}

/// Reads an event stream: `(event name, data, when received)` until
/// `league_completed` or the deadline.
async fn read_events(
    client: reqwest::Client,
    url: String,
    limit: Duration,
) -> Vec<(String, Value, Instant)> {
    let mut out = Vec::new();
    let Ok(mut resp) = client
        .get(format!("{url}/api/leagues/L1/events"))
        .send()
        .await
    else {
        return out;
    };
    let until = Instant::now() + limit;
    let mut buf = String::new();
    while Instant::now() < until {
        let chunk = match tokio::time::timeout_at(until.into(), resp.chunk()).await {
            Ok(Ok(Some(c))) => c,
            _ => break,
        };
        let now = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ").or(line.strip_prefix("event:")) {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                    data.push_str(v);
                }
            }
            if name.is_empty() {
                continue;
            }
            let done = name == "league_completed";
            out.push((
                name,
                serde_json::from_str(&data).unwrap_or(Value::Null),
                now,
            ));
            if done {
                return out;
            }
        }
    }
    out
}

async fn post(url: &str, v: &Value) {
    let _ = reqwest::Client::new()
        .post(format!("{url}/mcp"))
        .json(v)
        .send()
        .await;
}

fn remote(rt: &tokio::runtime::Runtime, cycles: usize) -> Value {
    let mut league = League::start(4, 1, 2, cycles, 0);
    league.wait_players(4);
    let url = league.url.clone();
    let events = rt.spawn(read_events(
        reqwest::Client::new(),
        url.clone(),
        Duration::from_secs(600),
    ));
    std::thread::sleep(Duration::from_millis(300));
    rt.block_on(post(&url, &start_message()));
    let summary = league.wait_completed(Duration::from_secs(600));
    let events = rt.block_on(events).unwrap();
    let mut started = std::collections::HashMap::new();
    let mut lat = Vec::new();
    let mut errors = 0;
    for (name, data, at) in &events {
        let id = data["match_id"].as_str().unwrap_or_default().to_owned();
        match name.as_str() {
            "match_started" => {
                started.insert(id, *at);
            }
            "match_finished" => {
                if data["status"] == "TECHNICAL_LOSS" {
                    errors += 1;
                }
                if let Some(t0) = started.get(&id) {
                    lat.push(at.duration_since(*t0).as_secs_f64() * 1e3);
                }
            }
            _ => {}
        }
    }
    let played = lat.len();
    let warm = if played > 100 { 50 } else { 0 };
    let mut ms: Vec<f64> = lat[warm..].to_vec();
    ms.sort_by(f64::total_cmp);
    league.wind_down();
    json!({"suite": "remote", "players": 4, "referee_processes": 1, "matches": played,
           "timed": ms.len(), "errors": errors,
           "matches_recorded": summary["matches_played"],
           "p50_ms": quantile(&ms, 0.5), "p90_ms": quantile(&ms, 0.9),
           "p99_ms": quantile(&ms, 0.99), "max_ms": ms.last()})
}

fn stress(players: usize, referees: usize, cycles: usize) -> Value {
    let mut league = League::start(players, referees, 4, cycles, players);
    let t_spawn = Instant::now();
    league.wait_players(players as u64);
    let t0 = Instant::now();
    let summary = league.wait_completed(Duration::from_secs(3600));
    let wall = t0.elapsed().as_secs_f64();
    let exited = league.wind_down();
    let st = get_json(&league.url, "/api/leagues/L1/standings").unwrap_or(Value::Null);
    let tl: u64 = st["standings"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|s| s["technical_losses"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    let matches = summary["matches_played"].as_u64().unwrap_or(0);
    json!({"suite": "stress", "players": players, "referee_processes": referees,
           "cycles": cycles, "rounds": summary["rounds"], "matches": matches,
           "scheduled": summary["matches"], "technical_losses": tl,
           "registration_s": (t0 - t_spawn).as_secs_f64(),
           "wall_s": wall, "matches_per_s": matches as f64 / wall,
           "exited_by_themselves": exited, "processes": by_kind(&league.procs)})
}

fn api(rt: &tokio::runtime::Runtime, clients: usize, seconds: u64, interval_ms: u64) -> Value {
    // 16 players, 100 cycles: 12,000 matches, so that the league is still
    // playing while the clients read (the figures say whether it was).
    let mut league = League::start(16, 1, 8, 100, 0);
    league.wait_players(16);
    let url = league.url.clone();
    rt.block_on(post(&url, &start_message()));
    std::thread::sleep(Duration::from_millis(500));
    let (lat, bad) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(clients)
            .build()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for i in 0..clients {
            let (client, url) = (client.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut bad = 0u64;
                let mut k = i;
                while Instant::now() < until {
                    let path = if k % 2 == 0 {
                        "/api/leagues/L1/standings"
                    } else {
                        "/api/leagues/L1/matches?per_page=50"
                    };
                    k += 1;
                    let t = Instant::now();
                    match client.get(format!("{url}{path}")).send().await {
                        Ok(r) if r.status() == 200 => {
                            if r.bytes().await.is_err() {
                                bad += 1;
                            }
                        }
                        _ => bad += 1,
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                    if interval_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
                    }
                }
                (lat, bad)
            }));
        }
        let mut lat = Vec::new();
        let mut bad = 0;
        for t in tasks {
            let (l, b) = t.await.unwrap();
            lat.extend(l);
            bad += b;
        }
        (lat, bad)
    });
    let during = get_json(&url, "/api/leagues/L1").unwrap_or(Value::Null);
    league.sample();
    let mut ms = lat;
    ms.sort_by(f64::total_cmp);
    json!({"suite": "api", "clients": clients, "interval_ms": interval_ms,
           "offered_per_s": if interval_ms > 0 { clients as f64 * 1000.0 / interval_ms as f64 } else { f64::INFINITY },
           "seconds": seconds, "requests": ms.len(),
           "requests_per_s": ms.len() as f64 / seconds as f64, "errors": bad,
           "p50_ms": quantile(&ms, 0.5), "p90_ms": quantile(&ms, 0.9),
           "p99_ms": quantile(&ms, 0.99), "max_ms": ms.last(),
           "league_status_after": during["status"],
           "matches_played_after": during["matches_played"],
           "processes": by_kind(&league.procs)})
}

fn sse(rt: &tokio::runtime::Runtime, subscribers: usize) -> Value {
    let mut league = League::start(4, 1, 2, 3, 0);
    league.wait_players(4);
    let url = league.url.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(subscribers)
        .build()
        .unwrap();
    let t_sub = Instant::now();
    let tasks: Vec<_> = (0..subscribers)
        .map(|_| {
            rt.spawn(read_events(
                client.clone(),
                url.clone(),
                Duration::from_secs(120),
            ))
        })
        .collect();
    // Every stream open (the manager counts them) before the start.
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let text = rt
            .block_on(async {
                reqwest::get(format!("{url}/metrics"))
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()
            })
            .unwrap_or_default();
        let open = text
            .lines()
            .find(|l| l.starts_with("league_sse_subscribers "))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0) as usize;
        if open >= subscribers {
            break;
        }
        assert!(
            Instant::now() < until,
            "{open} of {subscribers} streams open"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let subscribe_s = t_sub.elapsed().as_secs_f64();
    rt.block_on(post(&url, &start_message()));
    let summary = league.wait_completed(Duration::from_secs(120));
    let got: Vec<Vec<(String, Value, Instant)>> =
        tasks.into_iter().map(|t| rt.block_on(t).unwrap()).collect();
    league.sample();
    let counts: Vec<usize> = got.iter().map(Vec::len).collect();
    let full = counts.iter().filter(|&&c| c == counts[0]).count();
    let complete = got
        .iter()
        .filter(|e| e.last().is_some_and(|(n, _, _)| n == "league_completed"))
        .count();
    let ends: Vec<Instant> = got.iter().filter_map(|e| e.last().map(|x| x.2)).collect();
    let spread = match (ends.iter().min(), ends.iter().max()) {
        (Some(a), Some(b)) => b.duration_since(*a).as_secs_f64() * 1e3,
        _ => f64::NAN,
    };
    let manager = by_kind(&league.procs)["manager"].clone();
    league.wind_down();
    json!({"suite": "sse", "subscribers": subscribers, "events_each": counts[0],
           "subscribers_with_all_events": full, "subscribers_completed": complete,
           "matches": summary["matches_played"], "subscribe_s": subscribe_s,
           "last_minus_first_league_completed_ms": spread, "manager": manager})
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
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
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap(),
    );
    let all = suite == "all";
    let mut out: Vec<Value> = Vec::new();
    let mut show = |v: Value| {
        println!("{v}");
        out.push(v);
    };
    if all || suite == "remote" {
        show(remote(&rt, size("--cycles", 100, 3)));
    }
    if all || suite == "stress" {
        show(stress(
            size("--players", 32, 6),
            size("--referees", 16, 2),
            size("--cycles", 32, 1),
        ));
    }
    if all || suite == "api" {
        show(api(
            &rt,
            size("--clients", 200, 10),
            size("--seconds", 10, 1) as u64,
            size("--interval-ms", 100, 10) as u64,
        ));
    }
    if all || suite == "sse" {
        show(sse(&rt, size("--subscribers", 1000, 20)));
    }
    if !measuring {
        // As a test: every suite ran clean.
        for v in &out {
            assert!(v.get("errors").is_none_or(|e| e == 0), "{v}");
            assert!(v.get("technical_losses").is_none_or(|e| e == 0), "{v}");
            if v["suite"] == "stress" {
                assert_eq!(v["matches"], v["scheduled"], "{v}");
                assert_eq!(v["exited_by_themselves"], true, "{v}");
            }
            if v["suite"] == "remote" {
                assert!(v["matches"].as_u64().is_some_and(|m| m > 0), "{v}");
                assert_eq!(v["matches"], v["matches_recorded"], "{v}");
            }
            if v["suite"] == "sse" {
                assert_eq!(v["subscribers_completed"], v["subscribers"], "{v}");
                assert_eq!(v["subscribers_with_all_events"], v["subscribers"], "{v}");
            }
        }
    }
}
