/* Unit tests: the incoming probe's pure parts: the order of SRV records
 * (net/resolve.c mw__srv_sort), the plan of candidates a target and its
 * SRV answers give (diag/probe_in_row.c mw__probe_in_plan: SRV targets
 * first on their port, then the given host or domain, then the usual
 * names; a "." for every service of a protocol means no guesses), and the
 * ranking per protocol (mw__probe_in_rank). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "diag/probe_int.h"
#include "net/resolve.h"

#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static struct mw__srv srv(unsigned prio, unsigned weight, unsigned port,
                          const char *target)
{
  struct mw__srv s = {.priority = prio, .weight = weight, .port = port};
  snprintf(s.target, sizeof(s.target), "%s", target);
  return s;
}

static void srv_order(void **state)
{
  (void)state;
  struct mw__srv r[] = {srv(10, 1, 1, "c"), srv(0, 5, 2, "b"),
                        srv(0, 10, 3, "a"), srv(5, 0, 4, "d"),
                        srv(0, 5, 5, "b2")};
  mw__srv_sort(r, COUNT(r));
  /* priority ascending, then weight descending; equal ones keep a
   * repeatable order among themselves only as qsort gives it */
  assert_string_equal(r[0].target, "a");
  assert_true(!strcmp(r[1].target, "b") || !strcmp(r[1].target, "b2"));
  assert_true(!strcmp(r[2].target, "b") || !strcmp(r[2].target, "b2"));
  assert_string_equal(r[3].target, "d");
  assert_string_equal(r[4].target, "c");
  mw__srv_sort(NULL, 0); /* nothing to do, no crash */
}

struct want {
  const char *host;
  unsigned port;
  mw_protocol proto;
  bool guessed;
};

static void check_plan(struct mw_probe *p, const struct probe_in_cand *c,
                       size_t n, const struct want *w, size_t nw)
{
  if(n != nw) {
    for(size_t i = 0; i < n; i++)
      fprintf(stderr, "  got %s:%u %d\n", p->hosts[c[i].host].name,
              c[i].port, (int)c[i].protocol);
  }
  assert_int_equal(n, nw);
  for(size_t i = 0; i < n; i++) {
    assert_string_equal(p->hosts[c[i].host].name, w[i].host);
    assert_int_equal(c[i].port, w[i].port);
    assert_int_equal(c[i].protocol, w[i].proto);
    assert_int_equal(c[i].guessed, w[i].guessed);
  }
}

static const unsigned imap_ports[] = {993, 143}, pop3_ports[] = {995, 110};

static void plan_srv_first_then_domain_then_usual_names(void **state)
{
  (void)state;
  struct mw_probe p;
  memset(&p, 0, sizeof(p));
  struct probe_in_dns dns;
  memset(&dns, 0, sizeof(dns));
  for(size_t s = 0; s < PROBE_IN_SRV; s++)
    dns.asked[s] = true;
  /* _imaps._tcp: two targets (already sorted), one with the final dot */
  dns.srv[0][0] = srv(0, 1, 993, "mail.example.test.");
  dns.srv[0][1] = srv(10, 1, 9993, "backup.example.test");
  dns.count[0] = 2;
  /* _imap._tcp: none; _pop3s._tcp and _pop3._tcp: "." */
  dns.declined[2] = dns.declined[3] = true;
  struct probe_in_cand c[64];
  size_t n = mw__probe_in_plan(&p, "alice@example.test",
                               MW_PROBE_IMAP | MW_PROBE_POP3, imap_ports, 2,
                               pop3_ports, 2, &dns, c, COUNT(c));
  const struct want w[] = {
      {"mail.example.test", 993, MW_PROTOCOL_IMAP, false},
      {"backup.example.test", 9993, MW_PROTOCOL_IMAP, false},
      {"example.test", 993, MW_PROTOCOL_IMAP, false},
      {"example.test", 143, MW_PROTOCOL_IMAP, false},
      {"example.test", 995, MW_PROTOCOL_POP3, false},
      {"example.test", 110, MW_PROTOCOL_POP3, false},
      {"imap.example.test", 993, MW_PROTOCOL_IMAP, true},
      {"imap.example.test", 143, MW_PROTOCOL_IMAP, true},
      /* mail.example.test:993 is the SRV's already */
      {"mail.example.test", 143, MW_PROTOCOL_IMAP, true},
      /* POP3: every SRV said ".": no pop. or mail. guesses */
  };
  check_plan(&p, c, n, w, COUNT(w));
  assert_string_equal(p.hosts[0].source, "srv _imaps._tcp");
  assert_string_equal(p.hosts[2].name, "example.test");
  assert_string_equal(p.hosts[2].source, "domain");
  assert_string_equal(p.hosts[3].source, "usual name");
  assert_int_equal(p.host_count, 4);
}

