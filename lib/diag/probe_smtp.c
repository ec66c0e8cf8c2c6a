/*
 * diag/probe_smtp.c - what one probe connection's SMTP machine says, as
 * rows.
 *
 * Owns: reading the SMTP client's state machine (proto/smtp.h, the same
 * one every session runs: greeting, EHLO or the HELO fallback, STARTTLS
 * with its injection check, the handshakes) as the probe's rows: its
 * transitions (the TLS facts once a handshake completes, the plaintext
 * row once the first EHLO or HELO is answered), where it stopped (the
 * capabilities) and what a failure means in the state it happened in.
 * Decisions use statuses and the error's kinds, never its words.  Nothing
 * here touches a socket or steps the machine.
 */
#include "diag/probe_int.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

static void record_tls(struct probe_conn *c, struct probe_row *r)
{
  const struct mw_smtp *s = c->smtp;
  snprintf(r->tls_version, sizeof(r->tls_version), "%s", s->tls_info.version);
  r->cert = mw__tls_verdict(&c->ctx->policy, &s->tls_info);
}

static void record_auth(struct probe_conn *c, struct probe_row *r)
{
  const struct mw__capa_entry *e = mw__capa_find(&c->smtp->capa, "AUTH");
  snprintf(r->auth, sizeof(r->auth), "%s", e && e->params ? e->params : "");
}

/* The reply attached to the session's error: "554 5.7.1 go away" (its
 * first line). */
static void said(const struct mw_error *e, char *buf, size_t len)
{
  const char *text = e->server_text ? e->server_text : "";
  size_t n = strcspn(text, "\n");
  snprintf(buf, len, "%d%s%s %.*s", e->reply_code, e->enhanced[0] ? " " : "",
           e->enhanced, (int)(n > 200 ? 200 : n), text);
}

/* The plaintext EHLO (or HELO) was answered: the plain row, and the
 * STARTTLS row when there can be no STARTTLS. */
static void plain_answered(struct probe_conn *c)
{
  struct mw_smtp *s = c->smtp;
  struct probe_row *row = mw__probe_conn_row(c);
  struct probe_row *st_row = mw__probe_starttls_row(c);
  record_auth(c, row);
  mw__probe_stamp_rows(c);
  if(!s->esmtp) {
    /* A HELO-only server (RFC 821): mail can go, without extensions, so
     * without STARTTLS or AUTH. */
    mw__probe_row_set(row, "works",
                      "plaintext SMTP, HELO only (EHLO refused: %s) (never "
                      "recommended)",
                      s->ehlo_refused);
    mw__probe_row_set(st_row, "no_starttls",
                      "no ESMTP, so no STARTTLS (EHLO refused: %s)",
                      s->ehlo_refused);
    return;
  }
  mw__probe_row_set(row, "works", "plaintext SMTP (never recommended)%s",
                    row->auth[0] ? "; AUTH offered without encryption" : "");
  if(!mw__capa_has(&s->capa, "STARTTLS"))
    mw__probe_row_set(st_row, "no_starttls",
                      "the server does not offer STARTTLS on this port");
}

void mw__probe_on_transition(void *user, enum mw__smtp_state from,
                             enum mw__smtp_state to)
{
  struct probe_conn *c = user;
  if(to != MW__SMTP_BROKEN)
    c->at = to;
  if(from == MW__SMTP_TLS_IMPLICIT && to == MW__SMTP_GREETING) {
    c->tls_up = true;
    record_tls(c, mw__probe_conn_row(c));
  }
  if(from == MW__SMTP_TLS_STARTTLS && to == MW__SMTP_EHLO_TLS) {
    c->tls_up = true;
    record_tls(c, mw__probe_starttls_row(c));
  }
  if(!c->implicit && (from == MW__SMTP_EHLO || from == MW__SMTP_HELO) &&
     to != MW__SMTP_HELO && to != MW__SMTP_BROKEN)
    plain_answered(c);
}

/* Implicit TLS works on this port: the plaintext connection to it that
 * has heard nothing is waiting for a greeting that will never come.  End
 * it now rather than at the deadline (the usual case: 465 answers in
 * milliseconds, and the probe need not wait for its plaintext twin). */
static void abandon_plain_twin(struct probe_conn *c)
{
  for(size_t i = 0; i < c->ctx->nconn; i++) {
    struct probe_conn *t = &c->ctx->conns[i];
    if(t == c || t->implicit || t->host != c->host || t->port != c->port)
      continue;
    bool waiting =
        (t->phase == PC_CONNECT &&
         (!t->build || /* not started yet */
          mw__stack_stage(t->build) == MW__STACK_CONNECT)) ||
        (t->phase == PC_SMTP && t->smtp->sm == MW__SMTP_GREETING &&
         !mw__engine_bytes_in(&t->smtp->eng));
    if(!waiting)
      continue;
    mw__probe_conn_finish(t, "mismatch",
                          "no greeting in plaintext, and implicit TLS works "
                          "on this port: it speaks implicit TLS (a plaintext "
                          "client waits for a greeting that never comes)");
  }
}

