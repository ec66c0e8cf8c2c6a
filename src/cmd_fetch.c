/*
 * cmd_fetch.c - `mailwire fetch`: download the new messages of an IMAP
 * mailbox or a POP3 account into a Maildir, an mbox or an MDA.
 *
 * The order per message is the whole point: store it (durable when
 * mw_store_commit() returns), then record it in the fetch state (durable
 * when mw_fetch_state_add() returns), then, with --delete, delete it on
 * the server.  A kill at any moment leaves at worst a message stored but
 * not recorded: the next run fetches it again and the store, which knows
 * the message's key (imap:ACCOUNT:UIDVALIDITY:UID, pop3:ACCOUNT:UIDL),
 * does not keep it twice.  Messages come pipelined, BATCH at a time
 * (mw_imap_fetch, mw_pop3_retrieve_many), streamed into the store.
 * Durability is per batch (the store in batch mode, mw_store_set_batch):
 * after each batch the store is synced (every message of it durable in
 * the Maildir), then all its ids are recorded with one fdatasync
 * (mw_fetch_state_add_many), then, with --delete, the server deletes
 * them: the same order per message, a few disk flushes per batch.
 */
#define _GNU_SOURCE /* mremap */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "incoming.h"
#include "output.h"
#include "secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Messages per pipelined request: deletions and the progress follow each
 * batch, and a batch in flight bounds the work a failure interrupts. */
#define BATCH 200

/* POP3: a message to fetch, copied out of mw_pop3_list()'s list (about
 * 90 bytes a message, given back before the transfers): its number and
 * its UIDL at uid in the run's pool ("" when the server gives none). */
struct pop3_todo {
  unsigned number;
  uint32_t uid;
};

struct fetch {
  const struct send_args *a;
  mw_store *store;
  mw_fetch_state *state;
  const char *account;
  uint32_t uidvalidity;
  bool del;
  /* the message in hand */
  bool open, skip;
  char key[1024];
  /* POP3: the batch's messages, their UIDLs in uid_pool */
  const struct pop3_todo *batch;
  const char *uid_pool;
  /* totals */
  size_t fetched, skipped, deleted, done;
  uint64_t bytes;
  /* perf11: batch durability.  Messages committed to the store but not
   * yet synced and recorded: ids (NULL: not recorded) and whether each
   * was in the store already; at most BATCH (flush_batch empties it). */
  bool batch_mode;
  const char *pend_id[BATCH];
  char pend_uid[BATCH][72]; /* a UID or a UIDL (70 at most) */
  bool pend_already[BATCH];
  size_t npend;
  /* a local failure (store, state): stops the transfer */
  int local_code;
  char local_err[1024];
  mw_status local_status; /* for the JSON error: MW_E_IO unless said */
  struct in_progress prog;
};

static mw_status local_fail(struct fetch *f, int code, const char *what,
                            const mw_error *e)
{
  if(!f->local_code) {
    f->local_code = code;
    snprintf(f->local_err, sizeof(f->local_err), "%s: %s", what,
             cli_text(mw_error_message(e)));
  }
  return MW_E_IO;
}

/* Starts the message with this key (skipped when the store has it). */
static mw_status msg_begin(struct fetch *f, const char *key)
{
  snprintf(f->key, sizeof(f->key), "%s", key);
  f->open = true;
  f->skip = mw_store_contains(f->store, key);
  if(f->skip)
    return MW_OK;
  mw_status st = mw_store_begin(f->store, key, NULL);
  if(st)
    return local_fail(f, in_store_exit(f->a, st), "store",
                      mw_store_error(f->store));
  return MW_OK;
}

static mw_status msg_data(struct fetch *f, const char *data, size_t len)
{
  f->bytes += len;
  if(f->skip || !len)
    return MW_OK;
  mw_status st = mw_store_write(f->store, data, len);
  if(st)
    return local_fail(f, in_store_exit(f->a, st), "store",
                      mw_store_error(f->store));
  return MW_OK;
}

/* perf11: the batch's messages durable in the store (mw_store_sync),
 * then recorded with one fdatasync; counted only then. */
