/*
 * core/trace.h - the protocol transcript: timestamped events to a caller's
 * callback (the CLI's --trace, or a library user's logger).
 *
 * Owns: the clock origin of a session and the formatting of events.  It does
 * not decide what is secret: the protocol code redacts before emitting.
 */
#ifndef MW_CORE_TRACE_H
#define MW_CORE_TRACE_H

#include "mailwire.h"

#include <stdint.h>

struct mw__trace {
  mw_trace_fn fn;
  void *user;
  int64_t origin_ms; /* mw__now_ms() when the session started connecting */
  /* Put before every line as "[prefix] " when not empty: which of many
   * connections traced it (the probe's). */
  char prefix[96];
};

void mw__trace_start(struct mw__trace *t);
/* The mw_trace_fn of mw_options_set_trace_fd(): user is the descriptor
 * ((void *)(intptr_t)fd); one line per event, tokens rendered in API
 * terms; write errors ignored. */
void mw__trace_fd_writer(void *user, mw_trace_kind kind, double elapsed_ms,
                         const char *text);
void mw__trace_emit(struct mw__trace *t, mw_trace_kind kind, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));
/* Emits len bytes of text as one event (not NUL-terminated input). */
void mw__trace_emit_n(struct mw__trace *t, mw_trace_kind kind,
                      const char *text, size_t len);

#endif
