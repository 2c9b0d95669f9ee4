#!/usr/bin/python3
"""The DynamoDB stress through a faulty network (docs/dynamodb.md, "A
faulty network"): starts the fault proxy (fault_proxy.py) in front of
$SB_TEST_DYNAMODB_URI, runs ddb_stress with its workers on the proxy,
then prints what the proxy injected and checks that every kind of fault
was injected at least MIN times and that answers to writes that gave an
id an item were lost (ddb_stress checks those ids hold exactly that
item, and every law). In generic mode two short runs come first: one
makes the first 3 takes of one client lose their answer and checks that
nothing stays reserved (lost_takes); and, twice, one leaves a
reservation behind and makes the recovery pass that takes it over lose
the answer, re-sent and past the timeout (lost_takeover).

usage: fault_run.py fused|generic DDB_STRESS WORKDIR

Environment (all optional): SB_FAULT_RATE (0.1), SB_TEST_SEED (the
proxy's seed and the stress's shuffle; random if unset, printed),
SB_FAULT_TIMEOUT_MS (the client's request timeout, 1000), SB_FAULT_MIN
(5), SB_STRESS_* (sizes: ddb_stress.c; defaults here keep a run short).
"""

import json
import os
import random
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy  # noqa: E402

# Sizes of one run (16 clients; both sell out, so the empty paths meet
# the faults too): about 20 s wall each in the plain tree on DynamoDB
# Local. A generic fetch costs about twice the requests of a fused one.
SIZES = {"fused": {"SB_STRESS_ITEMS": "500", "SB_STRESS_IDS": "600"},
         "generic": {"SB_STRESS_ITEMS": "240", "SB_STRESS_IDS": "290"}}
COMMON = {"SB_STRESS_PROCS": "2", "SB_STRESS_THREADS": "8",
          "SB_STRESS_REPEAT": "2"}
FORCE_LOST = 4   # the first claim writes lose their answer: always seen
# A fetch ends later than this: a failure. Each of its requests ends
# within the 1 s timeout, or is re-sent after at most ~3.3 s of backoff
# in all (8 retries, 20 ms doubling, capped at 1 s); runs show about 3 s.
MAX_CALL_S = 20


def lost_takes(stress, workdir, base):
    """Generic only, before the stress: the first 3 takes of one client
    lose their answer (the reservation was made). Re-sent with the same
    ClientRequestToken, each answers its first outcome: the fetch goes on
    with that item, nothing stays reserved, no fetch fails. (Re-sent
    without a token, a take failed its conditions and took another item,
    leaving the first reserved until a recovery.) []: fine, else what
    failed."""
    u = urllib.parse.urlsplit(base)
    proxy = fault_proxy.FaultProxy(u.netloc, 0.0, 1, 1.0,
                                   force_take_lost=3).start()
    env = dict(os.environ)
    env.update({"SB_STRESS_PROCS": "1", "SB_STRESS_THREADS": "1",
                "SB_STRESS_ITEMS": "10", "SB_STRESS_IDS": "3",
                "SB_STRESS_REPEAT": "1", "SB_STRESS_FAULT_URI":
                urllib.parse.urlunsplit((u.scheme, "127.0.0.1:%d" %
                                         proxy.port, u.path, u.query, ""))})
    env.pop("SB_STRESS_LOST", None)
    out = subprocess.run([stress, "generic", workdir], env=env,
                         stdout=subprocess.PIPE, text=True)
    proxy.stop()
    counts = proxy.snapshot()
    print("lost takes: %s" % json.dumps(counts, sort_keys=True))
    bad = []
    if out.returncode != 0:
        sys.stdout.write(out.stdout)
        bad.append("lost takes: ddb_stress exited %d" % out.returncode)
    if counts.get("lost committed TransactWriteItems", 0) != 3:
        bad.append("lost takes: %d committed takes lost their answer, "
                   "want 3" % counts.get("lost committed TransactWriteItems",
                                         0))
    for want in ("reserved after the run: 0", "failed calls by code: none"):
        if want not in out.stdout:
            sys.stdout.write(out.stdout)
            bad.append("lost takes: no '%s'" % want)
    return bad


