/*
 * exitcode.h - the CLI's exit codes (sysexits.h values, as sendmail and
 * msmtp use), kept apart into temporary (75: retry later) and permanent
 * failures.  The one place that maps library errors and doctor's cause
 * classes to exit codes.
 */
#ifndef MW_CLI_EXITCODE_H
#define MW_CLI_EXITCODE_H

#include "mailwire.h"

enum {
  EXIT_OK = 0,
  EXIT_USAGE = 64,       /* EX_USAGE: bad command line */
  EXIT_DATAERR = 65,     /* EX_DATAERR: the message cannot be sent as is */
  EXIT_NOINPUT = 66,     /* EX_NOINPUT: an input file is missing */
  EXIT_NOUSER = 67,      /* EX_NOUSER: a recipient was refused (5xx) */
  EXIT_NOHOST = 68,      /* EX_NOHOST: the host name does not exist */
  EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: the server refused (5xx) */
  EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: internal error */
  EXIT_IOERR = 74,       /* EX_IOERR: local I/O error */
  EXIT_TEMPFAIL = 75,    /* EX_TEMPFAIL: temporary; retry later */
  EXIT_PROTOCOL = 76,    /* EX_PROTOCOL: the server broke the protocol */
  EXIT_NOPERM = 77,      /* EX_NOPERM: authentication failed */
  EXIT_CONFIG = 78,      /* EX_CONFIG: TLS/certificate/security settings */
  /* Beyond sysexits.h (whose codes all have a meaning here already): the
   * server did not prove its identity in a mutual SASL mechanism (SCRAM,
   * DIGEST-MD5).  Not a wrong password (77) nor a setting to change (78):
   * the server itself is suspect, and scripts must be able to tell. */
  EXIT_SERVER_UNVERIFIED = 79,
  /* The server lacks an SMTP extension the message or the request needs
   * (REQUIRETLS or verified TLS for it, DSN, SMTPUTF8, BINARYMIME):
   * nothing was sent, and another server or other options may do. */
  EXIT_EXTENSION = 80
};

/* Doctor's exit status for a diagnosis (70 for NULL): 0 healthy, 10 DNS,
 * 11 refused or unreachable, 12 filtered or port 25 blocked, 13 greeting
 * or service, 14 TLS mode, 15 TLS handshake, 16 certificate,
 * 17 authentication, 18 envelope or message refused, 19 retry later,
 * 20 protocol or unknown, 21 proxy, 22 local configuration (--bind).  A
 * contract: scripts test these numbers. */
int exitcode_for_cause(const mw_cause *c);

/* Exit code for a failed session call. */
int exitcode_for_error(const mw_error *e);
/* Exit code for a message accepted for some recipients (0 if for all):
 * 67 when one was refused permanently, else 75 when one was refused
 * temporarily. */
int exitcode_for_result(const mw_result *r);

#endif
