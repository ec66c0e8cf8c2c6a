/*
 * proto/imap_parse.h - IMAP syntax, without I/O: server responses in,
 * command pieces out (RFC 3501 IMAP4rev1, RFC 9051 IMAP4rev2, RFC 5530
 * response codes, RFC 4315 UIDPLUS, RFC 4731 ESEARCH, RFC 3516 BINARY,
 * RFC 7162 CONDSTORE/QRESYNC data, RFC 2342/5161/2088/7888 capabilities).
 *
 * Owns:
 *   - framing one logical server response out of the pieces the line
 *     engine hands over: a line part (no CRLF), then, when this parser
 *     says so, the bytes of a literal in any chunks, then the next line
 *     part, and so on until the response is complete;
 *   - the literal marker ({N}, {N+}, ~{N}) and its length, with overflow
 *     and cap checks;
 *   - parsing the complete response into struct mw__imap_resp: tagged
 *     (tag + OK/NO/BAD), untagged (OK/NO/BAD/BYE/PREAUTH, CAPABILITY,
 *     LIST, LSUB, STATUS, SEARCH, ESEARCH, FLAGS, EXISTS, RECENT, EXPUNGE,
 *     FETCH, ENABLED, VANISHED; anything else kept as raw text) and
 *     continuation requests ("+ ...");
 *   - response codes in [...] (RFC 3501 7.1, RFC 5530, UIDPLUS);
 *   - FETCH items (imap_fetch.c): UID, FLAGS, RFC822.SIZE, INTERNALDATE,
 *     ENVELOPE, MODSEQ, BINARY.SIZE, and message bodies (BODY[section]<n>,
 *     BINARY[section]<n>, RFC822, RFC822.HEADER, RFC822.TEXT), which are
 *     streamed to a caller's sink so that a 50 MB message is never held in
 *     memory;
 *   - client-side encoding (imap_enc.c): astring quoting (atom, quoted or
 *     "needs a literal"), literal markers, modified UTF-7 mailbox names
 *     (RFC 3501 5.1.3), sequence sets from sorted UIDs under a length cap,
 *     sequence-set reading, and command tags.
 *
 * It does NOT own sockets, the command queue, tags in flight, state
 * (selected mailbox, capabilities in force), SASL, or deciding what a
 * response means for the session: that is the IMAP client's job.
 *
 * How the line engine and the client use the parser
 * -------------------------------------------------
 *   struct mw__imap_parser p;
 *   mw__imap_parser_init(&p, NULL);              // default limits
 *   mw__imap_parser_set_sink(&p, on_body, ctx);  // optional
 *   for each line the engine reads (CRLF stripped):
 *     r = mw__imap_feed_line(&p, line, len, &n, &why);
 *     while(r == MW__IMAP_NEED_LITERAL) {
 *       // read exactly n raw bytes (any chunking), feeding each chunk:
 *       r = mw__imap_feed_literal(&p, chunk, chunk_len, &n, &why);
 *       // NEED_LITERAL again: n bytes still missing; NEED_LINE: the
 *       // literal is complete, the next line part comes as a line
 *     }
 *     NEED_LINE: read the next line and feed it;
 *     DONE: p.resp holds the response until the next feed_line;
 *     BAD:  why says what was wrong; the connection's framing can no
 *           longer be trusted: end the session (the next feed_line starts
 *           a new response anyway, so fuzzers and tests may go on).
 *
 * Literal framing is decided HERE, not by the engine looking at the end
 * of the line: "A1 OK done {5}" is a complete tagged response whose text
 * ends in "{5}" (status responses and continuation requests never carry
 * literals), while "* LIST () "/" {5}" announces a 5-byte literal.  The
 * engine must therefore ask mw__imap_feed_line how many raw bytes follow.
 *
 * Line length: an untagged line can be long (a SEARCH of 100,000 UIDs is
 * about 700 KB on one line); the engine's line cap for IMAP must allow
 * that, and limits.max_bytes bounds a whole response here anyway.
 *
 * Message bodies and UIDs
 * -----------------------
 * With a sink set, the value of every body item of a FETCH response
 * (BODY[...], BINARY[...], RFC822, RFC822.HEADER, RFC822.TEXT) goes to the
 * sink as BEGIN, DATA..., END events, whether it came as a literal
 * (streamed while it arrives, never held in memory, capped by
 * limits.max_body) or as a quoted string or NIL (delivered when the
 * response completes).  Each event carries the message sequence number
 * (always known: "* 12 FETCH (") and the UID when a UID item came BEFORE
 * the body in the same response (0 otherwise).  Servers usually echo the
 * requested order, so a client that asks "UID FETCH n (UID BODY.PEEK[])"
 * normally has the UID at BEGIN, but RFC 3501 does not promise the order.
 * The robust rule, which the client must follow: write the body to a
 * temporary place keyed by the sequence number, and commit it only when
 * feed_line returns MW__IMAP_DONE; then p.resp.fetch.uid (with
 * MW__IMAP_F_UID in p.resp.fetch.has) is the authoritative UID.  When the
 * response ends in BAD, discard what the sink received for it.  Without a
 * sink, body values are kept in memory (capped by limits.max_literal) and
 * found in p.resp.fetch.body[i].data.
 *
 * Lifetimes: every pointer in p.resp (strings, arrays) points into the
 * parser's arena and stays valid until the next mw__imap_feed_line or
 * mw__imap_parser_free; copy what you keep.  Strings are NUL-terminated
 * (a literal that holds a NUL, only possible with ~{N}, also has its
 * length).  The `why` strings are static.
 *
 * Strictness: no NUL, CR or LF in a line part; no NUL in a literal unless
 * it is a binary literal (~{N}); literal lengths must be plain digits
 * that fit the caps; bounded nesting depth (MW__IMAP_MAX_DEPTH), a bounded
 * number of list elements (limits.max_items), literals per response
 * (limits.max_literals) and bytes per response (limits.max_bytes);
 * anything the grammar does not allow is refused with a reason.  Unknown
 * untagged responses are kept as text (resp.text), unknown response
 * codes as name + raw text, and unknown FETCH items are skipped, as
 * RFC 3501 asks of clients; an unknown FETCH item's value must still be a
 * well-formed IMAP value, and an unknown untagged response that carries
 * literals must be made of values.
 */
