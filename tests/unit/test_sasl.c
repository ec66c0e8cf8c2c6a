/* Unit tests: proto/sasl.c, mechanism choice and the client side of each
 * exchange (GNU SASL glue, the OAuth formats and EXTERNAL). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "core/util.h"
#include "proto/sasl.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static int setup(void **state)
{
  (void)state;
  return mw_global_init() == MW_OK ? 0 : -1;
}

static size_t b64_decode(const char *in, unsigned char *out)
{
  int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)strlen(in));
  size_t len = n > 0 ? (size_t)n : 0;
  size_t inlen = strlen(in);
  if(inlen >= 1 && in[inlen - 1] == '=')
    len--;
  if(inlen >= 2 && in[inlen - 2] == '=')
    len--;
  return len;
}

static void b64_encode(const char *in, char *out)
{
  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
                  (int)strlen(in));
}

static void choose_strongest_common(void **state)
{
  (void)state;
  assert_string_equal(mw__sasl_choose("PLAIN LOGIN SCRAM-SHA-256 CRAM-MD5",
                                      NULL, true, false),
                      "SCRAM-SHA-256");
  assert_string_equal(mw__sasl_choose("PLAIN LOGIN", NULL, true, false),
                      "PLAIN");
  assert_string_equal(mw__sasl_choose("login", NULL, true, false), "LOGIN");
  /* The user's restriction wins over strength. */
  assert_string_equal(mw__sasl_choose("PLAIN SCRAM-SHA-256", "PLAIN", true,
                                      false),
                      "PLAIN");
  assert_null(mw__sasl_choose("PLAIN LOGIN", "CRAM-MD5", true, false));
  /* Token mechanisms need a token; password ones a password. */
  assert_null(mw__sasl_choose("XOAUTH2", NULL, true, false));
  assert_string_equal(mw__sasl_choose("PLAIN XOAUTH2 OAUTHBEARER", NULL,
                                      false, true),
                      "OAUTHBEARER");
  assert_null(mw__sasl_choose("", NULL, true, true));
  assert_null(mw__sasl_choose("GSSAPI NTLM", NULL, true, false));
}

static void choose_external_only_with_a_certificate(void **state)
{
  (void)state;
  /* Without a certificate EXTERNAL is never chosen, even when allowed. */
  assert_string_equal(mw__sasl_choose("EXTERNAL PLAIN", NULL, true, false),
                      "PLAIN");
  assert_null(mw__sasl_choose("EXTERNAL", NULL, true, true));
  assert_null(mw__sasl_choose_cert("EXTERNAL", "EXTERNAL", true, true,
                                   false));
  /* With one it is the strongest, with or without other credentials. */
  assert_string_equal(mw__sasl_choose_cert("PLAIN SCRAM-SHA-256 external",
                                           NULL, true, false, true),
                      "EXTERNAL");
  assert_string_equal(mw__sasl_choose_cert("EXTERNAL", NULL, false, false,
                                           true),
                      "EXTERNAL");
  /* Not offered: the others as before; nothing without other credentials. */
  assert_string_equal(mw__sasl_choose_cert("PLAIN LOGIN", NULL, true, false,
                                           true),
                      "PLAIN");
  assert_null(mw__sasl_choose_cert("PLAIN LOGIN", NULL, false, false, true));
  /* The user's list still rules. */
  assert_string_equal(mw__sasl_choose_cert("EXTERNAL PLAIN", "PLAIN", true,
                                           false, true),
                      "PLAIN");
  assert_true(mw__sasl_list_has("PLAIN external", "EXTERNAL"));
  assert_false(mw__sasl_list_has("PLAIN EXTERNALX", "EXTERNAL"));
  assert_false(mw__sasl_list_has(NULL, "EXTERNAL"));
  /* The supported list names it first. */
  assert_memory_equal(mw_auth_supported_mechanisms(), "EXTERNAL ", 9);
}

static void normalise_list(void **state)
{
  (void)state;
  char *out = NULL;
  assert_int_equal(mw__sasl_normalise_list("plain, scram-sha-256", &out),
                   MW_OK);
  assert_string_equal(out, "PLAIN SCRAM-SHA-256");
  mw__free(out);
  assert_int_equal(mw__sasl_normalise_list("PLAIN,NTLM", &out),
                   MW_E_INVALID);
  assert_int_equal(mw__sasl_normalise_list(" , ", &out), MW_E_INVALID);
  assert_int_equal(mw__sasl_normalise_list("", &out), MW_E_INVALID);
  assert_int_equal(mw__sasl_normalise_list("external,Plain", &out), MW_OK);
  assert_string_equal(out, "EXTERNAL PLAIN");
  mw__free(out);
}

