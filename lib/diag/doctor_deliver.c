/*
 * diag/doctor_deliver.c - doctor's deliverability checks: the sender
 * domain's SPF, DMARC, DKIM, MTA-STS and TLS-RPT records (read by
 * diag/deliver.c), and the server's address on the DNS blocklists asked
 * for.  They are warnings, except that when a server reply already blamed
 * sender authentication or a blocklist, their findings are cited in that
 * diagnosis.
 */
#include "diag/doctor_int.h"

#include "diag/deliver.h"
#include "net/resolve.h"

#include <stdio.h>
#include <string.h>

#define MAX_DNSBL_ZONES 8

/* ---- deliverability ------------------------------------------------- */

struct deliver {
  struct mw_report *r;
  const struct mw_options *o;
  const char *domain;
  bool dns_dead;               /* a query timed out: ask no more */
  struct mw__sbuf auth_found;  /* SPF, DMARC, DKIM problems */
  struct mw__sbuf auth_fix;
  struct mw__sbuf listed;      /* blocklist findings */
};

static void note(struct mw__sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct mw__sbuf *b, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  mw__sbuf_printf(b, "%s%s", b->len ? "; " : "", buf);
}

static bool starts_with_tag(const char *txt, const char *prefix)
{
  return mw__strnieq(txt, prefix, strlen(prefix));
}

/* TXT records at name, those for which keep() is true (all when NULL).
 * MW_OK (possibly none) or a lookup error in err. */
static mw_status fetch_txt(struct deliver *d, const char *name,
                           bool (*keep)(const char *), char ***out,
                           size_t *n, struct mw_error *err)
{
  *out = NULL;
  *n = 0;
  if(d->dns_dead)
    return mw__error_set(err, MW_E_TIMEOUT, "not looked up: the DNS server "
                         "did not answer an earlier query");
  unsigned ms = d->o->connect_timeout_ms < 5000 ? d->o->connect_timeout_ms
                                                : 5000;
  char **all = NULL;
  size_t count = 0;
  mw_status st = mw__resolve_txt(name, d->o->dns_server, mw__now_ms() + ms,
                                 &all, &count, NULL, err);
  if(st) {
    if(st == MW_E_TIMEOUT)
      d->dns_dead = true;
    return st;
  }
  size_t k = 0;
  for(size_t i = 0; i < count; i++) {
    if(!keep || keep(all[i]))
      all[k++] = all[i];
    else
      mw__free(all[i]);
  }
  *out = all;
  *n = k;
  return MW_OK;
}

struct spf_walk {
  unsigned lookups;
  unsigned macros;
  size_t queries;
  char problem[400];
  const char *path[12]; /* the include chain, for the loop guard */
  size_t depth;
};

static void spf_follow(struct deliver *d, struct spf_walk *w,
                       const char *where, const char *record)
{
  struct mw__spf_scan sc;
  if(!mw__spf_scan(record, &sc) && !w->problem[0])
    snprintf(w->problem, sizeof(w->problem),
             "syntax error in the SPF record of %s: %s", where, sc.error);
  w->lookups += sc.lookups;
  w->macros += sc.macro_targets;
  for(size_t i = 0; i < sc.ntargets; i++) {
    const char *t = sc.targets[i];
    bool loop = false;
    for(size_t k = 0; k < w->depth; k++)
      loop = loop || mw__strieq(w->path[k], t);
    if(loop || w->depth >= sizeof(w->path) / sizeof(w->path[0])) {
      if(!w->problem[0])
        snprintf(w->problem, sizeof(w->problem),
                 "%s: include:/redirect= of %s loops or nests too deep",
                 where, t);
      continue;
    }
    if(w->queries >= 30) /* bound the work on a hostile record */
      return;
    w->queries++;
    struct mw_error err = {0};
    char **txt = NULL;
    size_t n = 0;
    mw_status st = fetch_txt(d, t, mw__spf_is_record, &txt, &n, &err);
    if(st && !w->problem[0])
      snprintf(w->problem, sizeof(w->problem), "%.380s", err.message);
    else if(!st && n != 1 && !w->problem[0])
      snprintf(w->problem, sizeof(w->problem),
               "%s (named in the SPF record of %s) has %s SPF record: "
               "permerror",
               t, where, n ? "more than one" : "no");
    else if(!st && n == 1) {
      w->path[w->depth++] = t;
      spf_follow(d, w, t, txt[0]);
      w->depth--;
    }
    mw__txt_free(txt, n);
    mw__error_clear(&err);
  }
}

