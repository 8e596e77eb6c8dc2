#!/usr/bin/env python3
"""One 4-player `even_odd` league.v2 league, side by side: the best-known
public Python implementation (its own manager, two referees and four
players, unmodified) and ours (`pmd-agent league serve --referees 0
--remote-referees`, two `pmd-agent league referee` processes, four
`pmd-agent league player --policy random` processes). Same topology on
both sides: 7 separate processes on loopback, on the same ports (manager
8000, referees 8001-8002, players 8101-8104, the public implementation's
fixed configuration). Runs alternate (public, ours, public, ours, ...).

Measured the same way on both sides:
- the wire: `tcpdump -i lo` captures every TCP packet to or from those
  ports into a pcap; this script reassembles the TCP streams and parses
  the HTTP/1.x messages in them (nothing sits between the processes, so
  latency is not changed). From that capture:
  * HTTP requests (and responses, TCP connections) of the league;
  * wall time from the first byte of the first player registration
    (LEAGUE_REGISTER_REQUEST) to the last byte of the reply to the last
    LEAGUE_COMPLETED notification ("completion seen on the wire");
  * per match, from the first byte of its first GAME_INVITATION to the
    last byte of the manager's reply to its MATCH_RESULT_REPORT
    ("invitation to acknowledged result"); p50/p99 by linear
    interpolation (with 6 matches a run, p99 is within 5 % of the max);
- processes: every one is a direct child of this script, reaped with
  wait4(): CPU = ru_utime + ru_stime of its whole life (start-up
  included); peak RSS = VmHWM from /proc/<pid>/status read at its exit
  (the script ptrace-seizes each process's main thread with
  PTRACE_O_TRACEEXIT only, so it stops once, at exit, with its memory
  still mapped), and also sampled every 25 ms (the larger is kept).
  wait4's ru_maxrss is recorded but not used: Linux counts in it the
  forked image of this Python before exec (~19 MB). CPU in the
  registration-to-completion window comes from the 25 ms samples of
  /proc/<pid>/stat (10 ms ticks), so it is coarse for short leagues.

Usage (as root, for tcpdump and ptrace; needs no network beyond loopback;
ports 8000-8002 and 8101-8104 must be free):
  benches/league/side_by_side.py --public /tmp/pubimpl \
      --public-python /tmp/pubimpl_venv/bin/python \
      --public-source "aviferdman/LLMs-and-Multi-Agent-Orchestration---Assignment7@059cca16" \
      --ours target/release/pmd-agent --runs 3 \
      --json benches/league/results/side_by_side.json

The public tree measured is GitHub aviferdman/LLMs-and-Multi-Agent-
Orchestration---Assignment7 (`git archive` of a checkout, outside this
repository; none of its code is here); its runtime dependencies go in a
venv of its own (pip install fastapi uvicorn httpx pydantic jsonschema,
the runtime part of its requirements.txt).

--public is a work tree of the public implementation (it is copied to a
temporary directory for every run, since its agents write logs and
standings into their tree); --public-python a Python whose environment
has its runtime dependencies (fastapi, uvicorn, httpx, pydantic,
jsonschema). Its own launcher, run_league.py, starts each agent with
`subprocess.Popen(["python", script], creationflags=
subprocess.CREATE_NEW_PROCESS_GROUP)`, a Windows-only flag
(AttributeError on Linux); this script starts the very same seven
scripts, in the launcher's order and with no delay between them, from
the tree's root. Standard library only.
"""

import argparse
import ctypes
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

MANAGER_PORT = 8000
REFEREE_PORTS = [8001, 8002]
PLAYER_PORTS = [8101, 8102, 8103, 8104]
ALL_PORTS = [MANAGER_PORT] + REFEREE_PORTS + PLAYER_PORTS
CLK_TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_S = 0.025

# The public implementation's launcher order (agents/league_manager/
# orchestration.py: start_all_agents): manager, referees, players.
PUBLIC_SCRIPTS = [
    ("manager", "agents/league_manager/main.py"),
    ("referee-1", "agents/launch_referee_01.py"),
    ("referee-2", "agents/launch_referee_02.py"),
    ("player-1", "agents/launch_player_01.py"),
    ("player-2", "agents/launch_player_02.py"),
    ("player-3", "agents/launch_player_03.py"),
    ("player-4", "agents/launch_player_04.py"),
]


