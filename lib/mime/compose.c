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
#include "mime/compose_int.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* GMime is set up on the first composer, once per process even when two
 * threads make their first one at the same time (g_mime_init() itself
 * only counts calls, without a lock). */
static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_start(void)
{
  g_mime_init();
}

mw_compose *mw__mime_new(void)
{
  pthread_once(&gmime_once, gmime_start);
  return mw__calloc(1, sizeof(struct mw_compose));
}

static void free_list(char **list, size_t n)
{
  for(size_t i = 0; i < n; i++)
    mw__free(list[i]);
  mw__free(list);
}

void mw__mime_free(mw_compose *c)
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
  mw__free(c->html);
  mw__compose_files_free(c);
  mw__compose_parsed_free(c);
  if(c->rendered)
    fclose(c->rendered);
  mw__free(c);
}

const char *mw__mime_error(const mw_compose *c)
{
  return c ? c->error : "";
}

mw_status mw__compose_fail(mw_compose *c, const char *fmt,
                           const char *what)
{
  snprintf(c->error, sizeof(c->error), fmt, what);
  return MW_E_MESSAGE;
}

/* Refuses what could break out of a header: CR, LF, NUL-less controls. */
mw_status mw__compose_check_value(mw_compose *c, const char *what,
                                  const char *value)
{
  if(!value)
    return mw__compose_fail(c, "%s is missing", what);
  for(const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if(*p == '\r' || *p == '\n')
      return mw__compose_fail(c, "%s contains a line break (CR or LF): "
                             "refused, it could inject headers",
                          what);
    if((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return mw__compose_fail(c, "%s contains a control character", what);
  }
  if(!g_utf8_validate(value, -1, NULL))
    return mw__compose_fail(c, "%s is not valid UTF-8", what);
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

/* One mailbox per call (see mw_mailbox_check()): the header must name
 * the mailboxes the envelope carries, no more, so a list, a group or a
 * second address is refused here rather than split or passed to GMime,
 * which would render every one of them. */
static mw_status check_mailbox(mw_compose *c, const char *what,
                               const char *mailbox)
{
  mw_status st = mw__compose_check_value(c, what, mailbox);
  if(st)
    return st;
  const char *why = NULL;
  if(mw_mailbox_check(mailbox, NULL, 0, &why) == MW_MAILBOX_OK)
    return MW_OK;
  snprintf(c->error, sizeof(c->error), "%s '%.120s%s' %s", what, mailbox,
           strlen(mailbox) > 120 ? "..." : "", why);
  return MW_E_INVALID;
}

mw_status mw__mime_set_from(mw_compose *c, const char *mailbox)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = check_mailbox(c, "the From address", mailbox);
  if(st)
    return st;
  return mw__replace_string(&c->from, mailbox) ? MW_OK : MW_E_NOMEM;
}

mw_status mw__mime_add_to(mw_compose *c, const char *mailbox)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = check_mailbox(c, "a To address", mailbox);
  return st ? st : push(&c->to, &c->nto, mailbox);
}

mw_status mw__mime_add_cc(mw_compose *c, const char *mailbox)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = check_mailbox(c, "a Cc address", mailbox);
  return st ? st : push(&c->cc, &c->ncc, mailbox);
}

mw_status mw__mime_set_subject(mw_compose *c, const char *utf8)
{
  if(!c)
    return MW_E_INVALID;
  mw_status st = mw__compose_check_value(c, "the subject", utf8);
  if(st)
    return st;
  return mw__replace_string(&c->subject, utf8) ? MW_OK : MW_E_NOMEM;
}

mw_status mw__mime_set_body(mw_compose *c, const char *utf8, size_t len)
{
  if(!c || (!utf8 && len))
    return MW_E_INVALID;
  if(memchr(utf8 ? utf8 : "", '\0', len))
    return mw__compose_fail(c, "%s contains a NUL byte", "the body");
  if(len && !g_utf8_validate(utf8, (gssize)len, NULL))
    return mw__compose_fail(c, "%s is not valid UTF-8", "the body");
  /* Line endings to LF (GMime writes CRLF): a bare CR would otherwise
   * survive into a 7-bit body and become a line break only on the wire. */
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
  mw__free(c->body);
  c->body = copy;
  c->body_len = n;
  return MW_OK;
}

