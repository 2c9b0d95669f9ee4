/* SigV4 for DynamoDB requests (POST / with a JSON body), computed here
 * rather than by CURLOPT_AWS_SIGV4, for two reasons:
 *  - clock skew: the SDKs sign with the server's clock once an answer
 *    told them theirs is off. libcurl 7.88 does sign with a time given as
 *    an X-Amz-Date header, but then sends that header twice (fixed in
 *    later curl): AWS joins repeated headers with a comma, so the
 *    signature would not match;
 *  - refreshed credentials: key, secret and token change while a store
 *    lives, and the token is signed with the rest.
 * Signed headers: content-type, host, x-amz-date, x-amz-security-token
 * (when there is a token), x-amz-target. HMAC and SHA-256 come from
 * libcrypto, as for table names (ddb_sha256.c). */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SB_DDB_CONTENT_TYPE "application/x-amz-json-1.0"
#define SB_DDB_TARGET       "DynamoDB_20120810."
/* A skew error means our clock is off by minutes (DynamoDB allows 15):
 * a smaller difference from the server's Date is not the cause. */
#define SKEW_MIN_MS         (60 * 1000)

static void hex(const unsigned char *md, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hmac(const void *key, size_t klen, const char *msg,
                unsigned char out[32])
{
	unsigned int n = 0;

	return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
	            strlen(msg), out, &n) != NULL &&
	       n == 32;
}

