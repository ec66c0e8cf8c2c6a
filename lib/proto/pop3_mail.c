/*
 * proto/pop3_mail.c - the POP3 TRANSACTION state (RFC 1939 section 5):
 * STAT, LIST and UIDL merged, RETR and TOP streamed, the pipelined batch
 * of RETRs, DELE, RSET, NOOP and QUIT, and the handlers of their
 * responses, called by the step function of proto/pop3.c.
 *
 * DESCRIPTION
 *   Message data is handed to the caller dot-unstuffed, every line ending
 *   CRLF, in chunks of at most MW__POP3_CHUNK bytes: memory stays constant
 *   whatever the message's size.  The engine neither scrubs nor traces it
 *   (data-lines mode); the trace shows "<message N: X octets>".
 *
 *   A refusal (-ERR) of one command ends the operation with MW_E_REJECTED
 *   but not the session: responses already in flight are still read (and
 *   complete messages still delivered), so the session stays in step.  A
 *   retrieve_many batch sends no more RETRs after a refusal or after the
 *   caller's callback stopped it.
 *
 *   QUIT: RFC 1939 section 6 commits the deletions only in the UPDATE
 *   state, entered on QUIT; mw_pop3_quit() returns MW_OK only when the
 *   server's +OK to QUIT arrived.
 *
 * DIAGNOSTICS
 *   As proto/pop3.c: details in p->err.  A message cut short names its
 *   number and how many octets of it arrived.
 */
#include "proto/pop3.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mw__pop3_multiline(enum mw__pop3_cmd kind)
{
  return kind == POP3_CMD_CAPA || kind == POP3_CMD_LIST ||
         kind == POP3_CMD_UIDL || kind == POP3_CMD_RETR ||
         kind == POP3_CMD_TOP;
}

/* The message number a RETR or TOP is about. */
static unsigned pop3_number(const struct mw_pop3 *p,
                            const struct mw__engine_cmd *cmd)
{
  return (unsigned)(p->batch && cmd->kind == POP3_CMD_RETR
                        ? p->batch[cmd->arg]
                        : cmd->arg);
}

/* The operation failed but the session goes on: the first failure is the
 * one reported. */
