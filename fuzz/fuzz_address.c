/*
 * fuzz/fuzz_address.c - addresses and headers: the envelope address check
 * (mw__address_problem, mw_envelope_*), the queue id parser
 * (mw__parse_queue_id) and message composition (mw_compose_*, GMime).
 *
 * Input: byte 0 is flags (bit 0: add the custom header; bits 1-7: the
 * size of the queue id buffer, 1-128), then fields separated by NUL:
 *   from, to, cc, subject, header name, header value, body
 * (the body is the rest, NUL bytes included, which must be refused; an
 * empty to or cc adds none).  Every field also goes through the envelope
 * checks and the queue id parser.
 *
 * Invariants (abort() when violated):
 *   envelope
 *   - an address is accepted exactly when it is one addr-spec (see
 *     model_address_problem: a quoted or dot-atom local part, one '@', a
 *     domain name or literal) of at most 320 bytes with no control byte,
 *     DEL, space, '<' or '>' (or is empty where allowed), so never a list
 *     or a group; mw_envelope_set_from/add_recipient agree with it; an
 *     accepted address makes a single-line MAIL FROM / RCPT TO command
 *     with one '<' and one '>'; mw__address_is_utf8 is exact;
 *   queue id
 *   - the id fits its buffer (exactly sized: ASan checks), is taken from
 *     the text and has no blank or LF; "queued as ID" gives ID;
 *   composition
 *   - a value is refused when it has CR, LF, another control byte but TAB,
 *     DEL or invalid UTF-8 (MW_E_MESSAGE), and accepted otherwise, except
 *     that From, To and Cc take exactly one mailbox (else MW_E_INVALID):
 *     GMime reads exactly one in what they accept, and its address is one
 *     the envelope accepts; a header name is
 *     accepted exactly when it is printable ASCII without ':'; the body
 *     exactly when it is NUL-free valid UTF-8; refusals explain why;
 *   - the rendered message has every line ending CRLF (no bare CR or LF)
 *     and no line over 998 bytes (RFC 5322 2.1.1);
 *   - its header section has only the fields mailwire writes and the
 *     custom one, each line a field or a continuation, no field that
 *     RFC 5322 3.6 / RFC 2045 allow once appearing twice, a Message-ID of
 *     msg-id syntax, and 8-bit bytes only in address fields and the
 *     Message-ID (EAI, RFC 6532); the body is 7-bit;
 *   - parsed back with GMime, the body text is what was given (line ends
 *     aside); the Subject field, decoded here (RFC 2047), is the subject
 *     given (white space aside: GMime may fold inside a long word; and
 *     unless it contains "=?", which GMime leaves for readers to decode as
 *     an encoded word).
 *
 * MW_FUZZ_KNOWN (comma-separated names) turns off the checks of reported,
 * still open library bugs so that fuzzing can look past them:
 *   bare-cr      a bare CR in the body survives rendering
 *   dup-header   a custom header duplicates a once-only field
 *   msgid        the Message-ID is not RFC 5322 msg-id syntax
 *   long-token   a header line over 998 bytes made by an overlong address
 *                or header name (accepted, and GMime cannot fold them)
 *   gmime-literal-leak  an address with a domain literal then an
 *                unterminated comment: GMime leaks (render is skipped)
 *   fold-break   a subject or header value holding "=?" and non-ASCII
 *                text makes GMime 3.2 fold without white space: the next
 *                line is a broken or injected field
 */
#include "core/util.h"
#include "mailwire.h"
#include "proto/envelope.h"

