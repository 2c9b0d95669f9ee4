/* credential_process of a shared file: a command whose stdout is a JSON
 * document of keys. Split into words as the SDKs do (shell quoting) but
 * run without a shell (posix_spawnp), stdin from /dev/null, stderr left
 * to the caller's, stdout read up to a limit and within a deadline: a
 * hung or chatty command is killed, never waited for. Messages name the
 * program only: the rest of the command line may hold a secret. */
#define _GNU_SOURCE /* pipe2: the pipe is close-on-exec from the start,
                     * so no other thread's child inherits it */
#include "ddb_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PROCESS_MAX_WORDS 64

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Split @p cmd into words in @p buf (as long as cmd): blanks separate,
 * '...' is literal, "..." takes \" \\ \$ \` escapes, a backslash outside
 * quotes takes the next character. Returns the word count, -1 if a quote
 * is left open, -2 with too many words. */
static int split(const char *cmd, char *buf, char **argv)
{
	int n = 0;
	const char *p = cmd;
	char *o = buf;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (n >= PROCESS_MAX_WORDS)
			return -2;
		argv[n++] = o;
		while (*p && !(*p == ' ' || *p == '\t' || *p == '\n')) {
			if (*p == '\'') {
				for (p++; *p && *p != '\''; p++)
					*o++ = *p;
				if (!*p)
					return -1;
				p++;
			} else if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' &&
					    (p[1] == '"' || p[1] == '\\' ||
					     p[1] == '$' || p[1] == '`'))
						p++;
					*o++ = *p;
				}
				if (!*p)
					return -1;
				p++;
			} else if (*p == '\\' && p[1]) {
				*o++ = p[1];
				p += 2;
			} else {
				*o++ = *p++;
			}
		}
		*o++ = '\0';
	}
	argv[n] = NULL;
	return n;
}

/* Wait for @p pid until @p deadline (monotonic ms); kill it then. Returns
 * its wait status, or -1 if it had to be killed. */
static int reap(pid_t pid, int64_t deadline)
{
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		{
			struct timespec ts = { 0, 5 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
}

int sb_ddb_process_run(char **out, size_t *len, const char *cmd,
                       long timeout_ms, size_t max, char *why, size_t why_size)
{
	char *words = NULL, *argv[PROCESS_MAX_WORDS + 1], *buf = NULL;
	posix_spawn_file_actions_t fa;
	int fds[2] = { -1, -1 }, n, rc = SB_OK, st, over = 0, late = 0;
	int64_t deadline = mono_ms() + timeout_ms;
	size_t got = 0;
	pid_t pid;

	*out = NULL;
	*len = 0;
	if (!(words = malloc(strlen(cmd) + 1)) || !(buf = malloc(max + 1))) {
		free(words);
		return SB_ENOMEM;
	}
	n = split(cmd, words, argv);
	if (n <= 0) {
		snprintf(why, why_size, "credential_process: %s",
		         n == 0    ? "empty command"
		         : n == -1 ? "a quote is not closed"
		                   : "more than 64 words");
		rc = SB_EAUTH;
		goto done;
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(why, why_size, "credential_process '%s': pipe: %s",
		         argv[0], strerror(errno));
		rc = SB_EAUTH;
		goto done;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		rc = SB_ENOMEM;
		goto done;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	st = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	fds[1] = -1;
	if (st != 0) {
		snprintf(why, why_size,
		         "credential_process: cannot run '%s': %s", argv[0],
		         strerror(st));
		rc = SB_EAUTH;
		goto done;
	}
	for (;;) {
		struct pollfd pf = { fds[0], POLLIN, 0 };
		int64_t left = deadline - mono_ms();
		ssize_t r;

		if (left <= 0) {
			late = 1;
			break;
		}
		if (poll(&pf, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!pf.revents)
			continue;
		r = read(fds[0], buf + got, max + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got > max) {
			over = 1;
			break;
		}
	}
	close(fds[0]);
	fds[0] = -1;
	st = reap(pid, over || late ? 0 : deadline);
	if (late || (st == -1 && !over)) {
		snprintf(why, why_size,
		         "credential_process '%s': no answer within %ld ms "
		         "(killed)",
		         argv[0], timeout_ms);
		rc = SB_ETIMEOUT;
	} else if (over) {
		snprintf(why, why_size,
		         "credential_process '%s': printed more than %zu "
		         "bytes (killed)",
		         argv[0], max);
		rc = SB_EAUTH;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (WIFEXITED(st))
			snprintf(why, why_size,
			         "credential_process '%s' exited with "
			         "status %d",
			         argv[0], WEXITSTATUS(st));
		else
			snprintf(why, why_size,
			         "credential_process '%s' killed by signal %d",
			         argv[0], WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		rc = SB_EAUTH;
	}
done:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	free(words);
	if (rc == SB_OK) {
		buf[got] = '\0';
		*out = buf;
		*len = got;
	} else if (buf) {
		memset(buf, 0, got);
		free(buf);
	}
	return rc;
}
