/*
 * send_many.c - send several messages over one SMTP connection.
 *
 * usage: send_many HOST[:PORT] FROM TO COUNT [CA_FILE]
 *   MAILWIRE_USER and MAILWIRE_PASSWORD (environment): log in when set.
 *
 * One connect (TLS and AUTH once), then COUNT messages, each with its own
 * result; a message refused by the server leaves the session usable (the
 * library sends RSET), so the loop goes on.  Prints one line per message.
 * Exit status: 0 all sent, 1 not, 2 usage.
 * Build: cc send_many.c $(pkg-config --cflags --libs mailwire)
 */
#include <mailwire.h>

#include <stdio.h>
#include <stdlib.h>

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
  for(int i = 1; i <= count; i++) {
    char msg[512];
    int n = snprintf(msg, sizeof(msg),
                     "From: <%s>\r\nTo: <%s>\r\nSubject: message %d of %d\r\n"
                     "\r\nMessage %d, sent over the same connection.\r\n",
                     argv[2], argv[3], i, count, i);
    if(n < 0 || (size_t)n >= sizeof(msg)) {
      fprintf(stderr, "address too long\n");
      break;
    }
    mw_result *r = NULL;
    mw_status st = mw_smtp_send_buffer(s, e, msg, (size_t)n, &r);
    if(st == MW_OK) {
      printf("%d: queued as %s\n", i, mw_result_queue_id(r));
      sent++;
    }
    else
      printf("%d: %s: %s\n", i, mw_status_name(st),
             mw_error_message(mw_smtp_error(s)));
    mw_result_free(r);
    if(st != MW_OK && st != MW_E_REJECTED && st != MW_E_RECIPIENTS)
      break; /* the connection is gone */
  }
  mw_smtp_quit(s);

out:
  mw_smtp_free(s);
  mw_envelope_free(e);
  mw_options_free(o);
  mw_global_cleanup();
  printf("%d of %d sent over one connection\n", sent, count);
  return sent == count ? 0 : 1;
}
