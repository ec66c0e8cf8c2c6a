/*
 * fuzz/fuzz_data.c - the DATA encoder (proto/data.h) and the message scan
 * (mw_message_info_scan) on arbitrary message bytes.
 *
 * Input: byte 0 seeds the chunk sizes of the third encoding; the rest is
 * the message, fed to the encoder as it is.
 *
 * Invariants (abort() when violated):
 *   - the wire form has no bare CR and no bare LF;
 *   - it ends with the terminator, and "CRLF . CRLF" occurs nowhere else
 *     (counting the CRLF that ends the DATA command before it);
 *   - undoing the dot-stuffing gives back the message with every line
 *     ending (CRLF, bare LF, bare CR) made CRLF, plus a CRLF at the end
 *     when the last line had none: nothing is lost, added or reordered;
 *   - encoding in one call, byte by byte and in random chunks (including
 *     empty ones) gives the same bytes;
 *   - mw_message_info_scan's size is never below the real wire size (it is
 *     sent as SIZE=) and at most the 5 terminator bytes above it;
 *     has_8bit is exact; needs_smtputf8 implies has_8bit; the reader-based
 *     scan, with short reads, agrees with the buffer scan;
 *   - longest_line (when mw_message_info has it) is the longest line of
 *     the message without its line ending or the stuffed dot;
 *   - a message with a line over 998 bytes stops both scans there
 *     (long_line set, longest_line 999, the reader returns MW_E_MESSAGE).
 */
#include "core/util.h"
#include "mailwire.h"
#include "proto/data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
  do {                                                                      \
    if(!(cond)) {                                                           \
      fprintf(stderr, "fuzz_data: invariant violated: %s (%s:%d)\n", #cond, \
              __FILE__, __LINE__);                                          \
      abort();                                                              \
    }                                                                       \
  } while(0)

