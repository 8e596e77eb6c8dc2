//! Remote referees: a manager that runs no referee of its own spreads a
//! league over referee processes (`league referee`), each registered with
//! `REFEREE_REGISTER_REQUEST` and reporting with `MATCH_RESULT_REPORT`; a
//! referee that takes matches and never reports is dropped after the
//! deadline and its matches are played elsewhere; reports are checked
//! (registered referee, its own token, the match assigned to it).

mod league_common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use league_common::{
    code, free_port, post, rpc, serve_config, start_league_msg, wait_listening, BIN,
};
use pmd_agent::league::game::GameType;
use pmd_agent::league::manager::Manager;
use pmd_agent::league::store::Store;
use serde_json::{json, Value};
use tokio::net::TcpListener;

struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(args: &[String]) -> Child {
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn a_league_runs_on_referee_processes_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let port = free_port();
    let manager_url = format!("http://127.0.0.1:{port}/mcp");
    let mut procs = Kill(Vec::new());
    let mut args = s(&[
        "league",
        "serve",
        "--game",
        "even_odd",
        "--referees",
        "0",
        "--remote-referees",
        "--native",
        "random,heuristic",
        "--start-when",
        "4",
        "--rounds",
        "2",
        "--once",
        "--json",
        "--bootstrap",
        "100",
        "--seed",
        "7",
    ]);
    args.extend(["--db".into(), db.display().to_string()]);
    args.extend(["--addr".into(), format!("127.0.0.1:{port}")]);
    procs.0.push(spawn(&args));
    wait_listening(port);
    for _ in 0..2 {
        let p = free_port();
        procs.0.push(spawn(&[
            "league".into(),
            "referee".into(),
            "--manager".into(),
            manager_url.clone(),
            "--addr".into(),
            format!("127.0.0.1:{p}"),
            "--capacity".into(),
            "2".into(),
        ]));
        wait_listening(p);
    }
    for policy in ["random", "search"] {
        let p = free_port();
        procs.0.push(spawn(&[
            "league".into(),
            "player".into(),
            "--policy".into(),
            policy.into(),
            "--manager".into(),
            manager_url.clone(),
            "--addr".into(),
            format!("127.0.0.1:{p}"),
        ]));
    }
    let manager = procs.0.remove(0);
    let out = manager.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["matches_played"], 12, "{report}");
    let tl: u64 = report["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["technical_losses"].as_u64().unwrap())
        .sum();
    assert_eq!(tl, 0, "{report}");
    // Every match was refereed by a referee process, and both took some;
    // the moves came with the reports.
    let store = Store::open(&db, pmd_agent::league::store::Durability::Process).unwrap();
    let results = store.results("L1").unwrap();
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &results {
        let referee = r.details["referee"].as_str().unwrap().to_owned();
        assert!(referee.starts_with("REF-"), "{referee}");
        *by.entry(referee).or_default() += 1;
    }
    assert_eq!(by.len(), 2, "{by:?}");
    let replay = store.match_replay("L1", &results[0].match_id).unwrap();
    assert_eq!(replay.players.len(), 2);
    assert!(replay.players.iter().all(|p| p.moves.len() == 1));
    // The referees exit on LEAGUE_COMPLETED.
    for c in &mut procs.0 {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if c.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "a process did not exit"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A referee that accepts every assignment and never reports.
async fn silent_referee(manager_url: &str) -> (tokio::task::JoinHandle<()>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = taken.clone();
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(move |body: axum::body::Bytes| {
            let counter = counter.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                if v["params"]["message_type"] == "MATCH_ASSIGNMENT" {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                axum::Json(
                    json!({"jsonrpc": "2.0", "id": v["id"], "result": {"status": "accepted"}}),
                )
            }
        }),
    );
    let h = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let reg = rpc(
        "register_referee",
        "REFEREE_REGISTER_REQUEST",
        "referee:SILENT",
        None,
        json!({"referee_meta": {"display_name": "silent", "version": "1",
               "game_types": ["even_odd"], "contact_endpoint": format!("http://{addr}/mcp"),
               "max_concurrent_matches": 8}}),
    );
    let (_, v) = post(manager_url, &reg).await;
    assert_eq!(v["result"]["status"], "ACCEPTED", "{v}");
    (h, taken)
}

type Registered = Result<
    pmd_agent::league::referee::host::RefereeRegistration,
    pmd_agent::league::referee::host::RefereeHostError,
>;

/// A referee `id` of the manager at `url`, on a task of this process.
async fn referee_task(id: &str, url: &str) -> tokio::task::JoinHandle<Registered> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cfg = pmd_agent::league::referee::host::RefereeHostConfig::new(id, url);
    tokio::spawn(pmd_agent::league::referee::host::host_referee(
        cfg,
        league_common::policies(),
        None,
        listener,
        std::future::pending(),
    ))
}

