/* DynamoDB backend: URIs, credentials, open/close, table names and table
 * creation, the vtables. See ddb_private.h for the layout and
 * /work/notes/README-dynamodb.md for what it means for the original
 * library's users.
 *
 *   dynamodb://REGION                     https://dynamodb.REGION.amazonaws.com
 *   dynamodb+http://host[:port]?region=R  a local endpoint (DynamoDB Local)
 *   dynamodb+https://host[:port]?region=R
 * Options: region, bank_prefix, ledger_prefix, connect_timeout (ms,
 * default 3000), timeout (ms for a whole request, connect included,
 * default 8000: a silent server fails in under 10 s; a timed-out request
 * is not retried), max_retries, backoff_base (ms), backoff_cap (ms),
 * scan_limit. Credentials come from the environment only. */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const sb_store_ops ddb_store_ops;

/* ------------------------------------------------------------ table names */

static int table_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* A name is used as its table's name when DynamoDB accepts it as one
 * (3..255 of [A-Za-z0-9_.-], room left for the ".held" suffix) and it
 * does not start with "sbh." (reserved for hashed names, so the mapping
 * stays one-to-one). Others become "sbh." + SHA-256 hex of the name. */
int sb_ddb_table(sb_ddb_store *s, char **out, const char *prefix,
                 const char *name, const char *suffix)
{
	size_t pl = strlen(prefix), nl = strlen(name), sl = strlen(suffix), i;
	int direct = pl + nl >= 3 &&
	             pl + nl + strlen(SB_DDB_HELD_SUFFIX) <= SB_DDB_MAX_TABLE_NAME &&
	             strncmp(name, "sbh.", 4) != 0;
	char hex[65];

	for (i = 0; direct && i < nl; i++)
		direct = table_char(name[i]);
	if (direct) {
		*out = malloc(pl + nl + sl + 1);
		if (!*out)
			return sb_ddb_nomem(s, "table name");
		snprintf(*out, pl + nl + sl + 1, "%s%s%s", prefix, name, suffix);
		return SB_OK;
	}
	sb_ddb_sha256_hex(name, nl, hex);
	*out = malloc(pl + 4 + 64 + sl + 1);
	if (!*out)
		return sb_ddb_nomem(s, "table name");
	snprintf(*out, pl + 4 + 64 + sl + 1, "%ssbh.%s%s", prefix, hex, suffix);
	return SB_OK;
}

int sb_ddb_bank_tables(sb_ddb_store *s, char **avail, char **held,
                       const char *bank)
{
	int rc;

	*avail = *held = NULL;
	if ((rc = sb_ddb_table(s, avail, s->bank_prefix, bank, "")))
		return rc;
	if (held && (rc = sb_ddb_table(s, held, s->bank_prefix, bank,
	                               SB_DDB_HELD_SUFFIX))) {
		free(*avail);
		*avail = NULL;
	}
	return rc;
}

int sb_ddb_check_key(sb_ddb_store *s, const char *v, const char *what)
{
	size_t n = strlen(v);

	if (n > SB_DDB_MAX_KEY_BYTES)
		return sb_seterr(s->base.box, SB_EINVALID,
		                 "DynamoDB: %s is %zu bytes; DynamoDB key "
		                 "values hold at most %d bytes", what, n,
		                 SB_DDB_MAX_KEY_BYTES);
	return SB_OK;
}

/* ------------------------------------------------------------ tables */

int sb_ddb_table_known(sb_ddb_store *s, const char *table)
{
	unsigned int i;

	for (i = 0; i < SB_DDB_TABLE_CACHE; i++)
		if (s->known[i] && strcmp(s->known[i], table) == 0)
			return 1;
	return 0;
}

static void remember(sb_ddb_store *s, const char *table)
{
	char *c = strdup(table);

	if (!c)
		return; /* only a cache */
	free(s->known[s->known_next]);
	s->known[s->known_next] = c;
	s->known_next = (s->known_next + 1) % SB_DDB_TABLE_CACHE;
}

