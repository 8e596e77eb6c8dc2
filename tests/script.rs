//! `pmd-agent script`: mGBA Lua scripts run headless in mGBA's own Lua
//! engine — callbacks, the emu API, the console, errors with file and
//! line, and scripts that would crash mGBA 0.10.1.

use std::cell::RefCell;
use std::path::Path;
use std::process::{Command, Output};
use std::rc::Rc;
use std::time::Instant;

use pmd_agent::cartridge;
use pmd_agent::emu::Emulator;
use pmd_agent::pacing::Pace;
use pmd_agent::script::{ConsoleLevel, ScriptError, ScriptHost};

/// Writes `source` as `name` in `dir` and runs `pmd-agent script` on it
/// there with `args`.
fn run_script(dir: &Path, name: &str, source: &str, args: &[&str]) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    Command::new(env!("CARGO_BIN_EXE_pmd-agent"))
        .arg("script")
        .arg(&path)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn callbacks_fire_like_the_desktop_app() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_script(
        dir.path(),
        "cb.lua",
        r#"
local frames, keys = 0, 0
callbacks:add("start", function() console:log("start") end)
callbacks:add("reset", function() console:log("reset at " .. emu:currentFrame()) end)
callbacks:add("frame", function() frames = frames + 1 end)
callbacks:add("keysRead", function() keys = keys + 1 end)
callbacks:add("shutdown", function()
  console:log("frames " .. frames)
  console:log("keysRead " .. (keys > 0 and "yes" or "no"))
end)
console:warn("careful")
"#,
        &["--frames", "90"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        ["start", "reset at 0", "frames 90", "keysRead yes"],
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("[warn] careful"));
}

