/*
 * proto/pop3.c - the POP3 client session (RFC 1939, 2449 CAPA, 2595 STLS,
 * 5034 SASL, 3206 response codes) as one state machine on the line engine
 * (proto/engine.h): connect, greeting, CAPA, STLS, login, and the step
 * function every operation runs.  The transaction commands are
 * proto/pop3_mail.c's.
 *
 * DESCRIPTION
 *   Every command goes into the engine's queue of awaited responses with
 *   its kind (enum mw__pop3_cmd); pop3_step() reads the server's lines and
 *   hands each to the handler of the command at the head of the queue: the
 *   status line (+OK / -ERR, with an RFC 2449 response code), then, for a
 *   multi-line response, its lines dot-unstuffed up to the lone ".".  The
 *   handlers of the set-up send the next command and change state through
 *   mw__pop3_state(), the only place where the state changes (traced).
 *   The blocking API is mw__engine_run() over pop3_step().
 *
 *   Security rules, each relied on by tests:
 *   - the TLS mode never falls back to plaintext unless it says so
 *     (MW_TLS_AUTO: 995 implicit, any other port STLS required);
 *   - bytes pipelined after the +OK to STLS end the session
 *     (MW_E_INJECTION): they are never read as post-TLS responses; bytes
 *     that nothing asked for (after the greeting, CAPA or the last
 *     response of an operation) are MW_E_PROTOCOL;
 *   - capabilities learnt before TLS are forgotten and CAPA asked again;
 *   - credentials never go over plaintext unless allowed (USER/PASS and
 *     SASL alike); PASS is traced as "PASS <redacted>", SASL payloads as
 *     the driver redacts them, and a server echoing the password gets it
 *     scrubbed from every line (core/scrub.h); APOP is never used;
 *   - a SCRAM or DIGEST-MD5 login succeeds only once the server's proof
 *     verified (proto/sasl_driver.h);
 *   - every line is bounded (MW__POP3_MAX_LINE, MW__POP3_MAX_DATA_LINE),
 *     and every wait by a deadline, a whole RETR included.
 *
 * DIAGNOSTICS
 *   Every failure leaves its detail in p->err (mw_pop3_error()), with the
 *   server's text and response code ("IN-USE", "SYS/TEMP", "AUTH") when a
 *   -ERR was involved; temporary for IN-USE, LOGIN-DELAY and SYS/TEMP.
 */
#include "proto/pop3.h"
#include "proto/session.h"

#include "core/util.h"
#include "net/resolve.h"
#include "net/stack.h"
#include "proto/reply.h"

#include <stdio.h>
#include <string.h>

static const char *const pop3_state_names[POP3_STATE_LAST] = {
    "CLOSED", "GREETING", "CAPA", "STLS", "CAPA_TLS", "AUTH",
    "USER",   "PASS",     "READY", "QUIT", "BROKEN"};

void mw__pop3_state(struct mw_pop3 *p, enum mw__pop3_state next)
{
  if(p->state != next)
    mw__trace_emit(&p->trace, MW_TRACE_INFO, "pop3 %s -> %s",
                   pop3_state_names[p->state], pop3_state_names[next]);
  p->state = next;
}

/* ---- session lifetime ------------------------------------------------ */

mw_pop3 *mw_pop3_new(const mw_options *o)
{
  if(!o)
    return NULL;
  struct mw_pop3 *p = mw__calloc(1, sizeof(*p));
  if(!p)
    return NULL;
  /* The client speaks POP3 whatever the options' protocol says: its
   * ports (995 / 110) and what MW_TLS_AUTO means follow. */
  if(!mw__session_setup(&p->opt, o, MW_PROTOCOL_POP3, &p->trace,
                        &p->scrub)) {
    mw__free(p);
    return NULL;
  }
  mw__capa_init(&p->capa);
  mw__sbuf_init(&p->capa_text);
  mw__sbuf_init(&p->sasl_line);
  mw__engine_init(&p->eng, "POP3", MW__POP3_MAX_LINE, 0, &p->err, &p->trace,
                  &p->scrub);
  p->err.status = MW_OK;
  p->chunk = mw__malloc(MW__POP3_CHUNK);
  if(!p->chunk) {
    mw_pop3_free(p);
    return NULL;
  }
  return p;
}

