/* Unit tests: the local message store (lib/store): CRLF->LF across chunk
 * boundaries, mboxrd quoting, Maildir idempotence by key, abort, the mbox
 * crash journal, and the MDA's exit status, environment and time limit. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailwire.h"
#include "store/store.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
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
  char *dir = strdup("/tmp/mw-store-test-XXXXXX");
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

static char *path_in(const char *dir, const char *name)
{
  static char buf[8][1024];
  static int k;
  char tmp[4096];
  int n = snprintf(tmp, sizeof(tmp), "%s/%s", dir, name);
  assert_true(n > 0 && n < 1024);
  char *b = buf[k++ % 8];
  memcpy(b, tmp, (size_t)n + 1);
  return b;
}

static size_t count_files(const char *dir, char *first, size_t cap)
{
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  struct dirent *de;
  while((de = readdir(d)) != NULL) {
    if(de->d_name[0] == '.')
      continue;
    if(n++ == 0 && first)
      snprintf(first, cap, "%s", de->d_name);
  }
  closedir(d);
  return n;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  if(len)
    *len = n;
  return buf;
}

/* Stores msg into a fresh Maildir split at `split`; returns the file. */
static char *maildir_store_split(const char *md, const char *key,
                                 const char *msg, size_t split)
{
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  assert_int_equal(mw_store_begin(s, key, NULL), MW_OK);
  assert_int_equal(mw_store_write(s, msg, split), MW_OK);
  assert_int_equal(mw_store_write(s, msg + split, strlen(msg) - split),
                   MW_OK);
  bool dup = true;
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  assert_false(dup);
  mw_store_free(s);
  char name[512];
  char newdir[512];
  snprintf(newdir, sizeof(newdir), "%s/new", md);
  assert_int_equal(count_files(newdir, name, sizeof(name)), 1);
  char *p = path_in(newdir, name);
  char *body = slurp(p, NULL);
  unlink(p);
  return body;
}

static void crlf_across_chunks(void **state)
{
  const char *md = path_in(*state, "Maildir");
  const char *msg = "Subject: x\r\n\r\nline\r\nlone\rcr\r\r\nend\r";
  const char *want = "Subject: x\n\nline\nlone\rcr\r\nend\r";
  for(size_t split = 0; split <= strlen(msg); split++)
    assert_string_equal(maildir_store_split(md, "k", msg, split), want);
}