static void check_spf(struct deliver *d)
{
  struct mw_report *r = d->r;
  int64_t t0 = mw__now_ms();
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, d->domain, mw__spf_is_record, &txt, &n, &err)) {
    mw__doctor_check(r, "spf", MW_CHECK_WARN, mw__doctor_since(t0), "%s",
                     err.message);
    note(&d->auth_found, "the SPF record of %s could not be read",
         d->domain);
    mw__error_clear(&err);
    return;
  }
  if(!n) {
    mw__doctor_check(r, "spf", MW_CHECK_WARN, mw__doctor_since(t0),
              "%s has no SPF record (TXT \"v=spf1 ...\"): receivers cannot "
                     "tell which servers may send for it",
                     d->domain);
    note(&d->auth_found, "no SPF record for %s", d->domain);
    note(&d->auth_fix, "publish one SPF record at %s listing the servers "
         "that send for it (for example \"v=spf1 mx -all\", or your "
         "provider's include:)", d->domain);
  }
  else if(n > 1) {
    mw__doctor_check(r, "spf", MW_CHECK_WARN, mw__doctor_since(t0),
                     "permerror: %s has %zu SPF records (RFC 7208 3.2 allows "
                     "one): \"%s\", \"%s\"",
                     d->domain, n, txt[0], txt[1]);
    note(&d->auth_found, "%s has %zu SPF records (permerror)", d->domain,
         n);
    note(&d->auth_fix, "merge the SPF records of %s into one", d->domain);
  }
  else {
    struct spf_walk w = {.path = {d->domain}, .depth = 1};
    spf_follow(d, &w, d->domain, txt[0]);
    bool over = w.lookups > MW__SPF_LOOKUP_LIMIT;
    char extra[160] = "";
    if(w.macros)
      snprintf(extra, sizeof(extra), ", %u macro target%s not followed",
               w.macros, w.macros == 1 ? "" : "s");
    mw__doctor_check(r, "spf",
                     over || w.problem[0] ? MW_CHECK_WARN : MW_CHECK_OK,
                     mw__doctor_since(t0),
                     "\"%s\": %u DNS lookup%s (limit %u%s)%s%s%s", txt[0],
                     w.lookups, w.lookups == 1 ? "" : "s",
                     MW__SPF_LOOKUP_LIMIT, extra,
                     over ? "; permerror: more than 10 DNS-querying terms "
                            "(RFC 7208 4.6.4)"
                          : "",
                     w.problem[0] ? "; " : "", w.problem);
    if(over) {
      note(&d->auth_found, "the SPF record of %s needs %u DNS lookups "
           "(more than 10: permerror)", d->domain, w.lookups);
      note(&d->auth_fix, "flatten the SPF record of %s to at most 10 DNS "
           "lookups (replace include:s with ip4:/ip6:)", d->domain);
    }
    if(w.problem[0]) {
      note(&d->auth_found, "%s", w.problem);
      note(&d->auth_fix, "correct the SPF record of %s", d->domain);
    }
  }
  mw__txt_free(txt, n);
}

static void check_dmarc(struct deliver *d)
{
  struct mw_report *r = d->r;
  int64_t t0 = mw__now_ms();
  char name[300];
  snprintf(name, sizeof(name), "_dmarc.%s", d->domain);
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, name, mw__dmarc_is_record, &txt, &n, &err)) {
    mw__doctor_check(r, "dmarc", MW_CHECK_WARN, mw__doctor_since(t0), "%s",
                     err.message);
    note(&d->auth_found, "the DMARC record of %s could not be read",
         d->domain);
    mw__error_clear(&err);
    return;
  }
  struct mw__dmarc dm;
  if(!n) {
    mw__doctor_check(r, "dmarc", MW_CHECK_WARN, mw__doctor_since(t0),
                     "no DMARC record at %s (TXT \"v=DMARC1; p=...\")", name);
    note(&d->auth_found, "no DMARC record for %s", d->domain);
    note(&d->auth_fix, "publish a DMARC record at %s (start with "
         "\"v=DMARC1; p=none; rua=mailto:dmarc@%s\")", name, d->domain);
  }
  else if(n > 1) {
    mw__doctor_check(r, "dmarc", MW_CHECK_WARN, mw__doctor_since(t0),
              "%s has %zu DMARC records: receivers ignore them all (RFC "
                     "7489 6.6.3)", name, n);
    note(&d->auth_found, "%s has %zu DMARC records (none applies)", name,
         n);
    note(&d->auth_fix, "keep one DMARC record at %s", name);
  }
  else if(!mw__dmarc_parse(txt[0], &dm)) {
    mw__doctor_check(r, "dmarc", MW_CHECK_WARN, mw__doctor_since(t0),
                     "\"%s\" at %s: %s",
                     txt[0], name, dm.error);
    note(&d->auth_found, "the DMARC record of %s is invalid (%s)",
         d->domain, dm.error);
    note(&d->auth_fix, "correct the DMARC record at %s", name);
  }
  else {
    bool none = strcmp(dm.policy, "none") == 0;
    mw__doctor_check(r, "dmarc", none ? MW_CHECK_WARN : MW_CHECK_OK,
                     mw__doctor_since(t0),
                     "\"%s\": policy %s%s%s, %u%%%s%s%s", txt[0], dm.policy,
                     dm.subpolicy[0] ? ", subdomains " : "", dm.subpolicy,
                     dm.pct,
                     dm.rua[0] ? ", reports to "
                               : ", no aggregate reports (rua=)",
                     dm.rua,
                     none ? "; p=none only monitors: failing mail is not "
                            "quarantined or rejected"
                          : "");
  }
  mw__txt_free(txt, n);
}

