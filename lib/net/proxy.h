/*
 * net/proxy.h - reaching the server through a proxy: SOCKS4, SOCKS4a,
 * SOCKS5 (RFC 1928, with RFC 1929 user/password) and HTTP CONNECT
 * (RFC 9110 9.3.6, with Basic proxy authorisation).
 *
 * Owns: proxy URLs, and the handshake on a socket already connected to the
 * proxy, after which the socket carries the SMTP stream as if connected to
 * the server.  The handshake never reads past its own reply, so the
 * server's greeting stays in the socket for the SMTP layer.
 */
#ifndef MW_NET_PROXY_H
#define MW_NET_PROXY_H

#include "core/err.h"
#include "core/trace.h"
#include "io/layer.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum mw__proxy_kind {
  MW__PROXY_NONE = 0,
  MW__PROXY_SOCKS4,  /* IPv4 only, the client resolves */
  MW__PROXY_SOCKS4A, /* the proxy resolves */
  MW__PROXY_SOCKS5,  /* the client resolves */
  MW__PROXY_SOCKS5H, /* the proxy resolves */
  MW__PROXY_HTTP     /* HTTP CONNECT, the proxy resolves */
};

struct mw__proxy {
  enum mw__proxy_kind kind;
  char host[256];
  unsigned port;
  char *user;     /* owned, may be NULL */
  char *password; /* owned secret, may be NULL */
};

/* Parses "socks5://user:pass@host:port" and friends (user and password
 * percent-decoded; default ports 1080, or 8080 for http).  On failure
 * MW_E_INVALID with a reason in why.  Release with mw__proxy_release(). */
mw_status mw__proxy_parse_url(const char *url, struct mw__proxy *out,
                              char *why, size_t whylen);
void mw__proxy_release(struct mw__proxy *p);
const char *mw__proxy_kind_name(enum mw__proxy_kind k);

/* Asks the proxy on the connected socket fd to connect to host:port.
 * For SOCKS4 and SOCKS5 the name is resolved here first (dns_server as
 * for mw__resolve).  Returns MW_OK, MW_E_PROXY (refused, with the SOCKS
 * reply code or HTTP status in the message; auth failures say so),
 * MW_E_TIMEOUT, MW_E_CLOSED, MW_E_DNS, MW_E_NOMEM. */
mw_status mw__proxy_handshake(int fd, const struct mw__proxy *p,
                              const char *host, unsigned port,
                              const char *dns_server, int64_t deadline,
                              struct mw__trace *trace, struct mw_error *err);

/* The handshake as a layer (io/layer.h) over below, which is connected to
 * the proxy: its connect step runs the handshake to host:port through
 * below (resolving the target when the client must, before deadline);
 * then it passes bytes through.  p is borrowed until the handshake ends;
 * dns_server and trace until the layer is closed.  Closing it closes
 * below.  MW_E_NOMEM. */
mw_status mw__proxy_layer_new(struct mw__layer *below,
                              const struct mw__proxy *p, const char *host,
                              unsigned port, const char *dns_server,
                              int64_t deadline, struct mw__trace *trace,
                              struct mw__layer **out);
/* Runs that connect step to its end, waiting until deadline; errors as for
 * mw__proxy_handshake() (a timeout is MW_E_PROXY, proxy unreachable). */
mw_status mw__proxy_layer_connect(struct mw__layer *l, int64_t deadline);

/* The handshake as a state machine without I/O, for event loops (and
 * fuzzing).  After mw__proxy_hs_init(): while !mw__proxy_hs_done(), send
 * all of mw__proxy_hs_output() when it is not empty and then call
 * mw__proxy_hs_sent(); otherwise read at most mw__proxy_hs_want() bytes
 * (never more: the SMTP greeting must stay in the socket) and pass them
 * to mw__proxy_hs_feed(); at end of stream call mw__proxy_hs_closed() for
 * the error.  target: the server's address, required for SOCKS4 (IPv4),
 * optional for SOCKS5 (see mw__proxy_hs_needs_target()), NULL for the
 * kinds where the proxy resolves (mw__proxy_resolve_target() knows).  p must outlive hs.  mw__proxy_hs_release() wipes it (the
 * output may hold credentials). */
struct mw__proxy_hs {
  const struct mw__proxy *proxy;
  char host[256];
  unsigned port;
  char authority[300];
  struct sockaddr_storage target;
  bool have_target;
  int phase;
  unsigned char out[1024];
  size_t outlen;
  unsigned char in[260];
  size_t inlen, need;
  /* HTTP */
  char status[256];
  size_t http_status_len, http_line_len, http_total;
  bool http_status_done;
  bool http_pending_cr;
};

mw_status mw__proxy_hs_init(struct mw__proxy_hs *hs, const struct mw__proxy *p,
                            const char *host, unsigned port,
                            const struct sockaddr_storage *target,
                            struct mw_error *err);
const unsigned char *mw__proxy_hs_output(const struct mw__proxy_hs *hs,
                                         size_t *len);
void mw__proxy_hs_sent(struct mw__proxy_hs *hs);
size_t mw__proxy_hs_want(const struct mw__proxy_hs *hs);
mw_status mw__proxy_hs_feed(struct mw__proxy_hs *hs, const unsigned char *data,
                            size_t len, struct mw_error *err);
mw_status mw__proxy_hs_closed(const struct mw__proxy_hs *hs,
                              struct mw_error *err);
bool mw__proxy_hs_done(const struct mw__proxy_hs *hs);
/* SOCKS5 without a target given to init: once the proxy has accepted the
 * client, the server's address is needed (the driver resolves it). */
bool mw__proxy_hs_needs_target(const struct mw__proxy_hs *hs);
mw_status mw__proxy_hs_set_target(struct mw__proxy_hs *hs,
                                  const struct sockaddr_storage *target,
                                  struct mw_error *err);
void mw__proxy_hs_release(struct mw__proxy_hs *hs);

/* For SOCKS4 and SOCKS5, where the client resolves: the server's address
 * (*needed true).  Otherwise *needed false and nothing is looked up. */
mw_status mw__proxy_resolve_target(const struct mw__proxy *p,
                                   const char *host, unsigned port,
                                   const char *dns_server, int64_t deadline,
                                   struct sockaddr_storage *sa, bool *needed,
                                   struct mw_error *err);

#endif
