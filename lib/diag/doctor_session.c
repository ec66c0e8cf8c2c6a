/*
 * diag/doctor_session.c - doctor's SMTP session: greeting, TLS mode,
 * certificate, EHLO, AUTH and the envelope.
 *
 * DESCRIPTION
 *   The SMTP work is done by the ordinary client (proto/smtp.c): doctor
 *   reads how far mw_smtp_connect() got (s->phase), when it entered each
 *   phase (s->phase_at) and what it saw, and turns that into checks and
 *   one diagnosis.  Every step measured before a failure stays in the
 *   report with its real duration.
 */
#include "diag/doctor_int.h"

#include "diag/explain.h"
#include "diag/probe.h"
#include "proto/envelope.h"
#include "proto/smtp.h"
#include "tls/tls.h"

#include <stdio.h>
#include <string.h>

/* ---- the SMTP session ------------------------------------------------- */

/* A short second attempt in another mode, to learn what the port speaks.
 * Certificates are not verified and no credentials are sent: the attempt
 * only listens for a greeting. */
static mw_smtp *probe_mode(const struct mw_options *o, mw_tls_mode mode,
                           mw_status *st)
{
  mw_options *p = mw_options_new();
  if(!p) {
    *st = MW_E_NOMEM;
    return NULL;
  }
  mw_options_set_server(p, o->host, mw__options_port(o));
  mw_options_set_family(p, o->family);
  if(o->bind)
    mw_options_set_bind(p, o->bind);
  mw_options_set_tls_mode(p, mode);
  mw_options_set_tls_insecure(p, true);
  mw_options_set_connect_timeout(p, o->connect_timeout_ms);
  /* The probe talks to a server already known to answer: a fixed 5 s
   * (independent of a short --greeting-timeout) keeps a slow handshake
   * from passing for silence; a healthy one takes milliseconds. */
  unsigned g = 5000;
  mw_options_set_greeting_timeout(p, g);
  mw_options_set_command_timeout(p, g);
  mw_smtp *s = mw_smtp_new(p);
  mw_options_free(p);
  *st = s ? mw_smtp_connect(s) : MW_E_NOMEM;
  return s;
}

static void caps_text(const struct mw__capa *c, struct mw__sbuf *b)
{
  for(size_t i = 0; i < c->count; i++)
    mw__sbuf_printf(b, "%s%s%s%s", i ? ", " : "", c->items[i].keyword,
                    c->items[i].params[0] ? " " : "", c->items[i].params);
  if(!c->count)
    mw__sbuf_puts(b, "(none)");
}

/* How long the session stayed in phase ph: from entering it to entering
 * the next phase reached, or to end (the failure) for the last one. */
static double phase_ms(const mw_smtp *s, enum mw__smtp_phase ph, int64_t end)
{
  int64_t start = s->phase_at[ph];
  if(!start)
    return 0;
  for(int k = (int)ph + 1; k <= (int)MW__PHASE_READY; k++)
    if(s->phase_at[k])
      return (double)(s->phase_at[k] - start);
  return (double)(end - start);
}

static void report_tls_and_cert(struct mw_report *r, const mw_smtp *s,
                                const struct mw_options *o, bool implicit,
                                double ms)
{
  mw__doctor_tls_rows(r, &s->tls_info, s->tls_fallback, o, implicit, ms);
}

/* The EHLO row: the capabilities (after TLS, and before it). */
static void report_ehlo(struct mw_report *r, const mw_smtp *s, double ms)
{
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  caps_text(&s->capa, &b);
  if(s->capa_plain.valid) {
    mw__sbuf_puts(&b, "; before TLS: ");
    caps_text(&s->capa_plain, &b);
  }
  uint64_t size = mw__capa_size(&s->capa);
  if(size)
    mw__sbuf_printf(&b, "; size limit %.1f MB", (double)size / 1e6);
  mw__doctor_check(r, "ehlo", MW_CHECK_OK, ms, "%s", b.data ? b.data : "");
  mw__sbuf_free(&b);
}

/* Every step the session got through before it stopped (or before the
 * envelope), with the time each took: a later failure keeps them. */
