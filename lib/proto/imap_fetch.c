/*
 * proto/imap_fetch.c - FETCH responses (RFC 3501 7.4.2, RFC 9051 7.5.2,
 * RFC 3516 BINARY, RFC 7162 MODSEQ): the items, ENVELOPE with its address
 * structures, message bodies, and the scan that decides, while a FETCH
 * response is still arriving, whether the literal just announced is a
 * body to stream to the sink (and with which UID).  See imap_parse.h.
 */
#include "proto/imap_int.h"

#include <string.h>

static bool base_is(const char *base, size_t len, const char *w)
{
  return strlen(w) == len && mw__strnieq(base, w, len);
}

bool mw__imap_body_item(const char *base, size_t len, bool has_section,
                        enum mw__imap_body_kind *kind)
{
  if(has_section) {
    if(base_is(base, len, "BODY"))
      *kind = MW__IMAP_BODY_BODY;
    else if(base_is(base, len, "BINARY"))
      *kind = MW__IMAP_BODY_BINARY;
    else
      return false;
    return true;
  }
  if(base_is(base, len, "RFC822"))
    *kind = MW__IMAP_BODY_RFC822;
  else if(base_is(base, len, "RFC822.HEADER"))
    *kind = MW__IMAP_BODY_RFC822_HEADER;
  else if(base_is(base, len, "RFC822.TEXT"))
    *kind = MW__IMAP_BODY_RFC822_TEXT;
  else
    return false;
  return true;
}

bool mw__imap_sink(struct mw__imap_parser *p, enum mw__imap_body_event ev,
                   const char *item, bool nil, bool binary, uint64_t size,
                   const unsigned char *data, size_t len)
{
  if(!p->sink)
    return true;
  struct mw__imap_body_chunk ch = {
      .event = ev,
      .seq = p->fetch_seq,
      .uid = p->scan_uid,
      .item = item ? item : "",
      .nil = nil,
      .binary = binary,
      .size = size,
      .data = data,
      .len = len,
  };
  if(!p->sink(p->sink_ctx, &ch)) {
    p->sink_failed = true;
    return false;
  }
  return true;
}

bool mw__imap_fetch_scan(struct mw__imap_parser *p, size_t marker_start)
{
  if(p->scan_dead)
    return false;
  struct mw__imap_cur c = {.p = p,
                           .s = p->text.data,
                           .n = marker_start,
                           .pos = p->scan_pos,
                           .lit = p->scan_lit};
  for(;;) {
    if(mw__imap_peek(&c) == ' ')
      c.pos++;
    if(c.pos >= c.n)
      return false;
    const char *name, *base, *section;
    size_t bl;
    int64_t origin;
    if(!mw__imap_item_name(&c, &name, &base, &bl, &section, &origin) ||
       !mw__imap_sp(&c)) {
      p->scan_dead = c.pos < c.n;
      return false;
    }
    if(c.pos == c.n) {
      /* The literal just announced is this item's value. */
      enum mw__imap_body_kind k;
      if(!mw__imap_body_item(base, bl, section != NULL, &k))
        return false;
      p->lits[p->nlits - 1].item = name;
      return true;
    }
    if(base_is(base, bl, "UID") && !section) {
      uint32_t uid;
      if(!mw__imap_number(&c, &uid, true)) {
        p->scan_dead = true;
        return false;
      }
      p->scan_uid = uid;
    }
    else if(!mw__imap_skip_value(&c, 1)) {
      /* Ran into the pending literal inside a value: not a body. */
      p->scan_dead = c.pos < c.n;
      return false;
    }
    p->scan_pos = c.pos;
    p->scan_lit = c.lit;
    if(mw__imap_peek(&c) == ')') {
      p->scan_dead = true;
      return false;
    }
  }
}

static bool nstring(struct mw__imap_cur *c, const char **out)
{
  size_t n;
  return mw__imap_string(c, out, &n, true, false, false, NULL, NULL);
}

static bool address(struct mw__imap_cur *c, struct mw__imap_addr *a)
{
  if(mw__imap_peek(c) != '(')
    return mw__imap_fail(c, "expected an address");
  c->pos++;
  if(!nstring(c, &a->name) || !mw__imap_sp(c) || !nstring(c, &a->adl) ||
     !mw__imap_sp(c) || !nstring(c, &a->mailbox) || !mw__imap_sp(c) ||
     !nstring(c, &a->host))
    return false;
  if(mw__imap_peek(c) != ')')
    return mw__imap_fail(c, "address not closed");
  c->pos++;
  return true;
}

static bool addrlist(struct mw__imap_cur *c, struct mw__imap_addrv *v)
{
  v->v = NULL;
  v->n = 0;
  if(mw__imap_word(c, "NIL"))
    return true;
  if(mw__imap_peek(c) != '(')
    return mw__imap_fail(c, "expected an address list");
  c->pos++;
  size_t cap = 0;
  while(mw__imap_peek(c) != ')') {
    struct mw__imap_addr a;
    void *vv = v->v;
    if(!address(c, &a) || !mw__imap_push(c, &vv, &v->n, &cap, sizeof(a), &a))
      return false;
    v->v = vv;
    /* Addresses follow each other without a separator; a space between
     * them is tolerated. */
    if(mw__imap_peek(c) == ' ' && c->pos + 1 < c->n &&
       c->s[c->pos + 1] == '(')
      c->pos++;
  }
  c->pos++;
  return true;
}

