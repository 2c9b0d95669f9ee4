/* HTTP to DynamoDB through libcurl: one easy handle per store (libcurl
 * keeps its connection alive between requests), each attempt signed by
 * ddb_sigv4.c over exactly the bytes of CURLOPT_POSTFIELDS, with
 * credentials refreshed first when they near their expiry. Retryable answers
 * (throttling, conflicts, 5xx) are re-sent here with capped exponential
 * backoff and full jitter, so callers see only final answers. */
#include "ddb_private.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	/* Once per process, from whichever thread opens a store first:
	 * curl_global_init itself is not thread-safe before 7.84. */
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

uint32_t sb_ddb_rand(sb_ddb_store *s)
{
	uint32_t x = s->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return s->rng = x ? x : 0x9e3779b9u;
}

/* Full jitter: a random time in [0, min(cap, base * 2^attempt)]. */
long sb_ddb_backoff_ms(sb_ddb_store *s, int attempt)
{
	long ceil_ms = s->backoff_base_ms;
	long ms;

	while (attempt-- > 0 && ceil_ms < s->backoff_cap_ms)
		ceil_ms *= 2;
	if (ceil_ms > s->backoff_cap_ms)
		ceil_ms = s->backoff_cap_ms;
	ms = ceil_ms > 0 ? (long)(sb_ddb_rand(s) % (uint32_t)(ceil_ms + 1)) : 0;
	s->counters.sleep_ms += (uint64_t)ms;
	if ((uint64_t)ms > s->counters.max_sleep_ms)
		s->counters.max_sleep_ms = (uint64_t)ms;
	return ms;
}

void sb_ddb_backoff(sb_ddb_store *s, int attempt)
{
	long ms = sb_ddb_backoff_ms(s, attempt);
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

int sb_ddb_buf_add(char **buf, size_t *len, size_t *cap, const char *data,
                   size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *nb;
		while (c < *len + n + 1)
			c *= 2;
		if (!(nb = realloc(*buf, c)))
			return -1;
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	sb_ddb_store *s = p;
	size_t n = size * nmemb;

	if (sb_ddb_buf_add(&s->resp, &s->resp_len, &s->resp_cap, data, n))
		return 0; /* curl reports CURLE_WRITE_ERROR */
	return n;
}

/* Keep the Date of each answer: a skew error is corrected from it. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	sb_ddb_store *s = p;
	size_t n = size * nmemb, k;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		s->date_hdr[0] = '\0'; /* a new answer (after 100 Continue) */
	} else if (n > 5 && strncasecmp(data, "Date:", 5) == 0) {
		for (k = 5; k < n && (data[k] == ' ' || data[k] == '\t'); k++)
			;
		snprintf(s->date_hdr, sizeof(s->date_hdr), "%.*s", (int)(n - k),
		         data + k);
		s->date_hdr[strcspn(s->date_hdr, "\r\n")] = '\0';
	}
	return n;
}

/* host[:port] of the endpoint, as the Host header and the signature
 * carry it. */
static char *endpoint_host(const char *endpoint)
{
	const char *h = strstr(endpoint, "://");

	h = h ? h + 3 : endpoint;
	return strndup(h, strcspn(h, "/"));
}

int sb_ddb_http_init(sb_ddb_store *s)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return sb_seterr(s->base.box, SB_ERROR,
		                 "DynamoDB: curl_global_init failed: %s",
		                 curl_easy_strerror(global_rc));
	if (!(s->curl = curl_easy_init()) ||
	    !(s->host = endpoint_host(s->endpoint)))
		return sb_ddb_nomem(s, "curl handle");
	sb_ddb_easy_setup(s, s->curl);
	curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	return SB_OK;
}

/* What every handle of the store carries, the store's own (above) and
 * those of ddb_multi.c: endpoint, timeouts, protocols. Signed headers
 * are set per request (sb_ddb_sign). */
void sb_ddb_easy_setup(sb_ddb_store *s, CURL *h)
{
	curl_easy_setopt(h, CURLOPT_URL, s->endpoint);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
}

/* Short type of an AWS error: "com.amazonaws...#ConditionalCheckFailed
 * Exception" -> "ConditionalCheckFailedException". */
static const char *short_type(const char *t)
{
	const char *h = strrchr(t, '#');
	return h ? h + 1 : t;
}

static int type_is(const char *t, const char *want)
{
	return strcmp(t, want) == 0;
}

