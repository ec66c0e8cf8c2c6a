/*
 * auth_check.c - the library's view of SASL mutual authentication: connect
 * over STARTTLS with one mechanism, then try to send one message.  Used by
 * test_sasl_mutual.py against the misbehaving server and the rig.
 *
 * usage: auth_check HOST:PORT CA_FILE USER MECH FROM TO
 * The password comes from the environment variable MW_PASSWORD.
 * Prints, one per line:
 *   connect <status name>        what mw_smtp_connect() returned
 *   category <name>              of the error ("none" on success)
 *   mechanism <name>|-           mw_smtp_auth_mechanism()
 *   verified yes|no              whether the trace said the server's
 *                                signature verified
 *   send <status name>           mw_smtp_send_buffer() afterwards
 *   message <text>               the connect error's message, if any
 * Exit status: 0 when connect and send both succeeded, 1 otherwise, 64 on
 * bad usage.
 */
#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFIED "server signature verified"

static int verified;

static void watch_trace(void *user, mw_trace_kind kind, double ms,
                        const char *text)
{
  (void)user;
  (void)ms;
  if(kind == MW_TRACE_INFO && strncmp(text, VERIFIED, strlen(VERIFIED)) == 0)
    verified++;
}

int main(int argc, char **argv)
{
  if(argc != 7) {
    fprintf(stderr, "usage: auth_check HOST:PORT CA USER MECH FROM TO\n");
    return 64;
  }
  const char *password = getenv("MW_PASSWORD");
  if(!password || mw_global_init() != MW_OK)
    return 64;
  mw_options *o = mw_options_new();
  if(!o || mw_options_set_server_string(o, argv[1]) != MW_OK ||
     mw_options_set_tls_mode(o, MW_TLS_STARTTLS) != MW_OK ||
     mw_options_set_tls_ca_file(o, argv[2]) != MW_OK ||
     mw_options_set_credentials(o, argv[3], password) != MW_OK ||
     mw_options_set_auth_mechanisms(o, argv[4]) != MW_OK ||
     mw_options_set_trace(o, watch_trace, NULL) != MW_OK) {
    mw_options_free(o);
    mw_global_cleanup();
    return 64;
  }
  mw_smtp *s = mw_smtp_new(o);
  mw_options_free(o);
  if(!s) {
    mw_global_cleanup();
    return 70;
  }
  mw_status st = mw_smtp_connect(s);
  const mw_error *err = mw_smtp_error(s);
  const char *mech = mw_smtp_auth_mechanism(s);
  printf("connect %s\n", mw_status_name(st));
  printf("category %s\n", mw_category_name(mw_error_category(err)));
  printf("mechanism %s\n", mech ? mech : "-");
  printf("verified %s\n", verified ? "yes" : "no");
  char message[1024];
  snprintf(message, sizeof(message), "%s", mw_error_message(err));

  /* A session whose server did not prove itself must not carry mail. */
  mw_envelope *e = mw_envelope_new();
  mw_envelope_set_from(e, argv[5]);
  mw_envelope_add_recipient(e, argv[6]);
  char msg[256];
  int n = snprintf(msg, sizeof(msg),
                   "From: %s\r\nTo: %s\r\nSubject: auth_check\r\n\r\n"
                   "sent after %s\r\n",
                   argv[5], argv[6], argv[4]);
  mw_result *r = NULL;
  mw_status sent = mw_smtp_send_buffer(s, e, msg, (size_t)n, &r);
  printf("send %s\n", mw_status_name(sent));
  if(st != MW_OK)
    printf("message %s\n", message);
  mw_result_free(r);
  mw_envelope_free(e);
  if(sent == MW_OK)
    mw_smtp_quit(s);
  mw_smtp_free(s);
  mw_global_cleanup();
  return st == MW_OK && sent == MW_OK ? 0 : 1;
}
