/* Unit tests: fetch state (lib/store/fetch_state.c): UID ranges, durable
 * adds, a truncated or damaged last line, damage elsewhere, UIDVALIDITY
 * change, POP3 prune, the lock, compaction on close. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "store/fetch_state.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static int setup(void **state)
{
  char *dir = strdup("/tmp/mw-fstate-test-XXXXXX");
  assert_non_null(mkdtemp(dir));
  *state = dir;
  return 0;
}

static int teardown(void **state)
{
  nftw(*state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(*state);
  return 0;
}

static mw_fetch_state *open_imap(const char *dir)
{
  mw_fetch_state *st;
  mw_status rc = mw_fetch_state_open(dir, "alice@imap.example:993", "INBOX",
                                     MW_FETCH_STATE_IMAP, &st);
  if(rc != MW_OK)
    fail_msg("open: %s", mw_error_message(mw_fetch_state_error(st)));
  return st;
}

static char *slurp(const char *path)
{
  static char buf[1 << 20];
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

static void imap_ranges_persist(void **state)
{
  char *dir = *state;
  mw_fetch_state *st = open_imap(dir);
  assert_false(mw_fetch_state_uidvalidity(st, NULL));
  assert_int_equal(mw_fetch_state_add_uid(st, 3), MW_E_STATE);
  bool reset = true;
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 1234, &reset), MW_OK);
  assert_false(reset);
  static const uint32_t uids[] = {5, 3, 4, 1, 9, 2, 11, 10, 4294967295u};
  for(size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++)
    assert_int_equal(mw_fetch_state_add_uid(st, uids[i]), MW_OK);
  assert_int_equal(mw_fetch_state_add(st, "7"), MW_OK);
  assert_int_equal(mw_fetch_state_add(st, "7"), MW_OK); /* again: fine */
  assert_int_equal(mw_fetch_state_add(st, "0"), MW_E_INVALID);
  assert_int_equal(mw_fetch_state_add(st, "4294967296"), MW_E_INVALID);
  assert_int_equal(mw_fetch_state_add(st, "12a"), MW_E_INVALID);
  assert_int_equal(mw_fetch_state_count(st), 10);
  /* Durable before close: a second reader in another process sees it, so
   * read the file as text instead. */
  char path[512];
  snprintf(path, sizeof(path), "%s", mw_fetch_state_path(st));
  assert_non_null(strstr(slurp(path), "+ 4294967295\n"));
  assert_int_equal(mw_fetch_state_close(st), MW_OK);
  assert_non_null(strstr(slurp(path), "uids 1-5,7,9-11,4294967295\n"));
  assert_null(strstr(slurp(path), "+ "));
  mw_fetch_state_free(st);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);

  st = open_imap(dir);
  uint32_t uv = 0;
  assert_true(mw_fetch_state_uidvalidity(st, &uv));
  assert_int_equal(uv, 1234);
  for(uint32_t u = 1; u <= 12; u++)
    assert_int_equal(mw_fetch_state_contains_uid(st, u),
                     u <= 5 || u == 7 || (u >= 9 && u <= 11));
  assert_true(mw_fetch_state_contains(st, "4294967295"));
  assert_false(mw_fetch_state_contains(st, "6"));
  assert_int_equal(mw_fetch_state_add_uid(st, 6), MW_OK); /* joins 1-7 */
  assert_int_equal(mw_fetch_state_add_uid(st, 8), MW_OK); /* joins 1-11 */
  assert_int_equal(mw_fetch_state_count(st), 12);
  assert_int_equal(mw_fetch_state_close(st), MW_OK);
  assert_non_null(strstr(slurp(path), "uids 1-11,4294967295\n"));
  mw_fetch_state_free(st);
}

