/*
 * proto/imap_msg.c - the IMAP message commands: pipelined UID FETCH of
 * message bodies (streamed to the caller in constant memory) and of
 * summaries (UID FLAGS RFC822.SIZE ENVELOPE), APPEND (a literal out,
 * synchronising or LITERAL+), and IDLE (RFC 2177).
 *
 * DESCRIPTION
 *   Bodies: the parser (proto/imap_parse.h) hands each BODY[] literal to
 *   a sink while it arrives.  The caller's callback must know the UID
 *   before the first chunk: "UID" is requested before "BODY.PEEK[]", so
 *   a server that echoes that order gives the UID first and the body goes
 *   straight through; one that sends the body first has it spooled to an
 *   anonymous temporary file and replayed once the response is complete
 *   and its UID known.  A message is given its last call only when its
 *   FETCH response has been parsed whole.
 */
#include "proto/imap.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- UID FETCH BODY.PEEK[] ----------------------------------------------- */

struct fetch_ctx {
  mw_imap_message_fn fn;
  void *user;
  bool active;   /* a BODY[] of the response being read has begun */
  uint32_t seq;  /* its message sequence number */
  uint32_t uid;  /* known at BEGIN (0: spooled) */
  FILE *spool;
};

static bool fetch_sink(void *ctx, const struct mw__imap_body_chunk *c)
{
  struct mw_imap *m = ctx;
  struct fetch_ctx *f = m->cmd_ctx;
  /* Only the message itself; other body items are not ours. */
  if(strcmp(c->item, "BODY[]") != 0 && strcmp(c->item, "RFC822") != 0)
    return true;
  switch(c->event) {
  case MW__IMAP_BODY_BEGIN:
    if(f->active) {
      m->sink_status = mw__error_set(&m->err, MW_E_PROTOCOL,
                                     "the server sent two message bodies in "
                                     "one FETCH response");
      return false;
    }
    f->active = true;
    f->seq = c->seq;
    f->uid = c->uid;
    if(!f->uid) {
      f->spool = tmpfile();
      if(!f->spool) {
        m->sink_status = mw__error_set(&m->err, MW_E_IO,
                                       "cannot create a temporary file to "
                                       "hold a message whose UID comes after "
                                       "its body");
        return false;
      }
    }
    return true;
  case MW__IMAP_BODY_DATA:
    if(!f->active)
      return true;
    if(f->spool) {
      if(fwrite(c->data, 1, c->len, f->spool) != c->len) {
        m->sink_status = mw__error_set(&m->err, MW_E_IO,
                                       "cannot write the temporary file");
        return false;
      }
      return true;
    }
    if(c->len) {
      mw_status st = f->fn(f->user, f->uid, (const char *)c->data, c->len,
                           false);
      if(st) {
        m->sink_status = mw__error_set(&m->err, st,
                                       "the message callback stopped the "
                                       "fetch");
        return false;
      }
    }
    return true;
  case MW__IMAP_BODY_END:
  default:
    return true;
  }
}

static void fetch_reset(struct fetch_ctx *f)
{
  if(f->spool)
    fclose(f->spool);
  f->spool = NULL;
  f->active = false;
  f->uid = 0;
  f->seq = 0;
}

static mw_status fetch_untagged(struct mw_imap *m,
                                const struct mw__imap_resp *r)
{
  struct fetch_ctx *f = m->cmd_ctx;
  if(r->type != MW__IMAP_T_FETCH || !f->active)
    return MW_OK; /* a flag change or an EXISTS meanwhile */
  uint32_t uid = (r->fetch.has & MW__IMAP_F_UID) ? r->fetch.uid : 0;
  mw_status st = MW_OK;
  if(!uid || r->fetch.seq != f->seq || (f->uid && f->uid != uid))
    st = mw__error_set(&m->err, MW_E_PROTOCOL,
                       "the server sent a message without its UID in the "
                       "response to UID FETCH");
  if(!st && f->spool) {
    /* The UID came after the body: replay it now. */
    char buf[16384];
    rewind(f->spool);
    size_t n;
    while(!st && (n = fread(buf, 1, sizeof(buf), f->spool)) > 0) {
      st = f->fn(f->user, uid, buf, n, false);
      if(st)
        mw__error_set(&m->err, st, "the message callback stopped the fetch");
    }
    if(!st && ferror(f->spool))
      st = mw__error_set(&m->err, MW_E_IO, "cannot read the temporary file");
  }
  if(!st) {
    st = f->fn(f->user, uid, "", 0, true);
    if(st)
      mw__error_set(&m->err, st, "the message callback stopped the fetch");
  }
  fetch_reset(f);
  return st;
}