static mw_status pop3_op_failed(struct mw_pop3 *p, mw_status st,
                                const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static mw_status pop3_op_failed(struct mw_pop3 *p, mw_status st,
                                const char *fmt, ...)
{
  if(p->op_status)
    return MW_OK;
  va_list ap;
  va_start(ap, fmt);
  mw__error_setv(&p->err, st, fmt, ap);
  va_end(ap);
  p->op_status = st;
  return MW_OK;
}

static mw_status pop3_op_refused(struct mw_pop3 *p,
                                 const struct mw__engine_cmd *cmd,
                                 const char *text, size_t len)
{
  if(p->op_status)
    return MW_OK;
  static const char *const names[POP3_CMD_LAST] = {
      [POP3_CMD_STAT] = "STAT", [POP3_CMD_LIST] = "LIST",
      [POP3_CMD_UIDL] = "UIDL",
      [POP3_CMD_RETR] = "RETR", [POP3_CMD_TOP] = "TOP",
      [POP3_CMD_DELE] = "DELE", [POP3_CMD_RSET] = "RSET",
      [POP3_CMD_NOOP] = "NOOP", [POP3_CMD_QUIT] = "QUIT"};
  const char *name = names[cmd->kind] ? names[cmd->kind] : "a command";
  if(cmd->kind == POP3_CMD_QUIT)
    mw__pop3_refusal(p, MW_E_REJECTED, text, len,
                     "the server could not commit the session's changes "
                     "(-ERR to QUIT): some deletions may not have taken "
                     "effect");
  else if(cmd->kind == POP3_CMD_RETR || cmd->kind == POP3_CMD_TOP ||
          cmd->kind == POP3_CMD_DELE)
    mw__pop3_refusal(p, MW_E_REJECTED, text, len,
                     "the server refused %s of message %u", name,
                     pop3_number(p, cmd));
  else
    mw__pop3_refusal(p, MW_E_REJECTED, text, len, "the server refused %s",
                     name);
  p->op_status = MW_E_REJECTED;
  return MW_OK;
}

/* A decimal number at *s (before end): digits only, no overflow. */
static bool pop3_number_at(const char **s, const char *end, uint64_t max,
                           uint64_t *out)
{
  const char *q = *s;
  uint64_t v = 0;
  if(q >= end || *q < '0' || *q > '9')
    return false;
  for(; q < end && *q >= '0' && *q <= '9'; q++) {
    unsigned d = (unsigned)(*q - '0');
    if(v > (max - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *s = q;
  *out = v;
  return true;
}

/* ---- message data ---------------------------------------------------- */

static mw_status pop3_sink(struct mw_pop3 *p,
                           const struct mw__engine_cmd *cmd, const char *data,
                           size_t len, bool last)
{
  if(p->sink_status)
    return MW_OK;
  mw_status st = MW_OK;
  if(p->many)
    st = p->many(p->user, cmd->arg, data, len, last);
  else if(p->write && len)
    st = p->write(p->user, data, len);
  if(st) {
    p->sink_status = st;
    pop3_op_failed(p, st,
                   "the transfer of message %u was stopped by the caller "
                   "(%s)",
                   pop3_number(p, cmd), mw_status_name(st));
  }
  return MW_OK;
}

mw_status mw__pop3_flush_chunk(struct mw_pop3 *p,
                               const struct mw__engine_cmd *cmd, bool last)
{
  size_t n = p->chunk_len;
  p->chunk_len = 0;
  if(!n && !last)
    return MW_OK;
  return pop3_sink(p, cmd, p->chunk, n, last);
}

static mw_status pop3_data_line(struct mw_pop3 *p,
                                const struct mw__engine_cmd *cmd,
                                const char *line, size_t len)
{
  p->body_octets += len + 2;
  if(p->sink_status)
    return MW_OK; /* the caller stopped: read to the end, keep nothing */
  if(p->chunk_len + len + 2 > MW__POP3_CHUNK)
    mw__pop3_flush_chunk(p, cmd, false);
  if(len + 2 > MW__POP3_CHUNK) { /* a long line goes out as it is */
    pop3_sink(p, cmd, line, len, false);
    memcpy(p->chunk, "\r\n", 2);
    p->chunk_len = 2;
    return MW_OK;
  }
  memcpy(p->chunk + p->chunk_len, line, len);
  memcpy(p->chunk + p->chunk_len + len, "\r\n", 2);
  p->chunk_len += len + 2;
  return MW_OK;
}

mw_status mw__pop3_fill_window(struct mw_pop3 *p)
{
  if(!p->batch)
    return MW_OK;
  while(p->batch_sent < p->batch_count && !p->op_status &&
        mw__engine_outstanding(&p->eng) < p->window) {
    size_t i = p->batch_sent;
    mw_status st = mw__pop3_send(p, POP3_CMD_RETR, i, -1, "RETR %u",
                                 p->batch[i]);
    if(st)
      return st;
    p->batch_sent++;
  }
  return MW_OK;
}

/* ---- LIST and UIDL ---------------------------------------------------- */

static mw_status pop3_list_line(struct mw_pop3 *p, const char *line,
                                size_t len)
{
  const char *s = line, *end = line + len;
  uint64_t n = 0, size = 0;
  if(!pop3_number_at(&s, end, UINT32_MAX, &n) || !n || s >= end ||
     *s != ' ' || (s++, !pop3_number_at(&s, end, UINT64_MAX, &size)) ||
     (s < end && *s != ' '))
    return pop3_op_failed(p, MW_E_PROTOCOL,
                          "malformed line in the LIST response: \"%.*s\"",
                          (int)(len < 60 ? len : 60), line);
  if(p->list_count == p->list_cap) {
    if(p->list_cap >= MW__POP3_MAX_LIST)
      return pop3_op_failed(p, MW_E_PROTOCOL,
                            "the LIST response lists more than %u "
                            "messages",
                            MW__POP3_MAX_LIST);
    size_t cap = p->list_cap ? p->list_cap * 2 : 64;
    mw_pop3_message *grown = mw__realloc(p->list, cap * sizeof(*grown));
    if(!grown)
      return mw__error_set(&p->err, MW_E_NOMEM, NULL);
    p->list = grown;
    p->list_cap = cap;
  }
  mw_pop3_message *m = &p->list[p->list_count++];
  memset(m, 0, sizeof(*m));
  m->number = (unsigned)n;
  m->size = size;
  return MW_OK;
}

static int pop3_by_number(const void *a, const void *b)
{
  unsigned x = ((const mw_pop3_message *)a)->number;
  unsigned y = ((const mw_pop3_message *)b)->number;
  return x < y ? -1 : x > y;
}

static mw_status pop3_uidl_line(struct mw_pop3 *p, const char *line,
                                size_t len)
{
  const char *s = line, *end = line + len;
  uint64_t n = 0;
  bool ok = pop3_number_at(&s, end, UINT32_MAX, &n) && n && s < end &&
            *s == ' ';
  size_t ulen = ok ? (size_t)(end - ++s) : 0;
  ok = ok && ulen >= 1 && ulen <= 70;
  for(size_t i = 0; ok && i < ulen; i++)
    ok = (unsigned char)s[i] >= 0x21 && (unsigned char)s[i] <= 0x7e;
  if(!ok)
    return pop3_op_failed(p, MW_E_PROTOCOL,
                          "malformed line in the UIDL response (RFC 1939: "
                          "a number and 1-70 printable characters): "
                          "\"%.*s\"",
                          (int)(len < 60 ? len : 60), line);
  if(p->uidl_fn) { /* mw_pop3_uidl(): handed on, not kept */
    if(p->sink_status)
      return MW_OK;
    char uid[71];
    memcpy(uid, s, ulen);
    uid[ulen] = '\0';
    mw_status st = p->uidl_fn(p->uidl_user, (unsigned)n, uid);
    if(st) {
      p->sink_status = st;
      pop3_op_failed(p, st, "UIDL was stopped by the caller (%s)",
                     mw_status_name(st));
    }
    return MW_OK;
  }
  /* LIST came first (pipelined or not) and is sorted by now. */
  mw_pop3_message key = {.number = (unsigned)n};
  mw_pop3_message *m = p->list_count
                           ? bsearch(&key, p->list, p->list_count,
                                     sizeof(*p->list), pop3_by_number)
                           : NULL;
  if(m) {
    memcpy(m->uid, s, ulen);
    m->uid[ulen] = '\0';
  }
  return MW_OK;
}

static mw_status pop3_list_end(struct mw_pop3 *p)
{
  if(p->list_count > 1)
    qsort(p->list, p->list_count, sizeof(*p->list), pop3_by_number);
  for(size_t i = 1; i < p->list_count; i++)
    if(p->list[i].number == p->list[i - 1].number)
      return pop3_op_failed(p, MW_E_PROTOCOL,
                            "the LIST response names message %u twice",
                            p->list[i].number);
  if(p->uidl_pending && !p->op_status) {
    p->uidl_pending = false;
    return mw__pop3_send(p, POP3_CMD_UIDL, 0, -1, "UIDL");
  }
  return MW_OK;
}

/* ---- the handlers ------------------------------------------------------ */

mw_status mw__pop3_mail_status(struct mw_pop3 *p,
                               const struct mw__engine_cmd *cmd, bool ok,
                               const char *text, size_t len)
{
  if(cmd->kind == POP3_CMD_UIDL && !ok && p->uidl_fn)
    return pop3_op_refused(p, cmd, text, len); /* asked for alone */
  if(cmd->kind == POP3_CMD_UIDL) {
    if(!ok) /* UIDL is optional (RFC 1939 section 7): uids stay "" */
      mw__trace_emit(&p->trace, MW_TRACE_INFO,
                     "the server does not give unique ids (UIDL refused)");
    return MW_OK;
  }
  if(!ok)
    return pop3_op_refused(p, cmd, text, len);
  if(cmd->kind == POP3_CMD_STAT) {
    const char *s = text, *end = text + len;
    uint64_t count = 0, octets = 0;
    if(!pop3_number_at(&s, end, SIZE_MAX, &count) || s >= end ||
       *s != ' ' || (s++, !pop3_number_at(&s, end, UINT64_MAX, &octets)))
      return pop3_op_failed(p, MW_E_PROTOCOL,
                            "malformed response to STAT (RFC 1939: \"+OK "
                            "count octets\"): \"+OK %.*s\"",
                            (int)(len < 60 ? len : 60), text);
    p->stat_count = (size_t)count;
    p->stat_octets = octets;
  }
  else if(cmd->kind == POP3_CMD_RETR || cmd->kind == POP3_CMD_TOP) {
    p->chunk_len = 0;
  }
  return MW_OK;
}

mw_status mw__pop3_mail_line(struct mw_pop3 *p,
                             const struct mw__engine_cmd *cmd,
                             const char *line, size_t len)
{
  switch((enum mw__pop3_cmd)cmd->kind) {
  case POP3_CMD_LIST:
    return pop3_list_line(p, line, len);
  case POP3_CMD_UIDL:
    return pop3_uidl_line(p, line, len);
  case POP3_CMD_RETR:
  case POP3_CMD_TOP:
    return pop3_data_line(p, cmd, line, len);
  default:
    return MW_OK;
  }
}

mw_status mw__pop3_mail_end(struct mw_pop3 *p,
                            const struct mw__engine_cmd *cmd)
{
  switch((enum mw__pop3_cmd)cmd->kind) {
  case POP3_CMD_LIST:
    return pop3_list_end(p);
  case POP3_CMD_RETR:
  case POP3_CMD_TOP:
    mw__trace_emit(&p->trace, MW_TRACE_IN, "<message %u: %llu octets>",
                   pop3_number(p, cmd),
                   (unsigned long long)p->body_octets);
    return mw__pop3_flush_chunk(p, cmd, true);
  default:
    return MW_OK;
  }
}

/* ---- the public commands ---------------------------------------------- */

static mw_status pop3_simple(struct mw_pop3 *p, enum mw__pop3_cmd kind,
                             unsigned number, const char *verb)
{
  if(!p)
    return MW_E_INVALID;
  mw_status st = mw__pop3_ready(p);
  if(st)
    return st;
  if(number)
    st = mw__pop3_send(p, kind, number, -1, "%s %u", verb, number);
  else
    st = mw__pop3_send(p, kind, 0, -1, "%s", verb);
  return st ? mw__pop3_broken(p, st) : mw__pop3_run(p);
}

mw_status mw_pop3_stat(mw_pop3 *p, size_t *count, uint64_t *octets)
{
  mw_status st = pop3_simple(p, POP3_CMD_STAT, 0, "STAT");
  if(!st) {
    if(count)
      *count = p->stat_count;
    if(octets)
      *octets = p->stat_octets;
  }
  return st;
}

mw_status mw_pop3_list(mw_pop3 *p, const mw_pop3_message **list,
                       size_t *count)
{
  if(!p || !list || !count)
    return MW_E_INVALID;
  *list = NULL;
  *count = 0;
  mw_status st = mw__pop3_ready(p);
  if(st)
    return st;
  p->list_count = 0;
  p->uidl_pending = false;
  bool uidl = !p->capa_ok || mw__capa_has(&p->capa, "UIDL");
  st = mw__pop3_send(p, POP3_CMD_LIST, 0, -1, "LIST");
  if(!st && uidl) {
    if(p->opt.pipelining && mw__capa_has(&p->capa, "PIPELINING"))
      st = mw__pop3_send(p, POP3_CMD_UIDL, 0, -1, "UIDL");
    else
      p->uidl_pending = true;
  }
  if(st)
    return mw__pop3_broken(p, st);
  st = mw__pop3_run(p);
  p->uidl_pending = false;
  if(!st) {
    *list = p->list;
    *count = p->list_count;
  }
  return st;
}

void mw_pop3_list_free(mw_pop3 *p)
{
  if(!p)
    return;
  mw__free(p->list);
  p->list = NULL;
  p->list_count = p->list_cap = 0;
}

mw_status mw_pop3_uidl(mw_pop3 *p, mw_pop3_uidl_fn fn, void *user)
{
  if(!p || !fn)
    return MW_E_INVALID;
  mw_status st = mw__pop3_ready(p);
  if(st)
    return st;
  if(p->capa_ok && !mw__capa_has(&p->capa, "UIDL")) /* as mw_pop3_list() */
    return mw__error_set(&p->err, MW_E_REJECTED,
                         "the server does not offer UIDL (not in its CAPA)");
  p->uidl_fn = fn;
  p->uidl_user = user;
  p->sink_status = MW_OK;
  st = mw__pop3_send(p, POP3_CMD_UIDL, 0, -1, "UIDL");
  st = st ? mw__pop3_broken(p, st) : mw__pop3_run(p);
  p->uidl_fn = NULL;
  p->uidl_user = NULL;
  p->sink_status = MW_OK;
  return st;
}

/* RETR or TOP of one message, or a batch of RETRs, into the sink. */
static mw_status pop3_transfer(struct mw_pop3 *p)
{
  p->sink_status = MW_OK;
  p->chunk_len = 0;
  mw_status st = mw__pop3_run(p);
  p->batch = NULL;
  p->batch_count = p->batch_sent = 0;
  p->write = NULL;
  p->many = NULL;
  p->user = NULL;
  return st;
}

mw_status mw_pop3_retrieve(mw_pop3 *p, unsigned number, mw_write_fn write,
                           void *user)
{
  if(!p || !number || !write)
    return MW_E_INVALID;
  mw_status st = mw__pop3_ready(p);
  if(st)
    return st;
  p->write = write;
  p->user = user;
  st = mw__pop3_send(p, POP3_CMD_RETR, number, -1, "RETR %u", number);
  return st ? mw__pop3_broken(p, st) : pop3_transfer(p);
}

mw_status mw_pop3_top(mw_pop3 *p, unsigned number, unsigned lines,
                      mw_write_fn write, void *user)
{
  if(!p || !number || !write)
    return MW_E_INVALID;
  mw_status st = mw__pop3_ready(p);
  if(st)
    return st;
  p->write = write;
  p->user = user;
  st = mw__pop3_send(p, POP3_CMD_TOP, number, -1, "TOP %u %u", number,
                     lines);
  return st ? mw__pop3_broken(p, st) : pop3_transfer(p);
}

mw_status mw_pop3_retrieve_many(mw_pop3 *p, const unsigned *numbers,
                                size_t count, mw_message_fn fn, void *user)
{
  if(!p || (!numbers && count) || !fn)
    return MW_E_INVALID;
  for(size_t i = 0; i < count; i++)
    if(!numbers[i])
      return MW_E_INVALID;
  mw_status st = mw__pop3_ready(p);
  if(st || !count)
    return st;
  p->batch = numbers;
  p->batch_count = count;
  p->batch_sent = 0;
  p->window = p->opt.pipelining && mw__capa_has(&p->capa, "PIPELINING")
                  ? MW__POP3_WINDOW
                  : 1;
  p->many = fn;
  p->user = user;
  return pop3_transfer(p);
}

mw_status mw_pop3_delete(mw_pop3 *p, unsigned number)
{
  if(!number)
    return MW_E_INVALID;
  return pop3_simple(p, POP3_CMD_DELE, number, "DELE");
}

mw_status mw_pop3_reset(mw_pop3 *p)
{
  return pop3_simple(p, POP3_CMD_RSET, 0, "RSET");
}

mw_status mw_pop3_noop(mw_pop3 *p)
{
  return pop3_simple(p, POP3_CMD_NOOP, 0, "NOOP");
}

mw_status mw_pop3_quit(mw_pop3 *p)
{
  if(!p)
    return MW_E_INVALID;
  mw_status st = mw__pop3_ready(p);
  if(st) {
    /* Without QUIT's +OK nothing was committed (RFC 1939 section 6). */
    if(p->state != POP3_CLOSED)
      mw__pop3_broken(p, st);
    return st;
  }
  mw__pop3_state(p, POP3_QUIT);
  st = mw__pop3_send(p, POP3_CMD_QUIT, 0, -1, "QUIT");
  st = st ? mw__pop3_broken(p, st) : mw__pop3_run(p);
  if(st == MW_E_CLOSED || st == MW_E_TIMEOUT) {
    char was[sizeof(p->err.message)];
    snprintf(was, sizeof(was), "%s", p->err.message);
    mw__error_set(&p->err, st,
                  "no answer to QUIT (%s): whether the server committed "
                  "the deletions is unknown",
                  was);
  }
  /* Closed in every case: the session is over. */
  mw__pop3_end(p);
  return st;
}
