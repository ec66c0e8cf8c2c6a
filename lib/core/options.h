/*
 * core/options.h - struct mw_options: everything a session needs to know
 * before it connects.
 *
 * Owns: defaults, validation of each setting, deep copies into sessions,
 * and wiping secrets when freed.  The setters are in core/options.c, except
 * those validated by a higher layer, in api/setopt.c.
 */
#ifndef MW_CORE_OPTIONS_H
#define MW_CORE_OPTIONS_H

#include "mailwire.h"

#define MW__DEFAULT_CONNECT_TIMEOUT_MS 15000u
#define MW__DEFAULT_GREETING_TIMEOUT_MS 10000u

struct mw_options {
  mw_protocol protocol;
  char *mailbox; /* IMAP: NULL for "INBOX" */
  char *host;
  unsigned port; /* 0: by TLS mode */
  mw_tls_mode tls_mode;
  mw_family family;
  char *bind;
  char *dns_server; /* "ip[:port]" or NULL for the system resolver */
  char *proxy_url;  /* "socks5h://..." (validated), NULL for none */
  int proxy_protocol; /* HAProxy PROXY header version to send: 0, 1, 2 */
  unsigned connect_timeout_ms;
  unsigned greeting_timeout_ms;
  unsigned command_timeout_ms; /* 0: RFC 5321 defaults per command */
  char *ca_file;
  char fingerprint[65]; /* "" when not pinned */
  bool insecure;
  mw_tls_version tls_min, tls_max;
  bool tls_strict;   /* tls_min unavailable: fail instead of downgrading */
  char *tls_ciphers; /* OpenSSL cipher list / TLS 1.3 suites, or NULL */
  char *tls_cert_file; /* client certificate (PEM), or NULL */
  char *tls_key_file;  /* its key; NULL: in tls_cert_file */
  char *tls_server_name;
  char *helo;
  char *user;
  char *password;     /* secret */
  char *oauth2_token; /* secret */
  char *auth_mechs;   /* upper-case, space-separated; NULL: all */
  bool allow_insecure_auth;
  bool pipelining;
  bool chunking;      /* BDAT when the server offers CHUNKING */
  char *sender_domain; /* doctor's deliverability checks; NULL: none */
  char *dkim_selector;
  char *dnsbl_zones; /* "zone1,zone2" */
  mw_trace_fn trace_fn;
  void *trace_user;
  mw_progress_fn progress_fn; /* mw_options_set_progress */
  void *progress_user;
  char *tls_crl_file;            /* CRLs (PEM) to check the peer against */
  bool tls_ocsp;                 /* request and verify a stapled OCSP */
  mw_tls_verify_fn tls_verify_fn; /* the caller's decision, or NULL */
  void *tls_verify_user;
};

/* Stores a copy of value (NULL clears) in *slot after refusing control
 * characters: MW_OK, MW_E_INVALID or MW_E_NOMEM (for the setters). */
mw_status mw__options_set_string(char **slot, const char *value);
/* Deep copy; false on OOM (dst is then left empty). */
bool mw__options_copy(struct mw_options *dst, const struct mw_options *src);
/* Frees the owned strings of o (not o itself). */
void mw__options_release(struct mw_options *o);
/* The port after defaults: the protocol's implicit port (465, 995, 993)
 * for implicit TLS, else its other one (587, 110, 143). */
unsigned mw__options_port(const struct mw_options *o);
/* The protocol's ports: implicit TLS and STARTTLS. */
unsigned mw__protocol_implicit_port(mw_protocol p);
unsigned mw__protocol_starttls_port(mw_protocol p);
/* The effective TLS mode: auto resolved by port. */
mw_tls_mode mw__options_tls_mode(const struct mw_options *o);

#endif
