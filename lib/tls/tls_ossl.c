/*
 * tls/tls_ossl.c - OpenSSL implementation of tls/tls.h.
 *
 * DESCRIPTION
 *   The handshake runs with SSL_VERIFY_NONE so that it completes and
 *   OpenSSL's verdict (chain, expiry, host name) can be read afterwards with
 *   SSL_get_verify_result(); the policy is then applied here: pin first,
 *   else the verdict must be X509_V_OK, unless the caller asked for insecure
 *   mode.  Nothing is written to the connection before that decision, so a
 *   refused certificate never sees a command, let alone a password.  The
 *   I/O goes through the layer below (tls_layer.c: the BIO and the TLS
 *   layer's steps).  The handshake is a step (mw__ossl_begin, then
 *   mw__ossl_handshake_step until it no longer waits) that a state machine
 *   drives from its own loop (through tls.h's mw__tls_begin and
 *   mw__tls_handshake_step); mw__tls_start() is the blocking loop.
 *
 *   This file, tls_layer.c and ocsp.c are the TLS module
 *   (tls_module.h): built into libmailwire-tls.so and loaded on first
 *   use (tls_load.c), or linked in with MW_TLS_BUILTIN.
 *
 * DIAGNOSTICS
 *   Handshake failures carry OpenSSL's reason and, when the reason shows the
 *   server answered in plaintext, a hint that the TLS mode does not fit the
 *   port.  What the failure was (plaintext peer, no common version, a
 *   refused handshake, a required client certificate) is also recorded as
 *   a kind in mw_error.tls_failure, read from the reason codes of OpenSSL's
 *   error queue as it is drained: callers and the hints here decide on the
 *   kind, never on the words of a message.
 */
#include "tls/tls.h"
#include "tls/tls_int.h"
#include "tls/tls_module.h"

#include "core/util.h"
#include "net/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* -- reason codes --------------------------------------------------------
 * What this file acts on in OpenSSL's error queue is read from each
 * entry's library and reason code while the queue is drained, never from
 * the words OpenSSL prints for it (those change between versions). */
enum {
  REASON_PLAINTEXT = 1u << 0,      /* the peer's bytes were not TLS */
  REASON_REFUSED = 1u << 1,        /* alert handshake_failure (40) */
  REASON_CERT_REQUIRED = 1u << 2,  /* TLS 1.3 alert certificate_required */
  REASON_VERSION = 1u << 3,        /* no protocol version in common */
  REASON_KEY_MISMATCH = 1u << 4    /* private key not of the certificate */
};

/* The REASON_* bit of one error queue entry, or 0. */
static unsigned reason_bit(unsigned long e)
{
  int reason = ERR_GET_REASON(e);
  switch(ERR_GET_LIB(e)) {
  case ERR_LIB_X509:
    return reason == X509_R_KEY_VALUES_MISMATCH ||
                   reason == X509_R_KEY_TYPE_MISMATCH
               ? REASON_KEY_MISMATCH
               : 0;
  case ERR_LIB_SSL:
    break;
  default:
    return 0;
  }
  switch(reason) {
  /* A plaintext greeting ("220 ...") or an HTTP server read as a TLS
   * record header. */
  case SSL_R_WRONG_VERSION_NUMBER:
  case SSL_R_BAD_PACKET_LENGTH:
  case SSL_R_PACKET_LENGTH_TOO_LONG:
  case SSL_R_HTTP_REQUEST:
#ifdef SSL_R_RECORD_LAYER_FAILURE /* OpenSSL 3.2 and later */
  case SSL_R_RECORD_LAYER_FAILURE:
#endif
    return REASON_PLAINTEXT;
  case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE: /* SSL_AD_HANDSHAKE_FAILURE */
    return REASON_REFUSED;
  case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED: /* alert 116 */
    return REASON_CERT_REQUIRED;
  case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION: /* SSL_AD_PROTOCOL_VERSION */
  case SSL_R_BAD_PROTOCOL_VERSION_NUMBER:
  case SSL_R_NO_PROTOCOLS_AVAILABLE:
  case SSL_R_UNSUPPORTED_PROTOCOL:
    return REASON_VERSION;
  case SSL_R_PRIVATE_KEY_MISMATCH:
    return REASON_KEY_MISMATCH;
  default:
    return 0;
  }
}

