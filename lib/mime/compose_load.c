/*
 * mime/compose_load.c - the public mw_compose_* API, over the composer
 * loaded on demand (mime_module.h).
 *
 * Owns: finding and loading libmailwire-mime.so.VERSION (once per
 * process, under a mutex), and the calls into it.
 *
 * DESCRIPTION
 *   The first mw_compose_new() loads the module (dlopen, RTLD_NOW |
 *   RTLD_LOCAL; core/modload.c) from, in turn:
 *     1. $MAILWIRE_MIME_MODULE, a path to the module file, when set (not
 *        in a set-user-ID or set-group-ID program: secure_getenv); it is
 *        then the only place tried;
 *     2. the directory of the file this code runs from: libmailwire.so,
 *        or the program itself when it links the static library (a build
 *        tree, or a program installed with the module beside it);
 *     3. the library directory chosen at build time (MW_MIME_LIBDIR,
 *        CMake's CMAKE_INSTALL_FULL_LIBDIR), where `make install` puts it.
 *   Its entry point must accept the host table and return a table of
 *   this build's ABI, size and version; a module from another build is
 *   refused.  When nothing loads, mw_compose_new() returns a shared
 *   "unavailable" handle: every call on it fails with MW_E_INTERNAL and
 *   mw_compose_error_message() names the module and the loader's reason, so a
 *   caller that checks its statuses reports it (mw_compose_free() on it
 *   is a no-op).  The outcome is kept: a process tries once.
 *
 *   The module stays loaded until the process ends (never dlclose'd, also
 *   not by mw_global_cleanup()): GLib registers types and keeps
 *   process-wide state that cannot be torn down, so unloading it is
 *   unsafe.  What it holds is reachable at exit, not leaked.
 *
 *   Built with MW_MIME_BUILTIN, the composer is linked in and its entry
 *   point called directly; nothing is loaded.
 */
#include "mime/mime_module.h"

#include "core/modload.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MW_MIME_FILE
#define MW_MIME_FILE "libmailwire-mime.so." MW_VERSION_STRING
#endif

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct mw__mime_api *_Atomic loaded;
static bool tried;
static char load_error[768];

/* The handle of a composer that could not be loaded (never dereferenced
 * as a mw_compose). */
static max_align_t unavailable_tag;
#define UNAVAILABLE ((mw_compose *)(void *)&unavailable_tag)

static const struct mw__mime_host host = {
    .abi = MW__MIME_ABI,
    .size = sizeof(struct mw__mime_host),
    .mailbox_check = mw_mailbox_check,
};

#ifndef MW_MIME_BUILTIN
/* The module's entry point, offered by mw__module_load(): true when its
 * table is of this build (then in use). */
static bool accept_module(void *sym, void *user)
{
  (void)user;
  mw__mime_entry_fn entry;
  memcpy(&entry, &sym, sizeof(entry));
  const struct mw__mime_api *a = entry(&host);
  if(!a || a->abi != MW__MIME_ABI || a->size != sizeof(*a) || !a->version ||
     strcmp(a->version, MW_VERSION_STRING) != 0)
    return false;
  atomic_store(&loaded, a);
  return true;
}

static void load_module(void)
{
#ifdef MW_MIME_LIBDIR
  const char *libdir = MW_MIME_LIBDIR;
#else
  const char *libdir = NULL;
#endif
  mw__module_load("the message composer", MW_MIME_FILE,
                  "MAILWIRE_MIME_MODULE", libdir, MW__MIME_ENTRY,
                  accept_module, NULL, load_error, sizeof(load_error));
}
#endif

/* The composer's table, loading it on first use; NULL when unavailable
 * (the reason in load_error). */
