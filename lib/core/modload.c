/*
 * core/modload.c - finding and loading libmailwire's modules
 * (core/modload.h).
 *
 * DESCRIPTION
 *   The directory of the running code is found with dl_iterate_phdr():
 *   the loaded object whose segments hold this file's own data is
 *   libmailwire.so (its path is the object's name) or the main program
 *   (named by /proc/self/exe).  A module is never dlclose'd once in use:
 *   what it set up (GLib's types, OpenSSL's state) lives until exit.
 */
#define _GNU_SOURCE /* dl_iterate_phdr, secure_getenv */
#include "core/modload.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char own_tag = 0; /* an address inside this object */

struct own_object {
  uintptr_t addr;
  bool found, main_program;
  char path[PATH_MAX];
};

static int find_own(struct dl_phdr_info *info, size_t size, void *user)
{
  (void)size;
  struct own_object *o = user;
  for(int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = (uintptr_t)info->dlpi_addr + (uintptr_t)ph->p_vaddr;
    if(ph->p_type != PT_LOAD || o->addr < start ||
       o->addr >= start + (uintptr_t)ph->p_memsz)
      continue;
    o->found = true;
    o->main_program = !info->dlpi_name || !info->dlpi_name[0];
    if(!o->main_program)
      snprintf(o->path, sizeof(o->path), "%s", info->dlpi_name);
    return 1;
  }
  return 0;
}

/* The directory of the file this code was loaded from, into dir ("" when
 * unknown). */
static void own_directory(char *dir, size_t len)
{
  struct own_object o = {.addr = (uintptr_t)(const void *)&own_tag};
  dir[0] = '\0';
  dl_iterate_phdr(find_own, &o);
  if(!o.found)
    return;
  if(o.main_program) {
    ssize_t n = readlink("/proc/self/exe", o.path, sizeof(o.path) - 1);
    if(n <= 0)
      return;
    o.path[n] = '\0';
  }
  char *slash = strrchr(o.path, '/');
  if(!slash || o.path[0] != '/')
    return;
  *slash = '\0';
  snprintf(dir, len, "%s", o.path[0] ? o.path : "/");
}

/* Loads path and offers its entry point: true when accepted. */
static bool try_module(const char *path, const char *what, const char *entry,
                       mw__module_accept_fn accept, void *user, char *why,
                       size_t why_len)
{
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if(!h) {
    const char *e = dlerror();
    snprintf(why, why_len, "%s", e ? e : path);
    return false;
  }
  void *sym = dlsym(h, entry);
  if(sym && accept(sym, user))
    return true;
  snprintf(why, why_len, "%s is not %s of this build of mailwire (another "
           "version or build)", path, what);
  dlclose(h);
  return false;
}

bool mw__module_load(const char *what, const char *file, const char *env_name,
                     const char *libdir, const char *entry,
                     mw__module_accept_fn accept, void *user, char *why,
                     size_t why_len)
{
  char reason[768] = "";
  const char *env = secure_getenv(env_name);
  if(env && *env) {
    if(try_module(env, what, entry, accept, user, reason, sizeof(reason)))
      return true;
    snprintf(why, why_len, "%s could not be loaded from %s: %.600s", what,
             env_name, reason);
    return false;
  }
  char dir[PATH_MAX], path[PATH_MAX + 64];
  own_directory(dir, sizeof(dir));
  if(dir[0]) {
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if(access(path, F_OK) == 0 &&
       try_module(path, what, entry, accept, user, reason, sizeof(reason)))
      return true;
  }
  if(libdir && (!dir[0] || strcmp(dir, libdir) != 0)) {
    snprintf(path, sizeof(path), "%s/%s", libdir, file);
    if(try_module(path, what, entry, accept, user, reason, sizeof(reason)))
      return true;
  }
  if(!reason[0])
    snprintf(reason, sizeof(reason), "%s: not found", file);
  snprintf(why, why_len, "%s (%s, installed next to libmailwire) could not "
           "be loaded: %.560s", what, file, reason);
  return false;
}
