/*
 * store/fetch_state.h - what has been fetched from one account and
 * mailbox (mw_fetch_state_*, declared in mailwire.h).
 *
 * Owns: struct mw_fetch_state.  The file format is described in
 * fetch_state.c; only that file reads or writes it.
 */
#ifndef MW_STORE_FETCH_STATE_H
#define MW_STORE_FETCH_STATE_H

#include "mailwire.h"
#include "core/err.h"

#include <stdio.h>

struct mw__uid_range {
  uint32_t lo, hi;
};

/* POP3: a set of UIDLs (fetch_state.c says how it is laid out). */
struct mw__id_set {
  char *pool;      /* the UIDLs, NUL-terminated, in insertion order */
  size_t used, pool_cap;
  uint32_t *slots; /* open addressing: offsets into pool, 0 empty */
  size_t cap, count;
};

struct mw_fetch_state {
  struct mw_error err;
  mw_fetch_state_kind kind;
  char *path;      /* the state file */
  char *dir;
  FILE *f;         /* the state file, appending */
  FILE *lock;      /* path + ".lock", fcntl-locked while open */
  bool have_uv;
  uint32_t uv;
  struct mw__uid_range *r; /* IMAP: sorted, disjoint, not adjacent */
  size_t nr, rcap;
  struct mw__id_set ids; /* POP3 */
  size_t journal_lines; /* "+" records since the last rewrite */
  bool ready;      /* opened and loaded: the file may be written */
  size_t compact_at; /* rewrite past this many journal records */
};

/* The default of compact_at: the file is rewritten from memory when it
 * has grown past this many journal records. */
#define MW__FETCH_STATE_COMPACT 20000

#endif
