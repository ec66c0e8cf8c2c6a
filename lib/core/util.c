/*
 * core/util.c - allocation wrappers, growable strings, clocks.
 */
#define _GNU_SOURCE /* mremap */
#include "core/util.h"

#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

void *mw__malloc(size_t n) { return malloc(n ? n : 1); }
void *mw__calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *mw__realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
void mw__free(void *p) { free(p); }
void mw_free(void *p) { free(p); }

/* ---- tables that grow with a mailbox ---- */

static bool big(size_t n) { return n >= MW__BIG_MIN; }

static size_t page_round(size_t n)
{
  return (n + 4095) & ~(size_t)4095;
}

void *mw__big_calloc(size_t n)
{
  if(!big(n))
    return mw__calloc(1, n);
  void *p = mmap(NULL, page_round(n), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p; /* zero pages, taken as written */
}

void mw__big_free(void *p, size_t n)
{
  if(!p)
    return;
  if(big(n))
    munmap(p, page_round(n));
  else
    mw__free(p);
}

void *mw__big_realloc(void *p, size_t old, size_t n)
{
  if(!p)
    return mw__big_calloc(n);
  if(big(old) && big(n)) {
    /* The kernel moves the pages: nothing copied, nothing left behind. */
    void *q = mremap(p, page_round(old), page_round(n), MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
  }
  if(!big(n)) { /* both small (shrinking out of a mapping: not used) */
    if(big(old))
      return NULL;
    char *q = mw__realloc(p, n);
    if(q && n > old)
      memset(q + old, 0, n - old);
    return q;
  }
  void *q = mw__big_calloc(n); /* from the heap into a mapping */
  if(q) {
    memcpy(q, p, old);
    mw__free(p);
  }
  return q;
}

char *mw__strndup(const char *s, size_t n)
{
  char *copy = mw__malloc(n + 1);
  if(!copy)
    return NULL;
  memcpy(copy, s, n);
  copy[n] = '\0';
  return copy;
}

char *mw__strdup(const char *s)
{
  return s ? mw__strndup(s, strlen(s)) : NULL;
}

void mw__wipe(void *p, size_t n)
{
  /* explicit_bzero: a store the compiler may not drop as dead. */
  if(p && n)
    explicit_bzero(p, n);
}

void mw__free_secret(char *s)
{
  if(!s)
    return;
  mw__wipe(s, strlen(s));
  mw__free(s);
}

bool mw__replace_string(char **slot, const char *value)
{
  char *copy = NULL;
  if(value) {
    copy = mw__strdup(value);
    if(!copy)
      return false;
  }
  mw__free(*slot);
  *slot = copy;
  return true;
}

void mw__sbuf_init(struct mw__sbuf *b) { memset(b, 0, sizeof(*b)); }

void mw__sbuf_free(struct mw__sbuf *b)
{
  mw__free(b->data);
  mw__sbuf_init(b);
}

void mw__sbuf_reset(struct mw__sbuf *b)
{
  b->len = 0;
  if(b->data)
    b->data[0] = '\0';
}

static bool sbuf_reserve(struct mw__sbuf *b, size_t extra)
{
  if(b->failed)
    return false;
  if(b->len + extra + 1 <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 64;
  while(cap < b->len + extra + 1) {
    if(cap > SIZE_MAX / 2) {
      b->failed = true;
      return false;
    }
    cap *= 2;
  }
  char *p = mw__realloc(b->data, cap);
  if(!p) {
    b->failed = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

bool mw__sbuf_append(struct mw__sbuf *b, const void *data, size_t len)
{
  if(!sbuf_reserve(b, len))
    return false;
  if(len)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return true;
}

bool mw__sbuf_puts(struct mw__sbuf *b, const char *s)
{
  return mw__sbuf_append(b, s, strlen(s));
}

bool mw__sbuf_printf(struct mw__sbuf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if(n < 0 || !sbuf_reserve(b, (size_t)n))
    return false;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return true;
}

char *mw__sbuf_steal(struct mw__sbuf *b)
{
  char *p = b->data;
  if(!p)
    p = mw__strdup("");
  mw__sbuf_init(b);
  return p;
}

int64_t mw__now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ascii_lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

bool mw__strnieq(const char *a, const char *b, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    if(ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
      return false;
    if(!a[i])
      return true;
  }
  return true;
}

bool mw__strieq(const char *a, const char *b)
{
  size_t la = strlen(a);
  return la == strlen(b) && mw__strnieq(a, b, la);
}

bool mw__has_line_break(const char *s)
{
  return strpbrk(s, "\r\n") != NULL;
}
