/*
 * fuzz/fuzz_imap.c - the IMAP syntax layer (proto/imap_parse.h): response
 * framing with literals, the response parser, FETCH with streamed
 * bodies, and the encoders.
 *
 * Input: byte 0 picks the options (bit 0: a body sink; bit 1: small
 * limits; bits 2-4: the literal chunk size 1, 2, 3, 7, 64, 512, 4096 or
 * all at once; bit 5: the sink refuses after some bytes).  The rest is
 * what a server sends: cut into lines the way the line engine does (at
 * LF, a CR before it dropped), each fed from an exactly sized heap copy;
 * when the parser asks for a literal, the next bytes (up to the length)
 * are fed raw in chunks, and a new response starts after each complete
 * or refused one.  The same bytes then drive the encoders.
 *
 * Invariants (abort() when violated):
 *   - every result is one the API documents; a refusal has a reason; a
 *     literal asked for is within the caps, and the bytes still expected
 *     only go down;
 *   - the sink sees BEGIN, DATA at contiguous offsets, then END with the
 *     size announced at BEGIN, for the response's sequence number; the
 *     bodies a complete FETCH reports as streamed are those the sink got;
 *   - a complete response is consistent: a tag without '+' and within
 *     MW__IMAP_TAG_MAX; texts without CR, LF or NUL; the response code's
 *     kind matches its name; capability shortcuts agree with has(); every
 *     AUTH= mechanism is found by has_auth(); SEARCH numbers non-zero;
 *     sequence sets valid; a FETCH with UID has a non-zero UID;
 *   - modified UTF-7: decode(encode(x)) == x for valid UTF-8 without NUL;
 *     what decodes re-encodes and decodes to the same text;
 *   - an astring written by the encoder reads back through LIST;
 *   - sequence sets from sorted numbers stay under the cap, cover what
 *     they say, and iterate back to the same numbers.
 */
#include "core/util.h"
#include "proto/imap_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
  do {                                                                      \
    if(!(cond)) {                                                           \
      fprintf(stderr, "fuzz_imap: invariant violated: %s (%s:%d)\n", #cond, \
              __FILE__, __LINE__);                                          \
      abort();                                                              \
    }                                                                       \
  } while(0)

struct sinkstate {
  int open;          /* inside BEGIN..END */
  uint64_t announced, got;
  uint32_t seq;
  size_t ended;      /* bodies completed in the current response */
  size_t refuse_after;
  bool refuse;
};

static bool sink(void *ctx, const struct mw__imap_body_chunk *c)
{
  struct sinkstate *s = ctx;
  CHECK(c->item != NULL);
  CHECK(c->seq != 0);
  switch(c->event) {
  case MW__IMAP_BODY_BEGIN:
    CHECK(!s->open);
    s->open = 1;
    s->announced = c->size;
    s->got = 0;
    s->seq = c->seq;
    if(c->nil)
      CHECK(c->size == 0);
    break;
  case MW__IMAP_BODY_DATA:
    CHECK(s->open);
    CHECK(c->seq == s->seq);
    CHECK(c->size == s->got);
    CHECK(c->len > 0 && c->data != NULL);
    s->got += c->len;
    CHECK(s->got <= s->announced);
    if(s->refuse && s->got > s->refuse_after)
      return false;
    break;
  case MW__IMAP_BODY_END:
    CHECK(s->open);
    CHECK(s->got == s->announced);
    s->open = 0;
    s->ended++;
    break;
  default:
    CHECK(!"unknown body event");
  }
  return true;
}

static void check_text(const char *t)
{
  CHECK(t != NULL);
  CHECK(!strpbrk(t, "\r\n"));
}

