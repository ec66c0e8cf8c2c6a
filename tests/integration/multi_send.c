/*
 * multi_send.c - the library API end to end: several messages over one
 * SMTP connection.  Used by test_rig.py; also a short example of the API.
 *
 * usage: multi_send HOST:PORT CA_FILE USER FROM TO COUNT [many|many-data]
 * The password comes from the environment variable MW_PASSWORD.
 * Prints one line per message: "queued <id>", then "connections 1".
 * With "many" the messages go through mw_smtp_send_many() (the next
 * envelope behind each dot); "many-data" also turns CHUNKING off, so DATA
 * is used and the envelopes really ride behind the dots.
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

/* The batch of mw_smtp_send_many(): message i built when asked for. */
struct batch {
  const mw_envelope *env;
  const char *from, *to;
  int count, taken, rc;
  char msg[256];
  size_t len, pos;
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

static bool batch_next(void *user, mw_outgoing *m)
{
  struct batch *b = user;
  if(b->taken == b->count)
    return false;
  b->taken++;
  /* The previous message's data is all out once the next is asked for. */
  b->len = (size_t)snprintf(b->msg, sizeof(b->msg),
                            "From: %s\r\nTo: %s\r\nSubject: multi %d\r\n\r\n"
                            "message %d of %d\r\n",
                            b->from, b->to, b->taken, b->taken, b->count);
  b->pos = 0;
  m->envelope = b->env;
  m->info = NULL;
  m->read = batch_read;
  m->read_user = b;
  return true;
}

static void batch_done(void *user, size_t index, mw_status st,
                       const mw_error *err, mw_result *r)
{
  struct batch *b = user;
  if(st == MW_OK) {
    printf("queued %s\n", mw_result_queue_id(r));
  }
  else {
    fprintf(stderr, "send %zu: %s\n", index + 1, mw_error_message(err));
    b->rc = 75;
  }
  mw_result_free(r);
}

int main(int argc, char **argv)
{
  if(argc != 7 && argc != 8) {
    fprintf(stderr, "usage: multi_send HOST:PORT CA USER FROM TO COUNT "
                    "[many|many-data]\n");
    return 64;
  }
  bool many = argc == 8 && strncmp(argv[7], "many", 4) == 0;
  bool data = argc == 8 && strcmp(argv[7], "many-data") == 0;
  int count = atoi(argv[6]);
  const char *password = getenv("MW_PASSWORD");
  if(mw_global_init() != MW_OK || count < 1 || !password)
    return 70;
  mw_options *o = mw_options_new();
  mw_options_set_server_string(o, argv[1]);
  mw_options_set_tls_mode(o, MW_TLS_STARTTLS);
  mw_options_set_tls_ca_file(o, argv[2]);
  mw_options_set_credentials(o, argv[3], password);
  mw_options_set_trace(o, count_connects, NULL);
  if(data)
    mw_options_set_chunking(o, false);
  mw_smtp *s = mw_smtp_new(o);
  mw_options_free(o);
  if(mw_smtp_connect(s) != MW_OK) {
    fprintf(stderr, "connect: %s\n", mw_error_message(mw_smtp_error(s)));
    mw_smtp_free(s);
    return 75;
  }
  mw_envelope *e = mw_envelope_new();
  mw_envelope_set_from(e, argv[4]);
  mw_envelope_add_recipient(e, argv[5]);
  int rc = 0;
  if(many) {
    struct batch b = {.env = e, .from = argv[4], .to = argv[5],
                      .count = count};
    size_t reported = 0;
    if(mw_smtp_send_many(s, batch_next, batch_done, &b, &reported) != MW_OK)
      fprintf(stderr, "session: %s\n", mw_error_message(mw_smtp_error(s)));
    rc = b.rc || reported != (size_t)count ? 75 : 0;
    count = 0; /* the loop below is the one-at-a-time way */
  }
  for(int i = 0; i < count && !rc; i++) {
    char msg[256];
    int n = snprintf(msg, sizeof(msg),
                     "From: %s\r\nTo: %s\r\nSubject: multi %d\r\n\r\n"
                     "message %d of %d\r\n",
                     argv[4], argv[5], i + 1, i + 1, count);
    mw_result *r = NULL;
    if(mw_smtp_send_buffer(s, e, msg, (size_t)n, &r) != MW_OK) {
      fprintf(stderr, "send %d: %s\n", i + 1,
              mw_error_message(mw_smtp_error(s)));
      rc = 75;
    }
    else {
      printf("queued %s\n", mw_result_queue_id(r));
    }
    mw_result_free(r);
  }
  mw_smtp_quit(s);
  mw_smtp_free(s);
  mw_envelope_free(e);
  mw_global_cleanup();
  printf("connections %d\n", connects);
  return rc;
}
