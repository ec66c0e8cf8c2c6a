/*
 * proto/smtp.h - the SMTP client session (struct mw_smtp), private parts.
 *
 * Owns: the session's one non-blocking state machine on the line engine
 * (proto/engine.h), from connect to QUIT: greeting, EHLO and HELO, the TLS
 * mode (implicit or STARTTLS, with the injection check and the capability
 * reset), AUTH (proto/sasl_driver.h's exchange), and the mail transaction
 * (MAIL, RCPT, DATA, with PIPELINING when offered).  One named state enum
 * (MW__SMTP_STATES), one transition function (mw__smtp_go), senders run
 * on entering a state, reply handlers matched to the command awaiting
 * them (mw__engine_head), and one step function; the blocking public API
 * is a loop over it (mw__smtp_run).
 *
 * The files: smtp_machine.c (transitions, the step, replies, failures),
 * smtp.c (the session's lifetime, connect, facts, QUIT's API),
 * smtp_setup.c (greeting to AUTH, and QUIT's reply), smtp_send.c (the
 * transaction), smtp_data.c (streaming the message).
 *
 * The public functions are declared in include/mailwire.h;
 * mw_smtp_connect() itself is in diag/detect.c, which runs `--tls detect`
 * before calling mw__smtp_connect().
 */
#ifndef MW_PROTO_SMTP_H
#define MW_PROTO_SMTP_H

#include "core/err.h"
#include "core/options.h"
#include "core/scrub.h"
#include "core/trace.h"
#include "proto/capa.h"
#include "proto/data.h"
#include "proto/engine.h"
#include "proto/envelope.h"
#include "proto/reply.h"
#include "proto/sasl_driver.h"
#include "tls/tls.h"

/* How far mw_smtp_connect() got: for diagnosis of a failure. */
enum mw__smtp_phase {
  MW__PHASE_RESOLVE = 0,
  MW__PHASE_CONNECT,
  MW__PHASE_PROXY,        /* the proxy handshake */
  MW__PHASE_TLS_IMPLICIT, /* the handshake of implicit TLS */
  MW__PHASE_GREETING,
  MW__PHASE_EHLO,
  MW__PHASE_STARTTLS,     /* the command and its handshake */
  MW__PHASE_EHLO_TLS,     /* EHLO again after STARTTLS */
  MW__PHASE_AUTH,
  MW__PHASE_READY
};

/* The SMTP client's one state machine, from connect to QUIT, the mail
 * transaction included.  Every change of state goes through
 * mw__smtp_go() (smtp_machine.c), which records it and runs the new
 * state's entry (its sender).  X(name, what) */
#define MW__SMTP_STATES(X)                                                   \
  X(IDLE, "no connection")                                                   \
  X(TLS_IMPLICIT, "implicit TLS handshake")                                  \
  X(GREETING, "awaiting the greeting")                                       \
  X(EHLO, "EHLO sent")                                                       \
  X(HELO, "HELO sent (EHLO refused)")                                        \
  X(STARTTLS, "STARTTLS sent")                                               \
  X(TLS_STARTTLS, "TLS handshake after STARTTLS")                            \
  X(EHLO_TLS, "EHLO sent again over TLS")                                    \
  X(AUTH, "SASL exchange")                                                   \
  X(CAPABILITIES, "capabilities known (stopped there on request)")           \
  X(READY, "ready for a mail transaction")                                   \
  X(MAIL, "MAIL sent (one command per round trip)")                          \
  X(RCPT, "RCPT sent (one command per round trip)")                          \
  X(DATA, "DATA sent (one command per round trip)")                          \
  X(PIPELINE, "MAIL, RCPTs and DATA sent in one batch (PIPELINING)")         \
  X(DATA_EMPTY, "empty data ended after a 354 with nobody to deliver to")    \
  X(BODY, "streaming the message")                                           \
  X(BDAT, "streaming the message in BDAT chunks (CHUNKING)")                 \
  X(DATA_END, "awaiting the reply to the end of the message")                \
  X(RSET, "RSET sent")                                                       \
  X(QUIT, "QUIT sent")                                                       \
  X(CLOSED, "closed after QUIT")                                             \
  X(BROKEN, "failed: the connection is closed")

enum mw__smtp_state {
#define MW__SMTP_STATE_ENUM(name, what) MW__SMTP_##name,
  MW__SMTP_STATES(MW__SMTP_STATE_ENUM)
#undef MW__SMTP_STATE_ENUM
  MW__SMTP_NSTATES
};

