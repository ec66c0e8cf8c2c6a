/*
 * diag/probe_smtp.c - one probe connection's SMTP dialogue.
 *
 * Owns: the connection's state machine (enum conn_state in probe_int.h):
 * the implicit TLS handshake, the greeting, EHLO (or a HELO-only server),
 * STARTTLS with its injection check, the handshake after it and the
 * second EHLO; what each reply means for the rows; and what an expired
 * deadline means in each state.  Only EHLO, STARTTLS and QUIT are ever
 * sent.  Bytes move through probe_conn.c; nothing here touches a socket.
 */
#include "diag/probe_int.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* -- the dialogue ------------------------------------------------------- */

void mw__probe_start_tls(struct probe_conn *c, enum conn_state next)
{
  /* SNI and the name check use the host probed (or the override). */
  struct mw__tls_policy policy = c->ctx->policy;
  policy.server_name = c->ctx->opt->tls_server_name
                           ? c->ctx->opt->tls_server_name
                           : c->host->name;
  mw__error_clear(&c->err);
  if(mw__tls_nb_new(c->fd, &policy, &c->err, &c->tls)) {
    mw__probe_conn_finish(c, "tls_failed", c->err.message);
    return;
  }
  c->state = next;
}

static void record_tls(struct probe_conn *c, struct probe_row *r)
{
  snprintf(r->tls_version, sizeof(r->tls_version), "%s", c->info.version);
  r->cert = mw__tls_verdict(&c->ctx->policy, &c->info);
}

static void record_auth(struct probe_conn *c, struct probe_row *r)
{
  const struct mw__capa_entry *e = mw__capa_find(&c->capa, "AUTH");
  snprintf(r->auth, sizeof(r->auth), "%s", e ? e->params : "");
}

static void reply_summary(const struct mw__reply *r, char *buf, size_t len)
{
  const char *text = r->text ? r->text : "";
  size_t n = strcspn(text, "\n");
  snprintf(buf, len, "%d %.*s", r->code, (int)(n > 200 ? 200 : n), text);
}

/* Implicit TLS works on this port: the plaintext connection to it that
 * has heard nothing is waiting for a greeting that will never come.  End
 * it now rather than at the deadline (the usual case: 465 answers in
 * milliseconds, and the probe need not wait for its plaintext twin). */
static void abandon_plain_twin(struct probe_conn *c)
{
  for(size_t i = 0; i < c->ctx->nconn; i++) {
    struct probe_conn *t = &c->ctx->conns[i];
    if(t == c || t->implicit || t->host != c->host || t->port != c->port ||
       (t->state != CS_GREETING && t->state != CS_CONNECT) || t->got_bytes)
      continue;
    mw__probe_conn_finish(t, "mismatch",
                          "no greeting in plaintext, and implicit TLS works "
                          "on this port: it speaks implicit TLS (a plaintext "
                          "client waits for a greeting that never comes)");
  }
}