static void maildir_layout_and_name(void **state)
{
  const char *md = path_in(*state, "M");
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  struct stat sb;
  assert_int_equal(stat(path_in(md, "tmp"), &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0700);
  assert_int_equal(stat(path_in(md, "cur"), &sb), 0);
  assert_int_equal(mw_store_begin(s, "imap:a:1:2", NULL), MW_OK);
  assert_int_equal(mw_store_write(s, "x\r\n", 3), MW_OK);
  /* In progress: in tmp/, nothing in new/. */
  assert_int_equal(count_files(path_in(md, "tmp"), NULL, 0), 1);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 0);
  assert_int_equal(mw_store_commit(s, NULL), MW_OK);
  mw_store_free(s);
  char name[512];
  assert_int_equal(count_files(path_in(md, "new"), name, sizeof(name)), 1);
  assert_int_equal(count_files(path_in(md, "tmp"), NULL, 0), 0);
  mw__key_hash h;
  mw__store_key_hash("imap:a:1:2", h);
  char *m = strstr(name, ",MW=");
  assert_non_null(m);
  assert_string_equal(m + 4, h);
  assert_null(strchr(name, ':'));
  assert_null(strchr(name, '/'));
  char p[600];
  snprintf(p, sizeof(p), "%s/new/%s", md, name);
  assert_int_equal(stat(p, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
}

static void maildir_idempotent_by_key(void **state)
{
  const char *md = path_in(*state, "M");
  mw_store *s;
  bool dup;
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  assert_false(mw_store_contains(s, "pop3:a:U1"));
  assert_int_equal(mw_store_begin(s, "pop3:a:U1", NULL), MW_OK);
  assert_int_equal(mw_store_write(s, "a\r\n", 3), MW_OK);
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  assert_false(dup);
  /* Same handle: known at once. */
  assert_true(mw_store_contains(s, "pop3:a:U1"));
  assert_int_equal(mw_store_begin(s, "pop3:a:U1", NULL), MW_OK);
  assert_int_equal(mw_store_write(s, "a\r\n", 3), MW_OK);
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  assert_true(dup);
  mw_store_free(s);
  /* A new handle scans new/. */
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  assert_true(mw_store_contains(s, "pop3:a:U1"));
  assert_false(mw_store_contains(s, "pop3:a:U2"));
  mw_store_free(s);
  /* A reader moves it to cur/ with flags: still known. */
  char name[512], from[700], to[700];
  assert_int_equal(count_files(path_in(md, "new"), name, sizeof(name)), 1);
  snprintf(from, sizeof(from), "%s/new/%s", md, name);
  snprintf(to, sizeof(to), "%s/cur/%s:2,S", md, name);
  assert_int_equal(rename(from, to), 0);
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  assert_true(mw_store_contains(s, "pop3:a:U1"));
  assert_int_equal(mw_store_begin(s, "pop3:a:U1", NULL), MW_OK);
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  assert_true(dup);
  mw_store_free(s);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 0);
  assert_int_equal(count_files(path_in(md, "cur"), NULL, 0), 1);
}

static void maildir_abort_leaves_nothing(void **state)
{
  const char *md = path_in(*state, "M");
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  assert_int_equal(mw_store_begin(s, "k1", NULL), MW_OK);
  assert_int_equal(mw_store_write(s, "partial", 7), MW_OK);
  assert_int_equal(mw_store_abort(s), MW_OK);
  assert_int_equal(mw_store_abort(s), MW_E_STATE);
  assert_false(mw_store_contains(s, "k1"));
  /* Freed in the middle of a message: aborted too. */
  assert_int_equal(mw_store_begin(s, "k2", NULL), MW_OK);
  assert_int_equal(mw_store_write(s, "partial", 7), MW_OK);
  mw_store_free(s);
  assert_int_equal(count_files(path_in(md, "tmp"), NULL, 0), 0);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 0);
}

static void maildir_old_leftovers_removed(void **state)
{
  const char *md = path_in(*state, "M");
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  mw_store_free(s);
  const char *names[] = {"1.M1P1Q1.h,MW=0123456789abcdef0123456789abcdef",
                         "2.M1P1Q1.h,MW=0123456789abcdef0123456789abcdef",
                         "3.M1P1Q1.otherprogram"};
  for(int i = 0; i < 3; i++) {
    char p[600];
    snprintf(p, sizeof(p), "%s/tmp/%s", md, names[i]);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    if(i != 1) { /* two days old */
      struct timespec t[2] = {{time(NULL) - 2 * 86400, 0},
                              {time(NULL) - 2 * 86400, 0}};
      assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
    }
  }
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  mw_store_free(s);
  /* Ours and old: gone.  Ours and fresh, or not ours: kept. */
  assert_int_equal(count_files(path_in(md, "tmp"), NULL, 0), 2);
  char p[600];
  snprintf(p, sizeof(p), "%s/tmp/%s", md, names[0]);
  assert_int_equal(access(p, F_OK), -1);
}

static void misuse_and_errors(void **state)
{
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, "", &s), MW_E_INVALID);
  mw_store_free(s);
  assert_int_equal(mw_store_open((mw_store_kind)9, "x", &s), MW_E_INVALID);
  mw_store_free(s);
  /* A file where the Maildir should be: the message names it. */
  const char *f = path_in(*state, "plain");
  FILE *fp = fopen(f, "w");
  fclose(fp);
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, f, &s), MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_store_error(s)), f));
  assert_int_equal(mw_store_begin(s, "k", NULL), MW_E_STATE);
  mw_store_free(s);
  /* A missing parent: the system error is named. */
  const char *deep = path_in(*state, "no/such/dir");
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, deep, &s), MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_store_error(s)),
                         "No such file"));
  mw_store_free(s);
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, path_in(*state, "M"), &s),
                   MW_OK);
  assert_int_equal(mw_store_write(s, "x", 1), MW_E_STATE);
  assert_int_equal(mw_store_commit(s, NULL), MW_E_STATE);
  assert_int_equal(mw_store_begin(s, "", NULL), MW_E_INVALID);
  assert_int_equal(mw_store_begin(s, "a\nb", NULL), MW_E_INVALID);
  assert_int_equal(mw_store_set_mda_timeout(s, 5), MW_E_INVALID);
  assert_int_equal(mw_store_begin(s, "k", NULL), MW_OK);
  assert_int_equal(mw_store_begin(s, "k", NULL), MW_E_STATE);
  mw_store_free(s);
}

