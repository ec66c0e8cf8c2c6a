/*
 * mime/compose_parts.c - the parts of a composed message beyond its text:
 * an HTML alternative, attachments and inline parts, and writing the
 * message to a file descriptor or a temporary file read back in chunks.
 *
 * DESCRIPTION
 *   The MIME tree is GMime's (no hand-written boundaries, base64,
 *   quoted-printable or RFC 2047/2231 here):
 *
 *     text                       text/plain
 *     text + HTML                multipart/alternative (text, html)
 *     ... + inline parts         the html becomes multipart/related
 *                                (html, inline parts with Content-ID)
 *     ... + attachments          multipart/mixed (the above, attachments)
 *
 *   Text parts get the narrowest safe encoding (7bit, or quoted-printable
 *   for mostly-ASCII text, base64 otherwise); files are base64.  A file
 *   is only checked (opened, its first bytes read to guess its type) when
 *   added; its content is read by a GMime file stream while the message
 *   is written, through the encoding filter, a buffer at a time, so
 *   memory does not grow with its size.
 *
 * DIAGNOSTICS
 *   MW_E_IO (a file that cannot be read), MW_E_MESSAGE (a name or type
 *   that cannot go into a header, an inline part without HTML),
 *   MW_E_INVALID, MW_E_NOMEM; the detail in mw__mime_error().
 */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "core/util.h"
#include "mime/compose_int.h"

#include <glib/gstdio.h> /* g_close */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mw__compose_files_free(mw_compose *c)
{
  for(size_t i = 0; i < c->nfiles; i++) {
    mw__free(c->files[i].path);
    mw__free(c->files[i].name);
    mw__free(c->files[i].type);
    mw__free(c->files[i].cid);
  }
  mw__free(c->files);
  c->files = NULL;
  c->nfiles = 0;
}

/* Text as the composer keeps it: UTF-8, no NUL, line endings LF (GMime
 * writes CRLF; a bare CR would otherwise become a line break only on the
 * wire). */
static mw_status copy_text(mw_compose *c, const char *what, const char *utf8,
                           size_t len, char **out, size_t *outlen)
{
  if(!utf8 && len)
    return MW_E_INVALID;
  if(len && memchr(utf8, '\0', len))
    return mw__compose_fail(c, "%s contains a NUL byte", what);
  if(len && !g_utf8_validate(utf8, (gssize)len, NULL))
    return mw__compose_fail(c, "%s is not valid UTF-8", what);
  char *copy = mw__malloc(len + 1);
  if(!copy)
    return MW_E_NOMEM;
  size_t n = 0;
  for(size_t i = 0; i < len; i++) {
    if(utf8[i] == '\r') {
      copy[n++] = '\n';
      if(i + 1 < len && utf8[i + 1] == '\n')
        i++;
    }
    else {
      copy[n++] = utf8[i];
    }
  }
  copy[n] = '\0';
  *out = copy;
  *outlen = n;
  return MW_OK;
}

mw_status mw__mime_set_html(mw_compose *c, const char *utf8, size_t len)
{
  if(!c)
    return MW_E_INVALID;
  if(c->parsed)
    return mw__compose_fail(c, "%s", "a ready-made message cannot take an "
                                     "HTML part");
  char *copy = NULL;
  size_t n = 0;
  mw_status st = copy_text(c, "the HTML part", utf8, len, &copy, &n);
  if(st)
    return st;
  mw__free(c->html);
  c->html = copy;
  c->html_len = n;
  return MW_OK;
}

/* "type/subtype" with RFC 2045 token characters, nothing else. */
static bool is_mime_type(const char *t)
{
  const char *slash = strchr(t, '/');
  if(!slash || slash == t || !slash[1] || strchr(slash + 1, '/') ||
     strlen(t) > 127)
    return false;
  for(const unsigned char *p = (const unsigned char *)t; *p; p++)
    if(*p != '/' && (*p <= 0x20 || *p >= 0x7f || strchr("()<>@,;:\\\"[]?=",
                                                        *p)))
      return false;
  return true;
}

