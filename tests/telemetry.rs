//! Telemetry while a run goes: /metrics, /health and /ready over HTTP, and
//! structured JSON logs in rotated files.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::spawn_endless_run;

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_with_head(port, path).map(|(status, _, body)| (status, body))
}

/// The status, the head (lower-cased) and the body of `GET path`.
fn get_with_head(port: u16, path: &str) -> Option<(u16, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Some((status, head.to_ascii_lowercase(), body.to_string()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn metrics_health_and_ready_are_served_while_a_run_goes() {
    let port = free_port();
    let logs = tempfile::tempdir().unwrap();
    let mut child = spawn_endless_run(&[
        "--metrics-addr",
        &format!("127.0.0.1:{port}"),
        "--log-dir",
        logs.path().to_str().unwrap(),
        "--log-format",
        "json",
    ]);

    let started = Instant::now();
    let mut seen = None;
    while started.elapsed() < Duration::from_secs(60) {
        if let (Some((200, _)), Some((200, _))) = (get(port, "/health"), get(port, "/ready")) {
            if let Some((200, body)) = get(port, "/metrics") {
                let steps = body
                    .lines()
                    .find(|l| l.starts_with("pmd_steps_total "))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok());
                if steps.is_some_and(|s| s > 0.0) {
                    seen = Some(body);
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let not_found = get(port, "/nothing-here");
    // The exposition is OpenMetrics text (prometheus-client writes it,
    // `# EOF` and all), and says so, as the league's servers do.
    let (_, head, body) = get_with_head(port, "/metrics").expect("/metrics answers");
    assert!(
        head.contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(body.trim_end().ends_with("# EOF"), "{body}");
    child.kill().unwrap();
    child.wait().unwrap();

    let body = seen.expect("metrics with steps never appeared");
    for name in [
        "pmd_steps_total",
        "pmd_frames_total",
        "pmd_episodes_total",
        "pmd_env_failures_total",
        "pmd_step_seconds_bucket",
        "pmd_quarantined_envs 0",
        "pmd_envs 2",
    ] {
        assert!(body.contains(name), "{name} missing from /metrics:\n{body}");
    }
    assert_eq!(not_found.map(|(s, _)| s), Some(404));

    // JSON lines in a rotated file
    let files: Vec<_> = std::fs::read_dir(logs.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with("pmd-agent.") && name.ends_with(".log"),
        "{name}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
        .collect();
    assert!(lines.iter().any(|v| v["fields"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("serving"))));
}

#[test]
fn a_busy_metrics_port_exits_2() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_pmd-agent"))
        .args([
            "run",
            "--policy",
            "random",
            "--steps",
            "10",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen"), "{err}");
}

#[test]
fn a_client_that_never_finishes_its_request_does_not_hold_up_the_end_of_a_run() {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pmd-agent"))
        .args([
            "run",
            "--policy",
            "random",
            "--envs",
            "1",
            "--steps",
            "3000",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // a request head that never ends, on a connection kept open
    let started = Instant::now();
    let mut stalled = loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: loc")
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("the run did not end while a client held a request open");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    drop(stalled);
}
