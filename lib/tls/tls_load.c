/*
 * tls/tls_load.c - tls/tls.h's handshake, layer and cipher check, over
 * the TLS module loaded on demand (tls_module.h).
 *
 * Owns: loading libmailwire-tls.so.VERSION (once per process, under a
 * mutex), the calls into it, and mw__tls_start(), the blocking loop over
 * its handshake steps.
 *
 * DESCRIPTION
 *   The first TLS use (mw__tls_begin(), mw__tls_start(), or a cipher list
 *   to check) loads the module (core/modload.h: $MAILWIRE_TLS_MODULE,
 *   else the directory of libmailwire.so or of the program linking the
 *   static library, else the install library directory, MW_TLS_LIBDIR).
 *   Its entry point must accept the host table and return a table of
 *   this build's ABI, size and version.  When nothing loads, every
 *   handshake fails with MW_E_TLS whose message names the module file and
 *   the loader's reason (nothing is sent: TLS was never set up; MW_E_TLS
 *   because every call that may start TLS documents it), and a
 *   cipher list is taken unchecked (the handshake that would use it fails
 *   the same way).  The outcome is kept: a process tries once.  A
 *   plaintext session never gets here.
 *
 *   The module stays loaded until the process ends (never dlclose'd,
 *   also not by mw_global_cleanup()): OpenSSL keeps process-wide state
 *   that it frees itself at exit.
 *
 *   Built with MW_TLS_BUILTIN, the OpenSSL code is linked in and its
 *   entry point called directly; nothing is loaded.
 */
#include "tls/tls_module.h"

#include "core/err.h"
#include "core/modload.h"
#include "core/util.h"
#include "net/resolve.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#ifndef MW_TLS_FILE
#define MW_TLS_FILE "libmailwire-tls.so." MW_VERSION_STRING
#endif

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct mw__tls_api *_Atomic loaded;
static bool tried;
static char load_error[768];

static const struct mw__tls_host host = {
    .abi = MW__TLS_ABI,
    .size = sizeof(struct mw__tls_host),
    .error_setv = mw__error_setv,
    .error_clear = mw__error_clear,
    .trace_emit_n = mw__trace_emit_n,
    .mem_calloc = mw__calloc,
    .mem_free = mw__free,
    .is_ip_literal = mw__is_ip_literal,
    .layer_init = mw__layer_init,
    .layer_close = mw__layer_close,
    .layer_set_err = mw__layer_set_err,
};

/* Whether a table is of this build. */
static bool table_ok(const struct mw__tls_api *a)
{
  return a && a->abi == MW__TLS_ABI && a->size == sizeof(*a) && a->version &&
         strcmp(a->version, MW_VERSION_STRING) == 0;
}

#ifndef MW_TLS_BUILTIN
/* The module's entry point, offered by mw__module_load(). */
static bool accept_module(void *sym, void *user)
{
  (void)user;
  mw__tls_entry_fn entry;
  memcpy(&entry, &sym, sizeof(entry));
  const struct mw__tls_api *a = entry(&host);
  if(!table_ok(a))
    return false;
  atomic_store(&loaded, a);
  return true;
}
#endif

/* The module's table, loading it on first use; NULL when unavailable
 * (the reason in load_error). */
static const struct mw__tls_api *tls_module(void)
{
  const struct mw__tls_api *a = atomic_load(&loaded);
  if(a)
    return a;
  pthread_mutex_lock(&load_lock);
  if(!tried) {
    tried = true;
#ifdef MW_TLS_BUILTIN
    a = mw__tls_module_v1(&host);
    if(table_ok(a))
      atomic_store(&loaded, a);
    else
      snprintf(load_error, sizeof(load_error), "%s",
               "the built-in TLS module refused the library");
#else
#ifdef MW_TLS_LIBDIR
    const char *libdir = MW_TLS_LIBDIR;
#else
    const char *libdir = NULL;
#endif
    mw__module_load("the TLS module", MW_TLS_FILE, "MAILWIRE_TLS_MODULE",
                    libdir, MW__TLS_ENTRY, accept_module, NULL, load_error,
                    sizeof(load_error));
#endif
  }
  pthread_mutex_unlock(&load_lock);
  return atomic_load(&loaded);
}

mw_status mw__tls_begin(struct mw__layer *below,
                        const struct mw__tls_policy *policy,
                        struct mw__trace *trace, struct mw_error *err,
                        struct mw__tls **out)
{
  *out = NULL;
  const struct mw__tls_api *a = tls_module();
  if(!a) {
    mw__error_set(err, MW_E_TLS, "TLS is not available: %s", load_error);
    err->tls_failure = MW__TLS_FAIL_UNAVAILABLE;
    return MW_E_TLS;
  }
  return a->begin(below, policy, trace, err, out);
}

/* A struct mw__tls exists only once the module is loaded: calls on one
 * find the table there. */
mw_status mw__tls_handshake_step(struct mw__tls *t,
                                 const struct mw__tls_policy *policy,
                                 struct mw__trace *trace,
                                 struct mw_error *err, short *want,
                                 struct mw__tls_info *info)
{
  return atomic_load(&loaded)->handshake_step(t, policy, trace, err, want,
                                              info);
}

struct mw__layer *mw__tls_layer(struct mw__tls *t)
{
  return atomic_load(&loaded)->layer(t);
}

void mw__tls_shutdown(struct mw__tls *t)
{
  if(t)
    atomic_load(&loaded)->shutdown(t);
}

void mw__tls_free(struct mw__tls *t)
{
  if(t)
    atomic_load(&loaded)->destroy(t);
}

bool mw__tls_ciphers_valid(const char *list)
{
  const struct mw__tls_api *a = tls_module();
  return a ? a->ciphers_valid(list) : true;
}

mw_status mw__tls_start(struct mw__stream *st,
                        const struct mw__tls_policy *policy,
                        struct mw__trace *trace, int64_t deadline,
                        struct mw__tls **out, struct mw__tls_info *info)
{
  struct mw__tls *t = NULL;
  mw_status s = mw__tls_begin(st->top, policy, trace, st->err, &t);
  for(;;) {
    if(s)
      break;
    short want = 0;
    s = mw__tls_handshake_step(t, policy, trace, st->err, &want, info);
    if(s || !want)
      break;
    s = mw__layer_wait(mw__tls_layer(t), want, deadline, st->err,
                       "during the TLS handshake");
  }
  if(s) {
    mw__tls_free(t);
    return s;
  }
  mw__stream_push(st, mw__tls_layer(t));
  *out = t;
  return MW_OK;
}