/* OpenSSL is set up on the first TLS use (a context for a connection, a
 * cipher list checked), not at mw_global_init(): OPENSSL_init_ssl() loads
 * the configuration file (openssl.cnf), which a plaintext session has no
 * use for.  pthread_once makes the first use thread-safe; OpenSSL frees
 * its own state at exit. */
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;
static bool ossl_ok;

static void ossl_init(void)
{
  ossl_ok = OPENSSL_init_ssl(0, NULL) == 1;
}

static bool ossl_ready(void)
{
  pthread_once(&ossl_once, ossl_init);
  return ossl_ok;
}

/* Collects OpenSSL's error queue into one line (and empties it); returns
 * the REASON_* bits of its entries, read from their codes. */
static unsigned drain_errors(char *buf, size_t len)
{
  unsigned long e;
  unsigned bits = 0;
  size_t used = 0;
  buf[0] = '\0';
  while((e = ERR_get_error()) != 0) {
    bits |= reason_bit(e);
    const char *reason = ERR_reason_error_string(e);
    char tmp[128];
    if(!reason) {
      snprintf(tmp, sizeof(tmp), "error %lu", e);
      reason = tmp;
    }
    if(used < len) {
      int n = snprintf(buf + used, len - used, "%s%s", used ? "; " : "",
                       reason);
      if(n > 0)
        used += (size_t)n;
    }
  }
  return bits;
}

/* The kind of a TLS failure whose queue held bits, in the order the
 * handshake diagnosis ranks them: plaintext first; a refusal that a
 * client certificate may cure only when none was given. */
static enum mw__tls_failure failure_kind(unsigned bits, bool has_client_cert)
{
  if(bits & REASON_PLAINTEXT)
    return MW__TLS_FAIL_PLAINTEXT;
  if(!has_client_cert && (bits & REASON_CERT_REQUIRED))
    return MW__TLS_FAIL_CERT_REQUIRED;
  if(!has_client_cert && (bits & REASON_REFUSED))
    return MW__TLS_FAIL_REFUSED;
  if(bits & REASON_VERSION)
    return MW__TLS_FAIL_VERSION;
  if(bits & REASON_CERT_REQUIRED)
    return MW__TLS_FAIL_CERT_REQUIRED;
  if(bits & REASON_REFUSED)
    return MW__TLS_FAIL_REFUSED;
  return MW__TLS_FAIL_OTHER;
}

/* Turns an SSL_ERROR_* into a wait (*want) or a recorded error (with its
 * kind in err->tls_failure). */
mw_status mw__tls_result(const struct mw__tls *t, int rc, short *want,
                         struct mw_error *err, const char *what)
{
  int e = SSL_get_error(t->ssl, rc);
  if(e == SSL_ERROR_WANT_READ) {
    *want = POLLIN;
    return MW_OK;
  }
  if(e == SSL_ERROR_WANT_WRITE) {
    *want = POLLOUT;
    return MW_OK;
  }
  char why[512];
  int saved_errno = errno;
  unsigned long first = ERR_peek_error();
  unsigned bits = drain_errors(why, sizeof(why));
  /* A peer that closes without close_notify: to SMTP that is a closed
   * connection (temporary), not a TLS failure; replies are line-framed,
   * so no truncation can pass unseen. */
  bool eof_without_notify =
      e == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL &&
      ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
  if(e == SSL_ERROR_ZERO_RETURN || eof_without_notify ||
     (e == SSL_ERROR_SYSCALL && !why[0] && saved_errno == 0))
    return mw__error_set(err, MW_E_CLOSED,
                         "the server closed the connection %s", what);
  if(e == SSL_ERROR_SYSCALL && !why[0])
    return mw__error_set(err, MW_E_CLOSED, "connection lost %s: %s", what,
                         strerror(saved_errno));
  if(bits & REASON_CERT_REQUIRED) /* TLS 1.3 alert 116 */
    mw__error_set(err, MW_E_TLS,
                  "TLS failure %s: %s: the server requires a client "
                  "certificate ({tls-cert} and {tls-key})",
                  what, why);
  else
    mw__error_set(err, MW_E_TLS, "TLS failure %s: %s", what,
                  why[0] ? why : "unknown error");
  err->tls_failure = failure_kind(bits, t->has_client_cert);
  return MW_E_TLS;
}