/* ---- mbox ---- */

static const char *mbox_body(const char *all)
{
  const char *nl = strchr(all, '\n'); /* after the From line */
  assert_non_null(nl);
  assert_memory_equal(all, "From ", 5);
  return nl + 1;
}

static void mboxrd_quoting(void **state)
{
  const char *msg = "From: a\r\n\r\nFrom here\r\n>From there\r\n"
                    ">>From x\r\nFrom\r\nFrom:\r\n>Fro\r\n x From y\r\n"
                    ">\r\n>>>From";
  const char *want = "From: a\n\n>From here\n>>From there\n"
                     ">>>From x\nFrom\nFrom:\n>Fro\n x From y\n"
                     ">\n>>>From\n\n";
  const char *mb = path_in(*state, "mbox");
  for(size_t split = 0; split <= strlen(msg); split++) {
    unlink(mb);
    mw_store *s;
    assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
    assert_int_equal(mw_store_begin(s, "k", "alice@example.org"), MW_OK);
    assert_int_equal(mw_store_write(s, msg, split), MW_OK);
    assert_int_equal(mw_store_write(s, msg + split, strlen(msg) - split),
                     MW_OK);
    assert_int_equal(mw_store_commit(s, NULL), MW_OK);
    mw_store_free(s);
    const char *all = slurp(mb, NULL);
    assert_memory_equal(all, "From alice@example.org ", 23);
    assert_string_equal(mbox_body(all), want);
  }
  /* A line starting with "From " as the very first line is quoted too,
   * and an unusable sender becomes MAILER-DAEMON. */
  unlink(mb);
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
  assert_int_equal(mw_store_begin(s, "k", "bad sender"), MW_OK);
  assert_int_equal(mw_store_write(s, "From x\n", 7), MW_OK);
  assert_int_equal(mw_store_commit(s, NULL), MW_OK);
  mw_store_free(s);
  const char *all = slurp(mb, NULL);
  assert_memory_equal(all, "From MAILER-DAEMON ", 19);
  assert_string_equal(mbox_body(all), ">From x\n\n");
}

/* The reference: quote an LF text line by line. */
static size_t quote_ref(const char *in, size_t len, char *out)
{
  size_t o = 0;
  for(size_t i = 0; i < len;) {
    size_t j = i;
    while(j < len && in[j] == '>')
      j++;
    if(len - j >= 5 && memcmp(in + j, "From ", 5) == 0)
      out[o++] = '>';
    while(i < len && in[i] != '\n')
      out[o++] = in[i++];
    if(i < len)
      out[o++] = in[i++];
  }
  return o;
}

static void mbox_large_message(void **state)
{
  /* About 200 KB of lines of many lengths, so that quoted lines straddle
   * the store's internal 16 KiB pieces and the caller's chunks. */
  static char crlf[220000], lf[220000], want[240000];
  size_t n = 0, m = 0;
  static const char *const kinds[] = {"From a", ">From b", ">>>From c",
                                      "Fro", ">", "", "x From y", "From"};
  for(unsigned i = 0; n < 200000; i++) {
    char line[80];
    int k = snprintf(line, sizeof(line), "%s%.*s", kinds[i % 8],
                     (int)(i * 7 % 23), "0123456789012345678901234");
    memcpy(crlf + n, line, (size_t)k);
    memcpy(lf + m, line, (size_t)k);
    n += (size_t)k;
    m += (size_t)k;
    memcpy(crlf + n, "\r\n", 2);
    n += 2;
    lf[m++] = '\n';
  }
  size_t wn = quote_ref(lf, m, want);
  want[wn++] = '\n'; /* the blank line after the message */
  const char *mb = path_in(*state, "mbox");
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
  assert_int_equal(mw_store_begin(s, "big", NULL), MW_OK);
  for(size_t off = 0, c = 1; off < n; c = c * 7 % 4099 + 1) {
    size_t take = n - off < c ? n - off : c;
    assert_int_equal(mw_store_write(s, crlf + off, take), MW_OK);
    off += take;
  }
  assert_int_equal(mw_store_commit(s, NULL), MW_OK);
  mw_store_free(s);
  FILE *f = fopen(mb, "rb");
  assert_non_null(f);
  static char got[260000];
  size_t gn = fread(got, 1, sizeof(got), f);
  fclose(f);
  const char *body = memchr(got, '\n', gn);
  assert_non_null(body);
  body++;
  assert_int_equal(gn - (size_t)(body - got), wn);
  assert_memory_equal(body, want, wn);
}

