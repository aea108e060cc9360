#!/usr/bin/env python3
"""A carrier on loopback for rastro's tests.

Serves the routes of a JSON spec file and records every request it got:

    {"routes": [{"method": "GET", "path": "/srorastro/v1/objetos",
                 "require_headers": {"authorization": "Bearer t0k"},
                 "status": 200, "headers": {"content-type": "application/json"},
                 "body": "...", "body_file": "path"}]}

A route answers the first request matching method and path (the query only
when the route has "query_contains"); when a required header is missing or
different it answers 401. "delay" (seconds) holds the answer back; "sequence"
(a list of {status, headers, body}) answers each matching request with the next
entry, repeating the last. POST /_control/spec replaces the routes at run time
(a carrier that changes its API mid-run). Unknown paths
get 404. The chosen port is printed as "PORT <n>" on stdout. Binds 127.0.0.1 only.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

spec = json.load(open(sys.argv[1]))
log_path = sys.argv[2] if len(sys.argv) > 2 else None
lock = threading.Lock()
counters = {}
in_flight = [0]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        global spec
        if path == "/_control/spec" and self.command == "POST":
            with lock:
                spec = json.loads(body)
                counters.clear()
            return self.reply(204, {}, b"")
        with lock:
            in_flight[0] += 1
            concurrent = in_flight[0]
        try:
            return self.answer(body, path, query, concurrent)
        finally:
            with lock:
                in_flight[0] -= 1

    def answer(self, body, path, query, concurrent):
        global spec
        if log_path:
            with lock, open(log_path, "a") as log:
                log.write(json.dumps({"method": self.command, "path": self.path, "in_flight": concurrent,
                                      "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": body.decode("utf-8", "replace")}) + "\n")
        with lock:
            routes = spec["routes"]
        for index, route in enumerate(routes):
            if route.get("method", "GET") != self.command or route["path"] != path:
                continue
            needle = route.get("query_contains")
            if needle is not None and needle not in query and needle not in body.decode("utf-8", "replace"):
                continue
            if route.get("delay"):
                time.sleep(route["delay"])
            for name, value in route.get("require_headers", {}).items():
                if self.headers.get(name) != value:
                    return self.reply(401, {"content-type": "application/json"},
                                      json.dumps({"msgs": ["missing or wrong " + name]}).encode())
            if "sequence" in route:
                with lock:
                    n = counters.get(index, 0)
                    counters[index] = n + 1
                step = route["sequence"][min(n, len(route["sequence"]) - 1)]
                return self.reply(step.get("status", 200), step.get("headers", {}), step.get("body", "").encode())
            if "body_file" in route:
                payload = open(route["body_file"], "rb").read()
            else:
                payload = route.get("body", "").encode()
            return self.reply(route.get("status", 200), route.get("headers", {}), payload)
        self.reply(404, {"content-type": "text/plain"}, b"no such route")

    def reply(self, status, headers, payload):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


# A deep accept queue: tests open many connections at once, and the default
# backlog of 5 drops SYNs that then wait a second for their retransmit.
ThreadingHTTPServer.request_queue_size = 128
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("PORT", server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