#ifndef MW_PROTO_IMAP_PARSE_H
#define MW_PROTO_IMAP_PARSE_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MW__IMAP_MAX_DEPTH 40   /* nested parenthesised lists */
#define MW__IMAP_TAG_MAX 32     /* bytes of a tag we accept, NUL included */

/* ---- Limits -------------------------------------------------------- */

struct mw__imap_limits {
  uint64_t max_literal;  /* a literal kept in memory (default 1 MiB) */
  uint64_t max_body;     /* a body literal streamed to the sink (default
                            4 GiB) */
  size_t max_bytes;      /* line parts + in-memory literals of one response
                            (default 16 MiB) */
  size_t max_literals;   /* literals in one response (default 4096) */
  size_t max_items;      /* list elements in one response: capabilities,
                            flags, SEARCH numbers, FETCH items, addresses
                            (default 1,000,000) */
};
/* Fills l with the defaults above. */
void mw__imap_limits_default(struct mw__imap_limits *l);

/* ---- Literal markers ----------------------------------------------- */

struct mw__imap_litmark {
  uint64_t len;   /* announced length */
  bool binary;    /* ~{N}: may hold NUL bytes (RFC 3516 literal8) */
  bool nonsync;   /* {N+} (RFC 7888; servers do not send it, accepted) */
  size_t start;   /* offset of '{' (or '~') in the line */
};
/* Whether line[0..len) ends with a literal marker "{N}", "{N+}", "~{N}" or
 * "~{N+}".  Returns 1 and fills m when it does; 0 when the line does not
 * end with '}' or the braces hold something that is not a marker (then it
 * is text, for the grammar to judge); -1 with why when it is a marker
 * whose length is empty of digits, does not fit in 64 bits, or exceeds
 * max (pass UINT64_MAX for no cap).  Leading zeros are allowed (the
 * grammar's number is 1*DIGIT); signs, blanks and anything else are not. */
int mw__imap_literal_marker(const char *line, size_t len, uint64_t max,
                            struct mw__imap_litmark *m, const char **why);

/* ---- Response pieces ----------------------------------------------- */

