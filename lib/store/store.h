/*
 * store/store.h - the local message store behind mw_store_* (shared by
 * store.c and the three kinds: maildir.c, mbox.c, mda.c).
 *
 * Owns: struct mw_store, the kind vtable, the CRLF->LF conversion state,
 * the key hash (128-bit FNV-1a, as 32 hex digits) and a small set of key
 * hashes.  The kinds see only LF text: store.c converts the server's CRLF
 * before calling kind->put().  Nothing here touches the network.
 */
#ifndef MW_STORE_STORE_H
#define MW_STORE_STORE_H

#include "mailwire.h"
#include "core/err.h"

#include <stdio.h>

#define MW__STORE_KEY_MAX 512
#define MW__STORE_HASH_HEX 32 /* hex digits of a key hash */

/* A key hash as 32 lower-case hex digits and a NUL. */
typedef char mw__key_hash[MW__STORE_HASH_HEX + 1];
void mw__store_key_hash(const char *key, mw__key_hash out);
/* True when s starts with 32 lower-case hex digits. */
bool mw__store_is_hash(const char *s);

/* An open-addressing set of key hashes (the 16 bytes the hex encodes). */
struct mw__hash_set {
  unsigned char (*slots)[16];
  size_t cap, count;
};
bool mw__hash_set_add(struct mw__hash_set *hs, const char *hex);
bool mw__hash_set_has(const struct mw__hash_set *hs, const char *hex);
void mw__hash_set_free(struct mw__hash_set *hs);

struct mw_store;

struct mw__store_kind {
  const char *name;
  mw_status (*open)(struct mw_store *s);
  bool (*contains)(const struct mw_store *s, const char *hash);
  /* A message starts: s->key, s->hash and s->sender are set. */
  mw_status (*begin)(struct mw_store *s);
  /* LF-only bytes of the message. */
  mw_status (*put)(struct mw_store *s, const char *data, size_t len);
  /* All bytes given; make it durable. */
  mw_status (*commit)(struct mw_store *s);
  /* Drop what begin/put made; never fails. */
  void (*abort)(struct mw_store *s);
  void (*close)(struct mw_store *s);
  /* Batch mode: make every message committed since the last sync
   * durable (NULL: the kind's commits are durable already). */
  mw_status (*sync)(struct mw_store *s);
};

extern const struct mw__store_kind mw__store_maildir;
extern const struct mw__store_kind mw__store_mbox;
extern const struct mw__store_kind mw__store_mda;

struct mw_store {
  const struct mw__store_kind *kind;
  struct mw_error err;
  char *target;
  bool in_message;
  bool duplicate;   /* this message's key is present: writes are dropped */
  bool failed;      /* a write failed: only abort or commit (fails) */
  bool pending_cr;  /* the last byte given was a CR */
  bool batch;       /* mw_store_set_batch(): durability at mw_store_sync() */
  bool forget_new;  /* mw_store_set_remember_new(false): committed keys are
                       not added to the kind's set */
  char key[MW__STORE_KEY_MAX + 1];
  mw__key_hash hash;
  char sender[256];
  uint64_t size;    /* LF bytes of the message so far */
  char out[16384];  /* converted bytes waiting for kind->put() */
  size_t out_len;
  void *impl;       /* the kind's own state */
  unsigned mda_timeout_ms;
  int mda_exit_status; /* -1: none (or a signal) */
};

/* Records a failed system call: "VERB PATH: strerror(errno)". */
mw_status mw__store_syserr(struct mw_store *s, const char *verb,
                           const char *path);
/* fsync of a directory (opened read-only); errno set on failure. */
bool mw__fsync_dir(const char *path);
/* Tests only: whether a Maildir store's batch sync may use syncfs(2)
 * (false: an fsync of each file, the path used where syncfs is not
 * trusted).  No effect on other kinds. */
void mw__store_maildir_use_syncfs(struct mw_store *s, bool on);
/* Writes all of data to f; false with errno on failure. */
bool mw__write_all(FILE *f, const void *data, size_t len);

#endif
