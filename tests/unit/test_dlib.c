/* core/dlib.c: a backend's client library loaded on first use. A library
 * that is missing, or lacks a function, gives a clear SB_ENOTSUPPORTED
 * naming the library and the backend (and keeps failing the same); one
 * that loads is loaded once, also when threads race for it. */
#include "dlib.h"
#include "internal.h"
#include "../common/check.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

static size_t (*strlen_fn)(const char *);
static int resolves;

static int resolve_strlen(void *h, char *err, size_t errlen)
{
	__atomic_add_fetch(&resolves, 1, __ATOMIC_RELAXED);
	if (!(strlen_fn = (size_t(*)(const char *))dlsym(h, "strlen"))) {
		strncpy(err, "it has no strlen", errlen - 1);
		return -1;
	}
	return 0;
}

static int resolve_missing(void *h, char *err, size_t errlen)
{
	if (!dlsym(h, "sb_no_such_function")) {
		strncpy(err, "it has no sb_no_such_function", errlen - 1);
		return -1;
	}
	return 0;
}

static sb_dlib racy = { "libc.so.6", resolve_strlen, 0, "" };

static void *race(void *p)
{
	return (void *)(intptr_t)sb_dlib_load(p, &racy, "Test");
}

int main(void)
{
	sb_dlib missing = { "libsb-no-such-library.so.9", resolve_strlen, 0,
		            "" };
	sb_dlib lacking = { "libc.so.6", resolve_missing, 0, "" };
	sb_box *box = NULL, *boxes[8];
	pthread_t t[8];
	char err[SB_ERRMSG_SIZE];
	int i;

	CHECK(NULL,
	      sb_box_open(&box, "memory:dlib", NULL, err, sizeof err) == SB_OK);
	if (!box)
		return t_summary();

	for (i = 0; i < 2; i++) { /* the failure is kept */
		CHECK_RC(box, sb_dlib_load(box, &missing, "Test"),
		         SB_ENOTSUPPORTED);
		CHECK(box, strstr(sb_box_errmsg(box), "Test backend") &&
		                   strstr(sb_box_errmsg(box),
		                          "libsb-no-such-library.so.9"));
	}
	CHECK(NULL, resolves == 0);
	CHECK_RC(box, sb_dlib_load(box, &lacking, "Test"), SB_ENOTSUPPORTED);
	CHECK(box, strstr(sb_box_errmsg(box), "it has no sb_no_such_function"));

	/* Loaded once, whichever thread comes first. */
	for (i = 0; i < 8; i++) {
		boxes[i] = NULL;
		CHECK(NULL, sb_box_open(&boxes[i], "memory:dlib", NULL, err,
		                        sizeof err) == SB_OK);
		CHECK(NULL, pthread_create(&t[i], NULL, race, boxes[i]) == 0);
	}
	for (i = 0; i < 8; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		CHECK(boxes[i], (intptr_t)rc == SB_OK);
		sb_box_close(boxes[i]);
	}
	CHECK(NULL, resolves == 1 && strlen_fn && strlen_fn("abc") == 3);
	CHECK_RC(box, sb_dlib_load(box, &racy, "Test"), SB_OK);
	CHECK(NULL, resolves == 1);
	sb_box_close(box);
	return t_summary();
}
