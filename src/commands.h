/*
 * commands.h - the CLI's subcommands besides `send` (main.c dispatches).
 * Each takes the words after its name and returns the process exit code.
 */
#ifndef MW_CLI_COMMANDS_H
#define MW_CLI_COMMANDS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "mailwire.h"
#include "outbox.h"

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

/* Incoming mail (cmd_fetch.c, cmd_watch.c, cmd_folders.c). */
int cmd_fetch(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_folders(int argc, char **argv);
int cmd_append(int argc, char **argv);
/* cli_apply_profile() for them (incoming.c): the profile's words the
 * command takes, and its store only when the command line names none. */
int cli_apply_profile_in(const char *cmd, int argc, char **argv,
                         char ***out, int *outc);

/* mailwire shell (cmd_shell.c, issue 15). */
int cmd_shell(int argc, char **argv);

/* The outbox (cmd_queue.c, issue 12). */
int cmd_queue(int argc, char **argv);
void cli_print_queue_help(FILE *f);
/* Whether a send that failed with e is kept in the outbox (4xx, network,
 * timeout, connection lost, delivery unknown). */
bool cli_error_is_queueable(const mw_error *e);
/* What the last cmd_send() met (for queue run). */
struct cli_send_outcome {
  mw_status status; /* of the session error; MW_OK when none */
  bool session;     /* an SMTP session error (else local or success) */
  bool queueable;
  bool partly_sent; /* final 2xx, but some recipients were refused */
  char reason[600];
};
extern struct cli_send_outcome cli_last_send;
/* Set by sendmail mode: an outbox that cannot be made is no error. */
extern bool cli_queue_optional;
/* send --queue: the message copied into the outbox before sending. */
struct queue_stash {
  bool active;
  char dir[PATH_MAX];
  char tmp[PATH_MAX + 100];
  struct outbox_entry e;
};
int queue_stash(struct queue_stash *q, const char *given_dir, FILE *msg_file,
                mw_compose *comp, int cmdc, char **cmdv, char *err,
                size_t errlen);
int queue_keep(struct queue_stash *q, bool unknown, const char *reason,
               char *err, size_t errlen);
void queue_discard(struct queue_stash *q);

#endif
