/* Shared by the SQLite backend's own tests (tests/sqlite): a store opened
 * straight through the backend, so the slots can be called with the
 * times a test chooses, and raw SQL on the same file. */
#ifndef SB_SQ_TEST_H
#define SB_SQ_TEST_H

#include "check.h"
#include "storagebox/backend.h"

#include <sqlite3.h>

/* A store on the file @p path; its messages go to *msgbox (a memory box
 * made for it: CHECK prints its errmsg). NULL when it cannot open. */
sb_store *sq_open_store(const char *path, sb_box **msgbox);
/* Close both. */
void sq_close_store(sb_store *st, sb_box *msgbox);
/* Raw SQL on @p path through its own connection: run @p sql; with @p
 * out, the first column of the last row as an integer. SQLITE_OK or the
 * error, printed. */
int sq_raw(const char *path, const char *sql, long long *out);
/* A fresh file name under the build tree: @p name with a .db suffix, the
 * old file and its WAL removed. Static buffer, one per call site. */
const char *sq_fresh(char *buf, size_t n, const char *name);

#endif
