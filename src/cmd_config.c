/*
 * cmd_config.c - `mailwire config show [--account NAME] [-C FILE]`: the
 * effective settings of a profile, secrets redacted.
 */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "profile.h"

#include <stdio.h>
#include <string.h>

/* A proxy URL with its user:password shown as <redacted>. */
static void print_proxy(const char *url)
{
  const char *scheme_end = strstr(url, "://");
  const char *at = scheme_end ? strrchr(scheme_end, '@') : NULL;
  if(!at)
    printf(" %s", url);
  else
    printf(" %.*s<redacted>%s", (int)(scheme_end + 3 - url), url, at);
}

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
  size_t ignored = 0;
  for(size_t i = 0; i < p.count; i++) {
    const struct profile_entry *e = &p.entries[i];
    if(profile_key_is_ignored(e->key)) {
      ignored++;
      continue;
    }
    printf("  %-18s %s\n", e->key,
           profile_key_is_secret(e->key) ? "<redacted>" : e->value);
  }
  if(ignored) {
    printf("ignored (msmtp's logging and local delivery keys):");
    for(size_t i = 0; i < p.count; i++)
      if(profile_key_is_ignored(p.entries[i].key))
        printf(" %s", p.entries[i].key);
    printf("\n");
  }
  char **words = NULL;
  int n = 0;
  if(profile_to_words(&p, &words, &n, err, sizeof(err))) {
    fprintf(stderr, "mailwire config: %s\n", err);
    profile_free(&p);
    return EXIT_CONFIG;
  }
  /* Only options a user can give: the password of a profile reaches send
   * by an internal word that is no option, so it is named apart. */
  bool password = false;
  printf("as options:");
  for(int i = 0; i < n; i++) {
    struct cli_option_info info = {0};
    bool found = false;
    for(size_t k = 0; !found && cli_option_get(k, &info); k++)
      found = strcmp(info.name, words[i]) == 0;
    const char *opt = words[i];
    const char *value = found && info.takes_value && i + 1 < n ? words[++i]
                                                               : NULL;
    if(!found || info.hidden) {
      password = password || (found && strcmp(opt, "--password-value") == 0);
      continue;
    }
    printf(" %s", opt);
    if(!value)
      continue;
    if(strcmp(opt, "--password-cmd") == 0 ||
       strcmp(opt, "--oauth2-token-cmd") == 0)
      printf(" <redacted>");
    else if(strcmp(opt, "--proxy") == 0)
      print_proxy(value);
    else
      printf(" %s", value);
  }
  printf("\n");
  if(password)
    printf("password: <redacted>, from this file (on the command line: "
           "--password-env, --password-file or --password-cmd)\n");
  profile_words_free(words, n);
  profile_free(&p);
  return EXIT_OK;
}
