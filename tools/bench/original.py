#!/usr/bin/python3
"""The original Python library's algorithm, re-implemented from its
description (DESIGN section 1, docs/protocol.md) over boto3, as the
same-run baseline of tools/bench.sh (issue 16, part 4).

The original keeps one DynamoDB table per item list (hash key `item`) and
one per dedup ledger (hash key `deduplication_id`, attribute
`item_string`): storagebox's layout, so both can share tables.

  fetch(id): take an item from the bank, then put the id's ledger record
             if absent; if the id already had one, read it, put our item
             back with a plain PutItem and return the id's (it takes
             before it looks: an id that holds an item gets None once the
             bank is empty, one of the faults storagebox fixes).
  take:      Scan (Limit 30) from the start of the table, shuffle the
             page, DeleteItem each candidate on condition that it still
             exists until one succeeds; the next page if all were gone;
             None when a page is empty.
  add:       BatchWriteItem of 25 plain puts; UnprocessedItems re-sent
             after a growing pause.

Two departures, both only where the original would stop with an error
(noted in docs/benchmarks.md): when every candidate of the last page was
taken by others, the original reads `LastEvaluatedKey` that is not there
(a KeyError); here the Scan starts again from the top (counted as
`restarts`). And the original's re-send of UnprocessedItems looks for
them under the key 'string' (the boto3 documentation's placeholder), so
it never re-sends; here they are re-sent, as it meant to.

Every HTTP request boto3 sends is counted (botocore's `before-send`
event, retries included).

Commands (one JSON object on stdout each):
  add    --bank T --items N             create T if needed, add N items
  claims --bank T --ledger L --procs P  P processes fetch new ids until
         [--duration S] [--ids N]       S seconds pass or N ids were asked
  kills  --bank T --ledger L --items N  P processes fetch new ids; K times
         --procs P --kills K            one of them is SIGKILLed at random
                                        (and replaced); then the items lost
  sb-kills --cli PATH --bank T --ledger L --items N --procs P --kills K
                                        the same against `storagebox fetch`
                                        processes, then `storagebox recover`
  smoke  --cli PATH                     a short check for the test suite

The endpoint is --uri, else $STORAGEBOX_URI, else $SB_TEST_DYNAMODB_URI
(dynamodb+http://HOST:PORT?region=R or dynamodb://REGION); credentials
come from the environment as boto3 reads them. Run with Debian's
/usr/bin/python3 and python3-boto3.
"""

import argparse
import gc
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import boto3
import botocore.config
from botocore.exceptions import ClientError

SCAN_LIMIT = 30  # the original's page of candidates
BATCH = 25  # BatchWriteItem's limit, the original's batch
BACKOFF = 0.05  # s, first pause before re-sending unprocessed items


# ------------------------------------------------------------ endpoint

