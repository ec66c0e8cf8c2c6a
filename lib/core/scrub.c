/*
 * core/scrub.c - the secrets of a session, and cutting them out of server
 * text.
 *
 * DESCRIPTION
 *   A server that echoes the client's SASL payload in its 535 reply would
 *   otherwise put the password into the trace, the JSON and the error
 *   message.  The session lists every secret it holds or sends (see
 *   core/scrub.h for which forms) and scrubs each server line once, where
 *   it is read; everything downstream sees only scrubbed text.
 *
 *   Why the three base64 alignments: base64 encodes 3 bytes as 4
 *   characters, so the same secret encodes differently depending on how
 *   many bytes precede it in the payload ("\0user\0" before PLAIN's
 *   password).  For each offset k (0, 1, 2) the characters whose 6 bits
 *   come from the secret's bytes only are the same wherever the secret sits
 *   at that offset; listing those three cores finds the secret inside any
 *   base64 text.  Cores shorter than 6 characters are not listed, and
 *   secrets shorter than 8 bytes are cut only where they stand as a word
 *   of their own: either would otherwise match by chance inside a
 *   server's base64 challenge and break the exchange.
 *
 * DIAGNOSTICS
 *   Out of memory only (false / -1); a line that cannot be scrubbed is
 *   emptied rather than passed on.
 */
#include "core/scrub.h"

#include "core/util.h"

#include <string.h>

/* Shortest base64 core (characters) listed for an alignment. */
#define SCRUB_MIN_CORE 6
/* Shortest base64 payload listed. */
#define SCRUB_MIN_PAYLOAD 8

/* Wipes n bytes in a way the compiler may not drop (the bytes may hold
 * NULs, so mw__free_secret's strlen would stop short). */
static void wipe(void *p, size_t n)
{
  volatile unsigned char *v = p;
  while(n--)
    *v++ = 0;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void mw__scrub_init(struct mw__scrub *sc)
{
  sc->items = NULL;
  sc->count = sc->cap = 0;
}

void mw__scrub_free(struct mw__scrub *sc)
{
  for(size_t i = 0; i < sc->count; i++) {
    wipe(sc->items[i].bytes, sc->items[i].len);
    mw__free(sc->items[i].bytes);
  }
  mw__free(sc->items);
  mw__scrub_init(sc);
}

/* Base64 of len bytes, without padding, written to out (room for
 * 4 * ceil(len / 3) + 1).  Returns the number of characters. */
static size_t b64_encode_raw(const unsigned char *in, size_t len, char *out)
{
  size_t o = 0;
  size_t i = 0;
  for(; i + 2 < len; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64_alphabet[(v >> 18) & 63];
    out[o++] = b64_alphabet[(v >> 12) & 63];
    out[o++] = b64_alphabet[(v >> 6) & 63];
    out[o++] = b64_alphabet[v & 63];
  }
  if(len - i == 1) {
    unsigned v = (unsigned)in[i] << 16;
    out[o++] = b64_alphabet[(v >> 18) & 63];
    out[o++] = b64_alphabet[(v >> 12) & 63];
  }
  else if(len - i == 2) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
    out[o++] = b64_alphabet[(v >> 18) & 63];
    out[o++] = b64_alphabet[(v >> 12) & 63];
    out[o++] = b64_alphabet[(v >> 6) & 63];
  }
  out[o] = '\0';
  return o;
}

char *mw__scrub_base64(const void *data, size_t len)
{
  if(len > ((size_t)-1 / 4) - 8)
    return NULL;
  char *out = mw__malloc((len + 2) / 3 * 4 + 1);
  if(!out)
    return NULL;
  size_t n = b64_encode_raw(data, len, out);
  while(n % 4)
    out[n++] = '=';
  out[n] = '\0';
  return out;
}

static bool scrub_has(const struct mw__scrub *sc, const char *bytes,
                      size_t len)
{
  for(size_t i = 0; i < sc->count; i++)
    if(sc->items[i].len == len && memcmp(sc->items[i].bytes, bytes, len) == 0)
      return true;
  return false;
}

/* Lists a copy of len bytes (duplicates and empty strings are skipped). */
static bool scrub_push(struct mw__scrub *sc, const char *bytes, size_t len)
{
  if(!len || scrub_has(sc, bytes, len))
    return true;
  if(sc->count == sc->cap) {
    size_t cap = sc->cap ? sc->cap * 2 : 8;
    struct mw__scrub_item *grown =
        mw__realloc(sc->items, cap * sizeof(*grown));
    if(!grown)
      return false;
    sc->items = grown;
    sc->cap = cap;
  }
  char *copy = mw__malloc(len + 1);
  if(!copy)
    return false;
  memcpy(copy, bytes, len);
  copy[len] = '\0';
  sc->items[sc->count].bytes = copy;
  sc->items[sc->count].len = len;
  sc->count++;
  return true;
}

