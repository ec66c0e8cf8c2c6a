/* Unit tests: src/args.c, `mailwire send` option parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "args.h"

#include <string.h>

/* A send_args that starts zeroed and is released when it goes out of
 * scope (each parse into it releases the one before). */
#define ARGS_A \
  struct send_args a __attribute__((cleanup(cli_args_release))) = {0}

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
  ARGS_A;
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
  ARGS_A;
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
  ARGS_A;
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
  ARGS_A;
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
  ARGS_A;
  char err[512];
  PARSE_FAILS("unknown option '--frobnicate'", BASE, "--frobnicate");
  PARSE_FAILS("unexpected argument 'stray'", BASE, "stray");
  PARSE_FAILS("option '--to' needs a value", BASE, "--to");
  PARSE_FAILS("option '--trace' takes no value", BASE, "--trace=yes");
}

static void ipv6_server_and_help(void **state)
{
  (void)state;
  ARGS_A;
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


static void durations_decimals_and_hours(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    unsigned ms;
  } good[] = {{"1.5s", 1500},   {"3.0", 3000},      {"2h", 7200000},
              {".5", 500},      {"0.25m", 15000},   {"1.5ms", 2},
              {"1.0005s", 1001}, {"24h", 86400000}, {"1440m", 86400000},
              {"86400", 86400000}, {"0.001", 1},    {"007s", 7000},
              {"1.000000000000001h", 3600000}};
  for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    unsigned ms = 0;
    const char *why = cli_duration_error(good[i].text, &ms);
    if(why)
      fail_msg("'%s' refused: %s", good[i].text, why);
    if(ms != good[i].ms)
      fail_msg("'%s' gave %u ms, not %u", good[i].text, ms, good[i].ms);
  }
  static const struct {
    const char *text, *why;
  } bad[] = {{"-1", "negative"},          {"-1.5s", "negative"},
             {"0", "zero"},               {"0.0s", "zero"},
             {"0.0001s", "below"},        {"24.001h", "above"},
             {"25h", "above"},            {"86401", "above"},
             {"99999999999999999999", "above"},
             {"99999999999999999999ms", "above"},
             {"1.", "no digits after"},   {".", "no digits after"},
             {"1.5.5", "unknown unit"},   {"1e3", "unknown unit"},
             {"1,5", "unknown unit"},     {"1 s", "unknown unit"},
             {"1h30m", "unknown unit"},   {"2d", "unknown unit"},
             {"s", "not a number"},       {"+1", "not a number"},
             {" 1", "not a number"},      {"", "empty"},
             {"1S", "unknown unit"},      {"nan", "not a number"}};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    unsigned ms = 12345;
    const char *why = cli_duration_error(bad[i].text, &ms);
    if(!why)
      fail_msg("'%s' accepted as %u ms", bad[i].text, ms);
    if(!strstr(why, bad[i].why))
      fail_msg("'%s': '%s' does not say '%s'", bad[i].text, why,
               bad[i].why);
    assert_int_equal(ms, 12345); /* untouched */
  }
  ARGS_A;
  char err[512];
  PARSE_OK(BASE, "--timeout", "1.5s", "--connect-timeout", "2h",
           "--greeting-timeout=3.0");
  assert_int_equal(a.timeout_ms, 1500);
  assert_int_equal(a.connect_timeout_ms, 7200000);
  assert_int_equal(a.greeting_timeout_ms, 3000);
  PARSE_FAILS("--timeout: '-5' is negative", BASE, "--timeout", "-5");
  PARSE_FAILS("1ms to 24h", BASE, "--timeout", "30x");
}

/* Parses one option (with a value when it takes one) for cmd: 0 when the
 * parser knows it for cmd (whatever it then says of the value). */
