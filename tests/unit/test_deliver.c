/* Unit tests: diag/deliver.c, the parsers behind doctor's deliverability
 * checks (SPF term counting, DMARC and DKIM tags, MTA-STS and TLS-RPT
 * records, DNS blocklist names), including malformed records: each gives
 * a clear result and never reads past its input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "diag/deliver.h"
#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void spf_recognised(void **state)
{
  (void)state;
  assert_true(mw__spf_is_record("v=spf1 -all"));
  assert_true(mw__spf_is_record("v=spf1"));
  assert_true(mw__spf_is_record("V=SPF1 mx"));
  assert_false(mw__spf_is_record("v=spf10 -all"));
  assert_false(mw__spf_is_record("v=spf1x"));
  assert_false(mw__spf_is_record(" v=spf1"));
  assert_false(mw__spf_is_record("v=DMARC1; p=none"));
  assert_false(mw__spf_is_record(""));
  assert_false(mw__spf_is_record(NULL));
}

static void spf_counts_querying_terms(void **state)
{
  (void)state;
  struct mw__spf_scan s;
  assert_true(mw__spf_scan("v=spf1 -all", &s));
  assert_int_equal(s.lookups, 0);
  assert_true(s.has_all);
  assert_true(mw__spf_scan("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 "
                           "ip4:198.51.100.7 ~all", &s));
  assert_int_equal(s.lookups, 0);
  assert_true(mw__spf_scan("v=spf1 a mx ptr a:mail.example.test/24 "
                           "mx:example.test//64 a/24//64 "
                           "exists:%{i}.x.example.test "
                           "include:_spf.example.test -all", &s));
  assert_int_equal(s.lookups, 8);
  assert_int_equal(s.ntargets, 1);
  assert_string_equal(s.targets[0], "_spf.example.test");
  assert_int_equal(s.macro_targets, 0); /* exists: is not followed */
  assert_true(mw__spf_scan("v=spf1 redirect=_spf.example.test", &s));
  assert_int_equal(s.lookups, 1);
  assert_true(s.has_redirect);
  assert_string_equal(s.targets[0], "_spf.example.test");
  assert_true(mw__spf_scan("v=spf1 include:%{d}.example.test "
                           "exp=explain.example.test foo=bar ?all", &s));
  assert_int_equal(s.lookups, 1);
  assert_int_equal(s.ntargets, 0);
  assert_int_equal(s.macro_targets, 1);
  /* eleven includes: the caller compares with the limit */
  char rec[1024] = "v=spf1";
  for(int i = 0; i < 11; i++)
    snprintf(rec + strlen(rec), sizeof(rec) - strlen(rec),
             " include:s%d.example.test", i);
  assert_true(mw__spf_scan(rec, &s));
  assert_int_equal(s.lookups, 11);
  assert_true(s.lookups > MW__SPF_LOOKUP_LIMIT);
  assert_int_equal(s.ntargets, 11);
}

static void spf_syntax_errors(void **state)
{
  (void)state;
  static const char *const bad[] = {
      "v=spf1 include",            "v=spf1 include:",
      "v=spf1 ip4:999.1.1.1",      "v=spf1 ip4:192.0.2.1/33",
      "v=spf1 ip6:2001:db8::/129", "v=spf1 ip4",
      "v=spf1 all:foo",            "v=spf1 foo -all",
      "v=spf1 a:/24",              "v=spf1 mx/",
      "v=spf1 a/024",              "v=spf1 ptr/24",
      "v=spf1 redirect=",          "v=spf1 redirect=a.test redirect=b.test",
      "v=spf1 exp=a.test exp=b.test", "v=spf1 1bad=x",
      "v=spf1 include:bad..name",  "v=spf1 \x01",
      "v=spf1 ip4:192.0.2.1/",     "v=spf1 a//",
      "spf1 -all",                 "",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct mw__spf_scan s;
    if(mw__spf_scan(bad[i], &s))
      fail_msg("accepted: '%s'", bad[i]);
    assert_true(s.error[0] != '\0');
  }
  struct mw__spf_scan s;
  assert_false(mw__spf_scan("v=spf1 mx include", &s));
  assert_int_equal(s.lookups, 1); /* counted up to the bad term */
  assert_non_null(strstr(s.error, "include"));
}

