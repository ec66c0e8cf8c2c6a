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

#endif