static int option_taken(enum cli_command cmd, const char *opt,
                        bool takes_value)
{
  char *words[8];
  int n = 0;
  static char h[] = "mx.example", srv[] = "--server", from[] = "--from",
              fromv[] = "a@example.org", to[] = "--to",
              tov[] = "b@example.org", val[] = "x";
  ARGS_A;
  char err[512];
  if(cmd == CLI_SEND) {
    words[n++] = srv;
    words[n++] = h;
    words[n++] = from;
    words[n++] = fromv;
    words[n++] = to;
    words[n++] = tov;
  }
  else {
    words[n++] = h;
  }
  words[n++] = (char *)opt;
  if(takes_value)
    words[n++] = val;
  if(cmd == CLI_SEND)
    cli_parse_send(n, words, &a, err, sizeof(err));
  else if(cmd == CLI_DOCTOR)
    cli_parse_doctor(n, words, &a, err, sizeof(err));
  else if(cmd == CLI_SHELL)
    cli_parse_shell(n, words, &a, err, sizeof(err));
  else
    cli_parse_probe(n, words, NULL, &a, err, sizeof(err));
  if(strstr(err, "unknown option") || strstr(err, "does not apply") ||
     strstr(err, "is for mailwire")) {
    print_error("%s: %s\n", opt, err);
    return -1;
  }
  return 0;
}

/* Whether the help holds word as a whole option word. */
static bool help_names(const char *help, const char *word)
{
  size_t n = strlen(word);
  for(const char *p = strstr(help, word); p; p = strstr(p + 1, word)) {
    bool start = p == help || strchr(" ,(\n", p[-1]);
    bool end = !p[n] || strchr(" ,)\n=", p[n]);
    if(start && end)
      return true;
  }
  return false;
}

static int parse_in(enum cli_command c, struct send_args *a, char *err,
                    size_t errlen, int argc, const char **argv)
{
  return cli_parse_incoming(c, argc, (char **)argv, a, err, errlen);
}

#define IN_OK(cmd, ...)                                                      \
  do {                                                                       \
    const char *argv_[] = {__VA_ARGS__};                                     \
    int argc_ = (int)(sizeof(argv_) / sizeof(argv_[0]));                     \
    if(parse_in(cmd, &a, err, sizeof(err), argc_, argv_))                    \
      fail_msg("refused: %s", err);                                          \
  } while(0)

#define IN_FAILS(cmd, needle, ...)                                           \
  do {                                                                       \
    const char *argv_[] = {__VA_ARGS__};                                     \
    int argc_ = (int)(sizeof(argv_) / sizeof(argv_[0]));                     \
    assert_int_equal(parse_in(cmd, &a, err, sizeof(err), argc_, argv_), -1); \
    if(!strstr(err, needle))                                                 \
      fail_msg("error '%s' does not mention '%s'", err, needle);             \
  } while(0)

