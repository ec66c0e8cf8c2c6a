/*
 * bulk_source.c - the messages of a bulk send, one at a time (see
 * bulk_source.h).
 *
 * DESCRIPTION
 *   Sources are read in order: the --message files, then each --messages
 *   argument, whose kind is told by what it is: a directory (its *.eml
 *   files by name, hidden ones skipped), or a regular file whose first
 *   line starts with "From " (an mbox) or whose first non-blank byte is
 *   '{' (JSON lines).  Anything else is refused, naming the file.
 *
 *   mbox: a line starting with "From " at the start of the file or after
 *   an empty line separates messages (mboxrd and mboxo as written by
 *   mail tools; the empty line before a separator is the format's, not
 *   the message's); ">From ", ">>From " ... lose one '>' (mboxrd).  Lines
 *   are read through a fixed buffer, so a line of any length costs no
 *   more memory.
 *
 *   JSON lines: one object a line, parsed with jansson: "file" (required,
 *   a string; relative to the JSON file's directory), "from" (a string;
 *   "" is the null sender), "to" (a string or an array of 1 to 1000
 *   strings).  Other keys, duplicate keys, a value of the wrong type or a
 *   "Name <addr>" that is not one mailbox are errors naming the line;
 *   blank lines are skipped.  jansson is loaded (dlopen) when the first
 *   JSON lines file is seen, not linked: no other command maps it.
 *
 * DIAGNOSTICS
 *   Exit codes as bulk_source_next() says, with one sentence that names
 *   the source, the line and what is wrong.
 */
#define _GNU_SOURCE
#include "bulk_source.h"

#include "exitcode.h"
#include "lazylib.h"
#include "mailwire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* jansson, loaded when a JSON lines source is first read (jansson_load();
 * no other command maps it).  The header gives the types and macros; the
 * names below send its functions, also those json_object_foreach() calls,
 * through the table. */
static const char *const jt_names[] = {
    "json_loads", "json_delete", "json_string_value", "json_array_size",
    "json_array_get", "json_object_iter", "json_object_iter_key",
    "json_object_iter_value", "json_object_key_to_iter",
    "json_object_iter_next"};
#define JT_N (sizeof(jt_names) / sizeof(jt_names[0]))
static struct {
  json_t *(*loads)(const char *, size_t, json_error_t *);
  void (*delete_)(json_t *);
  const char *(*string_value)(const json_t *);
  size_t (*array_size)(const json_t *);
  json_t *(*array_get)(const json_t *, size_t);
  void *(*object_iter)(json_t *);
  const char *(*object_iter_key)(void *);
  json_t *(*object_iter_value)(void *);
  void *(*object_key_to_iter)(const char *);
  void *(*object_iter_next)(json_t *, void *);
} jt;
static bool jt_loaded;
#define json_loads jt.loads
#define json_string_value jt.string_value
#define json_array_size jt.array_size
#define json_array_get jt.array_get
#define json_object_iter jt.object_iter
#define json_object_iter_key jt.object_iter_key
#define json_object_iter_value jt.object_iter_value
#define json_object_key_to_iter jt.object_key_to_iter
#define json_object_iter_next jt.object_iter_next

/* json_decref() of jansson.h, through the table. */
static void jt_decref(json_t *j)
{
  if(j && j->refcount != (size_t)-1 && JSON_INTERNAL_DECREF(j) == 0)
    jt.delete_(j);
}

/* 0, or EXIT_SOFTWARE with err when libjansson.so.4 cannot be loaded. */
static int jansson_load(char *err, size_t errlen)
{
  void *sym[JT_N];
  if(jt_loaded)
    return 0;
  if(lazylib_load("libjansson.so.4", "the JSON parser", jt_names, sym, JT_N,
                  err, errlen))
    return EXIT_SOFTWARE;
  LAZYLIB_FN(jt.loads, sym[0]);
  LAZYLIB_FN(jt.delete_, sym[1]);
  LAZYLIB_FN(jt.string_value, sym[2]);
  LAZYLIB_FN(jt.array_size, sym[3]);
  LAZYLIB_FN(jt.array_get, sym[4]);
  LAZYLIB_FN(jt.object_iter, sym[5]);
  LAZYLIB_FN(jt.object_iter_key, sym[6]);
  LAZYLIB_FN(jt.object_iter_value, sym[7]);
  LAZYLIB_FN(jt.object_key_to_iter, sym[8]);
  LAZYLIB_FN(jt.object_iter_next, sym[9]);
  jt_loaded = true;
  return 0;
}