static void check_dkim(struct deliver *d)
{
  struct mw_report *r = d->r;
  const char *sel = d->o->dkim_selector;
  if(!sel) {
    mw__doctor_check(r, "dkim", MW_CHECK_SKIPPED, 0,
                     "not tested (give {dkim-selector=NAME}: the s= of your "
                     "DKIM-Signature)");
    return;
  }
  int64_t t0 = mw__now_ms();
  char name[600];
  snprintf(name, sizeof(name), "%s._domainkey.%s", sel, d->domain);
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, name, NULL, &txt, &n, &err)) {
    mw__doctor_check(r, "dkim", MW_CHECK_WARN, mw__doctor_since(t0), "%s",
                     err.message);
    note(&d->auth_found, "the DKIM key %s could not be read", name);
    mw__error_clear(&err);
    return;
  }
  struct mw__dkim k = {0};
  size_t good = n;
  for(size_t i = 0; i < n && good == n; i++)
    if(mw__dkim_parse(txt[i], &k))
      good = i;
  if(!n) {
    mw__doctor_check(r, "dkim", MW_CHECK_WARN, mw__doctor_since(t0),
                     "no DKIM key at %s", name);
    note(&d->auth_found, "no DKIM key at %s", name);
    note(&d->auth_fix, "publish the DKIM public key of selector %s at %s",
         sel, name);
  }
  else if(good == n) {
    mw__doctor_check(r, "dkim", MW_CHECK_WARN, mw__doctor_since(t0), "%s: %s",
                     name,
                     k.error);
    note(&d->auth_found, "the DKIM key at %s is %s", name,
         k.revoked ? "revoked" : "invalid");
    note(&d->auth_fix, "publish a valid DKIM key at %s", name);
  }
  else {
    mw__doctor_check(r, "dkim", MW_CHECK_OK, mw__doctor_since(t0),
                     "%s: %s key (%zu base64 characters)", name, k.key_type,
                     k.key_len);
  }
  mw__txt_free(txt, n);
}

static bool is_sts(const char *t) { return starts_with_tag(t, "v=STSv"); }
static bool is_tlsrpt(const char *t)
{
  return starts_with_tag(t, "v=TLSRPT");
}

static void check_mta_sts(struct deliver *d)
{
  struct mw_report *r = d->r;
  int64_t t0 = mw__now_ms();
  char name[300], id[64], why[160];
  snprintf(name, sizeof(name), "_mta-sts.%s", d->domain);
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, name, is_sts, &txt, &n, &err))
    mw__doctor_check(r, "mta-sts", MW_CHECK_WARN, mw__doctor_since(t0), "%s",
                     err.message);
  else if(!n)
    mw__doctor_check(r, "mta-sts", MW_CHECK_WARN, mw__doctor_since(t0),
              "no MTA-STS record at %s (optional: it lets senders insist "
                     "on TLS to %s's MX)",
                     name, d->domain);
  else if(n > 1)
    mw__doctor_check(r, "mta-sts", MW_CHECK_WARN, mw__doctor_since(t0),
              "%s has %zu MTA-STS records: senders ignore them (RFC 8461 "
                     "3.1)", name, n);
  else if(!mw__mta_sts_parse(txt[0], id, sizeof(id), why, sizeof(why)))
    mw__doctor_check(r, "mta-sts", MW_CHECK_WARN, mw__doctor_since(t0),
                     "\"%s\" at %s: %s",
                     txt[0], name, why);
  else
    mw__doctor_check(r, "mta-sts", MW_CHECK_OK, mw__doctor_since(t0),
                     "\"%s\": policy id %s (the policy at https://mta-sts.%s/"
                     ".well-known/mta-sts.txt is not fetched)",
                     txt[0], id, d->domain);
  mw__txt_free(txt, n);
  mw__error_clear(&err);
}

