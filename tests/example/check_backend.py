#!/usr/bin/env python3
"""The example backend (examples/backend) built as an author outside the
tree builds it, then run through the conformance suite (suites
'examples' and 'conformance').

This build tree is installed into a scratch directory (doclib's staged
install, as for the example programs); the example is compiled from there
alone: the installed headers, `pkg-config --cflags --libs storagebox`,
-std=c11 -pedantic -Wall -Wextra -Werror, and the tree's sanitizers. The
installed headers must also compile alone as C99 and C11, and the
program of the example's README must build and run. The conformance
program then loads the example (SB_TEST_PLUGIN, see
tests/conformance/plugin.c) and runs the suite on `demo:` fused, generic,
and with SQLite holding the bank or the ledger. $SB_TEST_WRAPPER (e.g.
valgrind ...), when set, goes in front of each of those runs.

usage: check_backend.py --src DIR --conformance EXE --build DIR --prefix P
                        --libdir L [--sanitize LIST] [--sqlite]
                        --meson MESON... --cc CC...
"""

import argparse
import glob
import os
import re
import shlex
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, 'docs'))
import doclib  # noqa: E402
from doclib import DocError  # noqa: E402

# The registration function the example exports, and nothing else.
INIT = 'demo_backend_register'


def suite_runs(tmp, sqlite):
    """(name, environment) of each conformance run on the example."""
    runs = [
        # Hostile strings of 262,000 bytes: with the run's prefix they
        # stay within SB_MAX_VALUE_LEN (256 KiB) as bank names too.
        ('fused', {'SB_TEST_URI': 'demo:fused', 'SB_TEST_PROTOCOL': 'fused',
                   'SB_TEST_LONG_LEN': '262000'}),
        ('generic', {'SB_TEST_URI': 'demo:generic',
                     'SB_TEST_PROTOCOL': 'generic'}),
    ]
    if sqlite:  # bank and ledger in two stores: the generic path
        runs += [
            ('mixed-bank', {'SB_TEST_URI': 'demo:mixed',
                            'SB_TEST_LEDGER_URI':
                                'sqlite:' + os.path.join(tmp, 'ledger.db')}),
            ('mixed-ledger', {'SB_TEST_URI':
                                  'sqlite:' + os.path.join(tmp, 'bank.db'),
                              'SB_TEST_LEDGER_URI': 'demo:mixed'}),
        ]
    return runs


def check_headers(a, cflags, env, tmp):
    """Each installed header compiles alone, as C99 and as C11."""
    for header in ('storagebox.h', 'backend.h'):
        src = os.path.join(tmp, 'alone.c')
        with open(src, 'w', encoding='utf-8') as f:
            f.write('#include <storagebox/%s>\nint main(void) { return 0; }\n'
                    % header)
        for std in ('c99', 'c11'):
            doclib.run(a.cc + ['-std=' + std, '-pedantic', '-Wall', '-Wextra',
                               '-Werror', '-fsyntax-only', src] + cflags,
                       '%s alone as %s' % (header, std), env=env)


def example_sources(a):
    sources = sorted(glob.glob(os.path.join(a.src, 'examples', 'backend',
                                            '*.c')))
    if not sources:
        raise DocError('no examples/backend/*.c')
    return sources


def build_example(a, flags, env, so):
    """The example as its README says, with the tree's sanitizers; it
    must export its registration function alone."""
    doclib.run(a.cc + doclib.C_FLAGS + doclib.sanitize_flags(a.sanitize) +
               ['-pedantic', '-shared', '-fPIC', '-fvisibility=hidden',
                '-o', so] + example_sources(a) + flags, 'compiling the example',
               env=env)
    out = doclib.run(['nm', '-D', '--defined-only', so], 'nm', env=env)
    exported = [w[2] for w in map(str.split, out.splitlines())
                if len(w) == 3 and w[2].startswith('demo_')]
    if exported != [INIT]:
        raise DocError('the example exports %s, not %s alone'
                       % (exported, INIT))


