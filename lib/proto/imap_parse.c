/*
 * proto/imap_parse.c - framing one IMAP server response from line parts
 * and literals, the cursor over it, and the parsers of every response but
 * FETCH (imap_fetch.c): status responses and their codes, CAPABILITY,
 * ENABLED, LIST/LSUB, STATUS, SEARCH, ESEARCH, FLAGS, EXISTS, RECENT,
 * EXPUNGE, VANISHED.  See imap_parse.h for the contract.
 */
#include "proto/imap_int.h"

#include <string.h>

/* ---- Limits, arena --------------------------------------------------- */

void mw__imap_limits_default(struct mw__imap_limits *l)
{
  l->max_literal = 1u << 20;
  l->max_body = (uint64_t)4 << 30;
  l->max_bytes = (size_t)16 << 20;
  l->max_literals = 4096;
  l->max_items = 1000000;
}

#define ARENA_BLOCK 16384u

void *mw__imap_alloc(struct mw__imap_parser *p, size_t n)
{
  n = (n + 15u) & ~(size_t)15u;
  if(!n)
    n = 16;
  struct mw__imap_arena_blk *b = p->arena;
  if(!b || b->cap - b->used < n) {
    size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
    if(cap > SIZE_MAX - sizeof(*b))
      return NULL;
    b = mw__malloc(sizeof(*b) + cap);
    if(!b)
      return NULL;
    b->cap = cap;
    b->used = 0;
    /* A big block goes behind the current one so the current keeps
     * serving small requests. */
    if(p->arena && cap > ARENA_BLOCK) {
      b->next = p->arena->next;
      p->arena->next = b;
    }
    else {
      b->next = p->arena;
      p->arena = b;
    }
  }
  void *r = (unsigned char *)(b + 1) + b->used;
  b->used += n;
  return r;
}

