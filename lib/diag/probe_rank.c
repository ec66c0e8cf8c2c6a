/*
 * diag/probe_rank.c - what the rows mean together, once every
 * connection has ended.
 *
 * Owns: relabelling (a port that spoke another protocol in one mode is
 * that protocol in its other modes; a silent plaintext row on a port
 * where implicit TLS works is a mismatch) and the ranking of the secure
 * rows that work: verified certificates first, then 465 implicit, 587
 * STARTTLS, other implicit, other STARTTLS; a port without AUTH after
 * one with it.
 */
#include "diag/probe_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* -- ranking ---------------------------------------------------------- */

static bool row_secure_works(const struct probe_row *r)
{
  return r->outcome && !strcmp(r->outcome, "works") &&
         strcmp(r->mode, "plain") != 0;
}

static int row_score(const struct probe_row *r)
{
  int score = 0;
  if(!mw__tls_verdict_ok(r->cert ? r->cert : ""))
    score += 1000; /* the certificate is not accepted: last */
  bool implicit = !strcmp(r->mode, "implicit");
  if(r->port == 465 && implicit)
    score += 0;
  else if(r->port == 587 && !implicit)
    score += 100;
  else if(implicit)
    score += 200;
  else
    score += 300;
  if(!r->auth[0])
    score += 10; /* no AUTH offered: a relay port, less likely wanted */
  return score;
}

void mw__probe_rank(struct mw_probe *p)
{
  unsigned next = 1;
  for(;;) {
    size_t best = SIZE_MAX;
    for(size_t i = 0; i < p->row_count; i++) {
      const struct probe_row *r = &p->rows[i];
      if(r->rank || !row_secure_works(r))
        continue;
      if(best == SIZE_MAX || row_score(r) < row_score(&p->rows[best]))
        best = i;
    }
    if(best == SIZE_MAX)
      return;
    p->rows[best].rank = next++;
  }
}

/* A silent plaintext row on a port where implicit TLS works (or the
 * reverse) is the other mode's port: say so. */
void mw__probe_relabel(struct mw_probe *p)
{
  /* Another protocol heard in one mode: the other modes of the port, which
   * heard nothing or a plaintext answer to a TLS handshake, are the same
   * service (an IMAP port answers a ClientHello with "* OK"). */
  for(size_t i = 0; i < p->row_count; i++) {
    struct probe_row *r = &p->rows[i];
    if(!r->outcome || strcmp(r->outcome, "wrong_protocol") != 0)
      continue;
    for(size_t j = 0; j < p->row_count; j++) {
      struct probe_row *o = &p->rows[j];
      if(j == i || o->port != r->port || strcmp(o->host, r->host) != 0 ||
         !o->outcome ||
         (strcmp(o->outcome, "silent") != 0 &&
          strcmp(o->outcome, "mismatch") != 0 &&
          strcmp(o->outcome, "tls_failed") != 0))
        continue;
      o->outcome = "wrong_protocol";
      snprintf(o->detail, sizeof(o->detail), "%s", r->detail);
    }
  }
  for(size_t i = 0; i < p->row_count; i++) {
    struct probe_row *r = &p->rows[i];
    if(!r->outcome || strcmp(r->outcome, "silent") != 0)
      continue;
    for(size_t j = 0; j < p->row_count; j++) {
      struct probe_row *o = &p->rows[j];
      if(j == i || o->port != r->port || strcmp(o->host, r->host) != 0 ||
         !o->outcome || strcmp(o->outcome, "works") != 0)
        continue;
      if(!strcmp(o->mode, "implicit") && strcmp(r->mode, "implicit") != 0) {
        r->outcome = "mismatch";
        size_t n = strlen(r->detail);
        snprintf(r->detail + n, sizeof(r->detail) - n,
                 ": the port speaks implicit TLS (a plaintext client "
                 "waits for a greeting that never comes)");
        break;
      }
    }
  }
}