mw_status mw_imap_fetch(mw_imap *m, const uint32_t *uids, size_t count,
                        mw_imap_message_fn fn, void *user)
{
  if(!m || !fn || (!uids && count))
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, true);
  if(st || !count)
    return st;
  struct fetch_ctx f = {.fn = fn, .user = user};
  m->cmd_ctx = &f;
  m->sink_status = MW_OK;
  mw__imap_parser_set_sink(&m->parser, fetch_sink, m);
  st = mw__imap_uid_commands(m, IMAP_CMD_FETCH, uids, count,
                             MW__IMAP_FETCH_BATCH, "UID FETCH ",
                             " (UID BODY.PEEK[])", fetch_untagged, true);
  mw__imap_parser_set_sink(&m->parser, NULL, NULL);
  fetch_reset(&f);
  m->cmd_ctx = NULL;
  return st;
}

/* ---- UID FETCH summaries ------------------------------------------------- */

struct summary_ctx {
  mw_imap_summary_fn fn;
  void *user;
  mw_status st;
};

static mw_status summary_untagged(struct mw_imap *m,
                                  const struct mw__imap_resp *r)
{
  struct summary_ctx *c = m->cmd_ctx;
  if(r->type != MW__IMAP_T_FETCH || !(r->fetch.has & MW__IMAP_F_UID) ||
     c->st)
    return MW_OK;
  const struct mw__imap_fetch *f = &r->fetch;
  struct mw__sbuf flags, from;
  mw__sbuf_init(&flags);
  mw__sbuf_init(&from);
  bool ok = mw__sbuf_puts(&flags, "") && mw__sbuf_puts(&from, "");
  for(size_t i = 0; ok && i < f->flags.n; i++)
    ok = mw__sbuf_printf(&flags, "%s%s", i ? " " : "", f->flags.v[i]);
  if(ok && (f->has & MW__IMAP_F_ENVELOPE) && f->env.from.n) {
    const struct mw__imap_addr *a = &f->env.from.v[0];
    const char *mb = a->mailbox ? a->mailbox : "";
    const char *host = a->host ? a->host : "";
    if(a->name && *a->name)
      ok = mw__sbuf_printf(&from, "%s <%s@%s>", a->name, mb, host);
    else
      ok = mw__sbuf_printf(&from, "%s@%s", mb, host);
  }
  if(!ok) {
    mw__sbuf_free(&flags);
    mw__sbuf_free(&from);
    return mw__error_set(&m->err, MW_E_NOMEM, NULL);
  }
  mw_imap_summary s = {
      .uid = f->uid,
      .size = f->size,
      .flags = flags.data ? flags.data : "",
      .date = f->env.date ? f->env.date : "",
      .from = from.data ? from.data : "",
      .subject = f->env.subject ? f->env.subject : "",
  };
  c->st = c->fn(c->user, &s);
  mw__sbuf_free(&flags);
  mw__sbuf_free(&from);
  return MW_OK;
}

mw_status mw_imap_fetch_summary(mw_imap *m, const uint32_t *uids,
                                size_t count, mw_imap_summary_fn fn,
                                void *user)
{
  if(!m || !fn || (!uids && count))
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, true);
  if(st || !count)
    return st;
  struct summary_ctx c = {.fn = fn, .user = user};
  m->cmd_ctx = &c;
  st = mw__imap_uid_commands(m, IMAP_CMD_SUMMARY, uids, count, 0,
                             "UID FETCH ",
                             " (UID FLAGS RFC822.SIZE ENVELOPE)",
                             summary_untagged, false);
  m->cmd_ctx = NULL;
  if(!st && c.st)
    st = mw__error_set(&m->err, c.st, "the summary callback stopped");
  return st;
}

/* ---- APPEND ----------------------------------------------------------------- */