static void store_mbox(const char *mb, const char *key, const char *msg)
{
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
  assert_int_equal(mw_store_begin(s, key, NULL), MW_OK);
  assert_int_equal(mw_store_write(s, msg, strlen(msg)), MW_OK);
  assert_int_equal(mw_store_commit(s, NULL), MW_OK);
  mw_store_free(s);
}

static off_t file_size(const char *p)
{
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  return sb.st_size;
}

static void mbox_abort_and_journal_recovery(void **state)
{
  const char *mb = path_in(*state, "mbox");
  store_mbox(mb, "k1", "Subject: one\r\n\r\nbody\r\n");
  off_t size1 = file_size(mb);
  struct stat sb;
  assert_int_equal(stat(mb, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  /* Abort: back to size1. */
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
  assert_int_equal(mw_store_begin(s, "k2", NULL), MW_OK);
  assert_int_equal(mw_store_write(s, "Subject: two\r\n", 14), MW_OK);
  assert_int_equal(mw_store_abort(s), MW_OK);
  mw_store_free(s);
  assert_int_equal(file_size(mb), size1);
  /* A process killed in the middle of an append leaves a partial tail. */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if(pid == 0) {
    mw_store *c;
    if(mw_store_open(MW_STORE_MBOX, mb, &c) != MW_OK ||
       mw_store_begin(c, "k2", NULL) != MW_OK)
      _exit(2);
    static char big[100000];
    memset(big, 'x', sizeof(big));
    mw_store_write(c, big, sizeof(big));
    raise(SIGKILL);
    _exit(3);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_true(file_size(mb) > size1 + 50000);
  /* The next open cuts it away. */
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
  assert_int_equal(file_size(mb), size1);
  assert_true(mw_store_contains(s, "k1") == false); /* journal is idle */
  mw_store_free(s);
  const char *all = slurp(mb, NULL);
  assert_string_equal(mbox_body(all), "Subject: one\n\nbody\n\n");
}

static void mbox_last_key_survives_crash(void **state)
{
  const char *mb = path_in(*state, "mbox");
  store_mbox(mb, "k1", "one\r\n");
  /* Committed, then killed before the caller could record it. */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if(pid == 0) {
    mw_store *c;
    if(mw_store_open(MW_STORE_MBOX, mb, &c) != MW_OK ||
       mw_store_begin(c, "k2", NULL) != MW_OK ||
       mw_store_write(c, "two\r\n", 5) != MW_OK ||
       mw_store_commit(c, NULL) != MW_OK)
      _exit(2);
    raise(SIGKILL);
    _exit(3);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  off_t size2 = file_size(mb);
  mw_store *s;
  bool dup = false;
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
  assert_true(mw_store_contains(s, "k2"));
  assert_int_equal(mw_store_begin(s, "k2", NULL), MW_OK);
  assert_int_equal(mw_store_write(s, "two\r\n", 5), MW_OK);
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  assert_true(dup);
  mw_store_free(s);
  assert_int_equal(file_size(mb), size2);
  /* The journal's size no longer matches: the key is forgotten. */
  FILE *f = fopen(mb, "a");
  fputs("From other\n", f);
  fclose(f);
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
  assert_false(mw_store_contains(s, "k2"));
  mw_store_free(s);
}

static void mbox_refuses_to_cut_foreign_bytes(void **state)
{
  const char *mb = path_in(*state, "mbox");
  store_mbox(mb, "k1", "one\r\n");
  off_t size1 = file_size(mb);
  char jp[600];
  snprintf(jp, sizeof(jp), "%s.mailwire-journal", mb);
  /* A journal saying "begin" at size1, but what follows is not ours. */
  FILE *j = fopen(jp, "r+");
  assert_non_null(j);
  fprintf(j, "begin %020lld %s\n", (long long)size1,
          "0123456789abcdef0123456789abcdef");
  fclose(j);
  FILE *f = fopen(mb, "a");
  fputs("garbage\n", f);
  fclose(f);
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_store_error(s)), jp));
  mw_store_free(s);
  assert_int_equal(file_size(mb), size1 + 8);
}

/* ---- MDA ---- */

static mw_status run_mda(const char *cmd, const char *msg, unsigned timeout,
                         mw_store **out)
{
  assert_int_equal(mw_store_open(MW_STORE_MDA, cmd, out), MW_OK);
  if(timeout)
    assert_int_equal(mw_store_set_mda_timeout(*out, timeout), MW_OK);
  assert_int_equal(mw_store_begin(*out, "pop3:acct:UID 7", "bob@x.example"),
                   MW_OK);
  assert_int_equal(mw_store_write(*out, msg, strlen(msg)), MW_OK);
  return mw_store_commit(*out, NULL);
}

static void mda_success_and_environment(void **state)
{
  char cmd[1024];
  const char *out = path_in(*state, "out");
  const char *env = path_in(*state, "env");
  /* An inheritable descriptor: the command must not have it. */
  FILE *leak = fopen(path_in(*state, "leak"), "w");
  assert_non_null(leak);
  snprintf(cmd, sizeof(cmd),
           "cat > '%s' && env > '%s' && test ! -e /proc/$$/fd/%d && "
           "test \"$MAILWIRE_KEY\" = "
           "'pop3:acct:UID 7' && test \"$MAILWIRE_SIZE\" = 7 && "
           "test \"$MAILWIRE_SENDER\" = bob@x.example", out, env,
           fileno(leak));
  setenv("MAILWIRE_PASSWORD", "hunter2", 1);
  setenv("MW_SECRET_TOKEN", "tok", 1);
  mw_store *s;
  assert_int_equal(run_mda(cmd, "a\r\nbc\r\nd\r\n", 0, &s), MW_OK);
  assert_int_equal(mw_store_mda_exit_status(s), 0);
  mw_store_free(s);
  assert_string_equal(slurp(out, NULL), "a\nbc\nd\n");
  const char *e = slurp(env, NULL);
  assert_null(strstr(e, "hunter2"));
  assert_null(strstr(e, "MW_SECRET_TOKEN"));
  assert_non_null(strstr(e, "PATH="));
  fclose(leak);
  unsetenv("MAILWIRE_PASSWORD");
  unsetenv("MW_SECRET_TOKEN");
}

static void mda_failure_exit_status(void **state)
{
  (void)state;
  mw_store *s;
  assert_int_equal(run_mda("cat >/dev/null; exit 75", "x\r\n", 0, &s),
                   MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_store_error(s)),
                         "exit status 75"));
  assert_non_null(strstr(mw_error_message(mw_store_error(s)), "exit 75"));
  assert_int_equal(mw_store_mda_exit_status(s), 75);
  /* The handle stays usable after a failure. */
  assert_int_equal(mw_store_begin(s, "k", NULL), MW_OK);
  assert_int_equal(mw_store_abort(s), MW_OK);
  mw_store_free(s);
  assert_int_equal(run_mda("kill -9 $$", "x", 0, &s), MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_store_error(s)), "signal 9"));
  assert_int_equal(mw_store_mda_exit_status(s), -1);
  mw_store_free(s);
  assert_int_equal(run_mda("/nonexistent/mda", "x", 0, &s), MW_E_IO);
  assert_non_null(strstr(mw_error_message(mw_store_error(s)),
                         "exit status 127"));
  mw_store_free(s);
}

