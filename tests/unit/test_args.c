/* Unit tests: src/args.c, `mailwire send` option parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "args.h"

#include <string.h>

#define BASE "--server", "mx.example:587", "--from", "a@example.org", \
             "--to", "b@example.org"

static int parse(struct send_args *a, char *err, size_t errlen, int argc,
                 const char **argv)
{
  return cli_parse_send(argc, (char **)argv, a, err, errlen);
}

#define PARSE_OK(...)                                                        \
  do {                                                                       \
    const char *argv_[] = {__VA_ARGS__};                                     \
    int argc_ = (int)(sizeof(argv_) / sizeof(argv_[0]));                     \
    assert_int_equal(parse(&a, err, sizeof(err), argc_, argv_), 0);          \
  } while(0)

#define PARSE_FAILS(needle, ...)                                             \
  do {                                                                       \
    const char *argv_[] = {__VA_ARGS__};                                     \
    int argc_ = (int)(sizeof(argv_) / sizeof(argv_[0]));                     \
    assert_int_equal(parse(&a, err, sizeof(err), argc_, argv_), -1);         \
    if(!strstr(err, needle))                                                 \
      fail_msg("error '%s' does not mention '%s'", err, needle);             \
  } while(0)

static void minimal_and_full(void **state)
{
  (void)state;
  struct send_args a;
  char err[512];
  PARSE_OK(BASE);
  assert_string_equal(a.server, "mx.example:587");
  assert_int_equal(a.tls_mode, MW_TLS_AUTO);
  assert_int_equal(a.to.count, 1);
  PARSE_OK(BASE, "--to", "c@example.org", "--cc", "d@example.org", "--bcc",
           "e@example.org", "--tls", "implicit", "--user", "u",
           "--password-env", "PW", "--auth", "scram-sha-256,plain",
           "--connect-timeout", "5s", "--greeting-timeout", "500ms",
           "--timeout", "2m", "-6", "--bind", "::1", "--tls-min", "1.2",
           "--tls-max=1.3", "--trace", "--json", "--subject", "hi", "--body",
           "text", "--header", "X-A: 1", "--helo", "client.example");
  assert_int_equal(a.to.count, 2);
  assert_int_equal(a.cc.count, 1);
  assert_int_equal(a.bcc.count, 1);
  assert_int_equal(a.tls_mode, MW_TLS_IMPLICIT);
  assert_int_equal(a.connect_timeout_ms, 5000);
  assert_int_equal(a.greeting_timeout_ms, 500);
  assert_int_equal(a.timeout_ms, 120000);
  assert_int_equal(a.family, MW_FAMILY_IPV6);
  assert_int_equal(a.tls_min, MW_TLS_VERSION_1_2);
  assert_int_equal(a.tls_max, MW_TLS_VERSION_1_3);
  assert_true(a.trace && a.json);
  assert_string_equal(a.password_env, "PW");
}

static void password_never_on_command_line(void **state)
{
  (void)state;
  struct send_args a;
  char err[512];
  PARSE_FAILS("visible", BASE, "--user", "u", "--password", "hunter2");
  assert_null(strstr(err, "hunter2"));
  PARSE_FAILS("visible", BASE, "--user", "u", "--password=hunter2");
  assert_null(strstr(err, "hunter2"));
  PARSE_FAILS("visible", BASE, "--password");
}

static void required_and_exclusive(void **state)
{
  (void)state;
  struct send_args a;
  char err[512];
  PARSE_FAILS("--server is required", "--from", "a@b.c", "--to", "b@c.d");
  PARSE_FAILS("--from is required", "--server", "h", "--to", "b@c.d");
  PARSE_FAILS("at least one --to", "--server", "h", "--from", "a@b.c");
  PARSE_FAILS("exclude each other", BASE, "--body", "x", "--message", "f");
  PARSE_FAILS("exclude each other", BASE, "--user", "u", "--password-env",
              "A", "--password-file", "f");
  PARSE_FAILS("needs --user", BASE, "--password-env", "A");
  PARSE_FAILS("--user needs", BASE, "--user", "u");
  PARSE_FAILS("--subject and --header do not apply", BASE, "--message", "-",
              "--subject", "s");
  PARSE_FAILS("exclude each other", BASE, "--insecure", "--tls-fingerprint",
              "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
}

static void bad_values_are_named(void **state)
{
  (void)state;
  struct send_args a;
  char err[512];
  PARSE_FAILS("--tls: 'sometimes'", BASE, "--tls", "sometimes");
  PARSE_FAILS("--timeout: 'soon'", BASE, "--timeout", "soon");
  PARSE_FAILS("--timeout: '0'", BASE, "--timeout", "0");
  PARSE_FAILS("--connect-timeout: '25h'", BASE, "--connect-timeout", "25h");
  PARSE_FAILS("--connect-timeout: '90000000m'", BASE, "--connect-timeout",
              "90000000m");
  PARSE_FAILS("--tls-min: '1.1'", BASE, "--tls-min", "1.1");
  PARSE_FAILS("--tls-min is above", BASE, "--tls-min", "1.3", "--tls-max",
              "1.2");
  PARSE_FAILS("--auth: 'NTLM'", BASE, "--auth", "NTLM");
  PARSE_FAILS("--tls-fingerprint", BASE, "--tls-fingerprint", "abcd");
  PARSE_FAILS("--server: 'h:0'", "--server", "h:0", "--from", "a@b.c",
              "--to", "x@y.z");
  PARSE_FAILS("--server: 'h:70000'", "--server", "h:70000", "--from",
              "a@b.c", "--to", "x@y.z");
  PARSE_FAILS("--server: '::1'", "--server", "::1", "--from", "a@b.c",
              "--to", "x@y.z");
  PARSE_FAILS("--header: 'NoColon'", BASE, "--header", "NoColon");
  PARSE_FAILS("--helo", BASE, "--helo", "two words");
}

static void unknown_and_missing(void **state)
{
  (void)state;
  struct send_args a;
  char err[512];
  PARSE_FAILS("unknown option '--frobnicate'", BASE, "--frobnicate");
  PARSE_FAILS("unexpected argument 'stray'", BASE, "stray");
  PARSE_FAILS("option '--to' needs a value", BASE, "--to");
  PARSE_FAILS("option '--trace' takes no value", BASE, "--trace=yes");
}

static void ipv6_server_and_help(void **state)
{
  (void)state;
  struct send_args a;
  char err[512];
  PARSE_OK("--server", "[::1]:2525", "--from", "a@b.c", "--to", "x@y.z");
  PARSE_OK("--help");
  assert_true(a.help);
}

static void durations(void **state)
{
  (void)state;
  unsigned ms = 0;
  assert_true(cli_parse_duration("30", &ms));
  assert_int_equal(ms, 30000);
  assert_true(cli_parse_duration("250ms", &ms));
  assert_int_equal(ms, 250);
  assert_true(cli_parse_duration("3m", &ms));
  assert_int_equal(ms, 180000);
  assert_false(cli_parse_duration("", &ms));
  assert_false(cli_parse_duration("-1", &ms));
  assert_true(cli_parse_duration("1h", &ms));
  assert_int_equal(ms, 3600000);
  assert_false(cli_parse_duration("10 s", &ms));
  assert_false(cli_parse_duration("99999999999999999999", &ms));
}

static void probe_words(void **state)
{
  (void)state;
  struct send_args a;
  char err[512];
  const char *ok[] = {"mail.example.org", "--ports", "465,587",
                      "--greeting-timeout", "3s", "--tls-ca-file", "ca.pem",
                      "--json"};
  assert_int_equal(cli_parse_probe(8, (char **)ok, NULL, &a, err,
                                   sizeof(err)),
                   0);
  assert_string_equal(a.server, "mail.example.org");
  assert_string_equal(a.ports, "465,587");
  assert_int_equal(a.greeting_timeout_ms, 3000);
  assert_true(a.json);
  /* A profile's host is the default target. */
  const char *none[] = {"--ports", "25"};
  assert_int_equal(cli_parse_probe(2, (char **)none, "smtp.example.org", &a,
                                   err, sizeof(err)),
                   0);
  assert_string_equal(a.server, "smtp.example.org");
  assert_int_equal(cli_parse_probe(2, (char **)none, NULL, &a, err,
                                   sizeof(err)),
                   -1);
  assert_non_null(strstr(err, "give the host"));
  static const char *const bad[][3] = {
      {"h", "--ports", "0"},        {"h", "--ports", "70000"},
      {"h", "--ports", "25,"},      {"h", "--ports", "25;587"},
      {"h", "--from", "a@b"},       {"h", "--user", "u"},
      {"h", "--tls", "implicit"},   {"h", "--body", "x"}};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(cli_parse_probe(3, (char **)bad[i], NULL, &a, err,
                                     sizeof(err)),
                     -1);
    assert_true(err[0]);
  }
  unsigned ports[CLI_MAX_PORTS];
  size_t n = 0;
  assert_int_equal(mw_probe_ports_parse("465,587,25,2525,587", ports,
                                        CLI_MAX_PORTS, &n),
                   MW_OK);
  assert_int_equal(n, 4); /* the duplicate is dropped */
  assert_int_equal(ports[3], 2525);
  assert_false(cli_ports_valid("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"));
  assert_false(cli_ports_valid(""));
  assert_true(cli_ports_valid("25"));
}

static void tls_detect_and_client_cert(void **state)
{
  (void)state;
  struct send_args a;
  char err[512];
  PARSE_OK(BASE, "--tls", "detect");
  assert_int_equal(a.tls_mode, MW_TLS_DETECT);
  PARSE_OK(BASE, "--tls-cert", "c.pem", "--user", "alice");
  assert_string_equal(a.tls_cert, "c.pem");
  PARSE_FAILS("--tls-key needs --tls-cert", BASE, "--tls-key", "k.pem");
  PARSE_FAILS("--tls-cert", BASE, "--auth", "EXTERNAL");
  PARSE_OK(BASE, "--auth", "external", "--tls-cert", "c.pem");
  PARSE_FAILS("for mailwire probe", BASE, "--ports", "25");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(minimal_and_full),
      cmocka_unit_test(password_never_on_command_line),
      cmocka_unit_test(required_and_exclusive),
      cmocka_unit_test(bad_values_are_named),
      cmocka_unit_test(unknown_and_missing),
      cmocka_unit_test(ipv6_server_and_help),
      cmocka_unit_test(durations),
      cmocka_unit_test(probe_words),
      cmocka_unit_test(tls_detect_and_client_cert),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
