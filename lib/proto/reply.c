/*
 * proto/reply.c - strict SMTP reply parser, and copying a reply into an
 * mw_error.
 */
#include "proto/reply.h"

#include <stdio.h>
#include <string.h>

void mw__reply_init(struct mw__reply *r)
{
  memset(r, 0, sizeof(*r));
  mw__sbuf_init(&r->buf);
}

void mw__reply_free(struct mw__reply *r)
{
  mw__sbuf_free(&r->buf);
  r->text = NULL;
  r->code = 0;
  r->lines = 0;
  r->enhanced[0] = '\0';
}

void mw__reply_reset(struct mw__reply *r)
{
  mw__sbuf_reset(&r->buf);
  r->buf.failed = false;
  r->text = NULL;
  r->code = 0;
  r->lines = 0;
  r->enhanced[0] = '\0';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* status-code = class "." subject "." detail, class 2/4/5, subject 1-3
 * digits, detail 1-3 digits (RFC 3463). */
size_t mw__parse_enhanced(const char *text, char *out)
{
  const char *p = text;
  out[0] = '\0';
  if(*p != '2' && *p != '4' && *p != '5')
    return 0;
  p++;
  for(int part = 0; part < 2; part++) {
    if(*p != '.')
      return 0;
    p++;
    int n = 0;
    while(is_digit(*p) && n < 4) {
      p++;
      n++;
    }
    if(n < 1 || n > 3)
      return 0;
  }
  if(*p && *p != ' ' && *p != '\t')
    return 0;
  size_t len = (size_t)(p - text);
  memcpy(out, text, len);
  out[len] = '\0';
  while(*p == ' ' || *p == '\t')
    p++;
  return (size_t)(p - text);
}

enum mw__reply_feed mw__reply_feed(struct mw__reply *r, const char *line,
                                   size_t len, const char **why)
{
  if(len < 3 || !is_digit(line[0]) || !is_digit(line[1]) ||
     !is_digit(line[2])) {
    *why = "reply does not start with a three-digit code";
    return MW__REPLY_BAD;
  }
  if(line[0] < '2' || line[0] > '5' || line[1] > '5') {
    *why = "reply code out of range";
    return MW__REPLY_BAD;
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if(len > 3 && line[3] != ' ' && line[3] != '-') {
    *why = "reply code not followed by a space or a hyphen";
    return MW__REPLY_BAD;
  }
  if(r->code && code != r->code) {
    *why = "the lines of a multi-line reply carry different codes";
    return MW__REPLY_BAD;
  }
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)line[i];
    if((c < 0x20 && c != '\t') || c == 0x7f) {
      *why = c ? "reply contains a control character"
               : "reply contains a NUL byte";
      return MW__REPLY_BAD;
    }
  }
  if(++r->lines > MW__REPLY_MAX_LINES) {
    *why = "multi-line reply has too many lines";
    return MW__REPLY_BAD;
  }
  r->code = code;
  const char *text = len > 4 ? line + 4 : "";
  size_t tlen = len > 4 ? len - 4 : 0;
  if(r->lines == 1) {
    char tmp[16];
    /* Only a code of the same class as the reply counts (RFC 2034). */
    char bounded[24];
    size_t blen = tlen < sizeof(bounded) - 1 ? tlen : sizeof(bounded) - 1;
    memcpy(bounded, text, blen);
    bounded[blen] = '\0';
    size_t used = mw__parse_enhanced(bounded, tmp);
    if(used && tmp[0] == line[0]) {
      memcpy(r->enhanced, tmp, sizeof(r->enhanced));
      if(used <= tlen) {
        text += used;
        tlen -= used;
      }
    }
  }
  else {
    /* Continuation lines repeat the enhanced code: strip it from text. */
    char tmp[16], bounded[24];
    size_t blen = tlen < sizeof(bounded) - 1 ? tlen : sizeof(bounded) - 1;
    memcpy(bounded, text, blen);
    bounded[blen] = '\0';
    size_t used = mw__parse_enhanced(bounded, tmp);
    if(used && r->enhanced[0] && strcmp(tmp, r->enhanced) == 0) {
      text += used;
      tlen -= used;
    }
  }
  if(r->buf.len + tlen + 1 > MW__REPLY_MAX_TEXT) {
    *why = "multi-line reply is too long";
    return MW__REPLY_BAD;
  }
  if((r->lines > 1 && !mw__sbuf_append(&r->buf, "\n", 1)) ||
     !mw__sbuf_append(&r->buf, text, tlen)) {
    *why = "out of memory";
    return MW__REPLY_BAD;
  }
  r->text = r->buf.data;
  return (len > 3 && line[3] == '-') ? MW__REPLY_MORE : MW__REPLY_DONE;
}

static bool starts(const char *line, size_t len, const char *prefix)
{
  size_t n = strlen(prefix);
  return len >= n && memcmp(line, prefix, n) == 0;
}

const char *mw__reply_foreign_protocol(const char *line, size_t len)
{
  if(!line)
    return NULL;
  if(starts(line, len, "* OK") || starts(line, len, "* PREAUTH") ||
     starts(line, len, "* BYE"))
    return "IMAP";
  if(starts(line, len, "+OK") || starts(line, len, "-ERR"))
    return "POP3";
  if(starts(line, len, "SSH-"))
    return "SSH";
  if(starts(line, len, "HTTP/"))
    return "HTTP";
  return NULL;
}

void mw__error_attach_reply(struct mw_error *e, const struct mw__reply *r)
{
  if(!r || !r->code)
    return;
  e->reply_code = r->code;
  snprintf(e->enhanced, sizeof(e->enhanced), "%s", r->enhanced);
  mw__free(e->server_text);
  e->server_text = mw__strdup(r->text ? r->text : "");
  if(e->status == MW_E_REJECTED || e->status == MW_E_RECIPIENTS ||
     e->status == MW_E_AUTH)
    e->temporary = (r->code / 100 == 4);
}
