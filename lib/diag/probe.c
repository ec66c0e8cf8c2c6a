/*
 * diag/probe.c - mw_probe_run(): which port and TLS mode work, found in
 * parallel.  This file owns the run (options, addresses, one connection
 * per host, port and mode, the result) and the result's accessors; the
 * other parts are listed in probe_int.h.
 *
 * DESCRIPTION
 *   Every host and port gets two connections at once: one that starts TLS
 *   at the first byte (the "implicit" row) and one that starts in plaintext
 *   (the "plain" row: greeting and EHLO; then STARTTLS when offered, which
 *   fills the "starttls" row).  Each connection is the SMTP client's own
 *   state machine (proto/smtp.h, the one every session runs) over a stack
 *   built without blocking (net/stack.h), told to stop once the
 *   capabilities are known; one poll() loop steps them all, so a silent
 *   port costs its greeting timeout once, concurrently with the others,
 *   instead of adding up as in a sequential "automatic mode".  Each
 *   connection, connect to last EHLO, is bounded by the greeting timeout.
 *
 *   Only EHLO (HELO when EHLO is refused), STARTTLS and QUIT are ever
 *   sent: no credentials, no envelope.  Certificates are not enforced here
 *   (the handshake completes and the verdict is reported), so that a
 *   self-signed server still shows which modes it speaks; ranking puts
 *   verified rows first.
 *
 *   Through a proxy, each connection goes to the proxy and runs the
 *   proxy's handshake (the stack's proxy layer) in the same loop before
 *   the SMTP dialogue; the server's addresses are looked up first only for
 *   the kinds where the client resolves (SOCKS4, SOCKS5).
 *
 *   For a name that is not an address literal, SRV and MX records add
 *   hosts to probe (probe_discover.c).
 */
#include "diag/probe.h"
#include "diag/probe_int.h"

#include "core/util.h"
#include "proto/smtp.h"

#include <stdio.h>
#include <string.h>

/* -- the run ------------------------------------------------------------ */

mw_status mw_probe_ports_parse(const char *list, unsigned *out, size_t max,
                               size_t *count)
{
  if(!count)
    return MW_E_INVALID;
  *count = 0;
  if(!list || !out || !*list)
    return MW_E_INVALID;
  const char *p = list;
  for(;;) {
    unsigned long v = 0;
    const char *start = p;
    while(*p >= '0' && *p <= '9' && v <= 65535)
      v = v * 10 + (unsigned long)(*p++ - '0');
    if(p == start || v == 0 || v > 65535)
      return MW_E_INVALID;
    bool dup = false;
    for(size_t i = 0; i < *count; i++)
      dup |= out[i] == v;
    if(!dup) {
      if(*count == max)
        return MW_E_INVALID;
      out[(*count)++] = (unsigned)v;
    }
    if(!*p)
      return MW_OK;
    if(*p != ',')
      return MW_E_INVALID;
    p++;
  }
}

static bool parse_ports(const char *list, unsigned *out, size_t *count)
{
  return mw_probe_ports_parse(list && *list ? list : "465,587,25,2525", out,
                              PROBE_MAX_PORTS, count) == MW_OK;
}

static bool valid_target(const char *t)
{
  if(!t || !*t || strlen(t) > 255)
    return false;
  for(const unsigned char *p = (const unsigned char *)t; *p; p++)
    if(*p <= ' ' || *p == 0x7f || *p == '/' || *p == '\\')
      return false;
  const char *at = strrchr(t, '@');
  return !at || at[1];
}

mw_status mw_probe_run(const mw_options *o, const char *target,
                       const char *ports, mw_probe **out)
{
  return mw__probe_run(o, target, ports, true, out);
}