def check_readme_program(a, flags, env, tmp):
    """The program of the example's README, built with the example's
    sources (the other way to add a backend) and run."""
    page = os.path.join(a.src, 'examples', 'backend', 'README.md')
    progs = [b for b in doclib.blocks(page) if b.lang == 'c']
    if len(progs) != 1:
        raise DocError('%s: %d c blocks, not one' % (page, len(progs)))
    src, exe = os.path.join(tmp, 'readme.c'), os.path.join(tmp, 'readme')
    with open(src, 'w', encoding='utf-8') as f:
        f.write(progs[0].text)
    doclib.run(a.cc + doclib.C_FLAGS + doclib.sanitize_flags(a.sanitize) +
               ['-I', os.path.dirname(page), '-o', exe, src] +
               example_sources(a) + flags, progs[0].where(), env=env)
    out = doclib.run([exe], progs[0].where(), env=env, cwd=tmp)
    if out != 'alice gets SPRING-1\n':
        raise DocError('%s printed %r, not the first code added'
                       % (progs[0].where(), out))


def check_one_registry(a, so, env, tmp):
    """Every sb_* function the example calls binds to the conformance
    program's copy of the library, none to the installed one (glibc's
    loader reports each binding; tests/conformance/plugin.c says why)."""
    out = doclib.run(['nm', '-D', '--undefined-only', so], 'nm', env=env)
    want = sorted(w[-1] for w in map(str.split, out.splitlines())
                  if w and w[-1].startswith('sb_'))
    trace = os.path.join(tmp, 'ld')
    doclib.run([a.conformance, 'add'], 'conformance add with LD_DEBUG',
               env=dict(env, LD_DEBUG='bindings', LD_DEBUG_OUTPUT=trace,
                        SB_TEST_URI='demo:bind'))
    bound = {}  # symbol -> the object it binds to
    binding = re.compile(r'binding file (\S+) \[\d+\] to (\S+) \[\d+\]: '
                         r'normal symbol `(sb_\w+)')
    for path in glob.glob(trace + '.*'):
        with open(path, encoding='utf-8', errors='replace') as f:
            for m in binding.finditer(f.read()):
                if m.group(1) == so:
                    bound[m.group(3)] = m.group(2)
    for sym in want:
        print('  %s -> %s' % (sym, bound.get(sym, '(not reported)')))
    if not want or any(bound.get(s) != a.conformance for s in want):
        raise DocError('the example does not bind to the conformance '
                       'program alone')


def run_suite(a, env, tmp):
    """Each conformance run on the example; @return the failures."""
    wrapper = shlex.split(os.environ.get('SB_TEST_WRAPPER', ''))
    failures = []
    for name, run_env in suite_runs(tmp, a.sqlite):
        start = time.monotonic()
        try:
            out = doclib.run(wrapper + [a.conformance], 'conformance ' + name,
                             env=dict(env, **run_env))
        except DocError as e:
            failures.append(str(e))
            continue
        print('ok   %s (%.2f s): %s' % (name, time.monotonic() - start,
                                       out.strip().splitlines()[-1]))
    return failures


def check(a, tmp):
    """Everything in the scratch directory TMP; @return the failures of
    the suite's runs (a failure before them raises DocError)."""
    stage = os.path.join(tmp, 'stage')
    env = doclib.staged_library(a.meson, a.build, a.prefix, a.libdir, stage)
    cflags = doclib.run(['pkg-config', '--cflags', 'storagebox'],
                        'pkg-config', env=env).split()
    libs = doclib.run(['pkg-config', '--libs', 'storagebox'],
                      'pkg-config', env=env).split()
    print('pkg-config --cflags --libs storagebox: %s' % ' '.join(cflags + libs))
    if not any(f.startswith('-I' + stage + '/') for f in cflags):
        raise DocError('no include directory in the install')
    check_headers(a, cflags, env, tmp)
    so = os.path.join(tmp, 'libsb-demo.so')
    build_example(a, cflags + libs, env, so)
    check_readme_program(a, cflags + libs, env, tmp)
    env.update(SB_TEST_PLUGIN=so, SB_TEST_PLUGIN_INIT=INIT)
    check_one_registry(a, so, env, tmp)
    return run_suite(a, env, tmp)


def main():
    ap = argparse.ArgumentParser()
    for opt in ('--src', '--conformance', '--build', '--prefix', '--libdir'):
        ap.add_argument(opt, required=True)
    ap.add_argument('--sanitize', default='none')
    ap.add_argument('--sqlite', action='store_true')
    ap.add_argument('--meson', nargs='+', required=True)
    ap.add_argument('--cc', nargs='+', required=True)
    a = ap.parse_args()

    tmp = doclib.scratch_dir('sb-example-backend-')
    try:
        failures = check(a, tmp)
    except DocError as e:
        failures = [str(e)]
    finally:
        doclib.remove_tree(tmp)
    for f in failures:
        print('FAIL %s' % f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
