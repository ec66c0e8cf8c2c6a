/*
 * lazylib.h - a system library the CLI needs for one command only,
 * loaded when that command runs (dlopen by SONAME), not at start.
 *
 * Owns: nothing but the loading; each user keeps its own table of the
 * functions it calls (shell_io.c: libedit; bulk_source.c: jansson).
 *
 * Why: every library in the executable's DT_NEEDED is mapped (and its
 * pages touched by relocation) by every command, so `mailwire fetch`
 * paid for the shell's line editor and the bulk sender's JSON parser in
 * peak memory and start-up time.  Loaded on demand they cost nothing to
 * the commands that never use them.
 */
#ifndef MW_CLI_LAZYLIB_H
#define MW_CLI_LAZYLIB_H

#include <stddef.h>
#include <string.h>

/* Loads soname (RTLD_NOW | RTLD_LOCAL; never unloaded) and resolves each
 * of the n names (variables or functions) into syms[i].  Once per soname
 * and process is enough: the caller keeps the outcome.  0, or -1 with err
 * naming what (e.g. "the line editor"), the library and the loader's
 * reason (the caller exits with EXIT_SOFTWARE, 70). */
int lazylib_load(const char *soname, const char *what,
                 const char *const names[], void *syms[], size_t n,
                 char *err, size_t errlen);

/* A resolved function into a typed function pointer (ISO C has no cast
 * from void * to a function pointer; dlsym(3) documents this copy). */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "function pointers the size of void *");
#define LAZYLIB_FN(dst, sym) memcpy(&(dst), &(sym), sizeof(dst))

#endif
