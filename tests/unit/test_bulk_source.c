/* Unit tests: src/bulk_source.c, the messages of a bulk send (a directory
 * of .eml files, an mbox, JSON lines) and their errors; and the bulk
 * options of src/args.c (--connections, --rate, the rules). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "args.h"
#include "bulk_source.h"
#include "exitcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/mw-bulk-unit-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static const char *put(const char *name, const char *text)
{
  static char path[8][512];
  static int k;
  char *p = path[k++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static char *slurp_fd(int fd)
{
  static char buf[4096];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  assert_true(n >= 0);
  buf[n] = '\0';
  return buf;
}

/* Every item of one source; returns the count, or the error code. */
static int drain(const char *source, bool materialize, char *err,
                 size_t errlen)
{
  const char *srcs[] = {source};
  struct bulk_source *s = bulk_source_new(NULL, 0, srcs, 1);
  assert_non_null(s);
  struct bulk_item it;
  bulk_item_init(&it);
  int n = 0, rc;
  while((rc = bulk_source_next(s, materialize, &it, err, errlen)) == 1)
    n++;
  bulk_item_clear(&it);
  bulk_source_free(s);
  return rc ? -rc : n;
}

static void test_directory_sorted_eml_only(void **state)
{
  (void)state;
  char d[300];
  snprintf(d, sizeof(d), "%s/box", dir);
  assert_int_equal(mkdir(d, 0700), 0);
  put("box/b.eml", "Subject: b\n\nb\n");
  put("box/a.eml", "Subject: a\n\na\n");
  put("box/.hidden.eml", "x\n");
  put("box/notes.txt", "x\n");
  const char *files[] = {put("first.eml", "Subject: 1\n\n1\n")};
  const char *srcs[] = {d};
  struct bulk_source *s = bulk_source_new(files, 1, srcs, 1);
  struct bulk_item it;
  bulk_item_init(&it);
  char err[512];
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 1);
  assert_int_equal(it.seq, 1);
  assert_string_equal(it.path, files[0]);
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 1);
  assert_int_equal(it.seq, 2);
  assert_non_null(strstr(it.path, "/box/a.eml"));
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 1);
  assert_non_null(strstr(it.path, "/box/b.eml"));
  assert_int_equal(it.seq, 3);
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 0);
  bulk_item_clear(&it);
  bulk_source_free(s);
}

static void test_mbox_split_and_unquote(void **state)
{
  (void)state;
  const char *mb = put("box.mbox",
                       "From a@x Mon Jan  1 00:00:00 2026\n"
                       "Subject: one\n\nline\nFrom inside, no empty line "
                       "before: not a separator\n\n"
                       "From b@x Mon Jan  1 00:00:00 2026\n"
                       "Subject: two\n\n>From quoted\n>>From twice\n\n\n"
                       "From c@x Mon Jan  1 00:00:00 2026\n"
                       "Subject: three\n\nlast\n");
  char err[512];
  assert_int_equal(drain(mb, false, err, sizeof(err)), 3);
  const char *srcs[] = {mb};
  struct bulk_source *s = bulk_source_new(NULL, 0, srcs, 1);
  struct bulk_item it;
  bulk_item_init(&it);
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 1);
  assert_true(it.fd >= 0);
  assert_string_equal(slurp_fd(it.fd),
                      "Subject: one\n\nline\nFrom inside, no empty line "
                      "before: not a separator\n");
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 1);
  /* one '>' less; of two empty lines, the last is the format's */
  assert_string_equal(slurp_fd(it.fd),
                      "Subject: two\n\nFrom quoted\n>From twice\n\n");
  assert_non_null(strstr(it.name, "box.mbox #2"));
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 1);
  assert_string_equal(slurp_fd(it.fd), "Subject: three\n\nlast\n");
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 0);
  bulk_item_clear(&it);
  bulk_source_free(s);
}

static void test_jsonl(void **state)
{
  (void)state;
  put("m1.eml", "Subject: 1\n\n1\n");
  const char *jl = put("ok.jsonl",
                       "{\"file\": \"m1.eml\", \"from\": \"A <a@x.org>\", "
                       "\"to\": [\"b@x.org\", \"C <c@x.org>\"]}\n"
                       "\n"
                       "{\"file\": \"m1.eml\", \"to\": \"d@x.org\", "
                       "\"from\": \"\"}\n");
  const char *srcs[] = {jl};
  struct bulk_source *s = bulk_source_new(NULL, 0, srcs, 1);
  struct bulk_item it;
  bulk_item_init(&it);
  char err[512];
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 1);
  assert_string_equal(it.from, "a@x.org");
  assert_int_equal(it.nto, 2);
  assert_string_equal(it.to[1], "c@x.org");
  assert_non_null(strstr(it.path, "/m1.eml")); /* the JSON file's dir */
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 1);
  assert_string_equal(it.from, ""); /* the null sender */
  assert_int_equal(it.nto, 1);
  assert_non_null(strstr(it.name, "ok.jsonl:3"));
  assert_int_equal(bulk_source_next(s, true, &it, err, sizeof(err)), 0);
  bulk_item_clear(&it);
  bulk_source_free(s);
}

