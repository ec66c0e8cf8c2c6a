/*
 * proto/smtp.c - the SMTP client session: connect (over the layer stack,
 * net/stack.h), greeting, EHLO/HELO, the TLS mode, AUTH (the SMTP side of
 * proto/sasl_driver.h), the session's facts, and QUIT.  The mail
 * transaction is proto/smtp_send.c's.
 *
 * DESCRIPTION
 *   Blocking API over deadline-bound I/O: each reply is awaited until an
 *   absolute deadline (RFC 5321 section 4.5.3.2 defaults unless the caller
 *   set a command timeout), so a server that trickles bytes cannot stretch
 *   an operation.
 *
 *   Security rules, each relied on by tests:
 *   - the default TLS mode never falls back to plaintext;
 *   - bytes pipelined after the 220 to STARTTLS end the session
 *     (MW_E_INJECTION), they are never read as post-TLS replies;
 *   - capabilities learnt before TLS are forgotten after it;
 *   - credentials are never sent unencrypted unless explicitly allowed,
 *     and the trace shows AUTH payloads as <redacted>;
 *   - a mechanism that authenticates the server (SCRAM, DIGEST-MD5)
 *     succeeds only once the server's proof (v=, rspauth) has arrived and
 *     verified: a 235 before it, an empty final 334 or one without the
 *     proof is MW_E_AUTH_SERVER_UNVERIFIED and ends the session before
 *     any mail command (proto/sasl.c, mw__sasl_success);
 *   - DATA is dot-stuffed and every line ending made CRLF, and a
 *     connection lost after the final dot is MW_E_DELIVERY_UNKNOWN
 *     (proto/smtp_send.c).
 *
 * DIAGNOSTICS
 *   Every failure leaves its detail in s->err (mw_smtp_error()), with the
 *   server's reply attached when one was involved.
 */
#include "proto/smtp.h"

#include "core/util.h"
#include "net/resolve.h"
#include "net/sock.h"
#include "net/stack.h"
#include "proto/data.h"
#include "proto/envelope.h"
#include "proto/sasl_driver.h"

#include <stdio.h>
#include <string.h>

#define QUIT_MS 10000u

/* ---- session lifetime ------------------------------------------------ */

mw_smtp *mw_smtp_new(const mw_options *o)
{
  if(!o)
    return NULL;
  struct mw_smtp *s = mw__calloc(1, sizeof(*s));
  if(!s)
    return NULL;
  if(!mw__options_copy(&s->opt, o)) {
    mw__free(s);
    return NULL;
  }
  s->stream.fd = -1;
  s->trace.fn = s->opt.trace_fn;
  s->trace.user = s->opt.trace_user;
  mw__trace_start(&s->trace);
  mw__capa_init(&s->capa);
  mw__sbuf_init(&s->line);
  mw__scrub_init(&s->scrub);
  s->err.status = MW_OK;
  if(!mw__scrub_add_secret(&s->scrub, s->opt.password) ||
     !mw__scrub_add_secret(&s->scrub, s->opt.oauth2_token)) {
    mw_smtp_free(s);
    return NULL;
  }
  return s;
}

static void smtp_close(struct mw_smtp *s)
{
  if(s->stream_open && s->tls && s->state == SMTP_READY)
    mw__tls_shutdown(s->tls);
  if(s->stream_open) {
    mw__stream_close(&s->stream);
    mw__trace_emit(&s->trace, MW_TRACE_NET, "connection closed");
  }
  s->stream_open = false;
  mw__tls_free(s->tls);
  s->tls = NULL;
}

void mw_smtp_free(mw_smtp *s)
{
  if(!s)
    return;
  smtp_close(s);
  mw__capa_clear(&s->capa);
  mw__capa_clear(&s->capa_plain);
  mw__sbuf_free(&s->line);
  mw__scrub_free(&s->scrub);
  mw__free(s->greeting);
  mw__error_clear(&s->err);
  mw__options_release(&s->opt);
  mw__free(s);
}

const mw_error *mw_smtp_error(const mw_smtp *s) { return s ? &s->err : NULL; }

/* A failure that leaves the connection unusable. */
mw_status mw__smtp_broken(struct mw_smtp *s, mw_status st)
{
  smtp_close(s);
  s->state = SMTP_BROKEN;
  return st;
}

