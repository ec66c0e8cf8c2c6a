/*
 * multi_send.c - the library API end to end: several messages over one
 * SMTP connection.  Used by test_rig.py; also a short example of the API.
 *
 * usage: multi_send HOST:PORT CA_FILE USER FROM TO COUNT
 * The password comes from the environment variable MW_PASSWORD.
 * Prints one line per message: "queued <id>", then "connections 1".
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

int main(int argc, char **argv)
{
  if(argc != 7) {
    fprintf(stderr, "usage: multi_send HOST:PORT CA USER FROM TO COUNT\n");
    return 64;
  }
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
