/*
 * proto/data.c - the message body's framing (proto/data.h): streaming CRLF
 * normalisation, dot-stuffing for DATA, BDAT chunk framing, and the
 * streaming scan of a message (mw_message_info).
 */
#include "proto/data.h"

#include "mailwire.h"

#include <string.h>

void mw__data_encoder_init(struct mw__data_encoder *e)
{
  e->at_line_start = true;
  e->pending_cr = false;
  e->no_stuffing = false;
  e->raw = false;
}

void mw__data_encoder_init_bdat(struct mw__data_encoder *e)
{
  mw__data_encoder_init(e);
  e->no_stuffing = true;
}

void mw__data_encoder_init_raw(struct mw__data_encoder *e)
{
  mw__data_encoder_init_bdat(e);
  e->raw = true;
}

bool mw__bdat_frame(const char *data, size_t len, bool last,
                    struct mw__sbuf *out)
{
  if(!mw__sbuf_printf(out, "BDAT %zu%s\r\n", len, last ? " LAST" : ""))
    return false;
  return !len || mw__sbuf_append(out, data, len);
}

bool mw__data_encode(struct mw__data_encoder *e, const char *in, size_t len,
                     struct mw__sbuf *out)
{
  if(e->raw)
    return mw__sbuf_append(out, in, len);
  size_t i = 0;
  while(i < len) {
    if(e->pending_cr) {
      /* CRLF, or a bare CR: either way the line ends here. */
      if(!mw__sbuf_append(out, "\r\n", 2))
        return false;
      e->pending_cr = false;
      e->at_line_start = true;
      if(in[i] == '\n') {
        i++;
        continue;
      }
    }
    /* Copy the longest run of ordinary bytes in one append. */
    size_t run = i;
    if(e->at_line_start && in[i] == '.' && !e->no_stuffing) {
      if(!mw__sbuf_append(out, ".", 1))
        return false;
    }
    while(run < len && in[run] != '\r' && in[run] != '\n')
      run++;
    if(run > i) {
      if(!mw__sbuf_append(out, in + i, run - i))
        return false;
      e->at_line_start = false;
      i = run;
      continue;
    }
    if(in[i] == '\r') {
      e->pending_cr = true;
    }
    else { /* bare LF */
      if(!mw__sbuf_append(out, "\r\n", 2))
        return false;
      e->at_line_start = true;
    }
    i++;
  }
  return true;
}

bool mw__data_finish(struct mw__data_encoder *e, struct mw__sbuf *out)
{
  if(e->raw)
    return true;
  if(e->pending_cr) {
    if(!mw__sbuf_append(out, "\r\n", 2))
      return false;
    e->pending_cr = false;
    e->at_line_start = true;
  }
  if(!e->at_line_start && !mw__sbuf_append(out, "\r\n", 2))
    return false;
  e->at_line_start = true;
  return e->no_stuffing || mw__sbuf_append(out, ".\r\n", 3);
}

/* Streaming scan: the size as it will go on the wire (bare LF and bare CR
 * become CRLF, dot-stuffing adds a byte), 8-bit data, 8-bit bytes in the
 * header section (which need SMTPUTF8), and the longest line.  Line ends
 * are CRLF, a bare LF or a bare CR, exactly as the encoder sees them. */
struct info_scan {
  bool in_headers;
  bool pending_cr; /* the last byte was a CR: a line just ended */
  size_t line_len;
  uint64_t line_no; /* 1-based number of the current line */
};

/* RFC 5321 4.5.3.1.6: 998 bytes of text before the CRLF. */
#define SCAN_MAX_LINE 998

static void scan_end_line(mw_message_info *info, struct info_scan *sc)
{
  if(sc->line_len > info->longest_line)
    info->longest_line = sc->line_len;
  if(sc->in_headers && sc->line_len == 0)
    sc->in_headers = false;
  sc->line_len = 0;
  sc->line_no++;
}

