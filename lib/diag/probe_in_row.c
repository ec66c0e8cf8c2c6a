/*
 * diag/probe_in_row.c - the incoming probe's pure parts and its
 * dialogues: which (host, port, protocol) candidates a target gives
 * (mw__probe_in_plan), one candidate spoken to in each TLS mode with the
 * ordinary IMAP and POP3 clients (proto/imap.c, proto/pop3.c) and read
 * as rows (mw__probe_in_candidate), and the ranking per protocol.
 *
 * DESCRIPTION
 *   A candidate is tried with implicit TLS first (RFC 8314's preference).
 *   When that handshake completes, the port speaks implicit TLS and is not
 *   tried in plaintext (a plaintext client would wait for a greeting that
 *   never comes).  Otherwise the plaintext dialogue (greeting,
 *   CAPABILITY or CAPA; no STARTTLS) fills the plain row, and when it
 *   offered STARTTLS or STLS a third connection upgrades (injection check,
 *   capabilities asked again after TLS) for the starttls row.  A port
 *   that said nothing at all to the implicit attempt (not even a
 *   plaintext greeting: these servers speak first) is not tried again in
 *   plaintext.  Each
 *   dialogue is the client's own set-up without credentials, bounded by
 *   the greeting timeout; certificates are verified and the verdict
 *   reported (the session itself does not enforce it, so a self-signed
 *   server still shows what it speaks).  Outcomes come from statuses and
 *   the error's kinds, never from its words.
 */
#include "diag/probe_int.h"

#include "core/util.h"
#include "proto/imap.h"
#include "proto/pop3.h"

#include <stdio.h>
#include <string.h>

const struct probe_in_service mw__probe_in_services[PROBE_IN_SRV] = {
    {"_imaps._tcp.", "srv _imaps._tcp", MW_PROTOCOL_IMAP},
    {"_imap._tcp.", "srv _imap._tcp", MW_PROTOCOL_IMAP},
    {"_pop3s._tcp.", "srv _pop3s._tcp", MW_PROTOCOL_POP3},
    {"_pop3._tcp.", "srv _pop3._tcp", MW_PROTOCOL_POP3}};

/* ---- the plan ---------------------------------------------------------- */

static unsigned proto_bit(mw_protocol p)
{
  return p == MW_PROTOCOL_IMAP ? MW_PROBE_IMAP
         : p == MW_PROTOCOL_POP3 ? MW_PROBE_POP3
                                 : 0;
}

/* The host's index in p (added when new; SIZE_MAX when full or empty). */
static size_t host_of(struct mw_probe *p, const char *name,
                      const char *source)
{
  char clean[256];
  snprintf(clean, sizeof(clean), "%s", name);
  size_t n = strlen(clean);
  if(n > 1 && clean[n - 1] == '.')
    clean[n - 1] = '\0';
  if(!clean[0] || !strcmp(clean, "."))
    return SIZE_MAX;
  for(size_t i = 0; i < p->host_count; i++)
    if(mw__strieq(p->hosts[i].name, clean))
      return i;
  if(p->host_count == PROBE_HOST_SLOTS)
    return SIZE_MAX;
  struct probe_host *h = &p->hosts[p->host_count];
  memset(h, 0, sizeof(*h));
  snprintf(h->name, sizeof(h->name), "%s", clean);
  snprintf(h->source, sizeof(h->source), "%s", source);
  return p->host_count++;
}

static void add_cand(struct probe_in_cand *out, size_t max, size_t *n,
                     size_t host, unsigned port, mw_protocol proto,
                     bool guessed)
{
  if(host == SIZE_MAX || !port)
    return;
  for(size_t i = 0; i < *n; i++)
    if(out[i].host == host && out[i].port == port &&
       out[i].protocol == proto)
      return;
  if(*n == max)
    return;
  out[(*n)++] = (struct probe_in_cand){
      .host = host, .port = port, .protocol = proto, .guessed = guessed};
}

