/*
 * proto/smtp_ext.c - the SMTP service extensions of a mail transaction
 * beyond the envelope itself.
 *
 * Owns: the envelope's DSN (RFC 3461) and REQUIRETLS (RFC 8689) requests
 * and their setters, xtext encoding (RFC 3461 section 4), the plan made
 * before MAIL FROM (mw__smtp_ext_plan: BDAT or DATA, BODY=8BITMIME or
 * BINARYMIME, DSN, REQUIRETLS, and a refusal with MW_E_EXTENSION when the
 * server lacks what the message or the request needs), and the
 * parameters MAIL FROM and RCPT TO carry for them.
 *
 * DESCRIPTION
 *   Nothing here is guessed from a reply's words: the server's EHLO
 *   keywords decide (proto/capa.h).  A request the server cannot honour
 *   is refused before MAIL FROM, so nothing is sent and the session stays
 *   ready: a DSN asked for but not offered would silently give no report,
 *   and REQUIRETLS not honoured would let the message travel in clear,
 *   which is what the sender asked to prevent.  REQUIRETLS is sent only
 *   over TLS whose certificate was verified (or pinned): RFC 8689 section
 *   4.1 asks that of every hop, the first one included.
 *
 * DIAGNOSTICS
 *   MW_E_EXTENSION (the server lacks DSN, REQUIRETLS, BINARYMIME or
 *   CHUNKING; REQUIRETLS without verified TLS), MW_E_INVALID (setters),
 *   MW_E_NOMEM.
 */
#include "proto/smtp.h"

#include "core/util.h"

#include <ctype.h>
#include <string.h>

/* ---- xtext (RFC 3461 section 4) ---------------------------------------- */

/* Appends the xtext form of text[0..len): "!" to "~" as they are, except
 * "+" and "=", which with every other byte become "+HH". */
static bool xtext_append(struct mw__sbuf *b, const char *text, size_t len)
{
  static const char hex[] = "0123456789ABCDEF";
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if(c >= '!' && c <= '~' && c != '+' && c != '=') {
      if(!mw__sbuf_append(b, &text[i], 1))
        return false;
      continue;
    }
    char esc[3] = {'+', hex[c >> 4], hex[c & 15]};
    if(!mw__sbuf_append(b, esc, 3))
      return false;
  }
  return true;
}

static size_t xtext_len(const char *text)
{
  size_t n = 0;
  for(const unsigned char *p = (const unsigned char *)text; *p; p++)
    n += *p >= '!' && *p <= '~' && *p != '+' && *p != '=' ? 1 : 3;
  return n;
}

/* Printable US-ASCII (space included), as ENVID and ORCPT must be. */
static bool printable_ascii(const char *text)
{
  for(const unsigned char *p = (const unsigned char *)text; *p; p++)
    if(*p < 0x20 || *p > 0x7e)
      return false;
  return true;
}

/* ---- the envelope's requests ------------------------------------------- */

#define ENVID_MAX 100 /* RFC 3461 section 4.4, encoded */
#define ORCPT_MAX 500 /* RFC 3461 section 4.2, encoded */

static bool notify_valid(unsigned notify)
{
  const unsigned all = MW_DSN_NOTIFY_NEVER | MW_DSN_NOTIFY_SUCCESS |
                       MW_DSN_NOTIFY_FAILURE | MW_DSN_NOTIFY_DELAY;
  if(notify & ~all)
    return false;
  return !(notify & MW_DSN_NOTIFY_NEVER) || notify == MW_DSN_NOTIFY_NEVER;
}

void mw__envelope_ext_free(struct mw_envelope *e)
{
  for(size_t i = 0; i < e->ndsn; i++)
    mw__free(e->rcpt_dsn[i].orcpt);
  mw__free(e->rcpt_dsn);
  e->rcpt_dsn = NULL;
  e->ndsn = 0;
  mw__free(e->envid);
  e->envid = NULL;
}

mw_status mw_envelope_set_dsn(mw_envelope *e, unsigned notify, mw_dsn_ret ret,
                              const char *envid)
{
  if(!e || !notify_valid(notify) ||
     (ret != MW_DSN_RET_DEFAULT && ret != MW_DSN_RET_FULL &&
      ret != MW_DSN_RET_HDRS))
    return MW_E_INVALID;
  if(envid && (!*envid || !printable_ascii(envid) ||
               xtext_len(envid) > ENVID_MAX))
    return MW_E_INVALID;
  if(!mw__replace_string(&e->envid, envid))
    return MW_E_NOMEM;
  e->dsn_notify = notify;
  e->dsn_ret = ret;
  return MW_OK;
}

