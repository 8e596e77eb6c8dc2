//! `pmd-agent bench socket`: the socket baseline head-to-head (see
//! `crate::bench::socket`), printed as a table or JSON, optionally
//! swept over environment counts and plotted.

use std::path::{Path, PathBuf};

use crate::bench::socket::{self, PathReport, SocketBenchConfig, SocketReport};
use crate::pacing::Pace;
use crate::plot::{line_chart, Chart, Series};
use serde::Serialize;

use super::input_file::load_rom;
use super::Failure;

/// The Lua server, bundled so the suite runs from any directory.
const LUA_SERVER: &str = include_str!("../../benches/socket/mgba-http-server.lua");
/// The original-style Python client.
const PYTHON_CLIENT: &str = include_str!("../../tests/python/mgba_http_client.py");

/// What `bench socket` was asked.
#[derive(Debug)]
pub struct SocketRun<'a> {
    /// `--rom`.
    pub rom: Option<&'a PathBuf>,
    /// Steps per environment.
    pub steps: u64,
    /// Environment counts (several: a sweep).
    pub envs: &'a [usize],
    /// Dungeon seed.
    pub seed: u32,
    /// One JSON object on stdout.
    pub json: bool,
    /// Write the steps/s chart here.
    pub plot: Option<&'a Path>,
    /// Steps of the original-style Python client (0: skip it).
    pub python_steps: u64,
    /// Pacing of the server processes.
    pub server_pace: Pace,
}

#[derive(Debug, Serialize)]
struct Sweep {
    envs: Vec<usize>,
    reports: Vec<SocketReport>,
}

fn find_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PMD_PYTHON3") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("python3"))
        .find(|p| p.is_file())
}

/// Runs the suite; with `json`, returns the report for the caller to
/// print (and record) instead of a human summary.
pub fn bench(args: &SocketRun<'_>) -> Result<Option<serde_json::Value>, Failure> {
    if args.envs.is_empty() || args.envs.contains(&0) || args.steps == 0 {
        return Err(Failure::bad_input(
            "--envs must list counts of at least 1, and --steps be at least 1",
        ));
    }
    let rom = load_rom(args.rom)?;
    let work = tempfile::Builder::new()
        .prefix("pmd-bench-socket-")
        .tempdir()
        .map_err(|e| Failure::other(format!("cannot create a scratch directory: {e}")))?;
    let lua_server = work.path().join("mgba-http-server.lua");
    let client = work.path().join("mgba_http_client.py");
    std::fs::write(&lua_server, LUA_SERVER)
        .and_then(|()| std::fs::write(&client, PYTHON_CLIENT))
        .map_err(|e| Failure::other(format!("cannot write the scratch files: {e}")))?;
    let exe = std::env::current_exe()
        .map_err(|e| Failure::other(format!("cannot find the pmd-agent binary: {e}")))?;
    let python = if args.python_steps > 0 {
        find_python().map(|p| (p, client.clone()))
    } else {
        None
    };
    if args.python_steps > 0 && python.is_none() && !args.json {
        eprintln!("note: python3 not found; the original-style client is skipped");
    }
    let mut reports = Vec::with_capacity(args.envs.len());
    for (i, &envs) in args.envs.iter().enumerate() {
        let config = SocketBenchConfig {
            rom: rom.clone(),
            rom_path: args.rom.cloned(),
            steps: args.steps,
            envs,
            seed: args.seed,
            exe: exe.clone(),
            lua_server: lua_server.clone(),
            // Once is enough: it compares the servers, not the env counts.
            python: if i == 0 { python.clone() } else { None },
            python_steps: args.python_steps,
            work_dir: work.path().join(format!("envs-{envs}")),
            server_pace: args.server_pace,
        };
        let report = socket::run(&config).map_err(|e| Failure::other(e.to_string()))?;
        if !args.json {
            print_report(envs, &report);
        }
        reports.push(report);
    }
    if let Some(path) = args.plot {
        plot(path, args.envs, &reports)?;
    }
    if !args.json {
        return Ok(None);
    }
    let value = if reports.len() == 1 {
        serde_json::to_value(&reports[0])
    } else {
        serde_json::to_value(&Sweep {
            envs: args.envs.to_vec(),
            reports,
        })
    }
    .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
    Ok(Some(value))
}

fn plot(path: &Path, envs: &[usize], reports: &[SocketReport]) -> Result<(), Failure> {
    let line = |name: &str, pick: fn(&SocketReport) -> &PathReport| Series {
        name: name.to_string(),
        points: envs
            .iter()
            .zip(reports)
            .map(|(&n, r)| (n as f64, pick(r).steps_per_s))
            .collect(),
    };
    let series = [
        line("in-process, observed frames drawn", |r| {
            &r.inprocess_render_observed
        }),
        line("in-process, every frame drawn", |r| &r.inprocess),
        line("rust server, socket", |r| &r.rust_server),
        line("lua server in mgba, socket", |r| &r.lua),
    ];
    let chart = Chart {
        title: "agent steps/s against environments".into(),
        x_label: "environments (socket designs: one server process each)".into(),
        y_label: "steps/s (log scale)".into(),
        log2_x: true,
        log10_y: true,
    };
    line_chart(path, &chart, &series).map_err(|e| Failure::other(e.to_string()))
}

fn print_report(envs: usize, r: &SocketReport) {
    println!("socket baseline: {envs} env(s), heuristic agent, same start state");
    println!(
        "  {:<12} {:>10} {:>10} {:>17} {:>17} {:>17} {:>10} {:>9}",
        "design",
        "steps/s",
        "frames/s",
        "state read p50/99",
        "frame p50/99",
        "press p50/99",
        "cpu s/step",
        "rss MiB"
    );
    for (name, p) in [
        ("lua", &r.lua),
        ("rust server", &r.rust_server),
        ("in-process", &r.inprocess),
        ("in-proc lazy", &r.inprocess_render_observed),
    ] {
        let lat = |l: &socket::Latency| format!("{:.3}/{:.3} ms", l.p50_ms, l.p99_ms);
        println!(
            "  {:<12} {:>10.1} {:>10.0} {:>17} {:>17} {:>17} {:>10.5} {:>9.1}",
            name,
            p.steps_per_s,
            p.frames_per_s,
            lat(&p.state_read),
            lat(&p.frame_fetch),
            lat(&p.button_press),
            p.cpu_seconds_per_step,
            p.peak_rss_bytes as f64 / (1024.0 * 1024.0)
        );
    }
    println!(
        "  ratios (lua / in-process): state read {:.0}x, frame fetch {:.0}x, steps/s {:.0}x; rust server / lua steps/s {:.1}x",
        r.ratio.state_read_p50,
        r.ratio.frame_fetch_p50,
        r.ratio.steps_per_s,
        r.ratio.rust_server_vs_lua_steps_per_s
    );
    if let Some(o) = &r.original_client {
        println!(
            "  original-style python client: lua {:.1} steps/s, rust server {:.1} steps/s ({:.1}x)",
            o.lua.steps_per_s,
            o.rust_server.steps_per_s,
            r.ratio
                .rust_server_vs_lua_original_client_steps_per_s
                .unwrap_or(0.0)
        );
    }
}
