/*
 * net/nbconn.h - one poll() over many sockets, for callers that drive many
 * connections from one event loop and never block (diag/probe_loop.c).
 *
 * Owns: the set of sockets and the wait.  The connections themselves are
 * layer stacks (io/layer.h) built without blocking (net/stack.h); their
 * sockets are mw__layer_fd()'s.  No call here waits longer than the
 * timeout it is given, and none keeps state of its own: deadlines and
 * protocol stay with the caller.
 *
 * Readiness masks are poll()'s POLLIN and POLLOUT, the same values every
 * layer puts in its "want".
 */
#ifndef MW_NET_NBCONN_H
#define MW_NET_NBCONN_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A set of sockets to wait on together; each entry carries the caller's
 * tag (an index into its own table of connections). */
struct pollfd;
struct mw__pollset {
  struct pollfd *pfd;
  size_t *tag;
  size_t cap, used;
};

/* Room for cap sockets.  MW_OK or MW_E_NOMEM (nothing to free then). */
mw_status mw__pollset_init(struct mw__pollset *ps, size_t cap);
void mw__pollset_free(struct mw__pollset *ps);
/* Empties the set (keeps its room). */
void mw__pollset_clear(struct mw__pollset *ps);
/* Adds fd with the events to wait for (POLLIN, POLLOUT); false when the
 * set is full. */
bool mw__pollset_add(struct mw__pollset *ps, int fd, short events,
                     size_t tag);
/* Waits until a socket of the set is ready or timeout_ms passed (at most
 * 60 s per call: callers loop on their own deadlines).  Returns the
 * number of ready sockets, 0 on timeout or an interrupted wait, -1 when
 * poll() itself failed (errno set). */
int mw__pollset_wait(struct mw__pollset *ps, int64_t timeout_ms);
/* Entry k (0 <= k < ps->used) after a wait: true, with its tag, when
 * something happened on it (readable, writable, error or hang-up). */
bool mw__pollset_ready(const struct mw__pollset *ps, size_t k, size_t *tag);

#endif