static void mda_timeout(void **state)
{
  (void)state;
  mw_store *s;
  assert_int_equal(run_mda("sleep 30 & sleep 30", "x", 200, &s),
                   MW_E_TIMEOUT);
  assert_non_null(strstr(mw_error_message(mw_store_error(s)), "200 ms"));
  mw_store_free(s);
}

static void key_hash_stable(void **state)
{
  (void)state;
  mw__key_hash a, b, c;
  mw__store_key_hash("imap:x:1:2", a);
  mw__store_key_hash("imap:x:1:2", b);
  mw__store_key_hash("imap:x:1:3", c);
  assert_string_equal(a, b);
  assert_string_not_equal(a, c);
  /* FNV-1a 128 of "a" (reference value). */
  mw__store_key_hash("a", a);
  assert_string_equal(a, "d228cb696f1a8caf78912b704e4a8964");
  struct mw__hash_set hs = {0};
  for(int i = 0; i < 1000; i++) {
    char k[32];
    snprintf(k, sizeof(k), "key%d", i);
    mw__store_key_hash(k, a);
    assert_true(mw__hash_set_add(&hs, a));
  }
  assert_int_equal(hs.count, 1000);
  mw__store_key_hash("key999", a);
  assert_true(mw__hash_set_has(&hs, a));
  mw__store_key_hash("key1000", a);
  assert_false(mw__hash_set_has(&hs, a));
  mw__hash_set_free(&hs);
}