/* A complete reply arrived in the current state. */
static void on_reply(struct probe_conn *c)
{
  struct mw__reply *r = &c->reply;
  char said[260];
  reply_summary(r, said, sizeof(said));
  struct probe_row *row = mw__probe_conn_row(c);
  struct probe_row *st_row = mw__probe_starttls_row(c);
  switch(c->state) {
  case CS_GREETING:
    if(r->code != 220) {
      char d[300];
      snprintf(d, sizeof(d), "the greeting refuses service: %s", said);
      mw__probe_conn_finish(c, "rejected", d);
      return;
    }
    c->state = CS_EHLO;
    break;
  case CS_EHLO:
  case CS_EHLO2: {
    if(r->code / 100 == 5 && c->state == CS_EHLO) {
      /* A HELO-only server (RFC 821): mail can go, without extensions,
       * so without STARTTLS or AUTH. */
      if(c->implicit) {
        mw__probe_row_set(row, "works",
                          "implicit TLS, %s; HELO only (EHLO refused: %s), "
                          "so no AUTH",
                          c->info.version, said);
      }
      else {
        mw__probe_row_set(row, "works",
                          "plaintext SMTP, HELO only (EHLO refused: %s) "
                          "(never recommended)",
                          said);
        mw__probe_row_set(st_row, "no_starttls",
                          "no ESMTP, so no STARTTLS (EHLO refused: %s)", said);
      }
      mw__probe_conn_finish(c, "works", NULL);
      return;
    }
    if(r->code != 250) {
      char d[300];
      snprintf(d, sizeof(d), "EHLO refused: %s", said);
      mw__probe_conn_finish(c, "rejected", d);
      return;
    }
    mw__capa_clear(&c->capa);
    mw__capa_init(&c->capa);
    mw__capa_parse(&c->capa, r->text);
    if(c->state == CS_EHLO2) {
      record_auth(c, st_row);
      mw__probe_row_set(st_row, "works", "STARTTLS, then %s", c->info.version);
      mw__probe_conn_finish(c, "works", NULL);
      return;
    }
    if(c->implicit) {
      record_auth(c, row);
      mw__probe_row_set(row, "works", "implicit TLS, %s", c->info.version);
      mw__probe_conn_finish(c, "works", NULL);
      abandon_plain_twin(c);
      return;
    }
    record_auth(c, row);
    mw__probe_stamp_rows(c);
    mw__probe_row_set(row, "works", "plaintext SMTP (never recommended)%s",
                      row->auth[0] ? "; AUTH offered without encryption" : "");
    if(!mw__capa_has(&c->capa, "STARTTLS")) {
      mw__probe_row_set(st_row, "no_starttls",
                        "the server does not offer STARTTLS on this port");
      mw__probe_conn_finish(c, "works", NULL);
      return;
    }
    c->state = CS_STARTTLS;
    if(!mw__probe_conn_queue(c, "STARTTLS"))
      mw__probe_conn_finish(c, "protocol", "internal: output full");
    break;
  }
  case CS_STARTTLS:
    if(r->code != 220) {
      char d[300];
      snprintf(d, sizeof(d), "STARTTLS refused: %s", said);
      mw__probe_row_set(st_row, "no_starttls", "%s", d);
      mw__probe_conn_finish(c, "works", NULL);
      return;
    }
    if(c->inlen) {
      char d[200];
      snprintf(d, sizeof(d),
               "%zu bytes arrived after the 220 to STARTTLS, before the TLS "
               "handshake (possible injection)",
               c->inlen);
      mw__probe_row_set(st_row, "protocol", "%s", d);
      mw__probe_conn_finish(c, "works", NULL);
      return;
    }
    mw__probe_start_tls(c, CS_TLS2);
    break;
  default:
    break;
  }
  if(c->state == CS_EHLO || c->state == CS_EHLO2) {
    char ehlo[300];
    snprintf(ehlo, sizeof(ehlo), "EHLO %s", c->ctx->helo);
    if(!mw__probe_conn_queue(c, ehlo))
      mw__probe_conn_finish(c, "protocol", "internal: output full");
  }
}

/* Feeds complete lines to the reply parser. */
static void consume_lines(struct probe_conn *c)
{
  while(c->state != CS_DONE) {
    char *nl = memchr(c->in, '\n', c->inlen);
    if(!nl) {
      if(c->inlen > PROBE_LINE_MAX) {
        mw__probe_conn_finish(c, "protocol", "a reply line is too long");
      }
      return;
    }
    size_t len = (size_t)(nl - c->in);
    size_t used = len + 1;
    if(len && c->in[len - 1] == '\r')
      len--;
    mw__trace_emit_n(&c->ctx->trace, MW_TRACE_IN, c->in, len);
    const char *why = NULL;
    enum mw__reply_feed f = mw__reply_feed(&c->reply, c->in, len, &why);
    if(f != MW__REPLY_BAD) {
      memmove(c->in, c->in + used, c->inlen - used);
      c->inlen -= used;
    }
    if(f == MW__REPLY_BAD) {
      char d[300];
      const char *proto = mw__reply_foreign_protocol(c->in, len);
      if(proto) {
        snprintf(d, sizeof(d),
                 "the port speaks %s%s, not SMTP: use an SMTP port (587 "
                 "with {tls=starttls}, 465 with {tls=implicit})",
                 proto, c->tls ? " over TLS" : "");
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
        mw__probe_conn_finish(c, "wrong_protocol", d);
        return;
      }
      snprintf(d, sizeof(d), "not an SMTP reply (%s)", why ? why : "?");
      memmove(c->in, c->in + used, c->inlen - used);
      c->inlen -= used;
      mw__probe_conn_finish(c, "protocol", d);
      return;
    }
    if(f == MW__REPLY_DONE) {
      on_reply(c);
      mw__reply_free(&c->reply);
      mw__reply_init(&c->reply);
    }
  }
}

/* -- the state machine -------------------------------------------------- */

