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

/// mGBA 0.10's own semantics of the core methods a frontend is asked
/// about: step, runFrame, registers, savestate slots (with mGBA's refusal
/// of an explicit nil for a defaulted argument), autoloadSave and
/// loadFile, run on a ROM file.
#[test]
fn core_methods_behave_as_in_mgba_0_10() {
    let dir = tempfile::tempdir().unwrap();
    let rom = dir.path().join("game.gba");
    std::fs::write(&rom, cartridge::ROM_BYTES).unwrap();
    // A second ROM with another title (header checksum at 0xBD fixed up).
    let mut other = cartridge::ROM_BYTES.to_vec();
    other[0xA0..0xAC].copy_from_slice(b"OTHER GAME\0\0");
    let sum = other[0xA0..0xBD]
        .iter()
        .fold(0u8, |s, &b| s.wrapping_sub(b))
        .wrapping_sub(0x19);
    other[0xBD] = sum;
    std::fs::write(dir.path().join("other.gba"), &other).unwrap();
    let out = run_script(
        dir.path(),
        "core.lua",
        r#"
local n = 0
callbacks:add("frame", function()
  n = n + 1
  if n ~= 5 then return end
  -- step: one instruction; the frame counter does not move.
  local frame, pc = emu:currentFrame(), emu:readRegister("pc")
  emu:step()
  assert(emu:readRegister("pc") ~= pc, "step moves pc")
  assert(emu:currentFrame() == frame, "step is not a frame")
  -- runFrame: exactly one frame.
  emu:runFrame()
  assert(emu:currentFrame() == frame + 1, "runFrame")
  -- Registers by name; an unknown name reads nil.
  emu:writeRegister("r2", 0x1234)
  assert(emu:readRegister("r2") == 0x1234, "r2")
  assert(emu:readRegister("cpsr") ~= nil, "cpsr")
  assert(emu:readRegister("nonsense") == nil, "unknown register")
  -- Slots: files named after the ROM beside it.
  emu:write8(0x02030000, 55)
  assert(emu:saveStateSlot(1) == true, "save slot 1")
  assert(emu:saveStateSlot(2, C.SAVESTATE.ALL) == true, "save slot 2 with flags")
  emu:write8(0x02030000, 3)
  emu:runFrame()
  assert(emu:loadStateSlot(1) == true, "load slot 1")
  assert(emu:read8(0x02030000) == 55, "slot 1 restored")
  assert(emu:currentFrame() == frame + 1, "slot 1 restores the frame counter")
  emu:write8(0x02030000, 4)
  assert(emu:loadStateSlot(2, C.SAVESTATE.ALL & ~C.SAVESTATE.SAVEDATA) == true, "load slot 2")
  assert(emu:read8(0x02030000) == 55, "slot 2 restored")
  assert(emu:loadStateSlot(7) == false, "an empty slot")
  -- mGBA 0.10 does not turn an explicit nil into the default flags.
  assert(not pcall(function() return emu:saveStateSlot(3, nil) end), "nil flags refused")
  -- Battery save beside the ROM.
  assert(emu:autoloadSave() == true, "autoloadSave")
  -- loadFile replaces the game; reset boots it.
  assert(emu:loadFile("missing.gba") == false, "missing file")
  assert(emu:loadFile("other.gba") == true, "loadFile")
  emu:reset()
  console:log("title " .. emu:getGameTitle())
end)
"#,
        &["--frames", "10", "--rom", rom.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "title OTHER GAME");
    for name in ["game.ss1", "game.ss2", "game.sav"] {
        assert!(dir.path().join(name).is_file(), "{name}");
    }
    assert!(!dir.path().join("game.ss3").exists());
}

/// Every method of mGBA 0.10's documented scripting API (`emu`, memory
/// domains, `callbacks`, `console` and its buffers, `socket`, `C`) is
/// called once under the host with the answer mGBA gives: README's table
/// of what the host supports rests on this.
#[test]
fn every_documented_method_answers_as_in_mgba() {
    let dir = tempfile::tempdir().unwrap();
    let rom = dir.path().join("game.gba");
    std::fs::write(&rom, cartridge::ROM_BYTES).unwrap();
    std::fs::write(dir.path().join("battery.sav"), vec![0u8; 32 * 1024]).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let out = run_script(
        dir.path(),
        "all.lua",
        &r#"
local n, sock_events = 0, 0
local server, client, accepted
local removed = callbacks:add("frame", function() error("removed callbacks never run") end)
callbacks:remove(removed)
callbacks:add("frame", function()
  n = n + 1
  if n == 3 then
    -- Identity and timing.
    assert(emu:platform() == C.PLATFORM.GBA, "platform")
    assert(emu:frameCycles() == 280896, "frameCycles")
    assert(emu:frequency() == 16777216, "frequency")
    assert(emu:romSize() == #emu.memory.cart0:readRange(0, emu:romSize()), "romSize")
    assert(#emu:checksum(C.CHECKSUM.CRC32) == 4 and emu:checksum() == emu:checksum(C.CHECKSUM.CRC32), "checksum")
    assert(emu:getGameTitle() == "PMD-AGENT" and emu:getGameCode() == "AGB-PMDT", "header")
    -- Keys.
    emu:setKeys(0)
    emu:addKey(C.GBA_KEY.A)
    emu:addKeys((1 << C.GBA_KEY.B) | (1 << C.GBA_KEY.L))
    assert(emu:getKey(C.GBA_KEY.A) == 1 and emu:getKey(C.GBA_KEY.R) == 0, "getKey")
    emu:clearKey(C.GBA_KEY.A)
    emu:clearKeys(1 << C.GBA_KEY.L)
    assert(emu:getKeys() == 1 << C.GBA_KEY.B, "getKeys")
    emu:setKeys(0)
    -- Bus.
    emu:write16(0x02030000, 0xBEEF)
    emu:write32(0x02030004, 0x01020304)
    assert(emu:read16(0x02030000) == 0xBEEF and emu:read32(0x02030004) == 0x01020304, "bus")
    assert(emu:readRange(0x02030004, 2) == "\x04\x03", "readRange")
    -- A memory domain.
    local wram = emu.memory.wram
    assert(wram:base() == 0x02000000 and wram:size() == 0x40000, "base/size")
    assert(wram:bound() == 0x02040000 and wram:name() ~= "", "bound/name")
    wram:write16(0x30010, 0x1234)
    wram:write32(0x30014, 0xCAFEF00D)
    assert(wram:read16(0x30010) == 0x1234 and wram:read32(0x30014) == 0xCAFEF00D, "domain")
    assert(wram:read8(0x30010) == 0x34, "domain read8")
    -- Savestate files, battery saves, screenshots.
    assert(emu:saveStateFile("state.ss0") == true, "saveStateFile")
    wram:write8(0x30010, 9)
    assert(emu:loadStateFile("state.ss0") == true and wram:read8(0x30010) == 0x34, "loadStateFile")
    assert(emu:loadStateFile("missing.ss0") == false, "missing state file")
    assert(emu:loadSaveFile("battery.sav", true) == true, "loadSaveFile")
    emu:screenshot()
    -- Console buffers.
    local b = console:createBuffer("b")
    b:setName("status")
    b:setSize(30, 4)
    b:print("ab")
    b:advance(2)
    assert(b:getX() == 4 and b:rows() == 4 and b:cols() == 30, "buffer cursor")
    b:moveCursor(1, 2)
    assert(b:getX() == 1 and b:getY() == 2, "moveCursor")
    b:clear()
    assert(b:getX() == 0 and b:getY() == 0, "clear")
    console:log("log")
    console:warn("warn")
    console:error("error")
    -- Sockets: a server and a client in the same script.
    server = socket.tcp()
    assert(server:bind("127.0.0.1", PORT), "bind")
    assert(server:listen(), "listen")
    server:add("received", function() sock_events = sock_events + 1 end)
    client = assert(socket.connect("127.0.0.1", PORT), "connect")
  elseif n == 6 then
    assert(sock_events > 0, "received event on the listener")
    accepted = assert(server:accept(), "accept")
    assert(client:send("ping") == 4, "send")
  elseif n == 9 then
    assert(accepted:hasdata(), "hasdata")
    assert(accepted:receive(16) == "ping", "receive")
    local none, err = accepted:receive(16)
    assert(none == nil and err == socket.ERRORS.AGAIN, "nothing more yet")
    local id = accepted:add("received", function() end)
    accepted:remove(id)
    accepted:poll()
    client:close()
    accepted:close()
    server:close()
    console:log("done")
  end
end)
"#
        .replace("PORT", &port.to_string()),
        &["--frames", "12", "--rom", rom.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "log\ndone");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[warn] warn") && stderr.contains("[error] error"));
    assert!(dir.path().join("state.ss0").is_file());
    // An unnamed screenshot goes beside the ROM, named after it.
    assert!(dir.path().join("game-0.png").is_file());
}
