/*
 * proto/data.h - the DATA encoder: message bytes to SMTP wire form.
 *
 * Owns: line-ending normalisation (CRLF, bare LF and bare CR all become
 * CRLF, so no bare CR or LF ever reaches the wire: the SMTP smuggling
 * family needs one), dot-stuffing (RFC 5321 section 4.5.2), and the
 * terminating CRLF.CRLF.  Streaming: constant memory whatever the message
 * size; feed it chunks in order.
 */
#ifndef MW_PROTO_DATA_H
#define MW_PROTO_DATA_H

#include "core/util.h"

struct mw__data_encoder {
  bool at_line_start;
  bool pending_cr;
};

void mw__data_encoder_init(struct mw__data_encoder *e);
/* Appends the wire form of in[0..len) to out.  false on OOM. */
bool mw__data_encode(struct mw__data_encoder *e, const char *in, size_t len,
                     struct mw__sbuf *out);
/* Appends what ends the data: a CRLF if the last line lacked one, then
 * ".\r\n".  false on OOM. */
bool mw__data_finish(struct mw__data_encoder *e, struct mw__sbuf *out);

#endif
