"""dynamodb-credentials: where the DynamoDB backend finds its keys, how it
refreshes them, and how it corrects a skewed clock.

Every server here is a fake on 127.0.0.1 (never the real metadata
addresses), from Python's standard library:
  - a DynamoDB endpoint that checks each request's SigV4 signature itself
    (hmac, hashlib), records the access key and session token that signed
    it, refuses expired or unknown keys as AWS does, can run its clock
    shifted (answering a request outside +-5 minutes with
    InvalidSignatureException and its own Date), and forwards every
    accepted request to DynamoDB Local ($SB_TEST_DYNAMODB_URI), whose
    answers are the real outcome;
  - IMDSv2 (token PUT, role, role credentials) and a container endpoint,
    issuing short-lived keys that the DynamoDB fake learns;
  - a dead port (refused) and a silent one (accepts, never answers).
The library runs in this process through the Python package (ctypes), so
one Box can live through a credential refresh; the CLI runs once for its
stderr. No message, exception or stderr may hold a secret or token.

Usage: python3 ddb_creds.py PATH/TO/storagebox (env: SB_TEST_DYNAMODB_URI
or SB_TEST_URI_FROM naming it; PYTHONPATH with the package).
"""

import datetime
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import storagebox

SKIP = 77
FAILS = []
SECRETS = set()  # every secret and token handed out: never in a message
MESSAGES = []    # every error text seen


def check(cond, what):
    print('%s %s' % ('ok  ' if cond else 'FAIL', what), flush=True)
    if not cond:
        FAILS.append(what)


def ddb_local_uri():
    v = os.environ.get('SB_TEST_DYNAMODB_URI')
    if not v and os.environ.get('SB_TEST_URI_FROM'):
        v = os.environ.get(os.environ['SB_TEST_URI_FROM'])
    if not v:
        ci = os.environ.get('CI') == 'true'
        print('%s: SB_TEST_DYNAMODB_URI not set' %
              ('FAIL (CI=true)' if ci else 'SKIP'), file=sys.stderr)
        sys.exit(1 if ci else SKIP)
    return v


def secret(tag):
    s = '%s-%s' % (tag, os.urandom(12).hex())
    SECRETS.add(s)
    return s


# ------------------------------------------------------------ DynamoDB fake

AUTH_RE = re.compile(
    r'AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/dynamodb/'
    r'aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$')


def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def amz(t):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(t))


class FakeDDB(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, forward):
        super().__init__(('127.0.0.1', 0), DDBHandler)
        self.forward = forward
        self.keys = {}      # access key -> (secret, token, expires or None)
        self.log = []       # (key, token, op, verdict)
        self.shift = 0.0    # seconds our clock runs ahead of the real one
        self.lock = threading.Lock()

    def add_key(self, key, sec, token=None, expires=None):
        with self.lock:
            self.keys[key] = (sec, token, expires)

    def port(self):
        return self.server_address[1]


class DDBHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def date_time_string(self, timestamp=None):
        # The Date header of every answer: the fake's (shifted) clock.
        return email.utils.formatdate(time.time() + self.server.shift,
                                      usegmt=True)

    def answer(self, status, body, ctype='application/x-amz-json-1.0'):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, kind, msg):
        # Answered by do_POST after the request is logged: the client
        # must never see an answer before the log holds its request.
        return (kind, msg)

    def verify(self, body):
        """None if the request is signed right now, else the error to
        answer: (type, message)."""
        srv = self.server
        auth = self.headers.get_all('Authorization') or []
        m = AUTH_RE.match(auth[0]) if len(auth) == 1 else None
        if not m:
            return self.error('IncompleteSignatureException', 'bad header')
        key, date, region, signed, sig = m.groups()
        with srv.lock:
            ent = srv.keys.get(key)
        if not ent:
            return self.error('UnrecognizedClientException',
                              'The security token included in the '
                              'request is invalid.')
        sec, token, expires = ent
        names = signed.split(';')
        if (names != sorted(names) or 'host' not in names or
                'x-amz-date' not in names or 'x-amz-target' not in names):
            return self.error('InvalidSignatureException', 'signed headers')
        got_token = self.headers.get_all('X-Amz-Security-Token') or []
        if token is not None and (got_token != [token] or
                                  'x-amz-security-token' not in names):
            return self.error('UnrecognizedClientException',
                              'The security token included in the '
                              'request is invalid.')
        if token is None and got_token:
            return self.error('UnrecognizedClientException', 'stray token')
        # AWS joins a repeated header's values with commas.
        canon = ''.join(
            '%s:%s\n' % (n, ','.join(' '.join(v.split()) for v in
                                     (self.headers.get_all(n) or [])))
            for n in names)
        when = ','.join(self.headers.get_all('X-Amz-Date') or [])
        creq = '\n'.join(['POST', '/', '', canon, signed,
                          hashlib.sha256(body).hexdigest()])
        scope = '%s/%s/dynamodb/aws4_request' % (date, region)
        sts = '\n'.join(['AWS4-HMAC-SHA256', when, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = hm(('AWS4' + sec).encode(), date)
        for part in (region, 'dynamodb', 'aws4_request'):
            k = hm(k, part)
        if not hmac.compare_digest(
                hmac.new(k, sts.encode(), hashlib.sha256).hexdigest(), sig):
            return self.error('InvalidSignatureException',
                              'The request signature we calculated does '
                              'not match the signature you provided.')
        try:
            t = datetime.datetime.strptime(when, '%Y%m%dT%H%M%SZ').replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            return self.error('InvalidSignatureException', 'bad date')
        if when[:8] != date:
            return self.error('InvalidSignatureException', 'scope date')
        now = time.time() + srv.shift
        if t < now - 300:
            return self.error('InvalidSignatureException',
                              'Signature expired: %s is now earlier than '
                              '%s (%s - 5 min.)' %
                              (when, amz(now - 300), amz(now)))
        if t > now + 300:
            return self.error('InvalidSignatureException',
                              'Signature not yet current: %s is still '
                              'later than %s (%s + 5 min.)' %
                              (when, amz(now + 300), amz(now)))
        if expires is not None and time.time() >= expires:
            return self.error('ExpiredTokenException',
                              'The security token included in the '
                              'request is expired')
        return None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        m = AUTH_RE.match(self.headers.get('Authorization', ''))
        key = m.group(1) if m else None
        token = self.headers.get('X-Amz-Security-Token')
        op = (self.headers.get('X-Amz-Target') or '').split('.')[-1]
        bad = self.verify(body)
        with self.server.lock:
            self.server.log.append((key, token, op, bad[0] if bad else 'ok'))
        if bad:
            return self.answer(400, json.dumps({
                '__type': 'com.amazon.coral.service#' + bad[0],
                'message': bad[1]}))
        hdrs = {h: self.headers[h] for h in
                ('Content-Type', 'X-Amz-Target', 'Authorization')}
        hdrs['X-Amz-Date'] = amz(time.time())
        req = urllib.request.Request(self.server.forward, data=body,
                                     headers=hdrs, method='POST')
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                self.answer(r.status, r.read())
        except urllib.error.HTTPError as e:
            self.answer(e.code, e.read())


# ------------------------------------------------------ metadata endpoints

class FakeMeta(http.server.ThreadingHTTPServer):
    """IMDSv2 and a container endpoint; keys issued are taught to @ddb."""
    daemon_threads = True

    def __init__(self, ddb):
        super().__init__(('127.0.0.1', 0), MetaHandler)
        self.ddb = ddb
        self.lifetime = 3600
        self.imds_token = secret('imds-session')
        self.container_auth = secret('container-auth')
        self.issued = []  # (source, key)
        self.lock = threading.Lock()

    def issue(self, source):
        with self.lock:
            n = len(self.issued) + 1
            key = 'ASIA%s%04d' % (source.upper(), n)
            self.issued.append((source, key))
        sec, tok = secret('%s-secret' % source), secret('%s-token' % source)
        exp = time.time() + self.lifetime
        self.ddb.add_key(key, sec, tok, exp)
        return {'Code': 'Success', 'Type': 'AWS-HMAC', 'AccessKeyId': key,
                'SecretAccessKey': sec, 'Token': tok,
                'Expiration': time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                            time.gmtime(exp))}

    def url(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]


class MetaHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def answer(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if (self.path == '/latest/api/token' and
                self.headers.get('X-aws-ec2-metadata-token-ttl-seconds')):
            return self.answer(200, self.server.imds_token)
        self.answer(400, 'bad token request')

    def do_GET(self):
        srv = self.server
        base = '/latest/meta-data/iam/security-credentials/'
        if self.path.startswith(base):
            if self.headers.get('X-aws-ec2-metadata-token') != srv.imds_token:
                return self.answer(401, 'no IMDSv2 token')
            if self.path == base:
                return self.answer(200, 'test-role')
            if self.path == base + 'test-role':
                return self.answer(200, json.dumps(srv.issue('imds')))
            return self.answer(404, 'no such role')
        if self.path == '/container/creds':
            if self.headers.get('Authorization') != srv.container_auth:
                return self.answer(403, 'bad authorization')
            return self.answer(200, json.dumps(srv.issue('cont')))
        self.answer(404, 'not found')


def serve(srv):
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# ------------------------------------------------------------- the cases

class Env:
    """A clean credential environment for one case: every AWS variable
    the chain reads is unset, metadata disabled and the shared files
    pointed at files that do not exist, then @kw applied (None: unset)."""
    NAMES = ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
             'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONFIG_FILE',
             'AWS_SHARED_CREDENTIALS_FILE',
             'AWS_CONTAINER_CREDENTIALS_FULL_URI',
             'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
             'AWS_CONTAINER_AUTHORIZATION_TOKEN',
             'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
             'AWS_EC2_METADATA_DISABLED', 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
             'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE',
             'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN')

    def __init__(self, tmp, **kw):
        self.env = {n: None for n in self.NAMES}
        self.env.update({'AWS_EC2_METADATA_DISABLED': 'true',
                         'AWS_CONFIG_FILE': os.path.join(tmp, 'no-config'),
                         'AWS_SHARED_CREDENTIALS_FILE':
                             os.path.join(tmp, 'no-credentials')})
        self.env.update(kw)

    def __enter__(self):
        self.saved = {n: os.environ.get(n) for n in self.NAMES}
        for n, v in self.env.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v
        return self

    def __exit__(self, *a):
        for n, v in self.saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


class Run:
    def __init__(self, ddb, meta, uri, bank, ledger):
        self.ddb, self.meta, self.uri = ddb, meta, uri
        self.bank, self.ledger = bank, ledger
        self.n = 0

    def claim(self, box):
        """One real claim through the fake: the item handed out."""
        self.n += 1
        return box.fetch(self.bank, self.ledger, 'creds-id-%d' % self.n)

    def keys_since(self, mark):
        with self.ddb.lock:
            return self.ddb.log[mark:]

    def mark(self):
        with self.ddb.lock:
            return len(self.ddb.log)

    def open_claim(self, what, want_key, want_token=None):
        """Open a Box, claim once: every request signed by want_key."""
        mark = self.mark()
        try:
            box = storagebox.Box(self.uri)
            try:
                item = self.claim(box)
            finally:
                box.close()
        except storagebox.StorageboxError as e:
            MESSAGES.append(str(e))
            check(False, '%s: %s' % (what, e))
            return
        log = self.keys_since(mark)
        check(item is not None and log and
              all(k == want_key and v == 'ok' for k, _, _, v in log) and
              (want_token is None or all(t == want_token
                                         for _, t, _, _ in log)),
              '%s: claimed %r, signed by %s' %
              (what, item, sorted({(k, v) for k, _, _, v in log})))

    def open_fails(self, what, code, *words, within=None):
        t0 = time.monotonic()
        try:
            box = storagebox.Box(self.uri)
            box.close()
            check(False, '%s: opened' % what)
            return ''
        except storagebox.StorageboxError as e:
            took = time.monotonic() - t0
            msg = str(e)
            MESSAGES.append(msg)
            check(e.code_name == code and all(w in msg for w in words) and
                  (within is None or took < within),
                  '%s: %s in %.1f s: %s' % (what, e.code_name, took, msg))
            return msg


def case_env(r, tmp):
    key, sec, tok = 'AKIAENV0001', secret('env-secret'), secret('env-token')
    r.ddb.add_key(key, sec, tok)
    with Env(tmp, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=sec,
             AWS_SESSION_TOKEN=tok):
        r.open_claim('environment with a session token', key, tok)
    with Env(tmp, AWS_ACCESS_KEY_ID=key):
        r.open_fails('key without secret', 'SB_EAUTH',
                     'AWS_SECRET_ACCESS_KEY')
    with Env(tmp, AWS_WEB_IDENTITY_TOKEN_FILE=os.path.join(tmp, 'wi'),
             AWS_ROLE_ARN='arn:aws:iam::1:role/r'):
        r.open_fails('web identity: unsupported, no fall-through',
                     'SB_EAUTH', 'AWS_WEB_IDENTITY_TOKEN_FILE')
    with Env(tmp, AWS_SECRET_ACCESS_KEY=sec):
        r.open_fails('nothing anywhere (metadata disabled)', 'SB_EAUTH',
                     'AWS_ACCESS_KEY_ID', 'no-credentials', 'no-config',
                     'AWS_CONTAINER_CREDENTIALS_FULL_URI',
                     'AWS_EC2_METADATA_DISABLED', within=2)


def write(path, text, mode=0o600):
    with open(path, 'wb') as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    os.chmod(path, mode)
    return path


def profiles(r, tmp):
    """Shared files with four profiles; returns their keys."""
    k = {}
    for name in ('default', 'work', 'cfg', 'both'):
        k[name] = ('AKIAPROF' + name.upper(), secret('prof-%s' % name))
        r.ddb.add_key(*k[name])
    ptok = secret('prof-token')
    r.ddb.add_key('AKIAPROFTOKEN', k['work'][1] + 'x', ptok)
    k['tok'] = ('AKIAPROFTOKEN', k['work'][1] + 'x', ptok)
    SECRETS.add(k['tok'][1])
    creds = write(os.path.join(tmp, 'credentials'), (
        '# comment\n[default]\naws_access_key_id = %s\n'
        'aws_secret_access_key=%s\n\n'
        '[work]\n  aws_access_key_id   =   %s  \n'
        'aws_secret_access_key = %s\n'
        '[tok]\naws_access_key_id = %s\naws_secret_access_key = %s\n'
        'aws_session_token = %s\n'
        '[both]\naws_access_key_id = %s\naws_secret_access_key = %s\n') % (
        k['default'] + k['work'] + k['tok'] + k['both']))
    config = write(os.path.join(tmp, 'config'), (
        '[default]\nregion = us-east-1\n'
        '[profile cfg]\naws_access_key_id = %s\n'
        'aws_secret_access_key = %s\ns3 =\n  max_concurrent_requests = 2\n'
        '[profile role]\nrole_arn = arn:aws:iam::1:role/r\n'
        'source_profile = default\n'
        '[profile both]\naws_access_key_id = AKIAWRONG\n'
        'aws_secret_access_key = wrong\n') % k['cfg'])
    return k, creds, config


def case_profiles(r, tmp):
    k, creds, config = profiles(r, tmp)
    files = dict(AWS_SHARED_CREDENTIALS_FILE=creds, AWS_CONFIG_FILE=config)
    with Env(tmp, **files):
        r.open_claim('profile default', k['default'][0])
    with Env(tmp, AWS_PROFILE='work', **files):
        r.open_claim('AWS_PROFILE=work (blanks around =)', k['work'][0])
    with Env(tmp, AWS_PROFILE='tok', **files):
        r.open_claim('profile with aws_session_token', k['tok'][0],
                     k['tok'][2])
    with Env(tmp, AWS_PROFILE='cfg', **files):
        r.open_claim('[profile cfg] of the config file', k['cfg'][0])
    with Env(tmp, AWS_PROFILE='both', **files):
        r.open_claim('credentials file beats config file', k['both'][0])
    with Env(tmp, AWS_PROFILE='role', **files):
        r.open_fails('a role_arn profile: unsupported, no fall-through',
                     'SB_EAUTH', "'role'", 'role_arn')
    with Env(tmp, AWS_PROFILE='nosuch', **files):
        r.open_fails('AWS_PROFILE names a missing profile', 'SB_EAUTH',
                     "'nosuch'", creds, config)
    # ~/.aws/ under $HOME when the variables are unset.
    home = os.path.join(tmp, 'home')
    os.makedirs(os.path.join(home, '.aws'), exist_ok=True)
    write(os.path.join(home, '.aws', 'credentials'),
          open(creds).read())
    saved = os.environ.get('HOME')
    os.environ['HOME'] = home
    try:
        with Env(tmp, AWS_PROFILE='work', AWS_CONFIG_FILE=None,
                 AWS_SHARED_CREDENTIALS_FILE=None):
            r.open_claim('~/.aws/credentials under $HOME', k['work'][0])
    finally:
        os.environ['HOME'] = saved if saved is not None else ''


PROCESS = r'''#!/bin/sh
# A credential_process helper (sh: starts in a millisecond).
case "$1" in
ok) printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "2099-01-01T00:00:00Z"}\n' "$2" "$3" "$4" ;;
fail) echo "credential helper: secret store locked" >&2; exit 3 ;;
noversion) printf '{"AccessKeyId": "A", "SecretAccessKey": "%s"}\n' "$2" ;;
flood) head -c 1000000 /dev/zero | tr '\0' x ;;
esac
'''


def case_process(r, tmp):
    script = write(os.path.join(tmp, 'helper script.sh'), PROCESS)
    key, sec, tok = 'AKIAPROC0001', secret('proc-secret'), secret('proc-tok')
    r.ddb.add_key(key, sec, tok)
    py = '/bin/sh'
    config = write(os.path.join(tmp, 'config-proc'), (
        '[profile proc]\ncredential_process = %s "%s" ok %s %s %s\n'
        '[profile fail]\ncredential_process = %s \'%s\' fail\n'
        '[profile nover]\ncredential_process = %s "%s" noversion %s\n'
        '[profile flood]\ncredential_process = %s "%s" flood\n'
        '[profile missing]\ncredential_process = /nonexistent/helper %s\n'
        '[profile quote]\ncredential_process = %s "unclosed\n') % (
        py, script, key, sec, tok, py, script, py, script, sec, py, script,
        sec, py))
    with Env(tmp, AWS_PROFILE='proc', AWS_CONFIG_FILE=config):
        r.open_claim('credential_process (quoted path with a blank)', key,
                     tok)
    with Env(tmp, AWS_PROFILE='fail', AWS_CONFIG_FILE=config):
        r.open_fails('credential_process exits 3', 'SB_EAUTH',
                     'exited with status 3')
    with Env(tmp, AWS_PROFILE='nover', AWS_CONFIG_FILE=config):
        r.open_fails('credential_process without Version', 'SB_EAUTH',
                     'Version')
    with Env(tmp, AWS_PROFILE='flood', AWS_CONFIG_FILE=config):
        r.open_fails('credential_process prints 1 MB', 'SB_EAUTH',
                     'more than 65536 bytes', within=10)
    with Env(tmp, AWS_PROFILE='missing', AWS_CONFIG_FILE=config):
        r.open_fails('credential_process not found', 'SB_EAUTH',
                     "cannot run '/nonexistent/helper'")
    with Env(tmp, AWS_PROFILE='quote', AWS_CONFIG_FILE=config):
        r.open_fails('credential_process with an open quote', 'SB_EAUTH',
                     'quote')


def case_hostile(r, tmp):
    sec = secret('hostile-secret')
    good = '[default]\naws_access_key_id = AKIAX\naws_secret_access_key = %s\n' % sec
    cases = [
        ('a 100 KB line', good + 'x = ' + 'y' * 100000 + '\n',
         'longer than 16384'),
        ('a NUL byte', good.encode() + b'\x00\n', 'NUL'),
        ('a setting before any section', 'aws_secret_access_key = %s\n%s'
         % (sec, good), 'before any [section]'),
        ('an unclosed section', '[default\n' + good, 'closing ]'),
        ('a line that is no setting', good + sec + '\n',
         'neither [section]'),
        ('binary junk', b'\xff\xfe[\x01\x02]\x80=\n\x7f' * 1000,
         'line 1'),
    ]
    for what, text, words in cases:
        path = write(os.path.join(tmp, 'hostile'), text)
        with Env(tmp, AWS_SHARED_CREDENTIALS_FILE=path):
            r.open_fails('hostile file: ' + what, 'SB_EAUTH', words,
                         within=5)
    big = os.path.join(tmp, 'huge')
    with open(big, 'wb') as f:
        f.truncate(3 << 30)  # 3 GiB, sparse
    with Env(tmp, AWS_SHARED_CREDENTIALS_FILE=big):
        r.open_fails('hostile file: 3 GiB', 'SB_EAUTH', 'more than',
                     within=5)
    os.unlink(big)
    fifo = os.path.join(tmp, 'fifo')
    os.mkfifo(fifo)
    with Env(tmp, AWS_SHARED_CREDENTIALS_FILE=fifo):
        r.open_fails('hostile file: a FIFO (no writer)', 'SB_EAUTH',
                     'not a regular file', within=5)
    with Env(tmp, AWS_SHARED_CREDENTIALS_FILE=tmp):
        r.open_fails('hostile file: a directory', 'SB_EAUTH',
                     'not a regular file', within=5)
    # A 16,000-byte key opens (no request yet) and is refused by the
    # server: signed and sent whole, never cut or overflowed.
    path = write(os.path.join(tmp, 'longkey'),
                 '[default]\naws_access_key_id = %s\n'
                 'aws_secret_access_key = %s\n' % ('K' * 16000, sec))
    with Env(tmp, AWS_SHARED_CREDENTIALS_FILE=path):
        try:
            box = storagebox.Box(r.uri)
            try:
                r.claim(box)
                check(False, 'a 16,000-byte key: accepted')
            except storagebox.StorageboxError as e:
                MESSAGES.append(str(e))
                check(e.code_name == 'SB_EAUTH' and
                      'UnrecognizedClientException' in str(e),
                      'a 16,000-byte key: %s %s' % (e.code_name,
                                                     str(e)[:160]))
            box.close()
        except storagebox.StorageboxError as e:
            check(False, 'a 16,000-byte key: open failed: %s' % e)
    # Missing sections are fine: the profile is just not there.
    path = write(os.path.join(tmp, 'other'), '[other]\nx = 1\n')
    with Env(tmp, AWS_SHARED_CREDENTIALS_FILE=path):
        r.open_fails('a file without the profile', 'SB_EAUTH',
                     "profile 'default': not found")


def case_container_imds(r, tmp):
    m = r.meta
    full = m.url() + '/container/creds'
    tfile = write(os.path.join(tmp, 'token-file'), m.container_auth + '\n')
    with Env(tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI=full,
             AWS_CONTAINER_AUTHORIZATION_TOKEN=m.container_auth):
        r.open_claim('container endpoint',
                     'ASIACONT%04d' % (len(m.issued) + 1))
    with Env(tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI=full,
             AWS_CONTAINER_AUTHORIZATION_TOKEN='wrong',
             AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tfile):
        r.open_claim('container endpoint, token file wins',
                     'ASIACONT%04d' % (len(m.issued) + 1))
    with Env(tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI=full,
             AWS_CONTAINER_AUTHORIZATION_TOKEN='wrong'):
        r.open_fails('container endpoint refuses the token', 'SB_EAUTH',
                     'HTTP 403')
    with Env(tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI='http://192.0.2.1/x'):
        r.open_fails('container FULL_URI not on loopback', 'SB_EAUTH',
                     'loopback', within=2)
    with Env(tmp, AWS_EC2_METADATA_DISABLED=None,
             AWS_EC2_METADATA_SERVICE_ENDPOINT=m.url()):
        r.open_claim('EC2 instance metadata (IMDSv2)',
                     'ASIAIMDS%04d' % (len(m.issued) + 1))


def case_precedence(r, tmp):
    """env > profile > container > IMDS: each removed in turn."""
    m = r.meta
    key, sec = 'AKIAPRECENV', secret('prec-env')
    r.ddb.add_key(key, sec)
    k, creds, config = profiles(r, tmp)
    every = dict(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=sec,
                 AWS_SHARED_CREDENTIALS_FILE=creds, AWS_CONFIG_FILE=config,
                 AWS_CONTAINER_CREDENTIALS_FULL_URI=m.url() +
                 '/container/creds',
                 AWS_CONTAINER_AUTHORIZATION_TOKEN=m.container_auth,
                 AWS_EC2_METADATA_DISABLED=None,
                 AWS_EC2_METADATA_SERVICE_ENDPOINT=m.url())
    issued = len(m.issued)
    with Env(tmp, **every):
        r.open_claim('precedence: environment first', key)
    check(len(m.issued) == issued, 'precedence: no metadata call when the '
          'environment has keys')
    every.update(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    with Env(tmp, **every):
        r.open_claim('precedence: then the profile', k['default'][0])
    every.update(AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp, 'none'),
                 AWS_CONFIG_FILE=os.path.join(tmp, 'none'))
    with Env(tmp, **every):
        r.open_claim('precedence: then the container',
                     'ASIACONT%04d' % (len(m.issued) + 1))
    every.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=None)
    with Env(tmp, **every):
        r.open_claim('precedence: then IMDS',
                     'ASIAIMDS%04d' % (len(m.issued) + 1))