struct mw__imap_strv {
  const char **v;  /* n strings */
  size_t n;
};

/* A capability list, from "* CAPABILITY ..." or "[CAPABILITY ...]", or
 * "* ENABLED ...".  v holds the tokens as sent (IMAP4rev1, AUTH=PLAIN,
 * ...); auth holds the mechanism names of the AUTH= tokens (upper-cased,
 * in order, without duplicates).  The flags are shortcuts for has(). */
struct mw__imap_caps {
  struct mw__imap_strv v;
  struct mw__imap_strv auth;
  bool imap4rev1, imap4rev2;
  bool starttls, logindisabled, sasl_ir;
  bool literal_plus, literal_minus; /* LITERAL+ / LITERAL- (RFC 7888) */
  bool idle, uidplus, enable, condstore, qresync, move, esearch;
  bool utf8_accept;                 /* UTF8=ACCEPT or UTF8=ONLY */
  bool id, namespace_, binary, special_use, unselect, children;
};
/* Case-insensitive (ASCII) membership: has(c, "idle"). */
bool mw__imap_caps_has(const struct mw__imap_caps *c, const char *name);
/* Whether AUTH=<mech> was offered, case-insensitively. */
bool mw__imap_caps_has_auth(const struct mw__imap_caps *c, const char *mech);

enum mw__imap_cond {
  MW__IMAP_COND_OK = 0,
  MW__IMAP_COND_NO,
  MW__IMAP_COND_BAD,
  MW__IMAP_COND_BYE,     /* untagged only */
  MW__IMAP_COND_PREAUTH  /* untagged only (greeting) */
};
const char *mw__imap_cond_name(enum mw__imap_cond c);

/* Response codes.  Append only. */
enum mw__imap_code_kind {
  MW__IMAP_CODE_NONE = 0, /* no [...] */
  MW__IMAP_CODE_OTHER,    /* a code this table does not know (name, raw) */
  MW__IMAP_CODE_ALERT,
  MW__IMAP_CODE_BADCHARSET,   /* flags: the charsets, if listed */
  MW__IMAP_CODE_CAPABILITY,   /* caps */
  MW__IMAP_CODE_PARSE,
  MW__IMAP_CODE_PERMANENTFLAGS, /* flags */
  MW__IMAP_CODE_READ_ONLY,
  MW__IMAP_CODE_READ_WRITE,
  MW__IMAP_CODE_TRYCREATE,
  MW__IMAP_CODE_UIDNEXT,      /* num */
  MW__IMAP_CODE_UIDVALIDITY,  /* num */
  MW__IMAP_CODE_UNSEEN,       /* num */
  MW__IMAP_CODE_APPENDUID,    /* num = uidvalidity, set1 = uid-set,
                                 uid = the UID when set1 is one number */
  MW__IMAP_CODE_COPYUID,      /* num = uidvalidity, set1 = source set,
                                 set2 = destination set */
  MW__IMAP_CODE_UIDNOTSTICKY,
  MW__IMAP_CODE_AUTHENTICATIONFAILED,
  MW__IMAP_CODE_AUTHORIZATIONFAILED,
  MW__IMAP_CODE_EXPIRED,
  MW__IMAP_CODE_PRIVACYREQUIRED,
  MW__IMAP_CODE_CONTACTADMIN,
  MW__IMAP_CODE_NOPERM,
  MW__IMAP_CODE_INUSE,
  MW__IMAP_CODE_EXPUNGEISSUED,
  MW__IMAP_CODE_CORRUPTION,
  MW__IMAP_CODE_SERVERBUG,
  MW__IMAP_CODE_CLIENTBUG,
  MW__IMAP_CODE_CANNOT,
  MW__IMAP_CODE_LIMIT,
  MW__IMAP_CODE_OVERQUOTA,
  MW__IMAP_CODE_ALREADYEXISTS,
  MW__IMAP_CODE_NONEXISTENT,
  MW__IMAP_CODE_UNAVAILABLE,
  MW__IMAP_CODE_HASCHILDREN,
  MW__IMAP_CODE_CLOSED,
  MW__IMAP_CODE_HIGHESTMODSEQ, /* num (RFC 7162) */
  MW__IMAP_CODE_NOMODSEQ,
  MW__IMAP_CODE_UNKNOWN_CTE,
  MW__IMAP_CODE__COUNT
};
/* The code's name as the RFCs spell it ("READ-ONLY"), or "" for NONE and
 * "OTHER" for OTHER. */