/* The commands awaiting replies (struct mw__engine_cmd kind). */
enum mw__smtp_cmd {
  MW__SMTP_CMD_GREETING = 1,
  MW__SMTP_CMD_EHLO,
  MW__SMTP_CMD_HELO,
  MW__SMTP_CMD_STARTTLS,
  MW__SMTP_CMD_AUTH,
  MW__SMTP_CMD_MAIL,
  MW__SMTP_CMD_RCPT, /* arg: the recipient's index */
  MW__SMTP_CMD_DATA,
  MW__SMTP_CMD_BDAT, /* arg: 1 for the LAST chunk */
  MW__SMTP_CMD_DOT,  /* the end of the data (or of an empty one) */
  MW__SMTP_CMD_RSET,
  MW__SMTP_CMD_QUIT
};

/* What the blocking call running the machine asked for. */
enum mw__smtp_job {
  MW__SMTP_JOB_NONE = 0,
  MW__SMTP_JOB_CONNECT,
  MW__SMTP_JOB_SEND,
  MW__SMTP_JOB_CHECK, /* doctor's envelope test */
  MW__SMTP_JOB_RESET,
  MW__SMTP_JOB_QUIT
};

/* The name of a state ("GREETING"), and what it means. */
const char *mw__smtp_state_name(enum mw__smtp_state st);
const char *mw__smtp_state_what(enum mw__smtp_state st);

/* RFC 5321 4.2 allows 512 octets; accept more from lax servers but cap. */
#define MW__SMTP_MAX_LINE 4096
/* A message line, without CRLF (RFC 5321 section 4.5.3.1.6). */
#define MW__SMTP_MAX_TEXT_LINE 998
/* Transitions remembered for tests and diagnosis (a ring). */
#define MW__SMTP_HISTORY 64

/* One mail transaction (or envelope test, or RSET) in progress. */
struct mw__smtp_txn {
  const struct mw_envelope *env;
  struct mw_result *res;
  mw_read_fn read;
  void *read_user;
  const struct mw_message_info *info;
  bool use_8bit, use_utf8, pipelining, bdat;
  bool binary, dsn, requiretls; /* BODY=BINARYMIME, DSN, REQUIRETLS
                                 * (smtp_ext.c) */
  bool mail_ok, data_started, body_eof;
  bool flushing;               /* a block of the body is being written */
  bool body_started;           /* the encoder is set up (the first BDAT
                                * chunk may go with the envelope) */
  bool bdat_early;             /* the first BDAT chunk went in the
                                * pipelined batch (one round trip) */
  bool batch_queued;           /* its MAIL/RCPT/DATA batch already went,
                                * behind the previous message's dot
                                * (mw_smtp_send_many, smtp_stream.c) */
  bool end_queued;             /* the end of the data (dot, BDAT LAST) is
                                * queued ... */
  uint64_t end_mark;           /* ... and fully written once bytes_out
                                * reaches this */
  size_t accepted, next_rcpt;
  struct mw__reply mail_reply; /* a refused MAIL in a batch */
  struct mw__reply data_reply; /* the reply to DATA */
  struct mw_error saved;       /* the refusal, kept across the RSET */
  struct mw__data_encoder enc;
  uint64_t body_bytes;
  uint64_t progress_base;      /* bytes out when the data began */
  /* The envelope test's. */
  const char *from, *to;
  struct mw__reply *check_mail, *check_rcpt;
};

/* mw_smtp_send_many() in progress (smtp_stream.c): the caller's
 * callbacks, and the message after the current one once taken. */
struct mw__smtp_stream {
  mw_next_message_fn next;
  mw_message_done_fn done;
  void *user;
  size_t index;                /* of the message in s->txn */
  size_t reported;
  bool ended;                  /* next() has no more */
  bool next_ready;             /* txn_next holds the following message */
  bool next_queued;            /* ... and its batch went behind the dot */
  struct mw__smtp_txn txn_next;
  mw_status next_st;           /* it cannot go (refused before sending) */
  struct mw_error next_err;    /* ... and why */
  mw_message_info info[2];     /* each message's info, by index parity */
  int64_t t0;                  /* the current message's start */
  uint64_t out0;               /* bytes out at its start */
};

