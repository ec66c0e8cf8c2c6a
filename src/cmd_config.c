/*
 * cmd_config.c - `mailwire config show [--account NAME] [-C FILE]`: the
 * effective settings of a profile, secrets redacted.
 */
#include "commands.h"
#include "exitcode.h"
#include "profile.h"

#include <stdio.h>
#include <string.h>

int cmd_config(int argc, char **argv)
{
  if(argc < 1 || strcmp(argv[0], "show") != 0) {
    fprintf(stderr, "usage: mailwire config show [--account NAME] "
                    "[-C FILE]\n");
    return argc >= 1 && (strcmp(argv[0], "--help") == 0 ||
                         strcmp(argv[0], "-h") == 0)
               ? EXIT_OK
               : EXIT_USAGE;
  }
  const char *account = NULL, *config = NULL;
  for(int i = 1; i < argc; i++) {
    if((strcmp(argv[i], "--account") == 0 || strcmp(argv[i], "-C") == 0 ||
        strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
      if(argv[i][2] == 'a')
        account = argv[++i];
      else
        config = argv[++i];
    }
    else {
      fprintf(stderr, "mailwire config: unexpected argument '%s'\n",
              argv[i]);
      return EXIT_USAGE;
    }
  }
  struct profile p;
  char err[1024];
  int rc = profile_load(config, account, &p, err, sizeof(err));
  if(rc < 0) {
    fprintf(stderr, "mailwire config: %s\n", err);
    return EXIT_CONFIG;
  }
  if(rc > 0) {
    fprintf(stderr, "mailwire config: no configuration file (give -C FILE "
                    "or set MAILWIRE_CONFIG)\n");
    return EXIT_CONFIG;
  }
  printf("account %s (%s)\n", p.name, p.file);
  for(size_t i = 0; i < p.count; i++) {
    const struct profile_entry *e = &p.entries[i];
    printf("  %-18s %s\n", e->key,
           profile_key_is_secret(e->key) ? "<redacted>" : e->value);
  }
  char **words = NULL;
  int n = 0;
  if(profile_to_words(&p, &words, &n, err, sizeof(err))) {
    fprintf(stderr, "mailwire config: %s\n", err);
    profile_free(&p);
    return EXIT_CONFIG;
  }
  printf("as options:");
  for(int i = 0; i < n; i++) {
    bool secret = i > 0 && (strcmp(words[i - 1], "--password-value") == 0 ||
                            strcmp(words[i - 1], "--password-cmd") == 0 ||
                            strcmp(words[i - 1], "--proxy") == 0 ||
                            strcmp(words[i - 1], "--oauth2-token-cmd") == 0);
    printf(" %s", secret ? "<redacted>" : words[i]);
  }
  printf("\n");
  profile_words_free(words, n);
  profile_free(&p);
  return EXIT_OK;
}
