/* Several requests in flight (libcurl's multi interface), for the bulk
 * add: DynamoDB serves requests in parallel, so a load sent one request
 * at a time waits a round trip per request for nothing. Each attempt is
 * signed like sb_ddb_call's (fresh credentials, sb_ddb_sign; a clock
 * skew has already been corrected by the add's first requests, which go
 * through sb_ddb_call), its answer classified by
 * the same sb_ddb_answer, and a retryable one (throttling, 5xx) re-sent
 * after the same capped, jittered backoff, without holding up the
 * others: a request waiting for its backoff just is not started yet. */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
	struct job *next;
	char *text; /* the body, sent as it is on every attempt */
	const char *op, *what;
	sb_ddb_done_fn done;
	void *ctx;
	int attempt;
	int64_t not_before; /* ms, monotonic: backoff */
	/* While in flight */
	CURL *h;
	struct curl_slist *hdr;
	char *resp;
	size_t len, cap;
	int nomem;
} job;

struct sb_ddb_multi {
	sb_ddb_store *s;
	CURLM *cm;
	int max, running;
	job *head, *tail; /* waiting to start (FIFO) */
	CURL *idle[SB_DDB_MULTI_MAX];
	int nidle;
	sb_ddb_feed_fn feed;
	void *feed_ctx;
	int fed_all; /* feed said there is nothing left */
	int rc;      /* first error: no new work after it */
	char msg[512];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(job *j)
{
	curl_slist_free_all(j->hdr);
	free(j->text);
	free(j->resp);
	free(j);
}

static void enqueue(sb_ddb_multi *m, job *j)
{
	j->next = NULL;
	if (m->tail)
		m->tail->next = j;
	else
		m->head = j;
	m->tail = j;
}

/* The first queued job whose backoff is over (unlinked), else NULL and
 * *wait_ms = how long until one is. */
static job *ready_job(sb_ddb_multi *m, int64_t now, int64_t *wait_ms)
{
	job *j, *prev = NULL;

	for (j = m->head; j; prev = j, j = j->next) {
		if (j->not_before > now) {
			if (j->not_before - now < *wait_ms)
				*wait_ms = j->not_before - now;
			continue;
		}
		if (prev)
			prev->next = j->next;
		else
			m->head = j->next;
		if (m->tail == j)
			m->tail = prev;
		j->next = NULL;
		return j;
	}
	return NULL;
}

/* The first error stops new work; its message is kept (later failures
 * of requests still in flight overwrite the box's). */
static void note_error(sb_ddb_multi *m, int rc)
{
	if (rc == SB_OK || m->rc != SB_OK)
		return;
	m->rc = rc;
	snprintf(m->msg, sizeof m->msg, "%s", sb_box_errmsg(m->s->base.box));
}

int sb_ddb_multi_send(sb_ddb_multi *m, const char *op, cJSON *body,
                      const char *what, int64_t delay_ms, sb_ddb_done_fn done,
                      void *ctx)
{
	job *j = calloc(1, sizeof(*j));

	if (j)
		j->text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!j || !j->text) {
		free(j);
		return sb_ddb_nomem(m->s, what);
	}
	j->op = op;
	j->what = what;
	j->done = done;
	j->ctx = ctx;
	j->not_before = mono_ms() + delay_ms;
	enqueue(m, j);
	return SB_OK;
}

/* The final answer of @p j, or a re-send after a backoff. */
static void complete(sb_ddb_multi *m, job *j, CURLcode cc, long status,
                     const char *body, size_t len)
{
	sb_ddb_store *s = m->s;
	cJSON *out = NULL;
	int rc, retry = 0;

	if (j->nomem)
		cc = CURLE_WRITE_ERROR;
	if (cc != CURLE_OK)
		rc = sb_ddb_curl_error(s, cc, j->op, j->what);
	else
		rc = sb_ddb_answer(&out, s, body, len, status, j->op, j->what,
		                   &retry);
	if (retry && j->attempt < s->max_retries) {
		s->counters.retries++;
		j->not_before = mono_ms() + sb_ddb_backoff_ms(s, j->attempt);
		j->attempt++;
		j->len = 0;
		enqueue(m, j);
		return;
	}
	note_error(m, j->done(m, j->ctx, rc, out));
	job_free(j);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	job *j = p;
	size_t n = size * nmemb;

	if (sb_ddb_buf_add(&j->resp, &j->len, &j->cap, data, n)) {
		j->nomem = 1;
		return 0;
	}
	return n;
}