/* ---- batch durability (mw_store_set_batch, mw_store_sync) ---- */

static void batch_put(mw_store *s, const char *key, const char *body,
                      bool want_dup)
{
  bool dup = !want_dup;
  assert_int_equal(mw_store_begin(s, key, NULL), MW_OK);
  assert_int_equal(mw_store_write(s, body, strlen(body)), MW_OK);
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  assert_true(dup == want_dup);
}

static void maildir_batch_run(const char *dir, bool syncfs_ok)
{
  char md[300]; /* path_in()'s buffers are reused */
  snprintf(md, sizeof(md), "%s", dir);
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  mw__store_maildir_use_syncfs(s, syncfs_ok);
  assert_int_equal(mw_store_set_batch(s, true), MW_OK);
  /* More than the descriptors kept open without syncfs (128). */
  for(int i = 0; i < 150; i++) {
    char key[32], body[64];
    snprintf(key, sizeof(key), "pop3:a:U%d", i);
    snprintf(body, sizeof(body), "Subject: %d\r\n\r\nbody %d\r\n", i, i);
    batch_put(s, key, body, false);
  }
  /* Pending: in tmp/, not in new/; known by key, a second copy of a key
   * is already present. */
  assert_int_equal(count_files(path_in(md, "tmp"), NULL, 0), 150);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 0);
  assert_true(mw_store_contains(s, "pop3:a:U7"));
  batch_put(s, "pop3:a:U7", "again\r\n", true);
  /* No sync with a message open. */
  assert_int_equal(mw_store_begin(s, "pop3:a:X", NULL), MW_OK);
  assert_int_equal(mw_store_sync(s), MW_E_STATE);
  assert_int_equal(mw_store_set_batch(s, false), MW_E_STATE);
  assert_int_equal(mw_store_abort(s), MW_OK);
  assert_int_equal(mw_store_sync(s), MW_OK);
  assert_int_equal(count_files(path_in(md, "tmp"), NULL, 0), 0);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 150);
  assert_true(mw_store_contains(s, "pop3:a:U149"));
  /* Nothing pending: a sync is a no-op. */
  assert_int_equal(mw_store_sync(s), MW_OK);
  /* Turning batch mode off syncs what is pending. */
  batch_put(s, "pop3:a:last", "last\r\n", false);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 150);
  assert_int_equal(mw_store_set_batch(s, false), MW_OK);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 151);
  /* And commits are durable one by one again. */
  batch_put(s, "pop3:a:after", "after\r\n", false);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 152);
  mw_store_free(s);
  /* The contents, and a new handle knows every key. */
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  for(int i = 0; i < 150; i++) {
    char key[32];
    snprintf(key, sizeof(key), "pop3:a:U%d", i);
    assert_true(mw_store_contains(s, key));
  }
  mw_store_free(s);
  DIR *d = opendir(path_in(md, "new"));
  assert_non_null(d);
  struct dirent *de;
  int seen = 0;
  while((de = readdir(d)) != NULL) {
    if(de->d_name[0] == '.')
      continue;
    char p[1024];
    snprintf(p, sizeof(p), "%s/new/%s", md, de->d_name);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *body = slurp(p, NULL);
    int i;
    if(sscanf(body, "Subject: %d\n", &i) == 1) {
      char want[64];
      snprintf(want, sizeof(want), "Subject: %d\n\nbody %d\n", i, i);
      assert_string_equal(body, want);
      seen++;
    }
  }
  closedir(d);
  assert_int_equal(seen, 150);
}

