/*
 * cmd_folders.c - `mailwire folders` (LIST, then STATUS of each mailbox)
 * and `mailwire append` (a message file into a mailbox: APPEND).
 */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "incoming.h"
#include "output.h"
#include "secrets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Connects an IMAP session for cmd from the words: 0 with *out, *a and
 * the secrets to free, or an exit code (printed). */
static int imap_session(const char *cmd, enum cli_command c, int argc,
                        char **argv, struct send_args *a, mw_options **o,
                        char **password, char **token, mw_imap **out,
                        bool *help)
{
  char err[1024];
  *help = false;
  if(cli_parse_incoming(c, argc, argv, a, err, sizeof(err)))
    return output_early_error(cmd, cli_wants_json(argc, argv), EXIT_USAGE,
                              err);
  if(a->help) {
    cli_print_help(stdout, c);
    *help = true;
    return EXIT_OK;
  }
  if(mw_global_init() != MW_OK)
    return output_early_error(cmd, a->json, EXIT_SOFTWARE,
                              "library initialisation failed");
  *o = mw_options_new();
  int code = *o ? in_build_options(a, *o, password, token, err, sizeof(err))
                : EXIT_SOFTWARE;
  if(code)
    return output_early_error(cmd, a->json, code, *o ? err : "out of memory");
  if(a->trace && !a->trace_file)
    mw_options_set_trace(*o, output_trace, stderr);
  *out = mw_imap_new(*o);
  if(!*out)
    return output_early_error(cmd, a->json, EXIT_SOFTWARE, "out of memory");
  return EXIT_OK;
}

/* A session error: printed (JSON with --json), its exit code returned. */
static int session_failed(const char *cmd, const struct send_args *a,
                          mw_imap *m)
{
  const mw_error *e = mw_imap_error(m);
  int code = exitcode_for_error(e);
  if(a->json) {
    fprintf(stdout, "{\"status\":\"failed\",\"exit_code\":%d,\"error\":",
            code);
    in_json_error(stdout, e);
    fputs("}\n", stdout);
  }
  else {
    in_print_error(cmd, e, mw_imap_alert(m));
  }
  return code;
}

/* ---- folders ----------------------------------------------------------- */

struct folder {
  char *name, *flags;
  char delim;
  bool selectable;
  mw_imap_status st;
  bool have_status;
};

struct folder_list {
  struct folder *v;
  size_t n, cap;
  bool oom;
};

/* Whether the space-separated flags hold flag (case does not matter). */
static bool has_flag(const char *flags, const char *flag)
{
  size_t l = strlen(flag);
  for(const char *p = flags; *p;) {
    size_t n = strcspn(p, " ");
    if(n == l && strncasecmp(p, flag, l) == 0)
      return true;
    p += n;
    p += strspn(p, " ");
  }
  return false;
}

static mw_status on_folder(void *user, const char *name, char delimiter,
                           const char *flags)
{
  struct folder_list *l = user;
  if(l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    struct folder *v = realloc(l->v, cap * sizeof(*v));
    if(!v) {
      l->oom = true;
      return MW_E_NOMEM;
    }
    l->v = v;
    l->cap = cap;
  }
  struct folder *f = &l->v[l->n];
  memset(f, 0, sizeof(*f));
  f->name = strdup(name);
  f->flags = strdup(flags ? flags : "");
  if(!f->name || !f->flags) {
    free(f->name);
    free(f->flags);
    l->oom = true;
    return MW_E_NOMEM;
  }
  f->delim = delimiter;
  f->selectable = !has_flag(f->flags, "\\Noselect") &&
                  !has_flag(f->flags, "\\NonExistent");
  l->n++;
  return MW_OK;
}

int cmd_folders(int argc, char **argv)
{
  char **words = NULL;
  int n = 0;
  int rc = cli_apply_profile_in("folders", argc, argv, &words, &n);
  if(rc)
    return rc;
  struct send_args *a = calloc(1, sizeof(*a));
  mw_options *o = NULL;
  mw_imap *m = NULL;
  char *password = NULL, *token = NULL;
  bool help = false;
  struct folder_list l = {0};
  int code = a ? imap_session("folders", CLI_FOLDERS, n, words, a, &o,
                              &password, &token, &m, &help)
               : EXIT_SOFTWARE;
  if(code || help)
    goto done;
  mw_status st = mw_imap_connect(m);
  if(!st)
    st = mw_imap_list(m, "", "*", on_folder, &l);
  for(size_t i = 0; !st && i < l.n; i++) {
    if(!l.v[i].selectable)
      continue;
    st = mw_imap_status_of(m, l.v[i].name, &l.v[i].st);
    l.v[i].have_status = !st;
  }
  if(l.oom) {
    code = output_early_error("folders", a->json, EXIT_SOFTWARE,
                              "out of memory");
    goto done;
  }
  if(st) {
    code = session_failed("folders", a, m);
    goto done;
  }
  mw_imap_logout(m);
  if(a->json) {
    fputs("{\"status\":\"ok\",\"folders\":[", stdout);
    for(size_t i = 0; i < l.n; i++) {
      struct folder *f = &l.v[i];
      fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
      output_json_string(stdout, f->name);
      char d[2] = {f->delim, 0};
      fputs(",\"delimiter\":", stdout);
      output_json_string(stdout, f->delim ? d : NULL);
      fputs(",\"flags\":", stdout);
      output_json_string(stdout, f->flags);
      if(f->have_status)
        fprintf(stdout, ",\"messages\":%u,\"recent\":%u,\"unseen\":%u,"
                        "\"uidnext\":%u,\"uidvalidity\":%u,\"size\":%llu",
                (unsigned)f->st.messages, (unsigned)f->st.recent,
                (unsigned)f->st.unseen, (unsigned)f->st.uidnext,
                (unsigned)f->st.uidvalidity,
                (unsigned long long)f->st.size);
      fputs("}", stdout);
    }
    fputs("],\"exit_code\":0}\n", stdout);
  }
  else {
    size_t w = 7;
    for(size_t i = 0; i < l.n; i++)
      if(strlen(l.v[i].name) > w)
        w = strlen(l.v[i].name);
    printf("%-*s %9s %8s %10s  %s\n", (int)w, "MAILBOX", "MESSAGES",
           "UNSEEN", "SIZE", "FLAGS");
    for(size_t i = 0; i < l.n; i++) {
      struct folder *f = &l.v[i];
      if(f->have_status) {
        char size[32] = "-";
        if(f->st.size)
          snprintf(size, sizeof(size), "%.1f KB",
                   (double)f->st.size / 1024.0);
        printf("%-*s %9u %8u %10s  %s\n", (int)w, f->name,
               (unsigned)f->st.messages, (unsigned)f->st.unseen, size,
               f->flags);
      }
      else {
        printf("%-*s %9s %8s %10s  %s\n", (int)w, f->name, "-", "-", "-",
               f->flags);
      }
    }
  }
done:
  for(size_t i = 0; i < l.n; i++) {
    free(l.v[i].name);
    free(l.v[i].flags);
  }
  free(l.v);
  mw_imap_free(m);
  bool inited = o != NULL;
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  cli_args_free(a);
  cli_free_words(words, n);
  if(inited)
    mw_global_cleanup();
  return code;
}

