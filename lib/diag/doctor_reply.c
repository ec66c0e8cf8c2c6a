/*
 * diag/doctor_reply.c - what a refusal at a step of the session means, and
 * the "use ..." line doctor recommends.
 *
 * DESCRIPTION
 *   A refusal names the step (EHLO/HELO, STARTTLS, AUTH, MAIL FROM, RCPT
 *   TO, DATA, the final dot) and quotes the server's reply.  Its cause
 *   comes from mw__explain(): the providers' texts, the enhanced status
 *   code (RFC 3463) and the words first, the basic code only when it is
 *   unambiguous.  A reply that fits none of the catalogue's causes is
 *   diagnosed as unknown_reply, quoting it, with the step's own advice,
 *   rather than as the nearest cause (a 550 is not always an unknown
 *   recipient) or as a protocol error whose fix is about firewalls.
 *
 *   The "use ..." line is pasteable as is: an IPv6 literal in brackets,
 *   and every setting that made the connection work (the CA file, the
 *   pinned fingerprint, the server name, the client certificate, --bind,
 *   the proxy without its password, the PROXY protocol version) kept.
 */
#include "diag/doctor_int.h"

#include "core/setting.h"
#include "diag/explain.h"

#include <stdio.h>
#include <string.h>

static const char *step_fix(enum mw__doctor_step step, bool temporary)
{
  if(temporary)
    return "retry later; if it keeps failing, the server's text (quoted "
           "above) or its administrator says why";
  switch(step) {
  case MW__STEP_EHLO:
    return mw_cause_find("ehlo_rejected")->fix;
  case MW__STEP_STARTTLS:
    return mw_cause_find("starttls_not_offered")->fix;
  case MW__STEP_AUTH:
    return "the server's text (quoted above) says what it objects to: the "
           "user name ({user}), the password or token, the mechanism "
           "({auth}) or the account's right to use SMTP";
  case MW__STEP_MAIL:
    return "the server objects to the sender: use a {from} address the "
           "account may send as, in a domain that exists; the server's "
           "text (quoted above) says more";
  case MW__STEP_RCPT:
    return "the server objects to this recipient: check the address, and "
           "authenticate ({user} with {password}) unless the server is "
           "the recipient's own; the server's text (quoted above) says "
           "more";
  case MW__STEP_DATA:
  case MW__STEP_DOT:
  default:
    return "the server refused the message: its text (quoted above) says "
           "why (content, size, policy); change what it names before "
           "sending again";
  }
}

const char *mw__doctor_step_name(enum mw__doctor_step step)
{
  static const char *const names[] = {"EHLO/HELO", "STARTTLS", "AUTH",
                                      "MAIL FROM", "RCPT TO", "DATA",
                                      "the message (after the final dot)"};
  return (unsigned)step < sizeof(names) / sizeof(names[0]) ? names[step]
                                                           : "a command";
}

void mw__doctor_refusal(struct mw_report *r, enum mw__doctor_step step,
                        const char *what, int code, const char *enhanced,
                        const char *text, bool has_credentials)
{
  char reply[600];
  snprintf(reply, sizeof(reply), "%d%s%s %s", code,
           enhanced && enhanced[0] ? " " : "", enhanced ? enhanced : "",
           text ? text : "");
  /* one line in the summary: the reply's lines joined */
  for(char *p = reply; *p; p++)
    if(*p == '\n' || *p == '\r')
      *p = ' ';
  mw_explanation x;
  bool specific = false;
  const char *id = NULL;
  const char *advice = NULL;
  if(code && mw__explain(reply, &x, &specific) == MW_OK && specific &&
     strcmp(x.cause_id, "healthy") != 0 &&
     strcmp(x.cause_id, "unknown_reply") != 0) {
    id = x.cause_id;
    advice = x.advice;
  }
  /* A refusal at RCPT (or MAIL) of a session that did not authenticate,
   * when the reply asks for authentication, whatever words it uses. */
  if(!has_credentials && (step == MW__STEP_RCPT || step == MW__STEP_MAIL) &&
     (code == 530 || (id && (!strcmp(id, "auth_required") ||
                             !strcmp(id, "auth_failed"))))) {
    id = "auth_required";
    advice = NULL;
  }
  /* At EHLO/HELO the step is what was refused: its own cause, unless the
   * reply names one that needs another fix (a blocklist, a throttle). */
  if(id && step == MW__STEP_EHLO && strcmp(id, "blocklisted") != 0 &&
     strcmp(id, "rate_limited") != 0 &&
     strcmp(id, "rate_limited_connection") != 0 &&
     strcmp(id, "service_unavailable") != 0) {
    id = NULL;
    advice = NULL;
  }
  /* A sender refusal is not an unknown recipient, and the reverse. */
  if(id && step == MW__STEP_MAIL && !strcmp(id, "recipient_unknown"))
    id = NULL;
  /* The step's own cause when the step itself is what was refused. */
  if(!id && step == MW__STEP_EHLO)
    id = "ehlo_rejected";
  if(!id && step == MW__STEP_STARTTLS)
    id = "starttls_not_offered";
  char summary[1024];
  if(id)
    snprintf(summary, sizeof(summary),
             "the server refused %s%s%s: \"%s\"", mw__doctor_step_name(step),
             what ? " " : "", what ? what : "", reply);
  else
    snprintf(summary, sizeof(summary),
             "the server refused %s%s%s with a reply that fits none of the "
             "causes mailwire knows: \"%s\"",
             mw__doctor_step_name(step), what ? " " : "", what ? what : "",
             reply);
  mw__doctor_diagnose(r, id ? id : "unknown_reply", summary,
                      advice && advice[0]
                          ? advice
                          : id ? NULL : step_fix(step, code / 100 == 4));
}

