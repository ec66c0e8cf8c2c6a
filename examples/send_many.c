/*
 * send_many.c - send several messages over one SMTP connection.
 *
 * usage: send_many HOST[:PORT] FROM TO COUNT [CA_FILE]
 *   MAILWIRE_USER and MAILWIRE_PASSWORD (environment): log in when set.
 *
 * One connect (TLS and AUTH once), then COUNT messages through
 * mw_smtp_send_many(), each with its own result; a message refused by the
 * server leaves the session usable (the library sends RSET), so the batch
 * goes on.  Prints one line per message.
 * Exit status: 0 all sent, 1 not, 2 usage.
 * Build: cc send_many.c $(pkg-config --cflags --libs mailwire)
 */
#include <mailwire.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The messages, made one at a time as mw_smtp_send_many() asks. */
struct batch {
  const char *from, *to;
  const mw_envelope *env;
  int count, made, sent;
  char msg[512];
  size_t len, pos;
};

static mw_status read_message(void *user, char *buf, size_t len, size_t *got)
{
  struct batch *b = user;
  size_t n = b->len - b->pos < len ? b->len - b->pos : len;
  memcpy(buf, b->msg + b->pos, n);
  b->pos += n;
  *got = n;
  return MW_OK;
}

/* The next message, or false after the last.  (The previous one has been
 * read to its end when the next is asked for, so one buffer will do.) */
static bool next_message(void *user, mw_outgoing *m)
{
  struct batch *b = user;
  if(b->made == b->count)
    return false;
  b->made++;
  int n = snprintf(b->msg, sizeof(b->msg),
                   "From: <%s>\r\nTo: <%s>\r\nSubject: message %d of %d\r\n"
                   "\r\nMessage %d, sent over the same connection.\r\n",
                   b->from, b->to, b->made, b->count, b->made);
  if(n < 0 || (size_t)n >= sizeof(b->msg))
    return false; /* addresses too long: stop there */
  b->len = (size_t)n;
  b->pos = 0;
  m->envelope = b->env;
  m->info = NULL;
  m->read = read_message;
  m->read_user = b;
  return true;
}

/* Each message's outcome, in order; the result is ours to free. */
static void message_done(void *user, size_t index, mw_status st,
                         const mw_error *err, mw_result *r)
{
  struct batch *b = user;
  if(st == MW_OK) {
    printf("%zu: queued as %s\n", index + 1, mw_result_queue_id(r));
    b->sent++;
  }
  else
    printf("%zu: %s: %s\n", index + 1, mw_status_name(st),
           mw_error_message(err));
  mw_result_free(r);
}

int main(int argc, char **argv)
{
  if(argc < 5 || argc > 6 || atoi(argv[4]) < 1) {
    fprintf(stderr, "usage: send_many HOST[:PORT] FROM TO COUNT [CA_FILE]\n");
    return 2;
  }
  int count = atoi(argv[4]), sent = 0;
  const char *user = getenv("MAILWIRE_USER");
  const char *password = getenv("MAILWIRE_PASSWORD");
  if(mw_global_init() != MW_OK)
    return 1;
  mw_options *o = mw_options_new();
  mw_envelope *e = mw_envelope_new();
  mw_smtp *s = NULL;
  if(!o || !e || mw_options_set_server_string(o, argv[1]) ||
     (argc == 6 && mw_options_set_tls_ca_file(o, argv[5])) ||
     (user && password && mw_options_set_credentials(o, user, password)) ||
     mw_envelope_set_from(e, argv[2]) ||
     mw_envelope_add_recipient(e, argv[3])) {
    fprintf(stderr, "invalid server, CA file or address\n");
    goto out;
  }
  s = mw_smtp_new(o);
  if(!s || mw_smtp_connect(s) != MW_OK) {
    fprintf(stderr, "connect: %s\n",
            s ? mw_error_message(mw_smtp_error(s)) : "no memory");
    goto out;
  }
  /* mw_smtp_send_many() asks for each message and reports each outcome
   * in order; with PIPELINING each message's envelope goes out with the
   * previous message's final dot (one round trip a message).  A plain
   * loop of mw_smtp_send_buffer() calls does the same, one message at a
   * time. */
  struct batch b = {.from = argv[2], .to = argv[3], .env = e,
                    .count = count};
  mw_status st = mw_smtp_send_many(s, next_message, message_done, &b, NULL);
  if(st != MW_OK)
    printf("the connection ended: %s: %s\n", mw_status_name(st),
           mw_error_message(mw_smtp_error(s)));
  sent = b.sent;
  mw_smtp_quit(s);

out:
  mw_smtp_free(s);
  mw_envelope_free(e);
  mw_options_free(o);
  mw_global_cleanup();
  printf("%d of %d sent over one connection\n", sent, count);
  return sent == count ? 0 : 1;
}
