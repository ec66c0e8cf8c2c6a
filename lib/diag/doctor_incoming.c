/*
 * diag/doctor_incoming.c - doctor's verdict on a POP3 or IMAP server.
 *
 * DESCRIPTION
 *   Turns what the session showed (struct mw__incoming_facts, gathered by
 *   diag/doctor_incoming_run.c) into the report's rows after DNS and TCP
 *   (greeting, TLS, certificate, capabilities, login, mailbox), each with
 *   its time and evidence, and one diagnosis with a fix naming the
 *   protocol's own ports (IMAP 993/143, POP3 995/110).  The order of the
 *   questions follows the layers: another protocol on the port, a greeting
 *   that refuses, PREAUTH in the clear, the TLS mode, the certificate,
 *   STARTTLS, LOGINDISABLED, the login's refusal (its response code and
 *   text through the explain rules: app passwords, OAuth only, the
 *   protocol disabled for the account, a locked account, a mailbox in use,
 *   a login delay), then the mailbox (not found, no permission, over
 *   quota).
 *
 *   Pure: no I/O.  Decisions are taken on statuses, failure kinds, the
 *   step, the capabilities and response codes; the server's words are
 *   read only by the explain rules (diag/explain_incoming.c).
 */
#include "diag/doctor_incoming.h"

#include "diag/explain.h"
#include "tls/tls.h"

#include <stdio.h>
#include <string.h>

static const char *pname(const struct mw__incoming_facts *f)
{
  return f->protocol == MW_PROTOCOL_POP3 ? "POP3" : "IMAP";
}

static const char *starttls_word(const struct mw__incoming_facts *f)
{
  return f->protocol == MW_PROTOCOL_POP3 ? "STLS" : "STARTTLS";
}

static unsigned implicit_port(const struct mw__incoming_facts *f)
{
  return f->protocol == MW_PROTOCOL_POP3 ? 995 : 993;
}

static unsigned starttls_port(const struct mw__incoming_facts *f)
{
  return f->protocol == MW_PROTOCOL_POP3 ? 110 : 143;
}

static const char *status_word(const struct mw__incoming_facts *f)
{
  return f->protocol == MW_PROTOCOL_POP3 ? "+OK" : "* OK";
}

/* The refusal as the explain rules read it: "-ERR [CODE] text", "NO
 * [CODE] text" or, for an IMAP greeting, "* BYE [CODE] text". */
static bool explain_refusal(const struct mw__incoming_facts *f, bool bye,
                            const char *text, mw_explanation *x)
{
  const struct mw_error *e = f->err;
  if(!text)
    text = e->server_text ? e->server_text : "";
  char line[1024];
  const char *code = e->response_code;
  bool coded = code[0] && text[0] != '[';
  snprintf(line, sizeof(line), "%s %s%s%s%s",
           f->protocol == MW_PROTOCOL_POP3 ? "-ERR"
           : bye                          ? "* BYE"
                                          : "NO",
           coded ? "[" : "", coded ? code : "", coded ? "] " : "", text);
  bool specific = false;
  if(mw__explain(line, x, &specific) != MW_OK)
    return false;
  return specific;
}

/* ---- the rows of the steps reached ------------------------------------- */

static void caps_row(struct mw_report *r, const struct mw__incoming_facts *f)
{
  const char *caps = f->caps && f->caps[0] ? f->caps : "(none)";
  mw__doctor_check(r, "capabilities",
                   f->login_disabled && !f->encrypted ? MW_CHECK_WARN
                                                      : MW_CHECK_OK,
                   f->ms[MW__IN_CAPABILITY], "%s%s", caps,
                   f->login_disabled && !f->encrypted
                       ? (f->protocol == MW_PROTOCOL_IMAP
                              ? "; LOGINDISABLED: no login before TLS"
                              : "; no USER or SASL before TLS")
                       : "");
}