/* ---- lines and replies ------------------------------------------------ */

/* Enters a phase of mw_smtp_connect(), noting when (doctor reports how
 * long each step took, also when a later one fails). */
static void smtp_phase(struct mw_smtp *s, enum mw__smtp_phase ph)
{
  s->phase = ph;
  s->phase_at[ph] = mw__now_ms();
}

mw_status mw__smtp_read_reply(struct mw_smtp *s, struct mw__reply *r,
                                 int64_t deadline)
{
  mw__reply_free(r);
  mw__reply_init(r);
  for(;;) {
    mw_status st = mw__stream_read_line(&s->stream, &s->line,
                                        MW__SMTP_MAX_LINE, deadline);
    if(st)
      return st;
    /* Before anything sees the line: a server that echoes the password or
     * a SASL payload must not get it into the trace, the reply or an
     * error (core/scrub.h).  The code and its separator stay intact. */
    if(mw__scrub_line(&s->scrub, &s->line, 4) < 0)
      return mw__error_set(&s->err, MW_E_NOMEM, NULL);
    mw__trace_emit_n(&s->trace, MW_TRACE_IN, s->line.data, s->line.len);
    const char *why = NULL;
    enum mw__reply_feed f = mw__reply_feed(r, s->line.data, s->line.len,
                                           &why);
    if(f == MW__REPLY_DONE)
      return MW_OK;
    if(f == MW__REPLY_BAD) {
      char shown[80];
      size_t n = s->line.len < 60 ? s->line.len : 60;
      for(size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s->line.data[i];
        shown[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
      }
      shown[n] = '\0';
      const char *proto = mw__reply_foreign_protocol(s->line.data,
                                                     s->line.len);
      if(proto) {
        mw__error_set(&s->err, MW_E_PROTOCOL,
                      "the server speaks %s, not SMTP (it said \"%s%s\"): "
                      "this is not a mail submission port; use 587 with "
                      "{tls=starttls} or 465 with {tls=implicit}",
                      proto, shown, s->line.len > n ? "..." : "");
        s->err.foreign_protocol = proto;
        return MW_E_PROTOCOL;
      }
      return mw__error_set(&s->err, MW_E_PROTOCOL,
                           "malformed reply from the server: %s: \"%s%s\"",
                           why, shown, s->line.len > n ? "..." : "");
    }
  }
}

mw_status mw__smtp_queue(struct mw_smtp *s, int secret_from,
                            const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *line = n >= 0 ? mw__malloc((size_t)n + 3) : NULL;
  if(!line)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  va_start(ap, fmt);
  vsnprintf(line, (size_t)n + 1, fmt, ap);
  va_end(ap);
  /* Defence in depth: no caller may smuggle a line break into a command. */
  if(memchr(line, '\r', (size_t)n) || memchr(line, '\n', (size_t)n) ||
     strlen(line) != (size_t)n) {
    mw__free(line);
    return mw__error_set(&s->err, MW_E_INVALID,
                         "refused to send a command containing a line break");
  }
  if(secret_from >= 0 && secret_from <= n) {
    mw__trace_emit(&s->trace, MW_TRACE_OUT, "%.*s<redacted>", secret_from,
                   line);
    /* Whatever the server says from now on must not echo it. */
    if(!mw__scrub_add_payload(&s->scrub, line + secret_from,
                              (size_t)(n - secret_from))) {
      mw__free_secret(line);
      return mw__error_set(&s->err, MW_E_NOMEM, NULL);
    }
  }
  else
    mw__trace_emit_n(&s->trace, MW_TRACE_OUT, line, (size_t)n);
  memcpy(line + n, "\r\n", 3);
  bool ok = mw__stream_queue(&s->stream, line, (size_t)n + 2);
  if(secret_from >= 0)
    mw__free_secret(line);
  else
    mw__free(line);
  return ok ? MW_OK : mw__error_set(&s->err, MW_E_NOMEM, NULL);
}

/* Sends one command and reads its reply. */
mw_status mw__smtp_command(struct mw_smtp *s, struct mw__reply *r,
                              unsigned timeout_ms, int secret_from,
                              const char *fmt, const char *arg)
{
  mw_status st = mw__smtp_queue(s, secret_from, fmt, arg);
  if(!st)
    st = mw__stream_flush(&s->stream, mw__smtp_deadline_in(timeout_ms));
  if(!st)
    st = mw__smtp_read_reply(s, r, mw__smtp_deadline_in(timeout_ms));
  return st;
}

mw_status mw__smtp_reply_error(struct mw_smtp *s, mw_status st,
                             const struct mw__reply *r, const char *fmt, ...)
{
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  mw__error_set(&s->err, st, "%s: %d%s%s %s", what, r->code,
                r->enhanced[0] ? " " : "", r->enhanced,
                r->text ? r->text : "");
  mw__error_attach_reply(&s->err, r);
  return st;
}

/* After a reply to a command that was not pipelined, nothing more may be
 * waiting: a server (or a man in the middle) that sends unsolicited lines
 * is trying to answer commands not yet sent. */
static mw_status smtp_expect_quiet(struct mw_smtp *s, const char *after)
{
  size_t extra = mw__stream_buffered(&s->stream);
  if(!extra)
    return MW_OK;
  return mw__error_set(&s->err, MW_E_PROTOCOL,
                       "the server sent %zu unsolicited byte%s after %s",
                       extra, extra == 1 ? "" : "s", after);
}

/* ---- connection phases ------------------------------------------------- */

void mw__smtp_default_helo(const char *configured, int fd, char *out,
                           size_t len)
{
  if(configured) {
    snprintf(out, len, "%s", configured);
    return;
  }
  char host[256];
  if(mw__sock_hostname(host, sizeof(host)) && strchr(host, '.') &&
     !strpbrk(host, " \t\r\n")) {
    snprintf(out, len, "%s", host);
    return;
  }
  /* No fully qualified name: an address literal is always valid
   * (RFC 5321 section 4.1.3). */
  char ip[MW__SOCK_ADDR_TEXT] = "127.0.0.1";
  if(mw__sock_local_address(fd, ip, sizeof(ip)) == 6) {
    snprintf(out, len, "[IPv6:%s]", ip);
    return;
  }
  snprintf(out, len, "[%s]", ip);
}

static mw_status smtp_greeting(struct mw_smtp *s, mw_tls_mode mode)
{
  struct mw__reply r;
  mw__reply_init(&r);
  unsigned ms = s->opt.greeting_timeout_ms;
  mw_status st = mw__smtp_read_reply(s, &r, mw__smtp_deadline_in(ms));
  if(st == MW_E_TIMEOUT) {
    mw__error_set(&s->err, MW_E_TIMEOUT,
                  "no greeting from the server within %.1f s%s", ms / 1000.0,
                  mode == MW_TLS_IMPLICIT
                      ? ""
                      : ": a silent server usually means the port expects "
                        "implicit TLS (try {tls=implicit}, usually on port "
                        "465), or the server is overloaded");
  }
  else if(st == MW_E_CLOSED) {
    mw__error_set(&s->err, MW_E_CLOSED,
                  "the server closed the connection before greeting%s",
                  mode == MW_TLS_IMPLICIT
                      ? ""
                      : " (a port that expects implicit TLS may do this; "
                        "try {tls=implicit})");
  }
  else if(!st && r.code != 220) {
    if(r.code == 554 || r.code / 100 == 5)
      st = mw__smtp_reply_error(s, MW_E_REJECTED, &r,
                       "the server refused the connection in its greeting "
                       "(policy or block list)");
    else if(r.code / 100 == 4)
      st = mw__smtp_reply_error(s, MW_E_REJECTED, &r,
                       "the server is temporarily unavailable");
    else
      st = mw__smtp_reply_error(s, MW_E_PROTOCOL, &r, "unexpected greeting");
  }
  if(!st)
    st = smtp_expect_quiet(s, "its greeting");
  if(!st) {
    mw__free(s->greeting);
    s->greeting = mw__strdup(r.text ? r.text : "");
  }
  mw__reply_free(&r);
  return st;
}

static mw_status smtp_ehlo(struct mw_smtp *s)
{
  char name[300];
  mw__smtp_default_helo(s->opt.helo, s->stream.fd, name, sizeof(name));
  struct mw__reply r;
  mw__reply_init(&r);
  mw__capa_clear(&s->capa);
  s->esmtp = false;
  unsigned ms = mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS);
  mw_status st = mw__smtp_command(s, &r, ms, -1, "EHLO %s", name);
  if(!st && r.code == 250) {
    if(!mw__capa_parse(&s->capa, r.text ? r.text : ""))
      st = mw__error_set(&s->err, MW_E_NOMEM, NULL);
    s->esmtp = true;
  }
  else if(!st && r.code / 100 == 5) {
    /* An SMTP (not ESMTP) server: fall back to HELO. */
    st = mw__smtp_command(s, &r, ms, -1, "HELO %s", name);
    if(!st && r.code != 250)
      st = mw__smtp_reply_error(s, MW_E_REJECTED, &r, "the server refused HELO");
    else if(!st)
      s->capa.valid = true;
  }
  else if(!st) {
    st = mw__smtp_reply_error(s, MW_E_REJECTED, &r, "the server refused EHLO");
  }
  if(!st)
    st = smtp_expect_quiet(s, "its EHLO reply");
  mw__reply_free(&r);
  return st;
}

