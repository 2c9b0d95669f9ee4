/* DynamoDB backend: the URI and its options, credentials, open and close,
 * the vtables of the store and the backend, the test counters. See
 * ddb_private.h for the files and the layout of the tables.
 *
 *   dynamodb://REGION                     https://dynamodb.REGION.amazonaws.com
 *   dynamodb+http://host[:port]?region=R  a local endpoint (DynamoDB Local)
 *   dynamodb+https://host[:port]?region=R
 * A region looks like an AWS one (us-east-1, ap-southeast-2,
 * us-gov-west-1); any_region=1 lets a custom endpoint take any name of
 * A-Z a-z 0-9 - _ . (DynamoDB Local accepts any region).
 * Options: region, any_region, bank_prefix, ledger_prefix,
 * connect_timeout (ms, default 3000), timeout (ms for a whole request,
 * connect included, default 8000: a silent server fails in under 10 s;
 * a timed-out request is not retried), max_retries, backoff_base (ms),
 * backoff_cap (ms), scan_limit, add_parallel (requests in flight in an
 * add, default 8). Credentials: ddb_creds.c. */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const sb_store_ops ddb_store_ops;

/* ------------------------------------------------------------- secrets */

/* Copy server text @p in to @p out with the secret key and the session
 * token masked: an endpoint (a proxy, a fake server) may echo the request
 * headers into its error message, and the token travels in one. */
void sb_ddb_scrub(const sb_ddb_store *s, const char *in, char *out, size_t size)
{
	const char *secret[2] = { s->creds.secret, s->creds.token };
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
	free(s->endpoint);
	free(s->where);
	free(s->host);
	free(s->region);
	sb_ddb_creds_free(&s->creds); /* zeroed: no secret in freed memory */
	free(s->bank_prefix);
	free(s->ledger_prefix);
	free(s->resp);
	sb_ddb_drop_candidates(s);
	for (i = 0; i < SB_DDB_TABLE_CACHE; i++) {
		free(s->known[i]);
		free(s->marked[i]);
		free(s->hmarked[i]);
		free(s->indexed[i]);
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
static int num_opt(sb_uri *uri, sb_box *box, const char *key, long lo, long hi,
                   long *out)
{
	long long n = *out;
	int rc = sb_uri_param_num(box, uri, key, NULL, lo, hi, &n);

	*out = (long)n;
	return rc;
}

/* Host names and any_region names: letters, digits, - . _ only. */
static int name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!sb_ddb_table_char(*s))
			return 0;
	return 1;
}

static int lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An AWS region name, [a-z]{2}(-[a-z]+)+-[0-9]+: us-east-1,
 * ap-southeast-2, us-gov-west-1, cn-north-1. */
static int aws_region(const char *r)
{
	int words = 0;

	if (!lower(r[0]) || !lower(r[1]))
		return 0;
	for (r += 2; r[0] == '-' && lower(r[1]); words++)
		for (r++; lower(*r); r++)
			;
	if (!words || r[0] != '-' || !digit(r[1]))
		return 0;
	for (r++; digit(*r); r++)
		;
	return *r == '\0';
}

/* The signing region: the host of dynamodb://REGION; for a custom
 * endpoint ?region=, else $AWS_REGION, else $AWS_DEFAULT_REGION. It must
 * look like an AWS region (a typo would otherwise show up only as a
 * signature or DNS error), unless a custom endpoint says any_region=1:
 * DynamoDB Local takes any name. Then it is still a plain name, since it
 * goes into curl's SigV4 scope "aws:amz:REGION:dynamodb". */
static int read_region(sb_uri *uri, sb_box *box, const char **out)
{
	const char *opt = sb_uri_param(uri, "region"), *r = opt, *from;
	int custom = strcmp(uri->scheme, "dynamodb") != 0;
	long long any = 0;
	int rc;

	if ((rc = sb_uri_param_num(box, uri, "any_region", "0 or 1", 0, 1,
	                           &any)))
		return rc;
	if (!custom) {
		if (opt && strcmp(opt, uri->host) != 0)
			return sb_seterr(box, SB_EURI, "%s: two regions given",
			                 uri->redacted);
		if (any)
			return sb_seterr(box, SB_EURI,
			                 "%s: any_region is for "
			                 "custom endpoints (dynamodb+http, "
			                 "dynamodb+https): dynamodb://REGION "
			                 "makes the host name of the region",
			                 uri->redacted);
		r = uri->host;
		from = "in the host";
	} else if (opt) {
		from = "of the region option";
	} else if ((r = env("AWS_REGION"))) {
		from = "of $AWS_REGION";
	} else if ((r = env("AWS_DEFAULT_REGION"))) {
		from = "of $AWS_DEFAULT_REGION";
	} else {
		return sb_seterr(box, SB_EURI,
		                 "%s: no region: add ?region=R "
		                 "or set AWS_REGION",
		                 uri->redacted);
	}
	if (any && (!name_ok(r) || strlen(r) > 64))
		return sb_seterr(box, SB_EURI,
		                 "%s: the region name %s may hold "
		                 "only A-Z a-z 0-9 - _ . (at most 64)",
		                 uri->redacted, from);
	if (!any && !aws_region(r))
		return sb_seterr(box, SB_EURI,
		                 "%s: the region %s does not look "
		                 "like an AWS region: two lower-case letters, "
		                 "one or more -words, then -number, e.g. "
		                 "us-east-1, ap-southeast-2, us-gov-west-1 (a "
		                 "local endpoint that takes any name: "
		                 "dynamodb+http://HOST:PORT?region=NAME&"
		                 "any_region=1)",
		                 uri->redacted, from);
	*out = r;
	return SB_OK;
}

