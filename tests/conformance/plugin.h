/* Loading a backend built outside the library into the conformance
 * program (plugin.c). */
#ifndef SB_CONF_PLUGIN_H
#define SB_CONF_PLUGIN_H

/* With $SB_TEST_PLUGIN set: load that shared object and call its
 * registration function, $SB_TEST_PLUGIN_INIT. @return 0 (also when no
 * plugin is named), or -1 after printing why on stderr. */
int conf_plugin_load(void);

#endif
