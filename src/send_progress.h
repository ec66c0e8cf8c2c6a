/*
 * send_progress.h - the progress bar of `mailwire send` on a terminal:
 * bytes sent, rate and time left, drawn from the library's progress
 * callback (mw_options_set_progress) on stderr, only when stderr is a
 * terminal, never with --json or --trace, and only for messages over
 * CLI_PROGRESS_MIN_BYTES; the line is cleared when the data is sent.
 */
#ifndef MW_CLI_SEND_PROGRESS_H
#define MW_CLI_SEND_PROGRESS_H

#include "mailwire.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* "A few megabytes": smaller messages go in well under a second. */
#define CLI_PROGRESS_MIN_BYTES (4ULL * 1024 * 1024)

struct cli_progress {
  FILE *out;        /* stderr */
  bool enabled;     /* a terminal, not --json */
  bool drawn;       /* a bar is on the line now */
  double start_ms;  /* the first report */
  double last_ms;   /* the last drawing */
};

/* Sets p up and hooks it into o when stderr is a terminal and quiet is
 * false (--json, --trace); otherwise o is left without a progress
 * function. */
void cli_progress_attach(struct cli_progress *p, mw_options *o, bool quiet);
/* The mw_progress_fn (user = p). */
void cli_progress_report(void *user, uint64_t sent, uint64_t total);
/* Clears the bar if one is shown (after a failure mid-way too). */
void cli_progress_clear(struct cli_progress *p);

#endif
