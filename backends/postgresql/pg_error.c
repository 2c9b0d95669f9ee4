/* PostgreSQL backend: failures to sb_error codes and messages. A message
 * names the operation, host:port/db and the SQLSTATE; libpq never prints
 * the password, and server text is scrubbed of it anyway. */
#include "pg_private.h"

#include <string.h>

/* Copy @p msg into @p buf on one line, with the password masked. */
static void clean_msg(const sb_pg_store *s, const char *msg, char *buf,
                      size_t size)
{
	size_t n = 0, pl = s->password ? strlen(s->password) : 0;
	char c;

	if (!msg)
		msg = "";
	while (*msg && n + 1 < size) {
		/* Short passwords would mask ordinary words; libpq never
		 * echoes them anyway: this is a second line of defence. */
		if (pl >= 4 && strncmp(msg, s->password, pl) == 0) {
			size_t k;
			for (k = 0; k < 3 && n + 1 < size; k++)
				buf[n++] = '*';
			msg += pl;
			continue;
		}
		c = (*msg == '\n' || *msg == '\r' || *msg == '\t') ? ' ' : *msg;
		msg++;
		if (c == ' ' && (n == 0 || buf[n - 1] == ' '))
			continue; /* one line, single spaces */
		buf[n++] = c;
	}
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}

static int is_auth_failure(PGconn *conn, const char *msg)
{
	if (conn && PQconnectionNeedsPassword(conn))
		return 1;
	/* libpq gives no SQLSTATE for a refused connection: match the
	 * server's (English) FATAL text of 28P01 and 28000. */
	return strstr(msg, "authentication failed") != NULL ||
	       strstr(msg, "no pg_hba.conf entry") != NULL ||
	       (strstr(msg, "role \"") && strstr(msg, "does not exist"));
}

int sb_pg_refused(sb_pg_store *s, char *msg, size_t size)
{
	clean_msg(s, PQerrorMessage(s->conn), msg, size);
	return is_auth_failure(s->conn, msg) ? SB_EAUTH : SB_ECONNECT;
}

int sb_pg_nomem(sb_pg_store *s, const char *op)
{
	return sb_seterr(s->base.box, SB_ENOMEM,
	                 "postgresql: %s on %s: out of memory", op, s->where);
}

int sb_pg_no_bank(sb_pg_store *s, const char *bank)
{
	return sb_seterr(s->base.box, SB_ENOTFOUND,
	                 "postgresql: no bank '%.200s' in schema \"%s\" on %s",
	                 bank, s->schema, s->where);
}

int sb_pg_fail(sb_pg_store *s, PGresult *res, const char *op)
{
	char msg[384];
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
	                        : NULL;
	const char *text = res ? PQresultErrorField(res,
	                                            PG_DIAG_MESSAGE_PRIMARY)
	                       : NULL;
	int code = SB_EBACKEND;

	clean_msg(s, text ? text : PQerrorMessage(s->conn), msg, sizeof msg);
	if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
		s->broken = 1;
		return sb_seterr(s->base.box, SB_ECONNECT,
		                 "postgresql: connection to %s lost during %s "
		                 "(the next call reconnects)%s%s%s: %s",
		                 s->where, op, state ? " (SQLSTATE " : "",
		                 state ? state : "", state ? ")" : "", msg);
	}
	if (!state)
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "postgresql: %s failed on %s: %s", op,
		                 s->where, msg);
	if (strcmp(state, "57014") == 0)
		return sb_seterr(s->base.box, SB_ETIMEOUT,
		                 "postgresql: %s on %s: canceled by statement "
		                 "timeout (SQLSTATE 57014): %s",
		                 op, s->where, msg);
	if (strncmp(state, "28", 2) == 0)
		code = SB_EAUTH;
	else if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	         strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
		code = SB_ECONNECT;
	else if (strcmp(state, "55P03") == 0)
		code = SB_EBUSY;
	else if (strcmp(state, "53200") == 0)
		code = SB_ENOMEM;
	return sb_seterr(s->base.box, code,
	                 "postgresql: %s failed on %s (SQLSTATE %s): %s", op,
	                 s->where, state, msg);
}
