/*
 * diag/doctor.c - the troubleshooting checklist as one function.
 *
 * DESCRIPTION
 *   Walks the layers a person would check by hand (the seeds' guides): DNS,
 *   TCP to every address, the greeting, the TLS mode, the certificate,
 *   EHLO, AUTH and the envelope.  Each layer becomes a check with a status,
 *   a duration and its evidence; the first failure becomes the diagnosis,
 *   a cause from the catalogue (diag/causes.c) with a fix specific to this
 *   server.  A port silent in plaintext is tried with implicit TLS at the
 *   same time (doctor_session.c), so the verdict comes within the greeting
 *   timeout plus one second; an implicit-TLS attempt that meets plaintext
 *   is followed by a short plaintext one.
 *
 *   The SMTP work is done by the ordinary client (proto/smtp.c): doctor
 *   reads how far mw_smtp_connect() got (s->phase) and what it saw.
 *   For POP3 and IMAP (the options' protocol) the DNS and TCP checks here
 *   and the TLS and certificate rows below are shared, and the session is
 *   diag/doctor_incoming*.c's.
 *
 *   Then the deliverability checks of the sender's domain (SPF, DMARC,
 *   DKIM, MTA-STS, TLS-RPT; the records are read by diag/deliver.c) and of
 *   the server's address on the DNS blocklists asked for.  They are
 *   warnings, except that when a server reply already blamed sender
 *   authentication or a blocklist, their findings are cited in that
 *   diagnosis.
 */
#include "diag/doctor_int.h"

#include "diag/probe.h"
#include "net/resolve.h"
#include "net/sock.h"
#include "net/tcp.h"
#include "tls/tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mw__doctor_check(struct mw_report *r, const char *layer,
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

bool mw__doctor_tls_unavailable(struct mw_report *r, const mw_error *e,
                                double ms)
{
  if(!e || e->status != MW_E_TLS ||
     e->tls_failure != MW__TLS_FAIL_UNAVAILABLE)
    return false;
  mw__doctor_check(r, "tls", MW_CHECK_FAIL, ms, "%s", mw_error_message(e));
  mw__doctor_diagnose(r, "tls_unavailable", mw_error_message(e), NULL);
  return true;
}

void mw__doctor_diagnose(struct mw_report *r, const char *id,
                         const char *summary, const char *fix)
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

double mw__doctor_since(int64_t t0) { return (double)(mw__now_ms() - t0); }

/* ---- DNS and TCP ----------------------------------------------------- */