mw_status mw__probe_run(const mw_options *o, const char *target,
                        const char *ports, bool lookup, mw_probe **out)
{
  if(out)
    *out = NULL;
  unsigned port_list[PROBE_MAX_PORTS];
  size_t nports = 0;
  if(!o || !out || !valid_target(target) ||
     !parse_ports(ports, port_list, &nports))
    return MW_E_INVALID;
  struct mw_probe *p = mw__calloc(1, sizeof(*p));
  struct probe_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  if(!p)
    return MW_E_NOMEM;
  ctx.opt = o;
  ctx.probe = p;
  ctx.trace.fn = o->trace_fn;
  ctx.trace.user = o->trace_user;
  mw__trace_start(&ctx.trace);
  ctx.start = mw__now_ms();
  unsigned timeout = o->greeting_timeout_ms ? o->greeting_timeout_ms
                                            : MW__DEFAULT_GREETING_TIMEOUT_MS;
  if(o->proxy_url) {
    char why[160];
    if(mw__proxy_parse_url(o->proxy_url, &ctx.proxy, why, sizeof(why))) {
      mw__free(p);
      return MW_E_INVALID;
    }
    ctx.use_proxy = true;
    ctx.client_resolves = ctx.proxy.kind == MW__PROXY_SOCKS4 ||
                          ctx.proxy.kind == MW__PROXY_SOCKS5;
  }
  ctx.timeout_ms = timeout;

  /* Discovery and addresses: bounded by one greeting timeout too. */
  int64_t dns_deadline = ctx.start + timeout;
  mw__probe_discover(&ctx, target, port_list, nports, lookup, dns_deadline);
  size_t rows = 0;
  for(size_t i = 0; i < p->host_count; i++)
    rows += 3 * p->hosts[i].port_count;
  p->rows = mw__calloc(rows ? rows : 1, sizeof(*p->rows));
  struct probe_conn *conns =
      mw__calloc(rows ? 2 * rows / 3 : 1, sizeof(*conns));
  if(!p->rows || !conns) {
    mw__free(conns);
    mw__proxy_release(&ctx.proxy);
    mw_probe_free(p);
    return MW_E_NOMEM;
  }
  for(size_t i = 0; i < p->host_count; i++) {
    struct probe_host *h = &p->hosts[i];
    struct mw_error err;
    memset(&err, 0, sizeof(err));
    if(ctx.use_proxy && !ctx.client_resolves)
      continue; /* the proxy resolves the name */
    if(ctx.use_proxy) {
      bool needed = false;
      if(!mw__proxy_resolve_target(&ctx.proxy, h->name, 25, o->dns_server,
                                   dns_deadline, &h->proxy_target, &needed,
                                   &err))
        h->proxy_target_ok = true;
      else
        mw__probe_host_dns_failed(p, h, &err);
      mw__error_clear(&err);
      continue;
    }
    if(mw__resolve(h->name, 25, o->family, o->dns_server, dns_deadline,
                   &h->addrs, &err))
      mw__probe_host_dns_failed(p, h, &err);
    mw__error_clear(&err);
  }

  char proxy_error[PROBE_MSG_LEN + 32] = "";
  if(ctx.use_proxy) {
    struct mw_error err;
    memset(&err, 0, sizeof(err));
    if(mw__resolve(ctx.proxy.host, ctx.proxy.port, o->family, o->dns_server,
                   dns_deadline, &ctx.proxy_addrs, &err))
      snprintf(proxy_error, sizeof(proxy_error), "cannot reach the proxy: %s",
               err.message);
    mw__error_clear(&err);
  }

  ctx.policy = (struct mw__tls_policy){
      .ca_file = o->ca_file,
      .fingerprint = o->fingerprint[0] ? o->fingerprint : NULL,
      .insecure = o->insecure,
      .min = o->tls_min,
      .max = o->tls_max,
      .ciphers = o->tls_ciphers,
      .cert_file = o->tls_cert_file,
      .key_file = o->tls_key_file,
      .crl_file = o->tls_crl_file,
      .ocsp = o->tls_ocsp,
      .report_only = true};

  /* Every attempt starts now, with one deadline each. */
  int64_t attempts_start = mw__now_ms();
  size_t nconn = 0;
  ctx.conns = conns;
  for(size_t i = 0; i < p->host_count; i++) {
    struct probe_host *h = &p->hosts[i];
    for(size_t k = 0; k < h->port_count; k++) {
      for(int implicit = 1; implicit >= 0; implicit--) {
        struct probe_conn *c = &conns[nconn++];
        ctx.nconn = nconn;
        c->ctx = &ctx;
        c->host = h;
        c->port = h->ports[k];
        c->implicit = implicit;
        c->deadline = attempts_start + timeout;
        c->row = p->row_count++;
        struct probe_row *r = &p->rows[c->row];
        snprintf(r->host, sizeof(r->host), "%s", h->name);
        r->port = c->port;
        r->mode = implicit ? "implicit" : "plain";
        r->cert = "";
        if(!implicit) {
          c->starttls_row = p->row_count++;
          struct probe_row *t = &p->rows[c->starttls_row];
          snprintf(t->host, sizeof(t->host), "%s", h->name);
          t->port = c->port;
          t->mode = "starttls";
          t->cert = "";
        }
        bool resolved = ctx.use_proxy ? !ctx.client_resolves ||
                                             h->proxy_target_ok
                                       : h->addrs.count > 0;
        if(proxy_error[0]) {
          mw__probe_conn_finish(c, "proxy", proxy_error);
          continue;
        }
        if(!resolved) {
          mw__probe_conn_finish(c, "dns",
                                h->dns_error[0] ? h->dns_error
                                                : "the name has no address");
          continue;
        }
      }
    }
  }
  /* Then start them (each steps as far as it goes: on loopback a fast
   * server can answer a whole dialogue at once, and its twin must already
   * exist to be abandoned). */
  for(size_t i = 0; i < nconn; i++)
    if(conns[i].phase != PC_DONE)
      mw__probe_conn_start(&conns[i]);
  mw_status st = mw__probe_loop(conns, nconn, attempts_start);
  for(size_t i = 0; i < nconn; i++)
    mw__probe_conn_free(&conns[i]);
  mw__free(conns);
  mw__proxy_release(&ctx.proxy);
  mw__addrlist_free(&ctx.proxy_addrs);
  if(st) {
    mw_probe_free(p);
    return st;
  }
  mw__probe_relabel(p);
  mw__probe_rank(p);
  p->total_ms = (double)(mw__now_ms() - ctx.start);
  *out = p;
  return MW_OK;
}

