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

#include "diag/probe.h"
#include "proto/envelope.h"
#include "proto/smtp.h"

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

static void diagnose_reply(struct mw_report *r, const mw_error *e,
                           const char *fallback_id, const char *what)
{
  char text[512];
  snprintf(text, sizeof(text), "%d %s %s", mw_error_reply_code(e),
           mw_error_enhanced_code(e), mw_error_server_text(e));
  mw_explanation x;
  const char *id = fallback_id;
  char fix[512] = "";
  if(mw_error_reply_code(e) && mw_explain(text, &x) == MW_OK) {
    if(x.cause_id && strcmp(x.cause_id, "unknown_reply") != 0 &&
       strcmp(x.cause_id, "healthy") != 0)
      id = x.cause_id;
    snprintf(fix, sizeof(fix), "%s", x.advice ? x.advice : "");
  }
  char summary[768];
  snprintf(summary, sizeof(summary), "%s: %s", what, mw_error_message(e));
  mw__doctor_diagnose(r, id, summary, fix[0] ? fix : NULL);
}

static void report_tls_and_cert(struct mw_report *r, const mw_smtp *s,
                                const struct mw_options *o, bool implicit)
{
  const struct mw__tls_info *t = &s->tls_info;
  mw__doctor_check(r, "tls", MW_CHECK_OK, 0, "%s, %s, %s",
            implicit ? "implicit TLS" : "STARTTLS", t->version, t->cipher);
  if(o->insecure) {
    mw__doctor_check(r, "certificate", MW_CHECK_WARN, 0,
              "NOT verified (--insecure): %s; issuer %s", t->subject,
              t->issuer);
    return;
  }
  mw_check_status st = t->days_left < 14 ? MW_CHECK_WARN : MW_CHECK_OK;
  mw__doctor_check(r, "certificate", st, 0,
            "%s: %s; issuer %s; expires %s (%d days left); sha256 %s",
            o->fingerprint[0] ? "matches the pinned fingerprint"
                              : "trusted, name matches",
            t->subject, t->issuer, t->not_after, t->days_left,
            t->fingerprint);
}

static void check_envelope(struct mw_report *r, mw_smtp *s, const char *from,
                           const char *to)
{
  if(!from || !to) {
    mw__doctor_check(r, "envelope", MW_CHECK_SKIPPED, 0,
              "not tested (give --from and --to)");
    return;
  }
  struct mw__reply mail, rcpt;
  mw__reply_init(&mail);
  mw__reply_init(&rcpt);
  int64_t t0 = mw__now_ms();
  mw_status st = mw__smtp_check_envelope(s, from, to, &mail, &rcpt);
  if(st) {
    mw__doctor_check(r, "envelope", MW_CHECK_FAIL, mw__doctor_since(t0), "%s",
              mw_error_message(mw_smtp_error(s)));
    diagnose_reply(r, mw_smtp_error(s), "temporary_failure",
                   "the envelope test failed");
  }
  else {
    const struct mw__reply *bad = mail.code != 250 ? &mail
                                  : (rcpt.code != 250 && rcpt.code != 251)
                                      ? &rcpt
                                      : NULL;
    if(!bad) {
      mw__doctor_check(r, "envelope", MW_CHECK_OK, mw__doctor_since(t0),
                "MAIL FROM:<%s> %d; RCPT TO:<%s> %d (then RSET; nothing "
                "sent)",
                from, mail.code, to, rcpt.code);
    }
    else {
      bool is_mail = bad == &mail;
      mw__doctor_check(r, "envelope",
                bad->code / 100 == 4 ? MW_CHECK_WARN : MW_CHECK_FAIL,
                mw__doctor_since(t0), "%s <%s>: %d %s %s", is_mail ? "MAIL FROM" :
                "RCPT TO", is_mail ? from : to, bad->code, bad->enhanced,
                bad->text ? bad->text : "");
      char text[600];
      snprintf(text, sizeof(text), "%d %s %s", bad->code, bad->enhanced,
               bad->text ? bad->text : "");
      mw_explanation x;
      const char *id = is_mail ? "sender_rejected" : "recipient_unknown";
      const char *advice = NULL;
      if(mw_explain(text, &x) == MW_OK) {
        advice = x.advice;
        if(x.cause_id && strcmp(x.cause_id, "unknown_reply") != 0 &&
           strcmp(x.cause_id, "healthy") != 0 &&
           !(is_mail && strcmp(x.cause_id, "recipient_unknown") == 0))
          id = x.cause_id;
      }
      char summary[768];
      snprintf(summary, sizeof(summary), "the server refused %s <%s>: %s",
               is_mail ? "the sender" : "the recipient", is_mail ? from : to,
               text);
      mw__doctor_diagnose(r, id, summary, advice);
    }
  }
  mw__reply_free(&mail);
  mw__reply_free(&rcpt);
}

