/*
 * settings.h - from parsed arguments to library options: the one place the
 * CLI turns --server, --tls, timeouts, TLS policy and credentials (read
 * from their env/file/command source) into an mw_options, for every
 * command.
 */
#ifndef MW_CLI_SETTINGS_H
#define MW_CLI_SETTINGS_H

#include "args.h"

/* Fills o from a.  *password and *token receive the secrets read (free with
 * secret_free).  Returns 0, or an exit code with a message in err. */
int cli_build_options(const struct send_args *a, mw_options *o,
                      char **password, char **token, char *err,
                      size_t errlen);

#endif