char *mw__imap_dup(struct mw__imap_parser *p, const char *s, size_t n)
{
  if(n == SIZE_MAX)
    return NULL;
  char *d = mw__imap_alloc(p, n + 1);
  if(!d)
    return NULL;
  if(n)
    memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static void reset(struct mw__imap_parser *p)
{
  while(p->arena) {
    struct mw__imap_arena_blk *n = p->arena->next;
    mw__free(p->arena);
    p->arena = n;
  }
  mw__sbuf_reset(&p->text);
  mw__free(p->lits);
  p->lits = NULL;
  p->nlits = p->caplits = 0;
  p->mem = 0;
  p->in_progress = false;
  p->literal_pending = false;
  p->lit_left = 0;
  p->framing = 0;
  p->fetch_seq = 0;
  p->scan_uid = 0;
  p->scan_pos = p->scan_lit = 0;
  p->scan_dead = false;
  p->sink_failed = false;
  memset(&p->resp, 0, sizeof(p->resp));
}

void mw__imap_parser_init(struct mw__imap_parser *p,
                          const struct mw__imap_limits *lim)
{
  memset(p, 0, sizeof(*p));
  if(lim)
    p->lim = *lim;
  else
    mw__imap_limits_default(&p->lim);
  mw__sbuf_init(&p->text);
}

void mw__imap_parser_set_sink(struct mw__imap_parser *p,
                              mw__imap_body_sink sink, void *ctx)
{
  p->sink = sink;
  p->sink_ctx = ctx;
}

void mw__imap_parser_free(struct mw__imap_parser *p)
{
  reset(p);
  mw__sbuf_free(&p->text);
}

/* ---- Literal markers ------------------------------------------------- */

int mw__imap_literal_marker(const char *line, size_t len, uint64_t max,
                            struct mw__imap_litmark *m, const char **why)
{
  if(!len || line[len - 1] != '}')
    return 0;
  size_t open = len - 1;
  while(open > 0 && line[open - 1] != '{' && line[open - 1] != '}')
    open--;
  if(open == 0 || line[open - 1] != '{')
    return 0;
  open--; /* at '{' */
  const char *c = line + open + 1;
  size_t cn = len - 1 - (open + 1);
  bool nonsync = cn && c[cn - 1] == '+';
  size_t dn = nonsync ? cn - 1 : cn;
  bool digits = dn > 0;
  for(size_t i = 0; i < dn; i++)
    digits = digits && c[i] >= '0' && c[i] <= '9';
  if(!digits) {
    /* Something number-like that is not a plain number is a lying or
     * broken marker; anything else is text. */
    bool numlike = cn > 0;
    for(size_t i = 0; i < cn; i++)
      numlike = numlike && ((c[i] >= '0' && c[i] <= '9') || c[i] == '+' ||
                            c[i] == '-' || c[i] == ' ');
    if(numlike || cn == 0) {
      *why = "literal length is not a plain number";
      return -1;
    }
    return 0;
  }
  uint64_t v = 0;
  for(size_t i = 0; i < dn; i++) {
    unsigned d = (unsigned)(c[i] - '0');
    if(v > (UINT64_MAX - d) / 10) {
      *why = "literal length does not fit in 64 bits";
      return -1;
    }
    v = v * 10 + d;
  }
  if(v > max) {
    *why = "literal length exceeds the limit";
    return -1;
  }
  m->len = v;
  m->nonsync = nonsync;
  m->binary = open > 0 && line[open - 1] == '~';
  m->start = m->binary ? open - 1 : open;
  return 1;
}

/* ---- The cursor ------------------------------------------------------ */

bool mw__imap_fail(struct mw__imap_cur *c, const char *why)
{
  if(!c->why)
    c->why = why;
  return false;
}

int mw__imap_peek(const struct mw__imap_cur *c)
{
  return c->pos < c->n ? (unsigned char)c->s[c->pos] : -1;
}

bool mw__imap_sp(struct mw__imap_cur *c)
{
  if(mw__imap_peek(c) != ' ')
    return mw__imap_fail(c, "expected a space");
  c->pos++;
  return true;
}

bool mw__imap_is_atom_char(int ch)
{
  if(ch <= 0x20 || ch >= 0x7f)
    return false;
  return !strchr("(){%*\"\\]", ch);
}

size_t mw__imap_atom_run(const struct mw__imap_cur *c, bool astring)
{
  size_t i = c->pos;
  while(i < c->n && (mw__imap_is_atom_char((unsigned char)c->s[i]) ||
                     (astring && c->s[i] == ']')))
    i++;
  return i - c->pos;
}

bool mw__imap_atom(struct mw__imap_cur *c, const char **out)
{
  size_t k = mw__imap_atom_run(c, false);
  if(!k)
    return mw__imap_fail(c, "expected an atom");
  *out = mw__imap_dup(c->p, c->s + c->pos, k);
  if(!*out)
    return mw__imap_fail(c, "out of memory");
  c->pos += k;
  return true;
}

bool mw__imap_word(struct mw__imap_cur *c, const char *word)
{
  size_t k = mw__imap_atom_run(c, false);
  size_t wl = strlen(word);
  if(k != wl || !mw__strnieq(c->s + c->pos, word, wl))
    return false;
  c->pos += k;
  return true;
}

bool mw__imap_number64(struct mw__imap_cur *c, uint64_t *v)
{
  uint64_t r = 0;
  size_t start = c->pos;
  while(c->pos < c->n && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
    unsigned d = (unsigned)(c->s[c->pos] - '0');
    if(r > (UINT64_MAX - d) / 10)
      return mw__imap_fail(c, "number does not fit in 64 bits");
    r = r * 10 + d;
    c->pos++;
  }
  if(c->pos == start)
    return mw__imap_fail(c, "expected a number");
  if(mw__imap_is_atom_char(mw__imap_peek(c)))
    return mw__imap_fail(c, "a number runs into other characters");
  *v = r;
  return true;
}

bool mw__imap_number(struct mw__imap_cur *c, uint32_t *v, bool nonzero)
{
  uint64_t r;
  if(!mw__imap_number64(c, &r))
    return false;
  if(r > UINT32_MAX)
    return mw__imap_fail(c, "number does not fit in 32 bits");
  if(nonzero && r == 0)
    return mw__imap_fail(c, "zero where a non-zero number is required");
  *v = (uint32_t)r;
  return true;
}

bool mw__imap_quoted(struct mw__imap_cur *c, const char **out, size_t *len)
{
  c->pos++; /* '"' */
  size_t start = c->pos, n = 0;
  for(;;) {
    if(c->pos >= c->n)
      return mw__imap_fail(c, "quoted string not closed");
    char ch = c->s[c->pos];
    if(ch == '"')
      break;
    if(ch == '\\') {
      if(c->pos + 1 >= c->n ||
         (c->s[c->pos + 1] != '\\' && c->s[c->pos + 1] != '"'))
        return mw__imap_fail(c, "bad escape in a quoted string");
      c->pos++;
    }
    c->pos++;
    n++;
  }
  char *d = mw__imap_alloc(c->p, n + 1);
  if(!d)
    return mw__imap_fail(c, "out of memory");
  size_t j = 0;
  for(size_t i = start; i < c->pos; i++) {
    if(c->s[i] == '\\')
      i++;
    d[j++] = c->s[i];
  }
  d[j] = '\0';
  c->pos++; /* closing '"' */
  *out = d;
  *len = n;
  return true;
}

/* A literal marker at the cursor: it must end exactly where the next
 * literal of the response was recorded. */
static bool literal(struct mw__imap_cur *c, struct mw__imap_lit **out)
{
  size_t i = c->pos;
  if(i < c->n && c->s[i] == '~')
    i++;
  if(i >= c->n || c->s[i] != '{')
    return mw__imap_fail(c, "expected a literal");
  size_t close = i + 1;
  while(close < c->n && c->s[close] != '}')
    close++;
  if(close >= c->n)
    return mw__imap_fail(c, "literal marker not closed");
  if(c->lit >= c->p->nlits || c->p->lits[c->lit].at != close + 1)
    return mw__imap_fail(c, "literal marker not at the end of a line");
  struct mw__imap_lit *l = &c->p->lits[c->lit];
  if(l->got != l->len)
    return mw__imap_fail(c, "literal incomplete");
  c->lit++;
  c->pos = close + 1;
  *out = l;
  return true;
}

bool mw__imap_string(struct mw__imap_cur *c, const char **out, size_t *len,
                     bool nil_ok, bool atom_ok, bool binary_ok,
                     bool *was_nil, struct mw__imap_lit **lit_out)
{
  int ch = mw__imap_peek(c);
  if(was_nil)
    *was_nil = false;
  if(lit_out)
    *lit_out = NULL;
  if(ch == '"')
    return mw__imap_quoted(c, out, len);
  if(ch == '{' ||
     (ch == '~' && c->pos + 1 < c->n && c->s[c->pos + 1] == '{')) {
    struct mw__imap_lit *l = NULL;
    if(!literal(c, &l))
      return false;
    if(l->streamed && !lit_out)
      return mw__imap_fail(c, "a streamed literal where no body is "
                              "expected");
    if(l->binary && !binary_ok)
      return mw__imap_fail(c, "a binary literal where a string is expected");
    if(!l->streamed && !binary_ok && memchr(l->data, 0, (size_t)l->len))
      return mw__imap_fail(c, "NUL byte in a string");
    *out = (const char *)l->data;
    *len = (size_t)l->len;
    if(lit_out)
      *lit_out = l;
    return true;
  }
  size_t k = mw__imap_atom_run(c, atom_ok);
  if(nil_ok && k == 3 && mw__strnieq(c->s + c->pos, "NIL", 3)) {
    c->pos += 3;
    *out = NULL;
    *len = 0;
    if(was_nil)
      *was_nil = true;
    return true;
  }
  if(atom_ok && k) {
    *out = mw__imap_dup(c->p, c->s + c->pos, k);
    if(!*out)
      return mw__imap_fail(c, "out of memory");
    *len = k;
    c->pos += k;
    return true;
  }
  return mw__imap_fail(c, "expected a string");
}

bool mw__imap_push(struct mw__imap_cur *c, void **v, size_t *n, size_t *cap,
                   size_t elem, const void *x)
{
  if(++c->items > c->p->lim.max_items)
    return mw__imap_fail(c, "too many items in one response");
  if(*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    if(nc > SIZE_MAX / elem)
      return mw__imap_fail(c, "out of memory");
    void *nv = mw__imap_alloc(c->p, nc * elem);
    if(!nv)
      return mw__imap_fail(c, "out of memory");
    if(*n)
      memcpy(nv, *v, *n * elem);
    *v = nv;
    *cap = nc;
  }
  memcpy((char *)*v + *n * elem, x, elem);
  (*n)++;
  return true;
}

bool mw__imap_strv_push(struct mw__imap_cur *c, struct mw__imap_strv *sv,
                      size_t *cap, const char *s)
{
  void *v = (void *)sv->v;
  bool ok = mw__imap_push(c, &v, &sv->n, cap, sizeof(char *), &s);
  sv->v = v;
  return ok;
}

/* flag = "\" atom / atom; "\*" too (PERMANENTFLAGS). */
static bool flag(struct mw__imap_cur *c, const char **out)
{
  size_t start = c->pos;
  if(mw__imap_peek(c) == '\\') {
    c->pos++;
    if(mw__imap_peek(c) == '*') {
      c->pos++;
      *out = mw__imap_dup(c->p, "\\*", 2);
      return *out ? true : mw__imap_fail(c, "out of memory");
    }
  }
  size_t k = mw__imap_atom_run(c, false);
  if(!k)
    return mw__imap_fail(c, "expected a flag");
  c->pos += k;
  *out = mw__imap_dup(c->p, c->s + start, c->pos - start);
  return *out ? true : mw__imap_fail(c, "out of memory");
}

bool mw__imap_flag_list(struct mw__imap_cur *c, struct mw__imap_strv *out)
{
  size_t cap = 0;
  out->v = NULL;
  out->n = 0;
  if(mw__imap_peek(c) != '(')
    return mw__imap_fail(c, "expected a parenthesised flag list");
  c->pos++;
  if(mw__imap_peek(c) == ')') {
    c->pos++;
    return true;
  }
  for(;;) {
    const char *f = NULL;
    if(!flag(c, &f) || !mw__imap_strv_push(c, out, &cap, f))
      return false;
    int ch = mw__imap_peek(c);
    if(ch == ')') {
      c->pos++;
      return true;
    }
    if(!mw__imap_sp(c))
      return false;
  }
}

bool mw__imap_skip_value(struct mw__imap_cur *c, int depth)
{
  int ch = mw__imap_peek(c);
  if(ch == '(') {
    if(depth >= MW__IMAP_MAX_DEPTH)
      return mw__imap_fail(c, "lists nested too deeply");
    c->pos++;
    if(mw__imap_peek(c) == ')') {
      c->pos++;
      return true;
    }
    for(;;) {
      if(++c->items > c->p->lim.max_items)
        return mw__imap_fail(c, "too many items in one response");
      if(!mw__imap_skip_value(c, depth + 1))
        return false;
      ch = mw__imap_peek(c);
      if(ch == ')') {
        c->pos++;
        return true;
      }
      if(!mw__imap_sp(c))
        return false;
    }
  }
  if(ch == '"' || ch == '{' ||
     (ch == '~' && c->pos + 1 < c->n && c->s[c->pos + 1] == '{')) {
    const char *s;
    size_t n;
    return mw__imap_string(c, &s, &n, false, false, true, NULL, NULL);
  }
  size_t i = c->pos;
  while(i < c->n) {
    unsigned char u = (unsigned char)c->s[i];
    if(u <= 0x20 || u == 0x7f || u == '(' || u == ')' || u == '"' ||
       u == '{')
      break;
    i++;
  }
  if(i == c->pos)
    return mw__imap_fail(c, "expected a value");
  c->pos = i;
  return true;
}

bool mw__imap_item_name(struct mw__imap_cur *c, const char **name,
                        const char **base, size_t *baselen,
                        const char **section, int64_t *origin)
{
  size_t start = c->pos;
  while(c->pos < c->n && c->s[c->pos] != '[' && c->s[c->pos] != '<' &&
        mw__imap_is_atom_char((unsigned char)c->s[c->pos]))
    c->pos++;
  if(c->pos == start)
    return mw__imap_fail(c, "expected a FETCH item name");
  *base = c->s + start;
  *baselen = c->pos - start;
  *section = NULL;
  *origin = -1;
  if(mw__imap_peek(c) == '[') {
    size_t s0 = ++c->pos;
    int depth = 0;
    while(c->pos < c->n && c->s[c->pos] != ']') {
      unsigned char u = (unsigned char)c->s[c->pos];
      if(u < 0x20 || u >= 0x7f || u == '[' || u == '{' || u == '"')
        return mw__imap_fail(c, "bad character in a body section");
      depth += u == '(';
      depth -= u == ')';
      if(depth < 0 || depth > 1)
        return mw__imap_fail(c, "bad parentheses in a body section");
      c->pos++;
    }
    if(c->pos >= c->n || depth)
      return mw__imap_fail(c, "body section not closed");
    *section = mw__imap_dup(c->p, c->s + s0, c->pos - s0);
    if(!*section)
      return mw__imap_fail(c, "out of memory");
    c->pos++;
    if(mw__imap_peek(c) == '<') {
      c->pos++;
      uint64_t o = 0;
      size_t d0 = c->pos;
      while(c->pos < c->n && c->s[c->pos] >= '0' && c->s[c->pos] <= '9' &&
            c->pos - d0 < 10)
        o = o * 10 + (uint64_t)(c->s[c->pos++] - '0');
      if(c->pos == d0 || o > UINT32_MAX)
        return mw__imap_fail(c, "bad partial origin");
      if(mw__imap_peek(c) != '>')
        return mw__imap_fail(c, "partial origin not closed");
      c->pos++;
      *origin = (int64_t)o;
    }
  }
  if(mw__imap_is_atom_char(mw__imap_peek(c)) || mw__imap_peek(c) == '[')
    return mw__imap_fail(c, "junk after a FETCH item name (a partial "
                            "origin needs a section)");
  *name = mw__imap_dup(c->p, c->s + start, c->pos - start);
  return *name ? true : mw__imap_fail(c, "out of memory");
}

/* ---- Framing --------------------------------------------------------- */

/* From the first line part: 1 = no literals (status responses,
 * continuation requests, CAPABILITY, FLAGS, SEARCH, ENABLED, EXISTS,
 * RECENT, EXPUNGE), 3 = FETCH, 2 = literals possible. */
static int framing(struct mw__imap_parser *p, const char *l, size_t n)
{
  struct mw__imap_cur c = {.p = p, .s = l, .n = n};
  if(n && l[0] == '+')
    return 1;
  if(n < 2 || l[0] != '*' || l[1] != ' ') {
    return 1; /* tagged (or garbage): never a literal */
  }
  c.pos = 2;
  int ch = mw__imap_peek(&c);
  if(ch >= '0' && ch <= '9') {
    uint32_t seq;
    if(!mw__imap_number(&c, &seq, false) || !mw__imap_sp(&c))
      return 1;
    if(seq && mw__imap_word(&c, "FETCH") && mw__imap_peek(&c) == ' ' &&
       c.pos + 1 < n && l[c.pos + 1] == '(') {
      p->fetch_seq = seq;
      p->scan_pos = c.pos + 2;
      p->scan_lit = 0;
      return 3;
    }
    return 1;
  }
  static const char *const none[] = {"OK",     "NO",     "BAD",     "BYE",
                                     "PREAUTH", "CAPABILITY", "FLAGS",
                                     "SEARCH", "ENABLED", "VANISHED"};
  for(size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
    struct mw__imap_cur w = c;
    if(mw__imap_word(&w, none[i]))
      return 1;
  }
  return 2;
}

static enum mw__imap_feed bad(struct mw__imap_parser *p, const char **why,
                              const char *w)
{
  *why = w;
  reset(p);
  return MW__IMAP_BAD;
}

enum mw__imap_feed mw__imap_feed_line(struct mw__imap_parser *p,
                                      const char *line, size_t len,
                                      uint64_t *literal, const char **why)
{
  *literal = 0;
  if(p->literal_pending)
    return bad(p, why, "a line fed while a literal was expected");
  if(!p->in_progress) {
    reset(p);
    p->in_progress = true;
  }
  for(size_t i = 0; i < len; i++)
    if(line[i] == '\0' || line[i] == '\r' || line[i] == '\n')
      return bad(p, why, line[i] ? "CR or LF inside a line"
                                 : "NUL byte in a line");
  if(len > p->lim.max_bytes - p->mem)
    return bad(p, why, "response too large");
  if(!p->text.len && !p->nlits)
    p->framing = framing(p, line, len);
  size_t base = p->text.len;
  if(!mw__sbuf_append(&p->text, line, len))
    return bad(p, why, "out of memory");
  p->mem += len;

  struct mw__imap_litmark m;
  int mk = 0;
  if(p->framing != 1) {
    uint64_t cap = p->lim.max_literal > p->lim.max_body ? p->lim.max_literal
                                                        : p->lim.max_body;
    mk = mw__imap_literal_marker(line, len, cap, &m, why);
    if(mk < 0)
      return bad(p, why, *why);
  }
  if(mk == 0) {
    p->in_progress = false;
    if(!mw__imap_parse_resp(p, why)) {
      const char *w = *why;
      return bad(p, why, w);
    }
    return MW__IMAP_DONE;
  }

  if(p->nlits >= p->lim.max_literals)
    return bad(p, why, "too many literals in one response");
  if(p->nlits == p->caplits) {
    size_t nc = p->caplits ? p->caplits * 2 : 8;
    struct mw__imap_lit *nl = mw__realloc(p->lits, nc * sizeof(*nl));
    if(!nl)
      return bad(p, why, "out of memory");
    p->lits = nl;
    p->caplits = nc;
  }
  struct mw__imap_lit *l = &p->lits[p->nlits++];
  memset(l, 0, sizeof(*l));
  l->at = p->text.len;
  l->len = m.len;
  l->binary = m.binary;
  bool stream = p->framing == 3 &&
                mw__imap_fetch_scan(p, base + m.start) && p->sink;
  if(stream) {
    l->streamed = true;
    if(m.len > p->lim.max_body)
      return bad(p, why, "body literal exceeds the limit");
    if(!mw__imap_sink(p, MW__IMAP_BODY_BEGIN, l->item, false, l->binary,
                      m.len, NULL, 0))
      return bad(p, why, "the body sink refused the data");
  }
  else {
    if(m.len > p->lim.max_literal)
      return bad(p, why, "literal length exceeds the limit");
    if(m.len > p->lim.max_bytes - p->mem)
      return bad(p, why, "response too large");
    l->data = mw__imap_alloc(p, (size_t)m.len + 1);
    if(!l->data)
      return bad(p, why, "out of memory");
    l->data[m.len] = '\0';
    p->mem += (size_t)m.len;
  }
  p->literal_pending = true;
  p->lit_left = m.len;
  *literal = m.len;
  return MW__IMAP_NEED_LITERAL;
}

enum mw__imap_feed mw__imap_feed_literal(struct mw__imap_parser *p,
                                         const void *data, size_t len,
                                         uint64_t *left, const char **why)
{
  *left = 0;
  if(!p->literal_pending)
    return bad(p, why, "literal bytes fed while none was expected");
  if(len > p->lit_left)
    return bad(p, why, "more literal bytes fed than announced");
  struct mw__imap_lit *l = &p->lits[p->nlits - 1];
  if(!l->binary && len && memchr(data, 0, len))
    return bad(p, why, "NUL byte in a literal (only ~{N} may hold one)");
  if(l->streamed) {
    if(len && !mw__imap_sink(p, MW__IMAP_BODY_DATA, l->item, false,
                             l->binary, l->got, data, len))
      return bad(p, why, "the body sink refused the data");
  }
  else if(len) {
    memcpy(l->data + l->got, data, len);
  }
  l->got += len;
  p->lit_left -= len;
  if(p->lit_left) {
    *left = p->lit_left;
    return MW__IMAP_NEED_LITERAL;
  }
  p->literal_pending = false;
  if(l->streamed && !mw__imap_sink(p, MW__IMAP_BODY_END, l->item, false,
                                   l->binary, l->len, NULL, 0))
    return bad(p, why, "the body sink refused the data");
  return MW__IMAP_NEED_LINE;
}
