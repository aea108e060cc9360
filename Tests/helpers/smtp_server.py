#!/usr/bin/env python3
"""A real SMTP server on loopback for rastro's tests (aiosmtpd).

Usage: smtp_server.py OUTDIR [PORT]
Each accepted message is written to OUTDIR/<n>.eml (raw bytes, as received),
with the envelope in OUTDIR/<n>.json. Prints "PORT <n>" once listening.
Binds 127.0.0.1 only.
"""
import json
import os
import sys
import threading
import time

from aiosmtpd.controller import Controller

outdir = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
os.makedirs(outdir, exist_ok=True)
lock = threading.Lock()
count = [0]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            count[0] += 1
            n = count[0]
        base = os.path.join(outdir, "%04d" % n)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".tmp", base + ".eml")
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        return "250 Message accepted for delivery"


if port == 0:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("PORT %d" % port, flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
