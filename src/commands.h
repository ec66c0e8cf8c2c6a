/*
 * commands.h - the CLI's subcommands besides `send` (main.c dispatches).
 * Each takes the words after its name and returns the process exit code.
 */
#ifndef MW_CLI_COMMANDS_H
#define MW_CLI_COMMANDS_H

int cmd_explain(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_probe(int argc, char **argv);

/* Profiles for any command: see main.c. */
int cli_apply_profile(const char *cmd, int argc, char **argv, char ***out,
                      int *outc);
/* The same, also telling how many of the words came from the profile
 * (they come first). */
int cli_apply_profile_split(const char *cmd, int argc, char **argv,
                            char ***out, int *outc, int *nprofile);
void cli_free_words(char **words, int n);

/* Incoming mail (cmd_fetch.c, cmd_watch.c, cmd_folders.c). */
int cmd_fetch(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_folders(int argc, char **argv);
int cmd_append(int argc, char **argv);
/* cli_apply_profile() for them (incoming.c): the profile's words the
 * command takes, and its store only when the command line names none. */
int cli_apply_profile_in(const char *cmd, int argc, char **argv,
                         char ***out, int *outc);

#endif
