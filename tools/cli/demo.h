/* `storagebox demo`: the movie-store story (demo.c runs it,
 * demo_report.c checks the box law and tells what happened). */
#ifndef SB_CLI_DEMO_H
#define SB_CLI_DEMO_H

#include "storagebox/storagebox.h"

#include <stddef.h>

#define DEMO_CODES   30
#define DEMO_USERS   200
#define DEMO_PRESSES 3
#define DEMO_BANK    "vouchers"
#define DEMO_LEDGER  "customers"

/** The answer one press got. Each slot is written by one worker only. */
typedef struct {
	int rc;         /* SB_OK, SB_EMPTY, or an error */
	int is_new;     /* sb_item_is_new() of an SB_OK answer */
	unsigned start; /* shared counter when the press was made... */
	unsigned seq;   /* ...and when its answer arrived: two presses
	                    overlapped if each started before the other
	                    was answered */
	char *value;    /* copy of the code on SB_OK (owned) */
} demo_answer;

/** Everything the report needs. */
typedef struct {
	char codes[DEMO_CODES][16];
	char users[DEMO_USERS][16];
	demo_answer ans[DEMO_USERS][DEMO_PRESSES];
	int workers;
	unsigned long long seed;
	int holds;         /* --holds: the box office instead */
	const char *store; /* hidden --store URI (tests), else NULL */
	const char *uri;   /* the store, for the story */
	double seconds;
	char first_error[SB_ERRMSG_SIZE]; /* first failed press, if any */
} demo_run;

/** A fresh private directory (mkdtemp under $TMPDIR, else /tmp), or
 *  NULL with errno set. Caller frees. */
char *demo_tmpdir_make(void);

/** Remove the directory and the files in it (db, -wal, -shm). */
void demo_tmpdir_remove(const char *path);

/** "sqlite:..." URI of @p file in @p dir, or NULL. Caller frees. */
char *demo_uri(const char *dir, const char *file);

/** Check the law from @p run and from the store, print the story and
 *  the verdict. @return 0 if the law holds, 1 if not */
int demo_report(const demo_run *run, sb_box *box);

#endif
