#!/usr/bin/env python3
"""Exceptions for every bad input, bad URIs, a refused password, an
unreachable and a silent server, a locked SQLite file, and an ImportError
that says what to do when the library is missing or too old.

Runs on SQLite always, and on every server whose URI the environment sets
(SB_TEST_PG_URI, SB_TEST_REDIS_URI, SB_TEST_DYNAMODB_URI): with CI=true
each of them must be set."""

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import storagebox  # noqa: E402
from storagebox import _lib  # noqa: E402

SERVERS = {'postgresql': 'SB_TEST_PG_URI', 'redis': 'SB_TEST_REDIS_URI',
           'dynamodb': 'SB_TEST_DYNAMODB_URI'}
MAX = 256 * 1024  # SB_MAX_VALUE_LEN


def server_uris():
    """name -> URI of each server that is set (CI: all of them)."""
    out = {}
    for name, var in SERVERS.items():
        if name not in storagebox.schemes():
            continue
        uri = os.environ.get(var)
        if uri:
            out[name] = uri
        elif os.environ.get('CI') == 'true':
            support.skip_or_fail('%s is not set' % var)
    return out


class BadInput(unittest.TestCase):
    """Every call, every bad argument, on every store."""

    def stores(self):
        tmp = tempfile.mkdtemp()
        yield 'sqlite', 'sqlite:' + os.path.join(tmp, 'bad.db')
        yield from server_uris().items()

    def test_bad_arguments(self):
        for name, uri in self.stores():
            with self.subTest(store=name), storagebox.Box(uri) as box:
                bank, ledger = support.unique('bad'), support.unique('l')
                box.add(bank, ['one'])
                for bad in ['', 'a\nb', 'a\rb', 'a\0b', 'x' * (MAX + 1),
                            '\udcff']:
                    calls = [
                        lambda: box.fetch(bad, ledger, 'id'),
                        lambda: box.fetch(bank, bad, 'id'),
                        lambda: box.fetch(bank, ledger, bad),
                        lambda: box.lookup(bad, 'id'),
                        lambda: box.lookup(ledger, bad),
                        lambda: box.add(bank, ['ok-%s' % name, bad]),
                        lambda: box.add(bad, ['x']),
                        lambda: box.stats(bad),
                        lambda: box.init(bad),
                        lambda: box.export(bad),
                        lambda: box.recover(bad, ledger),
                    ]
                    for n, call in enumerate(calls):
                        with self.assertRaises(storagebox.InvalidArgument,
                                               msg='call %d, %r' %
                                               (n, bad[:20])) as cm:
                            call()
                        self.assertIsInstance(cm.exception, ValueError)
                        self.assertEqual(cm.exception.code, -8)
                        self.assertEqual(cm.exception.code_name,
                                         'SB_EINVALID')
                        self.assertTrue(str(cm.exception))
                # A bad item fails its whole batch: nothing was added.
                self.assertEqual(box.stats(bank).available, 1)
                for bad in [None, 3, b'bytes']:
                    with self.assertRaises(TypeError):
                        box.fetch(bank, ledger, bad)
                    with self.assertRaises(TypeError):
                        box.add(bank, [bad])
                with self.assertRaises(TypeError):
                    box.add(bank, 'a single string')
                with self.assertRaises(ValueError):
                    box.add(bank, ['x'], batch=0)
                # A bank never created: LookupError.
                for call in (lambda: box.fetch('never-%s' % bank, ledger,
                                               'id'),
                             lambda: box.stats('never-%s' % bank)):
                    with self.assertRaises(storagebox.NotFound) as cm:
                        call()
                    self.assertIsInstance(cm.exception, LookupError)

    def test_closed_box(self):
        box = storagebox.Box('sqlite::memory:')
        box.close()
        with self.assertRaises(ValueError):
            box.stats('x')
        with self.assertRaises(storagebox.InvalidArgument):
            storagebox.Box('sqlite::memory:', protocol='fast')