static uint32_t rng_next(uint32_t *s)
{
  /* xorshift32; never seeded with 0 */
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

/* Feeds one chunk through an exactly sized heap copy, so that reading
 * past the chunk is caught by ASan even in the middle of the message. */
static void encode_chunk(struct mw__data_encoder *e, const char *p, size_t n,
                         struct mw__sbuf *out)
{
  char *copy = malloc(n ? n : 1);
  CHECK(copy);
  if(n)
    memcpy(copy, p, n);
  CHECK(mw__data_encode(e, copy, n, out));
  free(copy);
}

/* mode 0: one call; 1: byte by byte; 2: random chunks from seed. */
static void encode(const char *msg, size_t n, int mode, uint32_t seed,
                   struct mw__sbuf *out)
{
  struct mw__data_encoder e;
  mw__data_encoder_init(&e);
  mw__sbuf_init(out);
  if(mode == 0) {
    encode_chunk(&e, msg, n, out);
  }
  else if(mode == 1) {
    /* In place: libFuzzer's buffer is exactly sized, so reading past the
     * last byte is still caught; mode 2 checks the middle. */
    for(size_t i = 0; i < n; i++)
      CHECK(mw__data_encode(&e, msg + i, 1, out));
  }
  else {
    size_t i = 0;
    while(i < n) {
      uint32_t r = rng_next(&seed);
      size_t c = (r & 3) == 0 ? 0 : (r >> 8) % 9; /* 0..8, often 0 */
      if(c > n - i)
        c = n - i;
      encode_chunk(&e, msg + i, c, out);
      i += c;
    }
  }
  CHECK(mw__data_finish(&e, out));
  CHECK(!out->failed);
  CHECK(out->data != NULL);
  CHECK(out->data[out->len] == '\0');
}

/* The message with every line ending made CRLF and a final CRLF added to
 * an unterminated last line: what the receiver must get back.  Also the
 * longest line, without its ending. */
static char *normalise(const char *in, size_t n, size_t *outlen,
                       size_t *longest)
{
  char *out = malloc(2 * n + 3);
  CHECK(out);
  size_t o = 0, line = 0;
  *longest = 0;
  for(size_t i = 0; i < n; i++) {
    if(in[i] == '\r' || in[i] == '\n') {
      if(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
        i++;
      out[o++] = '\r';
      out[o++] = '\n';
      if(line > *longest)
        *longest = line;
      line = 0;
    }
    else {
      out[o++] = in[i];
      line++;
    }
  }
  if(line > *longest)
    *longest = line;
  if(o && !(o >= 2 && out[o - 2] == '\r' && out[o - 1] == '\n')) {
    out[o++] = '\r';
    out[o++] = '\n';
  }
  *outlen = o;
  return out;
}

static void check_wire(const char *w, size_t wl, const char *msg, size_t n)
{
  /* Every CR is followed by LF and every LF preceded by CR. */
  for(size_t i = 0; i < wl; i++) {
    if(w[i] == '\r')
      CHECK(i + 1 < wl && w[i + 1] == '\n');
    if(w[i] == '\n')
      CHECK(i > 0 && w[i - 1] == '\r');
  }
  /* The terminator: ".\r\n" alone (empty message: the DATA command's
   * CRLF comes before it) or "\r\n.\r\n". */
  CHECK(wl >= 3 && memcmp(w + wl - 3, ".\r\n", 3) == 0);
  CHECK(wl == 3 || (wl >= 5 && memcmp(w + wl - 5, "\r\n.\r\n", 5) == 0));
  /* Lines: the last is ".", no other line is "." (that would end the data
   * early: SMTP smuggling), and a line starting with a dot was stuffed. */
  char *dec = malloc(wl + 1);
  CHECK(dec);
  size_t dl = 0, start = 0, lines = 0;
  for(size_t i = 0; i + 1 < wl; i++) {
    if(w[i] != '\r')
      continue;
    const char *ln = w + start;
    size_t ll = i - start;
    bool last = i + 2 == wl;
    if(last) {
      CHECK(ll == 1 && ln[0] == '.');
    }
    else {
      CHECK(!(ll == 1 && ln[0] == '.'));
      if(ll && ln[0] == '.') {
        CHECK(ll >= 2 && ln[1] == '.');
        ln++;
        ll--;
      }
      memcpy(dec + dl, ln, ll);
      dl += ll;
      dec[dl++] = '\r';
      dec[dl++] = '\n';
    }
    lines++;
    start = i + 2;
    i++;
  }
  CHECK(start == wl);
  CHECK(lines >= 1);
  /* Round trip: nothing lost, added or reordered. */
  size_t nl, longest;
  char *norm = normalise(msg, n, &nl, &longest);
  CHECK(dl == nl);
  CHECK(memcmp(dec, norm, nl) == 0);
  free(norm);
  free(dec);
}

struct reader {
  const char *p;
  size_t left;
  uint32_t seed;
};

static mw_status read_some(void *user, char *buf, size_t len, size_t *got)
{
  struct reader *r = user;
  size_t n = 1 + rng_next(&r->seed) % 7;
  if(n > len)
    n = len;
  if(n > r->left)
    n = r->left;
  memcpy(buf, r->p, n);
  r->p += n;
  r->left -= n;
  *got = n;
  return MW_OK;
}

static mw_status read_fail(void *user, char *buf, size_t len, size_t *got)
{
  struct reader *r = user;
  if(!r->left)
    return MW_E_IO; /* fails instead of reporting the end */
  return read_some(user, buf, len, got);
}

static void check_scan(const char *msg, size_t n, size_t wire_len,
                       uint32_t seed)
{
  mw_message_info info;
  mw_message_info_scan(&info, msg, n);
  size_t nl0, longest0;
  free(normalise(msg, n, &nl0, &longest0));
  if(longest0 > 998) {
    /* The scan stops at the first line over 998 bytes (issue 9): it says
     * so, and the reader scan agrees and reports MW_E_MESSAGE. */
    CHECK(info.long_line >= 1);
    CHECK(info.longest_line == 999);
    mw_message_info rinfo;
    struct reader r = {msg, n, seed};
    CHECK(mw_message_info_scan_reader(&rinfo, read_some, &r) ==
          MW_E_MESSAGE);
    CHECK(rinfo.long_line == info.long_line);
    return;
  }
  CHECK(info.long_line == 0);
  CHECK(info.size >= wire_len);      /* SIZE= is never an underestimate */
  CHECK(info.size <= wire_len + 5);  /* and at most the terminator over */
  bool eight = false;
  for(size_t i = 0; i < n; i++)
    if((unsigned char)msg[i] >= 0x80)
      eight = true;
  CHECK(info.has_8bit == eight);
  CHECK(!info.needs_smtputf8 || info.has_8bit);
  if(n && (unsigned char)msg[0] >= 0x80)
    CHECK(info.needs_smtputf8); /* the first line is a header line */
#ifdef MW_FUZZ_HAVE_LONGEST_LINE
  {
    size_t nl, longest;
    free(normalise(msg, n, &nl, &longest));
    CHECK(info.longest_line == longest);
  }
#endif

  mw_message_info rinfo;
  struct reader r = {msg, n, seed};
  CHECK(mw_message_info_scan_reader(&rinfo, read_some, &r) == MW_OK);
  CHECK(rinfo.size == info.size);
  CHECK(rinfo.has_8bit == info.has_8bit);
  CHECK(rinfo.needs_smtputf8 == info.needs_smtputf8);
#ifdef MW_FUZZ_HAVE_LONGEST_LINE
  CHECK(rinfo.longest_line == info.longest_line);
#endif

  struct reader f = {msg, n, seed};
  CHECK(mw_message_info_scan_reader(&rinfo, read_fail, &f) == MW_E_IO);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1)
    return 0;
  uint32_t seed = 0x9e3779b9u ^ (uint32_t)data[0] * 0x01000193u;
  if(!seed)
    seed = 1;
  const char *msg = (const char *)data + 1;
  size_t n = size - 1;

  struct mw__sbuf whole, bytes, chunks;
  encode(msg, n, 0, seed, &whole);
  encode(msg, n, 1, seed, &bytes);
  encode(msg, n, 2, seed, &chunks);

  CHECK(whole.len == bytes.len && memcmp(whole.data, bytes.data, whole.len) == 0);
  CHECK(whole.len == chunks.len &&
        memcmp(whole.data, chunks.data, whole.len) == 0);

  check_wire(whole.data, whole.len, msg, n);
  check_scan(msg, n, whole.len, seed);

  /* Appending to a buffer that already holds bytes keeps them. */
  struct mw__sbuf pre;
  mw__sbuf_init(&pre);
  CHECK(mw__sbuf_append(&pre, "DATA\r\n", 6));
  struct mw__data_encoder e;
  mw__data_encoder_init(&e);
  CHECK(mw__data_encode(&e, msg, n, &pre));
  CHECK(mw__data_finish(&e, &pre));
  CHECK(pre.len == whole.len + 6);
  CHECK(memcmp(pre.data, "DATA\r\n", 6) == 0);
  CHECK(memcmp(pre.data + 6, whole.data, whole.len) == 0);

  mw__sbuf_free(&pre);
  mw__sbuf_free(&whole);
  mw__sbuf_free(&bytes);
  mw__sbuf_free(&chunks);
  return 0;
}