def log(msg):
    print(f"[side_by_side {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except Exception:  # noqa: BLE001 - uptime(1) missing: /proc/loadavg suffices
        return "load average: " + loadavg()


def listening_ports():
    """Ports in LISTEN state on this machine (IPv4 and IPv6)."""
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 3 and parts[3] == "0A":
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def wait_listening(ports, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if set(ports) <= listening_ports():
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------- processes

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_CONT = 7
PTRACE_SEIZE = 0x4206
PTRACE_O_TRACEEXIT = 0x40
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_STOP = 128


def _ptrace(request, pid, addr, data):
    return _libc.ptrace(request, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))


def read_vmhwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Proc:
    """A direct child: sampled from /proc while it lives, reaped by wait4."""

    def __init__(self, name, argv, cwd, out_dir, env=None):
        self.name = name
        self.argv = argv
        self.stdout = open(os.path.join(out_dir, f"{name}.out"), "wb")
        self.stderr = open(os.path.join(out_dir, f"{name}.err"), "wb")
        self.t_start = time.time()
        self.popen = subprocess.Popen(
            argv, cwd=cwd, stdout=self.stdout, stderr=self.stderr, env=env,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.pid = self.popen.pid
        self.samples = []  # (time, cpu ticks, VmHWM kB, VmRSS kB)
        self.vmhwm_kb = 0  # the largest sampled
        self.hwm_at_exit_kb = None
        self.traced = False
        self.t_exit = None
        self.status = None
        self.rusage = None
        self.done = threading.Event()
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self):
        # Trace the process (its main thread only) just to be stopped when
        # it exits, while its memory is still mapped: VmHWM read there is
        # its peak RSS, whatever the sampling caught. (wait4's ru_maxrss
        # cannot serve: Linux counts in it the forked image of this Python
        # before exec, ~19 MB, more than a small process ever holds.)
        traced = _ptrace(PTRACE_SEIZE, self.pid, 0, PTRACE_O_TRACEEXIT) == 0
        self.traced = traced
        while True:
            _, status, rusage = os.wait4(self.pid, 0)
            if os.WIFSTOPPED(status):
                event = status >> 16
                if event == PTRACE_EVENT_EXIT:
                    self.hwm_at_exit_kb = read_vmhwm(self.pid)
                    _ptrace(PTRACE_CONT, self.pid, 0, 0)
                elif event == PTRACE_EVENT_STOP:
                    _ptrace(PTRACE_CONT, self.pid, 0, 0)
                else:  # a signal on its way: deliver it
                    _ptrace(PTRACE_CONT, self.pid, 0, os.WSTOPSIG(status))
                continue
            break
        self.t_exit = time.time()
        self.status = status
        self.rusage = rusage
        self.popen.returncode = os.waitstatus_to_exitcode(status)
        self.done.set()

    def sample(self):
        if self.done.is_set():
            return
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{self.pid}/status") as f:
                status = f.read()
        except OSError:
            return
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        hwm = rss = 0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        if fields[0] == "Z":
            return
        self.vmhwm_kb = max(self.vmhwm_kb, hwm)
        self.samples.append((time.time(), ticks, hwm, rss))

    def kill(self):
        if not self.done.is_set():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def peak_kb(self):
        return max(self.hwm_at_exit_kb or 0, self.vmhwm_kb)

    def cpu_s(self):
        return self.rusage.ru_utime + self.rusage.ru_stime

    def cpu_at(self, t):
        """CPU seconds used by time t (from the 25 ms samples)."""
        if self.t_exit is not None and t >= self.t_exit:
            return self.cpu_s()
        best = 0
        for ts, ticks, _, _ in self.samples:
            if ts <= t:
                best = ticks
            else:
                break
        return best / CLK_TCK

    def report(self):
        return {
            "argv": self.argv,
            "pid": self.pid,
            "exit_code": self.popen.returncode,
            "lifetime_s": round(self.t_exit - self.t_start, 4),
            "cpu_s": round(self.cpu_s(), 4),
            "utime_s": round(self.rusage.ru_utime, 4),
            "stime_s": round(self.rusage.ru_stime, 4),
            "vmhwm_mb": round(self.peak_kb() / 1024, 2),
            "vmhwm_source": "exit" if self.hwm_at_exit_kb else "samples",
            "vmhwm_sampled_max_mb": round(self.vmhwm_kb / 1024, 2),
            "ru_maxrss_mb": round(self.rusage.ru_maxrss / 1024, 2),
            "samples": len(self.samples),
        }


def sampler(procs, stop):
    """Samples every process in the list (which grows as they start)."""
    while not stop.is_set():
        for p in list(procs):
            p.sample()
        stop.wait(SAMPLE_S)


# ---------------------------------------------------------------- capture


def start_capture(tcpdump, pcap_path):
    expr = "tcp and (" + " or ".join(f"port {p}" for p in ALL_PORTS) + ")"
    err_path = pcap_path + ".err"
    errf = open(err_path, "wb")
    proc = subprocess.Popen(
        [tcpdump, "-i", "lo", "-n", "-s", "0", "-B", "16384", "--immediate-mode", "-U", "-w", pcap_path, expr],
        stdout=subprocess.DEVNULL, stderr=errf,
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(err_path, "rb") as f:
            if b"listening on" in f.read():
                time.sleep(0.2)
                return proc, err_path
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    with open(err_path, "rb") as f:
        raise RuntimeError(f"tcpdump did not start: {f.read().decode(errors='replace')}")


def stop_capture(proc, err_path):
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with open(err_path, "rb") as f:
        text = f.read().decode(errors="replace")
    stats = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "packets":
            stats[" ".join(parts[1:])] = int(parts[0])
    return stats


def read_pcap(path):
    """Yield (timestamp, ip_src, ip_dst, tcp segment bytes) from a pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
        magic = struct.unpack(">I", data[:4])[0]
    else:
        raise ValueError(f"{path}: not a pcap file")
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            break  # a record still being written (live reads)
        pkt = data[off:off + incl]
        off += incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:  # Ethernet
            ethertype = struct.unpack("!H", pkt[12:14])[0]
            ip = pkt[14:]
        elif linktype == 113:  # Linux cooked v1
            ethertype = struct.unpack("!H", pkt[14:16])[0]
            ip = pkt[16:]
        elif linktype == 276:  # Linux cooked v2
            ethertype = struct.unpack("!H", pkt[0:2])[0]
            ip = pkt[20:]
        elif linktype in (0, 108):  # BSD loopback
            family = struct.unpack("=I", pkt[:4])[0]
            ethertype = 0x0800 if family == 2 else 0x86DD
            ip = pkt[4:]
        elif linktype in (12, 101):  # raw IP
            ethertype = 0x0800 if pkt[0] >> 4 == 4 else 0x86DD
            ip = pkt
        else:
            raise ValueError(f"unsupported link type {linktype}")
        if ethertype == 0x0800:
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != 6:
                continue
            src, dst = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
            seg = ip[ihl:total]
        elif ethertype == 0x86DD:
            if ip[6] != 6:  # no extension headers on loopback TCP
                continue
            plen = struct.unpack("!H", ip[4:6])[0]
            src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
            seg = ip[40:40 + plen]
        else:
            continue
        yield ts, src, dst, seg


class Stream:
    """One direction of one TCP connection: bytes with arrival times."""

    def __init__(self, isn):
        self.isn = isn
        self.segments = {}  # relative seq -> (ts, payload); first copy wins

    def add(self, seq, ts, payload):
        rel = (seq - self.isn - 1) % (1 << 32)
        if rel not in self.segments or len(payload) > len(self.segments[rel][1]):
            if rel in self.segments:
                ts = min(ts, self.segments[rel][0])
            self.segments[rel] = (ts, payload)

    def assemble(self):
        """(bytes, [(offset, ts)]) in order; overlaps keep the first copy."""
        buf = bytearray()
        marks = []
        for rel in sorted(self.segments):
            ts, payload = self.segments[rel]
            if rel > len(buf):  # a hole: capture lost bytes
                break
            new = payload[len(buf) - rel:]
            if new:
                marks.append((len(buf), ts))
                buf += new
        return bytes(buf), marks


def ts_of(marks, offset):
    lo, hi = 0, len(marks) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if marks[mid][0] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return marks[lo][1]


def connections(pcap_path):
    """TCP connections to the league's ports, each with its two streams."""
    conns = []
    open_by_key = {}
    for ts, src, dst, seg in read_pcap(pcap_path):
        sport, dport, seq = struct.unpack("!HHI", seg[:8])
        doff = (seg[12] >> 4) * 4
        flags = seg[13]
        payload = seg[doff:]
        syn, ack = flags & 0x02, flags & 0x10
        a, b = (src, sport), (dst, dport)
        key = (a, b) if dport in ALL_PORTS else (b, a)  # (client, server)
        from_client = key[0] == a
        if syn and not ack:  # a new connection (a port may be reused later)
            conn = {"client": a, "server": b, "t_syn": ts, "c2s": Stream(seq), "s2c": None}
            open_by_key[key] = conn
            conns.append(conn)
            continue
        conn = open_by_key.get(key)
        if conn is None:
            continue  # started before the capture
        if syn and ack:
            conn["s2c"] = Stream(seq)
            continue
        if payload:
            stream = conn["c2s"] if from_client else conn["s2c"]
            if stream is not None:
                stream.add(seq, ts, payload)
    return conns


def parse_http(buf, marks, requests):
    """HTTP/1.x messages in one stream: dicts with times, start line, body."""
    out = []
    pos = 0
    while pos < len(buf):
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head = buf[pos:end].decode("latin-1").split("\r\n")
        start = head[0]
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        body_start = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            p = body_start
            while True:
                nl = buf.find(b"\r\n", p)
                if nl < 0:
                    return out
                size = int(buf[p:nl].split(b";")[0], 16)
                p = nl + 2
                if size == 0:
                    trailer_end = buf.find(b"\r\n", p)
                    p = (trailer_end + 2) if trailer_end >= 0 else len(buf)
                    break
                body += buf[p:p + size]
                p += size + 2
            body_end = p
        else:
            length = int(headers.get("content-length", "0") or 0)
            if not requests and "content-length" not in headers and not start.split(" ")[1:2] == ["204"]:
                length = len(buf) - body_start  # read to close
            body = buf[body_start:body_start + length]
            body_end = body_start + length
        if start.startswith("PRI * HTTP/2"):
            raise ValueError("HTTP/2 on the wire: this parser reads HTTP/1.x only")
        out.append({
            "start": start,
            "t_first": ts_of(marks, pos),
            "t_last": ts_of(marks, max(pos, body_end - 1)),
            "body": bytes(body),
            "complete": body_end <= len(buf),
        })
        pos = body_end
    return out


def message_of(body):
    """The league.v2 message in a JSON-RPC body (params) or the body itself."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(doc, dict):
        return {}
    params = doc.get("params")
    if isinstance(params, dict) and "message_type" in params:
        return params
    if isinstance(doc.get("result"), dict) and "message_type" in doc["result"]:
        return doc["result"]
    return doc


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def analyse_capture(pcap_path):
    conns = connections(pcap_path)
    exchanges = []
    for c in conns:
        buf, marks = c["c2s"].assemble()
        reqs = parse_http(buf, marks, True) if buf else []
        resps = []
        if c["s2c"] is not None:
            rbuf, rmarks = c["s2c"].assemble()
            resps = parse_http(rbuf, rmarks, False) if rbuf else []
        for i, r in enumerate(reqs):
            resp = resps[i] if i < len(resps) else None
            msg = message_of(r["body"])
            method, _, rest = r["start"].partition(" ")
            exchanges.append({
                "method": method,
                "path": rest.rsplit(" ", 1)[0],
                "server_port": c["server"][1],
                "message_type": msg.get("message_type"),
                "match_id": msg.get("match_id"),
                "sender": msg.get("sender"),
                "t_req_first": r["t_first"],
                "t_req_last": r["t_last"],
                "status": resp["start"].split(" ")[1] if resp else None,
                "t_resp_last": resp["t_last"] if resp else None,
                "reply": message_of(resp["body"]) if resp else {},
            })
    exchanges.sort(key=lambda e: e["t_req_first"])
    by_type = {}
    for e in exchanges:
        by_type[e["message_type"] or f"({e['method']} {e['path']})"] = by_type.get(e["message_type"] or f"({e['method']} {e['path']})", 0) + 1

    def times(kind):
        return [e for e in exchanges if e["message_type"] == kind]

    regs = times("LEAGUE_REGISTER_REQUEST")
    ref_regs = times("REFEREE_REGISTER_REQUEST")
    completed = times("LEAGUE_COMPLETED")
    result = {
        "tcp_connections": len(conns),
        "http_requests": len(exchanges),
        "http_requests_post": sum(1 for e in exchanges if e["method"] == "POST"),
        "http_responses": sum(1 for e in exchanges if e["status"] is not None),
        "http_non_2xx": sum(1 for e in exchanges if e["status"] is not None and not e["status"].startswith("2")),
        "requests_by_message_type": dict(sorted(by_type.items())),
        "requests_by_server_port": {},
    }
    for e in exchanges:
        k = str(e["server_port"])
        result["requests_by_server_port"][k] = result["requests_by_server_port"].get(k, 0) + 1
    if not regs or not completed:
        result["error"] = "no player registration or no LEAGUE_COMPLETED on the wire"
        return result
    t0 = regs[0]["t_req_first"]
    t_end = max((e["t_resp_last"] or e["t_req_last"]) for e in completed)
    t_last_reg = max(e["t_resp_last"] or e["t_req_last"] for e in regs + ref_regs)
    result.update({
        "t_first_player_registration": t0,
        "t_league_completed_acked": t_end,
        "wall_s_first_registration_to_completion": round(t_end - t0, 6),
        "wall_s_last_registration_to_completion": round(t_end - t_last_reg, 6),
        "referee_registrations_before_first_player": sum(1 for e in ref_regs if (e["t_resp_last"] or e["t_req_last"]) <= t0),
    })
    # Per match: first GAME_INVITATION -> reply to its MATCH_RESULT_REPORT.
    matches = {}
    for e in exchanges:
        mid = e["match_id"]
        if not mid:
            continue
        m = matches.setdefault(mid, {})
        if e["message_type"] == "GAME_INVITATION":
            m.setdefault("t_invite", e["t_req_first"])
        elif e["message_type"] == "MATCH_RESULT_REPORT" and e["t_resp_last"] is not None:
            m["t_ack"] = max(m.get("t_ack", 0), e["t_resp_last"])
            m["ack_status"] = e["status"]
            m["ack_type"] = e["reply"].get("message_type")
    lat = {}
    for mid, m in sorted(matches.items()):
        if "t_invite" in m and "t_ack" in m:
            lat[mid] = round((m["t_ack"] - m["t_invite"]) * 1000, 3)
    vals = list(lat.values())
    result.update({
        "match_results_reported": len(times("MATCH_RESULT_REPORT")),
        "match_latency_ms": lat,
        "match_latency_p50_ms": round(percentile(vals, 0.5), 3) if vals else None,
        "match_latency_p99_ms": round(percentile(vals, 0.99), 3) if vals else None,
        "match_result_ack_types": sorted({str(m.get("ack_type")) for m in matches.values() if "t_ack" in m}),
        "max_matches_in_flight": max_overlap([(m["t_invite"], m["t_ack"]) for m in matches.values() if "t_invite" in m and "t_ack" in m]),
    })
    return result


def max_overlap(intervals):
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    cur = best = 0
    for _, d in events:
        cur += d
        best = max(best, cur)
    return best


# ---------------------------------------------------------------- sides


def start_public(tree, python, work, out_dir, procs):
    """A fresh copy of the public tree; its seven agents as its launcher
    would start them (same scripts, same order, no delay)."""
    copy = os.path.join(work, "public")
    shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    # Byte-compile outside the measurement (a deployed tree has its .pyc).
    subprocess.run([python, "-m", "compileall", "-q", "agents", "SHARED"], cwd=copy, check=True,
                   stdout=subprocess.DEVNULL)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(python) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    for name, script in PUBLIC_SCRIPTS:
        procs.append(Proc(name, [python, script], copy, out_dir, env))


def wait_on_wire(pcap, message_type, count, timeout):
    """Wait until `count` requests of this type have been answered."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        answered = 0
        try:
            for c in connections(pcap):
                if c["s2c"] is None:
                    continue
                buf, marks = c["c2s"].assemble()
                rbuf, rmarks = c["s2c"].assemble()
                if not buf or not rbuf:
                    continue
                reqs = parse_http(buf, marks, True)
                resps = parse_http(rbuf, rmarks, False)
                for i, r in enumerate(reqs[:len(resps)]):
                    if resps[i]["complete"] and message_of(r["body"]).get("message_type") == message_type:
                        answered += 1
        except (ValueError, struct.error, IndexError):
            pass  # a packet half written: read again
        if answered >= count:
            return True
        time.sleep(0.02)
    return False


def start_ours(binary, work, out_dir, procs, pcap):
    manager = f"http://127.0.0.1:{MANAGER_PORT}/mcp"
    procs.append(Proc("manager", [
        binary, "league", "serve", "--game", "even_odd", "--start-when", "4", "--once", "--json",
        "--db", os.path.join(work, "league.db"), "--addr", f"127.0.0.1:{MANAGER_PORT}",
        "--referees", "0", "--remote-referees",
    ], work, out_dir))
    if not wait_listening([MANAGER_PORT], 20):
        raise RuntimeError("our manager did not listen")
    for i, port in enumerate(REFEREE_PORTS, 1):
        procs.append(Proc(f"referee-{i}", [
            binary, "league", "referee", "--manager", manager, "--addr", f"127.0.0.1:{port}",
            "--capacity", "4",
        ], work, out_dir))
    # Players come once both referees' registrations are answered, as
    # seen in the capture (the public agents need no such wait: each
    # registers 2 s after it starts, and its manager waits for all six).
    if not wait_on_wire(pcap, "REFEREE_REGISTER_REQUEST", len(REFEREE_PORTS), 20):
        raise RuntimeError("our referees did not register")
    for i, port in enumerate(PLAYER_PORTS, 1):
        procs.append(Proc(f"player-{i}", [
            binary, "league", "player", "--policy", "random", "--manager", manager,
            "--addr", f"127.0.0.1:{port}",
        ], work, out_dir))


def run_once(side, args, run_index, keep_dir):
    busy = listening_ports() & set(ALL_PORTS)
    if busy:
        raise RuntimeError(f"ports already in use: {sorted(busy)}")
    work = tempfile.mkdtemp(prefix=f"sbs-{side}-{run_index}-")
    out_dir = os.path.join(work, "out")
    os.makedirs(out_dir)
    pcap = os.path.join(work, "league.pcap")
    record = {
        "side": side,
        "run": run_index,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "uptime_before": uptime(),
    }
    cap, cap_err = start_capture(args.tcpdump, pcap)
    procs = []
    stop = threading.Event()
    timed_out = []
    threading.Thread(target=sampler, args=(procs, stop), daemon=True).start()
    t_launch = time.time()
    try:
        if side == "public":
            start_public(args.public, args.public_python, work, out_dir, procs)
        else:
            start_ours(args.ours, work, out_dir, procs, pcap)
        deadline = time.time() + args.timeout
        for p in procs:
            if not p.done.wait(max(0.0, deadline - time.time())):
                break
        timed_out = [p.name for p in procs if not p.done.is_set()]
        for p in procs:
            p.kill()
        for p in procs:
            p.done.wait(10)
    finally:
        stop.set()
        for p in procs:
            p.kill()
        cap_stats = stop_capture(cap, cap_err)
    record["uptime_after"] = uptime()
    record["timed_out"] = timed_out
    record["capture"] = cap_stats
    record["processes"] = {p.name: p.report() for p in procs}
    record["process_wall_s_launch_to_last_exit"] = round(max(p.t_exit for p in procs) - t_launch, 4)
    record["cpu_s_total"] = round(sum(p.cpu_s() for p in procs), 4)
    wire = analyse_capture(pcap)
    record["wire"] = wire
    if "t_first_player_registration" in wire:
        t0, t1 = wire["t_first_player_registration"], wire["t_league_completed_acked"]
        record["cpu_s_in_window_approx"] = round(sum(p.cpu_at(t1) - p.cpu_at(t0) for p in procs), 3)
    if side == "ours":
        try:
            with open(os.path.join(out_dir, "manager.out")) as f:
                rep = json.load(f)
            record["league_report"] = {k: rep.get(k) for k in ("status", "matches", "matches_played", "rounds")}
            record["league_report"]["technical_losses"] = sum(s.get("technical_losses", 0) for s in rep.get("standings", []))
        except (OSError, ValueError) as e:
            record["league_report"] = {"error": str(e)}
    else:
        record["league_report"] = public_report(os.path.join(work, "public"))
    if keep_dir:
        dest = os.path.join(keep_dir, f"{side}-{run_index}")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(out_dir, os.path.join(dest, "out"))
        shutil.copy(pcap, dest)
    shutil.rmtree(work, ignore_errors=True)
    return record


def public_report(tree):
    """What its manager logged: results received per round, completion."""
    rep = {"matches_played": 0}
    try:
        with open(os.path.join(tree, "SHARED/logs/agents/LM01.log.jsonl")) as f:
            for line in f:
                d = json.loads(line)
                ev = d.get("event_type")
                if ev == "MATCH_RESULT":
                    rep["matches_played"] += 1
                elif ev == "LEAGUE_COMPLETED_SENT":
                    rep["status"] = "completed"
                elif ev == "ERROR":
                    rep.setdefault("errors", []).append(d.get("error_type"))
    except OSError as e:
        rep["error"] = str(e)
    return rep


# ---------------------------------------------------------------- summary


def kinds(procs):
    out = {}
    for name, p in procs.items():
        kind = name.split("-")[0]
        out.setdefault(kind, []).append(p["vmhwm_mb"])
    return out


def summarize(runs):
    sides = {}
    for side in ("public", "ours"):
        rs = [r for r in runs if r["side"] == side and "wall_s_first_registration_to_completion" in r["wire"]]
        if not rs:
            continue
        pooled = [v for r in rs for v in r["wire"]["match_latency_ms"].values()]
        rss = {}
        for r in rs:
            for k, v in kinds(r["processes"]).items():
                rss.setdefault(k, []).extend(v)
        sides[side] = {
            "runs": len(rs),
            "wall_s": [r["wire"]["wall_s_first_registration_to_completion"] for r in rs],
            "wall_s_from_last_registration": [r["wire"]["wall_s_last_registration_to_completion"] for r in rs],
            "process_wall_s": [r["process_wall_s_launch_to_last_exit"] for r in rs],
            "cpu_s_total": [r["cpu_s_total"] for r in rs],
            "cpu_s_in_window_approx": [r.get("cpu_s_in_window_approx") for r in rs],
            "peak_rss_mb_by_kind": {k: [min(v), max(v)] for k, v in rss.items()},
            "http_requests": [r["wire"]["http_requests"] for r in rs],
            "tcp_connections": [r["wire"]["tcp_connections"] for r in rs],
            "match_p50_ms": [r["wire"]["match_latency_p50_ms"] for r in rs],
            "match_p99_ms": [r["wire"]["match_latency_p99_ms"] for r in rs],
            "match_p50_ms_pooled": round(percentile(pooled, 0.5), 3) if pooled else None,
            "match_p99_ms_pooled": round(percentile(pooled, 0.99), 3) if pooled else None,
            "matches_pooled": len(pooled),
        }
    return sides


def fmt_range(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    lo, hi = min(vals), max(vals)
    med = statistics.median(vals)
    if lo == hi:
        return format(lo, fmt)
    return f"{format(med, fmt)} ({format(lo, fmt)}–{format(hi, fmt)})"


def table(summary):
    rows = [
        ("wall s, first player registration → LEAGUE_COMPLETED acked", "wall_s", ".3f"),
        ("wall s, last registration → LEAGUE_COMPLETED acked", "wall_s_from_last_registration", ".3f"),
        ("wall s, launch → last process exit", "process_wall_s", ".2f"),
        ("CPU s, all 7 processes, whole life", "cpu_s_total", ".2f"),
        ("CPU s in the registration→completion window (25 ms samples, ≈)", "cpu_s_in_window_approx", ".2f"),
        ("HTTP requests", "http_requests", "d"),
        ("TCP connections", "tcp_connections", "d"),
        ("match p50 ms (per run)", "match_p50_ms", ".1f"),
        ("match p99 ms (per run)", "match_p99_ms", ".1f"),
    ]
    sides = [s for s in ("public", "ours") if s in summary]
    lines = ["| figure (median (min–max) of runs) | " + " | ".join(sides) + " |",
             "|---|" + "---|" * len(sides)]
    for label, key, fmt in rows:
        lines.append(f"| {label} | " + " | ".join(fmt_range(summary[s][key], fmt) for s in sides) + " |")
    lines.append("| match p50 / p99 ms, all runs pooled | " + " | ".join(
        f"{summary[s]['match_p50_ms_pooled']:.1f} / {summary[s]['match_p99_ms_pooled']:.1f} ({summary[s]['matches_pooled']} matches)"
        for s in sides) + " |")
    for kind in ("manager", "referee", "player"):
        lines.append(f"| peak RSS MB, {kind} (VmHWM, min–max) | " + " | ".join(
            "{:.1f}–{:.1f}".format(*summary[s]["peak_rss_mb_by_kind"].get(kind, [0, 0])) for s in sides) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--public", required=True, help="work tree of the public implementation")
    ap.add_argument("--public-python", default="python3", help="Python with its runtime dependencies")
    ap.add_argument("--ours", required=True, help="path of the pmd-agent binary")
    ap.add_argument("--runs", type=int, default=3, help="runs per side (alternating)")
    ap.add_argument("--sides", default="public,ours", help="which sides, in alternation order")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--keep", help="keep each run's logs and pcap under this directory")
    ap.add_argument("--tcpdump", default=shutil.which("tcpdump") or "/usr/bin/tcpdump")
    ap.add_argument("--timeout", type=float, default=180, help="seconds a league may take")
    ap.add_argument("--commit", help="commit to record (default: git rev-parse --short HEAD here)")
    ap.add_argument("--public-source", help="where the public tree came from (repository@commit), recorded")
    ap.add_argument("--pause", type=float, default=3.0, help="seconds between runs (sockets settle)")
    args = ap.parse_args()
    args.ours = os.path.abspath(args.ours)
    args.public = os.path.abspath(args.public)
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    if not os.path.exists(args.tcpdump):
        sys.exit("tcpdump not found (apt-get install tcpdump); it must run as root")
    commit = args.commit
    if commit is None:
        here = os.path.dirname(os.path.abspath(__file__))
        commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or None
        # Read-only: no index refresh is written (GIT_OPTIONAL_LOCKS=0).
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True,
                               env=dict(os.environ, GIT_OPTIONAL_LOCKS="0")).stdout.strip()
        if commit and dirty:
            commit += " (working tree with uncommitted changes)"
    pyver = subprocess.run([args.public_python, "-c", "import sys, fastapi, uvicorn, httpx, pydantic; "
                            "print(sys.version.split()[0], 'fastapi', fastapi.__version__, 'uvicorn', uvicorn.__version__, "
                            "'httpx', httpx.__version__, 'pydantic', pydantic.VERSION)"],
                           capture_output=True, text=True).stdout.strip() if "public" in sides else None
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "ours": args.ours,
        "ours_binary_mtime": datetime.datetime.fromtimestamp(os.path.getmtime(args.ours), datetime.timezone.utc).isoformat(timespec="seconds"),
        "public_tree": args.public,
        "public_source": args.public_source,
        "public_python": args.public_python,
        "public_runtime": pyver,
        "cpus": os.cpu_count(),
        "uname": " ".join(os.uname()),
        "uptime_start": uptime(),
        "method": (__doc__ or "").split("Usage")[0].strip(),
    }
    runs = []
    for i in range(1, args.runs + 1):
        for side in sides:
            log(f"run {i} {side}: load {loadavg()}")
            rec = run_once(side, args, i, args.keep)
            w = rec["wire"]
            log(f"  wall {w.get('wall_s_first_registration_to_completion')} s, cpu {rec['cpu_s_total']} s, "
                f"http {w.get('http_requests')}, p50 {w.get('match_latency_p50_ms')} ms, "
                f"matches {len(w.get('match_latency_ms', {}))}, report {rec['league_report']}")
            runs.append(rec)
            time.sleep(args.pause)
    meta["uptime_end"] = uptime()
    summary = summarize(runs)
    out = {"meta": meta, "summary": summary, "runs": runs}
    print(table(summary))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
