/*
 * proto/smtp_send.c - the SMTP mail transaction as states of the machine
 * (proto/smtp_machine.c), on a ready session.
 *
 * Owns: MAIL, RCPT and DATA (pipelined in one batch when the server offers
 * PIPELINING, RFC 2920: state PIPELINE, else one command per round trip:
 * states MAIL, RCPT, DATA), the per-recipient results, the decision after
 * the envelope (refused sender, every recipient refused, DATA refused:
 * then RSET keeps the session usable), the final reply and what it means
 * for delivery, RSET, doctor's envelope test (MAIL, RCPT, then RSET), and
 * the blocking API over them (mw_smtp_send, mw_smtp_send_buffer,
 * mw_smtp_reset, mw__smtp_check_envelope).  Streaming the message is
 * proto/smtp_data.c's; session setup, AUTH and QUIT are smtp_setup.c's.
 *
 * DIAGNOSTICS
 *   Replies inside the transaction are read by class (RFC 5321 4.2): any
 *   2xx accepts, a 421 ends the session wherever it comes (inside a
 *   pipelined batch too), a 3xx where a final reply is due is a protocol
 *   error, and a connection lost after the final dot is
 *   MW_E_DELIVERY_UNKNOWN.
 */
#include "proto/smtp.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* ---- replies ------------------------------------------------------------ */

static void record_rcpt(struct mw_result *res, size_t i,
                        const struct mw__reply *r)
{
  struct mw__rcpt_result *rr = &res->rcpts[i];
  rr->code = r->code;
  /* Any 2xx is acceptance (251 "will forward", 252 "cannot verify but
   * will try"); 551 "user not local, try X" is a refusal we report, never
   * follow. */
  rr->accepted = r->code / 100 == 2;
  memcpy(rr->enhanced, r->enhanced, sizeof(rr->enhanced));
  mw__free(rr->text);
  rr->text = mw__strdup(r->text ? r->text : "");
}

/* Checks a reply inside the mail transaction for what ends it whatever
 * the command: a 421 (RFC 5321 section 3.8: the server is closing the
 * channel), even in the middle of a pipelined batch, is reported with its
 * code and text as a temporary failure; a 3xx where a final reply is due
 * is a protocol error.  to names the command answered. */
static mw_status transaction_reply(struct mw_smtp *s,
                                   const struct mw__reply *r, const char *to,
                                   bool intermediate_ok)
{
  if(r->code == 421)
    return mw__smtp_reply_error(s, MW_E_CLOSED, r,
                       "the server closed the session in reply to %s", to);
  if(r->code / 100 == 3 && !intermediate_ok)
    return mw__smtp_reply_error(s, MW_E_PROTOCOL, r,
                       "the server answered %s with an intermediate reply "
                       "where a final one is due",
                       to);
  return MW_OK;
}

static void copy_reply(struct mw__reply *dst, const struct mw__reply *src)
{
  mw__reply_free(dst);
  mw__reply_init(dst);
  dst->code = src->code;
  memcpy(dst->enhanced, src->enhanced, sizeof(dst->enhanced));
  mw__sbuf_puts(&dst->buf, src->text ? src->text : "");
  dst->text = dst->buf.data;
}

void mw__smtp_txn_free(struct mw__smtp_txn *t)
{
  mw__reply_free(&t->mail_reply);
  mw__reply_free(&t->data_reply);
  mw__error_clear(&t->saved);
  memset(t, 0, sizeof(*t));
  mw__reply_init(&t->mail_reply);
  mw__reply_init(&t->data_reply);
}

void mw__smtp_txn_clear(struct mw_smtp *s)
{
  mw__smtp_txn_free(&s->txn);
}

/* A refusal that keeps the session: the error is kept across an RSET
 * (state RSET), then the session is ready again. */