static void expect_bad(const char *name, const char *text, int code,
                       const char *needle)
{
  char err[512] = "";
  int rc = drain(put(name, text), false, err, sizeof(err));
  assert_int_equal(rc, -code);
  if(!strstr(err, needle))
    fail_msg("'%s' not in '%s'", needle, err);
}

static void test_jsonl_errors_name_the_line(void **state)
{
  (void)state;
  put("m1.eml", "Subject: 1\n\n1\n");
  expect_bad("b1.jsonl", "{\"file\": \"m1.eml\"}\n{\"file\": \"m1.eml\"\n",
             EXIT_DATAERR, "b1.jsonl line 2 is not JSON");
  expect_bad("b2.jsonl", "{\"file\": \"m1.eml\", \"too\": [\"a@x.org\"]}\n",
             EXIT_DATAERR, "line 1: unknown key \"too\"");
  expect_bad("b3.jsonl", "{\"file\": \"m1.eml\", \"to\": [1]}\n",
             EXIT_DATAERR, "line 1: \"to\" must hold a string");
  expect_bad("b4.jsonl", "{\"from\": \"a@x.org\"}\n", EXIT_DATAERR,
             "line 1: \"file\"");
  expect_bad("b5.jsonl", "\n\n{\"file\": \"nowhere.eml\"}\n", EXIT_NOINPUT,
             "b5.jsonl line 3");
  expect_bad("b6.jsonl", "{\"file\": \"m1.eml\", \"to\": \"a@x, b@y\"}\n",
             EXIT_DATAERR, "is not one address");
  expect_bad("b7.jsonl", "{\"file\": \"m1.eml\", \"to\": []}\n",
             EXIT_DATAERR, "1 to 1000");
  expect_bad("b8.jsonl", "{\"file\": \"m1.eml\"}\n[1, 2]\n", EXIT_DATAERR,
             "line 2 is not a JSON object");
  expect_bad("b9.jsonl",
             "{\"file\": \"m1.eml\", \"file\": \"m1.eml\"}\n", EXIT_DATAERR,
             "line 1 is not JSON");
  expect_bad("neither.txt", "hello\n", EXIT_DATAERR,
             "neither a directory, an mbox");
  char err[512];
  assert_int_equal(drain("/nonexistent/mw-bulk", false, err, sizeof(err)),
                   -EXIT_NOINPUT);
}

/* ---- the options ------------------------------------------------------- */

static int parse(struct send_args *a, char *err, size_t errlen, int argc,
                 const char **argv)
{
  return cli_parse_send(argc, (char **)argv, a, err, errlen);
}

static void test_bulk_options(void **state)
{
  (void)state;
  struct send_args *a = calloc(1, sizeof(*a));
  char err[512];
  const char *ok[] = {"--server", "mx:25", "--messages", "d",
                      "--connections", "4", "--rate", "600/m"};
  assert_int_equal(parse(a, err, sizeof(err), 8, ok), 0);
  assert_true(a->bulk);
  assert_int_equal(a->connections, 4);
  assert_true(a->rate > 9.99 && a->rate < 10.01);
  /* two --message: bulk, no --from/--to needed */
  const char *two[] = {"--server", "mx:25", "--message", "a.eml",
                       "--message", "b.eml"};
  assert_int_equal(parse(a, err, sizeof(err), 6, two), 0);
  assert_true(a->bulk);
  assert_int_equal(a->message_files.count, 2);
  /* one --message: the single send, unchanged (--from required) */
  const char *one[] = {"--server", "mx:25", "--message", "a.eml"};
  assert_int_equal(parse(a, err, sizeof(err), 4, one), -1);
  assert_non_null(strstr(err, "--from is required"));
  const char *bad_conn[] = {"--server", "mx:25", "--messages", "d",
                            "--connections", "33"};
  assert_int_equal(parse(a, err, sizeof(err), 6, bad_conn), -1);
  assert_non_null(strstr(err, "--connections"));
  const char *stdin_msg[] = {"--server", "mx:25", "--message", "-",
                             "--message", "b.eml"};
  assert_int_equal(parse(a, err, sizeof(err), 6, stdin_msg), -1);
  assert_non_null(strstr(err, "standard input"));
  cli_args_free(a);
  double r = 0;
  assert_true(cli_parse_rate("10/s", &r) && r == 10.0);
  assert_true(cli_parse_rate("2", &r) && r == 2.0);
  assert_true(cli_parse_rate("3600/h", &r) && r == 1.0);
  assert_true(cli_parse_rate("0.5/s", &r) && r == 0.5);
  assert_false(cli_parse_rate("0/s", &r));
  assert_false(cli_parse_rate("-1/s", &r));
  assert_false(cli_parse_rate("10/d", &r));
  assert_false(cli_parse_rate("5000/s", &r));
  assert_false(cli_parse_rate("fast", &r));
  assert_false(cli_parse_rate("", &r));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_directory_sorted_eml_only, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_mbox_split_and_unquote, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_jsonl, setup, teardown),
      cmocka_unit_test_setup_teardown(test_jsonl_errors_name_the_line, setup,
                                      teardown),
      cmocka_unit_test(test_bulk_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