static void report_ready(struct mw_report *r, mw_smtp *s,
                         const struct mw_options *o, mw_tls_mode mode,
                         const char *from, const char *to)
{
  mw__doctor_check(r, "greeting", MW_CHECK_OK, 0, "220 %s", mw_smtp_greeting(s));
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  if(s->tls) {
    report_tls_and_cert(r, s, o, mode == MW_TLS_IMPLICIT);
    r->detected_mode = mode == MW_TLS_IMPLICIT ? "implicit" : "starttls";
  }
  else {
    mw__doctor_check(r, "tls", MW_CHECK_WARN, 0,
              "the connection is NOT encrypted (--tls %s)",
              mw_tls_mode_name(mode));
    r->detected_mode = "plain";
  }
  caps_text(&s->capa, &b);
  if(s->capa_plain.valid) {
    mw__sbuf_puts(&b, "; before TLS: ");
    caps_text(&s->capa_plain, &b);
  }
  uint64_t size = mw__capa_size(&s->capa);
  if(size)
    mw__sbuf_printf(&b, "; size limit %.1f MB", (double)size / 1e6);
  mw__doctor_check(r, "ehlo", MW_CHECK_OK, 0, "%s", b.data ? b.data : "");
  mw__sbuf_free(&b);
  const struct mw__capa_entry *auth = mw__capa_find(&s->capa, "AUTH");
  if(s->auth_mech)
    mw__doctor_check(r, "auth", MW_CHECK_OK, 0, "authenticated as %s with %s",
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
    char fix[256];
    snprintf(fix, sizeof(fix), "nothing to fix: use --server %s:%u --tls %s",
             r->host, r->port,
             s->tls ? (mode == MW_TLS_IMPLICIT ? "implicit" : "starttls")
                    : mw_tls_mode_name(mode));
    mw__doctor_diagnose(r, "healthy", summary, fix);
  }
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
               "a plaintext greeting (--tls %s)",
               r->host, r->port, mw_tls_mode_name(asked));
      snprintf(fix, sizeof(fix), "use --tls implicit on port %u", r->port);
      mw__doctor_diagnose(r, "tls_mode_mismatch_expected_implicit", summary, fix);
    }
    else {
      mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw__doctor_since(t0),
                "no TLS handshake either: the server says nothing at all");
      snprintf(summary, sizeof(summary), "%s", mw_error_message(first));
      mw__doctor_diagnose(r, "greeting_timeout", summary, NULL);
    }
    mw_smtp_free(p);
    return;
  }
  mw_status st;
  mw_smtp *p = probe_mode(o, MW_TLS_STARTTLS_OPTIONAL, &st);
  if(p && p->greeting) {
    bool starttls = mw__capa_has(&p->capa_plain, "STARTTLS") || p->tls;
    r->detected_mode = starttls ? "starttls" : "plain";
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw__doctor_since(t0),
              "the port greets in plaintext (\"220 %s\")%s", p->greeting,
              starttls ? " and offers STARTTLS" : " without STARTTLS");
    snprintf(summary, sizeof(summary),
             "%s port %u speaks plaintext SMTP%s, but the client started "
             "TLS at once (--tls implicit)",
             r->host, r->port, starttls ? " with STARTTLS" : "");
    if(starttls)
      snprintf(fix, sizeof(fix),
               "use --tls starttls on port %u (or port 465 with --tls "
               "implicit)",
               r->port);
    else
      snprintf(fix, sizeof(fix),
               "this port has no TLS at all: use the submission port 587 "
               "with --tls starttls, or 465 with --tls implicit");
    mw__doctor_diagnose(r, "tls_mode_mismatch_expected_plain", summary, fix);
  }
  else {
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, mw__doctor_since(t0), "%s",
              mw_error_message(first));
    mw__doctor_diagnose(r, "tls_handshake_failed", mw_error_message(first), NULL);
  }
  mw_smtp_free(p);
}

