//! The socket designs, driven over TCP: the baseline agent's per-step
//! sequence against a server process, and the original-style Python
//! client.

use super::*;

pub(super) fn socket_path(
    config: &SocketBenchConfig,
    kind: ServerKind,
    start_state: &Path,
) -> Result<PathReport, SocketBenchError> {
    let profile =
        profile_for(config.rom.game_code()).map_err(|e| socket_err("game")(e.to_string()))?;
    let servers = (0..config.envs)
        .map(|i| ServerProcess::spawn(config, kind, i))
        .collect::<Result<Vec<_>, _>>()?;
    // Connect and load the start state before the clock starts.
    let mut agents = Vec::with_capacity(servers.len());
    for server in &servers {
        let state = stage_start_state(kind, server, start_state)?;
        let client = Client::connect(server.addr, Duration::from_secs(10))
            .map_err(|e| socket_err("connect")(e.to_string()))?;
        let shot = server.dir.join("frame.png");
        let shot_request = match kind {
            ServerKind::Lua => shot.to_string_lossy().into_owned(),
            ServerKind::Rust => "frame.png".to_string(),
        };
        let mut agent = BaselineAgent::new(client, profile, shot_request, shot);
        agent
            .client()
            .ok(&format!("core.loadStateFile,{state}"))
            .map_err(|e| socket_err("loading the start state")(e.to_string()))?;
        agents.push((agent, state));
    }
    let pids: Vec<u32> = servers.iter().map(ServerProcess::pid).collect();
    let server_cpu_before: f64 = pids.iter().filter_map(|&p| cpu_seconds(Some(p))).sum();
    let self_cpu_before = cpu_seconds(None);
    let steps = config.steps;
    let started = Instant::now();
    let results: Vec<Result<EnvRun, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = agents
            .iter_mut()
            .map(|(agent, state)| scope.spawn(move || socket_env(agent, state, steps)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("client thread panicked".into()))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let self_cpu = cpu_seconds(None).map(|a| a - self_cpu_before.unwrap_or(a));
    let server_cpu: f64 = pids.iter().filter_map(|&p| cpu_seconds(Some(p))).sum();
    let peak: u64 = pids.iter().filter_map(|&p| peak_rss(Some(p))).sum();
    let mut all = EnvRun::default();
    for run in results {
        all.merge(run.map_err(socket_err(match kind {
            ServerKind::Lua => "lua",
            ServerKind::Rust => "rust server",
        }))?);
    }
    let cpu = self_cpu.unwrap_or(0.0) + (server_cpu - server_cpu_before).max(0.0);
    drop(servers);
    Ok(all.report(config.envs, seconds, cpu, peak))
}

/// Puts the start state where the server may read it; returns the path to
/// send.
pub(super) fn stage_start_state(
    kind: ServerKind,
    server: &ServerProcess,
    start_state: &Path,
) -> Result<String, SocketBenchError> {
    let copy = server.dir.join("start.ss0");
    std::fs::copy(start_state, &copy).map_err(|e| socket_err("start state")(e.to_string()))?;
    Ok(match kind {
        ServerKind::Lua => copy.to_string_lossy().into_owned(),
        ServerKind::Rust => "start.ss0".to_string(),
    })
}

pub(super) fn socket_env(
    agent: &mut BaselineAgent,
    state: &str,
    steps: u64,
) -> Result<EnvRun, String> {
    let mut run = EnvRun::default();
    let mut last_frame: Option<u64> = None;
    for _ in 0..steps {
        let times = agent.step().map_err(|e| e.to_string())?;
        run.record(&times);
        let frame = agent.last_frame();
        if let (Some(last), Some(now)) = (last_frame, frame) {
            run.frames += if now >= last { now - last } else { now };
        }
        last_frame = frame;
        let fainted = agent.state().leader().is_none_or(|l| l.hp <= 0);
        if !times.decoded || fainted {
            // Episode over (or never started): back to the start, as the
            // in-process design resets.
            agent
                .client()
                .ok(&format!("core.loadStateFile,{state}"))
                .map_err(|e| e.to_string())?;
            last_frame = None;
        }
    }
    Ok(run)
}

pub(super) fn original_client(
    config: &SocketBenchConfig,
    (python, script): &(PathBuf, PathBuf),
    kind: ServerKind,
    start_state: &Path,
) -> Result<OriginalClientReport, SocketBenchError> {
    let server = ServerProcess::spawn(config, kind, 99)?;
    let state = stage_start_state(kind, &server, start_state)?;
    let shot = server.dir.join("frame.png");
    let shot_request = match kind {
        ServerKind::Lua => shot.to_string_lossy().into_owned(),
        ServerKind::Rust => "frame.png".to_string(),
    };
    let output = Command::new(python)
        .arg(script)
        .arg("bench")
        .arg("--port")
        .arg(server.addr.port().to_string())
        .arg("--steps")
        .arg(config.python_steps.to_string())
        .arg("--shot-request")
        .arg(&shot_request)
        .arg("--shot-path")
        .arg(&shot)
        .arg("--state")
        .arg(&state)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| socket_err("python client")(e.to_string()))?;
    drop(server);
    if !output.status.success() {
        return Err(SocketBenchError::Socket(format!(
            "python client failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| socket_err("python client report")(e.to_string()))
}

// ---------------------------------------------------------------------------
// /proc