static int version_constant(mw_tls_version v)
{
  switch(v) {
  case MW_TLS_VERSION_1_2:
    return TLS1_2_VERSION;
  case MW_TLS_VERSION_1_3:
    return TLS1_3_VERSION;
  default:
    return 0;
  }
}

static void name_to_string(const X509_NAME *name, char *out, size_t len)
{
  out[0] = '\0';
  BIO *bio = BIO_new(BIO_s_mem());
  if(!bio)
    return;
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  int n = BIO_read(bio, out, (int)len - 1);
  out[n > 0 ? n : 0] = '\0';
  BIO_free(bio);
}

static void fill_chain(SSL *ssl, struct mw__tls_info *info)
{
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
  size_t used = 0;
  for(int i = 0; chain && i < sk_X509_num(chain); i++) {
    char subj[256], iss[256];
    X509 *c = sk_X509_value(chain, i);
    name_to_string(X509_get_subject_name(c), subj, sizeof(subj));
    name_to_string(X509_get_issuer_name(c), iss, sizeof(iss));
    int n = snprintf(info->chain + used, sizeof(info->chain) - used,
                     "%s%s <- %s", used ? "; " : "", subj, iss);
    if(n < 0 || (size_t)n >= sizeof(info->chain) - used)
      break;
    used += (size_t)n;
  }
}

/* Whether name is already in the ", "-joined list. */
static bool name_listed(const char *list, const char *name)
{
  size_t n = strlen(name);
  for(const char *p = list; *p;) {
    const char *end = strstr(p, ", ");
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if(len == n && memcmp(p, name, n) == 0)
      return true;
    if(!end)
      break;
    p = end + 2;
  }
  return false;
}

/* The names the certificate is valid for: its DNS and IP subjectAltNames
 * (RFC 6125 checks only those when there are any), ", "-joined. */
static void fill_names(X509 *cert, struct mw__tls_info *info)
{
  GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name,
                                          NULL, NULL);
  size_t used = 0;
  int count = names ? sk_GENERAL_NAME_num(names) : 0;
  for(int i = 0; i < count; i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
    char one[300] = "";
    if(g->type == GEN_DNS) {
      const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
      int n = ASN1_STRING_length(g->d.dNSName);
      size_t k = 0;
      for(int j = 0; j < n && k < sizeof(one) - 1; j++)
        one[k++] = d[j] > 0x20 && d[j] < 0x7f ? (char)d[j] : '?';
      one[k] = '\0';
    }
    else if(g->type == GEN_IPADD) {
      const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
      int n = ASN1_STRING_length(g->d.iPAddress);
      if(n == 4 || n == 16)
        inet_ntop(n == 4 ? AF_INET : AF_INET6, d, one, sizeof(one));
    }
    if(!one[0] || name_listed(info->names, one))
      continue;
    int m = snprintf(info->names + used, sizeof(info->names) - used, "%s%s",
                     used ? ", " : "", one);
    if(m < 0 || (size_t)m >= sizeof(info->names) - used)
      break;
    used += (size_t)m;
  }
  GENERAL_NAMES_free(names);
}

static void fill_info(SSL *ssl, X509 *cert, struct mw__tls_info *info)
{
  memset(info, 0, sizeof(*info));
  info->handshake_done = true;
  info->verify_result = SSL_get_verify_result(ssl);
  snprintf(info->verify_error, sizeof(info->verify_error), "%s",
           X509_verify_cert_error_string(info->verify_result));
  fill_chain(ssl, info);
  snprintf(info->version, sizeof(info->version), "%s", SSL_get_version(ssl));
  const char *cipher = SSL_get_cipher_name(ssl);
  snprintf(info->cipher, sizeof(info->cipher), "%s", cipher ? cipher : "");
  if(!cert)
    return;
  name_to_string(X509_get_subject_name(cert), info->subject,
                 sizeof(info->subject));
  name_to_string(X509_get_issuer_name(cert), info->issuer,
                 sizeof(info->issuer));
  struct tm tm;
  if(ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
    strftime(info->not_after, sizeof(info->not_after), "%Y-%m-%dT%H:%M:%SZ",
             &tm);
  int days = 0, secs = 0;
  if(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) == 1)
    info->days_left = days;
  fill_names(cert, info);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if(X509_digest(cert, EVP_sha256(), md, &mdlen) == 1) {
    for(unsigned int i = 0; i < mdlen && i < 32; i++)
      snprintf(info->fingerprint + 2 * i, 3, "%02x", md[i]);
  }
}