static int control_char(const char *v)
{
	for (; v && *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

static int add(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (!n)
		return 0;
	*l = n;
	return 1;
}

int sb_ddb_sign(sb_ddb_store *s, struct curl_slist **out, const char *op,
                const char *body, size_t len)
{
	const sb_ddb_creds *c = &s->creds;
	char amzdate[17], date[9], body_hex[65], canon_hex[65], sig_hex[65];
	char *canon = NULL, *sts = NULL, *k0 = NULL, *line = NULL;
	unsigned char md[EVP_MAX_MD_SIZE], k1[32], k2[32];
	unsigned int mdlen = 0;
	const char *signed_h;
	size_t n;
	time_t t;
	struct tm tm;
	int rc = SB_ENOMEM;

	*out = NULL;
	if (!c->key || !c->secret || control_char(c->key) ||
	    control_char(c->secret) || control_char(c->token))
		return sb_seterr(s->base.box, SB_EAUTH,
		                 "DynamoDB at %s: the credentials from %s are "
		                 "empty or hold a control character",
		                 s->where, c->from[0] ? c->from : "nowhere");
	t = (time_t)((sb_ddb_wall_ms() + s->skew_ms) / 1000);
	if (!gmtime_r(&t, &tm))
		return sb_seterr(s->base.box, SB_ERROR,
		                 "DynamoDB at %s: no UTC time to sign with",
		                 s->where);
	strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	memcpy(date, amzdate, 8);
	date[8] = '\0';
	if (!EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		goto done;
	hex(md, 32, body_hex);
	signed_h = c->token ? "content-type;host;x-amz-date;"
	                      "x-amz-security-token;x-amz-target"
	                    : "content-type;host;x-amz-date;x-amz-target";
	/* Room for the longest of the canonical request and the header
	 * lines (the key and region go into Authorization). */
	n = strlen(s->host) + strlen(op) + strlen(c->key) + strlen(s->region) +
	    (c->token ? strlen(c->token) : 0) + 512;
	if (!(canon = malloc(n)) || !(sts = malloc(512)) || !(line = malloc(n)))
		goto done;
	snprintf(canon, n,
	         "POST\n/\n\ncontent-type:%s\nhost:%s\nx-amz-date:%s\n"
	         "%s%s%sx-amz-target:%s%s\n\n%s\n%s",
	         SB_DDB_CONTENT_TYPE, s->host, amzdate,
	         c->token ? "x-amz-security-token:" : "",
	         c->token ? c->token : "", c->token ? "\n" : "", SB_DDB_TARGET,
	         op, signed_h, body_hex);
	if (!EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		goto done;
	hex(md, 32, canon_hex);
	snprintf(sts, 512,
	         "AWS4-HMAC-SHA256\n%s\n%s/%s/dynamodb/aws4_request\n%s",
	         amzdate, date, s->region, canon_hex);
	if (!(k0 = malloc(strlen(c->secret) + 5)))
		goto done;
	snprintf(k0, strlen(c->secret) + 5, "AWS4%s", c->secret);
	if (!hmac(k0, strlen(k0), date, k1) || !hmac(k1, 32, s->region, k2) ||
	    !hmac(k2, 32, "dynamodb", k1) ||
	    !hmac(k1, 32, "aws4_request", k2) || !hmac(k2, 32, sts, k1))
		goto done;
	hex(k1, 32, sig_hex);

	snprintf(line, n, "Content-Type: %s", SB_DDB_CONTENT_TYPE);
	if (!add(out, line))
		goto done;
	snprintf(line, n, "Host: %s", s->host);
	if (!add(out, line))
		goto done;
	snprintf(line, n, "X-Amz-Date: %s", amzdate);
	if (!add(out, line))
		goto done;
	if (c->token) {
		snprintf(line, n, "X-Amz-Security-Token: %s", c->token);
		if (!add(out, line))
			goto done;
	}
	snprintf(line, n, "X-Amz-Target: %s%s", SB_DDB_TARGET, op);
	if (!add(out, line))
		goto done;
	snprintf(line, n,
	         "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/"
	         "dynamodb/aws4_request, SignedHeaders=%s, Signature=%s",
	         c->key, date, s->region, signed_h, sig_hex);
	if (!add(out, line))
		goto done;
	rc = SB_OK;
done:
	/* Derived keys and the token's copies: no secret left behind. */
	memset(k1, 0, sizeof(k1));
	memset(k2, 0, sizeof(k2));
	if (k0) {
		memset(k0, 0, strlen(k0));
		free(k0);
	}
	if (canon) {
		memset(canon, 0, strlen(canon));
		free(canon);
	}
	if (line) {
		memset(line, 0, strlen(line));
		free(line);
	}
	free(sts);
	if (rc != SB_OK) {
		curl_slist_free_all(*out);
		*out = NULL;
		return sb_ddb_nomem(s, "signing");
	}
	return SB_OK;
}

/* 1 if @p msg holds @p w, ignoring ASCII case. */
static int has_word(const char *msg, const char *w)
{
	size_t n = strlen(w);

	for (; *msg; msg++)
		if (strncasecmp(msg, w, n) == 0)
			return 1;
	return 0;
}

/* The server's time in a skew error's message, when the answer had no
 * Date: "Signature expired: A is now earlier than B (C - 15 min.)", C
 * being the server's time. -1 if absent. */
static int64_t time_in_message(const char *msg)
{
	const char *p = msg ? strchr(msg, '(') : NULL;
	struct tm tm;
	int used = 0;

	memset(&tm, 0, sizeof(tm));
	if (!p ||
	    sscanf(p + 1, "%4d%2d%2dT%2d%2d%2dZ%n", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	           &used) != 6 ||
	    used != 16)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000;
}

int sb_ddb_skew_fix(sb_ddb_store *s)
{
	cJSON *j = s->resp && s->resp_len
	                   ? cJSON_ParseWithLengthOpts(s->resp, s->resp_len,
	                                               NULL, 0)
	                   : NULL;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "__type");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	const char *type, *msg;
	int64_t server = -1, skew;
	int skewed;

	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(j, "Message");
	type = cJSON_IsString(t) ? t->valuestring : "";
	type = strrchr(type, '#') ? strrchr(type, '#') + 1 : type;
	msg = cJSON_IsString(m) ? m->valuestring : "";
	skewed = strcmp(type, "RequestTimeTooSkewed") == 0 ||
	         strcmp(type, "RequestExpired") == 0 ||
	         (strcmp(type, "InvalidSignatureException") == 0 &&
	          (strstr(msg, "Signature expired") ||
	           strstr(msg, "Signature not yet current") ||
	           has_word(msg, "request time")));
	if (skewed && s->date_hdr[0]) {
		time_t d = curl_getdate(s->date_hdr, NULL);
		if (d > 0)
			server = (int64_t)d * 1000;
	}
	if (skewed && server < 0)
		server = time_in_message(msg);
	cJSON_Delete(j);
	if (!skewed || server <= 0)
		return 0;
	skew = server - sb_ddb_wall_ms();
	if (skew - s->skew_ms < SKEW_MIN_MS && s->skew_ms - skew < SKEW_MIN_MS)
		return 0;
	s->skew_ms = skew;
	return 1;
}
