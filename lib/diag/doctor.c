/*
 * diag/doctor.c - the troubleshooting checklist as one function.
 *
 * DESCRIPTION
 *   Walks the layers a person would check by hand (the seeds' guides): DNS,
 *   TCP to every address, the greeting, the TLS mode, the certificate,
 *   EHLO, AUTH and the envelope.  Each layer becomes a check with a status,
 *   a duration and its evidence; the first failure becomes the diagnosis,
 *   a cause from the catalogue (diag/causes.c) with a fix specific to this
 *   server.  When the TLS mode does not fit the port, a second, short
 *   attempt in the other mode finds out what the port really speaks, so a
 *   mismatch is named within about one greeting timeout.
 *
 *   The SMTP work is done by the ordinary client (proto/smtp.c): doctor
 *   reads how far mw_smtp_connect() got (s->phase) and what it saw.
 *
 *   Then the deliverability checks of the sender's domain (SPF, DMARC,
 *   DKIM, MTA-STS, TLS-RPT; the records are read by diag/deliver.c) and of
 *   the server's address on the DNS blocklists asked for.  They are
 *   warnings, except that when a server reply already blamed sender
 *   authentication or a blocklist, their findings are cited in that
 *   diagnosis.
 */
#include "mailwire.h"

#include "core/options.h"
#include "core/util.h"
#include "diag/deliver.h"
#include "diag/probe.h"
#include "net/resolve.h"
#include "net/tcp.h"
#include "proto/envelope.h"
#include "proto/smtp.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHECKS 48
#define MAX_DNSBL_ZONES 8

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
};

static void add_check(struct mw_report *r, const char *layer,
                      mw_check_status st, double ms, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add_check(struct mw_report *r, const char *layer,
                      mw_check_status st, double ms, const char *fmt, ...)
{
  if(r->count == MAX_CHECKS)
    return;
  struct check *c = &r->checks[r->count++];
  c->layer = layer;
  c->status = st;
  c->ms = ms;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  c->evidence = mw__strdup(buf);
}

/* Sets the diagnosis once: the first (deepest-cause) call wins.  fix may
 * be NULL for the catalogue's generic fix. */
static void diagnose(struct mw_report *r, const char *id, const char *summary,
                     const char *fix)
{
  if(r->cause)
    return;
  r->cause = mw_cause_find(id);
  if(!r->cause)
    r->cause = mw_cause_find("unknown_reply");
  r->summary = mw__strdup(summary && *summary ? summary
                          : r->cause          ? r->cause->summary
                                              : id);
  r->fix = mw__strdup(fix && *fix ? fix : r->cause ? r->cause->fix : "");
}

static double since(int64_t t0) { return (double)(mw__now_ms() - t0); }

/* ---- DNS and TCP ----------------------------------------------------- */

static bool check_dns(struct mw_report *r, const struct mw_options *o,
                      struct mw__addrlist *addrs)
{
  struct mw_error err = {0};
  int64_t t0 = mw__now_ms();
  mw_status st = mw__resolve(r->host, r->port, o->family, o->dns_server,
                             t0 + o->connect_timeout_ms, addrs, &err);
  if(st) {
    const char *id = st == MW_E_TIMEOUT              ? "dns_timeout"
                     : strstr(err.message, "has no ")  ? "dns_no_address"
                     : err.temporary                   ? "dns_timeout"
                                                       : "dns_not_found";
    add_check(r, "dns", MW_CHECK_FAIL, since(t0), "%s", err.message);
    diagnose(r, id, err.message, NULL);
    mw__error_clear(&err);
    return false;
  }
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  for(size_t i = 0; i < addrs->count; i++) {
    char a[80];
    mw__addr_format(&addrs->items[i], a, sizeof(a));
    *strrchr(a, ':') = '\0'; /* the port is shown by the TCP check */
    mw__sbuf_printf(&b, "%s%s", i ? ", " : "", a);
  }
  add_check(r, "dns", MW_CHECK_OK, since(t0), "%s has %zu address%s: %s",
            o->host, addrs->count, addrs->count == 1 ? "" : "es",
            b.data ? b.data : "");
  mw__sbuf_free(&b);
  return true;
}

static bool check_tcp(struct mw_report *r, const struct mw_options *o,
                      const struct mw__addrlist *addrs)
{
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  size_t ok = 0, timeouts = 0, unreachable = 0;
  int64_t t0 = mw__now_ms();
  for(size_t i = 0; i < addrs->count; i++) {
    struct mw__addrlist one = {.items = &addrs->items[i], .count = 1};
    struct mw_error err = {0};
    int fd = -1;
    char peer[80];
    int64_t t1 = mw__now_ms();
    mw_status st = mw__tcp_connect(&one, o->bind, o->connect_timeout_ms,
                                   NULL, &fd, peer, sizeof(peer), &err);
    char where[80];
    mw__addr_format(&addrs->items[i], where, sizeof(where));
    if(!st) {
      ok++;
      close(fd);
      mw__sbuf_printf(&b, "%s%s connected in %.0f ms", b.len ? "; " : "",
                      where, since(t1));
    }
    else {
      const char *m = err.message;
      const char *colon = strstr(m, where);
      const char *why = colon ? colon + strlen(where) + 2 : m;
      if(st == MW_E_TIMEOUT)
        timeouts++;
      if(strstr(m, "unreachable"))
        unreachable++;
      mw__sbuf_printf(&b, "%s%s %s", b.len ? "; " : "",
                      colon ? where : "", why);
    }
    mw__error_clear(&err);
  }
  const char *ev = b.data ? b.data : "";
  if(ok) {
    add_check(r, "tcp", ok == addrs->count ? MW_CHECK_OK : MW_CHECK_WARN,
              since(t0), "%s", ev);
    mw__sbuf_free(&b);
    return true;
  }
  add_check(r, "tcp", MW_CHECK_FAIL, since(t0), "%s", ev);
  char summary[1024], fix[512];
  if(timeouts == addrs->count) {
    bool p25 = r->port == 25;
    snprintf(summary, sizeof(summary),
             "no answer from %s port %u within %.1f s: the connection "
             "attempts were silently dropped%s",
             r->host, r->port, o->connect_timeout_ms / 1000.0,
             p25 ? " (many ISPs and clouds block outgoing port 25)" : "");
    snprintf(fix, sizeof(fix),
             "%s",
             p25 ? "use the submission port instead: 587 with --tls starttls "
                   "or 465 with --tls implicit"
                 : "check firewalls between here and the server, or try "
                   "another port (587 with --tls starttls, 465 with --tls "
                   "implicit)");
    diagnose(r, p25 ? "port25_blocked" : "tcp_filtered", summary, fix);
  }
  else if(unreachable) {
    snprintf(summary, sizeof(summary), "%s port %u is unreachable: %s",
             r->host, r->port, ev);
    diagnose(r, "tcp_unreachable", summary, NULL);
  }
  else {
    snprintf(summary, sizeof(summary),
             "nothing accepts connections on %s port %u: %s", r->host,
             r->port, ev);
    snprintf(fix, sizeof(fix),
             "check the port (587 for submission with STARTTLS, 465 for "
             "implicit TLS) and that the mail server runs");
    diagnose(r, "tcp_refused", summary, fix);
  }
  mw__sbuf_free(&b);
  return false;
}

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
  diagnose(r, id, summary, fix[0] ? fix : NULL);
}

