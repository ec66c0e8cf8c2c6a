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

#include <stdint.h>

#include "io/layer.h"

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

/* Waits for fd to become readable (events POLLIN) or writable (POLLOUT)
 * before deadline.  MW_OK, MW_E_TIMEOUT, or MW_E_CLOSED on poll error. */
mw_status mw__wait_fd(int fd, short events, int64_t deadline,
                      struct mw_error *err, const char *what);

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

/* Writes all len bytes to a non-blocking socket before deadline; a
 * failure is recorded as on_error, naming peer ("server", "proxy"). */
mw_status mw__fd_send_all(int fd, const void *buf, size_t len,
                          int64_t deadline, mw_status on_error,
                          const char *peer, struct mw_error *err);

#endif
