/*
 * net/tcp_layer.c - a connected TCP socket as the bottom layer of a stack
 * (see net/tcp_layer.h).
 */
#include "net/tcp_layer.h"

#include "core/util.h"

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
};

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
  mw__free(t);
}

static void tcp_describe(const struct mw__layer *l, char *buf, size_t len)
{
  const struct tcp_layer *t = l->impl;
  snprintf(buf, len, "tcp%s%s", t->peer[0] ? " " : "", t->peer);
}

static const struct mw__layer_ops tcp_ops = {.name = "tcp",
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
