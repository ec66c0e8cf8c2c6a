/*
 * net/haproxy.c - PROXY protocol v1 and v2 headers (haproxy.org's
 * proxy-protocol.txt).
 */
#include "net/haproxy.h"

#include "io/stream.h"

#include <arpa/inet.h>
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

mw_status mw__haproxy_send(int fd, int version, int64_t deadline,
                           struct mw__trace *trace, struct mw_error *err)
{
  unsigned char buf[128];
  size_t n = mw__haproxy_build(fd, version, buf, sizeof(buf));
  if(!n)
    return mw__error_set(err, MW_E_INTERNAL,
                         "cannot build the PROXY protocol header for this "
                         "connection");
  if(version == 1)
    mw__trace_emit(trace, MW_TRACE_OUT, "%.*s", (int)(n - 2), (char *)buf);
  else
    mw__trace_emit(trace, MW_TRACE_OUT, "<PROXY protocol v2 header, %zu "
                                        "bytes>",
                   n);
  return mw__fd_send_all(fd, buf, n, deadline, MW_E_CLOSED, "server", err);
}
