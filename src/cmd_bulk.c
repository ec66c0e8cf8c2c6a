/*
 * cmd_bulk.c - `mailwire send` with many messages: --messages DIR|MBOX|
 * JSONL, or --message given more than once (main.c hands the parsed
 * arguments over; the messages come from bulk_source.c).
 *
 * DESCRIPTION
 *   Each of --connections N workers (a thread with its own mw_smtp: the
 *   library's blocking API, one session per thread) takes the next
 *   message from the shared source, and sends it over its connection,
 *   RSET before every message but the connection's first.  A message is
 *   handed to exactly one worker; the worker reports it exactly once:
 *
 *     delivered          final 2xx (the server's queue id in the line)
 *     partly delivered   final 2xx, some recipients refused
 *     unknown            the connection was lost after the final dot (or
 *                        the reply to it was not final): the server may
 *                        have it, so it is never sent again (the outbox's
 *                        "delivery unknown", cmd_queue.c)
 *     deferred           refused for now (4xx), or no connection could be
 *                        made, or the connection failed on it 5 times
 *     failed             refused for good (5xx), or the message cannot be
 *                        sent as it is (a line over 998 bytes, unreadable)
 *
 *   A 421, a reset or a timeout before the final dot (the server cannot
 *   have taken the message: an unterminated DATA is discarded) closes the
 *   connection; the worker connects again and sends the same message
 *   again.  A refused RSET is taken the same way (a 421 there is the
 *   usual "too many messages on this connection").
 *
 *   A connection that cannot be made (refused, timed out, 421 greeting)
 *   is retried 4 times with a growing pause; then the worker gives the
 *   message it holds back to the others and stops.  A failure that will
 *   not go away by retrying (authentication, certificate, TLS settings)
 *   stops every worker.  When no worker is left, every message not sent
 *   still gets its line (deferred or failed, with the reason): nothing is
 *   dropped silently.
 *
 *   --rate N/s spaces the start of messages (each MAIL FROM, retries
 *   included) over all connections together.
 *
 *   The envelope of each message: a JSON line's from/to when it has them,
 *   else --from and --to/--cc/--bcc when given (a profile's from counts),
 *   else the message's From and To, Cc, Bcc, read by the library's parser (as
 *   sendmail -t: mw_compose_set_message_fd); with header recipients the
 *   copy sent has Bcc removed and Date and Message-ID added when absent.
 *   Otherwise the file goes as it is.
 *
 * OUTPUT
 *   One line per message on stdout as it is done ("[N/TOTAL] NAME:
 *   RESULT ..."), or with --json one JSON object per line; then a summary
 *   (a last JSON object with "summary":true).  The exit codes are in
 *   args_help.c's send help and README.md.
 */
#define _GNU_SOURCE
#include "cmd_bulk.h"

#include "bulk_source.h"
#include "exitcode.h"
#include "output.h"
#include "secrets.h"
#include "settings.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Attempts of one message whose connection fails before its end. */
#define BULK_MAX_TRIES 5
/* Connection attempts in a row before a worker gives up. */
#define BULK_MAX_CONNECTS 5

struct bulk_run {
  const struct send_args *a;
  const mw_options *o;
  unsigned long total;
  pthread_mutex_t lock; /* everything below, and stdout */
  struct bulk_source *src;
  bool src_failed;          /* a source error in the second pass */
  char src_err[1024];
  int src_code;
  /* messages given back by workers that stopped */
  struct bulk_item *returned;
  size_t nreturned;
  unsigned alive;           /* workers still running */
  bool fatal;               /* a failure no retry mends: all stop */
  char fatal_reason[700];
  int fatal_code;
  /* --rate */
  double next_start_ms;
  /* counts */
  unsigned long delivered, partly, unknown, deferred, failed;
  unsigned connections;
  int first_connect_code; /* exit code of a connect failure, 0: none */
};