static void plan_one_dot_keeps_the_guesses(void **state)
{
  (void)state;
  struct mw_probe p;
  memset(&p, 0, sizeof(p));
  struct probe_in_dns dns;
  memset(&dns, 0, sizeof(dns));
  dns.asked[2] = dns.asked[3] = true;
  dns.declined[3] = true; /* _pop3._tcp "." only: STLS not offered */
  dns.srv[2][0] = srv(0, 0, 995, "pop.example.test");
  dns.count[2] = 1;
  struct probe_in_cand c[64];
  size_t n = mw__probe_in_plan(&p, "example.test", MW_PROBE_POP3, NULL, 0,
                               pop3_ports, 1, &dns, c, COUNT(c));
  const struct want w[] = {
      {"pop.example.test", 995, MW_PROTOCOL_POP3, false},
      {"example.test", 995, MW_PROTOCOL_POP3, false},
      {"mail.example.test", 995, MW_PROTOCOL_POP3, true},
  };
  check_plan(&p, c, n, w, COUNT(w));
  assert_string_equal(p.hosts[1].source, "given");
}

static void plan_address_literal_only(void **state)
{
  (void)state;
  struct mw_probe p;
  memset(&p, 0, sizeof(p));
  struct probe_in_cand c[64];
  size_t n = mw__probe_in_plan(&p, "[::1]", MW_PROBE_IMAP, imap_ports, 2,
                               pop3_ports, 2, NULL, c, COUNT(c));
  const struct want w[] = {{"::1", 993, MW_PROTOCOL_IMAP, false},
                           {"::1", 143, MW_PROTOCOL_IMAP, false}};
  check_plan(&p, c, n, w, COUNT(w));
  memset(&p, 0, sizeof(p));
  n = mw__probe_in_plan(&p, "127.0.0.1", MW_PROBE_POP3, imap_ports, 2,
                        pop3_ports, 2, NULL, c, COUNT(c));
  assert_int_equal(n, 2);
  assert_int_equal(c[0].port, 995);
  /* bounded by max */
  memset(&p, 0, sizeof(p));
  n = mw__probe_in_plan(&p, "example.test", MW_PROBE_IMAP | MW_PROBE_POP3,
                        imap_ports, 2, pop3_ports, 2, NULL, c, 3);
  assert_int_equal(n, 3);
}

static void plan_srv_dot_target_is_no_host(void **state)
{
  (void)state;
  struct mw_probe p;
  memset(&p, 0, sizeof(p));
  struct probe_in_dns dns;
  memset(&dns, 0, sizeof(dns));
  dns.asked[0] = true;
  dns.srv[0][0] = srv(0, 0, 993, ".");
  dns.count[0] = 1;
  struct probe_in_cand c[8];
  size_t n = mw__probe_in_plan(&p, "x.test", MW_PROBE_IMAP, imap_ports, 1,
                               NULL, 0, &dns, c, COUNT(c));
  for(size_t i = 0; i < n; i++)
    assert_string_not_equal(p.hosts[c[i].host].name, ".");
  assert_string_equal(p.hosts[c[0].host].name, "x.test");
}

