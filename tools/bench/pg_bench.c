/* Claim driver for tools/bench/postgresql_bench.sh: CLIENTS threads (one
 * box, so one connection, each) fetch CLAIMS new ids from an existing
 * bank, and the claims/s is printed alone on stdout. Not a test: the
 * script compares its numbers within one run.
 *
 * usage: pg_bench URI BANK LEDGER CLIENTS CLAIMS ID_PREFIX */
#include "storagebox/storagebox.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	const char *uri, *bank, *ledger, *prefix;
	long from, to; /* ids [from, to) */
	long ok, failed;
} worker;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	worker *w = arg;
	char err[SB_ERRMSG_SIZE], id[96];
	sb_box *box = NULL;

	if (sb_box_open(&box, w->uri, NULL, err, sizeof err) != SB_OK) {
		fprintf(stderr, "open: %s\n", err);
		w->failed = w->to - w->from;
		return NULL;
	}
	for (long i = w->from; i < w->to; i++) {
		sb_item *it = NULL;
		snprintf(id, sizeof id, "%s-%ld", w->prefix, i);
		int rc = sb_box_fetch(&it, box, w->bank, w->ledger, id);
		if (rc == SB_OK && sb_item_is_new(it))
			w->ok++;
		else {
			w->failed++;
			if (w->failed == 1)
				fprintf(stderr, "fetch %s: %d %s\n", id, rc,
				        sb_box_errmsg(box));
		}
		sb_item_free(it);
	}
	sb_box_close(box);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: %s URI BANK LEDGER CLIENTS CLAIMS "
		                "ID_PREFIX\n", argv[0]);
		return 2;
	}
	long clients = atol(argv[4]), claims = atol(argv[5]);
	if (clients < 1 || claims < 1)
		return 2;
	worker *ws = calloc((size_t)clients, sizeof *ws);
	pthread_t *th = calloc((size_t)clients, sizeof *th);
	if (!ws || !th)
		return 1;
	double t0 = now_s();
	for (long c = 0; c < clients; c++) {
		ws[c] = (worker){ argv[1], argv[2], argv[3], argv[6],
		                  claims * c / clients,
		                  claims * (c + 1) / clients, 0, 0 };
		pthread_create(&th[c], NULL, run, &ws[c]);
	}
	long ok = 0, failed = 0;
	for (long c = 0; c < clients; c++) {
		pthread_join(th[c], NULL);
		ok += ws[c].ok;
		failed += ws[c].failed;
	}
	double secs = now_s() - t0;
	printf("%.1f\n", secs > 0 ? (double)ok / secs : 0.0);
	free(ws);
	free(th);
	if (failed)
		fprintf(stderr, "%ld claims failed or were not new\n", failed);
	return failed ? 1 : 0;
}
