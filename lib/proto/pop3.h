/*
 * proto/pop3.h - the POP3 client (struct mw_pop3), private parts.
 *
 * Owns: the POP3 session as one state machine on the line engine
 * (proto/engine.h): the session states and their names, the commands
 * awaiting responses (pipelined when the server offers PIPELINING), the
 * status line and its RFC 2449/3206 response code, multi-line responses
 * read to their terminating "." and dot-unstuffed, and the message data of
 * RETR and TOP streamed to the caller in bounded chunks.
 *
 * Files: proto/pop3.c holds the session set-up (connect, greeting, CAPA,
 * STLS) and the step function every operation runs; proto/pop3_auth.c
 * the login (USER/PASS, or SASL through proto/sasl_driver.h);
 * proto/pop3_mail.c the transaction commands (STAT, LIST+UIDL, RETR, TOP,
 * DELE, RSET, NOOP, QUIT) and the handlers of their responses.  The public functions are declared in
 * include/mailwire.h.
 */
#ifndef MW_PROTO_POP3_H
#define MW_PROTO_POP3_H

#include "core/err.h"
#include "core/options.h"
#include "core/scrub.h"
#include "core/trace.h"
#include "proto/capa.h"
#include "proto/engine.h"
#include "tls/tls.h"

/* RFC 2449 section 4: responses up to 512 octets; lax servers are
 * accepted up to this cap. */
#define MW__POP3_MAX_LINE 4096
/* A line of message data (RETR, TOP): RFC 5322 allows 998 octets, real
 * mail is sometimes longer; anything past this cap is MW_E_PROTOCOL. */
#define MW__POP3_MAX_DATA_LINE 65536
/* Message data is handed to the caller in chunks of at most this size. */
#define MW__POP3_CHUNK 16384
/* RETRs in flight at once with PIPELINING (mw_pop3_retrieve_many). */
#define MW__POP3_WINDOW 8
/* Entries of a LIST accepted (a hostile server cannot make the client
 * allocate without bound). */
#define MW__POP3_MAX_LIST 4000000u
/* Timeouts when the options set none: a command's response (RFC 1939
 * gives servers a 10-minute autologout, so 5 minutes is patient), and a
 * whole RETR or TOP response, as RFC 5321's final-dot timeout. */
#define MW__POP3_COMMAND_MS (5u * 60u * 1000u)
#define MW__POP3_DATA_MS (10u * 60u * 1000u)
#define MW__POP3_QUIT_MS 10000u

enum mw__pop3_state {
  POP3_CLOSED = 0, /* no connection yet, or after QUIT */
  POP3_GREETING,   /* waiting for +OK (after implicit TLS, if any) */
  POP3_CAPA,       /* CAPA sent */
  POP3_STLS,       /* STLS sent */
  POP3_CAPA_TLS,   /* CAPA again after TLS */
  POP3_AUTH,       /* SASL exchange (sasl_driver) */
  POP3_USER,       /* USER sent */
  POP3_PASS,       /* PASS sent */
  POP3_READY,      /* TRANSACTION state (or AUTHORIZATION without
                      credentials): commands may be sent */
  POP3_QUIT,       /* QUIT sent */
  POP3_BROKEN,     /* failed: only free remains */
  POP3_STATE_LAST
};

/* What a command awaiting its response is (struct mw__engine_cmd.kind). */
enum mw__pop3_cmd {
  POP3_CMD_GREETING = 0,
  POP3_CMD_CAPA,
  POP3_CMD_STLS,
  POP3_CMD_USER,
  POP3_CMD_PASS,
  POP3_CMD_STAT,
  POP3_CMD_LIST,
  POP3_CMD_UIDL,
  POP3_CMD_RETR,
  POP3_CMD_TOP,
  POP3_CMD_DELE,
  POP3_CMD_RSET,
  POP3_CMD_NOOP,
  POP3_CMD_QUIT,
  POP3_CMD_LAST
};

struct mw_pop3 {
  struct mw_options opt;
  struct mw_error err;
  struct mw__trace trace;
  /* The password, the token and every SASL payload sent: cut out of each
   * server line as it is read (the engine does it), see core/scrub.h. */
  struct mw__scrub scrub;
  struct mw__engine eng;
  enum mw__pop3_state state;
  struct mw__tls *tls;
  struct mw__tls_info tls_info;
  bool capa_ok;             /* the server answered CAPA */
  struct mw__capa capa;
  struct mw__sbuf capa_text; /* CAPA's lines while they arrive */
  char *greeting;
  char peer[80];
  const char *auth_mech;    /* static: "USER", "PLAIN", ...; NULL */

  /* The response being read (to the command at the engine's head). */
  bool in_body;             /* its +OK came: multi-line lines follow */
  uint64_t body_octets;     /* message octets delivered so far */
  bool rearm;               /* the head changed: set its deadline */
  /* The first refusal (-ERR) of the current operation: later responses
   * are still read so that the session stays in step. */
  mw_status op_status;

  /* STAT */
  size_t stat_count;
  uint64_t stat_octets;
  /* LIST + UIDL */
  mw_pop3_message *list;
  size_t list_count, list_cap;
  bool uidl_pending;        /* UIDL must follow LIST (no pipelining) */
  /* mw_pop3_uidl(): each line to uidl_fn, nothing kept */
  mw_pop3_uidl_fn uidl_fn;
  void *uidl_user;

