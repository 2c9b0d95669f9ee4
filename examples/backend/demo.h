/* demo: an example storagebox backend that lives outside the library.
 *
 * It keeps banks and ledgers in the memory of the process under the URI
 * scheme `demo:NAME`. Every box that opens the same NAME, from any thread,
 * sees the same data; the data goes away when the last of them closes.
 * It is written against <storagebox/backend.h> alone (see README.md). */
#ifndef DEMO_H
#define DEMO_H

#if defined(__GNUC__)
#define DEMO_EXPORT __attribute__((visibility("default")))
#else
#define DEMO_EXPORT
#endif

/*
 * Make `demo:` URIs openable with sb_box_open() in this process. Call it
 * once, before the first open (later calls register it again, which is
 * harmless). Thread-safe.
 * @return SB_OK, or what sb_backend_register() returned (SB_ENOMEM;
 *         SB_ENOTSUPPORTED when the library is older than the headers
 *         this backend was built with)
 */
DEMO_EXPORT int demo_backend_register(void);

#endif