static void report_reached(struct mw_report *r, const mw_smtp *s,
                           const struct mw_options *o, mw_tls_mode mode,
                           int64_t end)
{
  enum mw__smtp_phase ph = s->phase;
  bool implicit = mode == MW_TLS_IMPLICIT;
  /* s->tls is gone once the session broke: the handshake's facts stay */
  bool tls = s->tls_info.handshake_done;
  if(implicit && ph > MW__PHASE_TLS_IMPLICIT && tls) {
    report_tls_and_cert(r, s, o, true,
                        phase_ms(s, MW__PHASE_TLS_IMPLICIT, end));
    r->detected_mode = "implicit";
  }
  if(s->greeting)
    mw__doctor_check(r, "greeting", MW_CHECK_OK,
                     phase_ms(s, MW__PHASE_GREETING, end), "220 %s",
                     s->greeting);
  if(!implicit && ph > MW__PHASE_STARTTLS && tls) {
    report_tls_and_cert(r, s, o, false,
                        phase_ms(s, MW__PHASE_STARTTLS, end));
    r->detected_mode = "starttls";
  }
  if(ph > MW__PHASE_EHLO && (ph != MW__PHASE_EHLO_TLS))
    report_ehlo(r, s,
                phase_ms(s, MW__PHASE_EHLO, end) +
                    (ph > MW__PHASE_EHLO_TLS
                         ? phase_ms(s, MW__PHASE_EHLO_TLS, end)
                         : 0));
}

static void check_envelope(struct mw_report *r, mw_smtp *s, const char *from,
                           const char *to)
{
  if(!from || !to) {
    mw__doctor_check(r, "envelope", MW_CHECK_SKIPPED, 0,
                     "not tested (give {from} and {to})");
    return;
  }
  struct mw__reply mail, rcpt;
  mw__reply_init(&mail);
  mw__reply_init(&rcpt);
  int64_t t0 = mw__now_ms();
  mw_status st = mw__smtp_check_envelope(s, from, to, &mail, &rcpt);
  if(st) {
    const mw_error *e = mw_smtp_error(s);
    mw__doctor_check(r, "envelope", MW_CHECK_FAIL, mw__doctor_since(t0),
                     "%s", mw_error_message(e));
    if(e->reply_code)
      mw__doctor_refusal(r, rcpt.code ? MW__STEP_RCPT : MW__STEP_MAIL,
                         NULL, e->reply_code, e->enhanced, e->server_text,
                         s->auth_mech != NULL);
    else
      mw__doctor_diagnose(r, e->status == MW_E_PROTOCOL ||
                                     e->status == MW_E_INJECTION
                                 ? "protocol_error"
                                 : "temporary_failure",
                          mw_error_message(e), NULL);
  }
  else {
    const struct mw__reply *bad = mail.code != 250 ? &mail
                                  : (rcpt.code / 100 != 2) ? &rcpt
                                                           : NULL;
    if(!bad) {
      mw__doctor_check(r, "envelope", MW_CHECK_OK, mw__doctor_since(t0),
                       "MAIL FROM:<%s> %d; RCPT TO:<%s> %d (then RSET; "
                       "nothing sent)",
                       from, mail.code, to, rcpt.code);
    }
    else {
      bool is_mail = bad == &mail;
      mw__doctor_check(r, "envelope",
                       bad->code / 100 == 4 ? MW_CHECK_WARN : MW_CHECK_FAIL,
                       mw__doctor_since(t0), "%s <%s>: %d %s %s",
                       is_mail ? "MAIL FROM" : "RCPT TO", is_mail ? from : to,
                       bad->code, bad->enhanced, bad->text ? bad->text : "");
      char what[300];
      snprintf(what, sizeof(what), "<%s>", is_mail ? from : to);
      mw__doctor_refusal(r, is_mail ? MW__STEP_MAIL : MW__STEP_RCPT, what,
                         bad->code, bad->enhanced, bad->text,
                         s->auth_mech != NULL);
    }
  }
  mw__reply_free(&mail);
  mw__reply_free(&rcpt);
}

