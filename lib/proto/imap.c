/*
 * proto/imap.c - the IMAP client session (RFC 3501, RFC 9051): its
 * lifetime, connect over the layer stack (net/stack.h), implicit TLS, the
 * greeting, CAPABILITY, STARTTLS, LOGIN and AUTHENTICATE (the IMAP side of
 * proto/sasl_driver.h), the session's facts and LOGOUT.  The response loop
 * every command runs on is proto/imap_loop.c's, mailbox commands
 * proto/imap_mbox.c's, messages (FETCH, APPEND, IDLE) proto/imap_msg.c's.
 *
 * DESCRIPTION
 *   Every command is "A0001 ..." with a tag number that only grows; the
 *   engine (proto/engine.h) keeps the commands awaiting completion in
 *   order.  One step function (imap_step) turns the engine's lines and
 *   literal bytes into whole responses through the parser
 *   (proto/imap_parse.h), hands untagged ones to the running command and
 *   matches tagged ones against the oldest command awaited: a tagged
 *   response with any other tag ends the session (MW_E_PROTOCOL).
 *
 *   Security rules, each relied on by tests:
 *   - the TLS mode by port (993 implicit, else STARTTLS required) never
 *     falls back to plaintext;
 *   - bytes after the tagged OK to STARTTLS end the session
 *     (MW_E_INJECTION); untagged responses before it are not acted on,
 *     and capabilities learnt before TLS are forgotten after it;
 *   - a PREAUTH greeting on a connection that must become encrypted ends
 *     the session (STARTTLS is impossible once authenticated);
 *   - LOGINDISABLED is honoured, and neither LOGIN nor AUTHENTICATE sends
 *     a password over plaintext unless allowed; the trace shows the
 *     password and SASL payloads as <redacted>;
 *   - literals from the server are bounded (1 MiB unless a message body,
 *     which is streamed), and lines too.
 */
#include "proto/imap.h"
#include "proto/session.h"

#include "core/util.h"
#include "net/stack.h"
#include "proto/sasl_driver.h"

#include <poll.h>
#include <stdarg.h>
#include <string.h>

#define LOGOUT_MS 10000u

/* ---- session lifetime ------------------------------------------------ */

mw_imap *mw_imap_new(const mw_options *o)
{
  if(!o)
    return NULL;
  struct mw_imap *m = mw__calloc(1, sizeof(*m));
  if(!m)
    return NULL;
  /* Each client speaks its own protocol, and uses its ports. */
  if(!mw__session_setup(&m->opt, o, MW_PROTOCOL_IMAP, &m->trace,
                        &m->scrub)) {
    mw__free(m);
    return NULL;
  }
  mw__sbuf_init(&m->cont);
  m->err.status = MW_OK;
  mw__engine_init(&m->eng, "IMAP", MW__IMAP_MAX_LINE, 0, &m->err, &m->trace,
                  &m->scrub);
  struct mw__imap_limits lim;
  mw__imap_limits_default(&lim);
  lim.max_literal = MW__IMAP_MAX_LITERAL;
  lim.max_body = UINT64_MAX; /* streamed: bounded by the deadline only */
  mw__imap_parser_init(&m->parser, &lim);
  m->timeout_ms = m->opt.command_timeout_ms ? m->opt.command_timeout_ms
                                            : MW__IMAP_COMMAND_MS;
  return m;
}

static void imap_close(struct mw_imap *m)
{
  if(mw__engine_is_open(&m->eng)) {
    if(m->tls && m->state != IMAP_BROKEN)
      mw__tls_shutdown(m->tls);
    mw__engine_close(&m->eng);
    mw__trace_emit(&m->trace, MW_TRACE_NET, "connection closed");
  }
  mw__tls_free(m->tls);
  m->tls = NULL;
}

void mw__imap_caps_clear(struct imap_caps *c)
{
  mw__free(c->tokens);
  mw__free(c->mechs);
  c->tokens = c->mechs = NULL;
}

