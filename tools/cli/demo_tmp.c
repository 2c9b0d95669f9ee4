/* Temp directory and URI of the demo store (why: the demo must leave
 * nothing behind and must work whatever $TMPDIR looks like). */
#include "demo.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh private directory for the store: mkdtemp under $TMPDIR. */
char *demo_tmpdir_make(void)
{
	const char *base = getenv("TMPDIR");
	char *path;
	size_t n;

	if (!base || !base[0])
		base = "/tmp";
	n = strlen(base) + sizeof "/storagebox-demo-XXXXXX";
	path = malloc(n);
	if (!path)
		return NULL;
	snprintf(path, n, "%s/storagebox-demo-XXXXXX", base);
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

/* Remove the directory and what SQLite left in it (db, -wal, -shm). */
void demo_tmpdir_remove(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		char file[4096];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(file, sizeof file, "%s/%s", path, e->d_name) <
		    (int)sizeof file)
			unlink(file);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* URI of the demo store. The path is percent-encoded because the URI
 * parser decodes it: a '%' or '?' in $TMPDIR must stay a file name. */
char *demo_uri(const char *dir, const char *file)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-~";
	size_t n = strlen(dir);
	char *uri = malloc(sizeof "sqlite://" + 3 * n + 1 + strlen(file) + 1);
	char *p = uri;

	if (!uri)
		return NULL;
	p += sprintf(p, "sqlite:%s", dir[0] == '/' ? "//" : "");
	for (; *dir; dir++) {
		unsigned char ch = (unsigned char)*dir;

		if (strchr(safe, ch))
			*p++ = (char)ch;
		else
			p += sprintf(p, "%%%02X", ch);
	}
	sprintf(p, "/%s", file);
	return uri;
}
