/*
 * net/stack.h - building a connection's layer stack from the options.
 *
 * Owns: the one place where a connection is opened: resolve (the server,
 * or the proxy), TCP to the first address that answers (bind address,
 * timeout per attempt), then the proxy tunnel and the HAProxy PROXY
 * header as layers over it (io/layer.h).  TLS goes on top of the stack it
 * returns (tls/tls.h: implicit TLS at once, STARTTLS later).
 */
#ifndef MW_NET_STACK_H
#define MW_NET_STACK_H

#include "core/trace.h"
#include "io/layer.h"

struct mw__stack_opts {
  const char *host;   /* the server */
  unsigned port;
  mw_family family;
  const char *dns_server;
  const char *bind;   /* local address, or NULL */
  unsigned connect_timeout_ms;
  const char *proxy_url;  /* socks4://, socks5h://, http://..., or NULL */
  int proxy_protocol;     /* HAProxy PROXY header version: 0, 1 or 2 */
};

enum mw__stack_step {
  MW__STACK_RESOLVE = 0,
  MW__STACK_CONNECT,
  MW__STACK_PROXY
};

/* Told on entering each step (the session notes when, for diagnosis). */
typedef void (*mw__stack_step_fn)(void *user, enum mw__stack_step step);

/* Opens the connection.  On MW_OK *top is the stack (owned by the caller:
 * mw__layer_close()) and peer holds "ip:port" of the address connected
 * to (the proxy's, with a proxy).  Errors as mw__resolve(),
 * mw__tcp_connect() and mw__proxy_handshake() give them; MW_E_INVALID for
 * a bad proxy URL; an unreachable proxy is MW_E_PROXY. */
mw_status mw__stack_open(const struct mw__stack_opts *o,
                         struct mw__trace *trace, mw__stack_step_fn on_step,
                         void *user, char *peer, size_t peer_len,
                         struct mw_error *err, struct mw__layer **top);

#endif
