/*
 * proto/conn.h - the line session's internal hook (mw_conn, proto/conn.c;
 * the public API is in include/mailwire.h).
 *
 * Owns: opening a line session over a stack the caller built (the unit
 * tests' in-memory layer, io/layer.h), as the clients' *_connect_over()
 * do.
 */
#ifndef MW_PROTO_CONN_H
#define MW_PROTO_CONN_H

#include "core/err.h"
#include "io/layer.h"

/* As mw_conn_open() over top (ownership taken): implicit TLS when the
 * options say so, nothing read. */
mw_status mw__conn_open_over(mw_conn *c, struct mw__layer *top);
/* The session's error record (for a layer made outside). */
struct mw_error *mw__conn_err(mw_conn *c);

#endif
