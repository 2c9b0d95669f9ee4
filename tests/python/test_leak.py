#!/usr/bin/env python3
"""No leak over 100,000 calls: the resident set size after them is within
5% of what it was after a warm-up of 20,000 calls of the same mix (new
claims, repeats, lookups, stats, empty answers, failures that raise, adds,
exports), on a SQLite file (synchronous=normal) or the store the
environment names."""

import gc
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import storagebox  # noqa: E402

CALLS = 100_000
WARMUP = 20_000


class NoLeak(unittest.TestCase):
    def test_rss_flat(self):
        uri = (os.environ.get('SB_TEST_URI') or 'sqlite:' + os.path.join(
            tempfile.mkdtemp(), 'leak.db') + '?synchronous=normal')
        with storagebox.Box(uri) as box:
            bank, ledger = support.unique('leak'), support.unique('l')
            # Enough items for every new claim; a second bank that is
            # empty from the start.
            box.add(bank, ('i%d' % k for k in range(CALLS // 8 + WARMUP)))
            box.init(bank + '-empty', ledger)
            n = [0]

            def one_round():
                k = n[0]
                n[0] += 1
                step = k % 8
                if step == 0:
                    box.fetch(bank, ledger, 'id%d' % k)  # a new claim
                elif step in (1, 2):
                    box.fetch(bank, ledger, 'id%d' % (k - step))  # repeat
                elif step == 3:
                    box.lookup(ledger, 'id%d' % (k - 3))
                elif step == 4:
                    if k % 100 == 4:  # counts the bank: slow on big banks
                        box.stats(bank, ledger)
                    else:
                        box.lookup(ledger, 'nobody')
                elif step == 5:
                    box.fetch(bank + '-empty', ledger, 'nobody%d' % k)
                elif step == 6:
                    try:
                        box.fetch('no-such-bank-%d' % (k % 100), ledger, 'x')
                    except LookupError:
                        pass
                    try:
                        box.fetch(bank, ledger, 'bad\nid')
                    except ValueError:
                        pass
                else:
                    box.add(bank, ['i%d' % (k % 50)])  # skipped
                    if k % 1000 == 7:
                        list(box.recover(bank, ledger))

            for _ in range(WARMUP):
                one_round()
            gc.collect()
            before = support.rss_kib()
            for _ in range(CALLS):
                one_round()
            gc.collect()
            after = support.rss_kib()
            print('\nRSS after %d calls: %d KiB; after %d more: %d KiB '
                  '(%+.2f%%)' % (WARMUP, before, CALLS, after,
                                 100.0 * (after - before) / before),
                  file=sys.stderr)
            self.assertLessEqual(after, before * 1.05)
            st = box.stats(bank, ledger)
            self.assertEqual(st.reserved, 0)


if __name__ == '__main__':
    unittest.main()