struct mw_smtp {
  struct mw_options opt;
  struct mw_error err;
  struct mw__trace trace;
  struct mw__engine eng;       /* the connection and its lines */
  enum mw__smtp_state sm;
  enum mw__smtp_job job;
  mw_status job_status;        /* a job's result when it ends in a state
                                * that keeps the session (a refusal) */
  mw_tls_mode mode;
  bool stop_after_capa;        /* the probe's: stop once the (post-TLS)
                                * capabilities are known */
  bool tls_report_only;        /* the probe's: complete TLS handshakes
                                * whatever the certificate (its verdict is
                                * reported, mw__tls_verdict) */
  /* What the probe reports: the refused EHLO ("502 ..."), a refused
   * STARTTLS (both "" when none), and how many bytes arrived after the
   * 220 to STARTTLS (MW_E_INJECTION). */
  char ehlo_refused[256];
  char starttls_refused[256];
  size_t injected;
  /* Kept across transactions (no allocation per message): */
  char *chunk;                 /* DATA_CHUNK bytes read from the caller */
  struct mw__sbuf bdat_buf;    /* BDAT: the chunk being filled */
  struct mw__sbuf scratch;     /* a command's parameters being built */
  bool reset_pending;          /* mw_smtp_reset() with PIPELINING: RSET
                                * goes first in the next batch */
  struct mw__smtp_stream *stream; /* during mw_smtp_send_many() */
  bool quit_after_send;        /* mw_smtp_quit_after_send(): QUIT goes
                                * with the next message's end of data */
  bool quit_sent;              /* it went: its 221 is awaited, nothing
                                * more may be sent */
  bool bdat_allowed;           /* send with BDAT (RFC 3030) when the server
                                * offers CHUNKING: the options' chunking
                                * (on by default), else DATA */
  struct mw__reply r;          /* the reply being read */
  uint64_t replies;            /* replies handled so far */
  struct mw__tls *tls;         /* established TLS, or NULL */
  struct mw__tls *tls_pending; /* the handshake in progress */
  struct mw__tls_info tls_info;
  struct mw__sasl_exchange *sasl;
  struct mw__sasl_io sasl_io;  /* its refusal callback (no I/O) */
  struct mw__smtp_txn txn;
  struct mw__capa capa;
  struct mw__capa capa_plain; /* before STARTTLS (diagnosis only) */
  bool esmtp; /* EHLO succeeded (not HELO) */
  enum mw__smtp_phase phase;
  int64_t phase_at[MW__PHASE_READY + 1]; /* mw__now_ms() on entry, or 0 */
  /* The --tls-min the server could not do, after which the session fell
   * back to the default minimum (0: no fallback). */
  mw_tls_version tls_fallback;
  char *greeting;
  char peer[80];
  const char *auth_mech; /* static name, NULL when not authenticated */
  /* The password, the token and every SASL payload sent: cut out of each
   * server line as it is read (proto/engine.h), see core/scrub.h. */
  struct mw__scrub scrub;
  /* Every transition, the last MW__SMTP_HISTORY of them (hist[n % N]),
   * and who else wants to know (tests, the probe). */
  enum mw__smtp_state hist[MW__SMTP_HISTORY];
  size_t nhist;
  void (*observer)(void *user, enum mw__smtp_state from,
                   enum mw__smtp_state to);
  void *observer_user;
};

/* mw_smtp_connect() once the TLS mode is known: the public function (in
 * diag/detect.c) resolves MW_TLS_DETECT with the probe first, then calls
 * this.  Retries once with the default minimum TLS version when the
 * server cannot do --tls-min (unless --tls-strict). */
mw_status mw__smtp_connect(mw_smtp *s);

/* Tests the envelope without sending a message: MAIL FROM, RCPT TO, then
 * RSET.  The replies are copied into mail and rcpt (rcpt->code stays 0 when
 * MAIL failed).  Returns MW_OK when both were read (whatever their codes),
 * else a connection error. */
mw_status mw__smtp_check_envelope(struct mw_smtp *s, const char *from,
                                  const char *to, struct mw__reply *mail,
                                  struct mw__reply *rcpt);

/* Runs the session's setup (implicit TLS when the options say so,
 * greeting, EHLO or HELO, STARTTLS, AUTH) over a stack that is already
 * connected, instead of opening one from the options: how the unit tests
 * and the session fuzzer put the in-memory layer (io/layer.h) under a
 * real session.  Takes ownership of top (closed with the session), except
 * on MW_E_INVALID and MW_E_STATE.  Returns as mw_smtp_connect(). */