static void reached_rows(struct mw_report *r,
                         const struct mw__incoming_facts *f,
                         const struct mw_options *o)
{
  bool implicit = f->mode == MW_TLS_IMPLICIT;
  bool tls = f->tls && f->tls->handshake_done;
  if(implicit && f->step > MW__IN_TLS_IMPLICIT && tls) {
    mw__doctor_tls_rows(r, f->tls, f->tls_fallback, o, true,
                        f->ms[MW__IN_TLS_IMPLICIT]);
    r->detected_mode = "implicit";
  }
  if(f->greeting && (f->step > MW__IN_GREETING || f->preauth))
    mw__doctor_check(r, "greeting",
                     f->preauth && !f->encrypted ? MW_CHECK_WARN
                                                 : MW_CHECK_OK,
                     f->ms[MW__IN_GREETING], "%s %s",
                     f->preauth ? "* PREAUTH" : status_word(f), f->greeting);
  if(f->step > MW__IN_CAPABILITY)
    caps_row(r, f);
  if(!implicit && f->step > MW__IN_STARTTLS && tls) {
    mw__doctor_tls_rows(r, f->tls, f->tls_fallback, o, false,
                        f->ms[MW__IN_STARTTLS]);
    r->detected_mode = "starttls";
  }
  if(f->step > MW__IN_LOGIN) {
    if(f->auth_mech && strcmp(f->auth_mech, "PREAUTH") != 0)
      mw__doctor_check(r, "login", MW_CHECK_OK, f->ms[MW__IN_LOGIN],
                       "logged in as %s with %s",
                       o->user ? o->user : "(token)", f->auth_mech);
    else if(f->preauth)
      mw__doctor_check(r, "login", f->encrypted ? MW_CHECK_OK
                                                : MW_CHECK_WARN,
                       0, "already logged in by the server (PREAUTH)");
    else
      mw__doctor_check(r, "login", MW_CHECK_SKIPPED, 0,
                       "not tested (no credentials); offered: %s%s",
                       f->mechanisms && f->mechanisms[0] ? f->mechanisms
                                                         : "no SASL",
                       f->protocol == MW_PROTOCOL_POP3
                           ? ""
                           : (f->login_disabled ? ", LOGIN disabled"
                                                : ", LOGIN"));
  }
}

/* ---- diagnoses --------------------------------------------------------- */

static void wrong_protocol(struct mw_report *r,
                           const struct mw__incoming_facts *f,
                           const char *foreign, const char *layer,
                           double ms, const char *message)
{
  mw__doctor_check(r, layer, MW_CHECK_FAIL, ms, "%s", message);
  char summary[1024], fix[768];
  snprintf(summary, sizeof(summary),
           "%s port %u speaks %s, not %s: %s", r->host, r->port, foreign,
           pname(f), message);
  const char *also =
      !strcmp(foreign, "POP3")   ? "; to check it as POP3, give "
                                   "{server=pop3s://HOST:PORT}"
      : !strcmp(foreign, "IMAP") ? "; to check it as IMAP, give "
                                   "{server=imaps://HOST:PORT}"
                                 : "";
  snprintf(fix, sizeof(fix),
           "use the %s port: %u with {tls=implicit} (or %u with "
           "{tls=starttls})%s",
           pname(f), implicit_port(f), starttls_port(f), also);
  mw__doctor_diagnose(r, "wrong_protocol", summary, fix);
}

/* The port did not greet in the mode asked: the other attempt says what
 * it speaks. */