static void report_tls_and_cert(struct mw_report *r, const mw_smtp *s,
                                const struct mw_options *o, bool implicit)
{
  const struct mw__tls_info *t = &s->tls_info;
  add_check(r, "tls", MW_CHECK_OK, 0, "%s, %s, %s",
            implicit ? "implicit TLS" : "STARTTLS", t->version, t->cipher);
  if(o->insecure) {
    add_check(r, "certificate", MW_CHECK_WARN, 0,
              "NOT verified (--insecure): %s; issuer %s", t->subject,
              t->issuer);
    return;
  }
  mw_check_status st = t->days_left < 14 ? MW_CHECK_WARN : MW_CHECK_OK;
  add_check(r, "certificate", st, 0,
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
    add_check(r, "envelope", MW_CHECK_SKIPPED, 0,
              "not tested (give --from and --to)");
    return;
  }
  struct mw__reply mail, rcpt;
  mw__reply_init(&mail);
  mw__reply_init(&rcpt);
  int64_t t0 = mw__now_ms();
  mw_status st = mw__smtp_check_envelope(s, from, to, &mail, &rcpt);
  if(st) {
    add_check(r, "envelope", MW_CHECK_FAIL, since(t0), "%s",
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
      add_check(r, "envelope", MW_CHECK_OK, since(t0),
                "MAIL FROM:<%s> %d; RCPT TO:<%s> %d (then RSET; nothing "
                "sent)",
                from, mail.code, to, rcpt.code);
    }
    else {
      bool is_mail = bad == &mail;
      add_check(r, "envelope",
                bad->code / 100 == 4 ? MW_CHECK_WARN : MW_CHECK_FAIL,
                since(t0), "%s <%s>: %d %s %s", is_mail ? "MAIL FROM" :
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
      diagnose(r, id, summary, advice);
    }
  }
  mw__reply_free(&mail);
  mw__reply_free(&rcpt);
}

static void report_ready(struct mw_report *r, mw_smtp *s,
                         const struct mw_options *o, mw_tls_mode mode,
                         const char *from, const char *to)
{
  add_check(r, "greeting", MW_CHECK_OK, 0, "220 %s", mw_smtp_greeting(s));
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  if(s->tls) {
    report_tls_and_cert(r, s, o, mode == MW_TLS_IMPLICIT);
    r->detected_mode = mode == MW_TLS_IMPLICIT ? "implicit" : "starttls";
  }
  else {
    add_check(r, "tls", MW_CHECK_WARN, 0,
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
  add_check(r, "ehlo", MW_CHECK_OK, 0, "%s", b.data ? b.data : "");
  mw__sbuf_free(&b);
  const struct mw__capa_entry *auth = mw__capa_find(&s->capa, "AUTH");
  if(s->auth_mech)
    add_check(r, "auth", MW_CHECK_OK, 0, "authenticated as %s with %s",
              o->user ? o->user
              : strcmp(s->auth_mech, "EXTERNAL") == 0
                  ? "the client certificate's identity"
                  : "(token)",
              s->auth_mech);
  else if(auth)
    add_check(r, "auth", MW_CHECK_SKIPPED, 0,
              "not tested (no credentials); offered: %s", auth->params);
  else
    add_check(r, "auth", MW_CHECK_SKIPPED, 0,
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
    diagnose(r, "healthy", summary, fix);
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
      add_check(r, "tls", MW_CHECK_FAIL, since(t0),
                "the port answered a TLS handshake (%s): it speaks "
                "implicit TLS%s",
                p->tls_info.version, st ? "" : " and greets after it");
      snprintf(summary, sizeof(summary),
               "%s port %u speaks implicit TLS, but the client waited for "
               "a plaintext greeting (--tls %s)",
               r->host, r->port, mw_tls_mode_name(asked));
      snprintf(fix, sizeof(fix), "use --tls implicit on port %u", r->port);
      diagnose(r, "tls_mode_mismatch_expected_implicit", summary, fix);
    }
    else {
      add_check(r, "tls", MW_CHECK_FAIL, since(t0),
                "no TLS handshake either: the server says nothing at all");
      snprintf(summary, sizeof(summary), "%s", mw_error_message(first));
      diagnose(r, "greeting_timeout", summary, NULL);
    }
    mw_smtp_free(p);
    return;
  }
  mw_status st;
  mw_smtp *p = probe_mode(o, MW_TLS_STARTTLS_OPTIONAL, &st);
  if(p && p->greeting) {
    bool starttls = mw__capa_has(&p->capa_plain, "STARTTLS") || p->tls;
    r->detected_mode = starttls ? "starttls" : "plain";
    add_check(r, "tls", MW_CHECK_FAIL, since(t0),
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
    diagnose(r, "tls_mode_mismatch_expected_plain", summary, fix);
  }
  else {
    add_check(r, "tls", MW_CHECK_FAIL, since(t0), "%s",
              mw_error_message(first));
    diagnose(r, "tls_handshake_failed", mw_error_message(first), NULL);
  }
  mw_smtp_free(p);
}

static void diagnose_cert(struct mw_report *r, const mw_smtp *s,
                          const struct mw_options *o, mw_tls_mode mode)
{
  const struct mw__tls_info *t = &s->tls_info;
  add_check(r, "tls", MW_CHECK_OK, 0, "%s, %s, %s",
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
  add_check(r, "certificate", MW_CHECK_FAIL, 0,
            "%s; subject %s; issuer %s; expires %s (%d days left); chain: "
            "%s; sha256 %s",
            t->verify_error, t->subject, t->issuer, t->not_after,
            t->days_left, t->chain, t->fingerprint);
  char summary[768], fix[512];
  snprintf(summary, sizeof(summary), "%s", mw_error_message(&s->err));
  const mw_cause *c = mw_cause_find(id);
  snprintf(fix, sizeof(fix), "%s%s(its SHA-256 fingerprint is %s)",
           c ? c->fix : "", c && c->fix[0] ? " " : "", t->fingerprint);
  diagnose(r, id, summary, fix);
}

static void diagnose_auth(struct mw_report *r, const mw_smtp *s,
                          const struct mw_options *o)
{
  const mw_error *e = &s->err;
  const struct mw__capa_entry *auth = mw__capa_find(&s->capa, "AUTH");
  const struct mw__capa_entry *plain = mw__capa_find(&s->capa_plain, "AUTH");
  char summary[768], fix[1024];
  switch(e->status) {
  case MW_E_INSECURE:
    add_check(r, "auth", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
    snprintf(fix, sizeof(fix), "%s",
             mw__capa_has(&s->capa, "STARTTLS")
                 ? "use --tls starttls (the server offers STARTTLS)"
                 : "use an encrypted port: 587 with --tls starttls or 465 "
                   "with --tls implicit");
    diagnose(r, "auth_requires_tls", mw_error_message(e), fix);
    return;
  case MW_E_AUTH_SERVER_UNVERIFIED: {
    /* Decided on the status alone: the session could not verify the
     * server's SCRAM or DIGEST-MD5 proof.  The certificate it presented
     * is named so that it can be compared with the real server's. */
    add_check(r, "auth", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
    const mw_cause *c = mw_cause_find("auth_server_unverified");
    if(s->tls || s->tls_info.handshake_done)
      snprintf(fix, sizeof(fix), "%s (the certificate presented has the "
               "SHA-256 fingerprint %s)", c ? c->fix : "",
               s->tls_info.fingerprint);
    else
      snprintf(fix, sizeof(fix), "%s (this connection is not encrypted: "
               "anyone on the path can play the server)", c ? c->fix : "");
    diagnose(r, "auth_server_unverified", mw_error_message(e), fix);
    return;
  }
  case MW_E_AUTH_UNAVAILABLE:
    if(!auth) {
      add_check(r, "auth", MW_CHECK_FAIL, 0,
                "AUTH not offered%s%s", plain ? "; before TLS it offered: "
                                              : "",
                plain ? plain->params : "");
      snprintf(summary, sizeof(summary),
               "%s port %u does not offer authentication", r->host,
               r->port);
      diagnose(r, "auth_not_offered", summary, NULL);
      return;
    }
    add_check(r, "auth", MW_CHECK_FAIL, 0, "offered: %s; allowed: %s",
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
    diagnose(r,
             oauth_only && !o->oauth2_token ? "auth_oauth_required"
                                            : "auth_mechanism_unsupported",
             mw_error_message(e), NULL);
    return;
  default:
    add_check(r, "auth", e->reply_code / 100 == 4 ? MW_CHECK_WARN
                                                  : MW_CHECK_FAIL,
              0, "%s", mw_error_message(e));
    if(e->status == MW_E_AUTH && e->reply_code)
      diagnose_reply(r, e, e->reply_code / 100 == 4 ? "auth_temporary"
                                                    : "auth_failed",
                     "authentication failed");
    else if(e->status == MW_E_INVALID)
      /* Our own settings (a client certificate that does not load, an
       * --auth list that cannot work): nothing to retry. */
      diagnose(r, "auth_mechanism_unsupported", mw_error_message(e), NULL);
    else
      diagnose(r, e->status == MW_E_PROTOCOL ? "protocol_error"
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
    add_check(r, "proxy", MW_CHECK_OK, 0, "tunnel to %s port %u open",
              r->host, r->port);
    return true;
  }
  const char *m = s->err.message;
  add_check(r, "proxy", MW_CHECK_FAIL, ms, "%s", m);
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
  diagnose(r, id, m, fix[0] ? fix : NULL);
  return false;
}

static void run_session(struct mw_report *r, const struct mw_options *o,
                        const char *from, const char *to)
{
  mw_tls_mode mode = mw__options_tls_mode(o);
  mw_smtp *s = mw_smtp_new(o);
  if(!s) {
    diagnose(r, "temporary_failure", "out of memory", NULL);
    return;
  }
  int64_t t0 = mw__now_ms();
  mw_status st = mw_smtp_connect(s);
  const mw_error *e = &s->err;
  if(o->proxy_url && !diagnose_proxy(r, s, st, since(t0))) {
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
    add_check(r, "greeting", MW_CHECK_FAIL, since(t0), "%s",
              mw_error_message(e));
    diagnose_mode(r, o, mode, e);
  }
  else if(ph == MW__PHASE_TLS_IMPLICIT && st != MW_E_CERT) {
    diagnose_mode(r, o, mode, e);
  }
  else if(ph == MW__PHASE_GREETING) {
    add_check(r, "greeting", MW_CHECK_FAIL, since(t0), "%s",
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
      diagnose(r, id, mw_error_message(e), NULL);
    }
    else
      diagnose(r, st == MW_E_PROTOCOL ? "protocol_error"
                                      : "service_unavailable",
               mw_error_message(e), NULL);
  }
  else {
    if(s->greeting)
      add_check(r, "greeting", MW_CHECK_OK, 0, "220 %s", s->greeting);
    if(st == MW_E_CERT) {
      diagnose_cert(r, s, o, mode);
    }
    else if(st == MW_E_NO_STARTTLS) {
      struct mw__sbuf b;
      mw__sbuf_init(&b);
      caps_text(&s->capa, &b);
      add_check(r, "ehlo", MW_CHECK_OK, 0, "%s", b.data ? b.data : "");
      mw__sbuf_free(&b);
      add_check(r, "tls", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
      char fix[256];
      snprintf(fix, sizeof(fix),
               "this port offers no STARTTLS: use --tls implicit if it is "
               "an implicit-TLS port (usually 465), or port 587 with --tls "
               "starttls");
      diagnose(r, "starttls_not_offered", mw_error_message(e), fix);
    }
    else if(st == MW_E_TLS) {
      add_check(r, "tls", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
      diagnose(r, strstr(e->message, "TLS version") ? "tls_version_mismatch"
                                                    : "tls_handshake_failed",
               mw_error_message(e), NULL);
    }
    else if(ph == MW__PHASE_AUTH) {
      /* The failed session is closed (s->tls is gone); what its handshake
       * found is kept in tls_info. */
      if(s->tls || s->tls_info.handshake_done)
        report_tls_and_cert(r, s, o, mode == MW_TLS_IMPLICIT);
      diagnose_auth(r, s, o);
    }
    else if(st == MW_E_INJECTION || st == MW_E_PROTOCOL) {
      add_check(r, ph == MW__PHASE_STARTTLS ? "tls" : "ehlo", MW_CHECK_FAIL,
                0, "%s", mw_error_message(e));
      diagnose(r, "protocol_error", mw_error_message(e), NULL);
    }
    else if(st == MW_E_REJECTED) {
      add_check(r, "ehlo", MW_CHECK_FAIL, 0, "%s", mw_error_message(e));
      diagnose_reply(r, e, "protocol_error", "the server refused EHLO");
    }
    else {
      add_check(r, ph == MW__PHASE_STARTTLS ? "tls" : "ehlo", MW_CHECK_FAIL,
                since(t0), "%s", mw_error_message(e));
      diagnose(r, "temporary_failure", mw_error_message(e), NULL);
    }
  }
  mw_smtp_free(s);
}

/* ---- deliverability ------------------------------------------------- */

struct deliver {
  struct mw_report *r;
  const struct mw_options *o;
  const char *domain;
  bool dns_dead;               /* a query timed out: ask no more */
  struct mw__sbuf auth_found;  /* SPF, DMARC, DKIM problems */
  struct mw__sbuf auth_fix;
  struct mw__sbuf listed;      /* blocklist findings */
};

static void note(struct mw__sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct mw__sbuf *b, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  mw__sbuf_printf(b, "%s%s", b->len ? "; " : "", buf);
}

static bool starts_with_tag(const char *txt, const char *prefix)
{
  return mw__strnieq(txt, prefix, strlen(prefix));
}

/* TXT records at name, those for which keep() is true (all when NULL).
 * MW_OK (possibly none) or a lookup error in err. */
static mw_status fetch_txt(struct deliver *d, const char *name,
                           bool (*keep)(const char *), char ***out,
                           size_t *n, struct mw_error *err)
{
  *out = NULL;
  *n = 0;
  if(d->dns_dead)
    return mw__error_set(err, MW_E_TIMEOUT, "not looked up: the DNS server "
                         "did not answer an earlier query");
  unsigned ms = d->o->connect_timeout_ms < 5000 ? d->o->connect_timeout_ms
                                                : 5000;
  char **all = NULL;
  size_t count = 0;
  mw_status st = mw__resolve_txt(name, d->o->dns_server, mw__now_ms() + ms,
                                 &all, &count, NULL, err);
  if(st) {
    if(st == MW_E_TIMEOUT)
      d->dns_dead = true;
    return st;
  }
  size_t k = 0;
  for(size_t i = 0; i < count; i++) {
    if(!keep || keep(all[i]))
      all[k++] = all[i];
    else
      mw__free(all[i]);
  }
  *out = all;
  *n = k;
  return MW_OK;
}

struct spf_walk {
  unsigned lookups;
  unsigned macros;
  size_t queries;
  char problem[400];
  const char *path[12]; /* the include chain, for the loop guard */
  size_t depth;
};

static void spf_follow(struct deliver *d, struct spf_walk *w,
                       const char *where, const char *record)
{
  struct mw__spf_scan sc;
  if(!mw__spf_scan(record, &sc) && !w->problem[0])
    snprintf(w->problem, sizeof(w->problem),
             "syntax error in the SPF record of %s: %s", where, sc.error);
  w->lookups += sc.lookups;
  w->macros += sc.macro_targets;
  for(size_t i = 0; i < sc.ntargets; i++) {
    const char *t = sc.targets[i];
    bool loop = false;
    for(size_t k = 0; k < w->depth; k++)
      loop = loop || mw__strieq(w->path[k], t);
    if(loop || w->depth >= sizeof(w->path) / sizeof(w->path[0])) {
      if(!w->problem[0])
        snprintf(w->problem, sizeof(w->problem),
                 "%s: include:/redirect= of %s loops or nests too deep",
                 where, t);
      continue;
    }
    if(w->queries >= 30) /* bound the work on a hostile record */
      return;
    w->queries++;
    struct mw_error err = {0};
    char **txt = NULL;
    size_t n = 0;
    mw_status st = fetch_txt(d, t, mw__spf_is_record, &txt, &n, &err);
    if(st && !w->problem[0])
      snprintf(w->problem, sizeof(w->problem), "%.380s", err.message);
    else if(!st && n != 1 && !w->problem[0])
      snprintf(w->problem, sizeof(w->problem),
               "%s (named in the SPF record of %s) has %s SPF record: "
               "permerror",
               t, where, n ? "more than one" : "no");
    else if(!st && n == 1) {
      w->path[w->depth++] = t;
      spf_follow(d, w, t, txt[0]);
      w->depth--;
    }
    mw__txt_free(txt, n);
    mw__error_clear(&err);
  }
}

static void check_spf(struct deliver *d)
{
  struct mw_report *r = d->r;
  int64_t t0 = mw__now_ms();
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, d->domain, mw__spf_is_record, &txt, &n, &err)) {
    add_check(r, "spf", MW_CHECK_WARN, since(t0), "%s", err.message);
    note(&d->auth_found, "the SPF record of %s could not be read",
         d->domain);
    mw__error_clear(&err);
    return;
  }
  if(!n) {
    add_check(r, "spf", MW_CHECK_WARN, since(t0),
              "%s has no SPF record (TXT \"v=spf1 ...\"): receivers cannot "
              "tell which servers may send for it",
              d->domain);
    note(&d->auth_found, "no SPF record for %s", d->domain);
    note(&d->auth_fix, "publish one SPF record at %s listing the servers "
         "that send for it (for example \"v=spf1 mx -all\", or your "
         "provider's include:)", d->domain);
  }
  else if(n > 1) {
    add_check(r, "spf", MW_CHECK_WARN, since(t0),
              "permerror: %s has %zu SPF records (RFC 7208 3.2 allows "
              "one): \"%s\", \"%s\"",
              d->domain, n, txt[0], txt[1]);
    note(&d->auth_found, "%s has %zu SPF records (permerror)", d->domain,
         n);
    note(&d->auth_fix, "merge the SPF records of %s into one", d->domain);
  }
  else {
    struct spf_walk w = {.path = {d->domain}, .depth = 1};
    spf_follow(d, &w, d->domain, txt[0]);
    bool over = w.lookups > MW__SPF_LOOKUP_LIMIT;
    char extra[160] = "";
    if(w.macros)
      snprintf(extra, sizeof(extra), ", %u macro target%s not followed",
               w.macros, w.macros == 1 ? "" : "s");
    add_check(r, "spf", over || w.problem[0] ? MW_CHECK_WARN : MW_CHECK_OK,
              since(t0), "\"%s\": %u DNS lookup%s (limit %u%s)%s%s%s",
              txt[0], w.lookups, w.lookups == 1 ? "" : "s",
              MW__SPF_LOOKUP_LIMIT, extra,
              over ? "; permerror: more than 10 DNS-querying terms (RFC "
                     "7208 4.6.4)"
                   : "",
              w.problem[0] ? "; " : "", w.problem);
    if(over) {
      note(&d->auth_found, "the SPF record of %s needs %u DNS lookups "
           "(more than 10: permerror)", d->domain, w.lookups);
      note(&d->auth_fix, "flatten the SPF record of %s to at most 10 DNS "
           "lookups (replace include:s with ip4:/ip6:)", d->domain);
    }
    if(w.problem[0]) {
      note(&d->auth_found, "%s", w.problem);
      note(&d->auth_fix, "correct the SPF record of %s", d->domain);
    }
  }
  mw__txt_free(txt, n);
}

static void check_dmarc(struct deliver *d)
{
  struct mw_report *r = d->r;
  int64_t t0 = mw__now_ms();
  char name[300];
  snprintf(name, sizeof(name), "_dmarc.%s", d->domain);
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, name, mw__dmarc_is_record, &txt, &n, &err)) {
    add_check(r, "dmarc", MW_CHECK_WARN, since(t0), "%s", err.message);
    note(&d->auth_found, "the DMARC record of %s could not be read",
         d->domain);
    mw__error_clear(&err);
    return;
  }
  struct mw__dmarc dm;
  if(!n) {
    add_check(r, "dmarc", MW_CHECK_WARN, since(t0),
              "no DMARC record at %s (TXT \"v=DMARC1; p=...\")", name);
    note(&d->auth_found, "no DMARC record for %s", d->domain);
    note(&d->auth_fix, "publish a DMARC record at %s (start with "
         "\"v=DMARC1; p=none; rua=mailto:dmarc@%s\")", name, d->domain);
  }
  else if(n > 1) {
    add_check(r, "dmarc", MW_CHECK_WARN, since(t0),
              "%s has %zu DMARC records: receivers ignore them all (RFC "
              "7489 6.6.3)", name, n);
    note(&d->auth_found, "%s has %zu DMARC records (none applies)", name,
         n);
    note(&d->auth_fix, "keep one DMARC record at %s", name);
  }
  else if(!mw__dmarc_parse(txt[0], &dm)) {
    add_check(r, "dmarc", MW_CHECK_WARN, since(t0), "\"%s\" at %s: %s",
              txt[0], name, dm.error);
    note(&d->auth_found, "the DMARC record of %s is invalid (%s)",
         d->domain, dm.error);
    note(&d->auth_fix, "correct the DMARC record at %s", name);
  }
  else {
    bool none = strcmp(dm.policy, "none") == 0;
    add_check(r, "dmarc", none ? MW_CHECK_WARN : MW_CHECK_OK, since(t0),
              "\"%s\": policy %s%s%s, %u%%%s%s%s", txt[0], dm.policy,
              dm.subpolicy[0] ? ", subdomains " : "", dm.subpolicy, dm.pct,
              dm.rua[0] ? ", reports to " : ", no aggregate reports (rua=)",
              dm.rua,
              none ? "; p=none only monitors: failing mail is not "
                     "quarantined or rejected"
                   : "");
  }
  mw__txt_free(txt, n);
}

static void check_dkim(struct deliver *d)
{
  struct mw_report *r = d->r;
  const char *sel = d->o->dkim_selector;
  if(!sel) {
    add_check(r, "dkim", MW_CHECK_SKIPPED, 0,
              "not tested (give --dkim-selector NAME: the s= of your "
              "DKIM-Signature)");
    return;
  }
  int64_t t0 = mw__now_ms();
  char name[600];
  snprintf(name, sizeof(name), "%s._domainkey.%s", sel, d->domain);
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, name, NULL, &txt, &n, &err)) {
    add_check(r, "dkim", MW_CHECK_WARN, since(t0), "%s", err.message);
    note(&d->auth_found, "the DKIM key %s could not be read", name);
    mw__error_clear(&err);
    return;
  }
  struct mw__dkim k = {0};
  size_t good = n;
  for(size_t i = 0; i < n && good == n; i++)
    if(mw__dkim_parse(txt[i], &k))
      good = i;
  if(!n) {
    add_check(r, "dkim", MW_CHECK_WARN, since(t0),
              "no DKIM key at %s", name);
    note(&d->auth_found, "no DKIM key at %s", name);
    note(&d->auth_fix, "publish the DKIM public key of selector %s at %s",
         sel, name);
  }
  else if(good == n) {
    add_check(r, "dkim", MW_CHECK_WARN, since(t0), "%s: %s", name,
              k.error);
    note(&d->auth_found, "the DKIM key at %s is %s", name,
         k.revoked ? "revoked" : "invalid");
    note(&d->auth_fix, "publish a valid DKIM key at %s", name);
  }
  else {
    add_check(r, "dkim", MW_CHECK_OK, since(t0),
              "%s: %s key (%zu base64 characters)", name, k.key_type,
              k.key_len);
  }
  mw__txt_free(txt, n);
}

static bool is_sts(const char *t) { return starts_with_tag(t, "v=STSv"); }
static bool is_tlsrpt(const char *t)
{
  return starts_with_tag(t, "v=TLSRPT");
}

static void check_mta_sts(struct deliver *d)
{
  struct mw_report *r = d->r;
  int64_t t0 = mw__now_ms();
  char name[300], id[64], why[160];
  snprintf(name, sizeof(name), "_mta-sts.%s", d->domain);
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, name, is_sts, &txt, &n, &err))
    add_check(r, "mta-sts", MW_CHECK_WARN, since(t0), "%s", err.message);
  else if(!n)
    add_check(r, "mta-sts", MW_CHECK_WARN, since(t0),
              "no MTA-STS record at %s (optional: it lets senders insist "
              "on TLS to %s's MX)",
              name, d->domain);
  else if(n > 1)
    add_check(r, "mta-sts", MW_CHECK_WARN, since(t0),
              "%s has %zu MTA-STS records: senders ignore them (RFC 8461 "
              "3.1)", name, n);
  else if(!mw__mta_sts_parse(txt[0], id, sizeof(id), why, sizeof(why)))
    add_check(r, "mta-sts", MW_CHECK_WARN, since(t0), "\"%s\" at %s: %s",
              txt[0], name, why);
  else
    add_check(r, "mta-sts", MW_CHECK_OK, since(t0),
              "\"%s\": policy id %s (the policy at https://mta-sts.%s/"
              ".well-known/mta-sts.txt is not fetched)",
              txt[0], id, d->domain);
  mw__txt_free(txt, n);
  mw__error_clear(&err);
}

static void check_tls_rpt(struct deliver *d)
{
  struct mw_report *r = d->r;
  int64_t t0 = mw__now_ms();
  char name[300], rua[256], why[160];
  snprintf(name, sizeof(name), "_smtp._tls.%s", d->domain);
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, name, is_tlsrpt, &txt, &n, &err))
    add_check(r, "tls-rpt", MW_CHECK_WARN, since(t0), "%s", err.message);
  else if(!n)
    add_check(r, "tls-rpt", MW_CHECK_WARN, since(t0),
              "no TLS-RPT record at %s (optional: reports of TLS failures "
              "delivering to %s)",
              name, d->domain);
  else if(n > 1)
    add_check(r, "tls-rpt", MW_CHECK_WARN, since(t0),
              "%s has %zu TLS-RPT records (RFC 8460 3 allows one)", name,
              n);
  else if(!mw__tls_rpt_parse(txt[0], rua, sizeof(rua), why, sizeof(why)))
    add_check(r, "tls-rpt", MW_CHECK_WARN, since(t0), "\"%s\" at %s: %s",
              txt[0], name, why);
  else
    add_check(r, "tls-rpt", MW_CHECK_OK, since(t0),
              "\"%s\": reports to %s", txt[0], rua);
  mw__txt_free(txt, n);
  mw__error_clear(&err);
}

