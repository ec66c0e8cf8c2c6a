/*
 * send.c - send one message with libmailwire.
 *
 * usage: send HOST[:PORT] FROM TO [CA_FILE]
 *   MAILWIRE_USER and MAILWIRE_PASSWORD (environment): log in when set.
 *   CA_FILE: trust this CA (PEM) instead of the system's store.
 *
 * Composes a short text message (mw_compose), connects (TLS chosen by the
 * port: 465 implicit, any other STARTTLS required; certificates verified),
 * sends it and prints the server's queue id.  Exit status: 0 sent, 1 not,
 * 2 usage.  Build: cc send.c $(pkg-config --cflags --libs mailwire)
 */
#include <mailwire.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  if(argc < 4 || argc > 5) {
    fprintf(stderr, "usage: send HOST[:PORT] FROM TO [CA_FILE]\n");
    return 2;
  }
  const char *user = getenv("MAILWIRE_USER");
  const char *password = getenv("MAILWIRE_PASSWORD");
  int rc = 1;
  mw_options *o = NULL;
  mw_smtp *s = NULL;
  mw_compose *c = NULL;
  mw_envelope *e = NULL;
  mw_result *r = NULL;
  char *msg = NULL;
  size_t len = 0;
  mw_status st;

  if((st = mw_global_init()) != MW_OK) {
    fprintf(stderr, "init: %s\n", mw_status_message(st));
    return 1;
  }
  o = mw_options_new();
  if(!o || (st = mw_options_set_server_string(o, argv[1])) != MW_OK ||
     (argc == 5 && (st = mw_options_set_tls_ca_file(o, argv[4])) != MW_OK) ||
     (user && password &&
      (st = mw_options_set_credentials(o, user, password)) != MW_OK)) {
    fprintf(stderr, "options: %s\n", o ? mw_status_message(st) : "no memory");
    goto out;
  }

  /* The message: headers and body, rendered by the library. */
  c = mw_compose_new();
  if(!c || mw_compose_set_from(c, argv[2]) || mw_compose_add_to(c, argv[3]) ||
     mw_compose_set_subject(c, "Hello from libmailwire") ||
     mw_compose_set_body(c, "It works.\n", 10) ||
     mw_compose_render(c, &msg, &len)) {
    fprintf(stderr, "compose: %s\n",
            c ? mw_compose_error_message(c) : "no memory");
    goto out;
  }
  /* The envelope: who the server delivers to. */
  e = mw_envelope_new();
  if(!e || mw_envelope_set_from(e, argv[2]) ||
     mw_envelope_add_recipient(e, argv[3])) {
    fprintf(stderr, "envelope: invalid address\n");
    goto out;
  }

  s = mw_smtp_new(o); /* o is copied: free it whenever */
  if(!s) {
    fprintf(stderr, "no memory\n");
    goto out;
  }
  if(mw_smtp_connect(s) != MW_OK ||
     mw_smtp_send_buffer(s, e, msg, len, &r) != MW_OK) {
    const mw_error *err = mw_smtp_error(s);
    fprintf(stderr, "failed (%s): %s\n", mw_status_name(mw_error_status(err)),
            mw_error_message(err));
    goto out;
  }
  printf("sent, queued as %s\n", mw_result_queue_id(r));
  mw_smtp_quit(s);
  rc = 0;

out:
  mw_result_free(r);
  mw_smtp_free(s);
  mw_envelope_free(e);
  mw_free(msg);
  mw_compose_free(c);
  mw_options_free(o);
  mw_global_cleanup();
  return rc;
}