/* The longest JSON line read. */
#define BULK_JSON_LINE_MAX 65536

enum src_kind { SRC_FILE, SRC_DIR, SRC_MBOX, SRC_JSONL };

struct bulk_source {
  const char *const *files;
  size_t nfiles;
  const char *const *sources;
  size_t nsources;
  size_t next_file;   /* index into files */
  size_t next_source; /* index into sources of the next one to open */
  unsigned long seq;
  /* the source being read */
  bool open;
  enum src_kind kind;
  const char *src_name;
  /* directory */
  struct dirent **names;
  int nnames, next_name;
  /* mbox, JSON lines */
  FILE *f;
  unsigned long line;      /* JSON: lines read */
  unsigned long mbox_msgs; /* mbox: messages seen */
  bool mbox_at_sep;        /* the separator of the next message was read */
  char dir[PATH_MAX];      /* JSON: the file's directory, for relative files */
  char *buf;               /* BULK_JSON_LINE_MAX + 2 bytes */
};

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

void bulk_item_init(struct bulk_item *it)
{
  memset(it, 0, sizeof(*it));
  it->fd = -1;
}

void bulk_item_clear(struct bulk_item *it)
{
  if(it->fd >= 0)
    close(it->fd);
  free(it->from);
  for(size_t i = 0; i < it->nto; i++)
    free(it->to[i]);
  free(it->to);
  bulk_item_init(it);
}

void bulk_item_move(struct bulk_item *to, struct bulk_item *from)
{
  *to = *from;
  bulk_item_init(from);
}

struct bulk_source *bulk_source_new(const char *const *files, size_t nfiles,
                                    const char *const *sources,
                                    size_t nsources)
{
  struct bulk_source *s = calloc(1, sizeof(*s));
  if(!s)
    return NULL;
  s->buf = malloc(BULK_JSON_LINE_MAX + 2);
  if(!s->buf) {
    free(s);
    return NULL;
  }
  s->files = files;
  s->nfiles = nfiles;
  s->sources = sources;
  s->nsources = nsources;
  return s;
}

static void close_current(struct bulk_source *s)
{
  for(int i = 0; i < s->nnames; i++)
    free(s->names[i]);
  free(s->names);
  s->names = NULL;
  s->nnames = s->next_name = 0;
  if(s->f)
    fclose(s->f);
  s->f = NULL;
  s->open = false;
}

void bulk_source_free(struct bulk_source *s)
{
  if(!s)
    return;
  close_current(s);
  free(s->buf);
  free(s);
}

static int eml_filter(const struct dirent *d)
{
  size_t n = strlen(d->d_name);
  return d->d_name[0] != '.' && n > 4 &&
         strcmp(d->d_name + n - 4, ".eml") == 0;
}

/* Whether a regular file's start is an mbox's "From " line, JSON lines, or
 * neither (then an exit code with err). */
static int sniff(struct bulk_source *s, const char *path, char *err,
                 size_t errlen)
{
  char head[5];
  size_t n = fread(head, 1, sizeof(head), s->f);
  if(ferror(s->f))
    return fail(err, errlen, EXIT_IOERR, "--messages: cannot read '%s': %s",
                path, strerror(errno));
  if(n == 5 && memcmp(head, "From ", 5) == 0) {
    s->kind = SRC_MBOX;
    s->mbox_at_sep = false;
    rewind(s->f);
    return 0;
  }
  rewind(s->f);
  int c;
  while((c = fgetc(s->f)) == ' ' || c == '\t' || c == '\r' || c == '\n')
    ;
  if(c == EOF && !ferror(s->f)) {
    s->kind = SRC_JSONL; /* empty: no messages */
    rewind(s->f);
    return 0;
  }
  if(c == '{') {
    int rc = jansson_load(err, errlen);
    if(rc)
      return rc;
    s->kind = SRC_JSONL;
    rewind(s->f);
    return 0;
  }
  return fail(err, errlen, EXIT_DATAERR,
              "--messages: '%s' is neither a directory, an mbox (its first "
              "line starts with \"From \") nor JSON lines (a {\"file\":..} "
              "object a line); one message goes with --message",
              path);
}

