/*
 * sendmail_header.h - `mailwire sendmail`'s fix-ups done on the raw
 * header, without the message composer (issue 13).
 *
 * Owns: reading the header block of the spooled message, and writing the
 * copy sent (Bcc removed; Date, Message-ID and From added when absent).
 * See sendmail_header.c for what it hands to the composer instead.
 */
#ifndef MW_CLI_SENDMAIL_HEADER_H
#define MW_CLI_SENDMAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sm_header {
  char *fields;       /* the header fields kept (Bcc left out), as read */
  size_t len;
  bool missing_eol;   /* the input ends inside its last field, no line end */
  bool separator;     /* an empty line ends the header (else the end) */
  off_t rest;         /* offset of that empty line, or of the end */
  bool has_date, has_message_id, has_from;
  char sender[400];   /* the From field's address ("" without From) */
  const char *eol;    /* "\r\n" when the first line ends so, else "\n" */
};

/* Reads the header of the message in fd (from offset 0, with pread).
 * Returns 0 when it is plain fields this file handles (h filled; free
 * with sm_header_free()); 1 when the composer must handle it (an empty
 * input, a line that is not a field, a NUL byte, a From that is not one
 * mailbox, a header over 1 MiB); -1 on a read error or OOM (errno). */
int sm_header_read(int fd, struct sm_header *h);

/* Writes the copy sent into out: the fields kept, then Date and
 * Message-ID when absent (the Message-ID's domain is id_address's), a
 * "From: from_mailbox" when the header has none and from_mailbox is not
 * NULL, then the rest of in (the empty line and the body) as it came.
 * Returns 0, or -1 with errno. */
int sm_header_write(const struct sm_header *h, int in, int out,
                    const char *from_mailbox, const char *id_address);

void sm_header_free(struct sm_header *h);

#endif
