/*
 * mime/compose_7bit.c - writing a message 7-bit clean, for a server that
 * does not offer 8BITMIME (RFC 6152): mw_compose_set_7bit().
 *
 * DESCRIPTION
 *   Every leaf part whose content is not already quoted-printable or
 *   base64 (none, 7bit, 8bit or binary) is measured by GMime under the
 *   7-bit constraint (g_mime_part_get_best_content_encoding: it reads the
 *   content through a filter, in chunks); when that is quoted-printable
 *   or base64 the part's Content-Transfer-Encoding is changed and GMime
 *   re-encodes the content as the message is written.  Mostly-ASCII
 *   text becomes quoted-printable, the rest base64; a 7-bit part is left
 *   as it is.  Parts of an attached message (message/rfc822) are treated
 *   the same way.  No byte is encoded by hand here.
 *
 *   Header text is not changed: raw 8-bit bytes in a header need
 *   SMTPUTF8 (RFC 6531), which mw_smtp_send() asks for or refuses.  The
 *   caller scans the result again (mw_message_info_scan_reader): what is
 *   still 8-bit is refused by mw_smtp_send(), never sent raw.
 */
#include "mime/compose_int.h"

struct encode_walk {
  int depth;
};

static void encode_part(GMimeObject *parent, GMimeObject *part, gpointer user)
{
  (void)parent;
  struct encode_walk *w = user;
  if(GMIME_IS_MESSAGE_PART(part)) {
    GMimeMessage *inner =
        g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
    if(inner && w->depth < 8) {
      w->depth++;
      g_mime_message_foreach(inner, encode_part, w);
      w->depth--;
    }
    return;
  }
  if(!GMIME_IS_PART(part))
    return; /* a multipart: its children come on their own */
  GMimePart *leaf = GMIME_PART(part);
  switch(g_mime_part_get_content_encoding(leaf)) {
  case GMIME_CONTENT_ENCODING_DEFAULT:
  case GMIME_CONTENT_ENCODING_7BIT:
  case GMIME_CONTENT_ENCODING_8BIT:
  case GMIME_CONTENT_ENCODING_BINARY:
    break;
  default:
    return; /* quoted-printable, base64, uuencode: 7-bit already */
  }
  if(!g_mime_part_get_content(leaf))
    return;
  GMimeContentEncoding best =
      g_mime_part_get_best_content_encoding(leaf,
                                            GMIME_ENCODING_CONSTRAINT_7BIT);
  if(best == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
     best == GMIME_CONTENT_ENCODING_BASE64)
    g_mime_part_set_content_encoding(leaf, best);
}

mw_status mw__compose_encode_7bit(mw_compose *c, GMimeMessage *msg)
{
  (void)c;
  struct encode_walk w = {0};
  g_mime_message_foreach(msg, encode_part, &w);
  return MW_OK;
}

mw_status mw__mime_set_7bit(mw_compose *c, bool on)
{
  if(!c)
    return MW_E_INVALID;
  if(c->seven_bit != on && c->rendered) {
    /* Written before: the next mw_compose_open() writes it again. */
    fclose(c->rendered);
    c->rendered = NULL;
  }
  c->seven_bit = on;
  return MW_OK;
}