static void add_ports(struct mw_probe *p, const char *name,
                      const char *source, bool guessed, mw_protocol proto,
                      const unsigned *ports, size_t nports,
                      struct probe_in_cand *out, size_t max, size_t *n)
{
  size_t h = host_of(p, name, source);
  for(size_t k = 0; k < nports; k++)
    add_cand(out, max, n, h, ports[k], proto, guessed);
}

size_t mw__probe_in_plan(struct mw_probe *p, const char *target,
                         unsigned protocols,
                         const unsigned *imap_ports, size_t n_imap,
                         const unsigned *pop3_ports, size_t n_pop3,
                         const struct probe_in_dns *dns,
                         struct probe_in_cand *out, size_t max)
{
  size_t n = 0;
  const char *at = strrchr(target, '@');
  const char *domain = at ? at + 1 : target;
  char bare[64];
  size_t dlen = strlen(domain);
  if(domain[0] == '[' && dlen >= 2 && domain[dlen - 1] == ']' &&
     dlen - 2 < sizeof(bare)) {
    memcpy(bare, domain + 1, dlen - 2);
    bare[dlen - 2] = '\0';
    if(mw__is_ip_literal(bare))
      domain = bare;
  }
  bool literal = mw__is_ip_literal(domain);
  const mw_protocol order[2] = {MW_PROTOCOL_IMAP, MW_PROTOCOL_POP3};
  /* 1. the SRV targets, on their SRV port */
  for(size_t s = 0; dns && !literal && s < PROBE_IN_SRV; s++) {
    const struct probe_in_service *sv = &mw__probe_in_services[s];
    if(!(protocols & proto_bit(sv->protocol)))
      continue;
    for(size_t k = 0; k < dns->count[s] && k < PROBE_IN_SRV_MAX; k++)
      add_ports(p, dns->srv[s][k].target, sv->label, false, sv->protocol,
                &dns->srv[s][k].port, 1, out, max, &n);
  }
  /* 2. the given host, or the mailbox's domain */
  for(size_t k = 0; k < 2; k++) {
    mw_protocol proto = order[k];
    if(!(protocols & proto_bit(proto)))
      continue;
    bool imap = proto == MW_PROTOCOL_IMAP;
    add_ports(p, domain, at && !literal ? "domain" : "given", false, proto,
              imap ? imap_ports : pop3_ports, imap ? n_imap : n_pop3, out,
              max, &n);
  }
  if(literal)
    return n;
  /* 3. the usual names, unless DNS said the protocol is not offered */
  for(size_t k = 0; k < 2; k++) {
    mw_protocol proto = order[k];
    if(!(protocols & proto_bit(proto)))
      continue;
    bool declined = true, any = false;
    for(size_t s = 0; dns && s < PROBE_IN_SRV; s++) {
      if(mw__probe_in_services[s].protocol != proto || !dns->asked[s])
        continue;
      any = true;
      declined = declined && dns->declined[s];
    }
    if(any && declined)
      continue;
    bool imap = proto == MW_PROTOCOL_IMAP;
    const char *prefixes[2] = {imap ? "imap." : "pop.", "mail."};
    for(size_t j = 0; j < 2; j++) {
      char name[300];
      snprintf(name, sizeof(name), "%s%s", prefixes[j], domain);
      if(strlen(name) > 255 || mw__strieq(name, domain))
        continue;
      add_ports(p, name, "usual name", true, proto,
                imap ? imap_ports : pop3_ports, imap ? n_imap : n_pop3, out,
                max, &n);
    }
  }
  return n;
}

/* ---- one dialogue -------------------------------------------------------- */

/* What one session showed. */
struct seen {
  mw_status st;
  const struct mw_error *err;
  const struct mw__tls_info *tls;
  bool greeted;   /* a greeting was accepted */
  bool heard;     /* any byte came */
  bool preauth;
  bool upgrade;   /* STARTTLS or STLS offered */
  bool can_login; /* a way to log in is offered */
  char caps[512];
  char auth[256];
  char facts[300]; /* for the row's detail */
};

