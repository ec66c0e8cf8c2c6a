/*
 * proto/conn.c - a raw line session with a mail server (mw_conn, issue
 * 15): what `mailwire shell` drives, and what any program that wants to
 * speak SMTP, POP3 or IMAP by hand can use without rebuilding the
 * connection set-up of the clients.
 *
 * Owns: a connection opened exactly as the clients open theirs
 * (proto/session.h: the same options, resolver, bind, proxies, PROXY
 * header, TLS policy and certificates; implicit TLS before the first
 * byte), lines sent as given with CRLF, lines and literals read with a
 * deadline through the shared line engine (proto/engine.h, which scrubs
 * the session's secrets from every server line and traces both ways),
 * STARTTLS in place with the injection check, and one SASL exchange over
 * the same driver the clients use (proto/sasl_driver.h), with that
 * protocol's descriptor.
 *
 * Does not own: what a line means.  The caller decides what to send,
 * when a reply is over and when TLS starts; the library enforces only
 * what must never be skipped: the injection check before a handshake, a
 * handshake verified as the options say, credentials never in the clear
 * through mw_conn_authenticate() unless allowed, and secrets out of the
 * trace.
 *
 * DIAGNOSTICS
 *   Every failure leaves its detail in c->err (mw_conn_error()).  A read
 *   that times out leaves the connection usable; any other failure of a
 *   read, a write or a handshake closes it.
 */
#include "proto/conn.h"

#include "core/util.h"
#include "proto/engine.h"
#include "proto/imap.h"
#include "proto/pop3.h"
#include "proto/sasl_driver.h"
#include "proto/session.h"
#include "proto/smtp.h"

#include <stdio.h>
#include <string.h>

/* The longest line accepted: POP3 message data and IMAP responses can be
 * long; this is the POP3 client's data-line cap. */
#define CONN_MAX_LINE 65536
/* Writes and replies wait this long unless --timeout says otherwise. */
#define CONN_COMMAND_MS 60000u

struct mw_conn {
  struct mw_options opt;
  struct mw__trace trace;
  struct mw__scrub scrub;
  struct mw_error err;
  struct mw__engine eng;
  struct mw__tls *tls;
  struct mw__tls_info tls_info;
  bool broken;           /* a failure closed the connection */
  char peer[128];
  struct mw__sbuf line;  /* the last line handed out */
  /* During mw_conn_authenticate(). */
  const char *tag;
  mw_conn_line_fn show;
  void *show_user;
};

mw_conn *mw_conn_new(const mw_options *o)
{
  if(!o)
    return NULL;
  struct mw_conn *c = mw__calloc(1, sizeof(*c));
  if(!c)
    return NULL;
  if(!mw__session_setup(&c->opt, o, o->protocol, &c->trace, &c->scrub)) {
    mw__free(c);
    return NULL;
  }
  mw__engine_init(&c->eng, mw_protocol_name(c->opt.protocol),
                  CONN_MAX_LINE, 0, &c->err, &c->trace, &c->scrub);
  mw__sbuf_init(&c->line);
  c->err.status = MW_OK;
  return c;
}

static void conn_close(struct mw_conn *c)
{
  bool open = mw__engine_is_open(&c->eng);
  if(open && c->tls && !c->broken)
    mw__tls_shutdown(c->tls);
  mw__engine_close(&c->eng);
  if(open)
    mw__trace_emit(&c->trace, MW_TRACE_NET, "connection closed");
  mw__tls_free(c->tls);
  c->tls = NULL;
}

void mw_conn_free(mw_conn *c)
{
  if(!c)
    return;
  conn_close(c);
  mw__engine_free(&c->eng);
  mw__sbuf_free(&c->line);
  mw__scrub_free(&c->scrub);
  mw__error_clear(&c->err);
  mw__options_release(&c->opt);
  mw__free(c);
}

const mw_error *mw_conn_error(const mw_conn *c) { return c ? &c->err : NULL; }

/* A failure that ends the connection. */
static mw_status conn_broken(struct mw_conn *c, mw_status st)
{
  c->broken = true;
  conn_close(c);
  return st;
}

