/*
 * net/stack.c - the layer stack of a connection, built from the options
 * (see net/stack.h).
 *
 * DESCRIPTION
 *   One builder (struct mw__stack_build) moves the stack on without
 *   waiting: TCP over the address list (net/tcp_layer.c, one attempt at a
 *   time), then the proxy's handshake (net/proxy_layer.c) and the PROXY
 *   header (net/haproxy.c), each pushed once the layer below is up.  Each
 *   stage has its own deadline.  mw__stack_open() is the blocking loop
 *   over it; the probe runs many builders in one poll loop.
 */
#include "net/stack.h"

#include "core/util.h"
#include "net/haproxy.h"
#include "net/proxy.h"
#include "net/resolve.h"
#include "net/tcp_layer.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static int64_t deadline_in(unsigned ms) { return mw__now_ms() + ms; }

static void step(mw__stack_step_fn fn, void *user, enum mw__stack_step s)
{
  if(fn)
    fn(user, s);
}

enum build_stage { B_TCP, B_PROXY, B_HAPROXY, B_DONE, B_FAILED };

struct mw__stack_build {
  struct mw__stack_opts o;
  struct mw__trace *trace;
  mw__stack_step_fn on_step;
  void *user;
  struct mw_error *err;
  struct mw__proxy proxy;
  enum build_stage stage;
  struct mw__layer *l;
  int64_t deadline; /* the stage's */
  char peer[80];
};

mw_status mw__stack_begin(const struct mw__stack_opts *o,
                          const struct mw__addrlist *addrs,
                          struct mw__trace *trace, mw__stack_step_fn on_step,
                          void *user, struct mw_error *err,
                          struct mw__stack_build **out)
{
  *out = NULL;
  struct mw__stack_build *b = mw__calloc(1, sizeof(*b));
  if(!b)
    return mw__error_set(err, MW_E_NOMEM, NULL);
  b->o = *o;
  b->trace = trace;
  b->on_step = on_step;
  b->user = user;
  b->err = err;
  /* With a proxy, the TCP connection goes to the proxy and the proxy
   * opens the tunnel to the server. */
  if(o->proxy_url) {
    char why[160];
    if(mw__proxy_parse_url(o->proxy_url, &b->proxy, why, sizeof(why))) {
      mw__free(b);
      return mw__error_set(err, MW_E_INVALID, "bad proxy URL: %s", why);
    }
  }
  const char *tcp_host = b->proxy.kind ? b->proxy.host : o->host;
  unsigned tcp_port = b->proxy.kind ? b->proxy.port : o->port;
  struct mw__addrlist own = {0};
  mw_status st = MW_OK;
  step(on_step, user, MW__STACK_RESOLVE);
  if(addrs) {
    own.items = mw__calloc(addrs->count ? addrs->count : 1,
                           sizeof(*own.items));
    if(!own.items)
      st = mw__error_set(err, MW_E_NOMEM, NULL);
    else {
      own.count = addrs->count;
      memcpy(own.items, addrs->items, addrs->count * sizeof(*own.items));
      for(size_t i = 0; i < own.count; i++) {
        struct sockaddr_storage *sa = &own.items[i].sa;
        if(sa->ss_family == AF_INET)
          ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)tcp_port);
        else if(sa->ss_family == AF_INET6)
          ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)tcp_port);
      }
    }
  }
  else {
    st = mw__resolve(tcp_host, tcp_port, o->family, o->dns_server,
                     deadline_in(o->connect_timeout_ms), &own, err);
  }
  if(!st) {
    step(on_step, user, MW__STACK_CONNECT);
    st = mw__tcp_layer_connecting(&own, o->bind, o->connect_timeout_ms,
                                  trace, err, &b->l);
    /* Each attempt has its own timeout: the bound here is a backstop. */
    b->deadline = mw__now_ms() + 60000 +
                  (int64_t)o->connect_timeout_ms * (int64_t)(own.count + 1);
  }
  mw__addrlist_free(&own);
  if(st) {
    if(b->proxy.kind) {
      /* The proxy itself cannot be found: say so, keeping the detail. */
      char why[sizeof(err->message)];
      snprintf(why, sizeof(why), "%s", err->message);
      mw__error_set(err, MW_E_PROXY, "cannot reach the %s proxy %s:%u: %s",
                    mw__proxy_kind_name(b->proxy.kind), b->proxy.host,
                    b->proxy.port, why);
      err->proxy_failure = MW__PROXY_FAIL_UNREACHABLE;
      st = MW_E_PROXY;
    }
    mw__stack_free(b);
    return st;
  }
  b->stage = B_TCP;
  *out = b;
  return MW_OK;
}

/* The stage after TCP or the proxy: pushes the next layer. */
static mw_status next_stage(struct mw__stack_build *b)
{
  const struct mw__stack_opts *o = &b->o;
  if(b->stage == B_TCP && b->proxy.kind) {
    step(b->on_step, b->user, MW__STACK_PROXY);
    struct mw__layer *px = NULL;
    b->deadline = deadline_in(o->connect_timeout_ms);
    mw_status st = mw__proxy_layer_new(b->l, &b->proxy, o->host, o->port,
                                       o->dns_server, b->deadline, b->trace,
                                       &px);
    if(st)
      return st;
    b->l = px;
    b->stage = B_PROXY;
    return MW_OK;
  }
  if(b->stage != B_HAPROXY && o->proxy_protocol) {
    mw__proxy_release(&b->proxy); /* the handshake is over */
    struct mw__layer *hp = NULL;
    mw_status st = mw__haproxy_layer_new(b->l, o->proxy_protocol, b->trace,
                                         &hp);
    if(st)
      return st;
    b->l = hp;
    b->stage = B_HAPROXY;
    b->deadline = deadline_in(o->connect_timeout_ms);
    return MW_OK;
  }
  mw__proxy_release(&b->proxy);
  b->stage = B_DONE;
  return MW_OK;
}