mw_status mw__mime_add_header(mw_compose *c, const char *name,
                                const char *value)
{
  if(!c)
    return MW_E_INVALID;
  if(!name || !*name)
    return mw__compose_fail(c, "%s", "a header has an empty name");
  for(const unsigned char *p = (const unsigned char *)name; *p; p++)
    if(*p <= 0x20 || *p >= 0x7f || *p == ':')
      return mw__compose_fail(c, "header name '%s' is not a valid field name",
                          name);
  if(strlen(name) > 76)
    return mw__compose_fail(c, "header name '%.40s...' is longer than 76 "
                           "characters",
                        name);
  /* The fields the composer writes itself: a second copy would contradict
   * the first (RFC 5322 3.6 allows each once). */
  static const char *const owned[] = {
      "Date", "From", "To", "Cc", "Bcc", "Subject", "Message-Id",
      "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};
  for(size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
    if(mw__strieq(name, owned[i]))
      return mw__compose_fail(c, "header '%s' is written by mailwire itself "
                             "(use {from}, {to}, {cc}, {subject}, or "
                             "{message} for a complete message)",
                          owned[i]);
  for(size_t i = 0; i < c->nheaders; i++)
    if(mw__strieq(name, c->headers[i].name))
      return mw__compose_fail(c, "header '%s' is given twice", name);
  mw_status st = mw__compose_check_value(c, "a header value", value);
  if(st)
    return st;
  struct mw__compose_header *h = mw__realloc(c->headers,
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
    /* GMime 3.2 leaks on an unterminated comment ("a@[192.0.2.1](");
     * such an address is invalid anyway. */
    int depth = 0;
    bool quoted = false;
    for(const char *p = list[i]; *p && depth >= 0; p++) {
      if(*p == '\\' && p[1])
        p++;
      else if(*p == '"')
        quoted = !quoted;
      else if(!quoted && *p == '(')
        depth++;
      else if(!quoted && *p == ')')
        depth--;
    }
    if(depth != 0 || quoted) {
      snprintf(c->error, sizeof(c->error),
               "%s '%s' has unbalanced parentheses or quotes", what,
               list[i]);
      return false;
    }
    /* Exactly one: the setters checked it; GMime must agree. */
    InternetAddressList *parsed = internet_address_list_parse(NULL, list[i]);
    if(!parsed || internet_address_list_length(parsed) != 1 ||
       !INTERNET_ADDRESS_IS_MAILBOX(
           internet_address_list_get_address(parsed, 0))) {
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

/* The last fence against header injection: every line of the rendered
 * header block is a field mailwire wrote (its own or one the caller
 * added) or a folded continuation, and none exceeds 998 bytes.  GMime 3.2
 * can break a fold when a value holds "=?" and non-ASCII text, which would
 * start a line with arbitrary text. */
mw_status mw__compose_check_header_block(mw_compose *c, const char *msg,
                                         size_t len)
{
  static const char *const own[] = {
      "Date", "From", "To", "Cc", "Subject", "Message-Id", "MIME-Version",
      "Content-Type", "Content-Transfer-Encoding"};
  size_t i = 0;
  while(i < len) {
    const char *ln = msg + i;
    const char *eol = memchr(ln, '\n', len - i);
    size_t ll = eol ? (size_t)(eol - ln) : len - i;
    if(ll && ln[ll - 1] == '\r')
      ll--;
    if(ll == 0)
      return MW_OK; /* the blank line: headers end */
    if(ll > 998)
      return mw__compose_fail(c, "%s", "a header line would exceed 998 bytes "
                                   "(an over-long address or header)");
    if(ln[0] != ' ' && ln[0] != '\t') {
      const char *colon = memchr(ln, ':', ll);
      size_t nl = colon ? (size_t)(colon - ln) : 0;
      bool ok = false;
      for(size_t k = 0; nl && k < sizeof(own) / sizeof(own[0]); k++)
        ok |= strlen(own[k]) == nl && mw__strnieq(ln, own[k], nl);
      for(size_t k = 0; nl && !ok && k < c->nheaders; k++)
        ok = strlen(c->headers[k].name) == nl &&
             mw__strnieq(ln, c->headers[k].name, nl);
      if(!ok)
        return mw__compose_fail(c, "%s", "a header value could not be folded "
                                     "safely (it mixes \"=?\" with "
                                     "non-ASCII text): refused");
    }
    if(!eol)
      break;
    i = (size_t)(eol - msg) + 1;
  }
  return MW_OK;
}

char *mw__compose_message_id(const char *from)
{
  /* The From domain as a dot-atom (RFC 5322 msg-id): letters, digits,
   * '-' and single dots, cut at anything else ("example.org(Alice)"), so
   * a bracketed or unusual From still yields an id. */
  char domain[256];
  const char *src = domain_of(from);
  size_t dn = 0;
  for(; src[dn] && dn < sizeof(domain) - 1; dn++) {
    char ch = src[dn];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' ||
              (ch == '.' && dn && domain[dn - 1] != '.');
    if(!ok)
      break;
    domain[dn] = ch;
  }
  while(dn && domain[dn - 1] == '.')
    dn--;
  domain[dn] = '\0';
  return g_mime_utils_generate_message_id(domain[0] && domain[0] != '.'
                                              ? domain
                                              : "mailwire.invalid");
}

/* A ready-made message: Date and Message-ID added when absent, Bcc
 * removed (the envelope carries those recipients; the header must not
 * show them to the others). */
static mw_status build_parsed(mw_compose *c, GMimeMessage **out)
{
  GMimeMessage *msg = c->parsed;
  GMimeObject *obj = GMIME_OBJECT(msg);
  if(c->from && internet_address_list_length(
                    g_mime_message_get_from(msg)) == 0 &&
     !add_addresses(c, g_mime_message_get_from(msg), &c->from, 1, "From"))
    return MW_E_MESSAGE;
  while(g_mime_object_remove_header(obj, "Bcc"))
    ;
  /* A message that ends inside its header (no empty line, no final line
   * break) leaves the last raw value without its line break: GMime would
   * write the next field on the same line ("Subject: xDate: ..."). */
  GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
  for(int i = 0; i < g_mime_header_list_get_count(hl); i++) {
    GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
    const char *raw = g_mime_header_get_raw_value(h);
    size_t rl = raw ? strlen(raw) : 0;
    if(raw && (!rl || raw[rl - 1] != '\n')) {
      char *fixed = g_strconcat(raw, "\n", NULL);
      g_mime_header_set_raw_value(h, fixed);
      g_free(fixed);
    }
  }
  if(!g_mime_message_get_date(msg)) {
    GDateTime *now = g_date_time_new_now_local();
    g_mime_message_set_date(msg, now);
    g_date_time_unref(now);
  }
  if(!g_mime_message_get_message_id(msg)) {
    char *id = mw__compose_message_id(c->sender ? c->sender : c->from);
    g_mime_message_set_message_id(msg, id);
    g_free(id);
  }
  g_object_ref(msg);
  *out = msg;
  return MW_OK;
}

static mw_status build_message(mw_compose *c, GMimeMessage **out)
{
  *out = NULL;
  if(c->parsed)
    return build_parsed(c, out);
  if(!c->from)
    return mw__compose_fail(c, "%s", "the message has no From address");
  GMimeMessage *msg = g_mime_message_new(TRUE);
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
  char *msgid = mw__compose_message_id(c->from);
  g_mime_message_set_message_id(msg, msgid);
  g_free(msgid);
  for(size_t i = 0; i < c->nheaders; i++)
    g_mime_object_append_header(GMIME_OBJECT(msg), c->headers[i].name,
                                c->headers[i].value, "utf-8");
  mw_status st = MW_OK;
  GMimeObject *body = mw__compose_body(c, &st);
  if(!body) {
    g_object_unref(msg);
    return st;
  }
  g_mime_message_set_mime_part(msg, body);
  g_object_unref(body);
  *out = msg;
  return MW_OK;
}

mw_status mw__compose_build(mw_compose *c, GMimeMessage **out)
{
  mw_status st = build_message(c, out);
  if(!st && c->seven_bit && (st = mw__compose_encode_7bit(c, *out))) {
    g_object_unref(*out);
    *out = NULL;
  }
  return st;
}

mw_status mw__mime_render(mw_compose *c, char **out, size_t *len)
{
  if(!c || !out || !len)
    return MW_E_INVALID;
  *out = NULL;
  *len = 0;
  GMimeMessage *msg = NULL;
  mw_status st = mw__compose_build(c, &msg);
  if(st)
    return st;
  GMimeStream *mem = g_mime_stream_mem_new();
  GMimeFormatOptions *fo = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  if(g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, mem) < 0) {
    st = mw__compose_fail(c, "%s", "GMime could not write the message");
  }
  else {
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(
        GMIME_STREAM_MEM(mem));
    st = c->parsed ? MW_OK
                   : mw__compose_check_header_block(
                         c, (const char *)bytes->data, bytes->len);
    if(!st) {
      *out = mw__strndup((const char *)bytes->data, bytes->len);
      if(!*out)
        st = MW_E_NOMEM;
      else
        *len = bytes->len;
    }
  }
  g_mime_format_options_free(fo);
  g_object_unref(mem);
  g_object_unref(msg);
  return st;
}
