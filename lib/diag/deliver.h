/*
 * diag/deliver.h - the pure side of doctor's deliverability checks.
 *
 * Owns: reading the DNS records a sending domain publishes (SPF, DMARC,
 * DKIM, MTA-STS, TLS-RPT) and building DNS blocklist query names.  No I/O
 * here: doctor.c does the lookups and hands the TXT strings in, so every
 * parser can be unit-tested with malformed input.  Every function accepts
 * any NUL-terminated text and returns a clear result (an error sentence in
 * the result struct) rather than crashing or reading past the end.
 */
#ifndef MW_DIAG_DELIVER_H
#define MW_DIAG_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MW__SPF_LOOKUP_LIMIT 10u /* RFC 7208 4.6.4 */
#define MW__SPF_MAX_TARGETS 16

/* "v=spf1" alone or followed by a space (case-insensitive; RFC 7208 4.5). */
bool mw__spf_is_record(const char *txt);

struct mw__spf_scan {
  unsigned lookups;   /* include, a, mx, ptr, exists, redirect in this one */
  bool has_all;       /* an "all" mechanism ends the record */
  bool has_redirect;
  /* include: and redirect= domains to follow (macros excluded) */
  char targets[MW__SPF_MAX_TARGETS][256];
  size_t ntargets;
  unsigned macro_targets; /* include:/redirect= with %{...}: not followed */
  char error[160];        /* "" when the syntax is valid */
};

/* Reads one SPF record.  Returns true when the syntax is valid; false with
 * out->error naming the first bad term (the counts so far stay set). */
bool mw__spf_scan(const char *record, struct mw__spf_scan *out);

/* A tag=value list (DMARC, DKIM, MTA-STS, TLS-RPT: "a=1; b = 2").  Copies
 * the value of tag name (case-insensitive, surrounding blanks removed) into
 * val.  Returns false when the tag is absent; true with val possibly "". */
bool mw__tag_value(const char *record, const char *name, char *val,
                   size_t len);

struct mw__dmarc {
  char policy[16];    /* "none", "quarantine", "reject" */
  char subpolicy[16]; /* sp=, "" when absent */
  unsigned pct;       /* 100 when absent */
  char rua[256];      /* "" when absent */
  char error[160];    /* "" when valid */
};

/* "v=DMARC1" as first tag (RFC 7489 6.3). */
bool mw__dmarc_is_record(const char *txt);
/* Returns true when valid (v=DMARC1 first, p= one of the three policies,
 * pct 0-100); false with out->error. */
bool mw__dmarc_parse(const char *record, struct mw__dmarc *out);

struct mw__dkim {
  bool revoked;     /* p= present and empty (RFC 6376 3.6.1) */
  char key_type[16]; /* k=, "rsa" when absent */
  size_t key_len;   /* characters of base64 in p= */
  char error[160];  /* "" when valid */
};

/* Returns true for a usable key; false with out->error, or with
 * out->revoked set for an empty p=. */
bool mw__dkim_parse(const char *record, struct mw__dkim *out);

/* "v=STSv1; id=..." (RFC 8461 3.1): id is 1-32 letters and digits.
 * Returns true when valid, copying id; false with error. */
bool mw__mta_sts_parse(const char *record, char *id, size_t idlen,
                       char *error, size_t errlen);
/* "v=TLSRPTv1; rua=..." (RFC 8460 3): rua holds mailto: or https: URIs.
 * Returns true when valid, copying rua; false with error. */
bool mw__tls_rpt_parse(const char *record, char *rua, size_t rualen,
                       char *error, size_t errlen);

/* The blocklist query name for a dotted-quad IPv4 address under zone:
 * "192.0.2.1" and "bl.example" give "1.2.0.192.bl.example".  Returns false
 * (out = "") when ip is not a dotted quad or zone not a DNS name. */
bool mw__dnsbl_name(const char *ip, const char *zone, char *out,
                    size_t len);

enum mw__dnsbl_answer {
  MW__DNSBL_LISTED,  /* 127.0.0.x */
  MW__DNSBL_REFUSED, /* 127.255.255.x: the list refuses this resolver */
  MW__DNSBL_ODD      /* anything else: not a blocklist answer */
};
/* Classifies an A answer given as four bytes in network order. */
enum mw__dnsbl_answer mw__dnsbl_classify(const uint8_t a[4]);

/* Takes the next zone of a comma-separated list (blanks around it
 * removed) into zone; advances *list.  Returns false at the end. */
bool mw__next_zone(const char **list, char *zone, size_t len);

/* True when name is a plausible DNS name: 1-253 characters of letters,
 * digits, '-', '_' and '.', no empty label, labels of at most 63. */
bool mw__dns_name_ok(const char *name);

#endif
