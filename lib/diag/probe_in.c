/*
 * diag/probe_in.c - mw_probe_run_incoming(): which IMAP and POP3 ports
 * and TLS modes of a domain work.
 *
 * Owns: the incoming run: its options and port lists, the RFC 6186 SRV
 * look-ups (_imaps._tcp, _imap._tcp, _pop3s._tcp, _pop3._tcp), the hosts'
 * addresses, reaching every (host, port) at once, then the dialogues of
 * each reachable candidate (probe_in_row.c), and the ranking.
 *
 * DESCRIPTION
 *   Reaching: every distinct (host, port) gets one connection, all of them
 *   at once over the non-blocking stack builder (net/stack.h) in one poll()
 *   loop bounded by the greeting timeout, so that refused, unreachable and
 *   filtered ports cost one timeout together, not one each.  That
 *   connection is closed as soon as it is up (nothing is sent on it).
 *   Then each reachable candidate is spoken to, in turn, with the IMAP or
 *   POP3 client's own set-up (their dialogues block; each is bounded by
 *   the greeting timeout, and a port that answers implicit TLS is not
 *   tried in plaintext, so the usual cost is one round of handshakes).
 *   Through a proxy the reaching step is skipped: each dialogue goes
 *   through the proxy as a session would.
 *
 *   SRV targets are names from DNS, as trustworthy as DNS: the
 *   certificate of such a host is checked against the target's own name
 *   (never the user's domain), and the rows say which host and source each
 *   came from, so that a domain whose SRV points elsewhere is visible.
 */
#include "diag/probe_int.h"

#include "core/util.h"
#include "io/layer.h"
#include "net/nbconn.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PROBE_IN_MAX_CANDS 160 /* 16 SRV + 4 hosts x 2 protocols x 16 ports */

/* One (host, port) reached at once. */
struct reach {
  size_t host;
  unsigned port;
  struct mw__stack_build *build;
  struct mw_error err;
  bool done;
  const char *outcome; /* NULL: reached */
  char detail[PROBE_MSG_LEN];
  char peer[80];
};

static void reach_fail(struct reach *r, mw_status st)
{
  r->outcome = st == MW_E_TIMEOUT ? "timeout"
               : st == MW_E_CONNECT && r->err.connect_refused ? "refused"
               : st == MW_E_PROXY ? "proxy"
                                  : "unreachable";
  snprintf(r->detail, sizeof(r->detail), "%s", r->err.message);
  r->done = true;
  mw__stack_free(r->build);
  r->build = NULL;
}

static void reach_step(struct reach *r, short *want)
{
  bool done = false;
  *want = 0;
  mw_status st = mw__stack_step(r->build, want, &done);
  if(st) {
    reach_fail(r, st);
    return;
  }
  if(!done)
    return;
  struct mw__layer *top = mw__stack_take(r->build, r->peer, sizeof(r->peer));
  mw__layer_close(top);
  mw__stack_free(r->build);
  r->build = NULL;
  r->done = true;
}

/* Reaches every (host, port) of rs at once, until each is up, failed or
 * past the deadline. */
static mw_status reach_all(struct probe_ctx *ctx, struct reach *rs, size_t n,
                           int64_t deadline)
{
  const struct mw_options *o = ctx->opt;
  short *wants = mw__calloc(n ? n : 1, sizeof(*wants));
  struct mw__pollset ps;
  if(!wants || mw__pollset_init(&ps, n ? n : 1)) {
    mw__free(wants);
    return MW_E_NOMEM;
  }
  for(size_t i = 0; i < n; i++) {
    struct reach *r = &rs[i];
    const struct probe_host *h = &ctx->probe->hosts[r->host];
    struct mw__stack_opts so = {.host = h->name,
                                .port = r->port,
                                .family = o->family,
                                .dns_server = o->dns_server,
                                .bind = o->bind,
                                .connect_timeout_ms = ctx->timeout_ms};
    mw_status st = mw__stack_begin(&so, &h->addrs, &ctx->trace, NULL, NULL,
                                   &r->err, &r->build);
    if(st)
      reach_fail(r, st);
    else
      reach_step(r, &wants[i]);
  }
  mw_status result = MW_OK;
  for(;;) {
    mw__pollset_clear(&ps);
    int64_t now = mw__now_ms(), next = deadline;
    bool live = false;
    for(size_t i = 0; i < n; i++) {
      struct reach *r = &rs[i];
      if(r->done)
        continue;
      if(now >= deadline) {
        mw__error_set(&r->err, MW_E_TIMEOUT,
                      "no answer to the connection within %.1f s (filtered: "
                      "a firewall drops the packets)",
                      ctx->timeout_ms / 1000.0);
        reach_fail(r, MW_E_TIMEOUT);
        continue;
      }
      if(mw__stack_wake_at(r->build) <= now) {
        reach_step(r, &wants[i]);
        if(r->done)
          continue;
      }
      int64_t wake = mw__stack_wake_at(r->build);
      if(wake < next)
        next = wake > now ? wake : now + 1;
      live = true;
      int fd = mw__stack_fd(r->build);
      if(fd >= 0)
        (void)mw__pollset_add(&ps, fd, wants[i] ? wants[i] : POLLOUT, i);
    }
    if(!live)
      break;
    int rc = mw__pollset_wait(&ps, next - now);
    if(rc < 0) {
      result = MW_E_INTERNAL;
      break;
    }
    for(size_t k = 0, i; rc > 0 && k < ps.used; k++)
      if(mw__pollset_ready(&ps, k, &i) && !rs[i].done)
        reach_step(&rs[i], &wants[i]);
  }
  for(size_t i = 0; i < n; i++) {
    mw__stack_free(rs[i].build);
    rs[i].build = NULL;
  }
  mw__pollset_free(&ps);
  mw__free(wants);
  return result;
}

