/*
 * core/scrub.h - keep the secrets a session holds or sent out of every
 * text that came from the server.
 *
 * Owns: the list of secret byte strings of one session and the single
 * function that cuts them out of server text.  A hostile or buggy server
 * may echo what the client sent in its reply ("535 bad credentials:
 * AHVzZXIAaHVudGVyMg=="), raw or base64-decoded.  Protocol code passes
 * every server line through mw__scrub_line() as soon as it is read, before
 * it is traced, parsed into a reply or copied into an error, so the trace,
 * the JSON, error messages and struct mw_error never carry the secret, and
 * no call site has to remember to redact.
 *
 * What is listed:
 *   - mw__scrub_add_secret(): a password or token as given, its base64
 *     form, and the base64 of it at each of the three byte alignments a
 *     larger base64 payload can put it in (the characters that depend on
 *     the secret's bytes alone), so a secret inside an echoed SASL payload
 *     is found whatever surrounds it;
 *   - mw__scrub_add_payload(): a base64 SASL payload as it went on the wire
 *     (the whole "\0user\0pass" of PLAIN, XOAUTH2's "user=..\1auth=Bearer
 *     ..\1\1", ...).  Its decoded form needs no entry: it holds the
 *     password or token, which is listed.
 * Secrets are replaced by "<redacted>".  Very short payloads ("=", the
 * empty response) are not listed: they are not secrets and would shred
 * every reply; a secret under 8 bytes is cut only where it stands alone
 * (not inside a longer word or base64 run).
 */
#ifndef MW_CORE_SCRUB_H
#define MW_CORE_SCRUB_H

#include <stdbool.h>
#include <stddef.h>

struct mw__sbuf; /* core/util.h */

struct mw__scrub_item {
  char *bytes; /* owned, wiped when freed */
  size_t len;
};

struct mw__scrub {
  struct mw__scrub_item *items;
  size_t count;
  size_t cap;
};

#define MW__SCRUB_MARK "<redacted>"

void mw__scrub_init(struct mw__scrub *sc);
/* Wipes and frees every entry; sc is then empty (init state). */
void mw__scrub_free(struct mw__scrub *sc);

/* Lists secret (a password or token, NUL-terminated; NULL or "" is a
 * no-op) in its raw and base64 forms.  False on out of memory. */
bool mw__scrub_add_secret(struct mw__scrub *sc, const char *secret);

/* Lists a base64 payload the client sent (len bytes, not NUL-terminated),
 * when it is long enough to be a secret (8 characters or more).  False on
 * out of memory. */
bool mw__scrub_add_payload(struct mw__scrub *sc, const char *b64,
                           size_t len);

/* Replaces, in line, every occurrence of a listed secret by
 * MW__SCRUB_MARK, longest match first.  The first `keep` bytes are never
 * changed (an SMTP reply's code and separator stay parseable); a match
 * that starts inside them is replaced from `keep` on.  Returns the number
 * of secrets replaced, or -1 on out of memory (line is then wiped to
 * empty: never left holding a secret). */
int mw__scrub_line(const struct mw__scrub *sc, struct mw__sbuf *line,
                   size_t keep);

/* Standard base64 (RFC 4648 section 4, with padding) of len bytes into a
 * new NUL-terminated string (mw__free_secret), NULL on out of memory. */
char *mw__scrub_base64(const void *data, size_t len);

#endif