static void incoming_commands(void **state)
{
  (void)state;
  ARGS_A;
  char err[512];
  IN_OK(CLI_FETCH, "--server", "imaps://al%40ice@imap.example:993/Sent",
        "--password-env", "PW", "--maildir", "/tmp/md", "--since",
        "2026-02-01", "--delete", "--limit", "5");
  assert_int_equal(a.in.protocol, MW_PROTOCOL_IMAP);
  assert_string_equal(a.user, "al@ice"); /* the URL's, decoded */
  assert_string_equal(a.in.since_imap, "1-Feb-2026");
  assert_int_equal(a.in.store, CLI_STORE_MAILDIR);
  assert_int_equal(a.in.delete_mode, 2);
  assert_int_equal(a.in.limit, 5);
  IN_OK(CLI_FETCH, "--server", "pop.example", "--protocol", "pop3",
        "--mbox", "/tmp/mb");
  assert_int_equal(a.in.protocol, MW_PROTOCOL_POP3);
  IN_OK(CLI_FETCH, "--server", "imap.example", "--mda", "procmail");
  assert_int_equal(a.in.protocol, MW_PROTOCOL_IMAP); /* the default */
  IN_FAILS(CLI_FETCH, "--maildir DIR", "--server", "imap.example");
  IN_FAILS(CLI_FETCH, "exclude", "--server", "h", "--maildir", "a",
           "--mbox", "b");
  IN_FAILS(CLI_FETCH, "is for IMAP", "--server", "pop3s://h", "--maildir",
           "a", "--unseen");
  IN_FAILS(CLI_FETCH, "SMTP server", "--server", "smtps://h", "--maildir",
           "a");
  IN_FAILS(CLI_FETCH, "contradicts", "--server", "pop3s://h", "--protocol",
           "imap", "--maildir", "a");
  IN_FAILS(CLI_FETCH, "no password", "--server", "imaps://u:pw@h",
           "--maildir", "a");
  IN_FAILS(CLI_FETCH, "not a date", "--server", "h", "--maildir", "a",
           "--since", "2026-02-30");
  IN_FAILS(CLI_FETCH, "does not apply to fetch", "--server", "h",
           "--maildir", "a", "--from", "x@example.org");
  IN_FAILS(CLI_FETCH, "did you mean --maildir", "--server", "h",
           "--maildri", "a");
  IN_FAILS(CLI_WATCH, "needs a store", "--server", "h", "--delete");
  IN_FAILS(CLI_WATCH, "IMAP server", "--server", "pop3s://h");
  IN_OK(CLI_WATCH, "--server", "h", "--exec", "notify", "--idle-interval",
        "5m", "--poll-interval", "30s");
  assert_int_equal(a.in.idle_interval_ms, 300000);
  IN_OK(CLI_APPEND, "--server", "imaps://h/Sent", "msg.eml");
  assert_string_equal(a.in.file, "msg.eml");
  IN_FAILS(CLI_APPEND, "--mailbox is required", "--server", "h", "m.eml");
  IN_FAILS(CLI_APPEND, "message file", "--server", "h", "--mailbox", "S");
  IN_FAILS(CLI_FOLDERS, "needs an IMAP", "--server", "pop3://h");
  /* Each incoming command's help names every option it takes. */
  static char help[32768];
  const enum cli_command cmds[] = {CLI_FETCH, CLI_WATCH, CLI_FOLDERS,
                                   CLI_APPEND};
  for(size_t c = 0; c < 4; c++) {
    assert_true(cli_help(cmds[c], help, sizeof(help)) < sizeof(help));
    struct cli_option_info o;
    for(size_t i = 0; cli_option_get(i, &o); i++) {
      bool taken = cli_option_takes(cmds[c], o.name, NULL);
      assert_int_equal(taken, (o.commands >> cmds[c]) & 1);
      if(taken && !o.hidden && !help_names(help, o.name))
        fail_msg("help of incoming command %zu lacks %s", c, o.name);
      if(!taken && help_names(help, o.name))
        fail_msg("help of incoming command %zu names %s", c, o.name);
    }
    for(const char *l = help; *l;) {
      size_t len = strcspn(l, "\n");
      if(len > 79)
        fail_msg("help line too long: %.*s", (int)len, l);
      l += len + (l[len] ? 1 : 0);
    }
  }
}

