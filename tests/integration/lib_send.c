/*
 * lib_send.c - a host program of the library that does not touch its
 * signal dispositions (SIGPIPE stays at its default, fatal action): it
 * sends one message and reports what each call returned, so a test can
 * prove that a server hanging up at any phase gives the caller an error
 * status, never a signal.  Used by test_hangup.py.
 *
 * usage: lib_send HOST:PORT TLS_MODE CA_FILE SIZE
 * SIZE: bytes of message body (large bodies keep the client writing after
 * the server has gone).  Prints:
 *   connect STATUS
 *   send STATUS delivery N temporary 0|1 final CODE   (when connected)
 *   quit STATUS
 * and exits 0 when it got that far.
 */
#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
  if(argc != 5) {
    fprintf(stderr, "usage: lib_send HOST:PORT TLS_MODE CA_FILE SIZE\n");
    return 64;
  }
  mw_tls_mode mode;
  long size = atol(argv[4]);
  if(mw_global_init() != MW_OK || mw_tls_mode_parse(argv[2], &mode) ||
     size < 0)
    return 70;
  mw_options *o = mw_options_new();
  if(mw_options_set_server_string(o, argv[1]) ||
     mw_options_set_tls_mode(o, mode) ||
     mw_options_set_tls_ca_file(o, argv[3]))
    return 70;
  mw_smtp *s = mw_smtp_new(o);
  mw_options_free(o);
  mw_status st = mw_smtp_connect(s);
  printf("connect %s\n", mw_status_name(st));
  if(st == MW_OK) {
    mw_envelope *e = mw_envelope_new();
    mw_envelope_set_from(e, "a@example.test");
    mw_envelope_add_recipient(e, "b@example.test");
    size_t len = 64 + (size_t)size;
    char *msg = malloc(len);
    int n = snprintf(msg, len, "Subject: hangup\r\n\r\n");
    for(size_t i = (size_t)n; i < len; i++)
      msg[i] = (i % 64 == 63) ? '\n' : 'x';
    mw_result *r = NULL;
    st = mw_smtp_send_buffer(s, e, msg, len, &r);
    const mw_error *err = mw_smtp_error(s);
    printf("send %s delivery %d temporary %d final %d\n", mw_status_name(st),
           r ? (int)mw_result_delivery(r) : -1,
           st ? (int)mw_error_is_temporary(err) : 0,
           r ? mw_result_final_code(r) : 0);
    if(st)
      printf("message %s\n", mw_error_message(err));
    mw_result_free(r);
    mw_envelope_free(e);
    free(msg);
  }
  fflush(stdout);
  st = mw_smtp_quit(s);
  printf("quit %s\n", mw_status_name(st));
  mw_smtp_free(s);
  mw_global_cleanup();
  return 0;
}
