"""The league dashboard (`GET /`, embedded in the binary) in a real browser
against a real `pmd-agent league serve`: Debian's chromium driven by PyPI
playwright (never `playwright install`).

The page connects to the event stream and shows the four registered players
at 0 points; the league is then started with START_LEAGUE, and the page must
follow the whole league over Server-Sent Events without reloading: status
`completed`, 18 finished matches, standings equal to what the API serves.
A finished match opens its detail with both moves. A full-page screenshot
goes to `$PMD_ARTIFACTS/dashboard.png` (else `target/artifacts/`).

A missing chromium or playwright fails the test (no silent skips).
"""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError as e:  # reported by the test itself, as a failure
    sync_playwright = None
    PlaywrightTimeout = TimeoutError
    PLAYWRIGHT_MISSING = f"{e}"

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PMD_AGENT_BIN", str(ROOT / "target" / "debug" / "pmd-agent"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ADMIN = "dashboard-admin-secret"
PLAYERS = 4
CYCLES = 3
MATCHES = PLAYERS * (PLAYERS - 1) // 2 * CYCLES  # 18
ROUNDS = (PLAYERS - 1) * CYCLES  # 9

# Page predicates (functions, not expressions: the page's CSP forbids eval).
CONNECTED = "() => document.querySelector('#sse-state')?.textContent === 'connected'"
FOUR_AT_ZERO = """() => {
  const rows = [...document.querySelectorAll('#standings tbody tr[data-player]')];
  return rows.length === 4 && rows.every((r) => r.querySelector('td.points')?.textContent.trim() === '0');
}"""
ALL_PLAYED = """([n, rounds]) => {
  const sum = (sel) => [...document.querySelectorAll(sel)].reduce((a, td) => a + Number(td.textContent), 0);
  return document.querySelector('#league-status')?.textContent === 'completed'
    && document.body.dataset.matchesPlayed === String(n)
    && document.querySelector('#league-rounds')?.textContent === `${rounds} / ${rounds}`
    && document.querySelector('#league-matches')?.textContent === `${n} / ${n}`
    && document.querySelectorAll('#matches tbody tr[data-state="finished"]').length === n
    && sum('#standings tbody tr[data-player] td.played') === 2 * n
    && sum('#standings tbody tr[data-player] td.points') > 0;
}"""
SNAPSHOT = """() => ({
  sse: document.querySelector('#sse-state')?.textContent,
  status: document.querySelector('#league-status')?.textContent,
  matchesPlayed: document.body.dataset.matchesPlayed,
  rounds: document.querySelector('#league-rounds')?.textContent,
  matches: document.querySelector('#league-matches')?.textContent,
  rows: [...document.querySelectorAll('#matches tbody tr[data-match]')].map((r) => r.dataset.match + ':' + r.dataset.state),
  standings: [...document.querySelectorAll('#standings tbody tr[data-player]')].map((r) => r.innerText),
  banner: document.querySelector('#banner')?.textContent,
})"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def tail(path: Path, n=4000):
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError as e:
        return f"(no log: {e})"


def start_league(base):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    msg = {"jsonrpc": "2.0", "method": "start_league", "id": 1, "params": {
        "protocol": "league.v2", "message_type": "START_LEAGUE", "sender": "league_manager:admin",
        "timestamp": now, "conversation_id": "dashboard-test", "auth_token": ADMIN}}
    req = urllib.request.Request(base + "/mcp", data=json.dumps(msg).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            answer = json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise AssertionError(f"START_LEAGUE: HTTP {e.code}: {e.read()!r}") from e
    assert answer.get("result", {}).get("status") == "starting", answer


def artifacts_dir() -> Path:
    d = Path(os.environ.get("PMD_ARTIFACTS") or ROOT / "target" / "artifacts")
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
def league(tmp_path):
    """`pmd-agent league serve` waiting for START_LEAGUE: (base URL, log path)."""
    assert Path(BIN).is_file(), f"{BIN} is missing (cargo build)"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [BIN, "league", "serve", "--game", "even_odd", "--db", str(tmp_path / "l.db"),
         "--addr", f"127.0.0.1:{port}", "--native", ",".join(["random"] * PLAYERS),
         "--admin-token", ADMIN, "--start-when", "0", "--rounds", str(CYCLES)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"league serve exited with {proc.returncode}:\n{tail(log_path)}"
            try:
                if get(base, "/ready")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"league serve not ready within 30 s:\n{tail(log_path)}"
            time.sleep(0.05)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_dashboard_follows_a_league_live(league):
    base, log_path = league
    if sync_playwright is None:
        pytest.fail(f"the playwright module is missing ({PLAYWRIGHT_MISSING}); run scripts/setup.sh")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing; run scripts/setup.sh (installs Debian's chromium)")

    status, listing = get(base, "/api/leagues")
    assert status == 200, listing
    league_id = listing["leagues"][-1]["id"]
    problems = []  # page errors and console errors
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("console", lambda m: problems.append(f"console.error: {m.text}") if m.type == "error" else None)
        shot = artifacts_dir() / "dashboard.png"
        try:
            page.goto(base + "/")
            page.wait_for_function(CONNECTED, timeout=15_000)
            page.wait_for_function(FOUR_AT_ZERO, timeout=15_000)
            assert page.text_content("#league-id") == league_id
            assert page.text_content("#league-status") == "registering"
            page.evaluate("() => { window.__noReload = 1; }")

            start_league(base)
            try:
                page.wait_for_function(ALL_PLAYED, arg=[MATCHES, ROUNDS], timeout=30_000)
            except PlaywrightTimeout:
                state = page.evaluate(SNAPSHOT)
                _, api_summary = get(base, f"/api/leagues/{league_id}")
                pytest.fail(f"the page did not follow the league within 30 s: page {state}, "
                            f"API {api_summary}, problems {problems}\n{tail(log_path)}")

            assert page.evaluate("() => window.__noReload") == 1, "the page reloaded"
            events = int(page.evaluate("() => document.body.dataset.eventsReceived || '0'"))
            # at least a match_started and a match_finished per match came over SSE
            assert events >= 2 * MATCHES, f"only {events} events reached the page"
            points = {
                r["player"]: int(r["points"]) for r in page.eval_on_selector_all(
                    "#standings tbody tr[data-player]",
                    "rows => rows.map((r) => ({player: r.dataset.player, "
                    "points: r.querySelector('td.points').textContent}))")
            }
            played = page.eval_on_selector_all("#standings tbody tr[data-player] td.played",
                                               "tds => tds.map((td) => Number(td.textContent))")
            assert len(points) == PLAYERS, points
            assert played == [(PLAYERS - 1) * CYCLES] * PLAYERS, played
            # 3/1/0: every match hands out 3 points (a win) or 2 (a draw)
            assert 2 * MATCHES <= sum(points.values()) <= 3 * MATCHES, points
            status, api_standings = get(base, f"/api/leagues/{league_id}/standings")
            assert status == 200, api_standings
            assert points == {s["player_id"]: s["points"] for s in api_standings["standings"]}, \
                "the page's standings (built from events) differ from the API's"
            assert page.text_content("#league-rounds") == f"{ROUNDS} / {ROUNDS}"
            assert page.text_content("#league-matches") == f"{MATCHES} / {MATCHES}"
            assert page.locator("#live-matches [data-match]").count() == 0, "a finished league has no live match"
            # the chart is re-read after each round_completed: one line per player, one point
            # per player and completed round
            lines, points_drawn = "#rating-chart g[data-player]", "#rating-chart g[data-player] circle"
            try:
                page.wait_for_function(
                    "([l, c, n, r]) => document.querySelectorAll(l).length === n"
                    " && document.querySelectorAll(c).length === n * r",
                    arg=[lines, points_drawn, PLAYERS, ROUNDS], timeout=10_000)
            except PlaywrightTimeout:
                pytest.fail(f"the rating chart has {page.locator(lines).count()} lines and "
                            f"{page.locator(points_drawn).count()} points, not {PLAYERS} and {PLAYERS * ROUNDS}")

            match_id = page.locator('#matches tbody tr[data-state="finished"]').first.get_attribute("data-match")
            assert match_id, "a finished match row has its id"
            assert page.locator("#match-detail").is_hidden()
            page.locator(f'#matches tbody tr[data-match="{match_id}"]').click()
            page.wait_for_function(
                "(id) => document.querySelector('#match-detail-id')?.textContent === id"
                " && document.querySelectorAll('#moves tbody tr').length === 2",
                arg=match_id, timeout=10_000)
            assert page.locator("#match-detail").is_visible()
            status, detail = get(base, f"/api/leagues/{league_id}/matches/{match_id}")
            assert status == 200, detail
            movers = page.eval_on_selector_all("#moves tbody tr", "rows => rows.map((r) => r.dataset.player)")
            assert sorted(movers) == sorted([detail["player_a"], detail["player_b"]]), movers
            page.wait_for_timeout(1500)  # let the page's follow-up reads land, for the picture
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(shot), full_page=True)
        except BaseException:
            try:
                page.screenshot(path=str(shot.with_name("dashboard-failed.png")), full_page=True)
            except Exception:  # the screenshot is only a help
                pass
            raise
        finally:
            browser.close()
    assert not problems, problems
