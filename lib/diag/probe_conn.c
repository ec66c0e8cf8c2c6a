/*
 * diag/probe_conn.c - one probe connection's life.
 *
 * Owns: reaching the server without blocking (net/stack.h's builder: TCP
 * to each of the host's addresses in turn, or the proxy's, then the
 * proxy's handshake and the PROXY header), then the SMTP client's own
 * state machine (proto/smtp.h) over that stack, stepped until it stops at
 * the capabilities (stop_after_capa) with the certificate's verdict
 * reported, not enforced; the rows a connection fills, its end (a
 * best-effort QUIT, then close), and what an expired deadline means where
 * it was.  What the machine's states and failures mean for the rows is
 * probe_smtp.c's.  Nothing here touches a socket.
 */
#include "diag/probe_int.h"

#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* -- rows ------------------------------------------------------------- */

void mw__probe_row_set(struct probe_row *r, const char *outcome,
                       const char *fmt, ...)
{
  if(!r || r->outcome)
    return; /* the first verdict stands */
  r->outcome = outcome;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
  va_end(ap);
}

struct probe_row *mw__probe_conn_row(struct probe_conn *c)
{
  return &c->ctx->probe->rows[c->row];
}

struct probe_row *mw__probe_starttls_row(struct probe_conn *c)
{
  return c->implicit ? NULL : &c->ctx->probe->rows[c->starttls_row];
}

void mw__probe_stamp_rows(struct probe_conn *c)
{
  double ms = (double)(mw__now_ms() - c->ctx->start);
  struct probe_row *r = mw__probe_conn_row(c);
  if(!r->ms)
    r->ms = ms;
  struct probe_row *t = mw__probe_starttls_row(c);
  if(t && !t->ms)
    t->ms = ms;
}

/* -- the connection's end ------------------------------------------------ */

void mw__probe_conn_free(struct probe_conn *c)
{
  mw__stack_free(c->build);
  c->build = NULL;
  mw_smtp_free(c->smtp);
  c->smtp = NULL;
  mw__error_clear(&c->err);
}

void mw__probe_conn_finish(struct probe_conn *c, const char *outcome,
                           const char *detail)
{
  if(c->phase == PC_DONE)
    return;
  struct mw_smtp *s = c->smtp;
  if(s && s->sm == MW__SMTP_CAPABILITIES && !strcmp(outcome, "works")) {
    /* Best effort, never waited for: the server may log a clean end. */
    short want = 0;
    if(!mw__engine_command(&s->eng, NULL, -1, "%s", "QUIT"))
      (void)mw__engine_flush(&s->eng, &want);
  }
  mw__probe_stamp_rows(c);
  if(detail) {
    mw__probe_row_set(mw__probe_conn_row(c), outcome, "%s", detail);
    mw__probe_row_set(mw__probe_starttls_row(c), outcome, "%s", detail);
  }
  mw__trace_emit(&c->ctx->trace, MW_TRACE_NET, "probe %s port %u %s: %s%s%s",
                 c->host->name, c->port, c->implicit ? "implicit" : "plain",
                 outcome, detail ? ": " : "", detail ? detail : "");
  mw__probe_conn_free(c);
  c->phase = PC_DONE;
  c->want = 0;
}

/* -- reaching the server --------------------------------------------------- */

void mw__probe_conn_start(struct probe_conn *c)
{
  struct probe_ctx *ctx = c->ctx;
  const struct mw_options *o = ctx->opt;
  struct mw__stack_opts so = {.host = c->host->name,
                              .port = c->port,
                              .family = o->family,
                              .dns_server = o->dns_server,
                              .bind = o->bind,
                              .connect_timeout_ms = ctx->timeout_ms,
                              .proxy_url = o->proxy_url,
                              .proxy_protocol = o->proxy_protocol};
  const struct mw__addrlist *addrs =
      ctx->use_proxy ? &ctx->proxy_addrs : &c->host->addrs;
  struct mw__trace *trace = &c->trace;
  *trace = ctx->trace;
  snprintf(trace->prefix, sizeof(trace->prefix), "%.64s:%u %s",
           c->host->name, c->port, c->implicit ? "implicit" : "plain");
  c->phase = PC_CONNECT;
  mw_status st = mw__stack_begin(&so, addrs, trace, NULL, NULL, &c->err,
                                 &c->build);
  if(st) {
    mw__probe_on_connect_failure(c, st);
    return;
  }
  mw__probe_conn_step(c);
}

/* The stack is up: the SMTP machine over it, to the capabilities. */
static void start_smtp(struct probe_conn *c, struct mw__layer *top,
                       const char *peer)
{
  struct probe_ctx *ctx = c->ctx;
  struct probe_row *r = mw__probe_conn_row(c);
  if(ctx->use_proxy)
    snprintf(r->address, sizeof(r->address), "via proxy %s:%u",
             ctx->proxy.host, ctx->proxy.port);
  else
    snprintf(r->address, sizeof(r->address), "%s", peer);
  struct probe_row *t = mw__probe_starttls_row(c);
  if(t)
    snprintf(t->address, sizeof(t->address), "%s", r->address);

  /* The session's options for this host, port and mode; never a
   * credential: the machine stops before AUTH. */
  struct mw_options o = *ctx->opt;
  o.host = (char *)c->host->name;
  o.port = c->port;
  o.tls_mode = c->implicit ? MW_TLS_IMPLICIT : MW_TLS_STARTTLS_OPTIONAL;
  o.greeting_timeout_ms = ctx->timeout_ms;
  o.command_timeout_ms = ctx->timeout_ms;
  o.password = NULL;
  o.oauth2_token = NULL;
  c->smtp = mw_smtp_new(&o);
  if(!c->smtp) {
    mw__layer_close(top);
    mw__probe_conn_finish(c, "protocol", "out of memory");
    return;
  }
  struct mw_smtp *s = c->smtp;
  s->stop_after_capa = true;
  s->tls_report_only = true;
  s->observer = mw__probe_on_transition;
  s->observer_user = c;
  s->trace = c->trace; /* the run's clock and this connection's prefix */
  snprintf(s->peer, sizeof(s->peer), "%s", peer);
  c->at = MW__SMTP_IDLE;
  c->phase = PC_SMTP;
  mw_status st = mw__smtp_connect_start(s, top);
  s->trace.origin_ms = c->trace.origin_ms; /* the run's clock, not its own */
  if(st)
    mw__probe_on_failure(c, st);
}

