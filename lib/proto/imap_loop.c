/*
 * proto/imap_loop.c - the IMAP session's response loop, shared by every
 * command: tags (monotonic), sending a command, the step function that
 * turns the engine's lines and literal bytes into whole responses
 * (proto/imap_parse.h), tagged responses matched against the oldest
 * command awaited (any other tag ends the session), untagged ones kept
 * apart and given to the running command, continuation requests, response
 * codes (RFC 5530) into the error, ALERT and BYE kept; the capabilities in
 * force, and the encoding of mailbox names and flag lists.
 */
#include "proto/imap.h"

#include "core/util.h"

#include <stdarg.h>
#include <string.h>
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
  mw__imap_caps_clear(&m->caps);
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

/* Whether tag was already completed out of order (and forgets it). */
static bool early_take(struct mw_imap *m, uint32_t tag)
{
  for(size_t i = 0; i < m->nearly; i++)
    if(m->early[i] == tag) {
      m->early[i] = m->early[--m->nearly];
      return true;
    }
  return false;
}

/* The completion of the command of tag: forgets it (in order, the engine
 * keeps a queue), with any later ones already completed behind it. */
static mw_status answered(struct mw_imap *m, size_t index, uint32_t tag)
{
  if(index > 0) {
    if(m->nearly == m->capearly) {
      size_t cap = m->capearly ? m->capearly * 2 : 8;
      uint32_t *n = mw__realloc(m->early, cap * sizeof(*n));
      if(!n)
        return mw__error_set(&m->err, MW_E_NOMEM, NULL);
      m->early = n;
      m->capearly = cap;
    }
    m->early[m->nearly++] = tag;
    return MW_OK;
  }
  mw__engine_answered(&m->eng);
  const struct mw__engine_cmd *h;
  while((h = mw__engine_head(&m->eng)) && early_take(m, h->tag))
    mw__engine_answered(&m->eng);
  return MW_OK;
}

static mw_status on_tagged(struct mw_imap *m, const struct mw__imap_resp *r)
{
  /* Completions come in order, except that a server may complete
   * pipelined commands in another (RFC 9051 5.5): any command awaited,
   * and nothing else, may be completed. */
  const struct mw__engine_cmd *h = NULL;
  size_t index = 0;
  char want[MW__IMAP_TAG_MAX];
  for(; r->tag && (h = mw__engine_awaiting(&m->eng, index)) != NULL;
      index++) {
    snprintf(want, sizeof(want), "A%04u", (unsigned)h->tag);
    if(!strcmp(r->tag, want) && h->kind != IMAP_CMD_GREETING &&
       (index == 0 || h->kind == mw__engine_head(&m->eng)->kind))
      break;
  }
  /* (a command completed twice is not awaited any more) */
  if(!h || early_take(m, h->tag)) {
    const struct mw__engine_cmd *head = mw__engine_head(&m->eng);
    if(head)
      snprintf(want, sizeof(want), "A%04u", (unsigned)head->tag);
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
                         shown, head ? want : "no command");
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
  if(!st)
    st = answered(m, index, tag);
  if(st)
    return st;
  if(r->status.cond != MW__IMAP_COND_OK && kind != IMAP_CMD_AUTHENTICATE &&
     !m->wait.failed) {
    mw_status why = kind == IMAP_CMD_LOGIN     ? MW_E_AUTH
                    : kind == IMAP_CMD_STARTTLS ? MW_E_NO_STARTTLS
                                                : MW_E_REJECTED;
    char what[80];
    snprintf(what, sizeof(what), "the server refused %s", cmd_name(kind));
    m->wait.failed = mw__imap_refusal(m, why, what);
  }
  if(m->wait.all ? mw__engine_outstanding(&m->eng) == 0
                 : tag == m->wait.tag)
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
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *line = n >= 0 ? mw__malloc((size_t)n + 1) : NULL;
  if(!line)
    return mw__error_set(&m->err, MW_E_NOMEM, NULL);
  va_start(ap, fmt);
  vsnprintf(line, (size_t)n + 1, fmt, ap);
  va_end(ap);
  uint32_t tag = 0;
  mw_status st = mw__imap_command(m, kind, &tag, "%s", line);
  mw__free(line);
  if(st)
    return st;
  mw__imap_wait_for(m, tag, false, untagged);
  return mw__imap_run(m);
}

/* ---- encoding helpers --------------------------------------------------- */

bool mw__imap_rev2(const struct mw_imap *m)
{
  /* A server that offers both speaks IMAP4rev1 until told ENABLE
   * IMAP4rev2 (RFC 9051 appendix E), which this client does not send. */
  return mw__imap_has(m, "IMAP4REV2") && !mw__imap_has(m, "IMAP4REV1");
}

static bool utf8_ok(const struct mw_imap *m) { return mw__imap_rev2(m); }

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

