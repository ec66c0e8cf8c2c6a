/*
 * net/tcp.h - TCP connection to the first address that answers.
 *
 * Owns: socket creation, the optional local bind, non-blocking connect with
 * a timeout per attempt, and the report of every failed attempt (so the
 * error names each address, not only the last one).
 */
#ifndef MW_NET_TCP_H
#define MW_NET_TCP_H

#include "core/trace.h"
#include "net/resolve.h"

/* Tries each address in order.  On MW_OK *fd is a connected non-blocking
 * socket (owned by the caller) and peer holds "ip:port".  Otherwise
 * MW_E_CONNECT (every attempt refused/unreachable; the message lists them),
 * MW_E_TIMEOUT (every attempt timed out), MW_E_INVALID (bad bind address),
 * MW_E_NOMEM. */
mw_status mw__tcp_connect(const struct mw__addrlist *addrs,
                          const char *bind_address, unsigned timeout_ms,
                          struct mw__trace *trace, int *fd, char *peer,
                          size_t peer_len, struct mw_error *err);

#endif
