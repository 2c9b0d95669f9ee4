/* PostgreSQL backend: libpq loaded on first open (pg_libpq.h). */
#define SB_PG_LIBPQ_IMPL
#include "pg_private.h"

#include "dlib.h"
#include "sb_config.h"

#include <dlfcn.h>
#include <stdio.h>

sb_pg_libpq_api sb_pg_libpq;

static int resolve(void *h, char *err, size_t errlen)
{
	/* dlsym's void * to a function pointer: POSIX requires it to work. */
#define SB_PG_LIBPQ_RESOLVE(f)                                             \
	if (!(sb_pg_libpq.f##_fn = (__typeof__(sb_pg_libpq.f##_fn))        \
	              dlsym(h, #f))) {                                     \
		snprintf(err, errlen, "it has no %s (libpq 10 or later?)", \
		         #f);                                              \
		return -1;                                                 \
	}
	SB_PG_LIBPQ_FUNCS(SB_PG_LIBPQ_RESOLVE)
#undef SB_PG_LIBPQ_RESOLVE
	return 0;
}

/* The libpq the build linked against (meson.build: its soname). */
static sb_dlib libpq = { SB_LIBPQ_SONAME, resolve, 0, "" };

int sb_pg_libpq_load(sb_box *box)
{
	return sb_dlib_load(box, &libpq, "PostgreSQL");
}
