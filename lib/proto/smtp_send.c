/*
 * proto/smtp_send.c - the SMTP mail transaction on a ready session.
 *
 * Owns: MAIL, RCPT and DATA (pipelined in one write when the server offers
 * PIPELINING, RFC 2920, else one command per round trip), the per-recipient
 * results, streaming the message in constant memory (dot-stuffed, CRLF
 * line endings: proto/data.c), the final reply and what it means for
 * delivery, RSET, and doctor's envelope test (MAIL, RCPT, then RSET).
 * Session setup, AUTH and QUIT are proto/smtp.c's.
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
#include "proto/data.h"
#include "proto/envelope.h"

#include <stdio.h>
#include <string.h>

/* Bytes of message read per chunk while streaming DATA. */
#define DATA_CHUNK 65536

/* ---- the mail transaction ------------------------------------------------ */

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

static mw_status smtp_rset_quietly(struct mw_smtp *s)
{
  struct mw__reply r;
  mw__reply_init(&r);
  mw_status st = mw__smtp_command(s, &r, mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS), -1,
                              "%s", "RSET");
  mw__reply_free(&r);
  return st;
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
    return mw__error_set(&s->err, MW_E_MESSAGE,
                         "the message or an address needs SMTPUTF8 "
                         "(non-ASCII), which the server does not offer; "
                         "nothing was sent");
  if(info->has_8bit && !utf8 && !mw__capa_has(&s->capa, "8BITMIME"))
    return mw__error_set(&s->err, MW_E_MESSAGE,
                         "the message has 8-bit data but the server does "
                         "not offer 8BITMIME; encode the body as "
                         "quoted-printable or base64; nothing was sent");
  if(info->longest_line > MW__SMTP_MAX_TEXT_LINE)
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

static mw_status queue_mail_from(struct mw_smtp *s, const mw_envelope *e,
                                 const mw_message_info *info, bool use_8bit,
                                 bool use_utf8)
{
  char params[128] = "";
  size_t used = 0;
  if(info->size && mw__capa_has(&s->capa, "SIZE"))
    used += (size_t)snprintf(params + used, sizeof(params) - used,
                             " SIZE=%llu", (unsigned long long)info->size);
  if(use_8bit)
    used += (size_t)snprintf(params + used, sizeof(params) - used,
                             " BODY=8BITMIME");
  if(use_utf8)
    snprintf(params + used, sizeof(params) - used, " SMTPUTF8");
  struct mw__sbuf cmd;
  mw__sbuf_init(&cmd);
  mw__sbuf_printf(&cmd, "MAIL FROM:<%s>%s", e->from ? e->from : "", params);
  if(cmd.failed) {
    mw__sbuf_free(&cmd);
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  }
  mw_status st = mw__smtp_queue(s, -1, "%s", cmd.data);
  mw__sbuf_free(&cmd);
  return st;
}