static const char *capa_summary(const struct mw_smtp *s, char *buf,
                                size_t len)
{
  size_t used = 0;
  buf[0] = '\0';
  for(size_t i = 0; i < s->capa.count && used + 2 < len; i++) {
    int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "",
                     s->capa.items[i].keyword);
    if(n < 0)
      break;
    used += (size_t)n;
  }
  if(!s->capa.count)
    snprintf(buf, len, "%s", s->esmtp ? "(none)" : "(no EHLO: HELO only)");
  return buf;
}

static mw_status smtp_tls(struct mw_smtp *s, unsigned timeout_ms)
{
  struct mw__tls_policy policy = {
      .ca_file = s->opt.ca_file,
      .fingerprint = s->opt.fingerprint[0] ? s->opt.fingerprint : NULL,
      .insecure = s->opt.insecure,
      .min = s->opt.tls_min,
      .max = s->opt.tls_max,
      .server_name = s->opt.tls_server_name ? s->opt.tls_server_name
                                            : s->opt.host,
      .ciphers = s->opt.tls_ciphers,
      .cert_file = s->opt.tls_cert_file,
      .key_file = s->opt.tls_key_file};
  mw_status st = mw__tls_start(&s->stream, &policy, &s->trace,
                               mw__smtp_deadline_in(timeout_ms), &s->tls,
                               &s->tls_info);
  /* A name mismatch says which names the certificate does carry. */
  if(st == MW_E_CERT && s->tls_info.names[0] &&
     !strcmp(mw__tls_verify_class(s->tls_info.verify_result), "hostname")) {
    size_t n = strlen(s->err.message);
    snprintf(s->err.message + n, sizeof(s->err.message) - n,
             "; the certificate is valid for: %s", s->tls_info.names);
  }
  return st;
}

