/* hd_inject's view of DynamoDB: the list of tables, read with a plain
 * libcurl request signed by curl's own SigV4 (not the library's code),
 * and a sentinel bank and ledger under another prefix (made and read
 * through the library, a box of another name). The box uses the prefix
 * "hdi<tag>-": afterwards every table that existed still exists, every
 * new table of this run carries the box's prefix, and the sentinel's
 * items and assignments are unchanged. Tables of other suites running
 * at the same time come and go and are left out. */
#include "hd_inject.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *server;
static char box_prefix[64], sen_prefix[64];
static hd_lines tables_before;

static char *box_uri(const char *arg)
{
	(void)arg;
	server = t_env_need("SB_TEST_DYNAMODB_URI");
	snprintf(box_prefix, sizeof box_prefix, "hdi%s-", hd_run_tag());
	snprintf(sen_prefix, sizeof sen_prefix, "hds%s-", hd_run_tag());
	return t_xasprintf("%s%sbank_prefix=%s&ledger_prefix=%s", server,
	                   strchr(server, '?') ? "&" : "?", box_prefix,
	                   box_prefix);
}

typedef struct {
	char *buf;
	size_t len;
} body;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	body *b = arg;

	b->buf = t_xrealloc(b->buf, b->len + size * n + 1);
	memcpy(b->buf + b->len, p, size * n);
	b->len += size * n;
	b->buf[b->len] = '\0';
	return size * n;
}

/* Every table name, by paginated ListTables. */
static void list_tables(hd_lines *out)
{
	const char *key = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	char endpoint[256], region[64], *start = NULL;
	sb_uri *u = t_uri_parse(server);
	const char *r = sb_uri_param(u, "region");

	snprintf(region, sizeof region, "%s", r ? r : "us-east-1");
	snprintf(endpoint, sizeof endpoint, "http://%s:%d/", u->host, u->port);
	sb_uri_free(u);
	for (;;) {
		CURL *c = curl_easy_init();
		struct curl_slist *h = NULL;
		body b = { NULL, 0 };
		char *userpwd = t_xasprintf("%s:%s", key ? key : "fake",
		                            secret ? secret : "fake");
		char *sigv4 = t_xasprintf("aws:amz:%s:dynamodb", region);
		char *req = start ? t_xasprintf("{\"ExclusiveStartTableName\":"
		                                "\"%s\"}",
		                                start)
		                  : t_xstrdup("{}");
		long status = 0;
		cJSON *j, *names, *last, *it;

		h = curl_slist_append(h,
		                      "Content-Type: application/x-amz-json-1.0");
		h = curl_slist_append(h,
		                      "X-Amz-Target: DynamoDB_20120810.ListTables");
		curl_easy_setopt(c, CURLOPT_URL, endpoint);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
		CURLcode cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		free(userpwd);
		free(sigv4);
		free(req);
		free(start);
		start = NULL;
		j = b.buf ? cJSON_Parse(b.buf) : NULL;
		if (!CHECKF(NULL, cc == CURLE_OK && status == 200 && j,
		            "ListTables: %s, HTTP %ld", curl_easy_strerror(cc),
		            status)) {
			cJSON_Delete(j);
			free(b.buf);
			return;
		}
		names = cJSON_GetObjectItemCaseSensitive(j, "TableNames");
		cJSON_ArrayForEach(it, names) if (cJSON_IsString(it))
			hd_lines_add(out, t_xstrdup(it->valuestring));
		last = cJSON_GetObjectItemCaseSensitive(j,
		                                        "LastEvaluatedTableName");
		if (cJSON_IsString(last))
			start = t_xstrdup(last->valuestring);
		cJSON_Delete(j);
		free(b.buf);
		if (!start)
			break;
	}
}

static char *sentinel_uri(void)
{
	return t_xasprintf("%s%sbank_prefix=%s&ledger_prefix=%s", server,
	                   strchr(server, '?') ? "&" : "?", sen_prefix,
	                   sen_prefix);
}

static void setup(void)
{
	static const char *items[] = { "s1", "s2", "s3" };
	char *u = sentinel_uri();
	sb_box *box = hd_open(u, SB_PROTOCOL_AUTO);
	sb_item *it = NULL;

	/* Named like the box's (hostile) banks would be without a prefix. */
	if (box) {
		CHECK_RC(box, sb_box_add(NULL, box, "x", items, 3), SB_OK);
		CHECK_RC(box, sb_box_fetch(&it, box, "x", "sb_ledger", "u1"),
		         SB_OK);
		sb_item_free(it);
		sb_box_close(box);
	}
	free(u);
	list_tables(&tables_before);
	hd_lines_sort(&tables_before);
}

static int export_line(const char *id, const char *bank, const char *item,
                       void *p)
{
	hd_lines_add(p, t_xasprintf("sentinel %s %s %s", id, bank, item));
	return 0;
}

static void fingerprint(hd_lines *out)
{
	hd_lines now = { 0 };
	char *u = sentinel_uri();
	sb_box *box = hd_open(u, SB_PROTOCOL_AUTO);
	size_t i, j = 0, lost = 0, foreign = 0;
	sb_stats st;

	if (box) {
		CHECK_RC(box, sb_box_stats(&st, box, "x", "sb_ledger"), SB_OK);
		hd_lines_add(out, t_xasprintf("sentinel stats %llu %llu %llu",
		                              (unsigned long long)st.available,
		                              (unsigned long long)st.assigned,
		                              (unsigned long long)st.held));
		CHECK_RC(box, sb_box_export(box, "sb_ledger", export_line, out),
		         SB_OK);
		sb_box_close(box);
	}
	free(u);
	/* Tables: none of before lost; new ones of this run are the box's.
	 * The counts go in the fingerprint, so a difference fails. */
	list_tables(&now);
	hd_lines_sort(&now);
	for (i = 0; i < tables_before.n; i++) {
		while (j < now.n && strcmp(now.v[j], tables_before.v[i]) < 0)
			j++;
		if (j == now.n || strcmp(now.v[j], tables_before.v[i]) != 0) {
			fprintf(stderr, "table %s is gone\n",
			        tables_before.v[i]);
			lost++;
		}
	}
	for (i = 0; i < now.n; i++)
		if (strstr(now.v[i], hd_run_tag()) &&
		    strncmp(now.v[i], box_prefix, strlen(box_prefix)) != 0 &&
		    strncmp(now.v[i], sen_prefix, strlen(sen_prefix)) != 0) {
			fprintf(stderr, "table %s is outside the box\n",
			        now.v[i]);
			foreign++;
		}
	hd_lines_add(out, t_xasprintf("tables lost %zu, outside %zu", lost,
	                              foreign));
	hd_lines_free(&now);
}

static void cleanup(void)
{
	hd_lines_free(&tables_before);
}

const hd_view hd_view_dynamodb = {
	/* Ids and items are DynamoDB hash keys: 2048 bytes at most. */
	"dynamodb", box_uri, setup, fingerprint, cleanup, 2048,
};
