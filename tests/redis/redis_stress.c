/* Redis stress: many processes, each with several threads (one box, so
 * one connection, per thread), hammer one bank and ledger on the test
 * server. Afterwards the parent checks every law of DESIGN.md §2 from the
 * answers and through the API (tests/common/stress_run.c), and from Redis
 * itself (the keys, read with hiredis: the layout documented in
 * backends/redis/redis_keys.c).
 *
 * usage: redis_stress fused|generic WORKDIR   (server: $SB_TEST_REDIS_URI)
 * Sizes (env): SB_STRESS_PROCS (16), SB_STRESS_THREADS (4),
 * SB_STRESS_ITEMS (5000), SB_STRESS_IDS (8000), SB_STRESS_REPEAT (3);
 * SB_TEST_SEED replays a shuffle. Each run uses its own key prefix. */
#include "rtest.h"
#include "../common/stress_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static redisReply *hgetall(redisContext *c, const char *key)
{
	redisReply *r = rt_cmd(c, "HGETALL", key, NULL);
	if (!CHECKF(NULL, r && r->type == REDIS_REPLY_ARRAY, "HGETALL %s",
	            key)) {
		if (r)
			freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* The state as Redis holds it, key by key. */
static void check_redis(const st_params *p, const char *server,
                        const char *prefix, char **held)
{
	redisContext *c = rt_connect(server);
	if (!CHECK(NULL, c != NULL))
		return;
	char *q = t_xasprintf("{%s}:q:%s", prefix, p->bank);
	char *s = t_xasprintf("{%s}:s:%s", prefix, p->bank);
	char *rv = t_xasprintf("{%s}:r:%s", prefix, p->bank);
	char *l = t_xasprintf("{%s}:l:%s", prefix, p->ledger);
	char *hc = t_xasprintf("{%s}:c:%s", prefix, p->ledger);

	/* Item states: every item known once, available ones queued once,
	 * assigned ones carry the token of the id that holds them ("i"TOKEN)
	 * or, assigned by a fused claim, are "a" and not queued, their
	 * ledger entry the authority (redis_keys.c). */
	redisReply *st = hgetall(c, s),
		   *lst = rt_cmd(c, "LRANGE", q, "0", "-1", NULL);
	redisReply *led = hgetall(c, l), *res = hgetall(c, rv);
	redisReply *cnt = rt_cmd(c, "HGET", hc, p->bank, NULL);
	if (st && led && res && lst && lst->type == REDIS_REPLY_ARRAY) {
		CHECKF(NULL, st->elements / 2 == p->items,
		       "state hash has %zu "
		       "items, %zu loaded",
		       st->elements / 2, p->items);
		CHECKF(NULL, res->elements == 0,
		       "%zu reservations left in Redis", res->elements / 2);
		t_map state, queued;
		t_map_init(&state);
		t_map_init(&queued);
		size_t avail = 0, assigned = 0;
		for (size_t i = 0; i + 1 < st->elements; i += 2) {
			t_map_put(&state, st->element[i]->str,
			          st->element[i + 1]->str);
			if (strcmp(st->element[i + 1]->str, "a") == 0)
				avail++; /* queued, or assigned by a claim */
			else if (st->element[i + 1]->str[0] == 'i')
				assigned++;
			else
				CHECKF(NULL, 0, "item %s in state '%s'",
				       st->element[i]->str,
				       st->element[i + 1]->str);
		}
		CHECKF(NULL, lst->elements <= avail, "queue %zu, \"a\" %zu",
		       lst->elements, avail);
		if (lst->elements <= avail)
			assigned += avail - lst->elements;
		for (size_t i = 0; i < lst->elements; i++) {
			const char *v = t_map_get(&state, lst->element[i]->str);
			CHECKF(NULL, v && strcmp(v, "a") == 0,
			       "queued %s is '%s'", lst->element[i]->str,
			       v ? v : "(unknown)");
			CHECKF(NULL,
			       t_map_put(&queued, lst->element[i]->str, ""),
			       "%s queued twice", lst->element[i]->str);
		}
		/* The ledger hash: one entry per holder, each the item the
		 * answers show, assigned with that id's token (laws 1-3). */
		size_t holders = 0, marks = 0;
		const char *mark = NULL;
		for (size_t i = 0; i < p->ids; i++)
			holders += held[i] != NULL;
		for (size_t i = 0; i + 1 < led->elements; i += 2)
			if (led->element[i]->len == 0) {
				marks++;
				mark = led->element[i + 1]->str;
			}
		CHECKF(NULL, led->elements / 2 == holders + marks,
		       "ledger hash %zu, "
		       "holders %zu",
		       led->elements / 2, holders);
		CHECKF(NULL, assigned == holders,
		       "assigned in Redis %zu, "
		       "holders %zu",
		       assigned, holders);
		for (size_t i = 0; i + 1 < led->elements; i += 2) {
			const char *id = led->element[i]->str;
			size_t idx;
			char tail;
			if (led->element[i]->len == 0)
				continue; /* the ledger's mark */
			if (!CHECKF(NULL,
			            sscanf(id, "stress-id-%zu%c", &idx,
			                   &tail) == 1 &&
			                    idx < p->ids,
			            "ledger id %s", id))
				continue;
			char *want = held[idx] ? t_xasprintf("%zu:%s%s",
			                                     strlen(p->bank),
			                                     p->bank, held[idx])
			                       : t_xstrdup("(none)");
			CHECKF(NULL,
			       strcmp(led->element[i + 1]->str, want) == 0,
			       "ledger %s = %s, answers %s", id,
			       led->element[i + 1]->str, want);
			if (held[idx]) {
				char *tok = t_xasprintf("i%s\n%s", p->ledger,
				                        id);
				const char *v = t_map_get(&state, held[idx]);
				if (v && strcmp(v, "a") == 0 &&
				    !t_map_get(&queued, held[idx]))
					v = tok; /* assigned by a fused claim */
				CHECKF(NULL, v && strcmp(v, tok) == 0,
				       "item %s state is not assigned to %s",
				       held[idx], id);
				free(tok);
			}
			free(want);
		}
		/* The ledger serves one bank: its mark names it and it keeps
		 * no counter (its size is the count); a shared one ("*")
		 * counts per bank. */
		char *one = t_xasprintf("=%s", p->bank);
		if (holders > 0 && mark && strcmp(mark, one) == 0)
			CHECKF(NULL, cnt && cnt->type == REDIS_REPLY_NIL,
			       "a counter beside the mark '%s'", mark);
		else
			CHECKF(NULL,
			       cnt && cnt->type == REDIS_REPLY_STRING && mark &&
			               strcmp(mark, "*") == 0 &&
			               (size_t)atol(cnt->str) == holders,
			       "mark %s, held counter %s, holders %zu",
			       mark ? mark : "(none)",
			       cnt && cnt->str ? cnt->str : "(nil)", holders);
		free(one);
		t_map_free(&state);
		t_map_free(&queued);
	}
	if (st)
		freeReplyObject(st);
	if (lst)
		freeReplyObject(lst);
	if (led)
		freeReplyObject(led);
	if (res)
		freeReplyObject(res);
	if (cnt)
		freeReplyObject(cnt);

	/* Every key of the run is under its prefix, in one hash slot. */
	char *pat = t_xasprintf("{%s}:*", prefix);
	char *tag = t_xasprintf("{%s}", prefix);
	unsigned slot = rt_keyslot(tag, strlen(tag));
	char cursor[32] = "0";
	size_t nkeys = 0;
	do {
		redisReply *r = rt_cmd(c, "SCAN", cursor, "MATCH", pat, "COUNT",
		                       "1000", NULL);
		if (!CHECK(NULL, r && r->type == REDIS_REPLY_ARRAY)) {
			if (r)
				freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];
			nkeys++;
			CHECKF(NULL, rt_keyslot(k->str, k->len) == slot,
			       "key %s is not in slot %u", k->str, slot);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	/* banks, q, s, l (r is empty, so Redis removed it; no c: the
	 * ledger serves one bank) */
	CHECKF(NULL, nkeys == 4 || (nkeys == 3 && p->items <= p->ids),
	       "%zu keys under the prefix", nkeys);
	printf("redis: %zu keys under {%s}, all in slot %u\n", nkeys, prefix,
	       slot);
	free(pat);
	free(tag);
	free(q);
	free(s);
	free(rv);
	free(l);
	free(hc);
	redisFree(c);
}

/* The state through the API, then in Redis itself. */
int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s fused|generic WORKDIR\n", argv[0]);
		return 2;
	}
	const char *server = t_env_need("SB_TEST_REDIS_URI");
	st_params p = { .bank = "stress-bank", .ledger = "stress-ledger" };
	if (st_init(&p, "stress", argv[1], 16, 4, 5000, 8000) != 0)
		return 2;
	char *prefix = rt_prefix(argv[1]);
	char *stem = t_xasprintf("%s/redis-stress-%s", argv[2], prefix);
	char *opt = t_xasprintf("prefix=%s", prefix);
	char *uri = t_uri_opt(server, opt);
	free(opt);
	p.stem = stem;
	p.uri = uri;
	char *where = t_xasprintf("prefix %s", prefix);
	char **held = st_go(&p, where, NULL, NULL);
	free(where);
	check_redis(&p, server, prefix, held);

	st_free_held(&p, held);
	free(uri);
	free(stem);
	free(prefix);
	st_done(&p);
	return t_summary();
}
