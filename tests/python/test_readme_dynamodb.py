#!/usr/bin/env python3
"""The original library's README as written, on DynamoDB Local reached
through the environment as boto3 reads it (AWS_ENDPOINT_URL, AWS_REGION
and the credential variables, derived from SB_TEST_DYNAMODB_URI): its
snippet and its three-classes example (several item repositories, one
deduplication repository), here with checks of every law, and as the
programs README.md and docs/python.md show (readme_*.py), run as they are.
"""

import os
import subprocess
import sys
import unittest
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import storagebox  # noqa: E402


def dynamodb_env():
    """AWS_* variables for the test's DynamoDB Local."""
    uri = os.environ.get('SB_TEST_DYNAMODB_URI')
    if not uri:
        support.skip_or_fail('SB_TEST_DYNAMODB_URI is not set')
    u = urllib.parse.urlsplit(uri)
    region = urllib.parse.parse_qs(u.query).get('region', ['us-east-1'])[0]
    return {'AWS_ENDPOINT_URL': 'http://%s' % u.netloc, 'AWS_REGION': region}


class OriginalOnDynamoDB(unittest.TestCase):
    def setUp(self):
        env = dynamodb_env()
        self.saved = {k: os.environ.get(k) for k in
                      list(env) + ['AWS_ENDPOINT_URL_DYNAMODB',
                                   'AWS_DEFAULT_REGION']}
        for k in self.saved:
            os.environ.pop(k, None)
        os.environ.update(env)

    def tearDown(self):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def test_readme_snippet(self):
        voucher_codes = ['VC-%s-%d' % (support.unique('v'), k)
                         for k in range(30)]
        user_id = 'user-42'
        # As the original README writes it (table names made unique so
        # the test can run again on the same server).
        voucher_table = support.unique('voucher_codes')
        dedup_table = support.unique('storage_box_deduplication_table')

        item_repo = storagebox.ItemBankDynamoDbRepository(
            table_name=voucher_table)
        deduplication_repo = storagebox.DeduplicationDynamoDbRepository(
            table_name=dedup_table)
        item_repo.batch_add_items(voucher_codes)
        deduplicator = storagebox.Deduplicator(
            item_repo=item_repo, deduplication_repo=deduplication_repo)
        voucher_code = deduplicator.fetch_item_for_deduplication_id(
            deduplication_id=user_id)

        self.assertIsInstance(voucher_code, str)
        self.assertIn(voucher_code, voucher_codes)
        self.assertEqual(deduplicator.fetch_item_for_deduplication_id(
            deduplication_id=user_id), voucher_code)
        self.assertEqual(deduplication_repo.get_value_for_deduplication_id(
            user_id), voucher_code)
        # 30 codes, 40 users: 30 get one, 10 get None; law checks.
        answers = [(user_id, voucher_code)]
        for k in range(39):
            answers.append(('u%d' % k, deduplicator.
                            fetch_item_for_deduplication_id(
                                deduplication_id='u%d' % k)))
        self.assertEqual(sum(a is None for _, a in answers), 10)
        support.check_laws(self, item_repo.box, voucher_table, dedup_table,
                           30, answers)
        self.assertTrue(item_repo.box.uri.startswith('dynamodb+http://'))
        # Re-loading the list resurrects nothing (the original's fault).
        self.assertEqual(item_repo.batch_add_items(voucher_codes).added, 0)

    def test_three_classes(self):
        tag = support.unique('c')
        class_1_codes = storagebox.ItemBankDynamoDbRepository(
            table_name=tag + '-class_1_codes')
        class_2_codes = storagebox.ItemBankDynamoDbRepository(
            table_name=tag + '-class_2_codes')
        class_3_codes = storagebox.ItemBankDynamoDbRepository(
            table_name=tag + '-class_3_codes')
        deduplication_repo = storagebox.DeduplicationDynamoDbRepository(
            table_name=tag + '-myonline_classes_deduplication_table')
        support.three_classes(self, class_1_codes, class_2_codes, class_3_codes,
                      deduplication_repo)

    def run_program(self, name):
        """Run tests/python/NAME as a user would; its output."""
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
        r = subprocess.run([sys.executable, path], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_readme_programs(self):
        # Twice: the second run adds nothing and gets the same answer
        # (also when both build trees' suites run on one server).
        first = self.run_program('readme_original.py')
        self.assertRegex(first, r'^alice@example.com gets MOVIE-00[0-3][0-9]\n$')
        self.assertEqual(self.run_program('readme_original.py'), first)
        seat = self.run_program('readme_classes.py')
        self.assertRegex(seat, r'^student-7 has seat ([5-9][0-9])\n$')
        self.assertEqual(self.run_program('readme_classes.py'), seat)

    def test_endpoint_variables(self):
        env = {'AWS_ENDPOINT_URL_DYNAMODB': 'http://h:1',
               'AWS_ENDPOINT_URL': 'http://other:2', 'AWS_REGION': 'eu-west-1',
               'AWS_DEFAULT_REGION': 'us-east-1'}
        self.assertEqual(storagebox.aws_dynamodb_uri(env),
                         'dynamodb+http://h:1?region=eu-west-1')
        del env['AWS_ENDPOINT_URL_DYNAMODB'], env['AWS_REGION']
        self.assertEqual(storagebox.aws_dynamodb_uri(env),
                         'dynamodb+http://other:2?region=us-east-1')
        self.assertEqual(storagebox.aws_dynamodb_uri(
            {'AWS_DEFAULT_REGION': 'ap-south-1'}), 'dynamodb://ap-south-1')
        with self.assertRaises(ValueError):
            storagebox.aws_dynamodb_uri({})
        with self.assertRaises(ValueError):
            storagebox.aws_dynamodb_uri({'AWS_ENDPOINT_URL': 'ftp://x'})



if __name__ == '__main__':
    unittest.main()