def endpoint_of(uri):
    """(endpoint_url or None, region) from a storagebox DynamoDB URI."""
    u = urllib.parse.urlsplit(uri)
    q = urllib.parse.parse_qs(u.query)
    region = (q.get('region') or [None])[0]
    if u.scheme == 'dynamodb':
        return None, u.netloc
    if u.scheme in ('dynamodb+http', 'dynamodb+https'):
        region = (region or os.environ.get('AWS_REGION') or
                  os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1')
        return '%s://%s' % (u.scheme.split('+')[1], u.netloc), region
    raise SystemExit('original.py: not a DynamoDB URI: %s' % u.scheme)


class Conn:
    """One boto3 session's client and resource, with a request counter.
    The session is made once per process; its loader caches the service
    models, so clients made again after fork() start fast."""

    def __init__(self, uri, session=None):
        self.uri = uri
        self.url, self.region = endpoint_of(uri)
        self.session = session or boto3.session.Session()
        self.requests = 0
        cfg = botocore.config.Config(region_name=self.region)
        self.client = self.session.client('dynamodb', endpoint_url=self.url,
                                          config=cfg)
        self.resource = self.session.resource('dynamodb',
                                              endpoint_url=self.url,
                                              config=cfg)
        for c in (self.client, self.resource.meta.client):
            c.meta.events.register('before-send.dynamodb', self._count)

    def _count(self, **_):
        self.requests += 1

    def fresh(self):
        """New clients on the same session (after fork: no shared
        connection)."""
        return Conn(self.uri, self.session)


def create_table(conn, name, key):
    """The tables as the original's README makes them (it never creates
    them itself): one string hash key, on demand."""
    c = conn.client
    try:
        c.create_table(TableName=name, BillingMode='PAY_PER_REQUEST',
                       AttributeDefinitions=[{'AttributeName': key,
                                              'AttributeType': 'S'}],
                       KeySchema=[{'AttributeName': key, 'KeyType': 'HASH'}])
    except c.exceptions.ResourceInUseException:
        pass
    c.get_waiter('table_exists').wait(TableName=name,
                                      WaiterConfig={'Delay': 0.2})


# ------------------------------------------------------ the original

class Bank:
    """The original's item bank: one table of available items."""

    def __init__(self, conn, table, check=True):
        self.conn = conn
        self.name = table
        # The original checks that its table exists when it is made.
        if check:
            conn.client.describe_table(TableName=table)
        self.table = conn.resource.Table(table)
        self.conflicts = 0  # conditional deletes that found the item gone
        self.restarts = 0   # last pages taken by others (see the top)

    def add(self, items):
        """BatchWriteItem of 25 plain puts; unprocessed ones re-sent."""
        items = list(items)
        queue = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
        failures = 0
        while queue:
            batch = queue.pop(0)
            resp = self.conn.client.batch_write_item(RequestItems={
                self.name: [{'PutRequest': {'Item': {'item': {'S': s}}}}
                            for s in batch]})
            left = resp.get('UnprocessedItems', {}).get(self.name)
            if left:
                queue.insert(0, [r['PutRequest']['Item']['item']['S']
                                 for r in left])
                failures += 1
                time.sleep(BACKOFF * 2 ** min(failures, 6))
            else:
                failures = 0

    def put_back(self, item):
        """The original's put back: a plain PutItem."""
        self.table.put_item(Item={'item': item})

    def take(self):
        start = None
        while True:
            kw = {'Limit': SCAN_LIMIT}
            if start:
                kw['ExclusiveStartKey'] = start
            page = self.table.scan(**kw)
            found = page['Items']
            if not found:
                return None
            random.shuffle(found)
            for cand in found:
                item = cand['item']
                try:
                    self.table.delete_item(
                        Key={'item': item},
                        ConditionExpression='attribute_exists(#i)',
                        ExpressionAttributeNames={'#i': 'item'})
                    return item
                except ClientError:
                    self.conflicts += 1  # another client took it
            start = page.get('LastEvaluatedKey')
            if start is None:
                self.restarts += 1


class Ledger:
    """The original's dedup table."""

    def __init__(self, conn, table, check=True):
        if check:
            conn.client.describe_table(TableName=table)
        self.table = conn.resource.Table(table)

    def get(self, dedup_id):
        resp = self.table.get_item(Key={'deduplication_id': dedup_id})
        return resp.get('Item', {}).get('item_string')

    def put(self, dedup_id, item):
        self.table.put_item(
            Item={'deduplication_id': dedup_id, 'item_string': item},
            ConditionExpression='attribute_not_exists(#d)',
            ExpressionAttributeNames={'#d': 'deduplication_id'})


def fetch(bank, ledger, dedup_id):
    """The original's fetch: take first, then record; put back on a
    conflict. Returns (item, new)."""
    item = bank.take()
    if item is None:
        return None, False
    try:
        ledger.put(dedup_id, item)
        return item, True
    except ClientError:
        had = ledger.get(dedup_id)
        if had != item:
            bank.put_back(item)
            return had, False
        return item, False


# ------------------------------------------------------------ counting

def count_table(conn, table):
    """Items in a table (a consistent COUNT Scan, every page)."""
    n, kw = 0, {'TableName': table, 'Select': 'COUNT',
                'ConsistentRead': True}
    while True:
        resp = conn.client.scan(**kw)
        n += resp['Count']
        if 'LastEvaluatedKey' not in resp:
            return n
        kw['ExclusiveStartKey'] = resp['LastEvaluatedKey']


def ledger_records(conn, table):
    """(deduplication_id, item_string) of every record."""
    out, kw = [], {'TableName': table, 'ConsistentRead': True}
    while True:
        resp = conn.client.scan(**kw)
        out += [(i['deduplication_id']['S'], i['item_string']['S'])
                for i in resp['Items']]
        if 'LastEvaluatedKey' not in resp:
            return out
        kw['ExclusiveStartKey'] = resp['LastEvaluatedKey']


def pct(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p / 100))]


