/*
 * outbox.h - the outbox spool of `send --queue`, sendmail mode and
 * `mailwire queue` (issue 12): where it lives, its entry files, its lock.
 * See outbox.c for the layout and why it is CLI code.
 */
#ifndef MW_CLI_OUTBOX_H
#define MW_CLI_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#define OUTBOX_ID_MAX 64

struct outbox_entry {
  char id[OUTBOX_ID_MAX];
  long long created, next; /* Unix times */
  unsigned attempts;
  char state[16]; /* queued, sending, unknown, failed */
  char reason[600];
  char *cwd;      /* where the send was started (relative paths) */
  char **args;    /* the send words to replay, without --message */
  int nargs;
};

/* mkdir -p with mode 0700 (the outbox, the fetch state's parents):
 * path is modified while it runs and restored.  0, or -1 with errno. */
int cli_mkdirs(char *path);

/* The spool directory: given (--queue-dir, queue_dir; a leading ~/ is
 * $HOME's), else
 * $XDG_STATE_HOME/mailwire/queue, else ~/.local/state/mailwire/queue;
 * made absolute, created with its parents and tmp/ and failed/ (0700).
 * 0, or -1 with the reason in err. */
int outbox_dir(const char *given, char *out, size_t len, char *err,
               size_t errlen);

/* A new id and its message file dir/tmp/ID.msg, opened for writing
 * (O_EXCL, 0600).  The fd, or -1 with err. */
int outbox_new_message(const char *dir, char *id, char *path, size_t plen,
                       char *err, size_t errlen);

/* The message written to fd (fsync'd) becomes entry e: its file renamed
 * to dir/ID.msg, then e written as dir/ID.env, the directory fsync'd
 * after each step.  0, or -1 with err (the temporary file is removed). */
int outbox_commit(const char *dir, const char *tmp_msg,
                  const struct outbox_entry *e, char *err, size_t errlen);

/* Writes e as sub/ID.env in dir (sub NULL: dir itself) atomically:
 * dir/tmp file, fsync, rename, directory fsync.  0 or -1 with err. */
int outbox_write_entry(const char *dir, const char *sub,
                       const struct outbox_entry *e, char *err,
                       size_t errlen);

/* Reads the entry file path into e (free with outbox_entry_free).  0, or
 * -1 with err naming the file and the line (a corrupt file is an error,
 * never a crash). */
int outbox_read_entry(const char *path, struct outbox_entry *e, char *err,
                      size_t errlen);
void outbox_entry_free(struct outbox_entry *e);

/* The ids of dir's (or dir/sub's) entries, sorted (oldest first).  0 or
 * -1 with err; free with outbox_ids_free. */
int outbox_ids(const char *dir, const char *sub, char ***ids, size_t *n,
               char *err, size_t errlen);
void outbox_ids_free(char **ids, size_t n);

/* Takes dir/lock (fcntl write lock, not waiting).  The fd (close it to
 * release); -2 when another process holds it; -1 with err. */
int outbox_lock(const char *dir, char *err, size_t errlen);

/* fsync of a directory; 0 or -1 (errno). */
int outbox_sync_dir(const char *dir);

/* The backoff after attempt n (1, 2, ...): 60 s doubling, at most 4 h. */
long long outbox_backoff(unsigned attempts);

#endif