static int retryable_type(const char *t)
{
	return type_is(t, "ProvisionedThroughputExceededException") ||
	       type_is(t, "ThrottlingException") ||
	       type_is(t, "RequestLimitExceeded") ||
	       type_is(t, "TransactionConflictException") ||
	       type_is(t, "TransactionInProgressException") ||
	       type_is(t, "InternalServerError") ||
	       type_is(t, "ServiceUnavailable") ||
	       type_is(t, "LimitExceededException");
}

/* Requests that may carry a ConditionExpression. */
static int conditional_op(const char *op)
{
	return strcmp(op, "PutItem") == 0 || strcmp(op, "UpdateItem") == 0 ||
	       strcmp(op, "DeleteItem") == 0;
}

/* A canceled transaction worth re-sending: some action hit a conflict or
 * throttling and no condition failed (a failed condition is an answer). */
static int canceled_retryable(const cJSON *err)
{
	const char *code;
	int i, retry = 0;

	for (i = 0; sb_ddb_reason(err, i, &code); i++) {
		if (!code)
			continue;
		if (strcmp(code, "ConditionalCheckFailed") == 0)
			return 0;
		if (strcmp(code, "TransactionConflict") == 0 ||
		    strcmp(code, "ThrottlingError") == 0 ||
		    strcmp(code, "ProvisionedThroughputExceeded") == 0)
			retry = 1;
	}
	return retry;
}

const char *sb_ddb_fault_answer(sb_ddb_store *s, const char *op, long *status)
{
	if (strcmp(op, "TransactWriteItems") == 0 &&
	    sb_fault_point(s->base.box, SB_DDB_FAULT_CONFLICT)) {
		*status = 400;
		return "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
		       "TransactionCanceledException\",\"message\":"
		       "\"Transaction cancelled (fault injection)\","
		       "\"CancellationReasons\":[{\"Code\":"
		       "\"TransactionConflict\"}]}";
	}
	if (sb_fault_point(s->base.box, SB_DDB_FAULT_THROTTLE)) {
		*status = 400;
		return "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
		       "ProvisionedThroughputExceededException\",\"message\":"
		       "\"Rate exceeded (fault injection)\"}";
	}
	return NULL;
}

int sb_ddb_curl_error(sb_ddb_store *s, CURLcode cc, const char *op,
                      const char *what)
{
	int code = SB_ECONNECT;

	if (cc == CURLE_OPERATION_TIMEDOUT)
		code = SB_ETIMEOUT;
	else if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR)
		code = SB_ENOMEM;
	snprintf(s->err_type, sizeof(s->err_type), "%s", "curl");
	if (code == SB_ETIMEOUT)
		return sb_seterr(s->base.box, code,
		                 "DynamoDB %s (%s) at %s: no "
		                 "answer within %ld ms (connect %ld ms): %s",
		                 op, what, s->where, s->timeout_ms,
		                 s->connect_timeout_ms, curl_easy_strerror(cc));
	return sb_seterr(s->base.box, code, "DynamoDB %s (%s) at %s: %s", op,
	                 what, s->where, curl_easy_strerror(cc));
}

/* The connection dropped after the request went out (reset, an empty or
 * cut reply; docs/dynamodb.md, "A faulty network"): sent again like a
 * 5xx. The server may have carried the request out and lost only its
 * answer; a second copy is harmless because every write of storagebox is
 * conditional or idempotent and every TransactWriteItems carries a
 * ClientRequestToken (the same on each try). A timeout is not re-sent
 * (a silent server must fail the call within `timeout`), nor a refused
 * connection (fails at once): the caller gets SB_ETIMEOUT or
 * SB_ECONNECT, and a write that happened is found by the next call. */
static int net_retryable(CURLcode cc)
{
	return cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
	       cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE;
}

