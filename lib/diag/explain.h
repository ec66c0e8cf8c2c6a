/*
 * diag/explain.h - mw_explain() with what decided it (private).
 */
#ifndef MW_DIAG_EXPLAIN_H
#define MW_DIAG_EXPLAIN_H

#include "mailwire.h"

/* As mw_explain(); *specific (when not NULL) is false when only the class,
 * a basic code that may mean several causes (450, 550, ...) or a protocol
 * status decided: the reply then fits no cause of the catalogue, and a
 * diagnosis quotes it rather than borrowing the nearest cause. */
mw_status mw__explain(const char *reply_text, mw_explanation *out,
                      bool *specific);

/* A POP3 or IMAP response, as diag/explain_incoming.c reads it. */
struct mw__incoming_reply {
  const char *protocol; /* "IMAP" or "POP3" (static) */
  char status[8];       /* "OK" "NO" "BAD" "BYE" "PREAUTH" "+OK" "-ERR" */
  char code[32];        /* the response code's atom, upper case, or "" */
  const char *text;     /* after the code, into the caller's text */
  bool positive;        /* OK, +OK, PREAUTH (set by the match) */
};

/* Reads "-ERR [IN-USE] text", "+OK", "a1 NO [CODE] text", "* BYE text"
 * or "NO [CODE] text"; false when s is none of these. */
bool mw__explain_incoming_parse(const char *s, struct mw__incoming_reply *p);

#endif