static void spf_long_and_odd_input(void **state)
{
  (void)state;
  size_t n = 20000;
  char *rec = malloc(n + 1);
  assert_non_null(rec);
  memcpy(rec, "v=spf1 ", 7);
  for(size_t i = 7; i < n; i++)
    rec[i] = i % 10 == 9 ? ' ' : 'a';
  rec[n] = '\0';
  struct mw__spf_scan s;
  assert_false(mw__spf_scan(rec, &s)); /* "aaaaaaaaa" is no mechanism */
  /* many includes: targets are capped, lookups still counted */
  size_t len = 7;
  for(int i = 0; i < 40; i++)
    len += (size_t)snprintf(rec + len, n - len, "include:t%d.test ", i);
  rec[len] = '\0';
  assert_true(mw__spf_scan(rec, &s));
  assert_int_equal(s.lookups, 40);
  assert_int_equal(s.ntargets, MW__SPF_MAX_TARGETS);
  /* a very long domain is refused, not truncated */
  memset(rec + 15, 'b', 400);
  memcpy(rec, "v=spf1 include:", 15);
  rec[415] = '\0';
  assert_false(mw__spf_scan(rec, &s));
  free(rec);
  assert_true(mw__spf_scan("v=spf1    mx   -all  ", &s));
  assert_int_equal(s.lookups, 1);
}

static void tags_are_read(void **state)
{
  (void)state;
  char v[64];
  assert_true(mw__tag_value("v=DMARC1; p = reject ;rua=mailto:a@b", "p", v,
                            sizeof(v)));
  assert_string_equal(v, "reject");
  assert_true(mw__tag_value("v=DMARC1;p=none;RUA=mailto:x@y.test", "rua",
                            v, sizeof(v)));
  assert_string_equal(v, "mailto:x@y.test");
  assert_false(mw__tag_value("v=DMARC1; p=none", "sp", v, sizeof(v)));
  assert_string_equal(v, "");
  assert_true(mw__tag_value("a=;b=2", "a", v, sizeof(v)));
  assert_string_equal(v, "");
  assert_false(mw__tag_value("", "a", v, sizeof(v)));
  assert_false(mw__tag_value(";;;", "a", v, sizeof(v)));
  assert_false(mw__tag_value("ap=1", "p", v, sizeof(v)));
  assert_true(mw__tag_value("p=0123456789abcdefghijklmnopqrstuvwxyz"
                            "0123456789abcdefghijklmnopqrstuvwxyz",
                            "p", v, 8)); /* truncated to the buffer */
  assert_string_equal(v, "0123456");
}

static void dmarc_records(void **state)
{
  (void)state;
  struct mw__dmarc d;
  assert_true(mw__dmarc_is_record("v=DMARC1; p=none"));
  assert_true(mw__dmarc_is_record("v = DMARC1 ;p=none"));
  assert_false(mw__dmarc_is_record("p=none; v=DMARC1"));
  assert_false(mw__dmarc_is_record("v=DMARC10; p=none"));
  assert_false(mw__dmarc_is_record("v=spf1 -all"));
  assert_true(mw__dmarc_parse("v=DMARC1; p=reject; sp=quarantine; pct=50; "
                              "rua=mailto:d@example.test", &d));
  assert_string_equal(d.policy, "reject");
  assert_string_equal(d.subpolicy, "quarantine");
  assert_int_equal(d.pct, 50);
  assert_string_equal(d.rua, "mailto:d@example.test");
  assert_true(mw__dmarc_parse("v=DMARC1;p=None", &d));
  assert_string_equal(d.policy, "none");
  assert_int_equal(d.pct, 100);
  assert_string_equal(d.rua, "");
  static const char *const bad[] = {
      "v=DMARC1",          "v=DMARC1; p=",       "v=DMARC1; p=drop",
      "v=DMARC1; p=none; pct=101", "v=DMARC1; p=none; pct=x",
      "v=DMARC1; p=none; pct=", "v=DMARC1; p=none; sp=maybe",
      "p=reject",          "",                   "v=DMARC1 p=reject",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if(mw__dmarc_parse(bad[i], &d))
      fail_msg("accepted: '%s'", bad[i]);
    assert_true(d.error[0] != '\0');
  }
}

