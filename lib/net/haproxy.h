/*
 * net/haproxy.h - the HAProxy PROXY protocol header (v1 text, v2 binary),
 * for servers behind a load balancer that expect it before SMTP.
 *
 * Owns: building the header from the connection's own addresses
 * (getsockname/getpeername) and sending it first on the connection, as
 * a layer of the stack (io/layer.h).
 */
#ifndef MW_NET_HAPROXY_H
#define MW_NET_HAPROXY_H

#include "core/err.h"
#include "core/trace.h"
#include "io/layer.h"

#include <stdint.h>

/* Builds the header for fd's addresses into buf (at least 108 bytes);
 * returns its length, or 0 when the addresses cannot be read. */
size_t mw__haproxy_build(int fd, int version, unsigned char *buf,
                         size_t len);
/* The header as a layer over below (connected to the server, or a proxy
 * tunnel to it): its connect step sends the header built from the
 * socket's addresses, then bytes pass through.  Closing it closes below.
 * MW_E_NOMEM. */
mw_status mw__haproxy_layer_new(struct mw__layer *below, int version,
                                struct mw__trace *trace,
                                struct mw__layer **out);

#endif
