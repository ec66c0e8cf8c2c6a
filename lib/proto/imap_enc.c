/*
 * proto/imap_enc.c - the client's side of IMAP syntax: astrings for
 * commands (atom, quoted or literal), literal markers, modified UTF-7
 * mailbox names (RFC 3501 5.1.3), sequence sets (writing them from sorted
 * UIDs under a length cap, and reading them), and command tags.  See
 * imap_parse.h.
 */
#include "proto/imap_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------ */

/* Decodes one strict UTF-8 sequence (no overlongs, no surrogates, at most
 * U+10FFFF).  Returns its length, 0 when invalid. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
  if(!n)
    return 0;
  unsigned char b = s[0];
  if(b < 0x80) {
    *cp = b;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if(b >= 0xc2 && b <= 0xdf) {
    len = 2;
    v = b & 0x1f;
    min = 0x80;
  }
  else if(b >= 0xe0 && b <= 0xef) {
    len = 3;
    v = b & 0x0f;
    min = 0x800;
  }
  else if(b >= 0xf0 && b <= 0xf4) {
    len = 4;
    v = b & 0x07;
    min = 0x10000;
  }
  else {
    return 0;
  }
  if(n < len)
    return 0;
  for(size_t i = 1; i < len; i++) {
    if((s[i] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3f);
  }
  if(v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return len;
}

static bool utf8_valid(const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  for(size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = utf8_next(u + i, n - i, &cp);
    if(!k)
      return false;
    i += k;
  }
  return true;
}

static bool put_utf8(struct mw__sbuf *b, uint32_t cp)
{
  unsigned char o[4];
  size_t n;
  if(cp < 0x80) {
    o[0] = (unsigned char)cp;
    n = 1;
  }
  else if(cp < 0x800) {
    o[0] = (unsigned char)(0xc0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3f));
    n = 2;
  }
  else if(cp < 0x10000) {
    o[0] = (unsigned char)(0xe0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp & 0x3f));
    n = 3;
  }
  else {
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  return mw__sbuf_append(b, o, n);
}

/* ---- Astrings and literals --------------------------------------------- */

enum mw__imap_astring mw__imap_astring_kind(const char *s, size_t n,
                                            bool utf8)
{
  if(n && memchr(s, 0, n))
    return MW__IMAP_AS_INVALID;
  if(n == 0)
    return MW__IMAP_AS_QUOTED;
  if(n > 1024)
    return MW__IMAP_AS_LITERAL;
  bool atom = !(n == 3 && mw__strnieq(s, "NIL", 3));
  bool high = false;
  for(size_t i = 0; i < n; i++) {
    unsigned char u = (unsigned char)s[i];
    if(u < 0x20 || u == 0x7f)
      return MW__IMAP_AS_LITERAL;
    if(u >= 0x80)
      high = true;
    if(!mw__imap_is_atom_char(u) && u != ']')
      atom = false;
  }
  if(high)
    return utf8 && utf8_valid(s, n) ? MW__IMAP_AS_QUOTED
                                     : MW__IMAP_AS_LITERAL;
  return atom ? MW__IMAP_AS_ATOM : MW__IMAP_AS_QUOTED;
}

enum mw__imap_astring mw__imap_astring_append(struct mw__sbuf *b,
                                              const char *s, size_t n,
                                              bool utf8)
{
  enum mw__imap_astring k = mw__imap_astring_kind(s, n, utf8);
  if(k == MW__IMAP_AS_ATOM)
    return mw__sbuf_append(b, s, n) ? k : 0;
  if(k != MW__IMAP_AS_QUOTED)
    return k;
  bool ok = mw__sbuf_append(b, "\"", 1);
  for(size_t i = 0; ok && i < n; i++) {
    if(s[i] == '"' || s[i] == '\\')
      ok = mw__sbuf_append(b, "\\", 1);
    ok = ok && mw__sbuf_append(b, s + i, 1);
  }
  ok = ok && mw__sbuf_append(b, "\"", 1);
  return ok ? k : 0;
}