/* The stage's deadline passed: what that means there. */
static mw_status stage_timed_out(struct mw__stack_build *b)
{
  struct mw_error *err = b->err;
  switch(b->stage) {
  case B_PROXY:
    mw__error_set(err, MW_E_PROXY,
                  "the %s proxy %s:%u did not answer the handshake in time",
                  mw__proxy_kind_name(b->proxy.kind), b->proxy.host,
                  b->proxy.port);
    err->proxy_failure = MW__PROXY_FAIL_UNREACHABLE;
    err->temporary = true;
    return MW_E_PROXY;
  case B_HAPROXY:
    return mw__error_set(err, MW_E_TIMEOUT, "timed out sending to the server");
  default:
    return mw__error_set(err, MW_E_TIMEOUT, "timed out connecting");
  }
}

static mw_status fail(struct mw__stack_build *b, mw_status st)
{
  if(b->stage == B_TCP && b->proxy.kind) {
    /* The proxy itself is unreachable: say so, keeping the detail. */
    struct mw_error *err = b->err;
    char why[sizeof(err->message)];
    snprintf(why, sizeof(why), "%s", err->message);
    mw__error_set(err, MW_E_PROXY, "cannot reach the %s proxy %s:%u: %s",
                  mw__proxy_kind_name(b->proxy.kind), b->proxy.host,
                  b->proxy.port, why);
    err->proxy_failure = MW__PROXY_FAIL_UNREACHABLE;
    st = MW_E_PROXY;
  }
  mw__layer_close(b->l); /* connected, then the proxy or header failed */
  b->l = NULL;
  mw__proxy_release(&b->proxy);
  b->stage = B_FAILED;
  return st;
}

mw_status mw__stack_step(struct mw__stack_build *b, short *want, bool *done)
{
  *want = 0;
  *done = false;
  if(b->stage == B_FAILED)
    return mw__error_set(b->err, MW_E_STATE, "the connection failed");
  while(b->stage != B_DONE) {
    struct mw__layer *l = b->l;
    l->wake_at = 0;
    mw_status st = l->ops->connect ? l->ops->connect(l, want) : MW_OK;
    if(st)
      return fail(b, st);
    if(*want) {
      if(mw__now_ms() >= b->deadline)
        return fail(b, stage_timed_out(b));
      return MW_OK;
    }
    if(b->stage == B_TCP)
      snprintf(b->peer, sizeof(b->peer), "%s", mw__tcp_layer_peer(l));
    st = next_stage(b);
    if(st)
      return fail(b, st);
  }
  *done = true;
  return MW_OK;
}

int mw__stack_fd(const struct mw__stack_build *b)
{
  return b && b->l ? mw__layer_fd(b->l) : -1;
}

int64_t mw__stack_wake_at(const struct mw__stack_build *b)
{
  int64_t at = b->deadline;
  if(b->l && b->l->wake_at && b->l->wake_at < at)
    at = b->l->wake_at;
  return at;
}

enum mw__stack_step mw__stack_stage(const struct mw__stack_build *b)
{
  return b->stage == B_PROXY ? MW__STACK_PROXY : MW__STACK_CONNECT;
}

struct mw__layer *mw__stack_take(struct mw__stack_build *b, char *peer,
                                 size_t peer_len)
{
  struct mw__layer *l = b->stage == B_DONE ? b->l : NULL;
  if(l)
    b->l = NULL;
  if(peer && peer_len)
    snprintf(peer, peer_len, "%s", l ? b->peer : "");
  return l;
}

void mw__stack_free(struct mw__stack_build *b)
{
  if(!b)
    return;
  mw__layer_close(b->l);
  mw__proxy_release(&b->proxy);
  mw__free(b);
}

mw_status mw__stack_open(const struct mw__stack_opts *o,
                         struct mw__trace *trace, mw__stack_step_fn on_step,
                         void *user, char *peer, size_t peer_len,
                         struct mw_error *err, struct mw__layer **top)
{
  *top = NULL;
  struct mw__stack_build *b = NULL;
  mw_status st = mw__stack_begin(o, NULL, trace, on_step, user, err, &b);
  if(st)
    return st;
  for(;;) {
    short want = 0;
    bool done = false;
    st = mw__stack_step(b, &want, &done);
    if(st || done)
      break;
    /* Ready, or the step's own time has come: step again either way
     * (the step reports a deadline that passed). */
    struct mw_error quiet = {0};
    st = mw__layer_wait(b->l, want, mw__stack_wake_at(b), &quiet,
                        "connecting");
    if(st && st != MW_E_TIMEOUT) {
      mw__error_set(err, st, "%s", quiet.message);
      mw__error_clear(&quiet);
      break;
    }
    mw__error_clear(&quiet);
    st = MW_OK;
  }
  if(!st)
    *top = mw__stack_take(b, peer, peer_len);
  mw__stack_free(b);
  return st;
}
