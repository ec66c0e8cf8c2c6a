/*
 * proto/imap_int.h - private to imap_parse.c, imap_fetch.c and
 * imap_enc.c: the per-response arena, the literal records and the cursor
 * that reads a logical response (line parts with literals in between).
 */
#ifndef MW_PROTO_IMAP_INT_H
#define MW_PROTO_IMAP_INT_H

#include "proto/imap_parse.h"

struct mw__imap_arena_blk {
  struct mw__imap_arena_blk *next;
  size_t used, cap;
  size_t pad_; /* header of 32 bytes: data below stays 16-aligned */
};

/* One literal of the response: its bytes follow the line part that ends
 * at text offset `at` (just after the marker's '}'). */
struct mw__imap_lit {
  size_t at;
  uint64_t len, got;
  unsigned char *data;  /* in memory (len + 1 bytes), NULL when streamed */
  bool binary, streamed;
  const char *item;     /* streamed: the FETCH item name for the sink */
};

/* A cursor over the response text [0, n), consuming literals in order. */
struct mw__imap_cur {
  struct mw__imap_parser *p;
  const char *s;
  size_t n, pos, lit;
  size_t items;
  const char *why;
};

void *mw__imap_alloc(struct mw__imap_parser *p, size_t n);
char *mw__imap_dup(struct mw__imap_parser *p, const char *s, size_t n);

bool mw__imap_fail(struct mw__imap_cur *c, const char *why);
int mw__imap_peek(const struct mw__imap_cur *c);
bool mw__imap_sp(struct mw__imap_cur *c);
bool mw__imap_is_atom_char(int ch);
/* Length of the ATOM-CHAR run at the cursor (astring: ']' too). */
size_t mw__imap_atom_run(const struct mw__imap_cur *c, bool astring);
/* A quoted string at the cursor ('"'), unescaped and copied. */
bool mw__imap_quoted(struct mw__imap_cur *c, const char **out, size_t *len);
bool mw__imap_strv_push(struct mw__imap_cur *c, struct mw__imap_strv *sv,
                        size_t *cap, const char *s);
/* An atom (ATOM-CHAR run), copied. */
bool mw__imap_atom(struct mw__imap_cur *c, const char **out);
/* Consumes word (case-insensitive) when it is the whole next atom. */
bool mw__imap_word(struct mw__imap_cur *c, const char *word);
bool mw__imap_number(struct mw__imap_cur *c, uint32_t *v, bool nonzero);
bool mw__imap_number64(struct mw__imap_cur *c, uint64_t *v);
/* string / nstring (nil_ok) / astring (atom_ok).  *lit_out (optional)
 * receives the literal record when the value was a literal; a streamed
 * literal gives *out NULL. */
bool mw__imap_string(struct mw__imap_cur *c, const char **out, size_t *len,
                     bool nil_ok, bool atom_ok, bool binary_ok,
                     bool *was_nil, struct mw__imap_lit **lit_out);
/* "(" [flag *(SP flag)] ")" */
bool mw__imap_flag_list(struct mw__imap_cur *c, struct mw__imap_strv *out);
/* Any well-formed value (atom, number, string, NIL, nested list). */
bool mw__imap_skip_value(struct mw__imap_cur *c, int depth);
/* Grows an array in the arena (old copies are left to the arena). */
bool mw__imap_push(struct mw__imap_cur *c, void **v, size_t *n, size_t *cap,
                   size_t elem, const void *x);
/* A FETCH item name: NAME, NAME[section], NAME[section]<n>. */
bool mw__imap_item_name(struct mw__imap_cur *c, const char **name,
                        const char **base, size_t *baselen,
                        const char **section, int64_t *origin);

/* imap_resp.c: parses p->text (and p->lits) into p->resp. */
bool mw__imap_parse_resp(struct mw__imap_parser *p, const char **why);

/* imap_fetch.c */
bool mw__imap_parse_fetch(struct mw__imap_cur *c, struct mw__imap_fetch *f);
/* Called when a FETCH line part ends with the marker of the literal just
 * recorded (the last one): whether it is a body item's value at the top
 * level; then sets its item name.  Updates the resumable scan. */
bool mw__imap_fetch_scan(struct mw__imap_parser *p, size_t marker_start);
/* Whether a FETCH item base name is a body item; kind out. */
bool mw__imap_body_item(const char *base, size_t len, bool has_section,
                        enum mw__imap_body_kind *kind);
/* Sends a body event to the sink; false when it refused. */
bool mw__imap_sink(struct mw__imap_parser *p, enum mw__imap_body_event ev,
                   const char *item, bool nil, bool binary, uint64_t size,
                   const unsigned char *data, size_t len);

#endif
