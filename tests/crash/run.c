/* Running the CLI as a child process, and parsing what it prints. */
#include "crash.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

crash_env cenv;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return t_xstrdup("");
	size_t cap = 4096, n = 0;
	char *buf = t_xmalloc(cap);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2)
			buf = t_xrealloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");
	if (!f || fputs(data, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(99);
	}
}

const char *cli_prog(const char *command)
{
	static const char *const holds[] = { "hold", "confirm", "extend",
		                             "release" };
	for (size_t i = 0; cenv.holdop && i < 4; i++)
		if (strcmp(command, holds[i]) == 0)
			return cenv.holdop;
	return cenv.cli;
}

int cli_start(cli_proc *p, const char *const *args, const char *fault,
              const char *skip, const char *stdin_data, int slot)
{
	return cli_start_env(p, args, NULL, fault, skip, stdin_data, slot);
}

int cli_start_env(cli_proc *p, const char *const *args, const char *const *env,
                  const char *fault, const char *skip, const char *stdin_data,
                  int slot)
{
	const char *argv[32];
	size_t n = 0;
	const char *prog = cli_prog(args[0]);
	argv[n++] = prog;
	argv[n++] = "--uri";
	argv[n++] = cenv.uri;
	if (cenv.generic) {
		argv[n++] = "--protocol";
		argv[n++] = "generic";
	}
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	p->out_path = t_xasprintf("%s/crash-%s-%s-%ld-%d.out", cenv.dir,
	                          cenv.backend, cenv.mode, (long)getpid(),
	                          slot);
	p->err_path = t_xasprintf("%s/crash-%s-%s-%ld-%d.err", cenv.dir,
	                          cenv.backend, cenv.mode, (long)getpid(),
	                          slot);
	char *in_path = NULL;
	if (stdin_data) {
		in_path = t_xasprintf("%s/crash-%s-%s-%ld-%d.in", cenv.dir,
		                      cenv.backend, cenv.mode, (long)getpid(),
		                      slot);
		write_file(in_path, stdin_data);
	}
	/* Opened (and emptied) here, not in the child: a child killed before
	 * it ran a line must not leave the previous run's output behind. */
	int in = open(in_path ? in_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	               0644);
	int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	               0644);
	if (in_path)
		unlink(in_path); /* open above: the child reads it still */
	free(in_path);
	if (in < 0 || out < 0 || err < 0) {
		perror("cli_start: open");
		exit(99);
	}
	p->pid = fork();
	if (p->pid < 0) {
		perror("fork");
		close(in);
		close(out);
		close(err);
		return -1;
	}
	if (p->pid == 0) {
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		close(in);
		close(out);
		close(err);
		if (fault)
			setenv("SB_FAULT_POINT", fault, 1);
		else
			unsetenv("SB_FAULT_POINT");
		if (skip)
			setenv("SB_FAULT_SKIP", skip, 1);
		else
			unsetenv("SB_FAULT_SKIP");
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		/* The CLI runs with no signal blocked, as from a shell. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	close(in);
	close(out);
	close(err);
	return 0;
}

void cli_collect(cli_proc *p, char **out, char **err)
{
	if (out)
		*out = slurp(p->out_path);
	if (err)
		*err = slurp(p->err_path);
	/* The names carry this program's pid: leave none behind. */
	unlink(p->out_path);
	unlink(p->err_path);
	free(p->out_path);
	free(p->err_path);
	p->out_path = p->err_path = NULL;
}

int cli_wait(cli_proc *p, char **out, char **err)
{
	int status = 0;
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	cli_collect(p, out, err);
	return status;
}