void mw_imap_free(mw_imap *m)
{
  if(!m)
    return;
  imap_close(m);
  mw__engine_free(&m->eng);
  mw__imap_parser_free(&m->parser);
  mw__imap_caps_clear(&m->caps);
  mw__free(m->greeting);
  mw__free(m->alert);
  mw__free(m->bye);
  mw__free(m->uids);
  mw__free(m->early);
  mw__sbuf_free(&m->cont);
  mw__scrub_free(&m->scrub);
  mw__error_clear(&m->err);
  mw__options_release(&m->opt);
  mw__free(m);
}

const mw_error *mw_imap_error(const mw_imap *m) { return m ? &m->err : NULL; }

mw_status mw__imap_broken(struct mw_imap *m, mw_status st)
{
  m->state = IMAP_BROKEN;
  imap_close(m);
  return st;
}

mw_status mw__imap_ready(struct mw_imap *m, bool need_selected)
{
  mw__error_clear(&m->err);
  m->changed = false;
  if(m->state == IMAP_CLOSED || m->state == IMAP_BROKEN ||
     !mw__engine_is_open(&m->eng))
    return mw__error_set(&m->err, MW_E_STATE,
                         "the IMAP session is not connected");
  if(need_selected && m->state != IMAP_SELECTED)
    return mw__error_set(&m->err, MW_E_STATE,
                         "no mailbox is selected (select one first)");
  return MW_OK;
}

static bool utf8_ok(const struct mw_imap *m) { return mw__imap_rev2(m); }

/* ---- TLS ----------------------------------------------------------------- */

static mw_status imap_tls(struct mw_imap *m, unsigned timeout_ms)
{
  return mw__session_start_tls_report(&m->eng, &m->opt, m->tls_report_only,
                                      &m->trace, &m->err, timeout_ms, &m->tls,
                                      &m->tls_info);
}

static mw_status imap_capability(struct mw_imap *m)
{
  mw__imap_caps_clear(&m->caps);
  m->caps_known = false;
  mw_status st = mw__imap_simple(m, IMAP_CMD_CAPABILITY, NULL, "CAPABILITY");
  if(!st && !m->caps_known)
    st = mw__error_set(&m->err, MW_E_PROTOCOL,
                       "the server answered CAPABILITY without listing its "
                       "capabilities");
  return st;
}

static mw_status imap_starttls(struct mw_imap *m, mw_tls_mode mode)
{
  bool required = mode == MW_TLS_STARTTLS;
  if(!mw__imap_has(m, "STARTTLS")) {
    if(required)
      return mw__error_set(
          &m->err, MW_E_NO_STARTTLS,
          "the server does not offer STARTTLS (it offers:%s); nothing was "
          "sent. Use {tls=implicit} if the server has an implicit-TLS port "
          "(usually 993)",
          m->caps.tokens ? m->caps.tokens : " (nothing)");
    mw__trace_emit(&m->trace, MW_TRACE_TLS,
                   "WARNING: the server does not offer STARTTLS; continuing "
                   "WITHOUT encryption ({tls=starttls-optional})");
    return MW_OK;
  }
  mw_status st = mw__imap_simple(m, IMAP_CMD_STARTTLS, NULL, "STARTTLS");
  if(st == MW_E_NO_STARTTLS && !required) {
    mw__trace_emit(&m->trace, MW_TRACE_TLS,
                   "WARNING: STARTTLS refused; continuing WITHOUT "
                   "encryption ({tls=starttls-optional})");
    mw__error_clear(&m->err);
    return MW_OK;
  }
  if(st)
    return st;
  st = mw__session_no_injection(&m->eng, &m->err, "its OK to STARTTLS");
  if(st)
    return st;
  st = imap_tls(m, m->timeout_ms);
  if(st)
    return st;
  /* Forget everything learnt in plaintext (RFC 9051 6.2.1). */
  return imap_capability(m);
}

/* ---- LOGIN ------------------------------------------------------------- */

/* Sends line as (a piece of) the LOGIN command; the first piece registers
 * the command.  secret_from: as mw__engine_command(). */
