/*
 * proto/reply.h - SMTP reply parsing (RFC 5321 section 4.2, RFC 2034).
 *
 * Owns: turning reply lines into one struct mw__reply, strictly: three
 * digits whose first is 2-5, then ' ' or '-' or the end; every line of a
 * multi-line reply carries the same code; no NUL or control bytes; bounded
 * line count and size.  Also extracts the enhanced status code (RFC 3463)
 * when the first line starts with one of the same class, and copies a
 * reply into an mw_error (mw__error_attach_reply: the error table in
 * core/ knows nothing of replies).
 *
 * It is pure (no I/O) so that unit tests and fuzzers drive it directly.
 */
#ifndef MW_PROTO_REPLY_H
#define MW_PROTO_REPLY_H

#include "core/err.h"
#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>

#define MW__REPLY_MAX_LINES 256
#define MW__REPLY_MAX_TEXT 65536

struct mw__reply {
  int code;          /* 0 until the first line is parsed */
  char enhanced[16]; /* "5.7.8" or "" */
  char *text;        /* lines' text joined with '\n', code stripped; owned */
  size_t lines;
  struct mw__sbuf buf; /* builds text */
};

enum mw__reply_feed {
  MW__REPLY_MORE = 0,  /* a continuation line: feed the next one */
  MW__REPLY_DONE,      /* the last line: the reply is complete */
  MW__REPLY_BAD        /* malformed: why holds the reason */
};

void mw__reply_init(struct mw__reply *r);
void mw__reply_free(struct mw__reply *r);
/* Empties r for the next reply, keeping its buffer's memory. */
void mw__reply_reset(struct mw__reply *r);
/* Feeds one line (without CRLF; may contain NUL bytes, which are refused).
 * why: a static reason string when MW__REPLY_BAD is returned. */
enum mw__reply_feed mw__reply_feed(struct mw__reply *r, const char *line,
                                   size_t len, const char **why);

/* Parses an enhanced status code at the start of text ("5.1.1 ..."): fills
 * out (size >= 16) and returns the length consumed (code plus following
 * spaces), or 0 when text does not start with one. */
size_t mw__parse_enhanced(const char *text, char *out);

/* Whether line (a first line that is not an SMTP reply) is the banner of
 * another protocol: "IMAP" ("* OK"), "POP3" ("+OK"), "SSH" ("SSH-"),
 * "HTTP" ("HTTP/1.1 400 ..."), as a static string, else NULL. */
const char *mw__reply_foreign_protocol(const char *line, size_t len);

/* Attaches a server reply (code, enhanced code, text) to e and sets
 * `temporary` from its first digit (for a refusal or an AUTH failure). */
void mw__error_attach_reply(struct mw_error *e, const struct mw__reply *r);

#endif
