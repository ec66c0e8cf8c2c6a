/*
 * fuzz/fuzz_reply.c - the SMTP reply parser (proto/reply.h).
 *
 * Input: what a server sends.  It is cut into lines the way the stream
 * reader does (at LF, a CR before the LF dropped); the lines are fed to
 * mw__reply_feed one by one, each from an exactly sized heap copy with no
 * NUL after it, and a new reply starts after each complete or malformed
 * one, as in a session.
 *
 * Invariants (abort() when violated):
 *   - a line is refused exactly when it breaks the grammar: fewer than
 *     three digits, a first digit outside 2-5 or a second outside 0-5
 *     (RFC 5321 4.2), a fourth byte other than ' '
 *     or '-', a code differing from the reply's first line, a control
 *     byte (except TAB) or NUL, too many lines, too much text;
 *   - a complete reply has a code of 200-559, a text with no CR, no NUL
 *     and no control byte except TAB and the LF joining lines, one LF
 *     fewer than it has lines, each line's text taken from the end of
 *     that line, and an enhanced code (when any) of the reply's class,
 *     shaped class.subject.detail, which is what was stripped;
 *   - the queue id of a 250 reply has no white space or control byte;
 *   - mw__parse_enhanced never reads past the string's NUL nor writes
 *     more than 16 bytes, and consumes only a valid code and blanks.
 */
#include "core/util.h"
#include "proto/envelope.h"
#include "proto/reply.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if(!(cond)) {                                                            \
      fprintf(stderr, "fuzz_reply: invariant violated: %s (%s:%d)\n", #cond, \
              __FILE__, __LINE__);                                           \
      abort();                                                               \
    }                                                                        \
  } while(0)

static bool digit(char c) { return c >= '0' && c <= '9'; }
static bool blank(char c) { return c == ' ' || c == '\t'; }

/* An independent reading of RFC 3463: class.subject.detail, class 2/4/5,
 * subject and detail 1-3 digits, then the end or a blank.  Returns the
 * code's length, 0 when p does not start with one. */
static size_t model_enhanced(const char *p, size_t n)
{
  if(n < 1 || (p[0] != '2' && p[0] != '4' && p[0] != '5'))
    return 0;
  size_t i = 1;
  for(int part = 0; part < 2; part++) {
    if(i >= n || p[i] != '.')
      return 0;
    i++;
    size_t d = 0;
    while(i < n && digit(p[i]) && d < 4) {
      i++;
      d++;
    }
    if(d < 1 || d > 3)
      return 0;
  }
  if(i < n && !blank(p[i]))
    return 0;
  return i;
}

static void check_enhanced_shape(const char *e, int klass)
{
  size_t n = strlen(e);
  CHECK(n < 16);
  if(!n)
    return;
  CHECK(model_enhanced(e, n) == n);
  CHECK(e[0] - '0' == klass);
}

/* Direct use of mw__parse_enhanced on a NUL-terminated heap copy. */
static void check_parse_enhanced(const char *p, size_t n)
{
  char *s = malloc(n + 1);
  CHECK(s);
  memcpy(s, p, n);
  s[n] = '\0';
  size_t slen = strlen(s);
  char *out = malloc(16);
  CHECK(out);
  size_t used = mw__parse_enhanced(s, out);
  CHECK(used <= slen);
  size_t ol = strnlen(out, 16);
  CHECK(ol < 16);
  size_t ml = model_enhanced(s, slen);
  CHECK(ol == ml);
  if(used) {
    CHECK(ml > 0 && memcmp(out, s, ml) == 0);
    for(size_t i = ml; i < used; i++)
      CHECK(blank(s[i]));
    CHECK(used == slen || !blank(s[used]));
  }
  else {
    CHECK(ml == 0);
  }
  free(out);
  free(s);
}

static void check_queue_id(const char *text)
{
  char id[128];
  memset(id, 'X', sizeof(id));
  mw__parse_queue_id(text, id, sizeof(id));
  size_t n = strnlen(id, sizeof(id));
  CHECK(n < sizeof(id));
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)id[i];
    CHECK(c > 0x20 && c != 0x7f); /* no blank, LF, CR or control byte */
  }
  if(n)
    CHECK(strstr(text, id) != NULL); /* taken from the text */
}

struct line {
  const char *p;
  size_t n;
};

/* Whether the grammar (not the limits) refuses the line. */
static bool model_bad_line(const char *p, size_t n, int first_code)
{
  if(n < 3 || !digit(p[0]) || !digit(p[1]) || !digit(p[2]))
    return true;
  /* RFC 5321 4.2: first digit 2-5 (1yz is never used by SMTP), second
   * digit 0-5. */
  if(p[0] < '2' || p[0] > '5' || p[1] > '5')
    return true;
  int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
  if(n > 3 && p[3] != ' ' && p[3] != '-')
    return true;
  if(first_code && code != first_code)
    return true;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if((c < 0x20 && c != '\t') || c == 0x7f)
      return true;
  }
  return false;
}

