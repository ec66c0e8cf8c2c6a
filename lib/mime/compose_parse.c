/*
 * mime/compose_parse.c - a ready-made message given to the composer
 * (sendmail -t): its recipients from To, Cc and Bcc, its sender, and the
 * fix-ups before it is sent (compose.c: Bcc removed, Date and Message-ID
 * added when absent).
 *
 * DESCRIPTION
 *   GMime parses the message from a seekable file descriptor and keeps
 *   the content where it is (a persistent stream): writing the message
 *   back copies it in chunks, and the headers mailwire does not touch are
 *   written as they came.  Addresses come from GMime's
 *   InternetAddressList, groups flattened ("team: a@x, b@y;" gives both).
 *
 * DIAGNOSTICS
 *   MW_E_INVALID (not a seekable descriptor), MW_E_MESSAGE (not a
 *   message, an address without '@'), MW_E_NOMEM.
 */
#include "core/util.h"
#include "mime/compose_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void mw__compose_parsed_free(mw_compose *c)
{
  if(c->parsed)
    g_object_unref(c->parsed);
  c->parsed = NULL;
  for(size_t i = 0; i < c->nrcpts; i++)
    mw__free(c->rcpts[i]);
  mw__free(c->rcpts);
  c->rcpts = NULL;
  c->nrcpts = 0;
  mw__free(c->sender);
  c->sender = NULL;
}

static mw_status push_rcpt(mw_compose *c, const char *addr)
{
  for(size_t i = 0; i < c->nrcpts; i++)
    if(mw__strieq(c->rcpts[i], addr))
      return MW_OK; /* once in the envelope, however often named */
  char **p = mw__realloc(c->rcpts, (c->nrcpts + 1) * sizeof(*p));
  if(!p)
    return MW_E_NOMEM;
  c->rcpts = p;
  if(!(p[c->nrcpts] = mw__strdup(addr)))
    return MW_E_NOMEM;
  c->nrcpts++;
  return MW_OK;
}

/* Every mailbox of list (group members included), depth-bounded. */
static mw_status collect(mw_compose *c, InternetAddressList *list,
                         const char *field, int depth)
{
  int n = list ? internet_address_list_length(list) : 0;
  for(int i = 0; i < n; i++) {
    InternetAddress *ia = internet_address_list_get_address(list, i);
    if(INTERNET_ADDRESS_IS_GROUP(ia)) {
      if(depth > 2)
        continue;
      mw_status st = collect(
          c, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
          field, depth + 1);
      if(st)
        return st;
      continue;
    }
    const char *addr = internet_address_mailbox_get_addr(
        INTERNET_ADDRESS_MAILBOX(ia));
    if(!addr || !strchr(addr, '@') || strpbrk(addr, " \t\r\n<>")) {
      snprintf(c->error, sizeof(c->error),
               "the %s header holds '%.120s', which is not an address",
               field, addr ? addr : "");
      return MW_E_MESSAGE;
    }
    mw_status st = push_rcpt(c, addr);
    if(st)
      return st;
  }
  return MW_OK;
}

/* The header block (from the current offset to the first empty line)
 * must hold no NUL byte: RFC 5322 forbids it, and GMime would cut the
 * header there when writing it back (the fields after it, Date and
 * Message-ID included, would vanish).  Read with pread, the offset kept. */
static mw_status check_header_nul(mw_compose *c, int fd, off_t start)
{
  char buf[4096];
  off_t pos = start;
  int state = 1; /* 1: at the start of a line; 2: after CR there */
  for(;;) {
    ssize_t n = pread(fd, buf, sizeof(buf), pos);
    if(n < 0)
      return mw__compose_fail(c, "cannot read the message: %s",
                              strerror(errno));
    if(n == 0)
      return MW_OK;
    for(ssize_t i = 0; i < n; i++) {
      char ch = buf[i];
      if(ch == '\0')
        return mw__compose_fail(c, "%s", "the message's header holds a NUL "
                                         "byte");
      if(ch == '\n' && state)
        return MW_OK; /* the empty line: the body follows */
      state = ch == '\n' ? 1 : ch == '\r' && state == 1 ? 2 : 0;
    }
    pos += n;
  }
}

mw_status mw__mime_set_message_fd(mw_compose *c, int fd)
{
  if(!c || fd < 0)
    return MW_E_INVALID;
  off_t start = lseek(fd, 0, SEEK_CUR);
  if(start < 0) {
    mw__compose_fail(c, "%s", "the message must come from a file (a "
                              "seekable descriptor)");
    return MW_E_INVALID;
  }
  if(c->body || c->html || c->nfiles || c->nheaders || c->subject ||
     c->nto || c->ncc)
    return mw__compose_fail(c, "%s", "a ready-made message replaces the "
                                     "composed one: give one or the other");
  mw__compose_parsed_free(c);
  mw_status hst = check_header_nul(c, fd, start);
  if(hst)
    return hst;
  int copy = dup(fd);
  if(copy < 0)
    return mw__compose_fail(c, "cannot read the message: %s",
                            strerror(errno));
  GMimeStream *in = g_mime_stream_fs_new(copy);
  g_mime_stream_fs_set_owner(GMIME_STREAM_FS(in), TRUE);
  GMimeParser *parser = g_mime_parser_new_with_stream(in);
  g_mime_parser_set_persist_stream(parser, TRUE);
  g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
  GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
  g_object_unref(parser);
  g_object_unref(in);
  if(!msg)
    return mw__compose_fail(c, "%s", "the input is not a message (no "
                                     "header block)");
  c->parsed = msg;
  static const struct {
    GMimeAddressType type;
    const char *name;
  } fields[] = {{GMIME_ADDRESS_TYPE_TO, "To"},
                {GMIME_ADDRESS_TYPE_CC, "Cc"},
                {GMIME_ADDRESS_TYPE_BCC, "Bcc"}};
  mw_status st = MW_OK;
  for(size_t i = 0; !st && i < sizeof(fields) / sizeof(fields[0]); i++)
    st = collect(c, g_mime_message_get_addresses(msg, fields[i].type),
                 fields[i].name, 0);
  InternetAddressList *from = g_mime_message_get_from(msg);
  for(int i = 0; !st && from && i < internet_address_list_length(from);
      i++) {
    InternetAddress *ia = internet_address_list_get_address(from, i);
    if(!INTERNET_ADDRESS_IS_MAILBOX(ia))
      continue;
    const char *addr = internet_address_mailbox_get_addr(
        INTERNET_ADDRESS_MAILBOX(ia));
    if(addr && strchr(addr, '@') && !strpbrk(addr, " \t\r\n<>")) {
      c->sender = mw__strdup(addr);
      if(!c->sender)
        st = MW_E_NOMEM;
    }
    break;
  }
  if(st)
    mw__compose_parsed_free(c);
  return st;
}

size_t mw__mime_recipient_count(const mw_compose *c)
{
  return c ? c->nrcpts : 0;
}

const char *mw__mime_recipient(const mw_compose *c, size_t i)
{
  return c && i < c->nrcpts ? c->rcpts[i] : NULL;
}

const char *mw__mime_sender(const mw_compose *c)
{
  return c ? c->sender : NULL;
}
