/*
 * diag/probe_discover.c - which hosts the probe tries.
 *
 * Owns: the hosts of a run (at most PROBE_MAX_HOSTS, each with its ports
 * and where it came from): the target itself (an address literal, a
 * name, or the domain of a mailbox), RFC 6186's SRV records
 * (_submissions._tcp: implicit TLS; _submission._tcp: STARTTLS; their
 * hosts on their SRV port only) and the MX records; and the DNS note
 * that says what could not be looked up.
 */
#include "diag/probe_int.h"

#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* -- discovery -------------------------------------------------------- */

static void strip_dot(char *name)
{
  size_t n = strlen(name);
  if(n > 1 && name[n - 1] == '.')
    name[n - 1] = '\0';
}

static void add_host(struct mw_probe *p, const char *name, const char *source,
                     const unsigned *ports, size_t nports)
{
  char clean[256];
  snprintf(clean, sizeof(clean), "%s", name);
  strip_dot(clean);
  if(!clean[0] || !strcmp(clean, "."))
    return;
  struct probe_host *h = NULL;
  for(size_t i = 0; i < p->host_count; i++)
    if(mw__strieq(p->hosts[i].name, clean))
      h = &p->hosts[i];
  if(!h) {
    if(p->host_count == PROBE_MAX_HOSTS)
      return;
    h = &p->hosts[p->host_count++];
    snprintf(h->name, sizeof(h->name), "%s", clean);
    snprintf(h->source, sizeof(h->source), "%s", source);
  }
  for(size_t k = 0; k < nports; k++) {
    bool seen = false;
    for(size_t j = 0; j < h->port_count; j++)
      seen |= h->ports[j] == ports[k];
    if(!seen && h->port_count < PROBE_MAX_PORTS)
      h->ports[h->port_count++] = ports[k];
  }
}

static void note_dns(struct mw_probe *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note_dns(struct mw_probe *p, const char *fmt, ...)
{
  size_t used = strlen(p->dns_note);
  if(used + 3 >= sizeof(p->dns_note))
    return;
  if(used) {
    memcpy(p->dns_note + used, "; ", 3);
    used += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->dns_note + used, sizeof(p->dns_note) - used, fmt, ap);
  va_end(ap);
}

/* A host's addresses could not be had: its rows will say why. */
void mw__probe_host_dns_failed(struct mw_probe *p, struct probe_host *h,
                                      const struct mw_error *err)
{
  snprintf(h->dns_error, sizeof(h->dns_error), "%s", err->message);
  note_dns(p, "%s", err->message);
  p->dns_temporary = p->dns_temporary || err->temporary ||
                     err->status == MW_E_TIMEOUT;
}

void mw__probe_discover(struct probe_ctx *ctx, const char *target,
                        const unsigned *ports, size_t nports, bool lookup,
                        int64_t deadline)
{
  struct mw_probe *p = ctx->probe;
  const char *at = strrchr(target, '@');
  const char *domain = at ? at + 1 : target;
  char bare[64]; /* "[::1]" is the address ::1 */
  size_t dlen = strlen(domain);
  if(domain[0] == '[' && dlen >= 2 && domain[dlen - 1] == ']' &&
     dlen - 2 < sizeof(bare)) {
    memcpy(bare, domain + 1, dlen - 2);
    bare[dlen - 2] = '\0';
    if(mw__is_ip_literal(bare))
      domain = bare;
  }
  if(mw__is_ip_literal(domain)) {
    add_host(p, domain, "given", ports, nports);
    return;
  }
  if(!at)
    add_host(p, domain, "given", ports, nports);
  if(!lookup)
    return;
  static const struct {
    const char *prefix, *label;
  } srv_names[] = {{"_submissions._tcp.", "srv _submissions._tcp"},
                   {"_submission._tcp.", "srv _submission._tcp"}};
  for(size_t i = 0; i < 2; i++) {
    char name[300];
    snprintf(name, sizeof(name), "%s%s", srv_names[i].prefix, domain);
    struct mw__srv srv[4];
    size_t n = 0;
    bool declined = false;
    struct mw_error err;
    memset(&err, 0, sizeof(err));
    if(mw__resolve_srv(name, ctx->opt->dns_server, deadline, srv, 4, &n,
                       &declined, &err)) {
      note_dns(p, "%s", err.message);
    }
    else if(declined) {
      note_dns(p, "%s says the service is not offered (target \".\")",
               name);
    }
    for(size_t k = 0; k < n; k++) {
      mw__trace_emit(&ctx->trace, MW_TRACE_NET, "%s: %s port %u", name,
                     srv[k].target, srv[k].port);
      add_host(p, srv[k].target, srv_names[i].label, &srv[k].port, 1);
    }
    mw__error_clear(&err);
  }
  if(at)
    add_host(p, domain, "domain", ports, nports);
  struct mw__mx mx[4];
  size_t nmx = 0;
  struct mw_error err;
  memset(&err, 0, sizeof(err));
  if(mw__resolve_mx(domain, ctx->opt->dns_server, deadline, mx, 4, &nmx,
                    &err)) {
    note_dns(p, "%s", err.message);
  }
  for(size_t k = 0; k < nmx; k++) {
    char label[32];
    snprintf(label, sizeof(label), "mx %u", mx[k].preference);
    mw__trace_emit(&ctx->trace, MW_TRACE_NET, "MX of %s: %u %s", domain,
                   mx[k].preference, mx[k].host);
    add_host(p, mx[k].host, label, ports, nports);
  }
  mw__error_clear(&err);
}
