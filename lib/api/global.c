/*
 * api/global.c - one-time library set-up and the version.
 *
 * Owns: mw_global_init() and mw_global_cleanup(), which set up the layers
 * that keep process-wide state (c-ares, OpenSSL in tls/, GNU SASL in
 * proto/), and mw_version().  It sits above every layer it initialises, so
 * that core/ includes none of them.
 */
#include "mailwire.h"

#include "proto/sasl.h"
#include "tls/tls.h"

#include <ares.h>

static bool initialised;

const char *mw_version(void) { return MW_VERSION_STRING; }

mw_status mw_global_init(void)
{
  if(initialised)
    return MW_OK;
  if(ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
    return MW_E_INTERNAL;
  if(!mw__tls_global_init() || !mw__sasl_global_init()) {
    ares_library_cleanup();
    return MW_E_INTERNAL;
  }
  initialised = true;
  return MW_OK;
}

void mw_global_cleanup(void)
{
  if(!initialised)
    return;
  mw__sasl_global_cleanup();
  ares_library_cleanup();
  initialised = false;
}