static int prefix_opt(sb_uri *uri, sb_box *box, const char *key, char **out)
{
	const char *v = sb_uri_param(uri, key);
	const char *p;

	if (!v)
		v = "";
	for (p = v; *p; p++)
		if (!sb_ddb_table_char(*p))
			break;
	if (*p || strlen(v) > 64)
		return sb_seterr(box, SB_EURI,
		                 "%s: option %s may hold only "
		                 "A-Z a-z 0-9 _ - . (at most 64)",
		                 uri->redacted, key);
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
	const char *scheme = uri->scheme, *region = NULL;
	long v;
	int rc;

	if (uri->user || uri->password)
		return sb_seterr(box, SB_EURI,
		                 "%s: credentials do not go in a "
		                 "DynamoDB URI; set AWS_ACCESS_KEY_ID and "
		                 "AWS_SECRET_ACCESS_KEY, or use a profile",
		                 uri->redacted);
	if (!uri->has_authority || !uri->host || !*uri->host)
		return sb_seterr(box, SB_EURI, "%s: expected %s://%s",
		                 uri->redacted, scheme,
		                 strcmp(scheme, "dynamodb") == 0
		                         ? "REGION"
		                         : "HOST[:PORT]?region=REGION");
	if (uri->path && *uri->path && strcmp(uri->path, "/") != 0)
		return sb_seterr(box, SB_EURI, "%s: a DynamoDB URI has no path",
		                 uri->redacted);
	if (strcmp(scheme, "dynamodb") == 0 && uri->port)
		return sb_seterr(box, SB_EURI,
		                 "%s: dynamodb://REGION takes no "
		                 "port (use dynamodb+https://host:port)",
		                 uri->redacted);
	if ((rc = read_region(uri, box, &region)))
		return rc;
	if (!name_ok(uri->host) && uri->host[0] != '[')
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
		                              ? "http"
		                              : "https",
		                      uri->host, port);
	}
	if (!s->endpoint || !(s->where = strdup(s->endpoint)))
		return sb_ddb_nomem(s, "open");

	/* Short enough for a web request: each attempt is bounded. */
	s->connect_timeout_ms = 3000;
	s->timeout_ms = 8000;
	s->max_retries = 8;
	s->backoff_base_ms = 20;
	s->backoff_cap_ms = 1000;
	s->scan_limit = 100;
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
	v = 8;
	if ((rc = num_opt(uri, box, "add_parallel", 1, SB_DDB_MULTI_MAX, &v)))
		return rc;
	s->add_parallel = (int)v;
	if ((rc = prefix_opt(uri, box, "bank_prefix", &s->bank_prefix)) ||
	    (rc = prefix_opt(uri, box, "ledger_prefix", &s->ledger_prefix)))
		return rc;
	return SB_OK;
}

static int ddb_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	sb_ddb_store *s;
	int rc;

	*out = NULL;
	/* Before anything that could call them, or close's cleanup. */
	if ((rc = sb_ddb_curl_load(box)) ||
	    (rc = sb_crypto_load(box, "DynamoDB")))
		return rc;
	if (!(s = calloc(1, sizeof(*s))))
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
	s->cand_max = 64;
	/* curl first (its global init), then credentials, which may ask a
	 * metadata endpoint. */
	if ((rc = read_uri(s, uri, box)) || (rc = sb_ddb_http_init(s)) ||
	    (rc = sb_ddb_creds_load(s))) {
		ddb_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return SB_OK;
}

int sb_ddb_store_counters(sb_store *st, sb_ddb_counters *out, int reset)
{
	sb_ddb_store *s = (sb_ddb_store *)st;

	if (!st || st->ops != &ddb_store_ops)
		return -1;
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
	.hold = sb_ddb_hold,
	.change = sb_ddb_change,
	.reclaim = sb_ddb_reclaim,
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