struct bulk_worker {
  struct bulk_run *run;
  unsigned id; /* 1-based */
  pthread_t thread;
  char *buf;   /* the message read into memory, kept from one to the next */
  size_t cap;
};

/* A message file up to this size is read once into the worker's buffer,
 * scanned and sent from there (and sent again from there after a
 * reconnect); a larger one is streamed from the file, read twice (scan,
 * then send), in constant memory. */
#define BULK_READ_ONCE_MAX (1024 * 1024)

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
  if(ms <= 0)
    return;
  struct timespec ts = {.tv_sec = (time_t)(ms / 1000.0),
                        .tv_nsec = (long)((ms - (double)(time_t)(ms / 1000.0) *
                                                    1000.0) *
                                          1e6)};
  while(nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* ---- results ------------------------------------------------------------ */

struct outcome {
  const char *result; /* delivered, partly delivered, unknown, deferred,
                         failed */
  char reason[700];
  const mw_result *res; /* may be NULL */
  unsigned connection;  /* the worker, 0 when never sent */
  unsigned tries;
};

static void print_json_rcpts(const mw_result *r)
{
  fputs(",\"refused\":[", stdout);
  bool first = true;
  for(size_t i = 0; r && i < mw_result_recipient_count(r); i++) {
    if(mw_result_recipient_accepted(r, i))
      continue;
    printf("%s{\"address\":", first ? "" : ",");
    output_json_string(stdout, mw_result_recipient(r, i));
    printf(",\"code\":%d,\"text\":", mw_result_recipient_code(r, i));
    output_json_string(stdout, mw_result_recipient_text(r, i));
    fputs("}", stdout);
    first = false;
  }
  fputs("]", stdout);
}

/* The line of one message; run->lock held. */
static void report(struct bulk_run *run, const struct bulk_item *it,
                   const struct outcome *oc)
{
  const mw_result *r = oc->res;
  const char *qid = r ? mw_result_queue_id(r) : "";
  if(strcmp(oc->result, "delivered") == 0)
    run->delivered++;
  else if(strcmp(oc->result, "partly delivered") == 0)
    run->partly++;
  else if(strcmp(oc->result, "unknown") == 0)
    run->unknown++;
  else if(strcmp(oc->result, "deferred") == 0)
    run->deferred++;
  else
    run->failed++;
  if(run->a->json) {
    printf("{\"n\":%lu,\"total\":%lu,\"message\":", it->seq, run->total);
    output_json_string(stdout, it->name);
    fputs(",\"result\":", stdout);
    output_json_string(stdout, oc->result);
    fputs(",\"queue_id\":", stdout);
    output_json_string(stdout, qid && *qid ? qid : NULL);
    if(r && mw_result_final_code(r)) {
      printf(",\"final_code\":%d,\"final_text\":", mw_result_final_code(r));
      output_json_string(stdout, mw_result_final_text(r));
    }
    else
      fputs(",\"final_code\":null,\"final_text\":null", stdout);
    print_json_rcpts(r);
    fputs(",\"reason\":", stdout);
    output_json_string(stdout, oc->reason[0] ? oc->reason : NULL);
    printf(",\"connection\":%u,\"tries\":%u}\n", oc->connection, oc->tries);
  }
  else {
    printf("[%lu/%lu] %s: %s", it->seq, run->total, it->name, oc->result);
    if(qid && *qid)
      printf(", queued as %s", qid);
    else if(r && mw_result_final_code(r) / 100 == 2)
      printf(" (%d %s)", mw_result_final_code(r), mw_result_final_text(r));
    if(oc->reason[0])
      printf(": %s", oc->reason);
    putchar('\n');
  }
  fflush(stdout);
}

static void report_locked(struct bulk_run *run, const struct bulk_item *it,
                          const struct outcome *oc)
{
  pthread_mutex_lock(&run->lock);
  report(run, it, oc);
  pthread_mutex_unlock(&run->lock);
}

/* ---- the shared queue of messages ------------------------------------- */

/* The next message for a worker: one given back first, else the source.
 * false when none is left (or all must stop). */
static bool take(struct bulk_run *run, struct bulk_item *it)
{
  bool got = false;
  pthread_mutex_lock(&run->lock);
  if(run->fatal) {
    /* leave the rest to the last worker's drain */
  }
  else if(run->nreturned) {
    bulk_item_move(it, &run->returned[--run->nreturned]);
    got = true;
  }
  else if(!run->src_failed) {
    int rc = bulk_source_next(run->src, true, it, run->src_err,
                              sizeof(run->src_err));
    if(rc == 1)
      got = true;
    else if(rc != 0) {
      run->src_failed = true;
      run->src_code = rc;
    }
  }
  pthread_mutex_unlock(&run->lock);
  return got;
}

/* A worker that stops: its message goes back; the last one out reports
 * every message left (none will be sent). */
static void worker_exit(struct bulk_run *run, struct bulk_item *held,
                        const char *why)
{
  pthread_mutex_lock(&run->lock);
  if(held && held->seq)
    bulk_item_move(&run->returned[run->nreturned++], held);
  run->alive--;
  if(run->alive == 0) {
    const char *result = run->fatal ? "failed" : "deferred";
    struct outcome oc = {.result = result};
    snprintf(oc.reason, sizeof(oc.reason), "not sent: %.600s",
             run->fatal ? run->fatal_reason : why ? why : "no connection");
    while(run->nreturned) {
      struct bulk_item *it = &run->returned[--run->nreturned];
      report(run, it, &oc);
      bulk_item_clear(it);
    }
    struct bulk_item it;
    bulk_item_init(&it);
    /* The rest of the source, counted but never copied. */
    while(!run->src_failed) {
      int rc = bulk_source_next(run->src, false, &it, run->src_err,
                                sizeof(run->src_err));
      if(rc != 1) {
        if(rc) {
          run->src_failed = true;
          run->src_code = rc;
        }
        break;
      }
      report(run, &it, &oc);
    }
    bulk_item_clear(&it);
  }
  pthread_mutex_unlock(&run->lock);
}

/* --rate: waits for this message's turn. */
static void rate_wait(struct bulk_run *run)
{
  if(run->a->rate <= 0)
    return;
  double gap = 1000.0 / run->a->rate;
  pthread_mutex_lock(&run->lock);
  double now = now_ms();
  double at = run->next_start_ms > now ? run->next_start_ms : now;
  run->next_start_ms = at + gap;
  pthread_mutex_unlock(&run->lock);
  sleep_ms(at - now_ms());
}

/* ---- one message, prepared ---------------------------------------------- */

static mw_status file_read(void *user, char *buf, size_t len, size_t *got)
{
  FILE *f = user;
  *got = fread(buf, 1, len, f);
  return ferror(f) ? MW_E_IO : MW_OK;
}

/* GMime registers its object types on first use without a lock (two
 * threads parsing their first message at once crash in GObject's type
 * system), so the composer's calls that reach GMime take turns.
 * mw_compose_read() is plain stdio on the rendered copy and runs freely. */
static pthread_mutex_t compose_lock = PTHREAD_MUTEX_INITIALIZER;

struct prepared {
  FILE *f;          /* the file sent as it is, or NULL */
  mw_compose *c;    /* the rewritten copy (header recipients), or NULL */
  const char *mem;  /* or the file read into the worker's buffer */
  size_t len, pos;
  mw_envelope *env;
  mw_message_info info;
};

static mw_status mem_read(void *user, char *buf, size_t len, size_t *got)
{
  struct prepared *p = user;
  size_t n = p->len - p->pos < len ? p->len - p->pos : len;
  memcpy(buf, p->mem + p->pos, n);
  p->pos += n;
  *got = n;
  return MW_OK;
}

static void prepared_free(struct prepared *p)
{
  if(p->f)
    fclose(p->f);
  if(p->c) {
    pthread_mutex_lock(&compose_lock);
    mw_compose_free(p->c);
    pthread_mutex_unlock(&compose_lock);
  }
  mw_envelope_free(p->env);
  memset(p, 0, sizeof(*p));
}

/* Reads the whole of a small message file into the worker's buffer:
 * true when it is there (p->mem), false to stream it from the file. */
static bool read_once(struct bulk_worker *w, struct prepared *p)
{
  struct stat st;
  if(fstat(fileno(p->f), &st) != 0 || !S_ISREG(st.st_mode) ||
     st.st_size > BULK_READ_ONCE_MAX)
    return false;
  size_t want = (size_t)st.st_size + 1; /* +1: sees a file that grew */
  if(w->cap < want) {
    char *nb = realloc(w->buf, want);
    if(!nb)
      return false;
    w->buf = nb;
    w->cap = want;
  }
  size_t n = fread(w->buf, 1, want, p->f);
  if(ferror(p->f) || n == want || fseeko(p->f, 0, SEEK_SET) != 0) {
    clearerr(p->f);
    fseeko(p->f, 0, SEEK_SET);
    return false;
  }
  p->mem = w->buf;
  p->len = n;
  p->pos = 0;
  return true;
}

/* Rewinds for a new attempt.  0 or -1. */
static int prepared_rewind(struct prepared *p)
{
  if(p->mem) {
    p->pos = 0;
    return 0;
  }
  if(p->f)
    return fseeko(p->f, 0, SEEK_SET) == 0 ? 0 : -1;
  pthread_mutex_lock(&compose_lock);
  mw_status st = mw_compose_open(p->c, NULL);
  pthread_mutex_unlock(&compose_lock);
  return st == MW_OK ? 0 : -1;
}

static int bare(const char *text, char *out, size_t len, const char *what,
                char *why, size_t whylen)
{
  const char *reason = "invalid";
  if(!*text) {
    out[0] = '\0';
    return 0;
  }
  if(mw_mailbox_check(text, out, len, &reason) == MW_MAILBOX_OK)
    return 0;
  snprintf(why, whylen, "%s '%.200s' is not an address: %s", what, text,
           reason);
  return -1;
}

/* Opens the message and builds its envelope.  0, or -1 with why (the
 * message fails: nothing of it was sent).  compose_lock held when the
 * composer is used (p->c). */
static int prepare_message(struct bulk_worker *w, const struct send_args *a,
                           struct bulk_item *it, struct prepared *p,
                           char *why, size_t whylen)
{
  memset(p, 0, sizeof(*p));
  if(it->fd >= 0) {
    /* A copy: the item keeps its own, should it go to another worker. */
    int fd = dup(it->fd);
    if(fd >= 0 && (lseek(fd, 0, SEEK_SET) != 0 || !(p->f = fdopen(fd, "rb"))))
      close(fd);
  }
  else
    p->f = fopen(it->path, "rb");
  if(!p->f) {
    snprintf(why, whylen, "cannot read '%.400s': %s", it->name,
             strerror(errno));
    return -1;
  }
  /* The JSON line first (it names this message), then the command line
   * (a profile's from included), then the headers. */
  size_t cli_rcpts = it->nto ? 0 : a->to.count + a->cc.count + a->bcc.count;
  bool need_from = !a->from && !it->from;
  bool need_rcpts = !cli_rcpts && !it->nto;
  if(need_from || need_rcpts) {
    if(!(p->c = mw_compose_new())) {
      snprintf(why, whylen, "out of memory");
      return -1;
    }
    if(mw_compose_set_message_fd(p->c, fileno(p->f)) != MW_OK) {
      snprintf(why, whylen, "cannot read the message's headers: %s",
               mw_compose_error_message(p->c));
      return -1;
    }
  }
  if(!(p->env = mw_envelope_new())) {
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  char addr[400];
  const char *from = it->from ? it->from : a->from;
  if(!from)
    from = mw_compose_sender(p->c);
  if(!from) {
    snprintf(why, whylen, "no sender: the message has no From address "
                          "(give --from, or \"from\" in the JSON line)");
    return -1;
  }
  if(bare(from, addr, sizeof(addr), "the sender", why, whylen))
    return -1;
  if(mw_envelope_set_from(p->env, addr) != MW_OK) {
    snprintf(why, whylen, "the sender '%.200s' is not an envelope address",
             from);
    return -1;
  }
  size_t n = 0;
  if(it->nto) {
    for(size_t i = 0; i < it->nto; i++, n++)
      if(mw_envelope_add_recipient(p->env, it->to[i]) != MW_OK) {
        snprintf(why, whylen, "the recipient '%.200s' is not an envelope "
                              "address",
                 it->to[i]);
        return -1;
      }
  }
  else if(cli_rcpts) {
    const struct cli_list *lists[] = {&a->to, &a->cc, &a->bcc};
    for(size_t l = 0; l < 3; l++)
      for(size_t i = 0; i < lists[l]->count; i++) {
        if(bare(lists[l]->items[i], addr, sizeof(addr), "the recipient",
                why, whylen))
          return -1;
        if(mw_envelope_add_recipient(p->env, addr) != MW_OK) {
          snprintf(why, whylen, "the recipient '%.200s' is not an "
                                "envelope address",
                   addr);
          return -1;
        }
        n++;
      }
  }
  else {
    for(size_t i = 0; i < mw_compose_recipient_count(p->c); i++, n++)
      if(mw_envelope_add_recipient(p->env, mw_compose_recipient(p->c, i)) !=
         MW_OK) {
        snprintf(why, whylen, "the recipient '%.200s' in the headers is "
                              "not an envelope address",
                 mw_compose_recipient(p->c, i));
        return -1;
      }
  }
  if(!n) {
    snprintf(why, whylen, "no recipients: the message has no To, Cc or Bcc "
                          "(give --to, or \"to\" in the JSON line)");
    return -1;
  }
  mw_status st;
  if(need_rcpts) {
    /* sendmail -t: the copy sent has Bcc removed (and Date, Message-ID). */
    st = mw_compose_open(p->c, NULL);
    if(!st)
      st = mw_message_info_scan_reader(&p->info, mw_compose_read, p->c);
    fclose(p->f);
    p->f = NULL;
  }
  else {
    /* The parser read through a descriptor sharing the file's offset. */
    mw_compose_free(p->c);
    p->c = NULL;
    st = fseeko(p->f, 0, SEEK_SET) ? MW_E_IO : MW_OK;
    if(!st && read_once(w, p)) {
      /* Read once: scanned and sent from memory. */
      mw_message_info_scan(&p->info, p->mem, p->len);
      if(p->info.long_line)
        st = MW_E_MESSAGE;
      fclose(p->f);
      p->f = NULL;
    }
    else if(!st)
      st = mw_message_info_scan_reader(&p->info, file_read, p->f);
  }
  if(st == MW_E_MESSAGE) {
    snprintf(why, whylen, "line %llu is longer than 998 bytes (RFC 5321 "
                          "section 4.5.3.1.6): encode the body as "
                          "quoted-printable or base64",
             (unsigned long long)p->info.long_line);
    return -1;
  }
  if(!st && p->f && fseeko(p->f, 0, SEEK_SET) != 0)
    st = MW_E_IO;
  if(!st && p->c)
    st = mw_compose_open(p->c, NULL);
  if(st) {
    snprintf(why, whylen, "cannot read the message%s%s",
             p->c ? ": " : "", p->c ? mw_compose_error_message(p->c) : "");
    return -1;
  }
  return 0;
}

static int prepare(struct bulk_worker *w, const struct send_args *a,
                   struct bulk_item *it, struct prepared *p, char *why,
                   size_t whylen)
{
  /* The composer is needed only to read the sender or the recipients
   * from the headers; then its calls take turns (compose_lock). */
  bool composer = (!a->from && !it->from) ||
                  (!it->nto && !(a->to.count + a->cc.count + a->bcc.count));
  if(composer)
    pthread_mutex_lock(&compose_lock);
  int rc = prepare_message(w, a, it, p, why, whylen);
  if(composer)
    pthread_mutex_unlock(&compose_lock);
  return rc;
}

/* ---- a worker --------------------------------------------------------- */

/* Whether a failed send or RSET left the session unusable. */
static bool session_lost(mw_status st)
{
  switch(st) {
  case MW_E_REJECTED:
  case MW_E_RECIPIENTS:
  case MW_E_MESSAGE:
  case MW_E_IO:
    return false;
  default:
    return true;
  }
}

/* Connects, with retries.  The session, or NULL (then run->fatal may be
 * set, and why holds the reason). */
static mw_smtp *connect_session(struct bulk_worker *w, char *why,
                                size_t whylen)
{
  struct bulk_run *run = w->run;
  for(int attempt = 0; attempt < BULK_MAX_CONNECTS; attempt++) {
    pthread_mutex_lock(&run->lock);
    bool stop = run->fatal;
    pthread_mutex_unlock(&run->lock);
    if(stop)
      return NULL;
    if(attempt)
      sleep_ms(200.0 * (1 << (attempt - 1)));
    mw_smtp *s = mw_smtp_new(run->o);
    if(!s) {
      snprintf(why, whylen, "out of memory");
      return NULL;
    }
    if(mw_smtp_connect(s) == MW_OK) {
      pthread_mutex_lock(&run->lock);
      run->connections++;
      pthread_mutex_unlock(&run->lock);
      return s;
    }
    const mw_error *e = mw_smtp_error(s);
    snprintf(why, whylen, "%s", mw_error_message(e));
    int code = exitcode_for_error(e);
    bool again = mw_error_is_temporary(e) ||
                 mw_error_status(e) == MW_E_CONNECT ||
                 mw_error_status(e) == MW_E_CLOSED ||
                 mw_error_status(e) == MW_E_TIMEOUT;
    mw_smtp_free(s);
    pthread_mutex_lock(&run->lock);
    if(!run->first_connect_code)
      run->first_connect_code = code;
    if(!again && !run->fatal) {
      run->fatal = true;
      run->fatal_code = code;
      snprintf(run->fatal_reason, sizeof(run->fatal_reason), "%s", why);
    }
    pthread_mutex_unlock(&run->lock);
    if(!again)
      return NULL;
  }
  return NULL;
}

static void close_session(mw_smtp **s)
{
  if(*s) {
    mw_smtp_quit(*s);
    mw_smtp_free(*s);
  }
  *s = NULL;
}

/* What a finished attempt means.  true: the message is done (oc filled);
 * false: send it again on a new connection. */
static bool judge(mw_status st, mw_smtp *s, const mw_result *res,
                  struct outcome *oc)
{
  const mw_error *e = mw_smtp_error(s);
  mw_delivery d = res ? mw_result_delivery(res) : MW_DELIVERY_NOT_SENT;
  if(st == MW_OK) {
    oc->result = exitcode_for_result(res) ? "partly delivered" : "delivered";
    if(exitcode_for_result(res))
      snprintf(oc->reason, sizeof(oc->reason), "some recipients were "
                                               "refused");
    return true;
  }
  snprintf(oc->reason, sizeof(oc->reason), "%s", mw_error_message(e));
  if(st == MW_E_DELIVERY_UNKNOWN || d == MW_DELIVERY_UNKNOWN) {
    oc->result = "unknown";
    snprintf(oc->reason, sizeof(oc->reason), "%s; not sent again",
             mw_error_message(e));
    return true;
  }
  if(d == MW_DELIVERY_ACCEPTED) { /* never here: st would be MW_OK */
    oc->result = "delivered";
    return true;
  }
  /* The server cannot have the message: a 421 (before or after the dot:
   * a refusal), or a connection lost or timed out before the end. */
  if(st == MW_E_CLOSED || st == MW_E_TIMEOUT || st == MW_E_TLS)
    return false;
  oc->result = mw_error_is_temporary(e) ? "deferred" : "failed";
  return true;
}

static void *worker_main(void *arg)
{
  struct bulk_worker *w = arg;
  struct bulk_run *run = w->run;
  mw_smtp *s = NULL;
  unsigned on_conn = 0; /* messages over this connection */
  char why[700] = "";
  struct bulk_item it;
  bulk_item_init(&it);
  while(take(run, &it)) {
    struct prepared p;
    struct outcome oc = {.result = "failed", .connection = w->id};
    if(prepare(w, run->a, &it, &p, oc.reason, sizeof(oc.reason))) {
      oc.connection = 0;
      report_locked(run, &it, &oc);
      prepared_free(&p);
      bulk_item_clear(&it);
      continue;
    }
    bool done = false, gave_up = false;
    mw_result *res = NULL;
    while(!done) {
      if(oc.tries >= BULK_MAX_TRIES) {
        oc.result = "deferred";
        snprintf(oc.reason, sizeof(oc.reason), "the connection failed %u "
                                               "times on this message "
                                               "(last: %.600s)",
                 oc.tries, why);
        break;
      }
      if(s && on_conn) {
        mw_status rs = mw_smtp_reset(s);
        if(rs) {
          snprintf(why, sizeof(why), "%s", mw_error_message(mw_smtp_error(s)));
          close_session(&s);
        }
      }
      if(!s) {
        on_conn = 0;
        s = connect_session(w, why, sizeof(why));
        if(!s) {
          gave_up = true;
          break;
        }
      }
      if(oc.tries && prepared_rewind(&p)) {
        snprintf(oc.reason, sizeof(oc.reason), "cannot read the message "
                                               "again");
        break;
      }
      rate_wait(run);
      oc.tries++;
      mw_result_free(res);
      res = NULL;
      mw_status st = p.mem ? mw_smtp_send(s, p.env, &p.info, mem_read, &p,
                                          &res)
                     : p.f ? mw_smtp_send(s, p.env, &p.info, file_read, p.f,
                                          &res)
                           : mw_smtp_send(s, p.env, &p.info, mw_compose_read,
                                          p.c, &res);
      on_conn++;
      oc.reason[0] = '\0';
      done = judge(st, s, res, &oc);
      if(!done)
        snprintf(why, sizeof(why), "%s", mw_error_message(mw_smtp_error(s)));
      if(st && session_lost(st))
        close_session(&s);
    }
    prepared_free(&p);
    if(gave_up) {
      mw_result_free(res);
      worker_exit(run, &it, why);
      bulk_item_clear(&it);
      return NULL;
    }
    oc.res = res;
    report_locked(run, &it, &oc);
    mw_result_free(res);
    bulk_item_clear(&it);
  }
  close_session(&s);
  worker_exit(run, NULL, NULL);
  return NULL;
}

/* ---- the command ---------------------------------------------------------- */

int cli_send_bulk(const struct send_args *a)
{
  char err[1024];
  int code = EXIT_OK;
  /* First pass: every source readable, every JSON line valid, counted. */
  struct bulk_source *src = bulk_source_new(
      a->message_files.items, a->message_files.count,
      a->message_sources.items, a->message_sources.count);
  if(!src)
    return output_early_error("send", a->json, EXIT_SOFTWARE,
                              "out of memory");
  struct bulk_item it;
  bulk_item_init(&it);
  unsigned long total = 0;
  int rc;
  while((rc = bulk_source_next(src, false, &it, err, sizeof(err))) == 1)
    total++;
  bulk_item_clear(&it);
  bulk_source_free(src);
  if(rc)
    return output_early_error("send", a->json, rc, err);
  if(!total)
    return output_early_error("send", a->json, EXIT_NOINPUT,
                              "--messages: no messages found (a directory "
                              "needs *.eml files)");

  if(mw_global_init() != MW_OK)
    return output_early_error("send", a->json, EXIT_SOFTWARE,
                              "library initialisation failed");
  char *password = NULL, *token = NULL;
  mw_options *o = mw_options_new();
  struct bulk_run run = {.a = a, .total = total};
  struct bulk_worker *workers = NULL;
  unsigned n = a->connections ? a->connections : 1;
  if(n > total)
    n = (unsigned)total;
  if(!o) {
    code = output_early_error("send", a->json, EXIT_SOFTWARE,
                              "out of memory");
    goto done;
  }
  if(a->trace)
    mw_options_set_trace(o, output_trace, stderr);
  code = cli_build_options(a, o, &password, &token, err, sizeof(err));
  if(code) {
    output_early_error("send", a->json, code, err);
    goto done;
  }
  run.o = o;
  run.src = bulk_source_new(a->message_files.items, a->message_files.count,
                            a->message_sources.items,
                            a->message_sources.count);
  run.returned = calloc(n, sizeof(*run.returned));
  workers = calloc(n, sizeof(*workers));
  if(!run.src || !run.returned || !workers) {
    code = output_early_error("send", a->json, EXIT_SOFTWARE,
                              "out of memory");
    goto done;
  }
  for(unsigned i = 0; i < n; i++)
    bulk_item_init(&run.returned[i]);
  pthread_mutex_init(&run.lock, NULL);
  run.alive = n;
  unsigned started = 0;
  for(unsigned i = 0; i < n; i++) {
    workers[i].run = &run;
    workers[i].id = i + 1;
    if(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]))
      break;
    started++;
  }
  if(started < n) {
    /* The workers that did not start are not alive. */
    pthread_mutex_lock(&run.lock);
    run.alive -= n - started;
    pthread_mutex_unlock(&run.lock);
    if(!started)
      worker_exit(&run, NULL, "cannot start a thread");
  }
  for(unsigned i = 0; i < started; i++)
    pthread_join(workers[i].thread, NULL);
  for(unsigned i = 0; i < n; i++)
    free(workers[i].buf);
  pthread_mutex_destroy(&run.lock);

  unsigned long not_delivered = run.partly + run.unknown + run.deferred +
                                run.failed;
  if(run.src_failed) {
    fprintf(stderr, "mailwire send: %s\n", run.src_err);
    code = run.src_code;
  }
  else if(!not_delivered)
    code = EXIT_OK;
  else if(!run.connections && (run.fatal_code || run.first_connect_code))
    code = run.fatal_code ? run.fatal_code : run.first_connect_code;
  else
    code = EXIT_BULK_INCOMPLETE;
  if(a->json) {
    printf("{\"summary\":true,\"total\":%lu,\"delivered\":%lu,"
           "\"partly_delivered\":%lu,\"unknown\":%lu,\"deferred\":%lu,"
           "\"failed\":%lu,\"connections\":%u,\"exit_code\":%d}\n",
           run.total, run.delivered, run.partly, run.unknown, run.deferred,
           run.failed, run.connections, code);
  }
  else {
    printf("%lu of %lu delivered", run.delivered, run.total);
    if(not_delivered)
      printf(" (%lu partly delivered, %lu unknown, %lu deferred, %lu "
             "failed)",
             run.partly, run.unknown, run.deferred, run.failed);
    printf(" over %u connection%s\n", run.connections,
           run.connections == 1 ? "" : "s");
  }
  fflush(stdout);

done:
  if(run.returned) {
    for(unsigned i = 0; i < n; i++)
      bulk_item_clear(&run.returned[i]);
    free(run.returned);
  }
  free(workers);
  bulk_source_free(run.src);
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  mw_global_cleanup();
  return code;
}
