/*
 * store/maildir.c - the Maildir kind of mw_store.
 *
 * Owns: creating DIR/{tmp,new,cur} (mode 0700) when missing, the file
 * names, the delivery protocol and the set of keys the Maildir holds.
 *
 * A message is written to tmp/NAME (created exclusively, mode 0600),
 * fflush'ed, fsync'ed and closed, renamed to new/NAME, and new/ is
 * fsync'ed: only then does commit return.  A crash at any moment leaves
 * at most a partial file in tmp/ (removed by a later open once it is 36
 * hours old, as the Maildir convention asks), never one in new/.
 *
 * NAME is the usual unique form with one extra comma field carrying the
 * hash of the caller's key (the part after ':' is the MUA's):
 *     <seconds>.M<microseconds>P<pid>Q<sequence>.<host>,MW=<32 hex digits>
 * e.g. "1764692432.M123456P4242Q7.mx,MW=3f9a...".  HOST has '/', ':' and
 * ',' written as \057, \072 and \054.  Dovecot and other readers ignore
 * comma fields they do not know.  At open, new/ and cur/ are read once
 * and every MW= hash found goes into an in-memory set, so a message whose
 * key is already there (even moved to cur/ as "NAME:2,S" by a reader) is
 * not stored twice: that is what makes a crash between "stored" and
 * "recorded as fetched" harmless.  Messages that another program puts
 * into the Maildir while the store is open are not seen.
 */
#define _GNU_SOURCE /* syncfs, sync_file_range */
#include "store/store.h"

#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define TMP_MAX_AGE (36 * 3600)
/* Batch mode without syncfs: at most this many pending files stay open
 * for the sync's fsync; later ones are fsync'ed at commit. */
#define MAX_OPEN_PENDING 128

/* A committed file waiting in tmp/ for mw_store_sync(). */
struct pending {
  char *name;
  mw__key_hash hash;
  FILE *f;      /* open for the sync's fsync, or NULL */
  bool renamed; /* in new/ now (during a sync) */
};

struct maildir {
  struct mw__hash_set keys;
  struct mw__hash_set pending_keys; /* keys of the pending files */
  char host[200];
  unsigned long seq;
  long pid;
  FILE *f;      /* the message being written, or NULL */
  /* new/, open while the store is, for fsync and syncfs.  A FILE opened
   * read-only and never read (stdio allocates no buffer then), not a DIR,
   * which holds a 32 KiB buffer. */
  FILE *new_handle;
  int new_fd; /* fileno(new_handle) */
  bool use_syncfs;
  struct pending *pend;
  size_t npend, pcap, nopen;
  char name[NAME_MAX + 1];
  char tmp_path[PATH_MAX];
};

static bool path_of(struct mw_store *s, char *buf, size_t cap,
                    const char *sub, const char *name)
{
  int n = snprintf(buf, cap, "%s/%s%s%s", s->target, sub, name ? "/" : "",
                   name ? name : "");
  return n > 0 && (size_t)n < cap;
}

static mw_status make_dir(struct mw_store *s, const char *path, bool *made)
{
  struct stat sb;
  if(mkdir(path, 0700) == 0) {
    *made = true;
    return MW_OK;
  }
  if(errno != EEXIST)
    return mw__store_syserr(s, "cannot create directory", path);
  if(stat(path, &sb) != 0)
    return mw__store_syserr(s, "cannot examine", path);
  if(!S_ISDIR(sb.st_mode))
    return mw__error_set(&s->err, MW_E_IO,
                         "%s exists and is not a directory", path);
  return MW_OK;
}

static void host_name(struct maildir *md)
{
  struct utsname u;
  const char *h = uname(&u) == 0 && u.nodename[0] ? u.nodename : "localhost";
  size_t o = 0;
  for(const char *p = h; *p && o + 5 < sizeof(md->host) && o < 120; p++) {
    const char *esc = *p == '/' ? "\\057" : *p == ':' ? "\\072"
                      : *p == ',' ? "\\054" : NULL;
    if(esc) {
      memcpy(md->host + o, esc, 4);
      o += 4;
    }
    else if((unsigned char)*p > 0x20 && *p != 0x7f) {
      md->host[o++] = *p;
    }
  }
  md->host[o] = '\0';
}

/* Adds the MW= hash of every name in DIR/sub to the set; in tmp/, removes
 * our own leftovers older than 36 hours instead. */