/* Parse a body; NULL if it is not a JSON object. */
static cJSON *parse_body(const char *body, size_t len)
{
	const char *end = NULL;
	cJSON *j;

	if (!body || len == 0)
		return NULL;
	j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* One error answer: 1 if worth a retry, else the final result. */
static int classify_error(sb_ddb_store *s, cJSON **out, cJSON *j, long status,
                          size_t len, const char *op, const char *what,
                          int *retry)
{
	const cJSON *t = j ? cJSON_GetObjectItemCaseSensitive(j, "__type")
	                   : NULL;
	const cJSON *m = NULL;
	const char *type, *msg;
	char clean_type[128], clean_msg[256];
	int code;

	*retry = 0;
	if (!cJSON_IsString(t)) {
		int was_json = j != NULL;
		cJSON_Delete(j);
		snprintf(s->err_type, sizeof(s->err_type), "HTTP %ld", status);
		*retry = status >= 500;
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "DynamoDB %s (%s) at %s: HTTP %ld with %s "
		                 "instead of a DynamoDB error",
		                 op, what, s->where, status,
		                 !len       ? "an empty body"
		                 : was_json ? "JSON"
		                            : "a body that is not JSON");
	}
	type = short_type(t->valuestring);
	snprintf(s->err_type, sizeof(s->err_type), "%s", type);
	if (j) {
		m = cJSON_GetObjectItemCaseSensitive(j, "message");
		if (!cJSON_IsString(m))
			m = cJSON_GetObjectItemCaseSensitive(j, "Message");
	}
	msg = cJSON_IsString(m) ? m->valuestring : "";

	/* The two answers that carry a body back (cancellation reasons, the
	 * ALL_OLD item) are answers only to the requests that can cause
	 * them; from anything posing as DynamoDB to any other request they
	 * are just errors (callers of a Scan keep no error body). */
	/* A snapshot read (add's TransactGetItems) has no condition: only
	 * conflicts and throttling cancel it, and it is read again. */
	if (type_is(type, "TransactionCanceledException") &&
	    strcmp(op, "TransactGetItems") == 0 && canceled_retryable(j)) {
		*retry = 1;
		cJSON_Delete(j);
		return sb_seterr(s->base.box, SB_EBUSY,
		                 "DynamoDB %s (%s) at %s: transaction "
		                 "conflict or throttling, retries exhausted",
		                 op, what, s->where);
	}
	if (type_is(type, "TransactionCanceledException") &&
	    strcmp(op, "TransactWriteItems") == 0) {
		if (canceled_retryable(j)) {
			*retry = 1;
			cJSON_Delete(j);
			return sb_seterr(s->base.box, SB_EBUSY,
			                 "DynamoDB %s (%s) at %s: transaction "
			                 "conflict or throttling, retries exhausted",
			                 op, what, s->where);
		}
		*out = j;
		sb_seterr(s->base.box, SB_ECONFLICT, "DynamoDB %s (%s): %s", op,
		          what, "transaction canceled");
		return SB_DDB_CANCELED;
	}
	if (retryable_type(type) || status >= 500) {
		*retry = 1;
		code = type_is(type,
		               "ProvisionedThroughputExceededException") ||
		                       type_is(type, "ThrottlingException") ||
		                       type_is(type, "RequestLimitExceeded") ||
		                       type_is(type,
		                               "TransactionConflictException")
		               ? SB_EBUSY
		               : SB_EBACKEND;
	} else if (type_is(type, "ResourceNotFoundException")) {
		code = SB_DDB_NOTABLE;
	} else if (type_is(type, "ConditionalCheckFailedException") &&
	           conditional_op(op)) {
		*out = j;
		sb_seterr(s->base.box, SB_ECONFLICT,
		          "DynamoDB %s (%s): "
		          "condition failed",
		          op, what);
		return SB_ECONFLICT;
	} else if (type_is(type, "UnrecognizedClientException") ||
	           type_is(type, "InvalidSignatureException") ||
	           type_is(type, "MissingAuthenticationTokenException") ||
	           type_is(type, "AccessDeniedException") ||
	           type_is(type, "ExpiredTokenException") ||
	           type_is(type, "IncompleteSignatureException")) {
		code = SB_EAUTH;
	} else if (type_is(type, "ValidationException") ||
	           type_is(type, "SerializationException")) {
		code = SB_EINVALID;
	} else {
		code = SB_EBACKEND;
	}
	/* Server text may echo the request: no secret or token in it. */
	sb_ddb_scrub(s, type, clean_type, sizeof clean_type);
	sb_ddb_scrub(s, msg, clean_msg, sizeof clean_msg);
	sb_seterr(s->base.box, code == SB_DDB_NOTABLE ? SB_ENOTFOUND : code,
	          "DynamoDB %s (%s) at %s: %s: %.200s", op, what, s->where,
	          clean_type, clean_msg);
	cJSON_Delete(j);
	return code;
}

