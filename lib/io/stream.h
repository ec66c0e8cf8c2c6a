/*
 * io/stream.h - a buffered, deadline-bound byte stream over a transport.
 *
 * Owns: the read buffer, line framing with a hard cap on line length, the
 * write buffer, and waiting on the socket until an absolute deadline.  The
 * transport below is a layer stack (io/layer.h: TCP, proxy, PROXY header,
 * TLS pushed on top by STARTTLS, or memory in tests), so this file knows
 * nothing of OpenSSL or proxies.
 *
 * Deadlines are absolute (mw__now_ms() based): a peer that trickles one
 * byte at a time cannot stretch an operation past its deadline.
 */
#ifndef MW_IO_STREAM_H
#define MW_IO_STREAM_H

#include "core/err.h"
#include "core/util.h"
#include "io/layer.h"

#include <stdint.h>

#define MW__STREAM_RBUF 16384

struct mw__stream {
  struct mw__layer *top;                /* owned stack; NULL when closed */
  int fd;                               /* the stack's socket, or -1 */
  struct mw_error *err;                 /* where failures are recorded */
  char rbuf[MW__STREAM_RBUF];
  size_t rpos, rend;
  struct mw__sbuf wbuf;
  uint64_t bytes_in, bytes_out;
};

/* Takes ownership of the stack top (connected, every layer set up). */
void mw__stream_init(struct mw__stream *s, struct mw__layer *top,
                     struct mw_error *err);
/* Puts a layer (TLS, set up over s->top) on top of the stack. */
void mw__stream_push(struct mw__stream *s, struct mw__layer *top);
void mw__stream_close(struct mw__stream *s);
bool mw__stream_is_open(const struct mw__stream *s);

/* Reads one line, without its line ending (CRLF or a bare LF), into line
 * (reset first).  A line longer than max bytes is MW_E_PROTOCOL.  A stream
 * that ends mid-line is MW_E_CLOSED. */
mw_status mw__stream_read_line(struct mw__stream *s, struct mw__sbuf *line,
                               size_t max, int64_t deadline);
/* Bytes already received but not yet consumed. */
size_t mw__stream_buffered(const struct mw__stream *s);

/* Queues bytes; nothing is sent until mw__stream_flush(). */
bool mw__stream_queue(struct mw__stream *s, const void *data, size_t len);
mw_status mw__stream_flush(struct mw__stream *s, int64_t deadline);
size_t mw__stream_queued(const struct mw__stream *s);

/* ---- without waiting (the line engine, proto/engine.h) -------------- */

/* Reads once from the stack into the buffer: MW_OK with *got > 0, or
 * *got 0 and *want (POLLIN/POLLOUT) when nothing has arrived.  MW_E_CLOSED
 * at the end of the stream.  A full buffer is not an error: *got 0 and
 * *want 0 (consume first). */
mw_status mw__stream_try_fill(struct mw__stream *s, size_t *got, short *want);
/* The bytes received and not yet consumed, and consuming n of them. */
const char *mw__stream_peek(const struct mw__stream *s, size_t *len);
void mw__stream_consume(struct mw__stream *s, size_t n);
/* Writes what it can of the queue: *want 0 when it is all written,
 * else what to wait for. */
mw_status mw__stream_try_flush(struct mw__stream *s, short *want);

#endif
