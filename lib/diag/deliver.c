/*
 * diag/deliver.c - parsers behind doctor's deliverability checks: SPF term
 * counting (RFC 7208), DMARC (RFC 7489), DKIM key records (RFC 6376),
 * MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) records, and DNS blocklist
 * query names.  Pure functions: no I/O, no allocation.
 */
#include "diag/deliver.h"

#include "core/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static bool is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool mw__dns_name_ok(const char *name)
{
  size_t n = name ? strlen(name) : 0;
  if(n && name[n - 1] == '.')
    n--; /* a trailing dot (absolute name) is fine */
  if(!n || n > 253)
    return false;
  size_t label = 0;
  for(size_t i = 0; i < n; i++) {
    char c = name[i];
    if(c == '.') {
      if(!label)
        return false;
      label = 0;
      continue;
    }
    if(!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
      return false;
    if(++label > 63)
      return false;
  }
  return label > 0;
}

/* ---- SPF ------------------------------------------------------------- */

bool mw__spf_is_record(const char *txt)
{
  return txt && mw__strnieq(txt, "v=spf1", 6) &&
         (txt[6] == '\0' || txt[6] == ' ');
}

static bool spf_fail(struct mw__spf_scan *s, const char *term, size_t n,
                     const char *why)
{
  snprintf(s->error, sizeof(s->error), "'%.*s': %s",
           (int)(n > 60 ? 60 : n), term, why);
  return false;
}

/* A domain-spec (RFC 7208 7.1): a name, or a macro string we do not
 * expand.  Returns 0 invalid, 1 plain name, 2 macro. */
static int domain_spec(const char *p, size_t n)
{
  char buf[256];
  if(!n || n >= sizeof(buf))
    return 0;
  memcpy(buf, p, n);
  buf[n] = '\0';
  if(strchr(buf, '%')) {
    for(size_t i = 0; i < n; i++)
      if((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f)
        return 0;
    return 2;
  }
  return mw__dns_name_ok(buf) ? 1 : 0;
}

/* "/24": one prefix length of at most max, no leading zero. */
static bool prefix_ok(const char *p, size_t n, unsigned max)
{
  if(n < 2 || n > 4 || p[0] != '/' || (n > 2 && p[1] == '0'))
    return false;
  unsigned v = 0;
  for(size_t i = 1; i < n; i++) {
    if(!is_digit(p[i]))
      return false;
    v = v * 10 + (unsigned)(p[i] - '0');
  }
  return v <= max;
}

/* After a or mx: "/24", "//64" or "/24//64" (RFC 7208 5.6). */
static bool dual_cidr_ok(const char *p, size_t n)
{
  if(n >= 2 && p[0] == '/' && p[1] == '/')
    return prefix_ok(p + 1, n - 1, 128);
  for(size_t i = 1; i + 1 < n; i++)
    if(p[i] == '/' && p[i + 1] == '/')
      return prefix_ok(p, i, 32) && prefix_ok(p + i + 1, n - i - 1, 128);
  return prefix_ok(p, n, 32);
}

static void add_target(struct mw__spf_scan *s, const char *p, size_t n,
                       int kind)
{
  if(kind == 2) {
    s->macro_targets++;
    return;
  }
  if(s->ntargets < MW__SPF_MAX_TARGETS) {
    snprintf(s->targets[s->ntargets], sizeof(s->targets[0]), "%.*s",
             (int)n, p);
    s->ntargets++;
  }
}

static bool spf_modifier(struct mw__spf_scan *s, const char *t, size_t n,
                         size_t eq, bool *seen_exp)
{
  for(size_t i = 0; i < eq; i++)
    if(!(is_alpha(t[i]) || (i && (is_digit(t[i]) || t[i] == '-' ||
                                   t[i] == '_' || t[i] == '.'))))
      return spf_fail(s, t, n, "not a valid modifier name");
  const char *v = t + eq + 1;
  size_t vn = n - eq - 1;
  if(eq == 8 && mw__strnieq(t, "redirect", 8)) {
    if(s->has_redirect)
      return spf_fail(s, t, n, "redirect= appears twice");
    int k = domain_spec(v, vn);
    if(!k)
      return spf_fail(s, t, n, "redirect= needs a domain");
    s->has_redirect = true;
    s->lookups++;
    add_target(s, v, vn, k);
  }
  else if(eq == 3 && mw__strnieq(t, "exp", 3)) {
    if(*seen_exp)
      return spf_fail(s, t, n, "exp= appears twice");
    if(!domain_spec(v, vn))
      return spf_fail(s, t, n, "exp= needs a domain");
    *seen_exp = true;
  }
  return true; /* unknown modifiers are ignored (RFC 7208 6) */
}

static bool spf_mechanism(struct mw__spf_scan *s, const char *t, size_t n)
{
  const char *m = t;
  if(*m == '+' || *m == '-' || *m == '~' || *m == '?')
    m++;
  size_t mn = 0;
  while(m + mn < t + n && m[mn] != ':' && m[mn] != '/')
    mn++;
  const char *rest = m + mn;
  size_t rn = (size_t)(t + n - rest);
  bool colon = rn && *rest == ':';
#define IS(w) (mn == sizeof(w) - 1 && mw__strnieq(m, w, mn))
  if(IS("all")) {
    if(rn)
      return spf_fail(s, t, n, "'all' takes no argument");
    s->has_all = true;
    return true;
  }
  if(IS("include") || IS("exists")) {
    int k = colon ? domain_spec(rest + 1, rn - 1) : 0;
    if(!k)
      return spf_fail(s, t, n, "needs ':' and a domain");
    s->lookups++;
    if(IS("include"))
      add_target(s, rest + 1, rn - 1, k);
    return true;
  }
  if(IS("a") || IS("mx") || IS("ptr")) {
    size_t dn = 0;
    if(colon) {
      while(1 + dn < rn && rest[1 + dn] != '/')
        dn++;
      if(!domain_spec(rest + 1, dn))
        return spf_fail(s, t, n, "the domain after ':' is not valid");
      dn++;
    }
    if(dn < rn && (IS("ptr") || !dual_cidr_ok(rest + dn, rn - dn)))
      return spf_fail(s, t, n, "bad prefix length");
    s->lookups++;
    return true;
  }
  if(IS("ip4") || IS("ip6")) {
    bool v6 = IS("ip6");
    char addr[64];
    size_t an = 0;
    if(!colon)
      return spf_fail(s, t, n, "needs ':' and an address");
    while(1 + an < rn && rest[1 + an] != '/')
      an++;
    unsigned char bin[16];
    if(!an || an >= sizeof(addr))
      return spf_fail(s, t, n, "not a valid address");
    memcpy(addr, rest + 1, an);
    addr[an] = '\0';
    if(inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1)
      return spf_fail(s, t, n, "not a valid address");
    if(1 + an < rn &&
       !prefix_ok(rest + 1 + an, rn - 1 - an, v6 ? 128 : 32))
      return spf_fail(s, t, n, "bad prefix length");
    return true;
  }
#undef IS
  return spf_fail(s, t, n, "unknown mechanism");
}

bool mw__spf_scan(const char *record, struct mw__spf_scan *s)
{
  memset(s, 0, sizeof(*s));
  if(!mw__spf_is_record(record)) {
    snprintf(s->error, sizeof(s->error), "does not start with 'v=spf1'");
    return false;
  }
  bool seen_exp = false;
  const char *p = record + 6;
  while(*p) {
    while(*p == ' ')
      p++;
    if(!*p)
      break;
    const char *t = p;
    while(*p && *p != ' ')
      p++;
    size_t n = (size_t)(p - t);
    for(size_t i = 0; i < n; i++)
      if((unsigned char)t[i] < ' ' || (unsigned char)t[i] >= 0x7f)
        return spf_fail(s, t, n, "control or non-ASCII character");
    const char *eq = memchr(t, '=', n);
    const char *sep = strpbrk(t, ":/");
    bool ok = eq && (!sep || sep > eq)
                  ? spf_modifier(s, t, n, (size_t)(eq - t), &seen_exp)
                  : spf_mechanism(s, t, n);
    if(!ok)
      return false;
  }
  return true;
}

/* ---- tag=value lists (DMARC, DKIM, MTA-STS, TLS-RPT) ----------------- */

bool mw__tag_value(const char *record, const char *name, char *val,
                   size_t len)
{
  size_t nl = strlen(name);
  if(len)
    val[0] = '\0';
  const char *p = record;
  while(p && *p) {
    while(is_blank(*p) || *p == '\r' || *p == '\n')
      p++;
    const char *end = strchr(p, ';');
    if(!end)
      end = p + strlen(p);
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if(eq) {
      const char *ne = eq;
      while(ne > p && is_blank(ne[-1]))
        ne--;
      if((size_t)(ne - p) == nl && mw__strnieq(p, name, nl)) {
        const char *v = eq + 1, *ve = end;
        while(v < ve && is_blank(*v))
          v++;
        while(ve > v && (is_blank(ve[-1]) || ve[-1] == '\r' ||
                         ve[-1] == '\n'))
          ve--;
        if(len)
          snprintf(val, len, "%.*s", (int)(ve - v), v);
        return true;
      }
    }
    p = *end ? end + 1 : end;
  }
  return false;
}

/* The first tag is "v" with this value (blanks allowed around '='). */
static bool first_tag_is(const char *record, const char *version)
{
  const char *p = record;
  while(is_blank(*p))
    p++;
  if(*p != 'v' && *p != 'V')
    return false;
  p++;
  while(is_blank(*p))
    p++;
  if(*p != '=')
    return false;
  p++;
  while(is_blank(*p))
    p++;
  size_t n = strlen(version);
  if(strncmp(p, version, n) != 0)
    return false;
  p += n;
  while(is_blank(*p))
    p++;
  return *p == '\0' || *p == ';';
}

bool mw__dmarc_is_record(const char *txt)
{
  return txt && first_tag_is(txt, "DMARC1");
}

bool mw__dmarc_parse(const char *record, struct mw__dmarc *d)
{
  memset(d, 0, sizeof(*d));
  d->pct = 100;
  if(!mw__dmarc_is_record(record)) {
    snprintf(d->error, sizeof(d->error),
             "does not start with 'v=DMARC1'");
    return false;
  }
  char v[256];
  if(!mw__tag_value(record, "p", v, sizeof(v))) {
    snprintf(d->error, sizeof(d->error), "no policy (p=) tag");
    return false;
  }
  if(!mw__strieq(v, "none") && !mw__strieq(v, "quarantine") &&
     !mw__strieq(v, "reject")) {
    snprintf(d->error, sizeof(d->error),
             "p=%.40s is not none, quarantine or reject", v);
    return false;
  }
  for(size_t i = 0; v[i] && i + 1 < sizeof(d->policy); i++)
    d->policy[i] = (char)(v[i] | 0x20);
  if(mw__tag_value(record, "sp", v, sizeof(v))) {
    if(!mw__strieq(v, "none") && !mw__strieq(v, "quarantine") &&
       !mw__strieq(v, "reject")) {
      snprintf(d->error, sizeof(d->error),
               "sp=%.40s is not none, quarantine or reject", v);
      return false;
    }
    for(size_t i = 0; v[i] && i + 1 < sizeof(d->subpolicy); i++)
      d->subpolicy[i] = (char)(v[i] | 0x20);
  }
  if(mw__tag_value(record, "pct", v, sizeof(v))) {
    unsigned n = 0;
    size_t i = 0;
    for(; is_digit(v[i]) && i < 3; i++)
      n = n * 10 + (unsigned)(v[i] - '0');
    if(!i || v[i] || n > 100) {
      snprintf(d->error, sizeof(d->error),
               "pct=%.20s is not a number from 0 to 100", v);
      return false;
    }
    d->pct = n;
  }
  mw__tag_value(record, "rua", d->rua, sizeof(d->rua));
  return true;
}

/* ---- DKIM -------------------------------------------------------------- */

bool mw__dkim_parse(const char *record, struct mw__dkim *k)
{
  memset(k, 0, sizeof(*k));
  snprintf(k->key_type, sizeof(k->key_type), "rsa");
  char v[64];
  if(mw__tag_value(record, "v", v, sizeof(v)) &&
     !first_tag_is(record, "DKIM1")) {
    snprintf(k->error, sizeof(k->error),
             "v= must be 'DKIM1' and the first tag");
    return false;
  }
  if(mw__tag_value(record, "k", v, sizeof(v)) && v[0])
    snprintf(k->key_type, sizeof(k->key_type), "%.15s", v);
  /* p= holds base64 that may be long: scan it in place */
  const char *p = record;
  bool found = false;
  size_t len = 0;
  while(*p) {
    while(is_blank(*p))
      p++;
    if((*p == 'p' || *p == 'P')) {
      const char *q = p + 1;
      while(is_blank(*q))
        q++;
      if(*q == '=') {
        found = true;
        q++;
        for(; *q && *q != ';'; q++) {
          if(is_alpha(*q) || is_digit(*q) || *q == '+' || *q == '/' ||
             *q == '=')
            len++;
          else if(!is_blank(*q)) {
            snprintf(k->error, sizeof(k->error),
                     "p= holds a character that is not base64");
            return false;
          }
        }
        break;
      }
    }
    p = strchr(p, ';');
    if(!p)
      break;
    p++;
  }
  if(!found) {
    snprintf(k->error, sizeof(k->error), "no public key (p=) tag");
    return false;
  }
  k->key_len = len;
  if(!len) {
    k->revoked = true;
    snprintf(k->error, sizeof(k->error), "the key is revoked (empty p=)");
    return false;
  }
  return true;
}

/* ---- MTA-STS and TLS-RPT -------------------------------------------- */

bool mw__mta_sts_parse(const char *record, char *id, size_t idlen,
                       char *error, size_t errlen)
{
  if(idlen)
    id[0] = '\0';
  if(errlen)
    error[0] = '\0';
  if(!first_tag_is(record, "STSv1")) {
    snprintf(error, errlen, "does not start with 'v=STSv1'");
    return false;
  }
  char v[64];
  if(!mw__tag_value(record, "id", v, sizeof(v))) {
    snprintf(error, errlen, "no id= tag");
    return false;
  }
  size_t n = strlen(v);
  for(size_t i = 0; i < n; i++)
    if(!is_alpha(v[i]) && !is_digit(v[i]))
      n = 0;
  if(!n || n > 32) {
    snprintf(error, errlen, "id= must be 1 to 32 letters and digits");
    return false;
  }
  snprintf(id, idlen, "%s", v);
  return true;
}

bool mw__tls_rpt_parse(const char *record, char *rua, size_t rualen,
                       char *error, size_t errlen)
{
  if(rualen)
    rua[0] = '\0';
  if(errlen)
    error[0] = '\0';
  if(!first_tag_is(record, "TLSRPTv1")) {
    snprintf(error, errlen, "does not start with 'v=TLSRPTv1'");
    return false;
  }
  char v[256];
  if(!mw__tag_value(record, "rua", v, sizeof(v)) || !v[0]) {
    snprintf(error, errlen, "no rua= reporting address");
    return false;
  }
  /* every comma-separated URI is mailto: or https: */
  const char *p = v;
  while(*p) {
    while(is_blank(*p))
      p++;
    if(!mw__strnieq(p, "mailto:", 7) && !mw__strnieq(p, "https:", 6)) {
      snprintf(error, errlen, "rua= holds a URI that is not mailto: or "
                              "https:");
      return false;
    }
    p = strchr(p, ',');
    if(!p)
      break;
    p++;
  }
  snprintf(rua, rualen, "%s", v);
  return true;
}

/* ---- DNS blocklists --------------------------------------------------- */

bool mw__dnsbl_name(const char *ip, const char *zone, char *out, size_t len)
{
  if(len)
    out[0] = '\0';
  unsigned char a[4];
  if(!ip || !zone || strlen(ip) > 15 || inet_pton(AF_INET, ip, a) != 1 ||
     !mw__dns_name_ok(zone))
    return false;
  int n = snprintf(out, len, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone);
  if(n < 0 || (size_t)n >= len || n > 253) {
    if(len)
      out[0] = '\0';
    return false;
  }
  return true;
}

enum mw__dnsbl_answer mw__dnsbl_classify(const uint8_t a[4])
{
  if(a[0] == 127 && a[1] == 0 && a[2] == 0)
    return MW__DNSBL_LISTED;
  if(a[0] == 127 && a[1] == 255 && a[2] == 255)
    return MW__DNSBL_REFUSED;
  return MW__DNSBL_ODD;
}

bool mw__next_zone(const char **list, char *zone, size_t len)
{
  const char *p = *list;
  if(len)
    zone[0] = '\0';
  while(p && *p) {
    while(*p == ',' || is_blank(*p))
      p++;
    const char *s = p;
    while(*p && *p != ',')
      p++;
    const char *e = p;
    while(e > s && is_blank(e[-1]))
      e--;
    if(e > s) {
      snprintf(zone, len, "%.*s", (int)(e - s), s);
      *list = p;
      return true;
    }
  }
  *list = p;
  return false;
}