/* Returns false when a line grew past 998 bytes: the scan stops there
 * (info->long_line names the line), so a source that never sends a line
 * break is not read to its end. */
/* The fast path: a run of ordinary bytes (no CR, LF or NUL) that keeps
 * the line within the limit, the usual case, in one tight loop instead of
 * the per-byte branches below.  Returns how many bytes it took (0: the
 * byte-by-byte loop handles the next one).  Linear: each run stops at the
 * first byte it does not take. */
static size_t scan_plain_run(mw_message_info *info, struct info_scan *sc,
                             const unsigned char *p, size_t len)
{
  if(sc->pending_cr || sc->line_len >= SCAN_MAX_LINE)
    return 0;
  size_t room = SCAN_MAX_LINE - sc->line_len;
  size_t max = len < room ? len : room;
  unsigned char high = 0;
  size_t n = 0;
  while(n < max) {
    unsigned char c = p[n];
    if(c == '\n' || c == '\r' || c == 0)
      break;
    high |= c;
    n++;
  }
  if(!n)
    return 0;
  if(high & 0x80) {
    info->has_8bit = true;
    if(sc->in_headers)
      info->needs_smtputf8 = true;
  }
  if(sc->line_len == 0 && p[0] == '.')
    info->size++; /* dot-stuffing */
  info->size += n;
  sc->line_len += n;
  return n;
}

static bool scan_bytes(mw_message_info *info, struct info_scan *sc,
                       const unsigned char *p, size_t len)
{
  for(size_t i = 0; i < len; i++) {
    size_t run = scan_plain_run(info, sc, p + i, len - i);
    if(run) {
      i += run - 1;
      continue;
    }
    unsigned char c = p[i];
    info->size++;
    if(c == '\n') {
      if(sc->pending_cr)
        sc->pending_cr = false; /* CRLF: the CR ended the line */
      else {
        info->size++; /* a bare LF becomes CRLF */
        scan_end_line(info, sc);
      }
      continue;
    }
    if(sc->pending_cr) {
      info->size++; /* the previous CR was bare: it becomes CRLF */
      sc->pending_cr = false;
    }
    if(c == '\r') {
      sc->pending_cr = true;
      scan_end_line(info, sc);
      continue;
    }
    if(c == 0)
      info->binary = true; /* only BINARYMIME carries it unchanged */
    if(c >= 0x80) {
      info->has_8bit = true;
      if(sc->in_headers)
        info->needs_smtputf8 = true;
    }
    if(sc->line_len == 0 && c == '.')
      info->size++; /* dot-stuffing */
    if(++sc->line_len > SCAN_MAX_LINE) {
      info->longest_line = sc->line_len;
      info->long_line = sc->line_no;
      return false;
    }
  }
  return true;
}

static void scan_finish(mw_message_info *info, struct info_scan *sc)
{
  if(sc->pending_cr)
    info->size++;
  if(sc->line_len > info->longest_line)
    info->longest_line = sc->line_len;
  info->size += 5; /* the final CRLF.CRLF, at most */
}

void mw_message_info_scan(mw_message_info *info, const void *data,
                          size_t len)
{
  struct info_scan sc = {.in_headers = true, .line_no = 1};
  memset(info, 0, sizeof(*info));
  if(scan_bytes(info, &sc, data, len))
    scan_finish(info, &sc);
}

mw_status mw_message_info_scan_reader(mw_message_info *info, mw_read_fn read,
                                      void *user)
{
  struct info_scan sc = {.in_headers = true, .line_no = 1};
  memset(info, 0, sizeof(*info));
  unsigned char buf[16384];
  for(;;) {
    size_t got = 0;
    mw_status st = read(user, (char *)buf, sizeof(buf), &got);
    if(st)
      return st;
    if(!got)
      break;
    if(!scan_bytes(info, &sc, buf, got))
      return MW_E_MESSAGE;
  }
  scan_finish(info, &sc);
  return MW_OK;
}
