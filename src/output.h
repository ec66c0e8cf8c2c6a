/*
 * output.h - what the CLI prints: the trace on stderr, the result as a
 * human summary or as JSON on stdout, errors on stderr.
 *
 * Owns: JSON string escaping and the result schema (documented in
 * README.md).
 */
#ifndef MW_CLI_OUTPUT_H
#define MW_CLI_OUTPUT_H

#include "mailwire.h"

#include <stdbool.h>
#include <stdio.h>

/* The mw_trace_fn the CLI installs for --trace (user: FILE *). */
void output_trace(void *user, mw_trace_kind kind, double elapsed_ms,
                  const char *text);

/* Writes s as a JSON string literal (with quotes); NULL as null. */
void output_json_string(FILE *f, const char *s);

struct send_report {
  const char *host;
  const char *proxy;          /* the proxy URL without credentials, or NULL */
  const char *doctor_command; /* `mailwire doctor ...` after a failure */
  unsigned port;
  const char *tls_mode;
  const mw_smtp *session;   /* may be NULL */
  const mw_result *result;  /* may be NULL */
  const mw_error *error;    /* NULL or status MW_OK on success */
  int exit_code;
  double connect_ms, total_ms;
};

/* An error that ends a command before it runs (usage, profile, input
 * files, password source): "mailwire CMD: msg" on stderr and, when json,
 * {"status":"failed","exit_code":N,"error":{...}} on stdout, the error
 * object shaped as in the send result.  Returns code. */
int output_early_error(const char *cmd, bool json, int code,
                       const char *msg);

void output_send_json(FILE *f, const struct send_report *r);
void output_send_human(FILE *out, FILE *err, const struct send_report *r);

#endif
