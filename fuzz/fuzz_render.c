/*
 * fuzz/fuzz_render.c - setting tokens in library texts: the renderer
 * (mw_render_settings) and the value escape (mw__setting_escape,
 * mw__sbuf_put_value), core/setting.c.
 *
 * Input: byte 0 picks the output buffer size (0-255); the rest is split at
 * the first NUL into a text (rendered) and a value (escaped, then read
 * back from a token).  Library texts quote server replies, host names and
 * file names, so the renderer meets any bytes.
 *
 * Invariants (abort() when violated):
 *   - the return value is the length of the whole rendering whatever the
 *     buffer (len 0, a small buffer, one that fits): the same each time;
 *   - the output is NUL-terminated within len and is a prefix of the whole
 *     rendering; nothing is written past len (ASan: the buffer is exact);
 *   - a text with no '{' renders as itself, with or without a renderer;
 *   - the caller's renderer is called once per token it renders, never
 *     with an id outside the table, and a refusal (negative) gives the
 *     default rendering of that token;
 *   - a value written with mw__setting_escape (or mw__sbuf_put_value,
 *     which gives the same bytes) into "{bind=...}" is read back exactly
 *     (values up to 1023 bytes: a longer one is not a token and stays
 *     text, though a token inside it is still one).
 */
#include "mailwire.h"

#include "core/setting.h"
#include "core/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if(!(cond)) {                                                            \
      fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__);  \
      abort();                                                               \
    }                                                                        \
  } while(0)

struct seen {
  unsigned calls;
  char value[2048];
  bool has_value;
  bool refuse; /* answer -1 for every other call */
};

static int spy(void *user, mw_setting s, const char *value, char *out,
               size_t len)
{
  struct seen *w = user;
  CHECK((unsigned)s < MW_SETTING_COUNT);
  w->calls++;
  w->has_value = value != NULL;
  snprintf(w->value, sizeof(w->value), "%s", value ? value : "");
  if(w->refuse && w->calls % 2)
    return -1;
  return snprintf(out, len, "<%s>", mw_setting_id(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1)
    return 0;
  size_t cap = data[0];
  const char *rest = (const char *)data + 1;
  size_t n = size - 1;
  const char *nul = memchr(rest, '\0', n);
  size_t tlen = nul ? (size_t)(nul - rest) : n;
  char *text = malloc(tlen + 1);
  CHECK(text);
  memcpy(text, rest, tlen);
  text[tlen] = '\0';
  const char *value = nul ? nul + 1 : "";
  size_t vlen = nul ? strnlen(value, n - tlen - 1) : 0;
  char *val = malloc(vlen + 1);
  CHECK(val);
  memcpy(val, value, vlen);
  val[vlen] = '\0';

  /* the renderer, default and caller's, at three buffer sizes */
  for(int mode = 0; mode < 2; mode++) {
    struct seen w = {0};
    w.refuse = true;
    mw_setting_render_fn fn = mode ? spy : NULL;
    size_t whole = mw_render_settings(text, fn, &w, NULL, 0);
    unsigned calls = w.calls;
    char *full = malloc(whole + 1);
    CHECK(full);
    w.calls = 0;
    CHECK(mw_render_settings(text, fn, &w, full, whole + 1) == whole);
    CHECK(strlen(full) == whole);
    CHECK(w.calls == calls);
    if(!strchr(text, '{'))
      CHECK(strcmp(full, text) == 0 && calls == 0);
    char *small = cap ? malloc(cap) : NULL;
    w.calls = 0;
    CHECK(mw_render_settings(text, fn, &w, small, cap) == whole);
    if(cap) {
      size_t got = strnlen(small, cap);
      CHECK(got < cap);
      CHECK(got == (whole < cap ? whole : cap - 1));
      CHECK(memcmp(small, full, got) == 0);
    }
    free(small);
    free(full);
  }

  /* the escape round trip */
  size_t elen = mw__setting_escape(val, NULL, 0);
  char *esc = malloc(elen + 1);
  CHECK(esc);
  CHECK(mw__setting_escape(val, esc, elen + 1) == elen);
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  CHECK(mw__sbuf_put_value(&b, val));
  CHECK(strcmp(b.data ? b.data : "", esc) == 0);
  mw__sbuf_free(&b);
  size_t tok_len = elen + 8;
  char *tok = malloc(tok_len + 1);
  CHECK(tok);
  snprintf(tok, tok_len + 1, "{bind=%s}", esc);
  struct seen w = {0};
  char out[64];
  mw_render_settings(tok, spy, &w, out, sizeof(out));
  if(vlen < 1023) {
    CHECK(w.calls == 1 && w.has_value);
    CHECK(strcmp(w.value, val) == 0);
  }
  else if(!strchr(val, '{')) {
    CHECK(w.calls == 0);
  }
  else {
    /* Too long to be the bind token's value, so "{bind=" stays text; a
     * token inside the value (its own '{') is still a token and may be
     * rendered, but never with the whole value. */
    CHECK(!(w.calls && w.has_value && strcmp(w.value, val) == 0));
  }
  free(tok);
  free(esc);
  free(val);
  free(text);
  return 0;
}
