/*
 * proto/smtp_data.c - streaming the message as states of the SMTP machine
 * (proto/smtp_machine.c): BODY (after DATA's 354: dot-stuffed, CRLF line
 * endings, proto/data.h), BDAT (RFC 3030 chunks, when the session allows
 * it and the server offers CHUNKING), and the entry of DATA_END (the end
 * of the data queued, its reply awaited).
 *
 * DESCRIPTION
 *   Constant memory whatever the message size: a chunk of
 *   MW__SMTP_DATA_CHUNK bytes is read from the caller's reader only when
 *   less than that is waiting to be written, and each block written
 *   renews the deadline (RFC 5321 4.5.3.2: 3 minutes per block).  The end
 *   of the data is queued only once every byte of the body was written:
 *   a connection lost before is MW_DELIVERY_NOT_SENT (the server discards
 *   an unterminated message), after it MW_E_DELIVERY_UNKNOWN
 *   (smtp_machine.c's failure mapping).
 *
 *   One round trip per message where the protocol allows it: with DATA,
 *   the end of the body goes in one write with the final dot (the body is
 *   written as it is read only in blocks of MW__SMTP_DATA_CHUNK); with
 *   BDAT and PIPELINING, the first chunk (the whole of a message up to
 *   MW__SMTP_DATA_CHUNK bytes, "BDAT n LAST") is queued right after MAIL
 *   and RCPT, in the same write (RFC 3030 section 4.2 allows BDAT in a
 *   pipelined group; a server that refused the envelope still reads the
 *   chunk and refuses it).  A larger message waits for the replies to the
 *   envelope and that chunk, so a refused envelope costs at most one
 *   chunk; after it each chunk waits for its reply, and a chunk refused
 *   mid-way is a refusal of the message (smtp_send.c).
 *
 *   Whether a lost connection may have delivered the message depends on
 *   whether its end (the dot, or the LAST chunk) was written whole:
 *   mw__smtp_end_written().  The read buffer and the BDAT chunk are the
 *   session's, kept from one message to the next.
 *
 *   Progress (mw_options_set_progress): reported after each block is
 *   written and once when the whole data is queued, as the bytes written
 *   since the data began, so at most one call per MW__SMTP_DATA_CHUNK.
 */
#include "proto/smtp.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* Calls the caller's progress function: the data's bytes handed to the
 * connection so far (done: all of it, so total is what was sent). */
static void report_progress(struct mw_smtp *s, bool done)
{
  if(!s->opt.progress_fn)
    return;
  struct mw__smtp_txn *t = &s->txn;
  uint64_t sent = mw__engine_bytes_out(&s->eng) - t->progress_base;
  if(done)
    sent += mw__engine_queued(&s->eng);
  uint64_t total = t->info ? t->info->size : 0;
  if(done || (total && total < sent))
    total = sent;
  s->opt.progress_fn(s->opt.progress_user, sent, total);
}

/* Notes that the end of the data is queued: it is written whole once the
 * bytes out reach the mark. */
static void mark_end(struct mw_smtp *s)
{
  s->txn.end_queued = true;
  s->txn.end_mark = mw__engine_bytes_out(&s->eng) + mw__engine_queued(&s->eng);
}

/* mw_smtp_quit_after_send(): QUIT in the same write as the end of the
 * data, once the envelope's replies are in (so no RSET can follow it) and
 * when the server pipelines: RFC 2920 lets QUIT end a group that the
 * message's content begins.  The 221 is read by mw_smtp_quit(). */
static mw_status queue_quit_with_end(struct mw_smtp *s)
{
  if(!s->quit_after_send || !s->txn.pipelining || s->stream)
    return MW_OK;
  s->quit_after_send = false;
  mw_status st = mw__smtp_send(s, MW__SMTP_CMD_QUIT, 0, -1, "%s", "QUIT");
  if(!st)
    s->quit_sent = true;
  return st;
}

bool mw__smtp_end_written(const struct mw_smtp *s)
{
  return s->txn.end_queued &&
         mw__engine_bytes_out(&s->eng) >= s->txn.end_mark;
}

