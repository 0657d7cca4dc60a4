#!/usr/bin/env python3
"""Load for benches/chaos.sh: creations, replies, reads and mail intake
against one address (HAProxy, or the one process on SQLite), for a fixed
time, logging every acknowledgement.

Each write carries a mark of its own (a subject, a reply body, a
Message-ID), so the checker can count it in the database afterwards. A write
is acknowledged when the server answered 2xx; anything else (a refused
connection, a reset, a 503) is not, and is never retried under the same
mark by this driver: a write the server may have committed before it died
must show up at most once, which the checker also verifies.

Standard library only, so CI needs nothing beyond Python.

Usage: chaos_driver.py URL SECONDS WORKERS OUT.jsonl
  with tokens in CHAOS_CUSTOMER, CHAOS_AGENT and CHAOS_INTAKE.
"""
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

url, seconds, workers, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlsplit(url)
customer = os.environ["CHAOS_CUSTOMER"]
agent = os.environ["CHAOS_AGENT"]
intake = os.environ["CHAOS_INTAKE"]
run = os.environ.get("CHAOS_RUN", str(int(time.time())))
rapid_sender = os.environ.get("CHAOS_RAPID_SENDER", "")

lock = threading.Lock()
log = open(out, "w", buffering=1)
counts = {}


def note(**entry):
    entry["at"] = time.time()  # when the acknowledgement arrived
    with lock:
        log.write(json.dumps(entry) + "\n")


def tally(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1


class Client:
    def __init__(self):
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body) or (None, None, error) on a broken connection."""
        for _ in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, r, data
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = None
                # A request on a kept-alive connection the far end had
                # already closed never reached it: one fresh try is safe
                # only for a read, and for a write whose connection was
                # refused outright.
                if method != "GET" and not isinstance(e, ConnectionRefusedError):
                    return None, None, repr(e)
        return None, None, "connection failed twice"


def outcome(kind, status, r):
    if status is None:
        tally(f"{kind}:broken")
        time.sleep(0.05)  # the process is restarting: no busy loop
        return False
    if 200 <= status < 300:
        tally(f"{kind}:2xx")
        return True
    if status == 503:
        tally(f"{kind}:503")
        wait = r.getheader("Retry-After")
        if not wait:
            tally("503 without Retry-After")
        # A client that honours Retry-After, within reason: the run is short.
        time.sleep(min(float(wait or 1), 0.5))
    elif status == 502:
        # HAProxy's: the process it was talking to was killed mid-answer.
        tally(f"{kind}:502")
    elif status >= 500:
        tally(f"{kind}:{status}")
        tally("5xx other than 502 and 503")
    else:
        tally(f"{kind}:{status}")
    return False


def worker(n, stop):
    c = Client()
    mine = []  # references this worker created and saw acknowledged
    i = 0
    while time.time() < stop:
        i += 1
        mark = f"chaos-{run}-{n}-{i}"
        roll = random.random()
        if roll < 0.30 or not mine:
            body = json.dumps({"subject": f"Chaos {mark}", "description": "Raised by benches/chaos.sh", "severity": 3})
            s, r, data = c.request("POST", "/api/v1/tickets", body,
                                   {"Authorization": f"Bearer {customer}", "Content-Type": "application/json"})
            if outcome("create", s, r):
                ref = json.loads(data)["reference"]
                mine.append(ref)
                note(kind="create", mark=mark, reference=ref)
        elif roll < 0.50:
            ref = random.choice(mine)
            body = json.dumps({"body": f"Reply {mark}"})
            s, r, data = c.request("POST", f"/api/v1/tickets/{ref}/replies", body,
                                   {"Authorization": f"Bearer {agent}", "Content-Type": "application/json"})
            if outcome("reply", s, r):
                note(kind="reply", mark=mark, reference=ref)
        elif roll < 0.60:
            # Severity 1 from the short-target organisation when there is
            # one, so the tick warns and breaches during the run.
            sender = rapid_sender if rapid_sender and random.random() < 0.5 else "nadia.patel@northwind.example"
            subject = f"[S1] Chaos mail {mark}" if sender == rapid_sender else f"Chaos mail {mark}"
            msg = (f"From: <{sender}>\r\nTo: support@sladesk.example\r\nSubject: {subject}\r\n"
                   f"Message-ID: <{mark}@chaos.example>\r\nMIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n\r\nSent by benches/chaos.sh\r\n").encode()
            s, r, data = c.request("POST", "/api/v1/inbound/email", msg,
                                   {"Authorization": f"Bearer {intake}", "Content-Type": "message/rfc822"})
            if outcome("intake", s, r):
                note(kind="intake", mark=mark, message_id=f"{mark}@chaos.example")
        else:
            ref = random.choice(mine)
            s, r, data = c.request("GET", f"/api/v1/tickets/{ref}", None, {"Authorization": f"Bearer {agent}"})
            outcome("read", s, r)


stop = time.time() + seconds
threads = [threading.Thread(target=worker, args=(n, stop)) for n in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
log.close()
print(json.dumps(counts, sort_keys=True))