def case_refresh(r, tmp):
    """Keys that expire 5 min + 4 s after issue: refreshed 4 s into the
    run, before they expire; later requests carry the new key. The first
    claim must end within 3 of those 4 s (it takes ~0.1 s; a slower one fails
    the case with its time rather than testing something else)."""
    m = r.meta
    window = 4.0
    m.lifetime = 300 + window
    try:
        with Env(tmp, AWS_EC2_METADATA_DISABLED=None,
                 AWS_EC2_METADATA_SERVICE_ENDPOINT=m.url()):
            first = 'ASIAIMDS%04d' % (len(m.issued) + 1)
            t0 = time.monotonic()
            box = storagebox.Box(r.uri)
            mark = r.mark()
            ok1 = r.claim(box) is not None
            took = time.monotonic() - t0
            check(took < window - 1, 'refresh: open and first claim in '
                  '%.1f s, inside the %.0f s window' % (took, window))
            before = {k for k, _, _, _ in r.keys_since(mark)}
            time.sleep(max(0.0, t0 + window + 0.5 - time.monotonic()))
            mark = r.mark()
            ok2 = all(r.claim(box) is not None for _ in range(3))
            after = r.keys_since(mark)
            box.close()
        second = 'ASIAIMDS%04d' % (len(m.issued))
        check(ok1 and before == {first}, 'refresh: first claims by %s'
              % sorted(before))
        check(ok2 and second != first and
              all(k == second and v == 'ok' for k, _, _, v in after),
              'refresh: after 4.5 s every request by the new key %s: %s'
              % (second, sorted({(k, v) for k, _, _, v in after})))
        check(m.issued[-2:] == [('imds', first), ('imds', second)],
              'refresh: exactly one refresh (issued %s)' % m.issued[-2:])
    finally:
        m.lifetime = 3600


