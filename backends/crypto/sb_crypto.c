/* libcrypto loaded on first use (sb_crypto.h). */
#define SB_CRYPTO_IMPL
#include "sb_crypto.h"

#include "dlib.h"
#include "sb_config.h"

#include <dlfcn.h>
#include <stdio.h>

sb_crypto_api sb_crypto;

static int resolve(void *h, char *err, size_t errlen)
{
	/* dlsym's void * to a function pointer: POSIX requires it to work. */
#define SB_CRYPTO_RESOLVE(f)                                                    \
	if (!(sb_crypto.f##_fn = (__typeof__(sb_crypto.f##_fn))dlsym(h, #f))) { \
		snprintf(err, errlen, "it has no %s", #f);                      \
		return -1;                                                      \
	}
	SB_CRYPTO_FUNCS(SB_CRYPTO_RESOLVE)
#undef SB_CRYPTO_RESOLVE
	return 0;
}

/* The libcrypto the build linked against (meson.build: its soname). */
static sb_dlib libcrypto = { SB_LIBCRYPTO_SONAME, resolve, 0, "" };

int sb_crypto_load(sb_box *box, const char *who)
{
	return sb_dlib_load(box, &libcrypto, who);
}
