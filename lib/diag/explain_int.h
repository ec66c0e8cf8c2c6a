/*
 * diag/explain_int.h - the reply catalogue shared by the matcher
 * (diag/explain.c) and its tables (diag/explain_rules.c: rules and hints
 * on the words of a reply; diag/explain_codes.c: enhanced and basic reply
 * codes, and the class alone).  Private to those three files.
 *
 * Every string is static.  Advice and meanings name settings as tokens
 * ("{tls=implicit}", see mw_render_settings()), never as flags.
 */
#ifndef MW_DIAG_EXPLAIN_INT_H
#define MW_DIAG_EXPLAIN_INT_H

#include <stddef.h>

/* A meaning: the cause id, the explanation, and the advice (NULL: the
 * cause's fix from the catalogue). */
struct expl {
  const char *cause;
  const char *meaning;
  const char *advice;
  const char *provider; /* NULL: none (or guessed from the text) */
};

/* A rule.  Every condition given must hold:
 *   codes   reply codes, space separated; "0" admits a reply given
 *           without one; NULL: any
 *   enh     enhanced codes, space separated; "-" admits none; NULL: any
 *   words   '|'-separated, case-insensitive; one must start a word of the
 *           text; NULL: the text does not matter
 *   unless  '|'-separated words that veto the rule; NULL: none
 *   cls     4 or 5: only for replies of that class; 0: either */
struct rule {
  const char *codes;
  const char *enh;
  const char *words;
  const char *unless;
  int cls;
  struct expl e;
};

/* 2. Enhanced status codes.  "X.s.d" matches classes 4 and 5, "4.s.d" or
 * "5.s.d" only that class, "2.s.d" positive replies. */
struct enh_row {
  const char *code;
  struct expl e;
};

/* 4. Basic reply codes. */
struct code_row {
  int code;
  struct expl e;
};

#define MS365 "Microsoft 365"

/* 1. Provider replies, then the signs that name a cause whatever the code
 * says (explain_rules.c). */
extern const struct rule mw__explain_rules[];
extern const size_t mw__explain_rules_count;
/* 3. Hints from the text (explain_rules.c). */
extern const struct rule mw__explain_hints[];
extern const size_t mw__explain_hints_count;
/* 2. and 4. (explain_codes.c) */
extern const struct enh_row mw__explain_enh_rows[];
extern const size_t mw__explain_enh_count;
extern const struct code_row mw__explain_code_rows[];
extern const size_t mw__explain_code_count;
/* 5. The class alone (explain_codes.c). */
extern const struct expl mw__explain_positive_reply;
extern const struct expl mw__explain_intermediate_reply;
extern const struct expl mw__explain_unknown_temporary;
extern const struct expl mw__explain_unknown_permanent;

/* diag/explain.c: whether one of the '|'-separated lowercase words starts
 * a word of text (case-insensitive). */
#include <stdbool.h>
bool mw__explain_has_any_word(const char *text, const char *words);

/* diag/explain_incoming.c: the POP3 / IMAP rules.  *specific is false
 * when only the status decided. */
struct mw__incoming_reply;
const struct expl *mw__explain_incoming_match(struct mw__incoming_reply *p,
                                              bool *specific);

#endif