static mw_status refused(struct mw_smtp *s, mw_status st)
{
  if(s->txn.res)
    s->txn.res->delivery = MW_DELIVERY_REFUSED;
  s->job_status = st;
  s->txn.saved = s->err;
  memset(&s->err, 0, sizeof(s->err));
  return mw__smtp_go(s, MW__SMTP_RSET);
}

/* After the envelope's replies: the message, or why not. */
static mw_status decide(struct mw_smtp *s)
{
  struct mw__smtp_txn *t = &s->txn;
  struct mw_result *res = t->res;
  const struct mw_envelope *e = t->env;
  if(!t->mail_ok)
    return refused(s, mw__smtp_reply_error(s, MW_E_REJECTED, &t->mail_reply,
                                  "the server refused the sender <%s>",
                                  e->from ? e->from : ""));
  if(!t->accepted) {
    /* Report the first refusal; every recipient's reply is in *out. */
    mw__error_set(&s->err, MW_E_RECIPIENTS,
                  "every recipient was refused; nothing was sent (first: "
                  "<%s> %d%s%s %s)",
                  res->rcpts[0].address, res->rcpts[0].code,
                  res->rcpts[0].enhanced[0] ? " " : "",
                  res->rcpts[0].enhanced,
                  res->rcpts[0].text ? res->rcpts[0].text : "");
    s->err.reply_code = res->rcpts[0].code;
    memcpy(s->err.enhanced, res->rcpts[0].enhanced, sizeof(s->err.enhanced));
    s->err.server_text = mw__strdup(res->rcpts[0].text);
    s->err.temporary = true;
    for(size_t i = 0; i < res->count; i++)
      if(res->rcpts[i].code / 100 == 5)
        s->err.temporary = false;
    mw__error_set_recipient(&s->err, res->rcpts[0].address);
    return refused(s, MW_E_RECIPIENTS);
  }
  if(!t->data_started && !t->bdat)
    return refused(s, mw__smtp_reply_error(s, MW_E_REJECTED, &t->data_reply,
                                           "the server refused DATA"));
  return mw__smtp_go(s, t->bdat ? MW__SMTP_BDAT : MW__SMTP_BODY);
}

static mw_status on_mail(struct mw_smtp *s, struct mw__reply *r)
{
  struct mw__smtp_txn *t = &s->txn;
  if(s->job == MW__SMTP_JOB_CHECK) {
    copy_reply(t->check_mail, r);
    if(r->code == 250)
      return mw__smtp_go(s, MW__SMTP_RCPT);
    if(r->code == 421) /* nobody left to RSET */
      return mw__smtp_go(s, MW__SMTP_BROKEN);
    return mw__smtp_go(s, MW__SMTP_RSET);
  }
  mw_status st = transaction_reply(s, r, "MAIL FROM", false);
  if(st)
    return mw__smtp_abort(s, st);
  t->mail_ok = r->code / 100 == 2;
  if(!t->mail_ok)
    copy_reply(&t->mail_reply, r);
  if(s->sm == MW__SMTP_PIPELINE)
    return MW_OK; /* the batch's other replies follow */
  if(!t->mail_ok)
    return decide(s);
  return mw__smtp_go(s, MW__SMTP_RCPT);
}

static mw_status on_rcpt(struct mw_smtp *s, const struct mw__engine_cmd *cmd,
                         struct mw__reply *r)
{
  struct mw__smtp_txn *t = &s->txn;
  if(s->job == MW__SMTP_JOB_CHECK) {
    copy_reply(t->check_rcpt, r);
    if(r->code == 421)
      return mw__smtp_go(s, MW__SMTP_BROKEN);
    return mw__smtp_go(s, MW__SMTP_RSET);
  }
  mw_status st = transaction_reply(s, r, "RCPT TO", false);
  if(st)
    return mw__smtp_abort(s, st);
  size_t i = (size_t)cmd->arg;
  record_rcpt(t->res, i, r);
  t->accepted += t->res->rcpts[i].accepted;
  if(s->sm == MW__SMTP_PIPELINE)
    /* With BDAT no DATA follows: the last RCPT ends the batch, or the
     * first chunk's reply does when it went with it. */
    return t->bdat && !t->bdat_early && i + 1 == t->env->count ? decide(s)
                                                               : MW_OK;
  if(t->next_rcpt < t->env->count)
    return mw__smtp_go(s, MW__SMTP_RCPT);
  if(!t->accepted || t->bdat)
    return decide(s);
  return mw__smtp_go(s, MW__SMTP_DATA);
}

