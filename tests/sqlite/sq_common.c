/* tests/sqlite: what its programs share (sq_test.h). */
#include "sq_test.h"
#include "internal.h" /* sb_uri_parse: the URI as the core gives it */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

sb_store *sq_open_store(const char *path, sb_box **msgbox)
{
	char text[600], err[256];
	sb_uri *uri = NULL;
	sb_store *st = NULL;

	*msgbox = NULL;
	if (sb_box_open(msgbox, "memory:sq-test-messages", NULL, err,
	                sizeof err) != SB_OK) {
		fprintf(stderr, "memory box: %s\n", err);
		return NULL;
	}
	snprintf(text, sizeof text, "sqlite:%s", path);
	if (sb_uri_parse(&uri, text, err, sizeof err) != SB_OK) {
		fprintf(stderr, "uri %s: %s\n", text, err);
		return NULL;
	}
	if (sb_backend_find("sqlite")->open(&st, uri, *msgbox) != SB_OK) {
		fprintf(stderr, "open %s: %s\n", text, sb_box_errmsg(*msgbox));
		st = NULL;
	} else {
		st->box = *msgbox;
		if (st->ops->init(st) != SB_OK) {
			fprintf(stderr, "init %s: %s\n", text,
			        sb_box_errmsg(*msgbox));
			st->ops->close(st);
			st = NULL;
		}
	}
	sb_uri_free(uri);
	return st;
}

void sq_close_store(sb_store *st, sb_box *msgbox)
{
	if (st)
		st->ops->close(st);
	sb_box_close(msgbox);
}

static int sq_first_col(void *payload, int n, char **vals, char **names)
{
	(void)names;
	if (payload && n > 0 && vals[0])
		*(long long *)payload = atoll(vals[0]);
	return 0;
}

int sq_raw(const char *path, const char *sql, long long *out)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, sql, sq_first_col, out, &msg);
	}
	if (rc != SQLITE_OK)
		fprintf(stderr, "sqlite %s: %s: %s\n", path, sql,
		        msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc;
}

const char *sq_fresh(char *buf, size_t n, const char *name)
{
	char side[700];

	snprintf(buf, n, "%s.db", name);
	unlink(buf);
	snprintf(side, sizeof side, "%s-wal", buf);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", buf);
	unlink(side);
	return buf;
}