static struct probe_row mkrow(const char *proto, unsigned port,
                              const char *mode, const char *outcome,
                              const char *cert, bool no_login)
{
  struct probe_row r;
  memset(&r, 0, sizeof(r));
  snprintf(r.host, sizeof(r.host), "h");
  r.protocol = proto;
  r.port = port;
  r.mode = mode;
  r.outcome = outcome;
  r.cert = cert;
  r.no_login = no_login;
  return r;
}

static void rank_per_protocol(void **state)
{
  (void)state;
  struct mw_probe *p = mw__calloc(1, sizeof(*p));
  assert_non_null(p);
  const struct probe_row rows[] = {
      mkrow("imap", 143, "plain", "works", "", false),              /* 0 */
      mkrow("imap", 143, "starttls", "works", "verified", false),   /* 3 */
      mkrow("imap", 9993, "implicit", "works", "self_signed", false), /* 4 */
      mkrow("imap", 993, "implicit", "works", "verified", true),    /* 2 */
      mkrow("imap", 993, "implicit", "works", "verified", false),   /* 1 */
      mkrow("imap", 994, "implicit", "silent", "", false),          /* 0 */
      mkrow("pop3", 110, "starttls", "works", "verified", false),   /* 1 */
      mkrow("pop3", 110, "plain", "works", "", false),              /* 0 */
  };
  const unsigned want[] = {0, 3, 4, 2, 1, 0, 1, 0};
  p->rows = mw__calloc(COUNT(rows), sizeof(*p->rows));
  assert_non_null(p->rows);
  memcpy(p->rows, rows, sizeof(rows));
  p->row_count = COUNT(rows);
  mw__probe_in_rank(p);
  for(size_t i = 0; i < COUNT(rows); i++)
    assert_int_equal(p->rows[i].rank, want[i]);
  size_t best = 99;
  assert_true(mw_probe_best_of(p, "imap", &best));
  assert_int_equal(best, 4);
  assert_true(mw_probe_best_of(p, "pop3", &best));
  assert_int_equal(best, 6);
  assert_false(mw_probe_best_of(p, "smtp", &best));
  assert_string_equal(mw_probe_row_protocol(p, 6), "pop3");
  assert_string_equal(mw_probe_row_protocol(p, 99), "");
  mw_probe_free(p);
}

static void run_refuses_bad_arguments(void **state)
{
  (void)state;
  mw_options *o = mw_options_new();
  assert_non_null(o);
  mw_probe *p = (mw_probe *)1;
  /* nothing is looked up or connected to for these */
  assert_int_equal(mw_probe_run_incoming(o, "example.test", 0, NULL, NULL,
                                         &p),
                   MW_E_INVALID);
  assert_null(p);
  assert_int_equal(mw_probe_run_incoming(o, "bad name", MW_PROBE_IMAP, NULL,
                                         NULL, &p),
                   MW_E_INVALID);
  assert_int_equal(mw_probe_run_incoming(o, "alice@", MW_PROBE_IMAP, NULL,
                                         NULL, &p),
                   MW_E_INVALID);
  assert_int_equal(mw_probe_run_incoming(o, "example.test", MW_PROBE_IMAP,
                                         "0", NULL, &p),
                   MW_E_INVALID);
  assert_int_equal(mw_probe_run_incoming(o, "example.test", MW_PROBE_POP3,
                                         NULL, "110,x", &p),
                   MW_E_INVALID);
  assert_int_equal(mw_probe_run_incoming(NULL, "example.test",
                                         MW_PROBE_POP3, NULL, NULL, &p),
                   MW_E_INVALID);
  assert_int_equal(mw_probe_run_incoming(o, "example.test", MW_PROBE_POP3,
                                         NULL, NULL, NULL),
                   MW_E_INVALID);
  mw_options_free(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(srv_order),
      cmocka_unit_test(plan_srv_first_then_domain_then_usual_names),
      cmocka_unit_test(plan_one_dot_keeps_the_guesses),
      cmocka_unit_test(plan_address_literal_only),
      cmocka_unit_test(plan_srv_dot_target_is_no_host),
      cmocka_unit_test(rank_per_protocol),
      cmocka_unit_test(run_refuses_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