static mw_status smtp_starttls(struct mw_smtp *s, mw_tls_mode mode)
{
  bool required = mode == MW_TLS_STARTTLS;
  char caps[512];
  if(!mw__capa_has(&s->capa, "STARTTLS")) {
    if(required)
      return mw__error_set(
          &s->err, MW_E_NO_STARTTLS,
          "the server does not offer STARTTLS (it offers: %s); nothing "
          "was sent. Use {tls=implicit} if the server has an implicit-TLS "
          "port (usually 465); {tls=starttls-optional} or none would send "
          "in clear",
          capa_summary(s, caps, sizeof(caps)));
    mw__trace_emit(&s->trace, MW_TRACE_TLS,
                   "WARNING: the server does not offer STARTTLS; continuing "
                   "WITHOUT encryption ({tls=starttls-optional})");
    return MW_OK;
  }
  struct mw__reply r;
  mw__reply_init(&r);
  unsigned ms = mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS);
  mw_status st = mw__smtp_command(s, &r, ms, -1, "%s", "STARTTLS");
  if(!st && r.code != 220) {
    if(required) {
      st = mw__smtp_reply_error(s, MW_E_NO_STARTTLS, &r,
                       "the server refused STARTTLS; nothing was sent");
    }
    else {
      mw__trace_emit(&s->trace, MW_TRACE_TLS,
                     "WARNING: STARTTLS refused (%d); continuing WITHOUT "
                     "encryption ({tls=starttls-optional})",
                     r.code);
    }
    mw__reply_free(&r);
    return st;
  }
  mw__reply_free(&r);
  if(st)
    return st;
  size_t extra = mw__stream_buffered(&s->stream);
  if(extra)
    return mw__error_set(&s->err, MW_E_INJECTION,
                         "the server sent %zu byte%s after its 220 reply to "
                         "STARTTLS, before the TLS handshake: they could be "
                         "an attacker's injected replies, so the session "
                         "was stopped",
                         extra, extra == 1 ? "" : "s");
  st = smtp_tls(s, ms);
  if(st)
    return st;
  /* Forget everything learnt in plaintext (RFC 3207 section 4.2); the
   * copy is kept apart for diagnosis only, never consulted. */
  mw__capa_clear(&s->capa_plain);
  s->capa_plain = s->capa;
  mw__capa_init(&s->capa);
  smtp_phase(s, MW__PHASE_EHLO_TLS);
  return smtp_ehlo(s);
}

