/*
 * mime/compose.c - builds an RFC 5322 message with GMime 3.
 *
 * Owns: mw_compose.  GMime does the encoding work (RFC 2047 encoded words
 * for non-ASCII headers, the best Content-Transfer-Encoding for the body,
 * Message-ID and Date); this file only validates input and assembles.
 * Header values containing CR or LF are refused here, before GMime sees
 * them, so no caller can inject a header.
 */
#include "mailwire.h"

#include "core/util.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

struct header {
  char *name;
  char *value;
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
  struct header *headers;
  size_t nheaders;
  char error[256];
};

static bool gmime_ready;

mw_compose *mw_compose_new(void)
{
  if(!gmime_ready) {
    g_mime_init();
    gmime_ready = true;
  }
  return mw__calloc(1, sizeof(struct mw_compose));
}

static void free_list(char **list, size_t n)
{
  for(size_t i = 0; i < n; i++)
    mw__free(list[i]);
  mw__free(list);
}

void mw_compose_free(mw_compose *c)
{
  if(!c)
    return;
  mw__free(c->from);
  free_list(c->to, c->nto);
  free_list(c->cc, c->ncc);
  mw__free(c->subject);
  mw__free(c->body);
  for(size_t i = 0; i < c->nheaders; i++) {
    mw__free(c->headers[i].name);
    mw__free(c->headers[i].value);
  }
  mw__free(c->headers);
  mw__free(c);
}

const char *mw_compose_error(const mw_compose *c)
{
  return c ? c->error : "";
}

static mw_status compose_fail(mw_compose *c, const char *fmt,
                              const char *what)
{
  snprintf(c->error, sizeof(c->error), fmt, what);
  return MW_E_MESSAGE;
}

/* Refuses what could break out of a header: CR, LF, NUL-less controls. */
static mw_status check_value(mw_compose *c, const char *what,
                             const char *value)
{
  if(!value)
    return compose_fail(c, "%s is missing", what);
  for(const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if(*p == '\r' || *p == '\n')
      return compose_fail(c, "%s contains a line break (CR or LF): "
                             "refused, it could inject headers",
                          what);
    if((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return compose_fail(c, "%s contains a control character", what);
  }
  if(!g_utf8_validate(value, -1, NULL))
    return compose_fail(c, "%s is not valid UTF-8", what);
  return MW_OK;
}

static mw_status push(char ***list, size_t *n, const char *value)
{
  char **p = mw__realloc(*list, (*n + 1) * sizeof(*p));
  if(!p)
    return MW_E_NOMEM;
  *list = p;
  if(!(p[*n] = mw__strdup(value)))
    return MW_E_NOMEM;
  (*n)++;
  return MW_OK;
}

mw_status mw_compose_set_from(mw_compose *c, const char *mailbox)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = check_value(c, "the From address", mailbox);
  if(st)
    return st;
  return mw__replace_string(&c->from, mailbox) ? MW_OK : MW_E_NOMEM;
}

mw_status mw_compose_add_to(mw_compose *c, const char *mailbox)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = check_value(c, "a To address", mailbox);
  return st ? st : push(&c->to, &c->nto, mailbox);
}

mw_status mw_compose_add_cc(mw_compose *c, const char *mailbox)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = check_value(c, "a Cc address", mailbox);
  return st ? st : push(&c->cc, &c->ncc, mailbox);
}

mw_status mw_compose_set_subject(mw_compose *c, const char *utf8)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = check_value(c, "the subject", utf8);
  if(st)
    return st;
  return mw__replace_string(&c->subject, utf8) ? MW_OK : MW_E_NOMEM;
}

mw_status mw_compose_set_body(mw_compose *c, const char *utf8, size_t len)
{
  if(!c || (!utf8 && len))
    return MW_E_INVALID;
  if(memchr(utf8 ? utf8 : "", '\0', len))
    return compose_fail(c, "%s contains a NUL byte", "the body");
  if(len && !g_utf8_validate(utf8, (gssize)len, NULL))
    return compose_fail(c, "%s is not valid UTF-8", "the body");
  char *copy = mw__strndup(utf8 ? utf8 : "", len);
  if(!copy)
    return MW_E_NOMEM;
  mw__free(c->body);
  c->body = copy;
  c->body_len = len;
  return MW_OK;
}

