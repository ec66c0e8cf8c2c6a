/*
 * io/layer.c - driving a layer stack with deadlines, and the in-memory
 * layer (see io/layer.h).
 */
#include "io/layer.h"

#include "core/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

void mw__layer_init(struct mw__layer *l, const struct mw__layer_ops *ops,
                    struct mw__layer *below, void *impl,
                    struct mw_error *err)
{
  memset(l, 0, sizeof(*l));
  l->ops = ops;
  l->below = below;
  l->impl = impl;
  l->err = err;
  l->fd = below ? below->fd : -1;
}

void mw__layer_close(struct mw__layer *l)
{
  if(l)
    l->ops->close(l);
}

struct mw_error *mw__layer_set_err(struct mw__layer *l, struct mw_error *err)
{
  struct mw_error *old = l ? l->err : NULL;
  for(; l; l = l->below)
    l->err = err;
  return old;
}

int mw__layer_fd(const struct mw__layer *l) { return l ? l->fd : -1; }

size_t mw__layer_pending(const struct mw__layer *l)
{
  size_t n = 0;
  for(; l; l = l->below)
    if(l->ops->pending)
      n += l->ops->pending(l);
  return n;
}

void mw__layer_describe_stack(const struct mw__layer *l, char *buf,
                              size_t len)
{
  size_t used = 0;
  if(len)
    buf[0] = '\0';
  for(; l && used + 1 < len; l = l->below) {
    char one[160] = "";
    if(l->ops->describe)
      l->ops->describe(l, one, sizeof(one));
    else
      snprintf(one, sizeof(one), "%s", l->ops->name);
    int n = snprintf(buf + used, len - used, "%s%s", used ? " > " : "", one);
    if(n < 0)
      break;
    used += (size_t)n;
  }
}

/* Polls fd until it is ready or until; MW_E_TIMEOUT when until passes
 * (not recorded in err when quiet). */
static mw_status wait_fd(int fd, short events, int64_t until,
                         struct mw_error *err, const char *what, bool quiet)
{
  for(;;) {
    int64_t left = until - mw__now_ms();
    if(left <= 0)
      return quiet ? MW_E_TIMEOUT
                   : mw__error_set(err, MW_E_TIMEOUT, "timed out %s", what);
    struct pollfd p = {.fd = fd, .events = events};
    int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if(rc < 0) {
      if(errno == EINTR)
        continue;
      return mw__error_set(err, MW_E_CLOSED, "poll failed %s: %s", what,
                           strerror(errno));
    }
    if(rc == 0)
      continue; /* loop re-checks the deadline */
    if(p.revents & POLLNVAL)
      return mw__error_set(err, MW_E_CLOSED, "socket invalid %s", what);
    /* POLLERR/POLLHUP: let the read or write report the real error. */
    return MW_OK;
  }
}

mw_status mw__layer_wait(const struct mw__layer *l, short events,
                         int64_t deadline, struct mw_error *err,
                         const char *what)
{
  int fd = mw__layer_fd(l);
  if(fd < 0)
    return mw__error_set(err, MW_E_TIMEOUT, "timed out %s", what);
  return wait_fd(fd, events, deadline, err, what, false);
}

mw_status mw__layer_connect(struct mw__layer *l, int64_t deadline,
                            const char *what)
{
  if(!l->ops->connect)
    return MW_OK;
  for(;;) {
    short want = 0;
    l->wake_at = 0;
    mw_status st = l->ops->connect(l, &want);
    if(st || !want)
      return st;
    if(l->wake_at && l->wake_at < deadline && l->fd >= 0) {
      /* The step has a timeout of its own before ours: run it again then,
       * ready or not (it decides what its timeout means). */
      st = wait_fd(l->fd, want, l->wake_at, l->err, what, true);
      if(st == MW_E_TIMEOUT)
        continue;
    }
    else {
      st = mw__layer_wait(l, want, deadline, l->err, what);
    }
    if(st)
      return st;
  }
}

mw_status mw__layer_read_wait(struct mw__layer *l, void *buf, size_t len,
                              size_t *got, int64_t deadline,
                              const char *what)
{
  for(;;) {
    short want = 0;
    *got = 0;
    mw_status st = l->ops->read(l, buf, len, got, &want);
    if(st || *got)
      return st;
    if(!want) /* a layer that made no progress and asks for no wait */
      want = POLLIN;
    st = mw__layer_wait(l, want, deadline, l->err, what);
    if(st)
      return st;
  }
}

mw_status mw__layer_write_all(struct mw__layer *l, const void *buf,
                              size_t len, int64_t deadline,
                              const char *what)
{
  const char *p = buf;
  while(len) {
    short want = 0;
    size_t put = 0;
    mw_status st = l->ops->write(l, p, len, &put, &want);
    if(st)
      return st;
    p += put;
    len -= put;
    if(len && !put) {
      st = mw__layer_wait(l, want ? want : POLLOUT, deadline, l->err, what);
      if(st)
        return st;
    }
  }
  return MW_OK;
}

/* ---- the in-memory layer ------------------------------------------------ */

struct mw__mem_segment {
  char *data;
  size_t len;
};

struct mw__mem_layer {
  struct mw__layer layer;
  struct mw__mem_segment *segs;
  size_t nsegs, cap;
  size_t cur;       /* the segment being read (released) */
  size_t pos;       /* read offset in it */
  size_t close_at;  /* segments before the scripted close, or SIZE_MAX */
  bool writes_fail; /* after the close */
  bool wrote;       /* the client wrote since the last release */
  size_t writes;    /* write calls that put bytes */
  bool closed;      /* the stack above closed it */
  size_t read_max;
  struct mw__sbuf out;
};