def case_revoked(r, tmp):
    """Keys with an hour to live that the server calls expired (revoked):
    the request that hears ExpiredTokenException is signed again at once
    with new keys from the chain, and the claim succeeds; one new key is
    issued, and every later request carries it."""
    m = r.meta
    with Env(tmp, AWS_EC2_METADATA_DISABLED=None,
             AWS_EC2_METADATA_SERVICE_ENDPOINT=m.url()):
        first = 'ASIAIMDS%04d' % (len(m.issued) + 1)
        box = storagebox.Box(r.uri)
        try:
            ok1 = r.claim(box) is not None
            with r.ddb.lock:
                sec, tok, _ = r.ddb.keys[first]
                r.ddb.keys[first] = (sec, tok, time.time())
            mark = r.mark()
            ok2 = all(r.claim(box) is not None for _ in range(2))
            log = r.keys_since(mark)
        finally:
            box.close()
    second = 'ASIAIMDS%04d' % len(m.issued)
    check(ok1 and ok2, 'revoked: claims before and after succeed')
    check(second != first and log and
          log[0][0] == first and log[0][3] == 'ExpiredTokenException' and
          all(k == second and v == 'ok' for k, _, _, v in log[1:]),
          'revoked: one refused request by %s, then only %s: %s'
          % (first, second, [(k, v) for k, _, _, v in log]))
    check(m.issued[-2:] == [('imds', first), ('imds', second)],
          'revoked: exactly one new key (issued %s)' % m.issued[-2:])


