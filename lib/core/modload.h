/*
 * core/modload.h - finding and loading one of libmailwire's own modules
 * (the composer, libmailwire-mime; TLS, libmailwire-tls) with dlopen().
 *
 * Owns: where a module is looked for, and the loader's reason when it is
 * not loaded.  What a module's entry point must return (its tables and
 * their checks) belongs to its user (mime/compose_load.c,
 * tls/tls_load.c).
 */
#ifndef MW_CORE_MODLOAD_H
#define MW_CORE_MODLOAD_H

#include <stdbool.h>
#include <stddef.h>

/* Called with a loaded module's entry point (the symbol named entry):
 * true when it is of this build and now in use (it is then kept loaded
 * until the process ends), false to refuse it. */
typedef bool (*mw__module_accept_fn)(void *entry, void *user);

/* Loads file (RTLD_NOW | RTLD_LOCAL) from, in turn:
 *   1. the path in the environment variable env_name when it is set (not
 *      in a set-user-ID or set-group-ID program: secure_getenv); it is
 *      then the only place tried;
 *   2. the directory of the file this code runs from: libmailwire.so, or
 *      the program itself when it links the static library;
 *   3. libdir (NULL: none), the install directory chosen at build time.
 * and hands its entry point to accept.  true once one is accepted;
 * otherwise false with the loader's reason in why (what names the module
 * in the message: "the message composer"). */
bool mw__module_load(const char *what, const char *file, const char *env_name,
                     const char *libdir, const char *entry,
                     mw__module_accept_fn accept, void *user, char *why,
                     size_t why_len);

#endif