const char *mw__imap_code_name(enum mw__imap_code_kind k);

struct mw__imap_code {
  enum mw__imap_code_kind kind;
  const char *name;  /* the atom as sent, upper case kept; "" when NONE */
  const char *raw;   /* the text after the name inside [...] ("" when
                        none), e.g. "3857529045 1:3" */
  uint64_t num;      /* see the kinds above; 0 otherwise */
  uint32_t uid;      /* APPENDUID with a single UID */
  const char *set1, *set2; /* validated sequence sets, or NULL */
  struct mw__imap_strv flags;
  struct mw__imap_caps caps;
};

/* OK/NO/BAD/BYE/PREAUTH, tagged or untagged. */
struct mw__imap_status {
  enum mw__imap_cond cond;
  struct mw__imap_code code;
  const char *text;  /* human-readable text after the code ("" if none) */
};

struct mw__imap_list {      /* "* LIST" / "* LSUB" */
  struct mw__imap_strv flags;  /* "\Noselect", "\HasChildren", "\Sent" */
  char delim;                  /* '\0' for NIL */
  const char *mailbox;         /* as sent (mUTF-7 for IMAP4rev1 servers
                                  unless UTF8=ACCEPT is enabled); "INBOX"
                                  in any case is given as "INBOX" */
  size_t mailbox_len;          /* a literal name may hold any byte but NUL */
};

enum {
  MW__IMAP_ST_MESSAGES = 1u << 0,
  MW__IMAP_ST_RECENT = 1u << 1,
  MW__IMAP_ST_UIDNEXT = 1u << 2,
  MW__IMAP_ST_UIDVALIDITY = 1u << 3,
  MW__IMAP_ST_UNSEEN = 1u << 4,
  MW__IMAP_ST_SIZE = 1u << 5,
  MW__IMAP_ST_HIGHESTMODSEQ = 1u << 6,
  MW__IMAP_ST_DELETED = 1u << 7
};
struct mw__imap_statusdata { /* "* STATUS" */
  const char *mailbox;
  size_t mailbox_len;
  unsigned has;               /* MW__IMAP_ST_* bits present */
  uint32_t messages, recent, uidnext, uidvalidity, unseen, deleted;
  uint64_t size, highestmodseq;
};

struct mw__imap_search {    /* "* SEARCH" and "* ESEARCH" */
  uint32_t *nums;           /* SEARCH: the numbers, as sent */
  size_t n;
  uint64_t modseq;          /* "(MODSEQ n)" of SEARCH, or ESEARCH MODSEQ */
  /* ESEARCH only: */
  const char *tag;          /* the (TAG "...") correlator, or NULL */
  bool uid;                 /* the UID indicator */
  bool has_min, has_max, has_count;
  uint32_t min, max, count;
  const char *all;          /* ALL sequence-set (validated), or NULL */
};

/* An ENVELOPE address: any member may be NULL (NIL).  Group syntax
 * (RFC 3501 7.4.2) shows as an address with host NULL and mailbox the
 * group name (start), then one with mailbox and host NULL (end). */
struct mw__imap_addr {
  const char *name, *adl, *mailbox, *host;
};
struct mw__imap_addrv {
  struct mw__imap_addr *v;
  size_t n;                 /* 0 for NIL or "()" */
};
struct mw__imap_envelope {
  const char *date, *subject;   /* NULL for NIL; raw (RFC 2047 encoded
                                   words are not decoded here) */
  struct mw__imap_addrv from, sender, reply_to, to, cc, bcc;
  const char *in_reply_to, *message_id;
};

