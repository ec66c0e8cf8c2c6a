/*
 * tls/tls_module.h - the seam between libmailwire and its TLS module
 * (OpenSSL).
 *
 * Owns: the TLS module's entry point and the two tables that cross it.
 * The OpenSSL code (tls_ossl.c, tls_layer.c, ocsp.c, with the glue in
 * tls_module.c and a private copy of tls_verdict.c) is built as its own
 * shared module, libmailwire-tls.so.VERSION, installed next to
 * libmailwire; libmailwire (tls_load.c) loads it with dlopen() on the
 * first TLS use (a handshake, or a cipher list to check), so a plaintext
 * program never maps libssl or libcrypto.  With the CMake option
 * MW_TLS_BUILTIN the same files are linked into libmailwire and the
 * entry point is called directly.
 *
 * As for the composer (mime/mime_module.h): the module is found by its
 * exact file name (the library's version in it), its entry point by a
 * versioned name, and both tables carry the ABI number and their size
 * and the module its build's version: a module from another build is
 * refused rather than called with structures of another shape (the
 * policy, info, error and layer structures cross as they are).
 */
#ifndef MW_TLS_MODULE_H
#define MW_TLS_MODULE_H

#include "tls/tls.h"

#include <stdarg.h>
#include <stddef.h>

#define MW__TLS_ABI 1u
#define MW__TLS_ENTRY "mw__tls_module_v1"

/* What libmailwire lends the module, which links nothing of it: the core
 * functions the OpenSSL code calls (see tls_module.c for the wrappers of
 * the same names inside the module). */
struct mw__tls_host {
  unsigned abi;
  size_t size;
  mw_status (*error_setv)(struct mw_error *e, mw_status st, const char *fmt,
                          va_list ap);
  void (*error_clear)(struct mw_error *e);
  void (*trace_emit_n)(struct mw__trace *t, mw_trace_kind kind,
                       const char *text, size_t len);
  void *(*mem_calloc)(size_t n, size_t size);
  void (*mem_free)(void *p);
  bool (*is_ip_literal)(const char *host);
  void (*layer_init)(struct mw__layer *l, const struct mw__layer_ops *ops,
                     struct mw__layer *below, void *impl,
                     struct mw_error *err);
  void (*layer_close)(struct mw__layer *l);
  struct mw_error *(*layer_set_err)(struct mw__layer *l,
                                    struct mw_error *err);
};

/* The module's functions: tls.h's entry points that need OpenSSL. */
struct mw__tls_api {
  unsigned abi;
  size_t size;
  const char *version; /* MW_VERSION_STRING of the module's build */
  mw_status (*begin)(struct mw__layer *below,
                     const struct mw__tls_policy *policy,
                     struct mw__trace *trace, struct mw_error *err,
                     struct mw__tls **out);
  mw_status (*handshake_step)(struct mw__tls *t,
                              const struct mw__tls_policy *policy,
                              struct mw__trace *trace, struct mw_error *err,
                              short *want, struct mw__tls_info *info);
  struct mw__layer *(*layer)(struct mw__tls *t);
  void (*shutdown)(struct mw__tls *t);
  void (*destroy)(struct mw__tls *t);
  bool (*ciphers_valid)(const char *list);
};

/* The entry point (exported by the module under MW__TLS_ENTRY): checks
 * host, returns the table (static), or NULL when host is of another ABI.
 * OpenSSL itself is initialised later, on the first context. */
typedef const struct mw__tls_api *(*mw__tls_entry_fn)(
    const struct mw__tls_host *host);
const struct mw__tls_api *mw__tls_module_v1(const struct mw__tls_host *host);

/* The OpenSSL implementations (tls_ossl.c), behind the table; tls.h's
 * functions of the same role (tls_load.c) call them through it. */
mw_status mw__ossl_begin(struct mw__layer *below,
                         const struct mw__tls_policy *policy,
                         struct mw__trace *trace, struct mw_error *err,
                         struct mw__tls **out);
mw_status mw__ossl_handshake_step(struct mw__tls *t,
                                  const struct mw__tls_policy *policy,
                                  struct mw__trace *trace,
                                  struct mw_error *err, short *want,
                                  struct mw__tls_info *info);
struct mw__layer *mw__ossl_layer(struct mw__tls *t);
void mw__ossl_shutdown(struct mw__tls *t);
void mw__ossl_free(struct mw__tls *t);
bool mw__ossl_ciphers_valid(const char *list);

#endif