void mw__probe_conn_step(struct probe_conn *c)
{
  c->want = 0;
  if(c->phase == PC_CONNECT) {
    short want = 0;
    bool done = false;
    mw_status st = mw__stack_step(c->build, &want, &done);
    if(st) {
      mw__probe_on_connect_failure(c, st);
      return;
    }
    if(!done) {
      c->want = want;
      return;
    }
    char peer[80];
    struct mw__layer *top = mw__stack_take(c->build, peer, sizeof(peer));
    mw__stack_free(c->build);
    c->build = NULL;
    start_smtp(c, top, peer);
  }
  if(c->phase == PC_SMTP) {
    short want = 0;
    bool done = false;
    mw_status st = mw__smtp_step(c->smtp, &want, &done);
    if(st) {
      mw__probe_on_failure(c, mw__smtp_finish(c->smtp, st));
      return;
    }
    if(done) {
      (void)mw__smtp_finish(c->smtp, MW_OK);
      mw__probe_on_capabilities(c);
      return;
    }
    c->want = want;
  }
}

/* -- what the loop needs -------------------------------------------------- */

int mw__probe_conn_fd(const struct probe_conn *c)
{
  if(c->phase == PC_CONNECT)
    return mw__stack_fd(c->build);
  if(c->phase == PC_SMTP)
    return mw__engine_fd(&c->smtp->eng);
  return -1;
}

int64_t mw__probe_conn_wake_at(const struct probe_conn *c)
{
  int64_t at = c->deadline;
  if(c->phase == PC_CONNECT) {
    int64_t w = mw__stack_wake_at(c->build);
    if(w < at)
      at = w;
  }
  return at;
}

bool mw__probe_conn_pending(const struct probe_conn *c)
{
  return c->phase == PC_SMTP &&
         mw__layer_pending(mw__engine_top(&c->smtp->eng)) > 0;
}

/* -- deadlines ---------------------------------------------------------- */

static void mark_silent(struct probe_conn *c)
{
  mw__probe_conn_row(c)->silent = true;
  if(mw__probe_starttls_row(c))
    mw__probe_starttls_row(c)->silent = true;
}

void mw__probe_conn_expire(struct probe_conn *c)
{
  struct probe_ctx *ctx = c->ctx;
  char d[PROBE_MSG_LEN];
  double secs = ctx->timeout_ms / 1000.0;
  if(c->phase == PC_CONNECT) {
    if(mw__stack_stage(c->build) == MW__STACK_PROXY) {
      snprintf(d, sizeof(d),
               "the %s proxy %s:%u did not finish its handshake within "
               "%.1f s",
               mw__proxy_kind_name(ctx->proxy.kind), ctx->proxy.host,
               ctx->proxy.port, secs);
      mw__probe_conn_finish(c, "proxy", d);
      return;
    }
    snprintf(d, sizeof(d),
             "no answer to the connection%s within %.1f s (filtered: a "
             "firewall drops the packets)",
             ctx->use_proxy ? " to the proxy" : "", secs);
    mw__probe_conn_finish(c, ctx->use_proxy ? "proxy" : "timeout", d);
    return;
  }
  if(c->phase != PC_SMTP)
    return;
  enum mw__smtp_state sm = c->smtp->sm;
  bool heard = mw__engine_bytes_in(&c->smtp->eng) > 0;
  switch(sm) {
  case MW__SMTP_TLS_IMPLICIT:
    snprintf(d, sizeof(d),
             "connected, but no answer to the TLS handshake within %.1f s",
             secs);
    mark_silent(c);
    mw__probe_conn_finish(c, "silent", d);
    return;
  case MW__SMTP_GREETING:
    if(!heard) {
      snprintf(d, sizeof(d), "connected, but no greeting within %.1f s",
               secs);
      mark_silent(c);
      mw__probe_conn_finish(c, "silent", d);
      return;
    }
    snprintf(d, sizeof(d), "the greeting did not complete within %.1f s",
             secs);
    mw__probe_conn_finish(c, "timeout", d);
    return;
  default:
    snprintf(d, sizeof(d), "no reply within %.1f s (%s)", secs,
             sm == MW__SMTP_STARTTLS       ? "to STARTTLS"
             : sm == MW__SMTP_TLS_STARTTLS ? "during the TLS handshake"
             : sm == MW__SMTP_HELO         ? "to HELO"
                                           : "to EHLO");
    if(sm == MW__SMTP_STARTTLS || sm == MW__SMTP_TLS_STARTTLS ||
       sm == MW__SMTP_EHLO_TLS)
      mw__probe_row_set(mw__probe_starttls_row(c), "timeout", "%s", d);
    mw__probe_conn_finish(c, "timeout", d);
    return;
  }
}
