/*
 * diag/doctor_incoming_run.c - doctor's POP3 or IMAP session: runs the
 * ordinary client (proto/pop3.c, proto/imap.c) and gathers what it showed
 * into struct mw__incoming_facts for the verdict (diag/doctor_incoming.c).
 *
 * DESCRIPTION
 *   The session connects as `fetch` would (the options' TLS mode, TLS
 *   policy and credentials), then, logged in, opens the mailbox read-only
 *   (IMAP EXAMINE of the options' mailbox, INBOX by default) or counts it
 *   (POP3 STAT), and ends with LOGOUT / QUIT (nothing is changed on the
 *   server).  When the port does not greet in the mode asked, a second,
 *   short attempt in the other mode (implicit TLS after silence, plaintext
 *   after a failed handshake; certificates not verified, no credentials)
 *   tells what it speaks.
 *
 *   The step that failed is read from the session: whether a greeting was
 *   accepted, the handshake's facts, the capabilities known, the status.
 *   Each step's duration comes from the times of the session's trace
 *   events (the first line from the server, the last TLS event), through
 *   a trace callback that also forwards every event to the caller's.
 */
#include "diag/doctor_incoming.h"

#include "proto/imap.h"
#include "proto/pop3.h"
#include "tls/tls.h"

#include <stdio.h>
#include <string.h>

/* ---- step timing from the trace --------------------------------------- */

struct timing {
  mw_trace_fn fn; /* the caller's, or NULL */
  void *user;
  double first_in; /* the first line from the server, -1 before */
  double tls_end;  /* the last TLS event, -1 before */
};

static void on_trace(void *user, mw_trace_kind kind, double ms,
                     const char *text)
{
  struct timing *t = user;
  if(kind == MW_TRACE_IN && t->first_in < 0)
    t->first_in = ms;
  if(kind == MW_TRACE_TLS)
    t->tls_end = ms;
  if(t->fn)
    t->fn(t->user, kind, ms, text);
}

static void split_times(struct mw__incoming_facts *f, const struct timing *t,
                        double total)
{
  double in = t->first_in >= 0 ? t->first_in : total;
  double tls = t->tls_end >= 0 ? t->tls_end : 0;
  if(f->mode == MW_TLS_IMPLICIT) {
    f->ms[MW__IN_TLS_IMPLICIT] = t->tls_end >= 0 ? tls : total;
    f->ms[MW__IN_GREETING] = in > tls ? in - tls : 0;
  }
  else {
    f->ms[MW__IN_GREETING] = in;
    f->ms[MW__IN_STARTTLS] = tls > in ? tls - in : 0;
  }
  double before = in > tls ? in : tls;
  double rest = total > before ? total - before : 0;
  /* the failed step, or the login, gets what remains */
  if(f->step == MW__IN_CAPABILITY || f->step == MW__IN_LOGIN)
    f->ms[f->step] = rest;
  else if(f->step >= MW__IN_LOGIN)
    f->ms[MW__IN_LOGIN] = rest;
  else if(f->step == MW__IN_STARTTLS && t->tls_end < 0)
    f->ms[MW__IN_STARTTLS] = rest;
}

/* ---- capability lists ------------------------------------------------- */

/* Whether the space-separated list holds word (case-insensitive). */
static bool has_token(const char *list, const char *word)
{
  size_t wl = strlen(word);
  const char *p = list ? list : "";
  while(*p) {
    while(*p == ' ')
      p++;
    size_t n = strcspn(p, " ");
    if(n == wl && mw__strnieq(p, word, n))
      return true;
    p += n;
  }
  return false;
}

static bool oauth_in(const char *mechs)
{
  return has_token(mechs, "XOAUTH2") || has_token(mechs, "OAUTHBEARER");
}

/* ---- a second, short attempt in another mode -------------------------- */

