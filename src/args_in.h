/*
 * args_in.h - the options of the incoming-mail commands (fetch, watch,
 * folders, append): their values, the rules between them, and the
 * commands' help texts.  args.c's option table lists them and calls in.
 */
#ifndef MW_CLI_ARGS_IN_H
#define MW_CLI_ARGS_IN_H

#include "args.h"

/* The intro and trailer of cmd's help (static). */
const char *cli_in_intro(enum cli_command cmd);
const char *cli_in_trailer(enum cli_command cmd);
/* Applies option name (with value v, NULL for a switch) to in.  0, or -1
 * with a message in err. */
int cli_in_apply(const char *name, const char *v, struct in_args *in,
                 char *err, size_t errlen);
/* The rules of cmd once every word is parsed: a server, its protocol
 * (a->in.protocol is set from the URL, --protocol or the default IMAP),
 * one store, options that fit the protocol.  0, or -1 with err. */
int cli_in_check(enum cli_command cmd, struct send_args *a, char *err,
                 size_t errlen);
/* "2026-02-01" or "1-Feb-2026" as IMAP's date "1-Feb-2026" into out.
 * false when it is not a date. */
bool cli_in_imap_date(const char *text, char *out, size_t len);
/* The mailbox path of an imap:// URL ("" when none), percent-decoded
 * into out; false when url is not an IMAP URL with a path. */
bool cli_in_url_mailbox(const char *url, char *out, size_t len);

#endif