static const struct mw__mime_api *composer(void)
{
  const struct mw__mime_api *a = atomic_load(&loaded);
  if(a)
    return a;
  pthread_mutex_lock(&load_lock);
  if(!tried) {
    tried = true;
#ifdef MW_MIME_BUILTIN
    atomic_store(&loaded, mw__mime_module_v1(&host));
    if(!atomic_load(&loaded))
      snprintf(load_error, sizeof(load_error), "%s",
               "the built-in message composer refused the library");
#else
    load_module();
#endif
  }
  pthread_mutex_unlock(&load_lock);
  return atomic_load(&loaded);
}

/* The table behind c (NULL for the unavailable handle, or none loaded). */
static const struct mw__mime_api *of(const mw_compose *c)
{
  return c == UNAVAILABLE ? NULL : atomic_load(&loaded);
}

/* The status of a call the composer cannot take. */
static mw_status refused(const mw_compose *c)
{
  return c ? MW_E_INTERNAL : MW_E_INVALID;
}

mw_compose *mw_compose_new(void)
{
  const struct mw__mime_api *a = composer();
  return a ? a->compose_new() : UNAVAILABLE;
}

void mw_compose_free(mw_compose *c)
{
  const struct mw__mime_api *a = of(c);
  if(a && c)
    a->compose_free(c);
}

const char *mw_compose_error_message(const mw_compose *c)
{
  if(c == UNAVAILABLE)
    return load_error;
  const struct mw__mime_api *a = of(c);
  return a ? a->error(c) : "";
}

/* The 0.1 name, deprecated in 0.2 (exported for existing binaries). */
const char *mw_compose_error(const mw_compose *c)
{
  return mw_compose_error_message(c);
}

mw_status mw_compose_set_from(mw_compose *c, const char *mailbox)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->set_from(c, mailbox) : refused(c);
}

mw_status mw_compose_add_to(mw_compose *c, const char *mailbox)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->add_to(c, mailbox) : refused(c);
}

mw_status mw_compose_add_cc(mw_compose *c, const char *mailbox)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->add_cc(c, mailbox) : refused(c);
}

mw_status mw_compose_set_subject(mw_compose *c, const char *utf8)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->set_subject(c, utf8) : refused(c);
}

mw_status mw_compose_set_body(mw_compose *c, const char *utf8, size_t len)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->set_body(c, utf8, len) : refused(c);
}

mw_status mw_compose_add_header(mw_compose *c, const char *name,
                                const char *value)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->add_header(c, name, value) : refused(c);
}

mw_status mw_compose_render(mw_compose *c, char **out, size_t *len)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->render(c, out, len) : refused(c);
}

mw_status mw_compose_set_html(mw_compose *c, const char *utf8, size_t len)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->set_html(c, utf8, len) : refused(c);
}

mw_status mw_compose_add_attachment(mw_compose *c, const char *path,
                                    const char *name, const char *type)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->add_attachment(c, path, name, type) : refused(c);
}

mw_status mw_compose_add_inline(mw_compose *c, const char *path,
                                const char *content_id, const char *type)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->add_inline(c, path, content_id, type) : refused(c);
}

mw_status mw_compose_set_message_fd(mw_compose *c, int fd)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->set_message_fd(c, fd) : refused(c);
}

size_t mw_compose_recipient_count(const mw_compose *c)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->recipient_count(c) : 0;
}

const char *mw_compose_recipient(const mw_compose *c, size_t i)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->recipient(c, i) : NULL;
}

const char *mw_compose_sender(const mw_compose *c)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->sender(c) : NULL;
}

mw_status mw_compose_set_7bit(mw_compose *c, bool on)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->set_7bit(c, on) : refused(c);
}

mw_status mw_compose_write_fd(mw_compose *c, int fd)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->write_fd(c, fd) : refused(c);
}

mw_status mw_compose_open(mw_compose *c, uint64_t *size)
{
  const struct mw__mime_api *a = of(c);
  return a ? a->open(c, size) : refused(c);
}

mw_status mw_compose_read(void *user, char *buf, size_t len, size_t *got)
{
  const struct mw__mime_api *a = of(user);
  if(a)
    return a->read(user, buf, len, got);
  if(got)
    *got = 0;
  return MW_E_IO;
}
