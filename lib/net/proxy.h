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

#include <stdint.h>

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

#endif
