/*
 * diag/probe.h - the parallel probe (mw_probe_run) for library-internal
 * callers: `--tls detect` in diag/detect.c.
 *
 * Owns: nothing beyond mw_probe_run()'s; this header only adds the
 * variant without DNS discovery (a session's server is the host to use,
 * not a domain whose SRV or MX records could point elsewhere).
 */
#ifndef MW_DIAG_PROBE_H
#define MW_DIAG_PROBE_H

#include "mailwire.h"

/* mw_probe_run(), with SRV/MX discovery only when discover is true. */
mw_status mw__probe_run(const mw_options *o, const char *target,
                        const char *ports, bool discover, mw_probe **out);

#endif