/* Sets up the data's encoding, once per message. */
static mw_status start_body(struct mw_smtp *s, bool bdat)
{
  struct mw__smtp_txn *t = &s->txn;
  struct mw__engine *e = &s->eng;
  if(t->body_started)
    return MW_OK;
  if(!s->chunk)
    s->chunk = mw__malloc(MW__SMTP_DATA_CHUNK);
  if(!s->chunk)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  if(bdat && t->binary)
    mw__data_encoder_init_raw(&t->enc); /* BODY=BINARYMIME */
  else if(bdat)
    mw__data_encoder_init_bdat(&t->enc);
  else
    mw__data_encoder_init(&t->enc);
  mw__sbuf_reset(&s->bdat_buf);
  t->body_bytes = 0;
  t->body_eof = false;
  t->progress_base = mw__engine_bytes_out(e) + mw__engine_queued(e);
  t->body_started = true;
  return MW_OK;
}

mw_status mw__smtp_enter_body(struct mw_smtp *s, enum mw__smtp_state to)
{
  struct mw__smtp_txn *t = &s->txn;
  struct mw__engine *e = &s->eng;
  if(to == MW__SMTP_DATA_END) {
    if(!t->bdat) {
      mw__trace_emit(&s->trace, MW_TRACE_OUT,
                     "<message: %llu bytes, dot-stuffed, CRLF line endings>",
                     (unsigned long long)t->body_bytes);
      /* The last part of the body and the dot: one write. */
      if(!mw__data_finish(&t->enc, &e->stream.wbuf))
        return mw__error_set(&s->err, MW_E_NOMEM, NULL);
      mw__trace_emit(&s->trace, MW_TRACE_OUT, ".");
      const struct mw__engine_cmd dot = {.kind = MW__SMTP_CMD_DOT};
      mw_status st = mw__engine_expect(e, &dot);
      if(st)
        return st;
      mark_end(s);
      st = queue_quit_with_end(s);
      if(!st) /* mw_smtp_send_many(): the next envelope behind the dot */
        st = mw__smtp_stream_lookahead(s);
      if(st)
        return st;
    }
    report_progress(s, true);
    mw__engine_deadline_in(e, mw__smtp_reply_timeout(s, MW__SMTP_CMD_DOT),
                           "waiting for the server");
    return MW_OK;
  }
  if(t->bdat_early)
    report_progress(s, false); /* the first chunk went with the envelope */
  mw_status st = start_body(s, to == MW__SMTP_BDAT);
  if(st)
    return st;
  mw__engine_deadline_in(e, mw__smtp_cmd_timeout(s, MW__SMTP_DATA_BLOCK_MS),
                         "sending to the server");
  return MW_OK;
}

/* Writes what it can; *want when it must wait.  Each complete write
 * renews the block deadline. */
static mw_status flush_block(struct mw_smtp *s, short *want)
{
  mw_status st = mw__engine_flush(&s->eng, want);
  if(st)
    return st;
  if(*want) {
    s->eng.waiting_for = "sending to the server";
    return MW_OK;
  }
  mw__engine_deadline_in(&s->eng,
                         mw__smtp_cmd_timeout(s, MW__SMTP_DATA_BLOCK_MS),
                         "sending to the server");
  report_progress(s, false);
  return MW_OK;
}

/* Reads the next chunk of the message: *got 0 at its end. */
static mw_status read_chunk(struct mw_smtp *s, size_t *got)
{
  struct mw__smtp_txn *t = &s->txn;
  *got = 0;
  if(t->read(t->read_user, s->chunk, MW__SMTP_DATA_CHUNK, got))
    return mw__error_set(&s->err, MW_E_IO,
                         "reading the message failed; the connection was "
                         "closed without ending the data, so nothing was "
                         "delivered");
  t->body_bytes += *got;
  return MW_OK;
}

/* Reads and encodes the next part of the message into the BDAT chunk. */
static mw_status fill_bdat(struct mw_smtp *s)
{
  struct mw__smtp_txn *t = &s->txn;
  size_t got = 0;
  mw_status st = read_chunk(s, &got);
  if(st)
    return st;
  bool ok = got ? mw__data_encode(&t->enc, s->chunk, got, &s->bdat_buf)
                : mw__data_finish(&t->enc, &s->bdat_buf);
  if(!ok || s->bdat_buf.failed)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  if(!got)
    t->body_eof = true;
  return MW_OK;
}