static const char *auth_reply_hint(int code)
{
  switch(code) {
  case 535:
    return "the server rejected the user name or password";
  case 534:
    return "the server requires a stronger mechanism, a web log-in or an "
           "app password";
  case 538:
    return "the server requires an encrypted connection for this mechanism";
  case 454:
    return "temporary authentication failure on the server; retry later";
  case 504:
    return "the server does not support this mechanism";
  case 530:
    return "the server requires authentication (or TLS) first";
  default:
    return "authentication failed";
  }
}

/* ---- AUTH: the SMTP side of the SASL driver (proto/sasl_driver.h) ----
 *
 * RFC 4954: "AUTH mech [initial-response]", challenges in 334 replies,
 * success 235 without data (a server's proof comes as a last 334,
 * answered with an empty line), "*" cancels.  The policy (plaintext,
 * EXTERNAL, mechanism choice), the rounds, the redaction and the scrubbing
 * list are the driver's. */

static bool smtp_auth_success(const char *line, size_t len,
                              const char **data, size_t *dlen)
{
  *data = NULL;
  *dlen = 0;
  return len >= 3 && memcmp(line, "235", 3) == 0 &&
         (len == 3 || line[3] == ' ');
}

const struct mw__sasl_proto mw__smtp_sasl = {
    .name = "SMTP",
    .service = "smtp",
    .command = "AUTH",
    .continuation = "334 ",
    .initial_response = true,
    /* RFC 4954 section 4: the AUTH command keeps SMTP's command line
     * limit (RFC 5321 4.5.3.1.4: 512 octets with CRLF); a longer initial
     * response (a large OAuth token) answers an empty 334 instead, where
     * servers take 12288 octets. */
    .ir_max = 512,
    .empty_ir = "=",
    .cancel = "*",
    .success = smtp_auth_success,
    .success_data = false,
};

/* The AUTH exchange's state: the last reply, and it as one line. */
struct smtp_auth_io {
  struct mw_smtp *s;
  struct mw__reply r;
  struct mw__sbuf line;
  unsigned ms;
};

static mw_status smtp_auth_send(void *user, bool command, const char *line,
                                size_t len, const char *shown)
{
  (void)command;
  struct smtp_auth_io *a = user;
  struct mw_smtp *s = a->s;
  /* Defence in depth: no line break may end up inside the AUTH line. */
  if(memchr(line, '\r', len) || memchr(line, '\n', len) ||
     memchr(line, '\0', len))
    return mw__error_set(&s->err, MW_E_INVALID,
                         "refused to send a command containing a line break");
  mw__trace_emit(&s->trace, MW_TRACE_OUT, "%s", shown);
  char *buf = mw__malloc(len + 3);
  if(!buf)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  memcpy(buf, line, len);
  memcpy(buf + len, "\r\n", 3);
  bool ok = mw__stream_queue(&s->stream, buf, len + 2);
  mw__free_secret(buf);
  return ok ? MW_OK : mw__error_set(&s->err, MW_E_NOMEM, NULL);
}

static mw_status smtp_auth_flush(void *user)
{
  struct smtp_auth_io *a = user;
  return mw__stream_flush(&a->s->stream, mw__smtp_deadline_in(a->ms));
}