static void diagnose_mode(struct mw_report *r,
                          const struct mw__incoming_facts *f, double ms)
{
  const struct mw__in_other *a = &f->other;
  const char *message = mw_error_message(f->err);
  char summary[1400], fix[512];
  bool implicit = f->mode == MW_TLS_IMPLICIT;
  if(a->tried && a->foreign) {
    wrong_protocol(r, f, a->foreign, "tls", a->ms, a->message);
    return;
  }
  if(!implicit) {
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL, ms, "%s", message);
    if(a->tried && a->tls_answered) {
      r->detected_mode = "implicit";
      mw__doctor_check(r, "tls", MW_CHECK_FAIL, a->ms,
                       "implicit TLS, tried next: the port answered the "
                       "TLS handshake (%s)%s: it speaks implicit TLS",
                       a->tls_version,
                       a->greeted ? " and greets after it" : "");
      snprintf(summary, sizeof(summary),
               "%s port %u speaks implicit TLS, but the client waited for "
               "a plaintext greeting ({tls=%s})",
               r->host, r->port, mw_tls_mode_name(f->mode));
      snprintf(fix, sizeof(fix),
               "use {tls=implicit} on port %u (%s's implicit-TLS port is "
               "%u)",
               r->port, pname(f), implicit_port(f));
      mw__doctor_diagnose(r, "tls_mode_mismatch_expected_implicit", summary,
                          fix);
      return;
    }
    if(a->tried)
      mw__doctor_check(r, "tls", MW_CHECK_FAIL, a->ms,
                       "implicit TLS, tried next: %s", a->message);
    snprintf(summary, sizeof(summary), "%s%s%s%s", message,
             a->tried ? "; implicit TLS failed too (" : "",
             a->tried ? a->message : "", a->tried ? ")" : "");
    snprintf(fix, sizeof(fix),
             "the server is overloaded, hung or refuses this client, or "
             "something in between holds the connection: retry later or "
             "raise {greeting-timeout}, and check the port (%s)",
             mw__doctor_ports_hint(f->protocol));
    mw__doctor_diagnose(r, "greeting_timeout", summary, fix);
    return;
  }
  /* implicit TLS asked: plaintext tried next */
  mw__doctor_check(r, "tls", MW_CHECK_FAIL, ms, "%s", message);
  if(a->tried && a->greeted) {
    r->detected_mode = a->starttls_offered ? "starttls" : "plain";
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL, a->ms,
                     "plaintext, tried next: the port greets in %s%s",
                     pname(f),
                     a->starttls_offered ? " and offers STARTTLS/STLS"
                                         : " without STARTTLS/STLS");
    snprintf(summary, sizeof(summary),
             "%s port %u speaks plaintext %s%s%s, but the client started "
             "TLS at once ({tls=implicit})",
             r->host, r->port, pname(f),
             a->starttls_offered ? " with " : "",
             a->starttls_offered ? starttls_word(f) : "");
    if(a->starttls_offered)
      snprintf(fix, sizeof(fix),
               "use {tls=starttls} on port %u (or port %u with "
               "{tls=implicit})",
               r->port, implicit_port(f));
    else
      snprintf(fix, sizeof(fix),
               "this port has no TLS at all: use port %u with "
               "{tls=implicit} (or %u with {tls=starttls})",
               implicit_port(f), starttls_port(f));
    mw__doctor_diagnose(r, "tls_mode_mismatch_expected_plain", summary,
                        fix);
    return;
  }
  if(f->err->status == MW_E_TLS &&
     f->err->tls_failure == MW__TLS_FAIL_VERSION) {
    mw__doctor_diagnose(r, "tls_version_mismatch", message, NULL);
    return;
  }
  if(f->err->status == MW_E_TIMEOUT && a->tried && !a->greeted) {
    snprintf(summary, sizeof(summary),
             "%s; in plaintext the port said nothing either (%s)", message,
             a->message);
    mw__doctor_diagnose(r, "greeting_timeout", summary, NULL);
    return;
  }
  mw__doctor_diagnose(r, "tls_handshake_failed", message, NULL);
}

