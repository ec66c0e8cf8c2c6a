/*
 * exitcode.c - library errors to sysexits codes, and doctor's diagnoses
 * (their mw_cause_class) to its exit statuses 0 and 10-22.
 *
 * The library classifies; only the CLI numbers.
 */
#include "exitcode.h"

int exitcode_for_error(const mw_error *e)
{
  mw_status st = mw_error_status(e);
  if(st == MW_OK)
    return EXIT_OK;
  /* Temporary first: whatever the layer, a retry may succeed. */
  if(mw_error_is_temporary(e))
    return EXIT_TEMPFAIL;
  switch(st) {
  case MW_E_INVALID:
    /* A local setting the library found wrong while working (--bind to an
     * address this machine does not have) is configuration, not usage. */
    return mw_error_category(e) == MW_CAT_LOCAL ? EXIT_CONFIG : EXIT_USAGE;
  case MW_E_STATE:
    return EXIT_USAGE;
  case MW_E_MESSAGE:
    return EXIT_DATAERR;
  case MW_E_RECIPIENTS:
    return EXIT_NOUSER;
  case MW_E_DNS:
    return EXIT_NOHOST;
  case MW_E_REJECTED:
  case MW_E_CONNECT:
  case MW_E_PROXY:
    return EXIT_UNAVAILABLE;
  case MW_E_PROTOCOL:
  case MW_E_INJECTION:
    return EXIT_PROTOCOL;
  case MW_E_AUTH:
  case MW_E_AUTH_UNAVAILABLE:
    return EXIT_NOPERM;
  case MW_E_AUTH_SERVER_UNVERIFIED:
    return EXIT_SERVER_UNVERIFIED;
  case MW_E_EXTENSION:
    return EXIT_EXTENSION;
  case MW_E_TLS:
  case MW_E_CERT:
  case MW_E_NO_STARTTLS:
  case MW_E_INSECURE:
    return EXIT_CONFIG;
  case MW_E_IO:
    return EXIT_IOERR;
  case MW_E_TIMEOUT:
  case MW_E_CLOSED:
  case MW_E_DELIVERY_UNKNOWN:
    return EXIT_TEMPFAIL;
  default:
    return EXIT_SOFTWARE;
  }
}

int exitcode_for_result(const mw_result *r)
{
  int code = EXIT_OK;
  for(size_t i = 0; i < mw_result_recipient_count(r); i++) {
    if(mw_result_recipient_accepted(r, i))
      continue;
    if(mw_result_recipient_code(r, i) / 100 == 5)
      return EXIT_NOUSER;
    code = EXIT_TEMPFAIL;
  }
  return code;
}

int exitcode_for_cause(const mw_cause *c)
{
  if(!c)
    return EXIT_SOFTWARE;
  switch(c->cause_class) {
  case MW_CAUSE_HEALTHY: return 0;
  case MW_CAUSE_DNS: return 10;
  case MW_CAUSE_UNREACHABLE: return 11;
  case MW_CAUSE_FILTERED: return 12;
  case MW_CAUSE_SERVICE: return 13;
  case MW_CAUSE_TLS_MODE: return 14;
  case MW_CAUSE_TLS_HANDSHAKE: return 15;
  case MW_CAUSE_CERTIFICATE: return 16;
  case MW_CAUSE_AUTH: return 17;
  case MW_CAUSE_REFUSED: return 18;
  case MW_CAUSE_RETRY: return 19;
  case MW_CAUSE_PROTOCOL: return 20;
  case MW_CAUSE_PROXY: return 21;
  case MW_CAUSE_LOCAL_CONFIG: return 22;
  }
  return EXIT_SOFTWARE; /* a class newer than this program */
}
