#!/usr/bin/python3
"""What the deadline index costs a fused hold on DynamoDB (issue 13).

A fused hold is the claim's TransactWriteItems with a deadline on the
held record; only that record puts it in the held table's deadline index
(`due`: hash `state`, range `until`), which is how lapsed holds are
found. This script sends the same three-action transaction (delete from
the bank, put the held record, put the ledger entry) N times into tables
without the index (a claim's shape) and N times into a held table with
it (a hold's shape), alternated over several rounds on fresh tables, one
client, and prints one JSON object: the medians of each shape's p50
latency and, with --pid (DynamoDB Local's java process), of the server's
CPU time per transaction, read from /proc around each round; law_holds
says every round left what it should (the bank empty, one ledger entry
per transaction, and the holds, only they, in the index).

  ddb_index_cost.py --uri URI [--count N] [--rounds R] [--pid PID]

The URI is a storagebox DynamoDB URI (dynamodb+http://host:port?region=..),
else $SB_TEST_DYNAMODB_URI. The tables it makes are deleted at the end.
"""
import argparse
import json
import os
import statistics
import sys
import time
import urllib.parse
import uuid

import boto3


def endpoint_of(uri):
    """(endpoint_url, region) of a dynamodb+http(s):// URI."""
    u = urllib.parse.urlsplit(uri)
    scheme = u.scheme.split('+', 1)[1] if '+' in u.scheme else 'https'
    region = urllib.parse.parse_qs(u.query).get('region', ['us-east-1'])[0]
    return f'{scheme}://{u.netloc.rsplit("@", 1)[-1]}', region


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (None without a pid)."""
    if not pid:
        return None
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class Tables:
    """The three tables of one round; deleted by drop()."""

    def __init__(self, client, tag, indexed):
        self.client = client
        self.names = [f'sbcost-{tag}-{k}' for k in ('bank', 'held', 'led')]
        self.bank, self.held, self.ledger = self.names
        self._make(self.bank, 'item_string', False)
        self._make(self.held, 'item_string', indexed)
        self._make(self.ledger, 'dedup_id', False)

    def _make(self, name, key, indexed):
        defs = [{'AttributeName': key, 'AttributeType': 'S'}]
        kw = {}
        if indexed:  # the library's own deadline index (ddb_table.c)
            defs += [{'AttributeName': 'state', 'AttributeType': 'S'},
                     {'AttributeName': 'until', 'AttributeType': 'N'}]
            kw['GlobalSecondaryIndexes'] = [{
                'IndexName': 'due',
                'KeySchema': [{'AttributeName': 'state', 'KeyType': 'HASH'},
                              {'AttributeName': 'until',
                               'KeyType': 'RANGE'}],
                'Projection': {'ProjectionType': 'ALL'}}]
        self.client.create_table(
            TableName=name, AttributeDefinitions=defs,
            KeySchema=[{'AttributeName': key, 'KeyType': 'HASH'}],
            BillingMode='PAY_PER_REQUEST', **kw)

    def drop(self):
        for name in self.names:
            self.client.delete_table(TableName=name)


def load(client, table, n):
    for i in range(0, n, 25):
        client.batch_write_item(RequestItems={table: [
            {'PutRequest': {'Item': {'item_string': {'S': f'seat-{j}'}}}}
            for j in range(i, min(n, i + 25))]})


def count(client, **query):
    """Items a Query or Scan (Select COUNT) finds, over every page."""
    op = client.query if 'KeyConditionExpression' in query else client.scan
    total, start = 0, None
    while True:
        page = op(Select='COUNT', ConsistentRead='IndexName' not in query,
                  **query, **({'ExclusiveStartKey': start} if start else {}))
        total += page['Count']
        start = page.get('LastEvaluatedKey')
        if not start:
            return total


def wrote(client, t, held, n):
    """Did the round do what it says: the bank empty, n ledger entries,
    and (holds) n records in the deadline index?"""
    ok = (count(client, TableName=t.bank) == 0 and
          count(client, TableName=t.ledger) == n)
    if held:
        ok = ok and count(client, TableName=t.held, IndexName='due',
                          KeyConditionExpression='#s = :h',
                          ExpressionAttributeNames={'#s': 'state'},
                          ExpressionAttributeValues={
                              ':h': {'S': 'held'}}) == n
    return ok


def one_round(client, tag, held, n, pid):
    """(p50 ms, server CPU us per transaction or None, wrote it all) of n
    transactions: claims (@p held false) or holds."""
    t = Tables(client, tag, held)
    try:
        load(client, t.bank, n)
        lat = []
        c0 = cpu_seconds(pid)
        for i in range(n):
            item = {'S': f'seat-{i}'}
            rec = {'item_string': item, 'token': {'S': uuid.uuid4().hex},
                   'since': {'N': str(int(time.time() * 1000))}}
            entry = {'dedup_id': {'S': f'buyer-{i}'}, 'item_string': item,
                     'bank': {'S': 'seats'}}
            if held:
                until = {'N': str(int(time.time() * 1000) + 600000)}
                rec.update(state={'S': 'held'}, until=until,
                           ltable={'S': t.ledger})
                entry['until'] = until
            else:
                rec['state'] = {'S': 'assigned'}
            start = time.perf_counter()
            client.transact_write_items(TransactItems=[
                {'Delete': {'TableName': t.bank,
                            'Key': {'item_string': item},
                            'ConditionExpression': 'attribute_exists(#i)',
                            'ExpressionAttributeNames': {
                                '#i': 'item_string'}}},
                {'Put': {'TableName': t.held, 'Item': rec,
                         'ConditionExpression': 'attribute_not_exists(#i)',
                         'ExpressionAttributeNames': {
                             '#i': 'item_string'}}},
                {'Put': {'TableName': t.ledger, 'Item': entry,
                         'ConditionExpression': 'attribute_not_exists(#d)',
                         'ExpressionAttributeNames': {'#d': 'dedup_id'},
                         'ReturnValuesOnConditionCheckFailure':
                             'ALL_OLD'}}])
            lat.append(time.perf_counter() - start)
        c1 = cpu_seconds(pid)
        cpu = None if c0 is None else (c1 - c0) / n * 1e6
        return statistics.median(lat) * 1000, cpu, wrote(client, t, held, n)
    finally:
        t.drop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--uri', default=os.environ.get('SB_TEST_DYNAMODB_URI'))
    ap.add_argument('--count', type=int, default=1000)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--pid', type=int, default=0)
    a = ap.parse_args()
    if not a.uri:
        sys.exit('ddb_index_cost.py: no --uri and no $SB_TEST_DYNAMODB_URI')
    if not 1 <= a.count <= 100000 or not 1 <= a.rounds <= 20:
        sys.exit('ddb_index_cost.py: --count 1..100000, --rounds 1..20')
    url, region = endpoint_of(a.uri)
    client = boto3.client('dynamodb', endpoint_url=url, region_name=region)
    tag = uuid.uuid4().hex[:8]
    got = {False: [], True: []}
    for r in range(a.rounds):
        # Alternated, and the order flipped each round, so that a warming
        # JVM or a busy moment does not favour one shape.
        for held in ((False, True) if r % 2 == 0 else (True, False)):
            got[held].append(one_round(client, f'{tag}-{r}-{int(held)}',
                                       held, a.count, a.pid))

    def med(held, k):
        v = [x[k] for x in got[held] if x[k] is not None]
        if not v:
            return None
        return round(statistics.median(v), 3 if k == 0 else None)

    out = {'count': a.count, 'rounds': a.rounds,
           'claim_p50_ms': med(False, 0), 'hold_p50_ms': med(True, 0),
           'claim_cpu_us': med(False, 1), 'hold_cpu_us': med(True, 1)}
    out['law_holds'] = all(x[2] for v in got.values() for x in v)
    out['p50_ratio'] = round(out['hold_p50_ms'] / out['claim_p50_ms'], 3)
    if out['claim_cpu_us']:
        out['cpu_ratio'] = round(out['hold_cpu_us'] / out['claim_cpu_us'], 3)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