void sb_ddb_table_forget(sb_ddb_store *s, const char *table)
{
	unsigned int i;

	for (i = 0; i < SB_DDB_TABLE_CACHE; i++)
		if (s->known[i] && strcmp(s->known[i], table) == 0) {
			free(s->known[i]);
			s->known[i] = NULL;
		}
}

/* 1 ACTIVE, 0 not yet, SB_DDB_NOTABLE, or an error. */
static int describe(sb_ddb_store *s, const char *table)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	const cJSON *t, *st;
	int ok = 1, rc;

	sb_ddb_add_str(body, "TableName", table, &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "DescribeTable");
	}
	rc = sb_ddb_call(&resp, s, "DescribeTable", body, table);
	cJSON_Delete(body);
	if (rc)
		return rc;
	t = cJSON_GetObjectItemCaseSensitive(resp, "Table");
	st = t ? cJSON_GetObjectItemCaseSensitive(t, "TableStatus") : NULL;
	rc = cJSON_IsString(st) && strcmp(st->valuestring, "ACTIVE") == 0;
	cJSON_Delete(resp);
	return rc;
}

int sb_ddb_table_exists(sb_ddb_store *s, const char *table)
{
	int rc;

	if (sb_ddb_table_known(s, table))
		return 1;
	rc = describe(s, table);
	if (rc == SB_DDB_NOTABLE) {
		sb_clearerr(s->base.box);
		return 0;
	}
	return rc < 0 ? rc : 1;
}

static int create(sb_ddb_store *s, const char *table, const char *key)
{
	cJSON *body = cJSON_CreateObject(), *resp = NULL, *defs, *ks, *d, *k;
	int ok = 1, rc;

	defs = cJSON_CreateArray();
	ks = cJSON_CreateArray();
	d = cJSON_CreateObject();
	k = cJSON_CreateObject();
	sb_ddb_add_str(d, "AttributeName", key, &ok);
	sb_ddb_add_str(d, "AttributeType", "S", &ok);
	sb_ddb_add_str(k, "AttributeName", key, &ok);
	sb_ddb_add_str(k, "KeyType", "HASH", &ok);
	sb_ddb_push(defs, d, &ok);
	sb_ddb_push(ks, k, &ok);
	sb_ddb_add_str(body, "TableName", table, &ok);
	sb_ddb_put(body, "AttributeDefinitions", defs, &ok);
	sb_ddb_put(body, "KeySchema", ks, &ok);
	sb_ddb_add_str(body, "BillingMode", "PAY_PER_REQUEST", &ok);
	if (!ok) {
		cJSON_Delete(body);
		return sb_ddb_nomem(s, "CreateTable");
	}
	rc = sb_ddb_call(&resp, s, "CreateTable", body, table);
	cJSON_Delete(body);
	cJSON_Delete(resp);
	if (rc && strcmp(s->err_type, "ResourceInUseException") == 0)
		rc = SB_OK; /* another client created it first */
	return rc;
}

int sb_ddb_ensure_table(sb_ddb_store *s, const char *table, const char *key)
{
	int rc, waited_ms = 0;

	if (sb_ddb_table_known(s, table))
		return SB_OK;
	rc = describe(s, table);
	if (rc == SB_DDB_NOTABLE) {
		if ((rc = create(s, table, key)))
			return rc;
		rc = 0;
	}
	/* A new table takes a moment (seconds on AWS) to become ACTIVE. */
	while (rc == 0 && waited_ms < 120000) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		waited_ms += 100;
		rc = describe(s, table);
		if (rc == SB_DDB_NOTABLE)
			rc = 0;
	}
	if (rc == 0)
		return sb_seterr(s->base.box, SB_ETIMEOUT, "DynamoDB: table %s at "
		                 "%s did not become ACTIVE in 120 s", table,
		                 s->where);
	if (rc < 0)
		return rc;
	remember(s, table);
	sb_clearerr(s->base.box);
	return SB_OK;
}