static void diagnose_greeting(struct mw_report *r,
                              const struct mw__incoming_facts *f, double ms)
{
  const struct mw_error *e = f->err;
  const char *message = mw_error_message(e);
  char summary[1400], fix[768];
  if(f->preauth) {
    snprintf(fix, sizeof(fix),
             "use implicit TLS: port %u with {tls=implicit}; a PREAUTH "
             "greeting on a network port means the server trusts every "
             "client of this address, which its administrator should "
             "check",
             implicit_port(f));
    mw__doctor_check(r, "tls", MW_CHECK_FAIL, ms, "%s", message);
    mw__doctor_diagnose(r, "incoming_preauth_insecure", message, fix);
    return;
  }
  if(e->status == MW_E_REJECTED) {
    const char *text = e->server_text ? e->server_text : "";
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL, ms, "%s%s%s%s%s",
                     f->protocol == MW_PROTOCOL_POP3 ? "-ERR " : "* BYE ",
                     e->response_code[0] && text[0] != '[' ? "[" : "",
                     text[0] != '[' ? e->response_code : "",
                     e->response_code[0] && text[0] != '[' ? "] " : "",
                     text);
    mw_explanation x;
    bool specific = explain_refusal(f, true, NULL, &x);
    const char *id =
        specific && !strcmp(x.cause_id, "rate_limited_connection")
            ? "rate_limited_connection"
        : e->temporary || (specific && x.temporary) ? "service_unavailable"
                                                    : "greeting_rejected";
    snprintf(summary, sizeof(summary),
             "%s port %u refused the session in its greeting: %s", r->host,
             r->port, message);
    if(!strcmp(id, "greeting_rejected"))
      snprintf(fix, sizeof(fix),
               "the server refuses this client (often by its address) or "
               "is not the account's %s server: check the host name the "
               "provider documents for %s, read the server's text, or ask "
               "its administrator",
               pname(f), pname(f));
    mw__doctor_diagnose(r, id, summary,
                        !strcmp(id, "rate_limited_connection") ? x.advice
                        : !strcmp(id, "greeting_rejected")     ? fix
                                                               : NULL);
    return;
  }
  if(e->status == MW_E_PROTOCOL) {
    mw__doctor_check(r, "greeting", MW_CHECK_FAIL, ms, "%s", message);
    mw__doctor_diagnose(r, "protocol_error", message, NULL);
    return;
  }
  if((e->status == MW_E_TIMEOUT || e->status == MW_E_CLOSED) &&
     !f->greeting) {
    diagnose_mode(r, f, ms);
    return;
  }
  mw__doctor_check(r, "greeting", MW_CHECK_FAIL, ms, "%s", message);
  mw__doctor_diagnose(r, "service_unavailable", message, NULL);
}

static void diagnose_starttls(struct mw_report *r,
                              const struct mw__incoming_facts *f,
                              const struct mw_options *o, double ms)
{
  const struct mw_error *e = f->err;
  const char *message = mw_error_message(e);
  char fix[512];
  if(e->status == MW_E_CERT) {
    mw__doctor_cert_failure(r, f->tls, o, false, ms, message);
    return;
  }
  mw__doctor_check(r, "tls", MW_CHECK_FAIL, ms, "%s", message);
  if(e->status == MW_E_NO_STARTTLS) {
    snprintf(fix, sizeof(fix),
             "this port offers no %s: use port %u with {tls=implicit}; "
             "without encryption ({tls=starttls-optional} or {tls=none}) "
             "the password and the mail cross the network in the clear",
             starttls_word(f), implicit_port(f));
    mw__doctor_diagnose(r, "starttls_not_offered", message, fix);
  }
  else if(e->status == MW_E_TLS)
    mw__doctor_diagnose(r, e->tls_failure == MW__TLS_FAIL_VERSION
                               ? "tls_version_mismatch"
                               : "tls_handshake_failed",
                        message, NULL);
  else if(e->status == MW_E_INJECTION || e->status == MW_E_PROTOCOL) {
    snprintf(fix, sizeof(fix),
             "responses came ahead of the TLS handshake: something on the "
             "path (or the server) answers commands not yet sent, the way "
             "an attacker injects them; do not send a password this way: "
             "use port %u with {tls=implicit}, and run with {trace} to see "
             "the dialogue",
             implicit_port(f));
    mw__doctor_diagnose(r, "protocol_error", message, fix);
  }
  else
    mw__doctor_diagnose(r, "temporary_failure", message, NULL);
}