size_t mw__imap_literal_format(char *out, size_t size, uint64_t n,
                               bool nonsync)
{
  int k = snprintf(out, size, "{%" PRIu64 "%s}", n, nonsync ? "+" : "");
  return k < 0 || (size_t)k >= size ? 0 : (size_t)k;
}

/* ---- Modified UTF-7 ---------------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_val(unsigned char c)
{
  if(c >= 'A' && c <= 'Z')
    return c - 'A';
  if(c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if(c >= '0' && c <= '9')
    return c - '0' + 52;
  if(c == '+')
    return 62;
  if(c == ',')
    return 63;
  return -1;
}

/* The base64 run of an encoder: open after '&', bits pending in acc. */
struct b64run {
  bool open;
  uint32_t acc;
  int bits;
};

static bool run_unit(struct mw__sbuf *o, struct b64run *r, uint16_t unit)
{
  if(!r->open) {
    if(!mw__sbuf_append(o, "&", 1))
      return false;
    r->open = true;
    r->acc = 0;
    r->bits = 0;
  }
  r->acc = (r->acc << 16) | unit;
  r->bits += 16;
  while(r->bits >= 6) {
    r->bits -= 6;
    if(!mw__sbuf_append(o, &b64[(r->acc >> r->bits) & 0x3f], 1))
      return false;
  }
  r->acc &= (1u << r->bits) - 1;
  return true;
}

static bool run_close(struct mw__sbuf *o, struct b64run *r)
{
  if(!r->open)
    return true;
  r->open = false;
  if(r->bits && !mw__sbuf_append(o, &b64[(r->acc << (6 - r->bits)) & 0x3f],
                                 1))
    return false;
  return mw__sbuf_append(o, "-", 1);
}

bool mw__imap_mutf7_encode(const char *utf8, size_t n, struct mw__sbuf *out,
                           const char **why)
{
  const unsigned char *s = (const unsigned char *)utf8;
  struct b64run r = {0};
  for(size_t i = 0; i < n;) {
    uint32_t cp;
    size_t len = utf8_next(s + i, n - i, &cp);
    if(!len || cp == 0) {
      *why = len ? "NUL in a mailbox name" : "mailbox name is not UTF-8";
      return false;
    }
    i += len;
    bool ok;
    if(cp >= 0x20 && cp <= 0x7e) {
      ok = run_close(out, &r) &&
           mw__sbuf_append(out, cp == '&' ? "&-" : (const char *)&s[i - 1],
                           cp == '&' ? 2 : 1);
    }
    else if(cp >= 0x10000) {
      cp -= 0x10000;
      ok = run_unit(out, &r, (uint16_t)(0xd800 | (cp >> 10))) &&
           run_unit(out, &r, (uint16_t)(0xdc00 | (cp & 0x3ff)));
    }
    else {
      ok = run_unit(out, &r, (uint16_t)cp);
    }
    if(!ok) {
      *why = "out of memory";
      return false;
    }
  }
  if(!run_close(out, &r)) {
    *why = "out of memory";
    return false;
  }
  return true;
}