def add_items(conn, table, items):
    """Create the bank table and add the items the original's way;
    returns (seconds, requests)."""
    create_table(conn, table, 'item')
    bank = Bank(conn, table)
    r0, t0 = conn.requests, time.monotonic()
    bank.add(items)
    return time.monotonic() - t0, conn.requests - r0


# -------------------------------------------------------------- claims

def claim_worker(conn, a, slot, go, stop, counter, out):
    """One process of `claims`: new ids from the shared counter."""
    random.seed()
    c = conn.fresh()
    bank, ledger = Bank(c, a.bank), Ledger(c, a.ledger)
    warm_up(bank, ledger)  # as storagebox bench, connected before the start
    go.wait()
    cpu0 = time.process_time()
    got, lat, empty = [], [], 0
    req_claims = req_empty = 0
    while not stop.is_set():
        with counter.get_lock():
            k = counter.value
            counter.value += 1
        if a.ids and k >= a.ids:
            break
        r0, t0 = c.requests, time.monotonic()
        item, new = fetch(bank, ledger, '%s-%d' % (a.id_prefix, k))
        ms = (time.monotonic() - t0) * 1000
        if item is None:
            empty += 1
            req_empty += c.requests - r0
            if not a.ids:
                break  # timed run: the bank ran out
            continue
        req_claims += c.requests - r0
        got.append(item)
        lat.append(ms)
    out.put({'slot': slot, 'end': time.monotonic(), 'items': got,
             'cpu': time.process_time() - cpu0,
             'lat': lat, 'empty': empty, 'req_claims': req_claims,
             'req_empty': req_empty, 'conflicts': bank.conflicts,
             'restarts': bank.restarts})


def cmd_claims(a, conn, alone=True):
    """alone: no other client takes from the bank meanwhile (the bank's
    count is then part of the check)."""
    loaded = count_table(conn, a.bank)
    ctx = multiprocessing.get_context('fork')
    go = ctx.Barrier(a.procs + 1)
    stop, counter, out = ctx.Event(), ctx.Value('q', 0), ctx.Queue()
    procs = [ctx.Process(target=claim_worker,
                         args=(conn, a, n, go, stop, counter, out))
             for n in range(a.procs)]
    gc.freeze()  # see Forked.fork
    for p in procs:
        p.start()
    go.wait()
    t0 = time.monotonic()
    res = []
    if a.duration:
        deadline = t0 + a.duration
        while len(res) < a.procs and time.monotonic() < deadline:
            try:
                res.append(out.get(timeout=max(0.01,
                                               deadline - time.monotonic())))
            except Exception:  # queue.Empty: the time is up
                pass
        stop.set()
    while len(res) < a.procs:
        res.append(out.get())
    for p in procs:
        p.join()
    secs = max(r['end'] for r in res) - t0
    items = [i for r in res for i in r['items']]
    lat = sorted(x for r in res for x in r['lat'])
    claims = len(items)
    req = sum(r['req_claims'] for r in res)
    left = count_table(conn, a.bank)
    # The ids of this run only: the ledger may be shared.
    mine = a.id_prefix + '-'
    recorded = [i for d, i in ledger_records(conn, a.ledger)
                if d.startswith(mine)]
    law = (len(set(items)) == claims and len(recorded) == claims and
           sorted(recorded) == sorted(items) and
           (left + claims == loaded or not alone))
    return {'procs': a.procs, 'claims': claims, 'seconds': round(secs, 3),
            'claims_per_s': round(claims / secs, 1) if secs > 0 else 0,
            'requests_per_claim': round(req / claims, 3) if claims else 0,
            'requests': req + sum(r['req_empty'] for r in res),
            'empty': sum(r['empty'] for r in res),
            'p50_ms': round(pct(lat, 50), 3), 'p99_ms': round(pct(lat, 99), 3),
            # The client's own CPU (user + system) per claim: boto3's cost.
            'client_cpu_ms_per_claim': round(
                1000 * sum(r['cpu'] for r in res) / claims, 2) if claims else 0,
            'delete_conflicts': sum(r['conflicts'] for r in res),
            'restarts': sum(r['restarts'] for r in res),
            'loaded': loaded, 'left': left, 'law_holds': law}


