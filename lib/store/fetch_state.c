/*
 * store/fetch_state.c - per account and mailbox fetch state
 * (mw_fetch_state_*).
 *
 * Owns: the state file, its parsing, its journal and its compaction.
 *
 * File DIR/<imap|pop3>-<32 hex: hash of account and mailbox>.state, mode
 * 0600, text, one record per line:
 *     mailwire-fetch-state 1 imap|pop3      first line
 *     # ...                                 a comment (account, mailbox)
 *     uidvalidity N                         IMAP
 *     uids 1-5,7,9-12                       IMAP, compact ranges
 *     + ID                                  a UID or UIDL fetched since
 *                                           the last rewrite (journal)
 * mw_fetch_state_add() appends "+ ID\n" and fdatasync()s before it
 * returns; mw_fetch_state_add_many() and _add_uids() append all their
 * records with one write and one fdatasync (a crash may leave a prefix
 * of them: each whole line is a valid record, a torn last one is cut).
 * A rewrite (UIDVALIDITY change, POP3 prune, close, or more than
 * MW__FETCH_STATE_COMPACT journal records) writes FILE.tmp, fsyncs it,
 * renames it over FILE and fsyncs DIR, so a crash leaves the old or the
 * new file, never a mix.  At open, a last line without its newline (a
 * write cut short) or a last line that does not parse is ignored and cut
 * off; a bad line anywhere else is MW_E_IO naming FILE:LINE.
 * FILE.lock carries an fcntl lock while the state is open, so two fetches
 * of the same mailbox cannot interleave.
 */
#include "store/fetch_state.h"

#include "core/util.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER "mailwire-fetch-state 1 "
#define LINE_MAX_LEN 65536

static const char *kind_name(mw_fetch_state_kind k)
{
  return k == MW_FETCH_STATE_IMAP ? "imap" : "pop3";
}

static mw_status syserr(struct mw_fetch_state *st, const char *verb,
                        const char *path)
{
  int e = errno;
  return mw__error_set(&st->err, e == ENOMEM ? MW_E_NOMEM : MW_E_IO,
                       "%s %s: %s", verb, path, strerror(e));
}

/* ---- IMAP: UID ranges ---- */