static unsigned conn_cmd_ms(const struct mw_conn *c)
{
  return c->opt.command_timeout_ms ? c->opt.command_timeout_ms
                                   : CONN_COMMAND_MS;
}

static mw_status conn_begin(struct mw_conn *c, mw_tls_mode *mode)
{
  mw__error_clear(&c->err);
  if(mw__engine_is_open(&c->eng) || c->broken)
    return mw__error_set(&c->err, MW_E_STATE,
                         "the connection is already open or has failed");
  *mode = mw__options_tls_mode(&c->opt);
  if(*mode == MW_TLS_DETECT)
    return mw__error_set(&c->err, MW_E_INVALID,
                         "{tls=detect} is for probing; give a TLS mode "
                         "({tls=implicit}, {tls=starttls} or {tls=none})");
  mw__trace_start(&c->trace);
  return MW_OK;
}

/* The connection on a connected stack (ownership taken). */
static mw_status conn_setup(struct mw_conn *c, struct mw__layer *top,
                            mw_tls_mode mode)
{
  mw__engine_attach(&c->eng, top);
  if(mode == MW_TLS_IMPLICIT) {
    mw_status st = mw__session_start_tls(&c->eng, &c->opt, &c->trace, &c->err,
                               c->opt.greeting_timeout_ms
                                   ? c->opt.greeting_timeout_ms
                                   : CONN_COMMAND_MS,
                               &c->tls, &c->tls_info);
    if(st)
      return conn_broken(c, st);
  }
  return MW_OK;
}

mw_status mw_conn_open(mw_conn *c)
{
  if(!c)
    return MW_E_INVALID;
  mw_tls_mode mode;
  mw_status st = conn_begin(c, &mode);
  if(st)
    return st;
  struct mw__layer *top = NULL;
  st = mw__session_open(&c->opt, mw_protocol_name(c->opt.protocol),
                        &c->trace, NULL, NULL, c->peer, sizeof(c->peer),
                        &c->err, &top);
  if(st)
    return conn_broken(c, st);
  return conn_setup(c, top, mode);
}

mw_status mw__conn_open_over(mw_conn *c, struct mw__layer *top)
{
  if(!c || !top)
    return MW_E_INVALID;
  mw_tls_mode mode;
  mw_status st = conn_begin(c, &mode);
  if(st)
    return st;
  snprintf(c->peer, sizeof(c->peer), "%s", "memory");
  return conn_setup(c, top, mode);
}

struct mw_error *mw__conn_err(mw_conn *c) { return &c->err; }

bool mw_conn_is_open(const mw_conn *c)
{
  return c && mw__engine_is_open(&c->eng);
}

mw_protocol mw_conn_protocol(const mw_conn *c)
{
  return c ? c->opt.protocol : MW_PROTOCOL_SMTP;
}

/* ---- writing ------------------------------------------------------------ */

static mw_status conn_flush_step(void *machine, short *want, bool *done)
{
  struct mw_conn *c = machine;
  mw_status st = mw__engine_flush(&c->eng, want);
  *done = !st && !*want;
  return st;
}

static mw_status conn_flush(struct mw_conn *c)
{
  mw__engine_deadline_in(&c->eng, conn_cmd_ms(c), "sending to the server");
  mw_status st = mw__engine_run(&c->eng, conn_flush_step, c);
  return st ? conn_broken(c, st) : MW_OK;
}

static mw_status conn_ready(struct mw_conn *c)
{
  mw__error_clear(&c->err);
  if(!mw__engine_is_open(&c->eng))
    return mw__error_set(&c->err, MW_E_STATE, "the connection is closed");
  return MW_OK;
}

mw_status mw_conn_send_line(mw_conn *c, const char *line, int secret_from)
{
  if(!c || !line)
    return MW_E_INVALID;
  mw_status st = conn_ready(c);
  if(st)
    return st;
  size_t len = strlen(line);
  if(secret_from >= 0 && (size_t)secret_from > len)
    secret_from = -1;
  /* The engine refuses CR and LF inside; NUL cannot be in a C string. */
  st = mw__engine_command(&c->eng, NULL, secret_from, "%s", line);
  if(st)
    return st;
  return conn_flush(c);
}

