/*
 * proto/envelope.h - mw_envelope (what to send to whom) and mw_result (what
 * became of it), shared by the SMTP client and its tests.
 *
 * Owns: address validation for the envelope (no CR, LF, NUL, angle
 * brackets or spaces: nothing that could inject a command), and the
 * per-recipient and final-reply bookkeeping, including the queue id.
 */
#ifndef MW_PROTO_ENVELOPE_H
#define MW_PROTO_ENVELOPE_H

#include "mailwire.h"

/* A recipient's own DSN request (RFC 3461): NOTIFY (0: the envelope's)
 * and ORCPT as given ("rfc822;addr", not yet xtext-encoded), or NULL. */
struct mw__rcpt_dsn {
  unsigned notify;
  char *orcpt;
};

struct mw_envelope {
  char *from;
  char **rcpts;
  size_t count, cap;
  /* Extensions (proto/smtp_ext.c): DSN for the whole message, each
   * recipient's (ndsn entries, NULL until one is set) and REQUIRETLS. */
  unsigned dsn_notify;
  mw_dsn_ret dsn_ret;
  char *envid;
  struct mw__rcpt_dsn *rcpt_dsn;
  size_t ndsn;
  bool requiretls;
};

/* Frees what the extensions' setters allocated (smtp_ext.c). */
void mw__envelope_ext_free(struct mw_envelope *e);

struct mw__rcpt_result {
  char *address;
  bool accepted;
  int code;
  char enhanced[16];
  char *text;
};

struct mw_result {
  mw_delivery delivery;
  struct mw__rcpt_result *rcpts;
  size_t count;
  int final_code;
  char *final_text;
  char queue_id[128];
  double elapsed_ms;
  uint64_t bytes_sent;
};

/* True when the address needs SMTPUTF8 (a byte >= 0x80). */
bool mw__address_is_utf8(const char *address);
/* Validates an envelope address; NULL when fine, else a static reason. */
const char *mw__address_problem(const char *address, bool allow_empty);
/* Allocates a result sized for e's recipients; NULL on OOM. */
struct mw_result *mw__result_new(const struct mw_envelope *e);
/* Extracts a queue id from a final 250 text ("" when none). */
void mw__parse_queue_id(const char *text, char *out, size_t len);

#endif
