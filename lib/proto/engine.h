/*
 * proto/engine.h - the line engine every protocol client runs on (SMTP,
 * POP3, IMAP): what curl calls its "pingpong".
 *
 * Owns: the connection's buffered stream (io/stream.h) driven without
 * blocking; cutting what arrives into lines (with the protocol's length
 * cap) and, when the protocol asks for one, a literal of a known length
 * (IMAP's {N}) delivered as byte runs; writing what was queued; the queue
 * of commands sent and not yet answered (pipelining: a protocol queues
 * several commands, replies come back in order); the deadline of the
 * current wait and its name for the timeout message; the trace of every
 * line in and out, with each server line scrubbed of the session's secrets
 * (core/scrub.h) before anyone sees it and client lines redacted from a
 * given offset; and the blocking driver that loops a state machine's
 * step function, waiting on the socket in between.
 *
 * Does not own: what a line means or when a reply ends.  A protocol's
 * state machine pulls events (mw__engine_next) and decides: SMTP feeds
 * lines into proto/reply.h until "ddd "; POP3 reads a status line, then
 * data lines up to "." for a multi-line response; IMAP reads untagged
 * lines, literals and the tagged completion.
 *
 * DESCRIPTION
 *   A state machine's step function does what it can without waiting:
 *
 *     for(;;) {
 *       st = mw__engine_next(e, &ev, want);     // flushes, then reads
 *       if(st || ev.kind == MW__EV_NONE) return st;   // *want says why
 *       ... handle the line or bytes for mw__engine_head(e) ...
 *     }
 *
 *   mw__engine_run() turns such a machine into a blocking call, and a
 *   poll loop (diag/probe) can drive many machines at once with the same
 *   step functions, using mw__engine_fd() and the engine's deadline.
 *
 *   Message data (a POP3 RETR body, a literal) is neither scrubbed nor
 *   traced line by line: a protocol turns data mode on for it
 *   (mw__engine_set_data_lines), and literals are raw by nature.
 *
 * DIAGNOSTICS
 *   Failures go to the engine's struct mw_error (the session's): an
 *   over-long line is MW_E_PROTOCOL naming the cap, the end of the stream
 *   MW_E_CLOSED, an expired deadline MW_E_TIMEOUT "timed out <what>".
 */
#ifndef MW_PROTO_ENGINE_H
#define MW_PROTO_ENGINE_H

#include "core/err.h"
#include "core/scrub.h"
#include "core/trace.h"
#include "core/util.h"
#include "io/layer.h"
#include "io/stream.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One command awaiting its reply.  What kind and data mean is the
 * protocol's business (its enum of commands, an index, a pointer). */
struct mw__engine_cmd {
  int kind;
  uint32_t tag;  /* IMAP: the tag's number; otherwise 0 */
  uintptr_t arg; /* the protocol's: a recipient's index, a message number */
};

enum mw__engine_event_kind {
  MW__EV_NONE = 0, /* nothing ready: wait for *want, or the deadline */
  MW__EV_LINE,     /* one line without its ending (CRLF or bare LF) */
  MW__EV_BYTES     /* a run of a literal's bytes */
};

struct mw__engine_event {
  enum mw__engine_event_kind kind;
  const char *data; /* valid until the next call on the engine */
  size_t len;
  uint64_t remaining; /* MW__EV_BYTES: literal bytes still to come */
};

struct mw__engine {
  const char *proto;      /* "SMTP", "POP3", "IMAP": for messages */
  size_t max_line;        /* longest line accepted, without CRLF */
  size_t scrub_keep;      /* leading bytes of a line never scrubbed
                           * ("250-" in SMTP) */
  struct mw_error *err;   /* the session's */
  struct mw__trace *trace;
  struct mw__scrub *scrub; /* NULL: nothing to scrub */
  struct mw__stream stream;
  bool open;
  struct mw__sbuf line;   /* the line being assembled */
  bool line_ready;        /* line holds a whole line not yet consumed */
  bool data_lines;        /* message data: not scrubbed, not traced */
  uint64_t literal_left;  /* bytes of a literal still to deliver */
  /* The commands sent and not yet answered, oldest first (a ring). */
  struct mw__engine_cmd *cmds;
  size_t cmd_head, cmd_count, cmd_cap;
  int64_t deadline;       /* of the current wait (mw__now_ms()), 0: none */
  const char *waiting_for; /* "waiting for the greeting" */
};

/* Sets up an engine with no connection yet.  trace and scrub are the
 * session's and outlive the engine. */
void mw__engine_init(struct mw__engine *e, const char *proto,
                     size_t max_line, size_t scrub_keep,
                     struct mw_error *err, struct mw__trace *trace,
                     struct mw__scrub *scrub);
