"""`pmd-agent mcp` driven by the official Python MCP client (`mcp` on PyPI)
over both transports (stdio, and streamable HTTP): the handshake, the tool
list and its schemas, a floor played with scripted choices, branches,
lookahead, screenshots, errors, the bearer token."""

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PMD_AGENT_BIN", str(ROOT / "target" / "debug" / "pmd-agent"))

TOOLS = {
    "session_new", "session_list", "session_close", "observe", "act", "reset", "screenshot",
    "branch_save", "branch_restore", "branch_list", "branch_drop", "lookahead", "rollout",
    "read_memory", "write_memory", "press", "run_lua",
}


def start_http(*extra: str):
    """`pmd-agent mcp --http 127.0.0.1:0 …`: the process and its URL."""
    proc = subprocess.Popen([BIN, "mcp", "--http", "127.0.0.1:0", "--max-sessions", "3", *extra],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    match = re.search(r"http://(127\.0\.0\.1:\d+)/mcp", line)
    assert match, f"no address in {line!r}"
    return proc, f"http://{match.group(1)}/mcp"


@pytest.fixture(scope="module")
def http_url():
    proc, url = start_http()
    yield url
    proc.terminate()
    assert proc.wait(timeout=30) == 0, "SIGTERM shuts the HTTP server down cleanly"


@pytest.fixture(params=["stdio", "http"])
def server(request):
    """A factory of connections to a server over each transport."""
    if request.param == "stdio":
        assert Path(BIN).is_file(), f"{BIN} is missing (cargo build)"
        return lambda: StdioServerParameters(command=BIN, args=["mcp", "--max-sessions", "3"])
    url = request.getfixturevalue("http_url")
    return lambda: url


def run(coro):
    return asyncio.run(coro)


async def call(client, tool, **args):
    result = await client.call_tool(tool, args)
    assert not result.is_error, f"{tool}: {result.content}"
    return result.structured_content


def test_tools_are_listed_with_schemas(server):
    async def go():
        async with Client(server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert TOOLS <= set(tools), TOOLS - set(tools)
            act = tools["act"]
            assert set(act.input_schema["required"]) == {"session", "action"}
            assert act.output_schema is not None and "observation" in act.output_schema["properties"]
            assert tools["observe"].description
    run(go())


def test_play_branch_and_look_ahead(server):
    async def go():
        async with Client(server()) as client:
            new = await call(client, "session_new", seed=3, max_episode_steps=200)
            sid = new["session"]
            obs = new["observation"]
            assert obs["floor"] == 1 and obs["legal_actions"] and len(obs["view"]) == 15
            assert "@" in "".join(obs["view"]), "the leader is in the middle of the view"

            saved = await call(client, "branch_save", session=sid, name="start")
            assert saved["branches"] == ["start"]
            before = await call(client, "observe", session=sid)

            # scripted choices: the first legal move each turn, ten turns
            for _ in range(10):
                legal = [a for a in obs["legal_actions"] if a.startswith("move_")] or obs["legal_actions"]
                out = await call(client, "act", session=sid, action=legal[0])
                obs = out["observation"]
                assert isinstance(out["reward"], float)
            assert obs["step"] == 10

            restored = await call(client, "branch_restore", session=sid, name="start")
            assert restored["state"] == before["state"] and restored["step"] == before["step"]
            assert restored["legal_actions"] == before["legal_actions"]

            look = await call(client, "lookahead", session=sid,
                              sequences=[["wait"] * 3, [before["legal_actions"][0]] * 2])
            assert [o["steps"] for o in look["outcomes"]] == [3, 2]
            after = await call(client, "observe", session=sid)
            assert after["state"] == before["state"], "lookahead left the session as it was"
            # what lookahead predicted is what playing the sequence does
            first = before["legal_actions"][0]
            total = 0.0
            for _ in range(2):
                out = await call(client, "act", session=sid, action=first)
                total += out["reward"]
            predicted = look["outcomes"][1]
            assert abs(predicted["total_reward"] - total) < 1e-6
            assert predicted["floor"] == out["observation"]["floor"]
            assert predicted["hp"] == out["observation"]["state"]["leader"]["hp"]
            await call(client, "branch_restore", session=sid, name="start")

            played = await call(client, "rollout", session=sid, policy="heuristic", steps=300)
            assert played["steps"] >= 1
            assert played["observation"]["max_floor"] >= 2, "the heuristic descends within 300 turns"

            memory = await call(client, "read_memory", session=sid, address="0x02000000", length=16)
            assert len(memory["hex"]) == 32

            listing = await call(client, "session_list")
            mine = [x for x in listing["sessions"] if x["session"] == sid]
            assert mine and mine[0]["branches"] == ["start"]
            await call(client, "session_close", session=sid)
    run(go())


def test_screenshot_is_a_png(server):
    async def go():
        async with Client(server()) as client:
            sid = (await call(client, "session_new"))["session"]
            result = await client.call_tool("screenshot", {"session": sid, "scale": 1})
            assert not result.is_error
            image = result.content[0]
            assert image.type == "image" and image.mime_type == "image/png"
            png = base64.b64decode(image.data)
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            assert (width, height) == (240, 160)
            # the picture is not blank: decompress the image data and look
            idat = b"".join(png[i + 8:i + 8 + int.from_bytes(png[i:i + 4], "big")]
                            for i in _chunks(png, b"IDAT"))
            pixels = zlib.decompress(idat)
            assert len(set(pixels)) > 4
            await call(client, "session_close", session=sid)
    run(go())


def _chunks(png: bytes, kind: bytes):
    i = 8
    while i < len(png):
        length = int.from_bytes(png[i:i + 4], "big")
        if png[i + 4:i + 8] == kind:
            yield i
        i += 12 + length


@pytest.mark.parametrize(
    "tool,args,message",
    [
        ("observe", {"session": "nope"}, "no session"),
        ("act", {"session": "SID", "action": "fly"}, "unknown action"),
        ("act", {"session": "SID", "action": "99"}, "out of range"),
        ("read_memory", {"session": "SID", "address": "0x08000000", "length": 4}, ""),
        ("read_memory", {"session": "SID", "address": "0x02000000", "length": 100000}, "length"),
        ("branch_restore", {"session": "SID", "name": "never-saved"}, "no branch"),
        ("screenshot", {"session": "SID", "scale": 9}, "scale"),
        ("lookahead", {"session": "SID", "sequences": []}, "sequences"),
        ("press", {"session": "SID", "buttons": "up+jump", "frames": 5}, "unknown key"),
        ("press", {"session": "SID", "buttons": "a", "frames": 0}, "frames"),
        ("rollout", {"session": "SID", "policy": "torch:x.pt", "steps": 5}, "--torch"),
    ],
)
def test_bad_calls_are_tool_errors_and_the_server_goes_on(server, tool, args, message):
    async def go():
        async with Client(server()) as client:
            sid = (await call(client, "session_new"))["session"]
            args2 = {k: (sid if v == "SID" else v) for k, v in args.items()}
            result = await client.call_tool(tool, args2)
            assert result.is_error, f"{tool} {args2} should fail"
            text = " ".join(getattr(c, "text", "") for c in result.content)
            assert message in text, text
            # the session still serves
            assert (await call(client, "observe", session=sid))["floor"] >= 1
            await call(client, "session_close", session=sid)
    run(go())


def test_session_limit():
    async def go():
        async with Client(StdioServerParameters(command=BIN, args=["mcp", "--max-sessions", "3"])) as client:
            for _ in range(3):
                await call(client, "session_new")
            result = await client.call_tool("session_new", {})
            assert result.is_error
            assert "close one" in result.content[0].text
            sid = (await call(client, "session_list"))["sessions"][0]["session"]
            await call(client, "session_close", session=sid)
            await call(client, "session_new")
    run(go())


def _initialize(url: str, token: str | None) -> int:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_http_bearer_token():
    proc, url = start_http("--token", "s3cret")
    try:
        assert _initialize(url, None) == 401
        assert _initialize(url, "wrong") == 401
        assert _initialize(url, "s3cret") == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_http_outside_loopback_needs_a_token():
    out = subprocess.run([BIN, "mcp", "--http", "0.0.0.0:0"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "token" in out.stderr


def test_the_example_agent_loop_plays(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mcp_agent.py"),
         "--bin", BIN, "--turns", "15"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "'turns': 15" in out.stdout, out.stdout


def test_resources_and_prompt(server):
    async def go():
        async with Client(server()) as client:
            listed = {str(r.uri): r for r in (await client.list_resources()).resources}
            assert set(listed) == {"pmd://ram-map", "pmd://actions"}
            ram = (await client.read_resource("pmd://ram-map")).contents[0].text
            assert "gDungeon" in ram and "0x0203B418" in ram
            actions = (await client.read_resource("pmd://actions")).contents[0].text
            assert "take_stairs" in actions and "| 18 |" in actions
            prompts = (await client.list_prompts()).prompts
            assert [p.name for p in prompts] == ["play_floor"]
            prompt = await client.get_prompt("play_floor")
            assert "take_stairs" in prompt.messages[0].content.text
    run(go())


def test_write_memory_is_guarded():
    async def go():
        async with Client(StdioServerParameters(command=BIN, args=["mcp"])) as client:
            sid = (await call(client, "session_new"))["session"]
            result = await client.call_tool("write_memory", {"session": sid, "address": "0x0203F000", "hex": "ab"})
            assert result.is_error and "--allow-writes" in result.content[0].text
        async with Client(StdioServerParameters(command=BIN, args=["mcp", "--allow-writes"])) as client:
            sid = (await call(client, "session_new"))["session"]
            await call(client, "write_memory", session=sid, address="0x0203F000", hex="deadbeef")
            read = await call(client, "read_memory", session=sid, address="0x0203F000", length=4)
            assert read["hex"] == "deadbeef"
            for bad in ({"address": "0x08000000", "hex": "00"}, {"address": "0x0203F000", "hex": "xyz"},
                        {"address": "0x0203F000", "hex": "\u20aca"}, {"address": "0x0203F000", "hex": "+1"},
                        {"address": "0x0203F000", "hex": "00" * 300}):
                result = await client.call_tool("write_memory", {"session": sid, **bad})
                assert result.is_error, bad
            assert (await call(client, "observe", session=sid))["floor"] >= 1
    run(go())


def test_press_runs_raw_frames(server):
    async def go():
        async with Client(server()) as client:
            sid = (await call(client, "session_new"))["session"]
            before = await call(client, "read_memory", session=sid, address="0x02000004", length=4)
            obs = await call(client, "press", session=sid, buttons="none", frames=30)
            after = await call(client, "read_memory", session=sid, address="0x02000004", length=4)
            # the cartridge's frame counter (0x02000004) moved by the 31 frames run
            delta = int.from_bytes(bytes.fromhex(after["hex"]), "little") - int.from_bytes(bytes.fromhex(before["hex"]), "little")
            assert delta == 31, delta
            assert obs["floor"] >= 1 and obs["legal_actions"]
            await call(client, "session_close", session=sid)
    run(go())


def test_run_lua():
    async def go():
        async with Client(StdioServerParameters(command=BIN, args=["mcp"])) as client:
            sid = (await call(client, "session_new"))["session"]
            result = await client.call_tool("run_lua", {"session": sid, "code": "console:log('x')"})
            assert result.is_error and "--allow-writes" in result.content[0].text
        async with Client(StdioServerParameters(command=BIN, args=["mcp", "--allow-writes"])) as client:
            sid = (await call(client, "session_new"))["session"]
            before = await call(client, "read_memory", session=sid, address="0x02000004", length=4)
            out = await call(client, "run_lua", session=sid, frames=5, code=(
                "local n = 0\n"
                "callbacks:add('frame', function() n = n + 1 end)\n"
                "console:log('magic ' .. string.format('%08x', emu:read32(0x02000000)))\n"
                "emu:write8(0x0203F000, 0x5a)\n"))
            assert any("magic" in line for line in out["console"]), out["console"]
            after = await call(client, "read_memory", session=sid, address="0x02000004", length=4)
            delta = int.from_bytes(bytes.fromhex(after["hex"]), "little") - int.from_bytes(bytes.fromhex(before["hex"]), "little")
            assert delta == 5, delta
            written = await call(client, "read_memory", session=sid, address="0x0203F000", length=1)
            assert written["hex"] == "5a", "the script's write came back into the session"
            # a Lua error is a tool error, and the session is as it was
            state = (await call(client, "observe", session=sid))["state"]
            bad = await client.call_tool("run_lua", {"session": sid, "code": "emu:write8(0x0203F000, 1)\nerror('boom')"})
            assert bad.is_error and "boom" in bad.content[0].text
            again = await call(client, "read_memory", session=sid, address="0x0203F000", length=1)
            assert again["hex"] == "5a"
            assert (await call(client, "observe", session=sid))["state"] == state
    run(go())


def test_rollout_with_a_torch_model_under_torch():
    async def go():
        async with Client(StdioServerParameters(command=BIN, args=["mcp", "--torch"])) as client:
            sid = (await call(client, "session_new", seed=2))["session"]
            out = await call(client, "rollout", session=sid, policy=f"torch:{ROOT / 'models' / 'default.pt'}", steps=40)
            assert out["steps"] >= 1 and out["observation"]["step"] == out["steps"]
            bad = await client.call_tool("rollout", {"session": sid, "policy": "torch:/no/such/model.pt", "steps": 5})
            assert bad.is_error
    run(go())


def test_session_from_a_savestate(tmp_path):
    import numpy as np
    import pmd_agent

    env = pmd_agent.VectorEnv(1, seed=9, threads=1, max_episode_steps=100)
    env.reset()
    for _ in range(6):
        env.step(np.array([16]))
    path = tmp_path / "start.state"
    path.write_bytes(env.snapshot(0))
    saved = env.decode_state(0)

    async def go():
        async with Client(StdioServerParameters(command=BIN, args=["mcp"])) as client:
            new = await call(client, "session_new", savestate=str(path))
            state = new["observation"]["state"]
            assert state["leader"]["x"] == saved["leader"]["x"] and state["leader"]["y"] == saved["leader"]["y"]
            bad = await client.call_tool("session_new", {"savestate": str(tmp_path / "missing")})
            assert bad.is_error
            junk = tmp_path / "junk.state"
            junk.write_bytes(b"not a savestate")
            bad = await client.call_tool("session_new", {"savestate": str(junk)})
            assert bad.is_error
    run(go())


def test_idle_sessions_are_closed():
    async def go():
        async with Client(StdioServerParameters(command=BIN, args=["mcp", "--idle-timeout", "1"])) as client:
            sid = (await call(client, "session_new"))["session"]
            assert [x["session"] for x in (await call(client, "session_list"))["sessions"]] == [sid]
            await asyncio.sleep(2.5)
            assert (await call(client, "session_list"))["sessions"] == []
            result = await client.call_tool("observe", {"session": sid})
            assert result.is_error and "no session" in result.content[0].text
    run(go())


def test_a_busy_session_does_not_hold_up_the_others(http_url):
    async def go():
        async with Client(http_url) as a, Client(http_url) as b:
            busy = (await call(a, "session_new", max_episode_steps=5000))["session"]
            other = (await call(b, "session_new"))["session"]
            rollout = asyncio.create_task(a.call_tool("rollout", {"session": busy, "policy": "search", "steps": 400}))
            await asyncio.sleep(0.2)  # the rollout is under way
            listing = await call(b, "session_list")
            observed = await call(b, "observe", session=other)
            assert not rollout.done(), "other sessions answered while the rollout still ran"
            by_id = {x["session"]: x for x in listing["sessions"]}
            assert by_id[busy]["busy"] and not by_id[other]["busy"]
            assert by_id[other]["floor"] >= 1
            assert observed["floor"] >= 1
            result = await rollout
            assert not result.is_error
            for sid in (busy, other):
                await call(b, "session_close", session=sid)
    run(go())