static void pop3_close(struct mw_pop3 *p)
{
  bool open = mw__engine_is_open(&p->eng);
  if(open && p->tls && p->state != POP3_BROKEN)
    mw__tls_shutdown(p->tls);
  mw__engine_close(&p->eng);
  if(open)
    mw__trace_emit(&p->trace, MW_TRACE_NET, "connection closed");
  mw__tls_free(p->tls);
  p->tls = NULL;
  p->in_body = false;
  mw__engine_set_data_lines(&p->eng, false);
  p->eng.max_line = MW__POP3_MAX_LINE;
}

void mw_pop3_free(mw_pop3 *p)
{
  if(!p)
    return;
  pop3_close(p);
  mw__engine_free(&p->eng);
  mw__capa_clear(&p->capa);
  mw__sbuf_free(&p->capa_text);
  mw__sbuf_free(&p->sasl_line);
  mw__scrub_free(&p->scrub);
  mw__free(p->greeting);
  mw__free(p->list);
  mw__free(p->chunk);
  mw__error_clear(&p->err);
  mw__options_release(&p->opt);
  mw__free(p);
}

const mw_error *mw_pop3_error(const mw_pop3 *p) { return p ? &p->err : NULL; }

mw_status mw__pop3_broken(struct mw_pop3 *p, mw_status st)
{
  pop3_close(p);
  mw__pop3_state(p, POP3_BROKEN);
  return st;
}

void mw__pop3_end(struct mw_pop3 *p)
{
  pop3_close(p);
  mw__pop3_state(p, POP3_CLOSED);
}

mw_status mw__pop3_ready(struct mw_pop3 *p)
{
  mw__error_clear(&p->err);
  if(p->state != POP3_READY)
    return mw__error_set(&p->err, MW_E_STATE,
                         p->state == POP3_BROKEN
                             ? "the POP3 session has failed: free it"
                             : "the POP3 session is not connected");
  p->op_status = MW_OK;
  return MW_OK;
}

/* ---- responses ------------------------------------------------------- */

/* A server line fit for a message: control bytes as '?', at most 60. */
void mw__pop3_shown(const char *line, size_t len, char *out, size_t cap)
{
  size_t n = len < 60 ? len : 60;
  if(n + 4 > cap)
    n = cap - 4;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)line[i];
    out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  memcpy(out + n, len > n ? "..." : "", len > n ? 4 : 1);
}

/* The RFC 2449 response code at the start of text ("[SYS/TEMP] ..."):
 * copied into code (cap bytes) when well-formed, else "". */
void mw__pop3_response_code(const char *text, size_t len, char *code,
                            size_t cap)
{
  code[0] = '\0';
  if(!len || text[0] != '[')
    return;
  size_t i = 1;
  for(; i < len && text[i] != ']'; i++) {
    unsigned char c = (unsigned char)text[i];
    if(c <= 0x20 || c >= 0x7f || i >= cap - 1)
      return;
  }
  if(i >= len || i == 1)
    return;
  memcpy(code, text + 1, i - 1);
  code[i - 1] = '\0';
}

/* RFC 2449 section 8.1.2 and RFC 3206: what may pass with time. */
static bool pop3_code_temporary(const char *code)
{
  return mw__strieq(code, "IN-USE") || mw__strieq(code, "LOGIN-DELAY") ||
         mw__strieq(code, "SYS/TEMP");
}