static void check_done(const struct mw__reply *r, const struct line *lines,
                       size_t count)
{
  CHECK(r->code >= 200 && r->code <= 559);
  CHECK(r->lines == count && count >= 1 && count <= MW__REPLY_MAX_LINES);
  CHECK(r->text != NULL);
  size_t tl = strlen(r->text);
  CHECK(tl == r->buf.len); /* no NUL inside */
  CHECK(tl <= MW__REPLY_MAX_TEXT);
  size_t lfs = 0;
  for(size_t i = 0; i < tl; i++) {
    unsigned char c = (unsigned char)r->text[i];
    CHECK(c != '\r' && c != 0x7f);
    CHECK(c >= 0x20 || c == '\t' || c == '\n');
    lfs += c == '\n';
  }
  CHECK(lfs == count - 1);
  check_enhanced_shape(r->enhanced, r->code / 100);

  /* Each line's text is the end of that line; what was cut off is the
   * enhanced code (and blanks), and only when the reply has one. */
  const char *seg = r->text;
  for(size_t i = 0; i < count; i++) {
    const char *end = strchr(seg, '\n');
    size_t sl = end ? (size_t)(end - seg) : strlen(seg);
    const struct line *l = &lines[i];
    int code = (l->p[0] - '0') * 100 + (l->p[1] - '0') * 10 + (l->p[2] - '0');
    CHECK(code == r->code);
    CHECK(i + 1 == count ? (l->n == 3 || l->p[3] == ' ') : l->p[3] == '-');
    const char *lt = l->n > 4 ? l->p + 4 : "";
    size_t ll = l->n > 4 ? l->n - 4 : 0;
    CHECK(sl <= ll);
    CHECK(memcmp(lt + (ll - sl), seg, sl) == 0);
    size_t cut = ll - sl;
    size_t ml = model_enhanced(lt, ll);
    if(i == 0) {
      /* The first line's code counts when it is of the reply's class. */
      bool has = ml && lt[0] == l->p[0];
      CHECK(has == (r->enhanced[0] != '\0'));
      if(has)
        CHECK(strlen(r->enhanced) == ml && memcmp(r->enhanced, lt, ml) == 0);
    }
    if(cut) {
      CHECK(r->enhanced[0]);
      size_t el = strlen(r->enhanced);
      CHECK(cut >= el && memcmp(lt, r->enhanced, el) == 0);
      for(size_t k = el; k < cut; k++)
        CHECK(blank(lt[k]));
    }
    else if(ml && r->enhanced[0] && ml == strlen(r->enhanced) &&
            memcmp(lt, r->enhanced, ml) == 0) {
      CHECK(!"a repeated enhanced code was left in the text");
    }
    seg = end ? end + 1 : seg + sl;
  }
  if(r->code == 250)
    check_queue_id(r->text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *in = (const char *)data;
  size_t nlines = 1;
  for(size_t i = 0; i < size; i++)
    nlines += data[i] == '\n';
  struct line *lines = malloc(nlines * sizeof(*lines));
  CHECK(lines);

  struct mw__reply r;
  mw__reply_init(&r);
  size_t count = 0; /* lines of the current reply */
  size_t pos = 0;
  while(pos < size) {
    const char *nl = memchr(in + pos, '\n', size - pos);
    size_t n = nl ? (size_t)(nl - (in + pos)) : size - pos;
    size_t next = pos + n + (nl ? 1 : 0);
    if(nl && n && in[pos + n - 1] == '\r')
      n--; /* CRLF */
    char *copy = malloc(n ? n : 1); /* exactly sized: no NUL after it */
    CHECK(copy);
    memcpy(copy, in + pos, n);
    check_parse_enhanced(copy, n);

    bool model_bad = model_bad_line(copy, n, r.code);
    const char *why = NULL;
    enum mw__reply_feed f = mw__reply_feed(&r, copy, n, &why);
    CHECK(f == MW__REPLY_MORE || f == MW__REPLY_DONE || f == MW__REPLY_BAD);
    if(model_bad)
      CHECK(f == MW__REPLY_BAD);
    if(f == MW__REPLY_BAD) {
      CHECK(why != NULL && why[0] != '\0');
      /* Refused for the grammar, or for a limit. */
      CHECK(model_bad || count + 1 > MW__REPLY_MAX_LINES ||
            r.buf.len + n + 1 > MW__REPLY_MAX_TEXT);
      free(copy);
      for(size_t i = 0; i < count; i++)
        free((void *)lines[i].p);
      count = 0;
      mw__reply_free(&r);
      mw__reply_init(&r);
    }
    else {
      lines[count].p = copy;
      lines[count].n = n;
      count++;
      CHECK(r.lines == count);
      if(f == MW__REPLY_DONE) {
        check_done(&r, lines, count);
        for(size_t i = 0; i < count; i++)
          free((void *)lines[i].p);
        count = 0;
        mw__reply_free(&r);
        mw__reply_init(&r);
      }
    }
    pos = next;
  }
  for(size_t i = 0; i < count; i++)
    free((void *)lines[i].p);
  mw__reply_free(&r);
  free(lines);

  /* The whole input as one string, as a continuation reply's text. */
  check_parse_enhanced(in, size);
  return 0;
}
