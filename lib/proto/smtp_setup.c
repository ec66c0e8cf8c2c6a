/*
 * proto/smtp_setup.c - the SMTP session's setup as states of the machine
 * (proto/smtp_machine.c): what each state sends on entry and how each
 * reply moves it on, from the implicit TLS handshake and the greeting to
 * EHLO (and the HELO fallback), STARTTLS (the injection check, the TLS
 * handshake as a state driving the TLS layer's connect step, the
 * capability reset, EHLO again), AUTH (proto/sasl_driver.h's exchange,
 * without I/O) and QUIT's reply.
 *
 * DESCRIPTION
 *   Security rules, each relied on by tests:
 *   - the default TLS mode never falls back to plaintext;
 *   - bytes pipelined after the 220 to STARTTLS end the session
 *     (MW_E_INJECTION), they are never read as post-TLS replies;
 *   - capabilities learnt before TLS are forgotten after it;
 *   - credentials are never sent unencrypted unless explicitly allowed,
 *     and the trace shows AUTH payloads as <redacted>;
 *   - a mechanism that authenticates the server (SCRAM, DIGEST-MD5)
 *     succeeds only once the server's proof (v=, rspauth) has arrived and
 *     verified (proto/sasl.c, mw__sasl_success).
 *
 *   Replies to commands that were not pipelined must come alone: bytes
 *   after the greeting, the EHLO reply or an AUTH reply are MW_E_PROTOCOL.
 *
 * DIAGNOSTICS
 *   Every failure leaves its detail in s->err, with the server's reply
 *   attached when one was involved.
 */
#include "proto/smtp.h"

#include "core/util.h"
#include "net/sock.h"
#include "proto/session.h"

#include <stdio.h>
#include <string.h>

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

/* ---- where the capabilities lead ---------------------------------------- */

/* Once the capabilities to act on are known: AUTH, or a stop there. */
static mw_status go_after_capa(struct mw_smtp *s)
{
  return mw__smtp_go(s, s->stop_after_capa ? MW__SMTP_CAPABILITIES
                                           : MW__SMTP_AUTH);
}

/* After an EHLO (or HELO) reply: STARTTLS when the mode asks for it and
 * TLS is not up yet, else on. */
static mw_status go_after_ehlo(struct mw_smtp *s)
{
  bool starttls = s->mode == MW_TLS_STARTTLS ||
                  s->mode == MW_TLS_STARTTLS_OPTIONAL;
  if(starttls && !s->tls)
    return mw__smtp_go(s, MW__SMTP_STARTTLS);
  return go_after_capa(s);
}

/* ---- TLS ------------------------------------------------------------------ */

static void tls_policy(const struct mw_smtp *s, struct mw__tls_policy *p)
{
  mw__session_tls_policy(&s->opt, p);
  p->report_only = s->tls_report_only;
}

/* "502 5.5.1 text" of the reply's first line, for the probe's rows. */
static void reply_summary(const struct mw__reply *r, char *buf, size_t len)
{
  const char *text = r->text ? r->text : "";
  size_t n = strcspn(text, "\n");
  snprintf(buf, len, "%d%s%s %.*s", r->code, r->enhanced[0] ? " " : "",
           r->enhanced, (int)(n > 200 ? 200 : n), text);
}

static mw_status enter_tls(struct mw_smtp *s, unsigned timeout_ms)
{
  struct mw__tls_policy policy;
  tls_policy(s, &policy);
  mw__engine_deadline_in(&s->eng, timeout_ms, "during the TLS handshake");
  return mw__tls_begin(mw__engine_top(&s->eng), &policy, &s->trace, &s->err,
                       &s->tls_pending);
}