static void dkim_records(void **state)
{
  (void)state;
  struct mw__dkim k;
  assert_true(mw__dkim_parse("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEB", &k));
  assert_string_equal(k.key_type, "rsa");
  assert_int_equal(k.key_len, 20);
  assert_true(mw__dkim_parse("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPap"
                             "iMlrwIaaPcHURo=", &k));
  assert_string_equal(k.key_type, "ed25519");
  assert_true(mw__dkim_parse("p=MIGf MA0G\tCSqG", &k)); /* blanks inside */
  assert_int_equal(k.key_len, 12);
  assert_false(mw__dkim_parse("v=DKIM1; p=", &k));
  assert_true(k.revoked);
  assert_false(mw__dkim_parse("v=DKIM1; p= ;", &k));
  assert_true(k.revoked);
  assert_false(mw__dkim_parse("v=DKIM1; k=rsa", &k));
  assert_false(k.revoked);
  assert_non_null(strstr(k.error, "p="));
  assert_false(mw__dkim_parse("k=rsa; v=DKIM1; p=abc", &k));
  assert_false(mw__dkim_parse("v=DKIM1; p=ab$c", &k));
  assert_false(mw__dkim_parse("", &k));
  assert_false(mw__dkim_parse(";;;;", &k));
}

static void mta_sts_and_tls_rpt(void **state)
{
  (void)state;
  char v[256], why[160];
  assert_true(mw__mta_sts_parse("v=STSv1; id=20260101T000000", v, sizeof(v),
                                why, sizeof(why)));
  assert_string_equal(v, "20260101T000000");
  assert_false(mw__mta_sts_parse("v=STSv1;", v, sizeof(v), why,
                                 sizeof(why)));
  assert_non_null(strstr(why, "id="));
  assert_false(mw__mta_sts_parse("v=STSv1; id=has-dash", v, sizeof(v), why,
                                 sizeof(why)));
  assert_false(mw__mta_sts_parse("v=STSv1; id=123456789012345678901234567"
                                 "890123", v, sizeof(v), why, sizeof(why)));
  assert_false(mw__mta_sts_parse("id=1; v=STSv1", v, sizeof(v), why,
                                 sizeof(why)));
  assert_true(mw__tls_rpt_parse("v=TLSRPTv1; rua=mailto:tls@example.test",
                                v, sizeof(v), why, sizeof(why)));
  assert_string_equal(v, "mailto:tls@example.test");
  assert_true(mw__tls_rpt_parse("v=TLSRPTv1;rua=mailto:a@x.test,"
                                "https://r.x.test/v1", v, sizeof(v), why,
                                sizeof(why)));
  assert_false(mw__tls_rpt_parse("v=TLSRPTv1", v, sizeof(v), why,
                                 sizeof(why)));
  assert_false(mw__tls_rpt_parse("v=TLSRPTv1; rua=ftp://x", v, sizeof(v),
                                 why, sizeof(why)));
  assert_false(mw__tls_rpt_parse("", v, sizeof(v), why, sizeof(why)));
}

