/*
 * cmd_watch.c - `mailwire watch`: wait for new messages in an IMAP
 * mailbox (IDLE, else NOOP polling), reconnecting with backoff, and for
 * each one print a line, run --exec, or store it as fetch does.
 *
 * "New" is a UID above the highest one seen: at start, UIDNEXT - 1 (the
 * messages already there are not new), kept across reconnections so a
 * message that arrives while the connection is down is still reported;
 * reset when the UIDVALIDITY changes.  With a store, the fetch state
 * decides instead (the messages already there that fetch has not stored
 * are stored at start, and fetch and watch never store one twice).
 *
 * Signals: SIGINT and SIGTERM end it.  While it waits (IDLE, or a poll or
 * backoff sleep) nothing is half done, so it exits at once; while a
 * message is handled, once it is stored and recorded.
 */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "incoming.h"
#include "output.h"
#include "secrets.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_IDLE_MS (28u * 60 * 1000) /* RFC 2177: under 29 minutes */
#define DEFAULT_POLL_MS 60000u
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 300000u

static volatile sig_atomic_t stop_requested, waiting;

static void on_signal(int sig)
{
  (void)sig;
  stop_requested = 1;
  if(waiting) {
    static const char msg[] = "mailwire watch: stopped\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    _exit(EXIT_OK);
  }
}

