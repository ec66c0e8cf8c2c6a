/*
 * proto/imap.c - the IMAP client session (RFC 3501, RFC 9051): connect
 * over the layer stack (net/stack.h), the greeting, CAPABILITY, STARTTLS,
 * LOGIN and AUTHENTICATE (the IMAP side of proto/sasl_driver.h), LOGOUT,
 * and the response loop every command runs on.  Mailbox commands are
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
  if(!mw__options_copy(&m->opt, o)) {
    mw__free(m);
    return NULL;
  }
  /* Each client speaks its own protocol, and uses its ports. */
  m->opt.protocol = MW_PROTOCOL_IMAP;
  m->trace.fn = m->opt.trace_fn;
  m->trace.user = m->opt.trace_user;
  mw__trace_start(&m->trace);
  mw__scrub_init(&m->scrub);
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
  if(!mw__scrub_add_secret(&m->scrub, m->opt.password) ||
     !mw__scrub_add_secret(&m->scrub, m->opt.oauth2_token)) {
    mw_imap_free(m);
    return NULL;
  }
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

static void caps_clear(struct imap_caps *c)
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
  caps_clear(&m->caps);
  mw__free(m->greeting);
  mw__free(m->alert);
  mw__free(m->bye);
  mw__free(m->uids);
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

/* ---- capabilities ----------------------------------------------------- */

static mw_status caps_set(struct mw_imap *m, const struct mw__imap_caps *c)
{
  struct mw__sbuf t, a;
  mw__sbuf_init(&t);
  mw__sbuf_init(&a);
  bool ok = mw__sbuf_puts(&t, " ") && mw__sbuf_puts(&a, "");
  for(size_t i = 0; ok && i < c->v.n; i++) {
    size_t at = t.len;
    ok = mw__sbuf_puts(&t, c->v.v[i]) && mw__sbuf_puts(&t, " ");
    for(size_t j = at; ok && j < t.len; j++)
      if(t.data[j] >= 'a' && t.data[j] <= 'z')
        t.data[j] = (char)(t.data[j] - 'a' + 'A');
  }
  for(size_t i = 0; ok && i < c->auth.n; i++)
    ok = mw__sbuf_printf(&a, "%s%s", i ? " " : "", c->auth.v[i]);
  if(!ok) {
    mw__sbuf_free(&t);
    mw__sbuf_free(&a);
    return mw__error_set(&m->err, MW_E_NOMEM, NULL);
  }
  caps_clear(&m->caps);
  m->caps.tokens = mw__sbuf_steal(&t);
  m->caps.mechs = mw__sbuf_steal(&a);
  m->caps_known = true;
  return MW_OK;
}

bool mw__imap_has(const struct mw_imap *m, const char *cap)
{
  if(!m->caps.tokens)
    return false;
  char want[64];
  size_t n = strlen(cap);
  if(n + 3 > sizeof(want))
    return false;
  want[0] = ' ';
  for(size_t i = 0; i < n; i++)
    want[i + 1] = (cap[i] >= 'a' && cap[i] <= 'z') ? (char)(cap[i] - 32)
                                                  : cap[i];
  want[n + 1] = ' ';
  want[n + 2] = '\0';
  return strstr(m->caps.tokens, want) != NULL;
}

bool mw_imap_has_capability(const mw_imap *m, const char *capability)
{
  return m && capability && *capability && mw__imap_has(m, capability);
}

/* ---- errors ------------------------------------------------------------ */

static void done_copy(struct imap_done *d, const struct mw__imap_status *s)
{
  d->cond = s->cond;
  d->code = s->code.kind;
  snprintf(d->code_name, sizeof(d->code_name), "%s",
           s->code.name ? s->code.name : "");
  snprintf(d->text, sizeof(d->text), "%s", s->text ? s->text : "");
}