static const char *verify_hint(long vr)
{
  switch(vr) {
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    return "if you trust this server, give its CA with {tls-ca-file} or pin "
           "its certificate with {tls-fingerprint}";
  case X509_V_ERR_CERT_HAS_EXPIRED:
    return "the server's certificate has expired: its administrator must "
           "renew it";
  case X509_V_ERR_CERT_NOT_YET_VALID:
    return "the certificate is not valid yet: check this machine's clock";
  case X509_V_ERR_HOSTNAME_MISMATCH:
  case X509_V_ERR_IP_ADDRESS_MISMATCH:
    return "connect using a name the certificate lists, or set the expected "
           "name with {tls-server-name}";
  case X509_V_ERR_CERT_REVOKED:
    return "its CA has revoked the server's certificate: the server's "
           "administrator must replace it";
  case X509_V_ERR_UNABLE_TO_GET_CRL:
    return "{tls-crl-file} holds no CRL from the certificate's issuer";
  case X509_V_ERR_CRL_HAS_EXPIRED:
  case X509_V_ERR_CRL_NOT_YET_VALID:
    return "the CRL in {tls-crl-file} is out of date: fetch a current one";
  case X509_V_ERR_OCSP_VERIFY_FAILED:
  case X509_V_ERR_OCSP_CERT_UNKNOWN:
    return "the server's stapled OCSP response is not valid (see the "
           "trace); without {tls-ocsp} it is not checked";
  default:
    return "";
  }
}

#define MAX_CALLBACK_CHAIN 16

/* The caller's verify callback decides (policy->verify_fn): it sees the
 * chain (DER, the server's certificate first) and the library's verdict,
 * and its answer stands. */
static mw_status ask_callback(struct mw_error *err, SSL *ssl,
                              const struct mw__tls_policy *policy,
                              struct mw__trace *trace,
                              struct mw__tls_info *info)
{
  const char *verdict = mw__tls_verdict(policy, info);
  bool ok = mw__tls_verdict_ok(verdict);
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
  int n = chain ? sk_X509_num(chain) : 0;
  unsigned char *der[MAX_CALLBACK_CHAIN];
  size_t len[MAX_CALLBACK_CHAIN], count = 0;
  mw_status st = MW_OK;
  for(int i = 0; i < n && count < MAX_CALLBACK_CHAIN; i++) {
    unsigned char *p = NULL;
    int l = i2d_X509(sk_X509_value(chain, i), &p);
    if(l <= 0) {
      st = mw__error_set(err, MW_E_NOMEM, "cannot encode the certificate "
                                          "chain for the verify callback");
      break;
    }
    der[count] = p;
    len[count++] = (size_t)l;
  }
  if(!st) {
    const mw_tls_peer peer = {
        .host = policy->server_name ? policy->server_name : "",
        .verified = ok,
        .verdict = verdict,
        .error = info->verify_error,
        .subject = info->subject,
        .issuer = info->issuer,
        .fingerprint = info->fingerprint,
        .chain_len = count,
        .chain_der = (const unsigned char *const *)der,
        .chain_der_len = len};
    bool accept = policy->verify_fn(policy->verify_user, &peer);
    info->callback_verdict = accept ? 1 : -1;
    if(accept)
      mw__trace_emit(trace, MW_TRACE_TLS,
                     "certificate accepted by the application's verify "
                     "callback (the library's verdict: %s%s%s)",
                     verdict, ok ? "" : ", ", ok ? "" : info->verify_error);
    else
      st = mw__error_set(err, MW_E_CERT,
                         "certificate of '%s' refused by the application's "
                         "verify callback (the library's verdict: %s)",
                         peer.host, verdict);
  }
  for(size_t i = 0; i < count; i++)
    OPENSSL_free(der[i]);
  return st;
}

