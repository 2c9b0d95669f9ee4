/* Shared by the holds crash tests (holds.c, holds_kill.c). */
#ifndef SB_CRASH_HOLDS_H
#define SB_CRASH_HOLDS_H

#include "crash.h"

/* A box on cenv's store and protocol, in this process (exits if none). */
sb_box *holds_box(void);
/* recover, then: conservation with reserved 0, export and export_holds
 * listing no item twice and as many as stats count. @p entries (may be
 * NULL) receives item -> id of both listings (t_map_free). */
sb_stats holds_laws(sb_box *box, const char *bank, const char *ledger,
                    uint64_t nitems, const char *what, t_map *entries);
/* The id's entry: SB_OK, a copy of its item, its deadline. */
int holds_lookup(sb_box *box, const char *ledger, const char *id, char **item,
                 int64_t *expires);
int hr_same_str(const char *a, const char *b);

#endif