/* ------------------------------------------------------------- secrets */

#define SB_DDB_TOKEN_HEADER "X-Amz-Security-Token: "

/* The session token, as sent in the store's constant headers; NULL. */
static const char *session_token(const sb_ddb_store *s)
{
	const struct curl_slist *h;
	size_t n = strlen(SB_DDB_TOKEN_HEADER);

	for (h = s->headers_base; h; h = h->next)
		if (strncmp(h->data, SB_DDB_TOKEN_HEADER, n) == 0)
			return h->data + n;
	return NULL;
}

/* Copy server text @p in to @p out with the secret key and the session
 * token masked: an endpoint (a proxy, a fake server) may echo the request
 * headers into its error message, and the token travels in one. */
void sb_ddb_scrub(const sb_ddb_store *s, const char *in, char *out,
                  size_t size)
{
	const char *secret[2] = { s->userpwd_secret, session_token(s) };
	size_t len[2], n = 0;
	int i;

	if (!size)
		return;
	for (i = 0; i < 2; i++)
		len[i] = secret[i] ? strlen(secret[i]) : 0;
	while (in && *in && n + 1 < size) {
		for (i = 0; i < 2; i++)
			if (len[i] >= 4 && strncmp(in, secret[i], len[i]) == 0)
				break;
		if (i < 2) {
			size_t k;
			for (k = 0; k < 3 && n + 1 < size; k++)
				out[n++] = '*';
			in += len[i];
			continue;
		}
		out[n++] = *in++;
	}
	out[n] = '\0';
}

/* ------------------------------------------------------------ open/close */

static void ddb_close(sb_store *base)
{
	sb_ddb_store *s = (sb_ddb_store *)base;
	unsigned int i;

	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->headers_base);
	free(s->endpoint);
	free(s->where);
	free(s->region);
	free(s->sigv4);
	free(s->userpwd_key);
	if (s->userpwd_secret) {
		/* Do not leave the secret in freed memory. */
		volatile char *p = s->userpwd_secret;
		while (*p)
			*p++ = 0;
		free(s->userpwd_secret);
	}
	free(s->bank_prefix);
	free(s->ledger_prefix);
	free(s->resp);
	sb_ddb_drop_candidates(s);
	for (i = 0; i < SB_DDB_TABLE_CACHE; i++) {
		free(s->known[i]);
		free(s->marked[i]);
	}
	free(s);
}

static int ddb_init(sb_store *base)
{
	(void)base; /* tables are made per bank and per ledger, on demand */
	return SB_OK;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* A number option in [lo, hi]; absent: *out unchanged. */
static int num_opt(sb_uri *uri, sb_box *box, const char *key, long lo,
                   long hi, long *out)
{
	long long n = *out;
	int rc = sb_uri_param_num(box, uri, key, NULL, lo, hi, &n);

	*out = (long)n;
	return rc;
}

static int word_ok(const char *s, int dash_ok)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      (dash_ok && (*s == '-' || *s == '.' ||
		                   (*s >= 'A' && *s <= 'Z') || *s == '_'))))
			return 0;
	return 1;
}

static int prefix_opt(sb_uri *uri, sb_box *box, const char *key, char **out)
{
	const char *v = sb_uri_param(uri, key);
	const char *p;

	if (!v)
		v = "";
	for (p = v; *p; p++)
		if (!table_char(*p))
			break;
	if (*p || strlen(v) > 64)
		return sb_seterr(box, SB_EURI, "%s: option %s may hold only "
		                 "A-Z a-z 0-9 _ - . (at most 64)", uri->redacted,
		                 key);
	*out = strdup(v);
	return *out ? SB_OK : sb_seterr(box, SB_ENOMEM, "out of memory");
}

