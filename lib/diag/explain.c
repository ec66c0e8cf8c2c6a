/*
 * diag/explain.c - what an SMTP reply means (mw_explain); POP3 and IMAP
 * responses are read by diag/explain_incoming.c.
 *
 * Owns: reading "535", "5.7.8", "535 5.7.8" or a whole reply line and
 * mapping it to a cause of the catalogue (diag/causes.c) with its meaning
 * and advice.  The first of these that matches decides:
 *   1. rules on code, enhanced code and words of the text: the big
 *      providers' own replies (Gmail, Microsoft 365), then SPF/DMARC,
 *      blocklists, greylisting, rate limits, relaying, TLS and AUTH;
 *   2. the enhanced status code (RFC 3463 and its registry, RFC 5248);
 *   3. hints from the words of the text (user unknown, mailbox full, ...);
 *   4. the basic reply code (RFC 5321, RFC 4954, RFC 7504);
 *   5. the class: unknown_reply, to retry later (4xx) or not (5xx).
 * Whether to retry follows the reply code's class when there is one, the
 * enhanced code's class otherwise.
 *
 * This file holds the matching; the catalogue it reads is data apart:
 * diag/explain_rules.c (1 and 3) and diag/explain_codes.c (2, 4, 5), in
 * the format of diag/explain_int.h.
 *
 * Pure: no I/O, no allocation; every string it returns is static.
 */
#include "mailwire.h"

#include "diag/explain.h"
#include "diag/explain_int.h"

#include "proto/reply.h"

#include <stdio.h>
#include <string.h>

struct parsed {
  int code;     /* 0 when none */
  char enh[16]; /* "" when none */
  const char *text;
  int cls; /* 2-5: the reply code's class, else the enhanced code's */
};