static void check_caps(const struct mw__imap_caps *c)
{
  CHECK(c->imap4rev1 == mw__imap_caps_has(c, "imap4rev1"));
  CHECK(c->idle == mw__imap_caps_has(c, "IDLE"));
  CHECK(c->starttls == mw__imap_caps_has(c, "StartTLS"));
  CHECK(c->literal_plus == mw__imap_caps_has(c, "LITERAL+"));
  for(size_t i = 0; i < c->v.n; i++) {
    CHECK(c->v.v[i][0]);
    check_text(c->v.v[i]);
  }
  for(size_t i = 0; i < c->auth.n; i++) {
    CHECK(mw__imap_caps_has_auth(c, c->auth.v[i]));
    char tok[600];
    snprintf(tok, sizeof(tok), "AUTH=%s", c->auth.v[i]);
    if(strlen(c->auth.v[i]) < 500)
      CHECK(mw__imap_caps_has(c, tok));
  }
}

static void check_set(const char *s)
{
  if(s)
    CHECK(mw__imap_seqset_valid(s, strlen(s)));
}

static void check_resp(const struct mw__imap_parser *p,
                       const struct sinkstate *ss)
{
  const struct mw__imap_resp *r = &p->resp;
  CHECK(r->kind >= MW__IMAP_TAGGED && r->kind <= MW__IMAP_CONTINUE);
  CHECK(r->type >= MW__IMAP_T_STATUS && r->type <= MW__IMAP_T_OTHER);
  if(r->kind == MW__IMAP_TAGGED) {
    CHECK(r->tag && r->tag[0] && !strchr(r->tag, '+'));
    CHECK(strlen(r->tag) < MW__IMAP_TAG_MAX);
    CHECK(r->type == MW__IMAP_T_STATUS);
    CHECK(r->status.cond <= MW__IMAP_COND_BAD);
  }
  else {
    CHECK(r->tag == NULL);
  }
  if(r->kind == MW__IMAP_CONTINUE) {
    CHECK(r->type == MW__IMAP_T_CONTINUE);
    check_text(r->text);
  }
  if(r->type == MW__IMAP_T_STATUS) {
    const struct mw__imap_code *k = &r->status.code;
    check_text(r->status.text);
    check_text(k->name);
    check_text(k->raw);
    CHECK(k->kind < MW__IMAP_CODE__COUNT);
    if(k->kind == MW__IMAP_CODE_NONE)
      CHECK(!k->name[0]);
    else if(k->kind != MW__IMAP_CODE_OTHER)
      CHECK(mw__strieq(k->name, mw__imap_code_name(k->kind)));
    if(k->kind == MW__IMAP_CODE_CAPABILITY)
      check_caps(&k->caps);
    check_set(k->set1);
    check_set(k->set2);
    if(k->kind == MW__IMAP_CODE_APPENDUID || k->kind == MW__IMAP_CODE_COPYUID)
      CHECK(k->num != 0 && k->set1);
  }
  if(r->type == MW__IMAP_T_CAPABILITY || r->type == MW__IMAP_T_ENABLED)
    check_caps(&r->caps);
  if(r->type == MW__IMAP_T_SEARCH)
    for(size_t i = 0; i < r->search.n; i++)
      CHECK(r->search.nums[i] != 0);
  if(r->type == MW__IMAP_T_ESEARCH)
    check_set(r->search.all);
  if(r->type == MW__IMAP_T_VANISHED)
    check_set(r->vanished_set);
  if(r->type == MW__IMAP_T_LIST || r->type == MW__IMAP_T_LSUB) {
    CHECK(r->list.mailbox);
    CHECK(strlen(r->list.mailbox) == r->list.mailbox_len);
  }
  if(r->type == MW__IMAP_T_FETCH) {
    const struct mw__imap_fetch *f = &r->fetch;
    CHECK(f->seq == r->number && f->seq != 0);
    if(f->has & MW__IMAP_F_UID)
      CHECK(f->uid != 0);
    size_t streamed = 0;
    for(size_t i = 0; i < f->nbody; i++) {
      const struct mw__imap_bodyval *b = &f->body[i];
      CHECK(b->item && b->section);
      if(b->nil)
        CHECK(b->size == 0);
      if(p->sink)
        CHECK(b->streamed);
      else
        CHECK(!b->streamed && (b->nil || b->data));
      streamed += b->streamed;
    }
    if(p->sink)
      CHECK(streamed == ss->ended);
  }
}

