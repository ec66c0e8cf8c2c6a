/*
 * proto/smtp_machine.c - the SMTP client's state machine on the line
 * engine (proto/engine.h): the one transition function, the senders'
 * common path, reading replies and matching them to the command awaiting
 * them, the step function, and what a failure means in each state.
 *
 * DESCRIPTION
 *   mw__smtp_go() is the only place where s->sm changes.  It records the
 *   transition (s->hist, the observer), notes the connect phase for
 *   doctor's timings, then runs the new state's entry: the sender that
 *   queues its commands (smtp_setup.c, smtp_send.c).
 *
 *   mw__smtp_step() does what it can without waiting: a TLS handshake
 *   state drives the TLS layer's connect step, the BODY state streams the
 *   message, every other state reads lines into a reply and, when one is
 *   complete, hands it to the handler of the command it answers
 *   (mw__engine_head), which decides the next state.  Commands are queued
 *   with their kind (enum mw__smtp_cmd), so pipelined replies find their
 *   command in order.
 *
 *   mw__smtp_run() is the blocking API's loop: mw__engine_run() over the
 *   step until the job's resting state, then, for a failure, what it
 *   means where it happened (a timeout waiting for the greeting, a
 *   connection lost after the final dot, ...).
 *
 * DIAGNOSTICS
 *   Transitions are not written to the session's trace (its output is the
 *   protocol transcript, unchanged); they are kept in s->hist and given to
 *   s->observer.
 */
#include "proto/smtp.h"

#include "core/util.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
#define MW__SMTP_STATE_NAME(name, what) #name,
    MW__SMTP_STATES(MW__SMTP_STATE_NAME)
#undef MW__SMTP_STATE_NAME
};

static const char *const state_whats[] = {
#define MW__SMTP_STATE_WHAT(name, what) what,
    MW__SMTP_STATES(MW__SMTP_STATE_WHAT)
#undef MW__SMTP_STATE_WHAT
};

_Static_assert(sizeof(state_names) / sizeof(state_names[0]) ==
                   MW__SMTP_NSTATES,
               "one name per state");

const char *mw__smtp_state_name(enum mw__smtp_state st)
{
  return (unsigned)st < MW__SMTP_NSTATES ? state_names[st] : "?";
}

const char *mw__smtp_state_what(enum mw__smtp_state st)
{
  return (unsigned)st < MW__SMTP_NSTATES ? state_whats[st] : "?";
}

/* ---- transitions -------------------------------------------------------- */

/* The connect phase a state begins (doctor's timings), or -1. */
static int phase_of(enum mw__smtp_state st)
{
  switch(st) {
  case MW__SMTP_TLS_IMPLICIT:
    return MW__PHASE_TLS_IMPLICIT;
  case MW__SMTP_GREETING:
    return MW__PHASE_GREETING;
  case MW__SMTP_EHLO:
    return MW__PHASE_EHLO;
  case MW__SMTP_STARTTLS:
    return MW__PHASE_STARTTLS;
  case MW__SMTP_EHLO_TLS:
    return MW__PHASE_EHLO_TLS;
  case MW__SMTP_AUTH:
    return MW__PHASE_AUTH;
  case MW__SMTP_READY:
    return MW__PHASE_READY;
  default:
    return -1;
  }
}