void mw_probe_free(mw_probe *p)
{
  if(!p)
    return;
  for(size_t i = 0; i < p->host_count; i++)
    mw__addrlist_free(&p->hosts[i].addrs);
  mw__free(p->rows);
  mw__free(p);
}

/* -- accessors ---------------------------------------------------------- */

size_t mw_probe_host_count(const mw_probe *p) { return p ? p->host_count : 0; }

const char *mw_probe_host_name(const mw_probe *p, size_t i)
{
  return p && i < p->host_count ? p->hosts[i].name : "";
}

const char *mw_probe_host_source(const mw_probe *p, size_t i)
{
  return p && i < p->host_count ? p->hosts[i].source : "";
}

const char *mw_probe_dns_note(const mw_probe *p)
{
  return p ? p->dns_note : "";
}

bool mw_probe_dns_temporary(const mw_probe *p)
{
  return p && p->dns_temporary;
}

size_t mw_probe_row_count(const mw_probe *p) { return p ? p->row_count : 0; }
/* The 0.1 name, deprecated in 0.2 (exported for existing binaries). */
size_t mw_probe_count(const mw_probe *p) { return mw_probe_row_count(p); }

static const struct probe_row *row_at(const mw_probe *p, size_t i)
{
  static const struct probe_row empty = {.mode = "", .outcome = "",
                                         .cert = ""};
  return p && i < p->row_count ? &p->rows[i] : &empty;
}

const char *mw_probe_row_host(const mw_probe *p, size_t i)
{
  return row_at(p, i)->host;
}

unsigned mw_probe_row_port(const mw_probe *p, size_t i)
{
  return row_at(p, i)->port;
}

const char *mw_probe_row_mode(const mw_probe *p, size_t i)
{
  return row_at(p, i)->mode;
}

const char *mw_probe_row_outcome(const mw_probe *p, size_t i)
{
  const char *o = row_at(p, i)->outcome;
  return o ? o : "";
}

const char *mw_probe_row_detail(const mw_probe *p, size_t i)
{
  return row_at(p, i)->detail;
}

const char *mw_probe_row_address(const mw_probe *p, size_t i)
{
  return row_at(p, i)->address;
}

const char *mw_probe_row_tls_version(const mw_probe *p, size_t i)
{
  return row_at(p, i)->tls_version;
}

const char *mw_probe_row_cert(const mw_probe *p, size_t i)
{
  return row_at(p, i)->cert;
}

const char *mw_probe_row_auth(const mw_probe *p, size_t i)
{
  return row_at(p, i)->auth;
}

double mw_probe_row_ms(const mw_probe *p, size_t i)
{
  return row_at(p, i)->ms;
}

unsigned mw_probe_row_rank(const mw_probe *p, size_t i)
{
  return row_at(p, i)->rank;
}

bool mw_probe_best(const mw_probe *p, size_t *index)
{
  for(size_t i = 0; p && i < p->row_count; i++) {
    if(p->rows[i].rank == 1) {
      if(index)
        *index = i;
      return true;
    }
  }
  return false;
}

double mw_probe_total_ms(const mw_probe *p) { return p ? p->total_ms : 0; }

const char *mw_probe_row_protocol(const mw_probe *p, size_t i)
{
  const char *proto = row_at(p, i)->protocol;
  return proto ? proto : (p && i < p->row_count ? "smtp" : "");
}

const char *mw_probe_row_capabilities(const mw_probe *p, size_t i)
{
  return row_at(p, i)->caps;
}

bool mw_probe_best_of(const mw_probe *p, const char *protocol, size_t *index)
{
  for(size_t i = 0; p && protocol && i < p->row_count; i++) {
    if(p->rows[i].rank == 1 &&
       !strcmp(mw_probe_row_protocol(p, i), protocol)) {
      if(index)
        *index = i;
      return true;
    }
  }
  return false;
}
