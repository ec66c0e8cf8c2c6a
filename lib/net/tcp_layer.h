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

#include "io/layer.h"

#include <stdbool.h>

/* A layer over the connected non-blocking socket fd; owned: closing the
 * layer closes fd.  peer ("ip:port", may be NULL) is for the description.
 * MW_E_NOMEM (then an owned fd is closed). */
mw_status mw__tcp_layer_new(int fd, bool owned, const char *peer,
                            struct mw_error *err, struct mw__layer **out);

#endif