static mw_status on_data(struct mw_smtp *s, struct mw__reply *r)
{
  struct mw__smtp_txn *t = &s->txn;
  mw_status st = transaction_reply(s, r, "DATA", true);
  if(st)
    return mw__smtp_abort(s, st);
  if(r->code != 354) /* kept for decide()'s refusal */
    copy_reply(&t->data_reply, r);
  if(r->code == 354 && (!t->accepted || !t->mail_ok))
    /* A lax server opened DATA although the sender or every recipient
     * was refused: end it empty (it must refuse that) so the session
     * stays in step; nothing of the message is sent. */
    return mw__smtp_go(s, MW__SMTP_DATA_EMPTY);
  t->data_started = r->code == 354;
  return decide(s);
}

static mw_status on_dot(struct mw_smtp *s, struct mw__reply *r)
{
  struct mw__smtp_txn *t = &s->txn;
  struct mw_result *res = t->res;
  if(s->sm == MW__SMTP_DATA_EMPTY) {
    if(r->code / 100 == 2)
      return mw__smtp_abort(s, mw__error_set(&s->err, MW_E_PROTOCOL,
                           "the server accepted an empty message with no "
                           "valid recipient"));
    return decide(s);
  }
  res->final_code = r->code;
  mw__free(res->final_text);
  res->final_text = mw__strdup(r->text ? r->text : "");
  if(r->code / 100 == 2) {
    res->delivery = MW_DELIVERY_ACCEPTED;
    mw__parse_queue_id(r->text, res->queue_id, sizeof(res->queue_id));
    return mw__smtp_message_done(s);
  }
  if(r->code / 100 == 3) {
    /* Neither yes nor no: the server's state is unknown, and so is the
     * message's fate. */
    mw__smtp_reply_error(s, MW_E_DELIVERY_UNKNOWN, r,
                "the server answered the end of the message with an "
                "intermediate reply, where a final one is due: it may or "
                "may not have accepted it");
    res->delivery = MW_DELIVERY_UNKNOWN;
    return mw__smtp_abort(s, MW_E_DELIVERY_UNKNOWN);
  }
  res->delivery = MW_DELIVERY_REFUSED;
  if(r->code == 421)
    return mw__smtp_abort(s, transaction_reply(s, r, "the end of the message",
                                               false));
  s->job_status = mw__smtp_reply_error(s, MW_E_REJECTED, r,
                     "the server refused the message after the data");
  return mw__smtp_message_done(s);
}

/* The reply to the first BDAT chunk, sent in the envelope's batch: the
 * envelope's replies are all in. */
static mw_status on_first_bdat(struct mw_smtp *s, struct mw__reply *r,
                               bool last)
{
  struct mw__smtp_txn *t = &s->txn;
  mw_status st = transaction_reply(s, r, "BDAT", false);
  if(st)
    return mw__smtp_abort(s, st);
  if(!t->mail_ok || !t->accepted) {
    if(last && r->code / 100 == 2)
      return mw__smtp_abort(s, mw__error_set(&s->err, MW_E_PROTOCOL,
                           "the server accepted the message data although "
                           "it refused the sender or every recipient"));
    return decide(s); /* the envelope's refusal is the answer */
  }
  if(last)
    return on_dot(s, r);
  if(r->code / 100 != 2)
    return refused(s, mw__smtp_reply_error(s, MW_E_REJECTED, r,
                                           "the server refused the message "
                                           "data (BDAT)"));
  return mw__smtp_go(s, MW__SMTP_BDAT); /* the rest of the message */
}