static void check_dnsbl(struct deliver *d)
{
  struct mw_report *r = d->r;
  const char *zones = d->o->dnsbl_zones;
  if(!zones) {
    add_check(r, "dnsbl", MW_CHECK_SKIPPED, 0,
              "not tested (give --dnsbl ZONE[,ZONE...]; no blocklist is "
              "asked by default)");
    return;
  }
  char ip[80];
  snprintf(ip, sizeof(ip), "%s", r->peer);
  char *colon = strrchr(ip, ':');
  if(colon && ip[0] != '[')
    *colon = '\0';
  if(!ip[0] || ip[0] == '[') {
    add_check(r, "dnsbl", MW_CHECK_SKIPPED, 0, "%s",
              ip[0] ? "the server's address is IPv6: not looked up"
                    : "no connection to the server: no address to look up");
    return;
  }
  const char *p = zones;
  char zone[256];
  for(size_t z = 0; z < MAX_DNSBL_ZONES && mw__next_zone(&p, zone,
                                                         sizeof(zone));
      z++) {
    int64_t t0 = mw__now_ms();
    char name[300];
    if(!mw__dnsbl_name(ip, zone, name, sizeof(name))) {
      add_check(r, "dnsbl", MW_CHECK_SKIPPED, 0, "%s: not a zone", zone);
      continue;
    }
    if(d->dns_dead) {
      add_check(r, "dnsbl", MW_CHECK_WARN, 0, "%s: not looked up: the DNS "
                "server did not answer an earlier query", zone);
      continue;
    }
    uint8_t a[4][4];
    size_t n = 0;
    struct mw_error err = {0};
    unsigned ms = d->o->connect_timeout_ms < 5000
                      ? d->o->connect_timeout_ms : 5000;
    mw_status st = mw__resolve_a(name, d->o->dns_server, mw__now_ms() + ms,
                                 a, 4, &n, &err);
    if(st) {
      d->dns_dead = st == MW_E_TIMEOUT;
      add_check(r, "dnsbl", MW_CHECK_WARN, since(t0), "%s: %s", zone,
                err.message);
      mw__error_clear(&err);
      continue;
    }
    if(!n) {
      add_check(r, "dnsbl", MW_CHECK_OK, since(t0),
                "%s is not listed on %s", ip, zone);
      continue;
    }
    char ans[20];
    snprintf(ans, sizeof(ans), "%u.%u.%u.%u", a[0][0], a[0][1], a[0][2],
             a[0][3]);
    enum mw__dnsbl_answer cls = mw__dnsbl_classify(a[0]);
    if(cls == MW__DNSBL_LISTED) {
      char **txt = NULL;
      size_t nt = 0;
      fetch_txt(d, name, NULL, &txt, &nt, &err);
      mw__error_clear(&err);
      add_check(r, "dnsbl", MW_CHECK_WARN, since(t0),
                "%s is listed on %s (%s)%s%s", ip, zone, ans,
                nt ? ": " : "", nt ? txt[0] : "");
      note(&d->listed, "%s is listed on %s (%s)%s%s", ip, zone, ans,
           nt ? ": " : "", nt ? txt[0] : "");
      mw__txt_free(txt, nt);
    }
    else {
      add_check(r, "dnsbl", MW_CHECK_WARN, since(t0),
                "%s: %s answered %s, which is not a listing%s", zone, name,
                ans,
                cls == MW__DNSBL_REFUSED
                    ? " (the list refuses queries from this resolver: ask "
                      "it through your own DNS server)"
                    : "");
    }
  }
}

