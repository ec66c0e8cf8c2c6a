/*
 * proto/capa.h - EHLO capabilities (RFC 5321 section 4.1.1.1).
 *
 * Owns: parsing the lines after the first of an EHLO reply into keyword and
 * parameter pairs, and the questions asked of them (is AUTH offered, with
 * which mechanisms; the SIZE limit).  Pure, for unit tests and fuzzing.
 */
#ifndef MW_PROTO_CAPA_H
#define MW_PROTO_CAPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MW__CAPA_MAX 64

struct mw__capa_entry {
  char keyword[32]; /* upper case */
  char *params;     /* owned; "" when none */
};

struct mw__capa {
  struct mw__capa_entry items[MW__CAPA_MAX];
  size_t count;
  bool valid; /* true after a successful EHLO */
};

void mw__capa_init(struct mw__capa *c);
void mw__capa_clear(struct mw__capa *c);
/* Parses the text of an EHLO reply (lines joined by '\n'; the first line is
 * the server's greeting name and is skipped).  Malformed keywords are
 * ignored (robustness), never fatal.  Returns false only on OOM. */
bool mw__capa_parse(struct mw__capa *c, const char *ehlo_text);
const struct mw__capa_entry *mw__capa_find(const struct mw__capa *c,
                                           const char *keyword);
bool mw__capa_has(const struct mw__capa *c, const char *keyword);
/* The SIZE limit, 0 when not offered or unlimited. */
uint64_t mw__capa_size(const struct mw__capa *c);
/* True when the AUTH parameter lists mech (case-insensitive). */
bool mw__capa_auth_has(const struct mw__capa *c, const char *mech);

#endif