static void dnsbl_names(void **state)
{
  (void)state;
  char n[300];
  assert_true(mw__dnsbl_name("127.0.0.1", "bl.example.test", n, sizeof(n)));
  assert_string_equal(n, "1.0.0.127.bl.example.test");
  assert_true(mw__dnsbl_name("192.0.2.99", "zen.spamhaus.org", n,
                             sizeof(n)));
  assert_string_equal(n, "99.2.0.192.zen.spamhaus.org");
  static const char *const bad_ip[] = {"", "1.2.3", "1.2.3.4.5", "::1",
                                       "256.1.1.1", "1.2.3.4:25",
                                       "a.b.c.d", " 1.2.3.4"};
  for(size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++) {
    assert_false(mw__dnsbl_name(bad_ip[i], "bl.test", n, sizeof(n)));
    assert_string_equal(n, "");
  }
  assert_false(mw__dnsbl_name("1.2.3.4", "", n, sizeof(n)));
  assert_false(mw__dnsbl_name("1.2.3.4", "bad zone", n, sizeof(n)));
  assert_false(mw__dnsbl_name("1.2.3.4", "a..b", n, sizeof(n)));
  assert_false(mw__dnsbl_name("1.2.3.4", "bl.test", n, 10)); /* too small */
  assert_string_equal(n, "");
  assert_false(mw__dnsbl_name(NULL, "bl.test", n, sizeof(n)));
  uint8_t listed[4] = {127, 0, 0, 2}, refused[4] = {127, 255, 255, 254},
          odd[4] = {10, 0, 0, 1};
  assert_int_equal(mw__dnsbl_classify(listed), MW__DNSBL_LISTED);
  assert_int_equal(mw__dnsbl_classify(refused), MW__DNSBL_REFUSED);
  assert_int_equal(mw__dnsbl_classify(odd), MW__DNSBL_ODD);
}

static void zone_lists(void **state)
{
  (void)state;
  const char *p = " zen.example, ,bl.example.test ,";
  char z[256];
  assert_true(mw__next_zone(&p, z, sizeof(z)));
  assert_string_equal(z, "zen.example");
  assert_true(mw__next_zone(&p, z, sizeof(z)));
  assert_string_equal(z, "bl.example.test");
  assert_false(mw__next_zone(&p, z, sizeof(z)));
  p = "";
  assert_false(mw__next_zone(&p, z, sizeof(z)));
  assert_true(mw__dns_name_ok("example.test."));
  assert_true(mw__dns_name_ok("_dmarc.example.test"));
  assert_false(mw__dns_name_ok("."));
  assert_false(mw__dns_name_ok("a b"));
  assert_false(mw__dns_name_ok(""));
  char label[80];
  memset(label, 'a', 64);
  label[64] = '\0';
  assert_false(mw__dns_name_ok(label));
}

static void options_validate(void **state)
{
  (void)state;
  mw_options *o = mw_options_new();
  assert_non_null(o);
  assert_int_equal(mw_options_set_sender_domain(o, "example.test"), MW_OK);
  assert_int_equal(mw_options_set_sender_domain(o, "a@b"), MW_E_INVALID);
  assert_int_equal(mw_options_set_sender_domain(o, NULL), MW_OK);
  assert_int_equal(mw_options_set_dkim_selector(o, "s2026"), MW_OK);
  assert_int_equal(mw_options_set_dkim_selector(o, "s 1"), MW_E_INVALID);
  assert_int_equal(mw_options_set_dnsbl_zones(o, "a.test,b.test"), MW_OK);
  assert_int_equal(mw_options_set_dnsbl_zones(o, ","), MW_E_INVALID);
  assert_int_equal(mw_options_set_dnsbl_zones(o, "a.test,b c"),
                   MW_E_INVALID);
  mw_options_free(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spf_recognised),
      cmocka_unit_test(spf_counts_querying_terms),
      cmocka_unit_test(spf_syntax_errors),
      cmocka_unit_test(spf_long_and_odd_input),
      cmocka_unit_test(tags_are_read),
      cmocka_unit_test(dmarc_records),
      cmocka_unit_test(dkim_records),
      cmocka_unit_test(mta_sts_and_tls_rpt),
      cmocka_unit_test(dnsbl_names),
      cmocka_unit_test(zone_lists),
      cmocka_unit_test(options_validate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