static char *xprintf(const char *fmt, const char *a, const char *b,
                     const char *c)
{
	int n = snprintf(NULL, 0, fmt, a, b, c);
	char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;

	if (p)
		snprintf(p, (size_t)n + 1, fmt, a, b, c);
	return p;
}

static int read_uri(sb_ddb_store *s, sb_uri *uri, sb_box *box)
{
	const char *scheme = uri->scheme, *region, *opt_region;
	long v;
	int rc;

	if (uri->user || uri->password)
		return sb_seterr(box, SB_EURI, "%s: credentials do not go in a "
		                 "DynamoDB URI; set AWS_ACCESS_KEY_ID and "
		                 "AWS_SECRET_ACCESS_KEY", uri->redacted);
	if (!uri->has_authority || !uri->host || !*uri->host)
		return sb_seterr(box, SB_EURI, "%s: expected %s://%s",
		                 uri->redacted, scheme,
		                 strcmp(scheme, "dynamodb") == 0
		                 ? "REGION" : "HOST[:PORT]?region=REGION");
	if (uri->path && *uri->path && strcmp(uri->path, "/") != 0)
		return sb_seterr(box, SB_EURI, "%s: a DynamoDB URI has no path",
		                 uri->redacted);
	opt_region = sb_uri_param(uri, "region");
	if (strcmp(scheme, "dynamodb") == 0) {
		if (uri->port)
			return sb_seterr(box, SB_EURI, "%s: dynamodb://REGION takes "
			                 "no port (use dynamodb+https://host:port)",
			                 uri->redacted);
		region = uri->host;
		if (opt_region && strcmp(opt_region, region) != 0)
			return sb_seterr(box, SB_EURI, "%s: two regions given",
			                 uri->redacted);
	} else {
		region = opt_region ? opt_region : env("AWS_REGION");
		if (!region)
			region = env("AWS_DEFAULT_REGION");
		if (!region)
			return sb_seterr(box, SB_EURI, "%s: no region: add "
			                 "?region=R or set AWS_REGION",
			                 uri->redacted);
	}
	if (!word_ok(region, 0) && !word_ok(region, 1))
		return sb_seterr(box, SB_EURI, "%s: bad region name",
		                 uri->redacted);
	if (!word_ok(uri->host, 1) && uri->host[0] != '[')
		return sb_seterr(box, SB_EURI, "%s: bad host name",
		                 uri->redacted);
	if (!(s->region = strdup(region)))
		return sb_ddb_nomem(s, "open");
	if (strcmp(scheme, "dynamodb") == 0) {
		s->endpoint = xprintf("https://dynamodb.%s.amazonaws.com/%s%s",
		                      region, "", "");
	} else {
		char port[16] = "";
		if (uri->port)
			snprintf(port, sizeof(port), ":%d", uri->port);
		s->endpoint = xprintf("%s://%s%s/",
		                      strcmp(scheme, "dynamodb+http") == 0
		                      ? "http" : "https", uri->host, port);
	}
	s->sigv4 = xprintf("aws:amz:%s:%s%s", region, "dynamodb", "");
	if (!s->endpoint || !s->sigv4 || !(s->where = strdup(s->endpoint)))
		return sb_ddb_nomem(s, "open");

	/* Short enough for a web request: each attempt is bounded. */
	s->connect_timeout_ms = 3000;
	s->timeout_ms = 8000;
	s->max_retries = 8;
	s->backoff_base_ms = 20;
	s->backoff_cap_ms = 1000;
	s->scan_limit = 8;
	if ((rc = num_opt(uri, box, "connect_timeout", 1, 600000,
	                  &s->connect_timeout_ms)) ||
	    (rc = num_opt(uri, box, "timeout", 1, 600000, &s->timeout_ms)) ||
	    (rc = num_opt(uri, box, "backoff_base", 0, 60000,
	                  &s->backoff_base_ms)) ||
	    (rc = num_opt(uri, box, "backoff_cap", 0, 600000,
	                  &s->backoff_cap_ms)))
		return rc;
	v = s->max_retries;
	if ((rc = num_opt(uri, box, "max_retries", 0, 100, &v)))
		return rc;
	s->max_retries = (int)v;
	v = s->scan_limit;
	if ((rc = num_opt(uri, box, "scan_limit", 1, 1000, &v)))
		return rc;
	s->scan_limit = (int)v;
	if ((rc = prefix_opt(uri, box, "bank_prefix", &s->bank_prefix)) ||
	    (rc = prefix_opt(uri, box, "ledger_prefix", &s->ledger_prefix)))
		return rc;
	return SB_OK;
}