mw_status mw__pop3_refusal(struct mw_pop3 *p, mw_status st,
                           const char *text, size_t len, const char *fmt,
                           ...)
{
  char what[400], shown[80], code[32];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  mw__pop3_response_code(text, len, code, sizeof(code));
  mw__pop3_shown(text, len, shown, sizeof(shown));
  mw__error_set(&p->err, st, "%s: -ERR %s", what, shown);
  snprintf(p->err.response_code, sizeof(p->err.response_code), "%s", code);
  p->err.temporary = pop3_code_temporary(code);
  mw__free(p->err.server_text);
  p->err.server_text = mw__strndup(text, len);
  return st;
}

/* The status line's verdict: +OK (ok) or -ERR, and the text after it. */
bool mw__pop3_status_line(const char *line, size_t len, bool *ok,
                          const char **text, size_t *tlen)
{
  size_t n;
  if(len >= 3 && memcmp(line, "+OK", 3) == 0 && (len == 3 || line[3] == ' '))
    *ok = true, n = 3;
  else if(len >= 4 && memcmp(line, "-ERR", 4) == 0 &&
          (len == 4 || line[4] == ' '))
    *ok = false, n = 4;
  else
    return false;
  if(n < len)
    n++;
  *text = line + n;
  *tlen = len - n;
  return true;
}

static const char *const pop3_cmd_names[POP3_CMD_LAST] = {
    "the greeting", "CAPA", "STLS", "USER", "PASS", "STAT", "LIST",
    "UIDL",         "RETR", "TOP",  "DELE", "RSET", "NOOP", "QUIT"};

mw_status mw__pop3_send(struct mw_pop3 *p, enum mw__pop3_cmd kind,
                        uintptr_t arg, int secret_from, const char *fmt, ...)
{
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  /* RFC 2449 section 4: a command is at most 255 octets with CRLF. */
  if(n < 0 || n > 253) {
    mw__wipe(line, sizeof(line));
    return mw__error_set(&p->err, MW_E_INVALID,
                         "the %s command would be longer than POP3's 255 "
                         "octets",
                         pop3_cmd_names[kind]);
  }
  if(!mw__engine_outstanding(&p->eng))
    p->rearm = true;
  const struct mw__engine_cmd cmd = {.kind = (int)kind, .arg = arg};
  mw_status st = mw__engine_command(&p->eng, &cmd, secret_from, "%s", line);
  mw__wipe(line, sizeof(line));
  return st;
}

/* ---- TLS --------------------------------------------------------------- */

static mw_status pop3_tls(struct mw_pop3 *p, unsigned ms, bool implicit)
{
  mw_status st = mw__session_start_tls_report(
      &p->eng, &p->opt, p->tls_report_only, &p->trace, &p->err, ms, &p->tls,
      &p->tls_info);
  if(st == MW_E_TLS && implicit &&
          p->err.tls_failure == MW__TLS_FAIL_PLAINTEXT) {
    mw__error_set(&p->err, MW_E_TLS,
                  "the TLS handshake failed: the server answered in "
                  "plaintext, not TLS; this port likely expects STLS (use "
                  "{tls=starttls}, usually on port 110)");
    p->err.tls_failure = MW__TLS_FAIL_PLAINTEXT;
  }
  else if(st == MW_E_TIMEOUT && implicit) {
    mw__error_set(&p->err, MW_E_TIMEOUT,
                  "no TLS handshake reply within %.1f s: the port may "
                  "expect plaintext first (try {tls=starttls}, usually on "
                  "port 110)",
                  ms / 1000.0);
  }
  return st;
}

unsigned mw__pop3_cmd_ms(const struct mw_pop3 *p)
{
  return p->opt.command_timeout_ms ? p->opt.command_timeout_ms
                                   : MW__POP3_COMMAND_MS;
}

