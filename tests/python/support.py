"""Shared parts of the Python suites (tests/python/test_*.py).

The store under test comes from the environment exactly as for the C
conformance suite (tests/common/turi.h): $SB_TEST_URI, or the variable
that $SB_TEST_URI_FROM names (meson's env must not hold server passwords);
the same for SB_TEST_LEDGER_URI; $SB_TEST_PROTOCOL is 'fused' (default) or
'generic'. A store that is not set makes the program exit 77 (meson's
"skipped"), or 1 when CI=true: CI must prove every store.
"""

import os
import resource
import sys
import threading
import unittest
import urllib.parse
import uuid
from typing import Dict, List, Optional

import storagebox

SKIP = 77


def skip_or_fail(why: str) -> None:
    """Exit 77 (skipped), or 1 under CI=true."""
    ci = os.environ.get('CI') == 'true'
    print('%s: %s' % ('FAIL (CI=true)' if ci else 'SKIP', why),
          file=sys.stderr)
    sys.exit(1 if ci else SKIP)


def env_store(var: str, need: bool = True) -> Optional[str]:
    """A store URI from $var or from the variable $var_FROM names."""
    src = os.environ.get(var + '_FROM')
    if src:
        value = os.environ.get(src)
        if not value:
            skip_or_fail('%s is not set (named by %s_FROM)' % (src, var))
        return value
    value = os.environ.get(var)
    if not value and need:
        skip_or_fail('%s is not set' % var)
    return value or None


def store() -> Dict[str, Optional[str]]:
    """uri, ledger_uri and protocol ('auto' or 'generic') of this run."""
    proto = os.environ.get('SB_TEST_PROTOCOL', 'fused')
    if proto not in ('fused', 'generic'):
        skip_or_fail('SB_TEST_PROTOCOL must be fused or generic')
    return {'uri': env_store('SB_TEST_URI'),
            'ledger_uri': env_store('SB_TEST_LEDGER_URI', need=False),
            'protocol': 'generic' if proto == 'generic' else 'auto'}


def scheme(uri: str) -> str:
    return uri.split(':', 1)[0].lower()


def unique(prefix: str) -> str:
    """A bank or ledger name no other run used (valid as a DynamoDB table
    name too)."""
    return 'py-%s-%s' % (prefix, uuid.uuid4().hex[:12])


def with_password(uri: str, password: Optional[str]) -> str:
    """@uri (scheme://[user[:pw]@]host...) with its password replaced."""
    u = urllib.parse.urlsplit(uri)
    host = u.netloc.rpartition('@')[2]
    user = urllib.parse.quote(u.username or '', safe='')
    auth = user
    if password is not None:
        auth += ':' + urllib.parse.quote(password, safe='')
    netloc = (auth + '@' if auth else '') + host
    return urllib.parse.urlunsplit((u.scheme, netloc, u.path, u.query,
                                    u.fragment))


def rss_kib() -> int:
    """Resident set size of this process now, in KiB."""
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() // 1024


def check_laws(test: unittest.TestCase, box, bank: str, ledger: str,
               added: int, answers: List[tuple],
               banks: Optional[List[str]] = None) -> None:
    """Every law of DESIGN §2 on the outcome of a run: @answers are
    (dedup_id, item or None) pairs from any number of clients, @added the
    items put into @bank; @banks the banks sharing the ledger (default
    [bank])."""
    banks = banks or [bank]
    held: Dict[str, str] = {}
    for dedup_id, item in answers:
        if item is None:
            continue
        # Law 2 / 3: an id always gets the same item.
        test.assertEqual(held.setdefault(dedup_id, item), item,
                         'id %r got two items' % dedup_id)
    owners: Dict[str, str] = {}
    for dedup_id, item in held.items():
        # Law 1: no item held by two ids.
        test.assertEqual(owners.setdefault(item, dedup_id), dedup_id,
                         'item %r went to two ids' % item)
    # The ledger agrees with the answers.
    exported = {a.dedup_id: a.item for a in box.export(ledger)
                if a.bank == bank}
    for dedup_id, item in held.items():
        test.assertEqual(exported.get(dedup_id), item)
    # Law 4: conservation; recover brings reserved back to 0.
    box.recover(bank, ledger)
    st = box.stats(bank, ledger)
    test.assertEqual(st.reserved, 0)
    test.assertEqual(st.available + st.assigned + st.on_hold + st.retired,
                     added, st)
    test.assertEqual(st.assigned, len(exported))
    # Law 5: an id was told "empty" only if the bank ran out.
    if any(item is None for _, item in answers):
        test.assertEqual(st.available, 0, 'a false "empty"')
    # Law 3: a repeat returns the held item, whatever the bank's state.
    for dedup_id, item in list(held.items())[:20]:
        again = box.fetch(bank, ledger, dedup_id)
        test.assertEqual(again, item)
        test.assertFalse(again.is_new)


def three_classes(test, class_1_codes, class_2_codes, class_3_codes,
                  deduplication_repo):
    """The original README's online classes, 3 x 50 seats, 150 students
    who each try every class (from 3 threads per class, at once)."""
    class_1_codes.batch_add_items([str(i) for i in range(0, 50)])
    class_2_codes.batch_add_items([str(i) for i in range(50, 100)])
    class_3_codes.batch_add_items([str(i) for i in range(100, 150)])

    deduplicators = {
        'class_1': storagebox.Deduplicator(
            item_repo=class_1_codes, deduplication_repo=deduplication_repo),
        'class_2': storagebox.Deduplicator(
            item_repo=class_2_codes, deduplication_repo=deduplication_repo),
        'class_3': storagebox.Deduplicator(
            item_repo=class_3_codes, deduplication_repo=deduplication_repo),
    }
    answers = {}
    lock = threading.Lock()

    def student_run(requested_class, students):
        for student_id in students:
            seat = deduplicators[requested_class].\
                fetch_item_for_deduplication_id(deduplication_id=student_id)
            with lock:
                answers.setdefault(student_id, set()).add(seat)

    students = ['student-%d' % k for k in range(150)]
    threads = [threading.Thread(target=student_run,
                                args=(c, students[k::3]))
               for c in deduplicators for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Every student holds exactly one seat, whatever class they asked
    # (None only from a class that was full at the time); no seat twice;
    # every seat taken: 150 students asked every class, so none can be
    # left without a seat while one is free.
    test.assertEqual(len(answers), 150)
    seats = []
    for student_id, got in answers.items():
        got.discard(None)
        test.assertEqual(len(got), 1, '%s got %r' % (student_id, got))
        (seat,) = got
        test.assertEqual(seat.bank, {'0': class_1_codes, '1': class_2_codes,
                                     '2': class_3_codes}[
                                         str(int(seat) // 50)].bank)
        seats.append(seat)
    test.assertEqual(sorted(seats, key=int), [str(i) for i in range(150)])
    ledger = deduplication_repo.ledger
    for d in deduplicators.values():
        st = d.box.stats(d.item_repo.bank, ledger)
        test.assertEqual((st.available, st.reserved, st.assigned, st.held),
                         (0, 0, 50, 50))