/* The parser over the server's bytes. */
static void run_parser(const uint8_t *in, size_t size, uint8_t opt)
{
  static const size_t chunks[] = {1, 2, 3, 7, 64, 512, 4096, SIZE_MAX};
  size_t chunk = chunks[(opt >> 2) & 7];
  struct mw__imap_limits lim;
  mw__imap_limits_default(&lim);
  if(opt & 2) {
    lim.max_literal = 64;
    lim.max_body = 256;
    lim.max_bytes = 512;
    lim.max_literals = 4;
    lim.max_items = 32;
  }
  uint64_t cap = lim.max_literal > lim.max_body ? lim.max_literal
                                                : lim.max_body;
  struct mw__imap_parser p;
  struct sinkstate ss = {0};
  ss.refuse = (opt & 32) != 0;
  ss.refuse_after = size / 3;
  mw__imap_parser_init(&p, &lim);
  if(opt & 1)
    mw__imap_parser_set_sink(&p, sink, &ss);

  size_t pos = 0;
  while(pos < size) {
    const uint8_t *nl = memchr(in + pos, '\n', size - pos);
    size_t n = nl ? (size_t)(nl - (in + pos)) : size - pos;
    size_t next = pos + n + (nl ? 1 : 0);
    if(nl && n && in[pos + n - 1] == '\r')
      n--;
    char *copy = malloc(n ? n : 1);
    CHECK(copy);
    memcpy(copy, in + pos, n);
    uint64_t lit = 0;
    const char *why = NULL;
    enum mw__imap_feed r = mw__imap_feed_line(&p, copy, n, &lit, &why);
    free(copy);
    pos = next;
    while(r == MW__IMAP_NEED_LITERAL) {
      CHECK(lit <= cap);
      uint64_t left = lit;
      size_t k = left < chunk ? (size_t)left : chunk;
      if(k > size - pos)
        k = size - pos;
      if(!k && left)
        break; /* the server went quiet inside a literal */
      uint8_t *lc = malloc(k ? k : 1);
      CHECK(lc);
      memcpy(lc, in + pos, k);
      uint64_t before = left;
      r = mw__imap_feed_literal(&p, lc, k, &left, &why);
      free(lc);
      pos += k;
      if(r == MW__IMAP_NEED_LITERAL)
        CHECK(left == before - k && left > 0);
      lit = left;
    }
    CHECK(r >= MW__IMAP_NEED_LITERAL && r <= MW__IMAP_BAD);
    if(r == MW__IMAP_BAD) {
      CHECK(why && why[0]);
      ss.open = 0;
      ss.ended = 0;
    }
    else if(r == MW__IMAP_DONE) {
      check_resp(&p, &ss);
      CHECK(!ss.open);
      ss.ended = 0;
    }
  }
  mw__imap_parser_free(&p);
}

static bool utf8_ok(const char *s, size_t n)
{
  struct mw__sbuf b;
  const char *why;
  mw__sbuf_init(&b);
  bool ok = mw__imap_mutf7_encode(s, n, &b, &why);
  mw__sbuf_free(&b);
  return ok;
}

