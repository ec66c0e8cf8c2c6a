/*
 * tls/tls_module.c - the TLS module's entry point (tls_module.h): the
 * table of its functions, and, in the loadable module (MW_TLS_MODULE),
 * what it borrows from libmailwire.
 *
 * DESCRIPTION
 *   Built into libmailwire-tls.so.VERSION (MW_TLS_MODULE defined), this
 *   file, tls_ossl.c, tls_layer.c, ocsp.c and a private copy of
 *   tls_verdict.c are the whole module: it links OpenSSL and nothing of
 *   libmailwire, and exports only mw__tls_module_v1 (tls_module.map), so
 *   its internal names never meet the library's.  The library functions
 *   the OpenSSL code calls (errors, trace, allocation, the layer below)
 *   are defined here under their usual names and call through the host
 *   table, so the code is the same in both builds.  Built into
 *   libmailwire instead (MW_TLS_BUILTIN), the library calls
 *   mw__tls_module_v1 directly.
 */
#include "tls/tls_module.h"

#include "core/err.h"
#include "core/trace.h"
#include "core/util.h"
#include "io/layer.h"
#include "net/resolve.h"

#include <stdio.h>

#ifdef MW_TLS_MODULE
static const struct mw__tls_host *host;

/* The library's own, lent through the host table. */
mw_status mw__error_set(struct mw_error *e, mw_status st, const char *fmt,
                        ...)
{
  va_list ap;
  va_start(ap, fmt);
  host->error_setv(e, st, fmt, ap);
  va_end(ap);
  return st;
}

void mw__error_clear(struct mw_error *e) { host->error_clear(e); }

void mw__trace_emit(struct mw__trace *t, mw_trace_kind kind, const char *fmt,
                    ...)
{
  if(!t || !t->fn)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if(n < 0)
    return;
  size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
  host->trace_emit_n(t, kind, line, len);
}

void *mw__calloc(size_t n, size_t size) { return host->mem_calloc(n, size); }

void mw__free(void *p) { host->mem_free(p); }

bool mw__is_ip_literal(const char *name) { return host->is_ip_literal(name); }

void mw__layer_init(struct mw__layer *l, const struct mw__layer_ops *ops,
                    struct mw__layer *below, void *impl, struct mw_error *err)
{
  host->layer_init(l, ops, below, impl, err);
}

void mw__layer_close(struct mw__layer *l) { host->layer_close(l); }

struct mw_error *mw__layer_set_err(struct mw__layer *l, struct mw_error *err)
{
  return host->layer_set_err(l, err);
}
#endif

static const struct mw__tls_api api = {
    .abi = MW__TLS_ABI,
    .size = sizeof(struct mw__tls_api),
    .version = MW_VERSION_STRING,
    .begin = mw__ossl_begin,
    .handshake_step = mw__ossl_handshake_step,
    .layer = mw__ossl_layer,
    .shutdown = mw__ossl_shutdown,
    .destroy = mw__ossl_free,
    .ciphers_valid = mw__ossl_ciphers_valid,
};

const struct mw__tls_api *mw__tls_module_v1(const struct mw__tls_host *h)
{
  if(!h || h->abi != MW__TLS_ABI || h->size != sizeof(*h) ||
     !h->error_setv || !h->error_clear || !h->trace_emit_n || !h->mem_calloc ||
     !h->mem_free || !h->is_ip_literal || !h->layer_init || !h->layer_close ||
     !h->layer_set_err)
    return NULL;
#ifdef MW_TLS_MODULE
  host = h;
#endif
  return &api;
}