mw_status mw_compose_add_header(mw_compose *c, const char *name,
                                const char *value)
{
  if(!c)
    return MW_E_INVALID;
  if(!name || !*name)
    return compose_fail(c, "%s", "a header has an empty name");
  for(const unsigned char *p = (const unsigned char *)name; *p; p++)
    if(*p <= 0x20 || *p >= 0x7f || *p == ':')
      return compose_fail(c, "header name '%s' is not a valid field name",
                          name);
  mw_status st = check_value(c, "a header value", value);
  if(st)
    return st;
  struct header *h = mw__realloc(c->headers,
                                 (c->nheaders + 1) * sizeof(*h));
  if(!h)
    return MW_E_NOMEM;
  c->headers = h;
  h[c->nheaders].name = mw__strdup(name);
  h[c->nheaders].value = mw__strdup(value);
  if(!h[c->nheaders].name || !h[c->nheaders].value) {
    mw__free(h[c->nheaders].name);
    mw__free(h[c->nheaders].value);
    return MW_E_NOMEM;
  }
  c->nheaders++;
  return MW_OK;
}

static bool add_addresses(mw_compose *c, InternetAddressList *dest,
                          char **list, size_t n, const char *what)
{
  for(size_t i = 0; i < n; i++) {
    InternetAddressList *parsed = internet_address_list_parse(NULL, list[i]);
    if(!parsed || internet_address_list_length(parsed) == 0) {
      if(parsed)
        g_object_unref(parsed);
      snprintf(c->error, sizeof(c->error), "%s '%s' is not a valid address",
               what, list[i]);
      return false;
    }
    internet_address_list_append(dest, parsed);
    g_object_unref(parsed);
  }
  return true;
}

static const char *domain_of(const char *addr)
{
  const char *at = addr ? strrchr(addr, '@') : NULL;
  if(!at || !at[1])
    return "mailwire.invalid";
  return at + 1;
}

mw_status mw_compose_render(mw_compose *c, char **out, size_t *len)
{
  if(!c || !out || !len)
    return MW_E_INVALID;
  *out = NULL;
  *len = 0;
  if(!c->from)
    return compose_fail(c, "%s", "the message has no From address");
  GMimeMessage *msg = g_mime_message_new(TRUE);
  mw_status st = MW_OK;
  if(!add_addresses(c, g_mime_message_get_from(msg), &c->from, 1, "From") ||
     !add_addresses(c, g_mime_message_get_to(msg), c->to, c->nto, "To") ||
     !add_addresses(c, g_mime_message_get_cc(msg), c->cc, c->ncc, "Cc")) {
    g_object_unref(msg);
    return MW_E_MESSAGE;
  }
  g_mime_message_set_subject(msg, c->subject ? c->subject : "", "utf-8");
  GDateTime *now = g_date_time_new_now_local();
  g_mime_message_set_date(msg, now);
  g_date_time_unref(now);
  /* The From domain: a bracketed or unusual From still yields an id. */
  char *at = strrchr(c->from, '@');
  char domain[256];
  snprintf(domain, sizeof(domain), "%s", domain_of(at ? c->from : NULL));
  domain[strcspn(domain, "> \t")] = '\0';
  char *msgid = g_mime_utils_generate_message_id(domain[0] ? domain
                                                          : "mailwire");
  g_mime_message_set_message_id(msg, msgid);
  g_free(msgid);
  for(size_t i = 0; i < c->nheaders; i++)
    g_mime_object_append_header(GMIME_OBJECT(msg), c->headers[i].name,
                                c->headers[i].value, "utf-8");
  /* The body's UTF-8 bytes as they are (g_mime_text_part_set_text would
   * re-encode to the narrowest charset, such as ISO-8859-1). */
  GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
  GMimeStream *content = g_mime_stream_mem_new_with_buffer(
      c->body ? c->body : "", c->body ? c->body_len : 0);
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
  g_mime_message_set_mime_part(msg, GMIME_OBJECT(part));
  g_object_unref(part);

  GMimeStream *mem = g_mime_stream_mem_new();
  GMimeFormatOptions *fo = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  if(g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, mem) < 0) {
    st = compose_fail(c, "%s", "GMime could not write the message");
  }
  else {
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(
        GMIME_STREAM_MEM(mem));
    *out = mw__strndup((const char *)bytes->data, bytes->len);
    if(!*out)
      st = MW_E_NOMEM;
    else
      *len = bytes->len;
  }
  g_mime_format_options_free(fo);
  g_object_unref(mem);
  g_object_unref(msg);
  return st;
}
