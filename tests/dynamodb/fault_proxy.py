#!/usr/bin/python3
"""A faulty network between a DynamoDB client and DynamoDB Local.

Listens on 127.0.0.1 (a free port, reported), forwards every request to
the upstream endpoint, and at random, at a set rate, does one of these
instead of a plain answer (the fault kinds, counted each):

  throughput  400 ProvisionedThroughputExceededException (not forwarded)
  throttling  400 ThrottlingException (not forwarded)
  http500     500 InternalServerError, a JSON DynamoDB error (not forwarded)
  http503     503 with a body that is not JSON, as a load balancer sends
  conflict    400 TransactionCanceledException, TransactionConflict for the
              first action (TransactWriteItems only; not forwarded)
  lost        forwarded and answered, then the connection is reset: the
              write happened, the answer is lost
  slow_lost   forwarded and answered, the answer held past the client's
              request timeout, then the connection closed
  slow_drop   held past the client's request timeout, never forwarded,
              then the connection closed

Whether a request gets a fault is drawn from one generator seeded with
--seed, in the order the requests arrive (a run with the same seed draws
the same sequence; which request gets which depends on the clients'
timing). The kind is the one injected least so far among those that fit
the request (ties drawn; conflict first on a transaction while it does
not lead), so every kind comes about equally often and a test can count
on each. --force-lost N makes the first N writes that give
an id an item lose their answer (lost and slow_lost in turn), whatever
the draw: the case that matters happens in every run, not by chance;
--force-take-lost N does the same (lost) to the first N generic takes
(a transaction that puts a reserved held record); --force-take-slow N
holds the answer of the first N generic takes past the client's timeout
(slow_lost: the item stays reserved, the client gives up on it), and
--force-takeover-lost N makes the first N takeovers of a reservation by
a recovery pass (an UpdateItem that stamps a reservation with no stamp)
lose their answer (lost: the client sends it again), and
--force-takeover-slow N the first N hold it past the client's timeout
(slow_lost: the client gives up).

A lost answer (lost, slow_lost) to a write that gave an id an item (a
TransactWriteItems or PutItem that put a ledger record with
deduplication_id and item_string, and was answered 200) is written to
--lost-file as a line "ID ITEM", so that the test can check the id holds
exactly that item at the end. Every fault that hides a committed write
is also counted as "<kind> committed <op>".

Standalone: prints "port N" once listening, runs until stdin closes or
SIGTERM, then prints the counts as JSON. The stress driver
(fault_run.py) imports it instead.
"""

import argparse
import http.client
import http.server
import json
import random
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

KINDS = ("throughput", "throttling", "http500", "http503", "conflict",
         "lost", "slow_lost", "slow_drop")

PREFIX = "com.amazonaws.dynamodb.v20120810#"


def _error_body(kind, nactions):
    if kind == "throughput":
        return 400, json.dumps({
            "__type": PREFIX + "ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for"
                       " the table was exceeded (fault proxy)"})
    if kind == "throttling":
        return 400, json.dumps({
            "__type": PREFIX + "ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput"
                       " (fault proxy)"})
    if kind == "http500":
        return 500, json.dumps({
            "__type": PREFIX + "InternalServerError",
            "message": "Internal server error (fault proxy)"})
    if kind == "http503":
        return 503, "<html><body>503 Service Unavailable</body></html>"
    # conflict: one reason per action, as DynamoDB sends them.
    reasons = [{"Code": "TransactionConflict",
                "Message": "Transaction is ongoing for the item"}]
    reasons += [{"Code": "None"}] * max(0, nactions - 1)
    return 400, json.dumps({
        "__type": PREFIX + "TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation"
                   " reasons for specific reasons [TransactionConflict]"
                   " (fault proxy)",
        "CancellationReasons": reasons})


def _is_take(op, body):
    """A generic take: a transaction that puts a reserved held record."""
    if op != "TransactWriteItems":
        return False
    try:
        acts = json.loads(body).get("TransactItems", [])
    except ValueError:
        return False
    return any(a.get("Put", {}).get("Item", {}).get("state", {}).get("S")
               == "reserved" for a in acts)


def _is_takeover(op, body):
    """A recovery pass taking a reservation over: an UpdateItem to the
    state reserved, only if the reservation has no stamp yet."""
    if op != "UpdateItem":
        return False
    try:
        req = json.loads(body)
    except ValueError:
        return False
    vals = req.get("ExpressionAttributeValues", {})
    return (vals.get(":to", {}).get("S") == "reserved" and
            "attribute_not_exists(#u)" in req.get("ConditionExpression", ""))


def _claims(op, body):
    """The (id, item) pairs a write gives: ledger records it puts."""
    try:
        req = json.loads(body)
    except ValueError:
        return []
    puts = []
    if op == "TransactWriteItems":
        for act in req.get("TransactItems", []):
            if "Put" in act:
                puts.append(act["Put"].get("Item", {}))
    elif op == "PutItem":
        puts.append(req.get("Item", {}))
    out = []
    for it in puts:
        d = it.get("deduplication_id", {}).get("S")
        v = it.get("item_string", {}).get("S")
        if d is not None and v is not None:
            out.append((d, v))
    return out


# The forced cases, tried in this order before the draw: the name (the
# option --force-..., the FaultProxy argument force_...), which requests
# fit, and the fault, from how many of the case are left after this one.
FORCED = (
    ("force_take_lost", _is_take, lambda left: "lost"),
    ("force_take_slow", _is_take, lambda left: "slow_lost"),
    ("force_takeover_lost", _is_takeover, lambda left: "lost"),
    ("force_takeover_slow", _is_takeover, lambda left: "slow_lost"),
    ("force_lost", _claims,
     lambda left: "lost" if left % 2 else "slow_lost"),
)


