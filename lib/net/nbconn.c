/*
 * net/nbconn.c - one-shot non-blocking socket calls and a poll() set.
 *
 * Owns: the raw send/recv/getpeername/close/poll calls that event-loop
 * callers above net/ need (see net/nbconn.h), so that no layer above
 * net/, io/ and tls/ touches a socket directly.
 */
#include "net/nbconn.h"

#include "net/sock.h"

#include "core/util.h"
#include "net/resolve.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

int mw__nb_send(int fd, const void *buf, size_t len, size_t *put)
{
  *put = 0;
  for(;;) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if(n >= 0) {
      *put = (size_t)n;
      return 0;
    }
    if(errno == EINTR)
      continue;
    return errno == EWOULDBLOCK ? EAGAIN : errno;
  }
}

int mw__nb_recv(int fd, void *buf, size_t len, size_t *got)
{
  *got = 0;
  for(;;) {
    ssize_t n = recv(fd, buf, len, 0);
    if(n >= 0) {
      *got = (size_t)n;
      return 0;
    }
    if(errno == EINTR)
      continue;
    return errno == EWOULDBLOCK ? EAGAIN : errno;
  }
}

bool mw__nb_peer(int fd, char *buf, size_t len)
{
  struct mw__addr a;
  memset(&a, 0, sizeof(a));
  socklen_t sl = sizeof(a.sa);
  if(fd < 0 || getpeername(fd, (struct sockaddr *)&a.sa, &sl) != 0 ||
     (a.sa.ss_family != AF_INET && a.sa.ss_family != AF_INET6))
    return false;
  a.len = sl;
  mw__addr_format(&a, buf, len);
  return true;
}

void mw__nb_close(int *fd)
{
  mw__sock_close(*fd);
  *fd = -1;
}

mw_status mw__pollset_init(struct mw__pollset *ps, size_t cap)
{
  memset(ps, 0, sizeof(*ps));
  ps->pfd = mw__calloc(cap ? cap : 1, sizeof(*ps->pfd));
  ps->tag = mw__calloc(cap ? cap : 1, sizeof(*ps->tag));
  if(!ps->pfd || !ps->tag) {
    mw__pollset_free(ps);
    return MW_E_NOMEM;
  }
  ps->cap = cap;
  return MW_OK;
}

void mw__pollset_free(struct mw__pollset *ps)
{
  mw__free(ps->pfd);
  mw__free(ps->tag);
  memset(ps, 0, sizeof(*ps));
}

void mw__pollset_clear(struct mw__pollset *ps) { ps->used = 0; }

bool mw__pollset_add(struct mw__pollset *ps, int fd, short events,
                     size_t tag)
{
  if(ps->used == ps->cap)
    return false;
  ps->pfd[ps->used].fd = fd;
  ps->pfd[ps->used].events = events;
  ps->pfd[ps->used].revents = 0;
  ps->tag[ps->used++] = tag;
  return true;
}

int mw__pollset_wait(struct mw__pollset *ps, int64_t timeout_ms)
{
  if(timeout_ms < 0)
    timeout_ms = 0;
  int rc = poll(ps->pfd, (nfds_t)ps->used,
                timeout_ms > 60000 ? 60000 : (int)timeout_ms);
  if(rc < 0 && errno == EINTR) {
    for(size_t k = 0; k < ps->used; k++)
      ps->pfd[k].revents = 0;
    return 0;
  }
  return rc;
}

bool mw__pollset_ready(const struct mw__pollset *ps, size_t k, size_t *tag)
{
  if(k >= ps->used || !ps->pfd[k].revents)
    return false;
  *tag = ps->tag[k];
  return true;
}