static mw_status smtp_auth_read(void *user, const char **line, size_t *len)
{
  struct smtp_auth_io *a = user;
  struct mw_smtp *s = a->s;
  mw_status st = mw__stream_flush(&s->stream, mw__smtp_deadline_in(a->ms));
  if(!st)
    st = mw__smtp_read_reply(s, &a->r, mw__smtp_deadline_in(a->ms));
  if(!st)
    st = smtp_expect_quiet(s, "an AUTH reply");
  if(st)
    return st;
  mw__sbuf_reset(&a->line);
  if(!mw__sbuf_printf(&a->line, "%03d %s", a->r.code,
                      a->r.text ? a->r.text : ""))
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  *line = a->line.data;
  *len = a->line.len;
  return MW_OK;
}

static mw_status smtp_auth_refused(void *user,
                                   const struct mw__sasl_refusal *why)
{
  struct smtp_auth_io *a = user;
  struct mw_smtp *s = a->s;
  const struct mw__reply *r = &a->r;
  if(r->code == 535 && strcmp(why->mech, "EXTERNAL") == 0)
    return mw__smtp_reply_error(s, MW_E_AUTH, r,
                       "the server did not accept the client certificate "
                       "'%s' as an identity (SASL EXTERNAL%s%s; is the "
                       "certificate one the server trusts and maps to an "
                       "account?)",
                       s->opt.tls_cert_file, s->opt.user ? " for " : "",
                       s->opt.user ? s->opt.user : "");
  if(why->oauth_status[0] && r->code / 100 != 4)
    return mw__smtp_reply_error(s, MW_E_AUTH, r,
                       "the server refused the OAuth access token as "
                       "expired or invalid (its report said status "
                       "\"%s\"): get a fresh token (%s as %s)",
                       why->oauth_status, why->mech, why->identity);
  return mw__smtp_reply_error(s, MW_E_AUTH, r, "%s (%s as %s)",
                     auth_reply_hint(r->code), why->mech, why->identity);
}

/* SASL EXTERNAL (RFC 4422 appendix A): the identity is the client
 * certificate presented in the TLS handshake; the AUTH command carries
 * only the authorization identity, --user or empty ("=").  When a
 * certificate obliges the session to authenticate: sasl_driver.c. */
static mw_status smtp_auth(struct mw_smtp *s)
{
  const struct mw__capa_entry *auth = mw__capa_find(&s->capa, "AUTH");
  char caps[512];
  struct mw__sasl_server srv = {
      .tls = s->tls != NULL,
      .mechanisms = auth ? (auth->params ? auth->params : "") : NULL,
      .starttls_offered = mw__capa_has(&s->capa, "STARTTLS"),
      .offers = auth ? NULL : capa_summary(s, caps, sizeof(caps)),
  };
  struct mw__sasl_request req = {
      .user = s->opt.user,
      .password = s->opt.password,
      .token = s->opt.oauth2_token,
      .cert_file = s->opt.tls_cert_file,
      .allowed = s->opt.auth_mechs,
      .allow_insecure = s->opt.allow_insecure_auth,
      .host = s->opt.host,
  };
  struct smtp_auth_io a = {.s = s, .ms = mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS)};
  mw__reply_init(&a.r);
  mw__sbuf_init(&a.line);
  const struct mw__sasl_io io = {
      .user = &a,
      .send = smtp_auth_send,
      .flush = smtp_auth_flush,
      .read = smtp_auth_read,
      .refused = smtp_auth_refused,
  };
  const struct mw__sasl_ctx ctx = {
      .proto = &mw__smtp_sasl,
      .io = &io,
      .trace = &s->trace,
      .scrub = &s->scrub,
      .err = &s->err,
  };
  const char *mech = NULL;
  mw_status st = mw__sasl_authenticate(&ctx, &req, &srv, &mech);
  if(!st && mech)
    s->auth_mech = mech;
  mw__reply_free(&a.r);
  mw__sbuf_free(&a.line);
  return st;
}

static mw_status smtp_connect_once(mw_smtp *s);

/* A minimum TLS version the server cannot do is, unless --tls-strict, a
 * reason to retry once with the default minimum (TLS 1.2: never lower),
 * said loudly in the trace. */
