/*
 * proto/envelope.c - envelopes, results, queue ids.
 */
#include "proto/envelope.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

const char *mw__address_problem(const char *address, bool allow_empty)
{
  if(!address)
    return "address missing";
  if(!*address)
    return allow_empty ? NULL : "address is empty";
  if(strlen(address) > 320)
    return "address is longer than 320 bytes";
  for(const unsigned char *p = (const unsigned char *)address; *p; p++) {
    if(*p == '\r' || *p == '\n')
      return "address contains a line break";
    if(*p < 0x20 || *p == 0x7f)
      return "address contains a control character";
    if(*p == '<' || *p == '>')
      return "address contains '<' or '>' (give the bare address)";
    if(*p == ' ')
      return "address contains a space";
  }
  if(!strchr(address, '@'))
    return "address has no '@'";
  return NULL;
}

bool mw__address_is_utf8(const char *address)
{
  for(const unsigned char *p = (const unsigned char *)address; *p; p++)
    if(*p >= 0x80)
      return true;
  return false;
}

mw_envelope *mw_envelope_new(void)
{
  return mw__calloc(1, sizeof(struct mw_envelope));
}

void mw_envelope_free(mw_envelope *e)
{
  if(!e)
    return;
  mw__free(e->from);
  for(size_t i = 0; i < e->count; i++)
    mw__free(e->rcpts[i]);
  mw__free(e->rcpts);
  mw__free(e);
}

mw_status mw_envelope_set_from(mw_envelope *e, const char *address)
{
  if(!e || mw__address_problem(address, true))
    return MW_E_INVALID;
  return mw__replace_string(&e->from, address) ? MW_OK : MW_E_NOMEM;
}

mw_status mw_envelope_add_recipient(mw_envelope *e, const char *address)
{
  if(!e || mw__address_problem(address, false))
    return MW_E_INVALID;
  if(e->count == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 8;
    char **p = mw__realloc(e->rcpts, cap * sizeof(*p));
    if(!p)
      return MW_E_NOMEM;
    e->rcpts = p;
    e->cap = cap;
  }
  char *copy = mw__strdup(address);
  if(!copy)
    return MW_E_NOMEM;
  e->rcpts[e->count++] = copy;
  return MW_OK;
}

size_t mw_envelope_recipient_count(const mw_envelope *e)
{
  return e ? e->count : 0;
}

struct mw_result *mw__result_new(const struct mw_envelope *e)
{
  struct mw_result *r = mw__calloc(1, sizeof(*r));
  if(!r)
    return NULL;
  r->delivery = MW_DELIVERY_NOT_SENT;
  r->rcpts = mw__calloc(e->count ? e->count : 1, sizeof(*r->rcpts));
  if(!r->rcpts) {
    mw__free(r);
    return NULL;
  }
  r->count = e->count;
  for(size_t i = 0; i < e->count; i++) {
    r->rcpts[i].address = mw__strdup(e->rcpts[i]);
    if(!r->rcpts[i].address) {
      mw_result_free(r);
      return NULL;
    }
  }
  return r;
}

void mw_result_free(mw_result *r)
{
  if(!r)
    return;
  for(size_t i = 0; i < r->count; i++) {
    mw__free(r->rcpts[i].address);
    mw__free(r->rcpts[i].text);
  }
  mw__free(r->rcpts);
  mw__free(r->final_text);
  mw__free(r);
}

mw_delivery mw_result_delivery(const mw_result *r)
{
  return r ? r->delivery : MW_DELIVERY_NOT_SENT;
}
size_t mw_result_recipient_count(const mw_result *r)
{
  return r ? r->count : 0;
}
const char *mw_result_recipient(const mw_result *r, size_t i)
{
  return r && i < r->count ? r->rcpts[i].address : "";
}
bool mw_result_recipient_accepted(const mw_result *r, size_t i)
{
  return r && i < r->count && r->rcpts[i].accepted;
}
int mw_result_recipient_code(const mw_result *r, size_t i)
{
  return r && i < r->count ? r->rcpts[i].code : 0;
}
const char *mw_result_recipient_enhanced(const mw_result *r, size_t i)
{
  return r && i < r->count ? r->rcpts[i].enhanced : "";
}
const char *mw_result_recipient_text(const mw_result *r, size_t i)
{
  return r && i < r->count && r->rcpts[i].text ? r->rcpts[i].text : "";
}
int mw_result_final_code(const mw_result *r) { return r ? r->final_code : 0; }
const char *mw_result_final_text(const mw_result *r)
{
  return r && r->final_text ? r->final_text : "";
}
const char *mw_result_queue_id(const mw_result *r)
{
  return r ? r->queue_id : "";
}
double mw_result_elapsed_ms(const mw_result *r)
{
  return r ? r->elapsed_ms : 0;
}
uint64_t mw_result_bytes_sent(const mw_result *r)
{
  return r ? r->bytes_sent : 0;
}

static void copy_token(const char *p, char *out, size_t len)
{
  size_t n = 0;
  while(p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\n' && n + 1 < len) {
    out[n] = p[n];
    n++;
  }
  /* Trailing punctuation is not part of the id. */
  while(n && (out[n - 1] == '.' || out[n - 1] == ',' || out[n - 1] == ')'))
    n--;
  out[n] = '\0';
}

/* Known shapes: Postfix "Ok: queued as 4Xyz", Exim "OK id=1abc-2",
 * Sendmail "abc123 Message accepted for delivery", Exchange
 * "Queued mail for delivery" (none). */
void mw__parse_queue_id(const char *text, char *out, size_t len)
{
  out[0] = '\0';
  if(!text)
    return;
  const char *p;
  for(p = text; *p; p++) {
    if(mw__strnieq(p, "queued as ", 10)) {
      copy_token(p + 10, out, len);
      return;
    }
    if(mw__strnieq(p, "id=", 3) && (p == text || p[-1] == ' ')) {
      copy_token(p + 3, out, len);
      return;
    }
  }
  const char *acc = NULL;
  for(p = text; *p; p++)
    if(mw__strnieq(p, " Message accepted for delivery", 30)) {
      acc = p;
      break;
    }
  if(acc) {
    const char *w = acc;
    while(w > text && w[-1] != ' ' && w[-1] != '\n' && w[-1] != '\t')
      w--;
    size_t n = (size_t)(acc - w);
    if(n && n < len) {
      memcpy(out, w, n);
      out[n] = '\0';
    }
  }
}