  /* RETR / TOP: where the data goes, in chunks. */
  const unsigned *batch;    /* mw_pop3_retrieve_many's numbers */
  size_t batch_count, batch_sent;
  size_t window;
  mw_write_fn write;
  mw_message_fn many;
  void *user;
  mw_status sink_status;    /* the callback's stop, MW_OK while it goes */
  char *chunk;              /* MW__POP3_CHUNK bytes */
  size_t chunk_len;

  struct mw__sbuf sasl_line; /* the SASL driver's last response */
  bool tls_report_only; /* the probe's: complete TLS handshakes whatever
                         * the certificate (its verdict is reported) */
};

/* Runs the session set-up (implicit TLS when the options say so,
 * greeting, CAPA, STLS, login) over a stack that is already connected:
 * how the unit tests and the fuzzer put the in-memory layer under a real
 * session.  Takes ownership of top (closed with the session), except on
 * MW_E_INVALID and MW_E_STATE.  Returns as mw_pop3_connect(). */
mw_status mw__pop3_connect_over(struct mw_pop3 *p, struct mw__layer *top);

/* How POP3 carries SASL (RFC 5034), for proto/sasl_driver.h. */
struct mw__sasl_proto;
extern const struct mw__sasl_proto mw__pop3_sasl;

/* ---- shared by pop3.c (session, step) and pop3_mail.c (commands) ---- */

/* The only way the session changes state (traced). */
void mw__pop3_state(struct mw_pop3 *p, enum mw__pop3_state next);
/* Queues one command awaiting a response (secret_from as
 * mw__engine_command). */
mw_status mw__pop3_send(struct mw_pop3 *p, enum mw__pop3_cmd kind,
                        uintptr_t arg, int secret_from, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
/* Runs the step function until every command queued is answered (and a
 * retrieve_many batch is complete).  A failure of the connection closes
 * the session (POP3_BROKEN). */
mw_status mw__pop3_run(struct mw_pop3 *p);
/* A refusal: st with the server's text and response code attached;
 * temporary as its code says (RFC 3206). */
mw_status mw__pop3_refusal(struct mw_pop3 *p, mw_status st,
                           const char *text, size_t len, const char *fmt,
                           ...) __attribute__((format(printf, 5, 6)));
/* The connection is unusable: closes it, the session is BROKEN. */
mw_status mw__pop3_broken(struct mw_pop3 *p, mw_status st);
/* The session is over (after QUIT): closes politely, state CLOSED. */
void mw__pop3_end(struct mw_pop3 *p);
/* Checks that a transaction command may be sent now. */
mw_status mw__pop3_ready(struct mw_pop3 *p);

/* A server line fit for a message (control bytes as '?', at most 60
 * bytes and "..."), into out (cap >= 80). */
void mw__pop3_shown(const char *line, size_t len, char *out, size_t cap);
/* The RFC 2449 response code at the start of a -ERR text ("[SYS/TEMP]
 * ..."), into code (cap bytes) when well-formed, else "". */
void mw__pop3_response_code(const char *text, size_t len, char *code,
                            size_t cap);
/* Whether line is a status line: +OK (*ok) or -ERR, and its text. */
bool mw__pop3_status_line(const char *line, size_t len, bool *ok,
                          const char **text, size_t *tlen);
/* The command timeout: the options', else MW__POP3_COMMAND_MS. */
unsigned mw__pop3_cmd_ms(const struct mw_pop3 *p);
/* The capabilities as one line, for messages. */
const char *mw__pop3_capa_summary(const struct mw_pop3 *p, char *buf,
                                  size_t len);
/* Logs in (pop3_auth.c): SASL, or USER sent (the step function goes on
 * with PASS), or nothing to log in with. */
mw_status mw__pop3_login(struct mw_pop3 *p);
/* A -ERR to USER, PASS or AUTH: the status its response code calls for. */
mw_status mw__pop3_login_refused(struct mw_pop3 *p, const char *text,
                                 size_t len, const char *mech);

/* Handlers of the transaction commands' responses (pop3_mail.c): the
 * status line (ok: "+OK"; text after it), then for multi-line responses
 * each line (dot-unstuffed) and the end. */
mw_status mw__pop3_mail_status(struct mw_pop3 *p,
                               const struct mw__engine_cmd *cmd, bool ok,
                               const char *text, size_t len);
mw_status mw__pop3_mail_line(struct mw_pop3 *p,
                             const struct mw__engine_cmd *cmd,
                             const char *line, size_t len);
mw_status mw__pop3_mail_end(struct mw_pop3 *p,
                            const struct mw__engine_cmd *cmd);
/* Whether a command's +OK opens a multi-line response (RFC 1939: LIST and
 * UIDL without an argument, RETR, TOP; RFC 2449 CAPA). */
bool mw__pop3_multiline(enum mw__pop3_cmd kind);
/* Tops up a retrieve_many batch (the window of RETRs in flight). */
mw_status mw__pop3_fill_window(struct mw_pop3 *p);
/* Hands what is buffered of the current message to the caller. */
mw_status mw__pop3_flush_chunk(struct mw_pop3 *p,
                               const struct mw__engine_cmd *cmd, bool last);

#endif
