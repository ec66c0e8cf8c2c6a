/*
 * net/proxy_layer.c - the proxy handshake as a layer of the stack.
 *
 * DESCRIPTION
 *   Drives net/proxy.c's I/O-free handshake (mw__proxy_hs_*) through the
 *   layer below (TCP to the proxy), one non-blocking step at a time: what
 *   the machine has to say is written (partial writes kept), and no more
 *   than its reply is read, so the SMTP greeting stays for the layers
 *   above.  After the handshake the layer passes bytes through.
 *   mw__proxy_handshake() runs it on a socket the caller owns.
 *
 * DIAGNOSTICS
 *   As net/proxy.c: MW_E_PROXY naming the proxy and the step; a proxy
 *   that does not answer in time is MW_E_PROXY (unreachable, temporary).
 */
#include "net/proxy.h"

#include "core/util.h"
#include "io/layer.h"
#include "net/tcp_layer.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The proxy cannot be reached or dropped the connection (temporary). */
static mw_status unreachable(struct mw_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static mw_status unreachable(struct mw_error *err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mw__error_setv(err, MW_E_PROXY, fmt, ap);
  va_end(ap);
  err->proxy_failure = MW__PROXY_FAIL_UNREACHABLE;
  err->temporary = true;
  return MW_E_PROXY;
}

/* ---- the proxy layer ----------------------------------------------------
 * The handshake driven through the layer below (TCP): one non-blocking
 * step at a time, so the same code serves a blocking connect and an event
 * loop.  After the handshake the layer passes bytes through untouched. */

struct proxy_layer {
  struct mw__layer layer;
  const struct mw__proxy *proxy; /* borrowed until the handshake ends */
  char host[256];
  unsigned port;
  const char *dns_server;        /* borrowed, may be NULL */
  int64_t deadline;              /* for the target's resolution */
  struct mw__trace *trace;
  struct mw__proxy_hs hs;
  size_t out_off;                /* bytes of the output already written */
  bool started, live, done;      /* live: hs holds state to release */
  enum mw__proxy_kind kind;
  char proxy_host[256];
  unsigned proxy_port;
};

static mw_status proxy_start(struct proxy_layer *pl)
{
  struct mw_error *err = pl->layer.err;
  const struct mw__proxy *p = pl->proxy;
  pl->started = true;
  mw__trace_emit(pl->trace, MW_TRACE_NET,
                 "%s proxy %s:%u: connecting to %s:%u",
                 mw__proxy_kind_name(p->kind), p->host, p->port, pl->host,
                 pl->port);
  if(p->kind == MW__PROXY_NONE) {
    pl->done = true;
    return MW_OK;
  }
  /* SOCKS4 needs the address first; SOCKS5 asks for it later. */
  struct sockaddr_storage target;
  bool resolved = p->kind == MW__PROXY_SOCKS4;
  if(resolved) {
    bool needed = false;
    mw_status st = mw__proxy_resolve_target(p, pl->host, pl->port,
                                            pl->dns_server, pl->deadline,
                                            &target, &needed, err);
    if(st)
      return st;
  }
  mw_status st = mw__proxy_hs_init(&pl->hs, p, pl->host, pl->port,
                                   resolved ? &target : NULL, err);
  pl->live = true;
  return st;
}

static mw_status proxy_step(struct mw__layer *l, short *want)
{
  struct proxy_layer *pl = l->impl;
  struct mw_error *err = l->err;
  struct mw__layer *below = l->below;
  *want = 0;
  if(pl->done)
    return MW_OK;
  if(!pl->started) {
    mw_status st = proxy_start(pl);
    if(st || pl->done)
      return st;
  }
  struct mw__proxy_hs *hs = &pl->hs;
  while(!mw__proxy_hs_done(hs)) {
    if(mw__proxy_hs_needs_target(hs)) {
      struct sockaddr_storage sa;
      bool needed = false; /* SOCKS5: any family */
      mw_status st = mw__proxy_resolve_target(pl->proxy, hs->host, hs->port,
                                              pl->dns_server, pl->deadline,
                                              &sa, &needed, err);
      if(!st)
        st = mw__proxy_hs_set_target(hs, &sa, err);
      if(st)
        return st;
      continue;
    }
    size_t outlen;
    const unsigned char *out = mw__proxy_hs_output(hs, &outlen);
    if(outlen) {
      size_t put = 0;
      mw_status st = below->ops->write(below, out + pl->out_off,
                                       outlen - pl->out_off, &put, want);
      if(st) {
        char why[sizeof(err->message)];
        snprintf(why, sizeof(why), "%s",
                 below->sys_errno ? strerror(below->sys_errno) : "closed");
        mw__proxy_hs_sent(hs);
        return mw__error_set(err, MW_E_PROXY,
                             "the connection to the proxy failed: %s", why);
      }
      pl->out_off += put;
      if(pl->out_off < outlen) {
        if(!*want)
          *want = POLLOUT;
        return MW_OK;
      }
      pl->out_off = 0;
      mw__proxy_hs_sent(hs);
      continue;
    }
    unsigned char buf[512];
    size_t cap = mw__proxy_hs_want(hs), got = 0;
    mw_status st = below->ops->read(below, buf,
                                    cap < sizeof(buf) ? cap : sizeof(buf),
                                    &got, want);
    if(!st && got) {
      st = mw__proxy_hs_feed(hs, buf, got, err);
      if(st)
        return st;
      continue;
    }
    if(!st) {
      if(!*want)
        *want = POLLIN;
      return MW_OK;
    }
    if(below->eof)
      return mw__proxy_hs_closed(hs, err);
    if(st != MW_E_CLOSED)
      return st;
    return unreachable(err, "the proxy connection failed: %s",
                       strerror(below->sys_errno));
  }
  mw__proxy_hs_release(hs);
  pl->live = false;
  pl->done = true;
  mw__trace_emit(pl->trace, MW_TRACE_NET, "proxy tunnel to %s:%u open",
                 pl->host, pl->port);
  return MW_OK;
}

static mw_status proxy_read(struct mw__layer *l, void *buf, size_t len,
                            size_t *got, short *want)
{
  struct mw__layer *below = l->below;
  mw_status st = below->ops->read(below, buf, len, got, want);
  l->eof = below->eof;
  l->sys_errno = below->sys_errno;
  return st;
}

static mw_status proxy_write(struct mw__layer *l, const void *buf, size_t len,
                             size_t *put, short *want)
{
  struct mw__layer *below = l->below;
  mw_status st = below->ops->write(below, buf, len, put, want);
  l->sys_errno = below->sys_errno;
  return st;
}

static size_t proxy_pending(const struct mw__layer *l)
{
  (void)l;
  return 0;
}

static void proxy_close(struct mw__layer *l)
{
  struct proxy_layer *pl = l->impl;
  if(pl->live)
    mw__proxy_hs_release(&pl->hs);
  mw__layer_close(l->below);
  mw__wipe(pl, sizeof(*pl));
  mw__free(pl);
}

static void proxy_describe(const struct mw__layer *l, char *buf, size_t len)
{
  const struct proxy_layer *pl = l->impl;
  snprintf(buf, len, "%s proxy %s:%u to %s:%u", mw__proxy_kind_name(pl->kind),
           pl->proxy_host, pl->proxy_port, pl->host, pl->port);
}

static const struct mw__layer_ops proxy_ops = {.name = "proxy",
                                               .connect = proxy_step,
                                               .read = proxy_read,
                                               .write = proxy_write,
                                               .pending = proxy_pending,
                                               .close = proxy_close,
                                               .describe = proxy_describe};

mw_status mw__proxy_layer_new(struct mw__layer *below,
                              const struct mw__proxy *p, const char *host,
                              unsigned port, const char *dns_server,
                              int64_t deadline, struct mw__trace *trace,
                              struct mw__layer **out)
{
  *out = NULL;
  struct proxy_layer *pl = mw__calloc(1, sizeof(*pl));
  if(!pl)
    return mw__error_set(below->err, MW_E_NOMEM, NULL);
  mw__layer_init(&pl->layer, &proxy_ops, below, pl, below->err);
  pl->proxy = p;
  snprintf(pl->host, sizeof(pl->host), "%s", host);
  pl->port = port;
  pl->dns_server = dns_server;
  pl->deadline = deadline;
  pl->trace = trace;
  pl->kind = p->kind;
  snprintf(pl->proxy_host, sizeof(pl->proxy_host), "%s", p->host);
  pl->proxy_port = p->port;
  *out = &pl->layer;
  return MW_OK;
}

mw_status mw__proxy_layer_connect(struct mw__layer *l, int64_t deadline)
{
  struct proxy_layer *pl = l->impl;
  mw_status st = mw__layer_connect(l, deadline, "waiting for the proxy");
  if(st == MW_E_TIMEOUT)
    unreachable(l->err,
                "the %s proxy %s:%u did not answer the handshake in time",
                mw__proxy_kind_name(pl->kind), pl->proxy_host,
                pl->proxy_port);
  return st == MW_E_TIMEOUT ? MW_E_PROXY : st;
}

mw_status mw__proxy_handshake(int fd, const struct mw__proxy *p,
                              const char *host, unsigned port,
                              const char *dns_server, int64_t deadline,
                              struct mw__trace *trace, struct mw_error *err)
{
  struct mw__layer *tcp = NULL, *px = NULL;
  mw_status st = mw__tcp_layer_new(fd, false, NULL, err, &tcp);
  if(st)
    return st;
  st = mw__proxy_layer_new(tcp, p, host, port, dns_server, deadline, trace,
                           &px);
  if(st) {
    mw__layer_close(tcp);
    return st;
  }
  st = mw__proxy_layer_connect(px, deadline);
  mw__layer_close(px); /* the descriptor stays the caller's */
  return st;
}
