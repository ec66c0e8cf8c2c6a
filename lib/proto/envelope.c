/*
 * proto/envelope.c - envelopes, results, queue ids.
 */
#include "proto/envelope.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* ---- one address, one mailbox --------------------------------------------
 *
 * An option or API call that takes "an address" takes exactly one.  A list
 * ("b@x,evil@y"), group syntax ("team: a@x, b@y;") or two addresses
 * ("x <a@x> <c@x>") would otherwise reach the headers as several mailboxes
 * while the envelope carries one (or a different one): the headers would
 * show recipients the mail never went to, or hide one it did.  So the
 * envelope takes one RFC 5321 addr-spec, and the composer one RFC 5322
 * mailbox whose address is that same addr-spec. */

/* RFC 5322 atext, and UTF-8 bytes (RFC 6531/6532). */
static bool is_atext(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c >= 0x80 ||
         (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool is_domain_char(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c >= 0x80 || c == '-' || c == '.' ||
         c == '_';
}

/* Dot-atom text: no '.' first, last or next to another (a mail reader
 * would drop or reject it, and show another address than the envelope's).
 */
static bool dots_ok(const char *s, size_t n)
{
  if(s[0] == '.' || s[n - 1] == '.')
    return false;
  for(size_t i = 1; i < n; i++)
    if(s[i] == '.' && s[i - 1] == '.')
      return false;
  return true;
}

/* The problem with a[0, n) as one addr-spec, or NULL.  *several is set
 * when the text holds more than one address (a list or a group). */
static const char *addr_spec_problem(const char *a, size_t n, bool *several)
{
  *several = false;
  if(!n)
    return "address is empty";
  if(n > 320)
    return "address is longer than 320 bytes";
  /* Every byte, escaped or not, must be fit for a command line. */
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)a[i];
    if(c == '\r' || c == '\n')
      return "address contains a line break";
    if(c < 0x20 || c == 0x7f)
      return "address contains a control character";
    if(c == ' ')
      return "address contains a space";
    if(c == '<' || c == '>')
      return "address contains '<' or '>' (give the bare address)";
  }
  bool quoted = false, literal = false;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)a[i];
    if(quoted && c == '\\' && i + 1 < n)
      i++;
    else if(c == '"' && !literal)
      quoted = !quoted;
    else if(!quoted && c == '[')
      literal = true;
    else if(!quoted && c == ']')
      literal = false;
    else if(!quoted && !literal && (c == ',' || c == ';')) {
      *several = true;
      return "address holds a list: a ',' or ';' outside quotes separates "
             "addresses";
    }
    else if(!quoted && !literal && c == ':') {
      *several = true;
      return "address uses group syntax ('name: a@x, b@y;')";
    }
  }
  /* local-part: a quoted string or dot-atom text. */
  size_t i = 0;
  if(a[0] == '"') {
    for(i = 1; i < n && a[i] != '"'; i++)
      if(a[i] == '\\')
        i++;
    if(i >= n)
      return "address has an unterminated quoted local part";
    i++;
    if(i >= n || a[i] != '@')
      return "address has text between its quoted local part and '@'";
  }
  else {
    for(; i < n && a[i] != '@'; i++)
      if(!is_atext((unsigned char)a[i]) && a[i] != '.')
        return a[i] == '(' || a[i] == ')'
                   ? "address contains a comment in parentheses (give the "
                     "bare address)"
                   : "address contains a character not allowed outside "
                     "quotes in its local part";
    if(i == n)
      return "address has no '@'";
    if(i == 0)
      return "address has nothing before '@'";
    if(!dots_ok(a, i))
      return "address has a '.' at the start or end of its local part, or "
             "two in a row (quote such a local part)";
  }
  /* domain: a name or an address literal. */
  const char *d = a + i + 1;
  size_t dn = n - i - 1;
  if(!dn)
    return "address has nothing after '@'";
  if(d[0] == '[') {
    if(d[dn - 1] != ']' || dn < 3)
      return "address has a malformed address literal after '@'";
    for(size_t k = 1; k + 1 < dn; k++)
      if(d[k] == '[' || d[k] == ']' || d[k] == '\\')
        return "address has a malformed address literal after '@'";
    return NULL;
  }
  for(size_t k = 0; k < dn; k++) {
    if(d[k] == '@')
      return "address has more than one '@' outside quotes";
    if(!is_domain_char((unsigned char)d[k]))
      return "address has a character not allowed in a domain name";
  }
  if(!dots_ok(d, dn))
    return "address has an empty label in its domain ('.' at the start or "
           "end, or two in a row)";
  return NULL;
}

