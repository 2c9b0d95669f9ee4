/* The backend registry: built-ins, runtime registration, exact scheme
 * matching, and the error for a scheme this build lacks. */
#include "internal.h"
#include "../common/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_scheme(const char *want)
{
	const char *names[16];
	size_t n = sb_backend_list(names, 16), i;

	for (i = 0; i < n && i < 16; i++)
		if (strcmp(names[i], want) == 0)
			return 1;
	return 0;
}

/* A backend whose open reads option "known" and nothing else. */
static int fake_opened;

static int fake_open(sb_store **out, sb_uri *uri, sb_box *box)
{
	const sb_backend *mem = sb_backend_find("memory");
	sb_uri_param(uri, "known");
	fake_opened++;
	/* Delegate the store itself to the memory backend. */
	free(uri->path);
	uri->path = strdup("fake-store");
	return mem->open(out, uri, box);
}

static const sb_backend fake = { .version = SB_BACKEND_VERSION,
	                         .scheme = "fake",
	                         .open = fake_open };
static const sb_backend fake_memory = { .version = SB_BACKEND_VERSION,
	                                .scheme = "memory",
	                                .open = fake_open };
static const sb_backend bad_version = { .version = 99,
	                                .scheme = "badver",
	                                .open = fake_open };
static const sb_backend bad_scheme = { .version = SB_BACKEND_VERSION,
	                               .scheme = "Bad Scheme",
	                               .open = fake_open };

int main(void)
{
	char err[SB_ERRMSG_SIZE];
	sb_box *box = NULL;
	size_t before;

	CHECK(NULL, has_scheme("memory"));
#if SB_HAVE_SQLITE
	CHECK(NULL, has_scheme("sqlite"));
	CHECK(NULL, sb_backend_find("sqlite") != NULL);
#endif
	CHECK(NULL, sb_backend_find("MEMORY") == sb_backend_find("memory"));
	CHECK(NULL, sb_backend_find("mem") == NULL); /* no prefix matching */
	CHECK(NULL, sb_backend_find("memoryx") == NULL);
	CHECK(NULL, sb_backend_find(NULL) == NULL);
	CHECK(NULL, sb_backend_list(NULL, 0) >= 1);

	/* Unknown scheme: the message names it and lists what exists. */
	CHECK(NULL,
	      sb_box_open(&box, "nosuch:x", NULL, err, sizeof(err)) == SB_EURI);
	CHECK(NULL, box == NULL);
	CHECK(NULL, strstr(err, "'nosuch'") != NULL);
	CHECK(NULL, strstr(err, "memory") != NULL);
#if SB_HAVE_SQLITE
	CHECK(NULL, strstr(err, "sqlite") != NULL);
#endif

	CHECK(NULL, sb_backend_register(NULL) == SB_EINVALID);
	CHECK(NULL, sb_backend_register(&bad_version) == SB_ENOTSUPPORTED);
	CHECK(NULL, sb_backend_register(&bad_scheme) == SB_EINVALID);
	before = sb_backend_list(NULL, 0);
	CHECK(NULL, sb_backend_register(&fake) == SB_OK);
	CHECK(NULL, sb_backend_find("Fake") == &fake);
	CHECK(NULL, has_scheme("fake"));
	CHECK(NULL, sb_backend_list(NULL, 0) == before + 1);

	/* Options: read ones pass, unread ones are reported by name. */
	CHECK(NULL, sb_box_open(&box, "fake:x?known=1", NULL, err,
	                        sizeof(err)) == SB_OK);
	CHECK(NULL, fake_opened == 1);
	sb_box_close(box);
	box = NULL;
	CHECK(NULL, sb_box_open(&box, "fake:x?known=1&typo=2", NULL, err,
	                        sizeof(err)) == SB_EURI);
	CHECK(NULL, box == NULL);
	CHECK(NULL, strstr(err, "typo") != NULL);
	/* The core's own option is consumed by the core. */
	CHECK(NULL, sb_box_open(&box, "fake:x?lease=1", NULL, err,
	                        sizeof(err)) == SB_OK);
	sb_box_close(box);
	box = NULL;
	CHECK(NULL, sb_box_open(&box, "fake:x?lease=-1", NULL, err,
	                        sizeof(err)) == SB_EURI);
	CHECK(NULL, sb_box_open(&box, "fake:x?lease=abc", NULL, err,
	                        sizeof(err)) == SB_EURI);
	CHECK(NULL, strstr(err, "lease") != NULL);

	/* A registration shadows a built-in of the same scheme, once. */
	CHECK(NULL, sb_backend_register(&fake_memory) == SB_OK);
	CHECK(NULL, sb_backend_find("memory") == &fake_memory);
	CHECK(NULL, sb_backend_list(NULL, 0) == before + 1);

	/* Bad open options. */
	{
		sb_open_opts o = SB_OPEN_OPTS_INIT;
		o.version = 42;
		CHECK(NULL, sb_box_open(&box, "fake:x", &o, err, sizeof(err)) ==
		                    SB_ENOTSUPPORTED);
		o.version = SB_OPEN_OPTS_VERSION;
		o.protocol = (sb_protocol)7;
		CHECK(NULL, sb_box_open(&box, "fake:x", &o, err, sizeof(err)) ==
		                    SB_EINVALID);
		CHECK(NULL, sb_box_open(NULL, "fake:x", NULL, err,
		                        sizeof(err)) == SB_EINVALID);
	}
	CHECK(NULL, strcmp(sb_strerror(SB_EMPTY), sb_strerror(SB_OK)) != 0);
	CHECK(NULL, strcmp(sb_strerror(-1000), "unknown result code") == 0);
	CHECK_STR(NULL, sb_version(), SB_VERSION_STRING);
	return t_summary();
}
