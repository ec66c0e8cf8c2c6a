/*
 * net/sock.h - small socket services for the layers above net/.
 *
 * Owns: the system calls on a descriptor that protocol and diagnosis code
 * need but must not make themselves (so that only net/, io/ and tls/ touch
 * sockets): closing a socket, reading its local address, and this
 * machine's host name.
 */
#ifndef MW_NET_SOCK_H
#define MW_NET_SOCK_H

#include <stdbool.h>
#include <stddef.h>

/* Closes fd, a socket the caller owns; a negative fd is ignored. */
void mw__sock_close(int fd);

/* Room for an address as text (INET6_ADDRSTRLEN). */
#define MW__SOCK_ADDR_TEXT 46

/* The local address of the connected socket fd, as text (no port) in ip:
 * returns 6 for an IPv6 address, 4 for any other, 0 (ip left as it was)
 * when fd is negative or its address cannot be read. */
int mw__sock_local_address(int fd, char *ip, size_t len);

/* This machine's host name (gethostname), NUL-terminated in out; false
 * when it cannot be read. */
bool mw__sock_hostname(char *out, size_t len);

#endif
