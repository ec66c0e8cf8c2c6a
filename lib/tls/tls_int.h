/*
 * tls/tls_int.h - what tls_ossl.c and tls_layer.c share: the TLS
 * connection, its layer, and the translation of OpenSSL's results.
 */
#ifndef MW_TLS_TLS_INT_H
#define MW_TLS_TLS_INT_H

#include "io/layer.h"
#include "tls/tls.h"

#include <openssl/ssl.h>

struct mw__tls {
  SSL_CTX *ctx;
  SSL *ssl;
  bool has_client_cert;
  struct mw__layer layer;     /* TLS as a layer of the stack */
};

/* Turns an SSL_* call's result rc into a wait (*want POLLIN or POLLOUT,
 * MW_OK) or a recorded error: MW_E_CLOSED (the peer closed or the
 * connection was lost), MW_E_TLS with its kind in err->tls_failure. */
mw_status mw__tls_result(const struct mw__tls *t, int rc, short *want,
                         struct mw_error *err, const char *what);

/* A BIO over below (not owned: the stack closes it), or NULL. */
BIO *mw__tls_layer_bio_new(struct mw__layer *below);

/* The stapled OCSP response of a completed handshake, verified (ocsp.c):
 * X509_V_OK (good, or none stapled), X509_V_ERR_CERT_REVOKED,
 * X509_V_ERR_OCSP_VERIFY_FAILED or X509_V_ERR_OCSP_CERT_UNKNOWN; the
 * trace says which and why. */
long mw__tls_ocsp_check(SSL *ssl, X509 *cert, struct mw__trace *trace);

/* The TLS layer's operations (impl: the struct mw__tls). */
extern const struct mw__layer_ops mw__tls_layer_ops;

#endif
