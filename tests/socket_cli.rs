//! The command-line side of the socket baseline: `serve-socket` start-up,
//! bad input and signals; `bench socket` end to end.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn pmd_agent(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pmd-agent"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

#[test]
fn serve_socket_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let bad_state = dir.path().join("bad.ss1");
    std::fs::write(&bad_state, b"not a savestate").unwrap();
    for args in [
        vec!["serve-socket", "--port", "0", "--envs", "0"],
        vec![
            "serve-socket",
            "--port",
            "0",
            "--screenshot-dir",
            file.to_str().unwrap(),
        ],
        vec![
            "serve-socket",
            "--port",
            "0",
            "--state",
            bad_state.to_str().unwrap(),
        ],
        vec!["serve-socket", "--port", "0", "--pace", "warp"],
        vec!["serve-socket", "--port", "65535", "--envs", "3"],
    ] {
        let out = pmd_agent(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn serve_socket_lists_its_ports_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pmd-agent"))
        .args([
            "serve-socket",
            "--port",
            "0",
            "--envs",
            "2",
            "--pace",
            "realtime",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ports = Vec::new();
    for _ in 0..2 {
        let line = lines.next().unwrap().unwrap();
        assert!(line.contains("listening on 127.0.0.1:"), "{line}");
        ports.push(line.rsplit(':').next().unwrap().parse::<u16>().unwrap());
    }
    assert_ne!(ports[0], ports[1]);
    let mut client = pmd_agent::socket::Client::connect(
        ([127, 0, 0, 1], ports[1]).into(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(client.text("core.getGameCode").unwrap(), "AGB-PMDT");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn bench_socket_runs_all_three_designs() {
    let out = pmd_agent(&[
        "bench",
        "socket",
        "--steps",
        "3",
        "--python-steps",
        "2",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    for design in [
        "lua",
        "rust_server",
        "inprocess",
        "inprocess_render_observed",
    ] {
        let d = &report[design];
        assert_eq!(d["steps"], 3, "{design}");
        for key in ["steps_per_s", "frames_per_s", "cpu_seconds_per_step"] {
            assert!(d[key].as_f64().unwrap() > 0.0, "{design}.{key}: {d}");
        }
        for op in ["state_read", "frame_fetch", "button_press"] {
            let p50 = d[op]["p50_ms"].as_f64().unwrap();
            let p99 = d[op]["p99_ms"].as_f64().unwrap();
            assert!(p50 > 0.0 && p99 >= p50, "{design}.{op}: {d}");
        }
        assert_eq!(d["decoded_fraction"], 1.0, "{design} saw the dungeon: {d}");
        assert!(d["peak_rss_bytes"].as_u64().unwrap() > 1 << 20, "{design}");
    }
    // The socket client moves 118,576 bytes of RAM per step.
    assert_eq!(report["lua"]["ram_bytes_per_step"], 118_576.0);
    for key in [
        "state_read_p50",
        "frame_fetch_p50",
        "steps_per_s",
        "rust_server_vs_lua_steps_per_s",
    ] {
        assert!(report["ratio"][key].as_f64().unwrap() > 0.0, "{key}");
    }
    if report["original_client"].is_object() {
        assert!(
            report["original_client"]["lua"]["steps_per_s"]
                .as_f64()
                .unwrap()
                > 0.0
        );
        assert!(
            report["ratio"]["rust_server_vs_lua_original_client_steps_per_s"]
                .as_f64()
                .unwrap()
                > 0.0
        );
    }
}

#[test]
fn bench_socket_sweeps_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("steps.png");
    let out = pmd_agent(&[
        "bench",
        "socket",
        "--envs",
        "1,2",
        "--steps",
        "2",
        "--python-steps",
        "0",
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["envs"], serde_json::json!([1, 2]));
    assert_eq!(report["reports"][1]["rust_server"]["envs"], 2);
    assert_eq!(report["reports"][1]["lua"]["steps"], 4);
    let png = std::fs::read(&plot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let bad = pmd_agent(&["bench", "socket", "--envs", "0"]);
    assert_eq!(bad.status.code(), Some(2));
}
