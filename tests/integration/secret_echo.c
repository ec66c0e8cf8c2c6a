/*
 * secret_echo.c - the library's error object against a server that echoes
 * the client's SASL payload.  Used by test_secrets.py.
 *
 * usage: secret_echo HOST:PORT CA_FILE MECH [USER]
 * The password comes from MW_PASSWORD, or the OAuth token from MW_TOKEN.
 * Connects with STARTTLS and the given mechanism, then prints everything
 * the library hands back: every trace event, and the mw_error's status,
 * message, server text and codes, so that the test can look for the
 * secret in all of it.  Exit 0 when the connection failed (the expected
 * outcome: the server refuses the credentials), 1 when it succeeded.
 */
#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_trace(void *user, mw_trace_kind kind, double ms,
                        const char *text)
{
  (void)user;
  (void)ms;
  printf("trace %d: %s\n", (int)kind, text);
}

int main(int argc, char **argv)
{
  if(argc != 4 && argc != 5) {
    fprintf(stderr, "usage: secret_echo HOST:PORT CA MECH [USER]\n");
    return 64;
  }
  const char *password = getenv("MW_PASSWORD");
  const char *token = getenv("MW_TOKEN");
  const char *user = argc == 5 ? argv[4] : "user@example.org";
  if(mw_global_init() != MW_OK || (!password && !token))
    return 70;
  mw_options *o = mw_options_new();
  if(!o)
    return 70;
  int bad = mw_options_set_server_string(o, argv[1]) ||
            mw_options_set_tls_mode(o, MW_TLS_STARTTLS) ||
            mw_options_set_tls_ca_file(o, argv[2]) ||
            mw_options_set_auth_mechanisms(o, argv[3]) ||
            mw_options_set_trace(o, print_trace, NULL);
  if(!bad && password)
    bad = mw_options_set_credentials(o, user, password);
  if(!bad && token)
    bad = mw_options_set_credentials(o, user, NULL) ||
          mw_options_set_oauth2_token(o, token);
  if(bad) {
    fprintf(stderr, "bad options\n");
    mw_options_free(o);
    return 64;
  }
  mw_smtp *s = mw_smtp_new(o);
  mw_options_free(o);
  if(!s)
    return 70;
  mw_status st = mw_smtp_connect(s);
  const mw_error *e = mw_smtp_error(s);
  printf("status %s\n", mw_status_name(st));
  printf("message %s\n", mw_error_message(e));
  printf("server_text %s\n", mw_error_server_text(e));
  printf("reply %d %s\n", mw_error_reply_code(e), mw_error_enhanced_code(e));
  printf("category %s\n", mw_category_name(mw_error_category(e)));
  int rc = st != MW_OK ? 0 : 1;
  mw_smtp_free(s);
  mw_global_cleanup();
  return rc;
}
