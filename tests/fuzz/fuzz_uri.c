/* Fuzz target: the URI parser (core/uri.c). Any bytes are parsed; on
 * success the result must be self-consistent (checked with abort(), so a
 * broken property is a crash the fuzzer reports). The same bytes, used as
 * the query string of `memory:` and `sqlite::memory:` URIs, then go
 * through sb_box_open, which reads every option of the core and the
 * backend: nothing touches the network or the file system. */
#include "internal.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_parsed(sb_uri *u, const char *text)
{
	size_t i, j;

	CHECK(NULL,
	      u->scheme && *u->scheme && u->text && u->redacted && u->path);
	CHECK(NULL, strcmp(u->text, text) == 0);
	for (i = 0; u->scheme[i]; i++)
		CHECK(NULL, !(u->scheme[i] >= 'A' && u->scheme[i] <= 'Z'));
	CHECK(NULL, u->port >= 0 && u->port <= 65535);
	CHECK(NULL, !u->port || u->has_authority);
	/* A password in the text never reaches the redacted form raw. */
	if (u->password)
		CHECK(NULL, strstr(u->redacted, "***") != NULL);
	else
		CHECK(NULL, strcmp(u->redacted, u->text) == 0);
	/* sb_uri_param: the last value of each key, and marks it used. */
	for (i = 0; i < u->nparams; i++) {
		const char *last = NULL;

		CHECK(NULL, u->params[i].key && *u->params[i].key &&
		                    u->params[i].value);
		for (j = 0; j < u->nparams; j++)
			if (strcmp(u->params[j].key, u->params[i].key) == 0)
				last = u->params[j].value;
		CHECK(NULL, sb_uri_param(u, u->params[i].key) == last);
	}
	CHECK(NULL, sb_uri_unused(u) == NULL);
	CHECK(NULL, sb_uri_param(u, "") == NULL);
}

static void open_with_query(const char *prefix, const char *query)
{
	size_t n = strlen(prefix) + strlen(query) + 1;
	char *uri = malloc(n), err[SB_ERRMSG_SIZE];
	sb_box *box = NULL;
	int rc;

	if (!uri)
		return;
	snprintf(uri, n, "%s%s", prefix, query);
	err[0] = '\0';
	rc = sb_box_open(&box, uri, NULL, err, sizeof(err));
	CHECK(NULL, (rc == SB_OK) == (box != NULL));
	CHECK(NULL, rc == SB_OK || err[0] != '\0');
	CHECK(NULL, memchr(err, '\0', sizeof(err)) != NULL);
	sb_box_close(box);
	free(uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, err[SB_ERRMSG_SIZE];
	sb_uri *u = NULL;
	int rc;

	if (size > FZ_MAX_INPUT || !(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* an inner NUL just ends the URI early */

	err[0] = '\0';
	rc = sb_uri_parse(&u, text, err, sizeof(err));
	if (rc == SB_OK) {
		CHECK(NULL, u != NULL);
		check_parsed(u, text);
		sb_uri_free(u);
	} else {
		CHECK(NULL, rc == SB_EURI && u == NULL && err[0] != '\0');
	}

	open_with_query("memory:?", text);
	open_with_query("sqlite::memory:?", text);
	free(text);
	return 0;
}
