#!/usr/bin/env python3
"""The original library's classes by URI, on the store the environment
names (support.store()): the three-classes example of the original's
README (several item repositories, one deduplication repository) and each
method. test_readme_dynamodb.py runs the README as written on DynamoDB."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import storagebox  # noqa: E402

STORE = support.store()


class OriginalByURI(unittest.TestCase):
    """The same classes over the store under test."""

    def repos(self, banks):
        proto = STORE['protocol']
        ledger_uri = STORE['ledger_uri'] or STORE['uri']
        items = [storagebox.ItemBankRepository(STORE['uri'],
                                               bank=support.unique(b),
                                               protocol=proto)
                 for b in banks]
        dedup = storagebox.DeduplicationRepository(
            ledger_uri, ledger=support.unique('l'), protocol=proto)
        return items, dedup

    def test_three_classes(self):
        (c1, c2, c3), dedup = self.repos(['c1', 'c2', 'c3'])
        support.three_classes(self, c1, c2, c3, dedup)

    def test_one_bank(self):
        (repo,), dedup = self.repos(['v'])
        self.assertTrue(repo.add_item_to_bank('A'))
        self.assertFalse(repo.add_item_to_bank('A'))
        d = storagebox.Deduplicator(item_repo=repo, deduplication_repo=dedup)
        got = d.fetch_item_for_deduplication_id(deduplication_id=7)
        self.assertEqual((got, type(got).__mro__[1]), ('A', str))
        self.assertEqual(dedup.get_value_for_deduplication_id(7), 'A')
        self.assertIsNone(d.fetch_item_for_deduplication_id('other'))
        self.assertIsNone(dedup.get_value_for_deduplication_id('other'))
        with self.assertRaises(NotImplementedError):
            repo.get_item_from_bank()
        with self.assertRaises(NotImplementedError):
            dedup.put_deduplication_id('x', 'A')


if __name__ == '__main__':
    unittest.main()
