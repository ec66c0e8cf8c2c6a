/*
 * core/trace.c - emit trace events with elapsed time.
 */
#include "core/trace.h"

#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mw__trace_start(struct mw__trace *t) { t->origin_ms = mw__now_ms(); }

void mw__trace_emit_n(struct mw__trace *t, mw_trace_kind kind,
                      const char *text, size_t len)
{
  if(!t || !t->fn)
    return;
  char line[1024 + sizeof(t->prefix) + 3];
  size_t at = 0;
  if(t->prefix[0]) {
    int k = snprintf(line, sizeof(line), "[%s] ", t->prefix);
    at = k > 0 && (size_t)k < sizeof(line) ? (size_t)k : 0;
  }
  /* Replace control bytes so a hostile server cannot drive the terminal. */
  size_t n = len < 1024 - 4 ? len : 1024 - 4;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    line[at + i] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
  }
  if(n < len) {
    memcpy(line + at + n, "...", 3);
    n += 3;
  }
  line[at + n] = '\0';
  t->fn(t->user, kind, (double)(mw__now_ms() - t->origin_ms), line);
}

void mw__trace_emit(struct mw__trace *t, mw_trace_kind kind, const char *fmt,
                    ...)
{
  if(!t || !t->fn)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if(n < 0)
    return;
  size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
  mw__trace_emit_n(t, kind, line, len);
}
