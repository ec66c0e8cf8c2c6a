/*
 * proto/smtp_stream.c - mw_smtp_send_many(): messages one after another on
 * one session, each message's envelope pipelined behind the previous
 * message's final dot.
 *
 * Owns: struct mw__smtp_stream (proto/smtp.h) while the call runs: the
 * caller's callbacks, the message taken ahead, and the order in which the
 * outcomes are reported.
 *
 * DESCRIPTION
 *   With PIPELINING and DATA a message costs two round trips: the
 *   envelope with DATA (answered up to the 354), then the data (answered
 *   by the final reply).  RFC 2920 lets message content begin a group and
 *   DATA end one, so once message k's dot is queued, message k+1's MAIL
 *   FROM, RCPT TO and DATA go in the same write: k's final reply and
 *   k+1's envelope replies come back together, one round trip a message.
 *   Nothing is overlapped with BDAT (the first chunk already rides with
 *   its envelope, smtp_data.c) or without PIPELINING.
 *
 *   The message taken ahead is queued only when it can go as it is (it
 *   fits the server, and it uses DATA); a message that cannot is reported
 *   in its turn, after the one before it, and one that uses BDAT starts
 *   after it.  k's outcome is reported when its final reply is handled
 *   (mw__smtp_message_done, from on_dot), then the machine reads k+1's
 *   replies in state PIPELINE without queuing anything.  If the session
 *   ends first, k+1 is reported with the status that ended it and a
 *   result that says MW_DELIVERY_NOT_SENT: only its envelope went.
 */
#include "proto/smtp.h"

#include "core/util.h"

#include <string.h>

static void txn_reset(struct mw__smtp_txn *t)
{
  memset(t, 0, sizeof(*t));
  mw__reply_init(&t->mail_reply);
  mw__reply_init(&t->data_reply);
}

/* Reports the message at m->index, then counts on to the next.  The
 * result becomes the caller's. */
static void report(struct mw_smtp *s, mw_status st, struct mw_result *res)
{
  struct mw__smtp_stream *m = s->stream;
  int64_t now = mw__now_ms();
  uint64_t out = mw__engine_bytes_out(&s->eng);
  if(res) {
    res->elapsed_ms = (double)(now - m->t0);
    res->bytes_sent = out - m->out0;
  }
  m->done(m->user, m->index, st, &s->err, res);
  m->reported++;
  m->index++;
  m->t0 = now;
  m->out0 = out;
}

/* The next message from the caller, prepared into t (the info it points
 * to kept in slot): MW_OK, or why it cannot go (s->err set). */
static mw_status take(struct mw_smtp *s, const mw_outgoing *o,
                      struct mw__smtp_txn *t, mw_message_info *slot)
{
  memset(slot, 0, sizeof(*slot));
  if(o->info)
    *slot = *o->info;
  if(!o->envelope || !o->read)
    return mw__error_set(&s->err, MW_E_INVALID,
                         "the message has no envelope or no reader");
  if(!o->envelope->count)
    return mw__error_set(&s->err, MW_E_INVALID, "no recipient given");
  return mw__smtp_txn_prepare(s, t, o->envelope, slot, o->read,
                              o->read_user);
}

mw_status mw__smtp_stream_lookahead(struct mw_smtp *s)
{
  struct mw__smtp_stream *m = s->stream;
  if(!m || m->ended || m->next_ready || !s->txn.pipelining || s->quit_sent)
    return MW_OK;
  mw_outgoing o;
  memset(&o, 0, sizeof(o));
  if(!m->next(m->user, &o)) {
    m->ended = true;
    return MW_OK;
  }
  m->next_ready = true;
  /* Refused before anything is sent: kept, reported in its turn. */
  struct mw_error mine = s->err;
  memset(&s->err, 0, sizeof(s->err));
  m->next_st = take(s, &o, &m->txn_next, &m->info[(m->index + 1) % 2]);
  m->next_err = s->err;
  s->err = mine;
  if(m->next_st || m->txn_next.bdat)
    return MW_OK;
  /* Its batch, behind the dot: queued as the current transaction would
   * queue its own. */
  struct mw__smtp_txn cur = s->txn;
  s->txn = m->txn_next;
  mw_status st = mw__smtp_queue_batch(s);
  m->txn_next = s->txn;
  s->txn = cur;
  if(!st)
    m->next_queued = true;
  return st;
}

mw_status mw__smtp_message_done(struct mw_smtp *s)
{
  struct mw__smtp_stream *m = s->stream;
  if(!m || !m->next_queued)
    return mw__smtp_go(s, MW__SMTP_READY);
  /* Report k; k+1's replies come next. */
  report(s, s->job_status, s->txn.res);
  s->txn.res = NULL;
  mw__error_clear(&s->err);
  s->job_status = MW_OK;
  mw__smtp_txn_clear(s);
  s->txn = m->txn_next;
  txn_reset(&m->txn_next);
  m->next_ready = m->next_queued = false;
  return mw__smtp_go(s, MW__SMTP_PIPELINE); /* nothing to queue */
}

