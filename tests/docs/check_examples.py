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

With --python PY (trees without sanitizers), the same staged install's
Python package too: it lies in a site directory of PY under the prefix
(where `import storagebox` finds it with no PYTHONPATH) when PY has one
there, its _libpath.py names the installed library, and PY imports it
from the stage and loads the staged library.

usage: check_examples.py --src DIR --build DIR --prefix P --libdir L
                         [--sanitize LIST] [--python PY]
                         --meson MESON... --cc CC...
"""

import argparse
import glob
import os
import subprocess
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
    ap.add_argument('--soversion', required=True)
    ap.add_argument('--sanitize', default='none')
    ap.add_argument('--python')
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
        if a.python and a.sanitize in ('none', ''):
            check_python(a, os.path.join(tmp, 'stage'), env)
            print('ok   python package')
    except DocError as e:
        failures.append(str(e))
        print('FAIL %s' % e)
    finally:
        doclib.remove_tree(tmp)
    return 1 if failures else 0


def check_python(a, stage, env):
    found = glob.glob(os.path.join(stage, '**', 'storagebox', '_libpath.py'),
                      recursive=True)
    if len(found) != 1:
        raise DocError('python package: %d copies of storagebox/_libpath.py '
                       'installed' % len(found))
    site_dir = os.path.dirname(os.path.dirname(found[0]))
    installed = '/' + os.path.relpath(site_dir, stage)
    out = subprocess.run([a.python, '-c', 'import site; '
                          'print("\\n".join(site.getsitepackages()))'],
                         capture_output=True, text=True, check=True).stdout
    prefix = os.path.normpath(a.prefix) + os.sep
    ours = [d for d in out.split() if os.path.normpath(d).startswith(prefix)]
    if ours and installed not in ours:
        raise DocError('python package: installed into %s, which %s does '
                       'not search (its site directories under %s: %s)'
                       % (installed, a.python, a.prefix, ', '.join(ours)))
    lib = os.path.join(a.prefix, a.libdir,
                       'libstoragebox.so.' + a.soversion)
    with open(found[0], encoding='utf-8') as f:
        if repr(lib) not in f.read():
            raise DocError('python package: _libpath.py does not name %s'
                           % lib)
    penv = dict(env, PYTHONPATH=site_dir, PYTHONDONTWRITEBYTECODE='1',
                STORAGEBOX_LIB=doclib.under(stage, a.prefix, lib))
    got = doclib.run([a.python, '-c', 'import storagebox; '
                      'print(storagebox.library_path())'],
                     'importing the installed package', env=penv).strip()
    if got != penv['STORAGEBOX_LIB']:
        raise DocError('python package: loaded %s, not the staged %s'
                       % (got, penv['STORAGEBOX_LIB']))


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