static mw_status scan(struct mw_store *s, struct maildir *md, const char *sub)
{
  char dir[PATH_MAX], path[PATH_MAX];
  if(!path_of(s, dir, sizeof(dir), sub, NULL))
    return mw__error_set(&s->err, MW_E_INVALID, "path too long: %s",
                         s->target);
  DIR *d = opendir(dir);
  if(!d)
    return mw__store_syserr(s, "cannot read directory", dir);
  bool is_tmp = strcmp(sub, "tmp") == 0;
  time_t now = time(NULL);
  struct dirent *de;
  mw_status st = MW_OK;
  errno = 0;
  while(st == MW_OK && (de = readdir(d)) != NULL) {
    const char *m = strstr(de->d_name, ",MW=");
    if(!m || !mw__store_is_hash(m + 4)) {
      errno = 0;
      continue;
    }
    if(is_tmp) {
      struct stat sb;
      if(path_of(s, path, sizeof(path), sub, de->d_name) &&
         lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
         now - sb.st_mtime > TMP_MAX_AGE)
        unlink(path);
    }
    else if(!mw__hash_set_add(&md->keys, m + 4)) {
      st = mw__error_set(&s->err, MW_E_NOMEM, NULL);
    }
    errno = 0;
  }
  if(st == MW_OK && errno != 0)
    st = mw__store_syserr(s, "cannot read directory", dir);
  closedir(d);
  return st;
}

/* Whether syncfs(2) on this filesystem makes every file written to it
 * durable and reports a failed writeback: a local filesystem that syncs
 * its journal or log (not a network or FUSE one, whose syncfs may stop at
 * the page cache), on Linux 5.8 or later (syncfs reports writeback errors
 * since then; earlier it returned 0 regardless). */
static bool syncfs_trusted(int fd)
{
#ifdef __linux__
  struct statfs sf;
  if(fstatfs(fd, &sf) != 0)
    return false;
  switch((unsigned long)sf.f_type) {
  case 0xEF53UL:     /* ext2/3/4 */
  case 0x58465342UL: /* XFS */
  case 0x9123683EUL: /* Btrfs */
  case 0xF2F52010UL: /* F2FS */
  case 0x01021994UL: /* tmpfs: nothing to sync, nothing lost */
    break;
  default:
    return false;
  }
  struct utsname u;
  unsigned long major = 0, minor = 0;
  if(uname(&u) != 0)
    return false;
  char *end;
  major = strtoul(u.release, &end, 10);
  if(*end == '.')
    minor = strtoul(end + 1, NULL, 10);
  return major > 5 || (major == 5 && minor >= 8);
#else
  (void)fd;
  return false;
#endif
}

void mw__store_maildir_use_syncfs(struct mw_store *s, bool on)
{
  if(s && s->kind == &mw__store_maildir && s->impl) {
    struct maildir *md = s->impl;
    md->use_syncfs = on && syncfs_trusted(md->new_fd);
  }
}

static mw_status md_open(struct mw_store *s)
{
  struct maildir *md = mw__calloc(1, sizeof(*md));
  if(!md)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  md->new_fd = -1;
  md->pid = (long)getpid();
  s->impl = md;
  host_name(md);
  char path[PATH_MAX];
  bool made_top = false, made_sub = false;
  mw_status st = make_dir(s, s->target, &made_top);
  static const char *const subs[] = {"tmp", "new", "cur"};
  for(size_t i = 0; st == MW_OK && i < 3; i++) {
    if(!path_of(s, path, sizeof(path), subs[i], NULL))
      return mw__error_set(&s->err, MW_E_INVALID, "path too long: %s",
                           s->target);
    st = make_dir(s, path, &made_sub);
  }
  if(st != MW_OK)
    return st;
  /* Directories we made are durable before any message goes in. */
  if(made_sub && !mw__fsync_dir(s->target))
    return mw__store_syserr(s, "cannot fsync directory", s->target);
  if(made_top) {
    snprintf(path, sizeof(path), "%s/..", s->target);
    if(!mw__fsync_dir(path))
      return mw__store_syserr(s, "cannot fsync directory", path);
  }
  /* new/ stays open: every commit fsyncs it (or every sync, in batch
   * mode), and syncfs() reports the errors seen since this open. */
  path_of(s, path, sizeof(path), "new", NULL);
  md->new_handle = fopen(path, "re");
  if(!md->new_handle)
    return mw__store_syserr(s, "cannot open directory", path);
  md->new_fd = fileno(md->new_handle);
  md->use_syncfs = syncfs_trusted(md->new_fd);
  st = scan(s, md, "new");
  if(st == MW_OK)
    st = scan(s, md, "cur");
  if(st == MW_OK)
    st = scan(s, md, "tmp");
  return st;
}

static bool md_contains(const struct mw_store *s, const char *hash)
{
  const struct maildir *md = s->impl;
  return mw__hash_set_has(&md->keys, hash) ||
         mw__hash_set_has(&md->pending_keys, hash);
}