static mw_options *other_options(const struct mw_options *o,
                                 mw_tls_mode mode)
{
  mw_options *p = mw_options_new();
  if(!p)
    return NULL;
  mw_options_set_protocol(p, o->protocol);
  mw_options_set_server(p, o->host, mw__options_port(o));
  mw_options_set_family(p, o->family);
  if(o->bind)
    mw_options_set_bind(p, o->bind);
  mw_options_set_tls_mode(p, mode);
  mw_options_set_tls_insecure(p, true);
  mw_options_set_connect_timeout(p, o->connect_timeout_ms);
  /* at most 5 s, at least 1 s: within the greeting timeout asked, and a
   * slow handshake must not pass for silence */
  unsigned g = o->greeting_timeout_ms ? o->greeting_timeout_ms : 5000;
  g = g > 5000 ? 5000 : g < 1000 ? 1000 : g;
  mw_options_set_greeting_timeout(p, g);
  mw_options_set_command_timeout(p, g);
  return p;
}

static void try_other(const struct mw_options *o, mw_tls_mode mode,
                      struct mw__in_other *a)
{
  mw_options *p = other_options(o, mode);
  if(!p)
    return;
  a->tried = true;
  a->mode = mode;
  int64_t t0 = mw__now_ms();
  const struct mw_error *e = NULL;
  const struct mw__tls_info *ti = NULL;
  const char *greeting = NULL;
  if(o->protocol == MW_PROTOCOL_POP3) {
    mw_pop3 *s = mw_pop3_new(p);
    if(s) {
      mw_status st = mw_pop3_connect(s);
      e = &s->err;
      ti = &s->tls_info;
      greeting = s->greeting;
      a->starttls_offered = mw__capa_has(&s->capa, "STLS") ||
                            (!st && mw_pop3_is_encrypted(s));
      a->greeted = greeting != NULL;
      a->tls_answered = ti->handshake_done;
      snprintf(a->tls_version, sizeof(a->tls_version), "%s", ti->version);
      a->foreign = e->foreign_protocol;
      snprintf(a->message, sizeof(a->message), "%s",
               st ? mw_error_message(e) : "");
      if(!st)
        mw_pop3_quit(s);
      mw_pop3_free(s);
    }
  }
  else {
    mw_imap *s = mw_imap_new(p);
    if(s) {
      mw_status st = mw_imap_connect(s);
      e = &s->err;
      ti = &s->tls_info;
      greeting = s->greeting;
      a->starttls_offered = mw_imap_has_capability(s, "STARTTLS") ||
                            (!st && mw_imap_is_encrypted(s));
      a->greeted = greeting != NULL && !s->in_greeting;
      a->tls_answered = ti->handshake_done;
      snprintf(a->tls_version, sizeof(a->tls_version), "%s", ti->version);
      a->foreign = e->foreign_protocol;
      snprintf(a->message, sizeof(a->message), "%s",
               st ? mw_error_message(e) : "");
      if(!st)
        mw_imap_logout(s);
      mw_imap_free(s);
    }
  }
  a->ms = mw__doctor_since(t0);
  mw_options_free(p);
}

/* ---- the step that failed --------------------------------------------- */

static bool starttls_status(mw_status st)
{
  return st == MW_E_NO_STARTTLS || st == MW_E_TLS || st == MW_E_CERT ||
         st == MW_E_INJECTION;
}

static bool login_status(mw_status st)
{
  return st == MW_E_AUTH || st == MW_E_AUTH_UNAVAILABLE ||
         st == MW_E_INSECURE || st == MW_E_AUTH_SERVER_UNVERIFIED ||
         st == MW_E_REJECTED;
}

/* greeted: a greeting was accepted; caps: the capabilities were read. */
static enum mw__in_step failed_step(const struct mw__incoming_facts *f,
                                    bool greeted, bool caps)
{
  mw_status st = f->status;
  if(!greeted) {
    if(f->mode == MW_TLS_IMPLICIT &&
       (st == MW_E_CERT || !f->tls || !f->tls->handshake_done))
      return MW__IN_TLS_IMPLICIT;
    return MW__IN_GREETING;
  }
  if(f->preauth && st == MW_E_INSECURE)
    return MW__IN_GREETING;
  if(starttls_status(st))
    return MW__IN_STARTTLS;
  if(login_status(st))
    return MW__IN_LOGIN;
  if(!caps)
    return MW__IN_CAPABILITY;
  if((f->mode == MW_TLS_STARTTLS || f->mode == MW_TLS_AUTO) &&
     !(f->tls && f->tls->handshake_done))
    return MW__IN_STARTTLS;
  return MW__IN_LOGIN;
}

