/*
 * net/proxy.c - SOCKS4/4a/5 and HTTP CONNECT client handshakes.
 *
 * DESCRIPTION
 *   Each handshake is a state machine without I/O (mw__proxy_hs_*): it
 *   says what to send and how many bytes to read at most, and is fed what
 *   arrives.  The proxy layer (net/proxy_layer.c) drives it through the
 *   layer below it, one non-blocking step at a time, and
 *   mw__proxy_handshake() runs that layer on a socket with every wait
 *   bounded by the one deadline of the handshake; the probe's
 *   event loop (diag/probe_conn.c) drives many at once.  Reads never go past
 *   the proxy's reply (HTTP headers come byte by byte up to the blank
 *   line), so nothing of the SMTP greeting is consumed here.
 *
 * DIAGNOSTICS
 *   MW_E_PROXY messages name the proxy, the step, and the SOCKS reply code
 *   or HTTP status with its meaning.
 */
#include "net/proxy.h"

#include "core/util.h"
#include "net/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gsasl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
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

/* ---- the handshake as a state machine (no I/O) ------------------------- */

/* Records a MW_E_PROXY failure of the given kind.  Refused credentials or
 * a refused target stay refused on retry; an unreachable proxy may not. */
static mw_status proxy_fail(struct mw_error *err, enum mw__proxy_failure kind,
                            const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mw_status proxy_fail(struct mw_error *err, enum mw__proxy_failure kind,
                            const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mw__error_setv(err, MW_E_PROXY, fmt, ap);
  va_end(ap);
  err->proxy_failure = kind;
  err->temporary = kind == MW__PROXY_FAIL_UNREACHABLE;
  return MW_E_PROXY;
}

enum hs_phase {
  HS_S4_REPLY,    /* SOCKS4: the 8-byte reply to CONNECT */
  HS_S5_METHOD,   /* SOCKS5: version and chosen method */
  HS_S5_TARGET,   /* SOCKS5: waiting for mw__proxy_hs_set_target() */
  HS_S5_AUTH,     /* RFC 1929: version and status */
  HS_S5_REPLY,    /* SOCKS5: VER REP RSV ATYP of the reply to CONNECT */
  HS_S5_NAMELEN,  /* the length of a bound domain name */
  HS_S5_BOUND,    /* the bound address and port, skipped */
  HS_HTTP,        /* HTTP status line and headers, up to the blank line */
  HS_DONE
};

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

/* Replaces the pending output (wiping the previous one: it may hold
 * credentials). */
static bool hs_set_output(struct mw__proxy_hs *hs, const void *data,
                          size_t len)
{
  mw__wipe(hs->out, sizeof(hs->out));
  if(len > sizeof(hs->out))
    return false;
  memcpy(hs->out, data, len);
  hs->outlen = len;
  return true;
}

static void hs_expect(struct mw__proxy_hs *hs, enum hs_phase phase,
                      size_t need)
{
  hs->phase = phase;
  hs->need = need;
  hs->inlen = 0;
}

static mw_status socks5_connect_request(struct mw__proxy_hs *hs,
                                        struct mw_error *err)
{
  unsigned char req[4 + 1 + 255 + 2];
  size_t n = 0;
  req[n++] = 5;
  req[n++] = 1; /* CONNECT */
  req[n++] = 0;
  if(hs->proxy->kind == MW__PROXY_SOCKS5H) {
    size_t hl = strlen(hs->host);
    if(hl > 255)
      return mw__error_set(err, MW_E_INVALID, "host name too long for SOCKS5");
    req[n++] = 3;
    req[n++] = (unsigned char)hl;
    memcpy(req + n, hs->host, hl);
    n += hl;
  }
  else if(!hs->have_target) {
    /* Looked up only now, after the proxy accepted us: a proxy that
     * refuses us is named before any DNS question. */
    hs->phase = HS_S5_TARGET;
    return MW_OK;
  }
  else if(hs->target.ss_family == AF_INET6) {
    req[n++] = 4;
    memcpy(req + n, &((struct sockaddr_in6 *)&hs->target)->sin6_addr, 16);
    n += 16;
  }
  else {
    req[n++] = 1;
    memcpy(req + n, &((struct sockaddr_in *)&hs->target)->sin_addr, 4);
    n += 4;
  }
  req[n++] = (unsigned char)(hs->port >> 8);
  req[n++] = (unsigned char)hs->port;
  hs_set_output(hs, req, n);
  hs_expect(hs, HS_S5_REPLY, 4);
  return MW_OK;
}

static mw_status http_request(struct mw__proxy_hs *hs, struct mw_error *err)
{
  const struct mw__proxy *p = hs->proxy;
  struct mw__sbuf req;
  mw__sbuf_init(&req);
  mw__sbuf_printf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", hs->authority,
                  hs->authority);
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
      mw__wipe(b64, b64len);
      gsasl_free(b64);
    }
    else
      req.failed = true;
    if(cred.data)
      mw__wipe(cred.data, cred.len);
    mw__sbuf_free(&cred);
  }
  mw__sbuf_puts(&req, "\r\n");
  bool ok = !req.failed && hs_set_output(hs, req.data, req.len);
  if(req.data)
    mw__wipe(req.data, req.len);
  mw__sbuf_free(&req);
  if(!ok)
    return mw__error_set(err, req.failed ? MW_E_NOMEM : MW_E_INVALID,
                         req.failed ? NULL
                                    : "the HTTP proxy request is too long "
                                      "(user name and password)");
  hs_expect(hs, HS_HTTP, 1);
  return MW_OK;
}

