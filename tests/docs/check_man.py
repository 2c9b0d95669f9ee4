#!/usr/bin/env python3
"""The installed man page, storagebox(1) (suite 'docs').

Installs the build's man page with `meson install --tags man` into a temp
dir, renders it with groff (warnings fail), and holds it to the CLI
itself: it must name every command and every global option of
`storagebox --help`, every option of each `storagebox COMMAND --help`,
the version `storagebox --version` prints, and have the usual sections;
its EXAMPLES session is run with the built CLI and its output compared
(as a console block of the docs, see check_docs.py).

Without groff the test skips (77), and fails when CI=true.

usage: check_man.py --cli STORAGEBOX --mandir M --build DIR --prefix P
                    --libdir L --meson MESON...
"""

import argparse
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doclib  # noqa: E402
from doclib import DocError  # noqa: E402

SECTIONS = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS',
            'STORE URIS', 'EXIT STATUS', 'ENVIRONMENT', 'EXAMPLES',
            'SEE ALSO']


def cli_surface(cli):
    """(commands, global options, {command: its options}) from --help."""
    main = doclib.run([cli, '--help'], 'storagebox --help')
    listing = main.split('\nCommands:\n', 1)[1].split('\n\n', 1)[0]
    commands = [line.split()[0] for line in listing.splitlines()]
    glob_part = main.split('\nGlobal options', 1)[1].split('\n\n', 1)[0]
    entries = '\n'.join(line for line in glob_part.splitlines()
                        if line.startswith('  -'))
    options = list(dict.fromkeys(re.findall(
        r'(?<![\w-])(--?[a-z][a-z-]*|--)(?![\w-])', entries)))
    per_command = {}
    for c in commands:
        text = doclib.run([cli, c, '--help'], 'storagebox %s --help' % c)
        per_command[c] = re.findall(r'^\s+(--[a-z][a-z-]*)', text, re.M)
    return commands, options, per_command


def render(page):
    groff = shutil.which('groff')
    if not groff:
        if os.environ.get('CI') == 'true':
            print('FAIL no groff (package groff-base) to render the page')
            sys.exit(1)
        print('SKIP no groff (package groff-base) to render the page')
        sys.exit(77)
    text = doclib.run([groff, '-man', '-Tascii', '-ww', '-P-cbou', page],
                      'groff')
    if re.search(r'^(troff|groff|grotty|an\.tmac):', text, re.M):
        raise DocError('groff warns about the page:\n' + text)
    return text


def check(a, text, tmp):
    fails = []

    def need(cond, what):
        if not cond:
            fails.append('the man page lacks ' + what)

    sections = dict(re.findall(r'^([A-Z][A-Z ]*)\n(.*?)(?=^[A-Z]|\Z)', text,
                               re.M | re.S))
    for s in SECTIONS:
        need(s in sections, 'the section ' + s)
    commands, options, per_command = cli_surface(a.cli)
    for c in commands:
        need(re.search(r'^ {7}%s(\s|$)' % re.escape(c),
                       sections.get('COMMANDS', ''), re.M),
             'the command %s (as an entry of COMMANDS)' % c)
        for o in per_command[c]:
            need(re.search(r'(?<![\w-])%s(?![\w-])' % o, text),
                 'the option %s of %s' % (o, c))
    for o in options:
        need(re.search(r'^ {7}(-h, )?%s(?![\w-])' % re.escape(o),
                       sections.get('OPTIONS', ''), re.M),
             'the global option %s (as an entry of OPTIONS)' % o)
    version = doclib.run([a.cli, '--version'], 'storagebox --version')
    version = version.splitlines()[0]
    need(version in text, 'the version "%s"' % version)

    examples = sections.get('EXAMPLES', '')
    need('       $ ' in examples, 'a session in EXAMPLES')
    if '       $ ' in examples:
        # The session: from its first "$ " line on, less the indent.
        session = examples[examples.index('       $ '):]
        session = '\n'.join(line[7:] for line in session.splitlines())
        work = os.path.join(tmp, 'session')
        os.makedirs(work)
        try:
            doclib.run_session(
                doclib.parse_session(session.rstrip(), 'EXAMPLES'),
                'man page EXAMPLES', work,
                doclib.clean_env(os.path.dirname(a.cli)))
        except DocError as e:
            fails.append(str(e))
    print('%d commands, %d global options, %d command options checked'
          % (len(commands), len(options),
             sum(len(v) for v in per_command.values())))
    return fails


def main():
    ap = argparse.ArgumentParser()
    for opt in ('--cli', '--mandir', '--build', '--prefix', '--libdir'):
        ap.add_argument(opt, required=True)
    ap.add_argument('--meson', nargs='+', required=True)
    a = ap.parse_args()
    a.cli = os.path.abspath(a.cli)

    tmp = doclib.scratch_dir('sb-man-')
    try:
        stage = os.path.join(tmp, 'stage')
        doclib.staged_install(a.meson, a.build, stage, tags='man')
        page = os.path.join(doclib.under(stage, a.prefix, a.mandir), 'man1',
                            'storagebox.1')
        if not os.path.isfile(page):
            raise DocError('meson install put no %s'
                           % os.path.relpath(page, stage))
        fails = check(a, render(page), tmp)
    except DocError as e:
        fails = [str(e)]
    finally:
        doclib.remove_tree(tmp)
    for f in fails:
        print('FAIL ' + f)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