void mw__probe_on_capabilities(struct probe_conn *c)
{
  struct mw_smtp *s = c->smtp;
  struct probe_row *row = mw__probe_conn_row(c);
  struct probe_row *st_row = mw__probe_starttls_row(c);
  if(c->implicit) {
    record_auth(c, row);
    if(s->esmtp)
      mw__probe_row_set(row, "works", "implicit TLS, %s", s->tls_info.version);
    else
      mw__probe_row_set(row, "works",
                        "implicit TLS, %s; HELO only (EHLO refused: %s), so "
                        "no AUTH",
                        s->tls_info.version, s->ehlo_refused);
    mw__probe_conn_finish(c, "works", NULL);
    abandon_plain_twin(c);
    return;
  }
  if(s->tls) {
    record_auth(c, st_row);
    mw__probe_row_set(st_row, "works", "STARTTLS, then %s",
                      s->tls_info.version);
  }
  else if(s->starttls_refused[0]) {
    mw__probe_row_set(st_row, "no_starttls", "STARTTLS refused: %s",
                      s->starttls_refused);
  }
  mw__probe_conn_finish(c, "works", NULL);
}

void mw__probe_on_failure(struct probe_conn *c, mw_status st)
{
  struct mw_smtp *s = c->smtp;
  const struct mw_error *e = &s->err;
  enum mw__smtp_state at = c->at;
  char d[PROBE_MSG_LEN + 300], reply[300];
  switch(st) {
  case MW_E_INJECTION:
    mw__probe_row_set(mw__probe_starttls_row(c), "protocol",
                      "%zu bytes arrived after the 220 to STARTTLS, before "
                      "the TLS handshake (possible injection)",
                      s->injected);
    mw__probe_conn_finish(c, "works", NULL);
    return;
  case MW_E_TLS:
  case MW_E_CERT:
    if(at == MW__SMTP_TLS_IMPLICIT &&
       e->tls_failure == MW__TLS_FAIL_PLAINTEXT) {
      mw__probe_conn_finish(c, "mismatch",
                            "the port answered in plaintext: it speaks "
                            "plain SMTP or STARTTLS, not implicit TLS");
      return;
    }
    mw__probe_conn_finish(c, "tls_failed", e->message);
    return;
  case MW_E_REJECTED:
    said(e, reply, sizeof(reply));
    if(at == MW__SMTP_GREETING)
      snprintf(d, sizeof(d), "the greeting refuses service: %s", reply);
    else if(at == MW__SMTP_HELO)
      snprintf(d, sizeof(d), "HELO refused: %s (EHLO refused: %s)", reply,
               s->ehlo_refused);
    else if(at == MW__SMTP_EHLO || at == MW__SMTP_EHLO_TLS)
      snprintf(d, sizeof(d), "EHLO refused: %s", reply);
    else
      snprintf(d, sizeof(d), "%s", e->message);
    mw__probe_conn_finish(c, "rejected", d);
    return;
  case MW_E_PROTOCOL:
    if(e->foreign_protocol) {
      snprintf(d, sizeof(d),
               "the port speaks %s%s, not SMTP: use an SMTP port (587 with "
               "{tls=starttls}, 465 with {tls=implicit})",
               e->foreign_protocol, c->tls_up ? " over TLS" : "");
      mw__probe_conn_finish(c, "wrong_protocol", d);
      return;
    }
    if(e->protocol_failure == MW__PROTO_FAIL_TLS_BYTES) {
      mw__probe_conn_finish(c, "mismatch",
                            "the port answered with TLS bytes: it speaks "
                            "implicit TLS, not plaintext");
      return;
    }
    if(e->protocol_failure == MW__PROTO_FAIL_LINE_TOO_LONG) {
      snprintf(d, sizeof(d), "a reply line is too long (%s)", e->message);
      mw__probe_conn_finish(c, "protocol", d);
      return;
    }
    mw__probe_conn_finish(c, "protocol", e->message);
    return;
  case MW_E_CLOSED:
    if(at == MW__SMTP_GREETING && !mw__engine_bytes_in(&s->eng)) {
      snprintf(d, sizeof(d),
               "accepted the connection, then closed it without a greeting "
               "(%s)",
               e->message);
      mw__probe_conn_finish(c, "closed", d);
      return;
    }
    mw__probe_conn_finish(c, "closed", e->message);
    return;
  case MW_E_TIMEOUT:
    mw__probe_conn_finish(c, "timeout", e->message);
    return;
  default:
    mw__probe_conn_finish(c, "protocol", e->message);
    return;
  }
}

void mw__probe_on_connect_failure(struct probe_conn *c, mw_status st)
{
  const struct mw_error *e = &c->err;
  const char *outcome = "unreachable";
  if(st == MW_E_PROXY || c->ctx->use_proxy)
    outcome = "proxy";
  else if(st == MW_E_TIMEOUT)
    outcome = "timeout";
  else if(st == MW_E_CONNECT && e->connect_refused)
    outcome = "refused";
  mw__probe_conn_finish(c, outcome, e->message);
}