#[test]
fn the_emu_api_works_headless() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_script(
        dir.path(),
        "api.lua",
        r#"
local n = 0
callbacks:add("frame", function()
  n = n + 1
  if n == 10 then
    -- Memory: the cartridge's magic, bus and domain views agree.
    assert(emu:read32(0x02000000) == 0x54444D50, "bus read")
    assert(emu.memory.wram:read32(0) == 0x54444D50, "domain read")
    assert(emu.memory.wram:readRange(0, 4) == "PMDT", "readRange")
    emu.memory.wram:write8(0x30000, 77)
    assert(emu:read8(0x02030000) == 77, "write")
    -- Keys reach the game (it copies them to 0x02000008 every frame).
    emu:setKeys(1 << C.GBA_KEY.START)
  elseif n == 12 then
    assert(emu:read16(0x02000008) == 8, "keys seen: " .. emu:read16(0x02000008))
    emu:setKeys(0)
    -- Savestates in memory and in slots; screenshots to files.
    local state = emu:saveStateBuffer()
    assert(#state > 1000, "state buffer")
    emu.memory.wram:write8(0x30000, 1)
    assert(emu:loadStateBuffer(state), "load buffer")
    assert(emu:read8(0x02030000) == 77, "restored")
    assert(emu:saveStateSlot(2), "slot")
    emu:screenshot("shot.png")
    local buffer = console:createBuffer("status")
    buffer:setSize(40, 5)
    buffer:print("hp 20\n")
    assert(buffer:getY() == 1 and buffer:cols() == 40, "buffer")
    console:log("title " .. emu:getGameTitle() .. " code " .. emu:getGameCode())
  end
end)
"#,
        &["--frames", "20"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "title PMD-AGENT code AGB-PMDT");
    // The slot goes next to the ROM, named after it: for the bundled
    // cartridge, the working directory.
    assert!(dir.path().join("cartridge.ss2").is_file());
    let png = std::fs::read(dir.path().join("shot.png")).unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    assert_eq!((reader.info().width, reader.info().height), (240, 160));
}

#[test]
fn errors_name_the_file_and_line_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, i32, &str); 6] = [
        ("syntax.lua", "local x = \nif then", 2, "syntax.lua:2:"),
        ("top.lua", "console:log('a')\nlocal t = nil\nprint(t.x)", 1, "top.lua:3:"),
        (
            "frame.lua",
            "callbacks:add('frame', function()\n  if emu:currentFrame() > 5 then error('boom') end\nend)",
            1,
            "frame.lua:2: boom (in a \"frame\" callback)",
        ),
        (
            "keys.lua",
            "callbacks:add('keysRead', function()\n  local f = nil\n  f()\nend)",
            1,
            "keys.lua:3:",
        ),
        // mGBA 0.10.1 crashes on non-string errors; here they are text.
        ("table.lua", "\n\nerror({code = 1})", 1, "table.lua:3: table: "),
        ("assert.lua", "assert(false, {})", 1, "assert.lua:1: table: "),
    ];
    for (name, source, code, message) in cases {
        let out = run_script(dir.path(), name, source, &["--frames", "60"]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("pmd-agent: error: "), "{name}: {stderr}");
        assert!(stderr.contains(message), "{name}: {stderr}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_pmd-agent"))
        .args(["script", "/nonexistent/script.lua"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/script.lua"));
}

#[test]
fn scripts_cannot_crash_the_process() {
    let dir = tempfile::tempdir().unwrap();
    // Each of these ends normally or with a script error; none may kill
    // the process with a signal.
    for (name, source) in [
        ("buffer.lua", "local b = console:createBuffer('x')\nb:print('hi')\nb:clear()\nb:moveCursor(3, 4)\nb:advance(-9)"),
        ("nested.lua", "callbacks:add('keysRead', function() emu:runFrame() emu:step() end)"),
        ("badcallback.lua", "callbacks:add('frame', 5)"),
        ("errnil.lua", "error()"),
        ("pcall.lua", "local ok, e = pcall(error, {})\nconsole:log(tostring(ok))"),
        ("badargs.lua", "emu:read8('nope')"),
        ("domain.lua", "emu.memory.nope:read8(0)"),
        ("screenshot.lua", "emu:screenshot('/nonexistent/dir/x.png')"),
        ("state.lua", "emu:loadStateBuffer('garbage')\nemu:loadStateFile('/nonexistent')"),
        ("socket.lua", "local s = socket.tcp()\ns:close()\nlocal ok, err = socket.connect('127.0.0.1', 1)\nconsole:log(tostring(err))"),
    ] {
        let out = run_script(dir.path(), name, source, &["--frames", "30"]);
        assert!(
            out.status.code().is_some(),
            "{name} killed the process: {:?} {}",
            out.status,
            text(&out.stderr)
        );
    }
}

#[test]
fn nested_emulation_from_a_mid_frame_callback_is_refused() {
    let emu = Emulator::new(&cartridge::rom().unwrap()).unwrap();
    let printed = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&printed);
    let mut host = ScriptHost::new(
        emu,
        None,
        Box::new(move |level, text| sink.borrow_mut().push((level, text.to_string()))),
    )
    .unwrap();
    let before = host.refused_reentry();
    host.load_source(
        "nested",
        "callbacks:add('keysRead', function() emu:runFrame() end)\n\
         callbacks:add('frame', function() console:log('f' .. emu:currentFrame()) end)",
    )
    .unwrap();
    let summary = host.run(Some(5), Pace::None, false).unwrap();
    assert_eq!(summary.frames, 5);
    assert!(host.refused_reentry() > before);
    // Frame callbacks saw one frame at a time: nothing nested ran.
    let lines: Vec<String> = printed
        .borrow()
        .iter()
        .filter(|(level, _)| *level == ConsoleLevel::Log)
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(lines, ["f1", "f2", "f3", "f4", "f5"]);
    // Loading more code into a running host works; errors are typed.
    let err = host.load_source("bad", "local = 1").unwrap_err();
    assert!(matches!(err, ScriptError::Load(_)), "{err:?}");
    let err = host.load_source("worse", "error('no')").unwrap_err();
    assert!(
        matches!(err, ScriptError::Runtime(ref m) if m.contains("no")),
        "{err:?}"
    );
}

#[test]
fn start_state_and_realtime_pacing() {
    let dir = tempfile::tempdir().unwrap();
    // A savestate with a marker in RAM.
    let mut emu = Emulator::new(&cartridge::rom().unwrap()).unwrap();
    emu.run_frames(10);
    emu.write_u8(0x0203_0000, 123).unwrap();
    let state = dir.path().join("marked.ss1");
    std::fs::write(&state, emu.export_mgba_state_file().unwrap()).unwrap();
    let started = Instant::now();
    let out = run_script(
        dir.path(),
        "marker.lua",
        "callbacks:add('frame', function()\n  if emu:currentFrame() == 12 then console:log('marker ' .. emu:read8(0x02030000)) end\nend)",
        &[
            "--frames",
            "30",
            "--pace",
            "realtime",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "marker 123");
    // 30 frames at 59.73 per second cannot take less than half a second.
    assert!(elapsed.as_secs_f64() > 0.45, "{elapsed:?}");
    // A damaged state file is bad input.
    std::fs::write(dir.path().join("bad.ss1"), b"not a state").unwrap();
    let out = run_script(
        dir.path(),
        "x.lua",
        "",
        &["--state", "bad.ss1", "--frames", "1"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
