/* Unit tests: core/scrub.c, the list of a session's secrets and the cut
 * applied to every server line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/scrub.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* Scrubs text (len bytes) with keep, returns the result (static). */
static const char *scrub(const struct mw__scrub *sc, const char *text,
                         size_t len, size_t keep, int *found)
{
  static char out[4096];
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  assert_true(mw__sbuf_append(&b, text, len));
  *found = mw__scrub_line(sc, &b, keep);
  assert_true(b.len < sizeof(out));
  memcpy(out, b.data, b.len + 1);
  mw__sbuf_free(&b);
  return out;
}

static void base64_vectors(void **state)
{
  (void)state;
  /* RFC 4648 section 10. */
  static const char *const v[][2] = {{"", ""},         {"f", "Zg=="},
                                     {"fo", "Zm8="},   {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="},
                                     {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};
  for(size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    char *e = mw__scrub_base64(v[i][0], strlen(v[i][0]));
    assert_non_null(e);
    assert_string_equal(e, v[i][1]);
    mw__free(e);
  }
}

static void password_raw_and_base64(void **state)
{
  (void)state;
  struct mw__scrub sc;
  mw__scrub_init(&sc);
  assert_true(mw__scrub_add_secret(&sc, "hunter2-secret"));
  int n = 0;
  const char *line = "535 5.7.8 bad password hunter2-secret, "
                     "aHVudGVyMi1zZWNyZXQ= refused";
  const char *got = scrub(&sc, line, strlen(line), 4, &n);
  assert_int_equal(n, 2);
  assert_string_equal(got, "535 5.7.8 bad password <redacted>, <redacted> "
                           "refused");
  mw__scrub_free(&sc);
  assert_int_equal(sc.count, 0);
}

/* The password inside PLAIN's payload: its base64 depends on what comes
 * before it; every user-name length (every alignment) must be caught,
 * without the payload itself being listed. */
static void password_inside_a_larger_base64_payload(void **state)
{
  (void)state;
  struct mw__scrub sc;
  mw__scrub_init(&sc);
  const char *pw = "Fake-pw-7731-Secret";
  assert_true(mw__scrub_add_secret(&sc, pw));
  for(int ulen = 1; ulen <= 6; ulen++) {
    char plain[64];
    size_t len = 0;
    plain[len++] = '\0';
    for(int i = 0; i < ulen; i++)
      plain[len++] = 'u';
    plain[len++] = '\0';
    memcpy(plain + len, pw, strlen(pw));
    len += strlen(pw);
    char *payload = mw__scrub_base64(plain, len);
    assert_non_null(payload);
    char line[200];
    snprintf(line, sizeof(line), "535 5.7.8 you sent %s", payload);
    int n = 0;
    const char *got = scrub(&sc, line, strlen(line), 4, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(got, "<redacted>"));
    assert_null(strstr(got, payload));
    /* At most the one or two characters that mix in the neighbouring
     * bytes survive around the cut. */
    const char *tail = strstr(got, "<redacted>") + strlen("<redacted>");
    assert_true(strlen(tail) <= 4);
    mw__free(payload);
  }
  mw__scrub_free(&sc);
}

static void payloads_and_longest_match(void **state)
{
  (void)state;
  struct mw__scrub sc;
  mw__scrub_init(&sc);
  /* Too short to be a secret: never listed ("=" is the empty response). */
  assert_true(mw__scrub_add_payload(&sc, "=", 1));
  assert_true(mw__scrub_add_payload(&sc, "dQ==", 4));
  assert_int_equal(sc.count, 0);
  assert_true(mw__scrub_add_payload(&sc, "AHUAcGFzc3dvcmQ=", 16));
  assert_true(mw__scrub_add_payload(&sc, "AHUAcGFzc3dvcmQ=", 16));
  assert_int_equal(sc.count, 1); /* duplicates are kept once */
  assert_true(mw__scrub_add_payload(&sc, "AHUAcGFz", 8));
  int n = 0;
  const char *line = "535 =AHUAcGFzc3dvcmQ=AHUAcGFz=";
  const char *got = scrub(&sc, line, strlen(line), 4, &n);
  assert_int_equal(n, 2);
  assert_string_equal(got, "535 =<redacted><redacted>=");
  mw__scrub_free(&sc);
}

static void nothing_listed_or_nothing_found(void **state)
{
  (void)state;
  struct mw__scrub sc;
  mw__scrub_init(&sc);
  int n = -2;
  const char *line = "250 2.0.0 Ok: queued as ABC";
  assert_string_equal(scrub(&sc, line, strlen(line), 4, &n), line);
  assert_int_equal(n, 0);
  assert_true(mw__scrub_add_secret(&sc, "correct horse"));
  assert_true(mw__scrub_add_secret(&sc, NULL));
  assert_true(mw__scrub_add_secret(&sc, ""));
  assert_string_equal(scrub(&sc, line, strlen(line), 4, &n), line);
  assert_int_equal(n, 0);
  mw__scrub_free(&sc);
}

/* The reply code is never cut, even when the secret starts with it. */
static void the_reply_code_stays(void **state)
{
  (void)state;
  struct mw__scrub sc;
  mw__scrub_init(&sc);
  assert_true(mw__scrub_add_secret(&sc, "535 5.7.8"));
  assert_true(mw__scrub_add_secret(&sc, "535"));
  int n = 0;
  const char *line = "535 5.7.8 no";
  assert_string_equal(scrub(&sc, line, strlen(line), 4, &n),
                      "535 <redacted> no");
  assert_int_equal(n, 1);
  mw__scrub_free(&sc);
}

/* Bytes a decoded payload carries (NUL, \1) do not stop the match. */
static void binary_lines(void **state)
{
  (void)state;
  struct mw__scrub sc;
  mw__scrub_init(&sc);
  assert_true(mw__scrub_add_secret(&sc, "tok-7731-abc"));
  static const char line[] = "535 [user=u\001auth=Bearer tok-7731-abc\001\001]";
  int n = 0;
  const char *got = scrub(&sc, line, sizeof(line) - 1, 4, &n);
  assert_int_equal(n, 1);
  assert_memory_equal(got, "535 [user=u\001auth=Bearer <redacted>\001\001]",
                      sizeof("535 [user=u\001auth=Bearer <redacted>\001\001]"));
  mw__scrub_free(&sc);
}

/* A short password is cut where it stands alone, never inside a longer
 * word or a base64 run (a SCRAM challenge must reach SASL intact). */
static void short_secrets_only_as_words(void **state)
{
  (void)state;
  struct mw__scrub sc;
  mw__scrub_init(&sc);
  assert_true(mw__scrub_add_secret(&sc, "abc"));
  int n = 0;
  const char *challenge = "334 cj1yT2ZhYmNkZWZnYWJjWVdKangK";
  assert_string_equal(scrub(&sc, challenge, strlen(challenge), 4, &n),
                      challenge);
  assert_int_equal(n, 0);
  const char *echo = "535 5.7.8 [ user abc] YWJj rejected";
  assert_string_equal(scrub(&sc, echo, strlen(echo), 4, &n),
                      "535 5.7.8 [ user <redacted>] <redacted> rejected");
  assert_int_equal(n, 2);
  /* A NUL before it is a boundary too (a decoded PLAIN payload). */
  static const char nul[] = "535 x\0u\0abc";
  const char *got = scrub(&sc, nul, sizeof(nul) - 1, 4, &n);
  assert_int_equal(n, 1);
  assert_memory_equal(got, "535 x\0u\0<redacted>", 18);
  mw__scrub_free(&sc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(base64_vectors),
      cmocka_unit_test(password_raw_and_base64),
      cmocka_unit_test(password_inside_a_larger_base64_payload),
      cmocka_unit_test(payloads_and_longest_match),
      cmocka_unit_test(nothing_listed_or_nothing_found),
      cmocka_unit_test(the_reply_code_stays),
      cmocka_unit_test(binary_lines),
      cmocka_unit_test(short_secrets_only_as_words),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
