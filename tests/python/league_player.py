#!/usr/bin/env python3
"""An even_odd league.v2 player that behaves on the wire like the best-known
public Python player (see league-v2.md, "How the best-known public player
behaves on the wire"), for testing that our manager completes a league with it.

Like that player it:
- picks its own id and sends it only in `sender` (no player_id in the
  registration), never adopts an id the manager assigns;
- registers with `register_player` REGISTER_DELAY seconds after starting (2 s
  by default; env LEAGUE_PLAYER_REGISTER_DELAY), at most 3 tries, never again;
- announces `http://localhost:<port>/mcp` as its contact endpoint;
- stores the auth_token it is given but never sends it back;
- serves only POST /mcp, dispatches on params.message_type, ignores the
  JSON-RPC method, and answers a request without an id with an error;
- answers GAME_INVITATION and CHOOSE_PARITY_CALL in the HTTP response body
  shaped as a JSON-RPC *request* (method game_join_ack /
  choose_parity_response, its own id, the fields in params);
- exits about 1 s after LEAGUE_COMPLETED or SHUTDOWN_COMMAND.

Standard library only. Usage:
  league_player.py --id P01 --port 8101 --manager http://127.0.0.1:8000/mcp
"""

import argparse
import datetime
import json
import os
import random
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class State:
    def __init__(self, player_id, port, manager):
        self.player_id = player_id
        self.port = port
        self.manager = manager
        self.auth_token = None  # stored, never sent back
        self.league_id = None
        self.registered = False
        self.games = 0
        self.server = None


def envelope(state, message_type):
    return {
        "protocol": "league.v2",
        "message_type": message_type,
        "sender": "player:" + state.player_id,
        "timestamp": now(),
        "conversation_id": str(uuid.uuid4()),
    }


def register(state):
    params = envelope(state, "LEAGUE_REGISTER_REQUEST")
    params["player_meta"] = {
        "display_name": "Python " + state.player_id,
        "version": "1.0.0",
        "game_types": ["even_odd"],
        "contact_endpoint": "http://localhost:%d/mcp" % state.port,
    }
    body = json.dumps(
        {"jsonrpc": "2.0", "method": "register_player", "params": params, "id": 1}
    ).encode()
    for attempt in range(3):
        try:
            req = urllib.request.Request(
                state.manager, data=body, headers={"Content-Type": "application/json"}
            )
            # a fresh connection per request, as that player does
            with urllib.request.urlopen(req, timeout=10) as resp:
                reply = json.loads(resp.read())
            payload = reply.get("result") or reply.get("params") or reply
            if payload.get("status") == "ACCEPTED":
                state.auth_token = payload.get("auth_token")
                state.league_id = payload.get("league_id")
                state.registered = True
                print("registered %s at %.6f" % (state.player_id, time.time()), flush=True)
                return
            print("rejected: %s" % payload, file=sys.stderr, flush=True)
            return
        except Exception as e:  # noqa: BLE001 - the original retries on anything
            print("register attempt %d failed: %s" % (attempt + 1, e), file=sys.stderr, flush=True)
            time.sleep(1)


def shutdown_later(state):
    def stop():
        time.sleep(1.0)
        state.server.shutdown()

    threading.Thread(target=stop, daemon=True).start()


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.reply(404, {"error": "not found"})

        def do_POST(self):
            if self.path != "/mcp":
                self.reply(404, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            try:
                msg = json.loads(self.rfile.read(length))
            except ValueError:
                self.reply(400, {"jsonrpc": "2.0", "error": {"code": -32700, "message": "parse error"}, "id": None})
                return
            if "id" not in msg:
                self.reply(400, {"jsonrpc": "2.0", "error": {"code": -32600, "message": "missing id"}, "id": None})
                return
            params = msg.get("params") or {}
            mtype = params.get("message_type")
            if mtype == "GAME_INVITATION":
                out = envelope(state, "GAME_JOIN_ACK")
                out.update(
                    {
                        "match_id": params.get("match_id"),
                        "player_id": state.player_id,
                        "arrival_timestamp": now(),
                        "accept": True,
                    }
                )
                self.reply(200, {"jsonrpc": "2.0", "method": "game_join_ack", "params": out, "id": str(uuid.uuid4())})
            elif mtype == "CHOOSE_PARITY_CALL":
                out = envelope(state, "CHOOSE_PARITY_RESPONSE")
                out.update(
                    {
                        "match_id": params.get("match_id"),
                        "player_id": state.player_id,
                        "parity_choice": random.choice(["even", "odd"]),
                    }
                )
                state.games += 1
                self.reply(
                    200, {"jsonrpc": "2.0", "method": "choose_parity_response", "params": out, "id": str(uuid.uuid4())}
                )
            else:
                self.reply(200, {"jsonrpc": "2.0", "result": {"status": "ok"}, "id": msg["id"]})
                if mtype in ("LEAGUE_COMPLETED", "SHUTDOWN_COMMAND"):
                    shutdown_later(state)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--id", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--manager", default="http://localhost:8000/mcp")
    args = ap.parse_args()
    state = State(args.id, args.port, args.manager)
    state.server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    delay = float(os.environ.get("LEAGUE_PLAYER_REGISTER_DELAY", "2"))
    threading.Timer(delay, register, args=(state,)).start()
    print("listening on %d" % args.port, flush=True)
    state.server.serve_forever()
    print("played %d games, exiting" % state.games, flush=True)


if __name__ == "__main__":
    main()