/* ---- POP3 -------------------------------------------------------------- */

static void pop3_caps(const mw_pop3 *s, struct mw__sbuf *caps,
                      struct mw__sbuf *mechs)
{
  for(size_t i = 0; i < s->capa.count; i++) {
    const struct mw__capa_entry *c = &s->capa.items[i];
    mw__sbuf_printf(caps, "%s%s%s%s", i ? " " : "", c->keyword,
                    c->params[0] ? " " : "", c->params);
    if(!strcmp(c->keyword, "SASL"))
      mw__sbuf_puts(mechs, c->params);
  }
}

static void run_pop3(struct mw_report *r, const struct mw_options *o,
                     struct mw__incoming_facts *f, struct timing *tm)
{
  mw_pop3 *s = mw_pop3_new(o);
  if(!s) {
    mw__doctor_diagnose(r, "temporary_failure", "out of memory", NULL);
    return;
  }
  int64_t t0 = mw__now_ms();
  f->status = mw_pop3_connect(s);
  double total = mw__doctor_since(t0);
  snprintf(r->peer, sizeof(r->peer), "%s", s->peer);
  struct mw__sbuf caps, mechs;
  mw__sbuf_init(&caps);
  mw__sbuf_init(&mechs);
  pop3_caps(s, &caps, &mechs);
  f->err = &s->err;
  f->greeting = s->greeting;
  f->tls = &s->tls_info;
  f->encrypted = s->tls_info.handshake_done;
  f->caps = caps.data ? caps.data : "";
  f->mechanisms = mechs.data ? mechs.data : "";
  f->starttls_offered = mw__capa_has(&s->capa, "STLS");
  f->oauth_offered = oauth_in(f->mechanisms);
  /* RFC 2595 4: a server that takes no password in the clear lists
   * neither USER nor SASL before STLS */
  f->login_disabled = s->capa_ok && !f->encrypted &&
                      !mw__capa_has(&s->capa, "USER") &&
                      !mw__capa_has(&s->capa, "SASL");
  f->auth_mech = s->auth_mech;
  f->step = f->status ? failed_step(f, s->greeting != NULL, s->capa_ok)
                      : MW__IN_DONE;
  if(!f->status && f->auth_mech) {
    size_t count = 0;
    uint64_t octets = 0;
    int64_t t1 = mw__now_ms();
    mw_status st = mw_pop3_stat(s, &count, &octets);
    f->ms[MW__IN_MAILBOX] = mw__doctor_since(t1);
    if(st) {
      f->status = st;
      f->step = MW__IN_MAILBOX;
      f->err = &s->err;
    }
    f->messages = count;
    f->octets = octets;
  }
  split_times(f, tm, total);
  if((f->step == MW__IN_GREETING || f->step == MW__IN_TLS_IMPLICIT) &&
     f->status != MW_E_PROXY) {
    bool silent = f->status == MW_E_TIMEOUT || f->status == MW_E_CLOSED;
    if(f->step == MW__IN_TLS_IMPLICIT && f->status != MW_E_CERT &&
       !(f->status == MW_E_TLS &&
         s->err.tls_failure == MW__TLS_FAIL_VERSION))
      try_other(o, MW_TLS_STARTTLS_OPTIONAL, &f->other);
    else if(f->step == MW__IN_GREETING && silent && !s->greeting &&
            !s->err.foreign_protocol && f->mode != MW_TLS_IMPLICIT)
      try_other(o, MW_TLS_IMPLICIT, &f->other);
  }
  mw__doctor_incoming_verdict(r, f, o);
  if(!f->status)
    mw_pop3_quit(s);
  mw__sbuf_free(&caps);
  mw__sbuf_free(&mechs);
  mw_pop3_free(s);
}

/* ---- IMAP -------------------------------------------------------------- */

