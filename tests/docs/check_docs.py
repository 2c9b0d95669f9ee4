#!/usr/bin/env python3
"""Run every fenced code block of README.md and docs/*.md (suite 'docs').

The convention, by the block's language tag (the first word after the
fence; docs/writing-docs.md says the same for writers):

  ```c        compiled and linked against the library (-Wall -Wextra
              -Werror). A block with `int main(` is a whole program: built
              alone and run in a fresh temp dir, where it must exit 0.
              Any other block is a fragment: compiled as the body of a
              function that declares these variables for it:
                  sb_box *box; sb_item *item; int rc;
                  char err[SB_ERRMSG_SIZE];
                  const char *bank, *ledger, *dedup_id;
              (fragments are compiled, never run).
  ```sh       run by bash (-e -u -o pipefail) in a fresh temp dir with
  ```bash     the built CLI first on PATH; must exit 0.
  ```console  a session: each line starting with "$ " is a command (a
              trailing "\" continues it), run one after the other by one
              bash in a fresh temp dir with the built CLI first on PATH;
              the lines after a command are its output (stdout and stderr,
              as a terminal shows them), compared exactly but for a
              trailing CR. A line "..." stands for any number of lines, a
              line ending in "..." for any line that starts with the rest.
              Every command must exit 0 (show an exit code with
              `; echo "exit $?"`).
  ```python   run by the Python that meson found, with the build tree's
              package first on PYTHONPATH (--python, --python-env), in a
              fresh temp dir; must exit 0.
  ```text     output, grammars, listings: not run.
  anything else, or no tag at all: the test fails.

Two words may follow the tag:
  file=PATH        the block is the file PATH (from the repository root)
                   byte for byte; the file is run by its own suite
                   (examples/*.c and examples/*.console: suite 'examples').
  no-run REASON    the block is not run (sh and bash blocks still pass
                   `bash -n`). For blocks that install packages, need root
                   or run the whole test command. At most MAX_NO_RUN of
                   them in all; find them with
                       grep -n '```[a-z]* no-run' README.md docs/*.md

Also checked: every page under docs/ is linked from README.md, and every
relative link of every page names a file that exists and, with a
#fragment into a Markdown page, a heading of that page.

usage: check_docs.py --src DIR --cli STORAGEBOX --lib LIBSTORAGEBOX.so
                     [--python PYTHON --python-env NAME=VALUE...]
                     [--sanitize LIST] --cc CC...
"""

import argparse
import glob
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doclib  # noqa: E402
from doclib import DocError  # noqa: E402

MAX_NO_RUN = 4

FRAGMENT_HEAD = '''#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <storagebox/storagebox.h>
'''

FRAGMENT_VARS = '''\tsb_box *box = NULL;
\tsb_item *item = NULL;
\tint rc = 0;
\tchar err[SB_ERRMSG_SIZE] = "";
\tconst char *bank = "bank", *ledger = "ledger", *dedup_id = "id";
\t(void)box; (void)item; (void)rc; (void)err;
\t(void)bank; (void)ledger; (void)dedup_id;
'''


class Checker:
    def __init__(self, args):
        self.a = args
        self.failures = []
        self.counts = {}
        self.fragments = []
        self.tmp = doclib.scratch_dir('sb-docs-')

    def count(self, what):
        self.counts[what] = self.counts.get(what, 0) + 1

    def fail(self, msg):
        self.failures.append(msg)

    def cc(self, *args):
        return (self.a.cc + doclib.C_FLAGS +
                doclib.sanitize_flags(self.a.sanitize) +
                ['-I', os.path.join(self.a.src, 'include')] + list(args) +
                [self.a.lib, '-Wl,-rpath,' + os.path.dirname(self.a.lib)])

    def block_dir(self, b):
        d = os.path.join(self.tmp, '%s-%d' % (
            os.path.basename(b.page).replace('.', '-'), b.line))
        os.makedirs(d)
        return d

    def env(self, extra=None):
        return doclib.clean_env(path_first=os.path.dirname(self.a.cli),
                                extra=extra)

    # -- one block
    def check(self, b):
        if b.error:
            raise DocError(b.error)
        if b.attr == 'file':
            return self.check_file(b)
        if b.attr == 'no-run':
            self.count('not run (no-run)')
            if b.lang in ('sh', 'bash'):
                doclib.run(['bash', '-n', '-c', b.text], b.where())
            return
        if b.lang == 'c':
            if re.search(r'^int main\(', b.text, re.M):
                self.run_program(b)
            else:
                self.fragments.append(b)
        elif b.lang in ('sh', 'bash'):
            doclib.run(['bash', '--norc', '--noprofile', '-euo', 'pipefail',
                        '-c', b.text], b.where(), cwd=self.block_dir(b),
                       env=self.env())
            self.count('shell blocks run')
        elif b.lang == 'console':
            steps = doclib.parse_session(b.text, b.where())
            doclib.run_session(steps, b.where(), self.block_dir(b),
                               self.env())
            self.count('console sessions run and compared')
        elif b.lang == 'python':
            self.run_python(b)
        elif b.lang == 'text':
            self.count('text (not run)')
        elif b.lang == '':
            raise DocError('%s: a code block without a language tag (c, sh, '
                           'bash, console, python or text)' % b.where())
        else:
            raise DocError('%s: no runner for the language %r (c, sh, bash, '
                           'console, python or text)' % (b.where(), b.lang))

    def check_file(self, b):
        path = os.path.join(self.a.src, b.value)
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
        except OSError as e:
            raise DocError('%s: file=%s: %s' % (b.where(), b.value,
                                                e.strerror))
        if text != b.text:
            raise DocError('%s: the block differs from %s; copy the file '
                           'into the block again' % (b.where(), b.value))
        self.count('copies of files, checked')

    def run_python(self, b):
        if not self.a.python:
            raise DocError('%s: a python block, but no --python given'
                           % b.where())
        d = self.block_dir(b)
        src = os.path.join(d, 'block.py')
        with open(src, 'w', encoding='utf-8') as f:
            f.write(b.text)
        extra = dict(v.split('=', 1) for v in self.a.python_env)
        doclib.run([self.a.python, src], b.where(), cwd=d,
                   env=self.env(extra))
        self.count('Python blocks run')

    def run_program(self, b):
        d = self.block_dir(b)
        src = os.path.join(d, 'prog.c')
        with open(src, 'w', encoding='utf-8') as f:
            f.write('#line 1 "%s:%d"\n' % (b.page, b.line + 1) + b.text)
        doclib.run(self.cc('-o', os.path.join(d, 'prog'), src), b.where())
        doclib.run([os.path.join(d, 'prog')], b.where(), cwd=d,
                   env=self.env())
        self.count('C programs built and run')

    def compile_fragments(self):
        """All fragments in one program (one compiler run), each in its
        own function; #line points errors at the Markdown line."""
        if not self.fragments:
            return
        src = os.path.join(self.tmp, 'fragments.c')
        parts = [FRAGMENT_HEAD]
        for n, b in enumerate(self.fragments):
            parts.append('void sb_docs_fragment_%d(void);\n'
                         'void sb_docs_fragment_%d(void)\n{\n%s'
                         '#line %d "%s"\n%s}\n'
                         % (n, n, FRAGMENT_VARS, b.line + 1, b.page, b.text))
        parts.append('int main(void) { return 0; }\n')
        with open(src, 'w', encoding='utf-8') as f:
            f.write(''.join(parts))
        doclib.run(self.cc('-o', os.path.join(self.tmp, 'fragments'), src),
                   'C fragments')
        self.counts['C fragments compiled'] = len(self.fragments)