mw_status mw_conn_send_data(mw_conn *c, const void *data, size_t len)
{
  if(!c || (!data && len))
    return MW_E_INVALID;
  mw_status st = conn_ready(c);
  if(st || !len)
    return st;
  st = mw__engine_queue_raw(&c->eng, data, len);
  if(st)
    return st;
  return conn_flush(c);
}

/* ---- reading ------------------------------------------------------------ */

struct conn_read {
  struct mw_conn *c;
  mw_write_fn fn; /* literal bytes go here; NULL: a line is read */
  void *user;
  bool got;
};

static mw_status conn_read_step(void *machine, short *want, bool *done)
{
  struct conn_read *r = machine;
  struct mw_conn *c = r->c;
  for(;;) {
    struct mw__engine_event ev;
    mw_status st = mw__engine_next(&c->eng, &ev, want);
    if(st || ev.kind == MW__EV_NONE)
      return st;
    if(ev.kind == MW__EV_LINE) {
      mw__sbuf_reset(&c->line);
      if(!mw__sbuf_append(&c->line, ev.data, ev.len))
        return mw__error_set(&c->err, MW_E_NOMEM, NULL);
      r->got = true;
      *done = true;
      return MW_OK;
    }
    if(r->fn && ev.len) {
      st = r->fn(r->user, ev.data, ev.len);
      if(st)
        return mw__error_set(&c->err, st, "the literal's reader failed");
    }
    if(!ev.remaining) {
      *done = true;
      return MW_OK;
    }
  }
}

/* Runs one read; a timeout leaves the connection as it was. */
static mw_status conn_read(struct conn_read *r, unsigned timeout_ms,
                           const char *what)
{
  struct mw_conn *c = r->c;
  mw__engine_deadline_in(&c->eng, timeout_ms, what);
  mw_status st = mw__engine_run(&c->eng, conn_read_step, r);
  if(st == MW_E_TIMEOUT)
    return st;
  return st ? conn_broken(c, st) : MW_OK;
}

mw_status mw_conn_read_line(mw_conn *c, unsigned timeout_ms,
                            const char **line, size_t *len)
{
  if(!c || !line || !len)
    return MW_E_INVALID;
  *line = NULL;
  *len = 0;
  mw_status st = conn_ready(c);
  if(st)
    return st;
  struct conn_read r = {.c = c};
  st = conn_read(&r, timeout_ms, "waiting for the server");
  if(st)
    return st;
  *line = c->line.data ? c->line.data : "";
  *len = c->line.len;
  return MW_OK;
}

mw_status mw_conn_read_literal(mw_conn *c, uint64_t size, unsigned timeout_ms,
                               mw_write_fn fn, void *user)
{
  if(!c || !fn)
    return MW_E_INVALID;
  mw_status st = conn_ready(c);
  if(st || !size)
    return st;
  mw__engine_expect_literal(&c->eng, size);
  struct conn_read r = {.c = c, .fn = fn, .user = user};
  st = conn_read(&r, timeout_ms, "waiting for a literal's bytes");
  if(st == MW_E_TIMEOUT) /* the rest cannot be told from lines now */
    return conn_broken(c, st);
  return st;
}

size_t mw_conn_pending(const mw_conn *c)
{
  return c && mw__engine_is_open(&c->eng) ? mw__engine_buffered(&c->eng) : 0;
}

int mw_conn_fd(const mw_conn *c) { return c ? mw__engine_fd(&c->eng) : -1; }

/* ---- TLS ---------------------------------------------------------------- */

mw_status mw_conn_starttls(mw_conn *c)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = conn_ready(c);
  if(st)
    return st;
  if(c->tls)
    return mw__error_set(&c->err, MW_E_STATE,
                         "the connection is encrypted already");
  const char *answer = c->opt.protocol == MW_PROTOCOL_POP3
                           ? "its +OK to STLS"
                       : c->opt.protocol == MW_PROTOCOL_IMAP
                           ? "its OK to STARTTLS"
                           : "its 220 reply to STARTTLS";
  st = mw__session_no_injection(&c->eng, &c->err, answer);
  if(!st)
    st = mw__session_start_tls(&c->eng, &c->opt, &c->trace, &c->err,
                               conn_cmd_ms(c), &c->tls, &c->tls_info);
  return st ? conn_broken(c, st) : MW_OK;
}

