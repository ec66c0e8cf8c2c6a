/*
 * net/tcp.h - TCP connection to the first address that answers.
 *
 * Owns: socket creation, the optional local bind, non-blocking connect with
 * a timeout per attempt, and the report of every failed attempt (so the
 * error names each address, not only the last one).  The attempts are
 * made by the connecting TCP layer (net/tcp_layer.h), whose connect step
 * is non-blocking; mw__tcp_connect() runs it to the end.
 */
#ifndef MW_NET_TCP_H
#define MW_NET_TCP_H

#include "core/trace.h"
#include "net/resolve.h"

/* Tries each address in order.  On MW_OK *fd is a connected non-blocking
 * socket (owned by the caller) and peer holds "ip:port".  Otherwise
 * MW_E_CONNECT (every attempt refused/unreachable; the message lists them;
 * err->connect_failure is MW__CONNECT_FAIL_UNREACHABLE when an attempt met
 * an unreachable network),
 * MW_E_TIMEOUT (every attempt timed out), MW_E_INVALID (bad bind address),
 * MW_E_NOMEM. */
mw_status mw__tcp_connect(const struct mw__addrlist *addrs,
                          const char *bind_address, unsigned timeout_ms,
                          struct mw__trace *trace, int *fd, char *peer,
                          size_t peer_len, struct mw_error *err);

/* Non-blocking pieces for event loops (net/tcp_layer.c).  mw__tcp_start()
 * creates a non-blocking socket (bound when bind_address is set), starts
 * connecting and returns 0 (connected), EINPROGRESS (wait for POLLOUT, then
 * call mw__tcp_finish()) with *fd set, or an errno with no socket left
 * open (EAFNOSUPPORT: bind address of the other family). */
int mw__tcp_start(const struct mw__addr *a, const char *bind_address,
                  int *fd);
/* The connection's outcome once writable: 0 or an errno. */
int mw__tcp_finish(int fd);

#endif
