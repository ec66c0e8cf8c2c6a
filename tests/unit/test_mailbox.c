/* Unit tests: one mailbox per address (issue 9, item 6):
 * mw_mailbox_check, the envelope setters and the composer's From/To/Cc. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "proto/envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text, verdict, the address extracted (when OK). */
static const struct {
  const char *text;
  mw_mailbox_verdict want;
  const char *addr;
} cases[] = {
    /* one mailbox */
    {"alice@example.org", MW_MAILBOX_OK, "alice@example.org"},
    {"  alice@example.org\t", MW_MAILBOX_OK, "alice@example.org"},
    {"Alice <alice@example.org>", MW_MAILBOX_OK, "alice@example.org"},
    {"<alice@example.org>", MW_MAILBOX_OK, "alice@example.org"},
    {"\"Doe, Jane\" <jane@example.org>", MW_MAILBOX_OK, "jane@example.org"},
    {"\"a@b <c@d>; e\" <jane@example.org>", MW_MAILBOX_OK,
     "jane@example.org"},
    {"J. R. Doe <jrd@example.org>", MW_MAILBOX_OK, "jrd@example.org"},
    {"\"quoted,local\"@example.org", MW_MAILBOX_OK,
     "\"quoted,local\"@example.org"},
    {"user+tag@[127.0.0.1]", MW_MAILBOX_OK, "user+tag@[127.0.0.1]"},
    {"u@[IPv6:::1]", MW_MAILBOX_OK, "u@[IPv6:::1]"},
    {"J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc"
     "cher.example>",
     MW_MAILBOX_OK, "j\xc3\xb6rg@b\xc3\xbc"
                    "cher.example"},
    /* more than one: lists, stray separators, groups, two addresses */
    {"b@x.org,evil@y.org", MW_MAILBOX_SEVERAL, NULL},
    {"b@x.org, evil@y.org", MW_MAILBOX_SEVERAL, NULL},
    {"b@x.org;evil@y.org", MW_MAILBOX_SEVERAL, NULL},
    {"b@x.org,", MW_MAILBOX_SEVERAL, NULL},
    {",b@x.org", MW_MAILBOX_SEVERAL, NULL},
    {"Doe, Jane <jane@example.org>", MW_MAILBOX_SEVERAL, NULL},
    {"x <a@x.org> <c@x.org>", MW_MAILBOX_SEVERAL, NULL},
    {"x <a@x.org>, <c@x.org>", MW_MAILBOX_SEVERAL, NULL},
    {"x <a@x.org> c@x.org", MW_MAILBOX_SEVERAL, NULL},
    {"a@x.org <c@x.org>", MW_MAILBOX_SEVERAL, NULL},
    {"a@x.org c@x.org", MW_MAILBOX_SEVERAL, NULL},
    {"team: a@x.org, b@y.org;", MW_MAILBOX_SEVERAL, NULL},
    {"undisclosed-recipients:;", MW_MAILBOX_SEVERAL, NULL},
    {"team:a@x.org", MW_MAILBOX_SEVERAL, NULL},
    {"<@relay.org:a@x.org>", MW_MAILBOX_SEVERAL, NULL},
    /* not a mailbox */
    {"", MW_MAILBOX_INVALID, NULL},
    {"   ", MW_MAILBOX_INVALID, NULL},
    {"nobody", MW_MAILBOX_INVALID, NULL},
    {"a@", MW_MAILBOX_INVALID, NULL},
    {"@x.org", MW_MAILBOX_INVALID, NULL},
    {"a@x@y.org", MW_MAILBOX_INVALID, NULL},
    {"a b@x.org", MW_MAILBOX_INVALID, NULL},
    {"Alice <alice@example.org", MW_MAILBOX_INVALID, NULL},
    {"Alice alice@example.org>", MW_MAILBOX_INVALID, NULL},
    {"Alice <alice@example.org> (work)", MW_MAILBOX_INVALID, NULL},
    {"a@x.org (Alice)", MW_MAILBOX_INVALID, NULL},
    {"\"unterminated <a@x.org>", MW_MAILBOX_INVALID, NULL},
    {"a@x.org\r\nBcc: evil@y.org", MW_MAILBOX_INVALID, NULL},
    {"a@x.org\x01", MW_MAILBOX_INVALID, NULL},
    {"a@exa mple.org", MW_MAILBOX_INVALID, NULL},
    {"a@x.org>", MW_MAILBOX_INVALID, NULL},
    {"<>", MW_MAILBOX_INVALID, NULL},
    {"a@[1.2.3.4", MW_MAILBOX_INVALID, NULL},
    /* dot-atoms a mail reader would read as another address */
    {"a@x.org.", MW_MAILBOX_INVALID, NULL},
    {"a@.x.org", MW_MAILBOX_INVALID, NULL},
    {"a@x..org", MW_MAILBOX_INVALID, NULL},
    {".a@x.org", MW_MAILBOX_INVALID, NULL},
    {"a.@x.org", MW_MAILBOX_INVALID, NULL},
    {"a..b@x.org", MW_MAILBOX_INVALID, NULL},
    {"\"a..b\"@x.org", MW_MAILBOX_OK, "\"a..b\"@x.org"},
    {".J. Doe <j@x.org>", MW_MAILBOX_INVALID, NULL},
    {"\".J. Doe\" <j@x.org>", MW_MAILBOX_OK, "j@x.org"},
};

