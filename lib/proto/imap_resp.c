/*
 * proto/imap_resp.c - parsing one complete IMAP response (framed by
 * imap_parse.c) into struct mw__imap_resp: tagged and untagged status
 * responses with their response codes (RFC 3501 7.1, RFC 5530, UIDPLUS,
 * CONDSTORE), CAPABILITY and ENABLED, LIST/LSUB, STATUS, SEARCH, ESEARCH,
 * FLAGS, EXISTS, RECENT, EXPUNGE, VANISHED, continuation requests, and
 * unknown untagged responses kept as text.  FETCH is in imap_fetch.c.
 */
#include "proto/imap_int.h"

#include <string.h>

/* ---- Capabilities ---------------------------------------------------- */

bool mw__imap_caps_has(const struct mw__imap_caps *c, const char *name)
{
  for(size_t i = 0; i < c->v.n; i++)
    if(mw__strieq(c->v.v[i], name))
      return true;
  return false;
}

bool mw__imap_caps_has_auth(const struct mw__imap_caps *c, const char *mech)
{
  for(size_t i = 0; i < c->auth.n; i++)
    if(mw__strieq(c->auth.v[i], mech))
      return true;
  return false;
}

static void caps_flags(struct mw__imap_caps *k)
{
  static const struct {
    const char *name;
    size_t off;
  } t[] = {
#define F(n, m) {n, offsetof(struct mw__imap_caps, m)}
      F("IMAP4rev1", imap4rev1),   F("IMAP4rev2", imap4rev2),
      F("STARTTLS", starttls),     F("LOGINDISABLED", logindisabled),
      F("SASL-IR", sasl_ir),       F("LITERAL+", literal_plus),
      F("LITERAL-", literal_minus), F("IDLE", idle),
      F("UIDPLUS", uidplus),       F("ENABLE", enable),
      F("CONDSTORE", condstore),   F("QRESYNC", qresync),
      F("MOVE", move),             F("ESEARCH", esearch),
      F("UTF8=ACCEPT", utf8_accept), F("UTF8=ONLY", utf8_accept),
      F("ID", id),                 F("NAMESPACE", namespace_),
      F("BINARY", binary),         F("SPECIAL-USE", special_use),
      F("UNSELECT", unselect),     F("CHILDREN", children),
#undef F
  };
  for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if(mw__imap_caps_has(k, t[i].name))
      *(bool *)((char *)k + t[i].off) = true;
}

/* capability *(SP capability); a trailing space is tolerated (some
 * servers send one).  Stops at ']' or the end. */
static bool caps(struct mw__imap_cur *c, struct mw__imap_caps *k)
{
  size_t cap = 0, acap = 0;
  memset(k, 0, sizeof(*k));
  for(;;) {
    const char *a;
    if(!mw__imap_atom(c, &a) || !mw__imap_strv_push(c, &k->v, &cap, a))
      return false;
    if(mw__strnieq(a, "AUTH=", 5)) {
      if(!a[5])
        return mw__imap_fail(c, "AUTH= without a mechanism");
      char *m = mw__imap_dup(c->p, a + 5, strlen(a + 5));
      if(!m)
        return mw__imap_fail(c, "out of memory");
      for(char *q = m; *q; q++)
        if(*q >= 'a' && *q <= 'z')
          *q = (char)(*q - 'a' + 'A');
      if(!mw__imap_caps_has_auth(k, m) &&
         !mw__imap_strv_push(c, &k->auth, &acap, m))
        return false;
    }
    if(mw__imap_peek(c) != ' ')
      break;
    c->pos++;
    if(!mw__imap_is_atom_char(mw__imap_peek(c)))
      break;
  }
  caps_flags(k);
  return true;
}

/* ---- Sequence sets in responses -------------------------------------- */

static bool seqset(struct mw__imap_cur *c, const char **out)
{
  size_t k = mw__imap_atom_run(c, false);
  if(!k || !mw__imap_seqset_valid(c->s + c->pos, k))
    return mw__imap_fail(c, "expected a sequence set");
  *out = mw__imap_dup(c->p, c->s + c->pos, k);
  if(!*out)
    return mw__imap_fail(c, "out of memory");
  c->pos += k;
  return true;
}

