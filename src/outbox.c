/*
 * outbox.c - the outbox spool (issue 12): files and lock.
 *
 * Why in src/ and not lib/: an entry is "a `mailwire send` to replay" -
 * the send's command-line words (without secrets: the password is taken
 * again from the profile or password command when `queue run` sends),
 * the directory it was started in, and the rendered message.  That is
 * the CLI's policy and vocabulary; a library user has its own process
 * and storage for retries and gets the classification it needs from
 * mw_error (mw_error_is_temporary, MW_E_DELIVERY_UNKNOWN).
 *
 * Layout of the spool directory DIR:
 *   DIR/ID.msg      the message, exactly as it is to be sent (never
 *                   rewritten)
 *   DIR/ID.env      the entry: envelope words, state, attempts, next
 *                   attempt; the entry exists when this file does
 *   DIR/tmp/        files being written (temporary, fsync, rename)
 *   DIR/failed/     entries refused for good (5xx), with their reason
 *   DIR/lock        fcntl lock held by `queue run` and `queue drop`
 * Order of writing: ID.msg is complete and renamed in before ID.env is;
 * ID.env is removed before ID.msg.  Every rename and unlink is followed
 * by an fsync of the directory.  As lib/store/maildir.c does.
 *
 * The entry file is text, one "key value" per line, values with '%',
 * and control bytes written %XX; it begins "mailwire-queue 1" and ends
 * "end" (a truncated file is refused).
 */
#define _GNU_SOURCE
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ENTRY_MAX_ARGS 4096
#define ENTRY_MAX_LINE 65536

static int fail(char *err, size_t errlen, const char *what, const char *path)
{
  snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
  return -1;
}

int outbox_sync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fd < 0)
    return -1;
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

int cli_mkdirs(char *path)
{
  for(char *p = path + 1; *p; p++) {
    if(*p != '/')
      continue;
    *p = '\0';
    int rc = mkdir(path, 0700);
    *p = '/';
    if(rc && errno != EEXIST)
      return -1;
  }
  if(mkdir(path, 0700) && errno != EEXIST)
    return -1;
  return 0;
}

int outbox_dir(const char *given, char *out, size_t len, char *err,
               size_t errlen)
{
  char path[PATH_MAX];
  const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  if(given && given[0] == '~' && given[1] == '/' && home && *home)
    snprintf(path, sizeof(path), "%s%s", home, given + 1); /* as msmtp */
  else if(given && *given)
    snprintf(path, sizeof(path), "%s", given);
  else if(xdg && *xdg == '/')
    snprintf(path, sizeof(path), "%s/mailwire/queue", xdg);
  else if(home && *home)
    snprintf(path, sizeof(path), "%s/.local/state/mailwire/queue", home);
  else {
    snprintf(err, errlen, "no outbox directory: set --queue-dir, "
                          "queue_dir, XDG_STATE_HOME or HOME");
    return -1;
  }
  if(path[0] != '/') {
    char cwd[PATH_MAX], abs[PATH_MAX * 2];
    if(!getcwd(cwd, sizeof(cwd)))
      return fail(err, errlen, "cannot resolve the outbox", path);
    snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
    if(strlen(abs) >= sizeof(path)) {
      snprintf(err, errlen, "outbox path too long");
      return -1;
    }
    memcpy(path, abs, strlen(abs) + 1);
  }
  if(cli_mkdirs(path))
    return fail(err, errlen, "cannot create the outbox", path);
  char sub[PATH_MAX + 16];
  snprintf(sub, sizeof(sub), "%s/tmp", path);
  if(mkdir(sub, 0700) && errno != EEXIST)
    return fail(err, errlen, "cannot create", sub);
  snprintf(sub, sizeof(sub), "%s/failed", path);
  if(mkdir(sub, 0700) && errno != EEXIST)
    return fail(err, errlen, "cannot create", sub);
  if(strlen(path) + 1 > len) {
    snprintf(err, errlen, "outbox path too long");
    return -1;
  }
  memcpy(out, path, strlen(path) + 1);
  return 0;
}