mw_status mw__proxy_hs_init(struct mw__proxy_hs *hs, const struct mw__proxy *p,
                            const char *host, unsigned port,
                            const struct sockaddr_storage *target,
                            struct mw_error *err)
{
  memset(hs, 0, sizeof(*hs));
  hs->proxy = p;
  hs->port = port;
  if(strlen(host) >= sizeof(hs->host))
    return mw__error_set(err, MW_E_INVALID, "host name too long for a proxy");
  memcpy(hs->host, host, strlen(host) + 1);
  if(target) {
    memcpy(&hs->target, target, sizeof(hs->target));
    hs->have_target = true;
  }
  if(strchr(host, ':'))
    snprintf(hs->authority, sizeof(hs->authority), "[%s]:%u", host, port);
  else
    snprintf(hs->authority, sizeof(hs->authority), "%s:%u", host, port);
  switch(p->kind) {
  case MW__PROXY_SOCKS4:
  case MW__PROXY_SOCKS4A: {
    unsigned char req[8 + 256 + 256];
    size_t n = 0;
    req[n++] = 4;
    req[n++] = 1;
    req[n++] = (unsigned char)(port >> 8);
    req[n++] = (unsigned char)port;
    if(p->kind == MW__PROXY_SOCKS4) {
      if(!target || target->ss_family != AF_INET)
        return mw__error_set(err, MW_E_INVALID,
                             "SOCKS4 needs an IPv4 address for %s", host);
      memcpy(req + n, &((const struct sockaddr_in *)target)->sin_addr, 4);
    }
    else {
      memcpy(req + n, "\0\0\0\1", 4); /* 0.0.0.1: the name follows */
    }
    n += 4;
    const char *uid = p->user ? p->user : "";
    size_t ul = strlen(uid), hl = strlen(host);
    if(ul > 255 || hl > 255)
      return mw__error_set(err, MW_E_INVALID,
                           "SOCKS4 user id and host name are limited to 255 "
                           "bytes each");
    memcpy(req + n, uid, ul + 1);
    n += ul + 1;
    if(p->kind == MW__PROXY_SOCKS4A) {
      memcpy(req + n, host, hl + 1);
      n += hl + 1;
    }
    hs_set_output(hs, req, n);
    hs_expect(hs, HS_S4_REPLY, 8);
    return MW_OK;
  }
  case MW__PROXY_SOCKS5:
  case MW__PROXY_SOCKS5H: {
    bool creds = p->user != NULL;
    unsigned char hello[4] = {5, creds ? 2 : 1, 0, 2};
    hs_set_output(hs, hello, creds ? 4 : 3);
    hs_expect(hs, HS_S5_METHOD, 2);
    return MW_OK;
  }
  case MW__PROXY_HTTP:
    return http_request(hs, err);
  default:
    return mw__error_set(err, MW_E_INVALID, "no proxy");
  }
}