static void truncated_last_line_ignored(void **state)
{
  char *dir = *state;
  mw_fetch_state *st = open_imap(dir);
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 7, NULL), MW_OK);
  assert_int_equal(mw_fetch_state_add_uid(st, 1), MW_OK);
  assert_int_equal(mw_fetch_state_add_uid(st, 2), MW_OK);
  char path[512];
  snprintf(path, sizeof(path), "%s", mw_fetch_state_path(st));
  /* Killed: no close, no compaction.  Then a write cut short. */
  FILE *f = fopen(path, "a");
  fputs("+ 12", f);
  fclose(f);
  mw_fetch_state_free(st); /* frees: would compact; undo by re-appending */
  f = fopen(path, "a");
  fputs("+ 3\n+ 12", f);
  fclose(f);
  st = open_imap(dir);
  assert_true(mw_fetch_state_contains_uid(st, 3));
  assert_false(mw_fetch_state_contains_uid(st, 12));
  assert_false(mw_fetch_state_contains_uid(st, 1234));
  /* The partial line was cut, so the next record stands on its own. */
  assert_int_equal(mw_fetch_state_add_uid(st, 20), MW_OK);
  assert_non_null(strstr(slurp(path), "\n+ 3\n+ 20\n"));
  mw_fetch_state_free(st);
  /* A complete but garbled last line (torn by a power cut) too. */
  f = fopen(path, "a");
  fputs("+ 2\0003\n", f);
  fputs("uids 1-\n", f);
  fclose(f);
  st = open_imap(dir);
  assert_int_equal(mw_error_status(mw_fetch_state_error(st)), MW_OK);
  assert_true(mw_fetch_state_contains_uid(st, 20));
  mw_fetch_state_free(st);
}

static void damage_elsewhere_is_an_error(void **state)
{
  char *dir = *state;
  mw_fetch_state *st = open_imap(dir);
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 7, NULL), MW_OK);
  char path[512];
  snprintf(path, sizeof(path), "%s", mw_fetch_state_path(st));
  mw_fetch_state_free(st);
  FILE *f = fopen(path, "a");
  fputs("+ 1\nbogus record\n+ 2\n", f);
  fclose(f);
  assert_int_equal(mw_fetch_state_open(dir, "alice@imap.example:993",
                                       "INBOX", MW_FETCH_STATE_IMAP, &st),
                   MW_E_IO);
  const char *m = mw_error_message(mw_fetch_state_error(st));
  char want[600];
  snprintf(want, sizeof(want), "%s:4:", path);
  assert_non_null(strstr(m, want));
  mw_fetch_state_free(st);
  /* Untouched by the failed open. */
  assert_non_null(strstr(slurp(path), "bogus record\n+ 2\n"));
  /* A line of 100,000 bytes: bounded, and an error when not last. */
  FILE *h = fopen(path, "w");
  fputs("mailwire-fetch-state 1 imap\nuidvalidity 7\n", h);
  for(int i = 0; i < 100000; i++)
    fputc('9', h);
  fputs("\n+ 2\n", h);
  fclose(h);
  assert_int_equal(mw_fetch_state_open(dir, "alice@imap.example:993",
                                       "INBOX", MW_FETCH_STATE_IMAP, &st),
                   MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_fetch_state_error(st)), ":3:"));
  mw_fetch_state_free(st);
  /* A POP3 state file is not an IMAP one. */
  FILE *g = fopen(path, "w");
  fputs("mailwire-fetch-state 1 pop3\n+ x\n", g);
  fclose(g);
  assert_int_equal(mw_fetch_state_open(dir, "alice@imap.example:993",
                                       "INBOX", MW_FETCH_STATE_IMAP, &st),
                   MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_fetch_state_error(st)), ":1:"));
  mw_fetch_state_free(st);
}

static void uidvalidity_change_resets(void **state)
{
  char *dir = *state;
  mw_fetch_state *st = open_imap(dir);
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 100, NULL), MW_OK);
  assert_int_equal(mw_fetch_state_add_uid(st, 1), MW_OK);
  assert_int_equal(mw_fetch_state_add_uid(st, 2), MW_OK);
  bool reset = true;
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 100, &reset), MW_OK);
  assert_false(reset);
  assert_true(mw_fetch_state_contains_uid(st, 2));
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 200, &reset), MW_OK);
  assert_true(reset);
  assert_false(mw_fetch_state_contains_uid(st, 1));
  assert_int_equal(mw_fetch_state_count(st), 0);
  mw_fetch_state_free(st);
  /* Durable: a crash right after (no close) keeps the reset. */
  st = open_imap(dir);
  uint32_t uv;
  assert_true(mw_fetch_state_uidvalidity(st, &uv));
  assert_int_equal(uv, 200);
  assert_false(mw_fetch_state_contains_uid(st, 1));
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 0, NULL),
                   MW_E_INVALID);
  mw_fetch_state_free(st);
  /* Another mailbox of the same account has its own file. */
  assert_int_equal(mw_fetch_state_open(dir, "alice@imap.example:993",
                                       "Sent", MW_FETCH_STATE_IMAP, &st),
                   MW_OK);
  assert_false(mw_fetch_state_uidvalidity(st, NULL));
  mw_fetch_state_free(st);
}

