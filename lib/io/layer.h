/*
 * io/layer.h - the layer stack under every connection.
 *
 * Owns: the one interface every transport layer implements (a
 * non-blocking connect step, read, write, bytes pending, close and a
 * description), the helpers that drive a stack with deadlines, and the
 * in-memory layer that tests and the session fuzzer put under the SMTP
 * client instead of a socket.
 *
 * DESCRIPTION
 *   A connection is a chain of layers, each reading and writing through
 *   the one below it: TCP at the bottom (net/tcp_layer.c), then optionally
 *   a proxy tunnel (net/proxy.c), the HAProxy PROXY header (net/haproxy.c)
 *   and TLS (tls/tls_ossl.c, OpenSSL doing its I/O through a BIO that
 *   calls the layer below).  The buffered stream (io/stream.h) sits on the
 *   top layer.  Nothing here knows OpenSSL or proxies.
 *
 *   Every operation is non-blocking: it does what it can and, when it
 *   must wait for the socket, returns MW_OK with *want set to POLLIN or
 *   POLLOUT.  mw__layer_wait() polls the socket at the bottom of the stack
 *   until a deadline.  A stack without a socket (the memory layer) never
 *   asks to wait.
 *
 * DIAGNOSTICS
 *   Failures are recorded in the layer's struct mw_error, as anywhere in
 *   the library.  Reads return MW_E_CLOSED at end of stream, with the
 *   layer's eof flag set (a lost connection leaves it clear and sets
 *   sys_errno), so a layer above can tell the two apart without reading
 *   the message.
 */
#ifndef MW_IO_LAYER_H
#define MW_IO_LAYER_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mw__layer;

struct mw__layer_ops {
  const char *name; /* "tcp", "socks5", "http-connect", "haproxy", "tls", "memory" */
  /* One step of the layer's own setup (proxy handshake, PROXY header, TLS
   * handshake) over the layer below, which is already connected.  *want 0
   * when complete.  NULL: nothing to set up. */
  mw_status (*connect)(struct mw__layer *l, short *want);
  /* Reads up to len bytes: *got > 0, or *got 0 with *want set.
   * MW_E_CLOSED at end of stream (l->eof set). */
  mw_status (*read)(struct mw__layer *l, void *buf, size_t len, size_t *got,
                    short *want);
  /* Writes up to len bytes: *put may be short; *put 0 with *want set when
   * nothing could be written now. */
  mw_status (*write)(struct mw__layer *l, const void *buf, size_t len,
                     size_t *put, short *want);
  /* Bytes received and decoded inside the layer that poll cannot see. */
  size_t (*pending)(const struct mw__layer *l);
  /* Closes this layer and every layer below it.  Frees the layer unless
   * its owner said otherwise (tls: the struct mw__tls; memory: the test). */
  void (*close)(struct mw__layer *l);
  /* One short phrase for the trace and the report ("tcp 127.0.0.1:25"). */
  void (*describe)(const struct mw__layer *l, char *buf, size_t len);
};

struct mw__layer {
  const struct mw__layer_ops *ops;
  struct mw__layer *below; /* NULL at the bottom */
  struct mw_error *err;    /* where failures are recorded */
  void *impl;              /* the implementation's state */
  int fd;                  /* the bottom's socket, -1 for none (copied up) */
  bool eof;                /* the last read met the end of the stream */
  int sys_errno;           /* errno of the last failed read or write */
  int64_t wake_at;         /* 0, or when the connect step must run again
                            * even if the socket is not ready (a timeout
                            * of its own, such as one TCP attempt's) */
};

/* Fills the common part; fd is taken from below (or -1). */
void mw__layer_init(struct mw__layer *l, const struct mw__layer_ops *ops,
                    struct mw__layer *below, void *impl,
                    struct mw_error *err);

/* Closes l and everything below it (NULL is a no-op). */
void mw__layer_close(struct mw__layer *l);

/* Points l and every layer below it at err (for I/O whose failures must
 * not reach the session's error, such as a polite TLS shutdown); returns
 * the error l used before. */
struct mw_error *mw__layer_set_err(struct mw__layer *l, struct mw_error *err);

/* The socket at the bottom of the stack, or -1. */
int mw__layer_fd(const struct mw__layer *l);

/* Bytes waiting in l or any layer below it that poll cannot see. */
size_t mw__layer_pending(const struct mw__layer *l);

/* "tls > socks5 proxy 127.0.0.1:1080 > tcp 127.0.0.1:1080" into buf. */
void mw__layer_describe_stack(const struct mw__layer *l, char *buf,
                              size_t len);

/* Waits until the stack's socket is ready for events before deadline.
 * MW_OK, MW_E_TIMEOUT ("timed out <what>"), MW_E_CLOSED on poll error.
 * A stack without a socket cannot wait: MW_E_TIMEOUT at once. */
mw_status mw__layer_wait(const struct mw__layer *l, short events,
                         int64_t deadline, struct mw_error *err,
                         const char *what);

/* Runs l's connect step to completion, waiting until deadline. */
mw_status mw__layer_connect(struct mw__layer *l, int64_t deadline,
                            const char *what);

/* Reads at least one byte (up to len) before deadline.  MW_E_CLOSED at
 * end of stream; MW_E_TIMEOUT. */
mw_status mw__layer_read_wait(struct mw__layer *l, void *buf, size_t len,
                              size_t *got, int64_t deadline,
                              const char *what);
/* Writes all len bytes before deadline. */
mw_status mw__layer_write_all(struct mw__layer *l, const void *buf,
                              size_t len, int64_t deadline,
                              const char *what);

/* ---- the in-memory layer ---------------------------------------------
 * Plays a scripted server: a list of segments, each the bytes the server
 * sends at once.  The first segment is there from the start; each later
 * one is released when the client reads after having written something
 * since the previous release (the server answers what it received).  A
 * read with nothing released and the client silent is MW_E_TIMEOUT (the
 * server waits for the client: no real wait happens).  After the last
 * segment the server closes: reads meet the end of the stream.  A
 * scripted close (mw__mem_layer_close_here) ends the script there, and
 * with writes_fail the client's writes fail afterwards (EPIPE) as on a
 * reset connection.  Everything the client writes is recorded.
 *
 * The layer belongs to its creator: closing it through the stack only
 * marks it closed; free it with mw__mem_layer_free() after the stack. */
struct mw__mem_layer;

struct mw__mem_layer *mw__mem_layer_new(struct mw_error *err);
/* Appends a segment (copied).  false on allocation failure. */
bool mw__mem_layer_add(struct mw__mem_layer *m, const void *data, size_t len);
bool mw__mem_layer_add_str(struct mw__mem_layer *m, const char *s);
/* How many write calls put bytes (the client's write system calls, had
 * this been a socket). */
size_t mw__mem_layer_writes(const struct mw__mem_layer *m);
/* The server closes after the segments added so far. */
void mw__mem_layer_close_here(struct mw__mem_layer *m, bool writes_fail);
/* Caps every read at max bytes (0: no cap), to exercise partial reads. */
void mw__mem_layer_set_read_max(struct mw__mem_layer *m, size_t max);
struct mw__layer *mw__mem_layer_get(struct mw__mem_layer *m);
/* What the client wrote so far (NUL-terminated for convenience). */
const char *mw__mem_layer_written(const struct mw__mem_layer *m,
                                  size_t *len);
/* Whether the stack above closed it. */
bool mw__mem_layer_closed(const struct mw__mem_layer *m);
/* Whether every segment was read. */
bool mw__mem_layer_drained(const struct mw__mem_layer *m);
void mw__mem_layer_free(struct mw__mem_layer *m);

#endif