/* The capabilities as one line, for messages. */
const char *mw__pop3_capa_summary(const struct mw_pop3 *p, char *buf,
                                  size_t len)
{
  size_t used = 0;
  buf[0] = '\0';
  for(size_t i = 0; i < p->capa.count && used + 2 < len; i++) {
    int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "",
                     p->capa.items[i].keyword);
    if(n < 0)
      break;
    used += (size_t)n;
  }
  if(!p->capa.count)
    snprintf(buf, len, "%s", p->capa_ok ? "(nothing)" : "(no CAPA)");
  return buf;
}

/* ---- the set-up's handlers ------------------------------------------ */

/* Nothing may be waiting that no command asked for: a server (or a man
 * in the middle) sending ahead is trying to answer commands not yet
 * sent. */
static mw_status pop3_expect_quiet(struct mw_pop3 *p, const char *after)
{
  size_t extra = mw__engine_buffered(&p->eng);
  if(!extra)
    return MW_OK;
  return mw__error_set(&p->err, MW_E_PROTOCOL,
                       "the server sent %zu unsolicited byte%s after %s",
                       extra, extra == 1 ? "" : "s", after);
}

static mw_status pop3_on_greeting(struct mw_pop3 *p, bool ok,
                                  const char *text, size_t len)
{
  if(!ok)
    return mw__pop3_refusal(p, MW_E_REJECTED, text, len,
                            "the server refused the connection in its "
                            "greeting");
  mw__free(p->greeting);
  p->greeting = mw__strndup(text, len);
  if(!p->greeting)
    return mw__error_set(&p->err, MW_E_NOMEM, NULL);
  mw_status st = pop3_expect_quiet(p, "its greeting");
  if(st)
    return st;
  mw__pop3_state(p, POP3_CAPA);
  return mw__pop3_send(p, POP3_CMD_CAPA, 0, -1, "CAPA");
}

/* CAPA answered (or refused: a server from before RFC 2449). */
static mw_status pop3_after_capa(struct mw_pop3 *p)
{
  mw_status st = pop3_expect_quiet(p, "its CAPA response");
  if(st || p->state == POP3_CAPA_TLS)
    return st ? st : mw__pop3_login(p);
  mw_tls_mode mode = mw__options_tls_mode(&p->opt);
  if(mode != MW_TLS_STARTTLS && mode != MW_TLS_STARTTLS_OPTIONAL)
    return mw__pop3_login(p);
  /* A server without CAPA may still know STLS: ask. */
  if(p->capa_ok && !mw__capa_has(&p->capa, "STLS")) {
    char caps[512];
    if(mode == MW_TLS_STARTTLS)
      return mw__error_set(
          &p->err, MW_E_NO_STARTTLS,
          "the server does not offer STLS (it offers: %s); nothing was "
          "sent. Use {tls=implicit} if the server has an implicit-TLS port "
          "(usually 995); {tls=starttls-optional} or none would log in in "
          "clear",
          mw__pop3_capa_summary(p, caps, sizeof(caps)));
    mw__trace_emit(&p->trace, MW_TRACE_TLS,
                   "WARNING: the server does not offer STLS; continuing "
                   "WITHOUT encryption ({tls=starttls-optional})");
    return mw__pop3_login(p);
  }
  mw__pop3_state(p, POP3_STLS);
  return mw__pop3_send(p, POP3_CMD_STLS, 0, -1, "STLS");
}

static mw_status pop3_on_stls(struct mw_pop3 *p, bool ok, const char *text,
                              size_t len)
{
  mw_tls_mode mode = mw__options_tls_mode(&p->opt);
  if(!ok) {
    if(mode == MW_TLS_STARTTLS)
      return mw__pop3_refusal(p, MW_E_NO_STARTTLS, text, len,
                              "the server refused STLS; nothing was sent");
    mw__trace_emit(&p->trace, MW_TRACE_TLS,
                   "WARNING: STLS refused; continuing WITHOUT encryption "
                   "({tls=starttls-optional})");
    return mw__pop3_login(p);
  }
  mw_status st = mw__session_no_injection(&p->eng, &p->err,
                                          "its +OK to STLS");
  if(st)
    return st;
  st = pop3_tls(p, mw__pop3_cmd_ms(p), false);
  if(st)
    return st;
  /* Forget everything learnt in plaintext (RFC 2595 section 4). */
  mw__capa_clear(&p->capa);
  p->capa_ok = false;
  mw__pop3_state(p, POP3_CAPA_TLS);
  return mw__pop3_send(p, POP3_CMD_CAPA, 0, -1, "CAPA");
}

