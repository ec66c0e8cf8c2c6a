/*
 * proto/data.h - the message body's framing: message bytes to SMTP wire
 * form, for DATA (dot-stuffed, ended by CRLF.CRLF) or for BDAT chunks
 * (RFC 3030: "BDAT <n>[ LAST]" then n octets as they are, no stuffing).
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
  bool no_stuffing; /* BDAT: line endings normalised, dots left alone */
  bool raw;         /* BDAT with BINARYMIME: every byte as it is */
};

/* For DATA: dot-stuffing on. */
void mw__data_encoder_init(struct mw__data_encoder *e);
/* For BDAT: CRLF normalisation only (the chunk sizes frame the data). */
void mw__data_encoder_init_bdat(struct mw__data_encoder *e);
/* For BDAT with BODY=BINARYMIME (RFC 3030 section 3): the bytes exactly
 * as given, line endings included, and nothing added at the end. */
void mw__data_encoder_init_raw(struct mw__data_encoder *e);
/* Appends the wire form of in[0..len) to out.  false on OOM. */
bool mw__data_encode(struct mw__data_encoder *e, const char *in, size_t len,
                     struct mw__sbuf *out);
/* Appends what ends the data: a CRLF if the last line lacked one, then
 * ".\r\n" (BDAT: only the CRLF).  false on OOM. */
bool mw__data_finish(struct mw__data_encoder *e, struct mw__sbuf *out);

/* One BDAT chunk (RFC 3030 section 2): "BDAT <len>" or "BDAT <len> LAST",
 * CRLF, then the len octets of data exactly (encoded already).  false on
 * OOM. */
bool mw__bdat_frame(const char *data, size_t len, bool last,
                    struct mw__sbuf *out);

#endif