/* Whether every mechanism offered is an OAuth one. */
static bool oauth_only(const char *mechs)
{
  bool any = false;
  const char *p = mechs ? mechs : "";
  while(*p) {
    while(*p == ' ')
      p++;
    size_t n = strcspn(p, " ");
    if(!n)
      break;
    if(!(n == 7 && mw__strnieq(p, "XOAUTH2", 7)) &&
       !(n == 11 && mw__strnieq(p, "OAUTHBEARER", 11)))
      return false;
    any = true;
    p += n;
  }
  return any;
}

static void diagnose_login(struct mw_report *r,
                           const struct mw__incoming_facts *f,
                           const struct mw_options *o, double ms)
{
  const struct mw_error *e = f->err;
  const char *message = mw_error_message(e);
  char summary[1400], fix[768];
  mw__doctor_check(r, "login", e->temporary ? MW_CHECK_WARN : MW_CHECK_FAIL,
                   ms, "%s", message);
  if(e->status == MW_E_AUTH_SERVER_UNVERIFIED) {
    mw__doctor_diagnose(r, "auth_server_unverified", message, NULL);
    return;
  }
  if(f->login_disabled && !f->encrypted &&
     (e->status == MW_E_AUTH_UNAVAILABLE || e->status == MW_E_INSECURE ||
      !strcmp(e->response_code, "PRIVACYREQUIRED"))) {
    snprintf(fix, sizeof(fix),
             "use TLS: port %u with {tls=implicit}, or {tls=starttls} on "
             "port %u%s",
             implicit_port(f), starttls_port(f),
             f->starttls_offered ? " (this server offers it)" : "");
    mw__doctor_diagnose(r, "incoming_login_disabled", message, fix);
    return;
  }
  if(e->status == MW_E_INSECURE) {
    snprintf(fix, sizeof(fix), "%s",
             f->starttls_offered
                 ? "use {tls=starttls} (the server offers it)"
                 : "use an encrypted port: 993 ({tls=implicit}) for IMAP, "
                   "995 for POP3");
    mw__doctor_diagnose(r, "auth_requires_tls", message, fix);
    return;
  }
  if(e->status == MW_E_AUTH_UNAVAILABLE) {
    bool oauth = oauth_only(f->mechanisms) &&
                 (f->protocol == MW_PROTOCOL_POP3 || f->login_disabled);
    mw__doctor_diagnose(r,
                        oauth && !f->has_token ? "auth_oauth_required"
                                               : "auth_mechanism_unsupported",
                        message, NULL);
    return;
  }
  if(e->oauth_status[0] && !e->temporary) {
    mw__doctor_diagnose(r, "auth_token_rejected", message, NULL);
    return;
  }
  mw_explanation x;
  bool specific = e->server_text && explain_refusal(f, false, NULL, &x);
  if(!specific && f->alert && f->alert[0])
    specific = explain_refusal(f, false, f->alert, &x);
  const char *id = specific ? x.cause_id : NULL;
  const char *advice = specific ? x.advice : NULL;
  if(id && !strcmp(id, "auth_oauth_required")) {
    /* Exchange's "AUTHENTICATE failed." says nothing on its own: it is
     * the account's OAuth-only policy when the server offers OAuth and a
     * password was refused, the token when one was given. */
    if(f->has_token)
      id = "auth_token_rejected", advice = NULL;
    else if(!f->oauth_offered)
      id = "auth_failed", advice = NULL;
  }
  else if(id && !strcmp(id, "auth_failed") && f->oauth_offered &&
          !f->has_token && x.provider && !strcmp(x.provider, "Microsoft 365"))
    id = "auth_oauth_required";
  if(!id)
    id = e->status == MW_E_AUTH                                 ? "auth_failed"
         : e->status == MW_E_TIMEOUT || e->status == MW_E_CLOSED ? "temporary_failure"
         : e->status == MW_E_PROTOCOL                            ? "protocol_error"
         : e->temporary                                          ? "auth_temporary"
                                                                 : "unknown_reply";
  if(specific && x.provider)
    snprintf(summary, sizeof(summary), "%s (%s: %s)", message, x.provider,
             x.meaning);
  else if(specific)
    snprintf(summary, sizeof(summary), "%s (%s)", message, x.meaning);
  else
    snprintf(summary, sizeof(summary), "%s", message);
  (void)o;
  mw__doctor_diagnose(r, id, summary, advice);
}