/* ---- append ------------------------------------------------------------ */

struct buf_reader {
  const char *data;
  size_t len, pos;
};

static mw_status buf_read(void *user, char *out, size_t len, size_t *got)
{
  struct buf_reader *r = user;
  size_t n = r->len - r->pos < len ? r->len - r->pos : len;
  memcpy(out, r->data + r->pos, n);
  r->pos += n;
  *got = n;
  return MW_OK;
}

/* Reads path ("-": standard input) whole, at most cap bytes, with every
 * line ending made CRLF.  NULL with an exit code and err. */
static char *read_message(const char *path, unsigned long long cap,
                          size_t *len, int *code, char *err, size_t errlen)
{
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if(!f) {
    snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    *code = EXIT_NOINPUT;
    return NULL;
  }
  size_t cap_sz = 65536, used = 0;
  char *out = malloc(cap_sz);
  int c, prev = 0;
  unsigned long long raw = 0;
  while(out && (c = getc(f)) != EOF) {
    if(++raw > cap) {
      snprintf(err, errlen, "'%s' is larger than %llu bytes", path, cap);
      *code = EXIT_DATAERR;
      free(out);
      out = NULL;
      break;
    }
    if(used + 2 >= cap_sz) {
      char *p = realloc(out, cap_sz * 2);
      if(!p) {
        free(out);
        out = NULL;
        break;
      }
      out = p;
      cap_sz *= 2;
    }
    if(c == '\n' && prev != '\r')
      out[used++] = '\r';
    out[used++] = (char)c;
    prev = c;
  }
  bool bad = ferror(f);
  if(f != stdin)
    fclose(f);
  if(!out) {
    if(!*code) {
      snprintf(err, errlen, "out of memory");
      *code = EXIT_SOFTWARE;
    }
    return NULL;
  }
  if(bad || !used) {
    snprintf(err, errlen, bad ? "cannot read '%s'" : "'%s' is empty", path);
    *code = bad ? EXIT_IOERR : EXIT_DATAERR;
    free(out);
    return NULL;
  }
  *len = used;
  return out;
}

int cmd_append(int argc, char **argv)
{
  char **words = NULL;
  int n = 0;
  int rc = cli_apply_profile_in("append", argc, argv, &words, &n);
  if(rc)
    return rc;
  struct send_args *a = calloc(1, sizeof(*a));
  mw_options *o = NULL;
  mw_imap *m = NULL;
  char *password = NULL, *token = NULL, *msg = NULL;
  bool help = false;
  int code = a ? imap_session("append", CLI_APPEND, n, words, a, &o,
                              &password, &token, &m, &help)
               : EXIT_SOFTWARE;
  if(code || help)
    goto done;
  char err[1024], mbuf[512];
  const char *mailbox = in_mailbox(a, mbuf, sizeof(mbuf));
  size_t len = 0;
  code = 0;
  msg = read_message(a->in.file, CLI_DEFAULT_MAX_MESSAGE_SIZE, &len, &code,
                     err, sizeof(err));
  if(!msg) {
    code = output_early_error("append", a->json, code, err);
    goto done;
  }
  struct buf_reader r = {msg, len, 0};
  uint32_t uid = 0;
  mw_status st = mw_imap_connect(m);
  if(!st)
    st = mw_imap_append(m, mailbox, a->in.flags, len, buf_read, &r, &uid);
  if(st) {
    code = session_failed("append", a, m);
    goto done;
  }
  mw_imap_logout(m);
  if(a->json) {
    fputs("{\"status\":\"ok\",\"mailbox\":", stdout);
    output_json_string(stdout, mailbox);
    fprintf(stdout, ",\"bytes\":%zu,\"uid\":%u,\"exit_code\":0}\n", len,
            (unsigned)uid);
  }
  else if(uid)
    printf("appended to %s (%zu bytes, UID %u)\n", mailbox, len,
           (unsigned)uid);
  else
    printf("appended to %s (%zu bytes)\n", mailbox, len);
done:
  free(msg);
  mw_imap_free(m);
  bool inited = o != NULL;
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  cli_args_free(a);
  cli_free_words(words, n);
  if(inited)
    mw_global_cleanup();
  return code;
}
