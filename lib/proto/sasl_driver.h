/*
 * proto/sasl_driver.h - one SASL authentication exchange, the same for
 * every protocol: the policy and the round loop, parameterised by a
 * per-protocol descriptor and driven through I/O callbacks.
 *
 * Owns: whether to authenticate at all and with what (credentials never
 * sent in the clear unless allowed, the EXTERNAL rules, the strongest
 * mechanism both sides can use), the command line with or without an
 * initial response, the challenge/response rounds (bounded), cancellation
 * ("*"), the success test with mutual authentication (a SCRAM or
 * DIGEST-MD5 exchange succeeds only once the server's proof verified,
 * proto/sasl.c), the trace redaction of every payload and the secret
 * scrubbing list (core/scrub.h) fed with it.
 *
 * Two ways to drive it: the I/O-free exchange (mw__sasl_exchange_start,
 * then mw__sasl_exchange_feed with each server reply: it returns the next
 * line to send, success or a failure; a state machine's AUTH state uses
 * it, as SMTP's does), or mw__sasl_authenticate(), a blocking loop over
 * the same exchange through I/O callbacks.
 *
 * Does not own: the mechanisms themselves (proto/sasl.c), line framing,
 * replies and I/O (the protocol's callbacks), or what a protocol's refusal
 * codes mean (its refused callback; a neutral message otherwise).
 *
 * A protocol adds a descriptor and three or four callbacks:
 *
 *   SMTP (RFC 4954): "AUTH", continuation "334 ", initial response on the
 *     command line within its 512 octets, "=" for an empty one, success 235,
 *     no data with success (the proof comes as a last 334);
 *   IMAP (RFC 9051, SASL-IR RFC 4959): "AUTHENTICATE" (the tag is the send
 *     callback's business), continuation "+ ", an initial response only
 *     with SASL-IR, success a tagged OK;
 *   POP3 (RFC 5034): "AUTH", continuation "+ ", initial response up to 255
 *     octets, success +OK.
 */
#ifndef MW_PROTO_SASL_DRIVER_H
#define MW_PROTO_SASL_DRIVER_H

#include "core/err.h"
#include "core/scrub.h"
#include "core/trace.h"

#include <stdbool.h>
#include <stddef.h>

/* At most this many server challenges are answered in one exchange: the
 * longest mechanism (DIGEST-MD5, SCRAM) needs three; a server that keeps
 * challenging is refused (MW_E_PROTOCOL) and the exchange cancelled. */
#define MW__SASL_MAX_ROUNDS 16

/* How a protocol carries SASL. */
struct mw__sasl_proto {
  const char *name;         /* "SMTP", for messages */
  const char *service;      /* GSS-API service name: "smtp", "imap", "pop" */
  const char *command;      /* "AUTH", "AUTHENTICATE" */
  const char *continuation; /* prefix of a challenge line: "334 ", "+ "; the
                               prefix without its trailing blank alone is an
                               empty challenge */
  bool initial_response;    /* an initial response may go on the command */
  size_t ir_max;            /* longest command line with it, CRLF included
                               (0: no limit); a longer one is sent after an
                               empty challenge instead (RFC 4422 5.1) */
  const char *empty_ir;     /* an empty initial response: "=" */
  const char *cancel;       /* the line that cancels the exchange: "*" */
  /* Whether line (a reply that is not a continuation) announces success.
   * When it does and the protocol allows final data with success, *data
   * and *dlen may point to the base64 data inside line (else NULL/0). */
  bool (*success)(const char *line, size_t len, const char **data,
                  size_t *dlen);
  bool success_data;        /* the success reply may carry final data */
};

/* Why the server refused, for the protocol's message. */
struct mw__sasl_refusal {
  const char *mech;         /* static name */
  const char *identity;     /* who the exchange authenticates as */
  const char *oauth_status; /* an OAuth server's report, or "" */
  const char *line;         /* the refusing reply as read */
  size_t len;
};

/* The protocol's I/O.  Each returns MW_OK or sets err and returns the
 * status. */
struct mw__sasl_io {
  void *user;
  /* Queues one line (without CRLF; command: the AUTH command, else a
   * response or the cancel line; the IMAP adapter prefixes its tag to a
   * command).  shown is what the trace must show instead of the line (the
   * payload redacted): the callback traces shown, never line. */
  mw_status (*send)(void *user, bool command, const char *line, size_t len,
                    const char *shown);
  /* Writes what was queued. */
  mw_status (*flush)(void *user);
  /* Writes what was queued and reads the server's next reply, as one line
   * for the descriptor's tests (*line stays valid until the next call).
   * The line has been through the session's scrubbing list already; a
   * protocol with untagged data (IMAP's "* CAPABILITY ...") skips it here
   * and returns the continuation or the tagged completion. */
  mw_status (*read)(void *user, const char **line, size_t *len);
  /* Optional: sets the error for a reply that is neither a continuation
   * nor a success, and returns its status (MW_E_AUTH). */
  mw_status (*refused)(void *user, const struct mw__sasl_refusal *why);
};