static void run_imap(struct mw_report *r, const struct mw_options *o,
                     struct mw__incoming_facts *f, struct timing *tm)
{
  mw_imap *s = mw_imap_new(o);
  if(!s) {
    mw__doctor_diagnose(r, "temporary_failure", "out of memory", NULL);
    return;
  }
  int64_t t0 = mw__now_ms();
  f->status = mw_imap_connect(s);
  double total = mw__doctor_since(t0);
  snprintf(r->peer, sizeof(r->peer), "%s", s->peer);
  /* " IMAP4REV1 IDLE " without the outer blanks */
  char *caps = mw__strdup(s->caps.tokens ? s->caps.tokens : "");
  if(caps) {
    size_t n = strlen(caps);
    while(n && caps[n - 1] == ' ')
      caps[--n] = '\0';
  }
  const char *shown = caps ? caps : "";
  while(*shown == ' ')
    shown++;
  bool greeted = s->greeting != NULL && !s->in_greeting;
  f->err = &s->err;
  f->greeting = greeted || (s->auth_mech && !strcmp(s->auth_mech, "PREAUTH"))
                    ? s->greeting
                    : NULL;
  f->preauth = s->auth_mech && !strcmp(s->auth_mech, "PREAUTH");
  f->tls = &s->tls_info;
  f->encrypted = s->tls_info.handshake_done;
  f->caps = shown;
  f->mechanisms = s->caps.mechs ? s->caps.mechs : "";
  f->starttls_offered = mw_imap_has_capability(s, "STARTTLS");
  f->login_disabled = mw_imap_has_capability(s, "LOGINDISABLED");
  f->oauth_offered = oauth_in(f->mechanisms);
  f->auth_mech = s->auth_mech;
  f->alert = mw_imap_alert(s);
  f->step = f->status ? failed_step(f, greeted, s->caps_known) : MW__IN_DONE;
  if(!f->status && f->auth_mech) {
    const char *box = o->mailbox ? o->mailbox : "INBOX";
    mw_imap_status st = {0};
    int64_t t1 = mw__now_ms();
    mw_status rc = mw_imap_select(s, box, true, &st);
    f->ms[MW__IN_MAILBOX] = mw__doctor_since(t1);
    f->mailbox = box;
    if(rc) {
      f->status = rc;
      f->step = MW__IN_MAILBOX;
      f->err = &s->err;
    }
    f->messages = st.messages;
    f->uidvalidity = st.uidvalidity;
  }
  split_times(f, tm, total);
  if((f->step == MW__IN_GREETING || f->step == MW__IN_TLS_IMPLICIT) &&
     f->status != MW_E_PROXY) {
    bool silent = f->status == MW_E_TIMEOUT || f->status == MW_E_CLOSED;
    if(f->step == MW__IN_TLS_IMPLICIT && f->status != MW_E_CERT &&
       !(f->status == MW_E_TLS &&
         s->err.tls_failure == MW__TLS_FAIL_VERSION))
      try_other(o, MW_TLS_STARTTLS_OPTIONAL, &f->other);
    else if(f->step == MW__IN_GREETING && silent && !greeted &&
            !s->err.foreign_protocol && f->mode != MW_TLS_IMPLICIT)
      try_other(o, MW_TLS_IMPLICIT, &f->other);
  }
  mw__doctor_incoming_verdict(r, f, o);
  if(!f->status || f->step == MW__IN_MAILBOX)
    mw_imap_logout(s);
  mw__free(caps);
  mw_imap_free(s);
}

void mw__doctor_incoming(struct mw_report *r, const struct mw_options *o)
{
  struct mw_options local;
  if(!mw__options_copy(&local, o)) {
    mw__doctor_diagnose(r, "temporary_failure", "out of memory", NULL);
    return;
  }
  struct timing tm = {.fn = o->trace_fn, .user = o->trace_user,
                      .first_in = -1, .tls_end = -1};
  local.trace_fn = on_trace;
  local.trace_user = &tm;
  struct mw__incoming_facts f;
  memset(&f, 0, sizeof(f));
  f.protocol = o->protocol;
  f.mode = mw__options_tls_mode(o);
  f.has_credentials = (o->user && o->password) || o->oauth2_token;
  f.has_token = o->oauth2_token != NULL;
  f.alert = "";
  if(o->protocol == MW_PROTOCOL_POP3)
    run_pop3(r, &local, &f, &tm);
  else
    run_imap(r, &local, &f, &tm);
  mw__options_release(&local);
}