/* The message taken ahead, now current; false when it was refused before
 * anything was sent (then reported). */
static bool promote(struct mw_smtp *s, struct mw__smtp_stream *m)
{
  m->next_ready = false;
  if(m->next_st) {
    mw__error_clear(&s->err);
    s->err = m->next_err;
    memset(&m->next_err, 0, sizeof(m->next_err));
    report(s, m->next_st, NULL);
    m->next_st = MW_OK;
    mw__error_clear(&s->err);
    return false;
  }
  mw__smtp_txn_clear(s);
  s->txn = m->txn_next;
  txn_reset(&m->txn_next);
  return true;
}

/* The session ended while a message taken ahead was waiting: it is
 * reported too (its own refusal, or the end, with nothing of its data
 * sent). */
static void report_left(struct mw_smtp *s, struct mw__smtp_stream *m,
                        mw_status ended)
{
  if(!m->next_ready)
    return;
  m->next_ready = false;
  if(m->next_st) {
    struct mw_error kept = s->err;
    s->err = m->next_err;
    memset(&m->next_err, 0, sizeof(m->next_err));
    report(s, m->next_st, NULL);
    mw__error_clear(&s->err);
    s->err = kept;
    return;
  }
  struct mw_result *res = m->txn_next.res;
  m->txn_next.res = NULL;
  if(res)
    res->delivery = MW_DELIVERY_NOT_SENT;
  /* Not "unknown": that was the message before; this one is not sent. */
  mw_status mine = ended == MW_E_DELIVERY_UNKNOWN ? MW_E_CLOSED : ended;
  struct mw_error kept = s->err;
  memset(&s->err, 0, sizeof(s->err));
  mw__error_set(&s->err, mine,
                "the session ended before this message's data was sent "
                "(nothing of it was delivered; it may be sent again): %s",
                kept.message);
  s->err.temporary = true;
  report(s, mine, res);
  mw__error_clear(&s->err);
  s->err = kept;
  mw__smtp_txn_free(&m->txn_next);
}

/* Whether st is one that ends a session (not a message's refusal). */
static bool session_status(mw_status st)
{
  switch(st) {
  case MW_E_CLOSED:
  case MW_E_TIMEOUT:
  case MW_E_PROTOCOL:
  case MW_E_TLS:
  case MW_E_IO:
  case MW_E_DELIVERY_UNKNOWN:
  case MW_E_NOMEM:
  case MW_E_STATE:
    return true;
  default:
    return false;
  }
}

mw_status mw_smtp_send_many(mw_smtp *s, mw_next_message_fn next,
                            mw_message_done_fn done, void *user,
                            size_t *count)
{
  if(count)
    *count = 0;
  if(!s || !next || !done)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(s->sm != MW__SMTP_READY || s->quit_sent || s->stream)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is not ready to send");
  struct mw__smtp_stream m;
  memset(&m, 0, sizeof(m));
  m.next = next;
  m.done = done;
  m.user = user;
  txn_reset(&m.txn_next);
  s->stream = &m;
  mw_status rc = MW_OK;
  for(;;) {
    m.t0 = mw__now_ms();
    m.out0 = mw__engine_bytes_out(&s->eng);
    struct mw__smtp_txn *t = &s->txn;
    if(m.next_ready) {
      if(!promote(s, &m))
        continue;
    }
    else {
      if(m.ended)
        break;
      mw_outgoing o;
      memset(&o, 0, sizeof(o));
      if(!next(user, &o))
        break;
      mw_status st = take(s, &o, t, &m.info[m.index % 2]);
      if(st) {
        report(s, st, NULL);
        mw__error_clear(&s->err);
        continue;
      }
    }
    mw_status st = mw__smtp_run(s, MW__SMTP_JOB_SEND,
                                t->pipelining ? MW__SMTP_PIPELINE
                                              : MW__SMTP_MAIL);
    /* The message the run ended in (those before it are reported). */
    struct mw_result *res = t->res;
    t->res = NULL;
    report(s, st, res);
    mw__smtp_txn_clear(s);
    if(s->sm != MW__SMTP_READY) {
      rc = st;
      if(!session_status(rc)) {
        /* A refusal whose RSET then failed: the message has its answer,
         * the session is gone all the same. */
        struct mw_error kept = s->err;
        memset(&s->err, 0, sizeof(s->err));
        mw__error_set(&s->err, MW_E_CLOSED,
                      "the session ended after message %zu: %s", m.index,
                      kept.message);
        mw__error_clear(&kept);
        rc = MW_E_CLOSED;
      }
      report_left(s, &m, rc);
      break;
    }
    mw__error_clear(&s->err);
  }
  mw__smtp_txn_free(&m.txn_next);
  mw__error_clear(&m.next_err);
  s->stream = NULL;
  if(count)
    *count = m.reported;
  return rc;
}
