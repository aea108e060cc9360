#!/usr/bin/env python3
"""Crash soak: `kill -9` a real `rastro serve` at random points, many times, then
check that nothing was lost or stored twice.

    python3 bench/soak.py [--binary .build/debug/rastro] [--kills 200] [--seed 1]

Everything runs on 127.0.0.1 inside this process: a carrier whose timelines grow by
one event per poll until the parcel is delivered, a webhook receiver (Standard
Webhooks signatures verified) and an SMTP server (aiosmtpd). Both receivers refuse
a few deliveries on purpose (--refuse-rate) so retries happen too. Shipments are
registered through the HTTP API while the service runs (a registration cut off by
a kill is sent again), a few per run, so every run has polls and deliveries in
flight when it is killed. A final clean run drains everything; then:

  * PRAGMA integrity_check is ok;
  * every event the carrier served is stored exactly once (missing, duplicated,
    never-served rows are counted);
  * every outbox row (email or webhook) reached its receiver at least once, and
    exactly once after deduplication by Message-ID / webhook-id (lost, duplicates
    before and after deduplication, ids nobody intended are counted).

Exit status 0 only when nothing was lost, nothing stored twice and the file is
sound. --self-check then tampers with copies of the results (an event row deleted,
an email dropped, a webhook sent under two ids) and fails unless each is reported.
"""
import argparse
import base64
import calendar
import hashlib
import hmac
import http.client
import socket
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CARRIER = """
return {
  id = "soak", name = "Soak Express", api = 1, hosts = { "api.soak.test" },
  tracking_url = "https://soak.test/t/{code}",
  limits = { batch = 5, concurrency = 4, per_second = 200 },
  validate = function(code) return code:match("^SK%d+$") ~= nil, "SK and digits" end,
  request = function(codes, config, ctx) return { url = config.base_url .. "/track?" .. url.query{ n = codes }, timeout = 10 } end,
  parse = function(response, codes, ctx)
    if response.status >= 500 then return failure.temporary("HTTP " .. response.status) end
    local doc = json.decode(response.body)
    if type(doc) ~= "table" then return failure.broken("not JSON") end
    local out = {}
    for _, p in ipairs(doc.parcels or {}) do
      local events = {}
      for _, e in ipairs(p.events) do
        events[#events + 1] = { occurred_at = time.parse(e.at, "iso", "UTC"), status = e.status, code = e.code,
                                description = e.text, location = { city = e.city } }
      end
      out[p.number] = { events = events }
    end
    for _, code in ipairs(codes) do out[code] = out[code] or failure.not_found() end
    return out
  end,
}
"""

# The default rules, plus a webhook for every change that brought new events (a
# scan without a status change too), so nearly every poll writes to the outbox.
RULES = """
return {
  on_registered = function(ctx) return { email{ template = "order_invoiced" } } end,
  on_change = function(ctx)
    local out = { webhook{ endpoint = "marketplace", event = "shipment.updated" } }
    if ctx.from == ctx.to then return out end
    local template = "status_update"
    if ctx.to == "delivered" then template = "delivered"
    elseif ctx.to == "out_for_delivery" then template = "out_for_delivery"
    elseif ctx.from == "pending" then template = "order_shipped" end
    out[#out + 1] = email{ template = template }
    out[#out + 1] = webhook{ endpoint = "marketplace", event = "shipment.status_changed" }
    return out
  end,
}
"""

BASE_TIME = 1767225600  # 2026-01-01T00:00:00Z: events are in the past, dispatch before them


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# ---------------------------------------------------------------- the carrier

