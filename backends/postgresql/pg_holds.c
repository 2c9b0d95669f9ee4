/* PostgreSQL backend: the bank's hold slots (take_held, move, list), the
 * generic path's steps for holds and releases. States in pg_schema.c. */
#include "pg_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb_pg_take_held(sb_item **out, sb_store *st, const char *bank,
                    const char *token, int64_t until_ms)
{
	sb_pg_store *s = SB_PG(st);
	char until[24], hint[24];
	const char *param[4] = { bank, token, until, hint };
	PGresult *res;
	int rc, status;

	*out = NULL;
	snprintf(until, sizeof until, "%lld", (long long)until_ms);
	snprintf(hint, sizeof hint, "%lld", sb_pg_hint_get(s, bank));
	rc = sb_pg_exec(&res, s, SB_PG_TAKE_HELD, 4, param, "take held");
	if (rc != SB_OK)
		return rc;
	status = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	if (status == 0) {
		sb_pg_hint_set(s, bank,
		               strtoll(PQgetvalue(res, 0, 1), NULL, 10));
		*out = sb_item_newn(PQgetvalue(res, 0, 2),
		                    (size_t)PQgetlength(res, 0, 2), bank,
		                    strlen(bank), 0);
		if (*out)
			sb_item_set_expires(*out, until_ms);
		rc = *out ? SB_OK : sb_pg_nomem(s, "take held");
	} else if (status == 2) {
		rc = SB_EMPTY;
	} else if (status == 3) {
		rc = sb_pg_no_bank(s, bank);
	} else {
		rc = sb_seterr(s->base.box, SB_EBACKEND,
		               "postgresql: take held on %s: unexpected answer "
		               "from sb_take_held()",
		               s->where);
	}
	PQclear(res);
	return rc;
}

/* One bit of the SB_STATE_* set, as move() takes for its target. */
static int one_state(unsigned int to)
{
	return to != 0 && (to & (to - 1)) == 0 && to <= SB_STATE_RECLAIMING;
}

/* move, and move_if when @p expect is set. */
static int pg_move(sb_store *st, const char *bank, const char *item,
                   const char *token, unsigned int from, unsigned int to,
                   int64_t until_ms, const int64_t *expect)
{
	sb_pg_store *s = SB_PG(st);
	char f[12], t[12], until[24], now[24], exp[24];
	const char *param[8] = { bank, item, token, f, t, until, now, exp };
	PGresult *res;
	int rc, status;

	if (!one_state(to))
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "postgresql: move: target state %#x is not one "
		                 "state",
		                 to);
	snprintf(f, sizeof f, "%u", from);
	snprintf(t, sizeof t, "%u", to);
	snprintf(until, sizeof until, "%lld", (long long)until_ms);
	/* The clock the core set and listed generic deadlines by. */
	snprintf(now, sizeof now, "%lld", (long long)sb_now_ms());
	snprintf(exp, sizeof exp, "%lld", expect ? (long long)*expect : 0LL);
	if ((rc = sb_pg_exec(&res, s, expect ? SB_PG_MOVE_IF : SB_PG_MOVE,
	                     expect ? 8 : 7, param, "move")) != SB_OK)
		return rc;
	/* move_if: no row when the stamp is not the one expected. */
	status = PQntuples(res) == 1         ? atoi(PQgetvalue(res, 0, 0))
	         : expect && !PQntuples(res) ? 1
	                                     : -1;
	PQclear(res);
	if (status == 0)
		return SB_OK;
	if (status == 1)
		return sb_seterr(s->base.box, SB_ECONFLICT,
		                 "postgresql: move: item '%.200s' of bank "
		                 "'%.200s' on %s is not in states %#x with this "
		                 "token",
		                 item, bank, s->where, from);
	return sb_seterr(s->base.box, SB_EBACKEND,
	                 "postgresql: move on %s: unexpected answer from "
	                 "sb_move()",
	                 s->where);
}

int sb_pg_move(sb_store *st, const char *bank, const char *item,
               const char *token, unsigned int from, unsigned int to,
               int64_t until_ms)
{
	return pg_move(st, bank, item, token, from, to, until_ms, NULL);
}

int sb_pg_move_if(sb_store *st, const char *bank, const char *item,
                  const char *token, unsigned int from, unsigned int to,
                  int64_t until_ms, int64_t expect_ms)
{
	return pg_move(st, bank, item, token, from, to, until_ms, &expect_ms);
}

typedef struct {
	sb_bank_item_cb cb;
	void *payload;
} list_ctx;

static int list_row(PGresult *res, void *payload)
{
	list_ctx *c = payload;
	unsigned int state = (unsigned int)atoi(PQgetvalue(res, 0, 2));
	int64_t ms = 0;

	/* the deadline of a hold, the stamp of a release */
	if (state & (SB_STATE_HELD | SB_STATE_RECLAIMING | SB_STATE_RESTOCKING |
	             SB_STATE_RETIRING))
		ms = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	return c->cb(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), state, ms,
	             c->payload);
}

int sb_pg_list(sb_store *st, const char *bank, unsigned int states,
               int64_t until_le, sb_bank_item_cb cb, void *payload)
{
	sb_pg_store *s = SB_PG(st);
	char bid[24], set[12], until[24];
	const char *param[3] = { bid, set, until };
	list_ctx c = { cb, payload };
	int rc = sb_pg_bank_id(bid, s, bank, "list");

	if (rc == SB_ENOTFOUND)
		return sb_pg_no_bank(s, bank);
	if (rc != SB_OK)
		return rc;
	/* Only these states are listed (backend.h): no other row matches. */
	states &= SB_STATE_HELD | SB_STATE_RESTOCKING | SB_STATE_RETIRING |
	          SB_STATE_RECLAIMING;
	snprintf(set, sizeof set, "%u", states);
	snprintf(until, sizeof until, "%lld", (long long)until_le);
	return sb_pg_each(s, SB_PG_LIST, 3, param, list_row, &c, "list");
}
