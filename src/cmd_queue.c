/*
 * cmd_queue.c - `mailwire queue list|run|show|drop`, and the outbox side
 * of `send --queue` (the message stashed before sending, kept when the
 * send fails for now).  The files are outbox.c's.
 *
 * An entry replays `mailwire send` in this process: its stored words
 * (no secrets; the profile and password command are read again), plus
 * --message ID.msg, from the directory the send was started in.
 * Outcomes of `queue run`, per entry:
 *   final 2xx                  removed (ID.env, then ID.msg)
 *   4xx, network, timeout      kept; attempts+1; next = now + backoff
 *   5xx (message, recipients,  moved to failed/ with the reason
 *   refused)
 *   delivery unknown           kept, state unknown, never resent unless
 *                              --resend-unknown
 *   local (profile, auth,      kept with the reason, retried later
 *   password command)
 * Before each attempt the entry is marked "sending" (fsync'd): a run
 * killed while sending leaves it so, and the next run flags it unknown
 * instead of resending (it may have been delivered).  So a message is
 * never lost and never sent twice without --resend-unknown.
 */
#define _GNU_SOURCE
#include "commands.h"
#include "exitcode.h"
#include "outbox.h"
#include "output.h"
#include "profile.h"

#include "args.h"
#include "mailwire.h"

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

struct cli_send_outcome cli_last_send;
bool cli_queue_optional;

static const char queue_help[] =
    "Usage: mailwire queue list [--json]\n"
    "       mailwire queue run [--now] [--resend-unknown] [--json]\n"
    "       mailwire queue show ID\n"
    "       mailwire queue drop ID\n"
    "   options for all: [--queue-dir DIR] [-C FILE] [--account NAME]\n"
    "\n"
    "The outbox holds messages `mailwire send --queue` (and sendmail mode)\n"
    "could not deliver for now (4xx, network down, timeout, connection\n"
    "lost).  Default directory: the account's queue_dir, else\n"
    "$XDG_STATE_HOME/mailwire/queue, else ~/.local/state/mailwire/queue.\n"
    "No password is stored: queue run takes it from the profile or the\n"
    "password command again.\n"
    "\n"
    "  list    the entries: id, state, attempts, next attempt, envelope\n"
    "  run     send the entries whose next attempt is due; an entry is\n"
    "          removed only after the server's final 2xx; 5xx moves it to\n"
    "          failed/ with the reason; a temporary failure waits 1 min,\n"
    "          doubling up to 4 h.  One result line per entry.\n"
    "          --now (--force) ignores the wait.\n"
    "          State unknown (the connection was lost after the final dot:\n"
    "          the server may have the message) is not resent unless\n"
    "          --resend-unknown.\n"
    "  show    the entry and its message\n"
    "  drop    remove the entry\n"
    "\n"
    "A lock (DIR/lock) keeps two runs (or a run and a drop) apart; the\n"
    "second exits 75.\n"
    "Exit status: 0 all done (or nothing due); 75 some entry is still\n"
    "waiting or unknown, or the lock is held; 69 an entry failed for good;\n"
    "66 no such entry; 74 an outbox file is unreadable or corrupt; 64 usage.\n";

void cli_print_queue_help(FILE *f)
{
  fputs(queue_help, f);
}

bool cli_error_is_queueable(const mw_error *e)
{
  if(!e)
    return false;
  switch(mw_error_status(e)) {
  case MW_E_CONNECT:
  case MW_E_DNS:
  case MW_E_TIMEOUT:
  case MW_E_CLOSED:
  case MW_E_DELIVERY_UNKNOWN:
  case MW_E_PROXY:
    return true;
  default:
    return mw_error_is_temporary(e);
  }
}

/* Send words worth replaying: the command line without what names the
 * message (it is in ID.msg), --queue/--queue-dir and output options. */