static void maildir_batch_syncfs(void **state)
{
  maildir_batch_run(path_in(*state, "M"), true);
}

static void maildir_batch_fsync_each(void **state)
{
  maildir_batch_run(path_in(*state, "M"), false);
}

/* A sync that fails keeps none of the batch; free drops what is pending. */
static void maildir_batch_failure_and_free(void **state)
{
  char md[300]; /* path_in()'s buffers are reused */
  snprintf(md, sizeof(md), "%s/M", (const char *)*state);
  for(int mode = 0; mode < 2; mode++) {
    mw_store *s;
    assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
    mw__store_maildir_use_syncfs(s, mode == 0);
    assert_int_equal(mw_store_set_batch(s, true), MW_OK);
    batch_put(s, "k1", "one\r\n", false);
    batch_put(s, "k2", "two\r\n", false);
    batch_put(s, "k3", "three\r\n", false);
    /* k2's file disappears behind the store's back: its rename fails
     * after k1's succeeded. */
    char name[1024];
    DIR *d = opendir(path_in(md, "tmp"));
    assert_non_null(d);
    struct dirent *de;
    mw__key_hash h2;
    mw__store_key_hash("k2", h2);
    bool found = false;
    while((de = readdir(d)) != NULL)
      if(strstr(de->d_name, h2)) {
        snprintf(name, sizeof(name), "%s/tmp/%s", md, de->d_name);
        found = true;
      }
    closedir(d);
    assert_true(found);
    assert_int_equal(unlink(name), 0);
    assert_int_equal(mw_store_sync(s), MW_E_IO);
    assert_non_null(strstr(mw_error_message(mw_store_error(s)),
                           "cannot rename into new/"));
    assert_int_equal(count_files(path_in(md, "tmp"), NULL, 0), 0);
    assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 0);
    assert_false(mw_store_contains(s, "k1"));
    assert_false(mw_store_contains(s, "k3"));
    /* The store goes on: k1 again, synced. */
    batch_put(s, "k1", "one\r\n", false);
    assert_int_equal(mw_store_sync(s), MW_OK);
    assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 1);
    /* Freed with messages pending: they never were stored. */
    batch_put(s, "k4", "four\r\n", false);
    mw_store_free(s);
    assert_int_equal(count_files(path_in(md, "tmp"), NULL, 0), 0);
    assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 1);
    assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
    assert_true(mw_store_contains(s, "k1"));
    assert_false(mw_store_contains(s, "k4"));
    mw_store_free(s);
    /* Empty the Maildir for the next mode. */
    d = opendir(path_in(md, "new"));
    while((de = readdir(d)) != NULL)
      if(de->d_name[0] != '.') {
        char p[1024];
        snprintf(p, sizeof(p), "%s/new/%s", md, de->d_name);
        unlink(p);
      }
    closedir(d);
  }
}

/* mbox and MDA: no batch mode (each commit is durable at once and must
 * be recorded before the next); sync is a no-op. */
static void batch_other_kinds(void **state)
{
  const char *mb = path_in(*state, "mbox");
  mw_store *s;
  assert_int_equal(mw_store_open(MW_STORE_MBOX, mb, &s), MW_OK);
  assert_int_equal(mw_store_set_batch(s, true), MW_E_INVALID);
  assert_non_null(strstr(mw_error_message(mw_store_error(s)),
                         "no batch mode"));
  batch_put(s, "k1", "Subject: a\r\n\r\nx\r\n", false);
  assert_int_equal(mw_store_sync(s), MW_OK);
  assert_int_equal(mw_store_set_batch(s, false), MW_OK);
  mw_store_free(s);
  assert_int_equal(mw_store_open(MW_STORE_MDA, "cat >/dev/null", &s), MW_OK);
  assert_int_equal(mw_store_set_batch(s, true), MW_E_INVALID);
  assert_int_equal(mw_store_sync(s), MW_OK);
  mw_store_free(s);
  assert_int_equal(mw_store_sync(NULL), MW_E_INVALID);
  assert_int_equal(mw_store_set_batch(NULL, true), MW_E_INVALID);
  /* A store that did not open. */
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, "", &s), MW_E_INVALID);
  assert_int_equal(mw_store_sync(s), MW_E_STATE);
  assert_int_equal(mw_store_set_batch(s, true), MW_E_STATE);
  mw_store_free(s);
}

