/*
 * proto/imap_mbox.c - the IMAP mailbox commands: LIST, STATUS,
 * SELECT/EXAMINE, UID SEARCH, UID STORE, UID EXPUNGE or EXPUNGE, NOOP.
 * Each builds its command, runs it on the session's response loop
 * (proto/imap.c) and collects its untagged data.
 */
#include "proto/imap.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- LIST ---------------------------------------------------------------- */

struct list_ctx {
  mw_imap_list_fn fn;
  void *user;
  mw_status st; /* the callback's refusal */
};

static mw_status list_untagged(struct mw_imap *m,
                               const struct mw__imap_resp *r)
{
  struct list_ctx *c = m->cmd_ctx;
  if(r->type != MW__IMAP_T_LIST || c->st)
    return MW_OK;
  struct mw__sbuf flags, name;
  mw__sbuf_init(&flags);
  mw__sbuf_init(&name);
  bool ok = mw__sbuf_puts(&flags, "");
  for(size_t i = 0; ok && i < r->list.flags.n; i++)
    ok = mw__sbuf_printf(&flags, "%s%s", i ? " " : "", r->list.flags.v[i]);
  const char *why = NULL;
  const char *mbox = r->list.mailbox ? r->list.mailbox : "";
  size_t mlen = r->list.mailbox_len;
  /* IMAP4rev1 servers send modified UTF-7; a name that is not valid
   * modified UTF-7 is given as sent. */
  if(ok && !mw__imap_rev2(m) &&
     mw__imap_mutf7_decode(mbox, mlen, &name, &why))
    mbox = name.data ? name.data : "";
  else if(ok && memchr(mbox, '\0', mlen))
    mbox = NULL; /* cannot be given as a C string: skipped */
  mw_status st = MW_OK;
  if(!ok)
    st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  else if(mbox) {
    c->st = c->fn(c->user, mbox, r->list.delim, flags.data ? flags.data : "");
  }
  mw__sbuf_free(&flags);
  mw__sbuf_free(&name);
  return st;
}

mw_status mw_imap_list(mw_imap *m, const char *reference, const char *pattern,
                       mw_imap_list_fn fn, void *user)
{
  if(!m || !fn)
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, false);
  if(st)
    return st;
  struct mw__sbuf line;
  mw__sbuf_init(&line);
  st = mw__sbuf_puts(&line, "LIST ") ? MW_OK
                                     : mw__error_set(&m->err, MW_E_NOMEM, NULL);
  if(!st)
    st = mw__imap_put_mailbox(m, &line, reference ? reference : "");
  if(!st && !mw__sbuf_puts(&line, " "))
    st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  /* The pattern's wildcards (% *) are list-mailbox characters: quoted. */
  if(!st)
    st = mw__imap_put_mailbox(m, &line, pattern && *pattern ? pattern : "*");
  struct list_ctx c = {.fn = fn, .user = user};
  m->cmd_ctx = &c;
  if(!st)
    st = mw__imap_simple(m, IMAP_CMD_LIST, list_untagged, "%s", line.data);
  m->cmd_ctx = NULL;
  mw__sbuf_free(&line);
  if(!st && c.st)
    st = mw__error_set(&m->err, c.st, "the LIST callback stopped the list");
  return st;
}

/* ---- STATUS ---------------------------------------------------------------- */

static mw_status status_untagged(struct mw_imap *m,
                                 const struct mw__imap_resp *r)
{
  mw_imap_status *st = m->cmd_ctx;
  if(r->type != MW__IMAP_T_STATUSDATA)
    return MW_OK;
  const struct mw__imap_statusdata *d = &r->st;
  st->messages = d->messages;
  st->recent = d->recent;
  st->unseen = d->unseen;
  st->uidnext = d->uidnext;
  st->uidvalidity = d->uidvalidity;
  st->size = d->size;
  return MW_OK;
}