const char *mw__address_problem(const char *address, bool allow_empty)
{
  if(!address)
    return "address missing";
  if(!*address)
    return allow_empty ? NULL : "address is empty";
  bool several;
  return addr_spec_problem(address, strlen(address), &several);
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

mw_mailbox_verdict mw_mailbox_check(const char *text, char *addr,
                                    size_t addr_len, const char **why)
{
  const char *reason_store;
  if(!why)
    why = &reason_store;
  if(addr && addr_len)
    addr[0] = '\0';
  if(!text) {
    *why = "address missing";
    return MW_MAILBOX_INVALID;
  }
  for(const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if(*p == '\r' || *p == '\n') {
      *why = "address contains a line break";
      return MW_MAILBOX_INVALID;
    }
    if((*p < 0x20 && *p != '\t') || *p == 0x7f) {
      *why = "address contains a control character";
      return MW_MAILBOX_INVALID;
    }
  }
  const char *b = text, *e = text + strlen(text);
  while(b < e && is_blank(*b))
    b++;
  while(e > b && is_blank(e[-1]))
    e--;
  if(b == e) {
    *why = "address is empty";
    return MW_MAILBOX_INVALID;
  }
  /* Outside quoted strings and address literals: where the angle
   * brackets are, and whether a list or a group is being given. */
  const char *lt = NULL, *gt = NULL;
  int ats = 0, angles = 0;
  bool quoted = false, literal = false;
  for(const char *p = b; p < e; p++) {
    if(quoted && *p == '\\' && p + 1 < e) {
      p++;
      continue;
    }
    if(*p == '"' && !literal) {
      quoted = !quoted;
      continue;
    }
    if(quoted)
      continue;
    if(*p == '[')
      literal = true;
    else if(*p == ']')
      literal = false;
    if(literal)
      continue;
    if(*p == ',' || *p == ';') {
      *why = "holds a list: a ',' or ';' outside quotes separates "
             "addresses (quote a display name that has one: '\"Doe, Jane\" "
             "<jane@example.org>')";
      return MW_MAILBOX_SEVERAL;
    }
    if(*p == ':' && !lt) {
      *why = "uses group syntax ('name: a@x, b@y;')";
      return MW_MAILBOX_SEVERAL;
    }
    if(*p == '@')
      ats++;
    if(*p == '<') {
      angles++;
      if(!lt)
        lt = p;
    }
    if(*p == '>' && !gt)
      gt = p;
  }
  if(quoted) {
    *why = "has an unterminated quoted string";
    return MW_MAILBOX_INVALID;
  }
  if(angles > 1) {
    *why = "holds more than one address in angle brackets";
    return MW_MAILBOX_SEVERAL;
  }
  const char *spec = b, *spec_end = e;
  if(lt) {
    if(!gt || gt < lt) {
      *why = "has '<' without a closing '>'";
      return MW_MAILBOX_INVALID;
    }
    const char *after = gt + 1;
    while(after < e && is_blank(*after))
      after++;
    if(after < e) {
      bool another = memchr(after, '@', (size_t)(e - after)) != NULL;
      *why = another ? "holds a second address after the one in angle "
                       "brackets"
                     : "has text after the address's closing '>'";
      return another ? MW_MAILBOX_SEVERAL : MW_MAILBOX_INVALID;
    }
    /* The display name: words and quoted strings, no address in it; a
     * '.' may join words but not start the name (RFC 5322 obs-phrase). */
    if(*b == '.') {
      *why = "has a display name that starts with '.' (quote the name)";
      return MW_MAILBOX_INVALID;
    }
    quoted = false;
    for(const char *p = b; p < lt; p++) {
      if(quoted && *p == '\\' && p + 1 < lt) {
        p++;
        continue;
      }
      if(*p == '"') {
        quoted = !quoted;
        continue;
      }
      if(quoted)
        continue;
      if(*p == '@') {
        *why = "has an address in its display name as well as in angle "
               "brackets (quote the name if the '@' belongs to it)";
        return MW_MAILBOX_SEVERAL;
      }
      if(*p == '(' || *p == ')' || *p == '[' || *p == ']' ||
         *p == '\\' || *p == '>') {
        *why = "has a display name with a character that needs quotes";
        return MW_MAILBOX_INVALID;
      }
    }
    spec = lt + 1;
    spec_end = gt;
  }
  else if(ats > 1) {
    for(const char *p = b; p < e; p++)
      if(is_blank(*p)) {
        *why = "holds more than one address";
        return MW_MAILBOX_SEVERAL;
      }
  }
  else if(gt) {
    *why = "has '>' without an opening '<'";
    return MW_MAILBOX_INVALID;
  }
  bool several = false;
  const char *problem = addr_spec_problem(spec, (size_t)(spec_end - spec),
                                          &several);
  if(problem) {
    *why = problem;
    if(!lt && !several && memchr(b, ' ', (size_t)(e - b)))
      *why = "address contains a space (a display name goes before the "
             "address in angle brackets: 'Name <address>')";
    return several ? MW_MAILBOX_SEVERAL : MW_MAILBOX_INVALID;
  }
  size_t n = (size_t)(spec_end - spec);
  if(addr && addr_len) {
    if(n >= addr_len) {
      *why = "address is too long for the buffer given";
      return MW_MAILBOX_INVALID;
    }
    memcpy(addr, spec, n);
    addr[n] = '\0';
  }
  *why = NULL;
  return MW_MAILBOX_OK;
}

bool mw__address_is_utf8(const char *address)
{
  for(const unsigned char *p = (const unsigned char *)address; *p; p++)
    if(*p >= 0x80)
      return true;
  return false;
}

mw_envelope *mw_envelope_new(void)
{
  return mw__calloc(1, sizeof(struct mw_envelope));
}

void mw_envelope_free(mw_envelope *e)
{
  if(!e)
    return;
  mw__free(e->from);
  for(size_t i = 0; i < e->count; i++)
    mw__free(e->rcpts[i]);
  mw__free(e->rcpts);
  mw__envelope_ext_free(e);
  mw__free(e);
}

mw_status mw_envelope_set_from(mw_envelope *e, const char *address)
{
  if(!e || mw__address_problem(address, true))
    return MW_E_INVALID;
  return mw__replace_string(&e->from, address) ? MW_OK : MW_E_NOMEM;
}

mw_status mw_envelope_add_recipient(mw_envelope *e, const char *address)
{
  if(!e || mw__address_problem(address, false))
    return MW_E_INVALID;
  if(e->count == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 8;
    char **p = mw__realloc(e->rcpts, cap * sizeof(*p));
    if(!p)
      return MW_E_NOMEM;
    e->rcpts = p;
    e->cap = cap;
  }
  char *copy = mw__strdup(address);
  if(!copy)
    return MW_E_NOMEM;
  e->rcpts[e->count++] = copy;
  return MW_OK;
}

size_t mw_envelope_recipient_count(const mw_envelope *e)
{
  return e ? e->count : 0;
}

struct mw_result *mw__result_new(const struct mw_envelope *e)
{
  struct mw_result *r = mw__calloc(1, sizeof(*r));
  if(!r)
    return NULL;
  r->delivery = MW_DELIVERY_NOT_SENT;
  r->rcpts = mw__calloc(e->count ? e->count : 1, sizeof(*r->rcpts));
  if(!r->rcpts) {
    mw__free(r);
    return NULL;
  }
  r->count = e->count;
  for(size_t i = 0; i < e->count; i++) {
    r->rcpts[i].address = mw__strdup(e->rcpts[i]);
    if(!r->rcpts[i].address) {
      mw_result_free(r);
      return NULL;
    }
  }
  return r;
}

void mw_result_free(mw_result *r)
{
  if(!r)
    return;
  for(size_t i = 0; i < r->count; i++) {
    mw__free(r->rcpts[i].address);
    mw__free(r->rcpts[i].text);
  }
  mw__free(r->rcpts);
  mw__free(r->final_text);
  mw__free(r);
}

mw_delivery mw_result_delivery(const mw_result *r)
{
  return r ? r->delivery : MW_DELIVERY_NOT_SENT;
}
size_t mw_result_recipient_count(const mw_result *r)
{
  return r ? r->count : 0;
}
const char *mw_result_recipient(const mw_result *r, size_t i)
{
  return r && i < r->count ? r->rcpts[i].address : "";
}
bool mw_result_recipient_accepted(const mw_result *r, size_t i)
{
  return r && i < r->count && r->rcpts[i].accepted;
}
int mw_result_recipient_code(const mw_result *r, size_t i)
{
  return r && i < r->count ? r->rcpts[i].code : 0;
}
const char *mw_result_recipient_enhanced_code(const mw_result *r, size_t i)
{
  return r && i < r->count ? r->rcpts[i].enhanced : "";
}
/* The 0.1 name, deprecated in 0.2 (exported for existing binaries). */
const char *mw_result_recipient_enhanced(const mw_result *r, size_t i)
{
  return mw_result_recipient_enhanced_code(r, i);
}
const char *mw_result_recipient_text(const mw_result *r, size_t i)
{
  return r && i < r->count && r->rcpts[i].text ? r->rcpts[i].text : "";
}
int mw_result_final_code(const mw_result *r) { return r ? r->final_code : 0; }
const char *mw_result_final_text(const mw_result *r)
{
  return r && r->final_text ? r->final_text : "";
}
const char *mw_result_queue_id(const mw_result *r)
{
  return r ? r->queue_id : "";
}
double mw_result_elapsed_ms(const mw_result *r)
{
  return r ? r->elapsed_ms : 0;
}
uint64_t mw_result_bytes_sent(const mw_result *r)
{
  return r ? r->bytes_sent : 0;
}

static void copy_token(const char *p, char *out, size_t len)
{
  size_t n = 0;
  while(p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\n' && n + 1 < len) {
    out[n] = p[n];
    n++;
  }
  /* Trailing punctuation is not part of the id. */
  while(n && (out[n - 1] == '.' || out[n - 1] == ',' || out[n - 1] == ')'))
    n--;
  out[n] = '\0';
}

/* Known shapes: Postfix "Ok: queued as 4Xyz", Exim "OK id=1abc-2",
 * Sendmail "abc123 Message accepted for delivery", Exchange
 * "Queued mail for delivery" (none). */
void mw__parse_queue_id(const char *text, char *out, size_t len)
{
  out[0] = '\0';
  if(!text)
    return;
  const char *p;
  for(p = text; *p; p++) {
    if(mw__strnieq(p, "queued as ", 10)) {
      copy_token(p + 10, out, len);
      return;
    }
    if(mw__strnieq(p, "id=", 3) && (p == text || p[-1] == ' ')) {
      copy_token(p + 3, out, len);
      return;
    }
  }
  const char *acc = NULL;
  for(p = text; *p; p++)
    if(mw__strnieq(p, " Message accepted for delivery", 30)) {
      acc = p;
      break;
    }
  if(acc) {
    const char *w = acc;
    while(w > text && w[-1] != ' ' && w[-1] != '\n' && w[-1] != '\t')
      w--;
    size_t n = (size_t)(acc - w);
    if(n && n < len) {
      memcpy(out, w, n);
      out[n] = '\0';
    }
  }
}
