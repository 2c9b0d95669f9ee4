#!/usr/bin/env python3
"""Python's side of the Python benchmark in tools/bench.sh: what
`storagebox bench --repeat 0` measures, through the Python package.

Loads a fresh bank (a new name each run) with --items items, then
--threads threads sharing one storagebox.Box fetch new ids until
--duration seconds have passed; prints one JSON object: claims_per_s
(new assignments per second, from the moment every thread has opened its
connection), claims, empty, law_holds (every answer distinct, no id
twice, and the store's counts add up). The store is $STORAGEBOX_URI (so a
password stays out of `ps`).

usage: STORAGEBOX_URI=URI python_fetch.py --threads N --items N --duration S
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid

import storagebox


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--items', type=int, default=10000)
    ap.add_argument('--duration', type=float, default=5.0)
    a = ap.parse_args()

    box = storagebox.Box(os.environ.get('STORAGEBOX_URI'))
    run = uuid.uuid4().hex[:10]
    bank, ledger = 'pybench-' + run, 'pybench-l-' + run
    box.add(bank, ('%s-%d' % (run, k) for k in range(a.items)))

    ready = threading.Barrier(a.threads + 1)
    stop = threading.Event()
    answers = [[] for _ in range(a.threads)]
    empty = [0] * a.threads
    errors = []

    def client(n: int) -> None:
        try:
            box.stats(bank)  # opens this thread's connection
            ready.wait()
            got, k = answers[n], 0
            fetch = box.fetch
            while not stop.is_set():
                item = fetch(bank, ledger, 't%d-%d' % (n, k))
                k += 1
                if item is None:
                    empty[n] += 1
                    break
                got.append(item)
        except BaseException as e:
            errors.append(repr(e))
            stop.set()

    threads = [threading.Thread(target=client, args=(n,))
               for n in range(a.threads)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    stop.wait(a.duration)
    stop.set()
    for t in threads:
        t.join()
    secs = time.perf_counter() - start

    claims = sum(len(g) for g in answers)
    items = [i for g in answers for i in g]
    st = box.stats(bank, ledger)
    law = (not errors and len(set(items)) == len(items) and
           st.assigned == claims and st.reserved == 0 and
           st.available + st.assigned == a.items)
    print(json.dumps({'claims_per_s': round(claims / secs, 1),
                      'claims': claims, 'seconds': round(secs, 3),
                      'threads': a.threads, 'empty': sum(empty),
                      'law_holds': law, 'errors': errors[:3]}))
    box.close()
    return 0 if law else 1


if __name__ == '__main__':
    sys.exit(main())