static mw_status login_piece(struct mw_imap *m, bool *first, uint32_t tag,
                             struct mw__sbuf *line, int secret_from)
{
  struct mw__engine_cmd c = {.kind = IMAP_CMD_LOGIN, .tag = tag};
  mw_status st = mw__engine_command(&m->eng, *first ? &c : NULL, secret_from,
                                    "%s", line->data ? line->data : "");
  *first = false;
  mw__sbuf_reset(line);
  return st;
}

static mw_status imap_login(struct mw_imap *m)
{
  if(mw__imap_has(m, "LOGINDISABLED"))
    return mw__error_set(&m->err, MW_E_AUTH_UNAVAILABLE,
                         "the server advertises LOGINDISABLED: it refuses "
                         "LOGIN on this connection%s, and offers no SASL "
                         "mechanism this session can use",
                         m->tls ? "" : " (usually until TLS: use "
                                       "{tls=starttls} or {tls=implicit})");
  if(!m->tls && !m->opt.allow_insecure_auth)
    return mw__error_set(&m->err, MW_E_INSECURE,
                         "refused to send the password over an unencrypted "
                         "connection (LOGIN); use TLS, or allow it with "
                         "{allow-insecure-auth}");
  const char *parts[2] = {m->opt.user, m->opt.password};
  bool utf8 = utf8_ok(m);
  bool nonsync_ok = mw__imap_has(m, "LITERAL+");
  bool minus = mw__imap_has(m, "LITERAL-");
  uint32_t tag = ++m->next_tag;
  struct mw__sbuf line;
  mw__sbuf_init(&line);
  bool first = true;
  int secret_from = -1;
  mw_status st = mw__sbuf_printf(&line, "A%04u LOGIN", (unsigned)tag)
                     ? MW_OK
                     : mw__error_set(&m->err, MW_E_NOMEM, NULL);
  for(int i = 0; !st && i < 2; i++) {
    size_t n = strlen(parts[i]);
    enum mw__imap_astring k = mw__imap_astring_kind(parts[i], n, utf8);
    if(!mw__sbuf_puts(&line, " ")) {
      st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
      break;
    }
    if(i == 1)
      secret_from = (int)line.len;
    if(k == MW__IMAP_AS_ATOM || k == MW__IMAP_AS_QUOTED) {
      if(!mw__imap_astring_append(&line, parts[i], n, utf8))
        st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
      continue;
    }
    if(k != MW__IMAP_AS_LITERAL) {
      st = mw__error_set(&m->err, MW_E_INVALID,
                         "the %s cannot be sent to an IMAP server (it holds "
                         "a NUL byte)",
                         i ? "password" : "user name");
      break;
    }
    bool nonsync = nonsync_ok || (minus && n <= 4096);
    char mark[32];
    mw__imap_literal_format(mark, sizeof(mark), n, nonsync);
    if(!mw__sbuf_puts(&line, mark)) {
      st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
      break;
    }
    /* The marker is not the secret: the line is shown whole. */
    st = login_piece(m, &first, tag, &line, -1);
    secret_from = -1;
    if(!st && !nonsync) {
      mw__imap_wait_for(m, tag, true, NULL);
      st = mw__imap_run(m);
      if(!st && !m->wait.got_continuation)
        st = mw__imap_refusal(m, MW_E_AUTH,
                              "the server refused LOGIN before its "
                              "literal");
    }
    if(!st)
      st = mw__engine_queue_raw(&m->eng, parts[i], n);
  }
  if(!st)
    st = login_piece(m, &first, tag, &line, secret_from);
  mw__sbuf_free(&line);
  if(!st) {
    mw__imap_wait_for(m, tag, false, NULL);
    st = mw__imap_run(m);
  }
  if(!st)
    m->auth_mech = "LOGIN";
  return st;
}

/* ---- AUTHENTICATE: the IMAP side of the SASL driver ----------------------
 *
 * RFC 9051 6.2.2 and RFC 4959 (SASL-IR): "TAG AUTHENTICATE mech [ir]",
 * challenges in "+ base64" continuations, success the tagged OK; "*"
 * cancels. */

static bool imap_auth_success(const char *line, size_t len,
                              const char **data, size_t *dlen)
{
  *data = NULL;
  *dlen = 0;
  return len >= 2 && !memcmp(line, "OK", 2) && (len == 2 || line[2] == ' ');
}