static void check_tls_rpt(struct deliver *d)
{
  struct mw_report *r = d->r;
  int64_t t0 = mw__now_ms();
  char name[300], rua[256], why[160];
  snprintf(name, sizeof(name), "_smtp._tls.%s", d->domain);
  struct mw_error err = {0};
  char **txt = NULL;
  size_t n = 0;
  if(fetch_txt(d, name, is_tlsrpt, &txt, &n, &err))
    mw__doctor_check(r, "tls-rpt", MW_CHECK_WARN, mw__doctor_since(t0), "%s",
                     err.message);
  else if(!n)
    mw__doctor_check(r, "tls-rpt", MW_CHECK_WARN, mw__doctor_since(t0),
              "no TLS-RPT record at %s (optional: reports of TLS failures "
                     "delivering to %s)",
                     name, d->domain);
  else if(n > 1)
    mw__doctor_check(r, "tls-rpt", MW_CHECK_WARN, mw__doctor_since(t0),
              "%s has %zu TLS-RPT records (RFC 8460 3 allows one)", name,
                     n);
  else if(!mw__tls_rpt_parse(txt[0], rua, sizeof(rua), why, sizeof(why)))
    mw__doctor_check(r, "tls-rpt", MW_CHECK_WARN, mw__doctor_since(t0),
                     "\"%s\" at %s: %s",
                     txt[0], name, why);
  else
    mw__doctor_check(r, "tls-rpt", MW_CHECK_OK, mw__doctor_since(t0),
                     "\"%s\": reports to %s", txt[0], rua);
  mw__txt_free(txt, n);
  mw__error_clear(&err);
}

static void check_dnsbl(struct deliver *d)
{
  struct mw_report *r = d->r;
  const char *zones = d->o->dnsbl_zones;
  if(!zones) {
    mw__doctor_check(r, "dnsbl", MW_CHECK_SKIPPED, 0,
              "not tested (give {dnsbl=ZONE[,ZONE...]}; no blocklist is "
                     "asked by default)");
    return;
  }
  char ip[80];
  snprintf(ip, sizeof(ip), "%s", r->peer);
  char *colon = strrchr(ip, ':');
  if(colon && ip[0] != '[')
    *colon = '\0';
  if(!ip[0] || ip[0] == '[') {
    mw__doctor_check(r, "dnsbl", MW_CHECK_SKIPPED, 0, "%s",
                     ip[0] ? "the server's address is IPv6: not looked up"
                     : "no connection to the server: no address to look up");
    return;
  }
  const char *p = zones;
  char zone[256];
  for(size_t z = 0; z < MAX_DNSBL_ZONES && mw__next_zone(&p, zone,
                                                         sizeof(zone));
      z++) {
    int64_t t0 = mw__now_ms();
    char name[300];
    if(!mw__dnsbl_name(ip, zone, name, sizeof(name))) {
      mw__doctor_check(r, "dnsbl", MW_CHECK_SKIPPED, 0, "%s: not a zone",
                       zone);
      continue;
    }
    if(d->dns_dead) {
      mw__doctor_check(r, "dnsbl", MW_CHECK_WARN, 0,
                       "%s: not looked up: the DNS "
                       "server did not answer an earlier query", zone);
      continue;
    }
    uint8_t a[4][4];
    size_t n = 0;
    struct mw_error err = {0};
    unsigned ms = d->o->connect_timeout_ms < 5000
                      ? d->o->connect_timeout_ms : 5000;
    mw_status st = mw__resolve_a(name, d->o->dns_server, mw__now_ms() + ms,
                                 a, 4, &n, &err);
    if(st) {
      d->dns_dead = st == MW_E_TIMEOUT;
      mw__doctor_check(r, "dnsbl", MW_CHECK_WARN, mw__doctor_since(t0),
                       "%s: %s", zone,
                       err.message);
      mw__error_clear(&err);
      continue;
    }
    if(!n) {
      mw__doctor_check(r, "dnsbl", MW_CHECK_OK, mw__doctor_since(t0),
                       "%s is not listed on %s", ip, zone);
      continue;
    }
    char ans[20];
    snprintf(ans, sizeof(ans), "%u.%u.%u.%u", a[0][0], a[0][1], a[0][2],
             a[0][3]);
    enum mw__dnsbl_answer cls = mw__dnsbl_classify(a[0]);
    if(cls == MW__DNSBL_LISTED) {
      char **txt = NULL;
      size_t nt = 0;
      fetch_txt(d, name, NULL, &txt, &nt, &err);
      mw__error_clear(&err);
      mw__doctor_check(r, "dnsbl", MW_CHECK_WARN, mw__doctor_since(t0),
                       "%s is listed on %s (%s)%s%s", ip, zone, ans,
                       nt ? ": " : "", nt ? txt[0] : "");
      note(&d->listed, "%s is listed on %s (%s)%s%s", ip, zone, ans,
           nt ? ": " : "", nt ? txt[0] : "");
      mw__txt_free(txt, nt);
    }
    else {
      mw__doctor_check(r, "dnsbl", MW_CHECK_WARN, mw__doctor_since(t0),
                "%s: %s answered %s, which is not a listing%s", zone, name,
                       ans,
                       cls == MW__DNSBL_REFUSED
                       ? " (the list refuses queries from this resolver: ask "
                       "it through your own DNS server)"
                       : "");
    }
  }
}

