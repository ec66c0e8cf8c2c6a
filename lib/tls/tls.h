/*
 * tls/tls.h - TLS on a live stream, with OpenSSL 3.
 *
 * Owns: the SSL context and connection, the verification policy (trust
 * store or CA file, host name, SNI, SHA-256 pin, explicit insecure mode),
 * protocol version bounds, and the facts callers may read afterwards
 * (version, cipher, peer subject/issuer/expiry/fingerprint).  This is the
 * only directory that includes OpenSSL's SSL headers, and its OpenSSL
 * code is a module loaded on first use (tls_module.h).
 *
 * mw__tls_start() pushes TLS onto a stream that is already connected (a
 * blocking loop over mw__tls_begin/mw__tls_handshake_step, which a state
 * machine drives itself): for
 * implicit TLS right after connect, for STARTTLS after the 220.  TLS is a
 * layer of the stack (io/layer.h): OpenSSL reads and writes through a BIO
 * that calls the layer below (TCP, a proxy tunnel, or the memory layer in
 * tests), never a socket of its own, so a closed peer is EPIPE from the TCP
 * layer (MSG_NOSIGNAL), never SIGPIPE.
 */
#ifndef MW_TLS_TLS_H
#define MW_TLS_TLS_H

#include "core/trace.h"
#include "io/stream.h"

struct mw__tls_policy {
  const char *ca_file;     /* NULL: system trust store */
  const char *fingerprint; /* normalised lowercase hex, no colons, or NULL */
  bool insecure;
  mw_tls_version min, max;
  const char *server_name; /* host name or IP literal to verify */
  const char *ciphers;     /* NULL: OpenSSL's defaults */
  const char *cert_file;   /* client certificate chain (PEM), or NULL */
  const char *key_file;    /* its private key (PEM); NULL: in cert_file */
  /* Complete the handshake whatever the certificate, for a caller that
   * reports mw__tls_verdict() instead of enforcing it (the probe). */
  bool report_only;
  const char *crl_file;        /* CRLs (PEM): check the leaf; or NULL */
  bool ocsp;                   /* request and verify a stapled response */
  mw_tls_verify_fn verify_fn;  /* the caller decides (not with insecure) */
  void *verify_user;
};

struct mw__tls_info {
  bool handshake_done; /* the handshake completed (even if refused after) */
  long verify_result;  /* OpenSSL's X509_V_* verdict */
  char verify_error[128];
  int days_left;       /* until notAfter; negative once expired */
  char chain[1024];    /* "subject <- issuer" per certificate, '; '-joined */
  char version[16];
  char cipher[64];
  char subject[256];
  char issuer[256];
  char not_after[32];
  char fingerprint[65];
  bool plaintext_peer; /* failed because the peer spoke plaintext, not TLS */
  char names[512];     /* subjectAltName DNS names and IPs, ", "-joined */
  /* A verify callback decided: 1 accepted, -1 refused, 0 not called. */
  int callback_verdict;
};

struct mw__tls;

/* Handshakes and verifies before deadline.  On MW_OK the stream's top
 * layer is TLS (over the previous top) and *out (owned by the caller, free with mw__tls_free()
 * after closing the stream) describes it.  Returns MW_E_TLS (handshake
 * failed; the message says why and hints at a TLS-mode mismatch),
 * MW_E_CERT (certificate refused; the message gives the verify error),
 * MW_E_TIMEOUT, MW_E_CLOSED, MW_E_NOMEM. */
mw_status mw__tls_start(struct mw__stream *st,
                        const struct mw__tls_policy *policy,
                        struct mw__trace *trace, int64_t deadline,
                        struct mw__tls **out, struct mw__tls_info *info);
void mw__tls_free(struct mw__tls *t);

/* The same handshake without waiting, for a state machine (proto/smtp):
 * mw__tls_begin() sets TLS up over below (the stack's top, connected),
 * then mw__tls_handshake_step() runs until *want is 0: the handshake is
 * complete, info filled and the policy applied (statuses as
 * mw__tls_start()).  The caller then puts mw__tls_layer(t) on its stack;
 * on a failure it frees t (below is not closed). */
mw_status mw__tls_begin(struct mw__layer *below,
                        const struct mw__tls_policy *policy,
                        struct mw__trace *trace, struct mw_error *err,
                        struct mw__tls **out);
mw_status mw__tls_handshake_step(struct mw__tls *t,
                                 const struct mw__tls_policy *policy,
                                 struct mw__trace *trace,
                                 struct mw_error *err, short *want,
                                 struct mw__tls_info *info);
struct mw__layer *mw__tls_layer(struct mw__tls *t);
/* Ends TLS politely before the socket is closed: sends close_notify and
 * consumes what the peer already sent (its 221's close_notify, session
 * tickets), without waiting; unread bytes would make close() send a
 * reset.  Best effort, never fails. */
void mw__tls_shutdown(struct mw__tls *t);

/* The policy's verdict on a completed handshake: "verified", "pinned",
 * "pin_mismatch", "insecure" (not checked, on request), "no_certificate",
 * or mw__tls_verify_class()'s name of the failure. */
const char *mw__tls_verdict(const struct mw__tls_policy *policy,
                            const struct mw__tls_info *info);
/* Whether that verdict lets a session go on. */
bool mw__tls_verdict_ok(const char *verdict);

/* Normalises a user fingerprint ("AB:CD:..." or "abcd...") into 64
 * lowercase hex digits.  false when it is not a SHA-256 fingerprint. */
bool mw__tls_normalise_fingerprint(const char *in, char out[65]);

/* Classifies an OpenSSL verify result for diagnosis: "expired",
 * "not_yet_valid", "hostname", "self_signed", "revoked", "crl" (the CRL
 * file cannot decide: no CRL from the issuer, out of date, bad
 * signature), "untrusted" or "ok". */
const char *mw__tls_verify_class(long verify_result);

/* Whether OpenSSL accepts list as TLS 1.2 ciphers or TLS 1.3 suites
 * (true, unchecked, when the TLS module cannot be loaded: the handshake
 * that would use the list then fails with MW_E_TLS saying why). */
bool mw__tls_ciphers_valid(const char *list);

/* (OpenSSL is initialised on first use inside tls/, thread-safely: no
 * global set-up call.  It is not even linked by libmailwire: the functions
 * above that need it are in the TLS module, libmailwire-tls.so, which
 * tls_load.c loads on the first mw__tls_begin(), mw__tls_start() or
 * mw__tls_ciphers_valid() (tls_module.h); with no module, mw__tls_begin()
 * and mw__tls_start() fail with MW_E_TLS naming it and the reason.) */

#endif