/* What a response code means for the user (RFC 5530). */
static const char *code_hint(enum mw__imap_code_kind k)
{
  switch(k) {
  case MW__IMAP_CODE_AUTHENTICATIONFAILED:
    return "the server rejected the user name or password (an account "
           "with two-factor sign-in needs an app password or OAuth)";
  case MW__IMAP_CODE_AUTHORIZATIONFAILED:
    return "the credentials are right but may not act as that user";
  case MW__IMAP_CODE_EXPIRED:
    return "the password or account has expired";
  case MW__IMAP_CODE_PRIVACYREQUIRED:
    return "the server requires an encrypted connection";
  case MW__IMAP_CODE_CONTACTADMIN:
    return "the account needs its administrator's attention";
  case MW__IMAP_CODE_UNAVAILABLE:
    return "temporary failure on the server; retry later";
  case MW__IMAP_CODE_INUSE:
    return "the mailbox is in use by another session; retry later";
  case MW__IMAP_CODE_LIMIT:
    return "a server limit was hit (too many connections or commands); "
           "retry later";
  case MW__IMAP_CODE_OVERQUOTA:
    return "the account is over its quota";
  case MW__IMAP_CODE_NOPERM:
    return "the account has no permission for this";
  case MW__IMAP_CODE_NONEXISTENT:
  case MW__IMAP_CODE_TRYCREATE:
    return "the mailbox does not exist";
  default:
    return NULL;
  }
}

mw_status mw__imap_refusal(struct mw_imap *m, mw_status st, const char *what)
{
  const struct imap_done *d = &m->last;
  const char *hint = code_hint(d->code);
  mw__error_set(&m->err, st, "%s: %s%s%s%s %s%s%s", what,
                mw__imap_cond_name(d->cond), d->code_name[0] ? " [" : "",
                d->code_name, d->code_name[0] ? "]" : "", d->text,
                hint ? "; " : "", hint ? hint : "");
  snprintf(m->err.response_code, sizeof(m->err.response_code), "%s",
           d->code_name);
  m->err.server_text = mw__strdup(d->text);
  if(d->code == MW__IMAP_CODE_UNAVAILABLE || d->code == MW__IMAP_CODE_INUSE ||
     d->code == MW__IMAP_CODE_LIMIT)
    m->err.temporary = true;
  else if(d->code != MW__IMAP_CODE_NONE)
    m->err.temporary = false;
  return st;
}

/* ---- sending ----------------------------------------------------------- */

mw_status mw__imap_command(struct mw_imap *m, int kind, uint32_t *tag,
                           const char *fmt, ...)
{
  char buf[512];
  struct mw__sbuf line;
  mw__sbuf_init(&line);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if(n < 0)
    return mw__error_set(&m->err, MW_E_INVALID, "bad command format");
  const char *text = buf;
  if((size_t)n >= sizeof(buf)) {
    char *big = mw__malloc((size_t)n + 1);
    if(!big)
      return mw__error_set(&m->err, MW_E_NOMEM, NULL);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    text = big;
  }
  struct mw__engine_cmd c = {.kind = kind, .tag = ++m->next_tag};
  mw_status st = mw__engine_command(&m->eng, &c, -1, "A%04u %s",
                                    (unsigned)c.tag, text);
  if(text != buf)
    mw__free((char *)text);
  if(tag)
    *tag = c.tag;
  return st;
}

void mw__imap_wait_for(struct mw_imap *m, uint32_t tag, bool continuation,
                       imap_untagged_fn untagged)
{
  memset(&m->wait, 0, sizeof(m->wait));
  m->wait.tag = tag;
  m->wait.continuation = continuation;
  m->wait.untagged = untagged;
}

/* ---- the response loop ------------------------------------------------- */

/* The first line of the greeting: another protocol's banner is named. */
static mw_status greeting_foreign(struct mw_imap *m, const char *line,
                                  size_t len)
{
  const char *proto = NULL;
  if(len >= 3 && !memcmp(line, "+OK", 3))
    proto = "POP3";
  else if(len >= 4 && !memcmp(line, "-ERR", 4))
    proto = "POP3";
  else if(len >= 4 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' &&
          line[1] <= '9' && line[2] >= '0' && line[2] <= '9' &&
          (line[3] == ' ' || line[3] == '-'))
    proto = "SMTP";
  else if(len >= 4 && !memcmp(line, "SSH-", 4))
    proto = "SSH";
  else if(len >= 5 && !memcmp(line, "HTTP/", 5))
    proto = "HTTP";
  if(!proto)
    return MW_OK;
  char shown[64];
  size_t n = len < 60 ? len : 60;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)line[i];
    shown[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  shown[n] = '\0';
  unsigned imaps = mw__protocol_implicit_port(MW_PROTOCOL_IMAP);
  unsigned imap = mw__protocol_starttls_port(MW_PROTOCOL_IMAP);
  mw__error_set(&m->err, MW_E_PROTOCOL,
                "the server speaks %s, not IMAP (it said \"%s%s\"): this is "
                "not an IMAP port; IMAP is on %u with {tls=implicit} or %u "
                "with {tls=starttls}",
                proto, shown, len > n ? "..." : "", imaps, imap);
  m->err.foreign_protocol = proto;
  return MW_E_PROTOCOL;
}