/* The status line of the command at the head (already answered unless a
 * multi-line body follows). */
static mw_status pop3_on_status(struct mw_pop3 *p,
                                const struct mw__engine_cmd *cmd, bool ok,
                                const char *text, size_t len)
{
  switch((enum mw__pop3_cmd)cmd->kind) {
  case POP3_CMD_GREETING:
    return pop3_on_greeting(p, ok, text, len);
  case POP3_CMD_CAPA:
    p->capa_ok = ok;
    mw__sbuf_reset(&p->capa_text);
    mw__capa_clear(&p->capa);
    return ok ? MW_OK : pop3_after_capa(p);
  case POP3_CMD_STLS:
    return pop3_on_stls(p, ok, text, len);
  case POP3_CMD_USER:
    if(!ok)
      return mw__pop3_login_refused(p, text, len, "USER");
    mw__pop3_state(p, POP3_PASS);
    return mw__pop3_send(p, POP3_CMD_PASS, 0, 5, "PASS %s", p->opt.password);
  case POP3_CMD_PASS:
    if(!ok)
      return mw__pop3_login_refused(p, text, len, "USER");
    p->auth_mech = "USER";
    mw__trace_emit(&p->trace, MW_TRACE_INFO, "authenticated as %s with "
                   "USER/PASS", p->opt.user);
    mw__pop3_state(p, POP3_READY);
    return MW_OK;
  default:
    return mw__pop3_mail_status(p, cmd, ok, text, len);
  }
}

static mw_status pop3_on_end(struct mw_pop3 *p,
                             const struct mw__engine_cmd *cmd)
{
  if(cmd->kind != POP3_CMD_CAPA)
    return mw__pop3_mail_end(p, cmd);
  /* The first line of the text is skipped by the EHLO-shaped parser. */
  struct mw__sbuf text;
  mw__sbuf_init(&text);
  bool ok = mw__sbuf_puts(&text, "CAPA\n") &&
            mw__sbuf_append(&text, p->capa_text.data ? p->capa_text.data : "",
                            p->capa_text.len) &&
            mw__capa_parse(&p->capa, text.data);
  mw__sbuf_free(&text);
  mw__sbuf_reset(&p->capa_text);
  if(!ok)
    return mw__error_set(&p->err, MW_E_NOMEM, NULL);
  p->capa.valid = true;
  return pop3_after_capa(p);
}

/* A line that is neither +OK nor -ERR. */
static mw_status pop3_malformed(struct mw_pop3 *p,
                                const struct mw__engine_cmd *cmd,
                                const char *line, size_t len)
{
  char shown[80];
  mw__pop3_shown(line, len, shown, sizeof(shown));
  const char *proto = NULL;
  if(cmd->kind == POP3_CMD_GREETING) {
    if(len >= 4 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' &&
       line[1] <= '9' && line[2] >= '0' && line[2] <= '9' &&
       (line[3] == ' ' || line[3] == '-'))
      proto = "SMTP";
    else
      proto = mw__reply_foreign_protocol(line, len);
    /* "+OKAY" looks like POP3 to that test, but is not a status line. */
    if(proto && strcmp(proto, "POP3") == 0)
      proto = NULL;
  }
  if(proto) {
    mw__error_set(&p->err, MW_E_PROTOCOL,
                  "the server speaks %s, not POP3 (it said \"%s\"): this is "
                  "not a POP3 port; use 110 with {tls=starttls} or 995 with "
                  "{tls=implicit}",
                  proto, shown);
    p->err.foreign_protocol = proto;
    return MW_E_PROTOCOL;
  }
  return mw__error_set(&p->err, MW_E_PROTOCOL,
                       "malformed POP3 response to %s: \"%s\"",
                       pop3_cmd_names[cmd->kind], shown);
}