enum mw__imap_body_kind {
  MW__IMAP_BODY_BODY = 0,   /* BODY[section]<origin> */
  MW__IMAP_BODY_BINARY,     /* BINARY[section]<origin> */
  MW__IMAP_BODY_RFC822,     /* RFC822 (= BODY[]) */
  MW__IMAP_BODY_RFC822_HEADER,
  MW__IMAP_BODY_RFC822_TEXT
};
struct mw__imap_bodyval {
  enum mw__imap_body_kind kind;
  const char *item;         /* the item name as sent: "BODY[HEADER]<0>" */
  const char *section;      /* inside the brackets: "", "HEADER", "1.2" */
  int64_t origin;           /* <n>, or -1 */
  bool nil;                 /* the value was NIL */
  bool streamed;            /* went to the sink (data NULL) */
  uint64_t size;            /* bytes in the value */
  const unsigned char *data;/* in memory when no sink: size bytes + NUL */
};

enum {
  MW__IMAP_F_UID = 1u << 0,
  MW__IMAP_F_FLAGS = 1u << 1,
  MW__IMAP_F_SIZE = 1u << 2,
  MW__IMAP_F_INTERNALDATE = 1u << 3,
  MW__IMAP_F_ENVELOPE = 1u << 4,
  MW__IMAP_F_MODSEQ = 1u << 5,
  MW__IMAP_F_BINARY_SIZE = 1u << 6
};
struct mw__imap_fetch {     /* "* seq FETCH (...)" */
  uint32_t seq;
  unsigned has;             /* MW__IMAP_F_* bits present */
  uint32_t uid;
  struct mw__imap_strv flags;
  uint64_t size;            /* RFC822.SIZE */
  const char *internaldate; /* as sent: "17-Jul-1996 02:44:25 -0700" */
  struct mw__imap_envelope env;
  uint64_t modseq;
  uint64_t binary_size;     /* the last BINARY.SIZE[...] */
  struct mw__imap_bodyval *body;
  size_t nbody;
};

/* ---- The response -------------------------------------------------- */

enum mw__imap_kind {
  MW__IMAP_TAGGED = 1,
  MW__IMAP_UNTAGGED,
  MW__IMAP_CONTINUE
};

enum mw__imap_type {
  MW__IMAP_T_STATUS = 1,  /* tagged, or untagged OK/NO/BAD/BYE/PREAUTH */
  MW__IMAP_T_CONTINUE,    /* "+ text" */
  MW__IMAP_T_CAPABILITY,  /* caps */
  MW__IMAP_T_ENABLED,     /* caps */
  MW__IMAP_T_LIST,        /* list */
  MW__IMAP_T_LSUB,        /* list */
  MW__IMAP_T_STATUSDATA,  /* statusdata */
  MW__IMAP_T_SEARCH,      /* search */
  MW__IMAP_T_ESEARCH,     /* search */
  MW__IMAP_T_FLAGS,       /* flags */
  MW__IMAP_T_EXISTS,      /* number */
  MW__IMAP_T_RECENT,      /* number */
  MW__IMAP_T_EXPUNGE,     /* number */
  MW__IMAP_T_FETCH,       /* fetch (number = fetch.seq) */
  MW__IMAP_T_VANISHED,    /* vanished_set, vanished_earlier */
  MW__IMAP_T_OTHER        /* name + text: an untagged response we do not
                             parse (NAMESPACE, ID, QUOTA, METADATA, ...) */
};
const char *mw__imap_type_name(enum mw__imap_type t);

struct mw__imap_resp {
  enum mw__imap_kind kind;
  enum mw__imap_type type;
  const char *tag;          /* TAGGED: the tag; NULL otherwise */
  const char *name;         /* the response's keyword as sent ("FETCH") */
  uint32_t number;          /* EXISTS/RECENT/EXPUNGE/FETCH */
  struct mw__imap_status status;  /* T_STATUS */
  const char *text;         /* T_CONTINUE: the text after "+ " ("" when
                               none, base64 for SASL); T_OTHER: the line
                               parts after the keyword (literal markers
                               kept, literal bytes not) */
  struct mw__imap_caps caps;
  struct mw__imap_list list;
  struct mw__imap_statusdata st;
  struct mw__imap_search search;
  struct mw__imap_strv flags;
  struct mw__imap_fetch fetch;
  const char *vanished_set;
  bool vanished_earlier;
};

/* ---- The body sink ------------------------------------------------- */