static void pop3_uidls_and_prune(void **state)
{
  char *dir = *state;
  mw_fetch_state *st;
  assert_int_equal(mw_fetch_state_open(dir, "bob@pop.example:995", NULL,
                                       MW_FETCH_STATE_POP3, &st),
                   MW_OK);
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 1, NULL),
                   MW_E_INVALID);
  assert_int_equal(mw_fetch_state_add(st, "a b"), MW_E_INVALID);
  assert_int_equal(mw_fetch_state_add(st, ""), MW_E_INVALID);
  for(int i = 0; i < 200; i++) {
    char id[32];
    snprintf(id, sizeof(id), "UID-%d~!", i);
    assert_int_equal(mw_fetch_state_add(st, id), MW_OK);
  }
  assert_int_equal(mw_fetch_state_count(st), 200);
  mw_fetch_state_free(st);
  assert_int_equal(mw_fetch_state_open(dir, "bob@pop.example:995", NULL,
                                       MW_FETCH_STATE_POP3, &st),
                   MW_OK);
  assert_int_equal(mw_fetch_state_count(st), 200);
  assert_true(mw_fetch_state_contains(st, "UID-199~!"));
  const char *present[] = {"UID-5~!", "UID-7~!", "new-one", "UID-5~!"};
  size_t removed = 0;
  assert_int_equal(mw_fetch_state_prune(st, present, 4, &removed), MW_OK);
  assert_int_equal(removed, 198);
  assert_int_equal(mw_fetch_state_count(st), 2);
  assert_false(mw_fetch_state_contains(st, "new-one"));
  mw_fetch_state_free(st); /* no close: the prune itself was durable */
  assert_int_equal(mw_fetch_state_open(dir, "bob@pop.example:995", NULL,
                                       MW_FETCH_STATE_POP3, &st),
                   MW_OK);
  assert_int_equal(mw_fetch_state_count(st), 2);
  assert_true(mw_fetch_state_contains(st, "UID-7~!"));
  assert_false(mw_fetch_state_contains(st, "UID-8~!"));
  mw_fetch_state_free(st);
}

static void locked_while_open(void **state)
{
  char *dir = *state;
  mw_fetch_state *st = open_imap(dir);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if(pid == 0) {
    mw_fetch_state *other;
    mw_status rc = mw_fetch_state_open(dir, "alice@imap.example:993",
                                       "INBOX", MW_FETCH_STATE_IMAP, &other);
    mw_fetch_state_free(other);
    mw_fetch_state_free(st); /* the parent's copy: nothing to write */
    _exit(rc == MW_E_STATE ? 0 : 1);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  mw_fetch_state_free(st);
}

static void compacts_when_large(void **state)
{
  mw_fetch_state *st = open_imap(*state);
  st->compact_at = 10;
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 5, NULL), MW_OK);
  for(uint32_t u = 1; u <= 25; u++)
    assert_int_equal(mw_fetch_state_add_uid(st, u * 2), MW_OK);
  /* Rewritten twice (after 11 and 22 records): 3 journal records left. */
  assert_int_equal(st->journal_lines, 3);
  char path[512];
  snprintf(path, sizeof(path), "%s", mw_fetch_state_path(st));
  const char *text = slurp(path);
  assert_non_null(strstr(text, "uids 2,4,6,"));
  assert_non_null(strstr(text, ",44\n+ 46\n+ 48\n+ 50\n"));
  mw_fetch_state_free(st);
  st = open_imap(*state);
  assert_int_equal(mw_fetch_state_count(st), 25);
  assert_true(mw_fetch_state_contains_uid(st, 50));
  assert_false(mw_fetch_state_contains_uid(st, 49));
  mw_fetch_state_free(st);
}