/* One line for the command at the head of the queue. */
static mw_status pop3_on_line(struct mw_pop3 *p, const char *line,
                              size_t len)
{
  const struct mw__engine_cmd cmd = *mw__engine_head(&p->eng);
  if(p->in_body) {
    if(len == 1 && line[0] == '.') {
      p->in_body = false;
      mw__engine_set_data_lines(&p->eng, false);
      p->eng.max_line = MW__POP3_MAX_LINE;
      mw__engine_answered(&p->eng);
      p->rearm = true;
      return pop3_on_end(p, &cmd);
    }
    if(len && line[0] == '.') { /* RFC 1939 section 3: byte-stuffing */
      line++;
      len--;
    }
    if(cmd.kind == POP3_CMD_CAPA) {
      if(p->capa_text.len + len < 16384 &&
         (!mw__sbuf_append(&p->capa_text, line, len) ||
          !mw__sbuf_append(&p->capa_text, "\n", 1)))
        return mw__error_set(&p->err, MW_E_NOMEM, NULL);
      return MW_OK;
    }
    return mw__pop3_mail_line(p, &cmd, line, len);
  }
  bool ok = false;
  const char *text = NULL;
  size_t tlen = 0;
  if(!mw__pop3_status_line(line, len, &ok, &text, &tlen))
    return pop3_malformed(p, &cmd, line, len);
  if(ok && mw__pop3_multiline((enum mw__pop3_cmd)cmd.kind)) {
    p->in_body = true;
    p->body_octets = 0;
    if(cmd.kind == POP3_CMD_RETR || cmd.kind == POP3_CMD_TOP) {
      /* Message data: neither scrubbed nor traced, longer lines. */
      mw__engine_set_data_lines(&p->eng, true);
      p->eng.max_line = MW__POP3_MAX_DATA_LINE;
    }
  }
  else {
    mw__engine_answered(&p->eng);
    p->rearm = true;
  }
  return pop3_on_status(p, &cmd, ok, text, tlen);
}

/* ---- the step function and the blocking driver ----------------------- */

static void pop3_arm(struct mw_pop3 *p, enum mw__pop3_cmd kind)
{
  static const char *const waits[POP3_CMD_LAST] = {
      "waiting for the greeting",
      "waiting for the response to CAPA",
      "waiting for the response to STLS",
      "waiting for the response to USER",
      "waiting for the response to PASS",
      "waiting for the response to STAT",
      "waiting for the response to LIST",
      "waiting for the response to UIDL",
      "waiting for a message (RETR)",
      "waiting for a message's top (TOP)",
      "waiting for the response to DELE",
      "waiting for the response to RSET",
      "waiting for the response to NOOP",
      "waiting for the response to QUIT"};
  unsigned ms = mw__pop3_cmd_ms(p);
  if(kind == POP3_CMD_GREETING)
    ms = p->opt.greeting_timeout_ms;
  else if((kind == POP3_CMD_RETR || kind == POP3_CMD_TOP) &&
          !p->opt.command_timeout_ms)
    ms = MW__POP3_DATA_MS;
  else if(kind == POP3_CMD_QUIT && ms > MW__POP3_QUIT_MS)
    ms = MW__POP3_QUIT_MS;
  mw__engine_deadline_in(&p->eng, ms, waits[kind]);
}

