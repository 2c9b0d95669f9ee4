/* What a Redis bank holds, read without changing it: the counts and the
 * list of reservations (the work of the bank's count and
 * reserved slots, redis_bank.c). */
#include "redis_private.h"

#include <stdlib.h>
#include <string.h>

int sb_rd_bank_count(sb_bank_counts *out, sb_rd_store *s, const char *bank)
{
	const char *argv[11];
	size_t lens[11];
	redisReply *r = NULL;
	sb_rd_bank_keys k;
	int rc, i, ok;

	memset(out, 0, sizeof(*out));
	if ((rc = sb_rd_bank_keys_make(&k, s, bank, "count")) != SB_OK)
		return rc;
	/* KEYS: banks to gone (not the stamps). */
	sb_rd_bank_keys_args(argv + 3, lens + 3, &k, 0, SB_RD_BK_GONE + 1);
	argv[10] = bank;
	lens[10] = strlen(bank);
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_COUNT, SB_RD_BK_GONE + 1, 1, argv,
	                lens, "count");
	sb_rd_bank_keys_free(&k);
	if (rc != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    sb_rd_is_int(r->element[0]) && r->element[0]->integer == -2) {
		rc = sb_rd_no_bank(s, bank);
	} else {
		ok = r->type == REDIS_REPLY_ARRAY && r->elements == 6;
		for (i = 1; ok && i < 6; i++)
			ok = sb_rd_is_int(r->element[i]) &&
			     r->element[i]->integer >= 0;
		if (ok) {
			out->available = (uint64_t)r->element[1]->integer;
			out->reserved = (uint64_t)r->element[2]->integer;
			out->assigned = (uint64_t)r->element[3]->integer;
			out->on_hold = (uint64_t)r->element[4]->integer;
			out->retired = (uint64_t)r->element[5]->integer;
		} else {
			rc = sb_rd_bad_reply(s, r, "count");
		}
	}
	freeReplyObject(r);
	return rc;
}

/* ------------------------------------------------------------- reserved */

/* SISMEMBER and HGETALL pipelined: one round trip. HGETALL is one
 * snapshot (no entry twice, which HSCAN could not promise on a hash that
 * shrinks); reservations are few: those in flight and those of clients
 * that died. */
int sb_rd_bank_reserved(sb_rd_store *s, const char *bank, int64_t older_than,
                        sb_reservation_cb cb, void *payload)
{
	const char *a1[3], *a2[2];
	size_t l1[3], l2[2], i;
	redisReply *r1 = NULL, *r2 = NULL;
	sb_rd_bank_keys k;
	int rc;

	if ((rc = sb_rd_bank_keys_make(&k, s, bank, "list reservations")) !=
	    SB_OK)
		return rc;
	a1[0] = "SISMEMBER";
	l1[0] = 9;
	a1[1] = k.key[SB_RD_BK_BANKS];
	l1[1] = k.len[SB_RD_BK_BANKS];
	a1[2] = bank;
	l1[2] = strlen(bank);
	a2[0] = "HGETALL";
	l2[0] = 7;
	a2[1] = k.key[SB_RD_BK_RESV];
	l2[1] = k.len[SB_RD_BK_RESV];
	rc = sb_rd_append(s, 3, a1, l1, "list reservations");
	if (rc == SB_OK)
		rc = sb_rd_append(s, 2, a2, l2, "list reservations");
	if (rc != SB_OK)
		sb_rd_drop(s);
	if (rc == SB_OK)
		rc = sb_rd_read(&r1, s, "list reservations");
	if (rc == SB_OK)
		rc = sb_rd_read(&r2, s, "list reservations");
	sb_rd_bank_keys_free(&k);
	if (rc != SB_OK)
		goto out;
	if (r1->type == REDIS_REPLY_ERROR || r2->type == REDIS_REPLY_ERROR) {
		rc = sb_rd_reply_error(s,
		                       r1->type == REDIS_REPLY_ERROR ? r1 : r2,
		                       "list reservations");
		goto out;
	}
	if (!sb_rd_is_int(r1) || r2->type != REDIS_REPLY_ARRAY ||
	    r2->elements % 2) {
		rc = sb_rd_bad_reply(s, r2, "list reservations");
		goto out;
	}
	if (r1->integer == 0) {
		rc = sb_rd_no_bank(s, bank);
		goto out;
	}
	for (i = 0; rc == SB_OK && i + 1 < r2->elements; i += 2) {
		const redisReply *item = r2->element[i],
				 *v = r2->element[i + 1];
		const char *nl;
		char *end;
		long long since;

		if (item->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    !(nl = memchr(v->str, '\n', v->len))) {
			rc = sb_rd_bad_reply(s, v, "list reservations");
			break;
		}
		since = strtoll(v->str, &end, 10);
		/* SINCE ":" STAMP once a recovery pass took it over */
		if (end < nl && *end == ':')
			(void)strtoll(end + 1, &end, 10);
		if (end != nl) {
			rc = sb_rd_bad_reply(s, v, "list reservations");
			break;
		}
		if (since <= older_than)
			rc = cb(item->str, nl + 1, since, payload);
	}
out:
	freeReplyObject(r1);
	freeReplyObject(r2);
	return rc;
}