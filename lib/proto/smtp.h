/*
 * proto/smtp.h - the SMTP client session (struct mw_smtp), private parts.
 *
 * Owns: the session's state machine, from connect to QUIT: greeting, EHLO
 * and HELO, the TLS mode (implicit or STARTTLS, with the injection check
 * and the capability reset), AUTH, and the mail transaction (MAIL, RCPT,
 * DATA, with PIPELINING when offered).  The public functions are declared
 * in include/mailwire.h; mw_smtp_connect() itself is in diag/detect.c, which
 * runs `--tls detect` before calling mw__smtp_connect().
 */
#ifndef MW_PROTO_SMTP_H
#define MW_PROTO_SMTP_H

#include "core/err.h"
#include "core/options.h"
#include "core/scrub.h"
#include "core/trace.h"
#include "io/stream.h"
#include "proto/capa.h"
#include "proto/reply.h"
#include "tls/tls.h"

/* How far mw_smtp_connect() got: for diagnosis of a failure. */
enum mw__smtp_phase {
  MW__PHASE_RESOLVE = 0,
  MW__PHASE_CONNECT,
  MW__PHASE_PROXY,        /* the proxy handshake */
  MW__PHASE_TLS_IMPLICIT, /* the handshake of implicit TLS */
  MW__PHASE_GREETING,
  MW__PHASE_EHLO,
  MW__PHASE_STARTTLS,     /* the command and its handshake */
  MW__PHASE_EHLO_TLS,     /* EHLO again after STARTTLS */
  MW__PHASE_AUTH,
  MW__PHASE_READY
};

enum smtp_state {
  SMTP_CLOSED = 0, /* no connection yet, or after QUIT */
  SMTP_READY,      /* connected (and authenticated): may send mail */
  SMTP_BROKEN      /* the connection failed: only free remains */
};

/* RFC 5321 4.2 allows 512 octets; accept more from lax servers but cap. */
#define MW__SMTP_MAX_LINE 4096
/* A message line, without CRLF (RFC 5321 section 4.5.3.1.6). */
#define MW__SMTP_MAX_TEXT_LINE 998

struct mw_smtp {
  struct mw_options opt;
  struct mw_error err;
  struct mw__trace trace;
  struct mw__stream stream;
  bool stream_open;
  enum smtp_state state;
  struct mw__tls *tls;
  struct mw__tls_info tls_info;
  struct mw__capa capa;
  struct mw__capa capa_plain; /* before STARTTLS (diagnosis only) */
  bool esmtp; /* EHLO succeeded (not HELO) */
  enum mw__smtp_phase phase;
  int64_t phase_at[MW__PHASE_READY + 1]; /* mw__now_ms() on entry, or 0 */
  /* The --tls-min the server could not do, after which the session fell
   * back to the default minimum (0: no fallback). */
  mw_tls_version tls_fallback;
  char *greeting;
  char peer[80];
  const char *auth_mech; /* static name, NULL when not authenticated */
  struct mw__sbuf line;
  /* The password, the token and every SASL payload sent: cut out of each
   * server line as it is read (smtp_read_reply), see core/scrub.h. */
  struct mw__scrub scrub;
};

/* mw_smtp_connect() once the TLS mode is known: the public function (in
 * diag/detect.c) resolves MW_TLS_DETECT with the probe first, then calls
 * this.  Retries once with the default minimum TLS version when the
 * server cannot do --tls-min (unless --tls-strict). */
mw_status mw__smtp_connect(mw_smtp *s);

/* Tests the envelope without sending a message: MAIL FROM, RCPT TO, then
 * RSET.  The replies are copied into mail and rcpt (rcpt->code stays 0 when
 * MAIL failed).  Returns MW_OK when both were read (whatever their codes),
 * else a connection error. */
mw_status mw__smtp_check_envelope(struct mw_smtp *s, const char *from,
                                  const char *to, struct mw__reply *mail,
                                  struct mw__reply *rcpt);

/* Runs the session's setup (implicit TLS when the options say so,
 * greeting, EHLO or HELO, STARTTLS, AUTH) over a stack that is already
 * connected, instead of opening one from the options: how the unit tests
 * and the session fuzzer put the in-memory layer (io/layer.h) under a
 * real session.  Takes ownership of top (closed with the session), except
 * on MW_E_INVALID and MW_E_STATE.  Returns as mw_smtp_connect(). */
mw_status mw__smtp_connect_over(struct mw_smtp *s, struct mw__layer *top);

/* The EHLO name: configured, else the host's fully qualified name, else
 * the local address of fd as a literal ("[192.0.2.1]", "[IPv6:...]"), or
 * "[127.0.0.1]" when fd is -1 (RFC 5321 4.1.3).  Shared with the probe. */
void mw__smtp_default_helo(const char *configured, int fd, char *out,
                           size_t len);

/* How SMTP carries SASL (RFC 4954), for the driver in proto/sasl_driver.h
 * (and its unit tests). */
struct mw__sasl_proto;
extern const struct mw__sasl_proto mw__smtp_sasl;


/* ---- shared by smtp.c (session) and smtp_send.c (transaction) ---------- */

/* RFC 5321 section 4.5.3.2 timeouts. */
#define MW__SMTP_COMMAND_MS (5u * 60u * 1000u)
#define MW__SMTP_DATA_INIT_MS (2u * 60u * 1000u)
#define MW__SMTP_DATA_BLOCK_MS (3u * 60u * 1000u)
#define MW__SMTP_DATA_END_MS (10u * 60u * 1000u)

static inline int64_t mw__smtp_deadline_in(unsigned ms)
{
  return mw__now_ms() + ms;
}
/* The caller's command timeout, else the RFC's for that step. */
static inline unsigned mw__smtp_cmd_timeout(const struct mw_smtp *s,
                                            unsigned rfc_ms)
{
  return s->opt.command_timeout_ms ? s->opt.command_timeout_ms : rfc_ms;
}

/* Reads one reply (scrubbed of the session's secrets, traced). */
mw_status mw__smtp_read_reply(struct mw_smtp *s, struct mw__reply *r,
                              int64_t deadline);
/* Queues one command line.  secret_from: when >= 0, the trace shows the
 * line cut at that offset followed by <redacted>. */
mw_status mw__smtp_queue(struct mw_smtp *s, int secret_from, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));
/* Sends one command and reads its reply. */
mw_status mw__smtp_command(struct mw_smtp *s, struct mw__reply *r,
                           unsigned timeout_ms, int secret_from,
                           const char *fmt, const char *arg);
/* Records st with the server's reply attached. */
mw_status mw__smtp_reply_error(struct mw_smtp *s, mw_status st,
                               const struct mw__reply *r, const char *fmt,
                               ...) __attribute__((format(printf, 4, 5)));
/* A failure that leaves the connection unusable: closes it. */
mw_status mw__smtp_broken(struct mw_smtp *s, mw_status st);

#endif