static void bad_arguments(void **state)
{
  mw_fetch_state *st;
  assert_int_equal(mw_fetch_state_open(*state, "", "INBOX",
                                       MW_FETCH_STATE_IMAP, &st),
                   MW_E_INVALID);
  mw_fetch_state_free(st);
  assert_int_equal(mw_fetch_state_open(*state, "a\nb", "INBOX",
                                       MW_FETCH_STATE_IMAP, &st),
                   MW_E_INVALID);
  mw_fetch_state_free(st);
  assert_int_equal(mw_fetch_state_open("/proc/no/such", "a", "INBOX",
                                       MW_FETCH_STATE_IMAP, &st),
                   MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_fetch_state_error(st)),
                         "/proc/no/such"));
  mw_fetch_state_free(st);
}

/* mw_fetch_state_add_many / _add_uids: one append for many ids. */
static size_t count_lines(const char *text, const char *prefix)
{
  size_t n = 0, pl = strlen(prefix);
  for(const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1
                                                     : p + strlen(p))
    n += strncmp(p, prefix, pl) == 0;
  return n;
}

static void add_many_imap(void **state)
{
  char *dir = *state;
  mw_fetch_state *st = open_imap(dir);
  static const uint32_t uids[] = {5, 6, 7, 9};
  assert_int_equal(mw_fetch_state_add_uids(st, uids, 4), MW_E_STATE);
  assert_int_equal(mw_fetch_state_set_uidvalidity(st, 77, NULL), MW_OK);
  assert_int_equal(mw_fetch_state_add_uid(st, 6), MW_OK);
  /* 6 is recorded already, 9 given twice: three new records. */
  static const uint32_t more[] = {5, 6, 7, 9, 9};
  assert_int_equal(mw_fetch_state_add_uids(st, more, 5), MW_OK);
  assert_int_equal(mw_fetch_state_count(st), 4);
  assert_true(mw_fetch_state_contains_uid(st, 9));
  char path[1024];
  snprintf(path, sizeof(path), "%s", mw_fetch_state_path(st));
  /* Written before close (durable), once each. */
  assert_int_equal(count_lines(slurp(path), "+ "), 4);
  /* Text ids; an invalid one refuses the lot, nothing written. */
  const char *bad[] = {"11", "0"};
  assert_int_equal(mw_fetch_state_add_many(st, bad, 2), MW_E_INVALID);
  assert_false(mw_fetch_state_contains_uid(st, 11));
  assert_int_equal(count_lines(slurp(path), "+ "), 4);
  const char *ids[] = {"11", "12"};
  assert_int_equal(mw_fetch_state_add_many(st, ids, 2), MW_OK);
  assert_int_equal(mw_fetch_state_add_many(st, NULL, 0), MW_OK);
  assert_int_equal(mw_fetch_state_add_uids(st, NULL, 1), MW_E_INVALID);
  static const uint32_t zero[] = {3, 0};
  assert_int_equal(mw_fetch_state_add_uids(st, zero, 2), MW_E_INVALID);
  assert_false(mw_fetch_state_contains_uid(st, 3));
  /* The journal as written, before the compaction of free. */
  mw_fetch_state *st2;
  char *text = strdup(slurp(path));
  mw_fetch_state_free(st);
  assert_int_equal(count_lines(text, "+ "), 6);
  free(text);
  assert_int_equal(mw_fetch_state_open(dir, "alice@imap.example:993",
                                       "INBOX", MW_FETCH_STATE_IMAP, &st2),
                   MW_OK);
  assert_int_equal(mw_fetch_state_count(st2), 6);
  assert_true(mw_fetch_state_contains(st2, "12"));
  mw_fetch_state_free(st2);
}

static void add_many_pop3(void **state)
{
  char *dir = *state;
  mw_fetch_state *st;
  assert_int_equal(mw_fetch_state_open(dir, "bob@pop.example", NULL,
                                       MW_FETCH_STATE_POP3, &st),
                   MW_OK);
  assert_int_equal(mw_fetch_state_add(st, "U1"), MW_OK);
  const char *ids[] = {"U1", "U2", "U3", "U2"};
  assert_int_equal(mw_fetch_state_add_many(st, ids, 4), MW_OK);
  assert_int_equal(mw_fetch_state_count(st), 3);
  assert_int_equal(count_lines(slurp(mw_fetch_state_path(st)), "+ "), 3);
  const char *bad[] = {"U4", "has space"};
  assert_int_equal(mw_fetch_state_add_many(st, bad, 2), MW_E_INVALID);
  assert_false(mw_fetch_state_contains(st, "U4"));
  static const uint32_t uids[] = {1};
  assert_int_equal(mw_fetch_state_add_uids(st, uids, 1), MW_E_INVALID);
  assert_int_equal(mw_fetch_state_add_many(NULL, ids, 1), MW_E_INVALID);
  /* A record cut short by a crash at the end of a batch append: the
   * whole ones count, the torn one is dropped. */
  char path[1024];
  snprintf(path, sizeof(path), "%s", mw_fetch_state_path(st));
  mw_fetch_state_free(st);
  FILE *f = fopen(path, "a");
  assert_non_null(f);
  fputs("+ U7\n+ U8\n+ U9", f);
  fclose(f);
  assert_int_equal(mw_fetch_state_open(dir, "bob@pop.example", NULL,
                                       MW_FETCH_STATE_POP3, &st),
                   MW_OK);
  assert_true(mw_fetch_state_contains(st, "U8"));
  assert_false(mw_fetch_state_contains(st, "U9"));
  assert_int_equal(mw_fetch_state_count(st), 5);
  mw_fetch_state_free(st);
}