/// Runs the league on a task and starts it with `START_LEAGUE`.
async fn start(
    s: &league_common::Served,
) -> tokio::task::JoinHandle<
    Result<pmd_agent::league::report::LeagueReport, pmd_agent::league::manager::LeagueFailure>,
> {
    let run = tokio::spawn({
        let m: Manager = s.manager.clone();
        async move { m.run().await }
    });
    let (_, v) = post(&s.url, &start_league_msg()).await;
    assert_eq!(v["result"]["status"], "starting", "{v}");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referee_that_never_reports_is_replaced() {
    let mut cfg = serve_config(
        GameType::EvenOdd,
        0,
        &["random", "heuristic", "random", "search"],
    );
    cfg.referees = 0;
    cfg.remote_referees = true;
    cfg.referee_deadline = Duration::from_millis(300);
    let s = league_common::serve_with(cfg, Arc::new(Store::in_memory().unwrap())).await;
    let (_silent, taken) = silent_referee(&s.url).await;
    // a real referee too, in-process on its own port
    let good = referee_task("GOOD", &s.url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run = start(&s).await;
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the league finished")
        .unwrap()
        .unwrap();
    assert_eq!(report.matches_played, 6);
    // the silent referee was given a match, which was then played elsewhere
    assert!(taken.load(Ordering::SeqCst) >= 1);
    let results = s.store.results(&report.league_id).unwrap();
    assert!(
        results.iter().all(|r| r.details["referee"] == "GOOD"),
        "{results:?}"
    );
    // The good referee heard LEAGUE_COMPLETED and stopped.
    let reg = tokio::time::timeout(Duration::from_secs(10), good)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reg.referee_id, "GOOD");
    // A late report from the dropped referee: it was never given the
    // match any more (E013), and without its token it is E012; from a
    // stranger, E005.
    let report = |sender: &str, token: Option<&str>| {
        rpc(
            "report_match_result",
            "MATCH_RESULT_REPORT",
            sender,
            token,
            json!({"league_id": "L1", "round_id": 1, "match_id": "R1M1", "game_type": "even_odd",
                   "result": {"winner": null, "score": {}, "details": {"status": "DRAW"}}}),
        )
    };
    assert_eq!(
        code(
            &post(&s.url, &report("referee:SILENT", Some("nope")))
                .await
                .1
        ),
        "E012"
    );
    assert_eq!(
        code(&post(&s.url, &report("referee:NOBODY", None)).await.1),
        "E005"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referees_are_refused_unless_allowed() {
    let s = league_common::serve(serve_config(GameType::EvenOdd, 0, &["random", "random"])).await;
    let reg = rpc(
        "register_referee",
        "REFEREE_REGISTER_REQUEST",
        "referee:R1",
        None,
        json!({"referee_meta": {"display_name": "r", "version": "1", "game_types": ["even_odd"],
               "contact_endpoint": "http://127.0.0.1:9/mcp", "max_concurrent_matches": 2}}),
    );
    let (_, v) = post(&s.url, &reg).await;
    assert_eq!(v["result"]["status"], "REJECTED", "{v}");
    // and a manager with no referee at all is refused at start
    let mut cfg = serve_config(GameType::EvenOdd, 0, &["random", "random"]);
    cfg.referees = 0;
    let err = Manager::open(
        cfg,
        Arc::new(Store::in_memory().unwrap()),
        league_common::policies(),
        None,
    )
    .err()
    .expect("refused");
    assert!(err.to_string().contains("needs a referee"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referee_is_never_throttled() {
    // Two requests per second per sender: without the referee's exemption
    // its third report would be refused (E011) and the league would stall
    // until the deadline.
    let mut cfg = serve_config(
        GameType::EvenOdd,
        0,
        &["random", "heuristic", "random", "search"],
    );
    cfg.settings.cycles = 3;
    cfg.referees = 0;
    cfg.remote_referees = true;
    cfg.rate_per_s = 1.0;
    cfg.rate_burst = 2;
    cfg.referee_deadline = Duration::from_secs(60);
    let s = league_common::serve_with(cfg, Arc::new(Store::in_memory().unwrap())).await;
    let _referee = referee_task("ONLY", &s.url).await;
    let until = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ready: Value = reqwest::get(format!("http://{}/ready", s.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready["referees"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "the referee did not register"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let run = start(&s).await;
    // Throttled reports would be retried with backoff: ~19 s here.
    let report = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("the league finished without being throttled")
        .unwrap()
        .unwrap();
    assert_eq!(report.matches_played, 18);
}
