/*
 * proto/capa.c - EHLO capability parser.
 */
#include "proto/capa.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

void mw__capa_init(struct mw__capa *c) { memset(c, 0, sizeof(*c)); }

void mw__capa_clear(struct mw__capa *c)
{
  for(size_t i = 0; i < c->count; i++)
    mw__free(c->items[i].params);
  mw__capa_init(c);
}

static bool is_keyword_char(char ch)
{
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') || ch == '-';
}

static struct mw__capa_entry *find_mut(struct mw__capa *c, const char *kw)
{
  for(size_t i = 0; i < c->count; i++)
    if(strcmp(c->items[i].keyword, kw) == 0)
      return &c->items[i];
  return NULL;
}

static bool add_line(struct mw__capa *c, const char *line, size_t len)
{
  size_t k = 0;
  while(k < len && is_keyword_char(line[k]))
    k++;
  /* Old servers say "AUTH=LOGIN PLAIN"; treat '=' as the separator. */
  bool equals_form = k < len && line[k] == '=';
  if(k == 0 || k >= sizeof(c->items[0].keyword) ||
     (k < len && line[k] != ' ' && !equals_form))
    return true; /* not a keyword: ignore the line */
  char kw[32];
  for(size_t i = 0; i < k; i++)
    kw[i] = (line[i] >= 'a' && line[i] <= 'z') ? (char)(line[i] - 32)
                                                : line[i];
  kw[k] = '\0';
  const char *params = k < len ? line + k + 1 : line + len;
  size_t plen = k < len ? len - k - 1 : 0;
  while(plen && *params == ' ') {
    params++;
    plen--;
  }
  struct mw__capa_entry *e = find_mut(c, kw);
  if(e) {
    if(equals_form)
      return true; /* the standard form wins */
    mw__free(e->params);
  }
  else {
    if(c->count == MW__CAPA_MAX)
      return true;
    e = &c->items[c->count++];
    memcpy(e->keyword, kw, k + 1);
  }
  e->params = mw__strndup(params, plen);
  return e->params != NULL;
}

bool mw__capa_parse(struct mw__capa *c, const char *ehlo_text)
{
  mw__capa_clear(c);
  const char *p = strchr(ehlo_text, '\n');
  while(p) {
    p++;
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if(!add_line(c, p, len))
      return false;
    p = end;
  }
  c->valid = true;
  return true;
}

const struct mw__capa_entry *mw__capa_find(const struct mw__capa *c,
                                           const char *keyword)
{
  for(size_t i = 0; i < c->count; i++)
    if(mw__strieq(c->items[i].keyword, keyword))
      return &c->items[i];
  return NULL;
}

bool mw__capa_has(const struct mw__capa *c, const char *keyword)
{
  return mw__capa_find(c, keyword) != NULL;
}

uint64_t mw__capa_size(const struct mw__capa *c)
{
  const struct mw__capa_entry *e = mw__capa_find(c, "SIZE");
  if(!e || !e->params[0])
    return 0;
  uint64_t v = 0;
  for(const char *p = e->params; *p; p++) {
    if(*p < '0' || *p > '9')
      return 0;
    if(v > (UINT64_MAX - 9) / 10)
      return 0;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  return v;
}

bool mw__capa_auth_has(const struct mw__capa *c, const char *mech)
{
  const struct mw__capa_entry *e = mw__capa_find(c, "AUTH");
  if(!e)
    return false;
  size_t ml = strlen(mech);
  const char *p = e->params;
  while(*p) {
    while(*p == ' ')
      p++;
    const char *w = p;
    while(*p && *p != ' ')
      p++;
    if((size_t)(p - w) == ml && mw__strnieq(w, mech, ml))
      return true;
  }
  return false;
}
