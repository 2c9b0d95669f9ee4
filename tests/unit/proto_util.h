/* Helpers shared by the protocol unit tests (memory backend). */
#ifndef SB_PROTO_UTIL_H
#define SB_PROTO_UTIL_H

#include "internal.h"
#include "memory.h"
#include "../common/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline sb_box *open_box(const char *uri, const char *ledger_uri,
                               sb_protocol protocol)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE];
	sb_box *box = NULL;

	o.ledger_uri = ledger_uri;
	o.protocol = protocol;
	if (sb_box_open(&box, uri, &o, err, sizeof(err)) != SB_OK) {
		fprintf(stderr, "open %s: %s\n", uri, err);
		exit(2);
	}
	return box;
}

/* Add n items "<prefix>-<i>" to a bank. */
static inline void load(sb_box *box, const char *bank, const char *prefix,
                        int n)
{
	char **items = calloc((size_t)n, sizeof(*items));
	sb_add_result r;
	int i;

	for (i = 0; i < n; i++) {
		items[i] = malloc(64);
		snprintf(items[i], 64, "%s-%d", prefix, i);
	}
	CHECK_RC(box,
	         sb_box_add(&r, box, bank, (const char *const *)items,
	                    (size_t)n),
	         SB_OK);
	CHECK(NULL, r.added == (uint64_t)n);
	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

/* Fetch and return a copy of the value; NULL for SB_EMPTY; "!" + code on
 * error (never NULL on error, so tests can tell). */
static inline char *fetch(sb_box *box, const char *bank, const char *ledger,
                          const char *id, int *rc_out)
{
	sb_item *it = NULL;
	char *v = NULL;
	int rc = sb_box_fetch(&it, box, bank, ledger, id);

	if (rc_out)
		*rc_out = rc;
	if (rc == SB_OK)
		v = strdup(sb_item_value(it));
	else if (rc != SB_EMPTY)
		v = strdup("!error");
	sb_item_free(it);
	return v;
}

static inline sb_stats stats_of(sb_box *box, const char *bank)
{
	sb_stats s;
	CHECK_RC(box, sb_box_stats(&s, box, bank, NULL), SB_OK);
	return s;
}

#endif
