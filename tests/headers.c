/* The public headers must stand alone in strict C99: users may compile
 * with -std=c99 -pedantic -Werror. Only the two installed headers. */
#include "storagebox/storagebox.h"
#include "storagebox/backend.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
	sb_open_opts o = SB_OPEN_OPTS_INIT;
	sb_recover_opts r = SB_RECOVER_OPTS_INIT;
	const char *v = sb_version();
	if (!v || strcmp(v, SB_VERSION_STRING) != 0 ||
	    o.version != SB_OPEN_OPTS_VERSION ||
	    r.version != SB_RECOVER_OPTS_VERSION ||
	    SB_VERSION_NUMBER != ((SB_VERSION_MAJOR << 16) |
	                          (SB_VERSION_MINOR << 8) | SB_VERSION_PATCH)) {
		fprintf(stderr, "version mismatch: library %s, header %s\n",
		        v ? v : "(null)", SB_VERSION_STRING);
		return 1;
	}
	printf("storagebox %s\n", v);
	return 0;
}