class FaultProxy:
    """The proxy: start(), port, counts(), stop(). force: NAME=N for a
    NAME of FORCED, the first N requests that fit get its fault."""

    def __init__(self, upstream, rate, seed, delay_s, lost_file=None,
                 **force):
        unknown = set(force) - {name for name, _, _ in FORCED}
        if unknown:
            raise TypeError("FaultProxy: no forced case " +
                            ", ".join(sorted(unknown)))
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.rate = rate
        self.delay_s = delay_s
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {}
        self.lost = open(lost_file, "w") if lost_file else None
        self.force_left = {name: force.get(name, 0) for name, _, _ in FORCED}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream_conn = None

            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                proxy._handle(self)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self.lost:
            self.lost.close()
            self.lost = None

    def count(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    def _draw(self, op, body):
        kinds = KINDS if op == "TransactWriteItems" else tuple(
            k for k in KINDS if k != "conflict")
        with self.lock:
            hit = self.rng.random() < self.rate
            for name, fits, kind in FORCED:
                left = self.force_left[name]
                if left > 0 and fits(op, body):
                    self.force_left[name] = left - 1
                    self.counts["forced"] = self.counts.get("forced", 0) + 1
                    return kind(left - 1)
            if not hit:
                return None
            c = self.counts
            # Transactions come in bursts (before a sell-out): conflict,
            # which fits only them, goes first while it does not lead.
            if op == "TransactWriteItems" and c.get("conflict", 0) <= max(
                    c.get(k, 0) for k in kinds if k != "conflict"):
                return "conflict"
            least = min(self.counts.get(k, 0) for k in kinds)
            return self.rng.choice(
                [k for k in kinds if self.counts.get(k, 0) == least])

    def _forward(self, h, body):
        """Send the request upstream on the handler's own connection:
        (status, headers, body)."""
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("connection", "keep-alive",
                                        "proxy-connection", "expect")}
        for attempt in range(2):
            if h.upstream_conn is None:
                h.upstream_conn = http.client.HTTPConnection(
                    *self.upstream, timeout=60)
            try:
                h.upstream_conn.request("POST", h.path, body, headers)
                r = h.upstream_conn.getresponse()
                data = r.read()
                return r.status, r.getheaders(), data
            except (OSError, http.client.HTTPException):
                h.upstream_conn.close()
                h.upstream_conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _reply(self, h, status, headers, data):
        h.send_response(status)
        sent = set()
        for k, v in headers:
            if k.lower() in ("connection", "keep-alive", "content-length",
                             "transfer-encoding", "date", "server"):
                continue
            h.send_header(k, v)
            sent.add(k.lower())
        if "content-type" not in sent:
            h.send_header("Content-Type", "application/x-amz-json-1.0")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def _hang_up(self, h, reset):
        if reset:
            # SO_LINGER 0: close() sends a RST, not a FIN.
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR) if not reset else None
        except OSError:
            pass
        h.connection.close()

    def _lost_answer(self, kind, op, body, status):
        """Count a hidden answer; record a committed claim."""
        if status != 200:
            return
        self.count("%s committed %s" % (kind, op))
        pairs = _claims(op, body)
        if pairs:
            self.count("lost claims")
            with self.lock:
                if self.lost:
                    for d, v in pairs:
                        self.lost.write("%s %s\n" % (d, v))
                    self.lost.flush()

    def _handle(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        op = (h.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        self.count("requests")
        self.count("requests " + op)
        kind = self._draw(op, body)
        if kind is None:
            try:
                status, headers, data = self._forward(h, body)
            except (OSError, http.client.HTTPException):
                self.count("upstream errors")
                self._reply(h, 502, [], b"upstream failed")
                return
            self._reply(h, status, headers, data)
            return
        self.count(kind)
        if kind in ("throughput", "throttling", "http500", "http503",
                    "conflict"):
            try:
                nact = len(json.loads(body).get("TransactItems", []))
            except ValueError:
                nact = 1
            status, text = _error_body(kind, nact)
            ctype = ("text/html" if kind == "http503"
                     else "application/x-amz-json-1.0")
            self._reply(h, status, [("Content-Type", ctype)],
                        text.encode())
            return
        if kind == "slow_drop":
            time.sleep(self.delay_s)
            self._hang_up(h, reset=False)
            return
        try:
            status, _, _ = self._forward(h, body)
        except (OSError, http.client.HTTPException):
            self.count("upstream errors")
            self._hang_up(h, reset=True)
            return
        # Recorded before the client can see anything: when it reads the
        # reset or times out, the record is already in the file.
        self._lost_answer(kind, op, body, status)
        if kind == "slow_lost":
            time.sleep(self.delay_s)
        self._hang_up(h, reset=(kind == "lost"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="HOST:PORT")
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--delay", type=float, default=2.5,
                    help="seconds a slow fault holds (past the timeout)")
    ap.add_argument("--lost-file")
    for name, _, _ in FORCED:
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=0)
    a = ap.parse_args()
    p = FaultProxy(a.upstream, a.rate, a.seed, a.delay, a.lost_file,
                   **{name: getattr(a, name) for name, _, _ in FORCED}
                   ).start()
    print("port %d" % p.port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()),
                     daemon=True).start()
    done.wait()
    p.stop()
    print(json.dumps(p.snapshot(), sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