/* The reply to a BDAT chunk that is not the last. */
static mw_status on_bdat(struct mw_smtp *s, struct mw__reply *r)
{
  mw_status st = transaction_reply(s, r, "BDAT", false);
  if(st)
    return mw__smtp_abort(s, st);
  if(r->code / 100 == 2)
    return MW_OK; /* the next chunk */
  return refused(s, mw__smtp_reply_error(s, MW_E_REJECTED, r,
                                         "the server refused the message "
                                         "data (BDAT)"));
}

static mw_status on_rset(struct mw_smtp *s, const struct mw__engine_cmd *cmd,
                         struct mw__reply *r)
{
  if(cmd->arg == MW__SMTP_RSET_BEFORE_MAIL) {
    /* First in a pipelined batch: a 421 ends the session before the
     * transaction (nothing of it is taken); another refusal of RSET
     * cannot stop what was sent with it, so it is only noted. */
    mw_status st = transaction_reply(s, r, "RSET", false);
    if(st)
      return mw__smtp_abort(s, st);
    if(r->code / 100 != 2)
      mw__trace_emit(&s->trace, MW_TRACE_INFO,
                     "note: the server answered RSET with %d; the "
                     "transaction sent with it goes on",
                     r->code);
    return MW_OK;
  }
  if(s->job == MW__SMTP_JOB_SEND) {
    /* The refusal is the answer, whatever RSET got. */
    mw__error_clear(&s->err);
    s->err = s->txn.saved;
    memset(&s->txn.saved, 0, sizeof(s->txn.saved));
  }
  else if(s->job == MW__SMTP_JOB_RESET && r->code != 250) {
    s->job_status = mw__smtp_reply_error(s, MW_E_REJECTED, r,
                                         "the server refused RSET");
  }
  return mw__smtp_go(s, MW__SMTP_READY);
}

mw_status mw__smtp_on_txn_reply(struct mw_smtp *s,
                                const struct mw__engine_cmd *cmd,
                                struct mw__reply *r)
{
  switch((enum mw__smtp_cmd)cmd->kind) {
  case MW__SMTP_CMD_MAIL:
    return on_mail(s, r);
  case MW__SMTP_CMD_RCPT:
    return on_rcpt(s, cmd, r);
  case MW__SMTP_CMD_DATA:
    return on_data(s, r);
  case MW__SMTP_CMD_BDAT:
    if(cmd->arg & MW__SMTP_BDAT_EARLY)
      return on_first_bdat(s, r, cmd->arg & MW__SMTP_BDAT_LAST);
    return cmd->arg & MW__SMTP_BDAT_LAST ? on_dot(s, r) : on_bdat(s, r);
  case MW__SMTP_CMD_DOT:
    return on_dot(s, r);
  case MW__SMTP_CMD_RSET:
    return on_rset(s, cmd, r);
  default:
    return mw__smtp_abort(s, mw__error_set(&s->err, MW_E_STATE,
                                           "no handler for command %d",
                                           cmd->kind));
  }
}

/* ---- entries ------------------------------------------------------------- */

/* MAIL FROM with its parameters (SIZE, BODY, SMTPUTF8, DSN's RET and
 * ENVID, REQUIRETLS: smtp_ext.c). */
static mw_status queue_mail_from(struct mw_smtp *s, const mw_envelope *e)
{
  struct mw__sbuf *cmd = &s->scratch; /* the session's: no allocation */
  mw__sbuf_reset(cmd);
  mw__sbuf_printf(cmd, "MAIL FROM:<%s>", e->from ? e->from : "");
  if(!mw__smtp_mail_params(s, cmd) || cmd->failed) {
    cmd->failed = false;
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  }
  return mw__smtp_send(s, MW__SMTP_CMD_MAIL, 0, -1, "%s", cmd->data);
}