/* A server reply blamed sender authentication or a blocklist: cite what
 * the checks found in the diagnosis. */
static void refine_diagnosis(struct deliver *d)
{
  struct mw_report *r = d->r;
  bool auth = strcmp(r->cause->id, "spf_dmarc_rejected") == 0;
  if(!auth && strcmp(r->cause->id, "blocklisted") != 0)
    return;
  struct mw__sbuf sum, fix;
  mw__sbuf_init(&sum);
  mw__sbuf_init(&fix);
  if(auth && d->auth_found.len) {
    mw__sbuf_printf(&sum, "%s; deliverability: %s", r->summary,
                    d->auth_found.data);
    mw__sbuf_printf(&fix, "%s%s%s", d->auth_fix.len ? d->auth_fix.data : "",
                    d->auth_fix.len ? "; " : "", r->fix);
  }
  else if(auth && d->domain) {
    mw__sbuf_printf(&sum, "%s; deliverability: the SPF and DMARC records "
                    "of %s look valid", r->summary, d->domain);
    mw__sbuf_printf(&fix, "check that this server is allowed by the SPF "
                    "record of %s and that the message is DKIM-signed for "
                    "it (check a key with --dkim-selector); %s",
                    d->domain, r->fix);
  }
  else if(!auth && d->listed.len) {
    mw__sbuf_printf(&sum, "%s; deliverability: %s", r->summary,
                    d->listed.data);
    mw__sbuf_printf(&fix, "ask the blocklist to delist the address (after "
                    "stopping whatever got it listed), or send through "
                    "another server; %s", r->fix);
  }
  else if(!auth) {
    mw__sbuf_printf(&sum, "%s; deliverability: %s", r->summary,
                    d->o->dnsbl_zones
                        ? "the server's address is not listed on the zones "
                          "checked"
                        : "no blocklist was checked (give --dnsbl ZONES)");
  }
  if(sum.data) {
    mw__free(r->summary);
    r->summary = mw__sbuf_steal(&sum);
  }
  if(fix.data) {
    mw__free(r->fix);
    r->fix = mw__sbuf_steal(&fix);
  }
  mw__sbuf_free(&sum);
  mw__sbuf_free(&fix);
}

