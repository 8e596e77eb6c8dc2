//! Helpers shared by the league's integration tests (`tests/league_*.rs`):
//! a manager served on a loopback port, hosted players, raw JSON-RPC posts,
//! loopback ports, the Python fixture player.
#![allow(dead_code)] // each test crate uses a different subset

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pmd_agent::league::client::{ClientConfig, Timeouts};
use pmd_agent::league::game::dungeon::{DungeonFactory, PolicyFactory};
use pmd_agent::league::game::GameType;
use pmd_agent::league::manager::{LeagueSettings, Manager, ManagerConfig, Mode};
use pmd_agent::league::player::{host, PlayerConfig, Registration};
use pmd_agent::league::pmd::{PmdDungeonFactory, PmdPolicyFactory};
use pmd_agent::league::protocol::time::now_iso;
use pmd_agent::league::store::Store;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The project's policies.
pub fn policies() -> Arc<dyn PolicyFactory> {
    Arc::new(PmdPolicyFactory)
}

/// Dungeons of the bundled cartridge.
pub fn dungeons() -> Arc<dyn DungeonFactory> {
    Arc::new(PmdDungeonFactory::cartridge().unwrap())
}

/// A serve-mode manager on a loopback port.
pub struct Served {
    pub manager: Manager,
    pub addr: SocketAddr,
    pub url: String,
    pub store: Arc<Store>,
    _server: JoinHandle<std::io::Result<()>>,
}

pub fn serve_config(game: GameType, start_when: usize, natives: &[&str]) -> ManagerConfig {
    let mut s = LeagueSettings::new(Mode::Serve, game);
    s.start_when = start_when;
    s.natives = natives.iter().map(|n| n.to_string()).collect();
    s.turn_budget = 60;
    let mut cfg = ManagerConfig::new(s);
    cfg.admin_token = Some("admin-secret".into());
    cfg.bt.bootstrap = 100;
    cfg.client = ClientConfig {
        timeouts: Timeouts {
            join: Duration::from_millis(1500),
            moves: Duration::from_millis(1500),
            other: Duration::from_millis(1500),
        },
        ..ClientConfig::default()
    };
    cfg
}

pub async fn serve(cfg: ManagerConfig) -> Served {
    let store = Arc::new(Store::in_memory().unwrap());
    serve_with(cfg, store).await
}

pub async fn serve_with(mut cfg: ManagerConfig, store: Arc<Store>) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}/mcp");
    cfg.public_url = Some(url.clone());
    let manager = Manager::open(cfg, store.clone(), policies(), Some(dungeons())).unwrap();
    let server = tokio::spawn(pmd_agent::league::http::serve(
        listener,
        manager.router(),
        std::future::pending(),
    ));
    Served {
        manager,
        addr,
        url,
        store,
        _server: server,
    }
}

/// A hosted native player on a loopback port.
pub async fn player(
    id: &str,
    policy: &str,
    manager_url: &str,
) -> (SocketAddr, JoinHandle<Result<Registration, String>>) {
    player_lingering(id, policy, manager_url, Duration::from_millis(100)).await
}

/// A hosted native player that keeps answering for `linger` after the
/// league is over (so that its `/metrics` can be read).
pub async fn player_lingering(
    id: &str,
    policy: &str,
    manager_url: &str,
    linger: Duration,
) -> (SocketAddr, JoinHandle<Result<Registration, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = PlayerConfig::new(id, policy, manager_url);
    cfg.linger = linger;
    let h = tokio::spawn(async move {
        host(cfg, policies(), Some(dungeons()), listener)
            .await
            .map_err(|e| e.to_string())
    });
    (addr, h)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Posts raw bytes; returns the status and the JSON body.
pub async fn post_raw(url: &str, body: Vec<u8>) -> (u16, Value) {
    let r = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, v)
}

pub async fn post(url: &str, v: &Value) -> (u16, Value) {
    post_raw(url, serde_json::to_vec(v).unwrap()).await
}

/// A JSON-RPC request with a full envelope.
pub fn rpc(
    method: &str,
    message_type: &str,
    sender: &str,
    token: Option<&str>,
    fields: Value,
) -> Value {
    let mut params = json!({
        "protocol": "league.v2", "message_type": message_type, "sender": sender,
        "timestamp": now_iso(), "conversation_id": "test",
    });
    if let Some(t) = token {
        params["auth_token"] = json!(t);
    }
    for (k, v) in fields.as_object().unwrap() {
        params[k] = v.clone();
    }
    json!({"jsonrpc": "2.0", "method": method, "id": 1, "params": params})
}

/// `START_LEAGUE` with the admin token of [`serve_config`].
pub fn start_league_msg() -> Value {
    rpc(
        "start_league",
        "START_LEAGUE",
        "league_manager:admin",
        Some("admin-secret"),
        json!({}),
    )
}

pub fn register_msg(id: &str, endpoint: &str) -> Value {
    rpc(
        "register_player",
        "LEAGUE_REGISTER_REQUEST",
        &format!("player:{id}"),
        None,
        json!({"player_meta": {"display_name": id, "version": "1", "game_types": ["even_odd"],
               "contact_endpoint": endpoint}}),
    )
}

/// The league error code of a JSON-RPC error answer.
pub fn code(v: &Value) -> &str {
    v["error"]["data"]["error_code"].as_str().unwrap_or("none")
}

/// Waits until the hosted player at `addr` is registered with `s`; returns
/// the token the league shares with it (the league's only player).
pub async fn registered_token(s: &Served, addr: SocketAddr) -> String {
    for _ in 0..250 {
        let ready = client()
            .get(format!("http://{addr}/ready"))
            .send()
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false);
        if ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.store.players(s.manager.league_id()).unwrap()[0]
        .auth_token
        .clone()
        .expect("registered")
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (at most 30 s) until something listens on 127.0.0.1:`port`.
pub fn wait_listening(port: u16) {
    let until = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The league's command line.
pub const BIN: &str = env!("CARGO_BIN_EXE_pmd-agent");

/// The Python fixture player (standard library only).
pub const PYTHON_PLAYER: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/league_player.py");

/// The Python to run the fixture with: `PMD_PYTHON` (set by `make test`),
/// else `python3`.
pub fn python() -> String {
    std::env::var("PMD_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Starts the Python fixture player `id` against a manager on
/// 127.0.0.1:`manager_port` (announced as `localhost`, as the public player
/// does), registering after `delay_s` seconds.
pub fn python_player(id: &str, manager_port: u16, delay_s: &str) -> Child {
    Command::new(python())
        .arg(PYTHON_PLAYER)
        .args(["--id", id, "--port", &free_port().to_string()])
        .args(["--manager", &format!("http://localhost:{manager_port}/mcp")])
        .env("LEAGUE_PLAYER_REGISTER_DELAY", delay_s)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test (make setup provides it)")
}

/// The seed of a test's random choices (kill points, ...): from
/// `PMD_LEAGUE_TEST_SEED` when set, to reproduce a failure, else fresh.
/// Printed either way (a failing test's output shows it).
pub fn test_seed() -> u64 {
    let seed = match std::env::var("PMD_LEAGUE_TEST_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .expect("PMD_LEAGUE_TEST_SEED must be an unsigned integer"),
        Err(_) => pmd_agent::league::seed::fresh(),
    };
    eprintln!("PMD_LEAGUE_TEST_SEED={seed} (set it to replay this test's choices)");
    seed
}
