/*
 * commands.h - the CLI's subcommands besides `send` (main.c dispatches).
 * Each takes the words after its name and returns the process exit code.
 */
#ifndef MW_CLI_COMMANDS_H
#define MW_CLI_COMMANDS_H

int cmd_explain(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
