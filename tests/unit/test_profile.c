/* Unit tests: src/profile.c - msmtprc-syntax profiles: msmtp's own
 * documentation example, inheritance, errors with FILE:LINE, no line
 * length limit, and the words given to the option parser; inheritance in
 * linear time (a fan-out of depth 30), loops still found, and a
 * world-readable file refused when any account holds a password. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static void incoming_account_keys(void **state)
{
  (void)state;
  setenv("HOME", "/home/tilde", 1);
  check_text("account a\nprotocol imap\nhost h\nport 993\nmailbox Work\n"
             "maildir ~/Mail/work\nstate_dir /var/st\nkeep off\n",
             "--protocol imap --server h:993 --mailbox Work --maildir "
             "/home/tilde/Mail/work --state-dir /var/st --delete",
             NULL);
  check_text("account a\nprotocol pop3\nhost h\nmbox ~/mbox\nkeep on\n"
             "mda \"procmail -d u\"\n",
             "--protocol pop3 --server h --mbox /home/tilde/mbox --keep "
             "--mda procmail -d u",
             NULL);
  /* msmtp's protocol values set nothing */
  check_text("account a\nprotocol smtp\nhost h\n", "--server h", NULL);
  check_text("account a\nprotocol lmtp\nhost h\n", "--server h", NULL);
  check_text("account a\nprotocol nntp\nhost h\n", NULL,
             "f:2: 'protocol' takes imap or pop3");
  check_text("account a\nhost h\nkeep maybe\n", NULL,
             "f:3: 'keep' takes on or off");
  check_text("account a\nhost h\nmaildri /x\n", NULL, "maildir");
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

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Attack: accounts a_i and b_i each inherit from both a_(i-1) and
 * b_(i-1), 30 levels deep.  Safe: resolved in well under a second with
 * the right values.  Why: a plain recursion visits 2^30 paths (a profile
 * as a denial of service). */
static void fanout_inheritance_is_linear(void **state)
{
  (void)state;
  char *text = calloc(1, 16384);
  size_t n = 0;
  n += (size_t)snprintf(text + n, 16384 - n,
                        "account a0\nhost h\nuser deep\nfrom a0@x\n"
                        "account b0\nfrom b0@x\ndomain b0.example\n");
  for(int i = 1; i <= 30; i++)
    n += (size_t)snprintf(text + n, 16384 - n,
                          "account a%d : a%d, b%d\nfrom a%d@x\n"
                          "account b%d : a%d, b%d\nfrom b%d@x\n",
                          i, i - 1, i - 1, i, i, i - 1, i - 1, i);
  struct profile p;
  char err[256] = "";
  double t0 = mono_s();
  int rc = profile_parse(text, n, "f", "a30", &p, err, sizeof(err));
  double secs = mono_s() - t0;
  assert_int_equal(rc, 0);
  assert_true(secs < 0.5);
  assert_string_equal(profile_get(&p, "from"), "a30@x");
  assert_string_equal(profile_get(&p, "user"), "deep");
  assert_string_equal(profile_get(&p, "domain"), "b0.example");
  profile_free(&p);
  free(text);
}

/* Loops of any length are still found (and named); a diamond, where two
 * parents share an ancestor, is not a loop. */
static void inheritance_loops_and_diamonds(void **state)
{
  (void)state;
  static const char *const loops[] = {
      "account a : a\nhost h\n",
      "account a : b\naccount b : c\naccount c : a\nhost h\n",
      "account x\naccount a : x, b\naccount b : x, a\n",
  };
  for(size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
    struct profile p;
    char err[256] = "";
    assert_int_equal(profile_parse(loops[i], strlen(loops[i]), "f", "a",
                                   &p, err, sizeof(err)),
                     -1);
    if(!strstr(err, "inherits in a loop"))
      fail_msg("case %zu: %s", i, err);
  }
  const char diamond[] = "account root\nhost h\nuser r\n"
                         "account l : root\nfrom l@x\n"
                         "account r : root\nfrom r@x\nuser ru\n"
                         "account d : l, r\n";
  struct profile p;
  char err[256] = "";
  assert_int_equal(profile_parse(diamond, strlen(diamond), "f", "d", &p,
                                 err, sizeof(err)),
                   0);
  assert_string_equal(profile_get(&p, "from"), "r@x"); /* r is later */
  assert_string_equal(profile_get(&p, "user"), "ru");
  assert_string_equal(profile_get(&p, "host"), "h");
  profile_free(&p);
}

static char *write_temp(const char *text, mode_t mode)
{
  char *path = strdup("/tmp/mw-unit-profile-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  assert_int_equal(chmod(path, mode), 0);
  return path;
}

/* Attack: a group- or world-readable file where the selected account
 * holds no password but another does.  Safe: refused, naming the line and
 * the account that holds it, never the password.  Why: the file exposes
 * every account's password, not only the selected one's. */
static void secret_in_another_account_guards_the_file(void **state)
{
  (void)state;
  const char text[] = "account plain\nhost h\nfrom a@x\n\n"
                      "account other\nhost h2\nuser u\n"
                      "password Other-Secret-71\n";
  static const mode_t modes[] = {0644, 0640, 0604};
  for(size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    char *path = write_temp(text, modes[i]);
    struct profile p;
    char err[512] = "";
    assert_int_equal(profile_load(path, "plain", &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "holds a password (line 8, account "
                                "'other')"));
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(strstr(err, "Other-Secret-71"));
    unlink(path);
    free(path);
  }
  char *path = write_temp(text, 0600);
  struct profile p;
  char err[512] = "";
  assert_int_equal(profile_load(path, "plain", &p, err, sizeof(err)), 0);
  assert_null(profile_get(&p, "password"));
  profile_free(&p);
  unlink(path);
  free(path);
  /* A password in defaults, and a proxy URL with one, count too. */
  const char def[] = "defaults\npassword d-pw\naccount a\nhost h\n";
  const char proxy[] = "account a\nhost h\n"
                       "account b\nproxy socks5://u:pw@127.0.0.1:1080\n";
  const char no_secret[] = "account a\nhost h\n"
                           "account b\nproxy socks5://127.0.0.1:1080\n";
  const char *texts[] = {def, proxy, no_secret};
  for(size_t i = 0; i < 3; i++) {
    path = write_temp(texts[i], 0644);
    int rc = profile_load(path, "a", &p, err, sizeof(err));
    assert_int_equal(rc, i < 2 ? -1 : 0);
    if(rc == 0)
      profile_free(&p);
    unlink(path);
    free(path);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(msmtp_documentation_example),
      cmocka_unit_test(errors_name_file_and_line),
      cmocka_unit_test(values_are_not_quoted),
      cmocka_unit_test(long_lines_and_quotes),
      cmocka_unit_test(client_certificate_keys),
      cmocka_unit_test(incoming_account_keys),
      cmocka_unit_test(fanout_inheritance_is_linear),
      cmocka_unit_test(inheritance_loops_and_diamonds),
      cmocka_unit_test(secret_in_another_account_guards_the_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
