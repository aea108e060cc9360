#!/usr/bin/env python3
"""A carrier on loopback for rastro's tests.

Serves the routes of a JSON spec file and records every request it got:

    {"routes": [{"method": "GET", "path": "/srorastro/v1/objetos",
                 "require_headers": {"authorization": "Bearer t0k"},
                 "status": 200, "headers": {"content-type": "application/json"},
                 "body": "...", "body_file": "path"}]}

A route answers the first request matching method and path (query ignored);
when a required header is missing or different it answers 401. Unknown paths
get 404. The chosen port is printed as "PORT <n>" on stdout. Binds 127.0.0.1 only.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

spec = json.load(open(sys.argv[1]))
log_path = sys.argv[2] if len(sys.argv) > 2 else None
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        if log_path:
            with lock, open(log_path, "a") as log:
                log.write(json.dumps({"method": self.command, "path": self.path,
                                      "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": body.decode("utf-8", "replace")}) + "\n")
        for route in spec["routes"]:
            if route.get("method", "GET") != self.command or route["path"] != path:
                continue
            for name, value in route.get("require_headers", {}).items():
                if self.headers.get(name) != value:
                    return self.reply(401, {"content-type": "application/json"},
                                      json.dumps({"msgs": ["missing or wrong " + name]}).encode())
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


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("PORT", server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