/* ---- Response codes -------------------------------------------------- */

static const char *const code_names[MW__IMAP_CODE__COUNT] = {
    [MW__IMAP_CODE_NONE] = "",
    [MW__IMAP_CODE_OTHER] = "OTHER",
    [MW__IMAP_CODE_ALERT] = "ALERT",
    [MW__IMAP_CODE_BADCHARSET] = "BADCHARSET",
    [MW__IMAP_CODE_CAPABILITY] = "CAPABILITY",
    [MW__IMAP_CODE_PARSE] = "PARSE",
    [MW__IMAP_CODE_PERMANENTFLAGS] = "PERMANENTFLAGS",
    [MW__IMAP_CODE_READ_ONLY] = "READ-ONLY",
    [MW__IMAP_CODE_READ_WRITE] = "READ-WRITE",
    [MW__IMAP_CODE_TRYCREATE] = "TRYCREATE",
    [MW__IMAP_CODE_UIDNEXT] = "UIDNEXT",
    [MW__IMAP_CODE_UIDVALIDITY] = "UIDVALIDITY",
    [MW__IMAP_CODE_UNSEEN] = "UNSEEN",
    [MW__IMAP_CODE_APPENDUID] = "APPENDUID",
    [MW__IMAP_CODE_COPYUID] = "COPYUID",
    [MW__IMAP_CODE_UIDNOTSTICKY] = "UIDNOTSTICKY",
    [MW__IMAP_CODE_AUTHENTICATIONFAILED] = "AUTHENTICATIONFAILED",
    [MW__IMAP_CODE_AUTHORIZATIONFAILED] = "AUTHORIZATIONFAILED",
    [MW__IMAP_CODE_EXPIRED] = "EXPIRED",
    [MW__IMAP_CODE_PRIVACYREQUIRED] = "PRIVACYREQUIRED",
    [MW__IMAP_CODE_CONTACTADMIN] = "CONTACTADMIN",
    [MW__IMAP_CODE_NOPERM] = "NOPERM",
    [MW__IMAP_CODE_INUSE] = "INUSE",
    [MW__IMAP_CODE_EXPUNGEISSUED] = "EXPUNGEISSUED",
    [MW__IMAP_CODE_CORRUPTION] = "CORRUPTION",
    [MW__IMAP_CODE_SERVERBUG] = "SERVERBUG",
    [MW__IMAP_CODE_CLIENTBUG] = "CLIENTBUG",
    [MW__IMAP_CODE_CANNOT] = "CANNOT",
    [MW__IMAP_CODE_LIMIT] = "LIMIT",
    [MW__IMAP_CODE_OVERQUOTA] = "OVERQUOTA",
    [MW__IMAP_CODE_ALREADYEXISTS] = "ALREADYEXISTS",
    [MW__IMAP_CODE_NONEXISTENT] = "NONEXISTENT",
    [MW__IMAP_CODE_UNAVAILABLE] = "UNAVAILABLE",
    [MW__IMAP_CODE_HASCHILDREN] = "HASCHILDREN",
    [MW__IMAP_CODE_CLOSED] = "CLOSED",
    [MW__IMAP_CODE_HIGHESTMODSEQ] = "HIGHESTMODSEQ",
    [MW__IMAP_CODE_NOMODSEQ] = "NOMODSEQ",
    [MW__IMAP_CODE_UNKNOWN_CTE] = "UNKNOWN-CTE",
};

const char *mw__imap_code_name(enum mw__imap_code_kind k)
{
  if((unsigned)k >= MW__IMAP_CODE__COUNT || !code_names[k])
    return "OTHER";
  return code_names[k];
}