/* Takes ownership of a connected stack. */
void mw__engine_attach(struct mw__engine *e, struct mw__layer *top);
/* Puts a layer (TLS, already set up over the current top) on the stack. */
void mw__engine_push(struct mw__engine *e, struct mw__layer *top);
/* The stack's top layer (NULL when closed): to set up TLS over it. */
struct mw__layer *mw__engine_top(const struct mw__engine *e);
/* Closes the connection (the queue of commands is forgotten). */
void mw__engine_close(struct mw__engine *e);
/* Closes and frees what the engine holds (not e itself). */
void mw__engine_free(struct mw__engine *e);
bool mw__engine_is_open(const struct mw__engine *e);
/* The socket at the bottom of the stack, or -1 (memory layer, closed). */
int mw__engine_fd(const struct mw__engine *e);
/* Bytes received and not yet consumed as events (for the STARTTLS
 * injection check: nothing may follow the reply to STARTTLS). */
size_t mw__engine_buffered(const struct mw__engine *e);
/* Total bytes read and written on this connection. */
uint64_t mw__engine_bytes_in(const struct mw__engine *e);
uint64_t mw__engine_bytes_out(const struct mw__engine *e);

/* ---- sending --------------------------------------------------------- */

/* Queues one command line (CRLF appended; a CR or LF inside is refused
 * with MW_E_INVALID), traces it (from secret_from on as <redacted>, and
 * then the redacted part joins the scrub list), and, when cmd is not
 * NULL, records that a reply to it is awaited.  Nothing is written until
 * the next mw__engine_next() or mw__engine_flush(). */
mw_status mw__engine_command(struct mw__engine *e,
                             const struct mw__engine_cmd *cmd,
                             int secret_from, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records an awaited reply without sending anything (the greeting). */
mw_status mw__engine_expect(struct mw__engine *e,
                            const struct mw__engine_cmd *cmd);
/* Queues raw bytes (message data, a literal): not traced. */
mw_status mw__engine_queue_raw(struct mw__engine *e, const void *data,
                               size_t len);
/* Bytes queued and not yet written. */
size_t mw__engine_queued(const struct mw__engine *e);
/* Writes what it can of the queue: MW_OK with *want 0 when all is
 * written, POLLOUT (or POLLIN, for TLS) when it must wait. */
mw_status mw__engine_flush(struct mw__engine *e, short *want);

/* ---- the commands awaiting replies ------------------------------------ */

/* The oldest command not yet answered, or NULL. */
const struct mw__engine_cmd *mw__engine_head(const struct mw__engine *e);
/* The reply to the oldest command is complete: forget it. */
void mw__engine_answered(struct mw__engine *e);
size_t mw__engine_outstanding(const struct mw__engine *e);
/* The n-th awaited command (0: the oldest), or NULL. */
const struct mw__engine_cmd *mw__engine_awaiting(const struct mw__engine *e,
                                                 size_t n);

/* ---- receiving -------------------------------------------------------- */

/* Flushes what is queued, then returns the next event if one is ready:
 * a line, or (after mw__engine_expect_literal) a run of literal bytes.
 * MW__EV_NONE with *want set when it must wait.  MW_E_CLOSED at the end
 * of the stream (a line cut short included), MW_E_PROTOCOL for a line
 * over max_line. */
mw_status mw__engine_next(struct mw__engine *e, struct mw__engine_event *ev,
                          short *want);
/* The next len bytes are a literal: delivered as MW__EV_BYTES events,
 * never as lines, then line framing resumes. */
void mw__engine_expect_literal(struct mw__engine *e, uint64_t len);
/* Lines from now on are message data (not scrubbed, not traced) until
 * turned off again. */
void mw__engine_set_data_lines(struct mw__engine *e, bool on);

/* ---- deadlines and the blocking driver -------------------------------- */

/* The current wait ends at mw__now_ms() + ms; what names it for the
 * timeout message ("waiting for the reply to EHLO"; static storage). */
void mw__engine_deadline_in(struct mw__engine *e, unsigned ms,
                            const char *what);
void mw__engine_deadline_at(struct mw__engine *e, int64_t at,
                            const char *what);
/* Records MW_E_TIMEOUT "timed out <what>" in the session's error. */
mw_status mw__engine_timed_out(struct mw__engine *e);

/* A protocol's step: does what it can without waiting.  Returns a status
 * (an error ends the run), and sets *done when the machine reached what
 * the caller asked for, or *want (POLLIN/POLLOUT) when it must wait. */
typedef mw_status (*mw__engine_step_fn)(void *machine, short *want,
                                        bool *done);
/* Runs step until done, waiting on the socket between calls until the
 * engine's deadline (re-read after every step: a step may move it).  A
 * deadline that passes is mw__engine_timed_out().  A stack without a
 * socket (the memory layer) that asks to wait times out at once. */
mw_status mw__engine_run(struct mw__engine *e, mw__engine_step_fn step,
                         void *machine);

#endif
