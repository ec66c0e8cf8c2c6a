/*
 * net/nbconn.c - a poll() set.
 *
 * Owns: the poll() call that event-loop callers above net/ need (see
 * net/nbconn.h), so that no layer above net/, io/ and tls/ touches a
 * socket directly.
 */
#include "net/nbconn.h"

#include "core/util.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

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