class Silent:
    """A port that accepts connections and never answers."""

    def __init__(self):
        self.s = socket.socket()
        self.s.bind(('127.0.0.1', 0))
        self.s.listen(16)
        self.conns = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        try:
            while True:
                self.conns.append(self.s.accept()[0])
        except OSError:
            pass

    def url(self):
        return 'http://127.0.0.1:%d' % self.s.getsockname()[1]


def case_dead(r, tmp):
    dead = 'http://127.0.0.1:%d' % closed_port()
    with Env(tmp, AWS_EC2_METADATA_DISABLED=None,
             AWS_EC2_METADATA_SERVICE_ENDPOINT=dead):
        r.open_fails('IMDS endpoint refuses connections', 'SB_ECONNECT',
                     'EC2 instance metadata at ' + dead, within=3)
    silent = Silent()
    with Env(tmp, AWS_EC2_METADATA_DISABLED=None,
             AWS_EC2_METADATA_SERVICE_ENDPOINT=silent.url()):
        r.open_fails('IMDS endpoint silent', 'SB_ETIMEOUT',
                     'EC2 instance metadata', 'no answer within 2000 ms',
                     within=6)
    with Env(tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI=dead + '/c'):
        r.open_fails('container endpoint refuses connections',
                     'SB_ECONNECT', 'container credentials endpoint',
                     within=3)
    silent.s.close()


