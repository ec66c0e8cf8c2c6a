/* Unit tests: src/profile.c - msmtprc-syntax profiles: msmtp's own
 * documentation example, inheritance, errors with FILE:LINE, no line
 * length limit, and the words given to the option parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "profile.h"

#include <stdlib.h>
#include <string.h>

/* The example of msmtp's documentation (msmtp.1, "EXAMPLES"). */
static const char msmtp_example[] =
    "# Set default values for all following accounts.\n"
    "defaults\n"
    "auth           on\n"
    "tls            on\n"
    "tls_trust_file /etc/ssl/certs/ca-certificates.crt\n"
    "logfile        ~/.msmtp.log\n"
    "\n"
    "# Gmail\n"
    "account        gmail\n"
    "host           smtp.gmail.com\n"
    "port           587\n"
    "from           username@gmail.com\n"
    "user           username\n"
    "password       plain-text-password\n"
    "\n"
    "# A freemail service\n"
    "account        freemail\n"
    "host           smtp.freemail.example\n"
    "from           joe_smith@freemail.example\n"
    "user           joe.smith\n"
    "passwordeval   gpg --no-tty -q -d ~/.msmtp-password.gpg\n"
    "\n"
    "# A second mail address at the same freemail service\n"
    "account        freemail2 : freemail\n"
    "from           joey@freemail.example\n"
    "\n"
    "# The SMTP server of your ISP\n"
    "account        isp\n"
    "host           mail.isp.example\n"
    "from           smithjoe@isp.example\n"
    "auth           login\n"
    "user           212lalala\n"
    "\n"
    "# Set a default account\n"
    "account default : gmail\n";

static char *joined(char **w, int n)
{
  size_t len = 1;
  for(int i = 0; i < n; i++)
    len += strlen(w[i]) + 1;
  char *s = calloc(1, len);
  for(int i = 0; i < n; i++) {
    strcat(s, w[i]);
    if(i + 1 < n)
      strcat(s, " ");
  }
  return s;
}

static void check(const char *account, const char *want_words)
{
  struct profile p;
  char err[512];
  assert_int_equal(profile_parse(msmtp_example, sizeof(msmtp_example) - 1,
                                 "msmtprc", account, &p, err, sizeof(err)),
                   0);
  char **w = NULL;
  int n = 0;
  assert_int_equal(profile_to_words(&p, &w, &n, err, sizeof(err)), 0);
  char *s = joined(w, n);
  assert_string_equal(s, want_words);
  free(s);
  profile_words_free(w, n);
  profile_free(&p);
}

static void msmtp_documentation_example(void **state)
{
  (void)state;
  check(NULL, "--tls starttls --tls-ca-file "
              "/etc/ssl/certs/ca-certificates.crt --server "
              "smtp.gmail.com:587 --from username@gmail.com --user username "
              "--password-value plain-text-password");
  check("freemail", "--tls starttls --tls-ca-file "
                    "/etc/ssl/certs/ca-certificates.crt --server "
                    "smtp.freemail.example --from joe_smith@freemail.example "
                    "--user joe.smith --password-cmd gpg --no-tty -q -d "
                    "~/.msmtp-password.gpg");
  /* Inherits everything, overrides from. */
  check("freemail2", "--tls starttls --tls-ca-file "
                     "/etc/ssl/certs/ca-certificates.crt --server "
                     "smtp.freemail.example --from joey@freemail.example "
                     "--user joe.smith --password-cmd gpg --no-tty -q -d "
                     "~/.msmtp-password.gpg");
  /* auth replaces the value of defaults, in its place. */
  check("isp", "--auth login --tls starttls --tls-ca-file "
               "/etc/ssl/certs/ca-certificates.crt --server mail.isp.example "
               "--from smithjoe@isp.example --user 212lalala");
}

/* The words of account a in text, or the error. */
static void check_text(const char *text, const char *want_words,
                       const char *want_error)
{
  struct profile p;
  char err[512] = "";
  char **w = NULL;
  int n = 0;
  int rc = profile_parse(text, strlen(text), "f", "a", &p, err, sizeof(err));
  if(rc == 0) {
    rc = profile_to_words(&p, &w, &n, err, sizeof(err));
    profile_free(&p);
  }
  if(want_error) {
    assert_int_equal(rc, -1);
    if(!strstr(err, want_error))
      fail_msg("'%s' does not contain '%s'", err, want_error);
    return;
  }
  assert_int_equal(rc, 0);
  char *s = joined(w, n);
  assert_string_equal(s, want_words);
  free(s);
  profile_words_free(w, n);
}

