/*
 * send_compose.h - `mailwire send` without --message: the message built
 * from --subject, --body/--body-file, --html, --attach and --inline with
 * the library's composer, rendered to a temporary file and read back in
 * chunks (attachments are never held in memory whole).
 */
#ifndef MW_CLI_SEND_COMPOSE_H
#define MW_CLI_SEND_COMPOSE_H

#include "args.h"

#include <stdio.h>

/* Builds the message of a into *out (free with mw_compose_free()), ready
 * to be read with mw_compose_read(), and scans it into *info.  Warns on
 * stderr when the body is empty.  Returns 0, or an exit code with the
 * reason in err (65 bad message, 66 a file missing, 74 I/O, 70). */
int cli_compose(const struct send_args *a, mw_compose **out,
                mw_message_info *info, char *err, size_t errlen);

/* Once connected (issue 12): a --message file (msg_file, at the start
 * of the message; *comp NULL) with 8-bit content, for a server that does
 * not offer 8BITMIME, is re-encoded 7-bit by the library's composer
 * (GMime: quoted-printable or base64 per part, mw_compose_set_7bit) into
 * a new *comp, which the caller then sends, and scanned again into
 * *info; a note says so on stderr.  Parsed so, it loses its Bcc header
 * and gains Date and Message-ID when absent, as sendmail -t's does.
 * Nothing happens when the message is 7-bit, binary (BINARYMIME), needs
 * SMTPUTF8, or the server offers 8BITMIME.  When GMime cannot re-encode
 * it, a warning says why and *info is kept: mw_smtp_send() then refuses
 * the 8-bit message (MW_E_MESSAGE), never sends it raw. */
void cli_fit_7bit(mw_smtp *s, FILE *msg_file, mw_compose **comp,
                  mw_message_info *info);

/* Reads path ("-": standard input) whole, at most cap bytes (what names
 * the option in errors).  NULL with *code and err on failure. */
char *cli_read_whole_file(const char *what, const char *path,
                          unsigned long long cap, bool explicit_cap,
                          size_t *len, int *code, char *err, size_t errlen);

#endif
