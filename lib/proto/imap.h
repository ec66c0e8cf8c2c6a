/*
 * proto/imap.h - the IMAP client session (struct mw_imap), private parts
 * shared by its three files:
 *
 *   imap.c       session: connect (layer stack, implicit TLS), greeting,
 *                CAPABILITY, STARTTLS, LOGIN / AUTHENTICATE, LOGOUT;
 *   imap_loop.c  the response loop every command runs on (tags, tagged vs
 *                untagged, continuations, response codes into the error,
 *                ALERT, BYE), the capabilities, mailbox/flag encoding;
 *   imap_mbox.c  mailbox commands: LIST, STATUS, SELECT/EXAMINE, UID
 *                SEARCH, UID STORE, UID EXPUNGE / EXPUNGE, NOOP;
 *   imap_msg.c   messages: pipelined UID FETCH of bodies (streamed) and
 *                summaries, APPEND (literals out), IDLE.
 *
 * The syntax (response framing with literals, response codes, FETCH
 * items, astrings, modified UTF-7, sequence sets) is proto/imap_parse.h's;
 * the line engine (lines, literal bytes, the queue of awaited commands,
 * deadlines, the trace) proto/engine.h's.  The public functions are
 * declared in include/mailwire.h.
 */
#ifndef MW_PROTO_IMAP_H
#define MW_PROTO_IMAP_H

#include "core/err.h"
#include "core/options.h"
#include "core/scrub.h"
#include "core/trace.h"
#include "proto/engine.h"
#include "proto/imap_parse.h"
#include "tls/tls.h"

#include <stdio.h>

/* The longest response line accepted (without CRLF): a SEARCH of a big
 * mailbox is one line. */
#define MW__IMAP_MAX_LINE (4u * 1024u * 1024u)
/* A literal that is not a message body (a mailbox name, a header field
 * in an ENVELOPE) is held in memory: at most this. */
#define MW__IMAP_MAX_LITERAL (1024u * 1024u)
/* No RFC timeout for IMAP commands: the same as SMTP's. */
#define MW__IMAP_COMMAND_MS (5u * 60u * 1000u)
/* UIDs per pipelined UID FETCH command (a sequence set of them). */
#define MW__IMAP_FETCH_BATCH 64u

enum imap_state {
  IMAP_CLOSED = 0,   /* no connection yet, or after LOGOUT */
  IMAP_NOT_AUTH,     /* connected, not logged in (no credentials given) */
  IMAP_AUTH,         /* logged in (or PREAUTH) */
  IMAP_SELECTED,     /* a mailbox is selected */
  IMAP_BROKEN        /* the connection failed: only free remains */
};

/* What a command is, for its responses (struct mw__engine_cmd.kind). */
enum imap_cmd {
  IMAP_CMD_GREETING = 1,
  IMAP_CMD_CAPABILITY,
  IMAP_CMD_STARTTLS,
  IMAP_CMD_LOGIN,
  IMAP_CMD_AUTHENTICATE,
  IMAP_CMD_LIST,
  IMAP_CMD_STATUS,
  IMAP_CMD_SELECT,
  IMAP_CMD_SEARCH,
  IMAP_CMD_FETCH,
  IMAP_CMD_SUMMARY,
  IMAP_CMD_STORE,
  IMAP_CMD_EXPUNGE,
  IMAP_CMD_APPEND,
  IMAP_CMD_IDLE,
  IMAP_CMD_NOOP,
  IMAP_CMD_LOGOUT
};

/* The capabilities in force: the tokens, upper-cased, each surrounded by
 * blanks (" IMAP4REV1 IDLE AUTH=PLAIN "), and the AUTH= mechanisms. */
struct imap_caps {
  char *tokens;
  char *mechs; /* "PLAIN SCRAM-SHA-256", "" when none */
};

/* A completion kept past the parser's next response. */
struct imap_done {
  enum mw__imap_cond cond;
  enum mw__imap_code_kind code;
  char code_name[32];
  char text[512];
};

struct mw_imap;
/* Called for each complete untagged response while a command runs. */
typedef mw_status (*imap_untagged_fn)(struct mw_imap *m,
                                      const struct mw__imap_resp *r);

/* What the running command waits for. */
struct imap_wait {
  uint32_t tag;           /* the command whose completion ends the wait */
  bool continuation;      /* a "+" ends the wait too */
  bool got_continuation;
  bool done;
  /* The first tagged refusal among the commands answered. */
  mw_status failed;
  imap_untagged_fn untagged;
  /* A FETCH body's progress extends the deadline (streamed data). */
  bool progress_extends;
  /* A timeout ends the wait without breaking the session (IDLE). */
  bool timeout_ok;
  /* The wait ends when every command awaited is complete (a pipelined
   * batch), not with tag's completion. */
  bool all;
};