/* ---- DNS ------------------------------------------------------------------ */

static void note(struct mw_probe *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct mw_probe *p, const char *fmt, ...)
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

static void lookup_srv(struct probe_ctx *ctx, const char *domain,
                       unsigned protocols, int64_t deadline,
                       struct probe_in_dns *dns)
{
  for(size_t s = 0; s < PROBE_IN_SRV; s++) {
    const struct probe_in_service *sv = &mw__probe_in_services[s];
    unsigned bit =
        sv->protocol == MW_PROTOCOL_IMAP ? MW_PROBE_IMAP : MW_PROBE_POP3;
    if(!(protocols & bit))
      continue;
    char name[300];
    snprintf(name, sizeof(name), "%s%s", sv->prefix, domain);
    struct mw_error err;
    memset(&err, 0, sizeof(err));
    dns->asked[s] = true;
    if(mw__resolve_srv(name, ctx->opt->dns_server, deadline, dns->srv[s],
                       PROBE_IN_SRV_MAX, &dns->count[s], &dns->declined[s],
                       &err))
      note(ctx->probe, "%s", err.message);
    else if(dns->declined[s])
      note(ctx->probe,
           "%s says the service is not offered (target \".\", RFC 6186 "
           "section 3.4)",
           name);
    for(size_t k = 0; k < dns->count[s]; k++)
      mw__trace_emit(&ctx->trace, MW_TRACE_NET, "%s: %s port %u "
                     "(priority %u, weight %u)", name, dns->srv[s][k].target,
                     dns->srv[s][k].port, dns->srv[s][k].priority,
                     dns->srv[s][k].weight);
    mw__error_clear(&err);
  }
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

static bool ports_of(const char *list, const char *def, unsigned *out,
                     size_t *n)
{
  return mw_probe_ports_parse(list && *list ? list : def, out,
                              PROBE_MAX_PORTS, n) == MW_OK;
}

/* ---- the run ---------------------------------------------------------- */

static mw_status run_candidates(struct probe_ctx *ctx,
                                const struct probe_in_cand *cands,
                                size_t ncand, int64_t deadline,
                                const char *via)
{
  struct mw_probe *p = ctx->probe;
  /* the distinct (host, port) pairs with addresses */
  struct reach *rs = mw__calloc(ncand ? ncand : 1, sizeof(*rs));
  if(!rs)
    return MW_E_NOMEM;
  size_t nr = 0;
  size_t *which = mw__calloc(ncand ? ncand : 1, sizeof(*which));
  if(!which) {
    mw__free(rs);
    return MW_E_NOMEM;
  }
  for(size_t i = 0; i < ncand; i++) {
    which[i] = SIZE_MAX;
    const struct probe_host *h = &p->hosts[cands[i].host];
    if(ctx->use_proxy || !h->addrs.count)
      continue;
    for(size_t k = 0; k < nr; k++)
      if(rs[k].host == cands[i].host && rs[k].port == cands[i].port)
        which[i] = k;
    if(which[i] == SIZE_MAX) {
      rs[nr].host = cands[i].host;
      rs[nr].port = cands[i].port;
      which[i] = nr++;
    }
  }
  mw_status st = reach_all(ctx, rs, nr, deadline);
  for(size_t i = 0; !st && i < ncand; i++) {
    const struct probe_host *h = &p->hosts[cands[i].host];
    size_t row = p->row_count;
    p->row_count += 3;
    if(ctx->use_proxy) {
      mw__probe_in_candidate(ctx, &cands[i], row, NULL, NULL, via);
      continue;
    }
    if(!h->addrs.count) {
      mw__probe_in_candidate(ctx, &cands[i], row, "dns",
                             h->dns_error[0] ? h->dns_error
                                             : "the name has no address",
                             "");
      continue;
    }
    const struct reach *r = &rs[which[i]];
    mw__probe_in_candidate(ctx, &cands[i], row, r->outcome, r->detail,
                           r->peer);
  }
  for(size_t i = 0; i < nr; i++)
    mw__error_clear(&rs[i].err);
  mw__free(which);
  mw__free(rs);
  return st;
}

mw_status mw_probe_run_incoming(const mw_options *o, const char *target,
                                unsigned protocols, const char *imap_ports,
                                const char *pop3_ports, mw_probe **out)
{
  if(out)
    *out = NULL;
  unsigned iports[PROBE_MAX_PORTS], pports[PROBE_MAX_PORTS];
  size_t ni = 0, np = 0;
  protocols &= MW_PROBE_IMAP | MW_PROBE_POP3;
  if(!o || !out || !protocols || !valid_target(target) ||
     !ports_of(imap_ports, "993,143", iports, &ni) ||
     !ports_of(pop3_ports, "995,110", pports, &np))
    return MW_E_INVALID;
  struct mw_probe *p = mw__calloc(1, sizeof(*p));
  struct probe_in_cand *cands =
      mw__calloc(PROBE_IN_MAX_CANDS, sizeof(*cands));
  struct probe_in_dns *dns = mw__calloc(1, sizeof(*dns));
  if(!p || !cands || !dns) {
    mw__free(p);
    mw__free(cands);
    mw__free(dns);
    return MW_E_NOMEM;
  }
  struct probe_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.opt = o;
  ctx.probe = p;
  ctx.trace.fn = o->trace_fn;
  ctx.trace.user = o->trace_user;
  mw__trace_start(&ctx.trace);
  ctx.start = mw__now_ms();
  ctx.timeout_ms = o->greeting_timeout_ms ? o->greeting_timeout_ms
                                          : MW__DEFAULT_GREETING_TIMEOUT_MS;
  ctx.use_proxy = o->proxy_url != NULL;
  char via[300] = "";
  if(ctx.use_proxy) {
    char why[160];
    if(mw__proxy_parse_url(o->proxy_url, &ctx.proxy, why, sizeof(why))) {
      mw__free(p);
      mw__free(cands);
      mw__free(dns);
      return MW_E_INVALID;
    }
    snprintf(via, sizeof(via), "via proxy %s:%u", ctx.proxy.host,
             ctx.proxy.port);
    mw__proxy_release(&ctx.proxy);
  }
  ctx.policy = (struct mw__tls_policy){
      .ca_file = o->ca_file,
      .fingerprint = o->fingerprint[0] ? o->fingerprint : NULL,
      .insecure = o->insecure,
      .min = o->tls_min,
      .max = o->tls_max,
      .ciphers = o->tls_ciphers,
      .report_only = true};
  mw__trace_emit(&ctx.trace, MW_TRACE_INFO,
                 "probe: certificates are verified and the verdict "
                 "reported, not enforced; no credentials are sent");

  /* DNS: the SRV records, then every host's addresses, within one
   * greeting timeout. */
  int64_t dns_deadline = ctx.start + ctx.timeout_ms;
  const char *at = strrchr(target, '@');
  const char *domain = at ? at + 1 : target;
  bool literal = mw__is_ip_literal(domain) || domain[0] == '[';
  if(!literal)
    lookup_srv(&ctx, domain, protocols, dns_deadline, dns);
  size_t ncand = mw__probe_in_plan(p, target, protocols, iports, ni, pports,
                                   np, literal ? NULL : dns, cands,
                                   PROBE_IN_MAX_CANDS);
  bool *guessed_only = mw__calloc(PROBE_HOST_SLOTS, sizeof(bool));
  if(!guessed_only) {
    mw__free(cands);
    mw__free(dns);
    mw_probe_free(p);
    return MW_E_NOMEM;
  }
  for(size_t i = 0; i < p->host_count; i++)
    guessed_only[i] = true;
  for(size_t i = 0; i < ncand; i++)
    guessed_only[cands[i].host] &= cands[i].guessed;
  for(size_t i = 0; i < p->host_count && !ctx.use_proxy; i++) {
    struct probe_host *h = &p->hosts[i];
    struct mw_error err;
    memset(&err, 0, sizeof(err));
    if(mw__resolve(h->name, 993, o->family, o->dns_server, dns_deadline,
                   &h->addrs, &err)) {
      snprintf(h->dns_error, sizeof(h->dns_error), "%s", err.message);
      if(guessed_only[i])
        snprintf(h->source, sizeof(h->source), "usual name, no address");
      if(!guessed_only[i] || err.temporary || err.status == MW_E_TIMEOUT) {
        note(p, "%s", err.message);
        p->dns_temporary = p->dns_temporary || err.temporary ||
                           err.status == MW_E_TIMEOUT;
      }
    }
    mw__error_clear(&err);
  }
  /* A usual name without an address is no candidate: it was a guess. */
  size_t kept = 0;
  for(size_t i = 0; i < ncand; i++)
    if(ctx.use_proxy || !cands[i].guessed ||
       p->hosts[cands[i].host].addrs.count)
      cands[kept++] = cands[i];
  ncand = kept;
  mw__free(guessed_only);

  p->rows = mw__calloc(ncand ? 3 * ncand : 1, sizeof(*p->rows));
  mw_status st = p->rows ? run_candidates(&ctx, cands, ncand,
                                          mw__now_ms() + ctx.timeout_ms, via)
                         : MW_E_NOMEM;
  mw__free(cands);
  mw__free(dns);
  if(st) {
    mw_probe_free(p);
    return st;
  }
  mw__probe_in_rank(p);
  p->total_ms = (double)(mw__now_ms() - ctx.start);
  *out = p;
  return MW_OK;
}
