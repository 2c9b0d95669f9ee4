/* Credentials the way the AWS SDKs find them, first source that has them
 * wins:
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SESSION_TOKEN;
 *   2. the shared files of profile $AWS_PROFILE (else "default"):
 *      $AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) with static
 *      keys, then credential_process (either file; credentials first),
 *      then static keys of $AWS_CONFIG_FILE (~/.aws/config);
 *   3. the container endpoint (ddb_imds.c);
 *   4. EC2 instance metadata, IMDSv2 (ddb_imds.c).
 * Not supported (an error when configured, rather than another identity
 * found further down): web identity (AWS_WEB_IDENTITY_TOKEN_FILE), and
 * profiles with role_arn, sso_session, sso_start_url or
 * web_identity_token_file.
 * A source that is configured but fails stops the chain with its error,
 * as in the SDKs: half a key pair in the environment, a profile named
 * by AWS_PROFILE that neither file has, a file that cannot be read, a
 * failing command or endpoint.
 *
 * Temporary credentials (an Expiration) are fetched again before they
 * expire. The cache is the store's: a store is used by one thread at a
 * time, so nothing is locked, and each box refreshes its own (one
 * metadata call per box per refresh, about once an hour). */
#include "ddb_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CREDS_EARLY_MS  (5 * 60 * 1000) /* refresh this long before */
#define CREDS_RETRY_MS  (30 * 1000)     /* after a failed refresh */
#define PROCESS_TIMEOUT 30000           /* ms for credential_process */
#define PROCESS_MAX_OUT 65536           /* bytes of its stdout */
#define CREDS_NOTE_SIZE 480

int64_t sb_ddb_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void zfree(char *p)
{
	if (p) {
		volatile char *z = p;
		while (*z)
			*z++ = 0;
		free(p);
	}
}

