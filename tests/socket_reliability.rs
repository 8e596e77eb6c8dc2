//! Our mGBA-http server under abuse: whatever one client sends or does,
//! the server stays up and keeps answering the others.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use pmd_agent::cartridge;
use pmd_agent::pacing::Pace;
use pmd_agent::socket::protocol::{ERROR, SUCCESS};
use pmd_agent::socket::{Client, Server, ServerConfig};

struct Running {
    server: Option<Server>,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }
}

/// A server on a free port. Paced at 60 frames/s so the tests running in
/// parallel do not each burn a core; requests are served as they come.
fn serve(configure: impl FnOnce(&mut ServerConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(cartridge::rom().unwrap());
    config.port = 0;
    config.pace = Pace::Realtime;
    config.screenshot_dir = Some(dir.path().join("shots"));
    configure(&mut config);
    let server = Server::start(config).expect("the server starts");
    let addr = server.addrs()[0];
    // The cartridge writes its magic on its second frame (1/30 s paced).
    for addr in server.addrs() {
        let mut c = client(addr);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while reply(&mut c, "memoryDomain.readRange,wram,0,4") != "50,4d,44,54" {
            assert!(
                std::time::Instant::now() < deadline,
                "the cartridge never booted"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // The boot-wait clients are gone; wait until the server has noticed, so
    // that tests counting connections start from zero.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.open_connections() != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the boot-wait connection was never released"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    Running {
        server: Some(server),
        addr,
        dir,
    }
}

fn client(addr: SocketAddr) -> Client {
    let c = Client::connect(addr, Duration::from_secs(5)).unwrap();
    c.set_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

fn reply(c: &mut Client, command: &str) -> String {
    String::from_utf8_lossy(c.request(command).unwrap()).into_owned()
}

/// The server still answers a new client correctly.
fn still_serving(addr: SocketAddr) {
    let mut c = client(addr);
    assert_eq!(reply(&mut c, "core.getGameCode"), "AGB-PMDT");
    assert_eq!(
        reply(&mut c, "memoryDomain.readRange,wram,0,4"),
        "50,4d,44,54"
    );
}

#[test]
fn a_message_without_terminator_waits_and_blocks_no_one() {
    let s = serve(|_| {});
    let mut slow = client(s.addr);
    slow.send_raw(b"core.platform").unwrap();
    // Others are served meanwhile.
    still_serving(s.addr);
    // The rest arrives: the request completes.
    slow.send_raw(b"<|END|>").unwrap();
    assert_eq!(slow.read_reply().unwrap(), b"0");
    // A client that sends half a message and leaves changes nothing.
    let mut gone = TcpStream::connect(s.addr).unwrap();
    gone.write_all(b"memoryDomain.readRange,wram,0,6553")
        .unwrap();
    drop(gone);
    still_serving(s.addr);
}

#[test]
fn a_10_mb_message_is_refused_and_the_connection_closed() {
    let s = serve(|_| {});
    let mut big = TcpStream::connect(s.addr).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    // The server stops reading after its 4 MiB limit; the write may fail.
    for _ in 0..10 {
        if big.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    // Either the refusal arrived before the close, or the close reset it.
    assert!(
        answer.is_empty() || text == format!("{ERROR}<|END|>"),
        "{text:?}"
    );
    still_serving(s.addr);
    // With a terminator, too long is too long.
    let mut big = TcpStream::connect(s.addr).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut message = b"console.log,".to_vec();
    message.resize(5 << 20, b'y');
    message.extend_from_slice(b"<|END|>");
    let _ = big.write_all(&message);
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer);
    assert!(answer.is_empty() || answer.starts_with(ERROR.as_bytes()));
    still_serving(s.addr);
}

#[test]
fn invalid_utf8_unknown_commands_bad_numbers_and_keys_get_errors() {
    let s = serve(|_| {});
    let mut c = client(s.addr);
    c.send_raw(b"core.get\xff\xfeTitle<|END|>").unwrap();
    assert_eq!(c.read_reply().unwrap(), ERROR.as_bytes());
    c.send_raw(b"\x00\x01\x02<|END|>").unwrap();
    assert_eq!(c.read_reply().unwrap(), ERROR.as_bytes());
    for bad in [
        "core.teleport",
        "memoryDomain.readRange",
        "memoryDomain.readRange,wram,0,99999999999",
        "memoryDomain.readRange,wram,-4,4",
        "memoryDomain.readRange,wram,0x10,0x",
        "memoryDomain.read8,wram,1e3",
        "memoryDomain.write8,wram,0,300",
        "memoryDomain.write8,cart0,0,1",
        "memoryDomain.read8,io,0",
        "core.setKeys,65536",
        "core.addKey,10",
        "mgba-http.button.hold,A,-1",
        "mgba-http.button.hold,A,999999999999",
        "mgba-http.button.tap,a",
        "mgba-http.button.tap,Jump",
        "mgba-http.button.tapMany,A;;Foo",
        "mgba-http.button.tapMany,;",
        "core.loadStateBuffer,[zz,00]",
        "core.loadStateBuffer,[00,01]",
        "core.loadStateSlot,7",
        "core.loadFile,/bin/sh",
    ] {
        assert_eq!(reply(&mut c, bad), ERROR, "{bad}");
    }
    // The connection is still good.
    assert_eq!(reply(&mut c, "mgba-http.button.tapMany,A;Start"), SUCCESS);
    still_serving(s.addr);
}

#[test]
fn screenshot_and_state_paths_cannot_leave_the_directory() {
    let s = serve(|_| {});
    let mut c = client(s.addr);
    let shots = s.dir.path().join("shots");
    let outside = s.dir.path().join("escaped.png");
    for bad in [
        "../escaped.png".to_string(),
        "sub/../../escaped.png".to_string(),
        outside.to_string_lossy().into_owned(),
        "/tmp/pmd-agent-escape-test.png".to_string(),
        "".to_string(),
        ".".to_string(),
        "missing-dir/x.png".to_string(),
    ] {
        assert_eq!(
            reply(&mut c, &format!("core.screenshot,{bad}")),
            ERROR,
            "{bad}"
        );
        assert_eq!(
            reply(&mut c, &format!("core.saveStateFile,{bad}")),
            ERROR,
            "{bad}"
        );
        assert_eq!(
            reply(&mut c, &format!("core.loadStateFile,{bad}")),
            ERROR,
            "{bad}"
        );
    }
    assert!(!outside.exists());
    assert!(!std::path::Path::new("/tmp/pmd-agent-escape-test.png").exists());
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(s.dir.path(), shots.join("up")).unwrap();
        assert_eq!(reply(&mut c, "core.screenshot,up/escaped.png"), ERROR);
        assert!(!outside.exists());
    }
    // Inside is fine, by name or by absolute path.
    assert_eq!(reply(&mut c, "core.screenshot,ok.png"), SUCCESS);
    let absolute = shots.canonicalize().unwrap().join("ok2.png");
    assert_eq!(
        reply(&mut c, &format!("core.screenshot,{}", absolute.display())),
        SUCCESS
    );
    assert!(shots.join("ok.png").is_file() && absolute.is_file());
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(&shots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn without_a_directory_file_commands_are_refused() {
    let s = serve(|c| c.screenshot_dir = None);
    let mut c = client(s.addr);
    assert_eq!(reply(&mut c, "core.screenshot,a.png"), ERROR);
    assert_eq!(reply(&mut c, "core.saveStateFile,a.ss0"), ERROR);
    // Buffers and slots need no files.
    assert!(reply(&mut c, "core.saveStateBuffer").starts_with("89,50,4e,47"));
    assert_eq!(reply(&mut c, "core.saveStateSlot,1"), "true");
    assert_eq!(reply(&mut c, "core.loadStateSlot,1"), "true");
}

#[test]
fn thirty_two_clients_at_once() {
    let s = serve(|_| {});
    let addr = s.addr;
    let threads: Vec<_> = (0..32)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = client(addr);
                for j in 0..20 {
                    let offset = 0x30100 + i * 4;
                    let value = (i * 1000 + j) as u32;
                    assert_eq!(
                        reply(
                            &mut c,
                            &format!("memoryDomain.write32,wram,{offset},{value}")
                        ),
                        SUCCESS
                    );
                    assert_eq!(
                        reply(&mut c, &format!("memoryDomain.read32,wram,{offset}")),
                        value.to_string()
                    );
                    assert_eq!(
                        reply(&mut c, "memoryDomain.readRange,wram,0,4"),
                        "50,4d,44,54"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread");
    }
    still_serving(addr);
}

#[test]
fn a_client_killed_mid_message_disturbs_no_one() {
    let s = serve(|_| {});
    let mut watcher = client(s.addr);
    assert_eq!(reply(&mut watcher, "core.platform"), "0");
    // A real process, killed with SIGKILL after sending half a request.
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{}; printf 'memoryDomain.readRange,wram,0,1' >&3; sleep 30",
        s.addr.port()
    );
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bash runs");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    // A client that asks for a big reply and vanishes before reading it.
    let mut rude = TcpStream::connect(s.addr).unwrap();
    rude.write_all(b"memoryDomain.readRange,wram,0,262144<|END|>core.saveStateBuffer<|END|>")
        .unwrap();
    drop(rude);
    assert_eq!(reply(&mut watcher, "core.platform"), "0");
    still_serving(s.addr);
}

#[test]
fn connection_limit_refuses_then_recovers() {
    let s = serve(|c| c.max_connections = 4);
    let mut held: Vec<Client> = (0..4).map(|_| client(s.addr)).collect();
    for c in &mut held {
        assert_eq!(reply(c, "core.platform"), "0");
    }
    let mut extra = TcpStream::connect(s.addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = extra.read_to_end(&mut answer);
    assert_eq!(answer, format!("{ERROR}<|END|>").into_bytes());
    drop(held.pop());
    // The freed slot is noticed once its thread has ended.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = client(s.addr);
        match c.request("core.platform") {
            Ok(r) if r == b"0" => break,
            _ => assert!(std::time::Instant::now() < deadline, "slot never freed"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shutdown_is_prompt_with_clients_connected() {
    let mut s = serve(|c| c.envs = 2);
    let server = s.server.take().unwrap();
    let addrs = server.addrs();
    assert_eq!(addrs.len(), 2);
    let mut a = client(addrs[0]);
    let mut b = client(addrs[1]);
    assert_eq!(reply(&mut a, "memoryDomain.write8,wram,0x30000,1"), SUCCESS);
    assert_eq!(reply(&mut b, "memoryDomain.write8,wram,0x30000,2"), SUCCESS);
    // Separate machines.
    assert_eq!(reply(&mut a, "memoryDomain.read8,wram,0x30000"), "1");
    assert_eq!(reply(&mut b, "memoryDomain.read8,wram,0x30000"), "2");
    let idle = TcpStream::connect(addrs[0]).unwrap();
    let started = std::time::Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(a.request("core.platform").is_err());
    drop(idle);
}

#[test]
fn a_silent_client_is_closed_after_the_idle_timeout() {
    let s = serve(|c| c.idle_timeout = Duration::from_millis(300));
    let mut silent = TcpStream::connect(s.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server closes it: the read ends with EOF and nothing sent, long
    // before our own 10 s read timeout would (without an idle timeout the
    // read times out and `unwrap` fails).
    let mut answer = Vec::new();
    let started = std::time::Instant::now();
    silent.read_to_end(&mut answer).unwrap();
    assert!(answer.is_empty(), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(9));
    // Its thread has ended; the server goes on serving.
    still_serving(s.addr);
}

/// Sends `messages` in one write and reads their replies (bodies without
/// terminators), in order.
fn pipeline(addr: SocketAddr, messages: &[&str]) -> Vec<Vec<u8>> {
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = String::new();
    for m in messages {
        out.push_str(m);
        out.push_str("<|END|>");
    }
    raw.write_all(out.as_bytes()).unwrap();
    let (mut got, mut replies) = (Vec::new(), Vec::new());
    let mut chunk = vec![0u8; 1 << 16];
    while replies.len() < messages.len() {
        let n = raw.read(&mut chunk).unwrap();
        assert!(n > 0, "closed after {} replies", replies.len());
        got.extend_from_slice(&chunk[..n]);
        while let Some(end) = got.windows(7).position(|w| w == b"<|END|>") {
            replies.push(got[..end].to_vec());
            got.drain(..end + 7);
        }
    }
    replies
}

#[test]
fn slots_and_pending_presses_are_bounded() {
    let s = serve(|_| {});
    let mut c = client(s.addr);
    assert_eq!(reply(&mut c, "core.saveStateSlot,9"), "true");
    assert_eq!(reply(&mut c, "core.saveStateSlot,10"), ERROR);
    assert_eq!(reply(&mut c, "core.loadStateSlot,4294967295"), ERROR);
    // Paced at 60 frames/s, a 100,000-frame hold stays pending for the
    // whole test.
    let max = pmd_agent::socket::machine::MAX_PENDING_PRESSES;
    let holds = vec!["mgba-http.button.hold,A,100000"; max + 1];
    let replies = pipeline(s.addr, &holds);
    assert!(replies[..max].iter().all(|r| r == SUCCESS.as_bytes()));
    assert_eq!(replies[max], ERROR.as_bytes());
    still_serving(s.addr);
}

#[test]
fn pipelined_large_reads_are_answered_in_order() {
    let s = serve(|_| {});
    // 32 reads of all 256 KiB of EWRAM in one write: 25 MB of hex text,
    // sent as it is made.
    let reads = vec!["memoryDomain.readRange,wram,0,262144"; 32];
    let replies = pipeline(s.addr, &reads);
    // Comma-separated two-digit hex: 3 characters per byte, less one.
    assert!(replies.iter().all(|r| r.len() == 3 * 262_144 - 1));
    assert!(replies.iter().all(|r| r.starts_with(b"50,4d,44,54")));
    still_serving(s.addr);
}

#[test]
fn silent_sockets_cannot_lock_out_a_real_client() {
    // The default 10-minute idle timeout: only the handshake rule and
    // eviction can free the places.
    let s = serve(|c| c.max_connections = 4);
    let silent: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    // Every place is taken by a socket that never sent a request (the last
    // four evicted the first four): a real client still gets in at once,
    // and so does the next one.
    for _ in 0..2 {
        let mut c = client(s.addr);
        assert_eq!(reply(&mut c, "core.platform"), "0");
        assert_eq!(reply(&mut c, "core.getGameCode"), "AGB-PMDT");
    }
    drop(silent);
}

#[test]
fn a_connection_that_never_sends_a_request_is_closed_after_the_handshake_timeout() {
    let s = serve(|c| c.handshake_timeout = Duration::from_millis(300));
    let mut silent = TcpStream::connect(s.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A few bytes but never a whole request do not keep it open either.
    silent.write_all(b"core.plat").unwrap();
    let mut answer = Vec::new();
    silent.read_to_end(&mut answer).unwrap();
    assert!(answer.is_empty(), "{answer:?}");
    // A client that has spoken is kept past the handshake timeout.
    let mut c = client(s.addr);
    assert_eq!(reply(&mut c, "core.platform"), "0");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(reply(&mut c, "core.platform"), "0");
}

#[test]
fn at_the_cap_a_long_silent_client_gives_its_place_to_a_new_one() {
    let s = serve(|c| {
        c.max_connections = 2;
        c.evict_idle_after = Duration::from_millis(200);
    });
    let mut held: Vec<Client> = (0..2).map(|_| client(s.addr)).collect();
    for c in &mut held {
        assert_eq!(reply(c, "core.platform"), "0");
    }
    std::thread::sleep(Duration::from_millis(400));
    let mut newcomer = client(s.addr);
    assert_eq!(reply(&mut newcomer, "core.platform"), "0");
    // Exactly one of the two silent ones was closed.
    let alive = held
        .iter_mut()
        .map(|c| c.request("core.platform").is_ok())
        .filter(|&ok| ok)
        .count();
    assert_eq!(alive, 1);
}

#[test]
fn range_reads_are_bounded_over_all_connections_and_streamed() {
    let s = serve(|c| c.max_range_bytes = 1 << 20);
    let mut c = client(s.addr);
    // Over the server-wide bound: a clear protocol error, and the
    // connection goes on.
    assert_eq!(
        reply(&mut c, "memoryDomain.readRange,wram,0,1048577"),
        ERROR
    );
    assert_eq!(reply(&mut c, "core.readRange,0x02000000,1048577"), ERROR);
    let whole = reply(&mut c, "core.readRange,0x02000000,1048576");
    assert_eq!(whole.len(), 3 * 1_048_576 - 1);
    assert!(whole.starts_with("50,4d,44,54"));
    assert_eq!(reply(&mut c, "core.platform"), "0");
}
