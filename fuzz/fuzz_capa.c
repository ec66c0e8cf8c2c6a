/*
 * fuzz/fuzz_capa.c - the EHLO capability parser (proto/capa.h) and the
 * questions asked of it, including the SASL mechanism choice made from
 * the AUTH line.
 *
 * Input: byte 0 chooses the path, the rest is the server's text:
 *   even: the rest is an EHLO reply on the wire ("250-name\r\n250-AUTH
 *         PLAIN\r\n250 SIZE 1000\r\n"), parsed by mw__reply_feed first
 *         (as the client does), and the text of the first complete 250
 *         reply goes to mw__capa_parse;
 *   odd:  the rest, up to a NUL, goes to mw__capa_parse directly (lines
 *         joined by LF, the first one the greeting name), so bytes the
 *         reply parser would refuse reach the capability parser too.
 *
 * Invariants (abort() when violated):
 *   - at most MW__CAPA_MAX entries; keywords are 1-31 bytes of A-Z, 0-9
 *     and '-', upper case, unique, each the start of an input line (case
 *     aside); parameters are never NULL, hold no LF and start with no
 *     space;
 *   - find/has find every entry whatever the case of the question, and
 *     nothing else;
 *   - the SIZE limit is the SIZE parameter's decimal value when it is all
 *     digits and below 10^18, else 0 (or the value, up to 2^64-1);
 *   - mw__capa_auth_has is true exactly for the words of the AUTH
 *     parameter; mw__sasl_choose picks a mechanism the server offers and
 *     the user allows, the strongest one, or NULL when there is none;
 *   - parsing again into the same object gives the same result (no
 *     leftovers), and clearing frees everything (LeakSanitizer).
 */
#include "core/util.h"
#include "proto/capa.h"
#include "proto/reply.h"
#include "proto/sasl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
  do {                                                                      \
    if(!(cond)) {                                                           \
      fprintf(stderr, "fuzz_capa: invariant violated: %s (%s:%d)\n", #cond, \
              __FILE__, __LINE__);                                          \
      abort();                                                              \
    }                                                                       \
  } while(0)

/* Strongest first, as documented in proto/sasl.c. */
static const char *const mechs[] = {
    "SCRAM-SHA-256", "SCRAM-SHA-1", "OAUTHBEARER", "XOAUTH2",
    "DIGEST-MD5",    "CRAM-MD5",    "PLAIN",       "LOGIN",
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

static bool needs_token(const char *m)
{
  return strcmp(m, "OAUTHBEARER") == 0 || strcmp(m, "XOAUTH2") == 0;
}

static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

static bool ieq_n(const char *a, const char *b, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(upper(a[i]) != upper(b[i]))
      return false;
  return true;
}

/* Whether words (space-separated) holds w, case-insensitively. */
static bool has_word(const char *words, const char *w)
{
  size_t wl = strlen(w);
  const char *p = words;
  for(;;) {
    while(*p == ' ')
      p++;
    if(!*p)
      return false;
    const char *s = p;
    while(*p && *p != ' ')
      p++;
    if((size_t)(p - s) == wl && ieq_n(s, w, wl))
      return true;
  }
}

/* Whether some line after the first starts with kw followed by ' ', '='
 * or the end of the line. */
static bool keyword_in_text(const char *text, const char *kw)
{
  size_t kl = strlen(kw);
  const char *p = strchr(text, '\n');
  while(p) {
    p++;
    if(ieq_n(p, kw, kl) && strnlen(p, kl) == kl &&
       (p[kl] == ' ' || p[kl] == '=' || p[kl] == '\n' || p[kl] == '\0'))
      return true;
    p = strchr(p, '\n');
  }
  return false;
}

static void lower_copy(char *dst, const char *src)
{
  size_t i;
  for(i = 0; src[i]; i++)
    dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] + 32) : src[i];
  dst[i] = '\0';
}

/* The SIZE parameter's exact value, 0 when it is not all digits or does
 * not fit in 64 bits. */
static uint64_t model_size(const struct mw__capa_entry *e)
{
  if(!e || !e->params[0])
    return 0;
  uint64_t v = 0;
  for(const char *p = e->params; *p; p++) {
    if(*p < '0' || *p > '9')
      return 0;
    unsigned d = (unsigned)(*p - '0');
    if(v > (UINT64_MAX - d) / 10)
      return 0;
    v = v * 10 + d;
  }
  return v;
}

/* The library may give up (0: no limit) a little early near 2^64, never
 * below 10^18, and never returns anything but the exact value or 0. */
static void check_size(const struct mw__capa *c)
{
  uint64_t got = mw__capa_size(c);
  uint64_t want = model_size(mw__capa_find(c, "SIZE"));
  CHECK(got == want || (got == 0 && want >= UINT64_C(1000000000000000000)));
}

static void check_choose(const char *offered, const char *allowed,
                         bool pw, bool tok)
{
  const char *got = mw__sasl_choose(offered, allowed, pw, tok);
  const char *want = NULL;
  for(size_t i = 0; i < NMECHS && !want; i++) {
    bool token = needs_token(mechs[i]);
    if((token && !tok) || (!token && !pw))
      continue;
    if(allowed && !has_word(allowed, mechs[i]))
      continue;
    if(has_word(offered, mechs[i]))
      want = mechs[i];
  }
  CHECK((got == NULL) == (want == NULL));
  if(got)
    CHECK(strcmp(got, want) == 0);
}