mw_status mw__smtp_tls_step(struct mw_smtp *s, short *want)
{
  struct mw__tls_policy policy;
  tls_policy(s, &policy);
  s->eng.waiting_for = "during the TLS handshake";
  mw_status st = mw__tls_handshake_step(s->tls_pending, &policy, &s->trace,
                                        &s->err, want, &s->tls_info);
  mw__session_cert_names_hint(st, &s->tls_info, &s->err);
  if(st || *want)
    return st;
  mw__engine_push(&s->eng, mw__tls_layer(s->tls_pending));
  s->tls = s->tls_pending;
  s->tls_pending = NULL;
  if(s->sm == MW__SMTP_TLS_IMPLICIT)
    return mw__smtp_go(s, MW__SMTP_GREETING);
  /* Forget everything learnt in plaintext (RFC 3207 section 4.2); the
   * copy is kept apart for diagnosis only, never consulted. */
  mw__capa_clear(&s->capa_plain);
  s->capa_plain = s->capa;
  mw__capa_init(&s->capa);
  return mw__smtp_go(s, MW__SMTP_EHLO_TLS);
}

/* ---- AUTH: the SMTP side of the SASL exchange -------------------------- *
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

/* The refusal's message (the reply being handled is s->r). */
static mw_status smtp_auth_refused(void *user,
                                   const struct mw__sasl_refusal *why)
{
  struct mw_smtp *s = user;
  const struct mw__reply *r = &s->r;
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

/* Sends a line of the exchange: a command or response awaiting a reply,
 * or the cancel line (best effort: the recorded error stays). */
static mw_status auth_send_line(struct mw_smtp *s,
                                const struct mw__sasl_line *l)
{
  if(!l->line)
    return MW_OK;
  /* Defence in depth: no line break may end up inside the AUTH line. */
  if(memchr(l->line, '\r', l->len) || memchr(l->line, '\n', l->len) ||
     memchr(l->line, '\0', l->len))
    return mw__error_set(&s->err, MW_E_INVALID,
                         "refused to send a command containing a line break");
  if(l->reply_expected)
    return mw__smtp_send(s, MW__SMTP_CMD_AUTH, 0, l->secret_from, "%.*s",
                         (int)l->len, l->line);
  mw_status saved = s->err.status;
  char msg[sizeof(s->err.message)];
  memcpy(msg, s->err.message, sizeof(msg));
  short want = 0;
  mw_status st = mw__engine_command(&s->eng, NULL, -1, "%.*s", (int)l->len,
                                    l->line);
  if(!st)
    st = mw__engine_flush(&s->eng, &want);
  if(st && saved)
    mw__error_set(&s->err, saved, "%s", msg);
  return MW_OK;
}

/* SASL EXTERNAL (RFC 4422 appendix A): the identity is the client
 * certificate presented in the TLS handshake; the AUTH command carries
 * only the authorization identity, --user or empty ("=").  When a
 * certificate obliges the session to authenticate: sasl_driver.c. */
static mw_status enter_auth(struct mw_smtp *s)
{
  s->sasl_io = (struct mw__sasl_io){.user = s,
                                    .refused = smtp_auth_refused};
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
  struct mw__sasl_ctx ctx = {
      .proto = &mw__smtp_sasl,
      .io = &s->sasl_io,
      .trace = &s->trace,
      .scrub = &s->scrub,
      .err = &s->err,
  };
  struct mw__sasl_line first;
  mw_status st = mw__sasl_exchange_start(&ctx, &req, &srv, &s->sasl, &first);
  if(st)
    return st;
  if(!s->sasl)
    return mw__smtp_go(s, MW__SMTP_READY);
  return auth_send_line(s, &first);
}

static mw_status on_auth_reply(struct mw_smtp *s, struct mw__reply *r)
{
  mw_status st = mw__smtp_expect_quiet(s, "an AUTH reply");
  if(st)
    return mw__smtp_abort(s, st);
  struct mw__sbuf line;
  mw__sbuf_init(&line);
  if(!mw__sbuf_printf(&line, "%03d %s", r->code, r->text ? r->text : "")) {
    mw__sbuf_free(&line);
    return mw__smtp_abort(s, mw__error_set(&s->err, MW_E_NOMEM, NULL));
  }
  struct mw__sasl_line next;
  bool done = false;
  st = mw__sasl_exchange_feed(s->sasl, line.data, line.len, &next, &done);
  mw__sbuf_free(&line);
  if(!st && done) {
    s->auth_mech = mw__sasl_exchange_mech(s->sasl);
    mw__sasl_exchange_free(s->sasl);
    s->sasl = NULL;
    return mw__smtp_go(s, MW__SMTP_READY);
  }
  if(st) {
    if(next.line && !next.reply_expected)
      auth_send_line(s, &next);
    return mw__smtp_abort(s, st);
  }
  return auth_send_line(s, &next);
}

/* ---- entries ------------------------------------------------------------ */

static mw_status send_ehlo(struct mw_smtp *s, enum mw__smtp_cmd kind)
{
  char name[300];
  mw__smtp_default_helo(s->opt.helo, mw__engine_fd(&s->eng), name,
                        sizeof(name));
  if(kind == MW__SMTP_CMD_EHLO) {
    mw__capa_clear(&s->capa);
    s->esmtp = false;
  }
  return mw__smtp_send(s, kind, 0, -1, "%s %s",
                       kind == MW__SMTP_CMD_EHLO ? "EHLO" : "HELO", name);
}

static mw_status enter_starttls(struct mw_smtp *s)
{
  bool required = s->mode == MW_TLS_STARTTLS;
  char caps[512];
  if(mw__capa_has(&s->capa, "STARTTLS"))
    return mw__smtp_send(s, MW__SMTP_CMD_STARTTLS, 0, -1, "%s", "STARTTLS");
  if(required)
    return mw__error_set(
        &s->err, MW_E_NO_STARTTLS,
        "the server does not offer STARTTLS (it offers: %s); nothing "
        "was sent. Use {tls=implicit} if the server has an implicit-TLS "
        "port (usually 465); {tls=starttls-optional} or none would send "
        "in clear",
        capa_summary(s, caps, sizeof(caps)));
  if(!s->stop_after_capa) /* nothing is sent after the capabilities */
    mw__trace_emit(&s->trace, MW_TRACE_TLS,
                   "WARNING: the server does not offer STARTTLS; continuing "
                   "WITHOUT encryption ({tls=starttls-optional})");
  return go_after_capa(s);
}

mw_status mw__smtp_enter_setup(struct mw_smtp *s, enum mw__smtp_state to)
{
  switch(to) {
  case MW__SMTP_TLS_IMPLICIT:
    return enter_tls(s, s->opt.greeting_timeout_ms);
  case MW__SMTP_TLS_STARTTLS:
    return enter_tls(s, mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS));
  case MW__SMTP_GREETING: {
    const struct mw__engine_cmd greeting = {.kind = MW__SMTP_CMD_GREETING};
    mw_status st = mw__engine_expect(&s->eng, &greeting);
    mw__engine_deadline_in(&s->eng, s->opt.greeting_timeout_ms,
                           "waiting for the server");
    return st;
  }
  case MW__SMTP_EHLO:
  case MW__SMTP_EHLO_TLS:
    return send_ehlo(s, MW__SMTP_CMD_EHLO);
  case MW__SMTP_HELO:
    return send_ehlo(s, MW__SMTP_CMD_HELO);
  case MW__SMTP_STARTTLS:
    return enter_starttls(s);
  case MW__SMTP_AUTH:
    return enter_auth(s);
  case MW__SMTP_QUIT:
    if(s->quit_sent) { /* it went with the last message: only its 221 */
      mw__engine_deadline_in(&s->eng,
                             mw__smtp_reply_timeout(s, MW__SMTP_CMD_QUIT),
                             "waiting for the server");
      return MW_OK;
    }
    return mw__smtp_send(s, MW__SMTP_CMD_QUIT, 0, -1, "%s", "QUIT");
  default:
    return mw__error_set(&s->err, MW_E_STATE, "no entry for state %s",
                         mw__smtp_state_name(to));
  }
}