static void report_ready(struct mw_report *r, mw_smtp *s,
                         const struct mw_options *o, mw_tls_mode mode,
                         const char *from, const char *to, int64_t end)
{
  report_reached(r, s, o, mode, end);
  if(s->tls) {
    r->detected_mode = mode == MW_TLS_IMPLICIT ? "implicit" : "starttls";
  }
  else {
    mw__doctor_check(r, "tls", MW_CHECK_WARN, 0,
                     "the connection is NOT encrypted ({tls=%s})",
                     mw_tls_mode_name(mode));
    r->detected_mode = "plain";
  }
  double auth_ms = phase_ms(s, MW__PHASE_AUTH, end);
  const struct mw__capa_entry *auth = mw__capa_find(&s->capa, "AUTH");
  if(s->auth_mech)
    mw__doctor_check(r, "auth", MW_CHECK_OK, auth_ms,
                     "authenticated as %s with %s",
                     o->user ? o->user
                     : strcmp(s->auth_mech, "EXTERNAL") == 0
                     ? "the client certificate's identity"
                     : "(token)",
                     s->auth_mech);
  else if(auth)
    mw__doctor_check(r, "auth", MW_CHECK_SKIPPED, 0,
                     "not tested (no credentials); offered: %s", auth->params);
  else
    mw__doctor_check(r, "auth", MW_CHECK_SKIPPED, 0,
                     "the server offers no AUTH%s", s->tls ? "" : " here");
  check_envelope(r, s, from, to);
  if(!r->cause) {
    char summary[512];
    snprintf(summary, sizeof(summary),
             "%s port %u works: %s%s%s", r->host, r->port,
             s->tls ? (mode == MW_TLS_IMPLICIT ? "implicit TLS"
                                               : "STARTTLS")
                    : "plaintext",
             s->auth_mech ? ", AUTH " : "",
             s->auth_mech ? s->auth_mech : "");
    struct mw__sbuf fix;
    mw__sbuf_init(&fix);
    mw__sbuf_puts(&fix, "nothing to fix: use ");
    mw__doctor_use_line(o, r->host, r->port,
                        s->tls ? (mode == MW_TLS_IMPLICIT ? "implicit"
                                                          : "starttls")
                               : mw_tls_mode_name(mode),
                        &fix);
    mw__doctor_diagnose(r, "healthy", summary, fix.data);
    mw__sbuf_free(&fix);
  }
}

/* A port silent in plaintext, tried at the same time with implicit TLS
 * (the parallel probe, diag/probe.c), so that the verdict comes within
 * the greeting timeout.  Returns true when the port was silent in
 * plaintext and the diagnosis is made; false to run the session. */
