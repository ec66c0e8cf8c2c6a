/*
 * io/stream.c - buffered line I/O with deadlines over a layer stack.
 */
#include "io/stream.h"

#include <poll.h>
#include <string.h>

void mw__stream_init(struct mw__stream *s, struct mw__layer *top,
                     struct mw_error *err)
{
  memset(s, 0, sizeof(*s));
  s->top = top;
  s->fd = mw__layer_fd(top);
  s->err = err;
  mw__sbuf_init(&s->wbuf);
}

void mw__stream_push(struct mw__stream *s, struct mw__layer *top)
{
  s->top = top;
  s->fd = mw__layer_fd(top);
}

void mw__stream_close(struct mw__stream *s)
{
  mw__layer_close(s->top);
  s->top = NULL;
  s->fd = -1;
  s->rpos = s->rend = 0;
  mw__sbuf_free(&s->wbuf);
}

bool mw__stream_is_open(const struct mw__stream *s) { return s->top != NULL; }

size_t mw__stream_buffered(const struct mw__stream *s)
{
  return s->rend - s->rpos;
}

static mw_status stream_fill(struct mw__stream *s, int64_t deadline)
{
  if(!s->top)
    return mw__error_set(s->err, MW_E_STATE, "the connection is closed");
  if(s->rpos == s->rend)
    s->rpos = s->rend = 0;
  if(s->rend == sizeof(s->rbuf)) {
    memmove(s->rbuf, s->rbuf + s->rpos, s->rend - s->rpos);
    s->rend -= s->rpos;
    s->rpos = 0;
  }
  size_t got = 0;
  mw_status st = mw__layer_read_wait(s->top, s->rbuf + s->rend,
                                     sizeof(s->rbuf) - s->rend, &got,
                                     deadline, "waiting for the server");
  if(st)
    return st;
  s->rend += got;
  s->bytes_in += got;
  return MW_OK;
}

mw_status mw__stream_read_line(struct mw__stream *s, struct mw__sbuf *line,
                               size_t max, int64_t deadline)
{
  mw__sbuf_reset(line);
  for(;;) {
    char *start = s->rbuf + s->rpos;
    size_t avail = s->rend - s->rpos;
    char *nl = memchr(start, '\n', avail);
    size_t take = nl ? (size_t)(nl - start) : avail;
    if(line->len + take > max + 1) /* +1: a CR before LF is not content */
      return mw__error_set(s->err, MW_E_PROTOCOL,
                           "the server sent a line longer than %zu bytes",
                           max);
    if(!mw__sbuf_append(line, start, take))
      return mw__error_set(s->err, MW_E_NOMEM, NULL);
    s->rpos += take;
    if(nl) {
      s->rpos++; /* the LF */
      if(line->len && line->data[line->len - 1] == '\r')
        line->data[--line->len] = '\0';
      if(line->len > max)
        return mw__error_set(s->err, MW_E_PROTOCOL,
                             "the server sent a line longer than %zu bytes",
                             max);
      return MW_OK;
    }
    mw_status st = stream_fill(s, deadline);
    if(st)
      return st;
  }
}

bool mw__stream_queue(struct mw__stream *s, const void *data, size_t len)
{
  return mw__sbuf_append(&s->wbuf, data, len);
}

size_t mw__stream_queued(const struct mw__stream *s) { return s->wbuf.len; }

mw_status mw__stream_flush(struct mw__stream *s, int64_t deadline)
{
  if(s->wbuf.failed) {
    mw__sbuf_reset(&s->wbuf);
    s->wbuf.failed = false;
    return mw__error_set(s->err, MW_E_NOMEM, NULL);
  }
  if(!s->wbuf.len)
    return MW_OK;
  if(!s->top)
    return mw__error_set(s->err, MW_E_STATE, "the connection is closed");
  mw_status st = mw__layer_write_all(s->top, s->wbuf.data, s->wbuf.len,
                                     deadline, "sending to the server");
  if(!st)
    s->bytes_out += s->wbuf.len;
  mw__sbuf_reset(&s->wbuf);
  return st;
}

/* ---- without waiting ------------------------------------------------- */

mw_status mw__stream_try_fill(struct mw__stream *s, size_t *got, short *want)
{
  *got = 0;
  *want = 0;
  if(!s->top)
    return mw__error_set(s->err, MW_E_STATE, "the connection is closed");
  if(s->rpos == s->rend)
    s->rpos = s->rend = 0;
  if(s->rend == sizeof(s->rbuf)) {
    if(!s->rpos)
      return MW_OK; /* full: the reader must consume first */
    memmove(s->rbuf, s->rbuf + s->rpos, s->rend - s->rpos);
    s->rend -= s->rpos;
    s->rpos = 0;
  }
  mw_status st = s->top->ops->read(s->top, s->rbuf + s->rend,
                                   sizeof(s->rbuf) - s->rend, got, want);
  if(st)
    return st;
  if(!*got && !*want)
    *want = POLLIN; /* a layer that made no progress and named no wait */
  s->rend += *got;
  s->bytes_in += *got;
  return MW_OK;
}

const char *mw__stream_peek(const struct mw__stream *s, size_t *len)
{
  *len = s->rend - s->rpos;
  return s->rbuf + s->rpos;
}

void mw__stream_consume(struct mw__stream *s, size_t n)
{
  size_t avail = s->rend - s->rpos;
  s->rpos += n < avail ? n : avail;
}

mw_status mw__stream_try_flush(struct mw__stream *s, short *want)
{
  *want = 0;
  if(s->wbuf.failed) {
    mw__sbuf_reset(&s->wbuf);
    s->wbuf.failed = false;
    return mw__error_set(s->err, MW_E_NOMEM, NULL);
  }
  if(!s->wbuf.len)
    return MW_OK;
  if(!s->top)
    return mw__error_set(s->err, MW_E_STATE, "the connection is closed");
  size_t done = 0;
  while(done < s->wbuf.len) {
    size_t put = 0;
    short w = 0;
    mw_status st = s->top->ops->write(s->top, s->wbuf.data + done,
                                      s->wbuf.len - done, &put, &w);
    if(st) {
      mw__sbuf_reset(&s->wbuf);
      return st;
    }
    if(!put) {
      *want = w ? w : POLLOUT;
      break;
    }
    done += put;
  }
  s->bytes_out += done;
  if(done == s->wbuf.len)
    mw__sbuf_reset(&s->wbuf);
  else if(done) {
    memmove(s->wbuf.data, s->wbuf.data + done, s->wbuf.len - done);
    s->wbuf.len -= done;
    s->wbuf.data[s->wbuf.len] = '\0';
  }
  return MW_OK;
}
