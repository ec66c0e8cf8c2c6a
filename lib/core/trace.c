/*
 * core/trace.c - emit trace events with elapsed time.
 */
#include "core/trace.h"

#include "core/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

void mw__trace_fd_writer(void *user, mw_trace_kind kind, double elapsed_ms,
                         const char *text)
{
  static const char *const marks[] = {"==", "**", "<-", "->", "::"};
  int fd = (int)(intptr_t)user;
  char rendered[2048], line[2200];
  mw_render_settings(text, NULL, NULL, rendered, sizeof(rendered));
  int n = snprintf(line, sizeof(line), "[%9.1f ms] %s %s\n", elapsed_ms,
                   (unsigned)kind < 5 ? marks[kind] : "  ", rendered);
  if(n < 0)
    return;
  size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
  if((size_t)n >= sizeof(line))
    line[len - 1] = '\n';
  for(size_t done = 0; done < len;) {
    ssize_t w = write(fd, line + done, len - done);
    if(w < 0 && errno == EINTR)
      continue;
    if(w <= 0)
      return; /* the trace never fails the session */
    done += (size_t)w;
  }
}
