#!/usr/bin/python3
"""Which reads may decide "empty" on DynamoDB: every whole-table Scan (no
Segment) is a consistent read. On AWS an eventually consistent Scan can
miss an item put back a moment ago, and an empty whole-table page is what
makes a claim answer "empty" (law 5). DynamoDB Local is consistent
either way, so the test reads the requests themselves: the fault proxy
(fault_proxy.py) at rate 0 in front of $SB_TEST_DYNAMODB_URI records
every request of `storagebox` fetches, holds and a sell-out, fused and
generic.

usage: ddb_consistent.py STORAGEBOX_CLI
"""

import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy  # noqa: E402


class Recorder(fault_proxy.FaultProxy):
    """Forwards every request (rate 0) and keeps (operation, body)."""

    def __init__(self, upstream):
        super().__init__(upstream, 0.0, 1, 1.0)
        self.seen = []

    def _draw(self, op, body):
        with self.lock:
            self.seen.append((op, json.loads(body or b"{}")))
        return None


def run(cli, uri, protocol, args, want):
    p = subprocess.run([cli, "--uri", uri, "--protocol", protocol] + args,
                       input="".join(a + "\n" for a in ("s1", "s2")),
                       capture_output=True, text=True, timeout=60)
    if p.returncode != want:
        sys.exit("%s %s: exit %d, want %d: %s" %
                 (protocol, " ".join(args), p.returncode, want, p.stderr))
    return p.stdout.strip()


def main():
    cli = sys.argv[1]
    base = os.environ["SB_TEST_DYNAMODB_URI"]
    u = urllib.parse.urlsplit(base)
    proxy = Recorder(u.netloc).start()
    via = urllib.parse.urlunsplit((u.scheme, "127.0.0.1:%d" % proxy.port,
                                   u.path, u.query, ""))
    tag = "%x%x" % (os.getpid(), int.from_bytes(os.urandom(3), "big"))
    failures = 0
    try:
        for protocol in ("auto", "generic"):
            bank, ledger = "cons-b-%s-%s" % (protocol, tag), \
                "cons-l-%s-%s" % (protocol, tag)
            run(cli, via, protocol, ["init", bank, ledger], 0)
            run(cli, via, protocol, ["add", bank], 0)
            with proxy.lock:
                del proxy.seen[:]
            got = {run(cli, via, protocol, ["fetch", bank, ledger, "a"], 0),
                   run(cli, via, protocol,
                       ["hold", bank, ledger, "b", "--ttl", "10m"], 0)}
            # Sold out: the whole-table page is empty, the answer "empty".
            run(cli, via, protocol, ["fetch", bank, ledger, "c"], 3)
            with proxy.lock:
                seen = list(proxy.seen)
            whole = [b for op, b in seen
                     if op == "Scan" and "Segment" not in b]
            lax = [b["TableName"] for b in whole
                   if b.get("ConsistentRead") is not True]
            print("%s: %d requests, %d whole-table Scans, %d not "
                  "consistent %s; items %s" %
                  (protocol, len(seen), len(whole), len(lax), lax,
                   sorted(got)))
            if got != {"s1", "s2"} or not whole or lax:
                failures += 1
                print("FAIL %s: want both items handed out and every "
                      "whole-table Scan consistent (at least one)" % protocol)
    finally:
        proxy.stop()
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
