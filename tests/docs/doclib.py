"""Shared parts of the docs and examples tests (tests/docs/check_*.py):
Markdown code blocks, console sessions, compiling C against the library,
a staged install, scratch directories. The convention the blocks follow
is written at the top of check_docs.py and in docs/writing-docs.md."""

import difflib
import os
import re
import shutil
import subprocess
import tempfile

FENCE = re.compile(r'^( {0,3})(`{3,}|~{3,})(.*)$')

# Compiler flags for every C program of the docs and examples: the
# project's own warning level, and -pthread (seats.c needs it; harmless
# elsewhere).
C_FLAGS = ['-std=c11', '-Wall', '-Wextra', '-Werror', '-pthread']

# Every block's program or session gets this long (sanitized trees
# included) before it counts as hung.
TIMEOUT_S = 120


class DocError(Exception):
    """A block or page that breaks the convention, or a check that failed."""


class Block:
    """One fenced code block: where it is, its info string, its text."""

    def __init__(self, page, line, lang, attr, value, text, error=None):
        self.page = page    # path of the Markdown file
        self.line = line    # line of the opening fence (1-based)
        self.lang = lang    # first word of the info string ('' if none)
        self.attr = attr    # None, 'file' or 'no-run'
        self.value = value  # the file's path, or the no-run reason
        self.text = text    # the content, every line ending in '\n'
        self.error = error  # what is wrong with the info string, or None

    def where(self):
        return '%s:%d' % (self.page, self.line)


def parse_info(info, where):
    """(lang, attr, value) from a fence's info string."""
    words = info.split()
    lang = words[0] if words else ''
    rest = words[1:]
    if not rest:
        return lang, None, None
    if rest[0] == 'no-run':
        reason = ' '.join(rest[1:])
        if not reason:
            raise DocError('%s: "no-run" needs a reason after it' % where)
        return lang, 'no-run', reason
    if rest[0].startswith('file=') and len(rest) == 1 and len(rest[0]) > 5:
        return lang, 'file', rest[0][5:]
    raise DocError('%s: unknown words after the language: %r (only '
                   '"no-run REASON" or "file=PATH")' % (where, ' '.join(rest)))


def blocks(page):
    """Every fenced code block of a Markdown file, in order."""
    with open(page, encoding='utf-8') as f:
        lines = f.read().split('\n')
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3)
        where = '%s:%d' % (page, i + 1)
        if fence[0] == '`' and '`' in info:
            i += 1  # not a fence (CommonMark): an inline code span
            continue
        try:
            lang, attr, value = parse_info(info, where)
            error = None
        except DocError as e:
            lang, attr, value, error = '', None, None, str(e)
        close = re.compile(r'^ {0,3}%s%s* *$' % (re.escape(fence),
                                                   re.escape(fence[0])))
        body = []
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            # A block inside a list item is indented like its fence.
            line = lines[j]
            strip = len(line) - len(line.lstrip(' '))
            body.append(line[min(indent, strip):])
            j += 1
        if j == len(lines):
            raise DocError('%s: code block never closed' % where)
        out.append(Block(page, i + 1, lang, attr, value,
                         ''.join(b + '\n' for b in body), error))
        i = j + 1
    return out


def scratch_dir(prefix):
    """A fresh directory: on tmpfs (/dev/shm) unless TMPDIR says
    otherwise, because SQLite syncs every commit and the examples make
    thousands (4.4 s against 0.6 s for seats.c on this machine)."""
    base = None
    if not os.environ.get('TMPDIR') and os.access('/dev/shm', os.W_OK):
        base = '/dev/shm'
    return tempfile.mkdtemp(prefix=prefix, dir=base)


def clean_env(path_first=None, extra=None):
    """The environment a block runs in: ours without STORAGEBOX_URI and
    the fault points, a directory first on PATH, and EXTRA."""
    env = dict(os.environ)
    for name in ('STORAGEBOX_URI', 'SB_FAULT_POINT', 'SB_FAULT_SKIP'):
        env.pop(name, None)
    if path_first:
        env['PATH'] = path_first + os.pathsep + env.get('PATH', '')
    env.update(extra or {})
    return env


def run(cmd, where, **kw):
    """Run CMD; DocError with its output when it fails."""
    kw.setdefault('timeout', TIMEOUT_S)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           **kw)
    except subprocess.TimeoutExpired:
        raise DocError('%s: %s: no end after %d s' % (where, cmd[0],
                                                      kw['timeout']))
    out = p.stdout.decode('utf-8', 'replace')
    if p.returncode != 0:
        raise DocError('%s: `%s` exited %d:\n%s' % (
            where, ' '.join(cmd), p.returncode, out))
    return out