static void verdicts_and_addresses(void **state)
{
  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char addr[400] = "unchanged";
    const char *why = "unset";
    mw_mailbox_verdict v =
        mw_mailbox_check(cases[i].text, addr, sizeof(addr), &why);
    if(v != cases[i].want)
      fail_msg("case %zu '%s': verdict %d, want %d (%s)", i, cases[i].text,
               (int)v, (int)cases[i].want, why ? why : "");
    if(v == MW_MAILBOX_OK) {
      assert_null(why);
      assert_string_equal(addr, cases[i].addr);
      /* The address alone is a valid envelope address. */
      assert_null(mw__address_problem(addr, false));
    }
    else {
      assert_non_null(why);
      assert_true(why[0] != '\0');
      assert_string_equal(addr, "");
    }
    /* addr and why may be NULL. */
    assert_int_equal(mw_mailbox_check(cases[i].text, NULL, 0, NULL), v);
  }
  assert_int_equal(mw_mailbox_check(NULL, NULL, 0, NULL),
                   MW_MAILBOX_INVALID);
  char small[4];
  assert_int_equal(mw_mailbox_check("alice@example.org", small,
                                    sizeof(small), NULL),
                   MW_MAILBOX_INVALID);
}

/* The envelope takes one bare address: never a list or a group. */
static void envelope_refuses_several(void **state)
{
  (void)state;
  mw_envelope *e = mw_envelope_new();
  assert_non_null(e);
  static const char *const bad[] = {
      "b@x.org,evil@y.org", "b@x.org;evil@y.org", "b@x.org,",
      "team:a@x.org",       "a@x@y.org",          "a(c)@x.org",
      "\"open@x.org",       "a@x.org]",           "a@[1.2.3.4"};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(mw_envelope_add_recipient(e, bad[i]), MW_E_INVALID);
    assert_int_equal(mw_envelope_set_from(e, bad[i]), MW_E_INVALID);
  }
  assert_int_equal(mw_envelope_recipient_count(e), 0);
  assert_int_equal(mw_envelope_add_recipient(e, "\"a,b\"@x.org"), MW_OK);
  assert_int_equal(mw_envelope_add_recipient(e, "u@[IPv6:::1]"), MW_OK);
  assert_int_equal(mw_envelope_set_from(e, ""), MW_OK);
  assert_int_equal(mw_envelope_recipient_count(e), 2);
  mw_envelope_free(e);
}

/* The composer refuses a second mailbox in From, To or Cc with
 * MW_E_INVALID and a reason; one mailbox renders as exactly one. */
static void composer_takes_one_mailbox_per_call(void **state)
{
  (void)state;
  mw_compose *c = mw_compose_new();
  assert_non_null(c);
  assert_int_equal(mw_compose_set_from(c, "x <a@x.org> <c@x.org>"),
                   MW_E_INVALID);
  assert_non_null(strstr(mw_compose_error_message(c), "more than one"));
  assert_int_equal(mw_compose_add_to(c, "b@x.org,evil@y.org"), MW_E_INVALID);
  assert_non_null(strstr(mw_compose_error_message(c), "list"));
  assert_int_equal(mw_compose_add_cc(c, "team: a@x.org, b@y.org;"),
                   MW_E_INVALID);
  assert_non_null(strstr(mw_compose_error_message(c), "group"));
  assert_int_equal(mw_compose_add_to(c, "nobody"), MW_E_INVALID);
  /* Line breaks stay MW_E_MESSAGE (header injection, checked first). */
  assert_int_equal(mw_compose_add_to(c, "a@x.org\r\nBcc: e@y.org"),
                   MW_E_MESSAGE);
  assert_int_equal(mw_compose_set_from(c, "Alice <alice@example.org>"),
                   MW_OK);
  assert_int_equal(mw_compose_add_to(c, "\"Doe, Jane\" <jane@example.org>"),
                   MW_OK);
  assert_int_equal(mw_compose_set_body(c, "hi\n", 3), MW_OK);
  char *msg = NULL;
  size_t len = 0;
  assert_int_equal(mw_compose_render(c, &msg, &len), MW_OK);
  const char *to = strstr(msg, "\r\nTo: ");
  assert_non_null(to);
  const char *eol = strstr(to + 2, "\r\n");
  /* One mailbox: the quoted comma is the name's, not a separator. */
  assert_non_null(strstr(to, "jane@example.org"));
  assert_true(strstr(to, "jane@example.org") < eol);
  assert_null(strstr(msg, "evil"));
  mw_free(msg);
  mw_compose_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(verdicts_and_addresses),
      cmocka_unit_test(envelope_refuses_several),
      cmocka_unit_test(composer_takes_one_mailbox_per_call),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
