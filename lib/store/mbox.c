/*
 * store/mbox.c - the mbox kind of mw_store (mboxrd).
 *
 * Owns: the "From " separator, mboxrd quoting, the fcntl lock and the
 * crash journal beside the mbox.
 *
 * Format: each message is "From SENDER DATE\n" (DATE in asctime form,
 * UTC), the message with LF line ends where every line matching
 * /^>*From / gets one more '>', a final LF if the message lacked one, and
 * a blank line.  The quoting is streamed: a line start that may still
 * become ">>From " is held as a count, never buffered.
 *
 * Lock: an fcntl write lock on the whole mbox from open to free (waits up
 * to 10 s, then MW_E_STATE).  No dotlock: a dotlock left by a killed
 * process would block every later run, which a crash-safe fetch cannot
 * accept.
 *
 * Crash safety: FILE.mailwire-journal holds one fixed-size record,
 * rewritten in place with pwrite() and fdatasync()ed:
 *     "begin <size> <key hash>"  before a message is appended (size = the
 *                                mbox size before the append)
 *     "done  <size> <key hash>"  after the append is fsync'ed
 *     "idle  <size> <zeros>"     after an abort
 * An open that finds "begin" and an mbox longer than <size>, whose bytes at
 * <size> start with "From ", truncates it back to <size>: a message cut
 * short by a crash disappears (it was never reported stored, so the caller
 * fetches it again).  An open that finds "done" with the mbox still
 * exactly <size> bytes long remembers the key hash: a new delivery of that
 * same key is reported as already present.  Guarantee: the last message
 * committed is never stored twice; earlier ones are the caller's fetch
 * state's business (see SECURITY.md).  Limitation: a program that appends
 * to the mbox after a crash and before the next open makes the journal's
 * size stale; the "From " check refuses to truncate what is not ours.
 */
#include "store/store.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JREC_LEN 60 /* "begin " + 20 digits + ' ' + 32 hex + '\n' */
#define LOCK_WAIT_MS 10000

struct mbox {
  FILE *f;
  char *journal_path;
  FILE *journal;
  bool have_last;
  mw__key_hash last;
  off_t begin_size;
  bool begun;
  /* mboxrd quoting */
  bool at_bol;
  unsigned long gt;
  unsigned fm;
  char last_char;
};

static const char from_[] = "From ";

static bool journal_put(struct mbox *mb, const char *tag, off_t size,
                        const char *hash)
{
  char rec[JREC_LEN + 1];
  snprintf(rec, sizeof(rec), "%-5s %020lld %s\n", tag, (long long)size,
           hash ? hash : "00000000000000000000000000000000");
  if(pwrite(fileno(mb->journal), rec, JREC_LEN, 0) != JREC_LEN) {
    if(!errno)
      errno = EIO;
    return false;
  }
  return fdatasync(fileno(mb->journal)) == 0;
}

/* Parses a record; false when it is not a whole, valid one. */
static bool journal_parse(const char *rec, size_t n, char tag[6],
                          off_t *size, mw__key_hash hash)
{
  if(n < JREC_LEN || rec[JREC_LEN - 1] != '\n' || rec[5] != ' ' ||
     rec[26] != ' ')
    return false;
  memcpy(tag, rec, 5);
  tag[5] = '\0';
  for(int i = 4; i >= 0 && tag[i] == ' '; i--)
    tag[i] = '\0';
  long long v = 0;
  for(int i = 6; i < 26; i++) {
    if(rec[i] < '0' || rec[i] > '9')
      return false;
    v = v * 10 + (rec[i] - '0');
  }
  if(!mw__store_is_hash(rec + 27))
    return false;
  memcpy(hash, rec + 27, MW__STORE_HASH_HEX);
  hash[MW__STORE_HASH_HEX] = '\0';
  *size = (off_t)v;
  return true;
}

