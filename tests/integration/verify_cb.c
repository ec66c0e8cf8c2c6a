/*
 * verify_cb.c - the certificate validation callback end to end
 * (mw_options_set_tls_verify_callback, issue 14): connect, or run doctor,
 * with a callback that accepts or refuses, and report what it was shown.
 * Used by test_tls_trust.py.
 *
 * usage: verify_cb connect|doctor HOST:PORT CA_FILE|- accept|refuse|none
 *                  [CRL_FILE]
 * Prints:
 *   callback verified 0|1 verdict V chain N der0 BYTES first 0xHH host H
 *                                          (once per call of the callback)
 *   connect STATUS   (connect: and "message ..." on failure)
 *   cause ID         (doctor)
 * Exit 0 when it got that far, 70 on a setup failure.
 * With VERIFY_CB_TRACE=FILE in the environment the trace is appended to
 * FILE through mw_options_set_trace_fd().
 */
#include "mailwire.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool decide(void *user, const mw_tls_peer *peer)
{
  const char *answer = user;
  printf("callback verified %d verdict %s chain %zu der0 %zu first 0x%02x "
         "host %s\n",
         peer->verified ? 1 : 0, peer->verdict, peer->chain_len,
         peer->chain_len ? peer->chain_der_len[0] : 0,
         peer->chain_len ? peer->chain_der[0][0] : 0, peer->host);
  return strcmp(answer, "accept") == 0;
}

int main(int argc, char **argv)
{
  if(argc < 5 || argc > 6) {
    fprintf(stderr, "usage: verify_cb connect|doctor HOST:PORT CA|- "
                    "accept|refuse|none [CRL]\n");
    return 64;
  }
  if(mw_global_init() != MW_OK)
    return 70;
  mw_options *o = mw_options_new();
  if(!o || mw_options_set_server_string(o, argv[2]) ||
     mw_options_set_tls_mode(o, MW_TLS_STARTTLS) ||
     (strcmp(argv[3], "-") && mw_options_set_tls_ca_file(o, argv[3])) ||
     (strcmp(argv[4], "none") &&
      mw_options_set_tls_verify_callback(o, decide, argv[4])) ||
     mw_options_set_tls_crl_file(o, argc == 6 ? argv[5] : NULL) ||
     mw_options_set_tls_verify_callback(NULL, NULL, NULL) != MW_E_INVALID) {
    mw_options_free(o);
    return 70;
  }
  const char *trace = getenv("VERIFY_CB_TRACE");
  int fd = trace ? open(trace, O_WRONLY | O_APPEND | O_CREAT, 0600) : -1;
  if(trace && (fd < 0 || mw_options_set_trace_fd(o, fd) ||
               mw_options_set_trace_fd(o, -2) != MW_E_INVALID)) {
    mw_options_free(o);
    return 70;
  }
  int rc = 0;
  if(strcmp(argv[1], "doctor") == 0) {
    mw_report *r = NULL;
    if(mw_doctor_run(o, NULL, NULL, &r) != MW_OK)
      rc = 70;
    else {
      const mw_cause *c = mw_report_cause(r);
      printf("cause %s\n", c ? c->id : "none");
    }
    mw_report_free(r);
  }
  else {
    mw_smtp *s = mw_smtp_new(o);
    mw_status st = s ? mw_smtp_connect(s) : MW_E_NOMEM;
    printf("connect %s\n", mw_status_name(st));
    if(st && s)
      printf("message %s\n", mw_error_message(mw_smtp_error(s)));
    if(s)
      mw_smtp_quit(s);
    mw_smtp_free(s);
  }
  mw_options_free(o);
  mw_global_cleanup();
  if(fd >= 0)
    close(fd);
  return rc;
}