/* The sender's domain: --domain, else the domain of from; NULL if none. */
static const char *sender_domain(const struct mw_options *o,
                                 const char *from)
{
  if(o->sender_domain)
    return o->sender_domain;
  const char *at = from ? strrchr(from, '@') : NULL;
  return at && mw__dns_name_ok(at + 1) ? at + 1 : NULL;
}

static void check_deliverability(struct mw_report *r,
                                 const struct mw_options *o,
                                 const char *from)
{
  struct deliver d = {.r = r, .o = o, .domain = sender_domain(o, from)};
  if(!d.domain && !o->dnsbl_zones)
    return;
  /* the DNS server does not answer: every query would time out */
  if(r->cause && strcmp(r->cause->id, "dns_timeout") == 0)
    return;
  mw__sbuf_init(&d.auth_found);
  mw__sbuf_init(&d.auth_fix);
  mw__sbuf_init(&d.listed);
  if(d.domain) {
    check_spf(&d);
    check_dmarc(&d);
    check_dkim(&d);
    check_mta_sts(&d);
    check_tls_rpt(&d);
  }
  check_dnsbl(&d);
  if(r->cause)
    refine_diagnosis(&d);
  mw__sbuf_free(&d.auth_found);
  mw__sbuf_free(&d.auth_fix);
  mw__sbuf_free(&d.listed);
}