/* mw_store_set_remember_new(false): the keys found at open and the
 * pending ones are known; the ones committed through the handle are not
 * (the caller records them); a new handle knows them all again. */
static void maildir_forget_new(void **state)
{
  const char *md = path_in(*state, "F");
  mw_store *s;
  bool dup;
  assert_int_equal(mw_store_set_remember_new(NULL, false), MW_E_INVALID);
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  assert_int_equal(mw_store_begin(s, "pop3:a:OLD", NULL), MW_OK);
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  mw_store_free(s);
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  assert_int_equal(mw_store_set_remember_new(s, false), MW_OK);
  assert_true(mw_store_contains(s, "pop3:a:OLD")); /* found at open */
  assert_int_equal(mw_store_begin(s, "pop3:a:OLD", NULL), MW_OK);
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  assert_true(dup);
  /* Committed one by one: not remembered. */
  assert_int_equal(mw_store_begin(s, "pop3:a:N1", NULL), MW_OK);
  assert_int_equal(mw_store_write(s, "a\r\n", 3), MW_OK);
  assert_int_equal(mw_store_commit(s, &dup), MW_OK);
  assert_false(dup);
  assert_false(mw_store_contains(s, "pop3:a:N1"));
  /* In a batch: known while pending, not after the sync. */
  assert_int_equal(mw_store_set_batch(s, true), MW_OK);
  batch_put(s, "pop3:a:N2", "b\r\n", false);
  assert_true(mw_store_contains(s, "pop3:a:N2"));
  batch_put(s, "pop3:a:N2", "b\r\n", true);
  assert_int_equal(mw_store_sync(s), MW_OK);
  assert_false(mw_store_contains(s, "pop3:a:N2"));
  /* Turned on again: remembered as before. */
  assert_int_equal(mw_store_set_remember_new(s, true), MW_OK);
  batch_put(s, "pop3:a:N3", "c\r\n", false);
  assert_int_equal(mw_store_sync(s), MW_OK);
  assert_true(mw_store_contains(s, "pop3:a:N3"));
  mw_store_free(s);
  /* A new handle scans them all. */
  assert_int_equal(mw_store_open(MW_STORE_MAILDIR, md, &s), MW_OK);
  assert_true(mw_store_contains(s, "pop3:a:N1"));
  assert_true(mw_store_contains(s, "pop3:a:N2"));
  assert_true(mw_store_contains(s, "pop3:a:N3"));
  mw_store_free(s);
  assert_int_equal(count_files(path_in(md, "new"), NULL, 0), 4);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(key_hash_stable),
      cmocka_unit_test_setup_teardown(crlf_across_chunks, setup, teardown),
      cmocka_unit_test_setup_teardown(maildir_layout_and_name, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(maildir_idempotent_by_key, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(maildir_abort_leaves_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(maildir_old_leftovers_removed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(misuse_and_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(mboxrd_quoting, setup, teardown),
      cmocka_unit_test_setup_teardown(mbox_large_message, setup, teardown),
      cmocka_unit_test_setup_teardown(mbox_abort_and_journal_recovery, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(mbox_last_key_survives_crash, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(mbox_refuses_to_cut_foreign_bytes,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(mda_success_and_environment, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(mda_failure_exit_status, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(mda_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(maildir_batch_syncfs, setup, teardown),
      cmocka_unit_test_setup_teardown(maildir_batch_fsync_each, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(maildir_batch_failure_and_free, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(batch_other_kinds, setup, teardown),
      cmocka_unit_test_setup_teardown(maildir_forget_new, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
