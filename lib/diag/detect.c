/*
 * diag/detect.c - `--tls detect` (MW_TLS_DETECT), and the public
 * mw_smtp_connect() that runs it before the session connects.
 *
 * DESCRIPTION
 *   Detection is a helper above the protocol layer: it runs the parallel
 *   probe (diag/probe.c) on the session's server, writes the port and TLS
 *   mode it chose into the session's options, then hands over to the SMTP
 *   client's own connect (mw__smtp_connect, proto/smtp.c), which never
 *   sees MW_TLS_DETECT.  Plaintext is never chosen, nor a certificate the
 *   session's TLS policy refuses.
 *
 * DIAGNOSTICS
 *   A failed detection leaves in the session's error what every port and
 *   mode attempted found (MW_E_CERT, MW_E_NO_STARTTLS, MW_E_CONNECT or
 *   MW_E_TIMEOUT).
 */
#include "proto/smtp.h"

#include "core/util.h"
#include "diag/probe.h"

#include <stdio.h>
#include <string.h>

/* Appends "PORT MODE: outcome" for each row to b (the error of a failed
 * detection says what every attempt found). */
static void probe_summary(const mw_probe *p, struct mw__sbuf *b)
{
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
    const char *o = mw_probe_row_outcome(p, i);
    const char *cert = mw_probe_row_cert(p, i);
    mw__sbuf_printf(b, "%s%u %s: %s%s%s", i ? "; " : "",
                    mw_probe_row_port(p, i), mw_probe_row_mode(p, i), o,
                    cert[0] && !strcmp(o, "works") ? ", certificate " : "",
                    cert[0] && !strcmp(o, "works") ? cert : "");
  }
}

/* --tls detect: probe the server's port (or 465, 587, 25, 2525) in every
 * mode at once and take the best secure combination; plaintext is never
 * taken, nor a certificate the policy refuses. */
static mw_status smtp_detect(struct mw_smtp *s)
{
  if(!s->opt.host)
    return mw__error_set(&s->err, MW_E_INVALID, "no server given");
  char ports[16] = "";
  if(s->opt.port)
    snprintf(ports, sizeof(ports), "%u", s->opt.port);
  mw__trace_emit(&s->trace, MW_TRACE_INFO,
                 "{tls=detect}: probing %s on port%s %s in every TLS mode "
                 "at once",
                 s->opt.host, ports[0] ? "" : "s",
                 ports[0] ? ports : "465, 587, 25, 2525");
  mw_probe *p = NULL;
  mw_status st = mw__probe_run(&s->opt, s->opt.host, ports[0] ? ports : NULL,
                               false, &p);
  if(st)
    return mw__error_set(&s->err, st, "{tls=detect}: the probe failed: %s",
                         mw_status_message(st));
  size_t best = 0;
  bool found = mw_probe_best(p, &best);
  if(found && mw__tls_verdict_ok(mw_probe_row_cert(p, best))) {
    s->opt.port = mw_probe_row_port(p, best);
    s->opt.tls_mode = strcmp(mw_probe_row_mode(p, best), "implicit") == 0
                          ? MW_TLS_IMPLICIT
                          : MW_TLS_STARTTLS;
    mw__trace_emit(&s->trace, MW_TRACE_INFO,
                   "{tls=detect}: port %u, TLS mode %s (%s, certificate "
                   "%s), found in %.0f ms",
                   s->opt.port, mw_tls_mode_name(s->opt.tls_mode),
                   mw_probe_row_tls_version(p, best),
                   mw_probe_row_cert(p, best), mw_probe_total_ms(p));
    mw_probe_free(p);
    return MW_OK;
  }
  bool plain = false, refused = true;
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
    const char *o = mw_probe_row_outcome(p, i);
    plain = plain || !strcmp(o, "works");
    refused = refused && (!strcmp(o, "refused") || !strcmp(o, "unreachable"));
  }
  struct mw__sbuf b;
  mw__sbuf_init(&b);
  probe_summary(p, &b);
  const char *rows = b.data ? b.data : "";
  if(found)
    st = mw__error_set(&s->err, MW_E_CERT,
                       "{tls=detect}: TLS works on port %u (%s) but the "
                       "certificate is not accepted (%s): give its CA with "
                       "{tls-ca-file} or pin it with {tls-fingerprint}. "
                       "Found: %s",
                       mw_probe_row_port(p, best), mw_probe_row_mode(p, best),
                       mw_probe_row_cert(p, best), rows);
  else if(plain)
    st = mw__error_set(&s->err, MW_E_NO_STARTTLS,
                       "{tls=detect}: only plaintext answered, and detect "
                       "never chooses it (use {tls=none} knowingly). "
                       "Found: %s",
                       rows);
  else
    st = mw__error_set(&s->err, refused ? MW_E_CONNECT : MW_E_TIMEOUT,
                       "{tls=detect}: no port answered SMTP. Found: %s", rows);
  mw__sbuf_free(&b);
  mw_probe_free(p);
  return st;
}

mw_status mw_smtp_connect(mw_smtp *s)
{
  if(s && (s->sm == MW__SMTP_IDLE || s->sm == MW__SMTP_CLOSED) &&
     s->opt.tls_mode == MW_TLS_DETECT) {
    mw__error_clear(&s->err);
    mw_status st = smtp_detect(s);
    if(st)
      return st;
  }
  return mw__smtp_connect(s);
}