/* Parses the code's arguments (raw, already cut out of the brackets). */
static bool code_args(struct mw__imap_parser *p, struct mw__imap_code *k,
                      const char *raw, size_t rawlen, const char **why)
{
  struct mw__imap_cur c = {.p = p, .s = raw, .n = rawlen};
  bool ok = true;
  switch(k->kind) {
  case MW__IMAP_CODE_CAPABILITY:
    ok = caps(&c, &k->caps);
    break;
  case MW__IMAP_CODE_PERMANENTFLAGS:
    ok = mw__imap_flag_list(&c, &k->flags);
    break;
  case MW__IMAP_CODE_BADCHARSET:
    if(!rawlen)
      break;
    if(mw__imap_peek(&c) != '(') {
      ok = mw__imap_fail(&c, "expected a charset list");
      break;
    }
    c.pos++;
    for(size_t cap = 0; ok;) {
      const char *s;
      size_t n;
      ok = mw__imap_string(&c, &s, &n, false, true, false, NULL, NULL) &&
           mw__imap_strv_push(&c, &k->flags, &cap, s);
      if(ok && mw__imap_peek(&c) == ')') {
        c.pos++;
        break;
      }
      ok = ok && mw__imap_sp(&c);
    }
    break;
  case MW__IMAP_CODE_UIDNEXT:
  case MW__IMAP_CODE_UIDVALIDITY:
  case MW__IMAP_CODE_UNSEEN: {
    uint32_t v = 0;
    ok = mw__imap_number(&c, &v, true);
    k->num = v;
    break;
  }
  case MW__IMAP_CODE_HIGHESTMODSEQ:
    ok = mw__imap_number64(&c, &k->num);
    break;
  case MW__IMAP_CODE_APPENDUID:
  case MW__IMAP_CODE_COPYUID: {
    uint32_t v = 0;
    ok = mw__imap_number(&c, &v, true) && mw__imap_sp(&c) &&
         seqset(&c, &k->set1);
    k->num = v;
    if(ok && k->kind == MW__IMAP_CODE_COPYUID)
      ok = mw__imap_sp(&c) && seqset(&c, &k->set2);
    if(ok && k->kind == MW__IMAP_CODE_APPENDUID) {
      struct mw__imap_cur u = {.p = p, .s = k->set1, .n = strlen(k->set1)};
      uint32_t one;
      if(mw__imap_number(&u, &one, true) && u.pos == u.n)
        k->uid = one;
    }
    break;
  }
  default:
    /* Codes without arguments (and unknown ones) keep raw only: the
     * grammar's generic form, atom [SP 1*<TEXT-CHAR except "]">], allows
     * text after any code name. */
    return true;
  }
  if(ok && c.pos != c.n)
    ok = mw__imap_fail(&c, "junk after a response code's argument");
  if(!ok)
    *why = c.why;
  return ok;
}

/* resp-text = ["[" resp-text-code "]" [SP]] text, at the cursor (after
 * the condition's SP, or at the end). */
static bool resp_text(struct mw__imap_cur *c, struct mw__imap_status *st)
{
  st->code.name = "";
  st->code.raw = "";
  st->text = "";
  if(c->pos >= c->n)
    return true;
  if(c->s[c->pos] == '[') {
    size_t close = c->pos + 1;
    while(close < c->n && c->s[close] != ']')
      close++;
    if(close >= c->n)
      return mw__imap_fail(c, "response code not closed by ']'");
    size_t a = c->pos + 1, e = a;
    while(e < close && mw__imap_is_atom_char((unsigned char)c->s[e]))
      e++;
    if(e == a)
      return mw__imap_fail(c, "response code without a name");
    if(e < close && c->s[e] != ' ')
      return mw__imap_fail(c, "bad character in a response code name");
    st->code.name = mw__imap_dup(c->p, c->s + a, e - a);
    size_t ra = e < close ? e + 1 : close;
    st->code.raw = mw__imap_dup(c->p, c->s + ra, close - ra);
    if(!st->code.name || !st->code.raw)
      return mw__imap_fail(c, "out of memory");
    st->code.kind = MW__IMAP_CODE_OTHER;
    for(int k = MW__IMAP_CODE_ALERT; k < MW__IMAP_CODE__COUNT; k++)
      if(mw__strieq(code_names[k], st->code.name))
        st->code.kind = (enum mw__imap_code_kind)k;
    const char *why = NULL;
    if(!code_args(c->p, &st->code, st->code.raw, close - ra, &why))
      return mw__imap_fail(c, why);
    c->pos = close + 1;
    if(mw__imap_peek(c) == ' ')
      c->pos++;
  }
  st->text = mw__imap_dup(c->p, c->s + c->pos, c->n - c->pos);
  if(!st->text)
    return mw__imap_fail(c, "out of memory");
  c->pos = c->n;
  return true;
}