bool mw__imap_mutf7_decode(const char *s, size_t n, struct mw__sbuf *out,
                           const char **why)
{
  const unsigned char *u = (const unsigned char *)s;
  for(size_t i = 0; i < n;) {
    if(u[i] < 0x20 || u[i] > 0x7e) {
      *why = "byte outside printable ASCII in a modified UTF-7 name";
      return false;
    }
    if(u[i] != '&') {
      if(!mw__sbuf_append(out, s + i, 1))
        goto oom;
      i++;
      continue;
    }
    i++;
    if(i < n && u[i] == '-') {
      if(!mw__sbuf_append(out, "&", 1))
        goto oom;
      i++;
      continue;
    }
    uint32_t acc = 0;
    int bits = 0;
    uint32_t high = 0; /* a pending high surrogate */
    size_t nunits = 0;
    for(;;) {
      if(i >= n) {
        *why = "'&' not closed by '-' in a modified UTF-7 name";
        return false;
      }
      if(u[i] == '-')
        break;
      int v = b64_val(u[i]);
      if(v < 0) {
        *why = "bad base64 character in a modified UTF-7 name";
        return false;
      }
      acc = (acc << 6) | (uint32_t)v;
      bits += 6;
      i++;
      if(bits < 16)
        continue;
      bits -= 16;
      uint32_t unit = (acc >> bits) & 0xffff;
      acc &= (1u << bits) - 1;
      nunits++;
      if(high) {
        if(unit < 0xdc00 || unit > 0xdfff) {
          *why = "unpaired surrogate in a modified UTF-7 name";
          return false;
        }
        if(!put_utf8(out, 0x10000 + ((high - 0xd800) << 10) +
                              (unit - 0xdc00)))
          goto oom;
        high = 0;
      }
      else if(unit >= 0xd800 && unit <= 0xdbff) {
        high = unit;
      }
      else if(unit >= 0xdc00 && unit <= 0xdfff) {
        *why = "unpaired surrogate in a modified UTF-7 name";
        return false;
      }
      else if(unit >= 0x20 && unit <= 0x7e) {
        *why = "printable ASCII encoded in a modified UTF-7 name";
        return false;
      }
      else if(unit == 0) {
        *why = "NUL in a modified UTF-7 name";
        return false;
      }
      else if(!put_utf8(out, unit)) {
        goto oom;
      }
    }
    i++; /* '-' */
    if(high) {
      *why = "unpaired surrogate in a modified UTF-7 name";
      return false;
    }
    if(!nunits || bits >= 6 || acc) {
      *why = "bad padding in a modified UTF-7 name";
      return false;
    }
  }
  return true;
oom:
  *why = "out of memory";
  return false;
}

/* ---- Mailbox names ------------------------------------------------------ */

enum mw__imap_astring mw__imap_mailbox_append(struct mw__sbuf *b,
                                              const char *utf8, size_t n,
                                              bool utf8_mode, char **encoded,
                                              const char **why)
{
  struct mw__sbuf e;
  mw__sbuf_init(&e);
  *encoded = NULL;
  if(utf8_mode) {
    if(!utf8_valid(utf8, n) || (n && memchr(utf8, 0, n))) {
      *why = "mailbox name is not UTF-8 without NUL";
      return 0;
    }
    if(!mw__sbuf_append(&e, utf8, n)) {
      *why = "out of memory";
      mw__sbuf_free(&e);
      return 0;
    }
  }
  else if(!mw__imap_mutf7_encode(utf8, n, &e, why)) {
    mw__sbuf_free(&e);
    return 0;
  }
  enum mw__imap_astring k = mw__imap_astring_append(b, e.data ? e.data : "",
                                                    e.len,
                                                    utf8_mode);
  if(!k) {
    *why = "out of memory";
    mw__sbuf_free(&e);
    return 0;
  }
  *encoded = mw__sbuf_steal(&e);
  if(!*encoded) {
    *why = "out of memory";
    return 0;
  }
  return k;
}

bool mw__imap_mailbox_decode(const char *s, size_t n, bool utf8_mode,
                             struct mw__sbuf *out, const char **why)
{
  if(!utf8_mode)
    return mw__imap_mutf7_decode(s, n, out, why);
  if(!utf8_valid(s, n) || (n && memchr(s, 0, n))) {
    *why = "mailbox name is not UTF-8 without NUL";
    return false;
  }
  if(!mw__sbuf_append(out, s, n)) {
    *why = "out of memory";
    return false;
  }
  return true;
}

/* ---- Sequence sets ----------------------------------------------------- */

