/*
 * bulk_source.h - the messages of a bulk send (`mailwire send --messages`,
 * repeated --message), one at a time.
 *
 * Owns: reading the sources in order (the --message files, then each
 * --messages source): a directory (its *.eml files, sorted by name), an
 * mbox (split on "From " lines, mboxrd ">From " unquoted, each message
 * copied to an unlinked temporary file when it is handed out), or JSON
 * lines ({"from":..,"to":[..],"file":..} each; a relative file is taken
 * from the JSON file's directory).  Memory stays bounded whatever the
 * number or size of the messages: files are streamed, never loaded (a
 * directory's list of names is the one thing held).
 *
 * A first pass with materialize false checks every source (a bad JSON
 * line, a missing file) and counts the messages before anything is sent;
 * the second hands them out.
 */
#ifndef MW_CLI_BULK_SOURCE_H
#define MW_CLI_BULK_SOURCE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Recipients one JSON line may name. */
#define BULK_MAX_RCPTS 1000

struct bulk_item {
  unsigned long seq;        /* 1-based over the whole run */
  char name[PATH_MAX + 64]; /* for result lines: "dir/a.eml",
                               "box.mbox #3", "list.jsonl:7 (a.eml)" */
  char path[PATH_MAX];      /* the file to send; "" when fd holds it */
  int fd;                   /* an mbox message (unlinked temporary file,
                               at offset 0), or -1 */
  char *from;               /* a JSON line's from (bare address) or NULL */
  char **to;                /* a JSON line's to (bare addresses) */
  size_t nto;
};

struct bulk_source;

/* The sources: files (the --message files) and sources (the --messages
 * arguments), borrowed until bulk_source_free().  NULL on OOM. */
struct bulk_source *bulk_source_new(const char *const *files, size_t nfiles,
                                    const char *const *sources,
                                    size_t nsources);
/* The next message into *it (cleared first; bulk_item_clear() it after
 * use).  materialize false: checked and counted only (no temporary file,
 * it->fd stays -1).  Returns 1 (an item), 0 (no more), or an exit code
 * (65 a source that is not messages, 66 a missing file, 74 a read or
 * temporary-file error) with one sentence naming the file and line in
 * err. */
int bulk_source_next(struct bulk_source *s, bool materialize,
                     struct bulk_item *it, char *err, size_t errlen);
void bulk_source_free(struct bulk_source *s);

void bulk_item_init(struct bulk_item *it);
void bulk_item_clear(struct bulk_item *it);
/* Moves *from into *to (to must be cleared); from is left empty. */
void bulk_item_move(struct bulk_item *to, struct bulk_item *from);

#endif
