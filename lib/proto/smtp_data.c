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
 *   BDAT waits for each chunk's reply before sending the next; a chunk
 *   refused mid-way is a refusal of the message (smtp_send.c).
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

mw_status mw__smtp_enter_body(struct mw_smtp *s, enum mw__smtp_state to)
{
  struct mw__smtp_txn *t = &s->txn;
  struct mw__engine *e = &s->eng;
  if(to == MW__SMTP_DATA_END) {
    if(!t->bdat) {
      mw__trace_emit(&s->trace, MW_TRACE_OUT,
                     "<message: %llu bytes, dot-stuffed, CRLF line endings>",
                     (unsigned long long)t->body_bytes);
      if(!mw__data_finish(&t->enc, &e->stream.wbuf))
        return mw__error_set(&s->err, MW_E_NOMEM, NULL);
      mw__trace_emit(&s->trace, MW_TRACE_OUT, ".");
      const struct mw__engine_cmd dot = {.kind = MW__SMTP_CMD_DOT};
      mw_status st = mw__engine_expect(e, &dot);
      if(st)
        return st;
    }
    report_progress(s, true);
    mw__engine_deadline_in(e, mw__smtp_reply_timeout(s, MW__SMTP_CMD_DOT),
                           "waiting for the server");
    return MW_OK;
  }
  if(!t->chunk)
    t->chunk = mw__malloc(MW__SMTP_DATA_CHUNK);
  if(!t->chunk)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  if(to == MW__SMTP_BDAT && t->binary)
    mw__data_encoder_init_raw(&t->enc); /* BODY=BINARYMIME */
  else if(to == MW__SMTP_BDAT)
    mw__data_encoder_init_bdat(&t->enc);
  else
    mw__data_encoder_init(&t->enc);
  mw__sbuf_reset(&t->bdat_buf);
  t->body_bytes = 0;
  t->body_eof = false;
  t->progress_base = mw__engine_bytes_out(e) + mw__engine_queued(e);
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
  if(t->read(t->read_user, t->chunk, MW__SMTP_DATA_CHUNK, got))
    return mw__error_set(&s->err, MW_E_IO,
                         "reading the message failed; the connection was "
                         "closed without ending the data, so nothing was "
                         "delivered");
  t->body_bytes += *got;
  return MW_OK;
}

/* Queues one BDAT chunk of what t->bdat holds, awaiting its reply. */
static mw_status queue_bdat(struct mw_smtp *s, bool last)
{
  struct mw__smtp_txn *t = &s->txn;
  struct mw__engine *e = &s->eng;
  if(!mw__bdat_frame(t->bdat_buf.data, t->bdat_buf.len, last, &e->stream.wbuf))
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  mw__trace_emit(&s->trace, MW_TRACE_OUT, "BDAT %zu%s", t->bdat_buf.len,
                 last ? " LAST" : "");
  mw__trace_emit(&s->trace, MW_TRACE_OUT, "<%zu bytes, %s>",
                 t->bdat_buf.len,
                 t->binary ? "binary, as given" : "CRLF line endings");
  mw__sbuf_reset(&t->bdat_buf);
  const struct mw__engine_cmd bdat = {.kind = MW__SMTP_CMD_BDAT,
                                      .arg = last ? 1u : 0u};
  mw_status st = mw__engine_expect(e, &bdat);
  if(!st && !last)
    mw__engine_deadline_in(e, mw__smtp_reply_timeout(s, MW__SMTP_CMD_BDAT),
                           "waiting for the server");
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
      mw_status st = queue_bdat(s, true);
      return st ? st : mw__smtp_go(s, MW__SMTP_DATA_END);
    }
    if(t->bdat_buf.len >= MW__SMTP_DATA_CHUNK) {
      mw_status st = queue_bdat(s, false);
      if(st)
        return st;
      continue;
    }
    size_t got = 0;
    mw_status st = read_chunk(s, &got);
    if(st)
      return st;
    bool ok = got ? mw__data_encode(&t->enc, t->chunk, got, &t->bdat_buf)
                  : mw__data_finish(&t->enc, &t->bdat_buf);
    if(!ok || t->bdat_buf.failed)
      return mw__error_set(&s->err, MW_E_NOMEM, NULL);
    if(!got)
      t->body_eof = true;
  }
}

mw_status mw__smtp_body_step(struct mw_smtp *s, short *want)
{
  struct mw__smtp_txn *t = &s->txn;
  if(s->sm == MW__SMTP_BDAT)
    return bdat_step(s, want);
  for(;;) {
    size_t queued = mw__engine_queued(&s->eng);
    if(queued && (queued >= MW__SMTP_DATA_CHUNK || t->body_eof)) {
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
    if(!mw__data_encode(&t->enc, t->chunk, got, &s->eng.stream.wbuf))
      return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  }
}