const struct mw__sasl_proto mw__imap_sasl = {
    .name = "IMAP",
    .service = "imap",
    .command = "AUTHENTICATE",
    .continuation = "+ ",
    .initial_response = false,
    .ir_max = 0,
    .empty_ir = "=",
    .cancel = "*",
    .success = imap_auth_success,
    .success_data = false,
};

static const struct mw__sasl_proto imap_sasl_ir = {
    .name = "IMAP",
    .service = "imap",
    .command = "AUTHENTICATE",
    .continuation = "+ ",
    .initial_response = true,
    .ir_max = 0,
    .empty_ir = "=",
    .cancel = "*",
    .success = imap_auth_success,
    .success_data = false,
};

struct imap_auth_io {
  struct mw_imap *m;
  struct mw__sbuf line;
};

static mw_status imap_auth_send(void *user, bool command, const char *line,
                                size_t len, const char *shown)
{
  struct imap_auth_io *a = user;
  struct mw_imap *m = a->m;
  if(memchr(line, '\r', len) || memchr(line, '\n', len) ||
     memchr(line, '\0', len))
    return mw__error_set(&m->err, MW_E_INVALID,
                         "refused to send a command containing a line break");
  char tag[MW__IMAP_TAG_MAX] = "";
  if(command) {
    m->auth_tag = ++m->next_tag;
    snprintf(tag, sizeof(tag), "A%04u ", (unsigned)m->auth_tag);
    struct mw__engine_cmd c = {.kind = IMAP_CMD_AUTHENTICATE,
                               .tag = m->auth_tag};
    mw_status st = mw__engine_expect(&m->eng, &c);
    if(st)
      return st;
  }
  mw__trace_emit(&m->trace, MW_TRACE_OUT, "%s%s", tag, shown);
  mw_status st = mw__engine_queue_raw(&m->eng, tag, strlen(tag));
  if(!st)
    st = mw__engine_queue_raw(&m->eng, line, len);
  if(!st)
    st = mw__engine_queue_raw(&m->eng, "\r\n", 2);
  return st;
}

static mw_status flush_step(void *machine, short *want, bool *done)
{
  struct mw_imap *m = machine;
  mw_status st = mw__engine_flush(&m->eng, want);
  *done = !st && !*want;
  return st;
}

mw_status mw__imap_flush(struct mw_imap *m)
{
  mw__engine_deadline_in(&m->eng, m->timeout_ms, "sending to the server");
  mw_status st = mw__engine_run(&m->eng, flush_step, m);
  return st ? mw__imap_broken(m, st) : MW_OK;
}

static mw_status imap_auth_flush(void *user)
{
  struct imap_auth_io *a = user;
  return mw__imap_flush(a->m);
}

static mw_status imap_auth_read(void *user, const char **line, size_t *len)
{
  struct imap_auth_io *a = user;
  struct mw_imap *m = a->m;
  mw__imap_wait_for(m, m->auth_tag, true, NULL);
  mw_status st = mw__imap_run(m);
  if(st)
    return st;
  mw__sbuf_reset(&a->line);
  bool ok = m->wait.got_continuation
                ? mw__sbuf_printf(&a->line, "+ %s",
                                  m->cont.data ? m->cont.data : "")
                : mw__sbuf_printf(&a->line, "%s %s",
                                  mw__imap_cond_name(m->last.cond),
                                  m->last.text);
  if(!ok)
    return mw__error_set(&m->err, MW_E_NOMEM, NULL);
  *line = a->line.data;
  *len = a->line.len;
  return MW_OK;
}

static mw_status imap_auth_refused(void *user,
                                   const struct mw__sasl_refusal *why)
{
  struct imap_auth_io *a = user;
  char what[160];
  snprintf(what, sizeof(what), "authentication failed (%s as %s)", why->mech,
           why->identity);
  return mw__imap_refusal(a->m, MW_E_AUTH, what);
}