def lost_takeover(stress, workdir, base, timeout_ms, slow):
    """Generic only, before the stress: one client, 3 items, 3 ids. The
    first take's answer comes after the client's timeout (the item stays
    reserved; the fetch is asked again and takes another item); the last
    id finds the bank empty, and its recovery pass takes the reservation
    over with an UpdateItem whose answer is lost: reset (re-sent, it
    fails its condition on its own stamp), or with @p slow held past the
    timeout (the client gives up on it). Either way the pass must find
    that the takeover is its own, and put the item back for the last id.
    (Left with a stamp no pass owns, the item stays out of reach for
    SB_TAKEOVER_MS and the last id is told "empty" with an item in the
    bank.) []: fine, else what failed."""
    u = urllib.parse.urlsplit(base)
    proxy = fault_proxy.FaultProxy(u.netloc, 0.0, 1,
                                   timeout_ms / 1000.0 + 0.5,
                                   force_take_slow=1,
                                   force_takeover_lost=0 if slow else 1,
                                   force_takeover_slow=1 if slow else 0
                                   ).start()
    what = "lost takeover (%s)" % ("slow" if slow else "reset")
    query = u.query + ("&" if u.query else "") + "timeout=%d" % timeout_ms
    env = dict(os.environ)
    env.update({"SB_STRESS_PROCS": "1", "SB_STRESS_THREADS": "1",
                "SB_STRESS_ITEMS": "3", "SB_STRESS_IDS": "3",
                "SB_STRESS_REPEAT": "1", "SB_STRESS_FAULT_URI":
                urllib.parse.urlunsplit((u.scheme, "127.0.0.1:%d" %
                                         proxy.port, u.path, query, ""))})
    env.pop("SB_STRESS_LOST", None)
    out = subprocess.run([stress, "generic", workdir], env=env,
                         stdout=subprocess.PIPE, text=True)
    proxy.stop()
    counts = proxy.snapshot()
    print("%s: %s" % (what, json.dumps(counts, sort_keys=True)))
    bad = []
    if out.returncode != 0:
        sys.stdout.write(out.stdout)
        bad.append("%s: ddb_stress exited %d" % (what, out.returncode))
    for k in ("slow_lost committed TransactWriteItems",
              "%s committed UpdateItem" % ("slow_lost" if slow else "lost")):
        if counts.get(k, 0) != 1:
            bad.append("%s: '%s' %d times, want 1" %
                       (what, k, counts.get(k, 0)))
    return bad


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    mode, stress, workdir = sys.argv[1:]
    base = os.environ["SB_TEST_DYNAMODB_URI"]
    u = urllib.parse.urlsplit(base)
    rate = float(os.environ.get("SB_FAULT_RATE", "0.1"))
    seed = int(os.environ.get("SB_TEST_SEED") or random.randrange(1, 2**31))
    timeout_ms = int(os.environ.get("SB_FAULT_TIMEOUT_MS", "1000"))
    need = int(os.environ.get("SB_FAULT_MIN", "5"))
    lost_file = os.path.join(workdir, "fault-lost-%s-%d.txt" %
                             (mode, os.getpid()))

    proxy = fault_proxy.FaultProxy(u.netloc, rate, seed,
                                   timeout_ms / 1000.0 + 0.5, lost_file,
                                   force_lost=FORCE_LOST).start()
    query = u.query + ("&" if u.query else "") + "timeout=%d" % timeout_ms
    via = urllib.parse.urlunsplit(
        (u.scheme, "127.0.0.1:%d" % proxy.port, u.path, query, ""))
    env = dict(os.environ)
    for k, v in list(COMMON.items()) + list(SIZES.get(mode, {}).items()):
        env.setdefault(k, v)
    env["SB_TEST_SEED"] = str(seed)
    env["SB_STRESS_FAULT_URI"] = via
    env["SB_STRESS_LOST"] = lost_file
    print("fault run %s: rate %.2f, seed %d (SB_TEST_SEED replays it), "
          "request timeout %d ms, proxy %s" %
          (mode, rate, seed, timeout_ms, via), flush=True)
    bad = []
    if mode == "generic":
        bad += lost_takes(stress, workdir, base)
        bad += lost_takeover(stress, workdir, base, timeout_ms, False)
        bad += lost_takeover(stress, workdir, base, timeout_ms, True)
    t0 = time.monotonic()
    out = subprocess.run([stress, mode, workdir], env=env,
                         stdout=subprocess.PIPE, text=True)
    secs = time.monotonic() - t0
    proxy.stop()
    sys.stdout.write(out.stdout)
    counts = proxy.snapshot()
    print("fault run %s: %.1f s; the proxy: %s" %
          (mode, secs, json.dumps(counts, sort_keys=True)), flush=True)
    if os.path.exists(lost_file):
        os.unlink(lost_file)

    if out.returncode != 0:
        bad.append("ddb_stress exited %d" % out.returncode)
    for k in fault_proxy.KINDS:
        if counts.get(k, 0) < need:
            bad.append("%s injected %d times, want at least %d" %
                       (k, counts.get(k, 0), need))
    if counts.get("lost claims", 0) < 2:
        bad.append("only %d lost answers gave an id an item" %
                   counts.get("lost claims", 0))
    if counts.get("upstream errors", 0):
        bad.append("%d requests failed between the proxy and DynamoDB" %
                   counts["upstream errors"])
    slow = [line for line in out.stdout.splitlines()
            if "slowest call" in line]
    if not slow:
        bad.append("no 'slowest call' line from ddb_stress")
    for line in slow:
        s = float(line.split("slowest call")[1].split()[0])
        if s > MAX_CALL_S:
            bad.append("a call took %.1f s (more than %d)" % (s, MAX_CALL_S))
    if "lost answers that gave an id an item" not in out.stdout:
        bad.append("ddb_stress did not check the lost answers")
    for b in bad:
        print("FAIL: " + b, flush=True)
    print("fault run %s: %s" % (mode, "FAILED" if bad else "ok"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