/* For an address or domain ("alice@example.org"): the MX with the lowest
 * preference becomes the host to check, on port 25 unless one was given.
 * Returns false when the diagnosis is already made. */
/* A name given without a port that has MX records is a mail domain
 * ("doctor example.org"): its MX is what to check.  A name without MX
 * (smtp.example.org) or a numeric address stays a host, on port 587.
 * On MW_OK true, o->host becomes "@domain" for resolve_mx_target(). */
static bool bare_mail_domain(struct mw_report *r, struct mw_options *o)
{
  if(mw__is_ip_literal(o->host) || !strchr(o->host, '.'))
    return false;
  struct mw__mx mx[1];
  size_t n = 0;
  struct mw_error err = {0};
  mw_status st = mw__resolve_mx(o->host, o->dns_server,
                                mw__now_ms() + o->connect_timeout_ms, mx, 1,
                                &n, &err);
  mw__error_clear(&err);
  if(st || !n)
    return false;
  (void)r;
  char at[300];
  snprintf(at, sizeof(at), "@%s", o->host);
  return mw__replace_string(&o->host, at);
}

static bool resolve_mx_target(struct mw_report *r, struct mw_options *o)
{
  const char *at = strrchr(o->host, '@');
  const char *domain = at + 1;
  struct mw__mx mx[16];
  size_t n = 0;
  struct mw_error err = {0};
  int64_t t0 = mw__now_ms();
  mw_status st = mw__resolve_mx(domain, o->dns_server,
                                t0 + o->connect_timeout_ms, mx, 16, &n, &err);
  if(st) {
    add_check(r, "dns", MW_CHECK_FAIL, since(t0), "%s", err.message);
    diagnose(r, st == MW_E_TIMEOUT || err.temporary ? "dns_timeout"
                                                    : "dns_not_found",
             err.message, NULL);
    mw__error_clear(&err);
    return false;
  }
  char target[256];
  if(!n) {
    add_check(r, "dns", MW_CHECK_WARN, since(t0),
              "%s has no MX record: mail goes to the domain's own address "
              "(RFC 5321 5.1)",
              domain);
    snprintf(target, sizeof(target), "%s", domain);
  }
  else {
    struct mw__sbuf b;
    mw__sbuf_init(&b);
    for(size_t i = 0; i < n; i++)
      mw__sbuf_printf(&b, "%s%u %s", i ? ", " : "", mx[i].preference,
                      mx[i].host);
    add_check(r, "dns", MW_CHECK_OK, since(t0), "MX of %s: %s", domain,
              b.data ? b.data : "");
    mw__sbuf_free(&b);
    snprintf(target, sizeof(target), "%s", mx[0].host);
  }
  if(!mw__replace_string(&o->host, target))
    return false;
  if(!o->port)
    o->port = 25; /* the MX port */
  return true;
}

