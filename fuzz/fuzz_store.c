/*
 * fuzz/fuzz_store.c - the local store (lib/store) on arbitrary message
 * bytes, and the fetch-state parser on arbitrary state files.
 *
 * Input: byte 0 picks the mode (low 2 bits) and seeds the chunk sizes;
 * the rest is the message (modes 0, 1) or the state file (modes 2, 3).
 * Files live in a private directory under /dev/shm (or /tmp), removed
 * after each input.
 *
 * Invariants (abort() when violated):
 *   - Maildir (mode 0): the file in new/ is the message with every CRLF
 *     made LF (a lone CR kept), whatever the chunking; tmp/ is empty; the
 *     same key again is reported already present and adds no file;
 *   - mbox (mode 1): after the "From " line, the mbox is the message made
 *     LF, with one more '>' on every line matching ^>*From , a final LF
 *     when it lacked one (none for an empty message), and a blank line;
 *     abort of a second message leaves the file as it was;
 *   - fetch state (modes 2 IMAP, 3 POP3): open returns MW_OK or MW_E_IO
 *     (never anything else, never a crash); after MW_OK, close and open
 *     again give the same count, and every UID 1..64 answers contains()
 *     the same before and after.
 */
#include "mailwire.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if(!(cond)) {                                                            \
      fprintf(stderr, "fuzz_store: invariant violated: %s (%s:%d)\n", #cond, \
              __FILE__, __LINE__);                                           \
      abort();                                                               \
    }                                                                        \
  } while(0)

static char base[256];

