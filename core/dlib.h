/* A backend's client library loaded on first use (dlopen), not linked:
 * a process that never opens a store of that backend never loads it.
 * libpq and libcurl each pull in about 25 more libraries (TLS, Kerberos,
 * LDAP...), and loading them cost every `storagebox` process ~20 ms of
 * CPU before main(), most of a SQLite fetch. Private to the library. */
#ifndef SB_DLIB_H
#define SB_DLIB_H

#include "storagebox/backend.h"

#include <stddef.h>

typedef struct sb_dlib {
	const char *soname; /* "libpq.so.5": the ABI the headers describe */
	/* Fill the caller's function table from @p handle (dlsym); 0, or
	 * -1 with the reason in @p err. */
	int (*resolve)(void *handle, char *err, size_t errlen);
	int state;     /* private: 0 not tried, 1 loaded, -1 failed */
	char err[256]; /* private: why it failed */
} sb_dlib;

/* Load @p lib once per process (thread-safe; later calls cost an atomic
 * load). SB_OK, or SB_ENOTSUPPORTED with a message on @p box naming the
 * library, the backend @p who needs it, and why (a failure is kept: the
 * next open fails the same). */
int sb_dlib_load(sb_box *box, sb_dlib *lib, const char *who);

#endif