mw_status mw__smtp_connect_over(struct mw_smtp *s, struct mw__layer *top);

/* mw__smtp_connect_over() without running: the connect job begun over
 * top (ownership taken as there), for a caller that steps the machine
 * itself (mw__smtp_begin).  A failure is finished already. */
mw_status mw__smtp_connect_start(struct mw_smtp *s, struct mw__layer *top);

/* The EHLO name: configured, else the host's fully qualified name, else
 * the local address of fd as a literal ("[192.0.2.1]", "[IPv6:...]"), or
 * "[127.0.0.1]" when fd is -1 (RFC 5321 4.1.3). */
void mw__smtp_default_helo(const char *configured, int fd, char *out,
                           size_t len);

/* How SMTP carries SASL (RFC 4954), for the driver in proto/sasl_driver.h
 * (and its unit tests). */
struct mw__sasl_proto;
extern const struct mw__sasl_proto mw__smtp_sasl;


/* ---- the machine: shared by the smtp*.c files -------------------------- */

/* RFC 5321 section 4.5.3.2 timeouts. */
#define MW__SMTP_COMMAND_MS (5u * 60u * 1000u)
#define MW__SMTP_DATA_INIT_MS (2u * 60u * 1000u)
#define MW__SMTP_DATA_BLOCK_MS (3u * 60u * 1000u)
#define MW__SMTP_DATA_END_MS (10u * 60u * 1000u)
#define MW__SMTP_QUIT_MS 10000u
/* Bytes of message read per chunk while streaming. */
#define MW__SMTP_DATA_CHUNK 65536

/* The caller's command timeout, else the RFC's for that step. */
static inline unsigned mw__smtp_cmd_timeout(const struct mw_smtp *s,
                                            unsigned rfc_ms)
{
  return s->opt.command_timeout_ms ? s->opt.command_timeout_ms : rfc_ms;
}

/* smtp_machine.c: the one place where the state changes.  Records the
 * transition, notes the connect phase, tells the observer, then runs the
 * new state's entry (its sender).  Returns the entry's status. */
mw_status mw__smtp_go(struct mw_smtp *s, enum mw__smtp_state to);
/* The step function (mw__engine_step_fn): runs until the job's resting
 * state (READY, CAPABILITIES, CLOSED) or until it must wait. */
mw_status mw__smtp_step(void *machine, short *want, bool *done);
/* The same in pieces, for a caller with its own loop (the probe, tests):
 * mw__smtp_begin() starts the job (a failure there is finished already),
 * then the caller steps (mw__smtp_step, waiting on mw__engine_fd() until
 * the engine's deadline, mw__engine_timed_out() when it passes), and
 * mw__smtp_finish() with the last status ends the job as mw__smtp_run()
 * does. */
mw_status mw__smtp_begin(struct mw_smtp *s, enum mw__smtp_job job,
                         enum mw__smtp_state first);
mw_status mw__smtp_finish(struct mw_smtp *s, mw_status st);
/* Runs the machine for job from state first (its entry queues the first
 * command) until it rests (mw__engine_run), then maps a failure to what
 * the state it happened in means.  Returns the job's status. */
mw_status mw__smtp_run(struct mw_smtp *s, enum mw__smtp_job job,
                       enum mw__smtp_state first);
/* Queues a command awaiting a reply (kind, arg), setting the deadline
 * when it is the only one awaited. */