/* "rfc822;addr" or a bare address: the address type is an atom. */
static bool orcpt_valid(const char *orcpt)
{
  if(!*orcpt || !printable_ascii(orcpt))
    return false;
  const char *semi = strchr(orcpt, ';');
  if(semi) {
    if(semi == orcpt || !semi[1])
      return false;
    for(const char *p = orcpt; p < semi; p++)
      if(!isalnum((unsigned char)*p) && *p != '-')
        return false;
  }
  return (semi ? 0 : strlen("rfc822;")) + xtext_len(orcpt) <= ORCPT_MAX;
}

mw_status mw_envelope_set_recipient_dsn(mw_envelope *e, size_t i,
                                        unsigned notify, const char *orcpt)
{
  if(!e || i >= e->count || !notify_valid(notify) ||
     (orcpt && !orcpt_valid(orcpt)))
    return MW_E_INVALID;
  if(e->ndsn <= i) {
    struct mw__rcpt_dsn *p = mw__realloc(e->rcpt_dsn, e->count * sizeof(*p));
    if(!p)
      return MW_E_NOMEM;
    memset(p + e->ndsn, 0, (e->count - e->ndsn) * sizeof(*p));
    e->rcpt_dsn = p;
    e->ndsn = e->count;
  }
  if(!mw__replace_string(&e->rcpt_dsn[i].orcpt, orcpt))
    return MW_E_NOMEM;
  e->rcpt_dsn[i].notify = notify;
  return MW_OK;
}

mw_status mw_envelope_set_requiretls(mw_envelope *e, bool on)
{
  if(!e)
    return MW_E_INVALID;
  e->requiretls = on;
  return MW_OK;
}

mw_status mw_dsn_notify_parse(const char *text, unsigned *out)
{
  static const struct {
    const char *name;
    unsigned flag;
  } words[] = {{"never", MW_DSN_NOTIFY_NEVER},
               {"success", MW_DSN_NOTIFY_SUCCESS},
               {"failure", MW_DSN_NOTIFY_FAILURE},
               {"delay", MW_DSN_NOTIFY_DELAY}};
  if(!text || !out)
    return MW_E_INVALID;
  unsigned flags = 0;
  const char *p = text;
  for(;;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    size_t k = 0;
    while(k < sizeof(words) / sizeof(words[0]) &&
          !(strlen(words[k].name) == n && mw__strnieq(p, words[k].name, n)))
      k++;
    if(k == sizeof(words) / sizeof(words[0]) || (flags & words[k].flag))
      return MW_E_INVALID;
    flags |= words[k].flag;
    if(!end)
      break;
    p = end + 1;
  }
  if(!notify_valid(flags))
    return MW_E_INVALID;
  *out = flags;
  return MW_OK;
}

mw_status mw_dsn_ret_parse(const char *text, mw_dsn_ret *out)
{
  if(!text || !out)
    return MW_E_INVALID;
  if(mw__strieq(text, "full"))
    *out = MW_DSN_RET_FULL;
  else if(mw__strieq(text, "hdrs") || mw__strieq(text, "headers"))
    *out = MW_DSN_RET_HDRS;
  else
    return MW_E_INVALID;
  return MW_OK;
}

/* ---- the plan ---------------------------------------------------------- */

static bool dsn_requested(const struct mw_envelope *e)
{
  if(e->dsn_notify || e->dsn_ret || e->envid)
    return true;
  for(size_t i = 0; i < e->ndsn; i++)
    if(e->rcpt_dsn[i].notify || e->rcpt_dsn[i].orcpt)
      return true;
  return false;
}

