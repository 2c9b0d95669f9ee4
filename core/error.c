/* Error codes and the per-box message (STYLE §4: a code, a message, no
 * printing). The message lives inside the box, so no thread-local state. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

const char *sb_strerror(int code)
{
	switch (code) {
	case SB_OK: return "success";
	case SB_EMPTY: return "the bank is empty";
	case SB_ERROR: return "error";
	case SB_ENOTFOUND: return "not found";
	case SB_ECONFLICT: return "conflicting write";
	case SB_EURI: return "bad URI";
	case SB_ENOTSUPPORTED: return "not supported by this store";
	case SB_EBACKEND: return "store error";
	case SB_ETIMEOUT: return "store timed out";
	case SB_EINVALID: return "invalid argument";
	case SB_ENOMEM: return "out of memory";
	case SB_EBUSY: return "store is busy";
	case SB_ECONNECT: return "cannot reach the store";
	case SB_EAUTH: return "authentication failed";
	case SB_EEXPIRED: return "the hold lapsed";
	default: return "unknown result code";
	}
}

int sb_vseterr(sb_box *box, int code, const char *fmt, va_list ap)
{
	if (box) {
		int n = vsnprintf(box->errmsg, sizeof(box->errmsg), fmt, ap);
		if (n < 0)
			snprintf(box->errmsg, sizeof(box->errmsg), "%s",
			         sb_strerror(code));
	}
	return code;
}

int sb_seterr(sb_box *box, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vseterr(box, code, fmt, ap);
	va_end(ap);
	return code;
}

void sb_clearerr(sb_box *box)
{
	if (box)
		box->errmsg[0] = '\0';
}

const char *sb_box_errmsg(const sb_box *box)
{
	return box ? box->errmsg : "no box";
}

const char *sb_version(void)
{
	return SB_VERSION;
}