mw_status mw__smtp_send(struct mw_smtp *s, enum mw__smtp_cmd kind,
                        uintptr_t arg, int secret_from, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
/* The timeout of the reply to a command. */
unsigned mw__smtp_reply_timeout(const struct mw_smtp *s,
                                enum mw__smtp_cmd kind);
/* After a reply to a command that was not pipelined, nothing more may be
 * waiting (MW_E_PROTOCOL). */
mw_status mw__smtp_expect_quiet(struct mw_smtp *s, const char *after);
/* Records st with the server's reply attached. */
mw_status mw__smtp_reply_error(struct mw_smtp *s, mw_status st,
                               const struct mw__reply *r, const char *fmt,
                               ...) __attribute__((format(printf, 4, 5)));
/* A failure a reply handler decided: the machine goes to BROKEN (the
 * connection is closed) and st is returned. */
mw_status mw__smtp_abort(struct mw_smtp *s, mw_status st);
/* Closes the connection; politely (TLS close_notify) when asked. */
void mw__smtp_close(struct mw_smtp *s, bool polite);

/* smtp_setup.c: the entries and reply handlers of the session's setup
 * (greeting, EHLO, HELO, STARTTLS, the TLS handshakes, AUTH) and QUIT. */
mw_status mw__smtp_enter_setup(struct mw_smtp *s, enum mw__smtp_state to);
mw_status mw__smtp_on_setup_reply(struct mw_smtp *s,
                                  const struct mw__engine_cmd *cmd,
                                  struct mw__reply *r);
/* One step of a TLS handshake state. */
mw_status mw__smtp_tls_step(struct mw_smtp *s, short *want);

/* smtp_send.c: the transaction's entries and reply handlers. */
mw_status mw__smtp_enter_txn(struct mw_smtp *s, enum mw__smtp_state to);
mw_status mw__smtp_on_txn_reply(struct mw_smtp *s,
                                const struct mw__engine_cmd *cmd,
                                struct mw__reply *r);
void mw__smtp_txn_clear(struct mw_smtp *s);
/* Checks a message against the server and fills *t for it (cleared
 * first, its result allocated into t->res): MW_OK, or why it cannot go
 * (MW_E_MESSAGE, MW_E_EXTENSION, MW_E_NOMEM; nothing sent, s->err set). */
mw_status mw__smtp_txn_prepare(struct mw_smtp *s, struct mw__smtp_txn *t,
                               const mw_envelope *e,
                               const mw_message_info *info, mw_read_fn read,
                               void *read_user);
void mw__smtp_txn_free(struct mw__smtp_txn *t);
/* Queues s->txn's pipelined batch: MAIL FROM, the RCPTs, DATA (or the
 * first BDAT chunk). */
mw_status mw__smtp_queue_batch(struct mw_smtp *s);

/* smtp_stream.c (mw_smtp_send_many): with the current message's end of
 * data queued, the next message's batch behind it; and the end of a
 * message (its final reply handled, the session kept): on to the next
 * one if its batch went, else READY. */
mw_status mw__smtp_stream_lookahead(struct mw_smtp *s);
mw_status mw__smtp_message_done(struct mw_smtp *s);

/* smtp_ext.c: the service extensions of a transaction.  The plan, before
 * MAIL FROM: BDAT or DATA, BINARYMIME, DSN and REQUIRETLS into *t, or
 * MW_E_EXTENSION when the server lacks what e or info need (nothing sent).
 * Then the parameters appended to MAIL FROM and to recipient i's RCPT TO
 * (each with its leading space); false on OOM. */
struct mw__smtp_plan {
  bool bdat, binary, dsn, requiretls;
};
mw_status mw__smtp_ext_plan(struct mw_smtp *s, const struct mw_envelope *e,
                            const mw_message_info *info,
                            struct mw__smtp_plan *t);
bool mw__smtp_mail_params(const struct mw_smtp *s, struct mw__sbuf *b);
bool mw__smtp_rcpt_params(const struct mw_smtp *s, size_t i,
                          struct mw__sbuf *b);

/* smtp_data.c: streaming the message: the entries of BODY, BDAT and
 * DATA_END, and one step of BODY or BDAT. */
mw_status mw__smtp_enter_body(struct mw_smtp *s, enum mw__smtp_state to);
mw_status mw__smtp_body_step(struct mw_smtp *s, short *want);
/* The first BDAT chunk (all of a message up to MW__SMTP_DATA_CHUNK bytes,
 * then with LAST) queued in the envelope's pipelined batch. */
mw_status mw__smtp_queue_first_chunk(struct mw_smtp *s);
/* Whether the end of the data (dot, BDAT LAST) was queued and written
 * whole: only then may a lost connection have delivered the message. */
bool mw__smtp_end_written(const struct mw_smtp *s);

/* A BDAT command's arg: the last chunk; the first, sent with the
 * envelope. */
#define MW__SMTP_BDAT_LAST 1u
#define MW__SMTP_BDAT_EARLY 2u
/* An RSET's arg: sent first in a transaction's batch (mw_smtp_reset with
 * PIPELINING). */
#define MW__SMTP_RSET_BEFORE_MAIL 1u

#endif