/* Sleeps ms unless a signal ends it first. */
static void pause_ms(unsigned ms)
{
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  waiting = 1;
  while(!stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
  waiting = 0;
}

struct watch {
  const struct send_args *a;
  mw_store *store;       /* --maildir, --mbox, --mda */
  mw_store *exec;        /* --exec: an MDA store that records nothing */
  mw_fetch_state *state; /* with a store */
  char account[700];
  const char *mailbox;
  uint32_t uidvalidity, last_uid;
  bool have_baseline;
  bool selected; /* the last session got as far as SELECT */
  unsigned long handled;
};

static mw_status print_summary(void *user, const mw_imap_summary *s)
{
  const struct watch *w = user;
  if(w->a->json) {
    fprintf(stdout, "{\"event\":\"new\",\"uid\":%u,\"size\":%llu,\"from\":",
            (unsigned)s->uid, (unsigned long long)s->size);
    output_json_string(stdout, s->from);
    fputs(",\"subject\":", stdout);
    output_json_string(stdout, s->subject);
    fputs(",\"date\":", stdout);
    output_json_string(stdout, s->date);
    fputs(",\"flags\":", stdout);
    output_json_string(stdout, s->flags);
    fputs("}\n", stdout);
  }
  else {
    /* One line per message, tab-separated: UID, From, Subject (control
     * characters shown as spaces: a line stays a line). */
    char from[512], subject[1024];
    snprintf(from, sizeof(from), "%s", s->from ? s->from : "");
    snprintf(subject, sizeof(subject), "%s", s->subject ? s->subject : "");
    for(char *p = from; *p; p++)
      if((unsigned char)*p < 0x20 || *p == 0x7f)
        *p = ' ';
    for(char *p = subject; *p; p++)
      if((unsigned char)*p < 0x20 || *p == 0x7f)
        *p = ' ';
    printf("%u\t%s\t%s\n", (unsigned)s->uid, from, subject);
  }
  fflush(stdout);
  return MW_OK;
}

/* --exec: the message into the command; a failure is reported, not
 * fatal (the next message gets its turn). */
struct exec_msg {
  struct watch *w;
  bool open;
  mw_status st;
};

static mw_status exec_message(void *user, uint32_t uid, const char *data,
                              size_t len, bool last)
{
  struct exec_msg *x = user;
  mw_store *s = x->w->exec;
  if(!x->open) {
    char key[64];
    snprintf(key, sizeof(key), "watch:%u", (unsigned)uid);
    x->st = mw_store_begin(s, key, NULL);
    x->open = true;
  }
  if(!x->st && len)
    x->st = mw_store_write(s, data, len);
  if(last) {
    if(!x->st)
      x->st = mw_store_commit(s, NULL);
    else
      mw_store_abort(s);
    if(x->st)
      fprintf(stderr, "mailwire watch: --exec for UID %u: %s\n",
              (unsigned)uid, cli_text(mw_error_message(mw_store_error(s))));
    x->open = false;
    x->st = MW_OK;
  }
  return MW_OK;
}

/* Handles the messages above last_uid.  0, -1 for a session error (the
 * caller reconnects), or an exit code that ends watch. */
static int check_new(struct watch *w, mw_imap *m)
{
  char criteria[64];
  snprintf(criteria, sizeof(criteria), "UID %u:*",
           (unsigned)(w->last_uid + 1));
  const uint32_t *found = NULL;
  size_t n = 0;
  if(mw_imap_search(m, criteria, &found, &n))
    return -1;
  /* "n:*" also matches the highest UID when it is below n. */
  uint32_t *uids = malloc((n + 1) * sizeof(*uids));
  if(!uids)
    return EXIT_SOFTWARE;
  size_t k = 0;
  for(size_t i = 0; i < n; i++)
    if(found[i] > w->last_uid &&
       !(w->state && mw_fetch_state_contains_uid(w->state, found[i])))
      uids[k++] = found[i];
  uint32_t top = w->last_uid;
  for(size_t i = 0; i < n; i++)
    if(found[i] > top)
      top = found[i];
  int code = 0;
  mw_status st = MW_OK;
  if(k && w->store) {
    const mw_error *e = NULL;
    char err[1024] = "";
    size_t done = 0;
    code = fetch_imap_uids(w->a, m, w->store, w->state, w->account,
                           w->uidvalidity, uids, k, &done, &e, err,
                           sizeof(err));
    w->handled += done;
    if(code && e)
      code = -1; /* a session error: reconnect and go on */
    else if(code)
      fprintf(stderr, "mailwire watch: %s\n", err);
    else if(!w->a->json)
      fprintf(stderr, "mailwire watch: stored %zu new message%s\n", done,
              done == 1 ? "" : "s");
  }
  else if(k && w->exec) {
    struct exec_msg x = {w, false, MW_OK};
    st = mw_imap_fetch(m, uids, k, exec_message, &x);
    if(x.open)
      mw_store_abort(w->exec);
    w->handled += k;
  }
  else if(k) {
    st = mw_imap_fetch_summary(m, uids, k, print_summary, w);
    w->handled += k;
  }
  free(uids);
  if(st)
    return -1;
  if(!code)
    w->last_uid = top;
  return code;
}

/* One connection: select, then wait and check until it drops (-1) or a
 * signal (0) or a failure that retrying cannot mend (its exit code). */
static int session(struct watch *w, mw_imap *m, const mw_error **e)
{
  const struct send_args *a = w->a;
  mw_imap_status ms;
  if(mw_imap_connect(m) ||
     mw_imap_select(m, w->mailbox, a->in.delete_mode != 2, &ms)) {
    *e = mw_imap_error(m);
    return -1;
  }
  w->selected = true;
  if(!w->have_baseline || ms.uidvalidity != w->uidvalidity) {
    w->uidvalidity = ms.uidvalidity;
    w->have_baseline = true;
    if(w->state) {
      if(mw_fetch_state_set_uidvalidity(w->state, ms.uidvalidity, NULL)) {
        fprintf(stderr, "mailwire watch: fetch state: %s\n",
                cli_text(mw_error_message(mw_fetch_state_error(w->state))));
        return EXIT_IOERR;
      }
      w->last_uid = 0; /* the state says what is new */
    }
    else {
      w->last_uid = ms.uidnext ? ms.uidnext - 1 : 0;
      if(!ms.uidnext) { /* no UIDNEXT: the highest UID there is */
        const uint32_t *found = NULL;
        size_t n = 0;
        if(mw_imap_search(m, "ALL", &found, &n)) {
          *e = mw_imap_error(m);
          return -1;
        }
        w->last_uid = n ? found[n - 1] : 0;
      }
    }
  }
  bool idle = mw_imap_has_capability(m, "IDLE");
  unsigned idle_ms = a->in.idle_interval_ms ? a->in.idle_interval_ms
                                            : DEFAULT_IDLE_MS;
  unsigned poll_ms = a->in.poll_interval_ms ? a->in.poll_interval_ms
                                            : DEFAULT_POLL_MS;
  if(a->trace || !a->json)
    fprintf(stderr, "mailwire watch: watching %s (%s)\n", w->mailbox,
            idle ? "IDLE" : "polling with NOOP");
  for(;;) {
    int code = check_new(w, m);
    if(code) {
      if(code < 0)
        *e = mw_imap_error(m);
      return code;
    }
    if(stop_requested)
      break;
    bool changed = false;
    mw_status st;
    if(idle) {
      waiting = 1;
      if(stop_requested) /* a signal just before waiting was set */
        break;
      st = mw_imap_idle(m, idle_ms, &changed);
      waiting = 0;
    }
    else {
      pause_ms(poll_ms);
      if(stop_requested)
        break;
      st = mw_imap_noop(m, &changed);
    }
    if(st) {
      *e = mw_imap_error(m);
      return -1;
    }
  }
  mw_imap_logout(m);
  return 0;
}

static int cmd_watch_words(int argc, char **argv);

int cmd_watch(int argc, char **argv)
{
  char **words = NULL;
  int n = 0;
  int rc = cli_apply_profile_in("watch", argc, argv, &words, &n);
  if(rc)
    return rc;
  rc = cmd_watch_words(n, words);
  cli_free_words(words, n);
  return rc;
}

static int cmd_watch_words(int argc, char **argv)
{
  struct send_args *a = calloc(1, sizeof(*a));
  char err[1024];
  if(!a)
    return EXIT_SOFTWARE;
  if(cli_parse_incoming(CLI_WATCH, argc, argv, a, err, sizeof(err))) {
    cli_args_free(a);
    return output_early_error("watch", cli_wants_json(argc, argv),
                              EXIT_USAGE, err);
  }
  if(a->help) {
    cli_print_help(stdout, CLI_WATCH);
    cli_args_free(a);
    return EXIT_OK;
  }
  if(mw_global_init() != MW_OK) {
    cli_args_free(a);
    fprintf(stderr, "mailwire watch: library initialisation failed\n");
    return EXIT_SOFTWARE;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN); /* an --exec command that does not read */

  char *password = NULL, *token = NULL, mbuf[512];
  struct watch w = {.a = a};
  w.mailbox = in_mailbox(a, mbuf, sizeof(mbuf));
  mw_options *o = mw_options_new();
  int code = o ? in_build_options(a, o, &password, &token, err, sizeof(err))
               : EXIT_SOFTWARE;
  if(code) {
    output_early_error("watch", a->json, code, o ? err : "out of memory");
    goto done;
  }
  if(a->trace && !a->trace_file)
    mw_options_set_trace(o, output_trace, stderr);
  in_account(a, w.account, sizeof(w.account));
  code = in_open_store(a, &w.store, err, sizeof(err));
  if(!code && w.store)
    code = in_open_state(a, w.account, w.mailbox, &w.state, err,
                         sizeof(err));
  if(!code && a->in.exec) {
    mw_status st = mw_store_open(MW_STORE_MDA, a->in.exec, &w.exec);
    if(st || !w.exec) {
      snprintf(err, sizeof(err), "--exec: %s",
               w.exec ? cli_text(mw_error_message(mw_store_error(w.exec)))
                      : "out of memory");
      code = EXIT_CONFIG;
    }
  }
  if(code) {
    output_early_error("watch", a->json, code, err);
    goto done;
  }
  unsigned backoff = BACKOFF_MIN_MS;
  while(!stop_requested) {
    mw_imap *m = mw_imap_new(o);
    if(!m) {
      code = EXIT_SOFTWARE;
      break;
    }
    const mw_error *e = NULL;
    w.selected = false;
    int rc = session(&w, m, &e);
    if(rc > 0) {
      code = rc;
      mw_imap_free(m);
      break;
    }
    if(rc == 0) {
      mw_imap_free(m);
      break;
    }
    /* A session error: retried unless retrying cannot help. */
    int ec = exitcode_for_error(e);
    bool permanent = ec == EXIT_NOPERM || ec == EXIT_CONFIG ||
                     ec == EXIT_USAGE || ec == EXIT_SERVER_UNVERIFIED ||
                     ec == EXIT_SOFTWARE;
    in_print_error("watch", e, mw_imap_alert(m));
    mw_imap_free(m);
    if(permanent) {
      code = ec;
      break;
    }
    if(w.selected) /* it worked for a while: start again from 1 s */
      backoff = BACKOFF_MIN_MS;
    fprintf(stderr, "mailwire watch: reconnecting in %u s\n",
            backoff / 1000);
    pause_ms(backoff);
    backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
  }
  if(!code && !a->json)
    fprintf(stderr, "mailwire watch: stopped\n");
done:
  mw_store_free(w.store);
  mw_store_free(w.exec);
  if(w.state)
    mw_fetch_state_close(w.state);
  mw_fetch_state_free(w.state);
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  cli_args_free(a);
  mw_global_cleanup();
  return code;
}