mw_status mw__smtp_ext_plan(struct mw_smtp *s, const struct mw_envelope *e,
                            const mw_message_info *info,
                            struct mw__smtp_plan *t)
{
  t->bdat = s->bdat_allowed && mw__capa_has(&s->capa, "CHUNKING");
  t->binary = info->binary;
  if(info->binary) {
    /* RFC 3030 section 3: BINARYMIME only with BDAT; DATA cannot carry a
     * NUL byte or a bare CR or LF unchanged. */
    if(!mw__capa_has(&s->capa, "BINARYMIME"))
      return mw__error_set(&s->err, MW_E_EXTENSION,
                           "the message holds binary data (a NUL byte), "
                           "which only BINARYMIME can carry, and the server "
                           "does not offer BINARYMIME; nothing was sent");
    if(!t->bdat)
      return mw__error_set(&s->err, MW_E_EXTENSION,
                           "the message holds binary data (a NUL byte), "
                           "which BINARYMIME carries only in BDAT chunks: "
                           "the server does not offer CHUNKING%s; nothing "
                           "was sent",
                           s->bdat_allowed ? ""
                                           : " or it was turned off");
  }
  t->dsn = dsn_requested(e);
  if(t->dsn && !mw__capa_has(&s->capa, "DSN"))
    return mw__error_set(&s->err, MW_E_EXTENSION,
                         "delivery status notifications were requested "
                         "(NOTIFY, RET, ENVID or ORCPT) but the server does "
                         "not offer DSN (RFC 3461): no report would come; "
                         "nothing was sent");
  t->requiretls = e->requiretls;
  if(e->requiretls) {
    if(!s->tls)
      return mw__error_set(&s->err, MW_E_EXTENSION,
                           "REQUIRETLS was requested but the connection is "
                           "not encrypted: the message must travel over "
                           "TLS from the first hop (RFC 8689); nothing was "
                           "sent");
    if(s->opt.insecure)
      return mw__error_set(&s->err, MW_E_EXTENSION,
                           "REQUIRETLS was requested but the server's "
                           "certificate was not verified ({insecure} is "
                           "on): RFC 8689 requires a verified certificate "
                           "at every hop; nothing was sent");
    if(!mw__capa_has(&s->capa, "REQUIRETLS"))
      return mw__error_set(&s->err, MW_E_EXTENSION,
                           "REQUIRETLS was requested but the server does "
                           "not offer it (RFC 8689): it could relay the "
                           "message without TLS; nothing was sent");
  }
  return MW_OK;
}

/* ---- the parameters ---------------------------------------------------- */

bool mw__smtp_mail_params(const struct mw_smtp *s, struct mw__sbuf *b)
{
  const struct mw__smtp_txn *t = &s->txn;
  const struct mw_envelope *e = t->env;
  if(t->info->size && mw__capa_has(&s->capa, "SIZE"))
    mw__sbuf_printf(b, " SIZE=%llu", (unsigned long long)t->info->size);
  if(t->binary)
    mw__sbuf_puts(b, " BODY=BINARYMIME");
  else if(t->use_8bit)
    mw__sbuf_puts(b, " BODY=8BITMIME");
  if(t->use_utf8)
    mw__sbuf_puts(b, " SMTPUTF8");
  if(t->dsn && e->dsn_ret)
    mw__sbuf_puts(b, e->dsn_ret == MW_DSN_RET_FULL ? " RET=FULL"
                                                   : " RET=HDRS");
  if(t->dsn && e->envid) {
    mw__sbuf_puts(b, " ENVID=");
    xtext_append(b, e->envid, strlen(e->envid));
  }
  if(t->requiretls)
    mw__sbuf_puts(b, " REQUIRETLS");
  return !b->failed;
}

static void notify_append(struct mw__sbuf *b, unsigned notify)
{
  if(notify & MW_DSN_NOTIFY_NEVER) {
    mw__sbuf_puts(b, " NOTIFY=NEVER");
    return;
  }
  const char *sep = " NOTIFY=";
  static const struct {
    unsigned flag;
    const char *word;
  } order[] = {{MW_DSN_NOTIFY_SUCCESS, "SUCCESS"},
               {MW_DSN_NOTIFY_FAILURE, "FAILURE"},
               {MW_DSN_NOTIFY_DELAY, "DELAY"}};
  for(size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
    if(notify & order[k].flag) {
      mw__sbuf_puts(b, sep);
      mw__sbuf_puts(b, order[k].word);
      sep = ",";
    }
}

bool mw__smtp_rcpt_params(const struct mw_smtp *s, size_t i,
                          struct mw__sbuf *b)
{
  const struct mw__smtp_txn *t = &s->txn;
  const struct mw_envelope *e = t->env;
  if(!t->dsn)
    return true;
  const struct mw__rcpt_dsn *own = i < e->ndsn ? &e->rcpt_dsn[i] : NULL;
  unsigned notify = own && own->notify ? own->notify : e->dsn_notify;
  if(notify)
    notify_append(b, notify);
  const char *orcpt = own && own->orcpt ? own->orcpt : e->rcpts[i];
  /* A UTF-8 address would need RFC 6533's utf-8 type: none is sent. */
  if(!printable_ascii(orcpt))
    return !b->failed;
  const char *semi = own && own->orcpt ? strchr(orcpt, ';') : NULL;
  mw__sbuf_puts(b, " ORCPT=");
  if(semi) {
    mw__sbuf_append(b, orcpt, (size_t)(semi - orcpt) + 1);
    orcpt = semi + 1;
  }
  else
    mw__sbuf_puts(b, "rfc822;");
  xtext_append(b, orcpt, strlen(orcpt));
  return !b->failed;
}