static mw_status flush_batch(struct fetch *f)
{
  if(!f->batch_mode)
    return MW_OK;
  size_t n = f->npend, nid = 0;
  f->npend = 0;
  mw_status st = mw_store_sync(f->store);
  if(st)
    return local_fail(f, in_store_exit(f->a, st), "store",
                      mw_store_error(f->store));
  const char *ids[BATCH];
  for(size_t i = 0; i < n; i++)
    if(f->pend_id[i])
      ids[nid++] = f->pend_id[i];
  st = mw_fetch_state_add_many(f->state, ids, nid);
  if(st)
    return local_fail(f, st == MW_E_NOMEM ? EXIT_SOFTWARE : EXIT_IOERR,
                      "fetch state", mw_fetch_state_error(f->state));
  for(size_t i = 0; i < n; i++) {
    if(f->pend_already[i])
      f->skipped++;
    else
      f->fetched++;
  }
  return MW_OK;
}

/* Ends the message: durable in the store, then recorded (id: the UID or
 * UIDL; NULL: not recorded, a POP3 server without UIDL). */
static mw_status msg_end(struct fetch *f, const char *id)
{
  bool already = f->skip;
  f->open = false;
  if(!f->skip) {
    mw_status st = mw_store_commit(f->store, &already);
    if(st)
      return local_fail(f, in_store_exit(f->a, st), "store",
                        mw_store_error(f->store));
  }
  if(f->batch_mode) { /* perf11: recorded by flush_batch() */
    if(f->npend == BATCH && flush_batch(f))
      return MW_E_IO;
    if(id) {
      snprintf(f->pend_uid[f->npend], sizeof(f->pend_uid[0]), "%s", id);
      f->pend_id[f->npend] = f->pend_uid[f->npend];
    }
    else
      f->pend_id[f->npend] = NULL;
    f->pend_already[f->npend++] = already;
    f->done++;
    in_progress_step(&f->prog, f->done, f->bytes);
    return MW_OK;
  }
  if(id) {
    mw_status st = mw_fetch_state_add(f->state, id);
    if(st)
      return local_fail(f, st == MW_E_NOMEM ? EXIT_SOFTWARE : EXIT_IOERR,
                        "fetch state", mw_fetch_state_error(f->state));
  }
  if(already)
    f->skipped++;
  else
    f->fetched++;
  f->done++;
  in_progress_step(&f->prog, f->done, f->bytes);
  return MW_OK;
}

/* A transfer stopped in the middle of a message: none of it stays. */
static void msg_drop(struct fetch *f)
{
  if(f->open && !f->skip)
    mw_store_abort(f->store);
  f->open = false;
}

/* ---- IMAP -------------------------------------------------------------- */

struct imap_batch {
  struct fetch *f;
  const uint32_t *asked; /* the batch's UIDs, ascending */
  size_t nasked;
  uint32_t *stored; /* the UIDs stored and recorded in this batch */
  size_t nstored;
  bool foreign;     /* the message in hand was not asked for */
};

