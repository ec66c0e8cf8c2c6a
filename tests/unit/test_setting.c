/* Unit tests: core/setting.c (setting tokens and mw_render_settings), the
 * CLI's rendering of them as flags (src/flags.c) and doctor's exit
 * statuses by cause class (src/exitcode.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"

#include "core/setting.h"
#include "exitcode.h"
#include "flags.h"

#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void table_is_complete(void **state)
{
  (void)state;
  for(unsigned i = 0; i < MW_SETTING_COUNT; i++) {
    const char *id = mw_setting_id((mw_setting)i);
    assert_non_null(id);
    assert_non_null(mw_setting_api((mw_setting)i));
    assert_int_equal(strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-"),
                     strlen(id));
    for(unsigned j = i + 1; j < MW_SETTING_COUNT; j++)
      assert_string_not_equal(id, mw_setting_id((mw_setting)j));
    /* the CLI has a flag for every setting */
    assert_string_not_equal(cli_flag_name((mw_setting)i), "?");
  }
  assert_null(mw_setting_id(MW_SETTING_COUNT));
  assert_null(mw_setting_api((mw_setting)-1));
}

static void default_rendering_is_the_api(void **state)
{
  (void)state;
  char out[256];
  static const struct {
    const char *in, *want;
  } cases[] = {
    {"use {tls=implicit} on port 465",
     "use mw_options_set_tls_mode(implicit) on port 465"},
    {"raise {greeting-timeout}", "raise mw_options_set_greeting_timeout()"},
    {"({insecure})", "(mw_options_set_tls_insecure(true))"},
    {"try {no-pipelining}", "try mw_options_set_pipelining(false)"},
    {"with {ipv4}", "with mw_options_set_family(MW_FAMILY_IPV4)"},
    {"{tls-ca-file=/a\\}b\\\\c}", "mw_options_set_tls_ca_file(/a}b\\c)"},
    /* not tokens: left as they are */
    {"{nope} {tls {TLS=x} {=x} { } {tls=unterminated",
     "{nope} {tls {TLS=x} {=x} { } {tls=unterminated"},
    {"", ""},
    {"no braces at all", "no braces at all"},
  };
  for(size_t i = 0; i < COUNT(cases); i++) {
    size_t n = mw_render_settings(cases[i].in, NULL, NULL, out, sizeof(out));
    assert_string_equal(out, cases[i].want);
    assert_int_equal(n, strlen(cases[i].want));
  }
  assert_int_equal(mw_render_settings(NULL, NULL, NULL, out, sizeof(out)),
                   0);
  assert_string_equal(out, "");
}

static void output_is_bounded(void **state)
{
  (void)state;
  char out[8];
  const char *in = "use {tls=implicit}";
  size_t need = mw_render_settings(in, NULL, NULL, out, sizeof(out));
  assert_int_equal(need, strlen("use mw_options_set_tls_mode(implicit)"));
  assert_string_equal(out, "use mw_");
  assert_int_equal(mw_render_settings(in, NULL, NULL, NULL, 0), need);
  memset(out, 'x', sizeof(out));
  mw_render_settings(in, NULL, NULL, out, 1);
  assert_int_equal(out[0], '\0');
  assert_int_equal(out[1], 'x');
}

static int upper(void *user, mw_setting s, const char *value, char *out,
                 size_t len)
{
  int *calls = user;
  (*calls)++;
  if(s == MW_SETTING_TRACE)
    return -1; /* the default for this one */
  return snprintf(out, len, "<%s:%s>", mw_setting_id(s),
                  value ? value : "-");
}

static void caller_renders(void **state)
{
  (void)state;
  char out[256];
  int calls = 0;
  mw_render_settings("a {tls=none} b {user} c {trace}", upper, &calls, out,
                     sizeof(out));
  assert_string_equal(out, "a <tls:none> b <user:-> c "
                           "mw_options_set_trace()");
  assert_int_equal(calls, 3);
}