mw_status mw__smtp_connect(mw_smtp *s)
{
  mw_status st = smtp_connect_once(s);
  if(st != MW_E_TLS || !s->opt.tls_min || s->opt.tls_strict ||
     s->err.tls_failure != MW__TLS_FAIL_VERSION)
    return st;
  mw__trace_emit(&s->trace, MW_TRACE_TLS,
                 "WARNING: the server cannot do TLS %s; retrying with TLS "
                 "1.2 allowed (use {tls-strict} to refuse)",
                 s->opt.tls_min == MW_TLS_VERSION_1_3 ? "1.3" : "1.2");
  s->tls_fallback = s->opt.tls_min;
  s->opt.tls_min = MW_TLS_VERSION_DEFAULT;
  s->state = SMTP_CLOSED;
  mw__capa_clear(&s->capa);
  mw__capa_clear(&s->capa_plain);
  mw__free(s->greeting);
  s->greeting = NULL;
  return smtp_connect_once(s);
}

static mw_status smtp_setup(mw_smtp *s, struct mw__layer *top,
                            mw_tls_mode mode);

/* Notes the stack's steps as the session's phases (doctor's timings). */
static void stack_step(void *user, enum mw__stack_step step)
{
  static const enum mw__smtp_phase phases[] = {
      [MW__STACK_RESOLVE] = MW__PHASE_RESOLVE,
      [MW__STACK_CONNECT] = MW__PHASE_CONNECT,
      [MW__STACK_PROXY] = MW__PHASE_PROXY};
  smtp_phase(user, phases[step]);
}

mw_status mw__smtp_connect_over(mw_smtp *s, struct mw__layer *top)
{
  if(!s || !top)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(s->state != SMTP_CLOSED)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is already connected or has failed");
  memset(s->phase_at, 0, sizeof(s->phase_at));
  mw__trace_start(&s->trace);
  snprintf(s->peer, sizeof(s->peer), "%s", "memory");
  mw_tls_mode mode = mw__options_tls_mode(&s->opt);
  smtp_phase(s, MW__PHASE_CONNECT);
  return smtp_setup(s, top, mode);
}

static mw_status smtp_connect_once(mw_smtp *s)
{
  if(!s)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(s->state != SMTP_CLOSED)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is already connected or has failed");
  memset(s->phase_at, 0, sizeof(s->phase_at));
  if(!s->opt.host)
    return mw__error_set(&s->err, MW_E_INVALID, "no server given");
  mw__trace_start(&s->trace);
  mw_tls_mode mode = mw__options_tls_mode(&s->opt);
  unsigned port = mw__options_port(&s->opt);
  mw__trace_emit(&s->trace, MW_TRACE_INFO, "server %s port %u, TLS mode %s%s",
                 s->opt.host, port, mw_tls_mode_name(mode),
                 s->opt.tls_mode == MW_TLS_AUTO ? " (auto, by port)" : "");
  if(s->opt.insecure)
    mw__trace_emit(&s->trace, MW_TRACE_TLS,
                   "WARNING: {insecure}: certificates will NOT be verified");
  /* The layer stack: TCP, then the proxy tunnel and the PROXY header. */
  struct mw__stack_opts so = {.host = s->opt.host,
                              .port = port,
                              .family = s->opt.family,
                              .dns_server = s->opt.dns_server,
                              .bind = s->opt.bind,
                              .connect_timeout_ms = s->opt.connect_timeout_ms,
                              .proxy_url = s->opt.proxy_url,
                              .proxy_protocol = s->opt.proxy_protocol};
  struct mw__layer *top = NULL;
  mw_status st = mw__stack_open(&so, &s->trace, stack_step, s, s->peer,
                                sizeof(s->peer), &s->err, &top);
  if(st)
    return mw__smtp_broken(s, st);
  if(top->below) {
    char layers[300];
    mw__layer_describe_stack(top, layers, sizeof(layers));
    mw__trace_emit(&s->trace, MW_TRACE_NET, "connection layers: %s", layers);
  }
  return smtp_setup(s, top, mode);
}

/* The session on a connected stack: implicit TLS, greeting, EHLO,
 * STARTTLS, AUTH.  Takes ownership of top. */