/* The proxy URL without its user:password: printed flags must not leak
 * it; the user adds it back. */
static void proxy_shown(const char *url, struct mw__sbuf *b)
{
  const char *scheme_end = strstr(url, "://");
  const char *at = scheme_end ? strrchr(scheme_end, '@') : NULL;
  if(!at)
    mw__sbuf_puts(b, url);
  else
    mw__sbuf_printf(b, "%.*sUSER:PASSWORD@%s",
                    (int)(scheme_end + 3 - url), url, at + 1);
}

/* Appends " {ID=VALUE}" with VALUE escaped (core/setting.h). */
static void use_setting(struct mw__sbuf *b, const char *id, const char *value)
{
  mw__sbuf_printf(b, " {%s=", id);
  mw__sbuf_put_value(b, value);
  mw__sbuf_puts(b, "}");
}

static void use_rest(const struct mw_options *o, struct mw__sbuf *b);

void mw__doctor_use_line(const struct mw_options *o, const char *host,
                         unsigned port, const char *mode,
                         struct mw__sbuf *b)
{
  struct mw__sbuf hp;
  mw__sbuf_init(&hp);
  if(strchr(host, ':'))
    mw__sbuf_printf(&hp, "[%s]:%u", host, port);
  else
    mw__sbuf_printf(&hp, "%s:%u", host, port);
  mw__sbuf_puts(b, "{server=");
  mw__sbuf_put_value(b, hp.data ? hp.data : "");
  mw__sbuf_printf(b, "} {tls=%s}", mode);
  mw__sbuf_free(&hp);
  use_rest(o, b);
}

void mw__doctor_use_url(const struct mw_options *o, const char *scheme,
                        const char *host, unsigned port, const char *mode,
                        struct mw__sbuf *b)
{
  struct mw__sbuf hp;
  mw__sbuf_init(&hp);
  if(strchr(host, ':'))
    mw__sbuf_printf(&hp, "%s://[%s]:%u", scheme, host, port);
  else
    mw__sbuf_printf(&hp, "%s://%s:%u", scheme, host, port);
  mw__sbuf_puts(b, "{server=");
  mw__sbuf_put_value(b, hp.data ? hp.data : "");
  mw__sbuf_printf(b, "} {tls=%s}", mode);
  mw__sbuf_free(&hp);
  use_rest(o, b);
}

/* The settings that carry over, after the server and the mode. */
static void use_rest(const struct mw_options *o, struct mw__sbuf *b)
{
  if(o->ca_file)
    use_setting(b, "tls-ca-file", o->ca_file);
  if(o->fingerprint[0])
    use_setting(b, "tls-fingerprint", o->fingerprint);
  if(o->tls_server_name)
    use_setting(b, "tls-server-name", o->tls_server_name);
  if(o->tls_cert_file)
    use_setting(b, "tls-cert", o->tls_cert_file);
  if(o->tls_key_file)
    use_setting(b, "tls-key", o->tls_key_file);
  if(o->bind)
    use_setting(b, "bind", o->bind);
  if(o->proxy_url) {
    struct mw__sbuf px;
    mw__sbuf_init(&px);
    proxy_shown(o->proxy_url, &px);
    use_setting(b, "proxy", px.data ? px.data : "");
    mw__sbuf_free(&px);
  }
  if(o->proxy_protocol)
    mw__sbuf_printf(b, " {proxy-protocol=v%d}", o->proxy_protocol);
}
