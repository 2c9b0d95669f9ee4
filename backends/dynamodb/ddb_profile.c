/* The shared files of the AWS SDKs (~/.aws/credentials, ~/.aws/config):
 * INI sections of `key = value` lines. Only one profile's four settings
 * are kept: aws_access_key_id, aws_secret_access_key, aws_session_token,
 * credential_process. The files belong to the user but may be anything
 * (a FIFO, a huge or binary file, a line of megabytes): what the reader
 * cannot trust is refused with a reason, never read past its limits. */
#include "ddb_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROFILE_MAX_FILE (1024 * 1024) /* bytes */
#define PROFILE_MAX_LINE 16384         /* a session token fits easily */

void sb_ddb_profile_free(sb_ddb_profile *p)
{
	char **v[4] = { &p->key, &p->secret, &p->token, &p->process };
	int i;

	for (i = 0; i < 4; i++) {
		if (*v[i]) {
			volatile char *z = *v[i];
			while (*z)
				*z++ = 0;
			free(*v[i]);
			*v[i] = NULL;
		}
	}
	p->found = 0;
	p->unsupported = NULL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* [start, end) without surrounding blanks. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_space(**start))
		(*start)++;
	while (*end > *start && is_space((*end)[-1]))
		(*end)--;
}

static int word_is(const char *s, const char *e, const char *w)
{
	size_t n = strlen(w);
	return (size_t)(e - s) == n && strncmp(s, w, n) == 0;
}

/* 1 if section header text [s, e) names profile @p name. */
static int section_is(const char *s, const char *e, const char *name,
                      int config)
{
	if (config && (size_t)(e - s) > 8 && strncmp(s, "profile", 7) == 0 &&
	    is_space(s[7])) {
		s += 8;
		trim(&s, &e);
		return word_is(s, e, name);
	}
	/* config: only "default" goes without "profile " */
	if (config && strcmp(name, "default") != 0)
		return 0;
	return word_is(s, e, name);
}

/* Sources of the SDKs this backend does not have: a profile that uses
 * one must not fall through to another identity (an instance role). */
static void unsupported(sb_ddb_profile *p, const char *ks, const char *ke)
{
	static const char *const names[] = { "role_arn", "sso_session",
		                             "sso_start_url",
		                             "web_identity_token_file" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (word_is(ks, ke, names[i]))
			p->unsupported = names[i];
}

static int set(char **slot, const char *s, const char *e)
{
	char *v = strndup(s, (size_t)(e - s));

	if (!v)
		return SB_ENOMEM;
	if (*slot) {
		volatile char *z = *slot;
		while (*z)
			*z++ = 0;
		free(*slot);
	}
	*slot = v; /* a later line wins, as in the SDKs */
	return SB_OK;
}

static int parse(sb_ddb_profile *p, const char *buf, size_t len,
                 const char *path, const char *name, int config, char *why,
                 size_t why_size)
{
	const char *line = buf, *end = buf + len;
	int in_section = 0, mine = 0, n = 0, rc;
	long key_indent = -1; /* of the last setting; -1: none yet */

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end, *s = line, *e = le, *eq;
		const char *start = line;

		n++;
		if ((size_t)(le - line) > PROFILE_MAX_LINE) {
			snprintf(why, why_size,
			         "%s: line %d is longer than %d bytes", path, n,
			         PROFILE_MAX_LINE);
			return SB_EAUTH;
		}
		line = nl ? nl + 1 : end;
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		/* A line indented deeper than the setting above continues
		 * it (sub-settings such as s3 =): none of ours. */
		if (key_indent >= 0 && (long)(s - start) > key_indent)
			continue;
		if (*s == '[') {
			if (e[-1] != ']' || e - s < 3) {
				snprintf(why, why_size,
				         "%s: line %d: a section header "
				         "without its closing ]",
				         path, n);
				return SB_EAUTH;
			}
			s++;
			e--;
			trim(&s, &e);
			in_section = 1;
			key_indent = -1;
			mine = section_is(s, e, name, config);
			if (mine)
				p->found = 1;
			continue;
		}
		if (!in_section) {
			snprintf(why, why_size,
			         "%s: line %d: a setting before any "
			         "[section]",
			         path, n);
			return SB_EAUTH;
		}
		if (!(eq = memchr(s, '=', (size_t)(e - s)))) {
			snprintf(why, why_size,
			         "%s: line %d: neither [section] nor "
			         "key = value",
			         path, n);
			return SB_EAUTH;
		}
		key_indent = (long)(s - start);
		if (!mine)
			continue;
		{
			const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
			char **slot = NULL;
			trim(&ks, &ke);
			trim(&vs, &ve);
			if (word_is(ks, ke, "aws_access_key_id"))
				slot = &p->key;
			else if (word_is(ks, ke, "aws_secret_access_key"))
				slot = &p->secret;
			else if (word_is(ks, ke, "aws_session_token"))
				slot = &p->token;
			else if (word_is(ks, ke, "credential_process"))
				slot = &p->process;
			else
				unsupported(p, ks, ke);
			if (slot && (rc = set(slot, vs, ve)))
				return rc;
		}
	}
	return SB_OK;
}

int sb_ddb_profile_read(sb_ddb_profile *p, const char *path, const char *name,
                        int config, char *why, size_t why_size)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, rc;

	memset(p, 0, sizeof(*p));
	/* O_NONBLOCK: a FIFO must not hang the open (it is refused below). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return SB_EMPTY;
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return SB_EAUTH;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_size, "%s: not a regular file", path);
		close(fd);
		return SB_EAUTH;
	}
	if (st.st_size > PROFILE_MAX_FILE) {
		snprintf(why, why_size,
		         "%s: %lld bytes, more than a shared file may "
		         "hold (%d)",
		         path, (long long)st.st_size, PROFILE_MAX_FILE);
		close(fd);
		return SB_EAUTH;
	}
	if (!(buf = malloc(PROFILE_MAX_FILE + 1))) {
		close(fd);
		return SB_ENOMEM;
	}
	/* The size may change while we read: never past the limit. */
	while (got <= PROFILE_MAX_FILE) {
		ssize_t n = read(fd, buf + got, PROFILE_MAX_FILE + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > PROFILE_MAX_FILE) {
		snprintf(why, why_size, "%s: more than %d bytes", path,
		         PROFILE_MAX_FILE);
		rc = SB_EAUTH;
	} else if (memchr(buf, '\0', got)) {
		snprintf(why, why_size,
		         "%s: holds a NUL byte (at offset %zu): not a "
		         "text file",
		         path, (size_t)((char *)memchr(buf, '\0', got) - buf));
		rc = SB_EAUTH;
	} else {
		rc = parse(p, buf, got, path, name, config, why, why_size);
	}
	memset(buf, 0, got); /* it held secrets */
	free(buf);
	if (rc != SB_OK)
		sb_ddb_profile_free(p);
	return rc;
}