const unsigned char *mw__proxy_hs_output(const struct mw__proxy_hs *hs,
                                         size_t *len)
{
  *len = hs->outlen;
  return hs->out;
}

void mw__proxy_hs_sent(struct mw__proxy_hs *hs)
{
  mw__wipe(hs->out, sizeof(hs->out));
  hs->outlen = 0;
}

bool mw__proxy_hs_needs_target(const struct mw__proxy_hs *hs)
{
  return hs->phase == HS_S5_TARGET;
}

mw_status mw__proxy_hs_set_target(struct mw__proxy_hs *hs,
                                  const struct sockaddr_storage *target,
                                  struct mw_error *err)
{
  if(hs->phase != HS_S5_TARGET)
    return mw__error_set(err, MW_E_INTERNAL, "proxy target set out of order");
  memcpy(&hs->target, target, sizeof(hs->target));
  hs->have_target = true;
  return socks5_connect_request(hs, err);
}

size_t mw__proxy_hs_want(const struct mw__proxy_hs *hs)
{
  if(hs->phase == HS_DONE || hs->phase == HS_S5_TARGET || hs->outlen)
    return 0;
  return hs->need - hs->inlen;
}

bool mw__proxy_hs_done(const struct mw__proxy_hs *hs)
{
  return hs->phase == HS_DONE;
}

void mw__proxy_hs_release(struct mw__proxy_hs *hs)
{
  mw__wipe(hs, sizeof(*hs));
}