class Carrier:
    """Each request for a number serves one more event of its timeline (all of it
    from the start: carriers answer with the whole history), until delivered."""

    def __init__(self, seed, min_steps, max_steps, refuse_rate):
        self.seed, self.min_steps, self.max_steps = seed, min_steps, max_steps
        self.refuse_rate = refuse_rate
        self.rng = random.Random(seed * 7 + 1)
        self.lock = threading.Lock()
        self.step = {}       # number -> events served so far (the served log, per number)
        self.requests = 0
        self.refused = 0
        self.in_flight = 0

    def timeline(self, number):
        """The whole timeline of a number, oldest first: deterministic per seed and number."""
        n = random.Random("%d/%s" % (self.seed, number)).randint(self.min_steps, self.max_steps)
        start = BASE_TIME + int(number[2:]) * 60
        events = []
        for i in range(n):
            if i == 0:
                status, code = "info_received", "PO"
            elif i == n - 1:
                status, code = "delivered", "BDE"
            elif i == n - 2:
                status, code = "out_for_delivery", "OEC"
            else:
                status, code = "in_transit", "RO%d" % i
            events.append({"at": iso(start + i * 3600), "status": status, "code": code,
                           "text": "%s step %d" % (code, i), "city": "City %d" % i})
        return events

    def served(self):
        """number -> the events served at least once."""
        with self.lock:
            return {number: self.timeline(number)[:k] for number, k in self.step.items() if k > 0}

    def answer(self, numbers):
        with self.lock:
            self.requests += 1
            if self.rng.random() < self.refuse_rate:
                self.refused += 1
                return 503, b'{"error":"busy"}'
            parcels = []
            for number in numbers:
                full = self.timeline(number)
                k = min(self.step.get(number, 0) + 1, len(full))
                self.step[number] = k
                parcels.append({"number": number, "events": list(reversed(full[:k]))})
            delay = self.rng.uniform(0, 0.15)
        # Answer late now and then, so kills land while a poll is in flight.
        time.sleep(delay)
        return 200, json.dumps({"parcels": parcels}).encode()


class CarrierHandler(BaseHTTPRequestHandler):
    carrier = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        parsed = urllib.parse.urlparse(self.path)
        if parsed.path != "/track":
            return self.reply(404, b"no such route")
        numbers = urllib.parse.parse_qs(parsed.query).get("n", [])
        with self.carrier.lock:
            self.carrier.in_flight += 1
        try:
            status, body = self.carrier.answer(numbers)
            self.reply(status, body)
        finally:
            with self.carrier.lock:
                self.carrier.in_flight -= 1

    def reply(self, status, body):
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client was killed mid-answer


# ---------------------------------------------------------------- the receivers

class Receivers:
    """What the webhook receiver and the SMTP server accepted (2xx / 250), in order."""

    def __init__(self, seed, refuse_rate):
        self.lock = threading.Lock()
        self.rng = random.Random(seed * 7 + 2)
        self.refuse_rate = refuse_rate
        self.webhooks = []   # (webhook-id, body dict)
        self.emails = []     # (Message-ID without <>, template)
        self.refused = 0
        self.bad_signatures = 0
        self.in_flight = 0
        self.secret = None

    def refuse(self):
        with self.lock:
            if self.rng.random() < self.refuse_rate:
                self.refused += 1
                return True
            return False


class HookHandler(BaseHTTPRequestHandler):
    receivers = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        r = self.receivers
        with r.lock:
            r.in_flight += 1
        try:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            hook_id = self.headers.get("webhook-id", "")
            stamp = self.headers.get("webhook-timestamp", "")
            signatures = (self.headers.get("webhook-signature") or "").split()
            key = base64.b64decode(r.secret.split("_", 1)[1])
            expected = base64.b64encode(hmac.new(key, b"%s.%s.%s" % (hook_id.encode(), stamp.encode(), body), hashlib.sha256).digest()).decode()
            if "v1," + expected not in signatures:
                with r.lock:
                    r.bad_signatures += 1
                return self.reply(401)
            if r.refuse():
                return self.reply(503)
            with r.lock:
                r.webhooks.append((hook_id, json.loads(body)))
            self.reply(204)
        finally:
            with r.lock:
                r.in_flight -= 1

    def reply(self, status):
        try:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
        except OSError:
            pass


class SMTPHandler:
    def __init__(self, receivers):
        self.r = receivers

    async def handle_DATA(self, server, session, envelope):
        if self.r.refuse():
            return "451 4.3.0 try again later"
        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        message_id = (headers.get("Message-ID") or "").strip().strip("<>")
        with self.r.lock:
            self.r.emails.append((message_id, headers.get("X-Rastro-Template", "")))
        return "250 Message accepted for delivery"


def serve_http(handler):
    ThreadingHTTPServer.request_queue_size = 128
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---------------------------------------------------------------- rastro