static mw_status imap_auth(struct mw_imap *m)
{
  bool has_auth = m->caps.mechs && m->caps.mechs[0];
  struct mw__sasl_server srv = {
      .tls = m->tls != NULL,
      .mechanisms = has_auth ? m->caps.mechs : NULL,
      .starttls_offered = mw__imap_has(m, "STARTTLS"),
      .offers = has_auth ? NULL : m->caps.tokens,
  };
  struct mw__sasl_request req = {
      .user = m->opt.user,
      .password = m->opt.password,
      .token = m->opt.oauth2_token,
      .cert_file = m->opt.tls_cert_file,
      .allowed = m->opt.auth_mechs,
      .allow_insecure = m->opt.allow_insecure_auth,
      .host = m->opt.host,
  };
  struct imap_auth_io a = {.m = m};
  mw__sbuf_init(&a.line);
  const struct mw__sasl_io io = {
      .user = &a,
      .send = imap_auth_send,
      .flush = imap_auth_flush,
      .read = imap_auth_read,
      .refused = imap_auth_refused,
  };
  const struct mw__sasl_ctx ctx = {
      .proto = mw__imap_has(m, "SASL-IR") ? &imap_sasl_ir : &mw__imap_sasl,
      .io = &io,
      .trace = &m->trace,
      .scrub = &m->scrub,
      .err = &m->err,
  };
  const char *mech = NULL;
  m->login_caps = false;
  mw_status st = mw__sasl_authenticate(&ctx, &req, &srv, &mech);
  mw__sbuf_free(&a.line);
  if(!st && mech)
    m->auth_mech = mech;
  /* No common SASL mechanism: LOGIN, when there is a password for it. */
  if(st == MW_E_AUTH_UNAVAILABLE && m->opt.user && m->opt.password &&
     (!m->opt.auth_mechs || strstr(m->opt.auth_mechs, "LOGIN"))) {
    mw__error_clear(&m->err);
    st = imap_login(m);
  }
  if(st || !m->auth_mech)
    return st;
  m->state = IMAP_AUTH;
  /* The capabilities may change with the login (RFC 9051 6.2.2). */
  return m->login_caps ? MW_OK : imap_capability(m);
}

/* ---- connect ------------------------------------------------------------ */

static mw_status imap_setup(struct mw_imap *m, struct mw__layer *top,
                            mw_tls_mode mode)
{
  mw__engine_attach(&m->eng, top);
  /* A new connection (after a LOGOUT): nothing of the last one holds. */
  mw__imap_caps_clear(&m->caps);
  m->caps_known = m->login_caps = false;
  m->auth_mech = NULL;
  m->nearly = 0;
  memset(&m->sel, 0, sizeof(m->sel));
  mw_status st = MW_OK;
  if(mode == MW_TLS_IMPLICIT) {
    st = imap_tls(m, m->opt.greeting_timeout_ms);
    if(st == MW_E_TIMEOUT)
      mw__error_set(&m->err, MW_E_TIMEOUT,
                    "no TLS handshake reply within %.1f s: the port may "
                    "expect plaintext first (try {tls=starttls}, usually on "
                    "port 143)",
                    m->opt.greeting_timeout_ms / 1000.0);
    if(st)
      return mw__imap_broken(m, st);
  }
  m->in_greeting = true;
  struct mw__engine_cmd g = {.kind = IMAP_CMD_GREETING};
  st = mw__engine_expect(&m->eng, &g);
  if(!st) {
    mw__imap_wait_for(m, 0, false, NULL);
    st = mw__imap_run(m);
    if(st == MW_E_TIMEOUT)
      mw__error_set(&m->err, MW_E_TIMEOUT,
                    "no greeting from the server within %.1f s%s",
                    m->opt.greeting_timeout_ms / 1000.0,
                    mode == MW_TLS_IMPLICIT
                        ? ""
                        : ": a silent server usually means the port expects "
                          "implicit TLS (try {tls=implicit}, usually on port "
                          "993)");
  }
  if(st)
    return mw__imap_broken(m, st);
  mw__engine_answered(&m->eng);
  bool preauth = m->state == IMAP_AUTH;
  if(preauth) {
    m->auth_mech = "PREAUTH";
    if(mode == MW_TLS_STARTTLS)
      return mw__imap_broken(
          m, mw__error_set(&m->err, MW_E_INSECURE,
                           "the server greeted with PREAUTH (already logged "
                           "in) on an unencrypted connection where TLS is "
                           "required: STARTTLS is impossible after PREAUTH, "
                           "so the session was ended instead of going on in "
                           "clear; use {tls=implicit} (port 993)"));
    if(mode == MW_TLS_STARTTLS_OPTIONAL)
      mw__trace_emit(&m->trace, MW_TRACE_TLS,
                     "WARNING: PREAUTH greeting: continuing WITHOUT "
                     "encryption ({tls=starttls-optional})");
  }
  if(!m->caps_known)
    st = imap_capability(m);
  if(!st && !preauth &&
     (mode == MW_TLS_STARTTLS || mode == MW_TLS_STARTTLS_OPTIONAL))
    st = imap_starttls(m, mode);
  if(!st && !preauth)
    st = imap_auth(m);
  if(st)
    return m->state == IMAP_BROKEN ? st : mw__imap_broken(m, st);
  return MW_OK;
}