static bool envelope(struct mw__imap_cur *c, struct mw__imap_envelope *e)
{
  if(mw__imap_peek(c) != '(')
    return mw__imap_fail(c, "expected an envelope");
  c->pos++;
  struct mw__imap_addrv *lists[] = {&e->from, &e->sender, &e->reply_to,
                                    &e->to,   &e->cc,     &e->bcc};
  if(!nstring(c, &e->date) || !mw__imap_sp(c) || !nstring(c, &e->subject))
    return false;
  for(size_t i = 0; i < 6; i++)
    if(!mw__imap_sp(c) || !addrlist(c, lists[i]))
      return false;
  if(!mw__imap_sp(c) || !nstring(c, &e->in_reply_to) || !mw__imap_sp(c) ||
     !nstring(c, &e->message_id))
    return false;
  if(mw__imap_peek(c) != ')')
    return mw__imap_fail(c, "envelope not closed");
  c->pos++;
  return true;
}

static bool body(struct mw__imap_cur *c, struct mw__imap_fetch *f,
                 size_t *cap, const char *name, const char *section,
                 int64_t origin, enum mw__imap_body_kind kind)
{
  struct mw__imap_bodyval b = {
      .kind = kind, .item = name, .section = section ? section : "",
      .origin = origin};
  const char *s;
  size_t n;
  struct mw__imap_lit *l;
  if(!mw__imap_string(c, &s, &n, true, false, kind == MW__IMAP_BODY_BINARY,
                      &b.nil, &l))
    return false;
  if(l && l->streamed) {
    b.streamed = true;
    b.size = l->len;
  }
  else {
    b.data = (const unsigned char *)s;
    b.size = n;
    struct mw__imap_parser *p = c->p;
    if(p->sink) {
      bool bin = l && l->binary;
      if(!mw__imap_sink(p, MW__IMAP_BODY_BEGIN, name, b.nil, bin, n, NULL,
                        0) ||
         (n && !mw__imap_sink(p, MW__IMAP_BODY_DATA, name, false, bin, 0,
                              b.data, n)) ||
         !mw__imap_sink(p, MW__IMAP_BODY_END, name, b.nil, bin, n, NULL, 0))
        return mw__imap_fail(c, "the body sink refused the data");
      b.streamed = true;
    }
  }
  void *v = f->body;
  if(!mw__imap_push(c, &v, &f->nbody, cap, sizeof(b), &b))
    return false;
  f->body = v;
  return true;
}

bool mw__imap_parse_fetch(struct mw__imap_cur *c, struct mw__imap_fetch *f)
{
  struct mw__imap_parser *p = c->p;
  size_t bodycap = 0;
  p->scan_uid = 0;
  p->fetch_seq = f->seq;
  if(mw__imap_peek(c) != '(')
    return mw__imap_fail(c, "expected a FETCH item list");
  c->pos++;
  for(;;) {
    if(++c->items > p->lim.max_items)
      return mw__imap_fail(c, "too many items in one response");
    const char *name, *base, *section;
    size_t bl;
    int64_t origin;
    if(!mw__imap_item_name(c, &name, &base, &bl, &section, &origin) ||
       !mw__imap_sp(c))
      return false;
    enum mw__imap_body_kind kind;
    bool ok;
    if(mw__imap_body_item(base, bl, section != NULL, &kind)) {
      if(kind != MW__IMAP_BODY_BODY && kind != MW__IMAP_BODY_BINARY &&
         origin >= 0)
        return mw__imap_fail(c, "partial origin on an RFC822 item");
      ok = body(c, f, &bodycap, name, section, origin, kind);
    }
    else if(section && base_is(base, bl, "BINARY.SIZE")) {
      ok = mw__imap_number64(c, &f->binary_size);
      f->has |= MW__IMAP_F_BINARY_SIZE;
    }
    else if(section || origin >= 0) {
      ok = mw__imap_skip_value(c, 1);
    }
    else if(base_is(base, bl, "UID")) {
      ok = mw__imap_number(c, &f->uid, true);
      if(ok && (f->has & MW__IMAP_F_UID) && p->scan_uid != f->uid)
        return mw__imap_fail(c, "two different UIDs in one FETCH");
      f->has |= MW__IMAP_F_UID;
      p->scan_uid = f->uid;
    }
    else if(base_is(base, bl, "FLAGS")) {
      ok = mw__imap_flag_list(c, &f->flags);
      f->has |= MW__IMAP_F_FLAGS;
    }
    else if(base_is(base, bl, "RFC822.SIZE")) {
      ok = mw__imap_number64(c, &f->size);
      f->has |= MW__IMAP_F_SIZE;
    }
    else if(base_is(base, bl, "INTERNALDATE")) {
      size_t n;
      ok = mw__imap_peek(c) == '"'
               ? mw__imap_string(c, &f->internaldate, &n, false, false,
                                 false, NULL, NULL)
               : mw__imap_fail(c, "INTERNALDATE is not a quoted string");
      f->has |= MW__IMAP_F_INTERNALDATE;
    }
    else if(base_is(base, bl, "ENVELOPE")) {
      ok = envelope(c, &f->env);
      f->has |= MW__IMAP_F_ENVELOPE;
    }
    else if(base_is(base, bl, "MODSEQ")) {
      ok = mw__imap_peek(c) == '(' || mw__imap_fail(c, "MODSEQ is not a "
                                                       "list");
      if(ok) {
        c->pos++;
        ok = mw__imap_number64(c, &f->modseq) &&
             (mw__imap_peek(c) == ')' ||
              mw__imap_fail(c, "MODSEQ list not closed"));
        c->pos++;
      }
      f->has |= MW__IMAP_F_MODSEQ;
    }
    else {
      /* BODY, BODYSTRUCTURE, EMAILID, X-GM-LABELS, ...: skipped. */
      ok = mw__imap_skip_value(c, 1);
    }
    if(!ok)
      return false;
    if(mw__imap_peek(c) == ')') {
      c->pos++;
      return true;
    }
    if(!mw__imap_sp(c))
      return false;
  }
}