/* RCPT TO with DSN's NOTIFY and ORCPT when asked (smtp_ext.c). */
static mw_status send_rcpt(struct mw_smtp *s)
{
  size_t i = s->txn.next_rcpt++;
  struct mw__sbuf *params = &s->scratch;
  mw__sbuf_reset(params);
  if(!mw__smtp_rcpt_params(s, i, params) || params->failed) {
    params->failed = false;
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  }
  return mw__smtp_send(s, MW__SMTP_CMD_RCPT, i, -1, "RCPT TO:<%s>%s",
                       s->txn.env->rcpts[i],
                       params->data ? params->data : "");
}

mw_status mw__smtp_queue_batch(struct mw_smtp *s)
{
  /* In one write (RFC 2920): a pending RSET, MAIL FROM, the RCPTs, then
   * DATA, or with BDAT the first chunk (smtp_data.c): one round trip for
   * a message up to MW__SMTP_DATA_CHUNK bytes. */
  struct mw__smtp_txn *t = &s->txn;
  mw_status st = MW_OK;
  if(s->reset_pending) {
    s->reset_pending = false;
    st = mw__smtp_send(s, MW__SMTP_CMD_RSET, MW__SMTP_RSET_BEFORE_MAIL, -1,
                       "%s", "RSET");
  }
  if(!st)
    st = queue_mail_from(s, t->env);
  while(!st && t->next_rcpt < t->env->count)
    st = send_rcpt(s);
  if(!st && t->bdat)
    st = mw__smtp_queue_first_chunk(s);
  else if(!st)
    st = mw__smtp_send(s, MW__SMTP_CMD_DATA, 0, -1, "%s", "DATA");
  if(!st)
    t->batch_queued = true;
  return st;
}

mw_status mw__smtp_enter_txn(struct mw_smtp *s, enum mw__smtp_state to)
{
  struct mw__smtp_txn *t = &s->txn;
  switch(to) {
  case MW__SMTP_MAIL:
    if(s->job == MW__SMTP_JOB_CHECK) {
      bool utf8 = mw__address_is_utf8(t->from) || mw__address_is_utf8(t->to);
      return mw__smtp_send(s, MW__SMTP_CMD_MAIL, 0, -1,
                           utf8 && mw__capa_has(&s->capa, "SMTPUTF8")
                               ? "MAIL FROM:<%s> SMTPUTF8"
                               : "MAIL FROM:<%s>",
                           t->from);
    }
    return queue_mail_from(s, t->env);
  case MW__SMTP_RCPT:
    if(s->job == MW__SMTP_JOB_CHECK)
      return mw__smtp_send(s, MW__SMTP_CMD_RCPT, 0, -1, "RCPT TO:<%s>",
                           t->to);
    return send_rcpt(s);
  case MW__SMTP_DATA:
    return mw__smtp_send(s, MW__SMTP_CMD_DATA, 0, -1, "%s", "DATA");
  case MW__SMTP_PIPELINE:
    /* Already sent behind the previous message's dot: its replies. */
    return t->batch_queued ? MW_OK : mw__smtp_queue_batch(s);
  case MW__SMTP_DATA_EMPTY:
    return mw__smtp_send(s, MW__SMTP_CMD_DOT, 0, -1, "%s", ".");
  case MW__SMTP_BODY:
  case MW__SMTP_BDAT:
  case MW__SMTP_DATA_END:
    return mw__smtp_enter_body(s, to);
  case MW__SMTP_RSET:
    return mw__smtp_send(s, MW__SMTP_CMD_RSET, 0, -1, "%s", "RSET");
  default:
    return mw__error_set(&s->err, MW_E_STATE, "no entry for state %s",
                         mw__smtp_state_name(to));
  }
}

/* ---- the blocking API ---------------------------------------------------- */

static bool can_pipeline(const struct mw_smtp *s)
{
  return s->opt.pipelining && mw__capa_has(&s->capa, "PIPELINING");
}