bool mw_conn_is_encrypted(const mw_conn *c) { return c && c->tls; }

#define CONN_TLS_FACT(fn, field)                                             \
  const char *fn(const mw_conn *c)                                           \
  {                                                                          \
    return c && c->tls ? c->tls_info.field : "";                             \
  }
CONN_TLS_FACT(mw_conn_tls_version, version)
CONN_TLS_FACT(mw_conn_tls_cipher, cipher)
CONN_TLS_FACT(mw_conn_peer_subject, subject)
CONN_TLS_FACT(mw_conn_peer_issuer, issuer)
CONN_TLS_FACT(mw_conn_peer_not_after, not_after)
CONN_TLS_FACT(mw_conn_peer_fingerprint, fingerprint)
CONN_TLS_FACT(mw_conn_peer_names, names)
CONN_TLS_FACT(mw_conn_peer_chain, chain)

const char *mw_conn_peer_address(const mw_conn *c)
{
  return c ? c->peer : "";
}

/* ---- SASL --------------------------------------------------------------- */

static mw_status conn_sasl_send(void *user, bool command, const char *line,
                                size_t len, const char *shown)
{
  struct mw_conn *c = user;
  if(memchr(line, '\r', len) || memchr(line, '\n', len) ||
     memchr(line, '\0', len))
    return mw__error_set(&c->err, MW_E_INVALID,
                         "refused to send a line containing a line break");
  const char *tag = command && c->tag ? c->tag : "";
  size_t tlen = strlen(tag);
  mw__trace_emit(&c->trace, MW_TRACE_OUT, "%s%s%s", tag, tlen ? " " : "",
                 shown);
  if(c->show) {
    struct mw__sbuf s;
    mw__sbuf_init(&s);
    mw__sbuf_printf(&s, "%s%s%s", tag, tlen ? " " : "", shown);
    if(s.failed)
      return mw__error_set(&c->err, MW_E_NOMEM, NULL);
    c->show(c->show_user, false, s.data, s.len);
    mw__sbuf_free(&s);
  }
  char *buf = mw__malloc(tlen + 1 + len + 3);
  if(!buf)
    return mw__error_set(&c->err, MW_E_NOMEM, NULL);
  size_t n = 0;
  if(tlen) {
    memcpy(buf, tag, tlen);
    buf[tlen] = ' ';
    n = tlen + 1;
  }
  memcpy(buf + n, line, len);
  memcpy(buf + n + len, "\r\n", 3);
  mw_status st = mw__engine_queue_raw(&c->eng, buf, n + len + 2);
  mw__free_secret(buf);
  return st;
}

static mw_status conn_sasl_flush(void *user) { return conn_flush(user); }

/* The server's next reply as one line: SMTP's last line of a multi-line
 * reply, IMAP's continuation or tagged completion (the tag cut off; the
 * untagged lines are shown and skipped). */
static mw_status conn_sasl_read(void *user, const char **line, size_t *len)
{
  struct mw_conn *c = user;
  size_t tlen = c->tag ? strlen(c->tag) : 0;
  for(;;) {
    struct conn_read r = {.c = c};
    mw_status st = conn_read(&r, conn_cmd_ms(c),
                             "waiting for the server's answer to AUTH");
    if(st)
      return st == MW_E_TIMEOUT ? conn_broken(c, st) : st;
    const char *l = c->line.data ? c->line.data : "";
    size_t n = c->line.len;
    if(c->show)
      c->show(c->show_user, true, l, n);
    if(c->opt.protocol == MW_PROTOCOL_SMTP && n >= 4 && l[3] == '-')
      continue;
    if(c->opt.protocol == MW_PROTOCOL_IMAP) {
      if(n >= 2 && l[0] == '*' && l[1] == ' ')
        continue;
      if(tlen && n > tlen && !memcmp(l, c->tag, tlen) && l[tlen] == ' ') {
        l += tlen + 1;
        n -= tlen + 1;
      }
    }
    *line = l;
    *len = n;
    return MW_OK;
  }
}

