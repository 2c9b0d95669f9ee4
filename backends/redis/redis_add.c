/* Add, the Redis backend's bulk write: up to SB_RD_ADD_CHUNK items are one
 * call of the add script (atomic by itself); more are chunks of it in one
 * MULTI/EXEC, so the whole call is applied at once or not at all. */
#include "redis_private.h"

#include <stdlib.h>
#include <string.h>

/* Fill argv[3..] of one add chunk: 3 keys, the bank, the items. */
static void chunk_args(const char **argv, size_t *lens,
                       const sb_rd_bank_keys *k, const char *bank,
                       const char *const *items, size_t n)
{
	size_t i;

	sb_rd_bank_keys_args(argv + 3, lens + 3, k, 0, 3);
	argv[6] = bank;
	lens[6] = strlen(bank);
	for (i = 0; i < n; i++) {
		argv[7 + i] = items[i];
		lens[7 + i] = strlen(items[i]);
	}
}

/* {added, skipped} of one chunk of @p n items: the two must sum to n (a
 * reply that does not is not our script's; the caller reports them). */
static int chunk_counts(sb_rd_store *s, const redisReply *r, size_t n,
                        uint64_t *added, uint64_t *skipped, const char *op)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    !sb_rd_is_int(r->element[0]) || !sb_rd_is_int(r->element[1]) ||
	    r->element[0]->integer < 0 || r->element[1]->integer < 0 ||
	    (uint64_t)r->element[0]->integer > n ||
	    (uint64_t)r->element[1]->integer !=
	            n - (uint64_t)r->element[0]->integer)
		return sb_rd_bad_reply(s, r, op);
	*added += (uint64_t)r->element[0]->integer;
	*skipped += (uint64_t)r->element[1]->integer;
	return SB_OK;
}

/* Up to SB_RD_ADD_CHUNK items: one script call, atomic by itself. */
static int add_one(uint64_t *added, uint64_t *skipped, sb_rd_store *s,
                   const sb_rd_bank_keys *k, const char *bank,
                   const char *const *items, size_t n)
{
	const char **argv = malloc((7 + n) * sizeof(*argv));
	size_t *lens = malloc((7 + n) * sizeof(*lens));
	redisReply *r = NULL;
	int rc;

	if (!argv || !lens) {
		free(argv);
		free(lens);
		return sb_rd_nomem(s, "add");
	}
	chunk_args(argv, lens, k, bank, items, n);
	rc = sb_rd_eval(&r, s, SB_RD_SCRIPT_ADD, 3, 1 + (int)n, argv, lens,
	                "add");
	if (rc == SB_OK)
		rc = chunk_counts(s, r, n, added, skipped, "add");
	freeReplyObject(r);
	free(argv);
	free(lens);
	return rc;
}

/* Send MULTI, one EVALSHA per chunk (EVAL with the source if
 * @p use_eval), EXEC, all pipelined, then read the replies. *noscript = 1
 * when the chunks failed with NOSCRIPT (then none ran: no SCRIPT FLUSH
 * can run inside EXEC). */