static void check_capa(const struct mw__capa *c, const char *text)
{
  CHECK(c->valid);
  CHECK(c->count <= MW__CAPA_MAX);
  for(size_t i = 0; i < c->count; i++) {
    const struct mw__capa_entry *e = &c->items[i];
    size_t kl = strnlen(e->keyword, sizeof(e->keyword));
    CHECK(kl >= 1 && kl < sizeof(e->keyword));
    for(size_t k = 0; k < kl; k++) {
      char ch = e->keyword[k];
      CHECK((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-');
    }
    for(size_t j = 0; j < i; j++)
      CHECK(strcmp(c->items[j].keyword, e->keyword) != 0);
    CHECK(keyword_in_text(text, e->keyword));
    CHECK(e->params != NULL);
    CHECK(strchr(e->params, '\n') == NULL);
    CHECK(e->params[0] != ' ');
    CHECK(strstr(text, e->params) != NULL);

    CHECK(mw__capa_find(c, e->keyword) == e);
    char low[32];
    lower_copy(low, e->keyword);
    CHECK(mw__capa_find(c, low) == e);
    CHECK(mw__capa_has(c, low));
  }
  CHECK(!mw__capa_has(c, "X-NOT-A-CAPABILITY-AT-ALL-REALLY"));
  CHECK(!mw__capa_has(c, ""));

  check_size(c);

  const struct mw__capa_entry *auth = mw__capa_find(c, "AUTH");
  for(size_t i = 0; i < NMECHS; i++) {
    bool want = auth && has_word(auth->params, mechs[i]);
    CHECK(mw__capa_auth_has(c, mechs[i]) == want);
  }
  if(auth) {
    /* Every word of the parameter is found, in any case. */
    const char *p = auth->params;
    while(*p) {
      while(*p == ' ')
        p++;
      const char *s = p;
      while(*p && *p != ' ')
        p++;
      if(p > s && (size_t)(p - s) < 64) {
        char w[64];
        memcpy(w, s, (size_t)(p - s));
        w[p - s] = '\0';
        CHECK(mw__capa_auth_has(c, w));
        lower_copy(w, w);
        CHECK(mw__capa_auth_has(c, w));
      }
    }
    check_choose(auth->params, NULL, true, false);
    check_choose(auth->params, NULL, false, true);
    check_choose(auth->params, NULL, true, true);
    check_choose(auth->params, NULL, false, false);
    check_choose(auth->params, "PLAIN LOGIN", true, false);
    check_choose(auth->params, "SCRAM-SHA-256 XOAUTH2", true, true);
  }
}

static void snapshot_equal(const struct mw__capa *a, const struct mw__capa *b)
{
  CHECK(a->count == b->count && a->valid == b->valid);
  for(size_t i = 0; i < a->count; i++) {
    CHECK(strcmp(a->items[i].keyword, b->items[i].keyword) == 0);
    CHECK(strcmp(a->items[i].params, b->items[i].params) == 0);
  }
}

static void run(const char *text)
{
  struct mw__capa c, again;
  mw__capa_init(&c);
  mw__capa_init(&again);
  CHECK(mw__capa_parse(&c, text));
  check_capa(&c, text);

  /* Re-parse into a used object: the same result, nothing left over. */
  CHECK(mw__capa_parse(&again, "mx.example.org\nX-OLD-ONE\nAUTH LOGIN"));
  CHECK(mw__capa_parse(&again, text));
  snapshot_equal(&c, &again);

  mw__capa_clear(&c);
  CHECK(c.count == 0 && !c.valid);
  mw__capa_clear(&again);
}

/* The client's path: wire bytes, reply parser, capabilities. */
static void run_wire(const char *in, size_t size)
{
  struct mw__reply r;
  mw__reply_init(&r);
  size_t pos = 0;
  while(pos < size) {
    const char *nl = memchr(in + pos, '\n', size - pos);
    size_t n = nl ? (size_t)(nl - (in + pos)) : size - pos;
    size_t next = pos + n + (nl ? 1 : 0);
    if(nl && n && in[pos + n - 1] == '\r')
      n--;
    const char *why = NULL;
    enum mw__reply_feed f = mw__reply_feed(&r, in + pos, n, &why);
    pos = next;
    if(f == MW__REPLY_MORE)
      continue;
    if(f == MW__REPLY_DONE && r.code == 250) {
      run(r.text ? r.text : "");
      break;
    }
    mw__reply_free(&r);
    mw__reply_init(&r);
  }
  mw__reply_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1)
    return 0;
  const char *in = (const char *)data + 1;
  size_t n = size - 1;
  if(data[0] & 1) {
    char *text = malloc(n + 1);
    CHECK(text);
    memcpy(text, in, n);
    text[n] = '\0';
    run(text);
    free(text);
  }
  else {
    /* Exactly sized copy: no NUL after the last line. */
    char *copy = malloc(n ? n : 1);
    CHECK(copy);
    memcpy(copy, in, n);
    run_wire(copy, n);
    free(copy);
  }
  return 0;
}