/* A deferred RSET that cannot go in a batch: sent now, on its own. */
static mw_status send_pending_reset(struct mw_smtp *s)
{
  if(!s->reset_pending)
    return MW_OK;
  s->reset_pending = false;
  return mw__smtp_run(s, MW__SMTP_JOB_RESET, MW__SMTP_RSET);
}

/* Checks what the message needs against what the server offers. */
static mw_status check_message_fit(struct mw_smtp *s, const mw_envelope *e,
                                   const mw_message_info *info,
                                   bool *use_8bit, bool *use_utf8)
{
  /* A scan that stopped at an over-long line saw only part of the
   * message: refuse for that first. */
  if(info->long_line)
    return mw__error_set(&s->err, MW_E_MESSAGE,
                         "line %llu of the message is longer than %d bytes "
                         "(RFC 5321 section 4.5.3.1.6) and servers may "
                         "break or refuse it: encode the body as "
                         "quoted-printable or base64; nothing was sent",
                         (unsigned long long)info->long_line,
                         MW__SMTP_MAX_TEXT_LINE);
  bool utf8 = info->needs_smtputf8 || mw__address_is_utf8(e->from);
  for(size_t i = 0; i < e->count; i++)
    utf8 = utf8 || mw__address_is_utf8(e->rcpts[i]);
  if(utf8 && !mw__capa_has(&s->capa, "SMTPUTF8"))
    return mw__error_set(&s->err, MW_E_EXTENSION,
                         "the message or an address needs SMTPUTF8 "
                         "(non-ASCII), which the server does not offer; "
                         "nothing was sent");
  /* Binary data goes as BINARYMIME or not at all (smtp_ext.c). */
  if(info->has_8bit && !utf8 && !info->binary &&
     !mw__capa_has(&s->capa, "8BITMIME"))
    return mw__error_set(&s->err, MW_E_MESSAGE,
                         "the message has 8-bit data but the server does "
                         "not offer 8BITMIME; encode the body as "
                         "quoted-printable or base64; nothing was sent");
  if(info->longest_line > MW__SMTP_MAX_TEXT_LINE && !info->binary)
    return mw__error_set(&s->err, MW_E_MESSAGE,
                         "the message has a line of %zu bytes; SMTP allows "
                         "at most %d (RFC 5321 section 4.5.3.1.6) and "
                         "servers may break or refuse it: encode the body "
                         "as quoted-printable or base64; nothing was sent",
                         info->longest_line, MW__SMTP_MAX_TEXT_LINE);
  uint64_t limit = mw__capa_size(&s->capa);
  if(limit && info->size > limit)
    return mw__error_set(&s->err, MW_E_MESSAGE,
                         "the message (%llu bytes) exceeds the server's "
                         "SIZE limit of %llu bytes; nothing was sent",
                         (unsigned long long)info->size,
                         (unsigned long long)limit);
  *use_utf8 = utf8;
  *use_8bit = info->has_8bit && mw__capa_has(&s->capa, "8BITMIME");
  return MW_OK;
}

mw_status mw__smtp_txn_prepare(struct mw_smtp *s, struct mw__smtp_txn *t,
                               const mw_envelope *e,
                               const mw_message_info *info, mw_read_fn read,
                               void *read_user)
{
  bool use_8bit = false, use_utf8 = false;
  mw_status st = check_message_fit(s, e, info, &use_8bit, &use_utf8);
  struct mw__smtp_plan plan = {0};
  if(!st)
    st = mw__smtp_ext_plan(s, e, info, &plan);
  if(st)
    return st;
  struct mw_result *res = mw__result_new(e);
  if(!res)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  mw__smtp_txn_free(t);
  t->env = e;
  t->res = res;
  t->read = read;
  t->read_user = read_user;
  t->info = info;
  t->use_8bit = use_8bit;
  t->use_utf8 = use_utf8;
  t->pipelining = can_pipeline(s);
  t->bdat = plan.bdat;
  t->binary = plan.binary;
  t->dsn = plan.dsn;
  t->requiretls = plan.requiretls;
  return MW_OK;
}

