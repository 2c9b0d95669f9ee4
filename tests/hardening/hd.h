/* Helpers of the hardening tests (tests/hardening): URIs on another port
 * (the server URIs come from the environment: t_env_need), and small TCP
 * servers run in threads: a closed port, a silent server, and a proxy to a
 * real server that can be muted (it stops passing bytes both ways, the
 * connection stays up). */
#ifndef SB_HD_H
#define SB_HD_H

#include "../common/tcommon.h"

#include <pthread.h>

/* @p uri with its host and port replaced by 127.0.0.1:@p port (caller
 * frees). */
char *hd_uri_port(const char *uri, int port);
/* The host and port of @p uri's authority. 0 if none. */
int hd_uri_hostport(const char *uri, char *host, size_t hsize, int *port);

/* A loopback port nobody listens on. */
int hd_closed_port(void);

/* A server in a thread that accepts connections and never reads or
 * writes (a hung server: the client's connect succeeds, then silence). */
typedef struct {
	int fd, port;
	volatile int stop;
	int conns[64];
	int nconns;
	pthread_t th;
} hd_silent;
void hd_silent_start(hd_silent *s);
void hd_silent_stop(hd_silent *s);

/* A TCP proxy in a thread from 127.0.0.1:port to host:tport. While
 * `mute` is set it passes nothing (both ways) and leaves every
 * connection open: the server seems to hang mid-conversation. */
typedef struct {
	int fd, port, tport;
	char host[64];
	volatile int mute, stop;
	pthread_t th;
} hd_proxy;
void hd_proxy_start(hd_proxy *p, const char *host, int tport);
void hd_proxy_stop(hd_proxy *p);

/* A list of lines, to fingerprint what a server holds: sorted and
 * compared as a whole. */
typedef struct {
	char **v;
	size_t n, cap;
} hd_lines;
void hd_lines_add(hd_lines *l, char *line); /* takes the line */
void hd_lines_sort(hd_lines *l);
void hd_lines_free(hd_lines *l);
/* 1 if equal; else prints the first difference under @p what. */
int hd_lines_same(const hd_lines *a, const hd_lines *b, const char *what);

/* Open a box, NULL (and a failed check) on error. */
sb_box *hd_open(const char *uri, sb_protocol proto);

#endif