# --------------------------------------------------------------- kills

def warm_up(bank, ledger):
    """Make each kind of request a claim makes once, changing nothing:
    boto3 builds its models and handler caches lazily, and a forked
    child touching them for the first time is slow (copy on write)."""
    key = 'original.py warm-up'
    bank.table.scan(Limit=1)
    for call in (lambda: bank.table.delete_item(
            Key={'item': key}, ConditionExpression='attribute_exists(#i)',
            ExpressionAttributeNames={'#i': 'item'}),
            lambda: ledger.table.put_item(
                Item={'deduplication_id': key, 'item_string': key},
                ConditionExpression='attribute_exists(#d)',
                ExpressionAttributeNames={'#d': 'deduplication_id'})):
        try:
            call()
        except ClientError:
            pass
    ledger.get(key)


def kill_worker(spare, slot, gen, done, go):
    """A claimer that may be killed at any instant: new ids forever. It
    starts as a spare: warmed up, then waiting on the pipe `go` until its
    slot's worker is killed, so the kills hit claims, not start-ups."""
    random.seed()
    bank, ledger = spare
    warm_up(bank, ledger)
    if os.read(go, 1) != b'g':
        os._exit(0)
    n = 0
    while True:
        item, _ = fetch(bank, ledger, 'k%d-%d-%d' % (slot, gen, n))
        if item is None:
            os._exit(3)
        n += 1
        done[slot] = n


def run_kills(a, slots):
    """SIGKILL a client of a random slot, a.kills times, at random
    moments (they do not depend on the clients' progress, so a victim
    may be anywhere in a claim); each slot replaces what it lost.
    Returns (kills, seconds); stops early if the bank runs out."""
    kills, t0 = 0, time.monotonic()
    while kills < a.kills:
        time.sleep(random.uniform(0, 2 * a.gap))
        if any(s.finished() for s in slots):
            break
        live = [s for s in slots if s.ready()]
        if live and random.choice(live).kill():
            kills += 1
    for s in slots:
        s.stop()
    return kills, time.monotonic() - t0


def warmed(conn, a):
    """A bank and a ledger object for the forked workers, warmed up here
    first, their connections then closed (a child opens its own)."""
    c = conn.fresh()
    bank, ledger = Bank(c, a.bank), Ledger(c, a.ledger)
    warm_up(bank, ledger)
    c.client.close()
    c.resource.meta.client.close()
    return bank, ledger


class Forked:
    """A slot of `kills`: a forked kill_worker and its spare. A kill
    SIGKILLs the worker once it has made a claim, starts the spare and
    forks the next spare."""

    def __init__(self, spare, slot, done):
        self.spare, self.slot, self.done, self.gen = spare, slot, done, 0
        self.done[slot] = 0
        self.pid, go = self.fork()
        os.write(go, b'g')
        os.close(go)
        self.next = self.fork()

    def fork(self):
        r, w = os.pipe()
        self.gen += 1
        # The child's collector would write to every object it inherited,
        # copying the parent's whole heap page by page: freeze them.
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            try:
                kill_worker(self.spare, self.slot, self.gen, self.done, r)
            finally:
                os._exit(1)
        os.close(r)
        return pid, w

    def ready(self):
        return self.done[self.slot] > 0 and self.pid is not None

    def kill(self):
        if not self.ready():
            return False
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.done[self.slot] = 0
        self.pid, go = self.next
        os.write(go, b'g')
        os.close(go)
        self.next = self.fork()
        return True

    def finished(self):
        if self.pid is None:
            return True
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.pid = None
        return True

    def stop(self):
        for pid in (self.pid, self.next[0]):
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        os.close(self.next[1])


def cmd_kills(a, conn):
    items = ['%s-%06d' % (a.bank, i) for i in range(a.items)]
    add_items(conn, a.bank, items)
    create_table(conn, a.ledger, 'deduplication_id')
    done = multiprocessing.get_context('fork').Array('l', a.procs,
                                                     lock=False)
    spare = warmed(conn, a)
    slots = [Forked(spare, s, done) for s in range(a.procs)]
    kills, secs = run_kills(a, slots)
    left = count_table(conn, a.bank)
    recorded = [i for _, i in ledger_records(conn, a.ledger)]
    lost = a.items - left - len(recorded)
    return {'who': 'original', 'procs': a.procs, 'kills': kills,
            'seconds': round(secs, 2), 'loaded': a.items, 'available': left,
            'assigned': len(recorded), 'lost': lost,
            'given_twice': len(recorded) - len(set(recorded))}