/* A server reply blamed sender authentication or a blocklist: cite what
 * the checks found in the diagnosis. */
static void refine_diagnosis(struct deliver *d)
{
  struct mw_report *r = d->r;
  bool auth = strcmp(r->cause->id, "spf_dmarc_rejected") == 0;
  if(!auth && strcmp(r->cause->id, "blocklisted") != 0)
    return;
  struct mw__sbuf sum, fix;
  mw__sbuf_init(&sum);
  mw__sbuf_init(&fix);
  if(auth && d->auth_found.len) {
    mw__sbuf_printf(&sum, "%s; deliverability: %s", r->summary,
                    d->auth_found.data);
    mw__sbuf_printf(&fix, "%s%s%s", d->auth_fix.len ? d->auth_fix.data : "",
                    d->auth_fix.len ? "; " : "", r->fix);
  }
  else if(auth && d->domain) {
    mw__sbuf_printf(&sum, "%s; deliverability: the SPF and DMARC records "
                    "of %s look valid", r->summary, d->domain);
    mw__sbuf_printf(&fix, "check that this server is allowed by the SPF "
                    "record of %s and that the message is DKIM-signed for "
                    "it (check a key with {dkim-selector}); %s",
                    d->domain, r->fix);
  }
  else if(!auth && d->listed.len) {
    mw__sbuf_printf(&sum, "%s; deliverability: %s", r->summary,
                    d->listed.data);
    mw__sbuf_printf(&fix, "ask the blocklist to delist the address (after "
                    "stopping whatever got it listed), or send through "
                    "another server; %s", r->fix);
  }
  else if(!auth) {
    mw__sbuf_printf(&sum, "%s; deliverability: %s", r->summary,
                    d->o->dnsbl_zones
                        ? "the server's address is not listed on the zones "
                          "checked"
                        : "no blocklist was checked (give {dnsbl=ZONES})");
  }
  if(sum.data) {
    mw__free(r->summary);
    r->summary = mw__sbuf_steal(&sum);
  }
  if(fix.data) {
    mw__free(r->fix);
    r->fix = mw__sbuf_steal(&fix);
  }
  mw__sbuf_free(&sum);
  mw__sbuf_free(&fix);
}

/* The sender's domain: --domain, else the domain of from; NULL if none. */
static const char *sender_domain(const struct mw_options *o,
                                 const char *from)
{
  if(o->sender_domain)
    return o->sender_domain;
  const char *at = from ? strrchr(from, '@') : NULL;
  return at && mw__dns_name_ok(at + 1) ? at + 1 : NULL;
}

void mw__doctor_deliverability(struct mw_report *r,
                                 const struct mw_options *o,
                                 const char *from)
{
  struct deliver d = {.r = r, .o = o, .domain = sender_domain(o, from)};
  if(!d.domain && !o->dnsbl_zones)
    return;
  /* the DNS server does not answer: every query would time out */
  if(r->cause && strcmp(r->cause->id, "dns_timeout") == 0)
    return;
  mw__sbuf_init(&d.auth_found);
  mw__sbuf_init(&d.auth_fix);
  mw__sbuf_init(&d.listed);
  if(d.domain) {
    check_spf(&d);
    check_dmarc(&d);
    check_dkim(&d);
    check_mta_sts(&d);
    check_tls_rpt(&d);
  }
  check_dnsbl(&d);
  if(r->cause)
    refine_diagnosis(&d);
  mw__sbuf_free(&d.auth_found);
  mw__sbuf_free(&d.auth_fix);
  mw__sbuf_free(&d.listed);
}