/* Applies the verification policy after the handshake. */
static mw_status check_peer(struct mw_error *err, SSL *ssl,
                            const struct mw__tls_policy *policy,
                            struct mw__trace *trace,
                            struct mw__tls_info *info, X509 *cert)
{
  if(policy->insecure) {
    mw__trace_emit(trace, MW_TRACE_TLS,
                   "WARNING: certificate verification is DISABLED "
                   "({insecure}): the connection can be intercepted");
    return MW_OK;
  }
  if(!cert)
    return mw__error_set(err, MW_E_CERT,
                         "the server presented no certificate");
  if(policy->verify_fn)
    return ask_callback(err, ssl, policy, trace, info);
  if(policy->fingerprint) {
    if(strcmp(policy->fingerprint, info->fingerprint) != 0)
      return mw__error_set(err, MW_E_CERT,
                           "certificate fingerprint %s does not match the "
                           "pinned fingerprint %s",
                           info->fingerprint, policy->fingerprint);
    mw__trace_emit(trace, MW_TRACE_TLS,
                   "certificate matches the pinned SHA-256 fingerprint");
    return MW_OK;
  }
  long vr = SSL_get_verify_result(ssl);
  if(vr != X509_V_OK) {
    const char *hint = verify_hint(vr);
    return mw__error_set(err, MW_E_CERT,
                         "certificate of '%s' not accepted: %s (subject %s, "
                         "issuer %s)%s%s",
                         policy->server_name, X509_verify_cert_error_string(vr),
                         info->subject, info->issuer, hint[0] ? "; " : "",
                         hint);
  }
  mw__trace_emit(trace, MW_TRACE_TLS, "certificate verified for '%s'",
                 policy->server_name);
  return MW_OK;
}


/* Applies a cipher string: TLS 1.2 cipher list and/or TLS 1.3 suites
 * (split by name: 1.3 suites start with "TLS_"). */
static bool apply_ciphers(SSL_CTX *ctx, const char *list)
{
  char v12[1024] = "", v13[1024] = "";
  const char *p = list;
  while(*p) {
    size_t n = strcspn(p, ":, ");
    if(n) {
      char *dst = strncmp(p, "TLS_", 4) == 0 ? v13 : v12;
      size_t used = strlen(dst);
      if(used + n + 2 >= sizeof(v12))
        return false;
      if(used)
        dst[used++] = ':';
      memcpy(dst + used, p, n);
      dst[used + n] = '\0';
    }
    p += n;
    if(*p)
      p++;
  }
  if(!v12[0] && !v13[0])
    return false;
  if(v12[0] && SSL_CTX_set_cipher_list(ctx, v12) != 1)
    return false;
  if(v13[0] && SSL_CTX_set_ciphersuites(ctx, v13) != 1)
    return false;
  return true;
}

bool mw__ossl_ciphers_valid(const char *list)
{
  SSL_CTX *ctx = ossl_ready() ? SSL_CTX_new(TLS_client_method()) : NULL;
  if(!ctx)
    return false;
  bool ok = apply_ciphers(ctx, list);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

/* Loads the client certificate and key: a refusal names the file. */
static mw_status load_client_cert(SSL_CTX *ctx,
                                  const struct mw__tls_policy *policy,
                                  struct mw_error *err)
{
  char why[256];
  const char *key = policy->key_file ? policy->key_file : policy->cert_file;
  if(SSL_CTX_use_certificate_chain_file(ctx, policy->cert_file) != 1) {
    drain_errors(why, sizeof(why));
    return mw__error_set(err, MW_E_INVALID,
                         "cannot load the client certificate '%s': %s",
                         policy->cert_file, why);
  }
  if(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    if(drain_errors(why, sizeof(why)) & REASON_KEY_MISMATCH)
      return mw__error_set(err, MW_E_INVALID,
                           "the key '%s' does not belong to the client "
                           "certificate '%s' (%s)",
                           key, policy->cert_file, why);
    return mw__error_set(err, MW_E_INVALID,
                         "cannot load the client key '%s' (for the "
                         "certificate '%s'): %s",
                         key, policy->cert_file, why);
  }
  if(SSL_CTX_check_private_key(ctx) != 1) {
    drain_errors(why, sizeof(why));
    return mw__error_set(err, MW_E_INVALID,
                         "the key '%s' does not belong to the client "
                         "certificate '%s'",
                         key, policy->cert_file);
  }
  return MW_OK;
}

/* Revocation: the CRLs of path join the trust store, and the server's
 * certificate is checked against them (X509_V_FLAG_CRL_CHECK: the leaf;
 * its issuer must have a CRL in the file). */
static mw_status load_crls(SSL_CTX *ctx, const char *path,
                           struct mw_error *err)
{
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  X509_LOOKUP *lookup =
      store ? X509_STORE_add_lookup(store, X509_LOOKUP_file()) : NULL;
  if(!lookup || X509_load_crl_file(lookup, path, X509_FILETYPE_PEM) < 1) {
    char why[256];
    drain_errors(why, sizeof(why));
    return mw__error_set(err, MW_E_INVALID,
                         "cannot load a CRL from '%s' (PEM expected): %s",
                         path, why[0] ? why : "no CRL in the file");
  }
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CRL_CHECK);
  return MW_OK;
}