class BadStores(unittest.TestCase):
    def test_bad_uris(self):
        # A typo in an option is said before anything is made: no file.
        typo_db = os.path.join(tempfile.mkdtemp(prefix='sb-py-'), 'x.db')
        for uri in ['nosuch://x', 'sqlite:', 'sqlite:%s?nosuch=1' % typo_db,
                    'redis://127.0.0.1:notaport', 'memory:x\n',
                    'postgresql://h/db?query_timeout=abc',
                    'dynamodb://Not_A.Region']:
            if uri.split(':')[0] not in storagebox.schemes() + ['nosuch']:
                continue
            with self.subTest(uri=uri):
                with self.assertRaises(ValueError) as cm:
                    storagebox.Box(uri)
                self.assertIsInstance(cm.exception, storagebox.StorageboxError)
                self.assertIn(cm.exception.code, (-4, -8))
        self.assertFalse(os.path.exists(typo_db))
        os.rmdir(os.path.dirname(typo_db))
        with self.assertRaises(storagebox.InvalidURI) as cm:
            storagebox.Box('nosuch://x')
        self.assertIn('sqlite', str(cm.exception))  # names what there is
        with self.assertRaises(storagebox.InvalidArgument):
            storagebox.Box('sqlite:a\0b.db')

    def test_refused_password(self):
        servers = server_uris()
        for name in ('postgresql', 'redis'):
            if name not in servers:
                continue
            uri = servers[name]
            secret = 'wrong-pw-%s' % support.unique('s')
            for bad in (support.with_password(uri, secret),
                        support.with_password(uri, None)):
                with self.subTest(store=name, password=bad != uri):
                    with self.assertRaises(storagebox.AuthError) as cm:
                        storagebox.Box(bad)
                    e = cm.exception
                    self.assertIsInstance(e, PermissionError)
                    self.assertEqual(e.code_name, 'SB_EAUTH')
                    self.assertNotIn(secret, str(e))
                    self.assertNotIn(secret, repr(e))
            # The real password is never shown either.
            real = support.urllib.parse.urlsplit(uri).password
            try:
                storagebox.Box(uri + ('&' if '?' in uri else '?') +
                               'nosuch=1')
            except storagebox.InvalidURI as e:
                self.assertNotIn(real, str(e))
            box = storagebox.Box(uri)
            self.assertNotIn(real, repr(box))
            box.close()
        if 'dynamodb' in servers:
            # Missing credentials: refused before any request.
            saved = os.environ.pop('AWS_SECRET_ACCESS_KEY', None)
            try:
                with self.assertRaises(PermissionError):
                    storagebox.Box(servers['dynamodb'])
            finally:
                if saved is not None:
                    os.environ['AWS_SECRET_ACCESS_KEY'] = saved

    def test_unreachable_and_silent(self):
        # A port nobody listens on: ConnectionError.
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        uris = {'redis': 'redis://127.0.0.1:%d' % port,
                'postgresql': 'postgresql://u:p@127.0.0.1:%d/db' % port,
                'dynamodb': 'dynamodb+http://127.0.0.1:%d?region=us-east-1'
                            % port}
        for name, uri in uris.items():
            if name not in storagebox.schemes():
                continue
            with self.subTest(store=name):
                with self.assertRaises(ConnectionError) as cm:
                    box = storagebox.Box(uri)
                    box.fetch('b', 'l', 'id')  # stores that connect lazily
                self.assertIsInstance(cm.exception, storagebox.ConnectError)
        # A server that accepts and never answers: TimeoutError.
        if 'redis' in storagebox.schemes():
            with socket.socket() as silent:
                silent.bind(('127.0.0.1', 0))
                silent.listen(8)
                uri = ('redis://127.0.0.1:%d?connect_timeout=500&timeout=300'
                       % silent.getsockname()[1])
                with self.assertRaises(TimeoutError) as cm:
                    box = storagebox.Box(uri)
                    box.fetch('b', 'l', 'id')
                self.assertIsInstance(cm.exception, storagebox.Timeout)

    def test_locked_sqlite(self):
        # A writer that keeps the lock past busy_timeout: Busy, which is a
        # TimeoutError.
        path = os.path.join(tempfile.mkdtemp(), 'locked.db')
        with storagebox.Box('sqlite:%s?busy_timeout=100' % path) as box:
            box.add('b', ['x'])
            other = sqlite3.connect(path, isolation_level=None)
            other.execute('BEGIN IMMEDIATE')
            try:
                with self.assertRaises(storagebox.Busy) as cm:
                    box.add('b', ['y'])
                self.assertIsInstance(cm.exception, TimeoutError)
            finally:
                other.execute('ROLLBACK')
                other.close()
            self.assertEqual(box.add('b', ['y']), (1, 0))

    def test_exceptions_pickle(self):
        import pickle
        e = storagebox.AuthError(-12, 'refused')
        back = pickle.loads(pickle.dumps(e))
        self.assertEqual((type(back), back.code, str(back)),
                         (storagebox.AuthError, -12, 'refused'))


class Loading(unittest.TestCase):
    """ImportError when the library is missing, not storagebox, or old."""

    def import_with(self, lib):
        env = dict(os.environ, STORAGEBOX_LIB=lib)
        return subprocess.run([sys.executable, '-c', 'import storagebox'],
                              env=env, capture_output=True, text=True,
                              timeout=60)

    def test_missing(self):
        r = self.import_with('/nonexistent/libstoragebox.so')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('ImportError', r.stderr)
        self.assertIn('STORAGEBOX_LIB', r.stderr)
        self.assertIn('Install', r.stderr)

    def test_not_storagebox(self):
        import ctypes.util
        libc = ctypes.util.find_library('c')
        r = self.import_with(libc)
        self.assertIn('ImportError', r.stderr)
        self.assertIn('has no sb_version()', r.stderr)

    def test_too_old(self):
        need = '.'.join(map(str, _lib.MIN_VERSION))
        with self.assertRaises(ImportError) as cm:
            _lib.check_version('0.0.9', '/x/libstoragebox.so')
        self.assertIn('needs %s or newer' % need, str(cm.exception))
        self.assertIn('STORAGEBOX_LIB', str(cm.exception))
        with self.assertRaises(ImportError):
            _lib.check_version('garbage', '/x')
        with self.assertRaises(ImportError):
            _lib.check_version('0.1.0', '/x')  # before holds
        _lib.check_version(need, '/x')
        _lib.check_version('1.0.0-rc1', '/x')
        self.assertEqual(_lib.parse_version('0.10.2'), (0, 10, 2))

    def test_loaded(self):
        self.assertGreaterEqual(_lib.parse_version(
            storagebox.library_version()), _lib.MIN_VERSION)
        self.assertTrue(os.path.exists(storagebox.library_path()))
        self.assertIn('sqlite', storagebox.schemes())


if __name__ == '__main__':
    unittest.main()