static void start(sb_ddb_multi *m, job *j)
{
	sb_ddb_store *s = m->s;
	const char *fake;
	long status = 0;
	int rc;

	if ((fake = sb_ddb_fault_answer(s, j->op, &status))) {
		complete(m, j, CURLE_OK, status, fake, strlen(fake));
		return;
	}
	if (s->replay) { /* tests: answers without a network, in order */
		size_t len = 0;
		s->counters.requests++;
		const char *b = s->replay(s->replay_ctx, j->op, &status, &len);
		complete(m, j, b ? CURLE_OK : CURLE_COULDNT_CONNECT, status, b,
		         len);
		return;
	}
	j->h = m->nidle > 0 ? m->idle[--m->nidle] : curl_easy_init();
	if (!j->h) {
		complete(m, j, CURLE_OUT_OF_MEMORY, 0, NULL, 0);
		return;
	}
	sb_ddb_easy_setup(s, j->h);
	curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, on_body);
	/* Signed on every attempt: the credentials may have been refreshed
	 * and the signature carries the time. */
	if ((rc = sb_ddb_creds_fresh(s)) ||
	    (rc = sb_ddb_sign(s, &j->hdr, j->op, j->text, strlen(j->text)))) {
		m->idle[m->nidle++] = j->h;
		j->h = NULL;
		note_error(m, j->done(m, j->ctx, rc, NULL));
		job_free(j);
		return;
	}
	curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, j->hdr);
	curl_easy_setopt(j->h, CURLOPT_POSTFIELDS, j->text);
	curl_easy_setopt(j->h, CURLOPT_POSTFIELDSIZE, (long)strlen(j->text));
	curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
	if (curl_multi_add_handle(m->cm, j->h) != CURLM_OK) {
		curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(j->hdr);
		j->hdr = NULL;
		m->idle[m->nidle++] = j->h;
		j->h = NULL;
		complete(m, j, CURLE_OUT_OF_MEMORY, 0, NULL, 0);
		return;
	}
	s->counters.requests++;
	m->running++;
}

/* A transfer is over: its handle back to the idle ones, its answer to
 * complete(). */
static void finished(sb_ddb_multi *m, CURL *h, CURLcode cc)
{
	char *priv = NULL;
	job *j;
	long status = 0;

	curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
	j = (job *)priv;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(m->cm, h);
	m->running--;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(j->hdr);
	j->hdr = NULL;
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	m->idle[m->nidle++] = h;
	j->h = NULL;
	complete(m, j, cc, status, j->resp, j->len);
}

/* Start what may start: queued jobs first (follow-ups of work already
 * begun), then new work from the feed unless an error stopped it.
 * *wait_ms: until the next backoff ends. */
static void fill(sb_ddb_multi *m, int64_t *wait_ms)
{
	while (m->running < m->max) {
		job *j = ready_job(m, mono_ms(), wait_ms);
		int r;

		if (j) {
			start(m, j);
			continue;
		}
		if (m->head || m->fed_all || m->rc != SB_OK)
			return;
		r = m->feed(m, m->feed_ctx);
		if (r < 0)
			note_error(m, r);
		if (r <= 0)
			m->fed_all = 1;
	}
}

int sb_ddb_multi_run(sb_ddb_store *s, int max, sb_ddb_feed_fn feed, void *ctx)
{
	sb_ddb_multi m;
	int i;

	memset(&m, 0, sizeof m);
	m.s = s;
	m.max = max < 1 ? 1 : max > SB_DDB_MULTI_MAX ? SB_DDB_MULTI_MAX : max;
	m.feed = feed;
	m.feed_ctx = ctx;
	if (!s->replay && !(m.cm = curl_multi_init()))
		return sb_ddb_nomem(s, "curl multi handle");
	for (;;) {
		int64_t wait_ms = 100;
		int still = 0, left = 0;
		CURLMsg *msg;

		fill(&m, &wait_ms);
		if (m.running == 0 && !m.head)
			break;
		if (m.running == 0) { /* only backoffs pending */
			struct timespec ts = { 0, (long)wait_ms * 1000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		curl_multi_perform(m.cm, &still);
		while ((msg = curl_multi_info_read(m.cm, &left)))
			if (msg->msg == CURLMSG_DONE)
				finished(&m, msg->easy_handle,
				         msg->data.result);
		if (still > 0)
			curl_multi_poll(m.cm, NULL, 0, (int)wait_ms, NULL);
	}
	for (i = 0; i < m.nidle; i++)
		curl_easy_cleanup(m.idle[i]);
	if (m.cm)
		curl_multi_cleanup(m.cm);
	if (m.rc != SB_OK)
		sb_seterr(s->base.box, m.rc, "%s", m.msg);
	return m.rc;
}