mw_status mw_smtp_send(mw_smtp *s, const mw_envelope *e,
                       const mw_message_info *info, mw_read_fn read,
                       void *read_user, mw_result **out)
{
  if(out)
    *out = NULL;
  if(!s || !e || !read || !out)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(s->sm != MW__SMTP_READY)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is not connected");
  if(s->quit_sent)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is ending: QUIT went with the last "
                         "message (mw_smtp_quit_after_send)");
  if(!e->count)
    return mw__error_set(&s->err, MW_E_INVALID, "no recipient given");
  mw_message_info none = {0};
  if(!info)
    info = &none;
  mw_status st = can_pipeline(s) ? MW_OK : send_pending_reset(s);
  if(st)
    return st;
  int64_t t0 = mw__now_ms();
  uint64_t out0 = mw__engine_bytes_out(&s->eng);
  struct mw__smtp_txn *t = &s->txn;
  st = mw__smtp_txn_prepare(s, t, e, info, read, read_user);
  if(st)
    return st;
  struct mw_result *res = t->res;
  *out = res;
  st = mw__smtp_run(s, MW__SMTP_JOB_SEND,
                    t->pipelining ? MW__SMTP_PIPELINE : MW__SMTP_MAIL);
  mw__smtp_txn_clear(s);
  res->elapsed_ms = (double)(mw__now_ms() - t0);
  res->bytes_sent = mw__engine_bytes_out(&s->eng) - out0;
  return st;
}

struct mem_reader {
  const char *data;
  size_t len, pos;
};

static mw_status mem_read(void *user, char *buf, size_t len, size_t *got)
{
  struct mem_reader *m = user;
  size_t n = m->len - m->pos < len ? m->len - m->pos : len;
  memcpy(buf, m->data + m->pos, n);
  m->pos += n;
  *got = n;
  return MW_OK;
}

mw_status mw_smtp_send_buffer(mw_smtp *s, const mw_envelope *e,
                              const void *data, size_t len, mw_result **out)
{
  if(!data && len)
    return MW_E_INVALID;
  mw_message_info info;
  mw_message_info_scan(&info, data ? data : "", len);
  struct mem_reader m = {.data = data ? data : "", .len = len, .pos = 0};
  return mw_smtp_send(s, e, &info, mem_read, &m, out);
}

mw_status mw__smtp_check_envelope(struct mw_smtp *s, const char *from,
                                  const char *to, struct mw__reply *mail,
                                  struct mw__reply *rcpt)
{
  mw__error_clear(&s->err);
  if(s->sm != MW__SMTP_READY || s->quit_sent)
    return mw__error_set(&s->err, MW_E_STATE, "the session is not connected");
  if(mw__address_problem(from, true) || mw__address_problem(to, false))
    return mw__error_set(&s->err, MW_E_INVALID, "invalid envelope address");
  mw_status st = send_pending_reset(s);
  if(st)
    return st;
  mw__smtp_txn_clear(s);
  s->txn.from = from;
  s->txn.to = to;
  s->txn.check_mail = mail;
  s->txn.check_rcpt = rcpt;
  st = mw__smtp_run(s, MW__SMTP_JOB_CHECK, MW__SMTP_MAIL);
  mw__smtp_txn_clear(s);
  return st;
}

mw_status mw_smtp_reset(mw_smtp *s)
{
  if(!s)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(s->sm != MW__SMTP_READY || s->quit_sent)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is not connected");
  if(can_pipeline(s)) {
    /* Sent first in the next transaction's batch: no round trip of its
     * own (RFC 2920 allows RSET anywhere in a group). */
    s->reset_pending = true;
    return MW_OK;
  }
  return mw__smtp_run(s, MW__SMTP_JOB_RESET, MW__SMTP_RSET);
}
