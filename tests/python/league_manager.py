#!/usr/bin/env python3
"""A league.v2 manager and referee that behave on the wire like the
best-known public implementation's (see ../shared/reference/league-v2.md,
"How that implementation's manager and referees behave on the wire"), for
testing that our players join such a league. Written here from those wire
facts; standard library only.

What it does as that implementation does:
- registration: `result` with status ACCEPTED and the player id taken from
  `sender` (player:<id>), no auth_token, no league_id; a second
  registration of one id gets {"error": "Already registered"};
- it waits for the four players P01..P04 and pairs them round robin
  (three rounds of two matches);
- the referee calls each player at the endpoint of this process's
  configuration (--players), not the registered one;
- broadcasts (ROUND_ANNOUNCEMENT, LEAGUE_STANDINGS_UPDATE,
  ROUND_COMPLETED, LEAGUE_COMPLETED) go to the registered endpoints with
  sender "league_manager"; replies to them and to GAME_OVER are ignored;
  no message carries an auth_token;
- GAME_INVITATION says role_in_match "player_a"/"player_b";
  CHOOSE_PARITY_CALL's context.your_standings is {};
- the referee reads the join ack and the parity choice from the reply body:
  from `params` when the reply is shaped like a request, else from the top
  level; never from `result`. No ack: the match is dropped ("Players did
  not join"); no choice: a technical loss.

It prints one JSON object when the league is over: matches played,
dropped, technical losses, and the standings.
"""

import argparse
import itertools
import json
import random
import sys
import threading
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDS = ["P01", "P02", "P03", "P04"]
SCHEDULE = [
    [("P01", "P02"), ("P03", "P04")],
    [("P01", "P03"), ("P02", "P04")],
    [("P01", "P04"), ("P02", "P03")],
]


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


counter = itertools.count(1)


def envelope(message_type, sender, conversation):
    return {
        "protocol": "league.v2",
        "message_type": message_type,
        "sender": sender,
        "timestamp": now(),
        "conversation_id": conversation,
    }


def post(url, method, params, timeout):
    """One JSON-RPC request; the reply body as JSON, or None."""
    body = json.dumps(
        {"jsonrpc": "2.0", "method": method, "params": params, "id": next(counter)}
    ).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.loads(reply.read())
    except Exception as e:  # noqa: BLE001 - a failed call is "no answer"
        print(f"league_manager: {method} to {url}: {e}", file=sys.stderr)
        return None


def read_reply(reply):
    """The fields the public referee reads: `params` of a request-shaped
    reply, else the top level; never `result`."""
    if not isinstance(reply, dict):
        return {}
    if all(k in reply for k in ("jsonrpc", "method", "params")) and isinstance(
        reply["params"], dict
    ):
        return reply["params"]
    return reply