def case_skew(r, tmp):
    key, sec = 'AKIASKEW0001', secret('skew-secret')
    r.ddb.add_key(key, sec)
    for shift in (3600, -3600):
        r.ddb.shift = shift
        try:
            with Env(tmp, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=sec):
                box = storagebox.Box(r.uri)
                mark = r.mark()
                ok = r.claim(box) is not None
                first = r.keys_since(mark)
                mark = r.mark()
                ok = ok and r.claim(box) is not None
                later = r.keys_since(mark)
                box.close()
        finally:
            r.ddb.shift = 0
        refused = [v for _, _, _, v in first if v != 'ok']
        check(ok and refused == ['InvalidSignatureException'] and
              first[1][3] == 'ok' and first[0][2] == first[1][2],
              'skew %+d s: one refusal, the same request once more, then '
              'accepted (%s)' % (shift, [(o, v) for _, _, o, v in first]))
        check(later and all(v == 'ok' for _, _, _, v in later),
              'skew %+d s: the next claim signed right at once (%d '
              'requests)' % (shift, len(later)))


def case_cli(r, tmp, cli):
    """The CLI's stderr on failures that saw secrets."""
    sec = secret('cli-secret')
    path = write(os.path.join(tmp, 'cli-creds'),
                 'aws_secret_access_key = %s\n[default]\n' % sec)
    outs = []
    with Env(tmp, AWS_SHARED_CREDENTIALS_FILE=path):
        outs.append(subprocess.run([cli, '--uri', r.uri, 'stats', r.bank],
                                   capture_output=True, text=True,
                                   timeout=60))
    key, bad = 'AKIAPROFDEFAULT', secret('cli-wrong')
    with Env(tmp, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=bad):
        outs.append(subprocess.run([cli, '--uri', r.uri, 'stats', r.bank],
                                   capture_output=True, text=True,
                                   timeout=60))
    for p in outs:
        MESSAGES.append(p.stderr)
        check(p.returncode != 0 and p.stderr.strip(),
              'cli fails with a message: %s' % p.stderr.strip())