/* ---- reply handlers ---------------------------------------------------- */

static mw_status on_greeting(struct mw_smtp *s, struct mw__reply *r)
{
  mw_status st = MW_OK;
  if(r->code != 220) {
    if(r->code == 554 || r->code / 100 == 5)
      st = mw__smtp_reply_error(s, MW_E_REJECTED, r,
                       "the server refused the connection in its greeting "
                       "(policy or block list)");
    else if(r->code / 100 == 4)
      st = mw__smtp_reply_error(s, MW_E_REJECTED, r,
                       "the server is temporarily unavailable");
    else
      st = mw__smtp_reply_error(s, MW_E_PROTOCOL, r, "unexpected greeting");
  }
  if(!st)
    st = mw__smtp_expect_quiet(s, "its greeting");
  if(st)
    return mw__smtp_abort(s, st);
  mw__free(s->greeting);
  s->greeting = mw__strdup(r->text ? r->text : "");
  return mw__smtp_go(s, MW__SMTP_EHLO);
}

static mw_status on_ehlo(struct mw_smtp *s, struct mw__reply *r)
{
  mw_status st = MW_OK;
  if(r->code == 250) {
    if(!mw__capa_parse(&s->capa, r->text ? r->text : ""))
      st = mw__error_set(&s->err, MW_E_NOMEM, NULL);
    s->esmtp = true;
  }
  else if(r->code / 100 == 5) {
    /* An SMTP (not ESMTP) server: fall back to HELO. */
    reply_summary(r, s->ehlo_refused, sizeof(s->ehlo_refused));
    return mw__smtp_go(s, MW__SMTP_HELO);
  }
  else {
    st = mw__smtp_reply_error(s, MW_E_REJECTED, r, "the server refused EHLO");
  }
  if(!st)
    st = mw__smtp_expect_quiet(s, "its EHLO reply");
  if(st)
    return mw__smtp_abort(s, st);
  return go_after_ehlo(s);
}