static int read_credentials(sb_ddb_store *s, sb_box *box)
{
	const char *key = env("AWS_ACCESS_KEY_ID");
	const char *secret = env("AWS_SECRET_ACCESS_KEY");
	const char *token = env("AWS_SESSION_TOKEN");
	struct curl_slist *h;
	char *line;

	if (!key || !secret)
		return sb_seterr(box, SB_EAUTH, "DynamoDB at %s: no credentials: "
		                 "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
		                 s->where);
	if (!(s->userpwd_key = strdup(key)) ||
	    !(s->userpwd_secret = strdup(secret)))
		return sb_ddb_nomem(s, "credentials");
	h = curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.0");
	if (!h)
		return sb_ddb_nomem(s, "headers");
	s->headers_base = h;
	/* libcurl's SigV4 does not know session tokens: the header goes in by
	 * hand (and, being an x-amz- header, is signed with the others). */
	if (token) {
		if (!(line = xprintf("X-Amz-Security-Token: %s%s%s", token, "",
		                     "")))
			return sb_ddb_nomem(s, "headers");
		h = curl_slist_append(s->headers_base, line);
		free(line);
		if (!h)
			return sb_ddb_nomem(s, "headers");
		s->headers_base = h;
	}
	return SB_OK;
}

static int ddb_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	sb_ddb_store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return sb_seterr(box, SB_ENOMEM, "out of memory");
	s->base.ops = &ddb_store_ops;
	s->base.bank = &sb_ddb_bank_ops;
	s->base.ledger = &sb_ddb_ledger_ops;
	s->base.box = box;
	/* Jitter must differ between clients: seed from the kernel. */
	if (getrandom(&s->rng, sizeof(s->rng), 0) != (ssize_t)sizeof(s->rng))
		s->rng = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^
		         (uint32_t)(uintptr_t)s;
	s->scan_segments = 4;
	if ((rc = read_uri(s, uri, box)) || (rc = read_credentials(s, box)) ||
	    (rc = sb_ddb_http_init(s))) {
		ddb_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return SB_OK;
}

int sb_ddb_box_counters(sb_box *box, sb_ddb_counters *out, int reset)
{
	sb_ddb_store *s;

	if (!box || !box->bank_store || box->bank_store->ops != &ddb_store_ops)
		return -1;
	s = (sb_ddb_store *)box->bank_store;
	if (out)
		*out = s->counters;
	if (reset)
		memset(&s->counters, 0, sizeof(s->counters));
	return 0;
}

static const sb_store_ops ddb_store_ops = {
	.version = SB_STORE_OPS_VERSION,
	.init = ddb_init,
	.close = ddb_close,
	.claim = sb_ddb_claim,
};

const sb_backend sb_backend_dynamodb = {
	.version = SB_BACKEND_VERSION,
	.scheme = "dynamodb",
	.open = ddb_open,
};
const sb_backend sb_backend_dynamodb_http = {
	.version = SB_BACKEND_VERSION,
	.scheme = "dynamodb+http",
	.open = ddb_open,
};
const sb_backend sb_backend_dynamodb_https = {
	.version = SB_BACKEND_VERSION,
	.scheme = "dynamodb+https",
	.open = ddb_open,
};
