/*
 * net/resolve.h - host name to addresses, through c-ares.
 *
 * Owns: the DNS query (A and AAAA), its deadline, and the ordering of the
 * answers (alternating families so one dead family does not delay the
 * other).  Numeric addresses are accepted without a query.  Also the MX,
 * TXT and plain A queries of doctor's checks, each to dns_server alone when
 * one is given.
 */
#ifndef MW_NET_RESOLVE_H
#define MW_NET_RESOLVE_H

#include "core/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct mw__addr {
  struct sockaddr_storage sa;
  socklen_t len;
};

struct mw__addrlist {
  struct mw__addr *items;
  size_t count;
};

/* c-ares is set up (ares_library_init) on the first query, not ahead: a
 * numeric host never sets it up.  This releases it when a query did; the
 * next query sets it up again.  Thread-safe. */
void mw__resolve_global_cleanup(void);

/* Resolves host for port.  MW_OK with at least one address, MW_E_DNS
 * (name does not exist or has no address; temporary when the resolver
 * failed), MW_E_TIMEOUT, MW_E_NOMEM.  Free the list with
 * mw__addrlist_free(). */
mw_status mw__resolve(const char *host, unsigned port, mw_family family,
                      const char *dns_server, int64_t deadline,
                      struct mw__addrlist *out, struct mw_error *err);

struct mw__mx {
  unsigned preference;
  char host[256];
};

/* MX records of domain, sorted by preference.  MW_OK with *count >= 0
 * (0: the domain exists but has no MX), MW_E_DNS (NXDOMAIN: err says so),
 * MW_E_TIMEOUT.  At most max records are kept. */
mw_status mw__resolve_mx(const char *domain, const char *dns_server,
                         int64_t deadline, struct mw__mx *out, size_t max,
                         size_t *count, struct mw_error *err);

struct mw__srv {
  unsigned priority, weight, port;
  char target[256];
};

/* SRV records of name (RFC 2782), sorted by priority then weight (highest
 * first).  A single record with target "." means "no service here" (RFC
 * 6186 section 3.4): *count 0 and *declined true (may be NULL).  MW_OK
 * with *count >= 0 (0 also for NXDOMAIN or no SRV), MW_E_DNS, MW_E_TIMEOUT,
 * MW_E_NOMEM.  At most max records are kept. */
/* Sorts SRV records as mw__resolve_srv() returns them: priority
 * ascending, then weight descending (RFC 2782's order of preference,
 * without its random pick among equal priorities: a diagnosis must be
 * repeatable). */
void mw__srv_sort(struct mw__srv *srv, size_t count);
mw_status mw__resolve_srv(const char *name, const char *dns_server,
                          int64_t deadline, struct mw__srv *out, size_t max,
                          size_t *count, bool *declined,
                          struct mw_error *err);

/* TXT records of name, each record's strings joined (RFC 7208 3.3).
 * MW_OK with *count >= 0 (0: NXDOMAIN or no TXT; *nxdomain tells which,
 * may be NULL), MW_E_DNS (the server failed; err says so), MW_E_TIMEOUT,
 * MW_E_NOMEM.  Free *out with mw__txt_free(). */
mw_status mw__resolve_txt(const char *name, const char *dns_server,
                          int64_t deadline, char ***out, size_t *count,
                          bool *nxdomain, struct mw_error *err);
void mw__txt_free(char **list, size_t count);

/* IPv4 addresses of name (an A query, no search list, no AAAA): at most
 * max, in network byte order.  MW_OK with *count >= 0 (0: NXDOMAIN or no
 * A), MW_E_DNS, MW_E_TIMEOUT. */
mw_status mw__resolve_a(const char *name, const char *dns_server,
                        int64_t deadline, uint8_t (*out)[4], size_t max,
                        size_t *count, struct mw_error *err);
void mw__addrlist_free(struct mw__addrlist *l);
/* Whether host is a numeric IPv4 or IPv6 address (no brackets). */
bool mw__is_ip_literal(const char *host);
/* "1.2.3.4:25" or "[::1]:25" into buf. */
void mw__addr_format(const struct mw__addr *a, char *buf, size_t len);

#endif
