/* Unit tests: proto/capa.c, the EHLO capability parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/capa.h"

#include <stdio.h>
#include <string.h>

static void parses_keywords_and_params(void **state)
{
  (void)state;
  struct mw__capa c;
  mw__capa_init(&c);
  assert_true(mw__capa_parse(&c, "mail.example.test\nPIPELINING\nSIZE "
                                 "10240000\nSTARTTLS\nAUTH PLAIN LOGIN "
                                 "SCRAM-SHA-256\nENHANCEDSTATUSCODES\n"
                                 "8BITMIME\nDSN\nSMTPUTF8\nCHUNKING"));
  assert_true(c.valid);
  assert_int_equal(c.count, 9);
  assert_true(mw__capa_has(&c, "pipelining"));
  assert_true(mw__capa_has(&c, "STARTTLS"));
  assert_true(mw__capa_has(&c, "SMTPUTF8"));
  assert_true(mw__capa_has(&c, "CHUNKING"));
  assert_false(mw__capa_has(&c, "mail.example.test"));
  assert_int_equal(mw__capa_size(&c), 10240000);
  assert_true(mw__capa_auth_has(&c, "scram-sha-256"));
  assert_true(mw__capa_auth_has(&c, "PLAIN"));
  assert_false(mw__capa_auth_has(&c, "CRAM-MD5"));
  assert_false(mw__capa_auth_has(&c, "PLAI"));
  mw__capa_clear(&c);
}

static void old_auth_equals_form(void **state)
{
  (void)state;
  struct mw__capa c;
  mw__capa_init(&c);
  assert_true(mw__capa_parse(&c, "x\nAUTH=LOGIN PLAIN"));
  assert_true(mw__capa_auth_has(&c, "LOGIN"));
  /* When both forms appear the standard one wins. */
  assert_true(mw__capa_parse(&c, "x\nAUTH CRAM-MD5\nAUTH=LOGIN"));
  assert_true(mw__capa_auth_has(&c, "CRAM-MD5"));
  assert_false(mw__capa_auth_has(&c, "LOGIN"));
  mw__capa_clear(&c);
}

static void size_without_limit_or_garbage(void **state)
{
  (void)state;
  struct mw__capa c;
  mw__capa_init(&c);
  assert_true(mw__capa_parse(&c, "x\nSIZE"));
  assert_int_equal(mw__capa_size(&c), 0);
  assert_true(mw__capa_parse(&c, "x\nSIZE 12abc"));
  assert_int_equal(mw__capa_size(&c), 0);
  assert_true(mw__capa_parse(&c, "x\nSIZE 99999999999999999999999"));
  assert_int_equal(mw__capa_size(&c), 0);
  mw__capa_clear(&c);
}

static void malformed_lines_are_ignored(void **state)
{
  (void)state;
  struct mw__capa c;
  mw__capa_init(&c);
  assert_true(mw__capa_parse(&c, "x\n\n  \n!!!\nTHIS-KEYWORD-IS-FAR-TOO-LONG-"
                                 "TO-BE-REAL-XXXXXXXX\nAUTH\tPLAIN\n"
                                 "PIPELINING"));
  assert_int_equal(c.count, 1);
  assert_true(mw__capa_has(&c, "PIPELINING"));
  assert_false(mw__capa_has(&c, "AUTH"));
  mw__capa_clear(&c);
}

static void bounded_entries(void **state)
{
  (void)state;
  char text[8192] = "x";
  for(int i = 0; i < 200; i++) {
    char line[32];
    snprintf(line, sizeof(line), "\nK%d", i);
    strcat(text, line);
  }
  struct mw__capa c;
  mw__capa_init(&c);
  assert_true(mw__capa_parse(&c, text));
  assert_int_equal(c.count, MW__CAPA_MAX);
  mw__capa_clear(&c);
}

static void greeting_only(void **state)
{
  (void)state;
  struct mw__capa c;
  mw__capa_init(&c);
  assert_true(mw__capa_parse(&c, "mail.example.test greets you"));
  assert_int_equal(c.count, 0);
  assert_true(c.valid);
  mw__capa_clear(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_keywords_and_params),
      cmocka_unit_test(old_auth_equals_form),
      cmocka_unit_test(size_without_limit_or_garbage),
      cmocka_unit_test(malformed_lines_are_ignored),
      cmocka_unit_test(bounded_entries),
      cmocka_unit_test(greeting_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