/* ---- the other submission ports, tried at once ------------------------- */

/* One port's line in the evidence: the secure row that works (best rank),
 * else the row of the port's usual mode with what went wrong. */
static void describe_port(const mw_probe *p, unsigned port,
                          struct mw__sbuf *ev, struct mw__sbuf *works,
                          const char *host)
{
  size_t pick = SIZE_MAX, usual = SIZE_MAX;
  const char *usual_mode = port == 465 ? "implicit" : "starttls";
  for(size_t i = 0; i < mw_probe_count(p); i++) {
    if(mw_probe_row_port(p, i) != port)
      continue;
    unsigned rank = mw_probe_row_rank(p, i);
    if(rank && mw__tls_verdict_ok(mw_probe_row_cert(p, i)) &&
       (pick == SIZE_MAX || rank < mw_probe_row_rank(p, pick)))
      pick = i;
    if(!strcmp(mw_probe_row_mode(p, i), usual_mode))
      usual = i;
  }
  const char *sep = ev->len ? "; " : "";
  if(pick != SIZE_MAX) {
    const char *auth = mw_probe_row_auth(p, pick);
    mw__sbuf_printf(ev, "%s%u --tls %s: works (%s%s%s)", sep, port,
                    mw_probe_row_mode(p, pick),
                    mw_probe_row_tls_version(p, pick), auth[0] ? ", AUTH " : "",
                    auth);
    if(!works->len)
      mw__sbuf_printf(works, "--server %s:%u --tls %s", host, port,
                      mw_probe_row_mode(p, pick));
    return;
  }
  if(usual == SIZE_MAX)
    return;
  const char *o = mw_probe_row_outcome(p, usual);
  const char *detail = mw_probe_row_detail(p, usual);
  if(!strcmp(o, "works")) /* TLS works, the certificate is refused */
    mw__sbuf_printf(ev, "%s%u --tls %s: TLS works, but the certificate is "
                        "not accepted (%s)",
                    sep, port, usual_mode, mw_probe_row_cert(p, usual));
  else if(!strcmp(o, "refused") || !strcmp(o, "unreachable") ||
          !strcmp(o, "timeout"))
    mw__sbuf_printf(ev, "%s%u --tls %s: could not connect (%s)", sep, port,
                    usual_mode, detail);
  else
    mw__sbuf_printf(ev, "%s%u --tls %s: %s (%s)", sep, port, usual_mode, o,
                    detail);
}