static void external_empty_authzid(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  assert_true(mw__sasl_client_first("EXTERNAL"));
  assert_int_equal(mw__sasl_start("EXTERNAL", NULL, NULL, NULL, "h", &s,
                                  &err),
                   MW_OK);
  char *resp = NULL;
  /* An empty message: the client sends "AUTH EXTERNAL =" (RFC 4954). */
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  assert_string_equal(resp, "");
  assert_true(mw__sasl_finished(s));
  mw__free_secret(resp);
  /* A further 334 gets an empty answer, not a crash or a repeat. */
  assert_int_equal(mw__sasl_step(s, "", &resp, &err), MW_OK);
  assert_string_equal(resp, "");
  mw__free_secret(resp);
  mw__sasl_free(s);
  /* "" as the user is the same as none. */
  assert_int_equal(mw__sasl_start("EXTERNAL", "", "ignored", NULL, "h", &s,
                                  &err),
                   MW_OK);
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  assert_string_equal(resp, "");
  mw__free_secret(resp);
  mw__sasl_free(s);
}

static void external_with_authzid(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  /* The password is not part of EXTERNAL: it must not be sent. */
  assert_int_equal(mw__sasl_start("EXTERNAL", "alice@example.org", "s3cret",
                                  "tok", "h", &s, &err),
                   MW_OK);
  char *resp = NULL;
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  assert_string_equal(resp, "YWxpY2VAZXhhbXBsZS5vcmc="); /* the authzid */
  unsigned char raw[64];
  size_t n = b64_decode(resp, raw);
  assert_int_equal(n, strlen("alice@example.org"));
  assert_memory_equal(raw, "alice@example.org", n);
  assert_true(mw__sasl_finished(s));
  mw__free_secret(resp);
  mw__sasl_free(s);
}

static void plain_initial_response(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  assert_int_equal(mw__sasl_start("PLAIN", "alice", "s3cret", NULL, "h",
                                  &s, &err),
                   MW_OK);
  assert_true(mw__sasl_client_first("PLAIN"));
  char *resp = NULL;
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  unsigned char raw[64];
  size_t n = b64_decode(resp, raw);
  assert_int_equal(n, 13);
  assert_memory_equal(raw, "\0alice\0s3cret", 13);
  mw__free_secret(resp);
  mw__sasl_free(s);
}

static void cram_md5_rfc2195_example(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  assert_false(mw__sasl_client_first("CRAM-MD5"));
  assert_int_equal(mw__sasl_start("CRAM-MD5", "tim", "tanstaaftanstaaf",
                                  NULL, "h", &s, &err),
                   MW_OK);
  char challenge[128];
  b64_encode("<1896.697170952@postoffice.reston.mci.net>", challenge);
  char *resp = NULL;
  assert_int_equal(mw__sasl_step(s, challenge, &resp, &err), MW_OK);
  unsigned char raw[128];
  size_t n = b64_decode(resp, raw);
  raw[n] = '\0';
  assert_string_equal((char *)raw, "tim b913a602c7eda7a495b4e6e7334d3890");
  mw__free_secret(resp);
  mw__sasl_free(s);
}

static void login_answers_two_prompts(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  assert_int_equal(mw__sasl_start("LOGIN", "bob", "pw", NULL, "h", &s, &err),
                   MW_OK);
  char *resp = NULL;
  assert_int_equal(mw__sasl_step(s, "VXNlcm5hbWU6", &resp, &err), MW_OK);
  assert_string_equal(resp, "Ym9i"); /* bob */
  mw__free_secret(resp);
  assert_int_equal(mw__sasl_step(s, "UGFzc3dvcmQ6", &resp, &err), MW_OK);
  assert_string_equal(resp, "cHc="); /* pw */
  mw__free_secret(resp);
  mw__sasl_free(s);
}

static void scram_first_message_and_bad_challenge(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  assert_int_equal(mw__sasl_start("SCRAM-SHA-256", "user", "pencil", NULL,
                                  "h", &s, &err),
                   MW_OK);
  char *resp = NULL;
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  unsigned char raw[256];
  size_t n = b64_decode(resp, raw);
  raw[n] = '\0';
  assert_memory_equal(raw, "n,,n=user,r=", 12);
  mw__free_secret(resp);
  /* A server-first message that is not SCRAM: an auth error, no crash. */
  char bad[64];
  b64_encode("this is not scram", bad);
  assert_int_equal(mw__sasl_step(s, bad, &resp, &err), MW_E_AUTH);
  assert_null(resp);
  mw__sasl_free(s);
  mw__error_clear(&err);
}