static void put(char *buf, size_t len, const char *s)
{
  size_t n = strlen(buf);
  if(n + 1 < len && snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s) < 0)
    buf[n] = '\0';
}

static void trim_copy(char *dst, size_t len, const char *src)
{
  while(src && *src == ' ')
    src++;
  snprintf(dst, len, "%s", src ? src : "");
  size_t n = strlen(dst);
  while(n && dst[n - 1] == ' ')
    dst[--n] = '\0';
}

static void imap_facts(const struct mw_imap *m, struct seen *s)
{
  s->greeted = m->greeting != NULL || m->state == IMAP_AUTH ||
               m->state == IMAP_NOT_AUTH;
  s->heard = mw__engine_bytes_in(&m->eng) > 0 || s->greeted;
  s->preauth = m->auth_mech && !strcmp(m->auth_mech, "PREAUTH");
  if(!m->caps_known)
    return;
  trim_copy(s->caps, sizeof(s->caps), m->caps.tokens);
  trim_copy(s->auth, sizeof(s->auth), m->caps.mechs);
  s->upgrade = mw__imap_has(m, "STARTTLS");
  bool rev2 = mw__imap_has(m, "IMAP4REV2"), rev1 = mw__imap_has(m, "IMAP4REV1");
  put(s->facts, sizeof(s->facts),
      rev1 && rev2 ? "IMAP4rev1 and IMAP4rev2"
      : rev2       ? "IMAP4rev2"
      : rev1       ? "IMAP4rev1"
                   : "neither IMAP4rev1 nor IMAP4rev2 announced");
  if(mw__imap_has(m, "IDLE"))
    put(s->facts, sizeof(s->facts), "IDLE");
  if(s->auth[0]) {
    char a[300];
    snprintf(a, sizeof(a), "AUTH %.280s", s->auth);
    put(s->facts, sizeof(s->facts), a);
  }
  bool disabled = mw__imap_has(m, "LOGINDISABLED");
  if(disabled)
    put(s->facts, sizeof(s->facts), "LOGINDISABLED (no login here)");
  s->can_login = !disabled || s->auth[0];
}