static void run_encoders(const uint8_t *in, size_t size)
{
  const char *s = (const char *)in;
  const char *why = NULL;
  struct mw__sbuf a, b, c;
  mw__sbuf_init(&a);
  mw__sbuf_init(&b);
  mw__sbuf_init(&c);
  /* encode then decode */
  if(mw__imap_mutf7_encode(s, size, &a, &why)) {
    for(size_t i = 0; i < a.len; i++)
      CHECK(a.data[i] >= 0x20 && a.data[i] <= 0x7e);
    CHECK(mw__imap_mutf7_decode(a.data ? a.data : "", a.len, &b, &why));
    CHECK(b.len == size && (!size || memcmp(b.data, s, size) == 0));
  }
  else {
    CHECK(why && !utf8_ok(s, size));
  }
  mw__sbuf_reset(&a);
  mw__sbuf_reset(&b);
  /* decode then re-encode */
  if(mw__imap_mutf7_decode(s, size, &a, &why)) {
    CHECK(mw__imap_mutf7_encode(a.data ? a.data : "", a.len, &b, &why));
    CHECK(mw__imap_mutf7_decode(b.data ? b.data : "", b.len, &c, &why));
    CHECK(c.len == a.len && (!a.len || memcmp(c.data, a.data, a.len) == 0));
  }
  mw__sbuf_reset(&a);
  /* astring out, LIST in */
  enum mw__imap_astring k = mw__imap_astring_kind(s, size, true);
  CHECK(k >= MW__IMAP_AS_ATOM && k <= MW__IMAP_AS_INVALID);
  mw__sbuf_puts(&a, "* LIST () \"/\" ");
  size_t before = a.len;
  enum mw__imap_astring k2 = mw__imap_astring_append(&a, s, size, true);
  CHECK(k2 == k);
  if(k == MW__IMAP_AS_ATOM || k == MW__IMAP_AS_QUOTED) {
    struct mw__imap_parser p;
    uint64_t lit;
    mw__imap_parser_init(&p, NULL);
    CHECK(mw__imap_feed_line(&p, a.data, a.len, &lit, &why) ==
          MW__IMAP_DONE);
    if(size == 5 && mw__strnieq(s, "INBOX", 5))
      CHECK(strcmp(p.resp.list.mailbox, "INBOX") == 0);
    else
      CHECK(p.resp.list.mailbox_len == size &&
            memcmp(p.resp.list.mailbox, s, size) == 0);
    mw__imap_parser_free(&p);
  }
  else {
    CHECK(a.len == before);
  }
  /* mailbox names: out in either mode, back to the same UTF-8 */
  for(int mode = 0; mode < 2; mode++) {
    char *enc = NULL;
    mw__sbuf_reset(&b);
    mw__sbuf_reset(&c);
    enum mw__imap_astring mk =
        mw__imap_mailbox_append(&b, s, size, mode == 1, &enc, &why);
    if(!mk) {
      CHECK(enc == NULL && why);
      CHECK(!utf8_ok(s, size) || memchr(s, 0, size));
      continue;
    }
    CHECK(enc != NULL);
    CHECK(mw__imap_mailbox_decode(enc, strlen(enc), mode == 1, &c, &why));
    CHECK(c.len == size && (!size || memcmp(c.data, s, size) == 0));
    mw__free(enc);
  }
  /* sequence sets: numbers from the bytes, made ascending */
  size_t n = size / 2;
  uint32_t *u = malloc((n ? n : 1) * sizeof(uint32_t));
  CHECK(u);
  uint32_t acc = 0;
  for(size_t i = 0; i < n; i++) {
    acc += 1u + (in[2 * i] % 4 == 0 ? 0 : (uint32_t)in[2 * i + 1]) % 3;
    u[i] = acc;
  }
  size_t capl = 21 + (size ? in[0] % 64 : 0); /* 21: "a:b", 10 digits each */
  size_t at = 0;
  while(at < n) {
    mw__sbuf_reset(&b);
    size_t got = mw__imap_seqset_format(u + at, n - at, capl, &b, &why);
    CHECK(got > 0 && got <= n - at && b.len <= capl);
    CHECK(mw__imap_seqset_valid(b.data, b.len));
    struct mw__imap_seqiter it;
    uint32_t lo, hi;
    size_t j = at;
    mw__imap_seqiter_init(&it, b.data, b.len);
    while(mw__imap_seqiter_next(&it, &lo, &hi)) {
      for(uint64_t v = lo; v <= hi; v++) {
        while(j < at + got && j > at && u[j] == u[j - 1])
          j++;
        CHECK(j < at + got && u[j] == v);
        j++;
      }
    }
    CHECK(j == at + got);
    at += got;
  }
  free(u);
  /* seqset reading never over-reads */
  mw__imap_seqset_valid(s, size);
  mw__sbuf_free(&a);
  mw__sbuf_free(&b);
  mw__sbuf_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1)
    return 0;
  uint8_t opt = data[0];
  run_parser(data + 1, size - 1, opt);
  /* exactly sized copy for the encoders */
  uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
  CHECK(copy);
  memcpy(copy, data + 1, size - 1);
  run_encoders(copy, size - 1);
  free(copy);
  return 0;
}
