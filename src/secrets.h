/*
 * secrets.h - reading passwords and tokens from where the user keeps them:
 * an environment variable, a file, or a command's output.  Never from argv.
 *
 * Owns: those three sources, the bounds on a command (time, output size,
 * its whole process group ended) and the wiping of what they return.
 */
#ifndef MW_CLI_SECRETS_H
#define MW_CLI_SECRETS_H

#include <stddef.h>

/* Each returns a malloc'd secret (free with secret_free) or NULL with a
 * message in err that never contains the secret. */
char *secret_from_env(const char *var, char *err, size_t errlen);
char *secret_from_file(const char *path, char *err, size_t errlen);
/* Runs cmd with /bin/sh -c in a process group of its own, reads at most
 * SECRET_CMD_MAX_OUTPUT bytes of its standard output, and waits at most
 * timeout_ms (0: CLI_DEFAULT_SECRET_CMD_TIMEOUT_MS).  When the time is up
 * or the output is too large, the whole process group is killed (so a
 * grandchild cannot linger) and the error names the option (what), never
 * the output. */
#define SECRET_CMD_MAX_OUTPUT 65536
char *secret_from_command(const char *cmd, const char *what,
                          unsigned timeout_ms, char *err, size_t errlen);
void secret_free(char *s);

#endif