static mw_status take_code(struct mw_imap *m, const struct mw__imap_code *c,
                           bool caps_ok)
{
  switch(c->kind) {
  case MW__IMAP_CODE_CAPABILITY:
    return caps_ok ? caps_set(m, &c->caps) : MW_OK;
  case MW__IMAP_CODE_UIDVALIDITY:
    m->sel.uidvalidity = (uint32_t)c->num;
    return MW_OK;
  case MW__IMAP_CODE_UIDNEXT:
    m->sel.uidnext = (uint32_t)c->num;
    return MW_OK;
  case MW__IMAP_CODE_APPENDUID:
    m->append_uid = c->uid;
    return MW_OK;
  default:
    return MW_OK;
  }
}

static mw_status keep_alert(struct mw_imap *m, const struct mw__imap_status *s)
{
  if(s->code.kind != MW__IMAP_CODE_ALERT)
    return MW_OK;
  char *a = mw__strdup(s->text ? s->text : "");
  if(!a)
    return mw__error_set(&m->err, MW_E_NOMEM, NULL);
  mw__free(m->alert);
  m->alert = a;
  return MW_OK;
}

/* The command awaited: STARTTLS's responses are not acted on. */
static bool in_starttls(const struct mw_imap *m)
{
  const struct mw__engine_cmd *h = mw__engine_head(&m->eng);
  return h && h->kind == IMAP_CMD_STARTTLS;
}

static mw_status on_greeting(struct mw_imap *m, const struct mw__imap_resp *r)
{
  if(r->kind != MW__IMAP_UNTAGGED || r->type != MW__IMAP_T_STATUS ||
     (r->status.cond != MW__IMAP_COND_OK && r->status.cond != MW__IMAP_COND_PREAUTH &&
      r->status.cond != MW__IMAP_COND_BYE))
    return mw__error_set(&m->err, MW_E_PROTOCOL,
                         "unexpected greeting: not \"* OK\", \"* PREAUTH\" "
                         "or \"* BYE\"");
  done_copy(&m->last, &r->status);
  mw__free(m->greeting);
  m->greeting = mw__strdup(r->status.text ? r->status.text : "");
  if(!m->greeting)
    return mw__error_set(&m->err, MW_E_NOMEM, NULL);
  mw_status st = keep_alert(m, &r->status);
  if(!st)
    st = take_code(m, &r->status.code, true);
  if(st)
    return st;
  if(r->status.cond == MW__IMAP_COND_BYE)
    return mw__imap_refusal(m, MW_E_REJECTED,
                            "the server refused the connection in its "
                            "greeting");
  m->state = r->status.cond == MW__IMAP_COND_PREAUTH ? IMAP_AUTH : IMAP_NOT_AUTH;
  m->in_greeting = false;
  m->wait.done = true;
  return MW_OK;
}

static mw_status on_untagged(struct mw_imap *m, const struct mw__imap_resp *r)
{
  bool starttls = in_starttls(m);
  if(r->type == MW__IMAP_T_STATUS) {
    if(r->status.cond == MW__IMAP_COND_BYE) {
      mw__free(m->bye);
      m->bye = mw__strdup(r->status.text ? r->status.text : "");
      done_copy(&m->last, &r->status);
      return MW_OK;
    }
    if(starttls)
      return MW_OK;
    mw_status st = keep_alert(m, &r->status);
    if(!st)
      st = take_code(m, &r->status.code, true);
    if(st)
      return st;
  }
  else if(starttls)
    return MW_OK; /* before TLS: nothing learnt here is kept */
  else if(r->type == MW__IMAP_T_CAPABILITY) {
    mw_status st = caps_set(m, &r->caps);
    if(st)
      return st;
  }
  else if(r->type == MW__IMAP_T_EXISTS) {
    if(r->number != m->sel.messages)
      m->changed = true;
    m->sel.messages = r->number;
  }
  else if(r->type == MW__IMAP_T_RECENT)
    m->sel.recent = r->number;
  else if(r->type == MW__IMAP_T_EXPUNGE || r->type == MW__IMAP_T_VANISHED) {
    m->changed = true;
    if(r->type == MW__IMAP_T_EXPUNGE && m->sel.messages)
      m->sel.messages--;
  }
  else if(r->type == MW__IMAP_T_FETCH)
    m->changed = true;
  return m->wait.untagged ? m->wait.untagged(m, r) : MW_OK;
}