static bool cond(struct mw__imap_cur *c, bool tagged, enum mw__imap_cond *out)
{
  static const char *const w[] = {"OK", "NO", "BAD", "BYE", "PREAUTH"};
  for(int i = 0; i < (tagged ? 3 : 5); i++)
    if(mw__imap_word(c, w[i])) {
      *out = (enum mw__imap_cond)i;
      return true;
    }
  return false;
}

const char *mw__imap_cond_name(enum mw__imap_cond c)
{
  static const char *const w[] = {"OK", "NO", "BAD", "BYE", "PREAUTH"};
  return (unsigned)c < 5 ? w[c] : "?";
}

const char *mw__imap_type_name(enum mw__imap_type t)
{
  static const char *const n[] = {
      "?",      "status", "continue", "CAPABILITY", "ENABLED", "LIST",
      "LSUB",   "STATUS", "SEARCH",   "ESEARCH",    "FLAGS",   "EXISTS",
      "RECENT", "EXPUNGE", "FETCH",   "VANISHED",   "other"};
  return (unsigned)t < sizeof(n) / sizeof(n[0]) ? n[t] : "?";
}

static bool status_after_cond(struct mw__imap_cur *c, struct mw__imap_resp *r)
{
  r->type = MW__IMAP_T_STATUS;
  if(c->pos < c->n && !mw__imap_sp(c))
    return false;
  return resp_text(c, &r->status);
}

/* ---- Untagged data --------------------------------------------------- */

static bool mailbox(struct mw__imap_cur *c, const char **out, size_t *len)
{
  if(!mw__imap_string(c, out, len, false, true, false, NULL, NULL))
    return false;
  if(memchr(*out, 0, *len))
    return mw__imap_fail(c, "NUL byte in a mailbox name");
  if(*len == 5 && mw__strieq(*out, "INBOX"))
    *out = "INBOX";
  return true;
}

static bool list(struct mw__imap_cur *c, struct mw__imap_list *l)
{
  if(!mw__imap_flag_list(c, &l->flags) || !mw__imap_sp(c))
    return false;
  if(mw__imap_peek(c) == '"') {
    const char *d;
    size_t n;
    if(!mw__imap_quoted(c, &d, &n))
      return false;
    if(n != 1 || (unsigned char)d[0] >= 0x80)
      return mw__imap_fail(c, "hierarchy delimiter is not one character");
    l->delim = d[0];
  }
  else if(mw__imap_word(c, "NIL")) {
    l->delim = '\0';
  }
  else {
    return mw__imap_fail(c, "expected a hierarchy delimiter");
  }
  if(!mw__imap_sp(c) || !mailbox(c, &l->mailbox, &l->mailbox_len))
    return false;
  if(mw__imap_peek(c) == ' ') { /* mbox-list-extended (RFC 5258) */
    c->pos++;
    if(mw__imap_peek(c) != '(')
      return mw__imap_fail(c, "expected list extended data");
    return mw__imap_skip_value(c, 0);
  }
  return true;
}

