/*
 * net/stack.c - the layer stack of a connection, built from the options
 * (see net/stack.h).
 */
#include "net/stack.h"

#include "core/util.h"
#include "net/haproxy.h"
#include "net/proxy.h"
#include "net/resolve.h"
#include "net/tcp_layer.h"

#include <stdio.h>

static int64_t deadline_in(unsigned ms) { return mw__now_ms() + ms; }

static void step(mw__stack_step_fn fn, void *user, enum mw__stack_step s)
{
  if(fn)
    fn(user, s);
}

mw_status mw__stack_open(const struct mw__stack_opts *o,
                         struct mw__trace *trace, mw__stack_step_fn on_step,
                         void *user, char *peer, size_t peer_len,
                         struct mw_error *err, struct mw__layer **top)
{
  *top = NULL;
  /* With a proxy, the TCP connection goes to the proxy and the proxy
   * opens the tunnel to the server. */
  struct mw__proxy proxy = {0};
  if(o->proxy_url) {
    char why[160];
    if(mw__proxy_parse_url(o->proxy_url, &proxy, why, sizeof(why)))
      return mw__error_set(err, MW_E_INVALID, "bad proxy URL: %s", why);
  }
  const char *tcp_host = proxy.kind ? proxy.host : o->host;
  unsigned tcp_port = proxy.kind ? proxy.port : o->port;
  struct mw__addrlist addrs;
  step(on_step, user, MW__STACK_RESOLVE);
  mw_status st = mw__resolve(tcp_host, tcp_port, o->family, o->dns_server,
                             deadline_in(o->connect_timeout_ms), &addrs, err);
  struct mw__layer *l = NULL;
  if(!st) {
    step(on_step, user, MW__STACK_CONNECT);
    st = mw__tcp_layer_connecting(&addrs, o->bind, o->connect_timeout_ms,
                                  trace, err, &l);
    /* Each attempt has its own timeout: the bound here is a backstop. */
    int64_t backstop = mw__now_ms() + 60000 +
                       (int64_t)o->connect_timeout_ms *
                           (int64_t)(addrs.count + 1);
    mw__addrlist_free(&addrs);
    if(!st)
      st = mw__layer_connect(l, backstop, "connecting");
    if(!st)
      snprintf(peer, peer_len, "%s", mw__tcp_layer_peer(l));
  }
  if(st && proxy.kind) {
    /* The proxy itself is unreachable: say so, keeping the detail. */
    char why[sizeof(err->message)];
    snprintf(why, sizeof(why), "%s", err->message);
    mw__error_set(err, MW_E_PROXY, "cannot reach the %s proxy %s:%u: %s",
                  mw__proxy_kind_name(proxy.kind), proxy.host, proxy.port,
                  why);
    err->proxy_failure = MW__PROXY_FAIL_UNREACHABLE;
  }
  if(!st && proxy.kind) {
    step(on_step, user, MW__STACK_PROXY);
    struct mw__layer *px = NULL;
    st = mw__proxy_layer_new(l, &proxy, o->host, o->port, o->dns_server,
                             deadline_in(o->connect_timeout_ms), trace, &px);
    if(!st) {
      l = px;
      st = mw__proxy_layer_connect(l, deadline_in(o->connect_timeout_ms));
    }
  }
  mw__proxy_release(&proxy); /* the handshake is over: no longer needed */
  if(!st && o->proxy_protocol) {
    struct mw__layer *hp = NULL;
    st = mw__haproxy_layer_new(l, o->proxy_protocol, trace, &hp);
    if(!st) {
      l = hp;
      st = mw__layer_connect(l, deadline_in(o->connect_timeout_ms),
                             "sending to the server");
    }
  }
  if(st) {
    mw__layer_close(l); /* connected, then the proxy or header failed */
    return st;
  }
  *top = l;
  return MW_OK;
}