static void garbage_base64_challenge(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  assert_int_equal(mw__sasl_start("CRAM-MD5", "u", "p", NULL, "h", &s, &err),
                   MW_OK);
  char *resp = NULL;
  assert_int_equal(mw__sasl_step(s, "!!!not base64!!!", &resp, &err),
                   MW_E_AUTH);
  mw__sasl_free(s);
  mw__error_clear(&err);
}

static void xoauth2_and_oauthbearer_formats(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  char *resp = NULL;
  unsigned char raw[256];
  assert_int_equal(mw__sasl_start("XOAUTH2", "a@b.c", NULL, "tok", "h", &s,
                                  &err),
                   MW_OK);
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  size_t n = b64_decode(resp, raw);
  assert_int_equal(n, strlen("user=a@b.c\001auth=Bearer tok\001\001"));
  assert_memory_equal(raw, "user=a@b.c\001auth=Bearer tok\001\001", n);
  mw__free_secret(resp);
  /* The error challenge is answered with an empty line. */
  assert_int_equal(mw__sasl_step(s, "eyJzdGF0dXMiOiI0MDEifQ==", &resp, &err),
                   MW_OK);
  assert_string_equal(resp, "");
  mw__free_secret(resp);
  mw__sasl_free(s);

  assert_int_equal(mw__sasl_start("OAUTHBEARER", "a@b.c", NULL, "tok",
                                  "mail.example", &s, &err),
                   MW_OK);
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  n = b64_decode(resp, raw);
  const char *want = "n,a=a@b.c,\001host=mail.example\001auth=Bearer "
                     "tok\001\001";
  assert_int_equal(n, strlen(want));
  assert_memory_equal(raw, want, n);
  mw__free_secret(resp);
  assert_int_equal(mw__sasl_step(s, "e30=", &resp, &err), MW_OK);
  assert_string_equal(resp, "AQ==");
  mw__free_secret(resp);
  mw__sasl_free(s);
}

static void oauthbearer_escapes_the_authzid(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  char *resp = NULL;
  unsigned char raw[256];
  assert_int_equal(mw__sasl_start("OAUTHBEARER", "a,b=c@example.org", NULL,
                                  "t", "h", &s, &err),
                   MW_OK);
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  size_t n = b64_decode(resp, raw);
  raw[n] = '\0';
  assert_memory_equal(raw, "n,a=a=2Cb=3Dc@example.org,\001", 27);
  mw__free_secret(resp);
  mw__sasl_free(s);
}

static void scram_iteration_count_is_bounded(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  char *resp = NULL;
  assert_int_equal(mw__sasl_start("SCRAM-SHA-1", "u", "p", NULL, "h", &s,
                                  &err),
                   MW_OK);
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  unsigned char raw[256];
  size_t n = b64_decode(resp, raw);
  raw[n] = '\0';
  const char *nonce = strstr((char *)raw, "r=") + 2;
  char first[256], b64[400];
  snprintf(first, sizeof(first), "r=%sX,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=999999999",
           nonce);
  b64_encode(first, b64);
  mw__free_secret(resp);
  assert_int_equal(mw__sasl_step(s, b64, &resp, &err), MW_E_AUTH);
  assert_non_null(strstr(err.message, "iterations"));
  mw__sasl_free(s);
  mw__error_clear(&err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(choose_strongest_common),
      cmocka_unit_test(choose_external_only_with_a_certificate),
      cmocka_unit_test(normalise_list),
      cmocka_unit_test(external_empty_authzid),
      cmocka_unit_test(external_with_authzid),
      cmocka_unit_test(plain_initial_response),
      cmocka_unit_test(cram_md5_rfc2195_example),
      cmocka_unit_test(login_answers_two_prompts),
      cmocka_unit_test(scram_first_message_and_bad_challenge),
      cmocka_unit_test(garbage_base64_challenge),
      cmocka_unit_test(xoauth2_and_oauthbearer_formats),
      cmocka_unit_test(oauthbearer_escapes_the_authzid),
      cmocka_unit_test(scram_iteration_count_is_bounded),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
