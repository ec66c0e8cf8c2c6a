/*
 * net/sock.c - small socket services (see net/sock.h).
 */
#include "net/sock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(MW__SOCK_ADDR_TEXT >= INET6_ADDRSTRLEN,
               "MW__SOCK_ADDR_TEXT holds any address");

void mw__sock_close(int fd)
{
  if(fd >= 0)
    close(fd);
}

int mw__sock_local_address(int fd, char *ip, size_t len)
{
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if(fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
    return 0;
  if(ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip,
              (socklen_t)len);
    return 6;
  }
  inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip,
            (socklen_t)len);
  return 4;
}

bool mw__sock_hostname(char *out, size_t len)
{
  if(!len || gethostname(out, len) != 0)
    return false;
  out[len - 1] = '\0'; /* POSIX leaves a truncated name unterminated */
  return true;
}
