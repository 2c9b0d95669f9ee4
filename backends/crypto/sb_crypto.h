/* libcrypto (SHA-256, HMAC), loaded on first open of a backend that needs
 * it (PostgreSQL's add, DynamoDB's signing and table names; core/dlib.h
 * says why). Include instead of <openssl/evp.h> and <openssl/hmac.h>:
 * the calls go through the table below, unchanged in the source. */
#ifndef SB_CRYPTO_H
#define SB_CRYPTO_H

#include "storagebox/backend.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define SB_CRYPTO_FUNCS_3(X) X(EVP_MD_fetch) X(EVP_MD_free)
#else
#define SB_CRYPTO_FUNCS_3(X)
#endif
/* clang-format off */
#define SB_CRYPTO_FUNCS(X) \
	X(EVP_Digest) \
	X(EVP_DigestInit_ex) \
	X(EVP_DigestUpdate) \
	X(EVP_DigestFinal_ex) \
	X(EVP_MD_CTX_new) \
	X(EVP_MD_CTX_free) \
	X(EVP_sha256) \
	X(HMAC) \
	SB_CRYPTO_FUNCS_3(X)
/* clang-format on */

typedef struct {
#define SB_CRYPTO_SLOT(f) __typeof__(f) *f##_fn;
	SB_CRYPTO_FUNCS(SB_CRYPTO_SLOT)
#undef SB_CRYPTO_SLOT
} sb_crypto_api;

extern sb_crypto_api sb_crypto;

/* Load libcrypto (once per process): SB_OK, or SB_ENOTSUPPORTED with a
 * message on @p box naming the backend @p who. Before any call below. */
int sb_crypto_load(sb_box *box, const char *who);

#ifndef SB_CRYPTO_IMPL
#define EVP_Digest         (*sb_crypto.EVP_Digest_fn)
#define EVP_DigestInit_ex  (*sb_crypto.EVP_DigestInit_ex_fn)
#define EVP_DigestUpdate   (*sb_crypto.EVP_DigestUpdate_fn)
#define EVP_DigestFinal_ex (*sb_crypto.EVP_DigestFinal_ex_fn)
#define EVP_MD_CTX_new     (*sb_crypto.EVP_MD_CTX_new_fn)
#define EVP_MD_CTX_free    (*sb_crypto.EVP_MD_CTX_free_fn)
#define EVP_sha256         (*sb_crypto.EVP_sha256_fn)
#define HMAC               (*sb_crypto.HMAC_fn)
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define EVP_MD_fetch (*sb_crypto.EVP_MD_fetch_fn)
#define EVP_MD_free  (*sb_crypto.EVP_MD_free_fn)
#endif
#endif

#endif