static void escape_round_trips(void **state)
{
  (void)state;
  char esc[64], tok[80], out[80];
  const char *value = "C:\\dir}x{y";
  size_t n = mw__setting_escape(value, esc, sizeof(esc));
  assert_int_equal(n, strlen(esc));
  assert_string_equal(esc, "C:\\\\dir\\}x{y");
  snprintf(tok, sizeof(tok), "{bind=%s}", esc);
  mw_render_settings(tok, cli_flag_render, NULL, out, sizeof(out));
  assert_string_equal(out, "--bind C:\\dir}x{y");
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  assert_true(mw__sbuf_put_value(&b, value));
  assert_string_equal(b.data, esc);
  mw__sbuf_free(&b);
}

static void cli_spells_flags(void **state)
{
  (void)state;
  static const struct {
    const char *in, *want;
  } cases[] = {
    {"use {tls=implicit}", "use --tls implicit"},
    {"{tls-min=1.2} {tls-max=1.3}", "--tls-min 1.2 --tls-max 1.3"},
    {"with {ipv4} or {ipv6}", "with -4 or -6"},
    {"{user} with {password}", "--user with --password-*"},
    {"{oauth2-token=CMD}", "--oauth2-token-cmd CMD"},
    {"{server=[::1]:587} {tls=starttls} {proxy-protocol=v2}",
     "--server [::1]:587 --tls starttls --proxy-protocol v2"},
    {"a {brace} stays", "a {brace} stays"},
  };
  for(size_t i = 0; i < COUNT(cases); i++)
    assert_string_equal(cli_text(cases[i].in), cases[i].want);
  assert_null(cli_text(NULL));
  /* a text without tokens is returned as it is */
  const char *plain = "nothing to render";
  assert_ptr_equal(cli_text(plain), plain);
  /* eight results stay valid at once */
  const char *r[8];
  for(int i = 0; i < 8; i++)
    r[i] = cli_text("{trace}");
  for(int i = 0; i < 8; i++)
    assert_string_equal(r[i], "--trace");
}

/* doctor's exit statuses are a contract with scripts */
static void doctor_exit_codes(void **state)
{
  (void)state;
  static const struct {
    const char *id;
    int code;
  } want[] = {
    {"healthy", 0},          {"dns_not_found", 10},
    {"tcp_refused", 11},     {"tcp_filtered", 12},
    {"port25_blocked", 12},  {"greeting_timeout", 13},
    {"wrong_protocol", 13},  {"tls_mode_mismatch_expected_implicit", 14},
    {"tls_version_mismatch", 15}, {"cert_expired", 16},
    {"auth_failed", 17},     {"auth_server_unverified", 17},
    {"relay_denied", 18},    {"greylisted", 19},
    {"protocol_error", 20},  {"unknown_reply", 20},
    {"proxy_auth_failed", 21}, {"bind_address_unavailable", 22},
    {"tls_unavailable", 22},
  };
  for(size_t i = 0; i < COUNT(want); i++) {
    const mw_cause *c = mw_cause_find(want[i].id);
    assert_non_null(c);
    if(exitcode_for_cause(c) != want[i].code)
      fail_msg("%s: exit %d, want %d", want[i].id, exitcode_for_cause(c),
               want[i].code);
  }
  size_t n;
  const mw_cause *list = mw_cause_list(&n);
  for(size_t i = 0; i < n; i++) {
    int code = exitcode_for_cause(&list[i]);
    assert_true(code == 0 || (code >= 10 && code <= 22));
  }
  assert_int_equal(exitcode_for_cause(NULL), EXIT_SOFTWARE);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(table_is_complete),
    cmocka_unit_test(default_rendering_is_the_api),
    cmocka_unit_test(output_is_bounded),
    cmocka_unit_test(caller_renders),
    cmocka_unit_test(escape_round_trips),
    cmocka_unit_test(cli_spells_flags),
    cmocka_unit_test(doctor_exit_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