bool mw__doctor_check_dns(struct mw_report *r, const struct mw_options *o,
                      struct mw__addrlist *addrs)
{
  struct mw_error err = {0};
  int64_t t0 = mw__now_ms();
  mw_status st = mw__resolve(r->host, r->port, o->family, o->dns_server,
                             t0 + o->connect_timeout_ms, addrs, &err);
  if(st) {
    const char *id = st == MW_E_TIMEOUT              ? "dns_timeout"
                     : err.dns_no_address              ? "dns_no_address"
                     : err.temporary                   ? "dns_timeout"
                                                       : "dns_not_found";
    mw__doctor_check(r, "dns", MW_CHECK_FAIL, mw__doctor_since(t0), "%s",
                     err.message);
    mw__doctor_diagnose(r, id, err.message, NULL);
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
  mw__doctor_check(r, "dns", MW_CHECK_OK, mw__doctor_since(t0),
                   "%s has %zu address%s: %s",
                   o->host, addrs->count, addrs->count == 1 ? "" : "es",
                   b.data ? b.data : "");
  mw__sbuf_free(&b);
  return true;
}

bool mw__doctor_check_tcp(struct mw_report *r, const struct mw_options *o,
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
    if(st == MW_E_INVALID && o->bind) {
      /* --bind names an address this machine lacks (or of the other
       * family): our configuration, whatever the server does. */
      mw__doctor_check(r, "tcp", MW_CHECK_FAIL, mw__doctor_since(t1), "%s",
                       err.message);
      mw__doctor_diagnose(r, "bind_address_unavailable", err.message, NULL);
      mw__error_clear(&err);
      mw__sbuf_free(&b);
      return false;
    }
    char where[80];
    mw__addr_format(&addrs->items[i], where, sizeof(where));
    if(!st) {
      ok++;
      mw__sock_close(fd);
      mw__sbuf_printf(&b, "%s%s connected in %.0f ms", b.len ? "; " : "",
                      where, mw__doctor_since(t1));
    }
    else {
      const char *m = err.message;
      const char *colon = strstr(m, where);
      const char *why = colon ? colon + strlen(where) + 2 : m;
      if(st == MW_E_TIMEOUT)
        timeouts++;
      if(err.connect_failure == MW__CONNECT_FAIL_UNREACHABLE)
        unreachable++;
      mw__sbuf_printf(&b, "%s%s %s", b.len ? "; " : "",
                      colon ? where : "", why);
    }
    mw__error_clear(&err);
  }
  const char *ev = b.data ? b.data : "";
  if(ok) {
    mw__doctor_check(r, "tcp",
                     ok == addrs->count ? MW_CHECK_OK : MW_CHECK_WARN,
                     mw__doctor_since(t0), "%s", ev);
    mw__sbuf_free(&b);
    return true;
  }
  mw__doctor_check(r, "tcp", MW_CHECK_FAIL, mw__doctor_since(t0), "%s", ev);
  char summary[1024], fix[512];
  if(timeouts == addrs->count) {
    bool p25 = r->port == 25 && o->protocol == MW_PROTOCOL_SMTP;
    snprintf(summary, sizeof(summary),
             "no answer from %s port %u within %.1f s: the connection "
             "attempts were silently dropped%s",
             r->host, r->port, o->connect_timeout_ms / 1000.0,
             p25 ? " (many ISPs and clouds block outgoing port 25)" : "");
    if(o->protocol != MW_PROTOCOL_SMTP)
      snprintf(fix, sizeof(fix),
               "check firewalls between here and the server, or try the "
               "other port: %s",
               mw__doctor_ports_hint(o->protocol));
    else
    snprintf(fix, sizeof(fix),
             "%s",
             p25 ? "use the submission port instead: 587 with {tls=starttls} "
                   "or 465 with {tls=implicit}"
                 : "check firewalls between here and the server, or try "
                   "another port (587 with {tls=starttls}, 465 with "
                   "{tls=implicit})");
    mw__doctor_diagnose(r, p25 ? "port25_blocked" : "tcp_filtered", summary,
                        fix);
  }
  else if(unreachable) {
    snprintf(summary, sizeof(summary), "%s port %u is unreachable: %s",
             r->host, r->port, ev);
    mw__doctor_diagnose(r, "tcp_unreachable", summary, NULL);
  }
  else {
    snprintf(summary, sizeof(summary),
             "nothing accepts connections on %s port %u: %s", r->host,
             r->port, ev);
    if(o->protocol != MW_PROTOCOL_SMTP)
      snprintf(fix, sizeof(fix),
               "check the port (%s) and that the mail server runs",
               mw__doctor_ports_hint(o->protocol));
    else
    snprintf(fix, sizeof(fix),
             "check the port (587 for submission with STARTTLS, 465 for "
             "implicit TLS) and that the mail server runs");
    mw__doctor_diagnose(r, "tcp_refused", summary, fix);
  }
  mw__sbuf_free(&b);
  return false;
}

/* ---- TLS and certificate (any protocol) -------------------------------- */

const char *mw__doctor_ports_hint(mw_protocol p)
{
  switch(p) {
  case MW_PROTOCOL_IMAP:
    return "IMAP is 993 with {tls=implicit} or 143 with {tls=starttls}";
  case MW_PROTOCOL_POP3:
    return "POP3 is 995 with {tls=implicit} or 110 with {tls=starttls}";
  default:
    return "SMTP submission is 587 with {tls=starttls} or 465 with "
           "{tls=implicit}";
  }
}