static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum(char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char ascii_lower(char c)
{
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Whether the next item of a separated list equals word[0..len). */
static bool list_has(const char *list, char sep, const char *word,
                     size_t len)
{
  const char *p = list;
  while(*p) {
    const char *end = strchr(p, sep);
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if(n == len && memcmp(p, word, len) == 0)
      return true;
    if(!end)
      break;
    p = end + 1;
  }
  return false;
}

static bool code_listed(const char *list, int code)
{
  char num[12];
  int n = snprintf(num, sizeof(num), "%d", code);
  return n > 0 && list_has(list, ' ', num, (size_t)n);
}

static bool enh_listed(const char *list, const char *enh)
{
  if(!enh[0])
    return list_has(list, ' ', "-", 1);
  return list_has(list, ' ', enh, strlen(enh));
}

/* Whether word[0..len) occurs in text, case-insensitively, at the start
 * of a word. */
static bool has_word(const char *text, const char *word, size_t len)
{
  for(const char *p = text; *p; p++) {
    if(p > text && is_alnum(p[-1]))
      continue;
    size_t i = 0;
    while(i < len && p[i] && ascii_lower(p[i]) == word[i])
      i++;
    if(i == len)
      return true;
  }
  return false;
}

/* Whether one of the '|'-separated (lowercase) words occurs in text. */
bool mw__explain_has_any_word(const char *text, const char *words)
{
  const char *p = words;
  for(;;) {
    const char *end = strchr(p, '|');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if(n && has_word(text, p, n))
      return true;
    if(!end)
      return false;
    p = end + 1;
  }
}

static bool rule_matches(const struct rule *r, const struct parsed *p)
{
  if(r->cls && r->cls != p->cls)
    return false;
  if(r->codes && !code_listed(r->codes, p->code))
    return false;
  if(r->enh && !enh_listed(r->enh, p->enh))
    return false;
  if(r->words && !mw__explain_has_any_word(p->text, r->words))
    return false;
  if(r->unless && mw__explain_has_any_word(p->text, r->unless))
    return false;
  return true;
}

static const struct expl *match_rules(const struct rule *r, size_t n,
                                      const struct parsed *p)
{
  for(size_t i = 0; i < n; i++) {
    if(rule_matches(&r[i], p))
      return &r[i].e;
  }
  return NULL;
}

static const struct expl *match_enhanced(const struct parsed *p)
{
  if(!p->enh[0])
    return NULL;
  /* A positive reply reads only positive codes, a failure only 4.x/5.x */
  bool positive = p->cls == 2 || p->cls == 3;
  if(positive != (p->enh[0] == '2'))
    return NULL;
  const struct expl *any = NULL;
  for(size_t i = 0; i < mw__explain_enh_count; i++) {
    const char *c = mw__explain_enh_rows[i].code;
    if(strcmp(c + 1, p->enh + 1) != 0)
      continue;
    if(c[0] == p->enh[0])
      return &mw__explain_enh_rows[i].e; /* the class-specific row wins */
    if(c[0] == 'X' && !positive && !any)
      any = &mw__explain_enh_rows[i].e;
  }
  return any;
}

static const struct expl *match_code(int code)
{
  for(size_t i = 0; i < mw__explain_code_count; i++) {
    if(mw__explain_code_rows[i].code == code)
      return &mw__explain_code_rows[i].e;
  }
  return NULL;
}

/* The sender of a reply, from its text ("... - gsmtp"). */
static const char *guess_provider(const char *text)
{
  if(mw__explain_has_any_word(text, "gsmtp|support.google.com"))
    return "Gmail";
  if(mw__explain_has_any_word(text, "prod.outlook.com|protection.outlook.com"
                        "|office365"))
    return MS365;
  return NULL;
}

/* "535", "5.7.8", "535 5.7.8 text", "550-5.1.1 text": false when the text
 * starts with neither a reply code (2xx-5xx) nor an enhanced code. */
static bool parse_reply(const char *s, struct parsed *p)
{
  memset(p, 0, sizeof(*p));
  while(is_space(*s))
    s++;
  if(is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) &&
     (!s[3] || s[3] == '-' || is_space(s[3]))) {
    /* The second digit is 0-5 in RFC 5321, but servers use others (471
     * is common): only the class is checked. */
    if(s[0] < '2' || s[0] > '5')
      return false; /* "999", "170": not an SMTP reply code */
    p->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    s += 3;
    if(*s == '-')
      s++;
    while(is_space(*s))
      s++;
  }
  /* The enhanced code ends at the first white space, line breaks
   * included, which mw__parse_enhanced does not accept. */
  char token[24], enh[16];
  size_t n = 0;
  while(s[n] && !is_space(s[n]) && n < sizeof(token) - 1) {
    token[n] = s[n];
    n++;
  }
  token[n] = '\0';
  if(n && mw__parse_enhanced(token, enh)) {
    memcpy(p->enh, enh, sizeof(p->enh));
    s += n;
    while(is_space(*s))
      s++;
  }
  if(!p->code && !p->enh[0])
    return false;
  p->text = s;
  p->cls = p->code ? p->code / 100 : p->enh[0] - '0';
  return true;
}

/* Basic codes that, alone, may mean several causes (450 "mailbox
 * unavailable" is busy, greylisted or refused by policy; 550 is unknown,
 * refused or blocked): without an enhanced code or words that decide,
 * the reply fits no cause of its own. */
static bool code_is_vague(int code)
{
  switch(code) {
  case 450: case 451: case 452: case 455:
  case 500: case 501: case 502: case 503:
  case 550: case 551: case 552: case 553: case 554: case 555:
    return true;
  default:
    return false;
  }
}

static const char *fix_of(const char *cause_id)
{
  const mw_cause *c = mw_cause_find(cause_id);
  return c ? c->fix : "";
}

/* A POP3 or IMAP response (diag/explain_incoming.c). */
static mw_status explain_incoming(const char *reply_text, mw_explanation *out,
                                  bool *specific)
{
  struct mw__incoming_reply p;
  if(!mw__explain_incoming_parse(reply_text, &p))
    return MW_E_INVALID;
  bool strong = false;
  const struct expl *e = mw__explain_incoming_match(&p, &strong);
  out->protocol = p.protocol;
  memcpy(out->response_code, p.code, sizeof(out->response_code));
  out->cause_id = e->cause;
  out->meaning = e->meaning;
  out->advice = e->advice ? e->advice : fix_of(e->cause);
  out->provider = e->provider ? e->provider : guess_provider(p.text);
  const mw_cause *c = mw_cause_find(e->cause);
  out->temporary = c && (c->cause_class == MW_CAUSE_RETRY ||
                         !strcmp(c->id, "auth_temporary") ||
                         !strcmp(c->id, "service_unavailable"));
  if(specific)
    *specific = strong;
  return MW_OK;
}

mw_status mw__explain(const char *reply_text, mw_explanation *out,
                      bool *specific)
{
  bool weak = false;
  struct parsed p;
  if(!out)
    return MW_E_INVALID;
  memset(out, 0, sizeof(*out));
  if(!reply_text)
    return MW_E_INVALID;
  if(!parse_reply(reply_text, &p))
    return explain_incoming(reply_text, out, specific);
  out->protocol = "SMTP";

  const struct expl *e = NULL;
  if(p.cls == 2 || p.cls == 3) {
    e = match_enhanced(&p);
    if(!e && p.code)
      e = match_code(p.code);
    if(!e)
      e = p.cls == 3 ? &mw__explain_intermediate_reply
                       : &mw__explain_positive_reply;
  }
  else {
    e = match_rules(mw__explain_rules, mw__explain_rules_count, &p);
    if(!e) {
      e = match_enhanced(&p);
      /* x.0.0 says nothing, and a protocol status (x.5.x) at a refusal
       * names no cause of its own */
      weak = e && strcmp(e->cause, "protocol_error") == 0;
    }
    if(!e)
      e = match_rules(mw__explain_hints, mw__explain_hints_count, &p);
    if(!e && p.code) {
      e = match_code(p.code);
      weak = e && code_is_vague(p.code);
    }
    if(!e) {
      e = p.cls == 4 ? &mw__explain_unknown_temporary
                       : &mw__explain_unknown_permanent;
      weak = true;
    }
  }

  out->code = p.code;
  memcpy(out->enhanced, p.enh, sizeof(out->enhanced));
  out->cause_id = e->cause;
  out->meaning = e->meaning;
  out->advice = e->advice ? e->advice : fix_of(e->cause);
  out->provider = e->provider ? e->provider : guess_provider(p.text);
  out->temporary = p.cls == 4;
  if(specific)
    *specific = !weak;
  return MW_OK;
}

mw_status mw_explain(const char *reply_text, mw_explanation *out)
{
  return mw__explain(reply_text, out, NULL);
}
