#!/usr/bin/env python3
"""Round trips per call on the servers that speak a request/answer
protocol over TCP (PostgreSQL, Redis): a fetch, a hold and a confirm of
the fused path are each one round trip (issue: "a confirm at most one
round trip"; the hold is the fetch's single step with a deadline).

The box talks to its server through a proxy in this process that counts
the client's bursts: bytes from the client after the server last spoke
(or the first ever) start a new round trip. A call waits for its answer
before the next one is sent, so the count does not depend on timing.
Each kind of call runs once first, on other ids, so that per-connection
first uses (a script load, a statement's PREPARE) are not counted: they
happen once per connection, not per call. DynamoDB's requests are
counted by its own backend (tests/dynamodb); SQLite has no server.
"""

import os
import socket
import sys
import threading
import unittest
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import storagebox  # noqa: E402


class BurstProxy:
    """One listening port on loopback; each accepted connection is
    forwarded to (host, port); `bursts` counts client bursts over all of
    them."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.bursts = 0
        self._last = {}  # connection -> 'c' or 's': who spoke last
        self._lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(self.target)
            for src, dst, who in ((c, s, 'c'), (s, c, 's')):
                threading.Thread(target=self._pump, args=(src, dst, who, c),
                                 daemon=True).start()

    def _pump(self, src, dst, who, key):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b''
            if not data:
                for x in (src, dst):
                    try:
                        x.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            with self._lock:
                if who == 'c' and self._last.get(key) != 'c':
                    self.bursts += 1
                self._last[key] = who
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self):
        self.sock.close()


def via(uri: str, port: int) -> str:
    """@uri with its host and port replaced by the proxy's."""
    u = urllib.parse.urlsplit(uri)
    auth = u.netloc.rpartition('@')
    netloc = (auth[0] + '@' if auth[1] else '') + '127.0.0.1:%d' % port
    return urllib.parse.urlunsplit(u._replace(netloc=netloc))


class RoundTrips(unittest.TestCase):
    def check_store(self, var: str):
        uri = os.environ.get(var)
        if not uri:
            support.skip_or_fail('%s is not set' % var)
        u = urllib.parse.urlsplit(uri)
        proxy = BurstProxy(u.hostname, u.port)
        box = storagebox.Box(via(uri, proxy.port))
        try:
            bank, ledger = support.unique('rt'), support.unique('l')
            box.add(bank, ['%s-%d' % (bank, k) for k in range(20)])
            # Each call's first use on this connection, on other ids.
            box.fetch(bank, ledger, 'warm-fetch')
            box.fetch(bank, ledger, 'warm-fetch')
            box.hold(bank, ledger, 'warm-hold', 60)
            box.confirm(ledger, 'warm-hold')

            def cost(call):
                before = proxy.bursts
                call()
                return proxy.bursts - before

            answers = {}

            def keep(name, call):
                answers[name] = call()

            got = {
                'fetch, new id': cost(
                    lambda: keep('f', lambda: box.fetch(bank, ledger, 'f'))),
                'fetch, repeat id': cost(
                    lambda: box.fetch(bank, ledger, 'f')),
                'hold, new id': cost(
                    lambda: keep('h', lambda: box.hold(bank, ledger, 'h',
                                                       60))),
                'confirm of a live hold': cost(
                    lambda: box.confirm(ledger, 'h')),
            }
            print('%s: round trips %s' % (var, got))
            self.assertEqual(got, dict.fromkeys(got, 1))
            # The calls did their work: new items, the hold now for good.
            self.assertTrue(answers['f'].is_new and answers['h'].is_new)
            self.assertIsNotNone(answers['h'].expires_at)
            after = box.lookup(ledger, 'h')
            self.assertEqual((str(after), after.expires_at),
                             (str(answers['h']), None))
        finally:
            box.close()
            proxy.close()

    def test_postgresql(self):
        self.check_store('SB_TEST_PG_URI')

    def test_redis(self):
        self.check_store('SB_TEST_REDIS_URI')


if __name__ == '__main__':
    unittest.main()