enum mw__imap_body_event {
  MW__IMAP_BODY_BEGIN = 1, /* size = total length (0 when nil) */
  MW__IMAP_BODY_DATA,      /* data/len at offset `size` */
  MW__IMAP_BODY_END
};
struct mw__imap_body_chunk {
  enum mw__imap_body_event event;
  uint32_t seq;            /* message sequence number */
  uint32_t uid;            /* 0 unless a UID item came earlier */
  const char *item;        /* "BODY[]", "BINARY[1]<0>", "RFC822", ... */
  bool nil;                /* BEGIN: the value is NIL */
  bool binary;             /* the value is a ~{N} literal */
  uint64_t size;
  const unsigned char *data;
  size_t len;
};
/* Returns false to refuse (e.g. the disk is full): feeding then ends in
 * MW__IMAP_BAD with why "the body sink refused the data". */
typedef bool (*mw__imap_body_sink)(void *ctx,
                                   const struct mw__imap_body_chunk *c);

/* ---- The parser ---------------------------------------------------- */

enum mw__imap_feed {
  MW__IMAP_NEED_LITERAL = 1, /* read *literal raw bytes, feed_literal */
  MW__IMAP_NEED_LINE,        /* the literal is complete: feed a line */
  MW__IMAP_DONE,             /* p->resp holds a complete response */
  MW__IMAP_BAD               /* refused: why */
};

struct mw__imap_arena_blk;
struct mw__imap_lit;

struct mw__imap_parser {
  struct mw__imap_limits lim;
  mw__imap_body_sink sink;
  void *sink_ctx;
  struct mw__imap_resp resp;   /* after MW__IMAP_DONE */

  /* Private: the response being assembled. */
  struct mw__imap_arena_blk *arena;
  struct mw__sbuf text;        /* line parts joined, literal markers kept */
  struct mw__imap_lit *lits;   /* literals, in order */
  size_t nlits, caplits;
  size_t mem;                  /* bytes held: text + in-memory literals */
  bool in_progress;            /* a response was started */
  bool literal_pending;        /* feed_literal expected */
  uint64_t lit_left;
  int framing;                 /* 0 unknown, 1 no literals, 2 literals,
                                  3 FETCH */
  uint32_t fetch_seq;          /* FETCH: sequence number */
  uint32_t scan_uid;           /* FETCH: UID seen before the body */
  size_t scan_pos, scan_lit;   /* FETCH: where the item scan resumes */
  bool scan_dead;              /* FETCH: the scan gave up (malformed) */
  bool sink_failed;
};

/* lim NULL: the defaults.  Never fails (allocates lazily). */
void mw__imap_parser_init(struct mw__imap_parser *p,
                          const struct mw__imap_limits *lim);
/* sink NULL: keep bodies in memory. */
void mw__imap_parser_set_sink(struct mw__imap_parser *p,
                              mw__imap_body_sink sink, void *ctx);
void mw__imap_parser_free(struct mw__imap_parser *p);

/* Feeds one line part (without CRLF; NUL, CR and LF refused).  Returns
 * NEED_LITERAL with *literal set (the number of raw bytes to read next;
 * may be 0, then call feed_literal with len 0), DONE or BAD (why).  A
 * call while a literal is still expected is refused (BAD). */
enum mw__imap_feed mw__imap_feed_line(struct mw__imap_parser *p,
                                      const char *line, size_t len,
                                      uint64_t *literal, const char **why);
/* Feeds the next len bytes of the pending literal (len may be 0, and at
 * most the bytes still expected).  Returns NEED_LITERAL with *left the
 * bytes still expected, NEED_LINE when the literal is complete, or BAD
 * (NUL in a non-binary literal, too many bytes, the sink refused, no
 * literal pending). */
enum mw__imap_feed mw__imap_feed_literal(struct mw__imap_parser *p,
                                         const void *data, size_t len,
                                         uint64_t *left, const char **why);

/* ---- Encoding for commands (imap_enc.c) ---------------------------- */

enum mw__imap_astring {
  MW__IMAP_AS_ATOM = 1,  /* sent as is */
  MW__IMAP_AS_QUOTED,    /* "..." with \\ and \" escapes */
  MW__IMAP_AS_LITERAL,   /* needs {N} / {N+} (8-bit, CR, LF, too long) */
  MW__IMAP_AS_INVALID    /* holds NUL: cannot be sent as a string */
};
/* How s[0..n) must be sent as an astring.  utf8: the server accepts
 * UTF-8 in quoted strings (IMAP4rev2, or UTF8=ACCEPT enabled).  Empty is
 * QUOTED (""); longer than 1024 bytes is LITERAL. */