int sb_ddb_answer(cJSON **out, sb_ddb_store *s, const char *body, size_t len,
                  long status, const char *op, const char *what, int *retry)
{
	cJSON *j = parse_body(body, len);

	*out = NULL;
	*retry = 0;
	if (status != 200)
		return classify_error(s, out, j, status, len, op, what, retry);
	if (!j) {
		snprintf(s->err_type, sizeof(s->err_type), "bad JSON");
		return sb_seterr(s->base.box, SB_EBACKEND,
		                 "DynamoDB %s (%s) at "
		                 "%s: HTTP 200 with a body that is not JSON",
		                 op, what, s->where);
	}
	*out = j;
	return SB_OK;
}

/* The next answer of a test's replay (see sb_ddb_replay_fn) into s->resp. */
static CURLcode replay(sb_ddb_store *s, const char *op, long *status)
{
	size_t len = 0;
	const char *b = s->replay(s->replay_ctx, op, status, &len);

	if (!b)
		return CURLE_COULDNT_CONNECT;
	if (len && on_body((char *)b, 1, len, s) != len)
		return CURLE_WRITE_ERROR;
	return CURLE_OK;
}

/* Sign one attempt (ddb_sigv4.c) with fresh credentials at the time
 * now, into *hdrs (the previous attempt's are freed). */
static int sign(sb_ddb_store *s, struct curl_slist **hdrs, const char *op,
                const char *text, size_t len)
{
	int rc;

	curl_slist_free_all(*hdrs);
	*hdrs = NULL;
	if ((rc = sb_ddb_creds_fresh(s)) ||
	    (rc = sb_ddb_sign(s, hdrs, op, text, len)))
		return rc;
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, *hdrs);
	return SB_OK;
}

int sb_ddb_call(cJSON **out, sb_ddb_store *s, const char *op, cJSON *body,
                const char *what)
{
	struct curl_slist *hdrs = NULL;
	char *text;
	size_t len;
	int attempt, rc = SB_ERROR, skew_retried = 0, renewed = 0;

	*out = NULL;
	if (!(text = cJSON_PrintUnformatted(body)))
		return sb_ddb_nomem(s, what);
	len = strlen(text);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)len);

	for (attempt = 0;; attempt++) {
		long status = 0;
		const char *fake;
		int retry = 0;

		s->resp_len = 0;
		if (s->resp)
			s->resp[0] = '\0';
		s->date_hdr[0] = '\0';
		if ((fake = sb_ddb_fault_answer(s, op, &status))) {
			s->resp_len = 0;
			on_body((char *)fake, 1, strlen(fake), s);
		} else {
			CURLcode cc;
			if (!s->replay &&
			    (rc = sign(s, &hdrs, op, text, len)) != SB_OK)
				break;
			cc = s->replay ? replay(s, op, &status)
			               : curl_easy_perform(s->curl);
			s->counters.requests++;
			if (cc != CURLE_OK) {
				rc = sb_ddb_curl_error(s, cc, op, what);
				s->counters.net_errors++;
				if (!net_retryable(cc) ||
				    attempt >= s->max_retries)
					break;
				s->counters.retries++;
				s->counters.net_retries++;
				sb_ddb_backoff(s, attempt);
				continue;
			}
			if (!s->replay)
				curl_easy_getinfo(s->curl,
				                  CURLINFO_RESPONSE_CODE,
				                  &status);
		}
		rc = sb_ddb_answer(out, s, s->resp, s->resp_len, status, op,
		                   what, &retry);
		/* Our clock is off (the server said so, with its own time):
		 * once per call, re-signed at the server's time, at once. */
		if (rc == SB_EAUTH && !fake && !s->replay && !skew_retried &&
		    sb_ddb_skew_fix(s)) {
			skew_retried = 1;
			s->counters.retries++;
			attempt--; /* not one of max_retries */
			continue;
		}
		/* Temporary keys that the server calls expired before their
		 * Expiration (revoked, or refreshed too late): new ones from
		 * the chain, once per call, then at once. Static keys would
		 * come back the same. */
		if (rc == SB_EAUTH && !fake && !s->replay && !renewed &&
		    s->creds.expires_ms &&
		    strcmp(s->err_type, "ExpiredTokenException") == 0) {
			renewed = 1;
			if (sb_ddb_creds_renew(s) != SB_OK)
				break; /* its message says why */
			s->counters.retries++;
			attempt--;
			continue;
		}
		if (!retry || attempt >= s->max_retries)
			break;
		s->counters.retries++;
		sb_ddb_backoff(s, attempt);
	}
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	free(text);
	return rc;
}