static bool dropped_word(const char *w)
{
  static const char *const drop[] = {
      "--queue", "--queue-dir", "--json", "--trace", "--message",
      "--subject", "--body", "--body-file", "--html", "--attach",
      "--attach-type", "--inline", "--header", "-H", "--max-message-size"};
  size_t len = strcspn(w, "=");
  for(size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
    if(strlen(drop[i]) == len && strncmp(w, drop[i], len) == 0)
      return true;
  return false;
}

/* A URL with a password in it ("socks5://user:pw@host"). */
static bool url_has_password(const char *url)
{
  const char *p = strstr(url, "://");
  const char *at = p ? strrchr(p, '@') : NULL;
  return at && memchr(p + 3, ':', (size_t)(at - (p + 3))) != NULL;
}

/* -1 out of memory; -2 a word holds a secret the outbox must not store. */
static int stash_args(struct outbox_entry *e, int cmdc, char **cmdv)
{
  for(int i = 0; i < cmdc; i++) {
    const char *w = cmdv[i];
    if(strncmp(w, "--proxy=", 8) == 0 && url_has_password(w + 8))
      return -2;
    if(strcmp(w, "--proxy") == 0 && i + 1 < cmdc &&
       url_has_password(cmdv[i + 1]))
      return -2;
  }
  e->args = calloc((size_t)cmdc + 1, sizeof(*e->args));
  if(!e->args)
    return -1;
  for(int i = 0; i < cmdc; i++) {
    bool has_value = false;
    bool opt = cmdv[i][0] == '-' && cmdv[i][1] &&
               cli_option_takes(CLI_ANY, cmdv[i], &has_value);
    if(strchr(cmdv[i], '='))
      has_value = false;
    if(opt && dropped_word(cmdv[i])) {
      i += has_value;
      continue;
    }
    if(!(e->args[e->nargs] = strdup(cmdv[i])))
      return -1;
    e->nargs++;
    if(opt && has_value && i + 1 < cmdc) {
      if(!(e->args[e->nargs] = strdup(cmdv[++i])))
        return -1;
      e->nargs++;
    }
  }
  return 0;
}

int queue_stash(struct queue_stash *q, const char *given_dir, FILE *msg_file,
                mw_compose *comp, int cmdc, char **cmdv, char *err,
                size_t errlen)
{
  memset(q, 0, sizeof(*q));
  if(outbox_dir(given_dir, q->dir, sizeof(q->dir), err, errlen))
    return EXIT_IOERR;
  int fd = outbox_new_message(q->dir, q->e.id, q->tmp, sizeof(q->tmp), err,
                              errlen);
  if(fd < 0)
    return EXIT_IOERR;
  q->active = true;
  int bad = 0;
  if(msg_file) {
    off_t start = ftello(msg_file);
    char buf[65536];
    size_t n;
    while(!bad && (n = fread(buf, 1, sizeof(buf), msg_file)) > 0) {
      for(size_t off = 0; off < n;) {
        ssize_t w = write(fd, buf + off, n - off);
        if(w < 0 && errno == EINTR)
          continue;
        if(w <= 0) {
          bad = 1;
          break;
        }
        off += (size_t)w;
      }
    }
    bad = bad || ferror(msg_file) || start < 0 ||
          fseeko(msg_file, start, SEEK_SET) != 0;
  }
  else {
    bad = mw_compose_write_fd(comp, fd) != MW_OK;
  }
  if(!bad && fsync(fd) != 0)
    bad = 1;
  if(close(fd) != 0)
    bad = 1;
  char cwd[PATH_MAX];
  if(!bad && (!getcwd(cwd, sizeof(cwd)) || !(q->e.cwd = strdup(cwd))))
    bad = 1;
  int args_rc = bad ? 0 : stash_args(&q->e, cmdc, cmdv);
  if(args_rc == -2) {
    snprintf(err, errlen, "--queue: the --proxy URL holds a password, which "
                          "the outbox would have to store; give the proxy "
                          "in the profile (key proxy) instead");
    queue_discard(q);
    return EXIT_USAGE;
  }
  if(args_rc)
    bad = 1;
  if(bad) {
    snprintf(err, errlen, "cannot write the message to the outbox %s: %s",
             q->tmp, strerror(errno));
    queue_discard(q);
    return EXIT_IOERR;
  }
  return 0;
}

void queue_discard(struct queue_stash *q)
{
  if(!q->active)
    return;
  unlink(q->tmp);
  outbox_entry_free(&q->e);
  q->active = false;
}

int queue_keep(struct queue_stash *q, bool unknown, const char *reason,
               char *err, size_t errlen)
{
  long long now = (long long)time(NULL);
  q->e.created = now;
  q->e.attempts = 1;
  q->e.next = now + outbox_backoff(1);
  snprintf(q->e.state, sizeof(q->e.state), "%s",
           unknown ? "unknown" : "queued");
  snprintf(q->e.reason, sizeof(q->e.reason), "%s", reason ? reason : "");
  int rc = outbox_commit(q->dir, q->tmp, &q->e, err, errlen);
  outbox_entry_free(&q->e);
  q->active = false;
  return rc;
}

/* ---- the queue command ---- */

struct qargs {
  const char *sub, *id, *dir, *config, *account;
  bool json, now, resend_unknown;
};

#include <stdarg.h>
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

static int usage(const char *msg, const char *w)
{
  fprintf(stderr, "mailwire queue: ");
  fprintf(stderr, msg, w);
  fprintf(stderr, " (see mailwire help queue)\n");
  return EXIT_USAGE;
}

static int parse(int argc, char **argv, struct qargs *q)
{
  for(int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if(strcmp(a, "--json") == 0)
      q->json = true;
    else if(strcmp(a, "--now") == 0 || strcmp(a, "--force") == 0)
      q->now = true;
    else if(strcmp(a, "--resend-unknown") == 0)
      q->resend_unknown = true;
    else if(strcmp(a, "--queue-dir") == 0)
      slot = &q->dir;
    else if(strcmp(a, "-C") == 0 || strcmp(a, "--config") == 0)
      slot = &q->config;
    else if(strcmp(a, "--account") == 0)
      slot = &q->account;
    else if(a[0] == '-')
      return usage("unknown option '%s'", a);
    else if(!q->sub)
      q->sub = a;
    else if(!q->id)
      q->id = a;
    else
      return usage("unexpected word '%s'", a);
    if(slot) {
      if(i + 1 >= argc)
        return usage("option '%s' needs a value", a);
      *slot = argv[++i];
    }
  }
  if(!q->sub)
    return usage("give list, run, show ID or drop ID%s", "");
  bool needs_id = strcmp(q->sub, "show") == 0 || strcmp(q->sub, "drop") == 0;
  if(!needs_id && strcmp(q->sub, "list") && strcmp(q->sub, "run"))
    return usage("unknown subcommand '%s'", q->sub);
  if(needs_id != !!q->id)
    return usage(needs_id ? "'%s' needs an ID" : "'%s' takes no ID", q->sub);
  if(q->id && (strlen(q->id) >= OUTBOX_ID_MAX ||
               strspn(q->id, "0123456789abcdef-") != strlen(q->id)))
    return usage("'%s' is not an outbox id", q->id);
  return 0;
}

static const char *arg_after(const struct outbox_entry *e, const char *opt)
{
  for(int i = 0; i + 1 < e->nargs; i++)
    if(strcmp(e->args[i], opt) == 0)
      return e->args[i + 1];
  return NULL;
}

static void print_time(FILE *f, long long t)
{
  char buf[64];
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  fputs(buf, f);
}

static void entry_json(FILE *f, const struct outbox_entry *e)
{
  fprintf(f, "{\"id\":");
  output_json_string(f, e->id);
  fprintf(f, ",\"state\":");
  output_json_string(f, e->state);
  fprintf(f, ",\"attempts\":%u,\"created\":%lld,\"next\":%lld,\"from\":",
          e->attempts, e->created, e->next);
  output_json_string(f, arg_after(e, "--from"));
  fprintf(f, ",\"to\":[");
  int n = 0;
  for(int i = 0; i + 1 < e->nargs; i++)
    if(strcmp(e->args[i], "--to") == 0 || strcmp(e->args[i], "--cc") == 0 ||
       strcmp(e->args[i], "--bcc") == 0) {
      fputs(n++ ? "," : "", f);
      output_json_string(f, e->args[i + 1]);
    }
  fprintf(f, "],\"reason\":");
  output_json_string(f, e->reason);
  fputc('}', f);
}

static void entry_human(FILE *f, const struct outbox_entry *e)
{
  fprintf(f, "%s  %-8s attempts %u  next ", e->id, e->state, e->attempts);
  print_time(f, e->next);
  const char *from = arg_after(e, "--from");
  fprintf(f, "  from %s to", from ? from : "(profile)");
  for(int i = 0; i + 1 < e->nargs; i++)
    if(strcmp(e->args[i], "--to") == 0 || strcmp(e->args[i], "--cc") == 0 ||
       strcmp(e->args[i], "--bcc") == 0)
      fprintf(f, " %s", e->args[i + 1]);
  if(e->reason[0])
    fprintf(f, "\n    %s", e->reason);
  fputc('\n', f);
}

static int do_list(const char *dir, const struct qargs *q)
{
  char **ids;
  size_t n;
  char err[1024];
  if(outbox_ids(dir, NULL, &ids, &n, err, sizeof(err))) {
    fprintf(stderr, "mailwire queue: %s\n", err);
    return EXIT_IOERR;
  }
  int code = EXIT_OK;
  if(q->json)
    fputc('[', stdout);
  int shown = 0;
  for(size_t i = 0; i < n; i++) {
    char path[PATH_MAX + 100];
    struct outbox_entry e;
    snprintf(path, sizeof(path), "%s/%s.env", dir, ids[i]);
    if(outbox_read_entry(path, &e, err, sizeof(err))) {
      fprintf(stderr, "mailwire queue: %s\n", err);
      code = EXIT_IOERR;
      continue;
    }
    if(q->json) {
      fputs(shown ? "," : "", stdout);
      entry_json(stdout, &e);
    }
    else
      entry_human(stdout, &e);
    shown++;
    outbox_entry_free(&e);
  }
  if(q->json)
    fputs("]\n", stdout);
  else if(!shown && code == EXIT_OK)
    printf("the outbox %s is empty\n", dir);
  outbox_ids_free(ids, n);
  return code;
}

static int remove_entry(const char *dir, const char *id, char *err,
                        size_t errlen)
{
  char path[PATH_MAX + 100];
  snprintf(path, sizeof(path), "%s/%s.env", dir, id);
  if(unlink(path) && errno != ENOENT) {
    errf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
    return -1;
  }
  if(outbox_sync_dir(dir)) {
    snprintf(err, errlen, "cannot sync %s: %s", dir, strerror(errno));
    return -1;
  }
  snprintf(path, sizeof(path), "%s/%s.msg", dir, id);
  unlink(path);
  outbox_sync_dir(dir);
  return 0;
}

/* Moves the entry to failed/: its env (with reason) written there, its
 * message renamed there, then its env here removed. */
static int fail_entry(const char *dir, struct outbox_entry *e, char *err,
                      size_t errlen)
{
  snprintf(e->state, sizeof(e->state), "failed");
  if(outbox_write_entry(dir, "failed", e, err, errlen))
    return -1;
  char from[PATH_MAX + 100], to[PATH_MAX + 120];
  snprintf(from, sizeof(from), "%s/%s.msg", dir, e->id);
  snprintf(to, sizeof(to), "%s/failed/%s.msg", dir, e->id);
  if(rename(from, to)) {
    errf(err, errlen, "cannot move %s: %s", from, strerror(errno));
    return -1;
  }
  snprintf(to, sizeof(to), "%s/failed", dir);
  outbox_sync_dir(to);
  snprintf(from, sizeof(from), "%s/%s.env", dir, e->id);
  unlink(from);
  outbox_sync_dir(dir);
  return 0;
}

static void result_line(const struct qargs *q, const char *id,
                        const char *result, const char *reason)
{
  if(q->json) {
    fputs("{\"id\":", stdout);
    output_json_string(stdout, id);
    fputs(",\"result\":", stdout);
    output_json_string(stdout, result);
    fputs(",\"reason\":", stdout);
    output_json_string(stdout, reason ? reason : "");
    fputs("}\n", stdout);
  }
  else
    printf("%s: %s%s%s\n", id, result, reason && *reason ? ": " : "",
           reason ? reason : "");
  fflush(stdout);
}

/* Replays the send of e; fills cli_last_send. */
static int replay(const char *dir, const struct outbox_entry *e)
{
  char msg[PATH_MAX + 100];
  snprintf(msg, sizeof(msg), "%s/%s.msg", dir, e->id);
  int n = 0;
  char **words = calloc((size_t)e->nargs + 8, sizeof(*words));
  if(!words)
    return EXIT_SOFTWARE;
  for(int i = 0; i < e->nargs; i++)
    words[n++] = e->args[i];
  words[n++] = "--message";
  words[n++] = msg;
  int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(e->cwd && chdir(e->cwd) != 0) {
    /* relative paths may not resolve; the send says which */
  }
  memset(&cli_last_send, 0, sizeof(cli_last_send));
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if(null >= 0)
    dup2(null, STDOUT_FILENO);
  int code = cmd_send(n, words);
  fflush(stdout);
  if(saved >= 0) {
    dup2(saved, STDOUT_FILENO);
    close(saved);
  }
  if(null >= 0)
    close(null);
  if(here >= 0) {
    if(fchdir(here) != 0) {
      /* nothing better to do: paths used later are absolute */
    }
    close(here);
  }
  free(words);
  return code;
}

/* Leftovers of sends killed before their entry existed (they never
 * said "queued"): tmp/ files and ID.msg without ID.env, a day old. */
static void sweep(const char *dir)
{
  static const char *const subs[] = {"tmp", NULL};
  long long now = (long long)time(NULL);
  for(size_t s = 0; s < 2; s++) {
    char path[PATH_MAX + 20];
    snprintf(path, sizeof(path), "%s%s%s", dir, subs[s] ? "/" : "",
             subs[s] ? subs[s] : "");
    DIR *d = opendir(path);
    if(!d)
      continue;
    struct dirent *de;
    while((de = readdir(d))) {
      size_t len = strlen(de->d_name);
      if(de->d_name[0] == '.')
        continue;
      bool msg = len > 4 && strcmp(de->d_name + len - 4, ".msg") == 0;
      if(!subs[s] && !msg)
        continue;
      char file[PATH_MAX + 300];
      struct stat st;
      snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
      if(stat(file, &st) || !S_ISREG(st.st_mode) ||
         now - (long long)st.st_mtime < 24 * 3600)
        continue;
      if(!subs[s]) {
        char env[PATH_MAX + 300];
        snprintf(env, sizeof(env), "%s/%.*s.env", path, (int)(len - 4),
                 de->d_name);
        if(access(env, F_OK) == 0)
          continue;
      }
      unlink(file);
    }
    closedir(d);
  }
}

static int do_run(const char *dir, const struct qargs *q)
{
  sweep(dir);
  char **ids;
  size_t n;
  char err[1024];
  if(outbox_ids(dir, NULL, &ids, &n, err, sizeof(err))) {
    fprintf(stderr, "mailwire queue: %s\n", err);
    return EXIT_IOERR;
  }
  int code = EXIT_OK;
  long long now = (long long)time(NULL);
  for(size_t i = 0; i < n; i++) {
    char path[PATH_MAX + 100];
    struct outbox_entry e;
    snprintf(path, sizeof(path), "%s/%s.env", dir, ids[i]);
    if(outbox_read_entry(path, &e, err, sizeof(err))) {
      if(errno == ENOENT)
        continue;
      fprintf(stderr, "mailwire queue: %s\n", err);
      code = code == EXIT_OK ? EXIT_IOERR : code;
      continue;
    }
    if(strcmp(e.state, "sending") == 0) {
      /* A run was killed while sending it: it may have been delivered. */
      snprintf(e.state, sizeof(e.state), "unknown");
      snprintf(e.reason, sizeof(e.reason),
               "a queue run stopped while sending it: it may have been "
               "delivered (queue run --resend-unknown sends it again)");
      if(outbox_write_entry(dir, NULL, &e, err, sizeof(err)))
        fprintf(stderr, "mailwire queue: %s\n", err);
    }
    if(strcmp(e.state, "unknown") == 0 && !q->resend_unknown) {
      result_line(q, e.id, "unknown, not resent", e.reason);
      code = EXIT_TEMPFAIL;
      outbox_entry_free(&e);
      continue;
    }
    if(!q->now && e.next > now && strcmp(e.state, "unknown") != 0) {
      outbox_entry_free(&e);
      continue; /* not due */
    }
    snprintf(e.state, sizeof(e.state), "sending");
    if(outbox_write_entry(dir, NULL, &e, err, sizeof(err))) {
      fprintf(stderr, "mailwire queue: %s\n", err);
      outbox_entry_free(&e);
      code = EXIT_IOERR;
      continue;
    }
    int rc = replay(dir, &e);
    struct cli_send_outcome *o = &cli_last_send;
    const char *result;
    if(rc == EXIT_OK) {
      if(remove_entry(dir, e.id, err, sizeof(err)))
        fprintf(stderr, "mailwire queue: %s\n", err);
      result_line(q, e.id, "delivered", o->reason);
      outbox_entry_free(&e);
      continue;
    }
    errf(e.reason, sizeof(e.reason), "%s",
         o->reason[0] ? o->reason : "the send failed (see above)");
    if(o->partly_sent || rc == EXIT_DATAERR) {
      /* Sent to some (never again to them), or a message the server
       * could never take: set aside with the reason. */
      result = o->partly_sent ? "partly delivered, set aside" : "failed";
    }
    else if(o->status == MW_E_DELIVERY_UNKNOWN) {
      snprintf(e.state, sizeof(e.state), "unknown");
      result = "unknown, kept";
    }
    else if(o->queueable || !o->session) {
      /* for now, or a local problem (profile, password command) */
      snprintf(e.state, sizeof(e.state), "queued");
      e.attempts++;
      e.next = (long long)time(NULL) + outbox_backoff(e.attempts);
      result = "deferred";
    }
    else {
      result = "failed";
    }
    if(strcmp(e.state, "sending") == 0) {
      if(fail_entry(dir, &e, err, sizeof(err))) {
        fprintf(stderr, "mailwire queue: %s\n", err);
        code = EXIT_IOERR;
      }
      else if(code != EXIT_IOERR)
        code = EXIT_UNAVAILABLE;
    }
    else {
      if(outbox_write_entry(dir, NULL, &e, err, sizeof(err))) {
        fprintf(stderr, "mailwire queue: %s\n", err);
        code = EXIT_IOERR;
      }
      else if(code == EXIT_OK)
        code = EXIT_TEMPFAIL;
    }
    result_line(q, e.id, result, e.reason);
    outbox_entry_free(&e);
  }
  outbox_ids_free(ids, n);
  return code;
}

static int do_show(const char *dir, const struct qargs *q)
{
  char path[PATH_MAX + 100], err[1024];
  struct outbox_entry e;
  snprintf(path, sizeof(path), "%s/%s.env", dir, q->id);
  if(access(path, F_OK) != 0) {
    fprintf(stderr, "mailwire queue: no entry %s in %s\n", q->id, dir);
    return EXIT_NOINPUT;
  }
  if(outbox_read_entry(path, &e, err, sizeof(err))) {
    fprintf(stderr, "mailwire queue: %s\n", err);
    return EXIT_IOERR;
  }
  entry_human(stdout, &e);
  printf("    created ");
  print_time(stdout, e.created);
  printf("\n    send words:");
  for(int i = 0; i < e.nargs; i++)
    printf(" %s", e.args[i]);
  printf("\n\n");
  outbox_entry_free(&e);
  snprintf(path, sizeof(path), "%s/%s.msg", dir, q->id);
  FILE *f = fopen(path, "rb");
  if(!f) {
    fprintf(stderr, "mailwire queue: cannot read %s: %s\n", path,
            strerror(errno));
    return EXIT_IOERR;
  }
  char buf[65536];
  size_t n;
  while((n = fread(buf, 1, sizeof(buf), f)) > 0)
    fwrite(buf, 1, n, stdout);
  fclose(f);
  return EXIT_OK;
}

static int do_drop(const char *dir, const struct qargs *q)
{
  char path[PATH_MAX + 100], err[1024];
  snprintf(path, sizeof(path), "%s/%s.env", dir, q->id);
  if(access(path, F_OK) != 0) {
    fprintf(stderr, "mailwire queue: no entry %s in %s\n", q->id, dir);
    return EXIT_NOINPUT;
  }
  if(remove_entry(dir, q->id, err, sizeof(err))) {
    fprintf(stderr, "mailwire queue: %s\n", err);
    return EXIT_IOERR;
  }
  printf("dropped %s\n", q->id);
  return EXIT_OK;
}

int cmd_queue(int argc, char **argv)
{
  struct qargs q = {0};
  for(int i = 0; i < argc; i++)
    if(strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(queue_help, stdout);
      return EXIT_OK;
    }
  int code = parse(argc, argv, &q);
  if(code)
    return code;
  char err[1024], dir[PATH_MAX];
  const char *given = q.dir;
  struct profile prof;
  bool have_prof = false;
  if(!given) {
    int rc = profile_load(q.config, q.account, &prof, err, sizeof(err));
    if(rc < 0) {
      fprintf(stderr, "mailwire queue: %s\n", err);
      return EXIT_CONFIG;
    }
    have_prof = rc == 0;
    if(have_prof)
      given = profile_get(&prof, "queue_dir");
  }
  int rc = outbox_dir(given, dir, sizeof(dir), err, sizeof(err));
  if(have_prof)
    profile_free(&prof);
  if(rc) {
    fprintf(stderr, "mailwire queue: %s\n", err);
    return EXIT_IOERR;
  }
  if(strcmp(q.sub, "list") == 0)
    return do_list(dir, &q);
  if(strcmp(q.sub, "show") == 0)
    return do_show(dir, &q);
  int lock = outbox_lock(dir, err, sizeof(err));
  if(lock == -2) {
    fprintf(stderr, "mailwire queue: another queue run holds %s/lock; "
                    "try again later\n",
            dir);
    return EXIT_TEMPFAIL;
  }
  if(lock < 0) {
    fprintf(stderr, "mailwire queue: %s\n", err);
    return EXIT_IOERR;
  }
  code = strcmp(q.sub, "run") == 0 ? do_run(dir, &q) : do_drop(dir, &q);
  close(lock);
  return code;
}
