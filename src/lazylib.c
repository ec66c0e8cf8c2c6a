/*
 * lazylib.c - loading a system library on demand (see lazylib.h).
 *
 * DIAGNOSTICS
 *   A library that cannot be loaded, or that lacks one of the names, is
 *   one sentence: "the line editor (libedit.so.2) could not be loaded:
 *   <dlerror()>; install the package that provides it".
 */
#include "lazylib.h"

#include <dlfcn.h>
#include <stdio.h>

int lazylib_load(const char *soname, const char *what,
                 const char *const names[], void *syms[], size_t n,
                 char *err, size_t errlen)
{
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if(!h) {
    const char *why = dlerror();
    snprintf(err, errlen, "%s (%s) could not be loaded: %s; install the "
             "package that provides it", what, soname,
             why ? why : "not found");
    return -1;
  }
  for(size_t i = 0; i < n; i++) {
    dlerror();
    syms[i] = dlsym(h, names[i]);
    if(!syms[i]) {
      const char *why = dlerror();
      snprintf(err, errlen, "%s (%s) could not be loaded: %s", what, soname,
               why ? why : names[i]);
      dlclose(h);
      return -1;
    }
  }
  /* Kept loaded until the process ends: its functions are in use. */
  return 0;
}