bool mw__scrub_add_secret(struct mw__scrub *sc, const char *secret)
{
  if(!secret || !*secret)
    return true;
  size_t len = strlen(secret);
  if(len > 65536) /* no real password or token; bounds the work below */
    len = 65536;
  if(!scrub_push(sc, secret, len))
    return false;
  char *full = mw__scrub_base64(secret, len);
  if(!full)
    return false;
  bool ok = scrub_push(sc, full, strlen(full));
  mw__free_secret(full);
  if(!ok)
    return false;
  /* The cores at offsets 0, 1 and 2 (see the file comment). */
  unsigned char *buf = mw__malloc(len + 2);
  char *enc = mw__malloc((len + 4) / 3 * 4 + 1);
  ok = buf && enc;
  for(size_t k = 0; ok && k < 3; k++) {
    memset(buf, 0, k);
    memcpy(buf + k, secret, len);
    b64_encode_raw(buf, len + k, enc);
    size_t first = (8 * k + 5) / 6;     /* ceil(8k / 6) */
    size_t end = (8 * (k + len)) / 6;   /* floor(8(k + len) / 6) */
    if(end >= first + SCRUB_MIN_CORE)
      ok = scrub_push(sc, enc + first, end - first);
  }
  if(buf) {
    wipe(buf, len + 2);
    mw__free(buf);
  }
  if(enc)
    mw__free_secret(enc);
  return ok;
}

bool mw__scrub_add_payload(struct mw__scrub *sc, const char *b64, size_t len)
{
  if(len < SCRUB_MIN_PAYLOAD)
    return true;
  return scrub_push(sc, b64, len);
}

/* A byte that can continue a word or a base64 run. */
static bool word_byte(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* The longest listed secret that starts at text[at], or 0.  A short one
 * (under SCRUB_SHORT bytes: "abc", its base64 "YWJj") counts only as a
 * word of its own: inside the random base64 of a SCRAM or DIGEST-MD5
 * challenge it would match by chance once in a few hundred thousand
 * exchanges, and cutting a challenge would break the authentication. */
#define SCRUB_SHORT 8
static size_t match_at(const struct mw__scrub *sc, const char *text,
                       size_t len, size_t at)
{
  size_t best = 0;
  for(size_t i = 0; i < sc->count; i++) {
    const struct mw__scrub_item *it = &sc->items[i];
    if(it->len <= best || it->len > len - at ||
       memcmp(text + at, it->bytes, it->len) != 0)
      continue;
    if(it->len < SCRUB_SHORT &&
       ((at > 0 && word_byte(text[at - 1])) ||
        (at + it->len < len && word_byte(text[at + it->len]))))
      continue;
    best = it->len;
  }
  return best;
}

int mw__scrub_line(const struct mw__scrub *sc, struct mw__sbuf *line,
                   size_t keep)
{
  if(!sc->count || !line->data || !line->len)
    return 0;
  const char *text = line->data;
  size_t len = line->len;
  if(keep > len)
    keep = len;
  /* Most lines hold no secret: look before building anything. */
  size_t at = 0;
  size_t m = 0;
  for(; at < len; at++) {
    m = match_at(sc, text, len, at);
    if(m && at + m > keep)
      break;
  }
  if(at == len)
    return 0;
  struct mw__sbuf out;
  mw__sbuf_init(&out);
  int found = 0;
  size_t copied = 0; /* text[0, copied) is already in out */
  while(at < len) {
    size_t start = at < keep ? keep : at;
    mw__sbuf_append(&out, text + copied, start - copied);
    mw__sbuf_puts(&out, MW__SCRUB_MARK);
    found++;
    copied = at + m;
    /* The next match at or after the end of this one. */
    for(at = copied; at < len; at++) {
      m = match_at(sc, text, len, at);
      if(m)
        break;
    }
  }
  mw__sbuf_append(&out, text + copied, len - copied);
  wipe(line->data, line->len);
  if(out.failed || !out.data) {
    if(out.data)
      wipe(out.data, out.len);
    mw__sbuf_free(&out);
    mw__sbuf_reset(line);
    return -1;
  }
  mw__free(line->data);
  *line = out;
  return found;
}