enum mw__imap_astring mw__imap_astring_kind(const char *s, size_t n,
                                            bool utf8);
/* Appends s as an atom or quoted string and returns the kind used; for
 * LITERAL or INVALID appends nothing (the client writes a literal marker
 * with mw__imap_literal_format, waits for "+" unless non-synchronising,
 * then the raw bytes).  Returns 0 when out of memory. */
enum mw__imap_astring mw__imap_astring_append(struct mw__sbuf *b,
                                              const char *s, size_t n,
                                              bool utf8);
/* Writes "{N}" or "{N+}" (nonsync) into out (size >= 24); returns its
 * length. */
size_t mw__imap_literal_format(char *out, size_t size, uint64_t n,
                               bool nonsync);

/* Modified UTF-7 (RFC 3501 5.1.3), appended to out.  encode: from UTF-8
 * (refused: invalid UTF-8, NUL, other controls are encoded); decode:
 * to UTF-8 (refused: bytes outside 0x20-0x7e, '&' not closed by '-',
 * bad base64, non-zero padding bits, an encoded printable ASCII char,
 * unpaired surrogates).  Both false with why on refusal or OOM. */
bool mw__imap_mutf7_encode(const char *utf8, size_t n, struct mw__sbuf *out,
                           const char **why);
bool mw__imap_mutf7_decode(const char *s, size_t n, struct mw__sbuf *out,
                           const char **why);

/* A mailbox name for a command, from UTF-8: modified UTF-7 unless
 * utf8_mode (IMAP4rev2, or UTF8=ACCEPT enabled), then as an astring.
 * Returns the astring kind (LITERAL: the caller sends the encoded name,
 * which is left in *encoded, as a literal), or 0 with why (invalid UTF-8,
 * NUL, OOM).  *encoded (free with mw__free) holds the name as it must go
 * on the wire, with no quoting. */
enum mw__imap_astring mw__imap_mailbox_append(struct mw__sbuf *b,
                                              const char *utf8, size_t n,
                                              bool utf8_mode, char **encoded,
                                              const char **why);
/* A mailbox name from a response (list.mailbox, st.mailbox) as UTF-8,
 * appended to out: modified UTF-7 decoded unless utf8_mode, where it must
 * already be valid UTF-8.  False with why. */
bool mw__imap_mailbox_decode(const char *s, size_t n, bool utf8_mode,
                             struct mw__sbuf *out, const char **why);

/* Appends to out a sequence set ("1:5,7,9:12") for uids[0..n), which
 * must be ascending and non-zero (duplicates are skipped), taking as many
 * as keep the set at most max_len bytes.  Returns how many entries of
 * uids it covered (the caller sends that set, then calls again with the
 * rest), or 0 with why (unsorted, zero, max_len too small for one
 * number, OOM). */
size_t mw__imap_seqset_format(const uint32_t *uids, size_t n, size_t max_len,
                              struct mw__sbuf *out, const char **why);

/* Reading a sequence set from a response (ESEARCH ALL, COPYUID, VANISHED):
 * "1:5,7" and reversed ranges "5:1".  '*' is refused (servers never send
 * it in data).  Iterate with next(): each range is given low <= high. */
struct mw__imap_seqiter {
  const char *s;
  size_t n, pos;
};
/* Whether s[0..n) is a valid sequence set of non-zero numbers. */
bool mw__imap_seqset_valid(const char *s, size_t n);
void mw__imap_seqiter_init(struct mw__imap_seqiter *it, const char *s,
                           size_t n);
/* Next range; false at the end or on a malformed set. */
bool mw__imap_seqiter_next(struct mw__imap_seqiter *it, uint32_t *lo,
                           uint32_t *hi);

/* Formats tag number n as prefix + at least 4 digits ("A0001", "A12345")
 * into out (size >= MW__IMAP_TAG_MAX); prefix: 1-8 letters, NULL for "A".
 * Returns the length, 0 when the prefix is not letters or too long. */
size_t mw__imap_tag_format(char *out, size_t size, const char *prefix,
                           uint32_t n);

#endif
