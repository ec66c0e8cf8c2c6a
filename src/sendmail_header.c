/*
 * sendmail_header.c - the fix-ups of a ready-made message for `mailwire
 * sendmail`, done on its raw header so that sendmail without -t never
 * loads the message composer (GMime, GLib; issue 13).
 *
 * DESCRIPTION
 *   The header block (from the start to the first empty line, or to the
 *   end) is read from the spooled message and split into fields; a line
 *   starting with a space or a tab continues the field before it.  The
 *   copy sent is those fields with every Bcc field left out (the envelope
 *   carries those recipients), then a From field when the header has none
 *   and a sender is known, a Date field and a Message-ID field when the
 *   header has none (a field present is kept as it came, whatever its
 *   value), then the empty line and the body as they came (copied by the
 *   kernel, copy_file_range).  The first From field's value, unfolded, is
 *   the message's sender when mw_mailbox_check() reads it as one mailbox.
 *
 *   What stays with the composer (cmd_sendmail.c gives it the message, as
 *   before): -t, whose To, Cc and Bcc are RFC 5322 address lists (groups,
 *   comments, encoded words) that GMime parses; and a message this file
 *   does not take as it is: an empty input, a line in the header that is
 *   neither a field nor a continuation (an mbox "From " line, text without
 *   a header), a NUL byte in the header, a From that is not one mailbox
 *   (a list, a comment, a non-ASCII name), a -F name that needs RFC 2047
 *   encoding (not printable ASCII), a header over 1 MiB.
 */
#define _GNU_SOURCE /* copy_file_range */
#include "sendmail_header.h"

#include "mailwire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define SM_HEADER_MAX (1024 * 1024)
#define SM_READ_CHUNK 16384

struct sbuf {
  char *p;
  size_t len, cap;
};

static int sbuf_reserve(struct sbuf *b, size_t more)
{
  if(b->len + more <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while(cap < b->len + more)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if(!p)
    return -1;
  b->p = p;
  b->cap = cap;
  return 0;
}

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
  if(sbuf_reserve(b, n))
    return -1;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return 0;
}

/* Appends a From line's value (line breaks dropped, tabs as spaces). */
static void unfold_into(char *out, size_t cap, size_t *len, bool *over,
                        const char *s, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    if(s[i] == '\r' || s[i] == '\n')
      continue;
    if(*len + 1 >= cap) {
      *over = true;
      return;
    }
    out[(*len)++] = s[i] == '\t' ? ' ' : s[i];
  }
  out[*len] = '\0';
}

/* The field name's length when line starts a field ("Name:" with
 * optional blanks before the colon, RFC 5322 obs-optional), else 0;
 * *value: where the value starts. */
static size_t field_name(const char *line, size_t ll, size_t *value)
{
  size_t n = 0;
  while(n < ll && line[n] > 32 && line[n] < 127 && line[n] != ':')
    n++;
  size_t c = n;
  while(c < ll && (line[c] == ' ' || line[c] == '\t'))
    c++;
  if(!n || c >= ll || line[c] != ':')
    return 0;
  *value = c + 1;
  return n;
}

static bool name_is(const char *line, size_t n, const char *name)
{
  return strlen(name) == n && strncasecmp(line, name, n) == 0;
}

int sm_header_read(int fd, struct sm_header *h)
{
  memset(h, 0, sizeof(*h));
  h->eol = "\n";
  struct sbuf in = {0}, keep = {0};
  char from[1000] = "";
  size_t from_len = 0;
  bool from_over = false, eof = false, first = true, keeping = true,
       in_from = false;
  int result = 1;
  size_t pos = 0; /* the current line's start: its offset in the file */
  for(;;) {
    char *nl = in.len > pos ? memchr(in.p + pos, '\n', in.len - pos) : NULL;
    if(!nl && !eof) {
      if(in.len > SM_HEADER_MAX)
        goto done;
      if(sbuf_reserve(&in, SM_READ_CHUNK)) {
        result = -1;
        goto done;
      }
      ssize_t n = pread(fd, in.p + in.len, SM_READ_CHUNK, (off_t)in.len);
      if(n < 0 && errno == EINTR)
        continue;
      if(n < 0) {
        result = -1;
        goto done;
      }
      eof = n == 0;
      in.len += (size_t)n;
      continue;
    }
    size_t end = nl ? (size_t)(nl - in.p) + 1 : in.len;
    if(end == pos) { /* the end, inside the header */
      if(first)
        goto done; /* an empty input */
      h->rest = (off_t)pos;
      break;
    }
    const char *line = in.p + pos;
    size_t ll = end - pos;
    if(memchr(line, '\0', ll))
      goto done;
    if(first && ll >= 2 && line[ll - 2] == '\r' && line[ll - 1] == '\n')
      h->eol = "\r\n";
    if((ll == 1 && line[0] == '\n') ||
       (ll == 2 && line[0] == '\r' && line[1] == '\n')) {
      h->separator = true;
      h->rest = (off_t)pos;
      break;
    }
    if(line[0] == ' ' || line[0] == '\t') {
      if(first)
        goto done;
      if(in_from)
        unfold_into(from, sizeof(from), &from_len, &from_over, line, ll);
    }
    else {
      size_t value = 0, n = field_name(line, ll, &value);
      if(!n)
        goto done; /* not a field: the composer's */
      keeping = !name_is(line, n, "bcc");
      h->has_date |= name_is(line, n, "date");
      h->has_message_id |= name_is(line, n, "message-id");
      in_from = !h->has_from && name_is(line, n, "from");
      if(in_from) {
        h->has_from = true;
        unfold_into(from, sizeof(from), &from_len, &from_over, line + value,
                    ll - value);
      }
    }
    if(keeping && sbuf_add(&keep, line, ll)) {
      result = -1;
      goto done;
    }
    h->missing_eol = !nl;
    first = false;
    pos = end;
  }
  if(h->has_from) {
    char *v = from;
    while(*v == ' ')
      v++;
    size_t vl = strlen(v);
    while(vl && v[vl - 1] == ' ')
      v[--vl] = '\0';
    if(from_over ||
       mw_mailbox_check(v, h->sender, sizeof(h->sender), NULL) !=
           MW_MAILBOX_OK)
      goto done; /* not one mailbox: the composer reads it */
  }
  if(!keep.p && sbuf_reserve(&keep, 1)) {
    result = -1;
    goto done;
  }
  h->fields = keep.p;
  h->len = keep.len;
  keep.p = NULL;
  result = 0;

done:
  free(in.p);
  free(keep.p);
  if(result == -1 && !errno)
    errno = ENOMEM;
  return result;
}