static bool statusdata(struct mw__imap_cur *c, struct mw__imap_statusdata *s)
{
  if(!mailbox(c, &s->mailbox, &s->mailbox_len) || !mw__imap_sp(c))
    return false;
  if(mw__imap_peek(c) != '(')
    return mw__imap_fail(c, "expected a status list");
  c->pos++;
  if(mw__imap_peek(c) == ')') {
    c->pos++;
    return true;
  }
  static const struct {
    const char *name;
    unsigned bit;
    size_t off;
    bool wide;
  } t[] = {
#define S(n, b, m, w) {n, b, offsetof(struct mw__imap_statusdata, m), w}
      S("MESSAGES", MW__IMAP_ST_MESSAGES, messages, false),
      S("RECENT", MW__IMAP_ST_RECENT, recent, false),
      S("UIDNEXT", MW__IMAP_ST_UIDNEXT, uidnext, false),
      S("UIDVALIDITY", MW__IMAP_ST_UIDVALIDITY, uidvalidity, false),
      S("UNSEEN", MW__IMAP_ST_UNSEEN, unseen, false),
      S("DELETED", MW__IMAP_ST_DELETED, deleted, false),
      S("SIZE", MW__IMAP_ST_SIZE, size, true),
      S("HIGHESTMODSEQ", MW__IMAP_ST_HIGHESTMODSEQ, highestmodseq, true),
#undef S
  };
  for(;;) {
    if(++c->items > c->p->lim.max_items)
      return mw__imap_fail(c, "too many items in one response");
    bool known = false;
    for(size_t i = 0; i < sizeof(t) / sizeof(t[0]) && !known; i++) {
      if(!mw__imap_word(c, t[i].name))
        continue;
      known = true;
      if(!mw__imap_sp(c))
        return false;
      if(t[i].wide) {
        if(!mw__imap_number64(c, (uint64_t *)((char *)s + t[i].off)))
          return false;
      }
      else if(!mw__imap_number(c, (uint32_t *)((char *)s + t[i].off),
                               false)) {
        return false;
      }
      s->has |= t[i].bit;
    }
    if(!known) {
      const char *a;
      if(!mw__imap_atom(c, &a) || !mw__imap_sp(c) ||
         !mw__imap_skip_value(c, 1))
        return false;
    }
    if(mw__imap_peek(c) == ')') {
      c->pos++;
      return true;
    }
    if(!mw__imap_sp(c))
      return false;
  }
}

static bool search(struct mw__imap_cur *c, struct mw__imap_search *s)
{
  size_t cap = 0;
  while(mw__imap_peek(c) == ' ') {
    c->pos++;
    if(mw__imap_peek(c) == '(') { /* (MODSEQ n), RFC 7162 */
      c->pos++;
      if(!mw__imap_word(c, "MODSEQ") || !mw__imap_sp(c) ||
         !mw__imap_number64(c, &s->modseq))
        return mw__imap_fail(c, "bad MODSEQ in SEARCH");
      if(mw__imap_peek(c) != ')')
        return mw__imap_fail(c, "MODSEQ list not closed");
      c->pos++;
      break;
    }
    if(c->pos == c->n)
      break; /* a trailing space (seen from some servers) */
    uint32_t v;
    void *nv = s->nums;
    if(!mw__imap_number(c, &v, true) ||
       !mw__imap_push(c, &nv, &s->n, &cap, sizeof(v), &v))
      return false;
    s->nums = nv;
  }
  return true;
}

