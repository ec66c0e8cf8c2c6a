/*
 * net/tcp.c - connect with per-attempt timeouts and an optional bind.
 */
#include "net/tcp.h"

#include "core/util.h"
#include "io/stream.h"

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

/* One attempt.  Returns 0 on success, else an errno (ETIMEDOUT for our own
 * timeout; EAFNOSUPPORT when the bind address is of the other family). */
static int connect_one(const struct mw__addr *a, const char *bind_address,
                       unsigned timeout_ms, int *fd_out)
{
  int fd;
  int rc = mw__tcp_start(a, bind_address, &fd);
  if(rc == EINPROGRESS) {
    int64_t deadline = mw__now_ms() + timeout_ms;
    for(;;) {
      int64_t left = deadline - mw__now_ms();
      if(left <= 0) {
        close(fd);
        return ETIMEDOUT;
      }
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int n = poll(&p, 1, (int)left);
      if(n <= 0)
        continue;
      break;
    }
    rc = mw__tcp_finish(fd);
    if(rc) {
      close(fd);
      return rc;
    }
  }
  else if(rc) {
    return rc;
  }
  *fd_out = fd;
  return 0;
}

mw_status mw__tcp_connect(const struct mw__addrlist *addrs,
                          const char *bind_address, unsigned timeout_ms,
                          struct mw__trace *trace, int *fd, char *peer,
                          size_t peer_len, struct mw_error *err)
{
  struct mw__sbuf why;
  mw__sbuf_init(&why);
  bool all_timeouts = true, bind_mismatch_only = true, unreachable = false;
  for(size_t i = 0; i < addrs->count; i++) {
    char where[80];
    mw__addr_format(&addrs->items[i], where, sizeof(where));
    mw__trace_emit(trace, MW_TRACE_NET, "connecting to %s%s%s", where,
                   bind_address ? " from " : "",
                   bind_address ? bind_address : "");
    int64_t t0 = mw__now_ms();
    int e = connect_one(&addrs->items[i], bind_address, timeout_ms, fd);
    if(!e) {
      snprintf(peer, peer_len, "%s", where);
      mw__trace_emit(trace, MW_TRACE_NET, "connected to %s in %lld ms",
                     where, (long long)(mw__now_ms() - t0));
      mw__sbuf_free(&why);
      return MW_OK;
    }
    if(e == EADDRNOTAVAIL && bind_address) {
      /* Our own setting, not the server: nothing to retry. */
      mw__sbuf_free(&why);
      mw__error_set(err, MW_E_INVALID,
                    "{bind=%s}: this machine has no such address (give one "
                    "of its own addresses, or leave {bind} out)",
                    bind_address);
      err->category = MW_CAT_LOCAL; /* a setting here, not a usage error */
      return MW_E_INVALID;
    }
    const char *reason = e == ETIMEDOUT      ? "timed out (no answer: "
                                               "filtered by a firewall?)"
                         : e == EAFNOSUPPORT ? "skipped: the bind address "
                                               "is of the other family"
                                             : strerror(e);
    if(e != ETIMEDOUT)
      all_timeouts = false;
    if(e != EAFNOSUPPORT)
      bind_mismatch_only = false;
    if(e == ENETUNREACH)
      unreachable = true;
    mw__trace_emit(trace, MW_TRACE_NET, "%s: %s", where, reason);
    mw__sbuf_printf(&why, "%s%s: %s", why.len ? "; " : "", where, reason);
  }
  mw_status st;
  if(bind_address && bind_mismatch_only)
    st = mw__error_set(err, MW_E_INVALID,
                       "bind address %s is not a usable address of the "
                       "server's address family",
                       bind_address);
  else {
    st = mw__error_set(err, all_timeouts ? MW_E_TIMEOUT : MW_E_CONNECT,
                       "could not connect: %s",
                       why.data ? why.data : "no address");
    if(unreachable)
      err->connect_failure = MW__CONNECT_FAIL_UNREACHABLE;
  }
  mw__sbuf_free(&why);
  return st;
}