/* What the user allows and holds. */
struct mw__sasl_request {
  const char *user;      /* authentication (EXTERNAL: authorization) id */
  const char *password;
  const char *token;     /* OAuth 2.0 access token */
  const char *cert_file; /* a client certificate is configured */
  const char *allowed;   /* normalised mechanism list, NULL for all */
  bool allow_insecure;   /* credentials may go over plaintext */
  const char *host;      /* the server's name (DIGEST-MD5, OAUTHBEARER) */
};

/* What the session knows of the server. */
struct mw__sasl_server {
  bool tls;                /* the connection is encrypted */
  const char *mechanisms;  /* offered, space-separated; NULL: no AUTH */
  bool starttls_offered;   /* for the message refusing plaintext */
  const char *offers;      /* what it offers instead, for messages */
};

struct mw__sasl_ctx {
  const struct mw__sasl_proto *proto;
  const struct mw__sasl_io *io;
  struct mw__trace *trace;
  struct mw__scrub *scrub; /* learns every payload sent */
  struct mw_error *err;
};

/* Authenticates when the request holds credentials the server can take.
 * MW_OK with *mech NULL: nothing to authenticate with (no credentials,
 * and a certificate only for TLS client authentication); MW_OK with *mech
 * the mechanism's static name: authenticated (the server's proof verified
 * for a mutual mechanism).
 * MW_E_INVALID (EXTERNAL asked for without a certificate), MW_E_INSECURE
 * (credentials over plaintext, EXTERNAL without TLS), MW_E_AUTH_UNAVAILABLE
 * (no AUTH, no common mechanism), MW_E_AUTH (refused; a challenge not in
 * base64 or that the mechanism rejects: the exchange is cancelled),
 * MW_E_AUTH_SERVER_UNVERIFIED (the session must end), MW_E_PROTOCOL (more
 * than MW__SASL_MAX_ROUNDS challenges, or a challenge where the initial
 * response belongs), MW_E_NOMEM, or the I/O callbacks' status. */
mw_status mw__sasl_authenticate(const struct mw__sasl_ctx *ctx,
                                const struct mw__sasl_request *req,
                                const struct mw__sasl_server *srv,
                                const char **mech);

/* ---- the exchange without I/O ---------------------------------------- */

struct mw__sasl_exchange;

/* A line for the protocol to send (without CRLF), owned by the exchange
 * and valid until the next call on it.  line NULL: nothing to send. */
struct mw__sasl_line {
  const char *line;
  size_t len;
  const char *shown;   /* what the trace shows instead (payload redacted) */
  int secret_from;     /* the payload starts at this offset, -1: none
                        * (the driver has put it on the scrubbing list) */
  bool command;        /* the command ("AUTH MECH ...") */
  bool reply_expected; /* false: the cancel line; send it (best effort,
                        * the recorded error stays) and read nothing */
};

/* The policy of mw__sasl_authenticate() and the first line.  MW_OK with
 * *x NULL: nothing to authenticate with.  MW_OK with *x: send *first and
 * feed the server's reply to mw__sasl_exchange_feed.  Statuses as below.
 * ctx->io is used only for its refused callback (it may be NULL). */
mw_status mw__sasl_exchange_start(const struct mw__sasl_ctx *ctx,
                         const struct mw__sasl_request *req,
                         const struct mw__sasl_server *srv,
                         struct mw__sasl_exchange **x,
                         struct mw__sasl_line *first);
/* Feeds one server reply as one line (scrubbed already).  MW_OK with
 * *done: authenticated (mw__sasl_exchange_mech()).  MW_OK otherwise: send
 * *next, then feed the next reply.  A failure may come with a cancel line
 * in *next (reply_expected false). */
mw_status mw__sasl_exchange_feed(struct mw__sasl_exchange *x,
                                 const char *line, size_t len,
                                 struct mw__sasl_line *next, bool *done);
/* The mechanism's static name. */
const char *mw__sasl_exchange_mech(const struct mw__sasl_exchange *x);
void mw__sasl_exchange_free(struct mw__sasl_exchange *x);

/* Whether text (len bytes) is strict base64 (RFC 4648 section 4: the
 * alphabet, a length that is a multiple of 4, '=' only as final padding);
 * the empty text is. */
bool mw__sasl_is_base64(const char *text, size_t len);

#endif