static mw_status lock_mbox(struct mw_store *s, struct mbox *mb)
{
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  for(int waited = 0;; waited += 100) {
    if(fcntl(fileno(mb->f), F_SETLK, &fl) == 0)
      return MW_OK;
    if(errno != EACCES && errno != EAGAIN)
      return mw__store_syserr(s, "cannot lock", s->target);
    if(waited >= LOCK_WAIT_MS)
      return mw__error_set(&s->err, MW_E_STATE,
                           "%s is locked by another process", s->target);
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

/* Applies the journal left by the previous run. */
static mw_status recover(struct mw_store *s, struct mbox *mb)
{
  char rec[JREC_LEN + 1];
  ssize_t n = pread(fileno(mb->journal), rec, JREC_LEN, 0);
  if(n < 0)
    return mw__store_syserr(s, "cannot read", mb->journal_path);
  char tag[6];
  off_t jsize;
  mw__key_hash hash;
  if(!journal_parse(rec, (size_t)n, tag, &jsize, hash))
    return MW_OK; /* empty or torn before any append started */
  struct stat sb;
  if(fstat(fileno(mb->f), &sb) != 0)
    return mw__store_syserr(s, "cannot examine", s->target);
  if(strcmp(tag, "done") == 0) {
    if(sb.st_size == jsize) {
      mb->have_last = true;
      memcpy(mb->last, hash, sizeof(mb->last));
    }
    return MW_OK;
  }
  if(strcmp(tag, "begin") != 0 || sb.st_size <= jsize)
    return MW_OK;
  char head[5];
  if(pread(fileno(mb->f), head, 5, jsize) != 5 || memcmp(head, from_, 5))
    return mw__error_set(&s->err, MW_E_IO,
                         "%s: the journal %s says an interrupted delivery "
                         "starts at byte %lld, but no \"From \" line is "
                         "there; not truncating (check the mbox, then "
                         "remove the journal)", s->target, mb->journal_path,
                         (long long)jsize);
  if(ftruncate(fileno(mb->f), jsize) != 0 || fsync(fileno(mb->f)) != 0)
    return mw__store_syserr(s, "cannot truncate an interrupted delivery in",
                            s->target);
  if(!journal_put(mb, "idle", jsize, NULL))
    return mw__store_syserr(s, "cannot write", mb->journal_path);
  return MW_OK;
}

/* Opens path for reading and writing, appending or not (the journal is
 * rewritten in place with pwrite(), which O_APPEND would turn into an
 * append), creating it with mode 0600 when missing. */
static FILE *open_private(const char *path, bool append, bool *created)
{
  /* "x": create exclusively; "e": O_CLOEXEC (glibc) */
  FILE *f = fopen(path, append ? "a+xe" : "w+xe");
  if(f) {
    *created = true;
    if(fchmod(fileno(f), 0600) != 0) {
      int e = errno;
      fclose(f);
      errno = e;
      return NULL;
    }
    return f;
  }
  if(errno != EEXIST)
    return NULL;
  *created = false;
  return fopen(path, append ? "a+e" : "r+e");
}

static mw_status mb_open(struct mw_store *s)
{
  struct mbox *mb = mw__calloc(1, sizeof(*mb));
  if(!mb)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  s->impl = mb;
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  mw__sbuf_printf(&b, "%s.mailwire-journal", s->target);
  mb->journal_path = mw__sbuf_steal(&b);
  if(!mb->journal_path)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  bool created = false, jcreated = false;
  mb->f = open_private(s->target, true, &created);
  if(!mb->f)
    return mw__store_syserr(s, "cannot open", s->target);
  struct stat sb;
  if(fstat(fileno(mb->f), &sb) != 0)
    return mw__store_syserr(s, "cannot examine", s->target);
  if(!S_ISREG(sb.st_mode))
    return mw__error_set(&s->err, MW_E_INVALID,
                         "%s is not a regular file", s->target);
  mw_status st = lock_mbox(s, mb);
  if(st != MW_OK)
    return st;
  /* The journal is opened only under the mbox's lock. */
  mb->journal = open_private(mb->journal_path, false, &jcreated);
  if(!mb->journal)
    return mw__store_syserr(s, "cannot open", mb->journal_path);
  if(created || jcreated) {
    /* The new directory entries are durable before any message. */
    const char *slash = strrchr(s->target, '/');
    char dir[4096];
    if(!slash)
      snprintf(dir, sizeof(dir), ".");
    else if(slash == s->target)
      snprintf(dir, sizeof(dir), "/");
    else
      snprintf(dir, sizeof(dir), "%.*s", (int)(slash - s->target),
               s->target);
    if(!mw__fsync_dir(dir))
      return mw__store_syserr(s, "cannot fsync directory", dir);
  }
  return recover(s, mb);
}

static bool mb_contains(const struct mw_store *s, const char *hash)
{
  const struct mbox *mb = s->impl;
  return mb->have_last && strcmp(mb->last, hash) == 0;
}

/* "Wed Dec  2 16:20:32 2026" in UTC, whatever the locale. */
static void asctime_utc(char out[32])
{
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  snprintf(out, 32, "%s %s %2d %02d:%02d:%02d %d", days[tm.tm_wday % 7],
           months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, tm.tm_year + 1900);
}

static mw_status mb_begin(struct mw_store *s)
{
  struct mbox *mb = s->impl;
  struct stat sb;
  if(fstat(fileno(mb->f), &sb) != 0)
    return mw__store_syserr(s, "cannot examine", s->target);
  mb->begin_size = sb.st_size;
  if(!journal_put(mb, "begin", mb->begin_size, s->hash))
    return mw__store_syserr(s, "cannot write", mb->journal_path);
  mb->begun = true;
  mb->have_last = false;
  mb->at_bol = true;
  mb->gt = 0;
  mb->fm = 0;
  mb->last_char = '\n';
  char date[32];
  asctime_utc(date);
  if(fprintf(mb->f, "From %s %s\n", s->sender, date) < 0)
    return mw__store_syserr(s, "cannot write", s->target);
  return MW_OK;
}

/* Writes the held line start: '>' * gt, then fm bytes of "From ". */
static bool flush_prefix(struct mbox *mb, bool quote)
{
  if(quote && fputc('>', mb->f) == EOF)
    return false;
  for(unsigned long i = 0; i < mb->gt; i++)
    if(fputc('>', mb->f) == EOF)
      return false;
  if(mb->fm && fwrite(from_, 1, mb->fm, mb->f) != mb->fm)
    return false;
  if(mb->gt || mb->fm)
    mb->last_char = mb->fm ? from_[mb->fm - 1] : '>';
  mb->gt = 0;
  mb->fm = 0;
  mb->at_bol = false;
  return true;
}

static mw_status mb_put(struct mw_store *s, const char *data, size_t len)
{
  struct mbox *mb = s->impl;
  size_t i = 0;
  while(i < len) {
    if(mb->at_bol) {
      char c = data[i];
      if(mb->fm == 0 && c == '>') {
        mb->gt++;
        i++;
        continue;
      }
      if(c == from_[mb->fm]) {
        i++;
        if(++mb->fm == 5 && !flush_prefix(mb, true))
          return mw__store_syserr(s, "cannot write", s->target);
        continue;
      }
      if(!flush_prefix(mb, false))
        return mw__store_syserr(s, "cannot write", s->target);
    }
    /* Copy up to and including the next LF in one piece. */
    const char *nl = memchr(data + i, '\n', len - i);
    size_t n = nl ? (size_t)(nl - (data + i)) + 1 : len - i;
    if(fwrite(data + i, 1, n, mb->f) != n)
      return mw__store_syserr(s, "cannot write", s->target);
    mb->last_char = data[i + n - 1];
    mb->at_bol = nl != NULL;
    i += n;
  }
  return MW_OK;
}

static mw_status mb_commit(struct mw_store *s)
{
  struct mbox *mb = s->impl;
  if(mb->at_bol && !flush_prefix(mb, false))
    return mw__store_syserr(s, "cannot write", s->target);
  if(mb->last_char != '\n' && fputc('\n', mb->f) == EOF)
    return mw__store_syserr(s, "cannot write", s->target);
  if(fputc('\n', mb->f) == EOF || fflush(mb->f) != 0)
    return mw__store_syserr(s, "cannot write", s->target);
  if(fsync(fileno(mb->f)) != 0)
    return mw__store_syserr(s, "cannot fsync", s->target);
  struct stat sb;
  if(fstat(fileno(mb->f), &sb) != 0)
    return mw__store_syserr(s, "cannot examine", s->target);
  if(!journal_put(mb, "done", sb.st_size, s->hash))
    return mw__store_syserr(s, "cannot write", mb->journal_path);
  mb->begun = false;
  mb->have_last = true;
  memcpy(mb->last, s->hash, sizeof(mb->last));
  return MW_OK;
}

static void mb_abort(struct mw_store *s)
{
  struct mbox *mb = s->impl;
  if(!mb || !mb->begun || !mb->f)
    return;
  __fpurge(mb->f); /* bytes not yet written never reach the file */
  if(ftruncate(fileno(mb->f), mb->begin_size) == 0 &&
     fsync(fileno(mb->f)) == 0)
    journal_put(mb, "idle", mb->begin_size, NULL);
  /* else the "begin" record stays and the next open truncates */
  mb->begun = false;
}

static void mb_close(struct mw_store *s)
{
  struct mbox *mb = s->impl;
  if(!mb)
    return;
  mb_abort(s);
  if(mb->journal)
    fclose(mb->journal);
  if(mb->f)
    fclose(mb->f); /* releases the fcntl lock */
  mw__free(mb->journal_path);
  mw__free(mb);
  s->impl = NULL;
}

const struct mw__store_kind mw__store_mbox = {
    "mbox", mb_open, mb_contains, mb_begin, mb_put,
    mb_commit, mb_abort, mb_close, NULL};