void mw__doctor_tls_rows(struct mw_report *r, const struct mw__tls_info *t,
                         int fallback, const struct mw_options *o,
                         bool implicit, double ms)
{
  const char *how = implicit ? "implicit TLS"
                    : o->protocol == MW_PROTOCOL_POP3 ? "STLS"
                                                      : "STARTTLS";
  if(fallback)
    mw__doctor_check(r, "tls", MW_CHECK_WARN, ms,
                     "%s, %s, %s: BELOW {tls-min=%s} (the server cannot do "
                     "it; the session fell back; {tls-strict} refuses)",
                     how, t->version, t->cipher,
                     fallback == MW_TLS_VERSION_1_3 ? "1.3" : "1.2");
  else
    mw__doctor_check(r, "tls", MW_CHECK_OK, ms, "%s, %s, %s", how,
                     t->version, t->cipher);
  if(o->insecure) {
    mw__doctor_check(r, "certificate", MW_CHECK_WARN, 0,
                     "NOT verified ({insecure}): %s; issuer %s", t->subject,
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

void mw__doctor_cert_failure(struct mw_report *r,
                             const struct mw__tls_info *t,
                             const struct mw_options *o, bool implicit,
                             double ms, const char *message)
{
  mw__doctor_check(r, "tls", MW_CHECK_OK, ms, "%s, %s, %s",
                   implicit                            ? "implicit TLS"
                   : o->protocol == MW_PROTOCOL_POP3 ? "STLS"
                                                       : "STARTTLS",
                   t->version, t->cipher);
  const char *cls = mw__tls_verify_class(t->verify_result);
  const char *id = strcmp(cls, "expired") == 0         ? "cert_expired"
                   : strcmp(cls, "not_yet_valid") == 0 ? "cert_not_yet_valid"
                   : strcmp(cls, "hostname") == 0      ? "cert_hostname_mismatch"
                   : strcmp(cls, "self_signed") == 0   ? "cert_self_signed"
                   : strcmp(cls, "revoked") == 0       ? "cert_revoked"
                   : strcmp(cls, "crl") == 0           ? "cert_crl_unusable"
                                                       : "cert_untrusted";
  if(o->fingerprint[0] && strcmp(o->fingerprint, t->fingerprint) != 0)
    id = "cert_untrusted";
  if(t->callback_verdict < 0)
    id = "cert_refused_by_callback";
  bool name = !strcmp(id, "cert_hostname_mismatch");
  const char *names = t->names[0] ? t->names : "none (no subjectAltName)";
  mw__doctor_check(r, "certificate", MW_CHECK_FAIL, 0,
                   "%s; subject %s; names %s; issuer %s; expires %s (%d days "
                   "left); chain: %s; sha256 %s",
                   t->verify_error, t->subject, names, t->issuer, t->not_after,
                   t->days_left, t->chain, t->fingerprint);
  char summary[1400], fix[1024];
  const char *want = o->tls_server_name ? o->tls_server_name : r->host;
  if(name && !t->names[0])
    snprintf(summary, sizeof(summary),
             "%s; the certificate carries no subjectAltName (not valid for "
             "%s)",
             message, want);
  else if(name)
    snprintf(summary, sizeof(summary), "%s (not %s)", message, want);
  else
    snprintf(summary, sizeof(summary), "%s", message);
  const mw_cause *c = mw_cause_find(id);
  if(name && t->names[0])
    snprintf(fix, sizeof(fix),
             "connect with a name the certificate lists (%s), or keep the "
             "address and give one with {tls-server-name=NAME} (its "
             "SHA-256 fingerprint is %s)",
             names, t->fingerprint);
  else
    snprintf(fix, sizeof(fix), "%s%s(its SHA-256 fingerprint is %s)",
             c ? c->fix : "", c && c->fix[0] ? " " : "", t->fingerprint);
  mw__doctor_diagnose(r, id, summary, fix);
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
    mw__doctor_check(r, "dns", MW_CHECK_FAIL, mw__doctor_since(t0), "%s",
                     err.message);
    mw__doctor_diagnose(r, st == MW_E_TIMEOUT || err.temporary ? "dns_timeout"
                                                    : "dns_not_found",
                        err.message, NULL);
    mw__error_clear(&err);
    return false;
  }
  char target[256];
  if(!n) {
    mw__doctor_check(r, "dns", MW_CHECK_WARN, mw__doctor_since(t0),
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
    mw__doctor_check(r, "dns", MW_CHECK_OK, mw__doctor_since(t0),
                     "MX of %s: %s", domain,
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
                          const struct mw_options *opt, const char *host)
{
  size_t pick = SIZE_MAX, usual = SIZE_MAX;
  const char *usual_mode = port == 465 ? "implicit" : "starttls";
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
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
    mw__sbuf_printf(ev, "%s%u {tls=%s}: works (%s%s%s)", sep, port,
                    mw_probe_row_mode(p, pick),
                    mw_probe_row_tls_version(p, pick), auth[0] ? ", AUTH " : "",
                    auth);
    if(!works->len)
      mw__doctor_use_line(opt, host, port, mw_probe_row_mode(p, pick),
                          works);
    return;
  }
  if(usual == SIZE_MAX)
    return;
  const char *o = mw_probe_row_outcome(p, usual);
  const char *detail = mw_probe_row_detail(p, usual);
  if(!strcmp(o, "works")) /* TLS works, the certificate is refused */
    mw__sbuf_printf(ev, "%s%u {tls=%s}: TLS works, but the certificate is "
                        "not accepted (%s)",
                    sep, port, usual_mode, mw_probe_row_cert(p, usual));
  else if(!strcmp(o, "refused") || !strcmp(o, "unreachable") ||
          !strcmp(o, "timeout"))
    mw__sbuf_printf(ev, "%s%u {tls=%s}: could not connect (%s)", sep, port,
                    usual_mode, detail);
  else
    mw__sbuf_printf(ev, "%s%u {tls=%s}: %s (%s)", sep, port, usual_mode, o,
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
  if(r->answer_by) {
    int64_t left = r->answer_by - mw__now_ms();
    cap = left < 300 ? 300 : left < cap ? (unsigned)left : cap;
  }
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
      describe_port(probe, candidates[i], &ev, &works, o, r->host);
  mw_probe_free(probe);
  mw__doctor_check(r, "alternatives", works.len ? MW_CHECK_OK : MW_CHECK_FAIL,
                   mw__doctor_since(t0), "%s", ev.data ? ev.data : "");
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
      "tls_handshake_failed", "tls_version_mismatch", "service_unavailable",
      "wrong_protocol"};
  for(size_t i = 0; c && i < sizeof(ids) / sizeof(ids[0]); i++)
    if(strcmp(c->id, ids[i]) == 0)
      return true;
  return false;
}

mw_status mw_doctor_run(const mw_options *o, const char *from,
                        const char *to, mw_report **out)
{
  if(!o || !out || !o->host || (!from) != (!to) ||
     (from && o->protocol != MW_PROTOCOL_SMTP))
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
  r->protocol = local.protocol;
  if(local.protocol != MW_PROTOCOL_SMTP) {
    /* POP3 and IMAP (diag/doctor_incoming*.c): the host is a host, and
     * the SMTP-only parts (MX, the other submission ports, the sender
     * domain's records) do not apply. */
    r->host = mw__strdup(local.host);
    r->port = mw__options_port(&local);
    r->tls_mode = mw_tls_mode_name(mw__options_tls_mode(&local));
    struct mw__addrlist addrs = {0};
    if(local.proxy_url || (mw__doctor_check_dns(r, &local, &addrs) &&
                           mw__doctor_check_tcp(r, &local, &addrs)))
      mw__doctor_incoming(r, &local);
    mw__addrlist_free(&addrs);
    mw__options_release(&local);
    if(!r->cause)
      mw__doctor_diagnose(r, "unknown_reply",
                          "the checks ended without a verdict", NULL);
    *out = r;
    return MW_OK;
  }
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
    mw__doctor_session(r, &local, from, to);
  else if(go && mw__doctor_check_dns(r, &local, &addrs) &&
          mw__doctor_check_tcp(r, &local, &addrs))
    mw__doctor_session(r, &local, from, to);
  mw__addrlist_free(&addrs);
  if(go && connection_level(r->cause))
    try_alternatives(r, &local);
  mw__doctor_deliverability(r, &local, from);
  mw__options_release(&local);
  if(!r->cause)
    mw__doctor_diagnose(r, "unknown_reply",
                        "the checks ended without a verdict", NULL);
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
mw_protocol mw_report_protocol(const mw_report *r)
{
  return r ? r->protocol : MW_PROTOCOL_SMTP;
}
