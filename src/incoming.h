/*
 * incoming.h - what the incoming-mail commands (fetch, watch, folders,
 * append) share: library options from their arguments (server URLs
 * included), the account's identity for the fetch state and the store's
 * keys, the state directory, opening the store and the state, the
 * progress bar, and how a failure is printed (human and JSON).
 */
#ifndef MW_CLI_INCOMING_H
#define MW_CLI_INCOMING_H

#include "args.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Fills o from a (cli_build_options, then the server: a URL, or
 * HOST[:PORT] with a->in.protocol).  0, or an exit code with err. */
int in_build_options(const struct send_args *a, mw_options *o,
                     char **password, char **token, char *err,
                     size_t errlen);
/* "imap:alice@example.org@imap.example.org": protocol, user and server
 * host (not the port): the identity of the account in the fetch state
 * and in the store's keys. */
void in_account(const struct send_args *a, char *out, size_t len);
/* The IMAP mailbox: --mailbox, else the URL's, else "INBOX". */
const char *in_mailbox(const struct send_args *a, char *buf, size_t len);
/* --state-dir, else $XDG_STATE_HOME/mailwire, else
 * $HOME/.local/state/mailwire.  false (with err) when none can be found. */
bool in_state_dir(const struct send_args *a, char *out, size_t len,
                  char *err, size_t errlen);

/* Opens the store of a->in (none: *out NULL) and the fetch state.  0, or
 * an exit code with err. */
int in_open_store(const struct send_args *a, mw_store **out, char *err,
                  size_t errlen);
int in_open_state(const struct send_args *a, const char *account,
                  const char *mailbox, mw_fetch_state **out, char *err,
                  size_t errlen);
/* The exit code for a store failure (74 local I/O; 75 for an MDA that
 * failed or timed out, or an mbox locked by another process). */
int in_store_exit(const struct send_args *a, mw_status st);

/* A session's failure: "mailwire CMD: message" (the server's text, its
 * response code and an [ALERT] when there are) on stderr. */
void in_print_error(const char *cmd, const mw_error *e, const char *alert);
/* The error object of the JSON results ({"status":..., "category":...,
 * "message":..., "server_text":..., "response_code":..., "temporary":...}). */
void in_json_error(FILE *f, const mw_error *e);

/* A progress bar on stderr, only when it is a terminal. */
struct in_progress {
  bool on;
  size_t total, done;
  uint64_t bytes;
  double last_ms;
};
void in_progress_start(struct in_progress *p, bool enabled, size_t total);
void in_progress_step(struct in_progress *p, size_t done, uint64_t bytes);
void in_progress_end(struct in_progress *p);

double in_now_ms(void);

/* cmd_fetch.c's IMAP transfer, for watch: fetches uids[0..n) of the
 * selected mailbox (UIDVALIDITY uidvalidity) into store, records each in
 * state, and with --delete deletes it; *fetched counts the messages
 * handled.  0, or an exit code with *e (a session error) or err. */
int fetch_imap_uids(const struct send_args *a, mw_imap *m, mw_store *store,
                    mw_fetch_state *state, const char *account,
                    uint32_t uidvalidity, const uint32_t *uids, size_t n,
                    size_t *fetched, const mw_error **e, char *err,
                    size_t errlen);

#endif