void cli_sleep(int64_t us)
{
	if (us <= 0)
		return;
	/* SIGCHLD is blocked (main()), so one that came since the last reap
	 * is pending and ends the wait at once; Linux queues a blocked
	 * SIGCHLD even at its default (ignored) disposition. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	struct timespec ts = { .tv_sec = us / 1000000,
		               .tv_nsec = (long)(us % 1000000) * 1000 };
	sigtimedwait(&chld, NULL, &ts);
}

int cli_run(const char *const *args, const char *fault, const char *skip,
            const char *stdin_data, char **out, char **err)
{
	cli_proc p;
	if (cli_start(&p, args, fault, skip, stdin_data, 99) != 0)
		return -1;
	return cli_wait(&p, out, err);
}

const char *status_str(int status)
{
	static __thread char buf[48];
	if (WIFEXITED(status))
		snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof buf, "killed by signal %d",
		         WTERMSIG(status));
	else
		snprintf(buf, sizeof buf, "status %#x", status);
	return buf;
}

int exited_with(int status, int code)
{
	if (code == CRASH_POINT_DEATH)
		return status != -1 && WIFSIGNALED(status) &&
		       WTERMSIG(status) == SIGKILL;
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static int parse_count(const char *text, const char *name,
                       unsigned long long *v)
{
	size_t nl = strlen(name);
	for (const char *l = text; l && *l;
	     l = strchr(l, '\n'), l = l ? l + 1 : l) {
		if (strncmp(l, name, nl) == 0 && l[nl] == ':') {
			char *end;
			*v = strtoull(l + nl + 1, &end, 10);
			return (*end == '\n' || *end == '\0') ? 0 : -1;
		}
	}
	return -1;
}

int cli_get_stats(cli_stats *st, const char *bank, const char *ledger)
{
	const char *args[] = { "stats", "--", bank, ledger, NULL };
	char *out = NULL, *err = NULL;
	int status = cli_run(args, NULL, NULL, NULL, &out, &err);
	int ok = CHECKF(NULL, exited_with(status, 0), "stats %s: %s: %s", bank,
	                status_str(status), err);
	memset(st, 0, sizeof *st);
	if (ok)
		ok = CHECKF(NULL,
		            parse_count(out, "available", &st->available) == 0 &&
		                    parse_count(out, "reserved",
		                                &st->reserved) == 0 &&
		                    parse_count(out, "assigned",
		                                &st->assigned) == 0 &&
		                    (!ledger ||
		                     parse_count(out, "held", &st->held) == 0),
		            "stats output: '%s'", out);
	free(out);
	free(err);
	return ok ? 0 : -1;
}

/* One field at *p (quoted or not); *p moves past it. NULL on bad syntax. */
static char *csv_field(const char **p)
{
	const char *s = *p;
	size_t cap = 64, n = 0;
	char *f = t_xmalloc(cap);
	if (*s == '"') {
		s++;
		for (;;) {
			if (*s == '\0') {
				free(f);
				return NULL;
			}
			if (*s == '"') {
				if (s[1] != '"')
					break;
				s++;
			}
			if (n + 2 > cap)
				f = t_xrealloc(f, cap *= 2);
			f[n++] = *s++;
		}
		s++; /* closing quote */
	} else {
		while (*s && *s != ',' && *s != '\r' && *s != '\n') {
			if (*s == '"') { /* a bare quote must be quoted */
				free(f);
				return NULL;
			}
			if (n + 2 > cap)
				f = t_xrealloc(f, cap *= 2);
			f[n++] = *s++;
		}
	}
	f[n] = '\0';
	*p = s;
	return f;
}

int csv_parse_export(const char *text, t_map *out)
{
	static const char header[] = "dedup_id,bank,item\r\n";
	if (strncmp(text, header, sizeof header - 1) != 0)
		return -1;
	const char *p = text + sizeof header - 1;
	int dups = 0;
	while (*p) {
		char *f[3] = { NULL, NULL, NULL };
		int bad = 0;
		for (int i = 0; i < 3 && !bad; i++) {
			f[i] = csv_field(&p);
			if (!f[i])
				bad = 1;
			else if (i < 2 && *p++ != ',')
				bad = 1;
		}
		if (!bad && (p[0] != '\r' || p[1] != '\n'))
			bad = 1; /* every record ends in CRLF */
		if (!bad) {
			p += 2;
			char *v = t_xasprintf("%s\n%s", f[1], f[2]);
			if (!t_map_put(out, f[0], v))
				dups++;
			free(v);
		}
		for (int i = 0; i < 3; i++)
			free(f[i]);
		if (bad)
			return -1;
	}
	return dups;
}

int cli_get_export(t_map *out, const char *ledger)
{
	const char *args[] = { "export", "--", ledger, NULL };
	char *text = NULL, *err = NULL;
	int status = cli_run(args, NULL, NULL, NULL, &text, &err);
	int ok = CHECKF(NULL, exited_with(status, 0), "export %s: %s: %s",
	                ledger, status_str(status), err);
	if (ok) {
		int dups = csv_parse_export(text, out);
		ok = CHECKF(NULL, dups == 0, "export of %s: %s", ledger,
		            dups < 0 ? "not RFC 4180 CSV" : "an id twice");
	}
	free(text);
	free(err);
	return ok ? 0 : -1;
}

int cli_add_items(const char *bank, const char *prefix, size_t n)
{
	size_t cap = n * (strlen(prefix) + 24) + 1, len = 0;
	char *data = t_xmalloc(cap);
	data[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(data + len, cap - len, "%s%zu\n",
		                        prefix, i);
	const char *args[] = { "add", "--", bank, "-", NULL };
	char *out = NULL, *err = NULL;
	int status = cli_run(args, NULL, NULL, data, &out, &err);
	char *want = t_xasprintf("added %zu, skipped 0", n);
	int ok = CHECKF(NULL, exited_with(status, 0) && t_contains(out, want),
	                "add %s: %s: out '%s' err '%s'", bank,
	                status_str(status), out, err);
	free(want);
	free(out);
	free(err);
	free(data);
	return ok ? 0 : -1;
}