static int add_multi_once(uint64_t *added, uint64_t *skipped, int *noscript,
                          sb_rd_store *s, const sb_rd_bank_keys *k,
                          const char *bank, const char *const *items, size_t n,
                          int use_eval)
{
	size_t nchunks = (n + SB_RD_ADD_CHUNK - 1) / SB_RD_ADD_CHUNK, i;
	const char **argv = malloc((7 + SB_RD_ADD_CHUNK) * sizeof(*argv));
	size_t *lens = malloc((7 + SB_RD_ADD_CHUNK) * sizeof(*lens));
	const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
	size_t multi_len[1] = { 5 }, exec_len[1] = { 4 };
	redisReply *r = NULL;
	char nk[4] = "3";
	int rc, nos = 0, other = 0;

	*noscript = 0;
	if (!argv || !lens) {
		free(argv);
		free(lens);
		return sb_rd_nomem(s, "add");
	}
	rc = sb_rd_append(s, 1, multi, multi_len, "add");
	for (i = 0; rc == SB_OK && i < nchunks; i++) {
		size_t off = i * SB_RD_ADD_CHUNK;
		size_t m = n - off < SB_RD_ADD_CHUNK ? n - off
		                                     : SB_RD_ADD_CHUNK;
		argv[0] = use_eval ? "EVAL" : "EVALSHA";
		lens[0] = strlen(argv[0]);
		argv[1] = use_eval ? sb_rd_script_src[SB_RD_SCRIPT_ADD]
		                   : s->sha[SB_RD_SCRIPT_ADD];
		lens[1] = strlen(argv[1]);
		argv[2] = nk;
		lens[2] = 1;
		chunk_args(argv, lens, k, bank, items + off, m);
		rc = sb_rd_append(s, (int)(7 + m), argv, lens, "add");
	}
	if (rc == SB_OK)
		rc = sb_rd_append(s, 1, exec, exec_len, "add");
	free(argv);
	free(lens);
	if (rc != SB_OK) {
		sb_rd_drop(s); /* half a pipeline must never reach the server */
		return rc;
	}
	/* +OK for MULTI, +QUEUED per chunk, then EXEC's array. Read them
	 * all even after an error, to keep the connection in step. */
	for (i = 0; i < nchunks + 1; i++) {
		if ((rc = sb_rd_read(&r, s, "add")) != SB_OK)
			return rc;
		if (r->type == REDIS_REPLY_ERROR && !other)
			other = sb_rd_reply_error(s, r, "add (queueing)");
		freeReplyObject(r);
		r = NULL;
	}
	if ((rc = sb_rd_read(&r, s, "add")) != SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_ERROR) { /* EXECABORT: nothing ran */
		rc = sb_rd_reply_error(s, r, "add");
		freeReplyObject(r);
		return rc;
	}
	if (other) { /* cannot happen: a queueing error aborts EXEC */
		freeReplyObject(r);
		return other;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != nchunks) {
		rc = sb_rd_bad_reply(s, r, "add");
		freeReplyObject(r);
		return rc;
	}
	for (i = 0; i < nchunks; i++)
		if (sb_rd_is_noscript(r->element[i]))
			nos++;
	if (nos == (int)nchunks) {
		*noscript = 1;
		freeReplyObject(r);
		return SB_OK;
	}
	for (i = 0; rc == SB_OK && i < nchunks; i++) {
		const redisReply *e = r->element[i];
		if (e->type == REDIS_REPLY_ERROR)
			rc = sb_seterr(s->base.box, SB_EBACKEND,
			               "redis: add on %s: chunk %zu of %zu failed "
			               "(the others were applied): %.300s",
			               s->where, i + 1, nchunks, e->str);
		else
			rc = chunk_counts(s, e,
			                  i + 1 < nchunks
			                          ? SB_RD_ADD_CHUNK
			                          : n - i * SB_RD_ADD_CHUNK,
			                  added, skipped, "add");
	}
	freeReplyObject(r);
	return rc;
}

/* More than one chunk: one MULTI/EXEC, so the whole call is applied at
 * once or not at all (the transaction is discarded if the connection
 * drops before EXEC; inside EXEC every chunk passes the same checks). */
static int add_multi(uint64_t *added, uint64_t *skipped, sb_rd_store *s,
                     const sb_rd_bank_keys *k, const char *bank,
                     const char *const *items, size_t n)
{
	int attempt, noscript = 0, rc;

	if (!s->sha[SB_RD_SCRIPT_ADD][0] &&
	    (rc = sb_rd_script_load(s, SB_RD_SCRIPT_ADD, "add")) != SB_OK)
		return rc;
	/* After NOSCRIPT, again with EVAL and the source (see sb_rd_eval). */
	for (attempt = 0; attempt < 2; attempt++) {
		*added = *skipped = 0;
		rc = add_multi_once(added, skipped, &noscript, s, k, bank,
		                    items, n, attempt);
		if (rc != SB_OK || !noscript)
			return rc;
	}
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "redis: add on %s: NOSCRIPT from EVAL", s->where);
}

int sb_rd_bank_add(uint64_t *added, uint64_t *skipped, sb_rd_store *s,
                   const char *bank, const char *const *items, size_t n)
{
	sb_rd_bank_keys k;
	int rc;

	*added = *skipped = 0;
	/* The core never sends more (it splits a batch by add_max): this
	 * guards a caller that bypasses it, as one oversized transaction
	 * would stall the server for every client, not just this one. */
	if (n > SB_RD_ADD_MAX)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "redis: add on %s: %zu items in one call, more "
		                 "than add_max (%d)",
		                 s->where, n, SB_RD_ADD_MAX);
	if ((rc = sb_rd_bank_keys_make(&k, s, bank, "add")) != SB_OK)
		return rc;
	if (n <= SB_RD_ADD_CHUNK)
		rc = add_one(added, skipped, s, &k, bank, items, n);
	else
		rc = add_multi(added, skipped, s, &k, bank, items, n);
	sb_rd_bank_keys_free(&k);
	if (rc != SB_OK)
		*added = *skipped = 0;
	return rc;
}