mw_status mw__smtp_go(struct mw_smtp *s, enum mw__smtp_state to)
{
  enum mw__smtp_state from = s->sm;
  s->hist[s->nhist % MW__SMTP_HISTORY] = to;
  s->nhist++;
  s->sm = to;
  int ph = phase_of(to);
  if(s->job == MW__SMTP_JOB_CONNECT && ph >= 0 &&
     !(to == MW__SMTP_STARTTLS && s->phase == MW__PHASE_STARTTLS)) {
    s->phase = (enum mw__smtp_phase)ph;
    s->phase_at[ph] = mw__now_ms();
  }
  if(s->observer)
    s->observer(s->observer_user, from, to);
  switch(to) {
  case MW__SMTP_IDLE:
  case MW__SMTP_CAPABILITIES:
  case MW__SMTP_READY:
    return MW_OK;
  case MW__SMTP_CLOSED:
    mw__smtp_close(s, true);
    return MW_OK;
  case MW__SMTP_BROKEN:
    mw__smtp_close(s, false);
    return MW_OK;
  case MW__SMTP_TLS_IMPLICIT:
  case MW__SMTP_GREETING:
  case MW__SMTP_EHLO:
  case MW__SMTP_HELO:
  case MW__SMTP_STARTTLS:
  case MW__SMTP_TLS_STARTTLS:
  case MW__SMTP_EHLO_TLS:
  case MW__SMTP_AUTH:
  case MW__SMTP_QUIT:
    return mw__smtp_enter_setup(s, to);
  default:
    return mw__smtp_enter_txn(s, to);
  }
}

/* ---- senders' common path ------------------------------------------------ */

unsigned mw__smtp_reply_timeout(const struct mw_smtp *s,
                                enum mw__smtp_cmd kind)
{
  switch(kind) {
  case MW__SMTP_CMD_GREETING:
    return s->opt.greeting_timeout_ms;
  case MW__SMTP_CMD_DATA:
    return mw__smtp_cmd_timeout(s, MW__SMTP_DATA_INIT_MS);
  case MW__SMTP_CMD_DOT:
    return s->sm == MW__SMTP_DATA_EMPTY
               ? mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS)
               : mw__smtp_cmd_timeout(s, MW__SMTP_DATA_END_MS);
  case MW__SMTP_CMD_BDAT:
    return mw__smtp_cmd_timeout(s, MW__SMTP_DATA_END_MS);
  case MW__SMTP_CMD_QUIT: {
    unsigned ms = mw__smtp_cmd_timeout(s, MW__SMTP_QUIT_MS);
    return ms > MW__SMTP_QUIT_MS ? MW__SMTP_QUIT_MS : ms;
  }
  default:
    return mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS);
  }
}

/* The wait for the reply at the head of the queue starts now. */
static void await_head(struct mw_smtp *s)
{
  const struct mw__engine_cmd *head = mw__engine_head(&s->eng);
  if(head)
    mw__engine_deadline_in(&s->eng,
                           mw__smtp_reply_timeout(s, (enum mw__smtp_cmd)
                                                         head->kind),
                           "waiting for the server");
}

