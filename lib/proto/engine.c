/*
 * proto/engine.c - the line engine under every protocol client (see
 * proto/engine.h): non-blocking line and literal framing, the queue of
 * commands awaiting replies, deadlines, the trace, and the blocking
 * driver.
 */
#include "proto/engine.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mw__engine_init(struct mw__engine *e, const char *proto,
                     size_t max_line, size_t scrub_keep,
                     struct mw_error *err, struct mw__trace *trace,
                     struct mw__scrub *scrub)
{
  memset(e, 0, sizeof(*e));
  e->proto = proto;
  e->max_line = max_line;
  e->scrub_keep = scrub_keep;
  e->err = err;
  e->trace = trace;
  e->scrub = scrub;
  e->stream.fd = -1;
  mw__sbuf_init(&e->line);
  e->waiting_for = "waiting for the server";
}

void mw__engine_attach(struct mw__engine *e, struct mw__layer *top)
{
  mw__stream_init(&e->stream, top, e->err);
  e->open = true;
  e->line_ready = false;
  e->literal_left = 0;
  e->data_lines = false;
  mw__sbuf_reset(&e->line);
  e->cmd_head = e->cmd_count = 0;
}

void mw__engine_push(struct mw__engine *e, struct mw__layer *top)
{
  mw__stream_push(&e->stream, top);
}

struct mw__layer *mw__engine_top(const struct mw__engine *e)
{
  return e->open ? e->stream.top : NULL;
}

void mw__engine_close(struct mw__engine *e)
{
  if(e->open)
    mw__stream_close(&e->stream);
  e->open = false;
  e->cmd_head = e->cmd_count = 0;
  e->line_ready = false;
  e->literal_left = 0;
  mw__sbuf_reset(&e->line);
}

void mw__engine_free(struct mw__engine *e)
{
  mw__engine_close(e);
  mw__sbuf_free(&e->line);
  mw__free(e->cmds);
  e->cmds = NULL;
  e->cmd_cap = 0;
}

bool mw__engine_is_open(const struct mw__engine *e) { return e->open; }

int mw__engine_fd(const struct mw__engine *e)
{
  return e->open ? e->stream.fd : -1;
}

size_t mw__engine_buffered(const struct mw__engine *e)
{
  return e->open ? mw__stream_buffered(&e->stream) : 0;
}

uint64_t mw__engine_bytes_in(const struct mw__engine *e)
{
  return e->stream.bytes_in;
}

uint64_t mw__engine_bytes_out(const struct mw__engine *e)
{
  return e->stream.bytes_out;
}

/* ---- the commands awaiting replies ------------------------------------ */

mw_status mw__engine_expect(struct mw__engine *e,
                            const struct mw__engine_cmd *cmd)
{
  if(e->cmd_count == e->cmd_cap) {
    size_t cap = e->cmd_cap ? e->cmd_cap * 2 : 16;
    struct mw__engine_cmd *n = mw__calloc(cap, sizeof(*n));
    if(!n)
      return mw__error_set(e->err, MW_E_NOMEM, NULL);
    /* Unroll the ring into the new array, oldest first. */
    for(size_t i = 0; i < e->cmd_count; i++)
      n[i] = e->cmds[(e->cmd_head + i) % e->cmd_cap];
    mw__free(e->cmds);
    e->cmds = n;
    e->cmd_cap = cap;
    e->cmd_head = 0;
  }
  e->cmds[(e->cmd_head + e->cmd_count) % e->cmd_cap] = *cmd;
  e->cmd_count++;
  return MW_OK;
}

const struct mw__engine_cmd *mw__engine_head(const struct mw__engine *e)
{
  return mw__engine_awaiting(e, 0);
}

const struct mw__engine_cmd *mw__engine_awaiting(const struct mw__engine *e,
                                                 size_t n)
{
  if(n >= e->cmd_count)
    return NULL;
  return &e->cmds[(e->cmd_head + n) % e->cmd_cap];
}

void mw__engine_answered(struct mw__engine *e)
{
  if(!e->cmd_count)
    return;
  e->cmd_head = (e->cmd_head + 1) % e->cmd_cap;
  e->cmd_count--;
}

size_t mw__engine_outstanding(const struct mw__engine *e)
{
  return e->cmd_count;
}

/* ---- sending --------------------------------------------------------- */

