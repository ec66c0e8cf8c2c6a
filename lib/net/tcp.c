/*
 * net/tcp.c - connect with per-attempt timeouts and an optional bind.
 */
#include "net/tcp.h"

#include "core/util.h"
#include "io/layer.h"
#include "net/tcp_layer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool parse_bind(const char *text, int family, struct mw__addr *out)
{
  memset(out, 0, sizeof(*out));
  if(family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;
    char tmp[INET6_ADDRSTRLEN + 2];
    const char *p = text;
    size_t n = strlen(text);
    if(n >= 2 && text[0] == '[' && text[n - 1] == ']' && n - 2 < sizeof(tmp)) {
      memcpy(tmp, text + 1, n - 2);
      tmp[n - 2] = '\0';
      p = tmp;
    }
    if(inet_pton(AF_INET6, p, &s6->sin6_addr) != 1)
      return false;
    s6->sin6_family = AF_INET6;
    out->len = sizeof(*s6);
    return true;
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)&out->sa;
  if(inet_pton(AF_INET, text, &s4->sin_addr) != 1)
    return false;
  s4->sin_family = AF_INET;
  out->len = sizeof(*s4);
  return true;
}

int mw__tcp_start(const struct mw__addr *a, const char *bind_address,
                  int *fd_out)
{
  *fd_out = -1;
  int fam = a->sa.ss_family;
  struct mw__addr local;
  if(bind_address && !parse_bind(bind_address, fam, &local))
    return EAFNOSUPPORT;
  int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if(fd < 0)
    return errno;
  if(bind_address && bind(fd, (struct sockaddr *)&local.sa, local.len) < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc = connect(fd, (const struct sockaddr *)&a->sa, a->len);
  if(rc < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return e;
  }
  *fd_out = fd;
  return rc < 0 ? EINPROGRESS : 0;
}

int mw__tcp_finish(int fd)
{
  int soerr = 0;
  socklen_t sl = sizeof(soerr);
  if(getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
    soerr = errno;
  return soerr;
}

mw_status mw__tcp_connect(const struct mw__addrlist *addrs,
                          const char *bind_address, unsigned timeout_ms,
                          struct mw__trace *trace, int *fd, char *peer,
                          size_t peer_len, struct mw_error *err)
{
  /* The connecting TCP layer does the work (one loop over the addresses
   * in the tree); each attempt has its own timeout, so the overall bound
   * here is only a backstop. */
  *fd = -1;
  struct mw__layer *l = NULL;
  mw_status st = mw__tcp_layer_connecting(addrs, bind_address, timeout_ms,
                                          trace, err, &l);
  if(st)
    return st;
  int64_t backstop = mw__now_ms() +
                     (int64_t)timeout_ms * (int64_t)(addrs->count + 1) +
                     60000;
  st = mw__layer_connect(l, backstop, "connecting");
  if(!st) {
    snprintf(peer, peer_len, "%s", mw__tcp_layer_peer(l));
    *fd = mw__tcp_layer_take_fd(l);
  }
  mw__layer_close(l);
  return st;
}
