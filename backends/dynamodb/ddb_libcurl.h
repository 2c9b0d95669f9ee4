/* libcurl, loaded on first open (core/dlib.h says why): the functions the
 * backend calls, through a table. Every curl_xxx() call in this backend's
 * files goes through the macros below, unchanged in the source. */
#ifndef SB_DDB_LIBCURL_H
#define SB_DDB_LIBCURL_H

/* curl's GCC type checks wrap curl_easy_setopt and curl_easy_getinfo in
 * macros that call the real symbols, which this build does not link (the
 * cost: no compile-time check of setopt's argument types). */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "storagebox/backend.h"

/* clang-format off */
#define SB_DDB_CURL_FUNCS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_getdate) \
	X(curl_global_init) \
	X(curl_multi_add_handle) \
	X(curl_multi_cleanup) \
	X(curl_multi_info_read) \
	X(curl_multi_init) \
	X(curl_multi_perform) \
	X(curl_multi_poll) \
	X(curl_multi_remove_handle) \
	X(curl_slist_append) \
	X(curl_slist_free_all)
/* clang-format on */

typedef struct {
#define SB_DDB_CURL_SLOT(f) __typeof__(f) *f##_fn;
	SB_DDB_CURL_FUNCS(SB_DDB_CURL_SLOT)
#undef SB_DDB_CURL_SLOT
} sb_ddb_curl_api;

extern sb_ddb_curl_api sb_ddb_curl;

/* Load libcurl (once per process): SB_OK, or SB_ENOTSUPPORTED with a
 * message on @p box. Before any curl_xxx() call. */
int sb_ddb_curl_load(sb_box *box);

#ifndef SB_DDB_LIBCURL_IMPL
/* curl.h's argument-count guards (same name, same call) go first. */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#define curl_easy_cleanup        (*sb_ddb_curl.curl_easy_cleanup_fn)
#define curl_easy_getinfo        (*sb_ddb_curl.curl_easy_getinfo_fn)
#define curl_easy_init           (*sb_ddb_curl.curl_easy_init_fn)
#define curl_easy_perform        (*sb_ddb_curl.curl_easy_perform_fn)
#define curl_easy_setopt         (*sb_ddb_curl.curl_easy_setopt_fn)
#define curl_easy_strerror       (*sb_ddb_curl.curl_easy_strerror_fn)
#define curl_getdate             (*sb_ddb_curl.curl_getdate_fn)
#define curl_global_init         (*sb_ddb_curl.curl_global_init_fn)
#define curl_multi_add_handle    (*sb_ddb_curl.curl_multi_add_handle_fn)
#define curl_multi_cleanup       (*sb_ddb_curl.curl_multi_cleanup_fn)
#define curl_multi_info_read     (*sb_ddb_curl.curl_multi_info_read_fn)
#define curl_multi_init          (*sb_ddb_curl.curl_multi_init_fn)
#define curl_multi_perform       (*sb_ddb_curl.curl_multi_perform_fn)
#define curl_multi_poll          (*sb_ddb_curl.curl_multi_poll_fn)
#define curl_multi_remove_handle (*sb_ddb_curl.curl_multi_remove_handle_fn)
#define curl_slist_append        (*sb_ddb_curl.curl_slist_append_fn)
#define curl_slist_free_all      (*sb_ddb_curl.curl_slist_free_all_fn)
#endif

#endif