class League:
    def __init__(self, endpoints, league_id):
        self.endpoints = endpoints  # from the configuration: id -> URL
        self.registered = {}  # id -> contact_endpoint
        self.lock = threading.Lock()
        self.all_registered = threading.Event()
        self.league_id = league_id
        self.table = {i: {"played": 0, "wins": 0, "draws": 0, "losses": 0, "points": 0} for i in IDS}
        self.played = 0
        self.dropped = 0
        self.technical = 0

    def register(self, params):
        sender = params.get("sender", "")
        pid = sender.split(":", 1)[1] if sender.startswith("player:") else None
        with self.lock:
            if pid is None:
                return {"error": "Bad sender"}
            if pid in self.registered:
                return {"error": "Already registered"}
            meta = params.get("player_meta") or {}
            self.registered[pid] = meta.get("contact_endpoint", "")
            if all(i in self.registered for i in IDS):
                self.all_registered.set()
        return {"status": "ACCEPTED", "player_id": pid}

    def broadcast(self, method, message_type, fields):
        for pid in IDS:
            url = self.registered.get(pid)
            if url:
                params = envelope(message_type, "league_manager", f"{message_type}-{pid}")
                params.update(fields)
                post(url, method, params, timeout=10)  # the reply is ignored

    def standings(self):
        rows = sorted(IDS, key=lambda i: (-self.table[i]["points"], -self.table[i]["wins"], i))
        return [
            dict(rank=r + 1, player_id=i, display_name=i, **self.table[i])
            for r, i in enumerate(rows)
        ]

    def referee(self, round_id, match_id, a, b):
        """One match, as the public referee plays it."""
        sender = "referee:REF01"
        joined = {}
        for pid, role, other in ((a, "player_a", b), (b, "player_b", a)):
            params = envelope("GAME_INVITATION", sender, f"{match_id}-inv-{pid}")
            params.update(
                league_id=self.league_id,
                round_id=round_id,
                match_id=match_id,
                game_type="even_odd",
                role_in_match=role,
                opponent_id=other,
            )
            ack = read_reply(post(self.endpoints[pid], "handle_game_invitation", params, 5))
            joined[pid] = ack.get("accept") is True
        if not all(joined.values()):
            print(f"league_manager: {match_id}: Players did not join", file=sys.stderr)
            self.dropped += 1
            return
        choices = {}
        for pid, other in ((a, b), (b, a)):
            params = envelope("CHOOSE_PARITY_CALL", sender, f"{match_id}-call-{pid}")
            params.update(
                match_id=match_id,
                player_id=pid,
                game_type="even_odd",
                context={"opponent_id": other, "round_id": round_id, "your_standings": {}},
                deadline=now(),
            )
            answer = read_reply(post(self.endpoints[pid], "choose_parity", params, 30))
            choice = answer.get("parity_choice")
            choices[pid] = choice if choice in ("even", "odd") else None
        drawn = random.randint(1, 10)
        parity = "even" if drawn % 2 == 0 else "odd"
        if choices[a] is None or choices[b] is None:
            status, winner = "TECHNICAL_LOSS", (b if choices[a] is None else a)
            self.technical += 1
        elif choices[a] == choices[b]:
            status, winner = "DRAW", None
        else:
            status, winner = "WIN", (a if choices[a] == parity else b)
        for pid in (a, b):
            t = self.table[pid]
            t["played"] += 1
            if winner is None:
                t["draws"] += 1
                t["points"] += 1
            elif winner == pid:
                t["wins"] += 1
                t["points"] += 3
            else:
                t["losses"] += 1
        for pid in (a, b):
            params = envelope("GAME_OVER", sender, f"{match_id}-over-{pid}")
            params.update(
                match_id=match_id,
                game_type="even_odd",
                game_result={
                    "status": status,
                    "winner_player_id": winner,
                    "drawn_number": drawn,
                    "number_parity": parity,
                    "choices": choices,
                    "reason": "",
                },
            )
            post(self.endpoints[pid], "notify_match_result", params, 10)  # ignored
        self.played += 1

    def run(self):
        for r, pairs in enumerate(SCHEDULE, start=1):
            matches = [
                {
                    "match_id": f"R{r}M{m}",
                    "game_type": "even_odd",
                    "player_A_id": a,
                    "player_B_id": b,
                    "referee_endpoint": "http://localhost:8001/mcp",
                }
                for m, (a, b) in enumerate(pairs, start=1)
            ]
            self.broadcast(
                "notify_round",
                "ROUND_ANNOUNCEMENT",
                {"league_id": self.league_id, "round_id": r, "matches": matches},
            )
            for m in matches:
                self.referee(r, m["match_id"], m["player_A_id"], m["player_B_id"])
            self.broadcast(
                "update_standings",
                "LEAGUE_STANDINGS_UPDATE",
                {"league_id": self.league_id, "round_id": r, "standings": self.standings()},
            )
            self.broadcast(
                "notify_round_completed",
                "ROUND_COMPLETED",
                {
                    "league_id": self.league_id,
                    "round_id": r,
                    "matches_completed": len(matches),
                    "next_round_id": r + 1 if r < len(SCHEDULE) else None,
                    "summary": {},
                },
            )
        final = self.standings()
        self.broadcast(
            "notify_league_completed",
            "LEAGUE_COMPLETED",
            {
                "league_id": self.league_id,
                "total_rounds": len(SCHEDULE),
                "total_matches": sum(len(p) for p in SCHEDULE),
                "champion": {k: final[0][k] for k in ("player_id", "display_name", "points")},
                "final_standings": final,
            },
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--players", required=True, help="P01=URL,P02=URL,...")
    ap.add_argument("--wait", type=float, default=60.0, help="seconds to wait for registrations")
    args = ap.parse_args()
    endpoints = dict(p.split("=", 1) for p in args.players.split(","))
    league = League(endpoints, "league_2025_even_odd")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            if self.path != "/mcp":
                self.send_response(404)
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                msg = json.loads(self.rfile.read(length))
            except ValueError:
                msg = {}
            params = msg.get("params") if isinstance(msg, dict) else None
            params = params if isinstance(params, dict) else {}
            if params.get("message_type") == "LEAGUE_REGISTER_REQUEST":
                outcome = league.register(params)
                reply = {"jsonrpc": "2.0", "id": msg.get("id")}
                reply.update(outcome if "error" in outcome else {"result": outcome})
            else:
                reply = {"jsonrpc": "2.0", "id": msg.get("id"), "result": {"status": "ok"}}
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if not league.all_registered.wait(args.wait):
        print(json.dumps({"error": "not every player registered", "registered": sorted(league.registered)}))
        sys.exit(1)
    league.run()
    server.shutdown()
    print(
        json.dumps(
            {
                "matches_played": league.played,
                "dropped": league.dropped,
                "technical_losses": league.technical,
                "registered": league.registered,
                "standings": league.standings(),
            }
        )
    )


if __name__ == "__main__":
    main()
