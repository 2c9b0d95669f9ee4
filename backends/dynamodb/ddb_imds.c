/* The two HTTP sources of credentials, each over a curl easy handle of
 * its own (made and freed per fetch: it runs about once an hour), with
 * short bounded waits: 1 s to connect, 2 s per request, one retry. A
 * dead or silent server costs at most about 4 s per request, never a
 * hang.
 *
 * Container (ECS, EKS pod identity): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * (on http://169.254.170.2) or _FULL_URI, with the Authorization header
 * from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN. A full http://
 * URI must name a loopback or the container agent's own address, as the
 * SDKs require (the token must not go elsewhere in clear).
 *
 * EC2 instance metadata, IMDSv2: PUT /latest/api/token (TTL header),
 * then with that token GET .../iam/security-credentials/ (the role) and
 * .../ROLE (its keys). AWS_EC2_METADATA_DISABLED=true skips it;
 * AWS_EC2_METADATA_SERVICE_ENDPOINT replaces http://169.254.169.254.
 * Off EC2 the default address does not answer: that counts as "not
 * here", not an error; a chosen endpoint that does not answer is one. */
#include "ddb_private.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define META_CONNECT_MS 1000
#define META_TIMEOUT_MS 2000
#define META_ATTEMPTS   2
#define META_MAX_BODY   65536
#define META_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds: 21600"
#define IMDS_DEFAULT    "http://169.254.169.254"
#define IMDS_DEFAULT_V6 "http://[fd00:ec2::254]"
#define ECS_HOST        "http://169.254.170.2"
#define CREDS_PATH      "/latest/meta-data/iam/security-credentials/"

typedef struct {
	char buf[META_MAX_BODY + 1];
	size_t len;
	int over;
} meta_body;

static size_t on_meta(char *data, size_t size, size_t nmemb, void *p)
{
	meta_body *b = p;
	size_t n = size * nmemb;

	if (b->len + n > META_MAX_BODY) {
		b->over = 1;
		return 0; /* CURLE_WRITE_ERROR: stop reading */
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* One request, retried once if the connection failed or timed out.
 * SB_OK with *status, or SB_ECONNECT / SB_ETIMEOUT / SB_ENOMEM with
 * @p why set. */
static int fetch(meta_body *b, long *status, const char *method,
                 const char *url, struct curl_slist *hdrs, char *why,
                 size_t why_size)
{
	CURL *h = curl_easy_init();
	CURLcode cc = CURLE_OK;
	int attempt;

	if (!h)
		return SB_ENOMEM;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)META_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)META_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* link-local: direct */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_meta);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	for (attempt = 0; attempt < META_ATTEMPTS; attempt++) {
		b->len = 0;
		b->over = 0;
		b->buf[0] = '\0';
		cc = curl_easy_perform(h);
		if (cc == CURLE_OK || b->over ||
		    (cc != CURLE_OPERATION_TIMEDOUT &&
		     cc != CURLE_COULDNT_CONNECT && cc != CURLE_RECV_ERROR &&
		     cc != CURLE_GOT_NOTHING && cc != CURLE_SEND_ERROR))
			break;
	}
	*status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	if (b->over) {
		snprintf(why, why_size, "an answer over %d bytes",
		         META_MAX_BODY);
		return SB_EBACKEND;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(why, why_size,
		         "no answer within %d ms (connect %d ms), tried %d "
		         "times",
		         META_TIMEOUT_MS, META_CONNECT_MS, META_ATTEMPTS);
		return SB_ETIMEOUT;
	}
	if (cc != CURLE_OK) {
		snprintf(why, why_size, "%s", curl_easy_strerror(cc));
		return cc == CURLE_OUT_OF_MEMORY ? SB_ENOMEM : SB_ECONNECT;
	}
	return SB_OK;
}

static int is_true(const char *v)
{
	return v && strcasecmp(v, "true") == 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int has_crlf(const char *v)
{
	return strpbrk(v, "\r\n") != NULL;
}

/* ------------------------------------------------------------ container */

/* http://HOST[:PORT]/...: HOST a loopback or the agent's address. */
static int container_host_ok(const char *url)
{
	static const char *const ok[] = { "127.",           "localhost",
		                          "[::1]",          "169.254.170.2",
		                          "169.254.170.23", "[fd00:ec2::23]" };
	const char *h, *e;
	size_t i, n;

	if (strncasecmp(url, "https://", 8) == 0)
		return 1;
	if (strncasecmp(url, "http://", 7) != 0)
		return 0;
	h = url + 7;
	e = h + strcspn(h, "/?#");
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = strlen(ok[i]);
		if ((size_t)(e - h) < n || strncasecmp(h, ok[i], n) != 0)
			continue;
		/* "127." is a prefix; the others must end there */
		if (ok[i][n - 1] == '.' || h[n] == ':' || h + n == e)
			return 1;
	}
	return 0;
}