static bool silent_port(struct mw_report *r, const struct mw_options *o,
                        mw_tls_mode asked)
{
  struct mw_options p;
  if(!mw__options_copy(&p, o))
    return false;
  mw__free_secret(p.password);
  mw__free_secret(p.oauth2_token);
  p.password = p.oauth2_token = NULL;
  char port[12];
  snprintf(port, sizeof(port), "%u", r->port);
  unsigned g = o->greeting_timeout_ms ? o->greeting_timeout_ms
                                      : MW__DEFAULT_GREETING_TIMEOUT_MS;
  /* the verdict within the greeting timeout plus one second: what is
   * left after this probe is the other ports' (try_alternatives) */
  r->answer_by = mw__now_ms() + g + 800;
  mw_probe *probe = NULL;
  mw_status st = mw__probe_run(&p, r->host, port, false, &probe);
  mw__options_release(&p);
  if(st) {
    r->answer_by = 0;
    return false;
  }
  size_t plain = SIZE_MAX, impl = SIZE_MAX;
  for(size_t i = 0; i < mw_probe_row_count(probe); i++) {
    const char *m = mw_probe_row_mode(probe, i);
    if(!strcmp(m, "plain") && plain == SIZE_MAX)
      plain = i;
    else if(!strcmp(m, "implicit") && impl == SIZE_MAX)
      impl = i;
  }
  const char *po = plain != SIZE_MAX ? mw_probe_row_outcome(probe, plain)
                                     : "";
  if(impl == SIZE_MAX || (strcmp(po, "silent") && strcmp(po, "mismatch") &&
                          strcmp(po, "wrong_protocol"))) {
    mw_probe_free(probe);
    r->answer_by = 0;
    return false;
  }
  const char *io = mw_probe_row_outcome(probe, impl);
  const char *idetail = mw_probe_row_detail(probe, impl);
  const char *tlsv = mw_probe_row_tls_version(probe, impl);
  char summary[1024], fix[512];
  if(!strcmp(po, "wrong_protocol") || !strcmp(io, "wrong_protocol")) {
    size_t w = !strcmp(po, "wrong_protocol") ? plain : impl;
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL,
                     mw_probe_row_ms(probe, plain), "plaintext: %s",
                     mw_probe_row_detail(probe, plain));
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw_probe_row_ms(probe, impl),
                     "implicit TLS, tried at the same time: %s", idetail);
    snprintf(summary, sizeof(summary), "%s port %u: %s", r->host, r->port,
             mw_probe_row_detail(probe, w));
    mw__doctor_diagnose(r, "wrong_protocol", summary, NULL);
    mw_probe_free(probe);
    return true;
  }
  mw__doctor_check(r, "greeting", MW_CHECK_FAIL,
                   mw_probe_row_ms(probe, plain),
                   "plaintext: connected, but no greeting within %.1f s",
                   g / 1000.0);
  if(!strcmp(io, "works") || tlsv[0]) {
    r->detected_mode = "implicit";
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw_probe_row_ms(probe, impl),
                     "implicit TLS, tried at the same time: the port "
                     "answered the TLS handshake (%s)%s: it speaks "
                     "implicit TLS",
                     tlsv, !strcmp(io, "works") ? " and greets after it"
                                                : "");
    snprintf(summary, sizeof(summary),
             "%s port %u speaks implicit TLS, but the client waited for a "
             "plaintext greeting ({tls=%s})",
             r->host, r->port, mw_tls_mode_name(asked));
    snprintf(fix, sizeof(fix), "use {tls=implicit} on port %u", r->port);
    mw__doctor_diagnose(r, "tls_mode_mismatch_expected_implicit", summary,
                        fix);
  }
  else {
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw_probe_row_ms(probe, impl),
                     "implicit TLS, tried at the same time: %s (%s)", io,
                     idetail);
    snprintf(summary, sizeof(summary),
             "%s port %u accepts connections but says nothing: no "
             "greeting in plaintext within %.1f s, and implicit TLS, tried "
             "at the same time, %s",
             r->host, r->port, g / 1000.0,
             !strcmp(io, "silent") ? "got no answer to its handshake either"
                                   : idetail);
    snprintf(fix, sizeof(fix),
             "implicit TLS does not help here (it was tried): the server is "
             "overloaded or hung, or something in between (a proxy, a "
             "firewall that inspects SMTP) holds the connection; retry "
             "later or raise {greeting-timeout}, and check that port %u is "
             "the mail server's (587 submission, 465 implicit TLS)",
             r->port);
    mw__doctor_diagnose(r, "greeting_timeout", summary, fix);
  }
  mw_probe_free(probe);
  return true;
}

