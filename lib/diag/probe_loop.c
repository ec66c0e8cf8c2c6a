/*
 * diag/probe_loop.c - the probe's event loop.
 *
 * Owns: one poll() (net/nbconn.h's set) over every live connection, each
 * waiting for what its last step asked (c->want), until all are done;
 * deadlines (a connection past its own is expired, probe_smtp.c says
 * why) and TLS bytes already decrypted, which poll() cannot see.
 */
#include "diag/probe_int.h"

#include "core/util.h"
#include "net/nbconn.h"

#include <poll.h>

mw_status mw__probe_loop(struct probe_conn *conns, size_t n,
                               unsigned timeout_ms)
{
  struct mw__pollset ps;
  if(mw__pollset_init(&ps, n))
    return MW_E_NOMEM;
  mw_status st = MW_OK;
  for(;;) {
    mw__pollset_clear(&ps);
    int64_t now = mw__now_ms(), next = INT64_MAX;
    for(size_t i = 0; i < n; i++) {
      struct probe_conn *c = &conns[i];
      if(c->state == CS_DONE)
        continue;
      if(now >= c->deadline) {
        mw__probe_conn_expire(c, timeout_ms);
        continue;
      }
      if(c->tls && mw__tls_nb_pending(c->tls)) {
        mw__probe_conn_step(c); /* decrypted bytes poll() cannot see */
        if(c->state == CS_DONE)
          continue;
      }
      if(c->deadline < next)
        next = c->deadline;
      (void)mw__pollset_add(&ps, c->fd, c->want ? c->want : POLLIN, i);
    }
    if(!ps.used)
      break;
    int rc = mw__pollset_wait(&ps, next - now);
    if(rc < 0) {
      st = MW_E_INTERNAL;
      break;
    }
    for(size_t k = 0, i; rc > 0 && k < ps.used; k++)
      if(mw__pollset_ready(&ps, k, &i))
        mw__probe_conn_step(&conns[i]);
  }
  mw__pollset_free(&ps);
  return st;
}
