/*
 * net/proxy.c - SOCKS4/4a/5 and HTTP CONNECT client handshakes.
 *
 * DESCRIPTION
 *   Plain blocking-style exchanges over a non-blocking socket: every read
 *   and write waits with poll() until the one deadline of the handshake.
 *   Reads take exactly the bytes of the proxy's reply (HTTP headers are
 *   read byte by byte up to the blank line) so nothing of the SMTP
 *   greeting is consumed here.
 *
 * DIAGNOSTICS
 *   MW_E_PROXY messages name the proxy, the step, and the SOCKS reply code
 *   or HTTP status with its meaning.
 */
#include "net/proxy.h"

#include "core/util.h"
#include "io/stream.h"
#include "net/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gsasl.h>
#include <openssl/crypto.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

const char *mw__proxy_kind_name(enum mw__proxy_kind k)
{
  static const char *const names[] = {"none",   "socks4", "socks4a",
                                      "socks5", "socks5h", "http"};
  return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

void mw__proxy_release(struct mw__proxy *p)
{
  mw__free(p->user);
  mw__free_secret(p->password);
  p->user = p->password = NULL;
}

static int hexval(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape, a NUL
 * or a control byte. */
static char *pct_decode(const char *s, size_t n)
{
  char *out = mw__malloc(n + 1);
  if(!out)
    return NULL;
  size_t o = 0;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    if(c == '%') {
      if(i + 2 >= n) {
        mw__free(out);
        return NULL;
      }
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if(h < 0 || l < 0) {
        mw__free(out);
        return NULL;
      }
      c = (char)(h * 16 + l);
      i += 2;
    }
    if((unsigned char)c < 0x20 || c == 0x7f) {
      mw__free(out);
      return NULL;
    }
    out[o++] = c;
  }
  out[o] = '\0';
  return out;
}

static mw_status bad_url(char *why, size_t len, const char *reason)
{
  snprintf(why, len, "%s", reason);
  return MW_E_INVALID;
}

mw_status mw__proxy_parse_url(const char *url, struct mw__proxy *out,
                              char *why, size_t whylen)
{
  memset(out, 0, sizeof(*out));
  static const struct {
    const char *scheme;
    enum mw__proxy_kind kind;
    unsigned port;
  } schemes[] = {{"socks4://", MW__PROXY_SOCKS4, 1080},
                 {"socks4a://", MW__PROXY_SOCKS4A, 1080},
                 {"socks5://", MW__PROXY_SOCKS5, 1080},
                 {"socks5h://", MW__PROXY_SOCKS5H, 1080},
                 {"http://", MW__PROXY_HTTP, 8080}};
  const char *rest = NULL;
  for(size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    size_t sl = strlen(schemes[i].scheme);
    if(mw__strnieq(url, schemes[i].scheme, sl)) {
      out->kind = schemes[i].kind;
      out->port = schemes[i].port;
      rest = url + sl;
      break;
    }
  }
  if(!rest)
    return bad_url(why, whylen,
                   "the scheme must be socks4://, socks4a://, socks5://, "
                   "socks5h:// or http://");
  size_t rl = strcspn(rest, "/?#");
  if(rest[rl] && !(rest[rl] == '/' && rest[rl + 1] == '\0'))
    return bad_url(why, whylen, "a proxy URL has no path, query or fragment");
  const char *at = NULL; /* the last '@' of the authority */
  for(const char *q = rest; q < rest + rl; q++)
    if(*q == '@')
      at = q;
  const char *hp = rest;
  if(at) {
    /* Credentials: the last '@' separates them (a password may hold one
     * only percent-encoded). */
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    size_t ul = colon ? (size_t)(colon - rest) : (size_t)(at - rest);
    out->user = pct_decode(rest, ul);
    if(colon)
      out->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
    if(!out->user || (colon && !out->password) || !out->user[0]) {
      mw__proxy_release(out);
      return bad_url(why, whylen,
                     "bad user name or password in the proxy URL "
                     "(percent-encode special characters)");
    }
    if(out->kind == MW__PROXY_SOCKS4 || out->kind == MW__PROXY_SOCKS4A) {
      if(out->password) {
        mw__proxy_release(out);
        return bad_url(why, whylen,
                       "SOCKS4 has a user id but no password");
      }
    }
    hp = at + 1;
  }
  size_t hl = (size_t)(rest + rl - hp);
  const char *pstart = NULL;
  char host[256];
  if(hl && hp[0] == '[') {
    const char *end = memchr(hp, ']', hl);
    if(!end || end == hp + 1 || (size_t)(end - hp - 1) >= sizeof(host)) {
      mw__proxy_release(out);
      return bad_url(why, whylen, "bad bracketed IPv6 address");
    }
    memcpy(host, hp + 1, (size_t)(end - hp - 1));
    host[end - hp - 1] = '\0';
    if(end + 1 < hp + hl) {
      if(end[1] != ':') {
        mw__proxy_release(out);
        return bad_url(why, whylen, "junk after the IPv6 address");
      }
      pstart = end + 2;
    }
  }
  else {
    const char *colon = memchr(hp, ':', hl);
    size_t n = colon ? (size_t)(colon - hp) : hl;
    if(n == 0 || n >= sizeof(host)) {
      mw__proxy_release(out);
      return bad_url(why, whylen, "the proxy URL has no host");
    }
    memcpy(host, hp, n);
    host[n] = '\0';
    pstart = colon ? colon + 1 : NULL;
  }
  for(const char *c = host; *c; c++)
    if((unsigned char)*c <= 0x20 || *c == '%' || *c == '@') {
      mw__proxy_release(out);
      return bad_url(why, whylen, "bad character in the proxy host");
    }
  if(pstart) {
    const char *pend = rest + rl;
    unsigned port = 0;
    if(pstart == pend || pend - pstart > 5) {
      mw__proxy_release(out);
      return bad_url(why, whylen, "bad proxy port");
    }
    for(const char *c = pstart; c < pend; c++) {
      if(*c < '0' || *c > '9') {
        mw__proxy_release(out);
        return bad_url(why, whylen, "bad proxy port");
      }
      port = port * 10 + (unsigned)(*c - '0');
    }
    if(port == 0 || port > 65535) {
      mw__proxy_release(out);
      return bad_url(why, whylen, "proxy port out of range (1-65535)");
    }
    out->port = port;
  }
  memcpy(out->host, host, strlen(host) + 1);
  return MW_OK;
}

/* ---- I/O with the handshake's deadline -------------------------------- */

static mw_status send_all(int fd, const void *buf, size_t len,
                          int64_t deadline, struct mw_error *err)
{
  return mw__fd_send_all(fd, buf, len, deadline, MW_E_PROXY, "proxy", err);
}

/* Reads exactly len bytes.  When the proxy closes the connection before
 * sending any of them: with closed, sets *closed and leaves the message
 * to the caller. */
static mw_status recv_exact_or_closed(int fd, void *buf, size_t len,
                                      int64_t deadline, bool *closed,
                                      struct mw_error *err)
{
  char *p = buf;
  while(len) {
    ssize_t n = recv(fd, p, len, 0);
    if(n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if(n == 0 && closed && p == (char *)buf) {
      *closed = true;
      return MW_E_PROXY;
    }
    if(n == 0)
      return mw__error_set(err, MW_E_PROXY,
                           "the proxy closed the connection during the "
                           "handshake");
    if(errno == EINTR)
      continue;
    if(errno == EAGAIN || errno == EWOULDBLOCK) {
      mw_status st = mw__wait_fd(fd, POLLIN, deadline, err,
                                 "waiting for the proxy");
      if(st)
        return st;
      continue;
    }
    return mw__error_set(err, MW_E_PROXY, "the proxy connection failed: %s",
                         strerror(errno));
  }
  return MW_OK;
}

static mw_status recv_exact(int fd, void *buf, size_t len, int64_t deadline,
                            struct mw_error *err)
{
  return recv_exact_or_closed(fd, buf, len, deadline, NULL, err);
}

/* Reads the proxy's reply to the request to connect to host:port.  Some
 * proxies answer a target they fail to connect to by closing the
 * connection without any reply: OpenSSH's dynamic forwarding (ssh -D)
 * sends its SOCKS4 or SOCKS5 reply only once its server has opened the
 * channel, and otherwise just closes.  The message then names the target
 * (doctor reads it as the proxy refusing the target). */
static mw_status recv_connect_reply(int fd, void *buf, size_t len,
                                    const char *proto, const char *host,
                                    unsigned port, int64_t deadline,
                                    struct mw_error *err)
{
  bool closed = false;
  mw_status st = recv_exact_or_closed(fd, buf, len, deadline, &closed, err);
  if(closed)
    return mw__error_set(err, MW_E_PROXY,
                         "the %s proxy closed the connection without "
                         "replying to the request to connect to %s:%u "
                         "(how some proxies, such as OpenSSH's ssh -D, "
                         "answer a target they could not connect to)",
                         proto, host, port);
  return st;
}

/* ---- SOCKS --------------------------------------------------------------- */

static const char *socks5_reply_text(unsigned code)
{
  static const char *const text[] = {
      "succeeded",
      "general SOCKS server failure",
      "connection not allowed by ruleset",
      "network unreachable",
      "host unreachable",
      "connection refused by the destination",
      "TTL expired",
      "command not supported",
      "address type not supported"};
  return code < sizeof(text) / sizeof(text[0]) ? text[code] : "unknown";
}

/* Resolves the target for the kinds where the client resolves. */
static mw_status resolve_target(const char *host, unsigned port,
                                mw_family family, const char *dns_server,
                                int64_t deadline, struct sockaddr_storage *sa,
                                struct mw_error *err)
{
  struct mw__addrlist l;
  mw_status st = mw__resolve(host, port, family, dns_server, deadline, &l,
                             err);
  if(st)
    return st;
  memcpy(sa, &l.items[0].sa, sizeof(*sa));
  mw__addrlist_free(&l);
  return MW_OK;
}

static mw_status socks4(int fd, const struct mw__proxy *p, const char *host,
                        unsigned port, const char *dns_server,
                        int64_t deadline, struct mw_error *err)
{
  struct mw__sbuf req;
  mw__sbuf_init(&req);
  unsigned char head[8] = {4, 1, (unsigned char)(port >> 8),
                           (unsigned char)port, 0, 0, 0, 1};
  if(p->kind == MW__PROXY_SOCKS4) {
    struct sockaddr_storage sa;
    mw_status st = resolve_target(host, port, MW_FAMILY_IPV4, dns_server,
                                  deadline, &sa, err);
    if(st)
      return st;
    memcpy(head + 4, &((struct sockaddr_in *)&sa)->sin_addr, 4);
  }
  mw__sbuf_append(&req, head, sizeof(head));
  const char *uid = p->user ? p->user : "";
  mw__sbuf_append(&req, uid, strlen(uid) + 1);
  if(p->kind == MW__PROXY_SOCKS4A)
    mw__sbuf_append(&req, host, strlen(host) + 1);
  if(req.failed) {
    mw__sbuf_free(&req);
    return mw__error_set(err, MW_E_NOMEM, NULL);
  }
  mw_status st = send_all(fd, req.data, req.len, deadline, err);
  mw__sbuf_free(&req);
  unsigned char rep[8];
  if(!st)
    st = recv_connect_reply(fd, rep, sizeof(rep), "SOCKS4", host, port,
                            deadline, err);
  if(st)
    return st;
  if(rep[0] != 0)
    return mw__error_set(err, MW_E_PROXY,
                         "the proxy did not answer as a SOCKS4 server");
  if(rep[1] != 0x5a) {
    const char *why = rep[1] == 0x5b   ? "request rejected or failed"
                      : rep[1] == 0x5c ? "the proxy could not reach identd"
                      : rep[1] == 0x5d ? "identd did not confirm the user "
                                         "id (authentication failed)"
                                       : "unknown reply";
    return mw__error_set(err, MW_E_PROXY,
                         "the SOCKS4 proxy refused to connect to %s:%u: "
                         "reply 0x%02x, %s",
                         host, port, rep[1], why);
  }
  return MW_OK;
}

static mw_status socks5_auth(int fd, const struct mw__proxy *p,
                             int64_t deadline, struct mw_error *err)
{
  bool creds = p->user != NULL;
  unsigned char hello[4] = {5, creds ? 2 : 1, 0, 2};
  mw_status st = send_all(fd, hello, creds ? 4 : 3, deadline, err);
  unsigned char rep[2];
  if(!st)
    st = recv_exact(fd, rep, 2, deadline, err);
  if(st)
    return st;
  if(rep[0] != 5)
    return mw__error_set(err, MW_E_PROXY,
                         "the proxy did not answer as a SOCKS5 server");
  if(rep[1] == 0)
    return MW_OK;
  if(rep[1] == 0xff)
    return mw__error_set(err, MW_E_PROXY,
                         "SOCKS5 proxy authentication failed: the proxy "
                         "accepts none of the offered methods (%s)",
                         creds ? "none, user/password"
                               : "none; it may require a user and "
                                 "password in the proxy URL");
  if(rep[1] != 2 || !creds)
    return mw__error_set(err, MW_E_PROXY,
                         "the SOCKS5 proxy chose a method not offered (%u)",
                         rep[1]);
  size_t ul = strlen(p->user);
  const char *pw = p->password ? p->password : "";
  size_t pl = strlen(pw);
  if(ul > 255 || pl > 255)
    return mw__error_set(err, MW_E_INVALID,
                         "SOCKS5 user name and password are limited to 255 "
                         "bytes each");
  unsigned char msg[3 + 255 + 255];
  size_t n = 0;
  msg[n++] = 1;
  msg[n++] = (unsigned char)ul;
  memcpy(msg + n, p->user, ul);
  n += ul;
  msg[n++] = (unsigned char)pl;
  memcpy(msg + n, pw, pl);
  n += pl;
  st = send_all(fd, msg, n, deadline, err);
  OPENSSL_cleanse(msg, sizeof(msg));
  if(!st)
    st = recv_exact(fd, rep, 2, deadline, err);
  if(st)
    return st;
  if(rep[1] != 0)
    return mw__error_set(err, MW_E_PROXY,
                         "SOCKS5 proxy authentication failed: user '%s' "
                         "refused (status %u)",
                         p->user, rep[1]);
  return MW_OK;
}

static mw_status socks5(int fd, const struct mw__proxy *p, const char *host,
                        unsigned port, const char *dns_server,
                        int64_t deadline, struct mw_error *err)
{
  mw_status st = socks5_auth(fd, p, deadline, err);
  if(st)
    return st;
  unsigned char req[4 + 1 + 255 + 2];
  size_t n = 0;
  req[n++] = 5;
  req[n++] = 1; /* CONNECT */
  req[n++] = 0;
  if(p->kind == MW__PROXY_SOCKS5H) {
    size_t hl = strlen(host);
    if(hl > 255)
      return mw__error_set(err, MW_E_INVALID, "host name too long for SOCKS5");
    req[n++] = 3;
    req[n++] = (unsigned char)hl;
    memcpy(req + n, host, hl);
    n += hl;
  }
  else {
    struct sockaddr_storage sa;
    st = resolve_target(host, port, MW_FAMILY_ANY, dns_server, deadline, &sa,
                        err);
    if(st)
      return st;
    if(sa.ss_family == AF_INET6) {
      req[n++] = 4;
      memcpy(req + n, &((struct sockaddr_in6 *)&sa)->sin6_addr, 16);
      n += 16;
    }
    else {
      req[n++] = 1;
      memcpy(req + n, &((struct sockaddr_in *)&sa)->sin_addr, 4);
      n += 4;
    }
  }
  req[n++] = (unsigned char)(port >> 8);
  req[n++] = (unsigned char)port;
  st = send_all(fd, req, n, deadline, err);
  unsigned char rep[4];
  if(!st)
    st = recv_connect_reply(fd, rep, 4, "SOCKS5", host, port, deadline, err);
  if(st)
    return st;
  if(rep[0] != 5)
    return mw__error_set(err, MW_E_PROXY,
                         "the proxy did not answer as a SOCKS5 server");
  if(rep[1] != 0)
    return mw__error_set(err, MW_E_PROXY,
                         "the SOCKS5 proxy refused to connect to %s:%u: "
                         "reply %u, %s",
                         host, port, rep[1], socks5_reply_text(rep[1]));
  /* The bound address: read it whole so the SMTP stream starts clean. */
  size_t rest;
  if(rep[3] == 1)
    rest = 4 + 2;
  else if(rep[3] == 4)
    rest = 16 + 2;
  else if(rep[3] == 3) {
    unsigned char l;
    st = recv_exact(fd, &l, 1, deadline, err);
    if(st)
      return st;
    rest = (size_t)l + 2;
  }
  else
    return mw__error_set(err, MW_E_PROXY,
                         "the SOCKS5 proxy sent an unknown address type %u",
                         rep[3]);
  unsigned char skip[258];
  return recv_exact(fd, skip, rest, deadline, err);
}

/* ---- HTTP CONNECT --------------------------------------------------------- */

static mw_status http_connect(int fd, const struct mw__proxy *p,
                              const char *host, unsigned port,
                              int64_t deadline, struct mw_error *err)
{
  char authority[300];
  if(strchr(host, ':'))
    snprintf(authority, sizeof(authority), "[%s]:%u", host, port);
  else
    snprintf(authority, sizeof(authority), "%s:%u", host, port);
  struct mw__sbuf req;
  mw__sbuf_init(&req);
  mw__sbuf_printf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", authority,
                  authority);
  if(p->user) {
    struct mw__sbuf cred;
    mw__sbuf_init(&cred);
    mw__sbuf_printf(&cred, "%s:%s", p->user,
                    p->password ? p->password : "");
    char *b64 = NULL;
    size_t b64len = 0;
    if(!cred.failed &&
       gsasl_base64_to(cred.data, cred.len, &b64, &b64len) == GSASL_OK) {
      mw__sbuf_printf(&req, "Proxy-Authorization: Basic %s\r\n", b64);
      OPENSSL_cleanse(b64, b64len);
      gsasl_free(b64);
    }
    else
      req.failed = true;
    if(cred.data)
      OPENSSL_cleanse(cred.data, cred.len);
    mw__sbuf_free(&cred);
  }
  mw__sbuf_puts(&req, "\r\n");
  if(req.failed) {
    mw__sbuf_free(&req);
    return mw__error_set(err, MW_E_NOMEM, NULL);
  }
  mw_status st = send_all(fd, req.data, req.len, deadline, err);
  OPENSSL_cleanse(req.data, req.len);
  mw__sbuf_free(&req);
  if(st)
    return st;
  /* Status line and headers, byte by byte up to the blank line, bounded. */
  char status[256];
  size_t sl = 0, total = 0, line_len = 0;
  bool first_line = true;
  for(;;) {
    char c;
    st = recv_exact(fd, &c, 1, deadline, err);
    if(st)
      return st;
    if(++total > 16384)
      return mw__error_set(err, MW_E_PROXY,
                           "the HTTP proxy's reply headers are too long");
    if(c == '\n') {
      if(first_line) {
        first_line = false;
        status[sl] = '\0';
      }
      else if(line_len == 0)
        break;
      line_len = 0;
      continue;
    }
    if(c == '\r')
      continue;
    line_len++;
    if(first_line && sl + 1 < sizeof(status))
      status[sl++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
  }
  int code = 0;
  if(strncmp(status, "HTTP/1.", 7) != 0 || strlen(status) < 12 ||
     status[8] != ' ' || sscanf(status + 9, "%3d", &code) != 1)
    return mw__error_set(err, MW_E_PROXY,
                         "the proxy did not answer as an HTTP proxy: \"%s\"",
                         status);
  if(code / 100 != 2)
    return mw__error_set(err, MW_E_PROXY,
                         "the HTTP proxy refused CONNECT to %s: %s%s",
                         authority, status + 9,
                         code == 407 || code == 401
                             ? " (proxy authentication failed or "
                                       "required)"
                                     : "");
  return MW_OK;
}

mw_status mw__proxy_handshake(int fd, const struct mw__proxy *p,
                              const char *host, unsigned port,
                              const char *dns_server, int64_t deadline,
                              struct mw__trace *trace, struct mw_error *err)
{
  mw__trace_emit(trace, MW_TRACE_NET, "%s proxy %s:%u: connecting to %s:%u",
                 mw__proxy_kind_name(p->kind), p->host, p->port, host, port);
  mw_status st;
  switch(p->kind) {
  case MW__PROXY_SOCKS4:
  case MW__PROXY_SOCKS4A:
    st = socks4(fd, p, host, port, dns_server, deadline, err);
    break;
  case MW__PROXY_SOCKS5:
  case MW__PROXY_SOCKS5H:
    st = socks5(fd, p, host, port, dns_server, deadline, err);
    break;
  case MW__PROXY_HTTP:
    st = http_connect(fd, p, host, port, deadline, err);
    break;
  default:
    return MW_OK;
  }
  if(st == MW_E_TIMEOUT)
    mw__error_set(err, MW_E_PROXY,
                  "the %s proxy %s:%u did not answer the handshake in time",
                  mw__proxy_kind_name(p->kind), p->host, p->port);
  if(!st)
    mw__trace_emit(trace, MW_TRACE_NET, "proxy tunnel to %s:%u open", host,
                   port);
  /* Refused credentials or a refused target stay refused on retry. */
  if(st == MW_E_PROXY && (strstr(err->message, "authentication") ||
                          strstr(err->message, "refused")))
    err->temporary = false;
  return st == MW_E_TIMEOUT ? MW_E_PROXY : st;
}
