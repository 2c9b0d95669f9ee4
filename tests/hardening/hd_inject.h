/* The injection test (hd_inject.c) and its per-backend views of the
 * server: each view makes sentinels outside the box before the run and
 * fingerprints everything outside the box, by talking to the server
 * directly (sqlite3, libpq, hiredis, libcurl + SigV4), never through
 * the library under test. */
#ifndef SB_HD_INJECT_H
#define SB_HD_INJECT_H

#include "hd.h"

typedef struct {
	const char *name;
	/* The store URI for the box (its own schema, prefix or database
	 * where the backend has one); @p arg is the program's third
	 * argument (SQLite: a directory). Caller frees. */
	char *(*box_uri)(const char *arg);
	/* Make the sentinels (after the box's schema exists). */
	void (*setup)(void);
	/* Everything outside the box, one line per table/key/row. */
	void (*fingerprint)(hd_lines *out);
	/* Remove what the run made (the box's data and the sentinels). */
	void (*cleanup)(void);
	/* Longest id and item the backend takes (DynamoDB: its key limit);
	 * names always get 64 KiB. */
	size_t long_len;
} hd_view;

extern const hd_view hd_view_sqlite, hd_view_postgresql, hd_view_redis,
	hd_view_dynamodb;

/* A tag unique to this run ("<hex time><pid>"), for names. */
const char *hd_run_tag(void);

#endif