static mw_status on_helo(struct mw_smtp *s, struct mw__reply *r)
{
  mw_status st = MW_OK;
  if(r->code != 250)
    st = mw__smtp_reply_error(s, MW_E_REJECTED, r, "the server refused HELO");
  else
    s->capa.valid = true;
  if(!st)
    st = mw__smtp_expect_quiet(s, "its EHLO reply");
  if(st)
    return mw__smtp_abort(s, st);
  return go_after_ehlo(s);
}

static mw_status on_starttls(struct mw_smtp *s, struct mw__reply *r)
{
  if(r->code != 220) {
    reply_summary(r, s->starttls_refused, sizeof(s->starttls_refused));
    if(s->mode == MW_TLS_STARTTLS)
      return mw__smtp_abort(s, mw__smtp_reply_error(s, MW_E_NO_STARTTLS, r,
                       "the server refused STARTTLS; nothing was sent"));
    if(!s->stop_after_capa)
      mw__trace_emit(&s->trace, MW_TRACE_TLS,
                     "WARNING: STARTTLS refused (%d); continuing WITHOUT "
                     "encryption ({tls=starttls-optional})",
                     r->code);
    return go_after_capa(s);
  }
  /* Nothing may follow the 220: what does could be an attacker's replies
   * to the commands to come, read as if they came over TLS. */
  s->injected = mw__engine_buffered(&s->eng);
  mw_status st = mw__session_no_injection(&s->eng, &s->err,
                                          "its 220 reply to STARTTLS");
  if(st)
    return mw__smtp_abort(s, st);
  return mw__smtp_go(s, MW__SMTP_TLS_STARTTLS);
}

mw_status mw__smtp_on_setup_reply(struct mw_smtp *s,
                                  const struct mw__engine_cmd *cmd,
                                  struct mw__reply *r)
{
  switch((enum mw__smtp_cmd)cmd->kind) {
  case MW__SMTP_CMD_GREETING:
    return on_greeting(s, r);
  case MW__SMTP_CMD_EHLO:
    return on_ehlo(s, r);
  case MW__SMTP_CMD_HELO:
    return on_helo(s, r);
  case MW__SMTP_CMD_STARTTLS:
    return on_starttls(s, r);
  case MW__SMTP_CMD_AUTH:
    return on_auth_reply(s, r);
  case MW__SMTP_CMD_QUIT:
    /* Whatever the answer, the session is over. */
    return mw__smtp_go(s, MW__SMTP_CLOSED);
  default:
    return mw__smtp_abort(s, mw__error_set(&s->err, MW_E_STATE,
                                           "no handler for command %d",
                                           cmd->kind));
  }
}
