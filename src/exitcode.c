/*
 * exitcode.c - library errors to sysexits codes.
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
