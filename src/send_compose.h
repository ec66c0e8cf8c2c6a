/*
 * send_compose.h - `mailwire send` without --message: the message built
 * from --subject, --body/--body-file, --html, --attach and --inline with
 * the library's composer, rendered to a temporary file and read back in
 * chunks (attachments are never held in memory whole).
 */
#ifndef MW_CLI_SEND_COMPOSE_H
#define MW_CLI_SEND_COMPOSE_H

#include "args.h"

/* Builds the message of a into *out (free with mw_compose_free()), ready
 * to be read with mw_compose_read(), and scans it into *info.  Warns on
 * stderr when the body is empty.  Returns 0, or an exit code with the
 * reason in err (65 bad message, 66 a file missing, 74 I/O, 70). */
int cli_compose(const struct send_args *a, mw_compose **out,
                mw_message_info *info, char *err, size_t errlen);

/* Reads path ("-": standard input) whole, at most cap bytes (what names
 * the option in errors).  NULL with *code and err on failure. */
char *cli_read_whole_file(const char *what, const char *path,
                          unsigned long long cap, bool explicit_cap,
                          size_t *len, int *code, char *err, size_t errlen);

#endif