static void diagnose_mailbox(struct mw_report *r,
                             const struct mw__incoming_facts *f, double ms)
{
  const struct mw_error *e = f->err;
  const char *message = mw_error_message(e);
  mw__doctor_check(r, "mailbox", MW_CHECK_FAIL, ms, "%s", message);
  mw_explanation x;
  bool specific = e->server_text && explain_refusal(f, false, NULL, &x);
  char summary[1400], fix[768];
  const char *id = specific ? x.cause_id : NULL;
  const char *advice = specific ? x.advice : NULL;
  if(!id)
    id = e->status == MW_E_TIMEOUT || e->status == MW_E_CLOSED
             ? "temporary_failure"
         : e->status == MW_E_PROTOCOL ? "protocol_error"
                                      : "unknown_reply";
  if(!strcmp(id, "mailbox_not_found") && f->mailbox) {
    snprintf(fix, sizeof(fix),
             "the server has no mailbox \"%s\": check its name (case and "
             "hierarchy separator matter; INBOX always exists) and give it "
             "in the server URL, {server=imaps://HOST/NAME}",
             f->mailbox);
    advice = fix;
  }
  snprintf(summary, sizeof(summary), "%s%s%s%s", message,
           specific ? " (" : "", specific ? x.meaning : "",
           specific ? ")" : "");
  mw__doctor_diagnose(r, id, summary, advice);
}

static void healthy(struct mw_report *r, const struct mw__incoming_facts *f,
                    const struct mw_options *o)
{
  bool implicit = f->mode == MW_TLS_IMPLICIT;
  if(!f->encrypted) {
    mw__doctor_check(r, "tls", MW_CHECK_WARN, 0,
                     "the connection is NOT encrypted ({tls=%s})",
                     mw_tls_mode_name(f->mode));
    r->detected_mode = "plain";
  }
  if(f->mailbox)
    mw__doctor_check(r, "mailbox", MW_CHECK_OK, f->ms[MW__IN_MAILBOX],
                     "SELECT %s: %llu message%s (UIDVALIDITY %u)",
                     f->mailbox, (unsigned long long)f->messages,
                     f->messages == 1 ? "" : "s", (unsigned)f->uidvalidity);
  else if(f->auth_mech && f->protocol == MW_PROTOCOL_POP3)
    mw__doctor_check(r, "mailbox", MW_CHECK_OK, f->ms[MW__IN_MAILBOX],
                     "STAT: %llu message%s, %llu octets",
                     (unsigned long long)f->messages,
                     f->messages == 1 ? "" : "s",
                     (unsigned long long)f->octets);
  else
    mw__doctor_check(r, "mailbox", MW_CHECK_SKIPPED, 0,
                     "not tested (needs a login)");
  char fix[768];
  if(!f->encrypted && f->login_disabled) {
    snprintf(fix, sizeof(fix),
             "use TLS: port %u with {tls=implicit}, or {tls=starttls} on "
             "port %u",
             implicit_port(f), starttls_port(f));
    mw__doctor_diagnose(r, "incoming_login_disabled",
                        "the server allows no login on this unencrypted "
                        "connection",
                        fix);
    return;
  }
  if(!f->encrypted && f->preauth) {
    snprintf(fix, sizeof(fix), "use port %u with {tls=implicit}",
             implicit_port(f));
    mw__doctor_diagnose(r, "incoming_preauth_insecure",
                        "the server greeted with PREAUTH and the session "
                        "went on unencrypted",
                        fix);
    return;
  }
  char summary[512];
  snprintf(summary, sizeof(summary), "%s port %u works: %s, %s%s%s%s",
           r->host, r->port, pname(f),
           f->encrypted ? (implicit ? "implicit TLS" : starttls_word(f))
                        : "plaintext",
           f->auth_mech ? ", login " : "", f->auth_mech ? f->auth_mech : "",
           f->mailbox ? ", mailbox opened" : "");
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  mw__sbuf_puts(&b, "nothing to fix: use ");
  const char *mode = f->encrypted ? (implicit ? "implicit" : "starttls")
                                  : mw_tls_mode_name(f->mode);
  const char *scheme = f->protocol == MW_PROTOCOL_POP3
                           ? (implicit ? "pop3s" : "pop3")
                           : (implicit ? "imaps" : "imap");
  mw__doctor_use_url(o, scheme, r->host, r->port, mode, &b);
  mw__doctor_diagnose(r, "healthy", summary, b.data);
  mw__sbuf_free(&b);
}

