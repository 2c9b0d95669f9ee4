/* DynamoDB backend: libcurl loaded on first open (ddb_libcurl.h). */
#define SB_DDB_LIBCURL_IMPL
#include "ddb_private.h"

#include "dlib.h"
#include "sb_config.h"

#include <dlfcn.h>
#include <stdio.h>

sb_ddb_curl_api sb_ddb_curl;

static int resolve(void *h, char *err, size_t errlen)
{
	/* dlsym's void * to a function pointer: POSIX requires it to work. */
#define SB_DDB_CURL_RESOLVE(f)                                                 \
	if (!(sb_ddb_curl.f##_fn = (__typeof__(sb_ddb_curl.f##_fn))            \
	              dlsym(h, #f))) {                                         \
		snprintf(err, errlen, "it has no %s (libcurl 7.86 or later?)", \
		         #f);                                                  \
		return -1;                                                     \
	}
	SB_DDB_CURL_FUNCS(SB_DDB_CURL_RESOLVE)
#undef SB_DDB_CURL_RESOLVE
	return 0;
}

/* The libcurl the build linked against (meson.build: its soname). */
static sb_dlib libcurl = { SB_LIBCURL_SONAME, resolve, 0, "" };

int sb_ddb_curl_load(sb_box *box)
{
	return sb_dlib_load(box, &libcurl, "DynamoDB");
}