static mw_status pop3_step(void *machine, short *want, bool *done)
{
  struct mw_pop3 *p = machine;
  for(;;) {
    mw_status st = mw__pop3_fill_window(p);
    if(st)
      return st;
    const struct mw__engine_cmd *head = mw__engine_head(&p->eng);
    if(!head) {
      /* Everything asked was answered.  Anything more the server sent
       * would be read as the answer to the next command: a session out
       * of step (or a man in the middle) is stopped here. */
      if(p->state == POP3_READY) {
        st = pop3_expect_quiet(p, "its last response");
        if(st)
          return st;
      }
      st = mw__engine_flush(&p->eng, want);
      *done = !st && !*want;
      return st;
    }
    if(p->rearm) {
      pop3_arm(p, (enum mw__pop3_cmd)head->kind);
      p->rearm = false;
    }
    struct mw__engine_event ev;
    st = mw__engine_next(&p->eng, &ev, want);
    if(st || ev.kind == MW__EV_NONE)
      return st;
    st = pop3_on_line(p, ev.data, ev.len);
    if(st)
      return st;
  }
}

mw_status mw__pop3_run(struct mw_pop3 *p)
{
  p->rearm = true;
  mw_status st = mw__engine_run(&p->eng, pop3_step, p);
  if(!st)
    return p->op_status;
  const struct mw__engine_cmd *head = mw__engine_head(&p->eng);
  if(head && p->in_body &&
     (head->kind == POP3_CMD_RETR || head->kind == POP3_CMD_TOP) &&
     (st == MW_E_CLOSED || st == MW_E_TIMEOUT || st == MW_E_PROTOCOL)) {
    unsigned number = (unsigned)(p->batch ? p->batch[head->arg] : head->arg);
    char was[sizeof(p->err.message)];
    snprintf(was, sizeof(was), "%s", p->err.message);
    mw__error_set(&p->err, st,
                  st == MW_E_CLOSED ? "the server closed the connection in "
                                      "the middle of message %u, after %llu "
                                      "octets of it (%s)"
                  : st == MW_E_TIMEOUT
                      ? "message %u did not end in time: %llu octets "
                        "arrived (%s)"
                      : "message %u cannot be read: after %llu octets, %s "
                        "(message lines are accepted up to 65536 octets; "
                        "RFC 5322 allows 998)",
                  number, (unsigned long long)p->body_octets, was);
  }
  else if(head && head->kind == POP3_CMD_GREETING) {
    mw_tls_mode mode = mw__options_tls_mode(&p->opt);
    if(st == MW_E_TIMEOUT)
      mw__error_set(&p->err, MW_E_TIMEOUT,
                    "no greeting from the server within %.1f s%s",
                    p->opt.greeting_timeout_ms / 1000.0,
                    mode == MW_TLS_IMPLICIT
                        ? ""
                        : ": a silent server usually means the port expects "
                          "implicit TLS (try {tls=implicit}, usually on port "
                          "995), or the server is overloaded");
    else if(st == MW_E_CLOSED)
      mw__error_set(&p->err, MW_E_CLOSED,
                    "the server closed the connection before greeting%s",
                    mode == MW_TLS_IMPLICIT
                        ? ""
                        : " (a port that expects implicit TLS may do this; "
                          "try {tls=implicit})");
  }
  return mw__pop3_broken(p, st);
}

/* ---- connecting ------------------------------------------------------- */

/* The session on a connected stack: implicit TLS, greeting, CAPA, STLS,
 * login.  Takes ownership of top. */
static mw_status pop3_setup(struct mw_pop3 *p, struct mw__layer *top,
                            mw_tls_mode mode)
{
  mw__engine_attach(&p->eng, top);
  if(mode == MW_TLS_IMPLICIT) {
    mw_status st = pop3_tls(p, p->opt.greeting_timeout_ms, true);
    if(st)
      return mw__pop3_broken(p, st);
  }
  mw__pop3_state(p, POP3_GREETING);
  const struct mw__engine_cmd greeting = {.kind = POP3_CMD_GREETING};
  mw_status st = mw__engine_expect(&p->eng, &greeting);
  if(!st)
    st = mw__pop3_run(p);
  else
    st = mw__pop3_broken(p, st);
  if(!st && p->state != POP3_READY) /* cannot happen: said, not assumed */
    st = mw__pop3_broken(p, mw__error_set(&p->err, MW_E_INTERNAL,
                                          "POP3 set-up ended in state %s",
                                          pop3_state_names[p->state]));
  return st;
}