static mw_status conn_sasl_refused(void *user,
                                   const struct mw__sasl_refusal *why)
{
  struct mw_conn *c = user;
  size_t n = why->len < 200 ? why->len : 200;
  mw__error_set(&c->err, MW_E_AUTH,
                "the server refused %s as %s: %.*s", why->mech,
                why->identity, (int)n, why->line);
  mw__free(c->err.server_text);
  c->err.server_text = mw__strndup(why->line, why->len);
  return MW_E_AUTH;
}

mw_status mw_conn_authenticate(mw_conn *c, const char *mechanism,
                               const char *user, const char *password,
                               const char *token, const char *tag,
                               mw_conn_line_fn show, void *show_user,
                               const char **mech)
{
  if(mech)
    *mech = NULL;
  if(!c || !mechanism)
    return MW_E_INVALID;
  mw_status st = conn_ready(c);
  if(st)
    return st;
  char mechs[64];
  size_t ml = strlen(mechanism);
  if(!ml || ml >= sizeof(mechs))
    return mw__error_set(&c->err, MW_E_INVALID,
                         "'%s' is not a SASL mechanism name", mechanism);
  for(size_t i = 0; i <= ml; i++) {
    char ch = mechanism[i];
    mechs[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
  }
  /* The secrets join the scrubbing list: a server echoing them cannot
   * get them into a line, the trace or an error. */
  if(!mw__scrub_add_secret(&c->scrub, password) ||
     !mw__scrub_add_secret(&c->scrub, token))
    return mw__error_set(&c->err, MW_E_NOMEM, NULL);
  const struct mw__sasl_proto *proto =
      c->opt.protocol == MW_PROTOCOL_IMAP   ? &mw__imap_sasl
      : c->opt.protocol == MW_PROTOCOL_POP3 ? &mw__pop3_sasl
                                            : &mw__smtp_sasl;
  /* The caller asked for this mechanism: it counts as offered, and as
   * the only one allowed. */
  struct mw__sasl_server srv = {.tls = c->tls != NULL,
                                .mechanisms = mechs,
                                .starttls_offered = false,
                                .offers = NULL};
  struct mw__sasl_request req = {.user = user,
                                 .password = password,
                                 .token = token,
                                 .cert_file = c->opt.tls_cert_file,
                                 .allowed = mechs,
                                 .allow_insecure = c->opt.allow_insecure_auth,
                                 .host = c->opt.host};
  const struct mw__sasl_io io = {.user = c,
                                 .send = conn_sasl_send,
                                 .flush = conn_sasl_flush,
                                 .read = conn_sasl_read,
                                 .refused = conn_sasl_refused};
  const struct mw__sasl_ctx ctx = {.proto = proto,
                                   .io = &io,
                                   .trace = &c->trace,
                                   .scrub = &c->scrub,
                                   .err = &c->err};
  c->tag = tag;
  c->show = show;
  c->show_user = show_user;
  const char *used = NULL;
  st = mw__sasl_authenticate(&ctx, &req, &srv, &used);
  c->tag = NULL;
  c->show = NULL;
  c->show_user = NULL;
  if(!st && !used)
    st = mw__error_set(&c->err, MW_E_INVALID,
                       "%s needs %s", mechs,
                       strcmp(mechs, "XOAUTH2") == 0 ||
                               strcmp(mechs, "OAUTHBEARER") == 0
                           ? "a user name and an OAuth token"
                       : strcmp(mechs, "EXTERNAL") == 0
                           ? "a client certificate ({tls-cert=FILE})"
                           : "a user name and a password");
  if(!st && mech)
    *mech = used;
  if(st == MW_E_AUTH_SERVER_UNVERIFIED)
    return conn_broken(c, st);
  return st;
}

mw_status mw_conn_add_secret(mw_conn *c, const char *secret)
{
  if(!c)
    return MW_E_INVALID;
  if(!mw__scrub_add_secret(&c->scrub, secret))
    return mw__error_set(&c->err, MW_E_NOMEM, NULL);
  return MW_OK;
}