/* The port did not answer in the mode asked: find out what it speaks. */
static void diagnose_mode(struct mw_report *r, const struct mw_options *o,
                          mw_tls_mode asked, const mw_error *first)
{
  int64_t t0 = mw__now_ms();
  char summary[768], fix[512];
  if(asked != MW_TLS_IMPLICIT) {
    mw_status st;
    mw_smtp *p = probe_mode(o, MW_TLS_IMPLICIT, &st);
    if(p && p->tls_info.handshake_done) {
      r->detected_mode = "implicit";
      mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw__doctor_since(t0),
                       "the port answered a TLS handshake (%s): it speaks "
                       "implicit TLS%s",
                       p->tls_info.version, st ? "" : " and greets after it");
      snprintf(summary, sizeof(summary),
               "%s port %u speaks implicit TLS, but the client waited for "
               "a plaintext greeting ({tls=%s})",
               r->host, r->port, mw_tls_mode_name(asked));
      snprintf(fix, sizeof(fix), "use {tls=implicit} on port %u", r->port);
      mw__doctor_diagnose(r, "tls_mode_mismatch_expected_implicit", summary,
                          fix);
    }
    else {
      mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw__doctor_since(t0),
                       "implicit TLS, tried next: %s",
                       p ? mw_error_message(&p->err) : "out of memory");
      snprintf(summary, sizeof(summary),
               "%s; implicit TLS failed too (%s)", mw_error_message(first),
               p ? mw_error_message(&p->err) : "out of memory");
      mw__doctor_diagnose(r, "greeting_timeout", summary,
                          "implicit TLS does not help here (it was tried): "
                          "the server closes or ignores new connections; "
                          "retry later, and check that this is the mail "
                          "server's port (587 submission, 465 implicit "
                          "TLS)");
    }
    mw_smtp_free(p);
    return;
  }
  mw_status st;
  mw_smtp *p = probe_mode(o, MW_TLS_STARTTLS_OPTIONAL, &st);
  if(p && p->err.foreign_protocol) {
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw__doctor_since(t0),
                     "plaintext, tried next: %s", mw_error_message(&p->err));
    snprintf(summary, sizeof(summary), "%s port %u: %s", r->host, r->port,
             mw_error_message(&p->err));
    mw__doctor_diagnose(r, "wrong_protocol", summary, NULL);
  }
  else if(p && p->greeting) {
    bool starttls = mw__capa_has(&p->capa_plain, "STARTTLS") || p->tls;
    r->detected_mode = starttls ? "starttls" : "plain";
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw__doctor_since(t0),
              "the port greets in plaintext (\"220 %s\")%s", p->greeting,
                     starttls ? " and offers STARTTLS" : " without STARTTLS");
    snprintf(summary, sizeof(summary),
             "%s port %u speaks plaintext SMTP%s, but the client started "
             "TLS at once ({tls=implicit})",
             r->host, r->port, starttls ? " with STARTTLS" : "");
    if(starttls)
      snprintf(fix, sizeof(fix),
               "use {tls=starttls} on port %u (or port 465 with "
               "{tls=implicit})",
               r->port);
    else
      snprintf(fix, sizeof(fix),
               "this port has no TLS at all: use the submission port 587 "
               "with {tls=starttls}, or 465 with {tls=implicit}");
    mw__doctor_diagnose(r, "tls_mode_mismatch_expected_plain", summary, fix);
  }
  else {
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw__doctor_since(t0), "%s",
                     mw_error_message(first));
    mw__doctor_diagnose(r, "tls_handshake_failed", mw_error_message(first),
                        NULL);
  }
  mw_smtp_free(p);
}

static void diagnose_cert(struct mw_report *r, const mw_smtp *s,
                          const struct mw_options *o, mw_tls_mode mode,
                          double ms)
{
  mw__doctor_cert_failure(r, &s->tls_info, o, mode == MW_TLS_IMPLICIT, ms,
                          mw_error_message(&s->err));
}