/* The token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: first line. */
static int token_file(sb_ddb_store *s, const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return sb_seterr(s->base.box, SB_EAUTH,
		                 "DynamoDB at %s: AWS_CONTAINER_AUTHORIZATION_"
		                 "TOKEN_FILE %s cannot be read",
		                 s->where, path);
	n = read(fd, out, size - 1);
	close(fd);
	if (n <= 0 || (size_t)n >= size - 1)
		return sb_seterr(s->base.box, SB_EAUTH,
		                 "DynamoDB at %s: AWS_CONTAINER_AUTHORIZATION_"
		                 "TOKEN_FILE %s: empty or over %zu bytes",
		                 s->where, path, size - 2);
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return SB_OK;
}

int sb_ddb_container_creds(sb_ddb_store *s, sb_ddb_creds *c, char *note,
                           size_t note_size)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tfile = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	struct curl_slist *hdrs = NULL;
	char url[1024], why[256], tbuf[4096], *auth = NULL;
	meta_body *b = NULL;
	long status = 0;
	int rc;

	if (!rel && !full) {
		snprintf(note, note_size,
		         "container endpoint: AWS_CONTAINER_CREDENTIALS_"
		         "FULL_URI, _RELATIVE_URI not set");
		return SB_EMPTY;
	}
	if (rel)
		snprintf(url, sizeof(url), "%s%s%s", ECS_HOST,
		         rel[0] == '/' ? "" : "/", rel);
	else
		snprintf(url, sizeof(url), "%s", full);
	if (!rel && !container_host_ok(url))
		return sb_seterr(s->base.box, SB_EAUTH,
		                 "DynamoDB at %s: AWS_CONTAINER_CREDENTIALS_"
		                 "FULL_URI: an http:// URI must name a loopback "
		                 "address or 169.254.170.2 / 169.254.170.23",
		                 s->where);
	if (tfile) {
		if ((rc = token_file(s, tfile, tbuf, sizeof(tbuf))))
			return rc;
		token = tbuf;
	}
	if (token) {
		size_t n = strlen(token) + 16;
		if (has_crlf(token))
			return sb_seterr(s->base.box, SB_EAUTH,
			                 "DynamoDB at %s: the container "
			                 "authorization token holds a line break",
			                 s->where);
		if (!(auth = malloc(n)))
			return sb_ddb_nomem(s, "credentials");
		snprintf(auth, n, "Authorization: %s", token);
		if (!(hdrs = curl_slist_append(NULL, auth))) {
			free(auth);
			return sb_ddb_nomem(s, "credentials");
		}
	}
	if (!(b = malloc(sizeof(*b)))) {
		rc = sb_ddb_nomem(s, "credentials");
		goto done;
	}
	rc = fetch(b, &status, "GET", url, hdrs, why, sizeof(why));
	if (rc == SB_OK && status != 200) {
		snprintf(why, sizeof(why), "HTTP %ld", status);
		rc = SB_EAUTH;
	}
	if (rc == SB_OK)
		rc = sb_ddb_creds_json(c, b->buf, b->len, 0, why, sizeof(why));
	if (rc == SB_ENOMEM)
		rc = sb_ddb_nomem(s, "credentials");
	else if (rc != SB_OK)
		rc = sb_seterr(s->base.box, rc,
		               "DynamoDB at %s: container credentials endpoint "
		               "(%s): %s",
		               s->where,
		               rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
		                   : "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		               why);
	else
		snprintf(c->from, sizeof(c->from),
		         "the container endpoint (%s)",
		         rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
		             : "AWS_CONTAINER_CREDENTIALS_FULL_URI");
done:
	if (b) {
		memset(b, 0, sizeof(*b));
		free(b);
	}
	curl_slist_free_all(hdrs);
	if (auth) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	memset(tbuf, 0, sizeof(tbuf));
	return rc;
}

/* ------------------------------------------------------------------ EC2 */

