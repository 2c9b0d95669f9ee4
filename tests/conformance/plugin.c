/* SB_TEST_PLUGIN=/path/backend.so SB_TEST_PLUGIN_INIT=function: run the
 * suite on a backend that was built outside the tree, against the
 * installed headers and library (tests/example/backend_test.sh).
 *
 * One registry. This program links the static library; the plugin names
 * the installed libstoragebox.so.1 as NEEDED, so loading it loads a second
 * copy of the library. The program is linked with export_dynamic
 * (tests/meson.build): its sb_* functions are in its dynamic symbol table,
 * and the dynamic linker resolves the plugin's references through the
 * global scope, where the executable comes first. So the plugin's
 * sb_backend_register(), sb_seterr() and sb_item_new() are this program's,
 * and the registration reaches the registry sb_box_open() reads. The
 * checks below fail loudly if that ever stops being true; the test script
 * also checks each binding with LD_DEBUG. A plugin adds a scheme (one
 * that shadows a built-in one fails the count check). It is never closed: the
 * registry keeps its sb_backend for the life of the process. */
#include "plugin.h"

#include "storagebox/backend.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int conf_plugin_load(void)
{
	const char *path = getenv("SB_TEST_PLUGIN");
	const char *init = getenv("SB_TEST_PLUGIN_INIT");
	size_t before = sb_backend_list(NULL, 0);
	int (*reg)(void);
	void *h;
	int rc;

	if (!path || !*path)
		return 0;
	if (!init || !*init) {
		fprintf(stderr, "SB_TEST_PLUGIN needs SB_TEST_PLUGIN_INIT, the "
		                "name of its registration function\n");
		return -1;
	}
	/* RTLD_LOCAL: the plugin's own dependencies (the installed copy of
	 * the library) stay out of the global scope. */
	if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
		fprintf(stderr, "SB_TEST_PLUGIN: %s\n", dlerror());
		return -1;
	}
	if (dlsym(RTLD_DEFAULT, "sb_backend_register") !=
	    (void *)sb_backend_register) {
		fprintf(stderr,
		        "SB_TEST_PLUGIN: this program does not export "
		        "its sb_* functions (link it with export_dynamic): "
		        "%s would register in another copy of the "
		        "library\n",
		        path);
		return -1;
	}
	*(void **)&reg = dlsym(h, init); /* POSIX's way to a function */
	if (!reg) {
		fprintf(stderr, "SB_TEST_PLUGIN: %s\n", dlerror());
		return -1;
	}
	if ((rc = reg()) != SB_OK) {
		fprintf(stderr, "SB_TEST_PLUGIN: %s() failed: %d %s\n", init,
		        rc, sb_strerror(rc));
		return -1;
	}
	if (sb_backend_list(NULL, 0) != before + 1) {
		fprintf(stderr,
		        "SB_TEST_PLUGIN: %s() returned SB_OK, but no new "
		        "scheme reached this program's registry\n",
		        init);
		return -1;
	}
	return 0;
}
