/* Threads, each with its own box, race on one bank and ledger. */
#include "conf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS   8
#define PER_THREAD 100
#define NITEMS     300
#define NIDS       400 /* each requested twice: NTHREADS * PER_THREAD requests */

typedef struct {
	size_t id; /* index of the id */
	int rc;
	char *value;
	char *bank;
} request;

typedef struct {
	request *reqs; /* this thread's slice */
	const char *bankname, *ledger;
	pthread_barrier_t *start;
	int open_failed;
} worker;

static void *run(void *arg)
{
	worker *w = arg;
	sb_box *box = conf_open();
	pthread_barrier_wait(w->start);
	if (!box) {
		w->open_failed = 1;
		return NULL;
	}
	for (size_t i = 0; i < PER_THREAD; i++) {
		request *r = &w->reqs[i];
		char id[32];
		snprintf(id, sizeof id, "cid-%zu", r->id);
		sb_item *it = NULL;
		r->rc = sb_box_fetch(&it, box, w->bankname, w->ledger, id);
		if (r->rc == SB_OK && it) {
			r->value = t_xstrdup(sb_item_value(it));
			r->bank = t_xstrdup(sb_item_bank(it));
		} else if (r->rc < 0) {
			CHECKF(box, 0, "fetch %s: %d", id, r->rc);
		}
		sb_item_free(it);
	}
	sb_box_close(box);
	return NULL;
}

void case_concurrency(void)
{
	sb_box *box = conf_open();
	if (!box)
		return;
	char *bank = conf_name("conc");
	char *ledger = conf_name("conc-ledger");
	char **items = t_xcalloc(NITEMS, sizeof *items);
	for (size_t i = 0; i < NITEMS; i++)
		items[i] = t_xasprintf("conc-item-%zu", i);
	conf_add(box, bank, (const char *const *)items, NITEMS, NITEMS, 0);

	size_t nreq = NTHREADS * PER_THREAD;
	size_t *order = t_xcalloc(nreq, sizeof *order);
	for (size_t i = 0; i < nreq; i++)
		order[i] = i % NIDS;
	t_rng rng;
	t_rng_seed(&rng, conf.seed);
	t_shuffle(&rng, order, nreq);
	request *reqs = t_xcalloc(nreq, sizeof *reqs);
	for (size_t i = 0; i < nreq; i++)
		reqs[i].id = order[i];

	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, NTHREADS);
	pthread_t th[NTHREADS];
	worker ws[NTHREADS];
	for (int t = 0; t < NTHREADS; t++) {
		ws[t] = (worker){ reqs + (size_t)t * PER_THREAD, bank, ledger,
			          &start, 0 };
		if (pthread_create(&th[t], NULL, run, &ws[t]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(99);
		}
	}
	for (int t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		CHECK(box, !ws[t].open_failed);
	}
	pthread_barrier_destroy(&start);

	/* Per id: every item answer the same. Per item: one id. */
	char **answer = t_xcalloc(NIDS, sizeof *answer);
	t_map owner;
	t_map_init(&owner);
	size_t errors = 0, wrong_bank = 0, unknown = 0;
	for (size_t i = 0; i < nreq; i++) {
		request *r = &reqs[i];
		if (r->rc < 0)
			errors++;
		if (r->rc != SB_OK || !r->value)
			continue;
		if (strcmp(r->bank, bank) != 0)
			wrong_bank++;
		if (strncmp(r->value, "conc-item-", 10) != 0)
			unknown++;
		if (!answer[r->id]) {
			answer[r->id] = r->value;
			char idk[32];
			snprintf(idk, sizeof idk, "%zu", r->id);
			if (!t_map_put(&owner, r->value, idk))
				CHECKF(box, 0, "item %s to ids %s and %s",
				       r->value, t_map_get(&owner, r->value),
				       idk);
		} else {
			CHECKF(box, strcmp(answer[r->id], r->value) == 0,
			       "id %zu got %s and %s", r->id, answer[r->id],
			       r->value);
		}
	}
	CHECKF(box, errors == 0, "%zu fetches failed", errors);
	CHECK(box, wrong_bank == 0 && unknown == 0);

	/* No false empty: exactly min(items, ids) ids hold an item, and each
	 * holds what it was answered. */
	size_t holders = 0;
	for (size_t i = 0; i < NIDS; i++) {
		char id[32];
		snprintf(id, sizeof id, "cid-%zu", i);
		sb_item *it = NULL;
		int rc = sb_box_lookup(&it, box, ledger, id);
		if (rc == SB_OK) {
			holders++;
			CHECKF(box,
			       answer[i] && strcmp(answer[i],
			                           sb_item_value(it)) == 0,
			       "id %zu holds %s, answered %s", i,
			       sb_item_value(it), answer[i] ? answer[i] : "-");
		} else {
			CHECK_RC(box, rc, SB_ENOTFOUND);
			CHECKF(box, !answer[i],
			       "id %zu answered %s, holds "
			       "nothing",
			       i, answer[i]);
		}
		sb_item_free(it);
	}
	size_t want = NITEMS < NIDS ? NITEMS : NIDS;
	CHECKF(box, holders == want, "%zu ids hold items, want %zu", holders,
	       want);
	CHECK(box, owner.n == want);
	sb_stats st;
	CHECK_RC(box, conf_stats(&st, box, bank, ledger), SB_OK);
	CHECKF(box, st.assigned == want && st.held == want && st.reserved == 0,
	       "assigned %llu held %llu reserved %llu",
	       (unsigned long long)st.assigned, (unsigned long long)st.held,
	       (unsigned long long)st.reserved);
	conf_check_conservation(box, bank, NITEMS);

	t_map_free(&owner);
	free(answer);
	for (size_t i = 0; i < nreq; i++) {
		free(reqs[i].value);
		free(reqs[i].bank);
	}
	free(reqs);
	free(order);
	for (size_t i = 0; i < NITEMS; i++)
		free(items[i]);
	free(items);
	free(ledger);
	free(bank);
	sb_box_close(box);
}
