/*
 * net/tcp_layer.c - a connected TCP socket as the bottom layer of a stack
 * (see net/tcp_layer.h).
 */
#include "net/tcp_layer.h"

#include "core/util.h"
#include "net/tcp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tcp_layer {
  struct mw__layer layer;
  bool owned;
  char peer[80];
  /* While connecting (mw__tcp_layer_connecting): the addresses left to
   * try, one attempt at a time, and why each failed so far. */
  bool connecting, in_progress;
  struct mw__addr *addrs;
  size_t count, next;
  char *bind;
  unsigned timeout_ms;
  struct mw__trace *trace;
  int64_t t0, attempt_deadline;
  char where[80];
  struct mw__sbuf why;
  bool all_timeouts, bind_mismatch_only, unreachable;
  bool last_refused; /* the last attempt met ECONNREFUSED */
};

/* The attempt on t->where failed with errno e: MW_OK to try the next
 * address, or the error that ends the connection. */
static mw_status attempt_failed(struct tcp_layer *t, int e)
{
  struct mw_error *err = t->layer.err;
  if(e == EADDRNOTAVAIL && t->bind) {
    /* Our own setting, not the server: nothing to retry. */
    mw__error_set(err, MW_E_INVALID,
                  "{bind=%s}: this machine has no such address (give one "
                  "of its own addresses, or leave {bind} out)",
                  t->bind);
    err->category = MW_CAT_LOCAL; /* a setting here, not a usage error */
    return MW_E_INVALID;
  }
  const char *reason = e == ETIMEDOUT      ? "timed out (no answer: "
                                             "filtered by a firewall?)"
                       : e == EAFNOSUPPORT ? "skipped: the bind address "
                                             "is of the other family"
                                           : strerror(e);
  if(e != ETIMEDOUT)
    t->all_timeouts = false;
  if(e != EAFNOSUPPORT)
    t->bind_mismatch_only = false;
  if(e == ENETUNREACH)
    t->unreachable = true;
  t->last_refused = e == ECONNREFUSED;
  mw__trace_emit(t->trace, MW_TRACE_NET, "%s: %s", t->where, reason);
  mw__sbuf_printf(&t->why, "%s%s: %s", t->why.len ? "; " : "", t->where,
                  reason);
  return MW_OK;
}

static mw_status connected(struct tcp_layer *t)
{
  snprintf(t->peer, sizeof(t->peer), "%s", t->where);
  mw__trace_emit(t->trace, MW_TRACE_NET, "connected to %s in %lld ms",
                 t->where, (long long)(mw__now_ms() - t->t0));
  t->connecting = t->in_progress = false;
  mw__sbuf_free(&t->why);
  return MW_OK;
}

/* The connect step: one attempt at a time, each bounded by its own
 * timeout (wake_at), in the order of the address list. */
static mw_status tcp_step(struct mw__layer *l, short *want)
{
  struct tcp_layer *t = l->impl;
  *want = 0;
  while(t->connecting) {
    if(t->in_progress) {
      struct pollfd p = {.fd = l->fd, .events = POLLOUT};
      int n = poll(&p, 1, 0);
      int e = 0;
      if(n > 0)
        e = mw__tcp_finish(l->fd);
      else if(mw__now_ms() >= t->attempt_deadline)
        e = ETIMEDOUT;
      else {
        *want = POLLOUT;
        l->wake_at = t->attempt_deadline;
        return MW_OK;
      }
      t->in_progress = false;
      if(!e)
        return connected(t);
      close(l->fd);
      l->fd = -1;
      mw_status st = attempt_failed(t, e);
      if(st)
        return st;
      continue;
    }
    if(t->next == t->count) {
      mw_status st;
      if(t->bind && t->bind_mismatch_only)
        st = mw__error_set(l->err, MW_E_INVALID,
                           "bind address %s is not a usable address of the "
                           "server's address family",
                           t->bind);
      else {
        st = mw__error_set(l->err,
                           t->all_timeouts ? MW_E_TIMEOUT : MW_E_CONNECT,
                           "could not connect: %s",
                           t->why.data ? t->why.data : "no address");
        if(t->unreachable)
          l->err->connect_failure = MW__CONNECT_FAIL_UNREACHABLE;
        l->err->connect_refused = t->last_refused;
      }
      t->connecting = false;
      mw__sbuf_free(&t->why);
      return st;
    }
    const struct mw__addr *a = &t->addrs[t->next++];
    mw__addr_format(a, t->where, sizeof(t->where));
    mw__trace_emit(t->trace, MW_TRACE_NET, "connecting to %s%s%s", t->where,
                   t->bind ? " from " : "", t->bind ? t->bind : "");
    t->t0 = mw__now_ms();
    int fd = -1;
    int e = mw__tcp_start(a, t->bind, &fd);
    if(e == EINPROGRESS) {
      l->fd = fd;
      t->in_progress = true;
      t->attempt_deadline = t->t0 + t->timeout_ms;
      continue;
    }
    if(!e) {
      l->fd = fd;
      return connected(t);
    }
    mw_status st = attempt_failed(t, e);
    if(st)
      return st;
  }
  return MW_OK;
}