void mw__doctor_incoming_verdict(struct mw_report *r,
                                 const struct mw__incoming_facts *f,
                                 const struct mw_options *o)
{
  reached_rows(r, f, o);
  double ms = f->step < MW__IN_DONE ? f->ms[f->step] : 0;
  if(f->step < MW__IN_DONE && mw__doctor_tls_unavailable(r, f->err, ms))
    return;
  if(f->step < MW__IN_DONE && f->err->foreign_protocol) {
    wrong_protocol(r, f, f->err->foreign_protocol,
                   f->step == MW__IN_TLS_IMPLICIT ? "tls" : "greeting", ms,
                   mw_error_message(f->err));
    return;
  }
  if(f->step < MW__IN_DONE && f->err->status == MW_E_PROXY) {
    /* through --proxy: the proxy's failure is the diagnosis */
    mw__doctor_check(r, "proxy", MW_CHECK_FAIL, ms, "%s",
                     mw_error_message(f->err));
    mw__doctor_diagnose(r,
                        f->err->proxy_failure == MW__PROXY_FAIL_AUTH
                            ? "proxy_auth_failed"
                        : f->err->proxy_failure == MW__PROXY_FAIL_TARGET
                            ? "proxy_refused_target"
                            : "proxy_unreachable",
                        mw_error_message(f->err), NULL);
    return;
  }
  switch(f->step) {
  case MW__IN_TLS_IMPLICIT:
    if(f->err->status == MW_E_CERT)
      mw__doctor_cert_failure(r, f->tls, o, true, ms,
                              mw_error_message(f->err));
    else
      diagnose_mode(r, f, ms);
    return;
  case MW__IN_GREETING:
    diagnose_greeting(r, f, ms);
    return;
  case MW__IN_CAPABILITY:
    mw__doctor_check(r, "capabilities", MW_CHECK_FAIL, ms, "%s",
                     mw_error_message(f->err));
    mw__doctor_diagnose(r, f->err->status == MW_E_PROTOCOL
                               ? "protocol_error"
                               : "temporary_failure",
                        mw_error_message(f->err), NULL);
    return;
  case MW__IN_STARTTLS:
    diagnose_starttls(r, f, o, ms);
    return;
  case MW__IN_LOGIN:
    diagnose_login(r, f, o, ms);
    return;
  case MW__IN_MAILBOX:
    diagnose_mailbox(r, f, ms);
    return;
  case MW__IN_DONE:
    healthy(r, f, o);
    return;
  }
}