size_t mw__imap_seqset_format(const uint32_t *uids, size_t n, size_t max_len,
                              struct mw__sbuf *out, const char **why)
{
  size_t i = 0, used = 0, start = out->len;
  uint32_t prev = 0;
  while(i < n) {
    uint32_t lo = uids[i];
    if(lo == 0 || lo < prev) {
      *why = lo ? "UIDs not in ascending order" : "UID 0 in a set";
      out->len = start; /* nothing appended on a refusal */
      if(out->data)
        out->data[start] = '\0';
      return 0;
    }
    if(lo == prev && i) { /* a duplicate of the last range's end */
      i++;
      continue;
    }
    size_t j = i + 1;
    uint32_t hi = lo;
    while(j < n && (uids[j] == hi || (hi < UINT32_MAX && uids[j] == hi + 1))) {
      hi = uids[j];
      j++;
    }
    char piece[32];
    int k = hi == lo ? snprintf(piece, sizeof(piece), "%s%" PRIu32,
                                used ? "," : "", lo)
                     : snprintf(piece, sizeof(piece), "%s%" PRIu32 ":%" PRIu32,
                                used ? "," : "", lo, hi);
    if(k < 0 || used + (size_t)k > max_len) {
      if(!used) {
        *why = "length cap too small for one sequence set element";
        return 0;
      }
      return i;
    }
    if(!mw__sbuf_append(out, piece, (size_t)k)) {
      *why = "out of memory";
      return 0;
    }
    used += (size_t)k;
    prev = hi;
    i = j;
  }
  if(!used) {
    *why = "no UIDs";
    return 0;
  }
  return i;
}

/* nz-number without leading zeros, fitting 32 bits. */
static size_t nz_number(const char *s, size_t n, uint32_t *v)
{
  if(!n || s[0] < '1' || s[0] > '9')
    return 0;
  uint64_t r = 0;
  size_t i = 0;
  while(i < n && s[i] >= '0' && s[i] <= '9') {
    r = r * 10 + (uint64_t)(s[i] - '0');
    if(r > UINT32_MAX)
      return 0;
    i++;
  }
  *v = (uint32_t)r;
  return i;
}

void mw__imap_seqiter_init(struct mw__imap_seqiter *it, const char *s,
                           size_t n)
{
  it->s = s;
  it->n = n;
  it->pos = 0;
}

bool mw__imap_seqiter_next(struct mw__imap_seqiter *it, uint32_t *lo,
                           uint32_t *hi)
{
  if(it->pos >= it->n)
    return false;
  if(it->pos && it->s[it->pos] == ',')
    it->pos++;
  else if(it->pos)
    return false;
  uint32_t a, b;
  size_t k = nz_number(it->s + it->pos, it->n - it->pos, &a);
  if(!k)
    return false;
  it->pos += k;
  b = a;
  if(it->pos < it->n && it->s[it->pos] == ':') {
    it->pos++;
    k = nz_number(it->s + it->pos, it->n - it->pos, &b);
    if(!k)
      return false;
    it->pos += k;
  }
  if(it->pos < it->n && it->s[it->pos] != ',')
    return false;
  if(it->pos + 1 == it->n && it->s[it->pos] == ',')
    return false; /* trailing comma */
  *lo = a < b ? a : b;
  *hi = a < b ? b : a;
  return true;
}

bool mw__imap_seqset_valid(const char *s, size_t n)
{
  struct mw__imap_seqiter it;
  uint32_t lo, hi;
  mw__imap_seqiter_init(&it, s, n);
  if(!n)
    return false;
  while(it.pos < n)
    if(!mw__imap_seqiter_next(&it, &lo, &hi))
      return false;
  return true;
}

/* ---- Tags -------------------------------------------------------------- */

size_t mw__imap_tag_format(char *out, size_t size, const char *prefix,
                           uint32_t n)
{
  if(!prefix)
    prefix = "A";
  size_t pl = strlen(prefix);
  if(!pl || pl > 8)
    return 0;
  for(size_t i = 0; i < pl; i++)
    if(!((prefix[i] >= 'A' && prefix[i] <= 'Z') ||
         (prefix[i] >= 'a' && prefix[i] <= 'z')))
      return 0;
  int k = snprintf(out, size, "%s%04" PRIu32, prefix, n);
  return k < 0 || (size_t)k >= size ? 0 : (size_t)k;
}
