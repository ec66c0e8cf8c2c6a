/*
 * mime/compose_int.h - the composer's private state, shared by
 * compose.c (headers, the text body, rendering to memory),
 * compose_parts.c (HTML, attachments, inline parts, writing to a file)
 * and compose_parse.c (a ready-made message: recipients, Bcc removal).
 */
#ifndef MW_MIME_COMPOSE_INT_H
#define MW_MIME_COMPOSE_INT_H

#include "mailwire.h"
#include "mime/mime_module.h"

#include <gmime/gmime.h>
#include <stdio.h>

struct mw__compose_header {
  char *name;
  char *value;
};

/* A part read from a file when the message is written, never before. */
struct mw__compose_file {
  char *path;
  char *name;      /* file name shown (UTF-8); RFC 2231 when not ASCII */
  char *type;      /* "type/subtype" */
  char *cid;       /* Content-ID of an inline part, else NULL */
};

struct mw_compose {
  char *from;
  char **to;
  size_t nto;
  char **cc;
  size_t ncc;
  char *subject;
  char *body;
  size_t body_len;
  char *html;
  size_t html_len;
  struct mw__compose_header *headers;
  size_t nheaders;
  struct mw__compose_file *files; /* attachments and inline parts */
  size_t nfiles;
  /* A ready-made message (mw_compose_set_message_fd). */
  GMimeMessage *parsed;
  char **rcpts;    /* its To, Cc and Bcc addresses (addr-specs) */
  size_t nrcpts;
  char *sender;    /* its first From address, or NULL */
  /* The rendered message behind mw_compose_read(). */
  FILE *rendered;
  bool seven_bit; /* mw_compose_set_7bit(): compose_7bit.c */
  char error[256];
};

mw_status mw__compose_fail(mw_compose *c, const char *fmt, const char *what);
/* Refuses a value that could break out of a header (CR, LF, controls),
 * or is not UTF-8. */
mw_status mw__compose_check_value(mw_compose *c, const char *what,
                                  const char *value);
/* Checks the top-level header block (see compose.c). */
mw_status mw__compose_check_header_block(mw_compose *c, const char *msg,
                                         size_t len);
/* Builds the GMime message from c (composed or parsed).  *out: a new
 * reference. */
mw_status mw__compose_build(mw_compose *c, GMimeMessage **out);
/* Gives every 8-bit or binary leaf part of msg a 7-bit transfer encoding
 * (compose_7bit.c); mw__compose_build() calls it when c->seven_bit. */
mw_status mw__compose_encode_7bit(mw_compose *c, GMimeMessage *msg);
/* The MIME body of a composed message: text/plain alone, or the
 * multipart tree for HTML, inline parts and attachments.  NULL with *st
 * and c->error set (MW_E_IO: a file cannot be opened; MW_E_MESSAGE). */
GMimeObject *mw__compose_body(mw_compose *c, mw_status *st);
/* A new Message-ID for the domain of from (a mailbox or NULL). */
char *mw__compose_message_id(const char *from);
void mw__compose_parsed_free(mw_compose *c);
void mw__compose_files_free(mw_compose *c);

#endif