struct mw_imap {
  struct mw_options opt;
  struct mw_error err;
  struct mw__trace trace;
  struct mw__scrub scrub;
  struct mw__engine eng;
  struct mw__imap_parser parser;
  enum imap_state state;
  struct mw__tls *tls;
  struct mw__tls_info tls_info;
  struct imap_caps caps;
  bool caps_known;
  char *greeting;
  char *alert;
  char *bye;             /* the text of an untagged BYE, until the close */
  char peer[80];
  const char *auth_mech; /* static, NULL before */
  uint32_t next_tag;     /* monotonic */
  struct imap_wait wait;
  unsigned timeout_ms;   /* of one command */
  /* The last completion (tagged, or the greeting / BYE), copied. */
  struct imap_done last;
  struct mw__sbuf cont;  /* the text of the last "+" */
  uint32_t auth_tag;     /* AUTHENTICATE's, for the SASL callbacks */
  bool login_caps;       /* the login's OK carried [CAPABILITY] */
  bool in_greeting;
  /* SELECT / STATUS results. */
  mw_imap_status sel;
  bool changed;          /* IDLE/NOOP: EXISTS, EXPUNGE, FETCH seen */
  /* SEARCH results, ascending. */
  uint32_t *uids;
  size_t nuids, capuids;
  /* APPENDUID of the last APPEND. */
  uint32_t append_uid;
  /* Tags of pipelined commands completed before an older one. */
  uint32_t *early;
  size_t nearly, capearly;
  /* What the consumer of a streamed body returned when it refused. */
  mw_status sink_status;
  /* The command's own callback and state (imap_mbox.c, imap_msg.c). */
  void *cmd_ctx;
  /* The probe's: complete TLS handshakes whatever the certificate (its
   * verdict is reported, mw__tls_verdict). */
  bool tls_report_only;
};

/* ---- imap.c: shared by the command files ------------------------------ */

/* Whether the session has a connection to send commands on; sets
 * MW_E_STATE otherwise.  Clears the previous error. */
mw_status mw__imap_ready(struct mw_imap *m, bool need_selected);
void mw__imap_caps_clear(struct imap_caps *c);
/* Whether the session speaks IMAP4rev2: offered, and IMAP4rev1 not (no
 * ENABLE is sent). */
bool mw__imap_rev2(const struct mw_imap *m);
/* Whether the capability (upper case) is in force. */
bool mw__imap_has(const struct mw_imap *m, const char *cap);
/* Sends "TAG <line>" (fmt) as a command of kind, awaiting its completion.
 * *tag (may be NULL) gets its number. */
mw_status mw__imap_command(struct mw_imap *m, int kind, uint32_t *tag,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Starts a wait for the completion of tag (with untagged for the
 * untagged responses meanwhile). */
void mw__imap_wait_for(struct mw_imap *m, uint32_t tag, bool continuation,
                       imap_untagged_fn untagged);
/* Runs the engine until the wait ends (or the connection fails, which
 * breaks the session).  Returns the first tagged refusal's status, or
 * the connection's. */
mw_status mw__imap_run(struct mw_imap *m);
/* Writes what is queued (blocking, until the command deadline). */
mw_status mw__imap_flush(struct mw_imap *m);
/* Sends one command and runs it to its completion. */
mw_status mw__imap_simple(struct mw_imap *m, int kind,
                          imap_untagged_fn untagged, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A failure that leaves the connection unusable: closes it. */
mw_status mw__imap_broken(struct mw_imap *m, mw_status st);
/* Appends mailbox (UTF-8) as an astring the server takes (modified UTF-7
 * unless IMAP4rev2).  MW_E_INVALID when it cannot be sent. */
mw_status mw__imap_put_mailbox(struct mw_imap *m, struct mw__sbuf *b,
                               const char *mailbox);
/* Appends a flag list's inside ("\\Seen \\Deleted"), checked. */
mw_status mw__imap_put_flags(struct mw_imap *m, struct mw__sbuf *b,
                             const char *flags);
/* Records the server's refusal m->last in the error: st, the response
 * code (err.response_code, err.temporary) and its text, what failed. */
mw_status mw__imap_refusal(struct mw_imap *m, mw_status st,
                           const char *what);

/* Sends "<prefix><set><suffix>" for uids (ascending) in as many
 * pipelined commands as needed, each with at most batch UIDs (0: as many
 * as a sequence set of 1,000 bytes holds), then runs them all to their
 * completions.  progress: streamed data extends the deadline. */
mw_status mw__imap_uid_commands(struct mw_imap *m, int kind,
                                const uint32_t *uids, size_t count,
                                size_t batch, const char *prefix,
                                const char *suffix, imap_untagged_fn untagged,
                                bool progress);

/* How IMAP carries SASL (RFC 9051 6.2.2, without SASL-IR), for the
 * driver in proto/sasl_driver.h. */
struct mw__sasl_proto;
extern const struct mw__sasl_proto mw__imap_sasl;

/* The over-memory entry point for the tests and the session fuzzer: as
 * mw_imap_connect(), on a stack that is already connected (takes
 * ownership of top, except on MW_E_INVALID and MW_E_STATE). */
mw_status mw__imap_connect_over(struct mw_imap *m, struct mw__layer *top);

#endif
