/*
 * cmd_bulk.h - `mailwire send` with many messages (--messages, repeated
 * --message): see cmd_bulk.c.
 */
#ifndef MW_CLI_CMD_BULK_H
#define MW_CLI_CMD_BULK_H

#include "args.h"

/* Sends every message a->message_files and a->message_sources name (a
 * parsed bulk command line: a->bulk), one result line each on stdout.
 * Returns the exit code. */
int cli_send_bulk(const struct send_args *a);

#endif