static const char *base_name(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Opens path to check it can be read and guesses its type from the name
 * and the first bytes (GIO's shared-mime-info database). */
static mw_status probe_file(mw_compose *c, const char *path, char **type)
{
  FILE *f = fopen(path, "rbe");
  if(!f) {
    snprintf(c->error, sizeof(c->error), "cannot read '%.150s': %s", path,
             strerror(errno));
    return MW_E_IO;
  }
  guchar head[4096];
  size_t n = fread(head, 1, sizeof(head), f);
  int err = ferror(f) ? errno : 0;
  fclose(f);
  if(err) {
    snprintf(c->error, sizeof(c->error), "cannot read '%.150s': %s", path,
             strerror(err));
    return MW_E_IO;
  }
  if(*type)
    return MW_OK;
  gchar *ct = g_content_type_guess(base_name(path), head, (gsize)n, NULL);
  gchar *mime = ct ? g_content_type_get_mime_type(ct) : NULL;
  const char *pick = mime && is_mime_type(mime) ? mime
                                                : "application/octet-stream";
  *type = mw__strdup(pick);
  g_free(mime);
  g_free(ct);
  return *type ? MW_OK : MW_E_NOMEM;
}

static mw_status add_file(mw_compose *c, const char *path, const char *name,
                          const char *type, const char *cid)
{
  if(!c || !path || !*path)
    return MW_E_INVALID;
  if(c->parsed)
    return mw__compose_fail(c, "%s", "a ready-made message cannot take "
                                     "more parts");
  if(!name)
    name = base_name(path);
  mw_status st = mw__compose_check_value(c, "the file name", name);
  if(st)
    return st;
  if(!*name)
    return mw__compose_fail(c, "%s", "the file name is empty");
  if(type && !is_mime_type(type))
    return mw__compose_fail(c, "'%.100s' is not a MIME type (type/subtype)",
                            type);
  if(cid) {
    for(const unsigned char *p = (const unsigned char *)cid; *p; p++)
      if(*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\\",;:", *p))
        return mw__compose_fail(c, "Content-ID '%.100s' may hold only "
                                   "printable ASCII without spaces, "
                                   "brackets or quotes (rename the file or "
                                   "give another id)",
                                cid);
    if(!*cid)
      return mw__compose_fail(c, "%s", "the Content-ID is empty");
    for(size_t i = 0; i < c->nfiles; i++)
      if(c->files[i].cid && strcmp(c->files[i].cid, cid) == 0)
        return mw__compose_fail(c, "Content-ID '%.100s' is given twice",
                                cid);
  }
  char *guessed = type ? mw__strdup(type) : NULL;
  if(type && !guessed)
    return MW_E_NOMEM;
  st = probe_file(c, path, &guessed);
  if(st) {
    mw__free(guessed);
    return st;
  }
  struct mw__compose_file *f = mw__realloc(c->files,
                                           (c->nfiles + 1) * sizeof(*f));
  if(!f) {
    mw__free(guessed);
    return MW_E_NOMEM;
  }
  c->files = f;
  f += c->nfiles;
  f->path = mw__strdup(path);
  f->name = mw__strdup(name);
  f->type = guessed;
  f->cid = cid ? mw__strdup(cid) : NULL;
  if(!f->path || !f->name || (cid && !f->cid)) {
    mw__free(f->path);
    mw__free(f->name);
    mw__free(f->type);
    mw__free(f->cid);
    return MW_E_NOMEM;
  }
  c->nfiles++;
  return MW_OK;
}

mw_status mw__mime_add_attachment(mw_compose *c, const char *path,
                                    const char *name, const char *type)
{
  return add_file(c, path, name, type, NULL);
}

mw_status mw__mime_add_inline(mw_compose *c, const char *path,
                                const char *content_id, const char *type)
{
  if(!c || !path)
    return MW_E_INVALID;
  return add_file(c, path, NULL, type,
                  content_id ? content_id : base_name(path));
}

/* A text part holding UTF-8 bytes as they are (g_mime_text_part_set_text
 * would re-encode to the narrowest charset, such as ISO-8859-1), with the
 * narrowest encoding 7-bit transport allows. */
static GMimeObject *text_part(const char *subtype, const char *text,
                              size_t len)
{
  GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);
  GMimeStream *content = g_mime_stream_mem_new_with_buffer(text ? text : "",
                                                           text ? len : 0);
  GMimeDataWrapper *wrapper = g_mime_data_wrapper_new_with_stream(
      content, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content(GMIME_PART(part), wrapper);
  g_object_unref(wrapper);
  g_object_unref(content);
  g_mime_text_part_set_charset(part, "utf-8");
  g_mime_part_set_content_encoding(
      GMIME_PART(part),
      g_mime_part_get_best_content_encoding(GMIME_PART(part),
                                            GMIME_ENCODING_CONSTRAINT_7BIT));
  return GMIME_OBJECT(part);
}

/* A part whose content is the file, read when the message is written. */
static GMimeObject *file_part(mw_compose *c, const struct mw__compose_file *f)
{
  GError *gerr = NULL;
  GMimeStream *fs = g_mime_stream_fs_open(f->path, O_RDONLY | O_CLOEXEC, 0,
                                          &gerr);
  if(!fs) {
    snprintf(c->error, sizeof(c->error), "cannot read '%.150s': %s",
             f->path, gerr ? gerr->message : "open failed");
    if(gerr)
      g_error_free(gerr);
    return NULL;
  }
  char type[128];
  snprintf(type, sizeof(type), "%s", f->type);
  char *slash = strchr(type, '/');
  *slash = '\0';
  GMimePart *part = g_mime_part_new_with_type(type, slash + 1);
  GMimeDataWrapper *wrapper = g_mime_data_wrapper_new_with_stream(
      fs, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content(part, wrapper);
  g_object_unref(wrapper);
  g_object_unref(fs);
  g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
  g_mime_part_set_filename(part, f->name);
  if(f->cid) {
    g_mime_object_set_disposition(GMIME_OBJECT(part), "inline");
    g_mime_object_set_content_id(GMIME_OBJECT(part), f->cid);
  }
  return GMIME_OBJECT(part);
}

static GMimeObject *multipart(const char *subtype, GMimeObject *first)
{
  GMimeMultipart *m = g_mime_multipart_new_with_subtype(subtype);
  g_mime_multipart_add(m, first);
  g_object_unref(first);
  return GMIME_OBJECT(m);
}

static bool add_files(mw_compose *c, GMimeObject *to, bool inline_parts)
{
  for(size_t i = 0; i < c->nfiles; i++) {
    if((c->files[i].cid != NULL) != inline_parts)
      continue;
    GMimeObject *p = file_part(c, &c->files[i]);
    if(!p)
      return false;
    g_mime_multipart_add(GMIME_MULTIPART(to), p);
    g_object_unref(p);
  }
  return true;
}

GMimeObject *mw__compose_body(mw_compose *c, mw_status *st)
{
  *st = MW_E_IO; /* a file that cannot be opened, unless said below */
  size_t ninline = 0;
  for(size_t i = 0; i < c->nfiles; i++)
    ninline += c->files[i].cid != NULL;
  if(ninline && !c->html) {
    *st = mw__compose_fail(c, "%s", "inline parts are referenced from an "
                                    "HTML part (cid:...): give the HTML "
                                    "too");
    return NULL;
  }
  GMimeObject *body = text_part("plain", c->body, c->body_len);
  if(c->html) {
    GMimeObject *html = text_part("html", c->html, c->html_len);
    if(ninline) {
      html = multipart("related", html);
      g_mime_object_set_content_type_parameter(html, "type", "text/html");
      if(!add_files(c, html, true)) {
        g_object_unref(html);
        g_object_unref(body);
        return NULL;
      }
    }
    /* Without a text body, the HTML stands alone. */
    if(!c->body_len) {
      g_object_unref(body);
      body = html;
    }
    else {
      body = multipart("alternative", body);
      g_mime_multipart_add(GMIME_MULTIPART(body), html);
      g_object_unref(html);
    }
  }
  if(c->nfiles > ninline) {
    body = multipart("mixed", body);
    if(!add_files(c, body, false)) {
      g_object_unref(body);
      return NULL;
    }
  }
  *st = MW_OK;
  return body;
}

/* Writes the message to stream: its header block checked first. */
static mw_status write_message(mw_compose *c, GMimeStream *out)
{
  GMimeMessage *msg = NULL;
  mw_status st = mw__compose_build(c, &msg);
  if(st)
    return st;
  GMimeFormatOptions *fo = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  if(!c->parsed) {
    char *head = g_mime_object_get_headers(GMIME_OBJECT(msg), fo);
    st = head ? mw__compose_check_header_block(c, head, strlen(head))
              : MW_E_NOMEM;
    g_free(head);
  }
  /* No flush: a file stream writes through (and fsync, which GMime's
   * flush is, fails on a pipe or /dev/null). */
  if(!st && g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, out) < 0) {
    mw__compose_fail(c, "%s", "could not write the message (a file "
                              "changed or vanished, or the output failed)");
    st = MW_E_IO;
  }
  g_mime_format_options_free(fo);
  g_object_unref(msg);
  return st;
}

mw_status mw__mime_write_fd(mw_compose *c, int fd)
{
  if(!c || fd < 0)
    return MW_E_INVALID;
  int copy = dup(fd);
  if(copy < 0)
    return mw__compose_fail(c, "cannot write the message: %s",
                            strerror(errno));
  /* A file stream seeks, which a pipe or socket cannot: those get a pipe
   * stream.  Either owns copy. */
  GMimeStream *out;
  if(lseek(copy, 0, SEEK_CUR) < 0) {
    out = g_mime_stream_pipe_new(copy);
    g_mime_stream_pipe_set_owner(GMIME_STREAM_PIPE(out), TRUE);
  }
  else {
    out = g_mime_stream_fs_new(copy);
    g_mime_stream_fs_set_owner(GMIME_STREAM_FS(out), TRUE);
  }
  mw_status st = write_message(c, out);
  g_object_unref(out);
  return st;
}

/* Why a temporary file between GMime and the socket (and not a GMime
 * stream writing into the SMTP session): GMime writes push-style, the
 * whole message in one g_mime_object_write_to_stream() call, while the
 * SMTP machine pulls the data a chunk at a time from a mw_read_fn inside
 * its own non-blocking loop; and mw_smtp_send() needs the message's size,
 * 8-bit content and longest line (MAIL FROM's SIZE= and BODY=, the 998
 * limit) before the first byte goes.  The rendered message in a file
 * gives both with memory bounded by GMime's and stdio's buffers: the
 * attachments are read through GMimeStreamFs and the encoding filters a
 * few KiB at a time, written out, scanned, then read back in
 * MW__SMTP_DATA_CHUNK pieces (and can be read again, by a retry or the
 * outbox).  It costs disk space for the encoded size (about 4/3 of the
 * attachments) and one pass through the page cache.
 *
 * The file: in $TMPDIR (else /tmp), mode 0600, unlinked from the start
 * (O_TMPFILE where the file system has it, else mkstemp and unlink), so
 * nothing is left behind whatever way the process ends. */
static FILE *temp_file(void)
{
  const char *dir = getenv("TMPDIR");
  if(!dir || !*dir)
    dir = "/tmp";
  int fd = -1;
#ifdef O_TMPFILE
  fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if(fd < 0) {
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/mailwire-XXXXXX", dir);
    if(n < 0 || (size_t)n >= sizeof(path)) {
      errno = ENAMETOOLONG;
      return NULL;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if(fd < 0)
      return NULL;
    unlink(path);
  }
  FILE *f = fdopen(fd, "w+b");
  if(!f) {
    int saved = errno;
    g_close(fd, NULL);
    errno = saved;
  }
  return f;
}

mw_status mw__mime_open(mw_compose *c, uint64_t *size)
{
  if(!c)
    return MW_E_INVALID;
  if(!c->rendered) {
    FILE *f = temp_file();
    if(!f)
      return mw__compose_fail(c, "cannot create a temporary file: %s",
                              strerror(errno));
    mw_status st = mw__mime_write_fd(c, fileno(f));
    if(st) {
      fclose(f);
      return st;
    }
    c->rendered = f;
  }
  if(fseeko(c->rendered, 0, SEEK_END) != 0)
    return mw__compose_fail(c, "%s", "cannot rewind the rendered message");
  off_t end = ftello(c->rendered);
  if(size)
    *size = end < 0 ? 0 : (uint64_t)end;
  rewind(c->rendered);
  return MW_OK;
}

mw_status mw__mime_read(void *user, char *buf, size_t len, size_t *got)
{
  mw_compose *c = user;
  *got = 0;
  if(!c || !c->rendered)
    return MW_E_IO;
  *got = fread(buf, 1, len, c->rendered);
  return ferror(c->rendered) ? MW_E_IO : MW_OK;
}