/* A complete SOCKS reply (or piece of one) is in hs->in. */
static mw_status hs_socks_reply(struct mw__proxy_hs *hs, struct mw_error *err)
{
  const struct mw__proxy *p = hs->proxy;
  const unsigned char *rep = hs->in;
  switch(hs->phase) {
  case HS_S4_REPLY:
    if(rep[0] != 0)
      return proxy_fail(err, MW__PROXY_FAIL_UNREACHABLE,
                        "the proxy did not answer as a SOCKS4 server");
    if(rep[1] != 0x5a) {
      const char *why = rep[1] == 0x5b   ? "request rejected or failed"
                        : rep[1] == 0x5c ? "the proxy could not reach identd"
                        : rep[1] == 0x5d ? "identd did not confirm the user "
                                           "id (authentication failed)"
                                         : "unknown reply";
      enum mw__proxy_failure kind = rep[1] == 0x5c || rep[1] == 0x5d
                                        ? MW__PROXY_FAIL_AUTH /* identd */
                                        : MW__PROXY_FAIL_TARGET;
      return proxy_fail(err, kind,
                        "the SOCKS4 proxy refused to connect to %s:%u: "
                        "reply 0x%02x, %s",
                        hs->host, hs->port, rep[1], why);
    }
    hs->phase = HS_DONE;
    return MW_OK;
  case HS_S5_METHOD: {
    bool creds = p->user != NULL;
    if(rep[0] != 5)
      return proxy_fail(err, MW__PROXY_FAIL_UNREACHABLE,
                        "the proxy did not answer as a SOCKS5 server");
    if(rep[1] == 0)
      return socks5_connect_request(hs, err);
    if(rep[1] == 0xff)
      return proxy_fail(err, MW__PROXY_FAIL_AUTH,
                        "SOCKS5 proxy authentication failed: the proxy "
                        "accepts none of the offered methods (%s)",
                        creds ? "none, user/password"
                        : "none; it may require a user and "
                        "password in the proxy URL");
    if(rep[1] != 2 || !creds)
      return proxy_fail(err, MW__PROXY_FAIL_UNREACHABLE,
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
    hs_set_output(hs, msg, n);
    mw__wipe(msg, sizeof(msg));
    hs_expect(hs, HS_S5_AUTH, 2);
    return MW_OK;
  }
  case HS_S5_AUTH:
    if(rep[0] != 1)
      return proxy_fail(err, MW__PROXY_FAIL_AUTH,
                        "the SOCKS5 proxy answered the user/password "
                        "request with version %u, not 1",
                        rep[0]);
    if(rep[1] != 0)
      return proxy_fail(err, MW__PROXY_FAIL_AUTH,
                        "SOCKS5 proxy authentication failed: user '%s' "
                        "refused (status %u)",
                        p->user, rep[1]);
    return socks5_connect_request(hs, err);
  case HS_S5_REPLY:
    if(rep[0] != 5)
      return proxy_fail(err, MW__PROXY_FAIL_UNREACHABLE,
                        "the proxy did not answer as a SOCKS5 server");
    if(rep[1] != 0)
      return proxy_fail(err, MW__PROXY_FAIL_TARGET,
                        "the SOCKS5 proxy refused to connect to %s:%u: "
                        "reply %u, %s",
                        hs->host, hs->port, rep[1],
                        socks5_reply_text(rep[1]));
    /* The bound address: read it whole so the SMTP stream starts clean. */
    if(rep[3] == 1)
      hs_expect(hs, HS_S5_BOUND, 4 + 2);
    else if(rep[3] == 4)
      hs_expect(hs, HS_S5_BOUND, 16 + 2);
    else if(rep[3] == 3)
      hs_expect(hs, HS_S5_NAMELEN, 1);
    else
      return proxy_fail(err, MW__PROXY_FAIL_UNREACHABLE,
                        "the SOCKS5 proxy sent an unknown address type %u",
                        rep[3]);
    return MW_OK;
  case HS_S5_NAMELEN:
    hs_expect(hs, HS_S5_BOUND, (size_t)rep[0] + 2);
    return MW_OK;
  case HS_S5_BOUND:
    hs->phase = HS_DONE;
    return MW_OK;
  default:
    return mw__error_set(err, MW_E_INTERNAL, "proxy handshake out of order");
  }
}

/* One byte of the HTTP reply's head. */
static mw_status hs_http_byte(struct mw__proxy_hs *hs, char c,
                              struct mw_error *err)
{
  if(++hs->http_total > 16384)
    return proxy_fail(err, MW__PROXY_FAIL_UNREACHABLE,
                      "the HTTP proxy's reply headers are too long");
  if(hs->http_pending_cr && c != '\n') {
    /* A bare CR inside a line: shown, not silently dropped. */
    hs->http_pending_cr = false;
    mw_status st = hs_http_byte(hs, '?', err);
    if(st)
      return st;
    hs->http_total--; /* counted once, as the CR */
  }
  hs->http_pending_cr = false;
  if(c == '\r') {
    hs->http_pending_cr = true;
    return MW_OK;
  }
  if(c != '\n') {
    hs->http_line_len++;
    if(!hs->http_status_done && hs->http_status_len + 1 < sizeof(hs->status))
      hs->status[hs->http_status_len++] =
          ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
    return MW_OK;
  }
  if(!hs->http_status_done) {
    hs->http_status_done = true;
    hs->status[hs->http_status_len] = '\0';
    hs->http_line_len = 0;
    return MW_OK;
  }
  if(hs->http_line_len) {
    hs->http_line_len = 0;
    return MW_OK;
  }
  /* The blank line: the head is complete. */
  const char *status = hs->status;
  /* "HTTP/1.x SP 3DIGIT [SP reason]" (RFC 9112 4), nothing looser. */
  int code = 0;
  bool digits = strlen(status) >= 12 && status[9] >= '0' &&
                status[9] <= '9' && status[10] >= '0' && status[10] <= '9' &&
                status[11] >= '0' && status[11] <= '9' &&
                (status[12] == ' ' || status[12] == '\0');
  if(digits)
    code = (status[9] - '0') * 100 + (status[10] - '0') * 10 +
           (status[11] - '0');
  if(strncmp(status, "HTTP/1.", 7) != 0 || status[8] != ' ' || !digits)
    return proxy_fail(err, MW__PROXY_FAIL_UNREACHABLE,
                      "the proxy did not answer as an HTTP proxy: \"%s\"",
                      status);
  bool auth = code == 407 || code == 401;
  if(code / 100 != 2)
    return proxy_fail(err, auth ? MW__PROXY_FAIL_AUTH : MW__PROXY_FAIL_TARGET,
                      "the HTTP proxy refused CONNECT to %s: %s%s",
                      hs->authority, status + 9,
                      auth ? " (proxy authentication failed or required)"
                           : "");
  hs->phase = HS_DONE;
  return MW_OK;
}

mw_status mw__proxy_hs_feed(struct mw__proxy_hs *hs, const unsigned char *data,
                            size_t len, struct mw_error *err)
{
  for(size_t i = 0; i < len; i++) {
    if(hs->phase == HS_DONE || hs->outlen)
      return mw__error_set(err, MW_E_INTERNAL,
                           "proxy handshake fed past its reply");
    if(hs->phase == HS_HTTP) {
      mw_status st = hs_http_byte(hs, (char)data[i], err);
      if(st)
        return st;
      continue;
    }
    hs->in[hs->inlen++] = data[i];
    if(hs->inlen < hs->need)
      continue;
    mw_status st = hs_socks_reply(hs, err);
    if(st)
      return st;
  }
  return MW_OK;
}

mw_status mw__proxy_hs_closed(const struct mw__proxy_hs *hs,
                              struct mw_error *err)
{
  /* Some proxies answer a target they fail to connect to by closing the
   * connection without any reply: OpenSSH's dynamic forwarding (ssh -D)
   * sends its SOCKS reply only once its server has opened the channel.
   * The message then names the target (doctor reads it as the proxy
   * refusing the target). */
  bool connect_reply = hs->phase == HS_S4_REPLY || hs->phase == HS_S5_REPLY;
  if(connect_reply && hs->inlen == 0) {
    proxy_fail(err, MW__PROXY_FAIL_TARGET,
               "the %s proxy closed the connection without replying to "
               "the request to connect to %s:%u (how some proxies, such as "
               "OpenSSH's ssh -D, answer a target they could not connect "
               "to)",
               hs->phase == HS_S4_REPLY ? "SOCKS4" : "SOCKS5", hs->host,
               hs->port);
    err->temporary = true; /* a close is not a refusal: it may pass */
    return MW_E_PROXY;
  }
  /* Closing instead of answering the credentials is refusing them. */
  return proxy_fail(err,
                    hs->phase == HS_S5_AUTH ? MW__PROXY_FAIL_AUTH
                                            : MW__PROXY_FAIL_UNREACHABLE,
                    "the proxy closed the connection during the "
                    "handshake%s",
                    hs->phase == HS_S5_AUTH ? " (after the user and password: "
                                              "authentication failed)"
                                            : "");
}

/* ---- resolving the target ----------------------------------------------- */

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

mw_status mw__proxy_resolve_target(const struct mw__proxy *p,
                                   const char *host, unsigned port,
                                   const char *dns_server, int64_t deadline,
                                   struct sockaddr_storage *sa, bool *needed,
                                   struct mw_error *err)
{
  /* SOCKS4's request carries the address; SOCKS5's comes later. */
  *needed = p->kind == MW__PROXY_SOCKS4 || p->kind == MW__PROXY_SOCKS5;
  if(!*needed)
    return MW_OK;
  return resolve_target(host, port,
                        p->kind == MW__PROXY_SOCKS4 ? MW_FAMILY_IPV4
                                                    : MW_FAMILY_ANY,
                        dns_server, deadline, sa, err);
}
