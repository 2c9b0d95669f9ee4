/* SHA-256 of a bank or ledger name whose text is not a valid DynamoDB
 * table name: the table is then "sbh." + the hex digest. OpenSSL's
 * libcrypto computes it (the same library libcurl uses for TLS). */
#include "ddb_private.h"

#include <string.h>

void sb_ddb_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	/* EVP_Digest only fails when out of memory: then the name maps to
	 * the digest of nothing, which open reports as a table error rather
	 * than touching some other bank. */
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		memset(md, 0, sizeof(md));
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}