static mw_status setup(struct mw__layer *below, struct mw_error *err,
                       const struct mw__tls_policy *policy, struct mw__tls *t)
{
  if(!ossl_ready())
    return mw__error_set(err, MW_E_TLS, "OpenSSL could not be initialised");
  t->ctx = SSL_CTX_new(TLS_client_method());
  if(!t->ctx)
    return mw__error_set(err, MW_E_NOMEM, "cannot create a TLS context");
  int vmin = version_constant(policy->min);
  int vmax = version_constant(policy->max);
  SSL_CTX_set_min_proto_version(t->ctx, vmin ? vmin : TLS1_2_VERSION);
  if(vmax)
    SSL_CTX_set_max_proto_version(t->ctx, vmax);
  if(policy->ciphers && !apply_ciphers(t->ctx, policy->ciphers))
    return mw__error_set(err, MW_E_INVALID, "bad TLS cipher list '%s'",
                         policy->ciphers);
  if(policy->ca_file) {
    if(SSL_CTX_load_verify_locations(t->ctx, policy->ca_file, NULL) != 1) {
      char why[256];
      drain_errors(why, sizeof(why));
      return mw__error_set(err, MW_E_INVALID,
                           "cannot load CA file '%s': %s", policy->ca_file,
                           why);
    }
  }
  else if(SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
    return mw__error_set(err, MW_E_TLS,
                         "cannot load the system trust store");
  }
  if(policy->crl_file) {
    mw_status s = load_crls(t->ctx, policy->crl_file, err);
    if(s)
      return s;
  }
  if(policy->cert_file) {
    mw_status s = load_client_cert(t->ctx, policy, err);
    if(s)
      return s;
    t->has_client_cert = true;
  }
  SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
  t->ssl = SSL_new(t->ctx);
  BIO *bio = t->ssl ? mw__tls_layer_bio_new(below) : NULL;
  if(!bio)
    return mw__error_set(err, MW_E_NOMEM, "cannot create a TLS session");
  SSL_set_bio(t->ssl, bio, bio); /* the SSL owns the BIO from here */
  mw__layer_init(&t->layer, &mw__tls_layer_ops, below, t, err);
  if(policy->ocsp)
    SSL_set_tlsext_status_type(t->ssl, TLSEXT_STATUSTYPE_ocsp);
  const char *name = policy->server_name;
  if(name && mw__is_ip_literal(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name);
  }
  else if(name) {
    SSL_set_tlsext_host_name(t->ssl, name);
    SSL_set1_host(t->ssl, name);
  }
  return MW_OK;
}

/* Adds to a failed handshake's message the hint its kind calls for (the
 * kind was read from OpenSSL's reason codes by mw__tls_result()). */
static mw_status handshake_error(struct mw_error *err,
                                 struct mw__tls_info *info,
                                 bool has_client_cert)
{
  if(err->status != MW_E_TLS)
    return err->status;
  enum mw__tls_failure kind = err->tls_failure;
  char copy[sizeof(err->message)];
  snprintf(copy, sizeof(copy), "%s", err->message);
  switch(kind) {
  case MW__TLS_FAIL_PLAINTEXT:
    if(info)
      info->plaintext_peer = true;
    mw__error_set(err, MW_E_TLS,
                  "%s: the server answered in plaintext, not TLS; "
                  "this port likely expects STARTTLS or no TLS "
                  "(try {tls=starttls}, or the implicit-TLS port: 465 "
                  "for SMTP, 993 for IMAP, 995 for POP3)",
                  copy);
    break;
  case MW__TLS_FAIL_CERT_REQUIRED:
  case MW__TLS_FAIL_REFUSED:
    if(has_client_cert)
      return MW_E_TLS;
    mw__error_set(err, MW_E_TLS,
                  "%s: the server refused the handshake; if it "
                  "requires a client certificate, give one with "
                  "{tls-cert} and {tls-key}",
                  copy);
    break;
  case MW__TLS_FAIL_VERSION:
    mw__error_set(err, MW_E_TLS,
                  "%s: no TLS version acceptable to both sides "
                  "(check {tls-min}/{tls-max})",
                  copy);
    break;
  default:
    return MW_E_TLS;
  }
  err->tls_failure = kind;
  return MW_E_TLS;
}