static void help_lists_exactly_what_parser_takes(void **state)
{
  (void)state;
  static char help[32768];
  const enum cli_command cmds[] = {CLI_SEND, CLI_DOCTOR, CLI_PROBE,
                                   CLI_SHELL};
  for(size_t c = 0; c < 4; c++) {
    size_t need = cli_help(cmds[c], help, sizeof(help));
    assert_true(need < sizeof(help));
    /* Every option the parser takes for the command is in its help. */
    struct cli_option_info o;
    size_t listed = 0;
    for(size_t i = 0; cli_option_get(i, &o); i++) {
      if(!(o.commands & (1u << cmds[c])) || o.hidden)
        continue;
      if(!help_names(help, o.name))
        fail_msg("help of command %zu lacks %s", c, o.name);
      if(o.alias && !help_names(help, o.alias))
        fail_msg("help of command %zu lacks %s", c, o.alias);
      listed++;
    }
    assert_true(listed > 15);
    /* Every option word the help names is taken by the parser. */
    size_t words = 0;
    for(const char *p = help; *p; p++) {
      if(*p != '-' || (p > help && !strchr(" ,(\n", p[-1])))
        continue;
      size_t n = strspn(p, "-abcdefghijklmnopqrstuvwxyz0123456789"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
      if(n < 2 || (p[1] == '-' && n < 3))
        continue;
      /* "-X" words count in the option column; prose says "sh -c". */
      if(p[1] != '-' && (p - help < 3 || strncmp(p - 3, "\n  ", 3) != 0))
        continue;
      char opt[64];
      assert_true(n < sizeof(opt));
      memcpy(opt, p, n);
      opt[n] = '\0';
      bool takes_value = false, found = false;
      for(size_t i = 0; cli_option_get(i, &o); i++)
        if(!strcmp(o.name, opt) || (o.alias && !strcmp(o.alias, opt))) {
          takes_value = o.takes_value;
          found = true;
        }
      if(!found)
        fail_msg("help of command %zu names %s, which is no option", c, opt);
      assert_int_equal(option_taken(cmds[c], opt, takes_value), 0);
      words++;
      p += n - 1;
    }
    assert_true(words >= listed);
    /* What the issue named: the profile and proxy options everywhere. */
    assert_true(help_names(help, "-C") && help_names(help, "--config"));
    assert_true(help_names(help, "--account"));
    assert_true(help_names(help, "--proxy"));
    assert_int_equal(help_names(help, "--proxy-protocol"),
                     cmds[c] != CLI_PROBE);
    /* No line is wider than 79 columns. */
    for(const char *l = help; *l;) {
      size_t len = strcspn(l, "\n");
      if(len > 79)
        fail_msg("help line too long: %.*s", (int)len, l);
      l += len + (l[len] ? 1 : 0);
    }
  }
  /* A small buffer is truncated, NUL-terminated, and the length needed
   * returned. */
  char small[16];
  size_t need = cli_help(CLI_SEND, small, sizeof(small));
  assert_true(need > sizeof(small));
  assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void unknown_option_suggests_nearest(void **state)
{
  (void)state;
  ARGS_A;
  char err[512];
  PARSE_FAILS("did you mean --password-file?", BASE, "--pasword-file", "f");
  PARSE_FAILS("did you mean --tls-ca-file?", BASE, "--tls-ca", "f");
  PARSE_FAILS("did you mean --account?", BASE, "--acount", "w");
  PARSE_FAILS("did you mean --server?", BASE, "--sever=h");
  PARSE_FAILS("unknown option '--frobnicate' (see", BASE, "--frobnicate");
  PARSE_FAILS("unknown option '-x' (see", BASE, "-x");
  assert_string_equal(cli_suggest_option(CLI_SEND, "--jsn", 5), "--json");
  assert_string_equal(cli_suggest_option(CLI_DOCTOR, "--dnsbll", 8),
                      "--dnsbl");
  /* Never an option the command does not take, nor a hidden one. */
  assert_null(cli_suggest_option(CLI_PROBE, "--pasword-file", 14));
  assert_null(cli_suggest_option(CLI_SEND, "--pasword", 9));
  assert_null(cli_suggest_option(CLI_SEND, "--dnsbll", 8));
}

static void json_is_seen_only_as_an_option(void **state)
{
  (void)state;
  const char *yes[] = {"--to", "x", "--json", "--bogus"};
  const char *value[] = {"--subject", "--json"};
  const char *after_eq[] = {"--subject=--x", "--json"};
  assert_true(cli_wants_json(4, (char **)yes));
  assert_false(cli_wants_json(2, (char **)value));
  assert_true(cli_wants_json(2, (char **)after_eq));
  assert_false(cli_wants_json(0, NULL));
}

/* doctor's protocol (issue 11): --protocol, else the URL's scheme, else
 * the port; the SMTP envelope options are refused for POP3 and IMAP. */
static void doctor_protocol_by_flag_url_and_port(void **state)
{
  (void)state;
  static const struct {
    const char *words[4];
    int n;
    int rc;
    mw_protocol proto;
  } cases[] = {
    {{"mail.example.org:993"}, 1, 0, MW_PROTOCOL_IMAP},
    {{"mail.example.org:143"}, 1, 0, MW_PROTOCOL_IMAP},
    {{"mail.example.org:995"}, 1, 0, MW_PROTOCOL_POP3},
    {{"mail.example.org:110"}, 1, 0, MW_PROTOCOL_POP3},
    {{"mail.example.org:587"}, 1, 0, MW_PROTOCOL_SMTP},
    {{"mail.example.org"}, 1, 0, MW_PROTOCOL_SMTP},
    {{"[::1]:993"}, 1, 0, MW_PROTOCOL_IMAP},
    {{"imaps://alice@mail.example.org/Archive"}, 1, 0, MW_PROTOCOL_IMAP},
    {{"pop3://mail.example.org:2110"}, 1, 0, MW_PROTOCOL_POP3},
    {{"smtps://mail.example.org"}, 1, 0, MW_PROTOCOL_SMTP},
    {{"mail.example.org:993", "--protocol", "smtp"}, 3, 0, MW_PROTOCOL_SMTP},
    {{"mail.example.org:2993", "--protocol", "IMAP"}, 3, 0,
     MW_PROTOCOL_IMAP},
    {{"imaps://h", "--protocol", "pop3"}, 3, 0, MW_PROTOCOL_POP3},
    {{"h", "--protocol", "nntp"}, 3, -1, MW_PROTOCOL_SMTP},
    {{"ftp://h"}, 1, -1, MW_PROTOCOL_SMTP},
    {{"imaps://"}, 1, -1, MW_PROTOCOL_SMTP},
    {{"imaps://h", "--from", "a@b.example", "--to"}, 4, -1,
     MW_PROTOCOL_SMTP},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ARGS_A;
    char err[512] = "";
    char *words[6] = {"doctor"};
    int n = 1;
    for(int k = 0; k < cases[i].n; k++)
      words[n++] = (char *)cases[i].words[k];
    if(cases[i].n == 4)
      words[n++] = "c@d.example";
    int rc = cli_parse_doctor(n - 1, words + 1, &a, err, sizeof(err));
    if((rc != 0) != (cases[i].rc != 0))
      fail_msg("case %zu (%s): rc %d (%s)", i, cases[i].words[0], rc, err);
    if(!rc && a.protocol != cases[i].proto)
      fail_msg("case %zu (%s): protocol %d", i, cases[i].words[0],
               (int)a.protocol);
  }
}

static void doctor_line_carries_settings_not_secrets(void **state)
{
  (void)state;
  const char *argv[] = {
      "--server", "[::1]:2525", "-C", "/tmp/my profile", "--account=work",
      "--proxy", "socks5h://bob:pr0xy-pw@127.0.0.1:1080", "--password-cmd",
      "echo hunter2", "--oauth2-token-cmd", "cat tok", "--user", "alice",
      "--password-env", "PW", "--body", "secret body", "--json", "--trace",
      "--tls-ca-file", "ca.pem", "-4", "--timeout", "1.5s", "--to",
      "b@example.org", "--tls", "detect", "--bind", "127.0.0.1"};
  char buf[2048];
  size_t need = cli_doctor_line(sizeof(argv) / sizeof(argv[0]),
                                (char **)argv, "::1", 2525, "implicit", buf,
                                sizeof(buf));
  assert_int_equal(need, strlen(buf));
  assert_string_equal(
      buf, "mailwire doctor '[::1]:2525' --tls implicit --config "
           "'/tmp/my profile' --account work --proxy "
           "socks5h://USER:PASSWORD@127.0.0.1:1080 --password-cmd CMD "
           "--oauth2-token-cmd CMD --user alice --password-env PW "
           "--tls-ca-file ca.pem -4 --timeout 1.5s --bind 127.0.0.1");
  const char *plain[] = {"--server", "mx.example.org", "--helo", "it's me"};
  cli_doctor_line(4, (char **)plain, "mx.example.org", 587, NULL, buf,
                  sizeof(buf));
  assert_string_equal(buf, "mailwire doctor mx.example.org:587 --helo "
                           "'it'\\''s me'");
  /* Truncation is safe and says how much was needed. */
  char small[20];
  need = cli_doctor_line(4, (char **)plain, "mx.example.org", 587, NULL,
                         small, sizeof(small));
  assert_true(need > sizeof(small));
  assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void probe_words(void **state)
{
  (void)state;
  ARGS_A;
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
  ARGS_A;
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

/* --max-message-size and --secret-cmd-timeout (issue 9): sizes with K, M,
 * G suffixes; nonsense and zero refused, naming the option. */
static void input_bound_options(void **state)
{
  (void)state;
  unsigned long long b = 0;
  assert_true(cli_parse_size("1048576", &b));
  assert_int_equal(b, 1048576);
  assert_true(cli_parse_size("25M", &b));
  assert_int_equal(b, 25ULL << 20);
  assert_true(cli_parse_size("512k", &b));
  assert_int_equal(b, 512ULL << 10);
  assert_true(cli_parse_size("1G", &b));
  assert_int_equal(b, 1ULL << 30);
  assert_true(cli_parse_size("1024G", &b));
  assert_false(cli_parse_size("1025G", &b));
  assert_false(cli_parse_size("0", &b));
  assert_false(cli_parse_size("", &b));
  assert_false(cli_parse_size("-1M", &b));
  assert_false(cli_parse_size("25MB", &b));
  assert_false(cli_parse_size("99999999999999999999", &b));
  ARGS_A;
  char err[256];
  char *ok[] = {"--server", "h", "--from", "a@x", "--to", "b@x",
                "--max-message-size", "2M", "--secret-cmd-timeout", "1s"};
  assert_int_equal(cli_parse_send(10, ok, &a, err, sizeof(err)), 0);
  assert_int_equal(a.max_message_size, 2ULL << 20);
  assert_int_equal(a.secret_cmd_timeout_ms, 1000);
  char *bad[] = {"--server", "h", "--from", "a@x", "--to", "b@x",
                 "--max-message-size", "lots"};
  assert_int_equal(cli_parse_send(8, bad, &a, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "--max-message-size: 'lots' is not a size"));
  char *bad2[] = {"--server", "h", "--from", "a@x", "--to", "b@x",
                  "--secret-cmd-timeout", "forever"};
  assert_int_equal(cli_parse_send(8, bad2, &a, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "--secret-cmd-timeout"));
}

/* mailwire shell (issue 15): the server as the first word, the protocol
 * decided as doctor decides it, the shell's own options, and no option
 * that makes no sense in a session. */
static void shell_words(void **state)
{
  (void)state;
  ARGS_A;
  char err[512];
  char *ok[] = {"imaps://alice@mail.example.org", "--tls-ca-file", "ca.pem",
                "--script", "s.mwsh", "--history", "/tmp/h", "--trace",
                "--helo", "me.example"};
  assert_int_equal(cli_parse_shell(10, ok, &a, err, sizeof(err)), 0);
  assert_int_equal(a.protocol, MW_PROTOCOL_IMAP);
  assert_string_equal(a.shell_script, "s.mwsh");
  assert_string_equal(a.shell_history, "/tmp/h");
  assert_string_equal(a.user, "alice"); /* the URL's, asked a password */
  char *pop[] = {"mail.example.org:995", "--no-history"};
  assert_int_equal(cli_parse_shell(2, pop, &a, err, sizeof(err)), 0);
  assert_int_equal(a.protocol, MW_PROTOCOL_POP3);
  assert_true(a.shell_no_history);
  char *smtp[] = {"mail.example.org:587"};
  assert_int_equal(cli_parse_shell(1, smtp, &a, err, sizeof(err)), 0);
  assert_int_equal(a.protocol, MW_PROTOCOL_SMTP);
  char *none[] = {"--trace"};
  assert_int_equal(cli_parse_shell(1, none, &a, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "give the server"));
  char *detect[] = {"h", "--tls", "detect"};
  assert_int_equal(cli_parse_shell(3, detect, &a, err, sizeof(err)), -1);
  char *json[] = {"h", "--json"};
  assert_int_equal(cli_parse_shell(2, json, &a, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "does not apply to shell"));
  char *to[] = {"h", "--to", "b@example.org"};
  assert_int_equal(cli_parse_shell(3, to, &a, err, sizeof(err)), -1);
  char *pw[] = {"h", "--password", "x"};
  assert_int_equal(cli_parse_shell(3, pw, &a, err, sizeof(err)), -1);
  char *script_elsewhere[] = {"--server", "h", "--from", "a@x", "--to",
                              "b@x", "--script", "f"};
  assert_int_equal(cli_parse_send(8, script_elsewhere, &a, err, sizeof(err)),
                   -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(minimal_and_full),
      cmocka_unit_test(incoming_commands),
      cmocka_unit_test(password_never_on_command_line),
      cmocka_unit_test(required_and_exclusive),
      cmocka_unit_test(bad_values_are_named),
      cmocka_unit_test(unknown_and_missing),
      cmocka_unit_test(ipv6_server_and_help),
      cmocka_unit_test(durations),
      cmocka_unit_test(probe_words),
      cmocka_unit_test(tls_detect_and_client_cert),
      cmocka_unit_test(input_bound_options),
      cmocka_unit_test(durations_decimals_and_hours),
      cmocka_unit_test(help_lists_exactly_what_parser_takes),
      cmocka_unit_test(unknown_option_suggests_nearest),
      cmocka_unit_test(json_is_seen_only_as_an_option),
      cmocka_unit_test(doctor_line_carries_settings_not_secrets),
      cmocka_unit_test(doctor_protocol_by_flag_url_and_port),
      cmocka_unit_test(shell_words),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
