/*
 * net/haproxy.c - PROXY protocol v1 and v2 headers (haproxy.org's
 * proxy-protocol.txt).
 */
#include "net/haproxy.h"

#include "core/util.h"

#include <arpa/inet.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v2_signature[12] = {0x0d, 0x0a, 0x0d, 0x0a,
                                               0x00, 0x0d, 0x0a, 0x51,
                                               0x55, 0x49, 0x54, 0x0a};

size_t mw__haproxy_build(int fd, int version, unsigned char *buf,
                         size_t len)
{
  struct sockaddr_storage src, dst;
  socklen_t sl = sizeof(src), dl = sizeof(dst);
  if(len < 108 || getsockname(fd, (struct sockaddr *)&src, &sl) != 0 ||
     getpeername(fd, (struct sockaddr *)&dst, &dl) != 0 ||
     src.ss_family != dst.ss_family ||
     (src.ss_family != AF_INET && src.ss_family != AF_INET6))
    return 0;
  bool v6 = src.ss_family == AF_INET6;
  const void *sa = v6 ? (const void *)&((struct sockaddr_in6 *)&src)->sin6_addr
                      : (const void *)&((struct sockaddr_in *)&src)->sin_addr;
  const void *da = v6 ? (const void *)&((struct sockaddr_in6 *)&dst)->sin6_addr
                      : (const void *)&((struct sockaddr_in *)&dst)->sin_addr;
  uint16_t sp = v6 ? ((struct sockaddr_in6 *)&src)->sin6_port
                   : ((struct sockaddr_in *)&src)->sin_port;
  uint16_t dp = v6 ? ((struct sockaddr_in6 *)&dst)->sin6_port
                   : ((struct sockaddr_in *)&dst)->sin_port;
  if(version == 1) {
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    inet_ntop(src.ss_family, sa, s, sizeof(s));
    inet_ntop(src.ss_family, da, d, sizeof(d));
    int n = snprintf((char *)buf, len, "PROXY %s %s %s %u %u\r\n",
                     v6 ? "TCP6" : "TCP4", s, d, ntohs(sp), ntohs(dp));
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
  }
  size_t alen = v6 ? 16 : 4;
  size_t n = 0;
  memcpy(buf, v2_signature, sizeof(v2_signature));
  n += sizeof(v2_signature);
  buf[n++] = 0x21;               /* version 2, command PROXY */
  buf[n++] = v6 ? 0x21 : 0x11;   /* AF_INET6/AF_INET, STREAM */
  uint16_t body = (uint16_t)(2 * alen + 4);
  buf[n++] = (unsigned char)(body >> 8);
  buf[n++] = (unsigned char)body;
  memcpy(buf + n, sa, alen);
  n += alen;
  memcpy(buf + n, da, alen);
  n += alen;
  memcpy(buf + n, &sp, 2); /* already in network order */
  n += 2;
  memcpy(buf + n, &dp, 2);
  n += 2;
  return n;
}

/* ---- the PROXY header as a layer -------------------------------------- */

struct haproxy_layer {
  struct mw__layer layer;
  int version;
  struct mw__trace *trace;
  unsigned char buf[128];
  size_t len, off;
  bool built, done;
};

static mw_status haproxy_step(struct mw__layer *l, short *want)
{
  struct haproxy_layer *h = l->impl;
  *want = 0;
  if(h->done)
    return MW_OK;
  if(!h->built) {
    h->len = mw__haproxy_build(l->fd, h->version, h->buf, sizeof(h->buf));
    if(!h->len)
      return mw__error_set(l->err, MW_E_INTERNAL,
                           "cannot build the PROXY protocol header for this "
                           "connection");
    h->built = true;
    if(h->version == 1)
      mw__trace_emit(h->trace, MW_TRACE_OUT, "%.*s", (int)(h->len - 2),
                     (char *)h->buf);
    else
      mw__trace_emit(h->trace, MW_TRACE_OUT,
                     "<PROXY protocol v2 header, %zu bytes>", h->len);
  }
  while(h->off < h->len) {
    size_t put = 0;
    mw_status st = l->below->ops->write(l->below, h->buf + h->off,
                                        h->len - h->off, &put, want);
    if(st)
      return st;
    h->off += put;
    if(!put) {
      if(!*want)
        *want = POLLOUT;
      return MW_OK;
    }
  }
  h->done = true;
  return MW_OK;
}

static mw_status haproxy_read(struct mw__layer *l, void *buf, size_t len,
                              size_t *got, short *want)
{
  mw_status st = l->below->ops->read(l->below, buf, len, got, want);
  l->eof = l->below->eof;
  l->sys_errno = l->below->sys_errno;
  return st;
}

static mw_status haproxy_write(struct mw__layer *l, const void *buf,
                               size_t len, size_t *put, short *want)
{
  mw_status st = l->below->ops->write(l->below, buf, len, put, want);
  l->sys_errno = l->below->sys_errno;
  return st;
}

static void haproxy_close(struct mw__layer *l)
{
  mw__layer_close(l->below);
  mw__free(l->impl);
}

static void haproxy_describe(const struct mw__layer *l, char *buf,
                             size_t len)
{
  const struct haproxy_layer *h = l->impl;
  snprintf(buf, len, "PROXY protocol v%d header", h->version);
}

static const struct mw__layer_ops haproxy_ops = {.name = "haproxy",
                                                 .connect = haproxy_step,
                                                 .read = haproxy_read,
                                                 .write = haproxy_write,
                                                 .close = haproxy_close,
                                                 .describe = haproxy_describe};

mw_status mw__haproxy_layer_new(struct mw__layer *below, int version,
                                struct mw__trace *trace,
                                struct mw__layer **out)
{
  *out = NULL;
  struct haproxy_layer *h = mw__calloc(1, sizeof(*h));
  if(!h)
    return mw__error_set(below->err, MW_E_NOMEM, NULL);
  mw__layer_init(&h->layer, &haproxy_ops, below, h, below->err);
  h->version = version;
  h->trace = trace;
  *out = &h->layer;
  return MW_OK;
}
