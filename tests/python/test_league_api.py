"""The league service's public read API, its event stream and its OpenAPI
document, against a real `pmd-agent league serve`:

- the OpenAPI 3.1 document names every route and documents a 4xx on each;
- schemathesis (`--checks all`, the event stream excluded) finds nothing,
  with and without the admin token;
- the event stream delivers a whole league in order, and a client that
  reconnects with `Last-Event-ID` gets exactly what came after; an unknown
  id gets `resync` first;
- `league report --db` reads the same standings the API serves;
- refusals are JSON errors with the documented codes.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PMD_AGENT_BIN", str(ROOT / "target" / "debug" / "pmd-agent"))
VENV_BIN = Path(sys.executable).parent
ADMIN = "admin-secret-for-tests"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, path):
    try:
        with urllib.request.urlopen(url + path, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start_league(url):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    msg = {"jsonrpc": "2.0", "method": "start_league", "id": 1, "params": {
        "protocol": "league.v2", "message_type": "START_LEAGUE", "sender": "league_manager:admin",
        "timestamp": now, "conversation_id": "test", "auth_token": ADMIN}}
    req = urllib.request.Request(url + "/mcp", data=json.dumps(msg).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        answer = json.loads(r.read())
    assert answer["result"]["status"] == "starting", answer


class Server:
    def __init__(self, tmp, rounds=2):
        assert Path(BIN).is_file(), f"{BIN} is missing (cargo build)"
        self.db = tmp / "league.db"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [BIN, "league", "serve", "--game", "even_odd", "--db", str(self.db),
             "--addr", f"127.0.0.1:{port}", "--native", "random,random,heuristic,search",
             "--admin-token", ADMIN, "--start-when", "0", "--rounds", str(rounds),
             "--bootstrap", "200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if get(self.url, "/ready")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("league serve did not become ready")

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)

    def wait_completed(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, body = get(self.url, "/api/leagues/L1")
            if status == 200 and body["status"] == "completed":
                return body
            time.sleep(0.05)
        raise AssertionError("the league did not complete")


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


def test_openapi_documents_every_route_with_its_errors(server):
    status, doc = get(server.url, "/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.1")
    wanted = {
        "/api/leagues", "/api/leagues/{id}", "/api/leagues/{id}/standings",
        "/api/leagues/{id}/matches", "/api/leagues/{id}/matches/{match_id}",
        "/api/leagues/{id}/players", "/api/leagues/{id}/ratings/history",
        "/api/leagues/{id}/events",
    }
    assert wanted <= set(doc["paths"]), sorted(doc["paths"])
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert any(c.startswith("4") for c in codes), f"{method} {path}: {codes}"
            assert "400" in codes, f"{method} {path} does not document 400"
    create = doc["components"]["schemas"]["CreateLeague"]["properties"]
    assert create["game"]["enum"] == ["even_odd"]
    assert set(create["natives"]["items"]["enum"]) == {"random", "heuristic", "search"}


def run_schemathesis(url, cwd, *extra):
    out = subprocess.run(
        [str(VENV_BIN / "schemathesis"), "run", url + "/openapi.json", "--checks", "all",
         "--exclude-path-regex", "/events", "--max-examples", "25", "--seed", "1", *extra],
        capture_output=True, text=True, timeout=600, cwd=cwd)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "passed" in out.stdout, out.stdout[-3000:]


def test_schemathesis_finds_nothing(server, tmp_path):
    start_league(server.url)
    server.wait_completed()
    run_schemathesis(server.url, tmp_path)
    run_schemathesis(server.url, tmp_path, "-H", f"Authorization: Bearer {ADMIN}")


def read_events(url, headers=None, until="league_completed", timeout=30):
    events = []
    with httpx.Client(timeout=httpx.Timeout(timeout)) as client:
        with connect_sse(client, "GET", url + "/api/leagues/L1/events", headers=headers or {}) as es:
            assert es.response.status_code == 200
            assert es.response.headers["content-type"].startswith("text/event-stream")
            for ev in es.iter_sse():
                events.append(ev)
                if ev.event == until:
                    break
    return events


def test_events_cover_the_league_and_resume_after_last_event_id(server):
    import threading
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("events", read_events(server.url)))
    reader.start()
    time.sleep(0.5)  # the subscription is open before the league starts
    start_league(server.url)
    reader.join(timeout=60)
    events = got["events"]
    names = [e.event for e in events]
    seqs = [int(e.id.split("-")[1]) for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    finished = [json.loads(e.data) for e in events if e.event == "match_finished"]
    status, league = get(server.url, "/api/leagues/L1")
    assert len(finished) == league["matches"] == 12
    assert names.count("round_started") == names.count("round_completed") == league["rounds"]
    # coalesced (at most every 100 ms while results come in), and once at
    # the end of every round
    assert league["rounds"] <= names.count("standings_changed") <= 12 + league["rounds"]
    last_standings = json.loads([e for e in events if e.event == "standings_changed"][-1].data)
    status, table = get(server.url, "/api/leagues/L1/standings")
    assert {r["player_id"]: r["points"] for r in last_standings["standings"]} == \
        {r["player_id"]: r["points"] for r in table["standings"]}
    # every started match finished, and after it started
    for i, e in enumerate(events):
        if e.event == "match_started":
            mid = json.loads(e.data)["match_id"]
            assert any(x.event == "match_finished" and json.loads(x.data)["match_id"] == mid
                       for x in events[i + 1:]), mid

    # resume after the 5th event: exactly the rest, same ids and data
    cut = events[4]
    again = read_events(server.url, {"Last-Event-ID": cut.id})
    assert [(e.id, e.event, e.data) for e in again] == \
        [(e.id, e.event, e.data) for e in events[5:]]
    # an id of another server run: resync first, then what the log holds
    other = read_events(server.url, {"Last-Event-ID": "1-3"})
    assert other[0].event == "resync"
    assert other[-1].event == "league_completed"


def test_report_reads_the_database(server):
    start_league(server.url)
    server.wait_completed()
    out = subprocess.run([BIN, "league", "report", "--db", str(server.db), "--json",
                          "--bootstrap", "200"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    status, table = get(server.url, "/api/leagues/L1/standings")
    assert [(s["player_id"], s["points"]) for s in report["standings"]] == \
        [(s["player_id"], s["points"]) for s in table["standings"]]
    assert report["matches_played"] == table["matches_played"] == 12
    missing = subprocess.run([BIN, "league", "report", "--db", str(server.db) + ".nope"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "no such database file" in missing.stderr


def test_refusals_are_json_errors(server):
    assert get(server.url, "/api/leagues/L9") == \
        (404, {"error": {"code": "not_found", "message": "no league L9"}})
    status, body = get(server.url, "/api/leagues/L1/matches?page=0")
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, body = get(server.url, "/api/leagues/L1/matches?state=lost")
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, body = get(server.url, "/api/leagues/L1/matches/R9M9")
    assert status == 404 and body["error"]["code"] == "not_found"
    req = urllib.request.Request(server.url + "/api/leagues", data=b'{"game":"even_odd"}',
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 401
    assert json.loads(e.value.read())["error"]["code"] == "unauthorized"


def test_matches_page_and_filter(server):
    start_league(server.url)
    server.wait_completed()
    status, page = get(server.url, "/api/leagues/L1/matches?per_page=5&page=2")
    assert status == 200 and page["total"] == 12 and len(page["matches"]) == 5
    status, first = get(server.url, "/api/leagues/L1/matches?per_page=5")
    assert not {m["match_id"] for m in first["matches"]} & {m["match_id"] for m in page["matches"]}
    status, mine = get(server.url, "/api/leagues/L1/matches?player=search")
    assert mine["total"] == 6  # 4 players, 2 cycles: 3 opponents twice
    assert all("search" in (m["player_a"], m["player_b"]) for m in mine["matches"])
    status, r2 = get(server.url, "/api/leagues/L1/matches?round=2&state=finished")
    assert r2["total"] == 2 and all(m["round"] == 2 for m in r2["matches"])
    status, detail = get(server.url, "/api/leagues/L1/matches/" + r2["matches"][0]["match_id"])
    assert status == 200 and len(detail["moves"]) == 2
    assert {m["action"] for m in detail["moves"]} <= {"even", "odd"}
    assert detail["replay_url"] is None  # even_odd has no frames


def test_create_league_over_the_api(server):
    body = json.dumps({"game": "even_odd", "natives": ["random", "heuristic"],
                       "rounds": 1, "start_when": 2}).encode()
    req = urllib.request.Request(server.url + "/api/leagues", data=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 201
        created = json.loads(r.read())
    assert created["id"] == "L2" and created["live"]
    deadline = time.time() + 30
    while time.time() < deadline:
        status, l2 = get(server.url, "/api/leagues/L2")
        if l2["status"] == "completed":
            break
        time.sleep(0.05)
    assert l2["status"] == "completed" and l2["matches_played"] == 1
    status, leagues = get(server.url, "/api/leagues")
    assert [l["id"] for l in leagues["leagues"]] == ["L1", "L2"]
    # the first league did not start: creating another does not touch it
    assert leagues["leagues"][0]["status"] == "registering"


def test_dungeon_live_frames_and_replay_gif(tmp_path):
    """pmd_dungeon: a match being played streams PNG frames (an <img>
    source), and a finished one replays as a GIF; even_odd has neither."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [BIN, "league", "serve", "--game", "pmd_dungeon", "--db", str(tmp_path / "d.db"),
         "--addr", f"127.0.0.1:{port}", "--native", "search,heuristic", "--admin-token", ADMIN,
         "--start-when", "0", "--turns", "40", "--bootstrap", "100"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if get(url, "/ready")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        start_league(url)
        playing = []
        while time.time() < deadline and not playing:
            playing = get(url, "/api/leagues/L1/matches?state=playing")[1]["matches"]
            time.sleep(0.02)
        assert playing, "no match was seen playing"
        match_id = playing[0]["match_id"]
        status, detail = get(url, f"/api/leagues/L1/matches/{match_id}")
        assert detail["live_url"] == f"/api/leagues/L1/matches/{match_id}/live"
        with urllib.request.urlopen(url + detail["live_url"], timeout=60) as r:
            assert r.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
            data = r.read()  # ends with the run
        parts = [p for p in data.split(b"--frame\r\n") if p]
        assert len(parts) >= 5, len(parts)
        for p in parts:
            head, body = p.split(b"\r\n\r\n", 1)
            assert b"Content-Type: image/png" in head
            length = int(head.split(b"Content-Length: ")[1])
            assert body[:8] == b"\x89PNG\r\n\x1a\n" and len(body) == length + 2
        while time.time() < deadline:
            if get(url, "/api/leagues/L1")[1]["status"] == "completed":
                break
            time.sleep(0.05)
        status, detail = get(url, f"/api/leagues/L1/matches/{match_id}")
        assert detail["live_url"] is None
        with urllib.request.urlopen(url + detail["replay_url"], timeout=120) as r:
            assert r.headers["content-type"] == "image/gif"
            gif = r.read()
        assert gif[:6] == b"GIF89a" and len(gif) > 1000
        b = f"/api/leagues/L1/matches/{match_id}/replay.gif?player=heuristic"
        with urllib.request.urlopen(url + b, timeout=120) as r:
            other = r.read()
        # The other player's run: the same picture exactly when it made the
        # same moves (both runs start from the same seeded dungeon).
        actions = {p: [m["action"] for m in detail["moves"] if m["player_id"] == p]
                   for p in ("search", "heuristic")}
        assert all(len(a) > 0 for a in actions.values()), actions
        assert (other != gif) == (actions["search"] != actions["heuristic"]), actions
        assert get(url, f"/api/leagues/L1/matches/{match_id}/replay.gif?player=nobody")[0] == 404
        assert get(url, f"/api/leagues/L1/matches/{match_id}/live")[0] == 404
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_even_odd_has_no_frames(server):
    start_league(server.url)
    server.wait_completed()
    status, body = get(server.url, "/api/leagues/L1/matches/R1M1/replay.gif")
    assert status == 404 and "no frames" in body["error"]["message"]


def test_sigterm_ends_open_event_streams(tmp_path):
    """A graceful stop does not wait forever on event-stream clients: their
    streams end and the server exits."""
    import signal
    import threading
    s = Server(tmp_path)
    try:
        ended = threading.Event()

        def listen():
            with httpx.Client(timeout=httpx.Timeout(60)) as client:
                with client.stream("GET", s.url + "/api/leagues/L1/events") as r:
                    assert r.status_code == 200
                    for _ in r.iter_bytes():
                        pass
            ended.set()

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        time.sleep(0.5)
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(timeout=15) == 0
        assert ended.wait(timeout=5), "the stream did not end"
    finally:
        s.stop()