#include <gmime/gmime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                      \
  do {                                                                   \
    if(!(cond)) {                                                        \
      fprintf(stderr, "fuzz_address: invariant violated: %s (%s:%d)\n", \
              #cond, __FILE__, __LINE__);                                \
      abort();                                                           \
    }                                                                    \
  } while(0)

static const char *known_bugs = "";

static bool known(const char *name)
{
  size_t n = strlen(name);
  for(const char *p = known_bugs; (p = strstr(p, name)) != NULL; p += n)
    if((p == known_bugs || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
      return true;
  return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if(mw_global_init() != MW_OK)
    abort();
  const char *k = getenv("MW_FUZZ_KNOWN");
  if(k)
    known_bugs = k;
  /* GMime initialises on first use; do it before any leak accounting. */
  mw_compose_free(mw_compose_new());
  return 0;
}

/* ---- envelope ---------------------------------------------------------- */

/* RFC 5322 atext and UTF-8 bytes, for the model below. */
static bool model_atext(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c >= 0x80 ||
         (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* One addr-spec (issue 9, item 6: one mailbox per address): a quoted or
 * dot-atom local part (no '.' first, last or twice in a row), one '@',
 * then a domain name (letters, digits, '-', '_', UTF-8, labels joined by
 * single dots) or an address literal ("[...]" without '[', ']' or '\'
 * inside); and no byte that could break the command line. */
static const char *model_address_problem(const char *a, bool allow_empty)
{
  if(!*a)
    return allow_empty ? NULL : "empty";
  size_t n = strlen(a);
  if(n > 320)
    return "long";
  for(const unsigned char *p = (const unsigned char *)a; *p; p++)
    if(*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == ' ')
      return "byte";
  const char *at;
  if(a[0] == '"') {
    const char *p = a + 1;
    while(*p && *p != '"') {
      if(*p == '\\' && p[1])
        p++;
      p++;
    }
    if(*p != '"' || p[1] != '@')
      return "quoted local part";
    at = p + 1;
  }
  else {
    at = a;
    while(*at && (model_atext((unsigned char)*at) || *at == '.')) {
      if(*at == '.' && (at == a || at[-1] == '.' || at[1] == '@'))
        return "dots";
      at++;
    }
    if(*at != '@' || at == a)
      return "local part";
  }
  const char *d = at + 1;
  size_t dn = strlen(d);
  if(!dn)
    return "no domain";
  if(d[0] == '[') {
    if(dn < 3 || d[dn - 1] != ']')
      return "literal";
    for(size_t k = 1; k + 1 < dn; k++)
      if(d[k] == '[' || d[k] == ']' || d[k] == '\\')
        return "literal";
    return NULL;
  }
  for(size_t k = 0; k < dn; k++) {
    unsigned char c = (unsigned char)d[k];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c >= 0x80 || c == '-' || c == '.' ||
         c == '_'))
      return "domain";
    if(c == '.' && (k == 0 || k + 1 == dn || d[k - 1] == '.'))
      return "empty label";
  }
  return NULL;
}

static void check_command(const char *verb, const char *addr)
{
  char line[400];
  int n = snprintf(line, sizeof(line), "%s:<%s>\r\n", verb, addr);
  CHECK(n > 0 && (size_t)n < sizeof(line));
  const char *crlf = strstr(line, "\r\n");
  CHECK(crlf && crlf[2] == '\0');
  CHECK(!strchr(line, '\n') || strchr(line, '\n') == crlf + 1);
  CHECK(strchr(line, '<') == strrchr(line, '<'));
  CHECK(strchr(line, '>') == strrchr(line, '>'));
}

static void check_envelope(char **f, size_t nf)
{
  mw_envelope *e = mw_envelope_new();
  CHECK(e);
  size_t accepted = 0;
  for(size_t i = 0; i < nf; i++) {
    const char *a = f[i];
    const char *p1 = mw__address_problem(a, false);
    const char *p0 = mw__address_problem(a, true);
    CHECK((p1 == NULL) == (model_address_problem(a, false) == NULL));
    CHECK((p0 == NULL) == (model_address_problem(a, true) == NULL));
    CHECK(!p1 || p1[0]);
    bool utf8 = false;
    for(const unsigned char *p = (const unsigned char *)a; *p; p++)
      utf8 |= *p >= 0x80;
    CHECK(mw__address_is_utf8(a) == utf8);

    mw_status st = mw_envelope_set_from(e, a);
    CHECK(st == (p0 ? MW_E_INVALID : MW_OK));
    if(!p0)
      check_command("MAIL FROM", a);
    st = mw_envelope_add_recipient(e, a);
    CHECK(st == (p1 ? MW_E_INVALID : MW_OK));
    if(!p1) {
      check_command("RCPT TO", a);
      accepted++;
    }
  }
  CHECK(mw__address_problem(NULL, true) != NULL);
  CHECK(mw_envelope_recipient_count(e) == accepted);
  mw_result *r = mw__result_new(e);
  CHECK(r);
  CHECK(mw_result_recipient_count(r) == accepted);
  for(size_t i = 0; i < accepted; i++)
    CHECK(strcmp(mw_result_recipient(r, i), e->rcpts[i]) == 0);
  CHECK(mw_result_recipient(r, accepted)[0] == '\0');
  mw_result_free(r);
  mw_envelope_free(e);
}

/* ---- queue id ---------------------------------------------------------- */

static void check_queue_id(const char *text, size_t len)
{
  char *out = malloc(len); /* exactly sized */
  CHECK(out);
  memset(out, 'X', len);
  mw__parse_queue_id(text, out, len);
  size_t n = strnlen(out, len);
  CHECK(n < len);
  /* (A CR is possible here: reply text never has one, fuzz_reply checks
   * that path.) */
  for(size_t i = 0; i < n; i++)
    CHECK(out[i] != ' ' && out[i] != '\t' && out[i] != '\n');
  if(n)
    CHECK(strstr(text, out) != NULL);
  /* Postfix: "2.0.0 Ok: queued as 4Xyz" */
  const char *q = strstr(text, "queued as ");
  if(q && len == 128 && !strstr(text, "id=") && !strstr(text, "Id=") &&
     !strstr(text, "ID=") && !strstr(text, "iD=")) {
    /* The first "queued as" (any case) wins; only check the simple case
     * where the lower-case one is the first. */
    bool first = true;
    for(const char *p = text; p < q; p++)
      if(mw__strnieq(p, "queued as ", 10))
        first = false;
    size_t w = 0;
    while(q[10 + w] && ((q[10 + w] >= 'A' && q[10 + w] <= 'Z') ||
                        (q[10 + w] >= '0' && q[10 + w] <= '9')))
      w++;
    char c = q[10 + w];
    if(first && w && w < 100 && (c == '\0' || c == ' ' || c == '\n'))
      CHECK(n == w && memcmp(out, q + 10, w) == 0);
  }
  free(out);
  mw__parse_queue_id(NULL, (char[4]){'a', 'b', 'c', 'd'}, 4);
}

/* ---- composition ------------------------------------------------------- */

/* Strict UTF-8 (RFC 3629): no overlongs, surrogates or values past
 * U+10FFFF.  *nonchar is set when a noncharacter appears (validators
 * differ on those). */
static bool utf8_valid(const unsigned char *s, size_t n, bool *nonchar)
{
  size_t i = 0;
  while(i < n) {
    unsigned c = s[i];
    size_t len;
    uint32_t cp, min;
    if(c < 0x80) {
      i++;
      continue;
    }
    else if(c >= 0xc2 && c <= 0xdf)
      len = 2, cp = c & 0x1f, min = 0x80;
    else if(c >= 0xe0 && c <= 0xef)
      len = 3, cp = c & 0x0f, min = 0x800;
    else if(c >= 0xf0 && c <= 0xf4)
      len = 4, cp = c & 0x07, min = 0x10000;
    else
      return false;
    if(i + len > n)
      return false;
    for(size_t k = 1; k < len; k++) {
      if((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if(cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    if((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
      *nonchar = true;
    i += len;
  }
  return true;
}

/* 1: must be accepted, 0: must be refused, -1: either (noncharacter). */
static int model_value(const char *v)
{
  for(const unsigned char *p = (const unsigned char *)v; *p; p++)
    if((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return 0;
  bool nonchar = false;
  if(!utf8_valid((const unsigned char *)v, strlen(v), &nonchar))
    return 0;
  return nonchar ? -1 : 1;
}

static void expect(mw_status st, int want, const mw_compose *c)
{
  if(want == 1)
    CHECK(st == MW_OK);
  else if(want == 0)
    CHECK(st == MW_E_MESSAGE && mw_compose_error_message(c)[0]);
  else
    CHECK(st == MW_OK || st == MW_E_MESSAGE);
}

/* From, To and Cc take one mailbox per call: a value that is valid text
 * is accepted exactly when mw_mailbox_check() finds one mailbox, and then
 * GMime reads one mailbox in it too, whose address the envelope accepts;
 * otherwise it is refused with MW_E_INVALID and a reason. */
static void expect_mailbox(mw_status st, const char *value, int want,
                           const mw_compose *c)
{
  if(want == 0) {
    CHECK(st == MW_E_MESSAGE && mw_compose_error_message(c)[0]);
    return;
  }
  char addr[400];
  const char *why = NULL;
  mw_mailbox_verdict v = mw_mailbox_check(value, addr, sizeof(addr), &why);
  if(want == -1 && st == MW_E_MESSAGE)
    return;
  if(v != MW_MAILBOX_OK) {
    CHECK(st == MW_E_INVALID && mw_compose_error_message(c)[0] && why &&
          why[0]);
    return;
  }
  CHECK(st == MW_OK && why == NULL);
  CHECK(mw__address_problem(addr, false) == NULL);
  if(known("gmime-literal-leak") && strchr(value, '[') &&
     strchr(value, '('))
    return;
  InternetAddressList *l = internet_address_list_parse(NULL, value);
  CHECK(l && internet_address_list_length(l) == 1);
  InternetAddress *ia = internet_address_list_get_address(l, 0);
  CHECK(INTERNET_ADDRESS_IS_MAILBOX(ia));
  g_object_unref(l);
}

static bool ieq(const char *a, size_t an, const char *b)
{
  return an == strlen(b) && g_ascii_strncasecmp(a, b, an) == 0;
}

/* Fields mailwire writes itself. */
static const char *const own_fields[] = {
    "Date", "From", "To", "Cc", "Subject", "Message-Id", "MIME-Version",
    "Content-Type", "Content-Transfer-Encoding",
};
/* Fields allowed at most once (RFC 5322 3.6, RFC 2045). */
static const char *const once_fields[] = {
    "Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-Id",
    "In-Reply-To", "References", "Subject", "MIME-Version", "Content-Type",
    "Content-Transfer-Encoding",
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool has_bare_cr(const char *s, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))
      return true;
  return false;
}

/* RFC 5322 atext, with UTF-8 (RFC 6532), for the Message-ID. */
static bool atext(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (unsigned char)c >= 0x80 ||
         (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* msg-id = "<" dot-atom-text "@" (dot-atom-text / "[" dtext "]") ">" */
static bool msgid_ok(const char *v, size_t n)
{
  while(n && (*v == ' ' || *v == '\t'))
    v++, n--;
  if(n < 5 || v[0] != '<' || v[n - 1] != '>')
    return false;
  const char *at = memchr(v, '@', n);
  if(!at)
    return false;
  for(const char *p = v + 1; p < at; p++)
    if(!atext(*p) && *p != '.')
      return false;
  const char *r = at + 1, *e = v + n - 1;
  if(r == e || at == v + 1)
    return false;
  if(*r == '[') {
    if(e[-1] != ']' || e - r < 2)
      return false;
    for(const char *p = r + 1; p < e - 1; p++)
      if(*p < 33 || *p > 126 || *p == '[' || *p == ']' || *p == '\\')
        return false;
    return true;
  }
  for(const char *p = r; p < e; p++)
    if((!atext(*p) && *p != '.') || (*p == '.' && p + 1 < e && p[1] == '.'))
      return false;
  return r[0] != '.' && e[-1] != '.';
}

static void check_rendered(const char *msg, size_t len, const char *hname,
                           bool body_has_cr, bool fold_break_ok)
{
  CHECK(strlen(msg) == len);
  /* CRLF only. */
  bool bare = false;
  for(size_t i = 0; i < len; i++) {
    if(msg[i] == '\r' && (i + 1 >= len || msg[i + 1] != '\n'))
      bare = true;
    if(msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
      bare = true;
  }
  if(bare)
    CHECK(body_has_cr && known("bare-cr"));

  const char *end = strstr(msg, "\r\n\r\n");
  CHECK(end != NULL);
  size_t hlen = (size_t)(end - msg) + 2;
  size_t seen[COUNT(once_fields)] = {0};
  bool in_address_field = false, in_custom_field = false;
  for(size_t i = 0; i < hlen;) {
    const char *ln = msg + i;
    const char *eol = strstr(ln, "\r\n");
    CHECK(eol && (size_t)(eol - msg) < hlen);
    size_t ll = (size_t)(eol - ln);
    if(ln[0] == ' ' || ln[0] == '\t') {
      CHECK(i > 0); /* a continuation, not the first line */
    }
    else {
      const char *colon = memchr(ln, ':', ll);
      size_t nl = colon ? (size_t)(colon - ln) : 0;
      bool ok = nl > 0 && (hname && ieq(ln, nl, hname));
      for(size_t k = 0; nl && k < COUNT(own_fields); k++)
        ok |= ieq(ln, nl, own_fields[k]);
      if(!ok && fold_break_ok) {
        i += ll + 2; /* the known GMime folding bug: tolerated */
        continue;
      }
      CHECK(colon && colon > ln);
      for(size_t k = 0; k < nl; k++)
        CHECK(ln[k] > 0x20 && ln[k] < 0x7f);
      CHECK(ok); /* no field injected, no broken fold */
      for(size_t k = 0; k < COUNT(once_fields); k++)
        if(ieq(ln, nl, once_fields[k]))
          seen[k]++;
      in_custom_field = hname && ieq(ln, nl, hname);
      /* EAI (RFC 6532): UTF-8 addresses, and a Message-ID made from the
       * From domain. */
      /* GMime formats every address field (a custom Reply-To too) with
       * UTF-8 addr-specs as they are (RFC 6532). */
      in_address_field = ieq(ln, nl, "From") || ieq(ln, nl, "To") ||
                         ieq(ln, nl, "Cc") || ieq(ln, nl, "Message-Id") ||
                         ieq(ln, nl, "Reply-To") || ieq(ln, nl, "Sender") ||
                         ieq(ln, nl, "Bcc") || ieq(ln, nl, "Resent-From") ||
                         ieq(ln, nl, "Resent-To") ||
                         ieq(ln, nl, "Resent-Cc") ||
                         ieq(ln, nl, "Resent-Sender") ||
                         ieq(ln, nl, "Resent-Bcc");
      if(ieq(ln, nl, "Message-Id") && !(hname && ieq(hname, strlen(hname),
                                                    "Message-Id")))
        CHECK(known("msgid") || msgid_ok(colon + 1, ll - nl - 1));
    }
    for(size_t k = 0; k < ll; k++)
      if((unsigned char)ln[k] >= 0x80)
        CHECK(in_address_field); /* else RFC 2047 encoded words */
    /* RFC 5322 2.1.1: at most 998 bytes.  GMime cannot fold inside one
     * overlong address or header name, which mailwire accepts. */
    if(ll > 998)
      CHECK((in_address_field || in_custom_field) && known("long-token"));
    i += ll + 2;
  }
  for(size_t k = 0; k < COUNT(once_fields); k++) {
    if(seen[k] > 1)
      CHECK(known("dup-header") && hname && ieq(hname, strlen(hname),
                                                 once_fields[k]));
  }
  CHECK(seen[1] >= 1); /* From */
  size_t start = hlen + 2;
  for(size_t i = hlen + 2; i < len; i++) {
    CHECK((unsigned char)msg[i] < 0x80); /* a 7-bit transfer encoding */
    if(msg[i] == '\n') {
      CHECK(i - start <= 999); /* 998 and the CR */
      start = i + 1;
    }
  }
  CHECK(len - start <= 998);
}

/* LF for CRLF; with strip, no white space at all (GMime may fold a long
 * word, adding a space when unfolded). */
static char *canon_n(const char *s, size_t n, bool strip)
{
  char *out = malloc(n + 1);
  CHECK(out);
  size_t o = 0;
  for(size_t i = 0; i < n; i++) {
    if(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
      continue;
    if(strip && (s[i] == ' ' || s[i] == '\t'))
      continue;
    out[o++] = s[i];
  }
  out[o] = '\0';
  return out;
}

static char *canon(const char *s, bool strip)
{
  return canon_n(s, strlen(s), strip);
}

/* ---- an RFC 2047 decoder of its own (GMime 3.2's decoder loses text
 * when it joins adjacent base64 words with padding, so it cannot judge) - */

static int hexval(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

static int b64val(char c)
{
  static const char a[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = c ? strchr(a, c) : NULL;
  return p ? (int)(p - a) : -1;
}

/* Decodes one encoded word's text into out (UTF-8).  false when the
 * charset is not one this decoder knows. */
static bool decode_word(const char *cs, size_t csl, char enc, const char *t,
                        size_t tl, struct mw__sbuf *out)
{
  const char *star = memchr(cs, '*', csl); /* RFC 2231 language */
  if(star)
    csl = (size_t)(star - cs);
  bool latin1;
  if((csl == 5 && g_ascii_strncasecmp(cs, "utf-8", 5) == 0) ||
     (csl == 8 && g_ascii_strncasecmp(cs, "us-ascii", 8) == 0))
    latin1 = false;
  else if(csl == 10 && g_ascii_strncasecmp(cs, "iso-8859-1", 10) == 0)
    latin1 = true;
  else
    return false;
  unsigned char buf[1024];
  size_t n = 0;
  if(enc == 'Q' || enc == 'q') {
    for(size_t i = 0; i < tl && n < sizeof(buf); i++) {
      if(t[i] == '_')
        buf[n++] = ' ';
      else if(t[i] == '=' && i + 2 < tl && hexval(t[i + 1]) >= 0 &&
              hexval(t[i + 2]) >= 0) {
        buf[n++] = (unsigned char)(hexval(t[i + 1]) * 16 + hexval(t[i + 2]));
        i += 2;
      }
      else
        buf[n++] = (unsigned char)t[i];
    }
  }
  else {
    uint32_t acc = 0;
    int bits = 0;
    for(size_t i = 0; i < tl && t[i] != '=' && n < sizeof(buf); i++) {
      int v = b64val(t[i]);
      if(v < 0)
        return false;
      acc = acc << 6 | (uint32_t)v;
      bits += 6;
      if(bits >= 8) {
        bits -= 8;
        buf[n++] = (unsigned char)(acc >> bits);
      }
    }
  }
  for(size_t i = 0; i < n; i++) {
    if(latin1 && buf[i] >= 0x80) {
      unsigned char u[2] = {(unsigned char)(0xc0 | buf[i] >> 6),
                            (unsigned char)(0x80 | (buf[i] & 0x3f))};
      CHECK(mw__sbuf_append(out, u, 2));
    }
    else
      CHECK(mw__sbuf_append(out, &buf[i], 1));
  }
  return true;
}

/* The decoded value of an unfolded header, or NULL for a charset this
 * decoder does not know.  Allocated. */
static char *decode_2047(const char *v)
{
  struct mw__sbuf out;
  mw__sbuf_init(&out);
  CHECK(mw__sbuf_append(&out, "", 0));
  const char *p = v;
  bool prev_word = false;
  const char *pending_ws = NULL; /* white space after an encoded word */
  while(*p) {
    if(p[0] == '=' && p[1] == '?') {
      const char *cs = p + 2;
      const char *q1 = strchr(cs, '?');
      if(q1 && q1 > cs && (q1[1] == 'B' || q1[1] == 'b' || q1[1] == 'Q' ||
                           q1[1] == 'q') && q1[2] == '?') {
        const char *t = q1 + 3;
        const char *end = strstr(t, "?=");
        bool clean = end != NULL;
        for(const char *k = cs; clean && k < end; k++)
          clean = *k != ' ' && *k != '\t';
        if(clean) {
          pending_ws = NULL; /* between two words: dropped */
          if(!decode_word(cs, (size_t)(q1 - cs), q1[1], t,
                          (size_t)(end - t), &out)) {
            mw__sbuf_free(&out);
            return NULL;
          }
          prev_word = true;
          p = end + 2;
          continue;
        }
      }
    }
    if(prev_word && (*p == ' ' || *p == '\t')) {
      if(!pending_ws)
        pending_ws = p;
      p++;
      continue;
    }
    if(pending_ws) {
      CHECK(mw__sbuf_append(&out, pending_ws, (size_t)(p - pending_ws)));
      pending_ws = NULL;
    }
    prev_word = false;
    CHECK(mw__sbuf_append(&out, p, 1));
    p++;
  }
  if(pending_ws)
    CHECK(mw__sbuf_append(&out, pending_ws, strlen(pending_ws)));
  return mw__sbuf_steal(&out);
}

/* The unfolded value of the first field called name, or NULL. */
static char *field_value(const char *msg, size_t hlen, const char *name)
{
  size_t nl = strlen(name);
  for(size_t i = 0; i < hlen;) {
    const char *ln = msg + i;
    const char *eol = strstr(ln, "\r\n");
    if(g_ascii_strncasecmp(ln, name, nl) == 0 && ln[nl] == ':') {
      struct mw__sbuf v;
      mw__sbuf_init(&v);
      const char *p = ln + nl + 1;
      if(*p == ' ')
        p++;
      for(;;) {
        eol = strstr(p, "\r\n");
        CHECK(mw__sbuf_append(&v, p, (size_t)(eol - p)));
        if(eol[2] != ' ' && eol[2] != '\t')
          break;
        p = eol + 2; /* unfold: drop the CRLF, keep the blank */
      }
      return mw__sbuf_steal(&v);
    }
    i = (size_t)(eol - msg) + 2;
  }
  return NULL;
}

static void check_round_trip(const char *msg, size_t len, const char *body,
                             size_t blen, const char *subject)
{
  GMimeStream *st = g_mime_stream_mem_new_with_buffer(msg, len);
  GMimeParser *p = g_mime_parser_new_with_stream(st);
  GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
  CHECK(m != NULL);
  GMimeObject *part = g_mime_message_get_mime_part(m);
  CHECK(part && GMIME_IS_TEXT_PART(part));
  char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
  char *got = canon(text ? text : "", false);
  char *want = canon_n(body, blen, false);
  size_t gl = strlen(got), wl = strlen(want);
  /* GMime ends the last line. */
  CHECK(strcmp(got, want) == 0 ||
        (gl == wl + 1 && got[wl] == '\n' && memcmp(got, want, wl) == 0));
  free(got);
  free(want);
  g_free(text);
  g_object_unref(m);
  g_object_unref(p);
  g_object_unref(st);

  /* A subject that holds something like an encoded word ("=?...?=") is
   * written as it is by GMime and decoded by readers: not checked. */
  if(strstr(subject, "=?"))
    return;
  const char *hend = strstr(msg, "\r\n\r\n");
  char *raw = field_value(msg, (size_t)(hend - msg) + 2, "Subject");
  CHECK(raw != NULL);
  char *dec = decode_2047(raw);
  if(dec) {
    char *gs = canon(dec, true);
    char *ws = canon(subject, true);
    CHECK(strcmp(gs, ws) == 0);
    free(gs);
    free(ws);
    mw__free(dec);
  }
  mw__free(raw);
}

static void check_compose(char **f, const char *body, size_t blen,
                          bool with_header)
{
  mw_compose *c = mw_compose_new();
  CHECK(c);
  int want_from = model_value(f[0]);
  int want_to = model_value(f[1]);
  int want_cc = model_value(f[2]);
  int want_subj = model_value(f[3]);
  expect_mailbox(mw_compose_set_from(c, f[0]), f[0], want_from, c);
  /* An empty To or Cc field means none (an empty address would only make
   * rendering fail). */
  if(f[1][0])
    expect_mailbox(mw_compose_add_to(c, f[1]), f[1], want_to, c);
  if(f[2][0])
    expect_mailbox(mw_compose_add_cc(c, f[2]), f[2], want_cc, c);
  mw_status sst = mw_compose_set_subject(c, f[3]);
  expect(sst, want_subj, c);

  const char *hname = NULL;
  if(with_header) {
    bool name_ok = f[4][0] != '\0' && strlen(f[4]) <= 76;
    for(const unsigned char *p = (const unsigned char *)f[4]; *p; p++)
      if(*p <= 0x20 || *p >= 0x7f || *p == ':')
        name_ok = false;
    /* The fields the composer writes itself are refused. */
    static const char *const owned[] = {
        "Date", "From", "To", "Cc", "Bcc", "Subject", "Message-Id",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};
    for(size_t k = 0; k < COUNT(owned); k++)
      if(ieq(f[4], strlen(f[4]), owned[k]))
        name_ok = false;
    int want = model_value(f[5]);
    mw_status st = mw_compose_add_header(c, f[4], f[5]);
    expect(st, name_ok ? want : 0, c);
    if(st == MW_OK)
      hname = f[4];
  }

  bool nonchar = false;
  bool body_ok = !memchr(body, '\0', blen) &&
                 utf8_valid((const unsigned char *)body, blen, &nonchar);
  mw_status bst = mw_compose_set_body(c, body, blen);
  expect(bst, body_ok ? (nonchar ? -1 : 1) : 0, c);
  CHECK(mw_compose_set_body(NULL, "", 0) == MW_E_INVALID);

  /* GMime 3.2 leaks when a domain literal is followed by an unterminated
   * comment ("a@[192.0.2.1](") (gmime-literal-leak). */
  if(known("gmime-literal-leak"))
    for(int i = 0; i < 3; i++)
      if(strchr(f[i], '[') && strchr(f[i], '(')) {
        mw_compose_free(c);
        return;
      }
  char *out = (char *)"untouched";
  size_t len = 12345;
  mw_status rst = mw_compose_render(c, &out, &len);
  CHECK(rst == MW_OK || rst == MW_E_MESSAGE);
  if(rst == MW_OK) {
    CHECK(out != NULL);
    const char *b = bst == MW_OK ? body : "";
    size_t bl = bst == MW_OK ? blen : 0;
    bool bare_cr = has_bare_cr(b, bl);
    /* An encoded-word-like start ("=?") in the subject or a header value
     * can make GMime 3.2 fold without white space (fold-break). */
    bool ew = (sst == MW_OK && strstr(f[3], "=?")) ||
              (hname && strstr(f[5], "=?"));
    bool fold_break_ok = ew && known("fold-break");
    check_rendered(out, len, hname, bare_cr, fold_break_ok);
    if(!bare_cr && !(hname && known("dup-header")) && !fold_break_ok)
      check_round_trip(out, len, b, bl, sst == MW_OK ? f[3] : "");
    mw_free(out);
  }
  else {
    CHECK(out == NULL && len == 0);
    CHECK(mw_compose_error_message(c)[0]);
  }
  mw_compose_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1 || size > 8192)
    return 0;
  bool with_header = data[0] & 1;
  size_t qlen = 1 + (size_t)(data[0] >> 1); /* 1..128 */
  const char *in = (const char *)data + 1;
  size_t n = size - 1;

  /* Six NUL-terminated fields, then the body. */
  char *f[6];
  size_t pos = 0;
  for(int i = 0; i < 6; i++) {
    const char *z = pos < n ? memchr(in + pos, '\0', n - pos) : NULL;
    size_t l = z ? (size_t)(z - (in + pos)) : (pos < n ? n - pos : 0);
    f[i] = malloc(l + 1);
    CHECK(f[i]);
    memcpy(f[i], in + pos, l);
    f[i][l] = '\0';
    pos = pos + l + (z ? 1 : 0);
    if(pos > n)
      pos = n;
  }
  size_t blen = n - pos;
  char *body = malloc(blen ? blen : 1); /* exactly sized, may hold NULs */
  CHECK(body);
  memcpy(body, in + pos, blen);

  check_envelope(f, 6);
  for(int i = 0; i < 6; i++) {
    check_queue_id(f[i], qlen);
    check_queue_id(f[i], 128);
  }
  check_compose(f, body, blen, with_header);

  free(body);
  for(int i = 0; i < 6; i++)
    free(f[i]);
  return 0;
}