/* Thousands of UIDLs (the set's table and pool grow many times): each is
 * kept once, survives a reopen, and a prune keeps exactly the present
 * ones, in the order they were fetched. */
static void many_pop3_uidls(void **state)
{
  char *dir = *state;
  enum { N = 5000, BATCH = 200 };
  static char text[N][40];
  const char *ids[BATCH];
  mw_fetch_state *st;
  assert_int_equal(mw_fetch_state_open(dir, "carol@pop.example", NULL,
                                       MW_FETCH_STATE_POP3, &st),
                   MW_OK);
  for(int i = 0; i < N; i++)
    snprintf(text[i], sizeof(text[i]), "%08xu%0*d", (unsigned)i * 2654435761u,
             1 + i % 30, i);
  for(int i = 0; i < N; i += BATCH) {
    for(int k = 0; k < BATCH; k++)
      ids[k] = text[i + k];
    assert_int_equal(mw_fetch_state_add_many(st, ids, BATCH), MW_OK);
  }
  assert_int_equal(mw_fetch_state_count(st), N);
  assert_int_equal(mw_fetch_state_add(st, text[17]), MW_OK); /* again */
  assert_int_equal(mw_fetch_state_count(st), N);
  mw_fetch_state_free(st); /* rewrites the file from memory */
  assert_int_equal(mw_fetch_state_open(dir, "carol@pop.example", NULL,
                                       MW_FETCH_STATE_POP3, &st),
                   MW_OK);
  assert_int_equal(mw_fetch_state_count(st), N);
  for(int i = 0; i < N; i++)
    assert_true(mw_fetch_state_contains(st, text[i]));
  assert_false(mw_fetch_state_contains(st, "absent-uidl"));
  /* The even ones are still on the server. */
  static const char *present[N / 2 + 1];
  for(int i = 0; i < N / 2; i++)
    present[i] = text[2 * i];
  present[N / 2] = "not-fetched";
  size_t removed = 0;
  assert_int_equal(mw_fetch_state_prune(st, present, N / 2 + 1, &removed),
                   MW_OK);
  assert_int_equal(removed, N / 2);
  assert_int_equal(mw_fetch_state_count(st), N / 2);
  for(int i = 0; i < N; i++)
    assert_int_equal(mw_fetch_state_contains(st, text[i]), i % 2 == 0);
  assert_false(mw_fetch_state_contains(st, "not-fetched"));
  /* The file lists them once each, in the order they were fetched. */
  const char *file = slurp(mw_fetch_state_path(st));
  assert_int_equal(count_lines(file, "+ "), N / 2);
  const char *a = strstr(file, text[2]), *b = strstr(file, text[4000]);
  assert_non_null(a);
  assert_non_null(b);
  assert_true(a < b);
  mw_fetch_state_free(st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(imap_ranges_persist, setup, teardown),
      cmocka_unit_test_setup_teardown(truncated_last_line_ignored, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(damage_elsewhere_is_an_error, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(uidvalidity_change_resets, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(pop3_uidls_and_prune, setup, teardown),
      cmocka_unit_test_setup_teardown(locked_while_open, setup, teardown),
      cmocka_unit_test_setup_teardown(compacts_when_large, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(add_many_imap, setup, teardown),
      cmocka_unit_test_setup_teardown(add_many_pop3, setup, teardown),
      cmocka_unit_test_setup_teardown(many_pop3_uidls, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
