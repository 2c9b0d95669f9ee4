/* Backend client libraries loaded on first use (dlib.h says why). */
#include "dlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t dlib_lock = PTHREAD_MUTEX_INITIALIZER;

static void load_locked(sb_dlib *lib)
{
	/* RTLD_LOCAL: its symbols stay out of the global scope, where they
	 * could bind a plugin's or the application's references. Never
	 * closed: the function table points into it for the process's
	 * life. */
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		const char *why = dlerror();
		snprintf(lib->err, sizeof lib->err, "%s",
		         why ? why : "dlopen failed");
		__atomic_store_n(&lib->state, -1, __ATOMIC_RELEASE);
		return;
	}
	/* Released after the table is filled: a thread that sees 1 without
	 * the lock sees the table too. */
	__atomic_store_n(&lib->state,
	                 lib->resolve(h, lib->err, sizeof lib->err) ? -1 : 1,
	                 __ATOMIC_RELEASE);
}

int sb_dlib_load(sb_box *box, sb_dlib *lib, const char *who)
{
	int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);

	if (state == 0) {
		pthread_mutex_lock(&dlib_lock);
		if (lib->state == 0)
			load_locked(lib);
		state = lib->state;
		pthread_mutex_unlock(&dlib_lock);
	}
	if (state > 0)
		return SB_OK;
	return sb_seterr(box, SB_ENOTSUPPORTED,
	                 "%s backend: cannot load %s (install it, or use "
	                 "another store): %s",
	                 who, lib->soname, lib->err);
}
