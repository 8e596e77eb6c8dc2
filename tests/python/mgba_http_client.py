#!/usr/bin/env python3
"""An mGBA-http socket client in the style of the original Python agent.

Standard library only (socket, zlib), so CI needs nothing new.

    mgba_http_client.py check --port P --dir DIR [--server lua|rust]
        Drives a server through the commands the original agent sends and
        checks the replies; exit status 0 when every check passes.

    mgba_http_client.py bench --port P --steps N --shot-request S
                              --shot-path F --state S
        The original agent's per-step loop, parsing replies the way it
        does (hex text split on commas, one int() per byte); prints one
        JSON object with steps/s and median latencies.
"""

import argparse
import json
import os
import socket
import struct
import sys
import time
import zlib

TERMINATOR = b"<|END|>"
SUCCESS = "<|SUCCESS|>"
ERROR = "<|ERROR|>"


class Client:
    """One TCP connection; one request, one reply."""

    def __init__(self, port, host="127.0.0.1", timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=timeout)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(self, text):
        self.sock.sendall(text.encode("utf-8") + TERMINATOR)
        while True:
            end = self.buffer.find(TERMINATOR)
            if end >= 0:
                reply = self.buffer[:end]
                self.buffer = self.buffer[end + len(TERMINATOR):]
                return reply.decode("utf-8", errors="replace")
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk

    def close(self):
        self.sock.close()


def parse_hex(text):
    """The original agent's way: split on commas, one int() per byte."""
    return [int(b, 16) for b in text.split(",")]


