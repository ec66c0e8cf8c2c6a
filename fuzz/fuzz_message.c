/*
 * fuzz/fuzz_message.c - a ready-made message as sendmail mode gets it on
 * standard input: parsed by mw_compose_set_message_fd (mime/
 * compose_parse.c), its recipients listed, and written back with Bcc
 * removed and Date and Message-ID added (mime/compose.c).
 *
 * Input: the message bytes.
 *
 * Invariants (abort() when violated):
 *   - every recipient and the sender, when there is one, is a non-empty
 *     address with '@' and no CR, LF, space, '<' or '>' (they become
 *     envelope commands);
 *   - recipients are listed once each (case-insensitive);
 *   - the header block written contains no Bcc field (whatever its case
 *     or the white space before its colon), and Date and Message-Id
 *     fields;
 *   - nothing crashes, leaks or hangs on any bytes.
 */
#include "mailwire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if(!(cond)) {                                                            \
      fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__);  \
      abort();                                                               \
    }                                                                        \
  } while(0)

static void check_address(const char *a)
{
  CHECK(a && *a && strchr(a, '@'));
  CHECK(!strpbrk(a, "\r\n <>"));
}

/* Whether the header block of msg (up to the first empty line) has a
 * field named name. */
static int has_field(const char *msg, size_t len, const char *name)
{
  size_t nl = strlen(name);
  size_t i = 0;
  while(i < len) {
    const char *ln = msg + i;
    const char *eol = memchr(ln, '\n', len - i);
    size_t ll = eol ? (size_t)(eol - ln) : len - i;
    if(ll == 0 || (ll == 1 && ln[0] == '\r'))
      return 0;
    /* obs-optional: white space may stand before the colon ("Date :") */
    if(ll > nl && strncasecmp(ln, name, nl) == 0) {
      size_t k = nl;
      while(k < ll && (ln[k] == ' ' || ln[k] == '\t'))
        k++;
      if(k < ll && ln[k] == ':')
        return 1;
    }
    if(!eol)
      break;
    i = (size_t)(eol - msg) + 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  FILE *in = tmpfile();
  if(!in)
    return 0;
  if(size && fwrite(data, 1, size, in) != size) {
    fclose(in);
    return 0;
  }
  fflush(in);
  rewind(in);
  mw_compose *c = mw_compose_new();
  if(c && mw_compose_set_message_fd(c, fileno(in)) == MW_OK) {
    size_t n = mw_compose_recipient_count(c);
    for(size_t i = 0; i < n; i++) {
      check_address(mw_compose_recipient(c, i));
      for(size_t k = 0; k < i; k++)
        CHECK(strcasecmp(mw_compose_recipient(c, i),
                         mw_compose_recipient(c, k)) != 0);
    }
    CHECK(mw_compose_recipient(c, n) == NULL);
    if(mw_compose_sender(c))
      check_address(mw_compose_sender(c));
    uint64_t out_size = 0;
    if(mw_compose_open(c, &out_size) == MW_OK) {
      size_t cap = out_size < (1u << 20) ? (size_t)out_size : (1u << 20);
      char *buf = malloc(cap + 1);
      size_t got = 0, total = 0;
      while(buf && total < cap &&
            mw_compose_read(c, buf + total, cap - total, &got) == MW_OK &&
            got)
        total += got;
      if(buf) {
        CHECK(!has_field(buf, total, "Bcc"));
        if(total == out_size) {
          CHECK(has_field(buf, total, "Date"));
          CHECK(has_field(buf, total, "Message-Id"));
        }
      }
      free(buf);
    }
  }
  mw_compose_free(c);
  fclose(in);
  return 0;
}