void sb_ddb_creds_free(sb_ddb_creds *c)
{
	zfree(c->key);
	zfree(c->secret);
	zfree(c->token);
	memset(c, 0, sizeof(*c));
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Take copies of the three strings (@p token may be NULL). */
static int creds_set(sb_ddb_creds *c, const char *key, const char *secret,
                     const char *token)
{
	c->key = strdup(key);
	c->secret = strdup(secret);
	c->token = token && *token ? strdup(token) : NULL;
	if (!c->key || !c->secret || (token && *token && !c->token)) {
		sb_ddb_creds_free(c);
		return SB_ENOMEM;
	}
	return SB_OK;
}

/* "2026-12-02T23:00:00Z", with fractions or "+00:00" -> ms; -1 if bad. */
static int64_t iso8601_ms(const char *t)
{
	struct tm tm;
	const char *p;
	time_t secs;
	int off = 0, used = 0;

	memset(&tm, 0, sizeof(tm));
	if (!t ||
	    sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	           &used) != 6 ||
	    used != 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = t + used;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == '+' || *p == '-') {
		int h, m;
		if (sscanf(p + 1, "%2d:%2d", &h, &m) != 2 || strlen(p) != 6)
			return -1;
		off = (h * 60 + m) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else if (*p == 'Z') {
		p++;
	} else {
		return -1;
	}
	if (*p || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	secs = timegm(&tm);
	if (secs == (time_t)-1)
		return -1;
	return ((int64_t)secs - off) * 1000;
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

int sb_ddb_creds_json(sb_ddb_creds *c, const char *body, size_t len,
                      int process, char *why, size_t why_size)
{
	cJSON *j = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
	const char *key, *secret, *token, *exp, *code;
	int rc = SB_EAUTH;

	if (!j || !cJSON_IsObject(j)) {
		snprintf(why, why_size, "the answer is not a JSON object");
		goto done;
	}
	if (process) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "Version");
		if (!cJSON_IsNumber(v) || v->valuedouble != 1) {
			snprintf(why, why_size,
			         "no \"Version\": 1 in its JSON");
			goto done;
		}
	} else if ((code = jstr(j, "Code")) && strcmp(code, "Success") != 0) {
		snprintf(why, why_size, "Code \"%.40s\" instead of Success",
		         code);
		goto done;
	}
	key = jstr(j, "AccessKeyId");
	secret = jstr(j, "SecretAccessKey");
	token = jstr(j, process ? "SessionToken" : "Token");
	exp = jstr(j, "Expiration");
	if (!key || !secret) {
		snprintf(why, why_size,
		         "no AccessKeyId and SecretAccessKey "
		         "in its JSON");
		goto done;
	}
	c->expires_ms = 0;
	if (exp && (c->expires_ms = iso8601_ms(exp)) <= 0) {
		snprintf(why, why_size,
		         "Expiration \"%.40s\" is not an ISO 8601 time", exp);
		goto done;
	}
	if (!process && !exp) {
		snprintf(why, why_size, "no Expiration in its JSON");
		goto done;
	}
	rc = creds_set(c, key, secret, token);
done:
	cJSON_Delete(j);
	return rc;
}

/* Append "; TEXT" to the list of sources tried (cut to its size). */
static void note(char *tried, const char *text)
{
	size_t n = strlen(tried), k = strlen(text);
	size_t room = CREDS_NOTE_SIZE - 1 - n;

	if (n && room >= 2) {
		memcpy(tried + n, "; ", 2);
		n += 2;
		room -= 2;
	}
	if (k > room)
		k = room;
	memcpy(tried + n, text, k);
	tried[n + k] = '\0';
}

/* ---------------------------------------------------------- environment */

static int from_env(sb_ddb_store *s, sb_ddb_creds *c, char *tried)
{
	const char *key = env("AWS_ACCESS_KEY_ID");
	const char *secret = env("AWS_SECRET_ACCESS_KEY");

	if (!key) {
		note(tried, "environment: AWS_ACCESS_KEY_ID not set");
		return SB_EMPTY;
	}
	if (!secret)
		return sb_seterr(s->base.box, SB_EAUTH,
		                 "DynamoDB at %s: AWS_ACCESS_KEY_ID is set but "
		                 "not AWS_SECRET_ACCESS_KEY",
		                 s->where);
	if (creds_set(c, key, secret, env("AWS_SESSION_TOKEN")))
		return sb_ddb_nomem(s, "credentials");
	snprintf(c->from, sizeof(c->from), "the environment");
	return SB_OK;
}

/* --------------------------------------------------------- shared files */

/* $VAR, else ~/.aws/NAME; "~/" expanded. NULL without a home. */
static char *shared_path(const char *var, const char *name)
{
	const char *v = env(var), *home = env("HOME");
	char *p;
	size_t n;

	if (v && !(v[0] == '~' && v[1] == '/'))
		return strdup(v);
	if (!home)
		return NULL;
	n = strlen(home) + (v ? strlen(v) : strlen(name) + 7) + 2;
	if (!(p = malloc(n)))
		return NULL;
	if (v)
		snprintf(p, n, "%s%s", home, v + 1);
	else
		snprintf(p, n, "%s/.aws/%s", home, name);
	return p;
}

static int run_process(sb_ddb_store *s, sb_ddb_creds *c, const char *cmd,
                       const char *profile, const char *path)
{
	char why[256], *out = NULL;
	size_t len = 0;
	int rc = sb_ddb_process_run(&out, &len, cmd, PROCESS_TIMEOUT,
	                            PROCESS_MAX_OUT, why, sizeof(why));

	if (rc == SB_ENOMEM)
		return sb_ddb_nomem(s, "credential_process");
	if (rc == SB_OK) {
		rc = sb_ddb_creds_json(c, out, len, 1, why, sizeof(why));
		memset(out, 0, len);
		free(out);
		if (rc == SB_ENOMEM)
			return sb_ddb_nomem(s, "credential_process");
		if (rc == SB_OK) {
			snprintf(c->from, sizeof(c->from),
			         "credential_process of profile '%.40s' in "
			         "%.80s",
			         profile, path);
			return SB_OK;
		}
		return sb_seterr(s->base.box, rc,
		                 "DynamoDB at %s: credential_process of "
		                 "profile '%s' in %s: %s",
		                 s->where, profile, path, why);
	}
	return sb_seterr(s->base.box, rc,
	                 "DynamoDB at %s: profile '%s' in %s: %s", s->where,
	                 profile, path, why);
}

static int static_keys(sb_ddb_store *s, sb_ddb_creds *c,
                       const sb_ddb_profile *p, const char *profile,
                       const char *path)
{
	if (!p->secret)
		return sb_seterr(s->base.box, SB_EAUTH,
		                 "DynamoDB at %s: profile '%s' in %s has "
		                 "aws_access_key_id but no "
		                 "aws_secret_access_key",
		                 s->where, profile, path);
	if (creds_set(c, p->key, p->secret, p->token))
		return sb_ddb_nomem(s, "credentials");
	snprintf(c->from, sizeof(c->from), "profile '%.40s' in %.100s", profile,
	         path);
	return SB_OK;
}

static int from_files(sb_ddb_store *s, sb_ddb_creds *c, char *tried)
{
	const char *named = env("AWS_PROFILE");
	const char *profile = named ? named : "default";
	char *cpath = shared_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	char *fpath = shared_path("AWS_CONFIG_FILE", "config");
	sb_ddb_profile cp, fp;
	char why[256], text[CREDS_NOTE_SIZE];
	int rc, rc2;

	memset(&cp, 0, sizeof(cp));
	memset(&fp, 0, sizeof(fp));
	if (!cpath || !fpath) {
		free(cpath);
		free(fpath);
		note(tried, "shared files: no $HOME");
		return SB_EMPTY;
	}
	rc = sb_ddb_profile_read(&cp, cpath, profile, 0, why, sizeof(why));
	if (rc < 0)
		goto bad;
	rc2 = sb_ddb_profile_read(&fp, fpath, profile, 1, why, sizeof(why));
	if (rc2 < 0) {
		rc = rc2;
		goto bad;
	}
	if (cp.key)
		rc = static_keys(s, c, &cp, profile, cpath);
	else if (cp.unsupported || fp.unsupported)
		rc = sb_seterr(s->base.box, SB_EAUTH,
		               "DynamoDB at %s: profile '%s' in %s uses %s, "
		               "which storagebox does not support (static keys "
		               "and credential_process only): export keys or "
		               "choose another profile",
		               s->where, profile,
		               cp.unsupported ? cpath : fpath,
		               cp.unsupported ? cp.unsupported
		                              : fp.unsupported);
	else if (cp.process)
		rc = run_process(s, c, cp.process, profile, cpath);
	else if (fp.process)
		rc = run_process(s, c, fp.process, profile, fpath);
	else if (fp.key)
		rc = static_keys(s, c, &fp, profile, fpath);
	else if (named && !cp.found && !fp.found)
		rc = sb_seterr(s->base.box, SB_EAUTH,
		               "DynamoDB at %s: AWS_PROFILE names profile "
		               "'%s', which neither %s nor %s has",
		               s->where, profile, cpath, fpath);
	else {
		snprintf(text, sizeof(text),
		         "profile '%.40s': %s in %.100s, %.100s", profile,
		         cp.found || fp.found ? "no keys or credential_process"
		                              : "not found",
		         cpath, fpath);
		note(tried, text);
		rc = SB_EMPTY;
	}
	goto done;
bad:
	if (rc == SB_ENOMEM)
		rc = sb_ddb_nomem(s, "shared files");
	else
		rc = sb_seterr(s->base.box, rc,
		               "DynamoDB at %s: profile '%s': %s", s->where,
		               profile, why);
done:
	sb_ddb_profile_free(&cp);
	sb_ddb_profile_free(&fp);
	free(cpath);
	free(fpath);
	return rc;
}

/* ---------------------------------------------------------------- chain */

int sb_ddb_creds_load(sb_ddb_store *s)
{
	char tried[CREDS_NOTE_SIZE] = "", part[CREDS_NOTE_SIZE];
	sb_ddb_creds c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = from_env(s, &c, tried);
	/* EKS service accounts: the SDKs assume a role with this token
	 * before looking at files or metadata, and the node's instance role
	 * would be another identity. */
	if (rc == SB_EMPTY && env("AWS_WEB_IDENTITY_TOKEN_FILE") &&
	    env("AWS_ROLE_ARN"))
		return sb_seterr(s->base.box, SB_EAUTH,
		                 "DynamoDB at %s: AWS_WEB_IDENTITY_TOKEN_FILE and "
		                 "AWS_ROLE_ARN are set: web identity is not "
		                 "supported by storagebox; export keys instead",
		                 s->where);
	if (rc == SB_EMPTY)
		rc = from_files(s, &c, tried);
	if (rc == SB_EMPTY) {
		part[0] = '\0';
		rc = sb_ddb_container_creds(s, &c, part, sizeof(part));
		if (rc == SB_EMPTY)
			note(tried, part);
	}
	if (rc == SB_EMPTY) {
		part[0] = '\0';
		rc = sb_ddb_imds_creds(s, &c, part, sizeof(part));
		if (rc == SB_EMPTY)
			note(tried, part);
	}
	if (rc == SB_EMPTY)
		return sb_seterr(s->base.box, SB_EAUTH,
		                 "DynamoDB at %s: no credentials (set "
		                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
		                 "a profile): %s",
		                 s->where, tried);
	if (rc != SB_OK)
		return rc;
	sb_ddb_creds_free(&s->creds);
	s->creds = c;
	if (c.expires_ms) {
		/* Keys that come with less than 5 minutes to live would
		 * otherwise be fetched again before every request. */
		int64_t now = sb_ddb_wall_ms() + s->skew_ms;
		int64_t left = c.expires_ms - now;
		if (left <= CREDS_EARLY_MS)
			s->creds.next_try_ms = now + (left / 2 < CREDS_RETRY_MS
			                                      ? left / 2
			                                      : CREDS_RETRY_MS);
	}
	return SB_OK;
}

int sb_ddb_creds_renew(sb_ddb_store *s)
{
	sb_ddb_creds old = s->creds;
	int rc;

	memset(&s->creds, 0, sizeof(s->creds));
	rc = sb_ddb_creds_load(s);
	if (rc == SB_OK)
		sb_ddb_creds_free(&old);
	else
		s->creds = old;
	return rc;
}

int sb_ddb_creds_fresh(sb_ddb_store *s)
{
	int64_t now, left;
	int rc;

	if (!s->creds.expires_ms)
		return SB_OK; /* static keys: the common case, one test */
	now = sb_ddb_wall_ms() + s->skew_ms;
	left = s->creds.expires_ms - now;
	if (left > CREDS_EARLY_MS || now < s->creds.next_try_ms)
		return SB_OK;
	if ((rc = sb_ddb_creds_renew(s)) == SB_OK)
		return SB_OK;
	/* The refresh failed: the old ones serve while they last (as in
	 * the SDKs), tried again in 30 s; once expired, the error stands. */
	if (left > 10000) {
		s->creds.next_try_ms = now + CREDS_RETRY_MS;
		return SB_OK;
	}
	return rc;
}