static const char *cmd_name(int kind)
{
  static const char *const names[] = {
      [IMAP_CMD_GREETING] = "the greeting",
      [IMAP_CMD_CAPABILITY] = "CAPABILITY",
      [IMAP_CMD_STARTTLS] = "STARTTLS",
      [IMAP_CMD_LOGIN] = "LOGIN",
      [IMAP_CMD_AUTHENTICATE] = "AUTHENTICATE",
      [IMAP_CMD_LIST] = "LIST",
      [IMAP_CMD_STATUS] = "STATUS",
      [IMAP_CMD_SELECT] = "SELECT",
      [IMAP_CMD_SEARCH] = "UID SEARCH",
      [IMAP_CMD_FETCH] = "UID FETCH",
      [IMAP_CMD_SUMMARY] = "UID FETCH",
      [IMAP_CMD_STORE] = "UID STORE",
      [IMAP_CMD_EXPUNGE] = "EXPUNGE",
      [IMAP_CMD_APPEND] = "APPEND",
      [IMAP_CMD_IDLE] = "IDLE",
      [IMAP_CMD_NOOP] = "NOOP",
      [IMAP_CMD_LOGOUT] = "LOGOUT"};
  if(kind <= 0 || (size_t)kind >= sizeof(names) / sizeof(names[0]) ||
     !names[kind])
    return "the command";
  return names[kind];
}