# ---------------------------------------------------------------- links

LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)
    text = re.sub(r'[^\w\- ]', '', text.lower())
    return text.replace(' ', '-')


def anchors(page):
    """The anchors of a page's headings (repeats get -1, -2, ...)."""
    seen = {}
    out = set()
    in_code = False
    with open(page, encoding='utf-8') as f:
        for line in f:
            if doclib.FENCE.match(line.rstrip('\n')):
                in_code = not in_code
            m = None if in_code else re.match(r'^#{1,6} +(.*?) *#* *$', line)
            if m:
                s = slug(m.group(1))
                out.add(s if s not in seen else '%s-%d' % (s, seen[s]))
                seen[s] = seen.get(s, 0) + 1
    return out


def prose(page):
    """(line number, text) of the lines outside code blocks, without
    inline code spans."""
    in_code = False
    with open(page, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if doclib.FENCE.match(line.rstrip('\n')):
                in_code = not in_code
            elif not in_code:
                yield n, re.sub(r'`[^`]*`', '', line)


def check_links(page, failures):
    """Relative links must name files that exist, and headings that
    exist; returns the pages linked to."""
    linked = set()
    for n, line in prose(page):
        for target in LINK.findall(line):
            if re.match(r'^[a-z][a-z0-9+.-]*:', target):
                continue  # https:, mailto:
            path, _, frag = target.partition('#')
            dest = (os.path.normpath(os.path.join(os.path.dirname(page),
                                                  path)) if path else page)
            if not os.path.exists(dest):
                failures.append('%s:%d: link to %s: no such file'
                                % (page, n, target))
                continue
            linked.add(os.path.realpath(dest))
            if frag and dest.endswith('.md') and frag not in anchors(dest):
                failures.append('%s:%d: link to %s: no such heading'
                                % (page, n, target))
    return linked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--src', required=True)
    ap.add_argument('--cli', required=True)
    ap.add_argument('--lib', required=True)
    ap.add_argument('--python', default='')
    ap.add_argument('--python-env', nargs='*', default=[])
    ap.add_argument('--sanitize', default='none')
    ap.add_argument('--cc', nargs='+', required=True)
    args = ap.parse_args()
    args.cli = os.path.abspath(args.cli)
    args.lib = os.path.abspath(args.lib)
    start = time.monotonic()

    os.chdir(args.src)  # pages and links are named from the root
    pages = ['README.md'] + sorted(glob.glob('docs/*.md'))
    ch = Checker(args)
    no_run = []
    for page in pages:
        try:
            page_blocks = doclib.blocks(page)
        except DocError as e:
            ch.fail(str(e))
            continue
        for b in page_blocks:
            if b.attr == 'no-run':
                no_run.append('%s (%s)' % (b.where(), b.value))
            try:
                ch.check(b)
            except DocError as e:
                ch.fail(str(e))
    try:
        ch.compile_fragments()
    except DocError as e:
        ch.fail(str(e))
    if len(no_run) > MAX_NO_RUN:
        ch.fail('%d blocks are marked no-run, more than %d: make some run'
                '\n  %s' % (len(no_run), MAX_NO_RUN, '\n  '.join(no_run)))

    for page in pages:
        targets = check_links(page, ch.failures)
        if page == 'README.md':
            linked = targets
    for page in pages[1:]:
        if os.path.realpath(page) not in linked:
            ch.fail('%s: not linked from README.md' % page)

    doclib.remove_tree(ch.tmp)
    for what, n in sorted(ch.counts.items()):
        print('%4d %s' % (n, what))
    print('%d pages, %.1f s' % (len(pages), time.monotonic() - start))
    for f in ch.failures:
        print('FAIL ' + f)
    return 1 if ch.failures else 0


if __name__ == '__main__':
    sys.exit(main())
