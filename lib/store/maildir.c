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
#include "store/store.h"

#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define TMP_MAX_AGE (36 * 3600)

struct maildir {
  struct mw__hash_set keys;
  char host[200];
  unsigned long seq;
  FILE *f;
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

static mw_status md_open(struct mw_store *s)
{
  struct maildir *md = mw__calloc(1, sizeof(*md));
  if(!md)
    return mw__error_set(&s->err, MW_E_NOMEM, NULL);
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
  return mw__hash_set_has(&md->keys, hash);
}

static mw_status md_begin(struct mw_store *s)
{
  struct maildir *md = s->impl;
  for(int attempt = 0; attempt < 5; attempt++) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int n = snprintf(md->name, sizeof(md->name), "%lld.M%ldP%ldQ%lu.%s,MW=%s",
                     (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
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
    return st;
  }
  return MW_OK;
}

static mw_status md_put(struct mw_store *s, const char *data, size_t len)
{
  struct maildir *md = s->impl;
  if(!mw__write_all(md->f, data, len))
    return mw__store_syserr(s, "cannot write", md->tmp_path);
  return MW_OK;
}

static mw_status md_commit(struct mw_store *s)
{
  struct maildir *md = s->impl;
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
  if(!mw__fsync_dir(new_dir)) {
    mw_status st = mw__store_syserr(s, "cannot fsync directory", new_dir);
    unlink(new_path); /* not durable: not delivered */
    return st;
  }
  if(!mw__hash_set_add(&md->keys, s->hash))
    return MW_OK; /* delivered; only the duplicate check is weaker */
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
  mw__hash_set_free(&md->keys);
  mw__free(md);
  s->impl = NULL;
}

const struct mw__store_kind mw__store_maildir = {
    "Maildir", md_open, md_contains, md_begin, md_put,
    md_commit, md_abort, md_close};