static bool esearch(struct mw__imap_cur *c, struct mw__imap_search *s)
{
  if(mw__imap_peek(c) == ' ' && c->pos + 1 < c->n && c->s[c->pos + 1] == '(') {
    c->pos += 2;
    size_t n;
    if(!mw__imap_word(c, "TAG") || !mw__imap_sp(c) ||
       !mw__imap_string(c, &s->tag, &n, false, false, false, NULL, NULL))
      return mw__imap_fail(c, "bad ESEARCH correlator");
    if(mw__imap_peek(c) != ')')
      return mw__imap_fail(c, "ESEARCH correlator not closed");
    c->pos++;
  }
  while(mw__imap_peek(c) == ' ') {
    c->pos++;
    if(++c->items > c->p->lim.max_items)
      return mw__imap_fail(c, "too many items in one response");
    bool ok;
    if(mw__imap_word(c, "UID")) {
      s->uid = true;
      continue;
    }
    if(mw__imap_word(c, "MIN"))
      ok = mw__imap_sp(c) && mw__imap_number(c, &s->min, true) &&
           (s->has_min = true);
    else if(mw__imap_word(c, "MAX"))
      ok = mw__imap_sp(c) && mw__imap_number(c, &s->max, true) &&
           (s->has_max = true);
    else if(mw__imap_word(c, "COUNT"))
      ok = mw__imap_sp(c) && mw__imap_number(c, &s->count, false) &&
           (s->has_count = true);
    else if(mw__imap_word(c, "ALL"))
      ok = mw__imap_sp(c) && seqset(c, &s->all);
    else if(mw__imap_word(c, "MODSEQ"))
      ok = mw__imap_sp(c) && mw__imap_number64(c, &s->modseq);
    else {
      const char *a;
      ok = mw__imap_atom(c, &a) && mw__imap_sp(c) &&
           mw__imap_skip_value(c, 0);
    }
    if(!ok)
      return false;
  }
  return true;
}

static bool untagged(struct mw__imap_cur *c, struct mw__imap_resp *r)
{
  r->kind = MW__IMAP_UNTAGGED;
  int ch = mw__imap_peek(c);
  if(ch >= '0' && ch <= '9') {
    if(!mw__imap_number(c, &r->number, false) || !mw__imap_sp(c))
      return false;
    if(mw__imap_word(c, "EXISTS"))
      r->type = MW__IMAP_T_EXISTS;
    else if(mw__imap_word(c, "RECENT"))
      r->type = MW__IMAP_T_RECENT;
    else if(mw__imap_word(c, "EXPUNGE"))
      r->type = MW__IMAP_T_EXPUNGE;
    else if(mw__imap_word(c, "FETCH")) {
      r->type = MW__IMAP_T_FETCH;
      if(r->number == 0)
        return mw__imap_fail(c, "FETCH of message number 0");
      r->fetch.seq = r->number;
      if(!mw__imap_sp(c) || !mw__imap_parse_fetch(c, &r->fetch))
        return false;
    }
    else
      return mw__imap_fail(c, "unknown message data response");
    if(r->type == MW__IMAP_T_EXPUNGE && r->number == 0)
      return mw__imap_fail(c, "EXPUNGE of message number 0");
    r->name = r->type == MW__IMAP_T_FETCH ? "FETCH"
              : mw__imap_type_name(r->type);
    return true;
  }
  if(!mw__imap_atom(c, &r->name))
    return false;
  struct mw__imap_cur w = *c;
  w.pos -= strlen(r->name);
  if(cond(&w, false, &r->status.cond)) {
    *c = w;
    return status_after_cond(c, r);
  }
  const char *n = r->name;
  if(mw__strieq(n, "CAPABILITY")) {
    r->type = MW__IMAP_T_CAPABILITY;
    return mw__imap_sp(c) && caps(c, &r->caps);
  }
  if(mw__strieq(n, "ENABLED")) {
    r->type = MW__IMAP_T_ENABLED;
    if(mw__imap_peek(c) == ' ' && c->pos + 1 < c->n) {
      c->pos++;
      return caps(c, &r->caps);
    }
    if(mw__imap_peek(c) == ' ')
      c->pos++;
    return true;
  }
  if(mw__strieq(n, "LIST") || mw__strieq(n, "LSUB")) {
    r->type = mw__strieq(n, "LIST") ? MW__IMAP_T_LIST : MW__IMAP_T_LSUB;
    return mw__imap_sp(c) && list(c, &r->list);
  }
  if(mw__strieq(n, "STATUS")) {
    r->type = MW__IMAP_T_STATUSDATA;
    return mw__imap_sp(c) && statusdata(c, &r->st);
  }
  if(mw__strieq(n, "SEARCH")) {
    r->type = MW__IMAP_T_SEARCH;
    return search(c, &r->search);
  }
  if(mw__strieq(n, "ESEARCH")) {
    r->type = MW__IMAP_T_ESEARCH;
    return esearch(c, &r->search);
  }
  if(mw__strieq(n, "FLAGS")) {
    r->type = MW__IMAP_T_FLAGS;
    return mw__imap_sp(c) && mw__imap_flag_list(c, &r->flags);
  }
  if(mw__strieq(n, "VANISHED")) {
    r->type = MW__IMAP_T_VANISHED;
    if(!mw__imap_sp(c))
      return false;
    if(mw__imap_peek(c) == '(') {
      c->pos++;
      if(!mw__imap_word(c, "EARLIER") || mw__imap_peek(c) != ')')
        return mw__imap_fail(c, "bad VANISHED modifier");
      c->pos++;
      r->vanished_earlier = true;
      if(!mw__imap_sp(c))
        return false;
    }
    return seqset(c, &r->vanished_set);
  }
  /* Anything else: keep the text, but it must still be made of values. */
  r->type = MW__IMAP_T_OTHER;
  size_t start = c->pos;
  while(mw__imap_peek(c) == ' ') {
    c->pos++;
    if(c->pos == c->n)
      break;
    if(!mw__imap_skip_value(c, 0)) {
      /* Free text (e.g. "* XSTATE some words [x]"): kept as text when it
       * holds no literal. */
      if(c->p->nlits)
        return false;
      c->why = NULL;
      c->pos = c->n;
    }
  }
  size_t a = start < c->n && c->s[start] == ' ' ? start + 1 : start;
  r->text = mw__imap_dup(c->p, c->s + a, c->n - a);
  return r->text ? true : mw__imap_fail(c, "out of memory");
}