mw_status mw__imap_connect_over(struct mw_imap *m, struct mw__layer *top)
{
  if(!m || !top)
    return MW_E_INVALID;
  mw__error_clear(&m->err);
  if(m->state != IMAP_CLOSED)
    return mw__error_set(&m->err, MW_E_STATE,
                         "the session is already connected or has failed");
  mw__trace_start(&m->trace);
  snprintf(m->peer, sizeof(m->peer), "%s", "memory");
  return imap_setup(m, top, mw__options_tls_mode(&m->opt));
}

mw_status mw_imap_connect(mw_imap *m)
{
  if(!m)
    return MW_E_INVALID;
  mw__error_clear(&m->err);
  if(m->state != IMAP_CLOSED)
    return mw__error_set(&m->err, MW_E_STATE,
                         "the session is already connected or has failed");
  if(!m->opt.host)
    return mw__error_set(&m->err, MW_E_INVALID, "no server given");
  mw__trace_start(&m->trace);
  mw_tls_mode mode = mw__options_tls_mode(&m->opt);
  struct mw__layer *top = NULL;
  mw_status st = mw__session_open(&m->opt, "IMAP", &m->trace, NULL, NULL,
                                  m->peer, sizeof(m->peer), &m->err, &top);
  if(st) {
    m->state = IMAP_BROKEN;
    return st;
  }
  return imap_setup(m, top, mode);
}

/* ---- facts and LOGOUT ----------------------------------------------------- */

bool mw_imap_is_encrypted(const mw_imap *m) { return m && m->tls; }

const char *mw_imap_greeting(const mw_imap *m)
{
  return m && m->greeting ? m->greeting : "";
}

const char *mw_imap_auth_mechanism(const mw_imap *m)
{
  return m ? m->auth_mech : NULL;
}

const char *mw_imap_alert(const mw_imap *m)
{
  return m && m->alert ? m->alert : "";
}

mw_status mw_imap_logout(mw_imap *m)
{
  if(!m)
    return MW_E_INVALID;
  mw__error_clear(&m->err);
  if(m->state == IMAP_CLOSED || m->state == IMAP_BROKEN) {
    imap_close(m);
    m->state = IMAP_CLOSED;
    return MW_OK;
  }
  unsigned saved = m->timeout_ms;
  if(m->timeout_ms > LOGOUT_MS)
    m->timeout_ms = LOGOUT_MS;
  mw_status st = mw__imap_simple(m, IMAP_CMD_LOGOUT, NULL, "LOGOUT");
  m->timeout_ms = saved;
  /* Nothing is lost by a LOGOUT without an answer: each command already
   * had its completion. */
  if(st && st != MW_E_NOMEM) {
    mw__trace_emit(&m->trace, MW_TRACE_INFO,
                   "note: LOGOUT got no answer (%s); nothing is lost",
                   m->err.message);
    mw__error_clear(&m->err);
    st = MW_OK;
  }
  if(m->state != IMAP_BROKEN)
    m->state = IMAP_CLOSED;
  imap_close(m);
  m->state = IMAP_CLOSED;
  return st;
}