static void rm_tree(const char *p)
{
  DIR *d = opendir(p);
  if(!d) {
    unlink(p);
    return;
  }
  struct dirent *de;
  while((de = readdir(d)) != NULL) {
    if(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    char sub[1024];
    snprintf(sub, sizeof(sub), "%s/%s", p, de->d_name);
    rm_tree(sub);
  }
  closedir(d);
  rmdir(p);
}

static uint8_t *read_file(const char *p, size_t *len)
{
  FILE *f = fopen(p, "rb");
  CHECK(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  uint8_t *b = malloc((size_t)n + 1);
  CHECK(b && fread(b, 1, (size_t)n, f) == (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* CRLF -> LF, a lone CR kept. */
static size_t to_lf(const uint8_t *in, size_t n, uint8_t *out)
{
  size_t o = 0;
  for(size_t i = 0; i < n; i++) {
    if(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
      continue;
    out[o++] = in[i];
  }
  return o;
}

static void write_chunked(mw_store *s, const uint8_t *m, size_t n,
                          unsigned seed)
{
  for(size_t off = 0; off < n;) {
    seed = seed * 1103515245u + 12345u;
    size_t c = (seed >> 16) % 37;
    if(c > n - off)
      c = n - off;
    CHECK(mw_store_write(s, m + off, c) == MW_OK);
    off += c;
  }
}

static void maildir_case(const uint8_t *m, size_t n, unsigned seed)
{
  char md[300], dir[400];
  snprintf(md, sizeof(md), "%s/Maildir", base);
  mw_store *s;
  CHECK(mw_store_open(MW_STORE_MAILDIR, md, &s) == MW_OK);
  CHECK(mw_store_begin(s, "fuzz:1", NULL) == MW_OK);
  write_chunked(s, m, n, seed);
  bool dup = true;
  CHECK(mw_store_commit(s, &dup) == MW_OK && !dup);
  CHECK(mw_store_begin(s, "fuzz:1", NULL) == MW_OK);
  write_chunked(s, m, n, seed + 1);
  CHECK(mw_store_commit(s, &dup) == MW_OK && dup);
  mw_store_free(s);
  snprintf(dir, sizeof(dir), "%s/new", md);
  DIR *d = opendir(dir);
  CHECK(d);
  struct dirent *de;
  int files = 0;
  while((de = readdir(d)) != NULL) {
    if(de->d_name[0] == '.')
      continue;
    files++;
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    size_t got_n;
    uint8_t *got = read_file(p, &got_n);
    uint8_t *want = malloc(n + 1);
    size_t want_n = to_lf(m, n, want);
    CHECK(got_n == want_n && memcmp(got, want, want_n) == 0);
    free(got);
    free(want);
  }
  closedir(d);
  CHECK(files == 1);
  snprintf(dir, sizeof(dir), "%s/tmp", md);
  d = opendir(dir);
  CHECK(d);
  while((de = readdir(d)) != NULL)
    CHECK(de->d_name[0] == '.');
  closedir(d);
}

static void mbox_case(const uint8_t *m, size_t n, unsigned seed)
{
  char mb[300];
  snprintf(mb, sizeof(mb), "%s/mbox", base);
  mw_store *s;
  CHECK(mw_store_open(MW_STORE_MBOX, mb, &s) == MW_OK);
  CHECK(mw_store_begin(s, "fuzz:1", "a@b") == MW_OK);
  write_chunked(s, m, n, seed);
  CHECK(mw_store_commit(s, NULL) == MW_OK);
  size_t n1;
  free(read_file(mb, &n1));
  CHECK(mw_store_begin(s, "fuzz:2", "a@b") == MW_OK);
  write_chunked(s, m, n, seed + 1);
  CHECK(mw_store_abort(s) == MW_OK);
  mw_store_free(s);
  size_t got_n;
  uint8_t *got = read_file(mb, &got_n);
  CHECK(got_n == n1);
  uint8_t *lf = malloc(n + 1);
  size_t lf_n = to_lf(m, n, lf);
  uint8_t *want = malloc(2 * lf_n + 3);
  size_t w = 0;
  for(size_t i = 0; i < lf_n;) {
    size_t j = i;
    while(j < lf_n && lf[j] == '>')
      j++;
    if(lf_n - j >= 5 && memcmp(lf + j, "From ", 5) == 0)
      want[w++] = '>';
    while(i < lf_n && lf[i] != '\n')
      want[w++] = lf[i++];
    if(i < lf_n)
      want[w++] = lf[i++];
  }
  if(w > 0 && want[w - 1] != '\n')
    want[w++] = '\n';
  want[w++] = '\n';
  const uint8_t *nl = memchr(got, '\n', got_n);
  CHECK(nl && memcmp(got, "From a@b ", 9) == 0);
  size_t body = (size_t)(nl + 1 - got);
  CHECK(got_n - body == w && memcmp(got + body, want, w) == 0);
  free(got);
  free(lf);
  free(want);
}

static void state_case(const uint8_t *file, size_t n, bool imap)
{
  char dir[300];
  snprintf(dir, sizeof(dir), "%s/state", base);
  mkdir(dir, 0700);
  mw_fetch_state_kind kind = imap ? MW_FETCH_STATE_IMAP : MW_FETCH_STATE_POP3;
  mw_fetch_state *st;
  /* Learn the file name, then put the input there. */
  CHECK(mw_fetch_state_open(dir, "fuzz", "INBOX", kind, &st) == MW_OK);
  char path[600];
  snprintf(path, sizeof(path), "%s", mw_fetch_state_path(st));
  mw_fetch_state_free(st);
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(file, 1, n, f) == n);
  fclose(f);
  mw_status rc = mw_fetch_state_open(dir, "fuzz", "INBOX", kind, &st);
  CHECK(rc == MW_OK || rc == MW_E_IO);
  if(rc != MW_OK) {
    mw_fetch_state_free(st);
    return;
  }
  uint64_t count = mw_fetch_state_count(st);
  bool has[65];
  for(uint32_t u = 1; u <= 64; u++)
    has[u] = mw_fetch_state_contains_uid(st, u);
  CHECK(mw_fetch_state_close(st) == MW_OK);
  mw_fetch_state_free(st);
  CHECK(mw_fetch_state_open(dir, "fuzz", "INBOX", kind, &st) == MW_OK);
  CHECK(mw_fetch_state_count(st) == count);
  for(uint32_t u = 1; u <= 64; u++)
    CHECK(mw_fetch_state_contains_uid(st, u) == has[u]);
  mw_fetch_state_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1 || size > 65536)
    return 0;
  if(!base[0]) {
    snprintf(base, sizeof(base), "%s/mw-fuzz-store-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    CHECK(mkdtemp(base));
  }
  mkdir(base, 0700);
  unsigned mode = data[0] & 3, seed = data[0] >> 2;
  switch(mode) {
  case 0: maildir_case(data + 1, size - 1, seed); break;
  case 1: mbox_case(data + 1, size - 1, seed); break;
  default: state_case(data + 1, size - 1, mode == 2); break;
  }
  rm_tree(base);
  return 0;
}