mw_status mw__engine_command(struct mw__engine *e,
                             const struct mw__engine_cmd *cmd,
                             int secret_from, const char *fmt, ...)
{
  if(!e->open)
    return mw__error_set(e->err, MW_E_STATE, "the connection is closed");
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  /* A command line fits on the stack (no allocation per command); only
   * an unusually long one (a long SASL response) is allocated. */
  char stack[1024];
  char *line = n < 0                               ? NULL
               : (size_t)n + 3 <= sizeof(stack) ? stack
                                                  : mw__malloc((size_t)n + 3);
  if(!line)
    return mw__error_set(e->err, MW_E_NOMEM, NULL);
  va_start(ap, fmt);
  vsnprintf(line, (size_t)n + 1, fmt, ap);
  va_end(ap);
  bool secret = secret_from >= 0;
  mw_status st = MW_OK;
  /* Defence in depth: no caller may smuggle a line break (or a NUL that
   * would cut the line short) into a command. */
  if(memchr(line, '\r', (size_t)n) || memchr(line, '\n', (size_t)n) ||
     strlen(line) != (size_t)n) {
    st = mw__error_set(e->err, MW_E_INVALID,
                       "refused to send a command containing a line break");
    goto done;
  }
  if(secret && secret_from <= n) {
    mw__trace_emit(e->trace, MW_TRACE_OUT, "%.*s<redacted>", secret_from,
                   line);
    /* Whatever the server says from now on must not echo it. */
    if(e->scrub && !mw__scrub_add_payload(e->scrub, line + secret_from,
                                          (size_t)(n - secret_from))) {
      st = mw__error_set(e->err, MW_E_NOMEM, NULL);
      goto done;
    }
  }
  else
    mw__trace_emit_n(e->trace, MW_TRACE_OUT, line, (size_t)n);
  memcpy(line + n, "\r\n", 3);
  if(!mw__stream_queue(&e->stream, line, (size_t)n + 2)) {
    st = mw__error_set(e->err, MW_E_NOMEM, NULL);
    goto done;
  }
  if(cmd)
    st = mw__engine_expect(e, cmd);
done:
  if(line == stack)
    mw__wipe(stack, (size_t)n + 3);
  else if(secret)
    mw__free_secret(line);
  else
    mw__free(line);
  return st;
}

mw_status mw__engine_queue_raw(struct mw__engine *e, const void *data,
                               size_t len)
{
  if(!e->open)
    return mw__error_set(e->err, MW_E_STATE, "the connection is closed");
  if(!mw__stream_queue(&e->stream, data, len))
    return mw__error_set(e->err, MW_E_NOMEM, NULL);
  return MW_OK;
}

size_t mw__engine_queued(const struct mw__engine *e)
{
  return mw__stream_queued(&e->stream);
}

mw_status mw__engine_flush(struct mw__engine *e, short *want)
{
  *want = 0;
  if(!mw__stream_queued(&e->stream))
    return MW_OK;
  if(!e->open)
    return mw__error_set(e->err, MW_E_STATE, "the connection is closed");
  return mw__stream_try_flush(&e->stream, want);
}

/* ---- receiving -------------------------------------------------------- */

void mw__engine_expect_literal(struct mw__engine *e, uint64_t len)
{
  e->literal_left = len;
}

void mw__engine_set_data_lines(struct mw__engine *e, bool on)
{
  e->data_lines = on;
}

static mw_status engine_line_too_long(struct mw__engine *e)
{
  mw__error_set(e->err, MW_E_PROTOCOL,
                "the server sent a line longer than %zu bytes", e->max_line);
  e->err->protocol_failure = MW__PROTO_FAIL_LINE_TOO_LONG;
  return MW_E_PROTOCOL;
}

/* Takes one line out of the buffered bytes into e->line: true when a
 * whole line is there. */
static mw_status engine_cut_line(struct mw__engine *e, bool *whole)
{
  *whole = false;
  size_t avail = 0;
  const char *start = mw__stream_peek(&e->stream, &avail);
  if(!avail)
    return MW_OK;
  const char *nl = memchr(start, '\n', avail);
  size_t take = nl ? (size_t)(nl - start) : avail;
  if(e->line.len + take > e->max_line + 1) /* +1: a CR before the LF */
    return engine_line_too_long(e);
  if(!mw__sbuf_append(&e->line, start, take))
    return mw__error_set(e->err, MW_E_NOMEM, NULL);
  mw__stream_consume(&e->stream, take + (nl ? 1 : 0));
  if(!nl)
    return MW_OK;
  if(e->line.len && e->line.data[e->line.len - 1] == '\r')
    e->line.data[--e->line.len] = '\0';
  if(e->line.len > e->max_line)
    return engine_line_too_long(e);
  *whole = true;
  return MW_OK;
}