void mw__probe_conn_step(struct probe_conn *c)
{
  for(int guard = 0; guard < 1024 && c->state != CS_DONE; guard++) {
    c->want = 0;
    switch(c->state) {
    case CS_PROXY:
      mw__probe_proxy_step(c);
      if(c->state == CS_PROXY)
        return; /* waiting (c->want) */
      continue;
    case CS_CONNECT:
      if(!mw__probe_connect_done(c))
        return;
      continue;
    case CS_TLS:
    case CS_TLS2: {
      short want = 0;
      mw__error_clear(&c->err);
      mw_status st = mw__tls_nb_handshake(c->tls, &want, &c->info, &c->err);
      if(st) {
        bool plain = c->info.plaintext_peer;
        if(c->state == CS_TLS2)
          mw__probe_row_set(mw__probe_starttls_row(c), "tls_failed", "%s",
                            c->err.message);
        bool mismatch = c->state == CS_TLS && plain;
        mw__probe_conn_finish(
            c, mismatch ? "mismatch" : "tls_failed",
            mismatch ? "the port answered in plaintext: it speaks plain SMTP "
                       "or STARTTLS, not implicit TLS"
                     : c->err.message);
        return;
      }
      if(want) {
        c->want = want;
        return;
      }
      if(c->state == CS_TLS) {
        record_tls(c, mw__probe_conn_row(c));
        c->state = CS_GREETING;
      }
      else {
        record_tls(c, mw__probe_starttls_row(c));
        c->state = CS_EHLO2;
        char ehlo[300];
        snprintf(ehlo, sizeof(ehlo), "EHLO %s", c->ctx->helo);
        mw__probe_conn_queue(c, ehlo);
      }
      continue;
    }
    case CS_GREETING:
    case CS_EHLO:
    case CS_STARTTLS:
    case CS_EHLO2: {
      if(mw__probe_conn_flush(c)) {
        mw__probe_conn_finish(c, "closed", c->last_error);
        return;
      }
      if(c->want)
        return; /* the write must finish first */
      size_t got = 0;
      mw_status st = mw__probe_conn_fill(c, &got);
      if(st) {
        const char *outcome = st == MW_E_CLOSED ? "closed"
                              : st == MW_E_TLS  ? "tls_failed"
                                                : "protocol";
        if(c->state == CS_GREETING && !c->got_bytes) {
          char d[PROBE_MSG_LEN + 80];
          snprintf(d, sizeof(d),
                   "accepted the connection, then closed it without a "
                   "greeting (%s)",
                   c->last_error);
          mw__probe_conn_finish(c, outcome, d);
        }
        else {
          mw__probe_conn_finish(c, outcome, c->last_error);
        }
        return;
      }
      if(!got && !(c->tls && mw__tls_nb_pending(c->tls)))
        return; /* c->want says what to wait for */
      if(c->state == CS_GREETING && !c->tls && c->inlen &&
         (c->in[0] == 0x15 || c->in[0] == 0x16)) {
        /* A TLS record (alert or handshake) where a 220 was expected. */
        mw__probe_conn_finish(c, "mismatch",
                              "the port answered with TLS bytes: it speaks "
                              "implicit TLS, not plaintext");
        return;
      }
      consume_lines(c);
      continue;
    }
    case CS_DONE:
      return;
    }
  }
}

void mw__probe_conn_expire(struct probe_conn *c, unsigned timeout_ms)
{
  char d[PROBE_MSG_LEN];
  double secs = timeout_ms / 1000.0;
  switch(c->state) {
  case CS_PROXY:
    snprintf(d, sizeof(d),
             "the %s proxy %s:%u did not finish its handshake within %.1f s",
             mw__proxy_kind_name(c->ctx->proxy.kind), c->ctx->proxy.host,
             c->ctx->proxy.port, secs);
    mw__probe_conn_finish(c, "proxy", d);
    return;
  case CS_CONNECT:
    snprintf(d, sizeof(d),
             "no answer to the connection%s within %.1f s (filtered: a "
             "firewall drops the packets)",
             c->ctx->use_proxy ? " to the proxy" : "", secs);
    mw__probe_conn_finish(c, c->ctx->use_proxy ? "proxy" : "timeout", d);
    return;
  case CS_TLS:
  case CS_GREETING:
    if(!c->got_bytes) {
      snprintf(d, sizeof(d),
               c->state == CS_TLS
                   ? "connected, but no answer to the TLS handshake within "
                     "%.1f s"
                   : "connected, but no greeting within %.1f s",
               secs);
      mw__probe_conn_row(c)->silent = true;
      if(mw__probe_starttls_row(c))
        mw__probe_starttls_row(c)->silent = true;
      mw__probe_conn_finish(c, "silent", d);
      return;
    }
    snprintf(d, sizeof(d), "the greeting did not complete within %.1f s",
             secs);
    mw__probe_conn_finish(c, "timeout", d);
    return;
  default:
    snprintf(d, sizeof(d), "no reply within %.1f s (%s)", secs,
             c->state == CS_STARTTLS ? "to STARTTLS"
             : c->state == CS_TLS2   ? "during the TLS handshake"
                                     : "to EHLO");
    if(c->state == CS_STARTTLS || c->state == CS_TLS2 ||
       c->state == CS_EHLO2)
      mw__probe_row_set(mw__probe_starttls_row(c), "timeout", "%s", d);
    mw__probe_conn_finish(c, "timeout", d);
    return;
  }
}