void sm_header_free(struct sm_header *h)
{
  free(h->fields);
  h->fields = NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
  while(n) {
    ssize_t w = write(fd, p, n);
    if(w < 0 && errno == EINTR)
      continue;
    if(w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* RFC 5322 date-time, local time, English names whatever the locale. */
static void format_date(char *out, size_t len)
{
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  struct tm tm;
  if(!localtime_r(&now, &tm))
    gmtime_r(&now, &tm);
  long off = tm.tm_gmtoff / 60;
  char sign = off < 0 ? '-' : '+';
  if(off < 0)
    off = -off;
  snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
           days[(unsigned)tm.tm_wday % 7u], tm.tm_mday,
           months[(unsigned)tm.tm_mon % 12u], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec, sign, (off / 60) % 100, off % 60);
}

/* "<time.pid.random@domain>"; the domain is address's as a dot-atom
 * (letters, digits, '-', single dots; cut at anything else), else
 * mailwire.invalid, as the composer's. */
static void format_message_id(char *out, size_t len, const char *address)
{
  const char *at = address ? strrchr(address, '@') : NULL;
  char domain[256];
  size_t dn = 0;
  for(const char *s = at ? at + 1 : ""; *s && dn < sizeof(domain) - 1;
      s++, dn++) {
    char ch = *s;
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
  unsigned long long r = 0;
  if(getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r = (unsigned long long)ts.tv_nsec * 2654435761ULL ^
        (unsigned long long)getpid();
  }
  snprintf(out, len, "<%llx.%x.%016llx@%s>", (unsigned long long)time(NULL),
           (unsigned)getpid(), r, dn ? domain : "mailwire.invalid");
}

/* The rest of in, from off, appended to out: by the kernel where it can,
 * else read and written. */
static int copy_rest(int in, off_t off, int out)
{
  for(;;) {
    ssize_t n = copy_file_range(in, &off, out, NULL, 1 << 30, 0);
    if(n == 0)
      return 0;
    if(n > 0)
      continue;
    if(errno == EINTR)
      continue;
    if(errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
       errno != EOPNOTSUPP)
      return -1;
    break;
  }
  char buf[SM_READ_CHUNK];
  for(;;) {
    ssize_t n = pread(in, buf, sizeof(buf), off);
    if(n < 0 && errno == EINTR)
      continue;
    if(n <= 0)
      return n < 0 ? -1 : 0;
    if(write_all(out, buf, (size_t)n))
      return -1;
    off += n;
  }
}

int sm_header_write(const struct sm_header *h, int in, int out,
                    const char *from_mailbox, const char *id_address)
{
  char line[1200];
  if(write_all(out, h->fields, h->len) ||
     (h->missing_eol && write_all(out, h->eol, strlen(h->eol))))
    return -1;
  if(!h->has_from && from_mailbox) {
    snprintf(line, sizeof(line), "From: %s%s", from_mailbox, h->eol);
    if(write_all(out, line, strlen(line)))
      return -1;
  }
  if(!h->has_date) {
    char date[64];
    format_date(date, sizeof(date));
    snprintf(line, sizeof(line), "Date: %s%s", date, h->eol);
    if(write_all(out, line, strlen(line)))
      return -1;
  }
  if(!h->has_message_id) {
    char id[400];
    format_message_id(id, sizeof(id), id_address);
    snprintf(line, sizeof(line), "Message-ID: %s%s", id, h->eol);
    if(write_all(out, line, strlen(line)))
      return -1;
  }
  /* A header-only input gets its empty line (an empty body). */
  if(!h->separator && write_all(out, h->eol, strlen(h->eol)))
    return -1;
  return copy_rest(in, h->rest, out);
}