/* A whole line has been cut: scrub it, trace it and hand it out. */
static mw_status engine_deliver_line(struct mw__engine *e,
                                     struct mw__engine_event *ev)
{
  if(!e->data_lines) {
    /* Before anything sees the line: a server that echoes the password or
     * a SASL payload must not get it into the trace, a reply or an
     * error (core/scrub.h). */
    if(e->scrub && mw__scrub_line(e->scrub, &e->line, e->scrub_keep) < 0)
      return mw__error_set(e->err, MW_E_NOMEM, NULL);
    mw__trace_emit_n(e->trace, MW_TRACE_IN, e->line.data, e->line.len);
  }
  e->line_ready = true;
  ev->kind = MW__EV_LINE;
  ev->data = e->line.data ? e->line.data : "";
  ev->len = e->line.len;
  ev->remaining = 0;
  return MW_OK;
}

mw_status mw__engine_next(struct mw__engine *e, struct mw__engine_event *ev,
                          short *want)
{
  memset(ev, 0, sizeof(*ev));
  *want = 0;
  if(!e->open)
    return mw__error_set(e->err, MW_E_STATE, "the connection is closed");
  if(e->line_ready) { /* the previous event's line is consumed now */
    mw__sbuf_reset(&e->line);
    e->line_ready = false;
  }
  short wflush = 0;
  mw_status st = mw__engine_flush(e, &wflush);
  if(st)
    return st;
  for(;;) {
    size_t avail = 0;
    const char *data = mw__stream_peek(&e->stream, &avail);
    if(e->literal_left && avail) {
      size_t n = avail;
      if((uint64_t)n > e->literal_left)
        n = (size_t)e->literal_left;
      mw__stream_consume(&e->stream, n);
      e->literal_left -= n;
      ev->kind = MW__EV_BYTES;
      ev->data = data;
      ev->len = n;
      ev->remaining = e->literal_left;
      return MW_OK;
    }
    if(!e->literal_left && avail) {
      bool whole = false;
      st = engine_cut_line(e, &whole);
      if(st)
        return st;
      if(whole)
        return engine_deliver_line(e, ev);
    }
    size_t got = 0;
    short w = 0;
    st = mw__stream_try_fill(&e->stream, &got, &w);
    if(st) {
      if(st == MW_E_CLOSED && e->line.len)
        return mw__error_set(e->err, MW_E_CLOSED,
                             "the server closed the connection in the "
                             "middle of a line");
      if(st == MW_E_CLOSED && e->literal_left)
        return mw__error_set(e->err, MW_E_CLOSED,
                             "the server closed the connection with %llu "
                             "bytes of a literal still to come",
                             (unsigned long long)e->literal_left);
      return st;
    }
    if(!got) {
      *want = (short)(w | wflush);
      return MW_OK;
    }
  }
}

/* ---- deadlines and the blocking driver -------------------------------- */

void mw__engine_deadline_in(struct mw__engine *e, unsigned ms,
                            const char *what)
{
  e->deadline = mw__now_ms() + ms;
  if(what)
    e->waiting_for = what;
}

void mw__engine_deadline_at(struct mw__engine *e, int64_t at,
                            const char *what)
{
  e->deadline = at;
  if(what)
    e->waiting_for = what;
}

mw_status mw__engine_timed_out(struct mw__engine *e)
{
  return mw__error_set(e->err, MW_E_TIMEOUT, "timed out %s",
                       e->waiting_for ? e->waiting_for : "");
}

mw_status mw__engine_run(struct mw__engine *e, mw__engine_step_fn step,
                         void *machine)
{
  for(;;) {
    short want = 0;
    bool done = false;
    mw_status st = step(machine, &want, &done);
    if(st || done)
      return st;
    if(!want)
      continue; /* progress without a wait: step again */
    int fd = mw__engine_fd(e);
    if(fd < 0 || !e->deadline)
      return mw__engine_timed_out(e);
    st = mw__layer_wait(mw__engine_top(e), want, e->deadline, e->err,
                        e->waiting_for ? e->waiting_for : "");
    if(st)
      return st;
  }
}