mw_status mw__ossl_begin(struct mw__layer *below,
                         const struct mw__tls_policy *policy,
                         struct mw__trace *trace, struct mw_error *err,
                         struct mw__tls **out)
{
  *out = NULL;
  struct mw__tls *t = mw__calloc(1, sizeof(*t));
  if(!t)
    return mw__error_set(err, MW_E_NOMEM, NULL);
  mw_status s = setup(below, err, policy, t);
  if(s) {
    mw__ossl_free(t);
    return s;
  }
  mw__trace_emit(trace, MW_TRACE_TLS, "TLS handshake (SNI %s)",
                 policy->server_name && !mw__is_ip_literal(policy->server_name)
                     ? policy->server_name
                     : "none");
  *out = t;
  return MW_OK;
}

mw_status mw__ossl_handshake_step(struct mw__tls *t,
                                  const struct mw__tls_policy *policy,
                                  struct mw__trace *trace,
                                  struct mw_error *err, short *want,
                                  struct mw__tls_info *info)
{
  *want = 0;
  mw_status s = t->layer.ops->connect(&t->layer, want);
  if(s)
    return handshake_error(err, info, t->has_client_cert);
  if(*want)
    return MW_OK;
  X509 *cert = SSL_get1_peer_certificate(t->ssl);
  /* A stapled OCSP verdict joins the chain's (the first failure stays). */
  if(policy->ocsp && cert) {
    long ocsp = mw__tls_ocsp_check(t->ssl, cert, trace);
    if(ocsp != X509_V_OK && SSL_get_verify_result(t->ssl) == X509_V_OK)
      SSL_set_verify_result(t->ssl, ocsp);
  }
  fill_info(t->ssl, cert, info);
  mw__trace_emit(trace, MW_TRACE_TLS, "TLS established: %s, %s",
                 info->version, info->cipher);
  if(cert)
    mw__trace_emit(trace, MW_TRACE_TLS,
                   "certificate: subject %s; issuer %s; expires %s; "
                   "sha256 %s",
                   info->subject, info->issuer, info->not_after,
                   info->fingerprint);
  if(policy->report_only) {
    mw__trace_emit(trace, MW_TRACE_TLS, "certificate verdict (reported, "
                   "not enforced): %s", mw__tls_verdict(policy, info));
    s = MW_OK;
  }
  else
    s = check_peer(err, t->ssl, policy, trace, info, cert);
  X509_free(cert);
  return s;
}

struct mw__layer *mw__ossl_layer(struct mw__tls *t) { return &t->layer; }

void mw__ossl_shutdown(struct mw__tls *t)
{
  if(!t || !t->ssl || !t->layer.below)
    return;
  /* Best effort: what fails here must not replace the session's error
   * (a 421 or a lost connection is what the caller reports). */
  struct mw_error scratch;
  memset(&scratch, 0, sizeof(scratch));
  struct mw__layer *below = t->layer.below;
  struct mw_error *saved = mw__layer_set_err(below, &scratch);
  ERR_clear_error();
  if(SSL_shutdown(t->ssl) == 0) {
    /* Our close_notify is out; read the peer's if it is already here. */
    char sink[512];
    size_t got = 0;
    for(int i = 0; i < 16 && SSL_read_ex(t->ssl, sink, sizeof(sink), &got);
        i++)
      ;
    (void)SSL_shutdown(t->ssl);
  }
  ERR_clear_error();
  char raw[512];
  for(int i = 0; i < 16; i++) {
    size_t got = 0;
    short want = 0;
    if(below->ops->read(below, raw, sizeof(raw), &got, &want) || !got)
      break;
  }
  mw__layer_set_err(below, saved);
  mw__error_clear(&scratch);
}

void mw__ossl_free(struct mw__tls *t)
{
  if(!t)
    return;
  SSL_free(t->ssl);
  SSL_CTX_free(t->ctx);
  mw__free(t);
}
