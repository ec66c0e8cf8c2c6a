/*
 * commands.h - the CLI's subcommands besides `send` (main.c dispatches).
 * Each takes the words after its name and returns the process exit code.
 */
#ifndef MW_CLI_COMMANDS_H
#define MW_CLI_COMMANDS_H

#include <stdio.h>

int cmd_explain(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_probe(int argc, char **argv);
/* `mailwire send` (main.c) and `mailwire sendmail` (cmd_sendmail.c). */
int cmd_send(int argc, char **argv);
int cmd_sendmail(int argc, char **argv);
void cli_print_sendmail_help(FILE *f);

/* Profiles for any command: see main.c. */
int cli_apply_profile(const char *cmd, int argc, char **argv, char ***out,
                      int *outc);
/* The same, also telling how many of the words came from the profile
 * (they come first). */
int cli_apply_profile_split(const char *cmd, int argc, char **argv,
                            char ***out, int *outc, int *nprofile);
void cli_free_words(char **words, int n);

#endif