def sb(a, *args, check=True):
    r = subprocess.run([a.cli] + list(args), capture_output=True, text=True,
                       env=dict(os.environ, STORAGEBOX_URI=a.uri))
    if check and r.returncode != 0:
        raise SystemExit('storagebox %s: exit %d: %s' %
                         (args[0], r.returncode, r.stderr.strip()))
    return r


def sb_stats(a):
    out = sb(a, 'stats', a.bank, a.ledger).stdout
    return {k: int(v) for k, v in
            (ln.split(': ') for ln in out.splitlines() if ': ' in ln)}


class FetchLoop:
    """A slot of sb-kills: a thread that runs `storagebox fetch` processes
    back to back (new ids); a kill hits the one running, wherever it is
    (start-up, a request, between requests)."""

    def __init__(self, a, slot):
        self.a, self.slot, self.n = a, slot, 0
        self.ok = self.empty = self.failed = 0
        self.p, self.halt = None, False
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.halt and not self.empty:
            with self.lock:
                self.p = subprocess.Popen(
                    [self.a.cli, 'fetch', self.a.bank, self.a.ledger,
                     's%d-%d' % (self.slot, self.n)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env=self.a.sb_env)
            self.n += 1
            rc = self.p.wait()
            if rc == 3:
                self.empty += 1
            elif rc == 0:
                self.ok += 1
            elif rc != -signal.SIGKILL:
                self.failed += 1

    def ready(self):
        return self.p is not None and self.p.poll() is None

    def kill(self):
        with self.lock:
            if self.p is None or self.p.poll() is not None:
                return False
            self.p.send_signal(signal.SIGKILL)
            return True

    def finished(self):
        return self.empty > 0

    def stop(self):
        self.halt = True
        self.t.join()


def cmd_sb_kills(a, conn):
    a.sb_env = dict(os.environ, STORAGEBOX_URI=a.uri)
    items = ''.join('%s-%06d\n' % (a.bank, i) for i in range(a.items))
    r = subprocess.run([a.cli, 'add', a.bank, '-'], input=items, text=True,
                       capture_output=True, env=a.sb_env)
    if r.returncode != 0:
        raise SystemExit('storagebox add: %s' % r.stderr.strip())
    sb(a, 'init', a.bank, a.ledger)
    slots = [FetchLoop(a, s) for s in range(a.procs)]
    kills, secs = run_kills(a, slots)
    before = sb_stats(a)
    sb(a, 'recover', a.bank, a.ledger)
    st = sb_stats(a)
    lost = a.items - st['available'] - st['assigned'] - st['reserved']
    return {'who': 'storagebox', 'procs': a.procs, 'kills': kills,
            'seconds': round(secs, 2), 'loaded': a.items,
            'fetched': sum(s.ok for s in slots),
            'failed': sum(s.failed for s in slots),
            'available': st['available'], 'assigned': st['assigned'],
            'reserved_before_recover': before['reserved'],
            'reserved': st['reserved'], 'lost': lost,
            'law_holds': lost == 0 and st['reserved'] == 0 and
            not sum(s.failed for s in slots)}


# --------------------------------------------------------------- smoke

def cmd_smoke(a, conn):
    """For the test suite, on DynamoDB Local, in a few seconds:
    1. the original alone: 50 items, 2 processes, 60 new ids: 50 answers,
       all distinct, every one recorded, the bank empty, 10 empty answers;
    2. shared tables: storagebox holds 5 and fetches 5 from a 40-item bank
       of the original's, then the original drains it with 2 processes
       while storagebox fetches 10 more: the original never hands out an
       item storagebox holds (on hold or assigned), no item goes twice,
       and all 40 are accounted for."""
    run = uuid.uuid4().hex[:8]
    findings = []
    # 1.
    a.bank, a.ledger = 'orig-smoke-%s' % run, 'orig-smoke-%s-dedup' % run
    add_items(conn, a.bank, ['o%s-%02d' % (run, i) for i in range(50)])
    create_table(conn, a.ledger, 'deduplication_id')
    a.procs, a.duration, a.ids, a.id_prefix = 2, 0, 60, 'u'
    r = cmd_claims(a, conn)
    if not (r['law_holds'] and r['claims'] == 50 and r['empty'] == 10 and
            r['left'] == 0):
        findings.append('original alone: %s' % json.dumps(r))
    # 2. A bank of the original's; storagebox takes from it first.
    a.bank, a.ledger = 'orig-share-%s' % run, 'orig-share-%s-dedup' % run
    add_items(conn, a.bank, ['s%s-%02d' % (run, i) for i in range(40)])
    create_table(conn, a.ledger, 'deduplication_id')
    held, got = [], []
    for i in range(5):
        out = sb(a, 'hold', a.bank, a.ledger, 'h%d' % i, '--ttl', '1h')
        held.append(out.stdout.strip())
        out = sb(a, 'fetch', a.bank, a.ledger, 'f%d' % i)
        got.append(out.stdout.strip())
    # Then both at once: storagebox fetches while the original drains.
    both = []

    def sb_side():
        for i in range(10):
            out = sb(a, 'fetch', a.bank, a.ledger, 'c%d' % i, check=False)
            if out.returncode == 0:
                both.append(out.stdout.strip())
            elif out.returncode != 3:
                both.append('error: ' + out.stderr.strip())

    t = threading.Thread(target=sb_side)
    t.start()
    a.id_prefix, a.ids = 'p', 40
    r = cmd_claims(a, conn, alone=False)
    t.join()
    py = [i for d, i in ledger_records(conn, a.ledger) if d.startswith('p-')]
    st = sb_stats(a)
    sb_items = held + got + both
    if not (r['law_holds'] and r['claims'] + len(both) == 30 and
            r['empty'] == 40 - r['claims']):
        findings.append('original beside storagebox: %s, storagebox %s' %
                        (json.dumps(r), both))
    if (len(set(sb_items)) != len(sb_items) or len(set(py)) != len(py) or
            set(py) & set(sb_items) or len(py) + len(sb_items) != 40):
        findings.append('overlap: storagebox %s, original %s' %
                        (sb_items, py))
    if (st.get('available'), st.get('assigned'), st.get('on_hold')) != \
            (0, 5 + len(both), 5):
        findings.append('storagebox stats after the drain: %s' % st)
    return {'law_holds': not findings, 'findings': findings}


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('command', choices=['add', 'claims', 'kills',
                                        'sb-kills', 'smoke'])
    ap.add_argument('--uri', default=os.environ.get(
        'STORAGEBOX_URI', os.environ.get('SB_TEST_DYNAMODB_URI')))
    ap.add_argument('--bank')
    ap.add_argument('--ledger')
    ap.add_argument('--items', type=int, default=1000)
    ap.add_argument('--procs', type=int, default=1)
    ap.add_argument('--duration', type=float, default=0)
    ap.add_argument('--ids', type=int, default=0)
    ap.add_argument('--id-prefix', default='u')
    ap.add_argument('--kills', type=int, default=200)
    ap.add_argument('--gap', type=float, default=0.03,
                    help='mean seconds between kills')
    ap.add_argument('--cli', help='the storagebox command (sb-kills, smoke)')
    a = ap.parse_args()
    if not a.uri:
        raise SystemExit('original.py: no --uri, $STORAGEBOX_URI or '
                         '$SB_TEST_DYNAMODB_URI')
    conn = Conn(a.uri)
    if a.command == 'add':
        items = ['%s-%07d' % (a.bank, i) for i in range(a.items)]
        secs, req = add_items(conn, a.bank, items)
        res = {'items': a.items, 'seconds': round(secs, 3),
               'items_per_s': round(a.items / secs, 1), 'requests': req,
               'left': count_table(conn, a.bank)}
        res['law_holds'] = res['left'] == a.items
    elif a.command == 'claims':
        create_table(conn, a.ledger, 'deduplication_id')
        res = cmd_claims(a, conn)
    elif a.command == 'kills':
        res = cmd_kills(a, conn)
        res['law_holds'] = res['given_twice'] == 0
    elif a.command == 'sb-kills':
        res = cmd_sb_kills(a, conn)
    else:
        res = cmd_smoke(a, conn)
    print(json.dumps(res))
    return 0 if res.get('law_holds') else 1


if __name__ == '__main__':
    sys.exit(main())