static mw_status md_begin(struct mw_store *s)
{
  struct maildir *md = s->impl;
  for(int attempt = 0; attempt < 5; attempt++) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int n = snprintf(md->name, sizeof(md->name), "%lld.M%ldP%ldQ%lu.%s,MW=%s",
                     (long long)tv.tv_sec, (long)tv.tv_usec, md->pid,
                     ++md->seq, md->host, s->hash);
    if(n < 0 || (size_t)n >= sizeof(md->name) ||
       !path_of(s, md->tmp_path, sizeof(md->tmp_path), "tmp", md->name))
      return mw__error_set(&s->err, MW_E_INVALID, "path too long: %s",
                           s->target);
    /* "x": O_EXCL, "e": O_CLOEXEC (glibc) */
    md->f = fopen(md->tmp_path, "wxe");
    if(md->f)
      break;
    if(errno != EEXIST)
      return mw__store_syserr(s, "cannot create", md->tmp_path);
  }
  if(!md->f)
    return mw__store_syserr(s, "cannot create", md->tmp_path);
  /* Before any byte is written: the message is for its owner only. */
  if(fchmod(fileno(md->f), 0600) != 0) {
    mw_status st = mw__store_syserr(s, "cannot chmod", md->tmp_path);
    fclose(md->f);
    md->f = NULL;
    unlink(md->tmp_path);
    md->tmp_path[0] = '\0';
    return st;
  }
  return MW_OK;
}

/* store.c hands over up to 16 KiB at a time: more than stdio's buffer,
 * so a small message reaches the file in one write(2) at commit. */
static mw_status md_put(struct mw_store *s, const char *data, size_t len)
{
  struct maildir *md = s->impl;
  if(!mw__write_all(md->f, data, len))
    return mw__store_syserr(s, "cannot write", md->tmp_path);
  return MW_OK;
}

/* Batch mode: the file stays in tmp/ until md_sync().  On failure the
 * file is still md->f / md->tmp_path, for md_abort(). */
