/* The fused hold's command (the fused claim is a hold with ttl 0), in
 * RESP, built by hand. It is the call every fetch makes: formatting its
 * arguments with hiredis (a printf-style length for each, a buffer grown
 * piece by piece) and making its key names every time cost more client
 * CPU than the rest of the call, on a machine whose cores the clients
 * share with the server. The part that only depends on (bank, ledger)
 * (EVALSHA, the SHA, the key count, the four keys) is built when the pair
 * changes and kept in the store; a call appends its four arguments. */
#include "redis_private.h"

#include <stdlib.h>
#include <string.h>

/* Room for @p more bytes in the buffer. */
static int reserve(sb_rd_store *s, size_t more)
{
	size_t need = s->hc.len + more, cap = s->hc.cap ? s->hc.cap : 256;
	char *b;

	if (need <= s->hc.cap)
		return SB_OK;
	while (cap < need)
		cap *= 2;
	if (!(b = realloc(s->hc.buf, cap)))
		return SB_ENOMEM;
	s->hc.buf = b;
	s->hc.cap = cap;
	return SB_OK;
}

/* "$" N "\r\n" at the end of the buffer (room reserved): by hand,
 * snprintf costs more than the rest of the command. */
static void header(sb_rd_store *s, size_t n)
{
	char d[24];
	int i = 0;

	do
		d[i++] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	s->hc.buf[s->hc.len++] = '$';
	while (i > 0)
		s->hc.buf[s->hc.len++] = d[--i];
	s->hc.buf[s->hc.len++] = '\r';
	s->hc.buf[s->hc.len++] = '\n';
}

/* "$LEN\r\n" + @p n bytes of @p p + "\r\n". */
static int bulk(sb_rd_store *s, const char *p, size_t n)
{
	if (reserve(s, n + 32) != SB_OK)
		return SB_ENOMEM;
	header(s, n);
	memcpy(s->hc.buf + s->hc.len, p, n);
	s->hc.len += n;
	memcpy(s->hc.buf + s->hc.len, "\r\n", 2);
	s->hc.len += 2;
	return SB_OK;
}

/* A key (tag, kind, ':', name) as a bulk string. */
static int bulk_key(sb_rd_store *s, char kind, const char *name)
{
	size_t nl = strlen(name), n = s->tag_len + 2 + nl;

	if (reserve(s, n + 32) != SB_OK)
		return SB_ENOMEM;
	header(s, n);
	memcpy(s->hc.buf + s->hc.len, s->tag, s->tag_len);
	s->hc.len += s->tag_len;
	s->hc.buf[s->hc.len++] = kind;
	s->hc.buf[s->hc.len++] = ':';
	memcpy(s->hc.buf + s->hc.len, name, nl);
	s->hc.len += nl;
	memcpy(s->hc.buf + s->hc.len, "\r\n", 2);
	s->hc.len += 2;
	return SB_OK;
}

void sb_rd_hold_cmd_free(sb_rd_store *s)
{
	free(s->hc.bank);
	free(s->hc.ledger);
	free(s->hc.buf);
	memset(&s->hc, 0, sizeof(s->hc));
}

/* EVALSHA SHA 4 and the keys in the script's order: ledger, held,
 * queue, state (redis_lua_hold.c). */
static int prefix(sb_rd_store *s, const char *bank, const char *ledger)
{
	/* 11 parts: EVALSHA, the SHA, the key count, 4 keys, 4 arguments. */
	static const char head[] = "*11\r\n$7\r\nEVALSHA\r\n";
	const char *sha = s->sha[SB_RD_SCRIPT_HOLD];

	sb_rd_hold_cmd_free(s);
	if (!(s->hc.bank = strdup(bank)) || !(s->hc.ledger = strdup(ledger)) ||
	    reserve(s, sizeof(head)) != SB_OK)
		goto nomem;
	memcpy(s->hc.buf, head, sizeof(head) - 1);
	s->hc.len = sizeof(head) - 1;
	if (bulk(s, sha, strlen(sha)) != SB_OK || bulk(s, "4", 1) != SB_OK ||
	    bulk_key(s, SB_RD_KEY_LEDGER, ledger) != SB_OK ||
	    bulk_key(s, SB_RD_KEY_HELD, ledger) != SB_OK ||
	    bulk_key(s, SB_RD_KEY_QUEUE, bank) != SB_OK ||
	    bulk_key(s, SB_RD_KEY_STATE, bank) != SB_OK)
		goto nomem;
	s->hc.prefix = s->hc.len;
	return SB_OK;
nomem:
	sb_rd_hold_cmd_free(s);
	return SB_ENOMEM;
}

int sb_rd_hold_cmd(sb_rd_store *s, const char *bank, const char *ledger,
                   const char *id, const char *token, int64_t ttl_ms)
{
	char ttl[24];
	size_t tl = ttl_ms > 0 ? sb_rd_i64(ttl, ttl_ms) : 1;

	if (ttl_ms <= 0)
		ttl[0] = '0';

	if (!s->hc.bank || strcmp(s->hc.bank, bank) != 0 ||
	    strcmp(s->hc.ledger, ledger) != 0) {
		if (prefix(s, bank, ledger) != SB_OK)
			return SB_ENOMEM;
	}
	s->hc.len = s->hc.prefix;
	if (bulk(s, id, strlen(id)) != SB_OK ||
	    bulk(s, bank, strlen(bank)) != SB_OK ||
	    bulk(s, token, strlen(token)) != SB_OK || bulk(s, ttl, tl) != SB_OK)
		return SB_ENOMEM;
	return SB_OK;
}