class Rastro:
    def __init__(self, args, work, env):
        self.binary, self.work, self.env = args.binary, work, env
        self.data = os.path.join(work, "data")
        self.log_path = os.path.join(work, "serve.log")
        self.proc = None
        self.port = None

    def cli(self, *arguments):
        out = subprocess.run([self.binary, *arguments, "--data", self.data], env=self.env, cwd=self.work,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit("rastro %s failed (%d):\n%s" % (" ".join(arguments), out.returncode, out.stdout))
        return out.stdout

    def start(self):
        self.log = open(self.log_path, "ab")
        self.log_start = self.log.tell()
        self.proc = subprocess.Popen([self.binary, "serve", "--port", "0", "--data", self.data, "--lease", "5",
                                      "--carriers", os.path.join(self.work, "carriers"), "--rules", os.path.join(self.work, "rules")],
                                     env=self.env, cwd=self.work, stdout=self.log, stderr=self.log)
        self.port = None

    def wait_listening(self, timeout=60):
        """The port, once the log says the listener is up; None if the process died first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_start)
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if "url=http://" in line:
                        self.port = int(line.split("url=http://", 1)[1].split()[0].split(":")[1])
                        return self.port
            if self.proc.poll() is not None:
                return None
            time.sleep(0.02)
        return None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def terminate(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None
        finally:
            self.log.close()


class Registrations:
    """Shipments to register through the API; one cut off by a kill is sent again."""

    def __init__(self, key):
        self.key = key
        self.pending = []
        self.done = []
        self.next_number = 1
        self.lock = threading.Lock()
        self.failure = None  # an answer no retry will change

    def add(self, count):
        with self.lock:
            for _ in range(count):
                self.pending.append("SK%06d" % self.next_number)
                self.next_number += 1

    def send(self, port):
        while True:
            with self.lock:
                if not self.pending:
                    return
                number = self.pending[0]
            body = json.dumps({"trackingNumber": number, "carrier": "soak", "orderId": "order-" + number,
                               "invoiceNumber": "nf-" + number, "dispatchedAt": iso(BASE_TIME - 86400),
                               "customer": {"email": number.lower() + "@example.com", "name": "Customer " + number, "locale": "en"}}).encode()
            request = urllib.request.Request("http://127.0.0.1:%d/v1/shipments" % port, data=body, method="POST",
                                             headers={"Authorization": "Bearer " + self.key, "Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except urllib.error.HTTPError as e:
                if e.code != 409:
                    self.failure = "registering %s: HTTP %d %s" % (number, e.code, e.read().decode())
                    return
            except (OSError, http.client.HTTPException):
                return  # the service went away; this one is sent again next run
            # 409: an earlier attempt was recorded but its answer was lost to a kill.
            with self.lock:
                self.pending.pop(0)
                self.done.append(number)


# ---------------------------------------------------------------- verification

def verify(db_path, served, emails, webhooks):
    """Counts from the database, what the carrier served and what the receivers accepted."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    c = {"integrity": db.execute("PRAGMA integrity_check").fetchone()[0]}
    stored = {}
    for number, code, occurred_at, city, n in db.execute(
            "SELECT s.tracking_number, e.code, e.occurred_at, e.city, count(*) FROM event e JOIN shipment s ON s.id = e.shipment_id "
            "GROUP BY s.tracking_number, e.code, e.occurred_at, e.city"):
        stored[(number, code, occurred_at, city)] = n
    expected = set()
    for number, events in served.items():
        for e in events:
            t = calendar.timegm(time.strptime(e["at"], "%Y-%m-%dT%H:%M:%SZ"))
            expected.add((number, e["code"], t, e["city"]))
    c["events served"] = len(expected)
    c["events stored"] = sum(stored.values())
    c["events missing"] = len(expected - stored.keys())
    c["events stored twice"] = sum(n - 1 for n in stored.values() if n > 1)
    c["events never served"] = len(stored.keys() - expected)
    shipments = dict(db.execute("SELECT status, count(*) FROM shipment GROUP BY status").fetchall())
    c["shipments"] = sum(shipments.values())
    c["shipments not delivered"] = c["shipments"] - shipments.get("delivered", 0)

    rows = db.execute("SELECT o.kind, o.message_id, o.status, o.template, s.tracking_number FROM outbox o JOIN shipment s ON s.id = o.shipment_id").fetchall()
    # The outbox itself is checked against the rules: each parcel has its registration email,
    # its delivery email, and an update webhook carrying its whole timeline. A change stored
    # without its outbox rows would show here, not as a lost delivery.
    has = set()
    for kind, template, event, payload, number in db.execute(
            "SELECT o.kind, o.template, o.event, o.payload, s.tracking_number FROM outbox o JOIN shipment s ON s.id = o.shipment_id"):
        if kind == "email":
            has.add((number, template))
        elif event == "shipment.updated":
            d = json.loads(payload).get("data", {})
            if d.get("status") == "delivered" and len(d.get("events", [])) == len(served.get(number, [])):
                has.add((number, "final update"))
    numbers = [n for (n,) in db.execute("SELECT tracking_number FROM shipment")]
    db.close()
    c["shipments missing a notification"] = sum(1 for n in numbers if not {(n, "order_invoiced"), (n, "delivered"), (n, "final update")} <= has)
    intended = {(kind, mid): (status, template, number) for kind, mid, status, template, number in rows}
    c["notifications intended"] = len(intended)
    c["notifications pending"] = sum(1 for v in intended.values() if v[0] == "pending")
    c["notifications failed"] = sum(1 for v in intended.values() if v[0] == "failed")
    received = [("email", mid.removesuffix("@rastro")) for mid, _ in emails] + [("webhook", hid) for hid, _ in webhooks]
    unique = set(received)
    c["received raw"] = len(received)
    c["duplicates before dedup"] = len(received) - len(unique)
    c["lost"] = len(set(intended) - unique)
    c["received but never intended"] = len(unique - set(intended))
    # After deduplication by id, the same notification must not arrive under two ids:
    # an email per (parcel, template), a webhook per (parcel, event, status, timeline length).
    bodies = dict(webhooks)
    seen, after = set(), 0
    for kind, mid in unique:
        if kind == "email":
            meaning = ("email",) + tuple(intended.get((kind, mid), (None, mid, None))[1:])
        else:
            body = bodies[mid]
            d = body.get("data", {})
            meaning = ("webhook", body.get("type"), d.get("trackingNumber"), d.get("status"), len(d.get("events", [])))
        if meaning in seen:
            after += 1
        seen.add(meaning)
    c["duplicates after dedup"] = after
    c["emails received"] = len(emails)
    c["webhooks received"] = len(webhooks)
    return c


def failures(c, bad_signatures=0):
    problems = []
    for name in ("events missing", "events stored twice", "events never served", "lost", "duplicates after dedup",
                 "received but never intended", "notifications pending", "notifications failed", "shipments not delivered",
                 "shipments missing a notification"):
        if c[name]:
            problems.append("%s: %d" % (name, c[name]))
    if c["integrity"] != "ok":
        problems.append("integrity_check: " + c["integrity"])
    if bad_signatures:
        problems.append("webhooks with a bad signature: %d" % bad_signatures)
    return problems


def self_check(db_path, served, emails, webhooks, work):
    """The verifier must see each kind of damage; returns what it missed."""
    missed = []
    copy = os.path.join(work, "tampered.sqlite")
    db = sqlite3.connect(db_path)
    db.execute("VACUUM INTO ?", (copy,))
    db.close()
    t = sqlite3.connect(copy)
    t.execute("DELETE FROM event WHERE id = (SELECT max(id) FROM event)")
    t.commit()
    t.close()
    if verify(copy, served, emails, webhooks)["events missing"] != 1:
        missed.append("a deleted event row")
    t = sqlite3.connect(copy)
    t.execute("DELETE FROM outbox WHERE id = (SELECT max(id) FROM outbox WHERE template = 'delivered')")
    t.commit()
    t.close()
    if verify(copy, served, emails, webhooks)["shipments missing a notification"] != 1:
        missed.append("a delivery stored without its email")
    dropped = emails[0][0]
    if verify(db_path, served, [e for e in emails if e[0] != dropped], webhooks)["lost"] != 1:
        missed.append("an email never received")
    hid, body = webhooks[0]
    if verify(db_path, served, emails, webhooks + [(hid, body)])["duplicates before dedup"] <= verify(db_path, served, emails, webhooks)["duplicates before dedup"]:
        missed.append("a webhook received twice")
    # The same webhook under a second id: a duplicate after dedup, and an id nobody intended.
    again = verify(db_path, served, emails, webhooks + [(hid + "-again", body)])
    if again["duplicates after dedup"] != 1 or again["received but never intended"] != 1:
        missed.append("one notification sent under two ids")
    first = sorted(served)[0]
    more = dict(served)
    more[first] = served[first] + [{"at": iso(BASE_TIME + 999 * 86400), "code": "XX", "city": "Nowhere"}]
    if verify(db_path, more, emails, webhooks)["events missing"] != 1:
        missed.append("a served event never stored")
    os.remove(copy)
    return missed


# ---------------------------------------------------------------- the run

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/rastro"))
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--initial", type=int, default=10, help="shipments registered in the first run")
    p.add_argument("--per-run", type=int, default=2, help="shipments registered in each later run")
    p.add_argument("--min-steps", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=9)
    p.add_argument("--uptime", type=float, nargs=2, default=(0.3, 2.5), metavar=("MIN", "MAX"),
                   help="seconds a run lives after its listener is up before the kill")
    p.add_argument("--early-kills", type=float, default=0.1, help="share of kills during start-up, before the listener is up")
    p.add_argument("--refuse-rate", type=float, default=0.05, help="share of requests the carrier and the receivers refuse")
    p.add_argument("--drain-timeout", type=float, default=180)
    p.add_argument("--work", help="working folder (default: a new temporary one, removed on success)")
    p.add_argument("--self-check", action="store_true", help="also check that the verifier reports tampered results")
    args = p.parse_args()
    if not os.access(args.binary, os.X_OK):
        raise SystemExit("no rastro binary at %s (swift build first, or --binary)" % args.binary)

    rng = random.Random(args.seed)
    work = args.work or tempfile.mkdtemp(prefix="rastro-soak-")
    os.makedirs(os.path.join(work, "carriers/soak"), exist_ok=True)
    os.makedirs(os.path.join(work, "rules"), exist_ok=True)
    with open(os.path.join(work, "carriers/soak/carrier.lua"), "w") as f:
        f.write(CARRIER)
    with open(os.path.join(work, "rules/default.lua"), "w") as f:
        f.write(RULES)
    templates = os.path.join(work, "rules/templates")
    if not os.path.exists(templates):
        os.symlink(os.path.join(ROOT, "rules/templates"), templates)

    carrier = Carrier(args.seed, args.min_steps, args.max_steps, args.refuse_rate)
    CarrierHandler.carrier = carrier
    carrier_server = serve_http(CarrierHandler)
    receivers = Receivers(args.seed, args.refuse_rate)
    HookHandler.receivers = receivers
    hook_server = serve_http(HookHandler)
    from aiosmtpd.controller import Controller
    # aiosmtpd checks its own start by connecting to the port, so it needs a real one.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    smtp_port = s.getsockname()[1]
    s.close()
    smtp = Controller(SMTPHandler(receivers), hostname="127.0.0.1", port=smtp_port)
    smtp.start()

    env = dict(os.environ)
    env.update({"RASTRO_SOAK_BASE_URL": "http://127.0.0.1:%d" % carrier_server.server_address[1],
                "RASTRO_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port, "RASTRO_WEBHOOKS_ALLOW_PRIVATE": "1",
                "RASTRO_OUTBOX_RETRY_BASE": "1s", "RASTRO_OUTBOX_LEASE": "5s", "RASTRO_LOG_LEVEL": "notice"})
    rastro = Rastro(args, work, env)
    key = rastro.cli("merchant", "add", "default").split("(shown once): ")[1].strip()
    rastro.cli("merchant", "polling", "default", "--every", "1s", "--window", "1000d")
    hook = rastro.cli("merchant", "webhook", "default", "marketplace", "--url", "http://127.0.0.1:%d/hooks" % hook_server.server_address[1])
    receivers.secret = hook.split("(shown once): ")[1].strip()
    registrations = Registrations(key)
    registrations.add(args.initial)

    started = time.time()
    kills = {"total": 0, "during start-up": 0, "carrier request in flight": 0, "delivery in flight": 0}
    sender = None
    for i in range(args.kills):
        rastro.start()
        if i > 0 and rng.random() < args.early_kills:
            time.sleep(rng.uniform(0, 0.3))
            kills["during start-up"] += 1
        else:
            if rastro.wait_listening() is None:
                raise SystemExit("rastro serve did not start (run %d); log: %s" % (i + 1, rastro.log_path))
            if i > 0:
                registrations.add(args.per_run)
            sender = threading.Thread(target=registrations.send, args=(rastro.port,), daemon=True)
            sender.start()
            time.sleep(rng.uniform(*args.uptime))
        with carrier.lock, receivers.lock:
            kills["carrier request in flight"] += carrier.in_flight > 0
            kills["delivery in flight"] += receivers.in_flight > 0
        rastro.kill9()
        kills["total"] += 1
        if sender:
            sender.join()  # it fails fast once the service is gone; one sender at a time
            sender = None
        if registrations.failure:
            raise SystemExit(registrations.failure)
        if (i + 1) % 25 == 0:
            print("  %d kills, %.0f s, %d shipments registered" % (i + 1, time.time() - started, len(registrations.done)), flush=True)
    soak_seconds = time.time() - started

    # The final clean run: everything registered, polled to delivery and delivered.
    rastro.start()
    if rastro.wait_listening() is None:
        raise SystemExit("rastro serve did not start for the final run; log: %s" % rastro.log_path)
    db_path = os.path.join(rastro.data, "rastro.sqlite")
    deadline = time.time() + args.drain_timeout
    drained = False
    while time.time() < deadline:
        registrations.send(rastro.port)
        if registrations.failure:
            raise SystemExit(registrations.failure)
        if not registrations.pending:
            db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
            try:
                open_shipments = db.execute("SELECT count(*) FROM shipment WHERE status != 'delivered'").fetchone()[0]
                pending = db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
            except sqlite3.OperationalError:
                open_shipments = pending = -1  # busy: look again
            db.close()
            if open_shipments == 0 and pending == 0:
                drained = True
                break
        time.sleep(0.2)
    status = rastro.terminate()
    drain_seconds = time.time() - started - soak_seconds

    with receivers.lock:
        emails, webhooks = list(receivers.emails), list(receivers.webhooks)
    served = carrier.served()
    counts = verify(db_path, served, emails, webhooks)
    problems = failures(counts, receivers.bad_signatures)
    if not drained:
        problems.append("the final run did not drain within %.0f s" % args.drain_timeout)
    if status != 0:
        problems.append("the final run did not stop cleanly on SIGTERM (exit %s)" % status)

    with open(rastro.log_path, "rb") as f:
        interrupted = f.read().count(b"retrying a poll that was interrupted")
    rows = [("kills", kills["total"]), ("  during start-up", kills["during start-up"]),
            ("  with a carrier request in flight", kills["carrier request in flight"]),
            ("  with a delivery in flight", kills["delivery in flight"]),
            ("polls interrupted, retried after the lease", interrupted),
            ("carrier requests (refused)", "%d (%d)" % (carrier.requests, carrier.refused)),
            ("deliveries refused by receivers", receivers.refused)]
    rows += [(k, v) for k, v in counts.items()]
    rows += [("soak seconds", "%.0f" % soak_seconds), ("drain seconds", "%.0f" % drain_seconds)]
    width = max(len(k) for k, _ in rows)
    print("seed %d, %s" % (args.seed, work))
    for k, v in rows:
        print("%-*s  %s" % (width, k, v))

    if args.self_check and not problems:
        missed = self_check(db_path, served, emails, webhooks, work)
        if missed:
            problems.append("the verifier did not report: " + ", ".join(missed))
        else:
            print("self-check: a deleted event, a delivery without its email, a lost email, a repeated webhook, "
                  "one notification under two ids and an unstored event are each reported")

    smtp.stop()
    carrier_server.shutdown()
    hook_server.shutdown()
    if problems:
        print("FAIL: " + "; ".join(problems))
        print("kept for inspection: " + work)
        return 1
    print("PASS")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