int outbox_new_message(const char *dir, char *id, char *path, size_t plen,
                       char *err, size_t errlen)
{
  for(int tries = 0; tries < 100; tries++) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned r = 0;
    int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if(rfd >= 0) {
      if(read(rfd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        r = (unsigned)ts.tv_nsec;
      close(rfd);
    }
    snprintf(id, OUTBOX_ID_MAX, "%llx-%05x-%08x",
             (unsigned long long)ts.tv_sec, (unsigned)getpid() & 0xfffffu, r);
    snprintf(path, plen, "%s/tmp/%s.msg", dir, id);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if(fd >= 0)
      return fd;
    if(errno != EEXIST)
      return fail(err, errlen, "cannot create", path);
  }
  snprintf(err, errlen, "cannot create a unique outbox file in %s/tmp", dir);
  return -1;
}

static void put_escaped(FILE *f, const char *s)
{
  for(const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if(*p < 0x20 || *p == 0x7f || *p == '%')
      fprintf(f, "%%%02X", *p);
    else
      putc(*p, f);
  }
}

int outbox_write_entry(const char *dir, const char *sub,
                       const struct outbox_entry *e, char *err,
                       size_t errlen)
{
  char tmp[PATH_MAX + 100], final[PATH_MAX + 100], target[PATH_MAX + 20];
  snprintf(tmp, sizeof(tmp), "%s/tmp/%s.env.%ld", dir, e->id, (long)getpid());
  snprintf(target, sizeof(target), "%s%s%s", dir, sub ? "/" : "",
           sub ? sub : "");
  snprintf(final, sizeof(final), "%s/%s.env", target, e->id);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if(fd < 0)
    return fail(err, errlen, "cannot create", tmp);
  FILE *f = fdopen(fd, "w");
  if(!f) {
    close(fd);
    unlink(tmp);
    return fail(err, errlen, "cannot write", tmp);
  }
  fprintf(f, "mailwire-queue 1\nid %s\ncreated %lld\nattempts %u\n"
             "next %lld\nstate %s\nreason ",
          e->id, e->created, e->attempts, e->next, e->state);
  put_escaped(f, e->reason);
  fputs("\ncwd ", f);
  put_escaped(f, e->cwd ? e->cwd : "/");
  putc('\n', f);
  for(int i = 0; i < e->nargs; i++) {
    fputs("arg ", f);
    put_escaped(f, e->args[i]);
    putc('\n', f);
  }
  fputs("end\n", f);
  int bad = fflush(f) != 0 || ferror(f) || fsync(fd) != 0;
  int saved = errno;
  if(fclose(f) != 0 && !bad) {
    bad = 1;
    saved = errno;
  }
  errno = saved;
  if(bad) {
    unlink(tmp);
    return fail(err, errlen, "cannot write", tmp);
  }
  if(rename(tmp, final)) {
    int s2 = errno;
    unlink(tmp);
    errno = s2;
    return fail(err, errlen, "cannot rename into", final);
  }
  if(outbox_sync_dir(target))
    return fail(err, errlen, "cannot sync", target);
  return 0;
}

int outbox_commit(const char *dir, const char *tmp_msg,
                  const struct outbox_entry *e, char *err, size_t errlen)
{
  char final[PATH_MAX + 100];
  snprintf(final, sizeof(final), "%s/%s.msg", dir, e->id);
  if(rename(tmp_msg, final)) {
    int saved = errno;
    unlink(tmp_msg);
    errno = saved;
    return fail(err, errlen, "cannot rename into", final);
  }
  if(outbox_sync_dir(dir))
    return fail(err, errlen, "cannot sync", dir);
  if(outbox_write_entry(dir, NULL, e, err, errlen)) {
    unlink(final);
    return -1;
  }
  return 0;
}

/* %XX back to bytes, in place; -1 when malformed or a NUL. */
static int unescape(char *s)
{
  char *w = s;
  for(char *p = s; *p; p++) {
    if(*p != '%') {
      *w++ = *p;
      continue;
    }
    unsigned v;
    char hex[3] = {p[1], p[1] ? p[2] : 0, 0};
    if(!hex[0] || !hex[1] || sscanf(hex, "%2X", &v) != 1 || v == 0 ||
       !strchr("0123456789ABCDEFabcdef", hex[0]) ||
       !strchr("0123456789ABCDEFabcdef", hex[1]))
      return -1;
    *w++ = (char)v;
    p += 2;
  }
  *w = '\0';
  return 0;
}

static int parse_ll(const char *v, long long *out)
{
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if(errno || end == v || *end || n < 0)
    return -1;
  *out = n;
  return 0;
}

void outbox_entry_free(struct outbox_entry *e)
{
  for(int i = 0; i < e->nargs; i++)
    free(e->args[i]);
  free(e->args);
  free(e->cwd);
  e->args = NULL;
  e->cwd = NULL;
  e->nargs = 0;
}

int outbox_read_entry(const char *path, struct outbox_entry *e, char *err,
                      size_t errlen)
{
  memset(e, 0, sizeof(*e));
  FILE *f = fopen(path, "r");
  if(!f)
    return fail(err, errlen, "cannot read", path);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  unsigned lineno = 0;
  int seen_end = 0, seen_id = 0, seen_state = 0;
  const char *why = NULL;
  while(!why && (n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if(seen_end) {
      why = "text after 'end'";
      break;
    }
    if(n == 0 || line[n - 1] != '\n' || n > ENTRY_MAX_LINE) {
      why = "a line is cut or too long";
      break;
    }
    line[n - 1] = '\0';
    if(lineno == 1) {
      if(strcmp(line, "mailwire-queue 1") != 0)
        why = "not a mailwire outbox entry (version 1)";
      continue;
    }
    if(strcmp(line, "end") == 0) {
      seen_end = 1;
      continue;
    }
    char *sp = strchr(line, ' ');
    if(!sp) {
      why = "a line without a value";
      break;
    }
    *sp = '\0';
    char *k = line, *v = sp + 1;
    if(unescape(v)) {
      why = "a bad %XX escape";
      break;
    }
    long long num;
    if(strcmp(k, "id") == 0) {
      size_t len = strlen(v);
      if(!len || len >= OUTBOX_ID_MAX || strspn(v, "0123456789abcdef-") != len)
        why = "a bad id";
      else {
        memcpy(e->id, v, len + 1);
        seen_id = 1;
      }
    }
    else if(strcmp(k, "created") == 0 || strcmp(k, "next") == 0) {
      if(parse_ll(v, &num))
        why = "a bad time";
      else
        *(k[0] == 'c' ? &e->created : &e->next) = num;
    }
    else if(strcmp(k, "attempts") == 0) {
      if(parse_ll(v, &num) || num > 1000000)
        why = "a bad attempt count";
      else
        e->attempts = (unsigned)num;
    }
    else if(strcmp(k, "state") == 0) {
      if(strcmp(v, "queued") && strcmp(v, "sending") && strcmp(v, "unknown") &&
         strcmp(v, "failed"))
        why = "an unknown state";
      else {
        snprintf(e->state, sizeof(e->state), "%s", v);
        seen_state = 1;
      }
    }
    else if(strcmp(k, "reason") == 0)
      snprintf(e->reason, sizeof(e->reason), "%s", v);
    else if(strcmp(k, "cwd") == 0) {
      free(e->cwd);
      if(!(e->cwd = strdup(v)))
        why = "out of memory";
    }
    else if(strcmp(k, "arg") == 0) {
      char **grown = e->nargs < ENTRY_MAX_ARGS
                         ? realloc(e->args, (size_t)(e->nargs + 1) *
                                                sizeof(*grown))
                         : NULL;
      if(!grown) {
        why = "too many arguments";
        break;
      }
      e->args = grown;
      if(!(e->args[e->nargs] = strdup(v))) {
        why = "out of memory";
        break;
      }
      e->nargs++;
    }
    else
      why = "an unknown key";
  }
  int rerr = ferror(f);
  free(line);
  fclose(f);
  if(!why && rerr)
    why = "a read error";
  if(!why && lineno == 0)
    why = "the file is empty";
  if(!why && (!seen_end || !seen_id || !seen_state))
    why = "it is incomplete (no 'end', id or state)";
  if(why) {
    snprintf(err, errlen, "corrupt outbox entry %s (line %u): %s", path,
             lineno, why);
    outbox_entry_free(e);
    return -1;
  }
  return 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int outbox_ids(const char *dir, const char *sub, char ***ids, size_t *n,
               char *err, size_t errlen)
{
  char path[PATH_MAX + 20];
  snprintf(path, sizeof(path), "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
  *ids = NULL;
  *n = 0;
  DIR *d = opendir(path);
  if(!d)
    return fail(err, errlen, "cannot read", path);
  struct dirent *de;
  size_t cap = 0;
  while((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if(len < 5 || len - 4 >= OUTBOX_ID_MAX || de->d_name[0] == '.' ||
       strcmp(de->d_name + len - 4, ".env") != 0)
      continue;
    if(*n == cap) {
      cap = cap ? cap * 2 : 16;
      char **grown = realloc(*ids, cap * sizeof(*grown));
      if(!grown)
        break;
      *ids = grown;
    }
    char *id = strndup(de->d_name, len - 4);
    if(!id)
      break;
    (*ids)[(*n)++] = id;
  }
  closedir(d);
  if(*n)
    qsort(*ids, *n, sizeof(**ids), cmp_str);
  return 0;
}

void outbox_ids_free(char **ids, size_t n)
{
  for(size_t i = 0; i < n; i++)
    free(ids[i]);
  free(ids);
}

int outbox_lock(const char *dir, char *err, size_t errlen)
{
  char path[PATH_MAX + 10];
  snprintf(path, sizeof(path), "%s/lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if(fd < 0)
    return fail(err, errlen, "cannot open", path);
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  if(fcntl(fd, F_SETLK, &fl) == 0)
    return fd;
  int saved = errno;
  close(fd);
  if(saved == EACCES || saved == EAGAIN)
    return -2;
  errno = saved;
  return fail(err, errlen, "cannot lock", path);
}

long long outbox_backoff(unsigned attempts)
{
  long long d = 60;
  for(unsigned i = 1; i < attempts && d < 4 * 3600; i++)
    d *= 2;
  return d > 4 * 3600 ? 4 * 3600 : d;
}
