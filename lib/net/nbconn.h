/*
 * net/nbconn.h - socket calls for callers that drive many connections
 * from one event loop and never block (diag/probe*.c), and the close of
 * a socket the caller owns (diag/doctor.c).
 *
 * Owns: one send that never raises SIGPIPE (MSG_NOSIGNAL), one recv, the
 * peer's address, the close of a socket, and one poll() over a set of
 * sockets.  Starting and finishing a non-blocking connect are
 * mw__tcp_start() and mw__tcp_finish() (net/tcp.h).  No call here waits
 * longer than the timeout it is given, and none keeps state of its own:
 * buffers, deadlines and protocol stay with the caller.
 *
 * Readiness masks are poll()'s POLLIN and POLLOUT, the same values the
 * TLS layer's non-blocking calls (tls/tls.h) put in their "want".
 */
#ifndef MW_NET_NBCONN_H
#define MW_NET_NBCONN_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes up to len bytes to the non-blocking socket fd, once (retried on
 * EINTR).  Returns 0 with *put bytes written (at least one), EAGAIN
 * (nothing can be written now: wait for POLLOUT), or the errno of the
 * failure (EPIPE, ECONNRESET...).  A closed peer never raises SIGPIPE. */
int mw__nb_send(int fd, const void *buf, size_t len, size_t *put);

/* Reads up to len bytes from the non-blocking socket fd, once (retried on
 * EINTR).  Returns 0 with *got bytes read (0: the peer closed the
 * stream), EAGAIN (nothing to read now: wait for POLLIN), or the errno of
 * the failure. */
int mw__nb_recv(int fd, void *buf, size_t len, size_t *got);

/* The connected peer of the TCP socket fd as "ip:port" ("[ip6]:port");
 * false (buf left as it was) when it has no IP peer. */
bool mw__nb_peer(int fd, char *buf, size_t len);

/* Closes *fd when it is open (>= 0) and sets it to -1. */
void mw__nb_close(int *fd);

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
