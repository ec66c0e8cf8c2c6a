/*
 * store_kill - drives the local store as `mailwire fetch` will, so a test
 * can kill it with SIGKILL at random points (test_store_kill.py).
 *
 * usage: store_kill maildir|maildir-batch|mbox|mda TARGET STATE_DIR COUNT
 * For i in 0..COUNT-1: skip message i when the fetch state has it, else
 * store it (written in 997-byte chunks with CRLF line ends, sizes varying
 * up to ~40 KB, with "From " lines to quote) and then record it as
 * fetched, in that order.  Prints "done" at the end.
 * maildir-batch: the store in batch mode (mw_store_set_batch), as
 * `mailwire fetch` uses it: BATCH messages committed, then
 * mw_store_sync(), then their ids recorded at once
 * (mw_fetch_state_add_many).
 * The expected content of message i is what `expected(i)` in the Python
 * test computes: keep the two in step.
 */
#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 7

static int fail(const char *what, const mw_error *e)
{
  fprintf(stderr, "store_kill: %s: %s\n", what, mw_error_message(e));
  return 1;
}

/* Message i with CRLF line ends into buf; returns its length. */
static size_t message(unsigned i, char *buf, size_t cap)
{
  size_t n = (size_t)snprintf(buf, cap,
                              "Message-Id: <%u@kill.test>\r\nX-Key: %u\r\n"
                              "Subject: message %u\r\n\r\n", i, i, i);
  unsigned lines = (i * 37u) % 1000u;
  for(unsigned j = 0; j < lines && n + 100 < cap; j++)
    n += (size_t)snprintf(buf + n, cap - n, j % 50 == 7
                                                ? "From line %u of %u\r\n"
                                                : "line %u of message %u\r\n",
                          j, i);
  return n;
}

int main(int argc, char **argv)
{
  if(argc != 5) {
    fprintf(stderr,
            "usage: store_kill maildir|mbox|mda TARGET STATE_DIR N\n");
    return 2;
  }
  mw_store_kind kind = strcmp(argv[1], "mbox") == 0  ? MW_STORE_MBOX
                       : strcmp(argv[1], "mda") == 0 ? MW_STORE_MDA
                                                     : MW_STORE_MAILDIR;
  bool batch = strcmp(argv[1], "maildir-batch") == 0;
  unsigned count = (unsigned)strtoul(argv[4], NULL, 10);
  mw_store *s;
  if(mw_store_open(kind, argv[2], &s) != MW_OK)
    return fail("open store", mw_store_error(s));
  mw_fetch_state *st;
  if(mw_fetch_state_open(argv[3], "kill@test", NULL, MW_FETCH_STATE_POP3,
                         &st) != MW_OK)
    return fail("open state", mw_fetch_state_error(st));
  if(batch && mw_store_set_batch(s, true) != MW_OK)
    return fail("batch", mw_store_error(s));
  static char buf[64 * 1024];
  char ids[BATCH][32];
  const char *idp[BATCH];
  size_t npend = 0;
  for(unsigned i = 0; i < count; i++) {
    char id[32], key[64];
    snprintf(id, sizeof(id), "m%05u", i);
    if(mw_fetch_state_contains(st, id))
      continue;
    snprintf(key, sizeof(key), "pop3:kill:%s", id);
    size_t len = message(i, buf, sizeof(buf));
    if(mw_store_begin(s, key, "kill@test") != MW_OK)
      return fail("begin", mw_store_error(s));
    for(size_t off = 0; off < len; off += 997) {
      size_t n = len - off < 997 ? len - off : 997;
      if(mw_store_write(s, buf + off, n) != MW_OK)
        return fail("write", mw_store_error(s));
    }
    if(mw_store_commit(s, NULL) != MW_OK)
      return fail("commit", mw_store_error(s));
    if(!batch) {
      if(mw_fetch_state_add(st, id) != MW_OK)
        return fail("record", mw_fetch_state_error(st));
      continue;
    }
    snprintf(ids[npend], sizeof(ids[0]), "%s", id);
    idp[npend] = ids[npend];
    if(++npend == BATCH || i + 1 == count) {
      /* durable in the store, then recorded, the whole batch at once */
      if(mw_store_sync(s) != MW_OK)
        return fail("sync", mw_store_error(s));
      if(mw_fetch_state_add_many(st, idp, npend) != MW_OK)
        return fail("record", mw_fetch_state_error(st));
      npend = 0;
    }
  }
  if(npend) { /* the last messages were skipped: flush what is left */
    if(mw_store_sync(s) != MW_OK)
      return fail("sync", mw_store_error(s));
    if(mw_fetch_state_add_many(st, idp, npend) != MW_OK)
      return fail("record", mw_fetch_state_error(st));
  }
  if(mw_fetch_state_close(st) != MW_OK)
    return fail("close state", mw_fetch_state_error(st));
  mw_fetch_state_free(st);
  mw_store_free(s);
  puts("done");
  return 0;
}