def read_png(path, attempts=50):
    """Reads a PNG file back (retrying while it is incomplete, as the
    original does) and inflates its image data. Returns (width, height,
    inflated bytes). Unfiltering is left out: the standard library has no
    PNG decoder, and the original's Pillow does it in C."""
    for _ in range(attempts):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        if data.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in data[-12:]:
            break
        time.sleep(0.001)
    else:
        raise ValueError("%s: not a complete PNG" % path)
    at = 8
    width = height = 0
    idat = []
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat.append(body)
        at += 12 + length
    return width, height, zlib.decompress(b"".join(idat))


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def expect(self, what, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed.append("%s %s" % (what, detail))


def wait_frames(client, frames):
    start = int(client.request("core.currentFrame"))
    for _ in range(200000):
        now = int(client.request("core.currentFrame"))
        if now >= start + frames or now < start:
            return now
    raise TimeoutError("frame counter stuck at %d" % start)


# The test cartridge's phase byte (EWRAM 0x02000014) and its values.
PHASE = "memoryDomain.read8,wram,0x14"
PHASE_PLAYING, PHASE_TITLE, PHASE_MENU = 2, 5, 6


def enter_dungeon(client, attempts=20):
    """From power-on to the first floor, as a player does: Start on the
    title screen, Start again on the main menu (CONTINUE is preselected).
    The cartridge reacts to newly pressed keys only, so each tap is let go
    (held 16 frames) before the next. Returns the phase reached."""
    phase = int(client.request(PHASE))
    for _ in range(attempts):
        if phase not in (PHASE_TITLE, PHASE_MENU):
            break
        client.request("mgba-http.button.tap,Start")
        # The title ignores input for its first 30 frames; a tap then is
        # simply repeated.
        wait_frames(client, 20)
        phase = int(client.request(PHASE))
    # A few more frames: the seeding phase (two frames) generates floor 1.
    wait_frames(client, 4)
    return int(client.request(PHASE))


def check(args):
    c = Checks()
    client = Client(args.port)
    c.expect("title", client.request("core.getGameTitle") == "PMD-AGENT")
    c.expect("code", client.request("core.getGameCode") == "AGB-PMDT")
    phase = enter_dungeon(client)
    c.expect("in the dungeon", phase == PHASE_PLAYING, "phase %d" % phase)
    c.expect("platform", client.request("core.platform") == "0")
    first = int(client.request("core.currentFrame"))
    later = wait_frames(client, 3)
    c.expect("frames advance", later >= first + 3, "%d -> %d" % (first, later))
    domains = set(client.request("coreAdapter.memory").split(","))
    for name in ("wram", "iwram", "vram", "oam", "palette"):
        c.expect("domain " + name, name in domains, str(sorted(domains)))
    magic = client.request("memoryDomain.read32,wram,0x10")
    c.expect("read32 number", magic.isdigit(), magic)
    ptr = int(client.request("memoryDomain.read32,wram,0x3B418"))
    c.expect("gDungeon in EWRAM", 0x02000000 <= ptr < 0x02040000, hex(ptr))
    same = client.request("memoryDomain.read32,wram,0x0203B418")
    c.expect("bus address wraps", same == str(ptr), same)
    text = client.request("memoryDomain.readRange,wram,0,65536")
    c.expect("readRange length", len(text) == 65536 * 3 - 1, str(len(text)))
    data = parse_hex(text)
    c.expect("readRange bytes", len(data) == 65536 and all(0 <= b < 256 for b in data))
    for domain, size in (("iwram", 32768), ("vram", 98304), ("oam", 1024), ("palette", 1024)):
        c.expect("size " + domain, client.request("memoryDomain.size," + domain) == str(size))
        c.expect("read8 " + domain, client.request("memoryDomain.read8,%s,0" % domain).isdigit())
    # Servers run thousands of frames a second: hold long enough to see it.
    c.expect("hold", client.request("mgba-http.button.hold,Start,3000") == SUCCESS)
    wait_frames(client, 3)
    held = client.request("mgba-http.button.getAll").split(",")
    c.expect("held key", "Start" in held, str(held))
    wait_frames(client, 3010)
    c.expect("released", "Start" not in client.request("mgba-http.button.getAll").split(","))
    c.expect("unknown command", client.request("core.doesNotExist") == ERROR)
    c.expect("bad number", client.request("memoryDomain.read8,wram,zz") == ERROR)
    shot = os.path.join(args.dir, "check.png")
    request = shot if args.server == "lua" else "check.png"
    c.expect("screenshot", client.request("core.screenshot," + request) == SUCCESS)
    width, height, raw = read_png(shot)
    c.expect("screenshot size", (width, height) == (240, 160), "%dx%d" % (width, height))
    c.expect("screenshot data", len(raw) == 160 * (1 + 240 * 3), str(len(raw)))
    state = os.path.join(args.dir, "check.ss0")
    request = state if args.server == "lua" else "check.ss0"
    client.request("memoryDomain.write8,wram,0x30000,171")
    c.expect("save state", client.request("core.saveStateFile," + request) == "true")
    client.request("memoryDomain.write8,wram,0x30000,7")
    c.expect("load state", client.request("core.loadStateFile," + request) == "true")
    c.expect("state restored", client.request("memoryDomain.read8,wram,0x30000") == "171")
    client.close()
    if c.failed:
        for failure in c.failed:
            print("FAILED:", failure)
        return 1
    print("ok: %d checks" % c.passed)
    return 0


def median_ms(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2] * 1e3 if samples else 0.0


def bench(args):
    client = Client(args.port)
    client.request("core.loadStateFile," + args.state)
    keys = ["Right", "Down", "Left", "Up"]
    reads, frames, presses = [], [], []
    started = time.perf_counter()
    for step in range(args.steps):
        t0 = time.perf_counter()
        ptr = int(client.request("memoryDomain.read32,wram,0x3B418"))
        ram = parse_hex(client.request(
            "memoryDomain.readRange,wram,%d,%d" % (ptr - 0x02000000, 0x1CEDC)))
        bag = parse_hex(client.request("memoryDomain.readRange,wram,0x389A8,80"))
        t1 = time.perf_counter()
        client.request("core.screenshot," + args.shot_request)
        read_png(args.shot_path)
        t2 = time.perf_counter()
        # Decide: out of scope for the transport comparison; walk around.
        client.request("mgba-http.button.tap," + keys[step % len(keys)])
        wait_frames(client, 2)
        t3 = time.perf_counter()
        reads.append(t1 - t0)
        frames.append(t2 - t1)
        presses.append(t3 - t2)
        del ram, bag
    seconds = time.perf_counter() - started
    client.close()
    print(json.dumps({
        "steps": args.steps,
        "steps_per_s": args.steps / seconds if seconds > 0 else 0.0,
        "state_read_p50_ms": median_ms(reads),
        "frame_fetch_p50_ms": median_ms(frames),
        "button_press_p50_ms": median_ms(presses),
    }))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("check")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--server", choices=["lua", "rust"], default="lua")
    p = sub.add_parser("bench")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--shot-request", required=True)
    p.add_argument("--shot-path", required=True)
    p.add_argument("--state", required=True)
    args = parser.parse_args()
    return check(args) if args.mode == "check" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