static mw_status pop3_begin(struct mw_pop3 *p, mw_tls_mode *mode)
{
  mw__error_clear(&p->err);
  if(p->state != POP3_CLOSED)
    return mw__error_set(&p->err, MW_E_STATE,
                         "the session is already connected or has failed");
  *mode = mw__options_tls_mode(&p->opt);
  if(*mode == MW_TLS_DETECT)
    return mw__error_set(&p->err, MW_E_INVALID,
                         "{tls=detect} probes SMTP ports only; give POP3 a "
                         "TLS mode ({tls=implicit} on 995, {tls=starttls} "
                         "on 110)");
  mw__trace_start(&p->trace);
  p->op_status = MW_OK;
  p->capa_ok = false;
  p->auth_mech = NULL;
  return MW_OK;
}

mw_status mw__pop3_connect_over(struct mw_pop3 *p, struct mw__layer *top)
{
  if(!p || !top)
    return MW_E_INVALID;
  mw_tls_mode mode;
  mw_status st = pop3_begin(p, &mode);
  if(st)
    return st;
  snprintf(p->peer, sizeof(p->peer), "%s", "memory");
  return pop3_setup(p, top, mode);
}

static mw_status pop3_connect_once(struct mw_pop3 *p);

/* As SMTP does: a minimum TLS version the server cannot do is, unless
 * {tls-strict}, a reason to retry once with the default minimum (TLS
 * 1.2, never lower), said loudly in the trace. */
mw_status mw_pop3_connect(mw_pop3 *p)
{
  if(!p)
    return MW_E_INVALID;
  mw_status st = pop3_connect_once(p);
  if(st != MW_E_TLS || !p->opt.tls_min || p->opt.tls_strict ||
     p->err.tls_failure != MW__TLS_FAIL_VERSION)
    return st;
  mw__trace_emit(&p->trace, MW_TRACE_TLS,
                 "WARNING: the server cannot do TLS %s; retrying with TLS "
                 "1.2 allowed (use {tls-strict} to refuse)",
                 p->opt.tls_min == MW_TLS_VERSION_1_3 ? "1.3" : "1.2");
  p->opt.tls_min = MW_TLS_VERSION_DEFAULT;
  p->state = POP3_CLOSED;
  return pop3_connect_once(p);
}

static mw_status pop3_connect_once(struct mw_pop3 *p)
{
  mw_tls_mode mode;
  mw_status st = pop3_begin(p, &mode);
  if(st)
    return st;
  if(!p->opt.host)
    return mw__error_set(&p->err, MW_E_INVALID, "no server given");
  struct mw__layer *top = NULL;
  st = mw__session_open(&p->opt, "POP3", &p->trace, NULL, NULL, p->peer,
                        sizeof(p->peer), &p->err, &top);
  if(st)
    return mw__pop3_broken(p, st);
  return pop3_setup(p, top, mode);
}

/* ---- facts ------------------------------------------------------------- */

bool mw_pop3_has_capability(const mw_pop3 *p, const char *keyword)
{
  return p && keyword && mw__capa_has(&p->capa, keyword);
}

bool mw_pop3_is_encrypted(const mw_pop3 *p) { return p && p->tls; }

const char *mw_pop3_greeting(const mw_pop3 *p)
{
  return p && p->greeting ? p->greeting : "";
}

const char *mw_pop3_auth_mechanism(const mw_pop3 *p)
{
  return p ? p->auth_mech : NULL;
}