/* Streams the message body and the final dot; reads the final reply. */
static mw_status smtp_data_body(struct mw_smtp *s, mw_read_fn read,
                                void *read_user, struct mw_result *res)
{
  char *chunk = mw__malloc(DATA_CHUNK);
  if(!chunk)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  struct mw__data_encoder enc;
  mw__data_encoder_init(&enc);
  uint64_t body_bytes = 0;
  mw_status st = MW_OK;
  unsigned block_ms = mw__smtp_cmd_timeout(s, MW__SMTP_DATA_BLOCK_MS);
  for(;;) {
    size_t got = 0;
    st = read(read_user, chunk, DATA_CHUNK, &got);
    if(st) {
      mw__error_set(&s->err, MW_E_IO,
                    "reading the message failed; the connection was closed "
                    "without ending the data, so nothing was delivered");
      st = MW_E_IO;
      break;
    }
    if(!got)
      break;
    body_bytes += got;
    if(!mw__data_encode(&enc, chunk, got, &s->stream.wbuf)) {
      st = mw__error_set(&s->err, MW_E_NOMEM, NULL);
      break;
    }
    if(mw__stream_queued(&s->stream) >= DATA_CHUNK) {
      st = mw__stream_flush(&s->stream, mw__smtp_deadline_in(block_ms));
      if(st)
        break;
    }
  }
  mw__free(chunk);
  if(!st)
    st = mw__stream_flush(&s->stream, mw__smtp_deadline_in(block_ms));
  if(st) {
    /* Never send the dot after a failure: the server discards an
     * unterminated message when the connection closes. */
    res->delivery = MW_DELIVERY_NOT_SENT;
    return mw__smtp_broken(s, st);
  }
  mw__trace_emit(&s->trace, MW_TRACE_OUT,
                 "<message: %llu bytes, dot-stuffed, CRLF line endings>",
                 (unsigned long long)body_bytes);
  if(!mw__data_finish(&enc, &s->stream.wbuf))
    return mw__smtp_broken(s, mw__error_set(&s->err, MW_E_NOMEM, NULL));
  mw__trace_emit(&s->trace, MW_TRACE_OUT, ".");
  unsigned end_ms = mw__smtp_cmd_timeout(s, MW__SMTP_DATA_END_MS);
  st = mw__stream_flush(&s->stream, mw__smtp_deadline_in(end_ms));
  struct mw__reply r;
  mw__reply_init(&r);
  if(!st)
    st = mw__smtp_read_reply(s, &r, mw__smtp_deadline_in(end_ms));
  if(st) {
    char why[sizeof(s->err.message)];
    snprintf(why, sizeof(why), "%s", s->err.message);
    mw__error_set(&s->err, MW_E_DELIVERY_UNKNOWN,
                  "the connection failed after the message was sent (%s): "
                  "the server may or may not have accepted it",
                  why);
    res->delivery = MW_DELIVERY_UNKNOWN;
    mw__reply_free(&r);
    return mw__smtp_broken(s, MW_E_DELIVERY_UNKNOWN);
  }
  res->final_code = r.code;
  res->final_text = mw__strdup(r.text ? r.text : "");
  if(r.code / 100 == 2) {
    res->delivery = MW_DELIVERY_ACCEPTED;
    mw__parse_queue_id(r.text, res->queue_id, sizeof(res->queue_id));
  }
  else if(r.code / 100 == 3) {
    /* Neither yes nor no: the server's state is unknown, and so is the
     * message's fate. */
    mw__smtp_reply_error(s, MW_E_DELIVERY_UNKNOWN, &r,
                "the server answered the end of the message with an "
                "intermediate reply, where a final one is due: it may or "
                "may not have accepted it");
    res->delivery = MW_DELIVERY_UNKNOWN;
    mw__reply_free(&r);
    return mw__smtp_broken(s, MW_E_DELIVERY_UNKNOWN);
  }
  else if(r.code == 421) {
    res->delivery = MW_DELIVERY_REFUSED;
    st = transaction_reply(s, &r, "the end of the message", false);
    mw__reply_free(&r);
    return mw__smtp_broken(s, st);
  }
  else {
    res->delivery = MW_DELIVERY_REFUSED;
    st = mw__smtp_reply_error(s, MW_E_REJECTED, &r,
                     "the server refused the message after the data");
  }
  mw__reply_free(&r);
  return st;
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
  if(s->state != SMTP_READY)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is not connected");
  if(!e->count)
    return mw__error_set(&s->err, MW_E_INVALID, "no recipient given");
  mw_message_info none = {0};
  if(!info)
    info = &none;
  bool use_8bit = false, use_utf8 = false;
  mw_status st = check_message_fit(s, e, info, &use_8bit, &use_utf8);
  if(st)
    return st;
  struct mw_result *res = mw__result_new(e);
  if(!res)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  *out = res;
  int64_t t0 = mw__now_ms();
  uint64_t out0 = s->stream.bytes_out;
  bool pipelining = s->opt.pipelining && mw__capa_has(&s->capa, "PIPELINING");
  unsigned ms = mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS);
  unsigned data_ms = mw__smtp_cmd_timeout(s, MW__SMTP_DATA_INIT_MS);
  struct mw__reply r;
  mw__reply_init(&r);
  size_t accepted = 0;
  bool mail_ok = false, data_started = false;

  /* MAIL FROM, then RCPT TO and DATA: all in one write with PIPELINING
   * (RFC 2920), else one command per round trip, stopping early. */
  st = queue_mail_from(s, e, info, use_8bit, use_utf8);
  if(!st && !pipelining)
    st = mw__stream_flush(&s->stream, mw__smtp_deadline_in(ms));
  if(!st && !pipelining) {
    st = mw__smtp_read_reply(s, &r, mw__smtp_deadline_in(ms));
    if(!st)
      st = transaction_reply(s, &r, "MAIL FROM", false);
    if(!st && r.code / 100 == 2)
      mail_ok = true;
    else if(!st)
      st = mw__smtp_reply_error(s, MW_E_REJECTED, &r,
                       "the server refused the sender <%s>",
                       e->from ? e->from : "");
    for(size_t i = 0; !st && i < e->count; i++) {
      st = mw__smtp_command(s, &r, ms, -1, "RCPT TO:<%s>", e->rcpts[i]);
      if(!st)
        st = transaction_reply(s, &r, "RCPT TO", false);
      if(!st) {
        record_rcpt(res, i, &r);
        accepted += res->rcpts[i].accepted;
      }
    }
    if(!st && accepted) {
      st = mw__smtp_command(s, &r, data_ms, -1, "%s", "DATA");
      if(!st)
        st = transaction_reply(s, &r, "DATA", true);
      data_started = !st && r.code == 354;
    }
  }
  else if(!st) {
    for(size_t i = 0; !st && i < e->count; i++)
      st = mw__smtp_queue(s, -1, "RCPT TO:<%s>", e->rcpts[i]);
    if(!st)
      st = mw__smtp_queue(s, -1, "%s", "DATA");
    if(!st)
      st = mw__stream_flush(&s->stream, mw__smtp_deadline_in(ms));
    if(!st)
      st = mw__smtp_read_reply(s, &r, mw__smtp_deadline_in(ms));
    if(!st)
      st = transaction_reply(s, &r, "MAIL FROM", false);
    if(!st)
      mail_ok = r.code / 100 == 2;
    struct mw__reply mail_reply;
    mw__reply_init(&mail_reply);
    if(!st && !mail_ok) {
      mail_reply.code = r.code;
      memcpy(mail_reply.enhanced, r.enhanced, sizeof(r.enhanced));
      mw__sbuf_puts(&mail_reply.buf, r.text ? r.text : "");
      mail_reply.text = mail_reply.buf.data;
    }
    for(size_t i = 0; !st && i < e->count; i++) {
      st = mw__smtp_read_reply(s, &r, mw__smtp_deadline_in(ms));
      if(!st)
        st = transaction_reply(s, &r, "RCPT TO", false);
      if(!st) {
        record_rcpt(res, i, &r);
        accepted += res->rcpts[i].accepted;
      }
    }
    if(!st)
      st = mw__smtp_read_reply(s, &r, mw__smtp_deadline_in(data_ms));
    if(!st)
      st = transaction_reply(s, &r, "DATA", true);
    if(!st && r.code == 354 && (!accepted || !mail_ok)) {
      /* A lax server opened DATA although the sender or every recipient
       * was refused: end it empty (it must refuse that) so the session
       * stays in step; nothing of the message is sent. */
      st = mw__smtp_queue(s, -1, "%s", ".");
      if(!st)
        st = mw__stream_flush(&s->stream, mw__smtp_deadline_in(ms));
      if(!st)
        st = mw__smtp_read_reply(s, &r, mw__smtp_deadline_in(ms));
      if(!st && r.code / 100 == 2)
        st = mw__error_set(&s->err, MW_E_PROTOCOL,
                           "the server accepted an empty message with no "
                           "valid recipient");
    }
    else {
      data_started = !st && r.code == 354;
    }
    if(!st && !mail_ok)
      st = mw__smtp_reply_error(s, MW_E_REJECTED, &mail_reply,
                       "the server refused the sender <%s>",
                       e->from ? e->from : "");
    mw__reply_free(&mail_reply);
  }

  if(!st && mail_ok && !accepted) {
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
    st = MW_E_RECIPIENTS;
  }
  else if(!st && mail_ok && !data_started) {
    st = mw__smtp_reply_error(s, MW_E_REJECTED, &r, "the server refused DATA");
  }
  mw__reply_free(&r);

  if(!st) {
    st = smtp_data_body(s, read, read_user, res);
  }
  else if(st == MW_E_REJECTED || st == MW_E_RECIPIENTS) {
    res->delivery = MW_DELIVERY_REFUSED;
    /* Keep the session usable for the next message; the error stays. */
    struct mw_error saved = s->err;
    memset(&s->err, 0, sizeof(s->err));
    mw_status rs = smtp_rset_quietly(s);
    mw__error_clear(&s->err);
    s->err = saved;
    if(rs)
      mw__smtp_broken(s, rs);
  }
  else if(st != MW_E_INVALID && st != MW_E_NOMEM) {
    mw__smtp_broken(s, st);
  }
  res->elapsed_ms = (double)(mw__now_ms() - t0);
  res->bytes_sent = s->stream.bytes_out - out0;
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