/* Queues one BDAT chunk of what the session's bdat_buf holds, awaiting
 * its reply; early: the first chunk, in the envelope's batch. */
static mw_status queue_bdat(struct mw_smtp *s, bool last, bool early)
{
  struct mw__smtp_txn *t = &s->txn;
  struct mw__engine *e = &s->eng;
  struct mw__sbuf *b = &s->bdat_buf;
  if(!mw__bdat_frame(b->data, b->len, last, &e->stream.wbuf))
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  mw__trace_emit(&s->trace, MW_TRACE_OUT, "BDAT %zu%s", b->len,
                 last ? " LAST" : "");
  mw__trace_emit(&s->trace, MW_TRACE_OUT, "<%zu bytes, %s>", b->len,
                 t->binary ? "binary, as given" : "CRLF line endings");
  mw__sbuf_reset(b);
  const struct mw__engine_cmd bdat = {
      .kind = MW__SMTP_CMD_BDAT,
      .arg = (last ? MW__SMTP_BDAT_LAST : 0u) |
             (early ? MW__SMTP_BDAT_EARLY : 0u)};
  mw_status st = mw__engine_expect(e, &bdat);
  if(st)
    return st;
  if(last) {
    mark_end(s);
    if(!early) /* (an early chunk's envelope is not answered yet) */
      st = queue_quit_with_end(s);
  }
  else if(!early)
    mw__engine_deadline_in(e, mw__smtp_reply_timeout(s, MW__SMTP_CMD_BDAT),
                           "waiting for the server");
  return st;
}

mw_status mw__smtp_queue_first_chunk(struct mw_smtp *s)
{
  struct mw__smtp_txn *t = &s->txn;
  mw_status st = start_body(s, true);
  while(!st && !t->body_eof && s->bdat_buf.len < MW__SMTP_DATA_CHUNK)
    st = fill_bdat(s);
  if(st)
    return st;
  t->bdat_early = true;
  st = queue_bdat(s, t->body_eof, true);
  if(!st && t->body_eof)
    report_progress(s, true);
  return st;
}

static mw_status bdat_step(struct mw_smtp *s, short *want)
{
  struct mw__smtp_txn *t = &s->txn;
  for(;;) {
    if(mw__engine_queued(&s->eng) || mw__engine_outstanding(&s->eng))
      /* Written first; a chunk's reply is read by the machine. */
      return mw__engine_queued(&s->eng) ? flush_block(s, want) : MW_OK;
    if(t->body_eof) {
      mw_status st = queue_bdat(s, true, false);
      return st ? st : mw__smtp_go(s, MW__SMTP_DATA_END);
    }
    mw_status st = s->bdat_buf.len >= MW__SMTP_DATA_CHUNK
                       ? queue_bdat(s, false, false)
                       : fill_bdat(s);
    if(st)
      return st;
  }
}

mw_status mw__smtp_body_step(struct mw_smtp *s, short *want)
{
  struct mw__smtp_txn *t = &s->txn;
  if(s->sm == MW__SMTP_BDAT)
    return bdat_step(s, want);
  for(;;) {
    /* Whole blocks are written as they fill; the rest goes with the dot
     * (DATA_END), in one write. */
    size_t queued = mw__engine_queued(&s->eng);
    if(t->flushing || queued >= MW__SMTP_DATA_CHUNK) {
      if(!t->flushing) /* a new block: its time starts now */
        mw__engine_deadline_in(&s->eng,
                               mw__smtp_cmd_timeout(s,
                                                    MW__SMTP_DATA_BLOCK_MS),
                               "sending to the server");
      t->flushing = true;
      mw_status st = flush_block(s, want);
      if(st || *want)
        return st;
      t->flushing = false;
      continue;
    }
    if(t->body_eof)
      return mw__smtp_go(s, MW__SMTP_DATA_END);
    size_t got = 0;
    mw_status st = read_chunk(s, &got);
    if(st)
      return st;
    if(!got) {
      t->body_eof = true;
      continue;
    }
    if(!mw__data_encode(&t->enc, s->chunk, got, &s->eng.stream.wbuf))
      return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  }
}