/* After a connection-level failure: which other port and mode works?  The
 * parallel probe (diag/probe.c) with the user's TLS policy, so "works"
 * means it would work for send, bounded by a short greeting timeout. */
static void try_alternatives(struct mw_report *r, const struct mw_options *o)
{
  static const unsigned candidates[] = {465, 587, 25, 2525};
  char ports[32] = "";
  size_t used = 0;
  for(size_t i = 0; i < 4; i++) {
    if(candidates[i] == r->port)
      continue;
    int n = snprintf(ports + used, sizeof(ports) - used, "%s%u",
                     used ? "," : "", candidates[i]);
    if(n > 0)
      used += (size_t)n;
  }
  struct mw_options p;
  if(!mw__options_copy(&p, o))
    return;
  mw__free_secret(p.password);
  mw__free_secret(p.oauth2_token);
  p.password = p.oauth2_token = NULL;
  p.trace_fn = NULL;
  unsigned cap = 5000;
  if(!p.greeting_timeout_ms || p.greeting_timeout_ms > cap)
    p.greeting_timeout_ms = cap;
  int64_t t0 = mw__now_ms();
  mw_probe *probe = NULL;
  mw_status st = mw__probe_run(&p, r->host, ports, false, &probe);
  mw__options_release(&p);
  if(st)
    return;
  struct mw__sbuf ev, works;
  mw__sbuf_init(&ev);
  mw__sbuf_init(&works);
  for(size_t i = 0; i < 4; i++)
    if(candidates[i] != r->port)
      describe_port(probe, candidates[i], &ev, &works, r->host);
  mw_probe_free(probe);
  add_check(r, "alternatives", works.len ? MW_CHECK_OK : MW_CHECK_FAIL,
            since(t0), "%s", ev.data ? ev.data : "");
  if(works.len && r->fix) {
    struct mw__sbuf fix;
    mw__sbuf_init(&fix);
    mw__sbuf_printf(&fix, "%s; or use %s, which works", r->fix, works.data);
    if(!fix.failed) {
      mw__free(r->fix);
      r->fix = mw__sbuf_steal(&fix);
    }
    mw__sbuf_free(&fix);
  }
  mw__sbuf_free(&ev);
  mw__sbuf_free(&works);
}

static bool connection_level(const mw_cause *c)
{
  static const char *const ids[] = {
      "tcp_refused", "tcp_filtered", "tcp_unreachable", "port25_blocked",
      "greeting_timeout", "tls_mode_mismatch_expected_implicit",
      "tls_mode_mismatch_expected_plain", "starttls_not_offered",
      "tls_handshake_failed", "tls_version_mismatch", "service_unavailable"};
  for(size_t i = 0; c && i < sizeof(ids) / sizeof(ids[0]); i++)
    if(strcmp(c->id, ids[i]) == 0)
      return true;
  return false;
}

mw_status mw_doctor_run(const mw_options *o, const char *from,
                        const char *to, mw_report **out)
{
  if(!o || !out || !o->host || (!from) != (!to))
    return MW_E_INVALID;
  *out = NULL;
  struct mw_report *r = mw__calloc(1, sizeof(*r));
  struct mw_options local;
  if(!r)
    return MW_E_NOMEM;
  if(!mw__options_copy(&local, o)) {
    mw__free(r);
    return MW_E_NOMEM;
  }
  bool go = true;
  if(strchr(local.host, '@'))
    go = resolve_mx_target(r, &local);
  else if(!local.port && !local.proxy_url && bare_mail_domain(r, &local))
    go = resolve_mx_target(r, &local);
  r->host = mw__strdup(local.host);
  r->port = mw__options_port(&local);
  r->tls_mode = mw_tls_mode_name(mw__options_tls_mode(&local));
  struct mw__addrlist addrs = {0};
  /* Through a proxy the server may well be unreachable directly: the
   * proxy is the path, so the direct DNS and TCP checks are skipped. */
  if(go && local.proxy_url)
    run_session(r, &local, from, to);
  else if(go && check_dns(r, &local, &addrs) &&
          check_tcp(r, &local, &addrs))
    run_session(r, &local, from, to);
  mw__addrlist_free(&addrs);
  if(go && connection_level(r->cause))
    try_alternatives(r, &local);
  check_deliverability(r, &local, from);
  mw__options_release(&local);
  if(!r->cause)
    diagnose(r, "unknown_reply", "the checks ended without a verdict", NULL);
  *out = r;
  return MW_OK;
}

void mw_report_free(mw_report *r)
{
  if(!r)
    return;
  for(size_t i = 0; i < r->count; i++)
    mw__free(r->checks[i].evidence);
  mw__free(r->summary);
  mw__free(r->fix);
  mw__free(r->host);
  mw__free(r);
}

size_t mw_report_check_count(const mw_report *r) { return r ? r->count : 0; }

#define CHECK_AT(r, i) ((r) && (i) < (r)->count ? &(r)->checks[i] : NULL)

const char *mw_report_check_layer(const mw_report *r, size_t i)
{
  const struct check *c = CHECK_AT(r, i);
  return c ? c->layer : "";
}
mw_check_status mw_report_check_status(const mw_report *r, size_t i)
{
  const struct check *c = CHECK_AT(r, i);
  return c ? c->status : MW_CHECK_SKIPPED;
}
double mw_report_check_ms(const mw_report *r, size_t i)
{
  const struct check *c = CHECK_AT(r, i);
  return c ? c->ms : 0;
}
const char *mw_report_check_evidence(const mw_report *r, size_t i)
{
  const struct check *c = CHECK_AT(r, i);
  return c && c->evidence ? c->evidence : "";
}
const char *mw_check_status_name(mw_check_status st)
{
  static const char *const names[] = {"ok", "warn", "fail", "skipped"};
  return (unsigned)st < 4 ? names[st] : "?";
}
const mw_cause *mw_report_cause(const mw_report *r)
{
  return r ? r->cause : NULL;
}
const char *mw_report_summary(const mw_report *r)
{
  return r && r->summary ? r->summary : "";
}
const char *mw_report_fix(const mw_report *r)
{
  return r && r->fix ? r->fix : "";
}
const char *mw_report_detected_mode(const mw_report *r)
{
  return r ? r->detected_mode : NULL;
}
const char *mw_report_host(const mw_report *r)
{
  return r && r->host ? r->host : "";
}
unsigned mw_report_port(const mw_report *r) { return r ? r->port : 0; }
const char *mw_report_tls_mode(const mw_report *r)
{
  return r ? r->tls_mode : "";
}
