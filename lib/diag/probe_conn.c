/*
 * diag/probe_conn.c - one probe connection's plumbing.
 *
 * Owns: reaching the server (each of the host's addresses in turn, or the
 * proxy's, and then the proxy's handshake, net/proxy.h's state machine,
 * run in the probe's loop), the connection's buffered non-blocking I/O
 * over the plain socket or TLS, the rows a connection fills, and its end
 * (a best-effort QUIT, then close).  The SMTP dialogue on top is
 * probe_smtp.c's.  Every socket call goes through net/ (nbconn.h,
 * tcp.h); TLS through tls/tls.h.
 */
#include "diag/probe_int.h"

#include "core/util.h"
#include "net/nbconn.h"
#include "net/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* -- rows ------------------------------------------------------------- */

void mw__probe_row_set(struct probe_row *r, const char *outcome,
                                 const char *fmt, ...)
{
  if(r->outcome)
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

/* -- connection plumbing ---------------------------------------------- */

void mw__probe_conn_close(struct probe_conn *c)
{
  if(c->tls) {
    mw__tls_free(c->tls);
    c->tls = NULL;
  }
  mw__nb_close(&c->fd);
}

void mw__probe_conn_finish(struct probe_conn *c, const char *outcome,
                                     const char *detail)
{
  if(c->state == CS_DONE)
    return;
  bool talking = c->state == CS_EHLO || c->state == CS_EHLO2 ||
                 c->state == CS_GREETING || c->state == CS_STARTTLS;
  if(talking && c->fd >= 0 && !strcmp(outcome, "works")) {
    static const char quit[] = "QUIT\r\n";
    size_t put = 0;
    short want = 0;
    if(c->tls)
      (void)mw__tls_nb_write(c->tls, quit, sizeof(quit) - 1, &put, &want,
                             &c->err);
    else
      (void)mw__nb_send(c->fd, quit, sizeof(quit) - 1, &put);
  }
  mw__probe_stamp_rows(c);
  struct probe_row *r = mw__probe_conn_row(c);
  if(detail)
    mw__probe_row_set(r, outcome, "%s", detail);
  struct probe_row *t = mw__probe_starttls_row(c);
  if(t && detail)
    mw__probe_row_set(t, outcome, "%s", detail);
  mw__trace_emit(&c->ctx->trace, MW_TRACE_NET, "probe %s port %u %s: %s%s%s",
                 c->host->name, c->port, c->implicit ? "implicit" : "plain",
                 outcome, detail ? ": " : "", detail ? detail : "");
  mw__probe_conn_close(c);
  c->state = CS_DONE;
  c->want = 0;
}

bool mw__probe_conn_queue(struct probe_conn *c, const char *line)
{
  size_t n = strlen(line);
  if(c->outlen - c->outpos + n + 2 > sizeof(c->out))
    return false;
  if(c->outpos) {
    memmove(c->out, c->out + c->outpos, c->outlen - c->outpos);
    c->outlen -= c->outpos;
    c->outpos = 0;
  }
  memcpy(c->out + c->outlen, line, n);
  memcpy(c->out + c->outlen + n, "\r\n", 2);
  c->outlen += n + 2;
  mw__trace_emit(&c->ctx->trace, MW_TRACE_OUT, "[%s:%u %s] %s",
                 c->host->name, c->port, c->implicit ? "implicit" : "plain",
                 line);
  return true;
}

/* Writes what is queued.  MW_OK (all written, or c->want set), or an
 * error recorded in c->last_error. */
mw_status mw__probe_conn_flush(struct probe_conn *c)
{
  while(c->outpos < c->outlen) {
    size_t left = c->outlen - c->outpos, put = 0;
    if(c->tls) {
      short want = 0;
      mw_status st = mw__tls_nb_write(c->tls, c->out + c->outpos, left, &put,
                                      &want, &c->err);
      if(st) {
        snprintf(c->last_error, sizeof(c->last_error), "%s",
                 c->err.message);
        return st;
      }
      if(!put) {
        c->want = want;
        return MW_OK;
      }
    }
    else {
      int e = mw__nb_send(c->fd, c->out + c->outpos, left, &put);
      if(e == EAGAIN) {
        c->want = POLLOUT;
        return MW_OK;
      }
      if(e) {
        snprintf(c->last_error, sizeof(c->last_error),
                 "sending failed: %s", strerror(e));
        return MW_E_CLOSED;
      }
    }
    c->outpos += put;
  }
  c->outpos = c->outlen = 0;
  return MW_OK;
}

/* Reads what is available.  MW_OK with *got bytes appended (0: c->want
 * set), MW_E_CLOSED at the end of the stream, or another error. */
mw_status mw__probe_conn_fill(struct probe_conn *c, size_t *got)
{
  *got = 0;
  size_t room = sizeof(c->in) - c->inlen;
  if(!room) {
    snprintf(c->last_error, sizeof(c->last_error),
             "a reply line longer than %d bytes", PROBE_LINE_MAX);
    return MW_E_PROTOCOL;
  }
  if(c->tls) {
    short want = 0;
    mw_status st = mw__tls_nb_read(c->tls, c->in + c->inlen, room, got, &want,
                                   &c->err);
    if(st) {
      snprintf(c->last_error, sizeof(c->last_error), "%s", c->err.message);
      return st;
    }
    if(!*got)
      c->want = want;
  }
  else {
    int e = mw__nb_recv(c->fd, c->in + c->inlen, room, got);
    if(e == EAGAIN) {
      c->want = POLLIN;
      return MW_OK;
    }
    if(e) {
      snprintf(c->last_error, sizeof(c->last_error), "connection lost: %s",
               strerror(e));
      return MW_E_CLOSED;
    }
    if(!*got) {
      snprintf(c->last_error, sizeof(c->last_error),
               "the server closed the connection");
      return MW_E_CLOSED;
    }
  }
  c->inlen += *got;
  if(*got)
    c->got_bytes = true;
  return MW_OK;
}

/* -- reaching the server ------------------------------------------------ */

/* Connected to the server (directly or through the tunnel): the row's
 * address, then the first step of the dialogue. */
static void after_connect(struct probe_conn *c)
{
  struct probe_row *r = mw__probe_conn_row(c);
  if(c->ctx->use_proxy)
    snprintf(r->address, sizeof(r->address), "via proxy %s:%u",
             c->ctx->proxy.host, c->ctx->proxy.port);
  else
    (void)mw__nb_peer(c->fd, r->address, sizeof(r->address));
  struct probe_row *t = mw__probe_starttls_row(c);
  if(t)
    snprintf(t->address, sizeof(t->address), "%s", r->address);
  if(c->implicit)
    mw__probe_start_tls(c, CS_TLS);
  else
    c->state = CS_GREETING;
}

static const char *connect_outcome(const struct probe_conn *c, int e)
{
  if(c->ctx->use_proxy)
    return "proxy";
  return e == ECONNREFUSED ? "refused" : "unreachable";
}

static void proxy_start(struct probe_conn *c);

/* TCP is up: to the server, or to the proxy that opens the tunnel. */
static void on_connected(struct probe_conn *c)
{
  if(c->ctx->use_proxy)
    proxy_start(c);
  else
    after_connect(c);
}

void mw__probe_connect_next(struct probe_conn *c)
{
  bool via = c->ctx->use_proxy;
  const struct mw__addrlist *l = via ? &c->ctx->proxy_addrs : &c->host->addrs;
  unsigned port = via ? c->ctx->proxy.port : c->port;
  while(c->next_addr < l->count) {
    struct mw__addr a = l->items[c->next_addr++];
    if(a.sa.ss_family == AF_INET)
      ((struct sockaddr_in *)&a.sa)->sin_port = htons((uint16_t)port);
    else
      ((struct sockaddr_in6 *)&a.sa)->sin6_port = htons((uint16_t)port);
    char where[64];
    mw__addr_format(&a, where, sizeof(where));
    int fd = -1;
    int rc = mw__tcp_start(&a, c->ctx->opt->bind, &fd);
    if(rc == 0 || rc == EINPROGRESS) {
      c->fd = fd;
      c->state = CS_CONNECT;
      if(rc == 0)
        on_connected(c);
      else
        c->want = POLLOUT;
      return;
    }
    snprintf(c->last_error, sizeof(c->last_error), "%s%s: %s",
             via ? "cannot reach the proxy " : "", where,
             rc == EAFNOSUPPORT ? "the bind address is of the other family"
             : rc == EADDRNOTAVAIL
                 ? "the {bind} address is not an address of this machine"
                 : strerror(rc));
    if(c->next_addr >= l->count) {
      mw__probe_conn_finish(c, connect_outcome(c, rc), c->last_error);
      return;
    }
  }
  mw__probe_conn_finish(c, via ? "proxy" : "unreachable",
                        c->last_error[0] ? c->last_error
                                         : "no address to try");
}

bool mw__probe_connect_done(struct probe_conn *c)
{
  int e = mw__tcp_finish(c->fd);
  if(e) {
    bool via = c->ctx->use_proxy;
    snprintf(c->last_error, sizeof(c->last_error), "%s%s",
             via ? "cannot reach the proxy: " : "", strerror(e));
    mw__nb_close(&c->fd);
    size_t count = via ? c->ctx->proxy_addrs.count : c->host->addrs.count;
    if(c->next_addr < count) {
      mw__probe_connect_next(c);
      /* A next connect still in progress must be waited for (POLLOUT):
       * finishing it now would take an unconnected socket for a
       * connected one. */
      return !(c->state == CS_CONNECT && c->want == POLLOUT);
    }
    mw__probe_conn_finish(c, connect_outcome(c, e), c->last_error);
    return false;
  }
  on_connected(c);
  return true;
}

/* -- through a proxy ------------------------------------------------------ */

/* The TCP connection to the proxy is up: start its handshake. */
static void proxy_start(struct probe_conn *c)
{
  const struct probe_host *h = c->host;
  mw__error_clear(&c->err);
  if(mw__proxy_hs_init(&c->hs, &c->ctx->proxy, h->name, c->port,
                       h->proxy_target_ok ? &h->proxy_target : NULL,
                       &c->err)) {
    mw__probe_conn_finish(c, "proxy", c->err.message);
    return;
  }
  c->state = CS_PROXY;
}

/* Moves the handshake on: sends what it has to say, reads no more than
 * its reply. */
void mw__probe_proxy_step(struct probe_conn *c)
{
  for(;;) {
    size_t outlen = 0;
    const unsigned char *out = mw__proxy_hs_output(&c->hs, &outlen);
    if(outlen) {
      /* Copied unlogged: it may hold the proxy's credentials. */
      if(outlen > sizeof(c->out) - c->outlen) {
        mw__probe_conn_finish(c, "proxy", "proxy request too long");
        return;
      }
      memcpy(c->out + c->outlen, out, outlen);
      c->outlen += outlen;
      mw__proxy_hs_sent(&c->hs);
    }
    if(mw__probe_conn_flush(c)) {
      mw__probe_conn_finish(c, "proxy", c->last_error);
      return;
    }
    if(c->want)
      return;
    if(mw__proxy_hs_done(&c->hs)) {
      mw__proxy_hs_release(&c->hs);
      explicit_bzero(c->out, sizeof(c->out)); /* the proxy credentials */
      mw__trace_emit(&c->ctx->trace, MW_TRACE_NET,
                     "probe %s port %u %s: proxy tunnel open",
                     c->host->name, c->port,
                     c->implicit ? "implicit" : "plain");
      after_connect(c);
      return;
    }
    unsigned char buf[512];
    size_t want = mw__proxy_hs_want(&c->hs);
    if(!want) {
      mw__probe_conn_finish(c, "proxy", "the proxy handshake cannot go on");
      return;
    }
    size_t n = 0;
    int e = mw__nb_recv(c->fd, buf, want < sizeof(buf) ? want : sizeof(buf),
                        &n);
    if(e == EAGAIN) {
      c->want = POLLIN;
      return;
    }
    mw__error_clear(&c->err);
    if(e || !n) {
      if(!e)
        mw__proxy_hs_closed(&c->hs, &c->err);
      else
        mw__error_set(&c->err, MW_E_PROXY, "the proxy connection failed: %s",
                      strerror(e));
      mw__probe_conn_finish(c, "proxy", c->err.message);
      return;
    }
    if(mw__proxy_hs_feed(&c->hs, buf, n, &c->err)) {
      mw__probe_conn_finish(c, "proxy", c->err.message);
      return;
    }
  }
}