static void copy_reply(struct mw__reply *dst, const struct mw__reply *src)
{
  mw__reply_free(dst);
  mw__reply_init(dst);
  dst->code = src->code;
  memcpy(dst->enhanced, src->enhanced, sizeof(dst->enhanced));
  mw__sbuf_puts(&dst->buf, src->text ? src->text : "");
  dst->text = dst->buf.data;
}

mw_status mw__smtp_check_envelope(struct mw_smtp *s, const char *from,
                                  const char *to, struct mw__reply *mail,
                                  struct mw__reply *rcpt)
{
  mw__error_clear(&s->err);
  if(s->state != SMTP_READY)
    return mw__error_set(&s->err, MW_E_STATE, "the session is not connected");
  if(mw__address_problem(from, true) || mw__address_problem(to, false))
    return mw__error_set(&s->err, MW_E_INVALID, "invalid envelope address");
  struct mw__reply r;
  mw__reply_init(&r);
  unsigned ms = mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS);
  bool utf8 = mw__address_is_utf8(from) || mw__address_is_utf8(to);
  mw_status st = mw__smtp_command(s, &r, ms, -1,
                              utf8 && mw__capa_has(&s->capa, "SMTPUTF8")
                                  ? "MAIL FROM:<%s> SMTPUTF8"
                                  : "MAIL FROM:<%s>",
                              from);
  if(!st)
    copy_reply(mail, &r);
  if(!st && r.code == 250) {
    st = mw__smtp_command(s, &r, ms, -1, "RCPT TO:<%s>", to);
    if(!st)
      copy_reply(rcpt, &r);
  }
  /* A 421 closes the channel (RFC 5321 section 3.8): the replies were
   * read and are the answer; there is nobody left to RSET. */
  bool closing = !st && r.code == 421;
  if(!st && !closing)
    st = mw__smtp_command(s, &r, ms, -1, "%s", "RSET");
  mw__reply_free(&r);
  if(st || closing)
    mw__smtp_broken(s, st);
  return st;
}

mw_status mw_smtp_reset(mw_smtp *s)
{
  if(!s)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(s->state != SMTP_READY)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is not connected");
  struct mw__reply r;
  mw__reply_init(&r);
  mw_status st = mw__smtp_command(s, &r, mw__smtp_cmd_timeout(s, MW__SMTP_COMMAND_MS), -1,
                              "%s", "RSET");
  if(!st && r.code != 250)
    st = mw__smtp_reply_error(s, MW_E_REJECTED, &r, "the server refused RSET");
  mw__reply_free(&r);
  if(st && st != MW_E_REJECTED)
    mw__smtp_broken(s, st);
  return st;
}
