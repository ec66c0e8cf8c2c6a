/*
 * core/util.h - allocation, growable strings, clocks: the small tools every
 * layer uses.
 *
 * All library allocation goes through mw__malloc and friends so that tests
 * can count or fail allocations in one place.  Secrets are freed with
 * mw__free_secret(), which wipes them first.
 */
#ifndef MW_CORE_UTIL_H
#define MW_CORE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *mw__malloc(size_t n);
void *mw__calloc(size_t n, size_t size);
void *mw__realloc(void *p, size_t n);
void mw__free(void *p);
char *mw__strdup(const char *s);
char *mw__strndup(const char *s, size_t n);
/* Tables that grow with a mailbox (the hash sets and string pools of a
 * fetch, one entry a message).  From MW__BIG_MIN bytes up each lives in a
 * mapping of its own: a pool grown with mw__big_realloc() is moved by the
 * kernel (mremap, no copy) and a table replaced by a larger one goes back
 * to the system at once, where in the heap every size it passed through
 * would stay resident.  Below MW__BIG_MIN, the heap.  The caller keeps the
 * size: free and realloc take the one allocated.  New memory is zeroed. */
#define MW__BIG_MIN ((size_t)16 * 1024)
void *mw__big_calloc(size_t n);
void *mw__big_realloc(void *p, size_t old, size_t n);
void mw__big_free(void *p, size_t n);
/* Wipes n bytes of secret memory (a store the compiler keeps). */
void mw__wipe(void *p, size_t n);
/* Wipes a NUL-terminated secret, then frees it.  NULL is a no-op. */
void mw__free_secret(char *s);
/* Replaces *slot with a copy of value (NULL clears it); false on OOM. */
bool mw__replace_string(char **slot, const char *value);

/* A growable byte string, always NUL-terminated. */
struct mw__sbuf {
  char *data;
  size_t len;
  size_t cap;
  bool failed; /* an allocation failed; contents are truncated */
};
void mw__sbuf_init(struct mw__sbuf *b);
void mw__sbuf_free(struct mw__sbuf *b);
void mw__sbuf_reset(struct mw__sbuf *b);
bool mw__sbuf_append(struct mw__sbuf *b, const void *data, size_t len);
bool mw__sbuf_puts(struct mw__sbuf *b, const char *s);
bool mw__sbuf_printf(struct mw__sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the buffer to the caller (free with mw__free) and resets b. */
char *mw__sbuf_steal(struct mw__sbuf *b);

/* Monotonic milliseconds. */
int64_t mw__now_ms(void);

/* ASCII case-insensitive comparisons (locale-independent). */
bool mw__strieq(const char *a, const char *b);
bool mw__strnieq(const char *a, const char *b, size_t n);

/* True when s holds any byte that must never reach a protocol line:
 * CR, LF or NUL-free check is implicit (C string); control characters. */
bool mw__has_line_break(const char *s);

#endif
