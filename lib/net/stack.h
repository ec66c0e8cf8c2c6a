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
#include "net/resolve.h"

#include <stdbool.h>
#include <stdint.h>

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

/* ---- the same without blocking, for a caller with its own loop ------
 * mw__stack_begin() resolves (the only wait: addrs given skips it) and
 * starts the TCP layer over the address list; mw__stack_step() moves the
 * stack on without waiting: TCP's attempts, then the proxy handshake and
 * the PROXY header, each as the one below finishes.  While it returns
 * MW_OK without *done, wait on mw__stack_fd() for *want until
 * mw__stack_wake_at() (then step again, ready or not: the step decides
 * what a passed time means, each stage with its own timeout as
 * mw__stack_open() gives it).  On *done, mw__stack_take() hands over the
 * stack.  mw__stack_open() is a blocking loop over these. */
struct mw__stack_build;

/* addrs: the TCP addresses (the server's, or the proxy's with a proxy),
 * copied; NULL to resolve here.  The strings of o are borrowed until the
 * build is freed.  Errors as mw__stack_open()'s before a connection. */
mw_status mw__stack_begin(const struct mw__stack_opts *o,
                          const struct mw__addrlist *addrs,
                          struct mw__trace *trace, mw__stack_step_fn on_step,
                          void *user, struct mw_error *err,
                          struct mw__stack_build **out);
/* One step; errors as mw__stack_open()'s (the stack is closed then). */
mw_status mw__stack_step(struct mw__stack_build *b, short *want, bool *done);
/* The socket to wait on (-1 when none), and when to step again anyway. */
int mw__stack_fd(const struct mw__stack_build *b);
int64_t mw__stack_wake_at(const struct mw__stack_build *b);
/* Which stage is under way (MW__STACK_CONNECT or MW__STACK_PROXY; the
 * PROXY header counts as the connection's). */
enum mw__stack_step mw__stack_stage(const struct mw__stack_build *b);
/* After *done: the stack (the caller's now) and "ip:port" of the address
 * connected to. */
struct mw__layer *mw__stack_take(struct mw__stack_build *b, char *peer,
                                 size_t peer_len);
/* Frees the build, closing a stack not taken (NULL is a no-op). */
void mw__stack_free(struct mw__stack_build *b);

#endif
