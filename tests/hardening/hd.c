/* See hd.h. */
#include "hd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

char *hd_uri_port(const char *uri, int port)
{
	return t_uri_edit(uri,
	                  &(t_uri_parts){ .host = "127.0.0.1", .port = port });
}

int hd_uri_hostport(const char *uri, char *host, size_t hsize, int *port)
{
	sb_uri *u = t_uri_parse(uri);

	snprintf(host, hsize, "%s", u->host ? u->host : "");
	*port = u->port;
	sb_uri_free(u);
	return *port > 0 && *host;
}

static int listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("hardening: listen");
		exit(1);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int hd_closed_port(void)
{
	int port, fd = listener(&port);

	close(fd);
	return port;
}

static void *silent_run(void *arg)
{
	hd_silent *s = arg;

	while (!s->stop) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		if (poll(&p, 1, 50) == 1 && s->nconns < 64) {
			int c = accept(s->fd, NULL, NULL);
			if (c >= 0)
				s->conns[s->nconns++] = c;
		}
	}
	return NULL;
}

void hd_silent_start(hd_silent *s)
{
	memset(s, 0, sizeof *s);
	s->fd = listener(&s->port);
	if (pthread_create(&s->th, NULL, silent_run, s) != 0) {
		perror("hardening: thread");
		exit(1);
	}
}

void hd_silent_stop(hd_silent *s)
{
	s->stop = 1;
	pthread_join(s->th, NULL);
	while (s->nconns > 0)
		close(s->conns[--s->nconns]);
	close(s->fd);
}

/* ------------------------------------------------------------- proxy */

#define PX_MAX 32

static int dial(const char *host, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Copy what is readable on @p from to @p to; 0 when either side closed. */
static int pass(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof buf), off = 0;

	if (n <= 0)
		return 0;
	while (off < n) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		off += w;
	}
	return 1;
}

static void *proxy_run(void *arg)
{
	hd_proxy *p = arg;
	int cl[PX_MAX], sv[PX_MAX], n = 0, i;

	while (!p->stop) {
		struct pollfd f[1 + 2 * PX_MAX];
		int nf = 1;

		f[0].fd = p->fd;
		f[0].events = POLLIN;
		f[0].revents = 0;
		for (i = 0; i < n; i++) {
			/* Muted: fds not polled, bytes stay in the buffers. */
			f[nf].fd = p->mute ? -1 : cl[i];
			f[nf].events = POLLIN;
			f[nf++].revents = 0;
			f[nf].fd = p->mute ? -1 : sv[i];
			f[nf].events = POLLIN;
			f[nf++].revents = 0;
		}
		if (poll(f, (nfds_t)nf, 20) <= 0)
			continue;
		for (i = n - 1; i >= 0; i--) {
			short a = f[1 + 2 * i].revents,
			      b = f[2 + 2 * i].revents;
			int ok = 1;
			if (a)
				ok = pass(cl[i], sv[i]);
			if (ok && b)
				ok = pass(sv[i], cl[i]);
			if (!ok) {
				close(cl[i]);
				close(sv[i]);
				cl[i] = cl[n - 1];
				sv[i] = sv[n - 1];
				n--;
			}
		}
		if ((f[0].revents & POLLIN) && n < PX_MAX) {
			int c = accept(p->fd, NULL, NULL), s;
			if (c >= 0 && (s = dial(p->host, p->tport)) >= 0) {
				cl[n] = c;
				sv[n++] = s;
			} else if (c >= 0) {
				close(c);
			}
		}
	}
	for (i = 0; i < n; i++) {
		close(cl[i]);
		close(sv[i]);
	}
	return NULL;
}

void hd_proxy_start(hd_proxy *p, const char *host, int tport)
{
	memset(p, 0, sizeof *p);
	snprintf(p->host, sizeof p->host, "%s", host);
	p->tport = tport;
	p->fd = listener(&p->port);
	if (pthread_create(&p->th, NULL, proxy_run, p) != 0) {
		perror("hardening: thread");
		exit(1);
	}
}

void hd_proxy_stop(hd_proxy *p)
{
	p->stop = 1;
	pthread_join(p->th, NULL);
	close(p->fd);
}

sb_box *hd_open(const char *uri, sb_protocol proto)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	char err[SB_ERRMSG_SIZE] = "";
	sb_box *box = NULL;
	int rc;

	o.protocol = proto;
	rc = sb_box_open(&box, uri, &o, err, sizeof err);
	if (!CHECKF(NULL, rc == SB_OK, "open: %s: %s", sb_strerror(rc), err))
		return NULL;
	return box;
}

void hd_lines_add(hd_lines *l, char *line)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->v = t_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = line;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void hd_lines_sort(hd_lines *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_str);
}

void hd_lines_free(hd_lines *l)
{
	while (l->n > 0)
		free(l->v[--l->n]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

int hd_lines_same(const hd_lines *a, const hd_lines *b, const char *what)
{
	size_t i;

	for (i = 0; i < a->n && i < b->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			break;
	if (i == a->n && i == b->n)
		return 1;
	fprintf(stderr,
	        "%s changed (%zu lines before, %zu after): before "
	        "'%.200s', after '%.200s'\n",
	        what, a->n, b->n, i < a->n ? a->v[i] : "(end)",
	        i < b->n ? b->v[i] : "(end)");
	return 0;
}