static int open_source(struct bulk_source *s, const char *path, char *err,
                       size_t errlen)
{
  struct stat st;
  s->src_name = path;
  s->line = s->mbox_msgs = 0;
  if(stat(path, &st) != 0)
    return fail(err, errlen, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
                "--messages: cannot read '%s': %s", path, strerror(errno));
  if(S_ISDIR(st.st_mode)) {
    s->nnames = scandir(path, &s->names, eml_filter, alphasort);
    if(s->nnames < 0) {
      s->nnames = 0;
      s->names = NULL;
      return fail(err, errlen, EXIT_IOERR,
                  "--messages: cannot list the directory '%s': %s", path,
                  strerror(errno));
    }
    s->kind = SRC_DIR;
    s->open = true;
    return 0;
  }
  if(!S_ISREG(st.st_mode))
    return fail(err, errlen, EXIT_DATAERR,
                "--messages: '%s' is neither a directory nor a file", path);
  s->f = fopen(path, "rb");
  if(!s->f)
    return fail(err, errlen, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
                "--messages: cannot read '%s': %s", path, strerror(errno));
  s->open = true;
  const char *slash = strrchr(path, '/');
  if(slash)
    snprintf(s->dir, sizeof(s->dir), "%.*s", (int)(slash - path + 1), path);
  else
    s->dir[0] = '\0';
  return sniff(s, path, err, errlen);
}

/* A file named for sending must be there and readable. */
static int check_file(const char *opt, const char *path, char *err,
                      size_t errlen)
{
  struct stat st;
  if(access(path, R_OK) != 0 || stat(path, &st) != 0)
    return fail(err, errlen, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
                "%s: cannot read '%s': %s", opt, path, strerror(errno));
  if(!S_ISREG(st.st_mode))
    return fail(err, errlen, EXIT_NOINPUT, "%s: '%s' is not a file", opt,
                path);
  return 0;
}

static int dir_next(struct bulk_source *s, struct bulk_item *it, char *err,
                    size_t errlen)
{
  if(s->next_name >= s->nnames)
    return 0;
  const char *n = s->names[s->next_name++]->d_name;
  size_t dl = strlen(s->src_name);
  bool slash = dl && s->src_name[dl - 1] == '/';
  int w = snprintf(it->path, sizeof(it->path), "%s%s%s", s->src_name,
                   slash ? "" : "/", n);
  if(w < 0 || (size_t)w >= sizeof(it->path))
    return fail(err, errlen, EXIT_NOINPUT, "--messages: a path in '%s' is "
                                           "too long", s->src_name);
  snprintf(it->name, sizeof(it->name), "%s", it->path);
  int rc = check_file("--messages", it->path, err, errlen);
  return rc ? rc : 1;
}

/* ---- mbox --------------------------------------------------------------- */