bool mw__imap_parse_resp(struct mw__imap_parser *p, const char **why)
{
  struct mw__imap_resp *r = &p->resp;
  struct mw__imap_cur c = {.p = p, .s = p->text.data, .n = p->text.len};
  bool ok;
  memset(r, 0, sizeof(*r));
  r->status.code.name = r->status.code.raw = r->status.text = "";
  if(c.n && c.s[0] == '+') {
    r->kind = MW__IMAP_CONTINUE;
    r->type = MW__IMAP_T_CONTINUE;
    size_t a = c.n > 1 && c.s[1] == ' ' ? 2 : 1;
    ok = c.n == 1 || c.s[1] == ' ' || mw__imap_fail(&c, "'+' not followed "
                                                        "by a space");
    r->text = ok ? mw__imap_dup(p, c.s + a, c.n - a) : NULL;
    ok = ok && (r->text || mw__imap_fail(&c, "out of memory"));
    c.pos = c.n;
  }
  else if(c.n >= 2 && c.s[0] == '*' && c.s[1] == ' ') {
    c.pos = 2;
    ok = untagged(&c, r);
  }
  else {
    size_t k = mw__imap_atom_run(&c, true);
    if(!k || memchr(c.s, '+', k))
      ok = mw__imap_fail(&c, "response is not tagged, untagged or a "
                             "continuation");
    else if(k >= MW__IMAP_TAG_MAX)
      ok = mw__imap_fail(&c, "tag too long");
    else {
      r->kind = MW__IMAP_TAGGED;
      r->tag = mw__imap_dup(p, c.s, k);
      c.pos = k;
      ok = r->tag && mw__imap_sp(&c);
      if(ok && !cond(&c, true, &r->status.cond))
        ok = mw__imap_fail(&c, "tagged response is not OK, NO or BAD");
      if(ok) {
        r->name = mw__imap_cond_name(r->status.cond);
        ok = status_after_cond(&c, r);
      }
    }
  }
  if(ok && c.pos != c.n)
    ok = mw__imap_fail(&c, "junk at the end of the response");
  if(ok && c.lit != p->nlits)
    ok = mw__imap_fail(&c, "a literal where the grammar has no place for "
                           "one");
  if(!ok) {
    *why = c.why ? c.why : "malformed response";
    return false;
  }
  if(r->type == MW__IMAP_T_STATUS && !r->name)
    r->name = mw__imap_cond_name(r->status.cond);
  return true;
}