mw_status mw_imap_append(mw_imap *m, const char *mailbox, const char *flags,
                         uint64_t size, mw_read_fn read, void *user,
                         uint32_t *uid)
{
  if(uid)
    *uid = 0;
  if(!m || !mailbox || !read)
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, false);
  if(st)
    return st;
  bool nonsync = mw__imap_has(m, "LITERAL+") ||
                 (mw__imap_has(m, "LITERAL-") && size <= 4096);
  struct mw__sbuf line;
  mw__sbuf_init(&line);
  if(!mw__sbuf_puts(&line, "APPEND "))
    st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  if(!st)
    st = mw__imap_put_mailbox(m, &line, mailbox);
  if(!st && flags && *flags) {
    if(!mw__sbuf_puts(&line, " ("))
      st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
    if(!st)
      st = mw__imap_put_flags(m, &line, flags);
    if(!st && !mw__sbuf_puts(&line, ")"))
      st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  }
  char mark[32];
  mw__imap_literal_format(mark, sizeof(mark), size, nonsync);
  if(!st && !mw__sbuf_printf(&line, " %s", mark))
    st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  uint32_t tag = 0;
  m->append_uid = 0;
  if(!st)
    st = mw__imap_command(m, IMAP_CMD_APPEND, &tag, "%s", line.data);
  mw__sbuf_free(&line);
  if(st)
    return st;
  if(!nonsync) {
    /* A synchronising literal: the server says "+" (or refuses) first. */
    mw__imap_wait_for(m, tag, true, NULL);
    st = mw__imap_run(m);
    if(st)
      return st;
    if(!m->wait.got_continuation)
      return mw__error_set(&m->err, MW_E_STATE, "APPEND ended early");
  }
  mw__trace_emit(&m->trace, MW_TRACE_OUT, "<message: %llu bytes>",
                 (unsigned long long)size);
  /* The message, in constant memory: a chunk read, queued and written. */
  char buf[65536];
  uint64_t left = size;
  while(left) {
    size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
    size_t got = 0;
    st = read(user, buf, want, &got);
    if(!st && (got == 0 || got > want))
      st = mw__error_set(&m->err, MW_E_MESSAGE,
                         "the message ended %llu bytes before the size "
                         "announced to the server",
                         (unsigned long long)left);
    else if(st)
      mw__error_set(&m->err, st, "reading the message failed");
    if(st)
      /* The literal cannot be completed: the connection is lost to it. */
      return mw__imap_broken(m, st);
    st = mw__engine_queue_raw(&m->eng, buf, got);
    if(!st)
      st = mw__imap_flush(m);
    if(st)
      return st;
    left -= got;
  }
  st = mw__engine_queue_raw(&m->eng, "\r\n", 2);
  if(st)
    return st;
  mw__imap_wait_for(m, tag, false, NULL);
  st = mw__imap_run(m);
  if(!st && uid)
    *uid = m->append_uid;
  return st;
}

/* ---- IDLE --------------------------------------------------------------------- */

static mw_status idle_untagged(struct mw_imap *m,
                               const struct mw__imap_resp *r)
{
  (void)r;
  if(m->changed)
    m->wait.done = true; /* send DONE */
  return MW_OK;
}

mw_status mw_imap_idle(mw_imap *m, unsigned timeout_ms, bool *changed)
{
  if(changed)
    *changed = false;
  if(!m)
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, true);
  if(st)
    return st;
  if(!mw__imap_has(m, "IDLE"))
    return mw__error_set(&m->err, MW_E_STATE,
                         "the server does not offer IDLE (poll with NOOP)");
  uint32_t tag = 0;
  st = mw__imap_command(m, IMAP_CMD_IDLE, &tag, "IDLE");
  if(st)
    return st;
  mw__imap_wait_for(m, tag, true, NULL);
  st = mw__imap_run(m);
  if(st)
    return st;
  /* Completed without idling: nothing awaited any more. */
  bool ended = mw__engine_outstanding(&m->eng) == 0;
  if(!ended && !m->changed) {
    unsigned saved = m->timeout_ms;
    m->timeout_ms = timeout_ms ? timeout_ms : 1;
    mw__imap_wait_for(m, tag, false, idle_untagged);
    m->wait.timeout_ok = true;
    st = mw__imap_run(m);
    m->timeout_ms = saved;
    if(st && st != MW_E_TIMEOUT)
      return st;
    st = MW_OK;
    /* The server may have ended IDLE itself (its tagged completion). */
    ended = mw__engine_outstanding(&m->eng) == 0;
  }
  if(!ended) {
    st = mw__engine_command(&m->eng, NULL, -1, "DONE");
    if(st)
      return st;
    mw__imap_wait_for(m, tag, false, NULL);
    st = mw__imap_run(m);
  }
  if(!st && changed)
    *changed = m->changed;
  return st;
}