static size_t range_find(const struct mw_fetch_state *st, uint32_t uid)
{
  size_t lo = 0, hi = st->nr; /* first range with r.hi >= uid */
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(st->r[mid].hi < uid)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

bool mw_fetch_state_contains_uid(const mw_fetch_state *st, uint32_t uid)
{
  if(!st || st->kind != MW_FETCH_STATE_IMAP || !uid)
    return false;
  size_t i = range_find(st, uid);
  return i < st->nr && st->r[i].lo <= uid;
}

static bool range_add(struct mw_fetch_state *st, uint32_t lo, uint32_t hi)
{
  for(uint64_t u = lo; u <= hi;) {
    size_t i = range_find(st, (uint32_t)u);
    if(i < st->nr && st->r[i].lo <= u) { /* inside: skip to its end */
      u = (uint64_t)st->r[i].hi + 1;
      continue;
    }
    /* u is not covered; the piece [u, end] fits before range i */
    uint32_t end = i < st->nr && st->r[i].lo - 1 < hi ? st->r[i].lo - 1 : hi;
    bool join_prev = i > 0 && st->r[i - 1].hi + 1 == u;
    bool join_next = i < st->nr && (uint64_t)end + 1 == st->r[i].lo;
    if(join_prev && join_next) {
      st->r[i - 1].hi = st->r[i].hi;
      memmove(st->r + i, st->r + i + 1, (st->nr - i - 1) * sizeof(*st->r));
      st->nr--;
    }
    else if(join_prev) {
      st->r[i - 1].hi = end;
    }
    else if(join_next) {
      st->r[i].lo = (uint32_t)u;
    }
    else {
      if(st->nr == st->rcap) {
        size_t ncap = st->rcap ? st->rcap * 2 : 16;
        void *n = mw__realloc(st->r, ncap * sizeof(*st->r));
        if(!n)
          return false;
        st->r = n;
        st->rcap = ncap;
      }
      memmove(st->r + i + 1, st->r + i, (st->nr - i) * sizeof(*st->r));
      st->r[i].lo = (uint32_t)u;
      st->r[i].hi = end;
      st->nr++;
    }
    u = (uint64_t)end + 1;
  }
  return true;
}

static bool parse_u32(const char *s, const char **end, uint32_t *out)
{
  uint64_t v = 0;
  const char *p = s;
  while(*p >= '0' && *p <= '9' && p - s < 11)
    v = v * 10 + (uint64_t)(*p++ - '0');
  if(p == s || v == 0 || v > UINT32_MAX || (*s == '0'))
    return false;
  *end = p;
  *out = (uint32_t)v;
  return true;
}

static bool uid_text(const char *id, uint32_t *uid)
{
  const char *end;
  return id && parse_u32(id, &end, uid) && *end == '\0';
}

/* ---- POP3: a set of UIDLs ---- */

static bool uidl_ok(const char *id)
{
  size_t n = id ? strlen(id) : 0;
  if(n == 0 || n > 70)
    return false;
  for(size_t i = 0; i < n; i++)
    if((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
      return false;
  return true;
}

static uint64_t str_hash(const char *s)
{
  uint64_t h = 0xcbf29ce484222325u;
  for(; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3u;
  return h;
}

/* The set of UIDLs: the strings one after another in one pool (insertion
 * order, offset 0 unused) and an open-addressing table of their offsets
 * (0: empty).  About 24 bytes a UIDL of 16 characters, against 45 with a
 * string allocated for each: the set is one entry a message of the
 * mailbox, the largest thing a POP3 fetch holds.  Both grow as
 * mw__big_* tables (core/util.h): nothing left behind in the heap. */
static size_t id_slot(const struct mw__id_set *set, const char *id)
{
  size_t i = (size_t)(str_hash(id) & (set->cap - 1));
  while(set->slots[i] && strcmp(set->pool + set->slots[i], id) != 0)
    i = (i + 1) & (set->cap - 1);
  return i;
}

static bool id_has(const struct mw__id_set *set, const char *id)
{
  return set->cap && set->slots[id_slot(set, id)];
}

static bool id_grow_table(struct mw__id_set *set)
{
  size_t ncap = set->cap ? set->cap * 2 : 64;
  if(ncap > SIZE_MAX / sizeof(uint32_t))
    return false;
  uint32_t *n = mw__big_calloc(ncap * sizeof(*n));
  if(!n)
    return false;
  uint32_t *old = set->slots;
  size_t ocap = set->cap;
  set->slots = n;
  set->cap = ncap;
  for(size_t i = 0; i < ocap; i++)
    if(old[i])
      n[id_slot(set, set->pool + old[i])] = old[i];
  mw__big_free(old, ocap * sizeof(*old));
  return true;
}

/* Copies id into the set (nothing when it is there); false: no memory. */
static bool id_insert(struct mw__id_set *set, const char *id)
{
  /* Grown at three quarters full, as the Maildir's key set (store.c). */
  if((set->count + 1) * 4 > set->cap * 3 && !id_grow_table(set))
    return false;
  size_t i = id_slot(set, id);
  if(set->slots[i])
    return true;
  size_t len = strlen(id) + 1;
  if(set->used + len > set->pool_cap) {
    size_t ncap = set->pool_cap ? set->pool_cap + set->pool_cap / 2 : 1024;
    while(ncap < set->used + len)
      ncap += ncap / 2;
    if(ncap > UINT32_MAX)
      return false; /* offsets are 32 bits: 4 GiB of UIDLs */
    char *pool = mw__big_realloc(set->pool, set->pool_cap, ncap);
    if(!pool)
      return false;
    set->pool = pool;
    set->pool_cap = ncap;
    if(!set->used)
      set->used = 1;
  }
  memcpy(set->pool + set->used, id, len);
  set->slots[i] = (uint32_t)set->used;
  set->used += len;
  set->count++;
  return true;
}

/* The next UIDL of the set after off (0: the first), in insertion order;
 * NULL after the last. */
static const char *id_next(const struct mw__id_set *set, size_t *off)
{
  size_t o = *off ? *off + strlen(set->pool + *off) + 1 : 1;
  if(o >= set->used)
    return NULL;
  *off = o;
  return set->pool + o;
}

static void ids_clear(struct mw__id_set *set)
{
  mw__big_free(set->slots, set->cap * sizeof(*set->slots));
  mw__big_free(set->pool, set->pool_cap);
  memset(set, 0, sizeof(*set));
}

/* ---- the file ---- */

static mw_status lock_file(struct mw_fetch_state *st)
{
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  mw__sbuf_printf(&b, "%s.lock", st->path);
  char *lp = mw__sbuf_steal(&b);
  if(!lp)
    return mw__error_set(&st->err, MW_E_NOMEM, NULL);
  st->lock = fopen(lp, "ae");
  mw_status rc = MW_OK;
  if(!st->lock) {
    rc = syserr(st, "cannot open", lp);
  }
  else {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if(fcntl(fileno(st->lock), F_SETLK, &fl) != 0)
      rc = errno == EACCES || errno == EAGAIN
               ? mw__error_set(&st->err, MW_E_STATE,
                               "%s is in use by another process", st->path)
               : syserr(st, "cannot lock", lp);
  }
  mw__free(lp);
  return rc;
}

/* "1-5,7,9-12": checks it (apply false), or adds it (apply true), so a
 * damaged line changes nothing. */
static bool uids_line(struct mw_fetch_state *st, const char *p, bool apply)
{
  for(;;) {
    uint32_t lo, hi;
    if(!parse_u32(p, &p, &lo))
      return false;
    hi = lo;
    if(*p == '-' && (!parse_u32(p + 1, &p, &hi) || hi < lo))
      return false;
    if(apply && !range_add(st, lo, hi))
      return false;
    if(*p == '\0')
      return true;
    if(*p++ != ',')
      return false;
  }
}

/* Applies one complete line (without its newline); false if malformed. */
static bool apply_line(struct mw_fetch_state *st, const char *line,
                       size_t lineno, bool *header_seen)
{
  if(lineno == 1) {
    *header_seen = strncmp(line, HEADER, strlen(HEADER)) == 0 &&
                   strcmp(line + strlen(HEADER), kind_name(st->kind)) == 0;
    return *header_seen;
  }
  if(line[0] == '#')
    return true;
  if(strncmp(line, "+ ", 2) == 0) {
    st->journal_lines++;
    if(st->kind == MW_FETCH_STATE_POP3)
      return uidl_ok(line + 2) && id_insert(&st->ids, line + 2);
    uint32_t u;
    return st->have_uv && uid_text(line + 2, &u) && range_add(st, u, u);
  }
  if(st->kind != MW_FETCH_STATE_IMAP)
    return false;
  if(strncmp(line, "uidvalidity ", 12) == 0)
    return uid_text(line + 12, &st->uv) && (st->have_uv = true);
  if(strncmp(line, "uids ", 5) == 0 && st->have_uv)
    return uids_line(st, line + 5, false) && uids_line(st, line + 5, true);
  return false;
}

/* Reads one line of at most cap - 1 bytes into buf (NUL-terminated, the
 * newline dropped).  Returns its length, or -1 at the end of the file;
 * *complete is false for a line without its newline or one too long (the
 * rest of a long line is skipped). */
static long read_line(FILE *f, char *buf, size_t cap, bool *complete)
{
  size_t n = 0;
  int c;
  bool too_long = false;
  while((c = getc(f)) != EOF && c != '\n') {
    if(n + 1 < cap)
      buf[n++] = (char)c;
    else
      too_long = true;
  }
  buf[n] = '\0';
  if(c == EOF && n == 0 && !too_long)
    return -1;
  *complete = c == '\n' && !too_long;
  return (long)n;
}

static mw_status load(struct mw_fetch_state *st)
{
  FILE *f = st->f;
  rewind(f);
  char *line = mw__malloc(LINE_MAX_LEN + 1);
  if(!line)
    return mw__error_set(&st->err, MW_E_NOMEM, NULL);
  size_t lineno = 0;
  off_t good = 0;
  bool header = false, complete = false;
  mw_status rc = MW_OK;
  long n;
  while((n = read_line(f, line, LINE_MAX_LEN + 1, &complete)) >= 0) {
    lineno++;
    bool ok = complete && strlen(line) == (size_t)n &&
              apply_line(st, line, lineno, &header);
    if(ok) {
      good = ftello(f);
      continue;
    }
    if(getc(f) == EOF && !ferror(f))
      break; /* the last line: cut short by a crash, ignored */
    rc = mw__error_set(&st->err, MW_E_IO,
                       "%s:%zu: damaged fetch state (%s); move the file "
                       "away to fetch everything again", st->path, lineno,
                       lineno == 1 ? "not a mailwire fetch state of this "
                                     "kind" : "unreadable record");
    break;
  }
  mw__free(line);
  if(rc == MW_OK && ferror(f))
    rc = syserr(st, "cannot read", st->path);
  if(rc != MW_OK)
    return rc;
  struct stat sb;
  if(fstat(fileno(f), &sb) != 0)
    return syserr(st, "cannot examine", st->path);
  if(sb.st_size != good &&
     (ftruncate(fileno(f), good) != 0 || fsync(fileno(f)) != 0))
    return syserr(st, "cannot cut the damaged last line of", st->path);
  if(!header) {
    if(fprintf(f, HEADER "%s\n", kind_name(st->kind)) < 0 ||
       fflush(f) != 0 || fsync(fileno(f)) != 0)
      return syserr(st, "cannot write", st->path);
  }
  return MW_OK;
}

static bool write_all_state(struct mw_fetch_state *st, FILE *f)
{
  fprintf(f, HEADER "%s\n", kind_name(st->kind));
  if(st->kind == MW_FETCH_STATE_POP3) {
    size_t off = 0;
    for(const char *id; (id = id_next(&st->ids, &off));)
      fprintf(f, "+ %s\n", id);
    return !ferror(f);
  }
  if(st->have_uv)
    fprintf(f, "uidvalidity %lu\n", (unsigned long)st->uv);
  for(size_t i = 0; i < st->nr; i += 256) {
    fputs("uids ", f);
    for(size_t j = i; j < st->nr && j < i + 256; j++) {
      if(j > i)
        fputc(',', f);
      if(st->r[j].lo == st->r[j].hi)
        fprintf(f, "%lu", (unsigned long)st->r[j].lo);
      else
        fprintf(f, "%lu-%lu", (unsigned long)st->r[j].lo,
                (unsigned long)st->r[j].hi);
    }
    fputc('\n', f);
  }
  return !ferror(f);
}

/* Replaces the file with the state in memory, durably. */
static mw_status rewrite(struct mw_fetch_state *st)
{
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  mw__sbuf_printf(&b, "%s.tmp", st->path);
  char *tmp = mw__sbuf_steal(&b);
  if(!tmp)
    return mw__error_set(&st->err, MW_E_NOMEM, NULL);
  mw_status rc = MW_OK;
  FILE *f = fopen(tmp, "we");
  if(!f) {
    rc = syserr(st, "cannot create", tmp);
  }
  else {
    bool ok = fchmod(fileno(f), 0600) == 0 && write_all_state(st, f) &&
              fflush(f) == 0 && fsync(fileno(f)) == 0;
    if(!ok)
      rc = syserr(st, "cannot write", tmp);
    if(fclose(f) != 0 && rc == MW_OK)
      rc = syserr(st, "cannot write", tmp);
    if(rc == MW_OK && rename(tmp, st->path) != 0)
      rc = syserr(st, "cannot rename over", st->path);
    if(rc == MW_OK && !mw__fsync_dir(st->dir))
      rc = syserr(st, "cannot fsync directory", st->dir);
    if(rc != MW_OK)
      unlink(tmp);
  }
  mw__free(tmp);
  if(rc != MW_OK)
    return rc;
  /* Append to the new file from now on. */
  FILE *nf = fopen(st->path, "a+e");
  if(!nf) {
    rc = syserr(st, "cannot open", st->path);
    fclose(st->f); /* the old file is gone: never append to it */
    st->f = NULL;
    st->ready = false;
    return rc;
  }
  if(st->f)
    fclose(st->f);
  st->f = nf;
  st->journal_lines = 0;
  return MW_OK;
}

static mw_status append(struct mw_fetch_state *st, const char *id)
{
  if(fprintf(st->f, "+ %s\n", id) < 0 || fflush(st->f) != 0)
    return syserr(st, "cannot write", st->path);
  if(fdatasync(fileno(st->f)) != 0)
    return syserr(st, "cannot fsync", st->path);
  st->journal_lines++;
  return MW_OK;
}

/* After a record is both on disk and in memory (a rewrite writes what is
 * in memory, so never between the two). */
static mw_status maybe_compact(struct mw_fetch_state *st)
{
  return st->journal_lines > st->compact_at ? rewrite(st) : MW_OK;
}

/* ---- the public API ---- */

static bool text_ok(const char *s)
{
  for(; s && *s; s++)
    if((unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return s != NULL;
}

mw_status mw_fetch_state_open(const char *dir, const char *account,
                              const char *mailbox, mw_fetch_state_kind kind,
                              mw_fetch_state **out)
{
  if(!out)
    return MW_E_INVALID;
  struct mw_fetch_state *st = mw__calloc(1, sizeof(*st));
  *out = st;
  if(!st)
    return MW_E_NOMEM;
  st->kind = kind;
  st->compact_at = MW__FETCH_STATE_COMPACT;
  if(kind != MW_FETCH_STATE_IMAP && kind != MW_FETCH_STATE_POP3)
    return mw__error_set(&st->err, MW_E_INVALID,
                         "unknown fetch state kind %d", (int)kind);
  if(!dir || !*dir || !account || !*account || !text_ok(account) ||
     !text_ok(mailbox ? mailbox : ""))
    return mw__error_set(&st->err, MW_E_INVALID,
                         "a fetch state needs a directory and an account "
                         "(and a mailbox) without control characters");
  if(!mailbox)
    mailbox = "";
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  mw__sbuf_printf(&b, "%s\n%s\n%s", kind_name(kind), account, mailbox);
  mw__key_hash h;
  if(b.failed) {
    mw__sbuf_free(&b);
    return mw__error_set(&st->err, MW_E_NOMEM, NULL);
  }
  mw__store_key_hash(b.data, h);
  mw__sbuf_reset(&b);
  mw__sbuf_printf(&b, "%s/%s-%s.state", dir, kind_name(kind), h);
  st->path = mw__sbuf_steal(&b);
  st->dir = mw__strdup(dir);
  if(!st->path || !st->dir)
    return mw__error_set(&st->err, MW_E_NOMEM, NULL);
  if(mkdir(dir, 0700) != 0 && errno != EEXIST)
    return syserr(st, "cannot create directory", dir);
  mw_status rc = lock_file(st);
  if(rc != MW_OK)
    return rc;
  struct stat sb;
  bool existed = stat(st->path, &sb) == 0;
  st->f = fopen(st->path, "a+e");
  if(!st->f)
    return syserr(st, "cannot open", st->path);
  if(!existed && fchmod(fileno(st->f), 0600) != 0)
    return syserr(st, "cannot chmod", st->path);
  rc = load(st);
  if(rc != MW_OK)
    return rc;
  if(!existed) {
    fprintf(st->f, "# %s %s\n", account, mailbox);
    if(fflush(st->f) != 0 || fsync(fileno(st->f)) != 0)
      return syserr(st, "cannot write", st->path);
    if(!mw__fsync_dir(dir))
      return syserr(st, "cannot fsync directory", dir);
  }
  st->ready = true;
  return MW_OK;
}

mw_status mw_fetch_state_close(mw_fetch_state *st)
{
  if(!st)
    return MW_E_INVALID;
  if(!st->ready)
    return mw__error_set(&st->err, MW_E_STATE, "the fetch state is not open");
  if(st->journal_lines == 0)
    return MW_OK;
  mw__error_clear(&st->err);
  return rewrite(st);
}

void mw_fetch_state_free(mw_fetch_state *st)
{
  if(!st)
    return;
  if(st->ready) /* never after a failed open: the file may be damaged */
    mw_fetch_state_close(st);
  if(st->f)
    fclose(st->f);
  if(st->lock)
    fclose(st->lock); /* releases the lock */
  ids_clear(&st->ids);
  mw__free(st->r);
  mw__free(st->path);
  mw__free(st->dir);
  mw__error_clear(&st->err);
  mw__free(st);
}

const mw_error *mw_fetch_state_error(const mw_fetch_state *st)
{
  static const struct mw_error none = {.status = MW_OK};
  return st ? &st->err : &none;
}

const char *mw_fetch_state_path(const mw_fetch_state *st)
{
  return st && st->path ? st->path : "";
}

static mw_status usable(mw_fetch_state *st)
{
  if(!st)
    return MW_E_INVALID;
  if(!st->ready)
    return mw__error_set(&st->err, MW_E_STATE, "the fetch state is not open");
  mw__error_clear(&st->err);
  return MW_OK;
}

bool mw_fetch_state_uidvalidity(const mw_fetch_state *st, uint32_t *out)
{
  if(!st || !st->have_uv)
    return false;
  if(out)
    *out = st->uv;
  return true;
}

mw_status mw_fetch_state_set_uidvalidity(mw_fetch_state *st, uint32_t v,
                                         bool *reset)
{
  if(reset)
    *reset = false;
  mw_status rc = usable(st);
  if(rc != MW_OK)
    return rc;
  if(st->kind != MW_FETCH_STATE_IMAP || v == 0)
    return mw__error_set(&st->err, MW_E_INVALID,
                         "UIDVALIDITY is a non-zero number of an IMAP "
                         "mailbox");
  if(st->have_uv && st->uv == v)
    return MW_OK;
  if(reset)
    *reset = st->have_uv;
  st->have_uv = true;
  st->uv = v;
  st->nr = 0;
  return rewrite(st);
}

bool mw_fetch_state_contains(const mw_fetch_state *st, const char *id)
{
  if(!st)
    return false;
  if(st->kind == MW_FETCH_STATE_IMAP) {
    uint32_t u;
    return uid_text(id, &u) && mw_fetch_state_contains_uid(st, u);
  }
  return uidl_ok(id) && id_has(&st->ids, id);
}

mw_status mw_fetch_state_add_uid(mw_fetch_state *st, uint32_t uid)
{
  mw_status rc = usable(st);
  if(rc != MW_OK)
    return rc;
  if(st->kind != MW_FETCH_STATE_IMAP || uid == 0)
    return mw__error_set(&st->err, MW_E_INVALID,
                         "a UID is a non-zero number of an IMAP mailbox");
  if(!st->have_uv)
    return mw__error_set(&st->err, MW_E_STATE,
                         "record the mailbox's UIDVALIDITY before its UIDs");
  if(mw_fetch_state_contains_uid(st, uid))
    return MW_OK;
  char text[16];
  snprintf(text, sizeof(text), "%lu", (unsigned long)uid);
  rc = append(st, text); /* durable first, then believed */
  if(rc == MW_OK && !range_add(st, uid, uid))
    rc = mw__error_set(&st->err, MW_E_NOMEM, NULL);
  return rc == MW_OK ? maybe_compact(st) : rc;
}

mw_status mw_fetch_state_add(mw_fetch_state *st, const char *id)
{
  mw_status rc = usable(st);
  if(rc != MW_OK)
    return rc;
  if(st->kind == MW_FETCH_STATE_IMAP) {
    uint32_t u;
    if(!uid_text(id, &u))
      return mw__error_set(&st->err, MW_E_INVALID,
                           "an IMAP UID is a number from 1 to 4294967295");
    return mw_fetch_state_add_uid(st, u);
  }
  if(!uidl_ok(id))
    return mw__error_set(&st->err, MW_E_INVALID,
                         "a UIDL is 1 to 70 printable characters");
  if(id_has(&st->ids, id))
    return MW_OK;
  rc = append(st, id); /* durable first, then believed */
  if(rc != MW_OK)
    return rc;
  if(!id_insert(&st->ids, id))
    return mw__error_set(&st->err, MW_E_NOMEM, NULL);
  return maybe_compact(st);
}

static int u32_cmp(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Appends the records in b (complete "+ ID\n" lines) with one write and
 * one fdatasync. */
static mw_status append_many(struct mw_fetch_state *st, struct mw__sbuf *b,
                             size_t lines)
{
  if(b->failed)
    return mw__error_set(&st->err, MW_E_NOMEM, NULL);
  if(!lines)
    return MW_OK;
  if(fwrite(b->data, 1, b->len, st->f) != b->len || fflush(st->f) != 0)
    return syserr(st, "cannot write", st->path);
  if(fdatasync(fileno(st->f)) != 0)
    return syserr(st, "cannot fsync", st->path);
  st->journal_lines += lines;
  return MW_OK;
}

mw_status mw_fetch_state_add_uids(mw_fetch_state *st, const uint32_t *uids,
                                  size_t n)
{
  mw_status rc = usable(st);
  if(rc != MW_OK)
    return rc;
  if(!uids && n)
    return mw__error_set(&st->err, MW_E_INVALID, "no UIDs given");
  if(st->kind != MW_FETCH_STATE_IMAP)
    return mw__error_set(&st->err, MW_E_INVALID,
                         "UIDs belong to an IMAP fetch state");
  for(size_t i = 0; i < n; i++)
    if(!uids[i])
      return mw__error_set(&st->err, MW_E_INVALID,
                           "a UID is a non-zero number of an IMAP mailbox");
  if(n && !st->have_uv)
    return mw__error_set(&st->err, MW_E_STATE,
                         "record the mailbox's UIDVALIDITY before its UIDs");
  /* Ascending and once each: a copy, sorted. */
  uint32_t *u = mw__malloc((n ? n : 1) * sizeof(*u));
  if(!u)
    return mw__error_set(&st->err, MW_E_NOMEM, NULL);
  if(n) {
    memcpy(u, uids, n * sizeof(*u));
    qsort(u, n, sizeof(*u), u32_cmp);
  }
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  size_t lines = 0;
  for(size_t i = 0; i < n; i++)
    if((i == 0 || u[i] != u[i - 1]) &&
       !mw_fetch_state_contains_uid(st, u[i])) {
      mw__sbuf_printf(&b, "+ %lu\n", (unsigned long)u[i]);
      lines++;
    }
  rc = append_many(st, &b, lines); /* durable first, then believed */
  mw__sbuf_free(&b);
  for(size_t i = 0; rc == MW_OK && lines && i < n; i++)
    if(!range_add(st, u[i], u[i]))
      rc = mw__error_set(&st->err, MW_E_NOMEM, NULL);
  mw__free(u);
  return rc == MW_OK ? maybe_compact(st) : rc;
}

mw_status mw_fetch_state_add_many(mw_fetch_state *st,
                                  const char *const *ids, size_t n)
{
  mw_status rc = usable(st);
  if(rc != MW_OK)
    return rc;
  if(!ids && n)
    return mw__error_set(&st->err, MW_E_INVALID, "no ids given");
  if(st->kind == MW_FETCH_STATE_IMAP) {
    uint32_t *u = mw__malloc((n ? n : 1) * sizeof(*u));
    if(!u)
      return mw__error_set(&st->err, MW_E_NOMEM, NULL);
    for(size_t i = 0; i < n; i++)
      if(!uid_text(ids[i], &u[i])) {
        mw__free(u);
        return mw__error_set(&st->err, MW_E_INVALID,
                             "an IMAP UID is a number from 1 to 4294967295");
      }
    rc = mw_fetch_state_add_uids(st, u, n);
    mw__free(u);
    return rc;
  }
  for(size_t i = 0; i < n; i++)
    if(!uidl_ok(ids[i]))
      return mw__error_set(&st->err, MW_E_INVALID,
                           "a UIDL is 1 to 70 printable characters");
  /* The new ids, once each, in a set of their own first. */
  struct mw__id_set fresh = {0};
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  size_t lines = 0;
  for(size_t i = 0; rc == MW_OK && i < n; i++) {
    if(id_has(&st->ids, ids[i]) || id_has(&fresh, ids[i]))
      continue;
    if(!id_insert(&fresh, ids[i]))
      rc = mw__error_set(&st->err, MW_E_NOMEM, NULL);
    mw__sbuf_printf(&b, "+ %s\n", ids[i]);
    lines++;
  }
  if(rc == MW_OK)
    rc = append_many(st, &b, lines); /* durable first, then believed */
  mw__sbuf_free(&b);
  size_t off = 0;
  for(const char *id; rc == MW_OK && (id = id_next(&fresh, &off));)
    if(!id_insert(&st->ids, id))
      rc = mw__error_set(&st->err, MW_E_NOMEM, NULL);
  ids_clear(&fresh);
  return rc == MW_OK ? maybe_compact(st) : rc;
}

mw_status mw_fetch_state_prune(mw_fetch_state *st,
                               const char *const *present, size_t n,
                               size_t *removed)
{
  if(removed)
    *removed = 0;
  mw_status rc = usable(st);
  if(rc != MW_OK)
    return rc;
  if(st->kind != MW_FETCH_STATE_POP3)
    return mw__error_set(&st->err, MW_E_INVALID,
                         "only a POP3 fetch state is pruned");
  struct mw__id_set keep = {0};
  for(size_t i = 0; i < n; i++) {
    if(!present[i] || !id_has(&st->ids, present[i]) ||
       id_has(&keep, present[i]))
      continue;
    if(!id_insert(&keep, present[i])) {
      ids_clear(&keep);
      return mw__error_set(&st->err, MW_E_NOMEM, NULL);
    }
  }
  size_t gone = st->ids.count - keep.count;
  if(gone == 0) {
    ids_clear(&keep);
    return MW_OK;
  }
  ids_clear(&st->ids);
  st->ids = keep;
  if(removed)
    *removed = gone;
  return rewrite(st);
}

uint64_t mw_fetch_state_count(const mw_fetch_state *st)
{
  if(!st)
    return 0;
  if(st->kind == MW_FETCH_STATE_POP3)
    return st->ids.count;
  uint64_t c = 0;
  for(size_t i = 0; i < st->nr; i++)
    c += (uint64_t)st->r[i].hi - st->r[i].lo + 1;
  return c;
}
