/*
 * mw_bulk.c - the benchmark's libmailwire client: COUNT copies of one
 * message file over ONE SMTP connection (PIPELINING when offered), the way
 * an application using the library sends a batch.
 *
 * usage: mw_bulk HOST:PORT none|starttls|implicit FROM TO COUNT MESSAGE_FILE
 *                [CA_FILE SERVER_NAME [USER]]
 * With starttls, CA_FILE, SERVER_NAME and USER are required, the password
 * comes from the environment variable MW_PASSWORD and AUTH is restricted
 * to PLAIN (what the peers use in the benchmark).  With implicit (TLS from
 * the first byte, bench/sink_bench.py's TLS front), CA_FILE and
 * SERVER_NAME are required and there is no AUTH.
 * The messages go through mw_smtp_send_many(), the library's batch API:
 * with PIPELINING each message's envelope rides behind the previous
 * message's final dot (one round trip a message).
 * Prints "sent N connections C" and exits 0 when every message was
 * accepted, else 75.
 *
 * tests/integration/multi_send.c is the project's own example of the same
 * API; it is STARTTLS-only with a fixed ~100-byte body, so the benchmark
 * needs this variant (plaintext port, a 2 KB message read from a file).
 */
#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int connects;

static void count_connects(void *user, mw_trace_kind kind, double ms,
                           const char *text)
{
  (void)user;
  (void)ms;
  if(kind == MW_TRACE_NET && strncmp(text, "connected to", 12) == 0)
    connects++;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if(!f)
    return NULL;
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  while(buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if(n < cap)
      break;
    char *bigger = realloc(buf, cap * 2);
    if(!bigger) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* The batch: count copies of one message held in memory. */
struct batch {
  const mw_envelope *env;
  const mw_message_info *info;
  const char *msg;
  size_t len, pos;
  int count, taken, sent;
};

static mw_status batch_read(void *user, char *buf, size_t len, size_t *got)
{
  struct batch *b = user;
  size_t n = b->len - b->pos < len ? b->len - b->pos : len;
  memcpy(buf, b->msg + b->pos, n);
  b->pos += n;
  *got = n;
  return MW_OK;
}

/* One copy at a time is read: the next is taken once the previous one's
 * data is all out (its dot queued), so one position is enough. */
static bool batch_next(void *user, mw_outgoing *m)
{
  struct batch *b = user;
  if(b->taken == b->count)
    return false;
  b->taken++;
  b->pos = 0;
  m->envelope = b->env;
  m->info = b->info;
  m->read = batch_read;
  m->read_user = b;
  return true;
}

static void batch_done(void *user, size_t index, mw_status st,
                       const mw_error *err, mw_result *r)
{
  struct batch *b = user;
  if(st == MW_OK)
    b->sent++;
  else
    fprintf(stderr, "mw_bulk: message %zu: %s\n", index + 1,
            mw_error_message(err));
  mw_result_free(r);
}

int main(int argc, char **argv)
{
  if(argc != 7 && argc != 9 && argc != 10) {
    fprintf(stderr, "usage: mw_bulk HOST:PORT none|starttls|implicit FROM "
                    "TO COUNT MESSAGE_FILE [CA_FILE SERVER_NAME [USER]]\n");
    return 64;
  }
  bool tls = strcmp(argv[2], "starttls") == 0;
  bool implicit = strcmp(argv[2], "implicit") == 0;
  if(!tls && !implicit && strcmp(argv[2], "none") != 0)
    return 64;
  if((tls && argc != 10) || (implicit && argc != 9) ||
     (!tls && !implicit && argc != 7))
    return 64;
  int count = atoi(argv[5]);
  size_t len = 0;
  char *msg = slurp(argv[6], &len);
  if(!msg || count < 1) {
    fprintf(stderr, "mw_bulk: cannot read %s\n", argv[6]);
    return 66;
  }
  if(mw_global_init() != MW_OK)
    return 70;
  mw_options *o = mw_options_new();
  mw_options_set_server_string(o, argv[1]);
  mw_options_set_trace(o, count_connects, NULL);
  if(tls) {
    const char *password = getenv("MW_PASSWORD");
    if(!password)
      return 64;
    mw_options_set_tls_mode(o, MW_TLS_STARTTLS);
    mw_options_set_tls_ca_file(o, argv[7]);
    mw_options_set_tls_server_name(o, argv[8]);
    mw_options_set_credentials(o, argv[9], password);
    mw_options_set_auth_mechanisms(o, "PLAIN");
  }
  else if(implicit) {
    mw_options_set_tls_mode(o, MW_TLS_IMPLICIT);
    mw_options_set_tls_ca_file(o, argv[7]);
    mw_options_set_tls_server_name(o, argv[8]);
  }
  else {
    mw_options_set_tls_mode(o, MW_TLS_NONE);
  }
  mw_smtp *s = mw_smtp_new(o);
  mw_options_free(o);
  if(mw_smtp_connect(s) != MW_OK) {
    fprintf(stderr, "mw_bulk: connect: %s\n",
            mw_error_message(mw_smtp_error(s)));
    mw_smtp_free(s);
    free(msg);
    return 75;
  }
  mw_envelope *e = mw_envelope_new();
  mw_envelope_set_from(e, argv[3]);
  mw_envelope_add_recipient(e, argv[4]);
  mw_message_info info;
  mw_message_info_scan(&info, msg, len);
  struct batch b = {.env = e, .info = &info, .msg = msg, .len = len,
                    .count = count};
  mw_status st = mw_smtp_send_many(s, batch_next, batch_done, &b, NULL);
  if(st != MW_OK)
    fprintf(stderr, "mw_bulk: the session ended: %s\n",
            mw_error_message(mw_smtp_error(s)));
  int sent = b.sent;
  mw_smtp_quit(s);
  mw_smtp_free(s);
  mw_envelope_free(e);
  mw_global_cleanup();
  free(msg);
  printf("sent %d connections %d\n", sent, connects);
  return sent == count ? 0 : 75;
}