static void diagnose_cert(struct mw_report *r, const mw_smtp *s,
                          const struct mw_options *o, mw_tls_mode mode)
{
  const struct mw__tls_info *t = &s->tls_info;
  mw__doctor_check(r, "tls", MW_CHECK_OK, 0, "%s, %s, %s",
            mode == MW_TLS_IMPLICIT ? "implicit TLS" : "STARTTLS", t->version,
            t->cipher);
  const char *cls = mw__tls_verify_class(t->verify_result);
  const char *id = strcmp(cls, "expired") == 0         ? "cert_expired"
                   : strcmp(cls, "not_yet_valid") == 0 ? "cert_not_yet_valid"
                   : strcmp(cls, "hostname") == 0      ? "cert_hostname_mismatch"
                   : strcmp(cls, "self_signed") == 0   ? "cert_self_signed"
                                                       : "cert_untrusted";
  if(o->fingerprint[0] && strcmp(o->fingerprint, t->fingerprint) != 0)
    id = "cert_untrusted";
  mw__doctor_check(r, "certificate", MW_CHECK_FAIL, 0,
            "%s; subject %s; issuer %s; expires %s (%d days left); chain: "
            "%s; sha256 %s",
            t->verify_error, t->subject, t->issuer, t->not_after,
            t->days_left, t->chain, t->fingerprint);
  char summary[768], fix[512];
  snprintf(summary, sizeof(summary), "%s", mw_error_message(&s->err));
  const mw_cause *c = mw_cause_find(id);
  snprintf(fix, sizeof(fix), "%s%s(its SHA-256 fingerprint is %s)",
           c ? c->fix : "", c && c->fix[0] ? " " : "", t->fingerprint);
  mw__doctor_diagnose(r, id, summary, fix);
}