static size_t mem_script_end(const struct mw__mem_layer *m)
{
  return m->close_at < m->nsegs ? m->close_at : m->nsegs;
}

static mw_status mem_read(struct mw__layer *l, void *buf, size_t len,
                          size_t *got, short *want)
{
  struct mw__mem_layer *m = l->impl;
  *got = 0;
  *want = 0;
  if(m->closed)
    return mw__error_set(l->err, MW_E_STATE, "the connection is closed");
  size_t end = mem_script_end(m);
  while(m->cur < end && m->pos == m->segs[m->cur].len) {
    /* This segment is read: the next one comes once the client spoke. */
    if(m->cur + 1 >= end) {
      m->cur = end;
      break;
    }
    if(!m->wrote) {
      /* The scripted server waits for the client: so must the reader
       * (a wait on a stack without a socket times out at once). */
      *want = POLLIN;
      return MW_OK;
    }
    m->cur++;
    m->pos = 0;
    m->wrote = false;
  }
  if(m->cur >= end) {
    l->eof = true;
    return mw__error_set(l->err, MW_E_CLOSED,
                         "the server closed the connection");
  }
  const struct mw__mem_segment *s = &m->segs[m->cur];
  size_t n = s->len - m->pos;
  if(n > len)
    n = len;
  if(m->read_max && n > m->read_max)
    n = m->read_max;
  memcpy(buf, s->data + m->pos, n);
  m->pos += n;
  *got = n;
  return MW_OK;
}

static mw_status mem_write(struct mw__layer *l, const void *buf, size_t len,
                           size_t *put, short *want)
{
  struct mw__mem_layer *m = l->impl;
  *put = 0;
  *want = 0;
  if(m->closed)
    return mw__error_set(l->err, MW_E_STATE, "the connection is closed");
  if(m->writes_fail && m->cur >= mem_script_end(m) &&
     m->close_at <= m->nsegs) {
    l->sys_errno = EPIPE;
    return mw__error_set(l->err, MW_E_CLOSED,
                         "the connection to the server failed: %s",
                         strerror(EPIPE));
  }
  if(!mw__sbuf_append(&m->out, buf, len))
    return mw__error_set(l->err, MW_E_NOMEM, NULL);
  *put = len;
  if(len) {
    m->wrote = true;
    m->writes++;
  }
  return MW_OK;
}

static size_t mem_pending(const struct mw__layer *l)
{
  (void)l;
  return 0; /* nothing hides from a reader: there is no poll */
}

static void mem_close(struct mw__layer *l)
{
  struct mw__mem_layer *m = l->impl;
  m->closed = true;
}

static void mem_describe(const struct mw__layer *l, char *buf, size_t len)
{
  const struct mw__mem_layer *m = l->impl;
  snprintf(buf, len, "memory (%zu scripted segment%s)", m->nsegs,
           m->nsegs == 1 ? "" : "s");
}

static const struct mw__layer_ops mem_ops = {.name = "memory",
                                             .read = mem_read,
                                             .write = mem_write,
                                             .pending = mem_pending,
                                             .close = mem_close,
                                             .describe = mem_describe};

struct mw__mem_layer *mw__mem_layer_new(struct mw_error *err)
{
  struct mw__mem_layer *m = mw__calloc(1, sizeof(*m));
  if(!m)
    return NULL;
  mw__layer_init(&m->layer, &mem_ops, NULL, m, err);
  m->close_at = SIZE_MAX;
  mw__sbuf_init(&m->out);
  return m;
}

bool mw__mem_layer_add(struct mw__mem_layer *m, const void *data, size_t len)
{
  if(m->nsegs == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 8;
    struct mw__mem_segment *n = mw__realloc(m->segs, cap * sizeof(*n));
    if(!n)
      return false;
    m->segs = n;
    m->cap = cap;
  }
  char *copy = mw__malloc(len ? len : 1);
  if(!copy)
    return false;
  if(len)
    memcpy(copy, data, len);
  m->segs[m->nsegs].data = copy;
  m->segs[m->nsegs].len = len;
  m->nsegs++;
  return true;
}

bool mw__mem_layer_add_str(struct mw__mem_layer *m, const char *s)
{
  return mw__mem_layer_add(m, s, strlen(s));
}

void mw__mem_layer_close_here(struct mw__mem_layer *m, bool writes_fail)
{
  m->close_at = m->nsegs;
  m->writes_fail = writes_fail;
}

size_t mw__mem_layer_writes(const struct mw__mem_layer *m)
{
  return m->writes;
}

void mw__mem_layer_set_read_max(struct mw__mem_layer *m, size_t max)
{
  m->read_max = max;
}

struct mw__layer *mw__mem_layer_get(struct mw__mem_layer *m)
{
  return &m->layer;
}

const char *mw__mem_layer_written(const struct mw__mem_layer *m,
                                  size_t *len)
{
  if(len)
    *len = m->out.len;
  return m->out.data ? m->out.data : "";
}

bool mw__mem_layer_closed(const struct mw__mem_layer *m) { return m->closed; }

bool mw__mem_layer_drained(const struct mw__mem_layer *m)
{
  size_t end = mem_script_end(m);
  return m->cur >= end ||
         (m->cur + 1 == end && m->pos == m->segs[m->cur].len);
}

void mw__mem_layer_free(struct mw__mem_layer *m)
{
  if(!m)
    return;
  for(size_t i = 0; i < m->nsegs; i++)
    mw__free(m->segs[i].data);
  mw__free(m->segs);
  mw__sbuf_free(&m->out);
  mw__free(m);
}