static bool write_all(int fd, const char *p, size_t n)
{
  while(n) {
    ssize_t w = write(fd, p, n);
    if(w < 0 && errno == EINTR)
      continue;
    if(w <= 0)
      return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static int temp_fd(char *err, size_t errlen)
{
  const char *dir = getenv("TMPDIR");
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/mailwire-bulk-XXXXXX",
           dir && *dir ? dir : "/tmp");
  int fd = mkostemp(path, O_CLOEXEC);
  if(fd < 0) {
    fail(err, errlen, EXIT_IOERR, "cannot create a temporary file in %s: %s",
         dir && *dir ? dir : "/tmp", strerror(errno));
    return -1;
  }
  unlink(path);
  return fd;
}

/* The next message of an mbox: up to the next separator (or the end).
 * With fd >= 0 its bytes go there, unquoted. */
static int mbox_next(struct bulk_source *s, bool materialize,
                     struct bulk_item *it, char *err, size_t errlen)
{
  char *buf = s->buf;
  size_t cap = BULK_JSON_LINE_MAX;
  if(!s->mbox_at_sep) {
    /* The first line of the file is the first separator. */
    if(!fgets(buf, (int)cap, s->f))
      return 0;
    s->mbox_at_sep = true;
    size_t n = strlen(buf);
    while(n && buf[n - 1] != '\n' && fgets(buf, (int)cap, s->f))
      n = strlen(buf); /* a separator longer than the buffer */
  }
  if(feof(s->f))
    return 0;
  int fd = -1;
  if(materialize && (fd = temp_fd(err, errlen)) < 0)
    return EXIT_IOERR;
  s->mbox_msgs++;
  bool line_start = true, prev_empty = false, pending_empty = false;
  char pending[2];
  size_t npending = 0;
  bool bad = false, any = false;
  s->mbox_at_sep = false;
  while(fgets(buf, (int)cap, s->f)) {
    size_t n = strlen(buf);
    bool whole = n && buf[n - 1] == '\n';
    const char *p = buf;
    if(line_start) {
      bool empty = strcmp(buf, "\n") == 0 || strcmp(buf, "\r\n") == 0;
      if((prev_empty || !any) && strncmp(buf, "From ", 5) == 0) {
        s->mbox_at_sep = true;
        while(!whole && fgets(buf, (int)cap, s->f)) {
          n = strlen(buf);
          whole = n && buf[n - 1] == '\n';
        }
        break; /* the held empty line is the format's */
      }
      if(pending_empty && fd >= 0)
        bad = bad || !write_all(fd, pending, npending);
      pending_empty = false;
      if(empty) {
        /* Held back: it may be the one before a separator. */
        pending_empty = true;
        npending = n;
        memcpy(pending, buf, n);
        prev_empty = true;
        any = true;
        continue;
      }
      prev_empty = false;
      const char *q = p;
      while(*q == '>')
        q++;
      if(q > p && strncmp(q, "From ", 5) == 0)
        p++; /* mboxrd: one '>' less */
    }
    any = true;
    if(fd >= 0)
      bad = bad || !write_all(fd, p, n - (size_t)(p - buf));
    line_start = whole;
  }
  if(ferror(s->f) || bad) {
    int e = errno;
    if(fd >= 0)
      close(fd);
    return fail(err, errlen, EXIT_IOERR, "--messages: cannot %s message "
                                         "%lu of '%s': %s",
                bad ? "copy" : "read", s->mbox_msgs, s->src_name,
                strerror(e));
  }
  if(fd >= 0 && lseek(fd, 0, SEEK_SET) != 0) {
    close(fd);
    return fail(err, errlen, EXIT_IOERR, "cannot rewind a temporary file");
  }
  it->fd = fd;
  it->path[0] = '\0';
  snprintf(it->name, sizeof(it->name), "%s #%lu", s->src_name,
           s->mbox_msgs);
  return 1;
}

/* ---- JSON lines ------------------------------------------------------- */

static int json_address(struct bulk_source *s, const char *key,
                        json_t *v, bool null_ok, char **out, char *err,
                        size_t errlen)
{
  if(!json_is_string(v))
    return fail(err, errlen, EXIT_DATAERR,
                "--messages: %s line %lu: \"%s\" must hold a string "
                "(an address)",
                s->src_name, s->line, key);
  const char *text = json_string_value(v);
  char addr[400];
  const char *why = NULL;
  if(!*text && null_ok) {
    addr[0] = '\0';
  }
  else if(mw_mailbox_check(text, addr, sizeof(addr), &why) !=
          MW_MAILBOX_OK) {
    return fail(err, errlen, EXIT_DATAERR,
                "--messages: %s line %lu: \"%s\": '%.200s' is not one "
                "address: %s",
                s->src_name, s->line, key, text, why ? why : "invalid");
  }
  if(!(*out = strdup(addr)))
    return fail(err, errlen, EXIT_SOFTWARE, "out of memory");
  return 0;
}

static int json_item(struct bulk_source *s, json_t *obj,
                     struct bulk_item *it, char *err, size_t errlen)
{
  const char *key;
  json_t *v;
  json_t *file = NULL, *from = NULL, *to = NULL;
  json_object_foreach(obj, key, v) {
    if(strcmp(key, "file") == 0)
      file = v;
    else if(strcmp(key, "from") == 0)
      from = v;
    else if(strcmp(key, "to") == 0)
      to = v;
    else
      return fail(err, errlen, EXIT_DATAERR,
                  "--messages: %s line %lu: unknown key \"%.60s\" (the keys "
                  "are file, from and to)",
                  s->src_name, s->line, key);
  }
  if(!file || !json_is_string(file) || !*json_string_value(file))
    return fail(err, errlen, EXIT_DATAERR,
                "--messages: %s line %lu: \"file\" (the message's file "
                "name, a string) is missing",
                s->src_name, s->line);
  const char *fname = json_string_value(file);
  int w = snprintf(it->path, sizeof(it->path), "%s%s",
                   fname[0] == '/' ? "" : s->dir, fname);
  if(w < 0 || (size_t)w >= sizeof(it->path))
    return fail(err, errlen, EXIT_DATAERR,
                "--messages: %s line %lu: the file name is too long",
                s->src_name, s->line);
  snprintf(it->name, sizeof(it->name), "%s:%lu (%s)", s->src_name, s->line,
           fname);
  if(from && json_address(s, "from", from, true, &it->from, err, errlen))
    return EXIT_DATAERR;
  if(to) {
    size_t n = json_is_array(to) ? json_array_size(to) : 1;
    if(!json_is_array(to) && !json_is_string(to))
      return fail(err, errlen, EXIT_DATAERR,
                  "--messages: %s line %lu: \"to\" must be an address or "
                  "an array of addresses",
                  s->src_name, s->line);
    if(n < 1 || n > BULK_MAX_RCPTS)
      return fail(err, errlen, EXIT_DATAERR,
                  "--messages: %s line %lu: \"to\" must name 1 to %d "
                  "recipients",
                  s->src_name, s->line, BULK_MAX_RCPTS);
    if(!(it->to = calloc(n, sizeof(*it->to))))
      return fail(err, errlen, EXIT_SOFTWARE, "out of memory");
    for(size_t i = 0; i < n; i++) {
      json_t *a = json_is_array(to) ? json_array_get(to, i) : to;
      if(json_address(s, "to", a, false, &it->to[i], err, errlen))
        return EXIT_DATAERR;
      it->nto++;
    }
  }
  int rc = check_file("--messages", it->path, err, errlen);
  if(rc)
    return fail(err, errlen, rc, "--messages: %s line %lu: cannot read "
                                 "'%s': %s",
                s->src_name, s->line, it->path,
                rc == EXIT_NOINPUT ? "no such file" : strerror(errno));
  return 1;
}

static int jsonl_next(struct bulk_source *s, struct bulk_item *it, char *err,
                      size_t errlen)
{
  char *buf = s->buf;
  for(;;) {
    if(!fgets(buf, BULK_JSON_LINE_MAX + 2, s->f)) {
      if(ferror(s->f))
        return fail(err, errlen, EXIT_IOERR, "--messages: cannot read '%s': "
                                             "%s",
                    s->src_name, strerror(errno));
      return 0;
    }
    s->line++;
    size_t n = strlen(buf);
    if(n > BULK_JSON_LINE_MAX || (n == BULK_JSON_LINE_MAX + 1 &&
                                  buf[n - 1] != '\n'))
      return fail(err, errlen, EXIT_DATAERR,
                  "--messages: %s line %lu is longer than %d bytes",
                  s->src_name, s->line, BULK_JSON_LINE_MAX);
    if(memchr(buf, '\0', n) || strspn(buf, " \t\r\n") == n)
      continue; /* blank */
    json_error_t jerr;
    json_t *obj = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
    if(!obj)
      return fail(err, errlen, EXIT_DATAERR,
                  "--messages: %s line %lu is not JSON: %s (column %d)",
                  s->src_name, s->line, jerr.text, jerr.column);
    int rc;
    if(!json_is_object(obj))
      rc = fail(err, errlen, EXIT_DATAERR,
                "--messages: %s line %lu is not a JSON object "
                "({\"file\":..,\"from\":..,\"to\":[..]})",
                s->src_name, s->line);
    else
      rc = json_item(s, obj, it, err, errlen);
    jt_decref(obj);
    return rc;
  }
}

/* ---- the sequence ------------------------------------------------------ */

int bulk_source_next(struct bulk_source *s, bool materialize,
                     struct bulk_item *it, char *err, size_t errlen)
{
  bulk_item_clear(it);
  err[0] = '\0';
  for(;;) {
    int rc = 0;
    if(s->next_file < s->nfiles) {
      const char *p = s->files[s->next_file++];
      snprintf(it->path, sizeof(it->path), "%s", p);
      snprintf(it->name, sizeof(it->name), "%s", p);
      rc = check_file("--message", p, err, errlen);
      rc = rc ? rc : 1;
    }
    else if(s->open) {
      switch(s->kind) {
      case SRC_DIR: rc = dir_next(s, it, err, errlen); break;
      case SRC_MBOX: rc = mbox_next(s, materialize, it, err, errlen); break;
      case SRC_JSONL: rc = jsonl_next(s, it, err, errlen); break;
      case SRC_FILE: break;
      }
      if(rc == 0) {
        close_current(s);
        continue;
      }
    }
    else if(s->next_source < s->nsources) {
      rc = open_source(s, s->sources[s->next_source++], err, errlen);
      if(rc == 0)
        continue;
    }
    else {
      return 0;
    }
    if(rc != 1) {
      bulk_item_clear(it);
      return rc;
    }
    it->seq = ++s->seq;
    return 1;
  }
}