mw_status mw_imap_status_of(mw_imap *m, const char *mailbox,
                            mw_imap_status *out)
{
  if(!m || !mailbox || !out)
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, false);
  if(st)
    return st;
  memset(out, 0, sizeof(*out));
  struct mw__sbuf line;
  mw__sbuf_init(&line);
  st = mw__sbuf_puts(&line, "STATUS ") ? MW_OK
                                       : mw__error_set(&m->err, MW_E_NOMEM,
                                                       NULL);
  if(!st)
    st = mw__imap_put_mailbox(m, &line, mailbox);
  bool rev1 = mw__imap_has(m, "IMAP4REV1");
  bool size = mw__imap_has(m, "STATUS=SIZE") || mw__imap_rev2(m);
  if(!st && !mw__sbuf_printf(&line, " (MESSAGES%s UIDNEXT UIDVALIDITY "
                                    "UNSEEN%s)",
                             rev1 ? " RECENT" : "", size ? " SIZE" : ""))
    st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  m->cmd_ctx = out;
  if(!st)
    st = mw__imap_simple(m, IMAP_CMD_STATUS, status_untagged, "%s",
                         line.data);
  m->cmd_ctx = NULL;
  mw__sbuf_free(&line);
  return st;
}

/* ---- SELECT / EXAMINE -------------------------------------------------------- */

mw_status mw_imap_select(mw_imap *m, const char *mailbox, bool read_only,
                         mw_imap_status *out)
{
  if(!m || !mailbox)
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, false);
  if(st)
    return st;
  struct mw__sbuf line;
  mw__sbuf_init(&line);
  st = mw__sbuf_puts(&line, read_only ? "EXAMINE " : "SELECT ")
           ? MW_OK
           : mw__error_set(&m->err, MW_E_NOMEM, NULL);
  if(!st)
    st = mw__imap_put_mailbox(m, &line, mailbox);
  memset(&m->sel, 0, sizeof(m->sel));
  /* A failed SELECT leaves no mailbox selected (RFC 9051 6.3.2). */
  if(m->state == IMAP_SELECTED)
    m->state = IMAP_AUTH;
  if(!st)
    st = mw__imap_simple(m, IMAP_CMD_SELECT, NULL, "%s", line.data);
  mw__sbuf_free(&line);
  if(!st && m->state != IMAP_BROKEN)
    m->state = IMAP_SELECTED;
  if(!st && out)
    *out = m->sel;
  return st;
}

/* ---- UID SEARCH -------------------------------------------------------------- */

static mw_status search_untagged(struct mw_imap *m,
                                 const struct mw__imap_resp *r)
{
  if(r->type != MW__IMAP_T_SEARCH)
    return MW_OK;
  const struct mw__imap_search *s = &r->search;
  if(!s->n)
    return MW_OK;
  if(m->nuids + s->n < m->nuids)
    return mw__error_set(&m->err, MW_E_NOMEM, NULL);
  if(m->nuids + s->n > m->capuids) {
    size_t cap = m->capuids ? m->capuids : 64;
    while(cap < m->nuids + s->n)
      cap *= 2;
    uint32_t *n = mw__realloc(m->uids, cap * sizeof(*n));
    if(!n)
      return mw__error_set(&m->err, MW_E_NOMEM, NULL);
    m->uids = n;
    m->capuids = cap;
  }
  if(s->n) /* an empty SEARCH: m->uids may still be NULL */
    memcpy(m->uids + m->nuids, s->nums, s->n * sizeof(*s->nums));
  m->nuids += s->n;
  return MW_OK;
}

