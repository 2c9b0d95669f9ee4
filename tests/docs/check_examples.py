#!/usr/bin/env python3
"""Build and run every example program (suite 'examples').

For each examples/NAME.c (examples/ itself, not its subdirectories):
compile it as a user would, against the library installed by
`meson install` (here into a temp dir) and found with
`pkg-config --cflags --libs storagebox`, with -Wall -Wextra -Werror;
then run the session examples/NAME.console in a fresh temp dir holding
./NAME (on tmpfs when there is one), where each "$ " line is a command
and the lines after it are its output, compared exactly (the format of
console blocks, see check_docs.py). An example without its .console
fails. The docs show both files, checked identical by check_docs.py.

usage: check_examples.py --src DIR --build DIR --prefix P --libdir L
                         [--sanitize LIST] --meson MESON... --cc CC...
"""

import argparse
import glob
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doclib  # noqa: E402
from doclib import DocError  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    for opt in ('--src', '--build', '--prefix', '--libdir'):
        ap.add_argument(opt, required=True)
    ap.add_argument('--sanitize', default='none')
    ap.add_argument('--meson', nargs='+', required=True)
    ap.add_argument('--cc', nargs='+', required=True)
    a = ap.parse_args()

    programs = sorted(glob.glob(os.path.join(a.src, 'examples', '*.c')))
    if not programs:
        print('FAIL no examples/*.c')
        return 1
    tmp = doclib.scratch_dir('sb-examples-')
    failures = []
    try:
        env = doclib.staged_library(a.meson, a.build, a.prefix, a.libdir,
                                    os.path.join(tmp, 'stage'))
        flags = doclib.run(['pkg-config', '--cflags', '--libs', 'storagebox'],
                           'pkg-config', env=env).split()
        for src in programs:
            name = os.path.basename(src)[:-2]
            start = time.monotonic()
            try:
                run_example(a, src, name, flags, env, tmp)
                print('ok   %s (%.2f s)' % (name, time.monotonic() - start))
            except DocError as e:
                failures.append(str(e))
                print('FAIL %s' % e)
    except DocError as e:
        failures.append(str(e))
        print('FAIL %s' % e)
    finally:
        doclib.remove_tree(tmp)
    return 1 if failures else 0


def run_example(a, src, name, flags, env, tmp):
    session = src[:-2] + '.console'
    where = os.path.relpath(session, a.src)
    try:
        with open(session, encoding='utf-8') as f:
            steps = doclib.parse_session(f.read(), where)
    except OSError:
        raise DocError('%s: no %s: every example has its session'
                       % (name, where))
    work = os.path.join(tmp, name)
    os.makedirs(work)
    doclib.run(a.cc + doclib.C_FLAGS + doclib.sanitize_flags(a.sanitize) +
               ['-o', os.path.join(work, name), src] + flags,
               'compiling ' + name, env=env)
    doclib.run_session(steps, where, work, env)


if __name__ == '__main__':
    sys.exit(main())
