/*
 * diag/doctor_int.h - what the parts of `doctor` share (private).
 *
 * Owns: the report (struct mw_report: the checks, each with its layer,
 * status, duration and evidence, and the one diagnosis), and the calls
 * between doctor.c (DNS, TCP, the run, the accessors), doctor_session.c
 * (the SMTP session: greeting, TLS mode, certificate, EHLO, AUTH,
 * envelope), doctor_reply.c (what a refusal at a step means) and
 * doctor_deliver.c (SPF, DMARC, DKIM, MTA-STS, TLS-RPT, blocklists), and
 * doctor_incoming*.c (POP3 and IMAP: greeting, TLS mode, certificate,
 * capabilities, login, mailbox).
 */
#ifndef MW_DIAG_DOCTOR_INT_H
#define MW_DIAG_DOCTOR_INT_H

#include "mailwire.h"

#include "core/options.h"
#include "core/util.h"

#include <stdint.h>

struct mw__tls_info;
struct mw__addrlist;

#define MAX_CHECKS 48

struct check {
  const char *layer; /* static */
  mw_check_status status;
  double ms;
  char *evidence;
};

struct mw_report {
  struct check checks[MAX_CHECKS];
  size_t count;
  const mw_cause *cause;
  char *summary;
  char *fix;
  const char *detected_mode;
  char *host;
  unsigned port;
  const char *tls_mode;
  char peer[80]; /* the address the SMTP session connected to, "" if none */
  /* When the verdict is due (mw__now_ms() time), 0 for no bound: a silent
   * port's answer comes within the greeting timeout plus one second, so
   * the alternatives get only the time left. */
  int64_t answer_by;
  mw_protocol protocol; /* of the server checked */
};

/* Appends a check (silently dropped past MAX_CHECKS). */
void mw__doctor_check(struct mw_report *r, const char *layer,
                      mw_check_status st, double ms, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* When e is a TLS failure because the TLS module could not be loaded,
 * adds the failed "tls" check and the diagnosis tls_unavailable and
 * returns true: nothing is known about the server then, so no other
 * verdict (mode, version, greeting) may be drawn. */
bool mw__doctor_tls_unavailable(struct mw_report *r, const mw_error *e,
                                double ms);
/* Sets the diagnosis once: the first (deepest-cause) call wins.  fix may
 * be NULL for the catalogue's generic fix. */
void mw__doctor_diagnose(struct mw_report *r, const char *id,
                         const char *summary, const char *fix);
/* Milliseconds since t0 (mw__now_ms()). */
double mw__doctor_since(int64_t t0);

/* doctor_reply.c: the steps a server may refuse. */
enum mw__doctor_step {
  MW__STEP_EHLO = 0,
  MW__STEP_STARTTLS,
  MW__STEP_AUTH,
  MW__STEP_MAIL,
  MW__STEP_RCPT,
  MW__STEP_DATA,
  MW__STEP_DOT
};
const char *mw__doctor_step_name(enum mw__doctor_step step);
/* Diagnoses a refusal at step (what: the address or mechanism concerned,
 * or NULL) from the reply's code, enhanced code and text: the cause the
 * reply names, else unknown_reply quoting it, with the step's advice. */
void mw__doctor_refusal(struct mw_report *r, enum mw__doctor_step step,
                        const char *what, int code, const char *enhanced,
                        const char *text, bool has_credentials);
/* Appends "{server=HOST:PORT} {tls=MODE}" and the settings that carry
 * over (CA file, pin, server name, client certificate, bind, proxy
 * without its password, PROXY protocol), pasteable as is. */
void mw__doctor_use_line(const struct mw_options *o, const char *host,
                         unsigned port, const char *mode,
                         struct mw__sbuf *b);

/* doctor.c: the checks every protocol shares.  DNS (the host's
 * addresses into *addrs) and TCP to each address: false when the
 * diagnosis is made. */
bool mw__doctor_check_dns(struct mw_report *r, const struct mw_options *o,
                          struct mw__addrlist *addrs);
bool mw__doctor_check_tcp(struct mw_report *r, const struct mw_options *o,
                          const struct mw__addrlist *addrs);
/* "IMAP is 993 with {tls=implicit} or 143 with {tls=starttls}" (static) */
const char *mw__doctor_ports_hint(mw_protocol p);
/* The "tls" and "certificate" rows of a handshake that succeeded
 * (fallback: the --tls-min the session fell back from, else 0). */
void mw__doctor_tls_rows(struct mw_report *r, const struct mw__tls_info *t,
                         int fallback, const struct mw_options *o,
                         bool implicit, double ms);
/* The rows and the diagnosis of a certificate refused (message: the
 * session's error message). */
void mw__doctor_cert_failure(struct mw_report *r,
                             const struct mw__tls_info *t,
                             const struct mw_options *o, bool implicit,
                             double ms, const char *message);

/* doctor_incoming.c: the POP3 or IMAP session, after DNS and TCP. */
void mw__doctor_incoming(struct mw_report *r, const struct mw_options *o);

/* The same as a URL: "{server=imaps://HOST:PORT} {tls=MODE}" and the
 * settings that carry over. */
void mw__doctor_use_url(const struct mw_options *o, const char *scheme,
                        const char *host, unsigned port, const char *mode,
                        struct mw__sbuf *b);

/* doctor_session.c: the SMTP session, from connect to the envelope. */
void mw__doctor_session(struct mw_report *r, const struct mw_options *o,
                        const char *from, const char *to);
/* doctor_deliver.c: the sender domain's records and the blocklists. */
void mw__doctor_deliverability(struct mw_report *r,
                               const struct mw_options *o,
                               const char *from);

#endif