static mw_status tcp_read(struct mw__layer *l, void *buf, size_t len,
                          size_t *got, short *want)
{
  *got = 0;
  *want = 0;
  for(;;) {
    ssize_t n = recv(l->fd, buf, len, 0);
    if(n > 0) {
      *got = (size_t)n;
      return MW_OK;
    }
    if(n == 0) {
      l->eof = true;
      return mw__error_set(l->err, MW_E_CLOSED,
                           "the server closed the connection");
    }
    if(errno == EINTR)
      continue;
    if(errno == EAGAIN || errno == EWOULDBLOCK) {
      *want = POLLIN;
      return MW_OK;
    }
    l->sys_errno = errno;
    return mw__error_set(l->err, MW_E_CLOSED, "connection lost: %s",
                         strerror(l->sys_errno));
  }
}

static mw_status tcp_write(struct mw__layer *l, const void *buf, size_t len,
                           size_t *put, short *want)
{
  *put = 0;
  *want = 0;
  if(!len)
    return MW_OK;
  for(;;) {
    /* MSG_NOSIGNAL: a closed peer is EPIPE, never a SIGPIPE that would
     * kill a host program (the library leaves signal dispositions alone). */
    ssize_t n = send(l->fd, buf, len, MSG_NOSIGNAL);
    if(n > 0) {
      *put = (size_t)n;
      return MW_OK;
    }
    if(n < 0 && errno == EINTR)
      continue;
    if(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      *want = POLLOUT;
      return MW_OK;
    }
    l->sys_errno = n < 0 ? errno : EPIPE;
    return mw__error_set(l->err, MW_E_CLOSED,
                         "the connection to the server failed: %s",
                         n < 0 ? strerror(l->sys_errno) : "short write");
  }
}

static void tcp_close(struct mw__layer *l)
{
  struct tcp_layer *t = l->impl;
  if(t->owned && l->fd >= 0)
    close(l->fd);
  mw__free(t->addrs);
  mw__free(t->bind);
  mw__sbuf_free(&t->why);
  mw__free(t);
}

static void tcp_describe(const struct mw__layer *l, char *buf, size_t len)
{
  const struct tcp_layer *t = l->impl;
  snprintf(buf, len, "tcp%s%s", t->peer[0] ? " " : "", t->peer);
}

static const struct mw__layer_ops tcp_ops = {.name = "tcp",
                                             .connect = tcp_step,
                                             .read = tcp_read,
                                             .write = tcp_write,
                                             .close = tcp_close,
                                             .describe = tcp_describe};

mw_status mw__tcp_layer_new(int fd, bool owned, const char *peer,
                            struct mw_error *err, struct mw__layer **out)
{
  *out = NULL;
  struct tcp_layer *t = mw__calloc(1, sizeof(*t));
  if(!t) {
    if(owned && fd >= 0)
      close(fd);
    return mw__error_set(err, MW_E_NOMEM, NULL);
  }
  mw__layer_init(&t->layer, &tcp_ops, NULL, t, err);
  t->layer.fd = fd;
  t->owned = owned;
  snprintf(t->peer, sizeof(t->peer), "%s", peer ? peer : "");
  *out = &t->layer;
  return MW_OK;
}

mw_status mw__tcp_layer_connecting(const struct mw__addrlist *addrs,
                                   const char *bind_address,
                                   unsigned timeout_ms,
                                   struct mw__trace *trace,
                                   struct mw_error *err,
                                   struct mw__layer **out)
{
  *out = NULL;
  struct mw__layer *l = NULL;
  mw_status st = mw__tcp_layer_new(-1, true, NULL, err, &l);
  if(st)
    return st;
  struct tcp_layer *t = l->impl;
  t->addrs = addrs->count ? mw__calloc(addrs->count, sizeof(*t->addrs))
                          : NULL;
  t->bind = bind_address ? mw__strdup(bind_address) : NULL;
  if((addrs->count && !t->addrs) || (bind_address && !t->bind)) {
    mw__layer_close(l);
    return mw__error_set(err, MW_E_NOMEM, NULL);
  }
  if(addrs->count)
    memcpy(t->addrs, addrs->items, addrs->count * sizeof(*t->addrs));
  t->count = addrs->count;
  t->timeout_ms = timeout_ms;
  t->trace = trace;
  t->connecting = true;
  t->all_timeouts = t->bind_mismatch_only = true;
  mw__sbuf_init(&t->why);
  *out = l;
  return MW_OK;
}

const char *mw__tcp_layer_peer(const struct mw__layer *l)
{
  const struct tcp_layer *t = l->impl;
  return t->peer;
}

int mw__tcp_layer_take_fd(struct mw__layer *l)
{
  int fd = l->fd;
  l->fd = -1;
  return fd;
}
