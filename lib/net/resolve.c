/*
 * net/resolve.c - c-ares lookups (addresses, MX, TXT, A) driven by poll()
 * until a deadline.
 */
#include "net/resolve.h"

#include "core/util.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lookup {
  bool done;
  int status;
  struct ares_addrinfo *result;
};

static void on_addrinfo(void *arg, int status, int timeouts,
                        struct ares_addrinfo *res)
{
  (void)timeouts;
  struct lookup *lk = arg;
  lk->done = true;
  lk->status = status;
  lk->result = res;
}

/* Drives ch with poll() until *done or the deadline. */
static mw_status run_channel(ares_channel ch, const bool *done,
                             int64_t deadline)
{
  while(!*done) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    /* Bits tested as unsigned: c-ares' own macros shift a signed 1 into
     * the sign bit for the last socket (undefined behaviour). */
    unsigned mask = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
    struct pollfd pfd[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for(unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
      short ev = 0;
      if((mask >> i) & 1u)
        ev |= POLLIN;
      if((mask >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
        ev |= POLLOUT;
      if(!ev)
        continue;
      pfd[n].fd = socks[i];
      pfd[n].events = ev;
      pfd[n].revents = 0;
      n++;
    }
    int64_t left = deadline - mw__now_ms();
    if(left <= 0)
      return MW_E_TIMEOUT;
    struct timeval maxtv = {.tv_sec = left / 1000,
                            .tv_usec = (left % 1000) * 1000};
    struct timeval tv;
    struct timeval *tvp = ares_timeout(ch, &maxtv, &tv);
    int wait = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);
    if(n == 0 && wait == 0)
      wait = 1;
    int rc = poll(pfd, n, wait);
    if(rc <= 0) {
      ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for(nfds_t i = 0; i < n; i++) {
      ares_socket_t r = (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
                            ? pfd[i].fd
                            : ARES_SOCKET_BAD;
      ares_socket_t w = (pfd[i].revents & POLLOUT) ? pfd[i].fd
                                                   : ARES_SOCKET_BAD;
      ares_process_fd(ch, r, w);
    }
  }
  return MW_OK;
}

static bool family_allowed(int af, mw_family family)
{
  if(family == MW_FAMILY_IPV4)
    return af == AF_INET;
  if(family == MW_FAMILY_IPV6)
    return af == AF_INET6;
  return af == AF_INET || af == AF_INET6;
}

/* Order: interleave IPv6 and IPv4, keeping each family's order, starting
 * with the family of the first answer (the resolver's preference). */
static mw_status collect(struct ares_addrinfo *res, mw_family family,
                         struct mw__addrlist *out, struct mw_error *err)
{
  size_t total = 0;
  for(struct ares_addrinfo_node *nd = res->nodes; nd; nd = nd->ai_next)
    total++;
  out->items = mw__calloc(total ? total : 1, sizeof(*out->items));
  if(!out->items)
    return mw__error_set(err, MW_E_NOMEM, NULL);
  int first = 0;
  struct ares_addrinfo_node *v4[64], *v6[64];
  size_t n4 = 0, n6 = 0;
  for(struct ares_addrinfo_node *nd = res->nodes; nd; nd = nd->ai_next) {
    if(!family_allowed(nd->ai_family, family))
      continue;
    if(!first)
      first = nd->ai_family;
    if(nd->ai_family == AF_INET && n4 < 64)
      v4[n4++] = nd;
    else if(nd->ai_family == AF_INET6 && n6 < 64)
      v6[n6++] = nd;
  }
  size_t i4 = 0, i6 = 0;
  bool take6 = first == AF_INET6;
  while(i4 < n4 || i6 < n6) {
    struct ares_addrinfo_node *nd;
    if((take6 && i6 < n6) || i4 >= n4)
      nd = v6[i6++];
    else
      nd = v4[i4++];
    take6 = !take6;
    struct mw__addr *a = &out->items[out->count++];
    size_t len = (size_t)nd->ai_addrlen;
    if(len > sizeof(a->sa))
      len = sizeof(a->sa);
    memcpy(&a->sa, nd->ai_addr, len);
    a->len = (socklen_t)len;
  }
  return MW_OK;
}

/* ares_library_init() on the first query (under the lock, so two
 * threads' first queries set it up once); mw__resolve_global_cleanup()
 * undoes it. */
static pthread_mutex_t ares_lock = PTHREAD_MUTEX_INITIALIZER;
static bool ares_ready;

static int ares_setup(void)
{
  int rc = ARES_SUCCESS;
  pthread_mutex_lock(&ares_lock);
  if(!ares_ready) {
    rc = ares_library_init(ARES_LIB_INIT_ALL);
    ares_ready = rc == ARES_SUCCESS;
  }
  pthread_mutex_unlock(&ares_lock);
  return rc;
}

void mw__resolve_global_cleanup(void)
{
  pthread_mutex_lock(&ares_lock);
  if(ares_ready)
    ares_library_cleanup();
  ares_ready = false;
  pthread_mutex_unlock(&ares_lock);
}

/* A channel for the system resolver, or for dns_server alone. */
static mw_status open_channel(ares_channel *ch, const char *dns_server,
                              struct mw_error *err)
{
  struct ares_options opts;
  memset(&opts, 0, sizeof(opts));
  int rc = ares_setup();
  if(rc == ARES_SUCCESS)
    rc = ares_init_options(ch, &opts, 0);
  if(rc != ARES_SUCCESS)
    return mw__error_set(err, MW_E_DNS, "DNS resolver set-up failed: %s",
                         ares_strerror(rc));
  if(dns_server) {
    rc = ares_set_servers_ports_csv(*ch, dns_server);
    if(rc != ARES_SUCCESS) {
      ares_destroy(*ch);
      return mw__error_set(err, MW_E_INVALID, "bad DNS server '%s': %s",
                           dns_server, ares_strerror(rc));
    }
  }
  return MW_OK;
}

/* A numeric address needs no query (and must not leak one to a DNS
 * server).  Returns true when host was numeric (out filled or error set). */
static bool numeric_host(const char *host, unsigned port, mw_family family,
                         struct mw__addrlist *out, mw_status *st,
                         struct mw_error *err)
{
  struct in_addr a4;
  struct in6_addr a6;
  bool is4 = inet_pton(AF_INET, host, &a4) == 1;
  bool is6 = !is4 && inet_pton(AF_INET6, host, &a6) == 1;
  if(!is4 && !is6)
    return false;
  if((is4 && family == MW_FAMILY_IPV6) || (is6 && family == MW_FAMILY_IPV4)) {
    *st = mw__error_set(err, MW_E_DNS, "'%s' has no %s address", host,
                        is4 ? "IPv6" : "IPv4");
    err->dns_no_address = true;
    return true;
  }
  out->items = mw__calloc(1, sizeof(*out->items));
  if(!out->items) {
    *st = mw__error_set(err, MW_E_NOMEM, NULL);
    return true;
  }
  out->count = 1;
  if(is4) {
    struct sockaddr_in *sa = (struct sockaddr_in *)&out->items[0].sa;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    sa->sin_addr = a4;
    out->items[0].len = sizeof(*sa);
  }
  else {
    struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&out->items[0].sa;
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons((uint16_t)port);
    sa->sin6_addr = a6;
    out->items[0].len = sizeof(*sa);
  }
  *st = MW_OK;
  return true;
}

mw_status mw__resolve(const char *host, unsigned port, mw_family family,
                      const char *dns_server, int64_t deadline,
                      struct mw__addrlist *out, struct mw_error *err)
{
  memset(out, 0, sizeof(*out));
  mw_status nst;
  if(numeric_host(host, port, family, out, &nst, err))
    return nst;
  ares_channel ch;
  mw_status cst = open_channel(&ch, dns_server, err);
  if(cst)
    return cst;
  struct ares_addrinfo_hints hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = family == MW_FAMILY_IPV4   ? AF_INET
                    : family == MW_FAMILY_IPV6 ? AF_INET6
                                               : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char service[16];
  snprintf(service, sizeof(service), "%u", port);
  struct lookup lk = {0};
  ares_getaddrinfo(ch, host, service, &hints, on_addrinfo, &lk);
  mw_status st = run_channel(ch, &lk.done, deadline);
  if(st) {
    ares_cancel(ch);
    ares_destroy(ch);
    if(lk.result)
      ares_freeaddrinfo(lk.result);
    return mw__error_set(err, MW_E_TIMEOUT,
                         "timed out resolving '%s'", host);
  }
  ares_destroy(ch);
  if(lk.status != ARES_SUCCESS || !lk.result) {
    if(lk.result)
      ares_freeaddrinfo(lk.result);
    if(lk.status == ARES_ENODATA)
      mw__error_set(err, MW_E_DNS,
                    "cannot resolve '%s': the name exists but has no "
                    "address (no A or AAAA record)", host);
    else
      mw__error_set(err, MW_E_DNS, "cannot resolve '%s': %s", host,
                    ares_strerror(lk.status));
    err->dns_no_address = lk.status == ARES_ENODATA;
    /* NXDOMAIN and no-data are final; server failures may clear up. */
    err->temporary = !(lk.status == ARES_ENOTFOUND ||
                       lk.status == ARES_ENODATA ||
                       lk.status == ARES_EBADNAME);
    return MW_E_DNS;
  }
  st = collect(lk.result, family, out, err);
  ares_freeaddrinfo(lk.result);
  if(st)
    return st;
  if(!out->count) {
    mw__addrlist_free(out);
    mw__error_set(err, MW_E_DNS, "'%s' has no %s address", host,
                  family == MW_FAMILY_IPV4   ? "IPv4"
                  : family == MW_FAMILY_IPV6 ? "IPv6"
                                             : "IP");
    err->dns_no_address = true;
    return MW_E_DNS;
  }
  return MW_OK;
}

void mw__addrlist_free(struct mw__addrlist *l)
{
  mw__free(l->items);
  l->items = NULL;
  l->count = 0;
}

void mw__addr_format(const struct mw__addr *a, char *buf, size_t len)
{
  char ip[INET6_ADDRSTRLEN] = "?";
  if(a->sa.ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
    snprintf(buf, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
  }
  else {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->sa;
    inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
    snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
  }
}

struct mx_lookup {
  bool done;
  int status;
  struct ares_mx_reply *mx;
};

static void on_mx(void *arg, int status, int timeouts, unsigned char *abuf,
                  int alen)
{
  (void)timeouts;
  struct mx_lookup *lk = arg;
  lk->done = true;
  lk->status = status;
  if(status == ARES_SUCCESS)
    lk->status = ares_parse_mx_reply(abuf, alen, &lk->mx);
}

static int mx_order(const void *a, const void *b)
{
  const struct mw__mx *x = a, *y = b;
  return (x->preference > y->preference) - (x->preference < y->preference);
}

mw_status mw__resolve_mx(const char *domain, const char *dns_server,
                         int64_t deadline, struct mw__mx *out, size_t max,
                         size_t *count, struct mw_error *err)
{
  *count = 0;
  ares_channel ch;
  mw_status st = open_channel(&ch, dns_server, err);
  if(st)
    return st;
  struct mx_lookup lk = {0};
  ares_query(ch, domain, 1 /* IN */, 15 /* MX */, on_mx, &lk);
  st = run_channel(ch, &lk.done, deadline);
  if(st) {
    ares_cancel(ch);
    ares_destroy(ch);
    if(lk.mx)
      ares_free_data(lk.mx);
    return mw__error_set(err, MW_E_TIMEOUT,
                         "timed out looking up the MX of '%s'", domain);
  }
  ares_destroy(ch);
  if(lk.status == ARES_ENODATA) /* the domain exists, without MX */
    return MW_OK;
  if(lk.status != ARES_SUCCESS) {
    mw__error_set(err, MW_E_DNS, "cannot look up the MX of '%s': %s",
                  domain, ares_strerror(lk.status));
    err->temporary = lk.status != ARES_ENOTFOUND;
    if(lk.mx)
      ares_free_data(lk.mx);
    return MW_E_DNS;
  }
  for(struct ares_mx_reply *m = lk.mx; m && *count < max; m = m->next) {
    out[*count].preference = m->priority;
    snprintf(out[*count].host, sizeof(out[*count].host), "%s", m->host);
    (*count)++;
  }
  ares_free_data(lk.mx);
  qsort(out, *count, sizeof(*out), mx_order);
  return MW_OK;
}

/* ---- raw queries: TXT and A ---------------------------------------- */

struct raw_lookup {
  bool done;
  int status;
  unsigned char *abuf;
  int alen;
};

static void on_raw(void *arg, int status, int timeouts, unsigned char *abuf,
                   int alen)
{
  (void)timeouts;
  struct raw_lookup *lk = arg;
  lk->done = true;
  lk->status = status;
  if(status == ARES_SUCCESS && abuf && alen > 0) {
    lk->abuf = mw__malloc((size_t)alen);
    if(lk->abuf) {
      memcpy(lk->abuf, abuf, (size_t)alen);
      lk->alen = alen;
    }
    else
      lk->status = ARES_ENOMEM;
  }
}

/* One query of type for name.  MW_OK with lk->status ARES_SUCCESS and the
 * answer in lk->abuf (the caller frees it), or with lk->status
 * ARES_ENOTFOUND / ARES_ENODATA (no records); MW_E_DNS, MW_E_TIMEOUT,
 * MW_E_NOMEM otherwise. */
static mw_status raw_query(const char *name, const char *dns_server,
                           int64_t deadline, int type, const char *what,
                           struct raw_lookup *lk, struct mw_error *err)
{
  memset(lk, 0, sizeof(*lk));
  ares_channel ch;
  mw_status st = open_channel(&ch, dns_server, err);
  if(st)
    return st;
  ares_query(ch, name, 1 /* IN */, type, on_raw, lk);
  st = run_channel(ch, &lk->done, deadline);
  if(st) {
    ares_cancel(ch);
    ares_destroy(ch);
    mw__free(lk->abuf);
    lk->abuf = NULL;
    return mw__error_set(err, MW_E_TIMEOUT, "timed out looking up the %s "
                         "of '%s'", what, name);
  }
  ares_destroy(ch);
  if(lk->status == ARES_ENOMEM)
    return mw__error_set(err, MW_E_NOMEM, "out of memory");
  if(lk->status == ARES_SUCCESS || lk->status == ARES_ENOTFOUND ||
     lk->status == ARES_ENODATA)
    return MW_OK;
  mw__error_set(err, MW_E_DNS, "cannot look up the %s of '%s': %s", what,
                name, ares_strerror(lk->status));
  err->temporary = true;
  return MW_E_DNS;
}

static int srv_order(const void *a, const void *b)
{
  const struct mw__srv *x = a, *y = b;
  if(x->priority != y->priority)
    return (x->priority > y->priority) - (x->priority < y->priority);
  return (x->weight < y->weight) - (x->weight > y->weight);
}

void mw__srv_sort(struct mw__srv *srv, size_t count)
{
  if(srv && count > 1)
    qsort(srv, count, sizeof(*srv), srv_order);
}

mw_status mw__resolve_srv(const char *name, const char *dns_server,
                          int64_t deadline, struct mw__srv *out, size_t max,
                          size_t *count, bool *declined,
                          struct mw_error *err)
{
  *count = 0;
  if(declined)
    *declined = false;
  struct raw_lookup lk;
  mw_status st = raw_query(name, dns_server, deadline, 33 /* SRV */, "SRV",
                           &lk, err);
  if(st || lk.status != ARES_SUCCESS) {
    mw__free(lk.abuf);
    return st;
  }
  struct ares_srv_reply *srv = NULL;
  int rc = ares_parse_srv_reply(lk.abuf, lk.alen, &srv);
  mw__free(lk.abuf);
  if(rc == ARES_ENODATA)
    return MW_OK;
  if(rc != ARES_SUCCESS)
    return mw__error_set(err, MW_E_DNS, "malformed SRV answer for '%s': %s",
                         name, ares_strerror(rc));
  /* All the records, sorted, then the best max of them (not the first
   * max in the answer's order). */
  size_t total = 0, usable = 0;
  for(struct ares_srv_reply *r = srv; r; r = r->next)
    total++;
  struct mw__srv *all = mw__calloc(total ? total : 1, sizeof(*all));
  if(!all) {
    ares_free_data(srv);
    return mw__error_set(err, MW_E_NOMEM, NULL);
  }
  for(struct ares_srv_reply *r = srv; r; r = r->next) {
    bool dot = !r->host || !r->host[0] || strcmp(r->host, ".") == 0;
    if(dot)
      continue;
    struct mw__srv *o = &all[usable++];
    o->priority = r->priority;
    o->weight = r->weight;
    o->port = r->port;
    snprintf(o->target, sizeof(o->target), "%s", r->host);
  }
  if(total == 1 && usable == 0 && declined)
    *declined = true;
  ares_free_data(srv);
  mw__srv_sort(all, usable);
  *count = usable < max ? usable : max;
  if(*count)
    memcpy(out, all, *count * sizeof(*out));
  mw__free(all);
  return MW_OK;
}

bool mw__is_ip_literal(const char *host)
{
  unsigned char tmp[16];
  return inet_pton(AF_INET, host, tmp) == 1 ||
         inet_pton(AF_INET6, host, tmp) == 1;
}

void mw__txt_free(char **list, size_t count)
{
  if(!list)
    return;
  for(size_t i = 0; i < count; i++)
    mw__free(list[i]);
  mw__free(list);
}

mw_status mw__resolve_txt(const char *name, const char *dns_server,
                          int64_t deadline, char ***out, size_t *count,
                          bool *nxdomain, struct mw_error *err)
{
  *out = NULL;
  *count = 0;
  if(nxdomain)
    *nxdomain = false;
  struct raw_lookup lk;
  mw_status st = raw_query(name, dns_server, deadline, 16 /* TXT */, "TXT",
                           &lk, err);
  if(st)
    return st;
  if(lk.status != ARES_SUCCESS) {
    if(nxdomain)
      *nxdomain = lk.status == ARES_ENOTFOUND;
    return MW_OK;
  }
  struct ares_txt_ext *txt = NULL;
  int rc = ares_parse_txt_reply_ext(lk.abuf, lk.alen, &txt);
  mw__free(lk.abuf);
  if(rc == ARES_ENODATA)
    return MW_OK;
  if(rc != ARES_SUCCESS) {
    mw__error_set(err, MW_E_DNS, "cannot read the TXT answer for '%s': %s",
                  name, ares_strerror(rc));
    err->temporary = true;
    return MW_E_DNS;
  }
  size_t n = 0;
  for(struct ares_txt_ext *t = txt; t; t = t->next)
    if(t->record_start || t == txt)
      n++;
  char **list = mw__calloc(n ? n : 1, sizeof(*list));
  size_t i = 0;
  st = list ? MW_OK : MW_E_NOMEM;
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  for(struct ares_txt_ext *t = txt; t && !st; t = t->next) {
    if(t != txt && t->record_start) {
      list[i++] = mw__sbuf_steal(&b); /* close the previous record */
      mw__sbuf_init(&b);
    }
    /* strings may hold NUL bytes: stop at the first one */
    size_t len = strnlen((const char *)t->txt, t->length);
    mw__sbuf_append(&b, t->txt, len);
  }
  if(b.failed)
    st = MW_E_NOMEM;
  if(!st && n)
    list[i++] = mw__sbuf_steal(&b);
  mw__sbuf_free(&b);
  ares_free_data(txt);
  for(size_t k = 0; !st && k < n; k++)
    if(!list[k] && !(list[k] = mw__strdup("")))
      st = MW_E_NOMEM;
  if(st) {
    mw__txt_free(list, n);
    return mw__error_set(err, MW_E_NOMEM, "out of memory");
  }
  *out = list;
  *count = n;
  return MW_OK;
}

mw_status mw__resolve_a(const char *name, const char *dns_server,
                        int64_t deadline, uint8_t (*out)[4], size_t max,
                        size_t *count, struct mw_error *err)
{
  *count = 0;
  struct raw_lookup lk;
  mw_status st = raw_query(name, dns_server, deadline, 1 /* A */, "address",
                           &lk, err);
  if(st || lk.status != ARES_SUCCESS)
    return st;
  struct ares_addrttl ttl[16];
  int naddr = 16;
  int rc = ares_parse_a_reply(lk.abuf, lk.alen, NULL, ttl, &naddr);
  mw__free(lk.abuf);
  if(rc == ARES_ENODATA)
    return MW_OK;
  if(rc != ARES_SUCCESS) {
    mw__error_set(err, MW_E_DNS, "cannot read the A answer for '%s': %s",
                  name, ares_strerror(rc));
    err->temporary = true;
    return MW_E_DNS;
  }
  for(int i = 0; i < naddr && *count < max; i++)
    memcpy(out[(*count)++], &ttl[i].ipaddr, 4);
  return MW_OK;
}
