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
#include <openssl/hmac.h>
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

/* ---- the server's proof: mw__sasl_success, the last round in every
 * protocol (SMTP 235 after a last 334; IMAP/POP3 may carry the final data
 * in the success reply itself).  A real SCRAM and DIGEST-MD5 server side
 * is computed here so that the correct proof is the one GNU SASL checks. */

static void b64_encode_raw(const unsigned char *in, size_t len, char *out)
{
  EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* Runs a SCRAM client (user "user", password "pencil") up to the point
 * where the server-final message is due; writes the correct one, base64,
 * to final_b64 (room for 128 bytes). */
static struct mw__sasl *scram_to_final(const char *mech, char *final_b64)
{
  const EVP_MD *md = strcmp(mech, "SCRAM-SHA-1") == 0 ? EVP_sha1()
                                                       : EVP_sha256();
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  assert_int_equal(mw__sasl_start(mech, "user", "pencil", NULL, "h", &s,
                                  &err),
                   MW_OK);
  char *resp = NULL;
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  unsigned char raw[512];
  size_t n = b64_decode(resp, raw);
  raw[n] = '\0';
  mw__free_secret(resp);
  char bare[512];
  snprintf(bare, sizeof(bare), "%s", (char *)raw + 3); /* after "n,," */
  const char *salt_b64 = "QSXCR+Q6sek8bf92";
  char first[640], b64[1024];
  snprintf(first, sizeof(first), "r=%sSERVERNONCE,s=%s,i=4096",
           strstr(bare, "r=") + 2, salt_b64);
  b64_encode(first, b64);
  assert_int_equal(mw__sasl_step(s, b64, &resp, &err), MW_OK);
  assert_false(mw__sasl_finished(s));
  assert_false(mw__sasl_server_verified(s));
  n = b64_decode(resp, raw);
  raw[n] = '\0';
  mw__free_secret(resp);
  char *p = strstr((char *)raw, ",p=");
  assert_non_null(p);
  *p = '\0'; /* client-final-message-without-proof */
  char auth_message[2048];
  snprintf(auth_message, sizeof(auth_message), "%s,%s,%s", bare, first,
           (char *)raw);
  unsigned char salt[32], salted[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE],
      sig[EVP_MAX_MD_SIZE];
  size_t salt_len = b64_decode(salt_b64, salt);
  int hlen = EVP_MD_get_size(md);
  assert_int_equal(PKCS5_PBKDF2_HMAC("pencil", 6, salt, (int)salt_len, 4096,
                                     md, hlen, salted),
                   1);
  unsigned klen = 0, slen = 0;
  assert_non_null(HMAC(md, salted, hlen, (const unsigned char *)"Server Key",
                       10, key, &klen));
  assert_non_null(HMAC(md, key, (int)klen,
                       (const unsigned char *)auth_message,
                       strlen(auth_message), sig, &slen));
  char sig_b64[128], final[160];
  b64_encode_raw(sig, slen, sig_b64);
  snprintf(final, sizeof(final), "v=%s", sig_b64);
  b64_encode(final, final_b64);
  mw__error_clear(&err);
  return s;
}

static void scram_proof_as_last_challenge(void **state)
{
  (void)state;
  const char *mechs[] = {"SCRAM-SHA-1", "SCRAM-SHA-256"};
  for(size_t i = 0; i < 2; i++) {
    char final[256];
    struct mw__sasl *s = scram_to_final(mechs[i], final);
    struct mw_error err = {0};
    char *resp = NULL;
    assert_true(mw__sasl_mutual(s));
    /* SMTP's form (RFC 4954): a last 334, answered with an empty line,
     * then 235 without data. */
    assert_int_equal(mw__sasl_step(s, final, &resp, &err), MW_OK);
    assert_string_equal(resp, "");
    mw__free_secret(resp);
    assert_true(mw__sasl_server_verified(s));
    assert_true(mw__sasl_finished(s));
    assert_int_equal(mw__sasl_success(s, NULL, &err), MW_OK);
    /* Nothing more is expected: data after the proof is a violation. */
    assert_int_equal(mw__sasl_success(s, final, &err), MW_E_PROTOCOL);
    mw__sasl_free(s);
    mw__error_clear(&err);
  }
}

static void scram_proof_with_the_success_reply(void **state)
{
  (void)state;
  const char *mechs[] = {"SCRAM-SHA-1", "SCRAM-SHA-256"};
  for(size_t i = 0; i < 2; i++) {
    char final[256];
    struct mw__sasl *s = scram_to_final(mechs[i], final);
    struct mw_error err = {0};
    /* IMAP's and POP3's other form: the server-final as data of the
     * tagged OK / +OK; verified just the same. */
    assert_int_equal(mw__sasl_success(s, final, &err), MW_OK);
    assert_true(mw__sasl_server_verified(s));
    mw__sasl_free(s);
    mw__error_clear(&err);
  }
}

static void scram_success_without_proof_is_unverified(void **state)
{
  (void)state;
  char final[256];
  struct mw_error err = {0};
  /* Success right after the client-final: no proof at all. */
  struct mw__sasl *s = scram_to_final("SCRAM-SHA-256", final);
  assert_int_equal(mw__sasl_success(s, NULL, &err),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  assert_non_null(strstr(err.message, "did not prove its identity"));
  assert_non_null(strstr(err.message, "without sending its final"));
  assert_int_equal(err.category, MW_CAT_AUTH);
  assert_false(err.temporary);
  assert_string_equal(mw_status_name(MW_E_AUTH_SERVER_UNVERIFIED),
                      "MW_E_AUTH_SERVER_UNVERIFIED");
  assert_int_equal(MW_E_AUTH_SERVER_UNVERIFIED, 23); /* never renumbered */
  /* "" is the same as no data. */
  assert_int_equal(mw__sasl_success(s, "", &err),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  assert_false(mw__sasl_server_verified(s));
  mw__sasl_free(s);

  /* Success right after the client-first message. */
  char *resp = NULL;
  assert_int_equal(mw__sasl_start("SCRAM-SHA-1", "user", "pencil", NULL,
                                  "h", &s, &err),
                   MW_OK);
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  mw__free_secret(resp);
  assert_int_equal(mw__sasl_success(s, NULL, &err),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  assert_non_null(strstr(err.message, "before the SCRAM-SHA-1 exchange"));
  /* ... and with data that cannot be the server-final yet. */
  char data[64];
  b64_encode("v=AAAA", data);
  assert_int_equal(mw__sasl_success(s, data, &err),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  mw__sasl_free(s);
  mw__error_clear(&err);
}

static void scram_bad_final_messages_are_unverified(void **state)
{
  (void)state;
  struct {
    const char *raw; /* NULL: use the correct one with a byte changed */
    bool as_success; /* delivered with the success reply, else a 334 */
    mw_status want;
    const char *words;
  } cases[] = {
      {"", false, MW_E_AUTH_SERVER_UNVERIFIED, "was empty"},
      {"x=no signature here", false, MW_E_AUTH_SERVER_UNVERIFIED,
       "carries no server signature"},
      {"x=no signature here", true, MW_E_AUTH_SERVER_UNVERIFIED,
       "carries no server signature"},
      {NULL, false, MW_E_AUTH_SERVER_UNVERIFIED, "does not match"},
      {NULL, true, MW_E_AUTH_SERVER_UNVERIFIED, "does not match"},
      {"v=", false, MW_E_AUTH_SERVER_UNVERIFIED, "does not match"},
      {"e=invalid-proof", false, MW_E_AUTH, "e=invalid-proof"},
      {"e=invalid-proof", true, MW_E_AUTH, "e=invalid-proof"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char final[256], data[256];
    struct mw__sasl *s = scram_to_final("SCRAM-SHA-256", final);
    struct mw_error err = {0};
    if(cases[i].raw) {
      b64_encode(cases[i].raw, data);
    }
    else {
      unsigned char raw[128];
      size_t n = b64_decode(final, raw);
      raw[n] = '\0';
      raw[3] = raw[3] == 'A' ? 'B' : 'A'; /* inside the signature */
      b64_encode((char *)raw, data);
    }
    char *resp = NULL;
    mw_status st;
    if(cases[i].as_success) {
      st = mw__sasl_success(s, data, &err);
    }
    else {
      st = mw__sasl_step(s, data, &resp, &err);
      assert_null(resp);
    }
    assert_int_equal(st, cases[i].want);
    assert_non_null(strstr(err.message, cases[i].words));
    assert_false(mw__sasl_server_verified(s));
    /* Whatever follows, success is never granted. */
    assert_int_not_equal(mw__sasl_success(s, NULL, &err), MW_OK);
    mw__sasl_free(s);
    mw__error_clear(&err);
  }
}

/* key="value" or key=value from a DIGEST-MD5 list. */
static void digest_attr(const char *list, const char *key, char *out,
                        size_t outlen)
{
  size_t kl = strlen(key);
  const char *p = list;
  out[0] = '\0';
  while(*p) {
    if((p == list || p[-1] == ',' || p[-1] == ' ') &&
       strncmp(p, key, kl) == 0 &&
       p[kl] == '=') {
      p += kl + 1;
      char end = ',';
      if(*p == '"') {
        end = '"';
        p++;
      }
      size_t n = 0;
      while(p[n] && p[n] != end && n + 1 < outlen)
        n++;
      memcpy(out, p, n);
      out[n] = '\0';
      return;
    }
    p++;
  }
}

static void md5_hex(const void *in, size_t len, char out[33])
{
  unsigned char d[16];
  unsigned dl = 0;
  assert_int_equal(EVP_Digest(in, len, d, &dl, EVP_md5(), NULL), 1);
  for(unsigned i = 0; i < 16; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Runs a DIGEST-MD5 client (user "user", password "pencil") up to the
 * rspauth; writes the correct "rspauth=..." message, base64, to out. */
static struct mw__sasl *digest_to_final(char *out)
{
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  assert_int_equal(mw__sasl_start("DIGEST-MD5", "user", "pencil", NULL, "h",
                                  &s, &err),
                   MW_OK);
  const char *nonce = "OA6MG9tEQGm2hh";
  char b64[512], *resp = NULL;
  b64_encode("realm=\"h\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\","
             "charset=utf-8,algorithm=md5-sess",
             b64);
  assert_int_equal(mw__sasl_step(s, b64, &resp, &err), MW_OK);
  assert_false(mw__sasl_server_verified(s));
  unsigned char raw[1024];
  size_t n = b64_decode(resp, raw);
  raw[n] = '\0';
  mw__free_secret(resp);
  char user[64], realm[64], cnonce[128], nc[16], qop[16], uri[128];
  digest_attr((char *)raw, "username", user, sizeof(user));
  digest_attr((char *)raw, "realm", realm, sizeof(realm));
  digest_attr((char *)raw, "cnonce", cnonce, sizeof(cnonce));
  digest_attr((char *)raw, "nc", nc, sizeof(nc));
  digest_attr((char *)raw, "qop", qop, sizeof(qop));
  digest_attr((char *)raw, "digest-uri", uri, sizeof(uri));
  assert_string_equal(user, "user");
  /* RFC 2831 2.1.2.1: A1 = H(user:realm:pw) ":" nonce ":" cnonce. */
  char upr[256];
  int ul = snprintf(upr, sizeof(upr), "%s:%s:pencil", user, realm);
  unsigned char a1[256];
  unsigned dl = 0;
  assert_int_equal(EVP_Digest(upr, (size_t)ul, a1, &dl, EVP_md5(), NULL), 1);
  int a1l = 16 + snprintf((char *)a1 + 16, sizeof(a1) - 16, ":%s:%s", nonce,
                          cnonce);
  char ha1[33], ha2[33], kd[512], rsp[33], a2[160];
  md5_hex(a1, (size_t)a1l, ha1);
  int a2l = snprintf(a2, sizeof(a2), ":%s", uri); /* rspauth's A2 */
  md5_hex(a2, (size_t)a2l, ha2);
  int kl = snprintf(kd, sizeof(kd), "%s:%s:%s:%s:%s:%s", ha1, nonce, nc,
                    cnonce, qop, ha2);
  md5_hex(kd, (size_t)kl, rsp);
  char final[64];
  snprintf(final, sizeof(final), "rspauth=%s", rsp);
  b64_encode(final, out);
  mw__error_clear(&err);
  return s;
}

static void digest_md5_rspauth(void **state)
{
  (void)state;
  char final[128], data[128];
  struct mw_error err = {0};
  char *resp = NULL;
  /* As a last challenge (SMTP) ... */
  struct mw__sasl *s = digest_to_final(final);
  assert_true(mw__sasl_mutual(s));
  assert_int_equal(mw__sasl_step(s, final, &resp, &err), MW_OK);
  assert_string_equal(resp, "");
  mw__free_secret(resp);
  assert_true(mw__sasl_server_verified(s));
  assert_int_equal(mw__sasl_success(s, NULL, &err), MW_OK);
  mw__sasl_free(s);
  /* ... or with the success reply (IMAP, POP3). */
  s = digest_to_final(final);
  assert_int_equal(mw__sasl_success(s, final, &err), MW_OK);
  assert_true(mw__sasl_server_verified(s));
  mw__sasl_free(s);
  /* Missing: success right after the digest-response. */
  s = digest_to_final(final);
  assert_int_equal(mw__sasl_success(s, NULL, &err),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  assert_non_null(strstr(err.message, "rspauth"));
  mw__sasl_free(s);
  /* Empty, or without rspauth. */
  s = digest_to_final(final);
  assert_int_equal(mw__sasl_step(s, "", &resp, &err),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  assert_non_null(strstr(err.message, "was empty"));
  mw__sasl_free(s);
  s = digest_to_final(final);
  b64_encode("qop=\"auth\"", data);
  assert_int_equal(mw__sasl_success(s, data, &err),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  assert_non_null(strstr(err.message, "carries no rspauth"));
  mw__sasl_free(s);
  /* Wrong. */
  s = digest_to_final(final);
  b64_encode("rspauth=00000000000000000000000000000000", data);
  assert_int_equal(mw__sasl_step(s, data, &resp, &err),
                   MW_E_AUTH_SERVER_UNVERIFIED);
  assert_non_null(strstr(err.message, "does not match"));
  assert_int_not_equal(mw__sasl_success(s, NULL, &err), MW_OK);
  mw__sasl_free(s);
  mw__error_clear(&err);
}

static void mechanisms_without_a_server_proof(void **state)
{
  (void)state;
  struct mw_error err = {0};
  struct mw__sasl *s = NULL;
  char *resp = NULL;
  assert_int_equal(mw__sasl_start("PLAIN", "u", "p", NULL, "h", &s, &err),
                   MW_OK);
  assert_false(mw__sasl_mutual(s));
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  mw__free_secret(resp);
  assert_int_equal(mw__sasl_success(s, NULL, &err), MW_OK);
  /* Data with success that PLAIN cannot use: a protocol violation. */
  assert_int_equal(mw__sasl_success(s, "Zm9v", &err), MW_E_PROTOCOL);
  mw__sasl_free(s);
  assert_int_equal(mw__sasl_start("XOAUTH2", "u", NULL, "tok", "h", &s,
                                  &err),
                   MW_OK);
  assert_false(mw__sasl_mutual(s));
  assert_int_equal(mw__sasl_step(s, NULL, &resp, &err), MW_OK);
  mw__free_secret(resp);
  assert_int_equal(mw__sasl_success(s, NULL, &err), MW_OK);
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
      cmocka_unit_test(scram_proof_as_last_challenge),
      cmocka_unit_test(scram_proof_with_the_success_reply),
      cmocka_unit_test(scram_success_without_proof_is_unverified),
      cmocka_unit_test(scram_bad_final_messages_are_unverified),
      cmocka_unit_test(digest_md5_rspauth),
      cmocka_unit_test(mechanisms_without_a_server_proof),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