static void pop3_facts(const struct mw_pop3 *p, struct seen *s)
{
  s->greeted = p->greeting != NULL;
  s->heard = mw__engine_bytes_in(&p->eng) > 0 || s->greeted;
  if(!p->capa_ok) {
    if(s->greeted) {
      put(s->facts, sizeof(s->facts), "no CAPA (RFC 1939 only)");
      s->can_login = true; /* USER/PASS is RFC 1939's */
    }
    return;
  }
  char caps[512];
  trim_copy(s->caps, sizeof(s->caps),
            mw__pop3_capa_summary(p, caps, sizeof(caps)));
  const struct mw__capa_entry *sasl = mw__capa_find(&p->capa, "SASL");
  trim_copy(s->auth, sizeof(s->auth), sasl ? sasl->params : "");
  s->upgrade = mw__capa_has(&p->capa, "STLS");
  bool user = mw__capa_has(&p->capa, "USER");
  static const char *const shown[] = {"USER", "UIDL", "PIPELINING", "TOP"};
  for(size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
    if(mw__capa_has(&p->capa, shown[i]))
      put(s->facts, sizeof(s->facts), shown[i]);
  if(s->auth[0]) {
    char a[300];
    snprintf(a, sizeof(a), "SASL %.280s", s->auth);
    put(s->facts, sizeof(s->facts), a);
  }
  if(!user && !sasl)
    put(s->facts, sizeof(s->facts), "neither USER nor SASL (no login here)");
  s->can_login = user || (sasl && s->auth[0]);
}

/* The session's options for this host, port and mode: never a
 * credential.  The sessions verify the certificate and report the
 * verdict without enforcing it (tls_report_only); the row's verdict is
 * read from the handshake's facts with the caller's policy. */
static void dialogue_options(const struct probe_ctx *ctx,
                             const struct probe_host *h, unsigned port,
                             mw_tls_mode mode, struct mw_options *o)
{
  *o = *ctx->opt;
  o->host = (char *)h->name;
  o->port = port;
  o->tls_mode = mode;
  o->connect_timeout_ms = ctx->timeout_ms;
  o->greeting_timeout_ms = ctx->timeout_ms;
  o->command_timeout_ms = ctx->timeout_ms;
  o->user = NULL;
  o->password = NULL;
  o->oauth2_token = NULL;
  o->mailbox = NULL;
}

/* Runs one session; the result is read from it before it is freed, so
 * the callback gets the session's facts while they live. */
typedef void (*seen_fn)(struct probe_ctx *ctx, const struct seen *s,
                        void *user);

static void dialogue(struct probe_ctx *ctx, const struct probe_in_cand *c,
                     mw_tls_mode mode, seen_fn fn, void *user)
{
  const struct probe_host *h = &ctx->probe->hosts[c->host];
  struct mw_options o;
  dialogue_options(ctx, h, c->port, mode, &o);
  struct seen s;
  memset(&s, 0, sizeof(s));
  mw__trace_emit(&ctx->trace, MW_TRACE_NET, "probe %s %s:%u %s",
                 mw_protocol_name(c->protocol), h->name, c->port,
                 mw_tls_mode_name(mode));
  if(c->protocol == MW_PROTOCOL_IMAP) {
    mw_imap *m = mw_imap_new(&o);
    if(m)
      m->tls_report_only = true;
    if(!m) {
      struct mw_error oom = {.status = MW_E_NOMEM};
      s.st = MW_E_NOMEM;
      s.err = &oom;
      fn(ctx, &s, user);
      return;
    }
    s.st = mw_imap_connect(m);
    s.err = &m->err;
    s.tls = m->tls_info.handshake_done ? &m->tls_info : NULL;
    imap_facts(m, &s);
    fn(ctx, &s, user);
    (void)mw_imap_logout(m);
    mw_imap_free(m);
    return;
  }
  mw_pop3 *p = mw_pop3_new(&o);
  if(p)
    p->tls_report_only = true;
  if(!p) {
    struct mw_error oom = {.status = MW_E_NOMEM};
    s.st = MW_E_NOMEM;
    s.err = &oom;
    fn(ctx, &s, user);
    return;
  }
  s.st = mw_pop3_connect(p);
  s.err = &p->err;
  s.tls = p->tls_info.handshake_done ? &p->tls_info : NULL;
  pop3_facts(p, &s);
  fn(ctx, &s, user);
  (void)mw_pop3_quit(p);
  mw_pop3_free(p);
}

/* ---- the rows ------------------------------------------------------------ */

struct cand_rows {
  const struct probe_in_cand *c;
  struct probe_row *implicit, *plain, *starttls;
  struct probe_row *r; /* the row being filled */
  bool tls_up;         /* the implicit handshake completed */
  bool upgrade;        /* the plaintext dialogue offered STARTTLS / STLS */
  bool plain_works;
  bool preauth;
  int64_t start;
};

static const char *proto_upper(mw_protocol p)
{
  return p == MW_PROTOCOL_IMAP ? "IMAP" : "POP3";
}

static const char *starttls_word(mw_protocol p)
{
  return p == MW_PROTOCOL_IMAP ? "STARTTLS" : "STLS";
}

static void port_advice(mw_protocol p, char *buf, size_t len)
{
  if(p == MW_PROTOCOL_IMAP)
    snprintf(buf, len, "use an IMAP port (993 with {tls=implicit}, 143 with "
                       "{tls=starttls})");
  else
    snprintf(buf, len, "use a POP3 port (995 with {tls=implicit}, 110 with "
                       "{tls=starttls})");
}

/* A failed session's outcome and detail for row r. */
static void failure(struct cand_rows *k, struct probe_ctx *ctx,
                    const struct seen *s, mw_tls_mode mode)
{
  struct probe_row *r = k->r;
  const struct mw_error *e = s->err;
  mw_protocol proto = k->c->protocol;
  double secs = ctx->timeout_ms / 1000.0;
  char advice[160];
  switch(s->st) {
  case MW_E_TLS:
  case MW_E_CERT:
    if(mode == MW_TLS_IMPLICIT && e->tls_failure == MW__TLS_FAIL_PLAINTEXT) {
      mw__probe_row_set(r, "mismatch",
                        "the port answered in plaintext: it speaks plain %s "
                        "or %s, not implicit TLS",
                        proto_upper(proto), starttls_word(proto));
      return;
    }
    mw__probe_row_set(r, "tls_failed", "%s", e->message);
    return;
  case MW_E_PROTOCOL:
    if(e->foreign_protocol) {
      port_advice(proto, advice, sizeof(advice));
      mw__probe_row_set(r, "wrong_protocol",
                        "the port speaks %s%s, not %s: %s",
                        e->foreign_protocol, s->tls ? " over TLS" : "",
                        proto_upper(proto), advice);
      return;
    }
    if(e->protocol_failure == MW__PROTO_FAIL_TLS_BYTES) {
      mw__probe_row_set(r, "mismatch",
                        "the port answered with TLS bytes: it speaks "
                        "implicit TLS, not plaintext");
      return;
    }
    mw__probe_row_set(r, "protocol", "%s", e->message);
    return;
  case MW_E_REJECTED:
    mw__probe_row_set(r, "rejected", "%s", e->message);
    return;
  case MW_E_NO_STARTTLS:
    mw__probe_row_set(r, "no_starttls", "%s", e->message);
    return;
  case MW_E_INJECTION:
    mw__probe_row_set(r, "protocol", "%s", e->message);
    return;
  case MW_E_INSECURE:
    if(s->preauth || k->preauth) {
      mw__probe_row_set(r, "preauth",
                        "the server greets with PREAUTH (logged in without "
                        "credentials) in plaintext: STARTTLS is impossible "
                        "after it, so this port cannot be used securely; "
                        "use implicit TLS (993)");
      return;
    }
    mw__probe_row_set(r, "protocol", "%s", e->message);
    return;
  case MW_E_TIMEOUT:
    if(!s->heard && !s->tls) {
      r->silent = true;
      if(mode == MW_TLS_IMPLICIT)
        mw__probe_row_set(r, "silent",
                          "connected, but no answer to the TLS handshake "
                          "within %.1f s",
                          secs);
      else
        mw__probe_row_set(r, "silent",
                          "connected, but no greeting within %.1f s%s", secs,
                          k->tls_up ? ": the port speaks implicit TLS" : "");
      return;
    }
    if(!s->greeted && s->tls && mode == MW_TLS_IMPLICIT) {
      r->silent = true;
      mw__probe_row_set(r, "silent",
                        "TLS works, but no greeting came within %.1f s",
                        secs);
      return;
    }
    mw__probe_row_set(r, "timeout", "%s", e->message);
    return;
  case MW_E_CLOSED:
    if(!s->heard)
      mw__probe_row_set(r, "closed",
                        "accepted the connection, then closed it without a "
                        "greeting (%s)",
                        e->message);
    else
      mw__probe_row_set(r, "closed", "%s", e->message);
    return;
  case MW_E_CONNECT:
    mw__probe_row_set(r, e->connect_refused ? "refused" : "unreachable",
                      "%s", e->message);
    return;
  case MW_E_PROXY:
    mw__probe_row_set(r, "proxy", "%s", e->message);
    return;
  case MW_E_DNS:
    mw__probe_row_set(r, "dns", "%s", e->message);
    return;
  default:
    mw__probe_row_set(r, "protocol", "%s", e->message);
    return;
  }
}

static void fill_common(struct cand_rows *k, struct probe_ctx *ctx,
                        const struct seen *s)
{
  struct probe_row *r = k->r;
  if(s->tls) {
    snprintf(r->tls_version, sizeof(r->tls_version), "%s", s->tls->version);
    r->cert = mw__tls_verdict(&ctx->policy, s->tls);
  }
  snprintf(r->caps, sizeof(r->caps), "%s", s->caps);
  snprintf(r->auth, sizeof(r->auth), "%s", s->auth);
  r->ms = (double)(mw__now_ms() - k->start);
}

static void on_implicit(struct probe_ctx *ctx, const struct seen *s,
                        void *user)
{
  struct cand_rows *k = user;
  k->r = k->implicit;
  fill_common(k, ctx, s);
  k->tls_up = s->tls != NULL;
  if(s->st) {
    failure(k, ctx, s, MW_TLS_IMPLICIT);
    return;
  }
  k->r->no_login = !s->can_login;
  mw__probe_row_set(k->r, "works", "implicit TLS, %s; %s%s",
                    s->tls ? s->tls->version : "?", s->facts,
                    s->can_login ? "" : "; no way to log in is offered");
}

static void on_plain(struct probe_ctx *ctx, const struct seen *s, void *user)
{
  struct cand_rows *k = user;
  k->r = k->plain;
  fill_common(k, ctx, s);
  if(s->st) {
    failure(k, ctx, s, MW_TLS_NONE);
    return;
  }
  k->plain_works = true;
  k->upgrade = s->upgrade;
  k->preauth = s->preauth;
  mw__probe_row_set(k->r, "works",
                    "plaintext %s (never recommended); %s%s%s",
                    proto_upper(k->c->protocol), s->facts,
                    s->preauth ? "; PREAUTH: logged in without credentials"
                               : "",
                    s->upgrade ? "" : "; no STARTTLS offered");
}

static void on_starttls(struct probe_ctx *ctx, const struct seen *s,
                        void *user)
{
  struct cand_rows *k = user;
  k->r = k->starttls;
  fill_common(k, ctx, s);
  if(s->st) {
    failure(k, ctx, s, MW_TLS_STARTTLS);
    return;
  }
  k->r->no_login = !s->can_login;
  mw__probe_row_set(k->r, "works", "%s, then %s; %s%s",
                    starttls_word(k->c->protocol),
                    s->tls ? s->tls->version : "?", s->facts,
                    s->can_login ? "" : "; no way to log in is offered");
}

static void init_row(struct probe_row *r, const struct probe_host *h,
                     const struct probe_in_cand *c, const char *mode,
                     const char *peer)
{
  memset(r, 0, sizeof(*r));
  snprintf(r->host, sizeof(r->host), "%s", h->name);
  r->port = c->port;
  r->mode = mode;
  r->cert = "";
  r->protocol = c->protocol == MW_PROTOCOL_IMAP ? "imap" : "pop3";
  snprintf(r->address, sizeof(r->address), "%s", peer ? peer : "");
}

void mw__probe_in_candidate(struct probe_ctx *ctx,
                            const struct probe_in_cand *c, size_t row,
                            const char *reach_outcome,
                            const char *reach_detail, const char *peer)
{
  struct mw_probe *p = ctx->probe;
  const struct probe_host *h = &p->hosts[c->host];
  struct cand_rows k = {.c = c,
                        .implicit = &p->rows[row],
                        .plain = &p->rows[row + 1],
                        .starttls = &p->rows[row + 2],
                        .start = ctx->start};
  init_row(k.implicit, h, c, "implicit", peer);
  init_row(k.plain, h, c, "plain", peer);
  init_row(k.starttls, h, c, "starttls", peer);
  if(reach_outcome) {
    double ms = (double)(mw__now_ms() - ctx->start);
    struct probe_row *rows[3] = {k.implicit, k.plain, k.starttls};
    for(size_t i = 0; i < 3; i++) {
      mw__probe_row_set(rows[i], reach_outcome, "%s", reach_detail);
      rows[i]->ms = ms;
    }
    return;
  }
  dialogue(ctx, c, MW_TLS_IMPLICIT, on_implicit, &k);
  if(k.tls_up) {
    /* the port speaks implicit TLS: a plaintext client would wait for a
     * greeting that never comes */
    bool other = k.implicit->outcome &&
                 !strcmp(k.implicit->outcome, "wrong_protocol");
    const char *o = other ? "wrong_protocol" : "mismatch";
    const char *d = other ? k.implicit->detail
                          : "not tried in plaintext: implicit TLS works on "
                            "this port (a plaintext client waits for a "
                            "greeting that never comes)";
    mw__probe_row_set(k.plain, o, "%s", d);
    mw__probe_row_set(k.starttls, o, "%s", d);
    k.plain->ms = k.starttls->ms = k.implicit->ms;
    return;
  }
  if(k.implicit->silent) {
    /* Nothing came at all, not even a plaintext greeting in answer to the
     * ClientHello: an IMAP or POP3 server speaks first, as soon as it
     * accepts, so a plaintext attempt would wait just as long. */
    const char *d = "connected, but not a byte came, in TLS or in "
                    "plaintext (an IMAP or POP3 server greets first, as "
                    "soon as it accepts): the server is hung or waits for "
                    "something else (a PROXY header?)";
    mw__probe_row_set(k.plain, "silent", "%s", d);
    mw__probe_row_set(k.starttls, "silent", "%s", d);
    k.plain->silent = k.starttls->silent = true;
    k.plain->ms = k.starttls->ms = k.implicit->ms;
    return;
  }
  dialogue(ctx, c, MW_TLS_NONE, on_plain, &k);
  if(!k.plain_works) {
    mw__probe_row_set(k.starttls, k.plain->outcome ? k.plain->outcome
                                                   : "protocol",
                      "%s", k.plain->detail);
    k.starttls->silent = k.plain->silent;
    k.starttls->ms = k.plain->ms;
    return;
  }
  if(!k.upgrade) {
    mw__probe_row_set(k.starttls, "no_starttls",
                      "the server does not offer %s on this port",
                      starttls_word(c->protocol));
    k.starttls->ms = k.plain->ms;
    return;
  }
  dialogue(ctx, c, MW_TLS_STARTTLS, on_starttls, &k);
}

/* ---- ranking ------------------------------------------------------------- */

static int in_score(const struct probe_row *r)
{
  int score = 0;
  if(!mw__tls_verdict_ok(r->cert ? r->cert : ""))
    score += 1000; /* the certificate is not accepted: last */
  if(strcmp(r->mode, "implicit") != 0)
    score += 100; /* RFC 8314: implicit TLS first */
  /* no way to log in offered (LOGINDISABLED without AUTH=, POP3 without
   * USER or SASL): an odd port, less likely the one wanted */
  if(r->no_login)
    score += 10;
  return score;
}

void mw__probe_in_rank(struct mw_probe *p)
{
  static const char *const protos[] = {"imap", "pop3"};
  for(size_t k = 0; k < 2; k++) {
    unsigned next = 1;
    for(;;) {
      size_t best = SIZE_MAX;
      for(size_t i = 0; i < p->row_count; i++) {
        const struct probe_row *r = &p->rows[i];
        if(r->rank || !r->protocol || strcmp(r->protocol, protos[k]) ||
           !r->outcome || strcmp(r->outcome, "works") ||
           !strcmp(r->mode, "plain"))
          continue;
        if(best == SIZE_MAX || in_score(r) < in_score(&p->rows[best]))
          best = i;
      }
      if(best == SIZE_MAX)
        break;
      p->rows[best].rank = next++;
    }
  }
}
