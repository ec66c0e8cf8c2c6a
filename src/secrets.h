/*
 * secrets.h - reading passwords and tokens from where the user keeps them:
 * an environment variable, a file, or a command's output.  Never from argv.
 *
 * Owns: those three sources and the wiping of what they return.
 */
#ifndef MW_CLI_SECRETS_H
#define MW_CLI_SECRETS_H

#include <stddef.h>

/* Each returns a malloc'd secret (free with secret_free) or NULL with a
 * message in err that never contains the secret. */
char *secret_from_env(const char *var, char *err, size_t errlen);
char *secret_from_file(const char *path, char *err, size_t errlen);
char *secret_from_command(const char *cmd, const char *what, char *err,
                          size_t errlen);
void secret_free(char *s);

#endif