static int uid_cmp(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

mw_status mw_imap_search(mw_imap *m, const char *criteria,
                         const uint32_t **uids, size_t *count)
{
  if(!m || !uids || !count)
    return MW_E_INVALID;
  *uids = NULL;
  *count = 0;
  mw_status st = mw__imap_ready(m, true);
  if(st)
    return st;
  if(!criteria || !*criteria)
    criteria = "ALL";
  m->nuids = 0;
  st = mw__imap_simple(m, IMAP_CMD_SEARCH, search_untagged, "UID SEARCH %s",
                       criteria);
  if(st)
    return st;
  if(m->nuids)
    qsort(m->uids, m->nuids, sizeof(*m->uids), uid_cmp);
  size_t w = 0;
  for(size_t i = 0; i < m->nuids; i++)
    if(m->uids[i] && (!w || m->uids[w - 1] != m->uids[i]))
      m->uids[w++] = m->uids[i];
  m->nuids = w;
  *uids = m->uids;
  *count = m->nuids;
  return MW_OK;
}

/* ---- UID STORE, EXPUNGE, NOOP ---------------------------------------------- */

/* Sends "<prefix><set><suffix>" for uids in as many commands as the
 * sequence sets need (pipelined), and runs them all. */
mw_status mw__imap_uid_commands(struct mw_imap *m, int kind,
                                const uint32_t *uids, size_t count,
                                size_t batch, const char *prefix,
                                const char *suffix, imap_untagged_fn untagged,
                                bool progress)
{
  uint32_t last = 0;
  /* Sequence sets are built from ascending UIDs: sort a copy. */
  uint32_t *sorted = mw__malloc((count ? count : 1) * sizeof(*sorted));
  if(!sorted)
    return mw__error_set(&m->err, MW_E_NOMEM, NULL);
  size_t w = 0;
  if(count) {
    memcpy(sorted, uids, count * sizeof(*sorted));
    qsort(sorted, count, sizeof(*sorted), uid_cmp);
  }
  for(size_t i = 0; i < count; i++)
    if(sorted[i] && (!w || sorted[w - 1] != sorted[i]))
      sorted[w++] = sorted[i];
  count = w;
  uids = sorted;
  struct mw__sbuf set;
  mw__sbuf_init(&set);
  mw_status st = MW_OK;
  size_t done = 0;
  while(!st && done < count) {
    const char *why = NULL;
    mw__sbuf_reset(&set);
    size_t left = count - done;
    if(batch && left > batch)
      left = batch;
    size_t n = mw__imap_seqset_format(uids + done, left, 1000, &set, &why);
    if(!n) {
      st = mw__error_set(&m->err, MW_E_INVALID, "bad UID list: %s",
                         why ? why : "?");
      break;
    }
    done += n;
    st = mw__imap_command(m, kind, &last, "%s%s%s", prefix, set.data,
                          suffix);
  }
  mw__sbuf_free(&set);
  mw__free(sorted);
  if(st)
    return st;
  if(!last)
    return MW_OK;
  mw__imap_wait_for(m, last, false, untagged);
  m->wait.progress_extends = progress;
  m->wait.all = true;
  return mw__imap_run(m);
}

mw_status mw_imap_store_flags(mw_imap *m, const uint32_t *uids, size_t count,
                              const char *flags, int how)
{
  if(!m || (!uids && count) || !flags)
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, true);
  if(st || !count)
    return st;
  struct mw__sbuf suffix;
  mw__sbuf_init(&suffix);
  if(!mw__sbuf_printf(&suffix, " %sFLAGS.SILENT (",
                      how > 0 ? "+" : how < 0 ? "-" : ""))
    st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  if(!st)
    st = mw__imap_put_flags(m, &suffix, flags);
  if(!st && !mw__sbuf_puts(&suffix, ")"))
    st = mw__error_set(&m->err, MW_E_NOMEM, NULL);
  if(!st)
    st = mw__imap_uid_commands(m, IMAP_CMD_STORE, uids, count, 0,
                               "UID STORE ", suffix.data, NULL, false);
  mw__sbuf_free(&suffix);
  return st;
}

mw_status mw_imap_expunge(mw_imap *m, const uint32_t *uids, size_t count)
{
  if(!m || (!uids && count))
    return MW_E_INVALID;
  mw_status st = mw__imap_ready(m, true);
  if(st)
    return st;
  if(mw__imap_has(m, "UIDPLUS") || mw__imap_rev2(m)) {
    if(!count)
      return MW_OK;
    return mw__imap_uid_commands(m, IMAP_CMD_EXPUNGE, uids, count, 0,
                                 "UID EXPUNGE ", "", NULL, false);
  }
  return mw__imap_simple(m, IMAP_CMD_EXPUNGE, NULL, "EXPUNGE");
}

mw_status mw_imap_noop(mw_imap *m, bool *changed)
{
  if(!m)
    return MW_E_INVALID;
  if(changed)
    *changed = false;
  mw_status st = mw__imap_ready(m, false);
  if(!st)
    st = mw__imap_simple(m, IMAP_CMD_NOOP, NULL, "NOOP");
  if(!st && changed)
    *changed = m->changed;
  return st;
}