static mw_status on_tagged(struct mw_imap *m, const struct mw__imap_resp *r)
{
  const struct mw__engine_cmd *h = mw__engine_head(&m->eng);
  char want[MW__IMAP_TAG_MAX];
  if(h)
    snprintf(want, sizeof(want), "A%04u", (unsigned)h->tag);
  if(!h || !r->tag || strcmp(r->tag, want) != 0) {
    char shown[MW__IMAP_TAG_MAX];
    size_t n = 0;
    for(; r->tag && r->tag[n] && n + 1 < sizeof(shown); n++) {
      unsigned char c = (unsigned char)r->tag[n];
      shown[n] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    shown[n] = '\0';
    return mw__error_set(&m->err, MW_E_PROTOCOL,
                         "the server sent a tagged response with tag \"%s\" "
                         "while %s was awaited: the session cannot be "
                         "trusted any more",
                         shown, h ? want : "no command");
  }
  int kind = h->kind;
  uint32_t tag = h->tag;
  done_copy(&m->last, &r->status);
  bool starttls = kind == IMAP_CMD_STARTTLS;
  mw_status st = starttls ? MW_OK : keep_alert(m, &r->status);
  if(!st && !starttls) {
    st = take_code(m, &r->status.code, true);
    if(!st && r->status.code.kind == MW__IMAP_CODE_CAPABILITY &&
       (kind == IMAP_CMD_LOGIN || kind == IMAP_CMD_AUTHENTICATE))
      m->login_caps = true;
  }
  if(st)
    return st;
  mw__engine_answered(&m->eng);
  if(r->status.cond != MW__IMAP_COND_OK && kind != IMAP_CMD_AUTHENTICATE &&
     !m->wait.failed) {
    mw_status why = kind == IMAP_CMD_LOGIN     ? MW_E_AUTH
                    : kind == IMAP_CMD_STARTTLS ? MW_E_NO_STARTTLS
                                                : MW_E_REJECTED;
    char what[80];
    snprintf(what, sizeof(what), "the server refused %s", cmd_name(kind));
    m->wait.failed = mw__imap_refusal(m, why, what);
  }
  if(tag == m->wait.tag)
    m->wait.done = true;
  return MW_OK;
}

static mw_status on_response(struct mw_imap *m, const struct mw__imap_resp *r)
{
  if(m->in_greeting)
    return on_greeting(m, r);
  switch(r->kind) {
  case MW__IMAP_TAGGED:
    return on_tagged(m, r);
  case MW__IMAP_CONTINUE:
    if(!m->wait.continuation)
      return mw__error_set(&m->err, MW_E_PROTOCOL,
                           "the server sent a continuation request (\"+\") "
                           "no command asked for");
    mw__sbuf_reset(&m->cont);
    if(!mw__sbuf_puts(&m->cont, r->text ? r->text : ""))
      return mw__error_set(&m->err, MW_E_NOMEM, NULL);
    m->wait.got_continuation = true;
    m->wait.done = true;
    return MW_OK;
  default:
    return on_untagged(m, r);
  }
}

static mw_status imap_step(void *machine, short *want, bool *done)
{
  struct mw_imap *m = machine;
  for(;;) {
    if(m->wait.done) {
      *done = true;
      return MW_OK;
    }
    struct mw__engine_event ev;
    mw_status st = mw__engine_next(&m->eng, &ev, want);
    if(st || ev.kind == MW__EV_NONE)
      return st;
    uint64_t n = 0;
    const char *why = NULL;
    enum mw__imap_feed f;
    if(ev.kind == MW__EV_LINE) {
      if(m->in_greeting && !m->parser.in_progress) {
        st = greeting_foreign(m, ev.data, ev.len);
        if(st)
          return st;
      }
      f = mw__imap_feed_line(&m->parser, ev.data, ev.len, &n, &why);
      if(f == MW__IMAP_NEED_LITERAL)
        mw__engine_expect_literal(&m->eng, n);
    }
    else {
      f = mw__imap_feed_literal(&m->parser, ev.data, ev.len, &n, &why);
      if(m->wait.progress_extends)
        mw__engine_deadline_in(&m->eng, m->timeout_ms, NULL);
    }
    while(f == MW__IMAP_NEED_LITERAL && n == 0)
      f = mw__imap_feed_literal(&m->parser, "", 0, &n, &why);
    if(f == MW__IMAP_BAD) {
      if(m->sink_status) /* the body sink's consumer refused */
        return m->sink_status;
      return mw__error_set(&m->err, MW_E_PROTOCOL,
                           "malformed response from the server: %s",
                           why ? why : "?");
    }
    if(f == MW__IMAP_DONE) {
      st = on_response(m, &m->parser.resp);
      if(st)
        return st;
    }
  }
}

mw_status mw__imap_run(struct mw_imap *m)
{
  const struct mw__engine_cmd *h = mw__engine_head(&m->eng);
  const char *name = h ? cmd_name(h->kind) : "the server";
  if(m->in_greeting)
    mw__engine_deadline_in(&m->eng, m->opt.greeting_timeout_ms,
                           "waiting for the greeting");
  else
    mw__engine_deadline_in(&m->eng, m->timeout_ms,
                           !strcmp(name, "IDLE")
                               ? "waiting in IDLE"
                               : "waiting for the server's response");
  mw_status st = mw__engine_run(&m->eng, imap_step, m);
  if(st == MW_E_TIMEOUT && m->wait.timeout_ok) {
    mw__error_clear(&m->err);
    return MW_E_TIMEOUT;
  }
  if(st) {
    if(st == MW_E_CLOSED && m->bye) {
      char *bye = m->bye;
      m->bye = NULL;
      mw__imap_refusal(m, MW_E_CLOSED,
                       "the server ended the session (BYE)");
      mw__free(bye);
    }
    return mw__imap_broken(m, st);
  }
  return m->wait.failed;
}

mw_status mw__imap_simple(struct mw_imap *m, int kind,
                          imap_untagged_fn untagged, const char *fmt, ...)
{
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if(n < 0 || (size_t)n >= sizeof(buf))
    return mw__error_set(&m->err, MW_E_INVALID, "command too long");
  uint32_t tag = 0;
  mw_status st = mw__imap_command(m, kind, &tag, "%s", buf);
  if(st)
    return st;
  mw__imap_wait_for(m, tag, false, untagged);
  return mw__imap_run(m);
}

/* ---- encoding helpers --------------------------------------------------- */

static bool utf8_ok(const struct mw_imap *m)
{
  return mw__imap_has(m, "IMAP4REV2");
}

mw_status mw__imap_put_mailbox(struct mw_imap *m, struct mw__sbuf *b,
                               const char *mailbox)
{
  struct mw__sbuf enc;
  mw__sbuf_init(&enc);
  const char *why = NULL;
  const char *name = mailbox;
  size_t n = strlen(mailbox);
  bool utf8 = utf8_ok(m);
  if(!utf8) {
    if(!mw__imap_mutf7_encode(mailbox, n, &enc, &why)) {
      mw__sbuf_free(&enc);
      return mw__error_set(&m->err, MW_E_INVALID,
                           "the mailbox name cannot be sent: %s",
                           why ? why : "?");
    }
    name = enc.data ? enc.data : "";
    n = enc.len;
  }
  enum mw__imap_astring k = mw__imap_astring_kind(name, n, utf8);
  mw_status st = MW_OK;
  if(k != MW__IMAP_AS_ATOM && k != MW__IMAP_AS_QUOTED)
    st = mw__error_set(&m->err, MW_E_INVALID,
                       "the mailbox name cannot be sent (too long, or a "
                       "control character)");
  else if(!mw__imap_astring_append(b, name, n, utf8))
    st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  mw__sbuf_free(&enc);
  return st;
}

mw_status mw__imap_put_flags(struct mw_imap *m, struct mw__sbuf *b,
                             const char *flags)
{
  /* flag: "\" atom, or atom (RFC 3501 9); blanks between. */
  for(const char *p = flags; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if(c == ' ' || c == '\\')
      continue;
    if(c <= 0x20 || c >= 0x7f || strchr("(){%*\"]", c))
      return mw__error_set(&m->err, MW_E_INVALID,
                           "invalid character in the flags \"%s\"", flags);
  }
  return mw__sbuf_puts(b, flags) ? MW_OK
                                 : mw__error_set(&m->err, MW_E_NOMEM, NULL);
}

/* ---- TLS ----------------------------------------------------------------- */

static mw_status imap_tls(struct mw_imap *m, unsigned timeout_ms)
{
  struct mw__tls_policy policy = {
      .ca_file = m->opt.ca_file,
      .fingerprint = m->opt.fingerprint[0] ? m->opt.fingerprint : NULL,
      .insecure = m->opt.insecure,
      .min = m->opt.tls_min,
      .max = m->opt.tls_max,
      .server_name = m->opt.tls_server_name ? m->opt.tls_server_name
                                            : m->opt.host,
      .ciphers = m->opt.tls_ciphers,
      .cert_file = m->opt.tls_cert_file,
      .key_file = m->opt.tls_key_file};
  mw_status st = mw__tls_start(&m->eng.stream, &policy, &m->trace,
                               mw__now_ms() + timeout_ms, &m->tls,
                               &m->tls_info);
  if(st == MW_E_CERT && m->tls_info.names[0] &&
     !strcmp(mw__tls_verify_class(m->tls_info.verify_result), "hostname")) {
    size_t n = strlen(m->err.message);
    snprintf(m->err.message + n, sizeof(m->err.message) - n,
             "; the certificate is valid for: %s", m->tls_info.names);
  }
  return st;
}

static mw_status imap_capability(struct mw_imap *m)
{
  caps_clear(&m->caps);
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
  size_t extra = mw__engine_buffered(&m->eng);
  if(extra)
    return mw__error_set(&m->err, MW_E_INJECTION,
                         "the server sent %zu byte%s after its OK to "
                         "STARTTLS, before the TLS handshake: they could be "
                         "an attacker's injected responses, so the session "
                         "was stopped",
                         extra, extra == 1 ? "" : "s");
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
  unsigned port = mw__options_port(&m->opt);
  mw__trace_emit(&m->trace, MW_TRACE_INFO,
                 "IMAP server %s port %u, TLS mode %s%s", m->opt.host, port,
                 mw_tls_mode_name(mode),
                 m->opt.tls_mode == MW_TLS_AUTO ? " (auto, by port)" : "");
  if(m->opt.insecure)
    mw__trace_emit(&m->trace, MW_TRACE_TLS,
                   "WARNING: {insecure}: certificates will NOT be verified");
  struct mw__stack_opts so = {.host = m->opt.host,
                              .port = port,
                              .family = m->opt.family,
                              .dns_server = m->opt.dns_server,
                              .bind = m->opt.bind,
                              .connect_timeout_ms = m->opt.connect_timeout_ms,
                              .proxy_url = m->opt.proxy_url,
                              .proxy_protocol = m->opt.proxy_protocol};
  struct mw__layer *top = NULL;
  mw_status st = mw__stack_open(&so, &m->trace, NULL, NULL, m->peer,
                                sizeof(m->peer), &m->err, &top);
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