static void client_certificate_keys(void **state)
{
  (void)state;
  /* msmtp's tls_cert_file / tls_key_file, with auth external (SASL
   * EXTERNAL, the user as the authorization identity). */
  check_text("account a\nhost h\nport 587\nauth external\n"
             "tls_cert_file /home/u/client.pem\n"
             "tls_key_file \"/home/u/client key.pem\"\nuser u\n",
             "--server h:587 --auth external --tls-cert /home/u/client.pem "
             "--tls-key /home/u/client key.pem --user u",
             NULL);
  /* The key may live in the certificate file; inherited from defaults. */
  check_text("defaults\ntls_cert_file /c.pem\naccount a\nhost h\n",
             "--tls-cert /c.pem --server h", NULL);
  /* An empty value sets nothing, as in msmtp. */
  check_text("account a\nhost h\ntls_cert_file \"\"\n", "--server h", NULL);
  check_text("account a\nhost h\ntls_key_file /k.pem\n", NULL,
             "f:3: 'tls_key_file' needs 'tls_cert_file'");
  check_text("account a\nhost h\nauth externall\n", NULL,
             "f:3: --auth: the value is not a list of supported");
  /* File names may start with ~/ as in msmtp. */
  setenv("HOME", "/home/tilde", 1);
  check_text("account a\nhost h\ntls_trust_file ~/ca.pem\n"
             "tls_cert_file ~/c.pem\ntls_key_file ~user/k.pem\n",
             "--server h --tls-ca-file /home/tilde/ca.pem --tls-cert "
             "/home/tilde/c.pem --tls-key ~user/k.pem",
             NULL);
}

static void errors_name_file_and_line(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    const char *want;
  } cases[] = {
      {"account a\nhots h\n", "f:2: unknown key 'hots'"},
      {"account a\nhost h\ntls maybe\n", "f:3: 'tls' takes on or off"},
      {"account a\nhost h\nport 99999\n",
       "f:2: 'host' with 'port' is not a host name or address"},
      /* A file that is no profile: named with the line, never quoted. */
      {"root:$6$salt$Secret7731:19000:0:99999:7:::\n",
       "f:1: not a profile line"},
      {"-----BEGIN OPENSSH PRIVATE KEY-----\n", "f:1: not a profile line"},
      {"account a\nSecret7731Pass\n", "f:2: not a profile line"},
      {"account a\npasswrd x\n",
       "f:2: unknown key 'passwrd' (did you mean 'password'?)"},
      {"account a\naccount a\n", "f:2: account 'a' is defined twice"},
      {"account a : b\n", "f:1: account 'a' inherits from unknown"},
      {"account a : a\nhost h\n", "inherits in a loop"},
      {"account a\nfrom \"unterminated\n", "f:2: unterminated quoted"},
      {"account b\nhost h\ndefaults\n", "f:3: 'defaults' must come before"},
      {"account a\ntimeout soon\n", "f:2:"},
      {"account\n", "f:1: 'account' needs a name"},
      {"host h\n", "no account 'a'"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct profile p;
    char err[512] = "";
    char **w = NULL;
    int n = 0;
    int rc = profile_parse(cases[i].text, strlen(cases[i].text), "f", "a",
                           &p, err, sizeof(err));
    if(rc == 0) {
      rc = profile_to_words(&p, &w, &n, err, sizeof(err));
      profile_free(&p);
    }
    if(rc == 0)
      fail_msg("case %zu parsed: %s", i, cases[i].text);
    if(!strstr(err, cases[i].want))
      fail_msg("case %zu: '%s' does not contain '%s'", i, err,
               cases[i].want);
    if(strstr(err, "Secret7731") || strstr(err, "BEGIN"))
      fail_msg("case %zu: the file's text is in '%s'", i, err);
  }
}

/* A bad value is named by its key and line; the value is not shown. */
static void values_are_not_quoted(void **state)
{
  (void)state;
  static const char *const texts[] = {
      "account a\nhost h\ntls_mode Secret7731\n",
      "account a\nhost h\nconnect_timeout Secret7731\n",
      "account a\nhost h\ntls_fingerprint Secret7731\n",
      "account a\nhost h\nauth Secret7731\n",
      "account a\nhost Secret7731\nport 0\n",
      "account a\nhost h\ndns_server Secret7731\n",
  };
  for(size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    struct profile p;
    char err[512] = "";
    char **w = NULL;
    int n = 0;
    int rc = profile_parse(texts[i], strlen(texts[i]), "f", "a", &p, err,
                           sizeof(err));
    if(rc == 0) {
      rc = profile_to_words(&p, &w, &n, err, sizeof(err));
      profile_free(&p);
    }
    if(rc == 0)
      fail_msg("case %zu parsed", i);
    if(strncmp(err, "f:", 2) != 0 || strstr(err, "Secret7731"))
      fail_msg("case %zu: '%s'", i, err);
  }
}

static void long_lines_and_quotes(void **state)
{
  (void)state;
  /* msmtp breaks on lines over 500 bytes (OAuth tokens): mailwire not. */
  char *text = malloc(20000);
  strcpy(text, "account a\nhost h\nuser \"u\\\"q\"\npassword ");
  size_t n = strlen(text);
  memset(text + n, 'x', 15000);
  strcpy(text + n + 15000, "\n");
  struct profile p;
  char err[256];
  assert_int_equal(profile_parse(text, strlen(text), "f", "a", &p, err,
                                 sizeof(err)),
                   0);
  assert_int_equal(strlen(profile_get(&p, "password")), 15000);
  assert_string_equal(profile_get(&p, "user"), "u\"q");
  profile_free(&p);
  free(text);
  assert_true(profile_key_is_secret("password"));
  assert_true(profile_key_is_secret("passwordeval"));
  assert_false(profile_key_is_secret("user"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(msmtp_documentation_example),
      cmocka_unit_test(errors_name_file_and_line),
      cmocka_unit_test(values_are_not_quoted),
      cmocka_unit_test(long_lines_and_quotes),
      cmocka_unit_test(client_certificate_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