mw_status mw__smtp_send(struct mw_smtp *s, enum mw__smtp_cmd kind,
                        uintptr_t arg, int secret_from, const char *fmt, ...)
{
  char stack[512];
  char *line = stack;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(stack, sizeof(stack), fmt, ap);
  va_end(ap);
  if(n < 0)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  if((size_t)n >= sizeof(stack)) {
    line = mw__malloc((size_t)n + 1);
    if(!line)
      return mw__error_set(&s->err, MW_E_NOMEM, NULL);
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  struct mw__engine_cmd cmd = {.kind = (int)kind, .arg = arg};
  bool first = mw__engine_outstanding(&s->eng) == 0;
  mw_status st = mw__engine_command(&s->eng, &cmd, secret_from, "%s", line);
  if(line != stack)
    mw__free_secret(line);
  else
    mw__wipe(stack, (size_t)n);
  if(!st && first)
    await_head(s);
  return st;
}

mw_status mw__smtp_expect_quiet(struct mw_smtp *s, const char *after)
{
  size_t extra = mw__engine_buffered(&s->eng);
  if(!extra)
    return MW_OK;
  return mw__error_set(&s->err, MW_E_PROTOCOL,
                       "the server sent %zu unsolicited byte%s after %s",
                       extra, extra == 1 ? "" : "s", after);
}

mw_status mw__smtp_reply_error(struct mw_smtp *s, mw_status st,
                               const struct mw__reply *r, const char *fmt,
                               ...)
{
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  mw__error_set(&s->err, st, "%s: %d%s%s %s", what, r->code,
                r->enhanced[0] ? " " : "", r->enhanced,
                r->text ? r->text : "");
  mw__error_attach_reply(&s->err, r);
  return st;
}

void mw__smtp_close(struct mw_smtp *s, bool polite)
{
  bool open = mw__engine_is_open(&s->eng);
  if(open && s->tls && polite)
    mw__tls_shutdown(s->tls);
  if(open) {
    mw__engine_close(&s->eng);
    mw__trace_emit(&s->trace, MW_TRACE_NET, "connection closed");
  }
  mw__tls_free(s->tls);
  s->tls = NULL;
  mw__tls_free(s->tls_pending);
  s->tls_pending = NULL;
  mw__sasl_exchange_free(s->sasl);
  s->sasl = NULL;
  s->reset_pending = false; /* a new connection starts clean */
  s->quit_after_send = s->quit_sent = false;
}

mw_status mw__smtp_abort(struct mw_smtp *s, mw_status st)
{
  mw__smtp_go(s, MW__SMTP_BROKEN);
  return st;
}

/* ---- replies ------------------------------------------------------------- */

/* A line that is no SMTP reply: maybe another protocol's banner. */
static mw_status bad_reply(struct mw_smtp *s, const char *line, size_t len,
                           const char *why)
{
  char shown[80];
  size_t n = len < 60 ? len : 60;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)line[i];
    shown[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  shown[n] = '\0';
  const char *proto = mw__reply_foreign_protocol(line, len);
  if(proto) {
    mw__error_set(&s->err, MW_E_PROTOCOL,
                  "the server speaks %s, not SMTP (it said \"%s%s\"): "
                  "this is not a mail submission port; use 587 with "
                  "{tls=starttls} or 465 with {tls=implicit}",
                  proto, shown, len > n ? "..." : "");
    s->err.foreign_protocol = proto;
    return MW_E_PROTOCOL;
  }
  return mw__error_set(&s->err, MW_E_PROTOCOL,
                       "malformed reply from the server: %s: \"%s%s\"", why,
                       shown, len > n ? "..." : "");
}

/* Hands a complete reply to the handler of the command it answers. */
static mw_status dispatch(struct mw_smtp *s)
{
  const struct mw__engine_cmd *head = mw__engine_head(&s->eng);
  if(!head)
    return mw__error_set(&s->err, MW_E_PROTOCOL,
                         "the server sent a reply to no command: %d",
                         s->r.code);
  struct mw__engine_cmd cmd = *head;
  mw__engine_answered(&s->eng);
  s->replies++;
  await_head(s);
  mw_status st;
  switch((enum mw__smtp_cmd)cmd.kind) {
  case MW__SMTP_CMD_GREETING:
  case MW__SMTP_CMD_EHLO:
  case MW__SMTP_CMD_HELO:
  case MW__SMTP_CMD_STARTTLS:
  case MW__SMTP_CMD_AUTH:
  case MW__SMTP_CMD_QUIT:
    st = mw__smtp_on_setup_reply(s, &cmd, &s->r);
    break;
  default:
    st = mw__smtp_on_txn_reply(s, &cmd, &s->r);
    break;
  }
  mw__reply_reset(&s->r); /* its buffer kept for the next reply */
  return st;
}

/* Whether the partial line waiting for the greeting in plaintext begins
 * as a TLS record does (alert 0x15, handshake 0x16). */
static bool tls_at_greeting(const struct mw_smtp *s)
{
  const struct mw__sbuf *part = &s->eng.line;
  return s->sm == MW__SMTP_GREETING && !s->tls && part->len && part->data &&
         (part->data[0] == 0x15 || part->data[0] == 0x16);
}

/* Reads lines until a reply is complete and handled, or until it must
 * wait. */
static mw_status read_step(struct mw_smtp *s, short *want)
{
  for(;;) {
    struct mw__engine_event ev;
    mw_status st = mw__engine_next(&s->eng, &ev, want);
    if((st || ev.kind == MW__EV_NONE) && tls_at_greeting(s)) {
      /* A TLS record (alert or handshake) where a 220 was expected. */
      mw__error_set(&s->err, MW_E_PROTOCOL,
                    "the server answered with TLS bytes, not a greeting: "
                    "the port speaks implicit TLS (try {tls=implicit})");
      s->err.protocol_failure = MW__PROTO_FAIL_TLS_BYTES;
      return MW_E_PROTOCOL;
    }
    if(st)
      return st;
    if(ev.kind == MW__EV_NONE) {
      if(mw__engine_queued(&s->eng))
        s->eng.waiting_for = "sending to the server";
      else
        s->eng.waiting_for = "waiting for the server";
      return MW_OK;
    }
    if(ev.kind != MW__EV_LINE)
      continue;
    const char *why = NULL;
    enum mw__reply_feed f = mw__reply_feed(&s->r, ev.data, ev.len, &why);
    if(f == MW__REPLY_BAD)
      return bad_reply(s, ev.data, ev.len, why);
    if(f == MW__REPLY_DONE)
      return dispatch(s);
  }
}

/* ---- the step and the run ------------------------------------------------ */

static bool resting(const struct mw_smtp *s)
{
  switch(s->sm) {
  case MW__SMTP_IDLE:
  case MW__SMTP_CAPABILITIES:
  case MW__SMTP_READY:
  case MW__SMTP_CLOSED:
  case MW__SMTP_BROKEN:
    return true;
  default:
    return false;
  }
}

mw_status mw__smtp_step(void *machine, short *want, bool *done)
{
  struct mw_smtp *s = machine;
  *want = 0;
  *done = false;
  for(;;) {
    if(resting(s)) {
      *done = true;
      return MW_OK;
    }
    enum mw__smtp_state before = s->sm;
    size_t moves = s->nhist;
    uint64_t replies = s->replies;
    mw_status st;
    switch(s->sm) {
    case MW__SMTP_TLS_IMPLICIT:
    case MW__SMTP_TLS_STARTTLS:
      st = mw__smtp_tls_step(s, want);
      break;
    case MW__SMTP_BODY:
      st = mw__smtp_body_step(s, want);
      break;
    case MW__SMTP_BDAT: /* a chunk's reply awaited, or the next chunk */
      st = mw__engine_outstanding(&s->eng) ? read_step(s, want)
                                           : mw__smtp_body_step(s, want);
      break;
    default:
      st = read_step(s, want);
      break;
    }
    if(st || *want)
      return st;
    if(s->sm == before && s->nhist == moves && s->replies == replies &&
       !mw__engine_outstanding(&s->eng) && !resting(s))
      /* Nothing awaited, no reply handled and nothing moved: a state that
       * would wait forever (a bug, never a server's doing). */
      return mw__error_set(&s->err, MW_E_STATE,
                           "the SMTP client is stuck in state %s",
                           mw__smtp_state_name(s->sm));
  }
}

/* What a failure means in the state it happened in; the machine ends in
 * BROKEN (or CLOSED after QUIT), and the status to return. */
static mw_status failed(struct mw_smtp *s, mw_status st)
{
  enum mw__smtp_state at = s->sm;
  if(at == MW__SMTP_BROKEN)
    return st; /* a handler decided it, with its message */
  switch(at) {
  case MW__SMTP_TLS_IMPLICIT:
    if(st == MW_E_TIMEOUT)
      mw__error_set(&s->err, MW_E_TIMEOUT,
                    "no TLS handshake reply within %.1f s: the port may "
                    "expect plaintext first (try {tls=starttls}, usually on "
                    "port 587)",
                    s->opt.greeting_timeout_ms / 1000.0);
    break;
  case MW__SMTP_GREETING:
    if(st == MW_E_TIMEOUT)
      mw__error_set(&s->err, MW_E_TIMEOUT,
                    "no greeting from the server within %.1f s%s",
                    s->opt.greeting_timeout_ms / 1000.0,
                    s->mode == MW_TLS_IMPLICIT
                        ? ""
                        : ": a silent server usually means the port expects "
                          "implicit TLS (try {tls=implicit}, usually on port "
                          "465), or the server is overloaded");
    else if(st == MW_E_CLOSED)
      mw__error_set(&s->err, MW_E_CLOSED,
                    "the server closed the connection before greeting%s",
                    s->mode == MW_TLS_IMPLICIT
                        ? ""
                        : " (a port that expects implicit TLS may do this; "
                          "try {tls=implicit})");
    break;
  case MW__SMTP_BODY:
  case MW__SMTP_BDAT:
    /* Never the end of the data after a failure: the server discards an
     * unterminated message when the connection closes. */
    if(s->txn.res)
      s->txn.res->delivery = MW_DELIVERY_NOT_SENT;
    break;
  case MW__SMTP_PIPELINE:
  case MW__SMTP_DATA_END: {
    if(!mw__smtp_end_written(s)) {
      /* The end of the data never left whole (or was never queued: the
       * envelope's batch): the server cannot have the message. */
      if(s->txn.res)
        s->txn.res->delivery = MW_DELIVERY_NOT_SENT;
      break;
    }
    char why[sizeof(s->err.message)];
    snprintf(why, sizeof(why), "%s", s->err.message);
    mw__error_set(&s->err, MW_E_DELIVERY_UNKNOWN,
                  "the connection failed after the message was sent (%s): "
                  "the server may or may not have accepted it",
                  why);
    if(s->txn.res)
      s->txn.res->delivery = MW_DELIVERY_UNKNOWN;
    st = MW_E_DELIVERY_UNKNOWN;
    break;
  }
  case MW__SMTP_RSET:
    if(s->job == MW__SMTP_JOB_SEND) {
      /* The RSET after a refusal failed: the refusal is the answer. */
      mw__error_clear(&s->err);
      s->err = s->txn.saved;
      memset(&s->txn.saved, 0, sizeof(s->txn.saved));
      st = s->job_status;
    }
    break;
  case MW__SMTP_QUIT:
    /* Whatever happens to QUIT loses nothing: every message of the
     * session already has its final reply.  A server that closed first
     * (a 421 idle close, a reset, no close_notify) is only a note. */
    if(st != MW_E_NOMEM) {
      mw__trace_emit(&s->trace, MW_TRACE_INFO,
                     "note: QUIT got no answer (%s); nothing is lost",
                     s->err.message);
      mw__error_clear(&s->err);
      mw__smtp_go(s, MW__SMTP_CLOSED);
      return MW_OK;
    }
    mw__smtp_go(s, MW__SMTP_CLOSED);
    return st;
  default:
    break;
  }
  mw__smtp_go(s, MW__SMTP_BROKEN);
  return st;
}

mw_status mw__smtp_begin(struct mw_smtp *s, enum mw__smtp_job job,
                         enum mw__smtp_state first)
{
  s->job = job;
  s->job_status = MW_OK;
  mw_status st = mw__smtp_go(s, first);
  return st ? mw__smtp_finish(s, st) : MW_OK;
}

mw_status mw__smtp_finish(struct mw_smtp *s, mw_status st)
{
  if(st)
    st = failed(s, st);
  else
    st = s->job_status;
  s->job = MW__SMTP_JOB_NONE;
  return st;
}

mw_status mw__smtp_run(struct mw_smtp *s, enum mw__smtp_job job,
                       enum mw__smtp_state first)
{
  mw_status st = mw__smtp_begin(s, job, first);
  if(st)
    return st;
  return mw__smtp_finish(s, mw__engine_run(&s->eng, mw__smtp_step, s));
}