def sanitize_flags(sanitize):
    """-fsanitize for a build tree built with b_sanitize: the library
    then needs the sanitizer runtime linked into the program."""
    return [] if sanitize in ('', 'none') else ['-fsanitize=' + sanitize]


def staged_install(meson, build, dest, tags=None):
    """`meson install` of BUILD into DEST (as a package build would),
    without rebuilding."""
    cmd = meson + ['install', '-C', build, '--no-rebuild', '--quiet',
                   '--destdir', dest]
    if tags:
        cmd += ['--tags', tags]
    run(cmd, 'meson install')


def under(dest, prefix, path):
    """Where PATH (relative to PREFIX, or absolute) lies below DEST."""
    return os.path.join(dest, os.path.join(prefix, path).lstrip('/'))


def staged_library(meson, build, prefix, libdir, dest):
    """The library installed into DEST (staged_install), and the
    environment that finds it there alone: pkg-config and the loader look
    in DEST, and no include or library path of ours is left."""
    staged_install(meson, build, dest)
    lib = under(dest, prefix, libdir)
    env = clean_env(extra={
        'PKG_CONFIG_PATH': os.path.join(lib, 'pkgconfig'),
        'PKG_CONFIG_SYSROOT_DIR': dest,
        'LD_LIBRARY_PATH': lib,
    })
    for name in ('CPATH', 'C_INCLUDE_PATH', 'LIBRARY_PATH'):
        env.pop(name, None)
    return env


# ------------------------------------------------------------- sessions

def parse_session(text, where):
    """Steps of a console session: [(command, expected lines)]. A line
    starting with "$ " is a command (a trailing backslash continues it on
    the next line); the lines up to the next command are its output."""
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    steps = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('$ '):
            cmd = line[2:]
            while cmd.endswith('\\') and i + 1 < len(lines):
                i += 1
                cmd += '\n' + lines[i]
            steps.append((cmd, []))
        elif not steps:
            raise DocError('%s: output before the first "$ " command' % where)
        else:
            steps[-1][1].append(line)
        i += 1
    if not steps:
        raise DocError('%s: a console block with no "$ " command' % where)
    return steps


def line_matches(want, got):
    """One expected line against one real line: equal, or WANT ends in
    "..." and GOT starts with the rest."""
    if want.endswith('...') and want != '...':
        return got.startswith(want[:-3])
    return want == got


def lines_match(want, got):
    """Expected lines against real ones; a line "..." matches any number
    of lines (none included)."""
    memo = {}

    def match(i, j):
        if (i, j) not in memo:
            if i == len(want):
                r = j == len(got)
            elif want[i] == '...':
                r = match(i + 1, j) or (j < len(got) and match(i, j + 1))
            else:
                r = (j < len(got) and line_matches(want[i], got[j])
                     and match(i + 1, j + 1))
            memo[(i, j)] = r
        return memo[(i, j)]

    return match(0, 0)


def run_session(steps, where, cwd, env):
    """Run the steps in one bash (so `export` and `cd` carry over), stdin
    from /dev/null and stderr into stdout as a terminal shows them; every
    command must exit 0 and print what the block says (a trailing CR is
    not compared: CSV ends lines with CRLF)."""
    script = ['exec 2>&1']
    for n, (cmd, _) in enumerate(steps):
        script.append("printf '\\036B%d\\036'" % n)
        script.append(cmd)
        script.append("printf '\\036E%d:%%d\\036' \"$?\"" % n)
    try:
        p = subprocess.run(['bash', '--norc', '--noprofile', '-c',
                            '\n'.join(script)],
                           cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DocError('%s: the session did not end within %d s'
                       % (where, TIMEOUT_S))
    out = p.stdout.decode('utf-8', 'replace')
    for n, (cmd, want) in enumerate(steps):
        m = re.search('\036B%d\036(.*?)\036E%d:(\\d+)\036' % (n, n), out,
                      re.S)
        if not m:
            raise DocError('%s: `$ %s` never finished (the session '
                           'ended; output: %r)' % (where, cmd, out[-400:]))
        got = m.group(1)
        if got.endswith('\n'):
            got = got[:-1]
        got = [g.rstrip('\r') for g in got.split('\n')] if got else []
        rc = int(m.group(2))
        if rc != 0:
            raise DocError('%s: `$ %s` exited %d; it printed:\n%s'
                           % (where, cmd, rc, '\n'.join(got)))
        if not lines_match(want, got):
            diff = '\n'.join(difflib.unified_diff(
                want, got, 'the block', 'the real output', lineterm=''))
            raise DocError('%s: `$ %s` printed something else:\n%s'
                           % (where, cmd, diff))


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