static int uid_cmp(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static mw_status imap_message(void *user, uint32_t uid, const char *data,
                              size_t len, bool last)
{
  struct imap_batch *b = user;
  struct fetch *f = b->f;
  mw_status st = MW_OK;
  if(!f->open && !b->foreign) {
    /* A message the batch did not ask for (a server's whim) is read and
     * dropped: neither stored nor recorded, nor deleted. */
    if(!bsearch(&uid, b->asked, b->nasked, sizeof(uid), uid_cmp)) {
      b->foreign = !last;
      return MW_OK;
    }
  }
  if(b->foreign) {
    b->foreign = !last;
    return MW_OK;
  }
  if(!f->open) {
    char key[600];
    snprintf(key, sizeof(key), "%s:%u:%u", f->account,
             (unsigned)f->uidvalidity, (unsigned)uid);
    st = msg_begin(f, key);
  }
  if(!st)
    st = msg_data(f, data, len);
  if(!st && last) {
    char id[16];
    snprintf(id, sizeof(id), "%u", (unsigned)uid);
    st = msg_end(f, id);
    if(!st && b->nstored < b->nasked) /* a UID sent twice: once here */
      b->stored[b->nstored++] = uid;
  }
  return st;
}

/* \Deleted then UID EXPUNGE (or EXPUNGE) of uids[0..n): all recorded. */
static mw_status imap_delete(mw_imap *m, struct fetch *f, const uint32_t *uids,
                             size_t n)
{
  if(!n)
    return MW_OK;
  mw_status st = mw_imap_store_flags(m, uids, n, "\\Deleted", 1);
  if(!st)
    st = mw_imap_expunge(m, uids, n);
  if(!st)
    f->deleted += n;
  return st;
}

/* Fetches, stores, records (and with --delete deletes) todo[0..ntodo),
 * BATCH at a time; stored has room for BATCH UIDs. */
static mw_status fetch_uids(struct fetch *f, mw_imap *m,
                            const uint32_t *todo, size_t ntodo,
                            uint32_t *stored)
{
  mw_status st = MW_OK;
  for(size_t i = 0; i < ntodo && !st; i += BATCH) {
    size_t n = ntodo - i < BATCH ? ntodo - i : BATCH;
    struct imap_batch b = {f, todo + i, n, stored, 0, false};
    st = mw_imap_fetch(m, todo + i, n, imap_message, &b);
    if(st)
      msg_drop(f);
    flush_batch(f); /* perf11: durable and recorded before any delete */
    /* What this batch stored and recorded is deleted even when the batch
     * stopped early on a server error; not after a local failure (the
     * transfer was cut in the middle of the server's reply). */
    if(f->del && !f->local_code) {
      mw_status dst = imap_delete(m, f, stored, b.nstored);
      if(!st)
        st = dst;
    }
  }
  return st;
}

int fetch_imap_uids(const struct send_args *a, mw_imap *m, mw_store *store,
                    mw_fetch_state *state, const char *account,
                    uint32_t uidvalidity, const uint32_t *uids, size_t n,
                    size_t *fetched, const mw_error **e, char *err,
                    size_t errlen)
{
  struct fetch f = {.a = a, .store = store, .state = state,
                    .account = account, .uidvalidity = uidvalidity,
                    .del = a->in.delete_mode == 2};
  uint32_t *stored = malloc(BATCH * sizeof(*stored));
  if(!stored) {
    snprintf(err, errlen, "out of memory");
    return EXIT_SOFTWARE;
  }
  /* perf11: batch durability for this call (a Maildir only); off again
   * at the end (every batch was flushed: nothing is pending). */
  f.batch_mode = mw_store_set_batch(store, true) == MW_OK;
  mw_status st = fetch_uids(&f, m, uids, n, stored);
  if(f.batch_mode)
    mw_store_set_batch(store, false);
  free(stored);
  *fetched = f.fetched + f.skipped;
  if(f.local_code) {
    snprintf(err, errlen, "%s", f.local_err);
    return f.local_code;
  }
  if(st) {
    *e = mw_imap_error(m);
    return exitcode_for_error(*e);
  }
  return EXIT_OK;
}

static int fetch_imap(struct fetch *f, mw_imap *m, const char *mailbox,
                      const mw_error **err)
{
  const struct send_args *a = f->a;
  mw_imap_status ms;
  mw_status st = mw_imap_select(m, mailbox, !f->del, &ms);
  if(st)
    goto session_error;
  f->uidvalidity = ms.uidvalidity;
  bool reset = false;
  st = mw_fetch_state_set_uidvalidity(f->state, ms.uidvalidity, &reset);
  if(st) {
    local_fail(f, EXIT_IOERR, "fetch state", mw_fetch_state_error(f->state));
    return f->local_code;
  }
  if(reset && !a->json)
    fprintf(stderr, "mailwire fetch: the mailbox's UIDVALIDITY changed "
                    "(now %u): its messages are fetched again; the store "
                    "keeps one copy of each it still holds\n",
            (unsigned)ms.uidvalidity);
  char criteria[128];
  snprintf(criteria, sizeof(criteria), "%s%s%s%s",
           a->in.unseen ? "UNSEEN" : "",
           a->in.unseen && a->in.since ? " " : "",
           a->in.since ? "SINCE " : "", a->in.since ? a->in.since_imap : "");
  const uint32_t *found = NULL;
  size_t nfound = 0;
  st = mw_imap_search(m, criteria[0] ? criteria : "ALL", &found, &nfound);
  if(st)
    goto session_error;
  /* The new ones (all with --all), and the recorded ones to delete. */
  uint32_t *todo = malloc((nfound + 1) * sizeof(*todo));
  uint32_t *old = malloc((nfound + 1) * sizeof(*old));
  uint32_t *stored = malloc(BATCH * sizeof(*stored));
  size_t ntodo = 0, nold = 0;
  if(!todo || !old || !stored) {
    free(todo);
    free(old);
    free(stored);
    f->local_code = EXIT_SOFTWARE;
    snprintf(f->local_err, sizeof(f->local_err), "out of memory");
    return f->local_code;
  }
  for(size_t i = 0; i < nfound; i++) {
    if(!a->in.all && mw_fetch_state_contains_uid(f->state, found[i]))
      old[nold++] = found[i];
    else if(!a->in.limit || ntodo < a->in.limit)
      todo[ntodo++] = found[i];
  }
  in_progress_start(&f->prog, !a->in.no_progress && !a->json, ntodo);
  st = fetch_uids(f, m, todo, ntodo, stored);
  in_progress_end(&f->prog);
  if(!st && f->del && !f->local_code)
    st = imap_delete(m, f, old, nold);
  free(todo);
  free(old);
  free(stored);
  if(f->local_code)
    return f->local_code;
  if(st)
    goto session_error;
  mw_imap_logout(m);
  return EXIT_OK;
session_error:
  *err = mw_imap_error(m);
  return exitcode_for_error(*err);
}

/* ---- POP3 -------------------------------------------------------------- */

static mw_status pop3_message(void *user, size_t index, const char *data,
                              size_t len, bool last)
{
  struct fetch *f = user;
  const struct pop3_todo *msg = &f->batch[index];
  const char *uid = f->uid_pool + msg->uid;
  mw_status st = MW_OK;
  if(!f->open) {
    char key[600];
    if(uid[0])
      snprintf(key, sizeof(key), "%s:%s", f->account, uid);
    else /* no UIDL (only with --delete): a key of this run alone */
      snprintf(key, sizeof(key), "%s:no-uidl:%ld.%ld.%u", f->account,
               (long)getpid(), (long)time(NULL), msg->number);
    st = msg_begin(f, key);
  }
  if(!st)
    st = msg_data(f, data, len);
  if(!st && last)
    st = msg_end(f, uid[0] ? uid : NULL);
  return st;
}

/* The mailbox's messages, number and UIDL each: 8 bytes a message and a
 * pool of the UIDLs (offset 0: "", none), each in a mapping of its own:
 * reserved for STAT's count at once (only the pages written take memory),
 * grown by the kernel without a copy (mremap) when a server lists more,
 * and given back a page at a time once the messages on it are stored and
 * recorded (seen_release), as the fetch state takes their UIDLs over. */
struct pop3_seen {
  struct pop3_todo *v;
  size_t n, cap;
  char *pool;
  size_t used, pool_cap;
  size_t v_released, pool_released; /* bytes given back at the start */
};

static size_t page_up(size_t n)
{
  return (n + 4095) & ~(size_t)4095;
}

/* A mapping of at least want bytes at *p (old bytes kept), or false. */
static bool region_grow(void *pp, size_t *bytes, size_t want)
{
  void **p = pp;
  size_t nb = page_up(want);
  void *q = *p ? mremap(*p, page_up(*bytes), nb, MREMAP_MAYMOVE)
               : mmap(NULL, nb, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if(q == MAP_FAILED)
    return false;
  *p = q;
  *bytes = nb;
  return true;
}

static bool seen_add(struct pop3_seen *u, unsigned number, const char *uid)
{
  size_t ulen = strlen(uid);
  if(u->n == u->cap) {
    size_t cap = u->cap ? u->cap * 2 : 256;
    size_t bytes = u->cap ? (u->cap + 1) * sizeof(*u->v) : 0;
    if(!region_grow(&u->v, &bytes, (cap + 1) * sizeof(*u->v)))
      return false;
    u->cap = bytes / sizeof(*u->v) - 1;
  }
  if(!u->pool_cap || u->used + ulen + 1 > u->pool_cap) {
    size_t cap = u->pool_cap ? u->pool_cap * 2 : 4096;
    while(cap < u->used + ulen + 1)
      cap *= 2;
    if(cap > UINT32_MAX || !region_grow(&u->pool, &u->pool_cap, cap))
      return false;
    if(!u->used)
      u->used = 1; /* offset 0: "" (the mapping is zeroed) */
  }
  u->v[u->n].number = number;
  u->v[u->n].uid = 0;
  if(ulen) {
    memcpy(u->pool + u->used, uid, ulen + 1);
    u->v[u->n].uid = (uint32_t)u->used;
    u->used += ulen + 1;
  }
  u->n++;
  return true;
}

/* Room for count messages with UIDLs of the longest kind (70 characters,
 * RFC 1939), reserved at once.  Capped (a server that claims millions);
 * seen_add() grows past it if needed. */
static void seen_reserve(struct pop3_seen *u, size_t count)
{
  if(u->cap || !count || count > (size_t)1 << 20)
    return;
  size_t vb = 0, pb = 0;
  if(!region_grow(&u->v, &vb, (count + 1) * sizeof(*u->v)))
    return; /* seen_add() will try in smaller steps */
  if(!region_grow(&u->pool, &pb, 1 + count * 71)) {
    munmap(u->v, vb);
    u->v = NULL;
    return;
  }
  u->cap = vb / sizeof(*u->v) - 1;
  u->pool_cap = pb;
  u->used = 1;
}

/* The pages that hold only todo[0..done) and their UIDLs, given back:
 * those messages are stored and recorded (todo is in the pool's order;
 * the first still needed is todo[done]). */
static void seen_release(struct pop3_seen *u, const struct pop3_todo *todo,
                         size_t done, size_t ntodo)
{
  size_t keep = done < ntodo ? todo[done].uid : u->used;
  if(done < ntodo && !keep) /* no UIDL: keep what follows */
    return;
  size_t vend = ((size_t)((const char *)(todo + done) - (const char *)u->v)) &
                ~(size_t)4095;
  size_t pend = keep & ~(size_t)4095;
  if(vend > u->v_released) {
    madvise((char *)u->v + u->v_released, vend - u->v_released,
            MADV_DONTNEED);
    u->v_released = vend;
  }
  if(pend > u->pool_released) {
    madvise(u->pool + u->pool_released, pend - u->pool_released,
            MADV_DONTNEED);
    u->pool_released = pend;
  }
}

static mw_status seen_uidl(void *user, unsigned number, const char *uid)
{
  return seen_add(user, number, uid) ? MW_OK : MW_E_NOMEM;
}

static void seen_free(struct pop3_seen *u)
{
  if(u->v)
    munmap(u->v, page_up((u->cap + 1) * sizeof(*u->v)));
  if(u->pool)
    munmap(u->pool, u->pool_cap);
  memset(u, 0, sizeof(*u));
}

/* The messages with their UIDLs into u, and whether each has one.  UIDL
 * alone, streamed (nothing of the size of the mailbox kept but u), when
 * it names exactly the messages 1..STAT's count in order; else (no UIDL,
 * or a server that leaves messages out) LIST and UIDL merged by
 * mw_pop3_list(), copied and given back. */
static mw_status pop3_messages(mw_pop3 *p, struct pop3_seen *u, bool *uidl,
                               bool *oom)
{
  size_t count = 0;
  *uidl = true;
  *oom = false;
  mw_status st = mw_pop3_stat(p, &count, NULL);
  if(!st) {
    seen_reserve(u, count);
    st = mw_pop3_uidl(p, seen_uidl, u);
  }
  if(st == MW_E_NOMEM) {
    *oom = true;
    return st;
  }
  if(st && st != MW_E_REJECTED)
    return st;
  bool whole = !st && u->n == count;
  for(size_t i = 0; whole && i < u->n; i++)
    whole = u->v[i].number == i + 1;
  if(whole)
    return MW_OK;
  u->n = 0;
  u->used = u->pool_cap ? 1 : 0;
  const mw_pop3_message *list = NULL;
  st = mw_pop3_list(p, &list, &count);
  for(size_t i = 0; !st && i < count; i++) {
    if(!seen_add(u, list[i].number, list[i].uid)) {
      *oom = true;
      st = MW_E_NOMEM;
    }
    *uidl = *uidl && list[i].uid[0];
  }
  mw_pop3_list_free(p);
  return st;
}

static int fetch_pop3(struct fetch *f, mw_pop3 *p, const mw_error **err)
{
  const struct send_args *a = f->a;
  struct pop3_seen seen = {0};
  bool uidl = true, oom = false;
  mw_status st = pop3_messages(p, &seen, &uidl, &oom);
  if(oom) {
    seen_free(&seen);
    snprintf(f->local_err, sizeof(f->local_err), "out of memory");
    return f->local_code = EXIT_SOFTWARE;
  }
  if(st) {
    seen_free(&seen);
    goto session_error;
  }
  size_t count = seen.n;
  struct pop3_todo *todo = seen.v; /* filtered in place */
  const char *pool = seen.pool ? seen.pool : "";
  if(!uidl && !f->del) {
    seen_free(&seen);
    snprintf(f->local_err, sizeof(f->local_err),
             "the server gives no UIDL for its messages, so a second run "
             "cannot tell which are new: fetch with --delete (each message "
             "is deleted once stored)");
    f->local_status = MW_E_REJECTED;
    mw_pop3_quit(p);
    return f->local_code = EXIT_UNAVAILABLE;
  }
  unsigned *nums = malloc((BATCH + 1) * sizeof(*nums));
  /* UIDLs no longer on the server are forgotten: the state stays the
   * size of the mailbox (an empty state has nothing to forget). */
  bool prune = uidl && mw_fetch_state_count(f->state) > 0;
  const char **present = prune ? malloc((count + 1) * sizeof(*present))
                               : NULL;
  if(!nums || (prune && !present)) {
    seen_free(&seen);
    free(nums);
    free(present);
    snprintf(f->local_err, sizeof(f->local_err), "out of memory");
    return f->local_code = EXIT_SOFTWARE;
  }
  size_t npresent = 0;
  for(size_t i = 0; prune && i < count; i++)
    if(todo[i].uid)
      present[npresent++] = pool + todo[i].uid;
  if(prune && mw_fetch_state_prune(f->state, present, npresent, NULL)) {
    seen_free(&seen);
    free(nums);
    free(present);
    local_fail(f, EXIT_IOERR, "fetch state", mw_fetch_state_error(f->state));
    return f->local_code;
  }
  free(present);
  size_t ntodo = 0;
  for(size_t i = 0; i < count && !st; i++) {
    const char *uid = pool + todo[i].uid;
    bool recorded = uid[0] && mw_fetch_state_contains(f->state, uid);
    if(recorded && !a->in.all) {
      /* Stored and recorded by an earlier run. */
      if(f->del) {
        st = mw_pop3_delete(p, todo[i].number);
        f->deleted += !st;
      }
    }
    else if(!a->in.limit || ntodo < a->in.limit)
      todo[ntodo++] = todo[i];
  }
  f->uid_pool = pool;
  in_progress_start(&f->prog, !a->in.no_progress && !a->json, ntodo);
  for(size_t i = 0; i < ntodo && !st; i += BATCH) {
    size_t n = ntodo - i < BATCH ? ntodo - i : BATCH;
    for(size_t k = 0; k < n; k++)
      nums[k] = todo[i + k].number;
    f->batch = todo + i;
    size_t before = f->done;
    st = mw_pop3_retrieve_many(p, nums, n, pop3_message, f);
    if(st)
      msg_drop(f);
    flush_batch(f); /* perf11: durable and recorded before any DELE */
    /* DELE what this batch stored and recorded (they take effect at
     * QUIT, only if it succeeds). */
    size_t stored = f->done - before;
    for(size_t k = 0; f->del && !f->local_code && k < stored; k++) {
      mw_status dst = mw_pop3_delete(p, nums[k]);
      if(dst) {
        st = st ? st : dst;
        break;
      }
      f->deleted++;
    }
    /* Stored and recorded: the state holds their UIDLs now. */
    if(!f->local_code)
      seen_release(&seen, todo, i + n, ntodo);
  }
  in_progress_end(&f->prog);
  seen_free(&seen);
  free(nums);
  f->uid_pool = NULL;
  f->batch = NULL;
  if(f->local_code)
    return f->local_code;
  if(st)
    goto session_error;
  st = mw_pop3_quit(p);
  if(st) {
    f->deleted = 0; /* not done: the server keeps them */
    goto session_error;
  }
  return EXIT_OK;
session_error:
  *err = mw_pop3_error(p);
  if(f->del)
    f->deleted = 0; /* without a QUIT, POP3 deletes nothing */
  return exitcode_for_error(*err);
}

/* ---- the command ------------------------------------------------------- */

static void print_summary(const struct fetch *f, const char *mailbox,
                          int code, const mw_error *e, const char *errmsg,
                          double secs)
{
  const struct send_args *a = f->a;
  bool pop3 = a->in.protocol == MW_PROTOCOL_POP3;
  if(a->json) {
    fprintf(stdout, "{\"status\":\"%s\",\"protocol\":\"%s\",\"server\":",
            code ? "failed" : "ok", pop3 ? "pop3" : "imap");
    output_json_string(stdout, a->server);
    fputs(",\"mailbox\":", stdout);
    output_json_string(stdout, pop3 ? NULL : mailbox);
    fprintf(stdout, ",\"fetched\":%zu,\"skipped\":%zu,\"deleted\":%zu,"
                    "\"bytes\":%llu,\"seconds\":%.3f,",
            f->fetched, f->skipped, f->deleted,
            (unsigned long long)f->bytes, secs);
    if(!pop3 && f->uidvalidity)
      fprintf(stdout, "\"uidvalidity\":%u,", (unsigned)f->uidvalidity);
    fputs("\"state_file\":", stdout);
    output_json_string(stdout,
                       f->state ? mw_fetch_state_path(f->state) : NULL);
    fprintf(stdout, ",\"exit_code\":%d,\"error\":", code);
    if(e)
      in_json_error(stdout, e);
    else if(errmsg) {
      mw_status ls = f->local_status ? f->local_status : MW_E_IO;
      fputs("{\"status\":", stdout);
      output_json_string(stdout, mw_status_name(ls));
      fputs(",\"category\":", stdout);
      output_json_string(stdout, ls == MW_E_IO ? "local" : "command");
      fputs(",\"message\":", stdout);
      output_json_string(stdout, errmsg);
      fputs(",\"server_text\":null,\"response_code\":null,"
            "\"temporary\":false}",
            stdout);
    }
    else
      fputs("null", stdout);
    fputs("}\n", stdout);
    fflush(stdout);
    return;
  }
  if(errmsg)
    fprintf(stderr, "mailwire fetch: %s\n", errmsg);
  printf("%s: %zu fetched, %zu already stored, %zu deleted on the server, "
         "%.1f KB in %.2f s\n",
         code ? "stopped" : "done", f->fetched, f->skipped, f->deleted,
         (double)f->bytes / 1024.0, secs);
}

static int cmd_fetch_words(int argc, char **argv);

int cmd_fetch(int argc, char **argv)
{
  char **words = NULL;
  int n = 0;
  int rc = cli_apply_profile_in("fetch", argc, argv, &words, &n);
  if(rc)
    return rc;
  rc = cmd_fetch_words(n, words);
  cli_free_words(words, n);
  return rc;
}

static int cmd_fetch_words(int argc, char **argv)
{
  struct send_args *a = calloc(1, sizeof(*a));
  char err[1024];
  if(!a)
    return EXIT_SOFTWARE;
  if(cli_parse_incoming(CLI_FETCH, argc, argv, a, err, sizeof(err))) {
    cli_args_free(a);
    return output_early_error("fetch", cli_wants_json(argc, argv),
                              EXIT_USAGE, err);
  }
  if(a->help) {
    cli_print_help(stdout, CLI_FETCH);
    cli_args_free(a);
    return EXIT_OK;
  }
  if(mw_global_init() != MW_OK) {
    bool json = a->json;
    cli_args_free(a);
    return output_early_error("fetch", json, EXIT_SOFTWARE,
                              "library initialisation failed");
  }
  double t0 = in_now_ms();
  char *password = NULL, *token = NULL;
  char account[700], mbuf[512];
  const char *mailbox = in_mailbox(a, mbuf, sizeof(mbuf));
  struct fetch f = {.a = a, .account = account, .del = a->in.delete_mode == 2};
  mw_imap *m = NULL;
  mw_pop3 *p = NULL;
  const mw_error *e = NULL;
  mw_options *o = mw_options_new();
  int code = o ? in_build_options(a, o, &password, &token, err, sizeof(err))
               : EXIT_SOFTWARE;
  if(code) {
    output_early_error("fetch", a->json, code, o ? err : "out of memory");
    goto done;
  }
  if(a->trace && !a->trace_file)
    mw_options_set_trace(o, output_trace, stderr);
  in_account(a, account, sizeof(account));
  code = in_open_store(a, &f.store, err, sizeof(err));
  if(!code)
    code = in_open_state(a, account, mailbox, &f.state, err, sizeof(err));
  /* perf11: durability per batch (flush_batch); a Maildir only (an mbox
   * or MDA refuses: each message is recorded before the next) */
  if(!code)
    f.batch_mode = mw_store_set_batch(f.store, true) == MW_OK;
  /* The fetch state records every message stored, after its batch is
   * durable and before the next is listed: the store need not remember
   * them too (16 to 32 bytes a message).  What was in the Maildir before
   * this run, and what is pending, it still knows. */
  if(!code)
    mw_store_set_remember_new(f.store, false);
  if(code) {
    output_early_error("fetch", a->json, code, err);
    goto done;
  }
  bool pop3 = a->in.protocol == MW_PROTOCOL_POP3;
  mw_status st;
  if(pop3) {
    p = mw_pop3_new(o);
    st = p ? mw_pop3_connect(p) : MW_E_NOMEM;
  }
  else {
    m = mw_imap_new(o);
    st = m ? mw_imap_connect(m) : MW_E_NOMEM;
  }
  if(st == MW_E_NOMEM && !m && !p) {
    code = output_early_error("fetch", a->json, EXIT_SOFTWARE,
                              "out of memory");
    goto done;
  }
  if(st) {
    e = pop3 ? mw_pop3_error(p) : mw_imap_error(m);
    code = exitcode_for_error(e);
  }
  else {
    code = pop3 ? fetch_pop3(&f, p, &e) : fetch_imap(&f, m, mailbox, &e);
  }
  if(!code && f.state && mw_fetch_state_close(f.state)) {
    /* Every id was durable already: only the compaction failed. */
    fprintf(stderr, "mailwire fetch: warning: %s\n",
            cli_text(mw_error_message(mw_fetch_state_error(f.state))));
  }
  if(e && !a->json)
    in_print_error("fetch", e, m ? mw_imap_alert(m) : NULL);
  print_summary(&f, mailbox, code, e, f.local_code ? f.local_err : NULL,
                (in_now_ms() - t0) / 1000.0);
done:
  mw_imap_free(m);
  mw_pop3_free(p);
  mw_store_free(f.store);
  mw_fetch_state_free(f.state);
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  cli_args_free(a);
  mw_global_cleanup();
  return code;
}
