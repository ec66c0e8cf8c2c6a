/*
 * diag/probe_loop.c - the probe's event loop.
 *
 * Owns: one poll() (net/nbconn.h's set) over every live connection, each
 * waiting for what its last step asked (c->want), until all are done;
 * deadlines (each connection keeps its own: one past it is expired,
 * probe_conn.c says why; a stage's own earlier time, such as one TCP
 * attempt's, steps it again) and TLS bytes already decrypted, which
 * poll() cannot see.
 *
 * Time the loop spends computing is not the server's silence: a step
 * that takes long (a connection's TLS set-up, seconds under valgrind) is
 * added to every other waiting connection's deadline, so a greeting that
 * arrived in time while another connection was being stepped is read, not
 * expired.  The extension is capped (MAX_EXTENSION_MS in all) so that a
 * starved process still answers in bounded time.
 */
#include "diag/probe_int.h"

#include "core/util.h"
#include "net/nbconn.h"

#include <poll.h>

enum { STALL_MS = 50, MAX_EXTENSION_MS = 10000 };

/* Gives back to every live connection the time the loop itself used. */
static void extend_deadlines(struct probe_conn *conns, size_t n,
                             int64_t busy_ms, int64_t *extended)
{
  if(busy_ms < STALL_MS || *extended >= MAX_EXTENSION_MS)
    return;
  if(busy_ms > MAX_EXTENSION_MS - *extended)
    busy_ms = MAX_EXTENSION_MS - *extended;
  *extended += busy_ms;
  for(size_t i = 0; i < n; i++)
    if(conns[i].phase != PC_DONE)
      conns[i].deadline += busy_ms;
}

mw_status mw__probe_loop(struct probe_conn *conns, size_t n, int64_t started)
{
  struct mw__pollset ps;
  if(mw__pollset_init(&ps, n ? n : 1))
    return MW_E_NOMEM;
  mw_status st = MW_OK;
  /* When the loop last stopped waiting: starting the connections (a TCP
   * connect that completes at once goes straight on to its TLS set-up)
   * was the process's own time too. */
  int64_t busy_from = started;
  int64_t extended = 0;
  for(;;) {
    mw__pollset_clear(&ps);
    int64_t now = mw__now_ms(), next = INT64_MAX;
    extend_deadlines(conns, n, now - busy_from, &extended);
    bool live = false;
    for(size_t i = 0; i < n; i++) {
      struct probe_conn *c = &conns[i];
      if(c->phase == PC_DONE)
        continue;
      if(now >= c->deadline) {
        mw__probe_conn_expire(c);
        continue;
      }
      if(mw__probe_conn_pending(c) || mw__probe_conn_wake_at(c) <= now) {
        mw__probe_conn_step(c); /* bytes poll() cannot see, or its time */
        if(c->phase == PC_DONE)
          continue;
      }
      int64_t wake = mw__probe_conn_wake_at(c);
      if(wake <= now)
        wake = now + 1;
      if(wake < next)
        next = wake;
      live = true;
      int fd = mw__probe_conn_fd(c);
      if(fd >= 0)
        (void)mw__pollset_add(&ps, fd, c->want ? c->want : POLLIN, i);
    }
    if(!live)
      break;
    int rc = mw__pollset_wait(&ps, next - now);
    busy_from = mw__now_ms();
    if(rc < 0) {
      st = MW_E_INTERNAL;
      break;
    }
    for(size_t k = 0, i; rc > 0 && k < ps.used; k++)
      if(mw__pollset_ready(&ps, k, &i) && conns[i].phase != PC_DONE)
        mw__probe_conn_step(&conns[i]);
  }
  mw__pollset_free(&ps);
  return st;
}
