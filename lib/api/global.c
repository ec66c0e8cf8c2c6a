/*
 * api/global.c - library set-up and the version.
 *
 * Owns: mw_global_init() and mw_global_cleanup(), and mw_version().  The
 * layers that keep process-wide state set it up themselves on first use,
 * thread-safely (issue 13): OpenSSL in tls/ (the first TLS context),
 * GNU SASL in proto/ (the first GNU SASL exchange), c-ares in net/ (the
 * first DNS query), so a plaintext send to a numeric address without
 * authentication sets up none of them.  mw_global_cleanup() releases what
 * they set up.  It sits above every layer it cleans up, so that core/
 * includes none of them.
 */
#include "mailwire.h"

#include "net/resolve.h"
#include "proto/sasl.h"

const char *mw_version(void) { return MW_VERSION_STRING; }

mw_status mw_global_init(void)
{
  return MW_OK; /* everything is set up on first use */
}

void mw_global_cleanup(void)
{
  mw__sasl_global_cleanup();
  mw__resolve_global_cleanup();
}
