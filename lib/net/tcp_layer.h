/*
 * net/tcp_layer.h - the bottom of every connection's layer stack: a
 * connected TCP socket as an io/layer.h layer.
 *
 * Owns: reading and writing the socket without blocking, and never
 * raising SIGPIPE (writes use MSG_NOSIGNAL, so a peer that has closed is
 * an EPIPE error for every layer above, TLS included).
 */
#ifndef MW_NET_TCP_LAYER_H
#define MW_NET_TCP_LAYER_H

#include "core/trace.h"
#include "io/layer.h"
#include "net/resolve.h"

#include <stdbool.h>

/* A layer over the connected non-blocking socket fd; owned: closing the
 * layer closes fd.  peer ("ip:port", may be NULL) is for the description.
 * MW_E_NOMEM (then an owned fd is closed). */
mw_status mw__tcp_layer_new(int fd, bool owned, const char *peer,
                            struct mw_error *err, struct mw__layer **out);

/* A layer whose connect step connects to the first address of addrs that
 * answers (copied; bind_address as for mw__tcp_connect, timeout_ms per
 * attempt, each attempt and failure traced), without blocking: each step
 * starts or checks one attempt and asks to wait for POLLOUT until that
 * attempt's timeout (wake_at).  Errors of the step as mw__tcp_connect()
 * gives them.  MW_E_NOMEM. */
mw_status mw__tcp_layer_connecting(const struct mw__addrlist *addrs,
                                   const char *bind_address,
                                   unsigned timeout_ms,
                                   struct mw__trace *trace,
                                   struct mw_error *err,
                                   struct mw__layer **out);
/* "ip:port" connected to ("" before). */
const char *mw__tcp_layer_peer(const struct mw__layer *l);
/* Hands the socket to the caller (the layer no longer closes it). */
int mw__tcp_layer_take_fd(struct mw__layer *l);

#endif
