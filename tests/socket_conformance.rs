//! One protocol suite, two servers: the Lua mGBA-http server running in
//! mGBA's own Lua engine (`pmd-agent script`) and our `serve-socket`. Both
//! must pass; where they answer differently on purpose the check says so
//! (`expect_by_server`).

mod socket_support;

use std::time::Duration;

use pmd_agent::cartridge;
use pmd_agent::socket::protocol::{ERROR, SUCCESS};
use pmd_agent::socket::Client;
use socket_support::{start, Kind, ServerUnderTest};

fn reply(client: &mut Client, command: &str) -> String {
    String::from_utf8_lossy(client.request(command).expect("a reply")).into_owned()
}

fn number(client: &mut Client, command: &str) -> u64 {
    let text = reply(client, command);
    text.parse()
        .unwrap_or_else(|_| panic!("{command}: {text:?} is not a number"))
}

/// Waits until the frame counter has moved `frames` past its value now.
fn wait_frames(client: &mut Client, frames: u64) {
    let start = number(client, "core.currentFrame");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while number(client, "core.currentFrame") < start + frames {
        assert!(std::time::Instant::now() < deadline, "frames stopped");
    }
}

fn held(client: &mut Client) -> Vec<String> {
    reply(client, "mgba-http.button.getAll")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The check's expected reply for each server, with the reason they differ.
fn expect_by_server(server: &ServerUnderTest, got: &str, lua: &str, rust: &str, why: &str) {
    let want = match server.kind {
        Kind::Lua => lua,
        Kind::Rust => rust,
    };
    assert_eq!(got, want, "{:?}: {why}", server.kind);
}

fn identity(server: &ServerUnderTest, c: &mut Client) {
    let rom = pmd_agent::cartridge::rom().unwrap();
    assert_eq!(reply(c, "core.getGameTitle"), "PMD-AGENT");
    assert_eq!(reply(c, "core.getGameCode"), "AGB-PMDT");
    assert_eq!(reply(c, "core.platform"), "0");
    assert_eq!(number(c, "core.frameCycles"), 280_896);
    assert_eq!(number(c, "core.frequency"), 16_777_216);
    assert_eq!(number(c, "core.romSize"), rom.bytes().len() as u64);
    assert_eq!(number(c, "core.checksum"), u64::from(rom.crc32()));
    let domains = reply(c, "coreAdapter.memory");
    let mut names: Vec<&str> = domains.split(',').collect();
    names.sort_unstable();
    // mGBA lists every block it has; ours, the ones it serves.
    let lua = "bios,cart0,cart1,cart2,io,iwram,oam,palette,vram,wram";
    let rust = "bios,cart0,iwram,oam,palette,vram,wram";
    expect_by_server(
        server,
        &names.join(","),
        lua,
        rust,
        "io and the ROM mirrors are not served by serve-socket",
    );
}

fn memory_domains(c: &mut Client) {
    for (name, base, size, label) in [
        ("wram", 0x0200_0000u64, 0x4_0000u64, "EWRAM"),
        ("iwram", 0x0300_0000, 0x8000, "IWRAM"),
        ("palette", 0x0500_0000, 0x400, "Palette"),
        ("vram", 0x0600_0000, 0x1_8000, "VRAM"),
        ("oam", 0x0700_0000, 0x400, "OAM"),
    ] {
        assert_eq!(number(c, &format!("memoryDomain.base,{name}")), base);
        assert_eq!(
            number(c, &format!("memoryDomain.bound,{name}")),
            base + size
        );
        assert_eq!(number(c, &format!("memoryDomain.size,{name}")), size);
        assert_eq!(reply(c, &format!("memoryDomain.name,{name}")), label);
        // An absolute bus address passed as an offset wraps onto the
        // start, and so does a range running past the end: read the whole
        // domain plus 16 bytes from its bus address in one request (the
        // game changes memory between requests, not within one).
        let text = reply(
            c,
            &format!("memoryDomain.readRange,{name},{base},{}", size + 16),
        );
        assert_eq!(text.len() as u64, (size + 16) * 3 - 1, "{name}");
        let bytes: Vec<&str> = text.split(',').collect();
        assert_eq!(bytes[..16], bytes[size as usize..], "{name} wraps");
    }
    // The cartridge's magic "PMDT" at the start of EWRAM never changes.
    assert_eq!(reply(c, "memoryDomain.readRange,wram,0,4"), "50,4d,44,54");
    assert_eq!(number(c, "memoryDomain.read32,wram,0"), 0x5444_4D50);
    assert_eq!(number(c, "memoryDomain.read8,wram,1"), 0x4D);
    // 16- and 32-bit reads align down, as mGBA's do.
    assert_eq!(number(c, "memoryDomain.read16,wram,1"), 0x4D50);
    assert_eq!(number(c, "memoryDomain.read32,wram,3"), 0x5444_4D50);
    assert_eq!(number(c, "memoryDomain.read8,wram,0x40001"), 0x4D);
    assert_eq!(number(c, "core.read32,0x02000000"), 0x5444_4D50);
    assert_eq!(number(c, "core.read8,0x02040001"), 0x4D, "EWRAM mirror");
    assert_eq!(reply(c, "core.readRange,0x02000000,4"), "50,4d,44,54");
    // A range running off the end wraps to the start.
    let wrapped = reply(c, "memoryDomain.readRange,wram,0x3FFFE,4");
    assert!(wrapped.ends_with(",50,4d"), "{wrapped}");
    assert_eq!(
        reply(c, "memoryDomain.readRange,palette,0x3FE,4").len(),
        11,
        "palette wraps"
    );
    // Writes: an unused word of EWRAM.
    assert_eq!(
        reply(c, "memoryDomain.write32,wram,0x30000,0x11223344"),
        SUCCESS
    );
    assert_eq!(number(c, "memoryDomain.read32,wram,0x30000"), 0x1122_3344);
    assert_eq!(reply(c, "memoryDomain.write8,wram,0x30001,0xAB"), SUCCESS);
    assert_eq!(
        reply(c, "memoryDomain.readRange,wram,0x30000,4"),
        "44,ab,22,11"
    );
    assert_eq!(reply(c, "memoryDomain.write16,wram,0x30002,513"), SUCCESS);
    assert_eq!(number(c, "core.read32,0x02030000"), 0x0201_AB44);
    assert_eq!(reply(c, "core.write8,0x02030000,7"), SUCCESS);
    assert_eq!(number(c, "core.read8,0x02030000"), 7);
    assert_eq!(reply(c, "memoryDomain.write8,iwram,0x7004,9"), SUCCESS);
    assert_eq!(number(c, "memoryDomain.read8,iwram,0x03007004"), 9);
}

fn frames_and_buttons(server: &ServerUnderTest, c: &mut Client) {
    let first = number(c, "core.currentFrame");
    wait_frames(c, 3);
    assert!(number(c, "core.currentFrame") >= first + 3);

    // hold: down for duration + 1 frames, applied after a frame. (The
    // servers run thousands of frames a second, so presses checked while
    // down are long ones.)
    assert_eq!(reply(c, "mgba-http.button.hold,Start,3000"), SUCCESS);
    wait_frames(c, 3);
    assert_eq!(held(c), ["Start"]);
    assert_eq!(reply(c, "mgba-http.button.get,Start"), "1");
    assert_eq!(reply(c, "core.getKey,3"), "1");
    assert_eq!(number(c, "core.getKeys"), 1 << 3);
    wait_frames(c, 3010);
    assert!(held(c).is_empty());
    assert_eq!(reply(c, "mgba-http.button.get,Start"), "0");

    // holdMany / tapMany: `;`-separated names; a tap lasts 16 frames.
    assert_eq!(reply(c, "mgba-http.button.holdMany,A;B,3000"), SUCCESS);
    wait_frames(c, 3);
    let mut keys = held(c);
    keys.sort();
    assert_eq!(keys, ["A", "B"]);
    wait_frames(c, 3010);
    assert!(held(c).is_empty());
    assert_eq!(reply(c, "mgba-http.button.tapMany,Up;Down"), SUCCESS);
    assert_eq!(reply(c, "mgba-http.button.tap,Left"), SUCCESS);
    wait_frames(c, 20);
    assert!(held(c).is_empty());

    // add / clear: held until cleared.
    assert_eq!(reply(c, "mgba-http.button.add,L"), SUCCESS);
    assert_eq!(reply(c, "mgba-http.button.addMany,R;Select"), SUCCESS);
    let mut keys = held(c);
    keys.sort();
    assert_eq!(keys, ["L", "R", "Select"]);
    assert_eq!(reply(c, "mgba-http.button.clearMany,R;Select"), SUCCESS);
    assert_eq!(reply(c, "mgba-http.button.clear,L"), SUCCESS);
    assert!(held(c).is_empty());
    assert_eq!(reply(c, "core.setKeys,17"), SUCCESS);
    assert_eq!(number(c, "core.getKeys"), 17);
    assert_eq!(reply(c, "core.clearKeys,17"), SUCCESS);
    assert_eq!(reply(c, "core.addKey,9"), SUCCESS);
    assert_eq!(held(c), ["L"]);
    assert_eq!(reply(c, "core.clearKey,9"), SUCCESS);

    // Key names are case-sensitive. The Lua server, like the original,
    // taps nothing and says it worked; ours refuses the request.
    let why = "the original silently ignores unknown key names; serve-socket refuses them";
    let got = reply(c, "mgba-http.button.tap,a");
    expect_by_server(server, &got, SUCCESS, ERROR, why);
    let got = reply(c, "mgba-http.button.tapMany,A;Jump");
    expect_by_server(server, &got, SUCCESS, ERROR, why);
    assert_eq!(reply(c, "mgba-http.button.get,Jump"), ERROR);
    assert_eq!(reply(c, "mgba-http.button.add,Jump"), ERROR);
}

fn errors(c: &mut Client) {
    for bad in [
        "core.doesNotExist",
        "",
        "   ",
        "memoryDomain.read8,wram,zz",
        "memoryDomain.read8,nowhere,0",
        "memoryDomain.read8,wram",
        "memoryDomain.readRange,wram,0",
        "core.read8,0x",
    ] {
        assert_eq!(reply(c, bad), ERROR, "{bad:?}");
    }
    // Still serving after errors.
    assert_eq!(reply(c, "core.platform"), "0");
    assert_eq!(
        reply(c, "console.log,hello from the conformance suite"),
        SUCCESS
    );
}

fn framing(c: &mut Client) {
    // Two requests in one write: two replies, in order.
    c.send_raw(b"core.platform<|END|>memoryDomain.read8,wram,1<|END|>")
        .unwrap();
    assert_eq!(c.read_reply().unwrap(), b"0");
    assert_eq!(c.read_reply().unwrap(), b"77");
    // One request in pieces, trailing whitespace ignored.
    c.send_raw(b"memoryDomain.rea").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    c.send_raw(b"d8,wram,1 \r\n<|EN").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    c.send_raw(b"D|>").unwrap();
    assert_eq!(c.read_reply().unwrap(), b"77");
    // Empty fields are dropped.
    assert_eq!(reply(c, "memoryDomain.read8,,wram,,1,"), "77");
}

fn screenshots(server: &ServerUnderTest, c: &mut Client) {
    let arg = server.file_arg("shot.png");
    assert_eq!(reply(c, &format!("core.screenshot,{arg}")), SUCCESS);
    let file = std::fs::File::open(server.dir.path().join("shot.png")).expect("the PNG");
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let reader = decoder.read_info().expect("a PNG");
    let info = reader.info();
    assert_eq!((info.width, info.height), (240, 160));
    // A path outside the server's directory: the Lua server writes it, as
    // the original does; ours refuses.
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("outside.png");
    let got = reply(c, &format!("core.screenshot,{}", outside.display()));
    expect_by_server(
        server,
        &got,
        SUCCESS,
        ERROR,
        "serve-socket writes only inside --screenshot-dir",
    );
    assert_eq!(outside.exists(), server.kind == Kind::Lua);
}

fn savestates(server: &ServerUnderTest, c: &mut Client) {
    let poke = |c: &mut Client, v: u8| {
        assert_eq!(
            reply(c, &format!("memoryDomain.write8,wram,0x30010,{v}")),
            SUCCESS
        );
    };
    let peek = |c: &mut Client| number(c, "memoryDomain.read8,wram,0x30010");

    // Files.
    let arg = server.file_arg("state.ss0");
    poke(c, 171);
    assert_eq!(reply(c, &format!("core.saveStateFile,{arg}")), "true");
    poke(c, 5);
    assert_eq!(reply(c, &format!("core.loadStateFile,{arg},29")), "true");
    assert_eq!(peek(c), 171);
    let missing = server.file_arg("missing.ss0");
    let got = reply(c, &format!("core.loadStateFile,{missing}"));
    expect_by_server(
        server,
        &got,
        SUCCESS,
        ERROR,
        "the original answers a failed load (false) with <|SUCCESS|>",
    );

    // Slots.
    poke(c, 66);
    assert_eq!(reply(c, "core.saveStateSlot,3"), "true");
    poke(c, 1);
    assert_eq!(reply(c, "core.loadStateSlot,3"), "true");
    assert_eq!(peek(c), 66);

    // Buffers: a PNG carrying the state, as hex bytes.
    poke(c, 99);
    let buffer = reply(c, "core.saveStateBuffer");
    assert!(buffer.starts_with("89,50,4e,47"), "{}", &buffer[..20]);
    poke(c, 2);
    assert_eq!(
        reply(c, &format!("core.loadStateBuffer,[{buffer}]")),
        "true"
    );
    assert_eq!(peek(c), 99);
}

fn reset(c: &mut Client) {
    wait_frames(c, 200);
    let before = number(c, "core.currentFrame");
    assert_eq!(reply(c, "coreAdapter.reset"), SUCCESS);
    let after = number(c, "core.currentFrame");
    assert!(after < before, "{after} after reset, {before} before");
    // The cartridge boots again: its magic is written back.
    wait_frames(c, 5);
    assert_eq!(reply(c, "memoryDomain.readRange,wram,0,4"), "50,4d,44,54");
}

fn suite(kind: Kind) {
    let mut server = start(kind);
    let mut c = server.client();
    identity(&server, &mut c);
    memory_domains(&mut c);
    frames_and_buttons(&server, &mut c);
    errors(&mut c);
    framing(&mut c);
    screenshots(&server, &mut c);
    savestates(&server, &mut c);
    // Several clients at once.
    let mut other = server.client();
    assert_eq!(reply(&mut other, "core.platform"), "0");
    assert_eq!(reply(&mut c, "core.platform"), "0");
    drop(other);
    reset(&mut c);
    assert!(server.alive());
}

#[test]
fn lua_server_in_mgba_passes_the_suite() {
    suite(Kind::Lua);
}

#[test]
fn rust_server_passes_the_suite() {
    suite(Kind::Rust);
}

/// The savestate slots as mGBA-http's own HTTP layer drives them (it
/// always sends flags: 31 to save, 29 to load) against the Lua server in
/// mGBA's engine, run on a ROM file: the slot is `ROMNAME.ss1` beside the
/// ROM, as mGBA 0.10's desktop app writes it, and loading it restores the
/// state.
#[test]
fn lua_server_savestate_slots_are_files_beside_the_rom() {
    let server = socket_support::start_with_rom(Kind::Lua, Some("My Game.gba"));
    let mut c = server.client();
    let slot = server.dir.path().join("My Game.ss1");
    assert!(!slot.exists());
    assert_eq!(
        reply(&mut c, "memoryDomain.write8,wram,0x30020,90"),
        SUCCESS
    );
    assert_eq!(reply(&mut c, "core.saveStateSlot,1,31"), "true");
    let bytes = std::fs::read(&slot).expect("the slot file beside the ROM");
    assert!(bytes.starts_with(b"\x89PNG"), "an mGBA savestate (PNG)");
    // Change the state: memory, and frames run on.
    assert_eq!(reply(&mut c, "memoryDomain.write8,wram,0x30020,7"), SUCCESS);
    wait_frames(&mut c, 3);
    assert_eq!(number(&mut c, "memoryDomain.read8,wram,0x30020"), 7);
    assert_eq!(reply(&mut c, "core.loadStateSlot,1,29"), "true");
    assert_eq!(number(&mut c, "memoryDomain.read8,wram,0x30020"), 90);
    // Without flags, this server leaves the argument out (mGBA's default,
    // all flags, applies) and the slot works the same.
    assert_eq!(reply(&mut c, "memoryDomain.write8,wram,0x30020,8"), SUCCESS);
    assert_eq!(reply(&mut c, "core.loadStateSlot,1"), "true");
    assert_eq!(number(&mut c, "memoryDomain.read8,wram,0x30020"), 90);
    // The other core methods mGBA-http exposes.
    assert_eq!(reply(&mut c, "core.writeRegister,r1,1234"), SUCCESS);
    assert_eq!(reply(&mut c, "core.readRegister,r1"), "1234");
    assert_eq!(reply(&mut c, "core.step"), SUCCESS);
    assert_eq!(reply(&mut c, "core.autoloadSave"), "true");
    assert!(server.dir.path().join("My Game.sav").is_file());
    let other = server.dir.path().join("other.gba");
    std::fs::write(&other, cartridge::ROM_BYTES).unwrap();
    assert_eq!(
        reply(&mut c, &format!("core.loadFile,{}", other.display())),
        "true"
    );
    assert_eq!(reply(&mut c, "coreAdapter.reset"), SUCCESS);
    assert_eq!(reply(&mut c, "core.getGameCode"), "AGB-PMDT");
}