def main():
    if len(sys.argv) != 2:
        print('usage: ddb_creds.py PATH/TO/storagebox', file=sys.stderr)
        return 2
    cli = sys.argv[1]
    local = urllib.parse.urlsplit(ddb_local_uri())
    forward = 'http://%s/' % local.netloc
    ddb = serve(FakeDDB(forward))
    meta = serve(FakeMeta(ddb))
    uri = 'dynamodb+http://127.0.0.1:%d?region=us-east-1&any_region=1' % \
        ddb.port()
    tag = '%d-%s' % (os.getpid(), os.urandom(3).hex())
    bank, ledger = 'creds-bank-' + tag, 'creds-ledger-' + tag
    r = Run(ddb, meta, uri, bank, ledger)
    with tempfile.TemporaryDirectory(prefix='sb-creds-') as tmp:
        key, sec = 'AKIASETUP', secret('setup')
        ddb.add_key(key, sec)
        with Env(tmp, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=sec):
            box = storagebox.Box(uri)
            box.init(bank, ledger)
            box.add(bank, ['item-%03d' % i for i in range(60)])
            box.close()
        t0 = time.monotonic()
        for case in (case_env, case_profiles, case_process, case_hostile,
                     case_container_imds, case_precedence, case_refresh,
                     case_revoked, case_dead, case_skew):
            t = time.monotonic()
            case(r, tmp)
            print('  (%s: %.1f s)' % (case.__name__, time.monotonic() - t),
                  flush=True)
        case_cli(r, tmp, cli)
        leaks = [s for s in SECRETS for m in MESSAGES if s in m]
        check(not leaks, 'no secret or token in %d messages and stderr'
              % len(MESSAGES))
        print('total %.1f s' % (time.monotonic() - t0))
    if FAILS:
        print('%d FAILED' % len(FAILS))
        return 1
    print('all passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
