/* Unit tests: proto/data.c, DATA encoding (dot-stuffing, CRLF) and the
 * message scan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "proto/data.h"

#include <string.h>

/* Encodes in whole, then byte by byte; both must give the same wire form. */
static void check(const char *in, size_t len, const char *expected)
{
  struct mw__data_encoder e;
  struct mw__sbuf whole, bytes;
  mw__sbuf_init(&whole);
  mw__sbuf_init(&bytes);
  mw__data_encoder_init(&e);
  assert_true(mw__data_encode(&e, in, len, &whole));
  assert_true(mw__data_finish(&e, &whole));
  mw__data_encoder_init(&e);
  for(size_t i = 0; i < len; i++)
    assert_true(mw__data_encode(&e, in + i, 1, &bytes));
  assert_true(mw__data_finish(&e, &bytes));
  assert_string_equal(whole.data, expected);
  assert_string_equal(bytes.data, expected);
  mw__sbuf_free(&whole);
  mw__sbuf_free(&bytes);
}

#define CHECK(in, out) check(in, sizeof(in) - 1, out)

static void crlf_passes_through(void **state)
{
  (void)state;
  CHECK("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
}

static void bare_lf_becomes_crlf(void **state)
{
  (void)state;
  CHECK("a\nb\n", "a\r\nb\r\n.\r\n");
  CHECK("\n\n", "\r\n\r\n.\r\n");
}

static void bare_cr_becomes_crlf(void **state)
{
  (void)state;
  CHECK("a\rb", "a\r\nb\r\n.\r\n");
  CHECK("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
  CHECK("a\r", "a\r\n.\r\n");
}

static void missing_final_newline_is_added(void **state)
{
  (void)state;
  CHECK("no newline", "no newline\r\n.\r\n");
  CHECK("", ".\r\n");
}

static void leading_dots_are_doubled(void **state)
{
  (void)state;
  CHECK(".\n", "..\r\n.\r\n");
  CHECK("..x\r\n.y\r\nz.\r\n", "...x\r\n..y\r\nz.\r\n.\r\n");
  CHECK(".", "..\r\n.\r\n");
}

static void smuggling_sequences_never_reach_the_wire(void **state)
{
  (void)state;
  /* The SMTP smuggling end-of-data variants: none may end the data early. */
  CHECK("a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
  CHECK("a\r\n.\rb", "a\r\n..\r\nb\r\n.\r\n");
  CHECK("a\r.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
  CHECK("a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
}

static void no_bare_cr_or_lf_in_any_output(void **state)
{
  (void)state;
  /* Every combination of up to 6 bytes from {a, '.', CR, LF}. */
  const char alphabet[] = {'a', '.', '\r', '\n'};
  char in[6];
  for(int len = 1; len <= 6; len++) {
    int combos = 1;
    for(int i = 0; i < len; i++)
      combos *= 4;
    for(int n = 0; n < combos; n++) {
      int v = n;
      for(int i = 0; i < len; i++) {
        in[i] = alphabet[v % 4];
        v /= 4;
      }
      struct mw__data_encoder e;
      struct mw__sbuf out;
      mw__sbuf_init(&out);
      mw__data_encoder_init(&e);
      assert_true(mw__data_encode(&e, in, (size_t)len, &out));
      assert_true(mw__data_finish(&e, &out));
      for(size_t i = 0; i < out.len; i++) {
        if(out.data[i] == '\r')
          assert_true(i + 1 < out.len && out.data[i + 1] == '\n');
        if(out.data[i] == '\n')
          assert_true(i > 0 && out.data[i - 1] == '\r');
      }
      /* The only "\r\n.\r\n" is the terminator at the very end. */
      const char *term = strstr(out.data, "\r\n.\r\n");
      if(term)
        assert_ptr_equal(term + 5, out.data + out.len);
      mw__sbuf_free(&out);
    }
  }
}

static void scan_finds_8bit_and_utf8_headers(void **state)
{
  (void)state;
  mw_message_info info;
  const char ascii[] = "Subject: hi\r\n\r\nbody\r\n";
  mw_message_info_scan(&info, ascii, sizeof(ascii) - 1);
  assert_false(info.has_8bit);
  assert_false(info.needs_smtputf8);
  const char body8[] = "Subject: hi\n\nb\xc3\xa9\n";
  mw_message_info_scan(&info, body8, sizeof(body8) - 1);
  assert_true(info.has_8bit);
  assert_false(info.needs_smtputf8);
  const char head8[] = "Subject: h\xc3\xa9\r\n\r\nbody\r\n";
  mw_message_info_scan(&info, head8, sizeof(head8) - 1);
  assert_true(info.has_8bit);
  assert_true(info.needs_smtputf8);
}

static void scan_size_counts_wire_bytes(void **state)
{
  (void)state;
  mw_message_info info;
  /* "a\n.b\n" goes out as "a\r\n..b\r\n" (8) plus at most 5 for the end. */
  mw_message_info_scan(&info, "a\n.b\n", 5);
  assert_int_equal(info.size, 8 + 5);
}

static void scan_longest_line(void **state)
{
  (void)state;
  mw_message_info info;
  mw_message_info_scan(&info, "ab\r\nabcd\nabc\rx", 15);
  assert_int_equal(info.longest_line, 4);
  char big[2100];
  memset(big, 'y', sizeof(big));
  big[0] = 'S';
  big[1] = ':';
  big[2] = '\n';
  big[3] = '\n';
  mw_message_info_scan(&info, big, sizeof(big));
  /* The scan stops at the first line over 998 bytes and names it. */
  assert_int_equal(info.longest_line, 999);
  assert_int_equal(info.long_line, 3);
  big[1500] = '\n';
  mw_message_info_scan(&info, big + 1000, 998);
  assert_int_equal(info.longest_line, 500);
  assert_int_equal(info.long_line, 0);
  /* A blank CRLF line ends the headers; UTF-8 after it is body only. */
  mw_message_info_scan(&info, "A: b\r\n\r\n\xc3\xa9", 10);
  assert_false(info.needs_smtputf8);
  assert_true(info.has_8bit);
}

/* A reader that never ends and never sends a line break: /dev/zero. */
static mw_status endless_zeros(void *user, char *buf, size_t len,
                               size_t *got)
{
  size_t *calls = user;
  (*calls)++;
  memset(buf, 0, len);
  *got = len;
  return MW_OK;
}

static mw_status lines_then_zeros(void *user, char *buf, size_t len,
                                  size_t *got)
{
  size_t *calls = user;
  memset(buf, 0, len);
  if((*calls)++ == 0) {
    memcpy(buf, "Subject: x\r\n\r\nok\n", 17);
    *got = 17;
    return MW_OK;
  }
  *got = len;
  return MW_OK;
}

static void scan_reader_stops_at_first_long_line(void **state)
{
  (void)state;
  mw_message_info info;
  size_t calls = 0;
  assert_int_equal(mw_message_info_scan_reader(&info, endless_zeros, &calls),
                   MW_E_MESSAGE);
  assert_int_equal(info.long_line, 1);
  assert_int_equal(info.longest_line, 999);
  assert_int_equal(calls, 1); /* one read of 16 KiB, no more */
  calls = 0;
  assert_int_equal(
      mw_message_info_scan_reader(&info, lines_then_zeros, &calls),
      MW_E_MESSAGE);
  assert_int_equal(info.long_line, 4);
  assert_int_equal(calls, 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(crlf_passes_through),
      cmocka_unit_test(scan_reader_stops_at_first_long_line),
      cmocka_unit_test(bare_lf_becomes_crlf),
      cmocka_unit_test(bare_cr_becomes_crlf),
      cmocka_unit_test(missing_final_newline_is_added),
      cmocka_unit_test(leading_dots_are_doubled),
      cmocka_unit_test(smuggling_sequences_never_reach_the_wire),
      cmocka_unit_test(no_bare_cr_or_lf_in_any_output),
      cmocka_unit_test(scan_finds_8bit_and_utf8_headers),
      cmocka_unit_test(scan_size_counts_wire_bytes),
      cmocka_unit_test(scan_longest_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