int sb_ddb_imds_creds(sb_ddb_store *s, sb_ddb_creds *c, char *note,
                      size_t note_size)
{
	const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	int chosen = ep != NULL;
	char base[512], url[1024], role[256], why[256], *tok = NULL;
	struct curl_slist *hdrs = NULL, *h;
	meta_body *b = NULL;
	const char *step = "token (PUT /latest/api/token)";
	long status = 0;
	size_t n;
	int rc;

	if (is_true(env("AWS_EC2_METADATA_DISABLED"))) {
		snprintf(note, note_size,
		         "EC2 instance metadata: disabled "
		         "by AWS_EC2_METADATA_DISABLED");
		return SB_EMPTY;
	}
	if (!ep)
		ep = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_DEFAULT_V6
		                                           : IMDS_DEFAULT;
	snprintf(base, sizeof(base), "%s", ep);
	n = strlen(base);
	while (n && base[n - 1] == '/')
		base[--n] = '\0';
	if (!(b = malloc(sizeof(*b))))
		return sb_ddb_nomem(s, "credentials");
	hdrs = curl_slist_append(NULL, META_TTL_HEADER);
	if (!hdrs) {
		rc = SB_ENOMEM;
		goto done;
	}
	snprintf(url, sizeof(url), "%s/latest/api/token", base);
	rc = fetch(b, &status, "PUT", url, hdrs, why, sizeof(why));
	curl_slist_free_all(hdrs);
	hdrs = NULL;
	if (rc != SB_OK)
		goto done;
	if (status != 200 || !b->len || has_crlf(b->buf)) {
		snprintf(why, sizeof(why), "HTTP %ld%s", status,
		         status == 200 ? " with a bad token" : "");
		rc = SB_EAUTH;
		goto done;
	}
	n = strlen(b->buf) + 32;
	if (!(tok = malloc(n))) {
		rc = SB_ENOMEM;
		goto done;
	}
	snprintf(tok, n, "X-aws-ec2-metadata-token: %s", b->buf);
	if (!(hdrs = curl_slist_append(NULL, tok))) {
		rc = SB_ENOMEM;
		goto done;
	}
	step = "role (GET " CREDS_PATH ")";
	snprintf(url, sizeof(url), "%s%s", base, CREDS_PATH);
	if ((rc = fetch(b, &status, "GET", url, hdrs, why, sizeof(why))))
		goto done;
	if (status == 404) {
		/* An instance without a role: not a source here. */
		snprintf(note, note_size,
		         "EC2 instance metadata at %.100s: no IAM role", base);
		rc = SB_EMPTY;
		goto done;
	}
	b->buf[strcspn(b->buf, "\r\n")] = '\0';
	if (status != 200 || !b->buf[0] || strlen(b->buf) >= sizeof(role) ||
	    strpbrk(b->buf, "/?#% ")) {
		snprintf(why, sizeof(why), "HTTP %ld%s", status,
		         status == 200 ? " with a bad role name" : "");
		rc = SB_EAUTH;
		goto done;
	}
	snprintf(role, sizeof(role), "%s", b->buf);
	step = "role credentials";
	snprintf(url, sizeof(url), "%s%s%s", base, CREDS_PATH, role);
	if ((rc = fetch(b, &status, "GET", url, hdrs, why, sizeof(why))))
		goto done;
	if (status != 200) {
		snprintf(why, sizeof(why), "HTTP %ld", status);
		rc = SB_EAUTH;
		goto done;
	}
	rc = sb_ddb_creds_json(c, b->buf, b->len, 0, why, sizeof(why));
	if (rc == SB_OK)
		snprintf(c->from, sizeof(c->from),
		         "EC2 instance metadata at %.60s (role %.60s)", base,
		         role);
done:
	if (rc == SB_ENOMEM)
		rc = sb_ddb_nomem(s, "credentials");
	else if (!chosen && rc != SB_OK && rc != SB_EMPTY &&
	         (rc == SB_ECONNECT || rc == SB_ETIMEOUT || !tok)) {
		/* The default address silent, or no IMDSv2 token there:
		 * not on EC2 (another cloud's metadata service may answer). */
		snprintf(note, note_size, "EC2 instance metadata at %s: %.120s",
		         base, why);
		rc = SB_EMPTY;
	} else if (rc != SB_OK && rc != SB_EMPTY)
		rc = sb_seterr(s->base.box, rc,
		               "DynamoDB at %s: EC2 instance metadata at %s, "
		               "%s: %s",
		               s->where, base, step, why);
	for (h = hdrs; h; h = h->next)
		memset(h->data, 0, strlen(h->data));
	curl_slist_free_all(hdrs);
	if (tok) {
		memset(tok, 0, strlen(tok));
		free(tok);
	}
	if (b) {
		memset(b, 0, sizeof(*b));
		free(b);
	}
	return rc;
}
