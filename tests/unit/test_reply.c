/* Unit tests: proto/reply.c, the strict SMTP reply parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/reply.h"

#include <string.h>

static enum mw__reply_feed feed(struct mw__reply *r, const char *line,
                                const char **why)
{
  return mw__reply_feed(r, line, strlen(line), why);
}

static void single_line_with_enhanced_code(void **state)
{
  (void)state;
  struct mw__reply r;
  const char *why = NULL;
  mw__reply_init(&r);
  assert_int_equal(feed(&r, "250 2.0.0 Ok: queued as ABC", &why),
                   MW__REPLY_DONE);
  assert_int_equal(r.code, 250);
  assert_string_equal(r.enhanced, "2.0.0");
  assert_string_equal(r.text, "Ok: queued as ABC");
  mw__reply_free(&r);
}

static void multi_line_joins_text(void **state)
{
  (void)state;
  struct mw__reply r;
  const char *why = NULL;
  mw__reply_init(&r);
  assert_int_equal(feed(&r, "250-mail.example.test", &why), MW__REPLY_MORE);
  assert_int_equal(feed(&r, "250-PIPELINING", &why), MW__REPLY_MORE);
  assert_int_equal(feed(&r, "250 SIZE 1000", &why), MW__REPLY_DONE);
  assert_string_equal(r.text, "mail.example.test\nPIPELINING\nSIZE 1000");
  assert_int_equal(r.lines, 3);
  mw__reply_free(&r);
}

static void enhanced_code_must_match_class(void **state)
{
  (void)state;
  struct mw__reply r;
  const char *why = NULL;
  mw__reply_init(&r);
  /* A 5.x.x code on a 250 reply is text, not an enhanced status. */
  assert_int_equal(feed(&r, "250 5.1.1 odd", &why), MW__REPLY_DONE);
  assert_string_equal(r.enhanced, "");
  assert_string_equal(r.text, "5.1.1 odd");
  mw__reply_free(&r);
  mw__reply_init(&r);
  assert_int_equal(feed(&r, "550-5.1.1 User unknown", &why), MW__REPLY_MORE);
  assert_int_equal(feed(&r, "550 5.1.1 in virtual table", &why),
                   MW__REPLY_DONE);
  assert_string_equal(r.enhanced, "5.1.1");
  assert_string_equal(r.text, "User unknown\nin virtual table");
  mw__reply_free(&r);
}

static void bare_code_is_valid(void **state)
{
  (void)state;
  struct mw__reply r;
  const char *why = NULL;
  mw__reply_init(&r);
  assert_int_equal(feed(&r, "354", &why), MW__REPLY_DONE);
  assert_int_equal(r.code, 354);
  assert_string_equal(r.text, "");
  mw__reply_free(&r);
}

static void malformed_replies_are_refused(void **state)
{
  (void)state;
  static const char *const bad[] = {
      "",        "25",          "abc hello", "2500 x",   "250x",
      "650 no",  "199 low",     "2a0 x",     "1 2 3",    "250\x01x",
      "-250 x",  "25 0",        " 250 x",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct mw__reply r;
    const char *why = NULL;
    mw__reply_init(&r);
    assert_int_equal(feed(&r, bad[i], &why), MW__REPLY_BAD);
    assert_non_null(why);
    mw__reply_free(&r);
  }
}

static void nul_byte_is_refused(void **state)
{
  (void)state;
  struct mw__reply r;
  const char *why = NULL;
  mw__reply_init(&r);
  assert_int_equal(mw__reply_feed(&r, "250 a\0b", 7, &why), MW__REPLY_BAD);
  assert_string_equal(why, "reply contains a NUL byte");
  mw__reply_free(&r);
}

static void codes_that_disagree_are_refused(void **state)
{
  (void)state;
  struct mw__reply r;
  const char *why = NULL;
  mw__reply_init(&r);
  assert_int_equal(feed(&r, "250-first", &why), MW__REPLY_MORE);
  assert_int_equal(feed(&r, "550 second", &why), MW__REPLY_BAD);
  assert_string_equal(why,
                      "the lines of a multi-line reply carry different codes");
  mw__reply_free(&r);
}

static void endless_continuation_is_bounded(void **state)
{
  (void)state;
  struct mw__reply r;
  const char *why = NULL;
  mw__reply_init(&r);
  enum mw__reply_feed f = MW__REPLY_MORE;
  size_t n = 0;
  while(f == MW__REPLY_MORE && n < 100000) {
    f = feed(&r, "250-again and again", &why);
    n++;
  }
  assert_int_equal(f, MW__REPLY_BAD);
  assert_true(n <= MW__REPLY_MAX_LINES + 1);
  mw__reply_free(&r);
}

static void enhanced_code_parser(void **state)
{
  (void)state;
  char out[16];
  assert_int_equal(mw__parse_enhanced("5.7.139 x", out), 8);
  assert_string_equal(out, "5.7.139");
  assert_int_equal(mw__parse_enhanced("2.0.0", out), 5);
  assert_int_equal(mw__parse_enhanced("3.0.0 x", out), 0);
  assert_int_equal(mw__parse_enhanced("5.7.1234 x", out), 0);
  assert_int_equal(mw__parse_enhanced("5..1 x", out), 0);
  assert_int_equal(mw__parse_enhanced("5.1.1x", out), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(single_line_with_enhanced_code),
      cmocka_unit_test(multi_line_joins_text),
      cmocka_unit_test(enhanced_code_must_match_class),
      cmocka_unit_test(bare_code_is_valid),
      cmocka_unit_test(malformed_replies_are_refused),
      cmocka_unit_test(nul_byte_is_refused),
      cmocka_unit_test(codes_that_disagree_are_refused),
      cmocka_unit_test(endless_continuation_is_bounded),
      cmocka_unit_test(enhanced_code_parser),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
