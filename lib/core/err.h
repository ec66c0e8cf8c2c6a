/*
 * core/err.h - the one error type (struct mw_error) and its table.
 *
 * Owns: the status table (name, message, default category, whether a retry
 * may help), and the helpers every layer uses to fill an mw_error.  Layers
 * return an mw_status and record the detail in the session's mw_error; they
 * never print.
 */
#ifndef MW_CORE_ERR_H
#define MW_CORE_ERR_H

#include "mailwire.h"

#include <stdarg.h>

/* What a MW_E_PROXY failure was, for diagnosis (doctor's proxy causes),
 * so that it never depends on the wording of the message. */
enum mw__proxy_failure {
  MW__PROXY_FAIL_NONE = 0,
  MW__PROXY_FAIL_UNREACHABLE, /* no connection, no answer, not a proxy */
  MW__PROXY_FAIL_AUTH,        /* credentials refused or required */
  MW__PROXY_FAIL_TARGET       /* the proxy would not open the tunnel */
};

/* What a MW_E_TLS failure was, for diagnosis and for the --tls-min
 * fallback, so that neither depends on the wording of the message.  Set
 * by lib/tls from OpenSSL's reason codes (never from its words). */
enum mw__tls_failure {
  MW__TLS_FAIL_OTHER = 0,
  MW__TLS_FAIL_VERSION,    /* no protocol version acceptable to both sides */
  MW__TLS_FAIL_PLAINTEXT,  /* the peer's bytes were not TLS records */
  MW__TLS_FAIL_REFUSED,    /* the server sent a handshake_failure alert */
  MW__TLS_FAIL_CERT_REQUIRED, /* TLS 1.3 certificate_required alert */
  MW__TLS_FAIL_UNAVAILABLE /* the TLS module could not be loaded: no
                              handshake was tried */
};

/* What a MW_E_CONNECT failure was, so that a diagnosis never depends on
 * the wording of strerror(). */
enum mw__connect_failure {
  MW__CONNECT_FAIL_OTHER = 0,
  MW__CONNECT_FAIL_UNREACHABLE /* an attempt found the network unreachable */
};

/* What a MW_E_PROTOCOL failure was, for diagnosis (the probe's rows). */
enum mw__protocol_failure {
  MW__PROTO_FAIL_OTHER = 0,
  MW__PROTO_FAIL_LINE_TOO_LONG, /* a line over the protocol's cap */
  MW__PROTO_FAIL_TLS_BYTES      /* TLS records where a plaintext greeting
                                 * was expected: the port speaks implicit
                                 * TLS */
};

struct mw_error {
  mw_status status;
  mw_category category;
  bool temporary;
  int reply_code;
  char enhanced[16];
  char *server_text; /* owned, may be NULL */
  char *recipient;   /* owned, may be NULL */
  char message[768];
  enum mw__proxy_failure proxy_failure; /* with MW_E_PROXY */
  enum mw__tls_failure tls_failure;     /* with MW_E_TLS */
  enum mw__connect_failure connect_failure; /* with MW_E_CONNECT */
  bool connect_refused; /* with MW_E_CONNECT: the last attempt was refused */
  enum mw__protocol_failure protocol_failure; /* with MW_E_PROTOCOL */
  /* A reply that is not SMTP but another protocol's banner: "IMAP",
   * "POP3", "SSH", "HTTP" (static), else NULL. */
  const char *foreign_protocol;
  /* An OAuth failure report the server sent in a 334 (RFC 7628 3.2.2):
   * its "status" ("invalid_token", "401", ...), "" when none. */
  char oauth_status[24];
  /* With MW_E_DNS: the name exists but has no address (of the family
   * asked), as opposed to a name that does not exist. */
  bool dns_no_address;
  /* The response code of a POP3 or IMAP refusal ("AUTHENTICATIONFAILED",
   * "SYS/PERM"), "" when none. */
  char response_code[32];
};

/* Resets e to MW_OK and frees its owned strings. */
void mw__error_clear(struct mw_error *e);
/* Records st with its default category and a printf-style message.
 * Returns st so callers can write `return mw__error_set(...)`. */
mw_status mw__error_set(struct mw_error *e, mw_status st, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));
mw_status mw__error_setv(struct mw_error *e, mw_status st, const char *fmt,
                         va_list ap);
void mw__error_set_recipient(struct mw_error *e, const char *rcpt);
mw_category mw__status_category(mw_status st);
bool mw__status_temporary(mw_status st);

#endif
