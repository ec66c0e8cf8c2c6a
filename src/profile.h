/*
 * profile.h - account profiles: mailwire's configuration file, written in
 * msmtp's syntax (so an existing ~/.msmtprc works unchanged), with a few
 * keys of mailwire's own.
 *
 * Owns: finding the file (-C, $MAILWIRE_CONFIG, $XDG_CONFIG_HOME/mailwire/
 * config, ~/.config/mailwire/config), parsing it (accounts, "defaults",
 * inheritance with "account NAME : PARENT", "account default : NAME",
 * resolved in linear time with loops detected), refusing a file that
 * holds a password in any account and is readable by others, and
 * errors that name the file and line.  Lines have no length limit.
 */
#ifndef MW_CLI_PROFILE_H
#define MW_CLI_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#define PROFILE_MAX_KEYS 64

struct profile_entry {
  char *key;
  char *value;
  int line;
};

/* One account after inheritance: the keys in the order they apply. */
struct profile {
  char *name;
  char *file;
  struct profile_entry entries[PROFILE_MAX_KEYS];
  size_t count;
  /* The first secret anywhere in the file (a password, or a proxy URL
   * with one), whichever account holds it: the file exposes them all.
   * 0 / NULL when there is none. */
  int secret_line;
  char *secret_account; /* "defaults" for the defaults section */
};

/* Parses text (the file's contents, named file for messages) and resolves
 * account (NULL: "default", else the first account).  Returns 0, or -1
 * with "FILE:LINE: why" in err.  Free with profile_free(). */
int profile_parse(const char *text, size_t len, const char *file,
                  const char *account, struct profile *out, char *err,
                  size_t errlen);
/* Loads path (or the default locations when path is NULL; 1 when none
 * exists, with out untouched) and checks its permissions. */
int profile_load(const char *path, const char *account, struct profile *out,
                 char *err, size_t errlen);
void profile_free(struct profile *p);
/* The value of key in p, or NULL. */
const char *profile_get(const struct profile *p, const char *key);
/* Whether key is one of msmtp's that mailwire accepts and ignores
 * (logging, local delivery): it sets nothing. */
bool profile_key_is_ignored(const char *key);
/* Whether key is a secret (shown redacted). */
bool profile_key_is_secret(const char *key);

/* The profile as option words for the command-line parser (each entry
 * checked with the parser, errors as FILE:LINE).  Passwords become the
 * internal --password-value, which never appears in the process's argv.
 * Free with profile_words_free(). */
int profile_to_words(const struct profile *p, char ***words, int *count,
                     char *err, size_t errlen);
void profile_words_free(char **words, int n);

/* The name of the first account (in file order) whose from is address
 * (compared as addresses, case-insensitively), as msmtp's
 * --read-envelope-from picks it; NULL when none or the file cannot be
 * read (path NULL: the default locations).  Free with free(). */
char *profile_account_for_address(const char *path, const char *address);

#endif