static mw_status md_commit_pending(struct mw_store *s, struct maildir *md)
{
  if(md->npend == md->pcap) {
    size_t ncap = md->pcap ? md->pcap * 2 : 64;
    struct pending *n = mw__realloc(md->pend, ncap * sizeof(*n));
    if(!n)
      return mw__error_set(&s->err, MW_E_NOMEM, NULL);
    md->pend = n;
    md->pcap = ncap;
  }
  char *name = mw__strdup(md->name);
  if(!name)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  bool keep_open = !md->use_syncfs && md->nopen < MAX_OPEN_PENDING;
  if(fflush(md->f) != 0) {
    mw__free(name);
    return mw__store_syserr(s, "cannot write", md->tmp_path);
  }
  if(keep_open) {
#ifdef SYNC_FILE_RANGE_WRITE
    /* Start the writeback now: by the sync most of it is done, and one
     * journal commit covers many files. */
    (void)sync_file_range(fileno(md->f), 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  }
  else {
    /* syncfs needs no descriptor; past the cap, this file is made
     * durable now (its rename still waits for the sync). */
    bool ok = md->use_syncfs || fsync(fileno(md->f)) == 0;
    const char *verb = ok ? "cannot close" : "cannot fsync";
    FILE *f = md->f;
    md->f = NULL;
    if(fclose(f) != 0)
      ok = false;
    if(!ok) {
      mw__free(name);
      return mw__store_syserr(s, verb, md->tmp_path);
    }
  }
  if(!mw__hash_set_add(&md->pending_keys, s->hash)) {
    mw__free(name);
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
  }
  md->pend[md->npend].name = name;
  md->pend[md->npend].f = keep_open ? md->f : NULL;
  md->pend[md->npend].renamed = false;
  memcpy(md->pend[md->npend].hash, s->hash, sizeof(s->hash));
  md->npend++;
  md->nopen += keep_open;
  md->f = NULL;
  md->tmp_path[0] = '\0'; /* the batch's now */
  return MW_OK;
}

static mw_status md_commit(struct mw_store *s)
{
  struct maildir *md = s->impl;
  if(s->batch)
    return md_commit_pending(s, md);
  char new_path[PATH_MAX], new_dir[PATH_MAX];
  if(!path_of(s, new_path, sizeof(new_path), "new", md->name) ||
     !path_of(s, new_dir, sizeof(new_dir), "new", NULL))
    return mw__error_set(&s->err, MW_E_INVALID, "path too long: %s",
                         s->target);
  if(fflush(md->f) != 0)
    return mw__store_syserr(s, "cannot write", md->tmp_path);
  if(fsync(fileno(md->f)) != 0)
    return mw__store_syserr(s, "cannot fsync", md->tmp_path);
  FILE *f = md->f;
  md->f = NULL;
  if(fclose(f) != 0)
    return mw__store_syserr(s, "cannot close", md->tmp_path);
  if(rename(md->tmp_path, new_path) != 0)
    return mw__store_syserr(s, "cannot rename into new/", md->tmp_path);
  md->tmp_path[0] = '\0';
  if(fsync(md->new_fd) != 0) {
    mw_status st = mw__store_syserr(s, "cannot fsync directory", new_dir);
    unlink(new_path); /* not durable: not delivered */
    return st;
  }
  /* Delivered; a failure to remember the key only weakens the duplicate
   * check, and a caller that records what it stores asked us not to. */
  if(!s->forget_new)
    (void)mw__hash_set_add(&md->keys, s->hash);
  return MW_OK;
}

/* Forgets the pending files; with remove, deletes them (from tmp/, or
 * from new/ when a failed sync had renamed them already). */
static void drop_pending(struct mw_store *s, struct maildir *md, bool remove)
{
  char path[PATH_MAX];
  for(size_t i = 0; i < md->npend; i++) {
    struct pending *p = &md->pend[i];
    if(p->f)
      fclose(p->f);
    if(remove && path_of(s, path, sizeof(path), p->renamed ? "new" : "tmp",
                         p->name))
      unlink(path);
    mw__free(p->name);
  }
  md->npend = 0;
  md->nopen = 0;
  mw__hash_set_free(&md->pending_keys);
}

static mw_status md_sync(struct mw_store *s)
{
  struct maildir *md = s->impl;
  if(!md || !md->npend)
    return MW_OK;
  char from[PATH_MAX], to[PATH_MAX], new_dir[PATH_MAX];
  path_of(s, new_dir, sizeof(new_dir), "new", NULL);
  mw_status st = MW_OK;
  /* 1. Every pending file's bytes on disk. */
  if(md->use_syncfs) {
    if(syncfs(md->new_fd) != 0)
      st = mw__store_syserr(s, "cannot sync the filesystem of", s->target);
  }
  for(size_t i = 0; i < md->npend; i++) {
    struct pending *p = &md->pend[i];
    if(!p->f)
      continue;
    if(st == MW_OK && fsync(fileno(p->f)) != 0 &&
       path_of(s, from, sizeof(from), "tmp", p->name))
      st = mw__store_syserr(s, "cannot fsync", from);
    if(fclose(p->f) != 0 && st == MW_OK &&
       path_of(s, from, sizeof(from), "tmp", p->name))
      st = mw__store_syserr(s, "cannot close", from);
    p->f = NULL;
  }
  md->nopen = 0;
  /* 2. Into new/, 3. new/ on disk. */
  for(size_t i = 0; st == MW_OK && i < md->npend; i++) {
    struct pending *p = &md->pend[i];
    if(!path_of(s, from, sizeof(from), "tmp", p->name) ||
       !path_of(s, to, sizeof(to), "new", p->name))
      st = mw__error_set(&s->err, MW_E_INVALID, "path too long: %s",
                         s->target);
    else if(rename(from, to) != 0)
      st = mw__store_syserr(s, "cannot rename into new/", from);
    else
      p->renamed = true;
  }
  if(st == MW_OK && fsync(md->new_fd) != 0)
    st = mw__store_syserr(s, "cannot fsync directory", new_dir);
  if(st != MW_OK) {
    drop_pending(s, md, true); /* not durable: not delivered */
    return st;
  }
  /* Durable: their keys join the Maildir's (a failure here only weakens
   * the duplicate check, as in md_commit), unless the caller records them
   * itself (mw_store_set_remember_new). */
  for(size_t i = 0; !s->forget_new && i < md->npend; i++)
    (void)mw__hash_set_add(&md->keys, md->pend[i].hash);
  drop_pending(s, md, false);
  return MW_OK;
}

static void md_abort(struct mw_store *s)
{
  struct maildir *md = s->impl;
  if(!md)
    return;
  if(md->f) {
    fclose(md->f);
    md->f = NULL;
  }
  if(md->tmp_path[0]) {
    unlink(md->tmp_path);
    md->tmp_path[0] = '\0';
  }
}

static void md_close(struct mw_store *s)
{
  struct maildir *md = s->impl;
  if(!md)
    return;
  md_abort(s);
  drop_pending(s, md, true); /* never reported durable: never stored */
  mw__free(md->pend);
  if(md->new_handle)
    fclose(md->new_handle);
  mw__hash_set_free(&md->keys);
  mw__free(md);
  s->impl = NULL;
}

const struct mw__store_kind mw__store_maildir = {
    "Maildir", md_open, md_contains, md_begin, md_put,
    md_commit, md_abort, md_close, md_sync};