static void diagnose_auth(struct mw_report *r, const mw_smtp *s,
                          const struct mw_options *o, double ms)
{
  const mw_error *e = &s->err;
  const struct mw__capa_entry *auth = mw__capa_find(&s->capa, "AUTH");
  const struct mw__capa_entry *plain = mw__capa_find(&s->capa_plain, "AUTH");
  char summary[768], fix[1024];
  switch(e->status) {
  case MW_E_AUTH_SERVER_UNVERIFIED: {
    /* Decided on the status alone: the session could not verify the
     * server's SCRAM or DIGEST-MD5 proof.  The certificate it presented
     * is named so that it can be compared with the real server's. */
    mw__doctor_check(r, "auth", MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
    const mw_cause *c = mw_cause_find("auth_server_unverified");
    if(s->tls || s->tls_info.handshake_done)
      snprintf(fix, sizeof(fix),
               "%s (the certificate presented has the SHA-256 fingerprint "
               "%s)",
               c ? c->fix : "", s->tls_info.fingerprint);
    else
      snprintf(fix, sizeof(fix),
               "%s (this connection is not encrypted: anyone on the path "
               "can play the server)",
               c ? c->fix : "");
    mw__doctor_diagnose(r, "auth_server_unverified", mw_error_message(e),
                        fix);
    return;
  }
  case MW_E_INSECURE:
    mw__doctor_check(r, "auth", MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
    snprintf(fix, sizeof(fix), "%s",
             mw__capa_has(&s->capa, "STARTTLS")
                 ? "use {tls=starttls} (the server offers STARTTLS)"
                 : "use an encrypted port: 587 with {tls=starttls} or 465 "
                   "with {tls=implicit}");
    mw__doctor_diagnose(r, "auth_requires_tls", mw_error_message(e), fix);
    return;
  case MW_E_AUTH_UNAVAILABLE:
    if(!auth) {
      mw__doctor_check(r, "auth", MW_CHECK_FAIL, ms,
                "AUTH not offered%s%s", plain ? "; before TLS it offered: "
                                              : "",
                       plain ? plain->params : "");
      snprintf(summary, sizeof(summary),
               "%s port %u does not offer authentication", r->host,
               r->port);
      mw__doctor_diagnose(r, "auth_not_offered", summary, NULL);
      return;
    }
    mw__doctor_check(r, "auth", MW_CHECK_FAIL, ms, "offered: %s; allowed: %s",
                     auth->params,
              o->auth_mechs ? o->auth_mechs : mw_auth_supported_mechanisms());
    bool oauth_only = true;
    const char *p = auth->params;
    while(*p) {
      while(*p == ' ')
        p++;
      const char *w = p;
      while(*p && *p != ' ')
        p++;
      size_t n = (size_t)(p - w);
      if(n && !(n == 7 && mw__strnieq(w, "XOAUTH2", 7)) &&
         !(n == 11 && mw__strnieq(w, "OAUTHBEARER", 11)))
        oauth_only = false;
    }
    mw__doctor_diagnose(r,
                        oauth_only && !o->oauth2_token ? "auth_oauth_required"
                                            : "auth_mechanism_unsupported",
                        mw_error_message(e), NULL);
    return;
  default:
    mw__doctor_check(r, "auth", e->reply_code / 100 == 4 ? MW_CHECK_WARN
                                                  : MW_CHECK_FAIL,
                     ms, "%s", mw_error_message(e));
    if(e->status == MW_E_AUTH && e->oauth_status[0] &&
       e->reply_code / 100 != 4) {
      char summary2[1024];
      snprintf(summary2, sizeof(summary2),
               "the server refused the OAuth access token: its report "
               "(decoded from the 334 challenge) says status \"%s\", an "
               "expired or invalid token, not a wrong password; then: %d "
               "%s %s",
               e->oauth_status, e->reply_code, e->enhanced,
               e->server_text ? e->server_text : "");
      mw__doctor_diagnose(r, "auth_token_rejected", summary2, NULL);
    }
    else if(e->status == MW_E_AUTH && e->reply_code)
      mw__doctor_refusal(r, MW__STEP_AUTH, NULL,
                         e->reply_code, e->enhanced, e->server_text, true);
    else if(e->status == MW_E_INVALID)
      /* Our own settings (a client certificate that does not load, an
       * --auth list that cannot work): nothing to retry. */
      mw__doctor_diagnose(r, "auth_mechanism_unsupported",
                          mw_error_message(e), NULL);
    else
      mw__doctor_diagnose(r, e->status == MW_E_PROTOCOL ? "protocol_error"
                                             : "temporary_failure",
                          mw_error_message(e), NULL);
  }
}

/* With a proxy: a failure to reach it, to authenticate or to open the
 * tunnel is the diagnosis.  Returns true when the tunnel opened and the
 * rest of the session is to be read as usual. */
static bool diagnose_proxy(struct mw_report *r, const mw_smtp *s,
                           mw_status st, double ms)
{
  enum mw__smtp_phase ph = s->phase;
  bool before_tunnel = ph == MW__PHASE_RESOLVE || ph == MW__PHASE_CONNECT ||
                       ph == MW__PHASE_PROXY;
  if(!st || !before_tunnel) {
    mw__doctor_check(r, "proxy", MW_CHECK_OK, 0, "tunnel to %s port %u open",
                     r->host, r->port);
    return true;
  }
  const char *m = s->err.message;
  mw__doctor_check(r, "proxy", MW_CHECK_FAIL, ms, "%s", m);
  const char *id;
  if(ph == MW__PHASE_PROXY && st == MW_E_DNS)
    id = "dns_not_found"; /* the server's name, resolved for SOCKS */
  else if(s->err.proxy_failure == MW__PROXY_FAIL_AUTH)
    id = "proxy_auth_failed";
  else if(s->err.proxy_failure == MW__PROXY_FAIL_TARGET)
    id = "proxy_refused_target";
  else
    id = "proxy_unreachable"; /* no connection, no answer, not a proxy */
  char fix[512] = "";
  if(!strcmp(id, "proxy_refused_target")) {
    /* Whether the proxy or mailwire resolved the server's name decides
     * which advice fits. */
    const char *url = s->opt.proxy_url ? s->opt.proxy_url : "";
    bool proxy_resolves = mw__strnieq(url, "socks5h:", 8) ||
                          mw__strnieq(url, "socks4a:", 8) ||
                          mw__strnieq(url, "http:", 5);
    snprintf(fix, sizeof(fix),
             "the proxy could not or would not open %s port %u: %s",
             r->host, r->port,
             proxy_resolves
                 ? "check that the proxy can resolve and reach that name "
                   "and port, or ask its administrator to allow them"
                 : "ask the proxy's administrator to allow that server and "
                   "port, or use socks5h:// so the proxy resolves the name");
  }
  mw__doctor_diagnose(r, id, m, fix[0] ? fix : NULL);
  return false;
}

void mw__doctor_session(struct mw_report *r, const struct mw_options *o,
                        const char *from, const char *to)
{
  mw_tls_mode mode = mw__options_tls_mode(o);
  /* A port silent in plaintext is tried with implicit TLS at the same
   * time: both verdicts within one greeting timeout.  (The probe sends no
   * PROXY-protocol header, and through a proxy the proxy's checks come
   * first: those keep the sequential second attempt.) */
  if(mode != MW_TLS_IMPLICIT && o->tls_mode != MW_TLS_DETECT &&
     !o->proxy_url && !o->proxy_protocol && silent_port(r, o, mode))
    return;
  mw_smtp *s = mw_smtp_new(o);
  if(!s) {
    mw__doctor_diagnose(r, "temporary_failure", "out of memory", NULL);
    return;
  }
  int64_t t0 = mw__now_ms();
  mw_status st = mw_smtp_connect(s);
  int64_t end = mw__now_ms();
  const mw_error *e = &s->err;
  if(o->proxy_url && !diagnose_proxy(r, s, st, mw__doctor_since(t0))) {
    mw_smtp_free(s);
    return;
  }
  snprintf(r->peer, sizeof(r->peer), "%s", s->peer);
  if(!st) {
    report_ready(r, s, o, mode, from, to, end);
    mw_smtp_quit(s);
    mw_smtp_free(s);
    return;
  }
  enum mw__smtp_phase ph = s->phase;
  /* the failed step's own duration */
  double ms = s->phase_at[ph] ? (double)(end - s->phase_at[ph])
                              : (double)(end - t0);
  report_reached(r, s, o, mode, end);
  bool authed = s->auth_mech != NULL;
  if(mw__doctor_tls_unavailable(r, e, ms)) {
    /* no TLS in this installation: nothing to learn from the server */
  }
  else if(e->foreign_protocol) {
    mw__doctor_check(r, ph == MW__PHASE_GREETING ? "greeting" : "ehlo",
                     MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
    char summary[1024];
    snprintf(summary, sizeof(summary), "%s port %u: %s", r->host, r->port,
             mw_error_message(e));
    mw__doctor_diagnose(r, "wrong_protocol", summary, NULL);
  }
  else if(ph == MW__PHASE_GREETING && s->greeting == NULL &&
     (st == MW_E_TIMEOUT || st == MW_E_CLOSED) && mode != MW_TLS_IMPLICIT) {
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL, ms, "%s",
                     mw_error_message(e));
    diagnose_mode(r, o, mode, e);
  }
  else if(ph == MW__PHASE_TLS_IMPLICIT && st == MW_E_TLS &&
          e->tls_failure == MW__TLS_FAIL_VERSION) {
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
    mw__doctor_diagnose(r, "tls_version_mismatch", mw_error_message(e),
                        NULL);
  }
  else if(ph == MW__PHASE_TLS_IMPLICIT && st != MW_E_CERT) {
    diagnose_mode(r, o, mode, e);
  }
  else if(ph == MW__PHASE_GREETING) {
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL, ms, "%s",
                     mw_error_message(e));
    if(st == MW_E_REJECTED) {
      /* A refusal at connect is about this client (its address, its
       * reputation) unless the text names a block list, a throttle on
       * connections or a policy delay, each with its own fix. */
      char text[512];
      mw_explanation x;
      bool specific = false;
      snprintf(text, sizeof(text), "%d %s %s", e->reply_code, e->enhanced,
               e->server_text ? e->server_text : "");
      const char *named = mw__explain(text, &x, &specific) == MW_OK &&
                                  specific && x.cause_id
                              ? x.cause_id
                              : "";
      bool own = !strcmp(named, "blocklisted") ||
                 !strcmp(named, "rate_limited") ||
                 !strcmp(named, "rate_limited_connection") ||
                 !strcmp(named, "policy_delay");
      const char *id = own                          ? named
                       : e->reply_code / 100 == 4 ? "service_unavailable"
                                                  : "greeting_rejected";
      mw__doctor_diagnose(r, id, mw_error_message(e), own ? x.advice : NULL);
    }
    else
      mw__doctor_diagnose(r, st == MW_E_PROTOCOL ? "protocol_error"
                                      : "service_unavailable",
                          mw_error_message(e), NULL);
  }
  else if(st == MW_E_CERT) {
    diagnose_cert(r, s, o, mode, ms);
  }
  else if(st == MW_E_NO_STARTTLS) {
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
    if(e->reply_code)
      mw__doctor_refusal(r, MW__STEP_STARTTLS, NULL, e->reply_code,
                         e->enhanced, e->server_text, authed);
    else
      mw__doctor_diagnose(r, "starttls_not_offered", mw_error_message(e),
                          "this port offers no STARTTLS: use {tls=implicit}"
                          " if it is an implicit-TLS port (usually "
                          "465), or port 587 with {tls=starttls}");
  }
  else if(st == MW_E_TLS) {
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
    mw__doctor_diagnose(r, e->tls_failure == MW__TLS_FAIL_VERSION
                               ? "tls_version_mismatch"
                               : "tls_handshake_failed",
                        mw_error_message(e), NULL);
  }
  else if(ph == MW__PHASE_AUTH) {
    diagnose_auth(r, s, o, ms);
  }
  else if(st == MW_E_REJECTED && e->reply_code) {
    bool tls_step = ph == MW__PHASE_STARTTLS;
    mw__doctor_check(r, tls_step ? "tls" : "ehlo", MW_CHECK_FAIL, ms, "%s",
                     mw_error_message(e));
    mw__doctor_refusal(r, tls_step ? MW__STEP_STARTTLS : MW__STEP_EHLO,
                       NULL, e->reply_code, e->enhanced, e->server_text,
                       authed);
  }
  else if(st == MW_E_INJECTION || st == MW_E_PROTOCOL) {
    mw__doctor_check(r, ph == MW__PHASE_STARTTLS ? "tls" : "ehlo",
                     MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
    mw__doctor_diagnose(r, "protocol_error", mw_error_message(e), NULL);
  }
  else {
    mw__doctor_check(r, ph == MW__PHASE_STARTTLS ? "tls" : "ehlo",
                     MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
    mw__doctor_diagnose(r, "temporary_failure", mw_error_message(e), NULL);
  }
  mw_smtp_free(s);
}