static void diagnose_auth(struct mw_report *r, const mw_smtp *s,
                          const struct mw_options *o)
{
  const mw_error *e = &s->err;
  const struct mw__capa_entry *auth = mw__capa_find(&s->capa, "AUTH");
  const struct mw__capa_entry *plain = mw__capa_find(&s->capa_plain, "AUTH");
  char summary[768], fix[512];
  switch(e->status) {
  case MW_E_INSECURE:
    mw__doctor_check(r, "auth", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
    snprintf(fix, sizeof(fix), "%s",
             mw__capa_has(&s->capa, "STARTTLS")
                 ? "use --tls starttls (the server offers STARTTLS)"
                 : "use an encrypted port: 587 with --tls starttls or 465 "
                   "with --tls implicit");
    mw__doctor_diagnose(r, "auth_requires_tls", mw_error_message(e), fix);
    return;
  case MW_E_AUTH_UNAVAILABLE:
    if(!auth) {
      mw__doctor_check(r, "auth", MW_CHECK_FAIL, 0,
                "AUTH not offered%s%s", plain ? "; before TLS it offered: "
                                              : "",
                plain ? plain->params : "");
      snprintf(summary, sizeof(summary),
               "%s port %u does not offer authentication", r->host,
               r->port);
      mw__doctor_diagnose(r, "auth_not_offered", summary, NULL);
      return;
    }
    mw__doctor_check(r, "auth", MW_CHECK_FAIL, 0, "offered: %s; allowed: %s",
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
              0, "%s", mw_error_message(e));
    if(e->status == MW_E_AUTH && e->reply_code)
      diagnose_reply(r, e, e->reply_code / 100 == 4 ? "auth_temporary"
                                                    : "auth_failed",
                     "authentication failed");
    else if(e->status == MW_E_INVALID)
      /* Our own settings (a client certificate that does not load, an
       * --auth list that cannot work): nothing to retry. */
      mw__doctor_diagnose(r, "auth_mechanism_unsupported", mw_error_message(e), NULL);
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
  mw_smtp *s = mw_smtp_new(o);
  if(!s) {
    mw__doctor_diagnose(r, "temporary_failure", "out of memory", NULL);
    return;
  }
  int64_t t0 = mw__now_ms();
  mw_status st = mw_smtp_connect(s);
  const mw_error *e = &s->err;
  if(o->proxy_url && !diagnose_proxy(r, s, st, mw__doctor_since(t0))) {
    mw_smtp_free(s);
    return;
  }
  snprintf(r->peer, sizeof(r->peer), "%s", s->peer);
  if(!st) {
    report_ready(r, s, o, mode, from, to);
    mw_smtp_quit(s);
    mw_smtp_free(s);
    return;
  }
  enum mw__smtp_phase ph = s->phase;
  if(ph == MW__PHASE_GREETING && s->greeting == NULL &&
     (st == MW_E_TIMEOUT || st == MW_E_CLOSED) && mode != MW_TLS_IMPLICIT) {
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL, mw__doctor_since(t0), "%s",
              mw_error_message(e));
    diagnose_mode(r, o, mode, e);
  }
  else if(ph == MW__PHASE_TLS_IMPLICIT && st != MW_E_CERT) {
    diagnose_mode(r, o, mode, e);
  }
  else if(ph == MW__PHASE_GREETING) {
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL, mw__doctor_since(t0), "%s",
              mw_error_message(e));
    if(st == MW_E_REJECTED) {
      /* A refusal at connect is about this client (its address, its
       * reputation) unless the text names a block list. */
      char text[512];
      mw_explanation x;
      snprintf(text, sizeof(text), "%d %s %s", e->reply_code, e->enhanced,
               e->server_text ? e->server_text : "");
      bool listed = mw_explain(text, &x) == MW_OK && x.cause_id &&
                    strcmp(x.cause_id, "blocklisted") == 0;
      const char *id = listed                      ? "blocklisted"
                       : e->reply_code / 100 == 4 ? "service_unavailable"
                                                  : "greeting_rejected";
      mw__doctor_diagnose(r, id, mw_error_message(e), NULL);
    }
    else
      mw__doctor_diagnose(r, st == MW_E_PROTOCOL ? "protocol_error"
                                      : "service_unavailable",
               mw_error_message(e), NULL);
  }
  else {
    if(s->greeting)
      mw__doctor_check(r, "greeting", MW_CHECK_OK, 0, "220 %s", s->greeting);
    if(st == MW_E_CERT) {
      diagnose_cert(r, s, o, mode);
    }
    else if(st == MW_E_NO_STARTTLS) {
      struct mw__sbuf b;
      mw__sbuf_init(&b);
      caps_text(&s->capa, &b);
      mw__doctor_check(r, "ehlo", MW_CHECK_OK, 0, "%s", b.data ? b.data : "");
      mw__sbuf_free(&b);
      mw__doctor_check(r, "tls", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
      char fix[256];
      snprintf(fix, sizeof(fix),
               "this port offers no STARTTLS: use --tls implicit if it is "
               "an implicit-TLS port (usually 465), or port 587 with --tls "
               "starttls");
      mw__doctor_diagnose(r, "starttls_not_offered", mw_error_message(e), fix);
    }
    else if(st == MW_E_TLS) {
      mw__doctor_check(r, "tls", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
      mw__doctor_diagnose(r, strstr(e->message, "TLS version") ? "tls_version_mismatch"
                                                    : "tls_handshake_failed",
               mw_error_message(e), NULL);
    }
    else if(ph == MW__PHASE_AUTH) {
      if(s->tls)
        report_tls_and_cert(r, s, o, mode == MW_TLS_IMPLICIT);
      diagnose_auth(r, s, o);
    }
    else if(st == MW_E_INJECTION || st == MW_E_PROTOCOL) {
      mw__doctor_check(r, ph == MW__PHASE_STARTTLS ? "tls" : "ehlo", MW_CHECK_FAIL,
                0, "%s", mw_error_message(e));
      mw__doctor_diagnose(r, "protocol_error", mw_error_message(e), NULL);
    }
    else if(st == MW_E_REJECTED) {
      mw__doctor_check(r, "ehlo", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
      diagnose_reply(r, e, "protocol_error", "the server refused EHLO");
    }
    else {
      mw__doctor_check(r, ph == MW__PHASE_STARTTLS ? "tls" : "ehlo", MW_CHECK_FAIL,
                mw__doctor_since(t0), "%s", mw_error_message(e));
      mw__doctor_diagnose(r, "temporary_failure", mw_error_message(e), NULL);
    }
  }
  mw_smtp_free(s);
}