static mw_status smtp_setup(mw_smtp *s, struct mw__layer *top,
                            mw_tls_mode mode)
{
  mw_status st;
  mw__stream_init(&s->stream, top, &s->err);
  s->stream_open = true;
  if(mode == MW_TLS_IMPLICIT) {
    smtp_phase(s, MW__PHASE_TLS_IMPLICIT);
    st = smtp_tls(s, s->opt.greeting_timeout_ms);
    if(st == MW_E_TIMEOUT)
      mw__error_set(&s->err, MW_E_TIMEOUT,
                    "no TLS handshake reply within %.1f s: the port may "
                    "expect plaintext first (try {tls=starttls}, usually on "
                    "port 587)",
                    s->opt.greeting_timeout_ms / 1000.0);
    if(st)
      return mw__smtp_broken(s, st);
  }
  smtp_phase(s, MW__PHASE_GREETING);
  st = smtp_greeting(s, mode);
  if(!st) {
    smtp_phase(s, MW__PHASE_EHLO);
    st = smtp_ehlo(s);
  }
  if(!st && (mode == MW_TLS_STARTTLS || mode == MW_TLS_STARTTLS_OPTIONAL)) {
    smtp_phase(s, MW__PHASE_STARTTLS);
    st = smtp_starttls(s, mode);
  }
  if(!st) {
    smtp_phase(s, MW__PHASE_AUTH);
    st = smtp_auth(s);
  }
  if(st)
    return mw__smtp_broken(s, st);
  smtp_phase(s, MW__PHASE_READY);
  s->state = SMTP_READY;
  return MW_OK;
}

/* ---- facts ------------------------------------------------------------- */

bool mw_smtp_has_capability(const mw_smtp *s, const char *keyword)
{
  return s && keyword && mw__capa_has(&s->capa, keyword);
}

const char *mw_smtp_capability_param(const mw_smtp *s, const char *keyword)
{
  const struct mw__capa_entry *e =
      s && keyword ? mw__capa_find(&s->capa, keyword) : NULL;
  return e ? e->params : NULL;
}

uint64_t mw_smtp_size_limit(const mw_smtp *s)
{
  return s ? mw__capa_size(&s->capa) : 0;
}

bool mw_smtp_is_encrypted(const mw_smtp *s) { return s && s->tls; }

#define TLS_FACT(fn, field)                                                  \
  const char *fn(const mw_smtp *s)                                           \
  {                                                                          \
    return s && s->tls ? s->tls_info.field : NULL;                           \
  }
TLS_FACT(mw_smtp_tls_version, version)
TLS_FACT(mw_smtp_tls_cipher, cipher)
TLS_FACT(mw_smtp_peer_subject, subject)
TLS_FACT(mw_smtp_peer_issuer, issuer)
TLS_FACT(mw_smtp_peer_not_after, not_after)
TLS_FACT(mw_smtp_peer_fingerprint, fingerprint)

const char *mw_smtp_auth_mechanism(const mw_smtp *s)
{
  return s ? s->auth_mech : NULL;
}
const char *mw_smtp_greeting(const mw_smtp *s)
{
  return s && s->greeting ? s->greeting : "";
}
unsigned mw_smtp_port(const mw_smtp *s)
{
  return s ? mw__options_port(&s->opt) : 0;
}

mw_tls_mode mw_smtp_tls_mode(const mw_smtp *s)
{
  return s ? mw__options_tls_mode(&s->opt) : MW_TLS_AUTO;
}

const char *mw_smtp_peer_address(const mw_smtp *s)
{
  return s ? s->peer : "";
}

mw_status mw_smtp_quit(mw_smtp *s)
{
  if(!s)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(s->state != SMTP_READY) {
    smtp_close(s);
    s->state = SMTP_CLOSED;
    return MW_OK;
  }
  struct mw__reply r;
  mw__reply_init(&r);
  unsigned ms = mw__smtp_cmd_timeout(s, QUIT_MS);
  if(ms > QUIT_MS)
    ms = QUIT_MS;
  mw_status st = mw__smtp_command(s, &r, ms, -1, "%s", "QUIT");
  mw__reply_free(&r);
  /* Whatever happens to QUIT loses nothing: every message of the session
   * already has its final reply.  A server that closed first (a 421 idle
   * close, a reset, no close_notify) is only a note. */
  if(st && st != MW_E_NOMEM) {
    mw__trace_emit(&s->trace, MW_TRACE_INFO,
                   "note: QUIT got no answer (%s); nothing is lost",
                   s->err.message);
    mw__error_clear(&s->err);
    st = MW_OK;
  }
  smtp_close(s);
  s->state = SMTP_CLOSED;
  return st;
}
