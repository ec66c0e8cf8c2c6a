/*
 * diag/probe_int.h - what the parts of the probe share (private).
 *
 * Owns: the result (struct mw_probe: hosts, rows, the DNS note), one
 * connection's state (struct probe_conn) and the run's shared context
 * (struct probe_ctx), and the calls between the probe's files:
 *
 *   probe.c           the run (mw_probe_run): options, addresses, one
 *                     connection per host, port and mode; the result's
 *                     accessors
 *   probe_discover.c  which hosts to probe: the target, its SRV (RFC 6186)
 *                     and MX records
 *   probe_conn.c      a connection's plumbing: TCP to each address in
 *                     turn, the proxy's handshake, buffered non-blocking
 *                     I/O (plain or TLS), the rows it fills, its end
 *   probe_smtp.c      a connection's SMTP dialogue: the state machine
 *                     (greeting, EHLO or HELO, STARTTLS, TLS), replies,
 *                     what a deadline means in each state
 *   probe_loop.c      the poll() loop that drives every connection
 *   probe_rank.c      after the run: relabelled mismatches and the ranking
 */
#ifndef MW_DIAG_PROBE_INT_H
#define MW_DIAG_PROBE_INT_H

#include "mailwire.h"

#include "core/err.h"
#include "core/options.h"
#include "core/trace.h"
#include "net/proxy.h"
#include "net/resolve.h"
#include "proto/capa.h"
#include "proto/reply.h"
#include "tls/tls.h"

#include <stdbool.h>
#include <stdint.h>

#define PROBE_MAX_HOSTS 6
#define PROBE_MAX_PORTS 16
#define PROBE_LINE_MAX 2048
/* Room for a whole mw_error message. */
#define PROBE_MSG_LEN sizeof(((struct mw_error *)0)->message)

struct probe_row {
  char host[256];
  unsigned port;
  const char *mode;    /* "implicit", "starttls", "plain" */
  const char *outcome; /* see mailwire.h; NULL until decided */
  char detail[PROBE_MSG_LEN];
  char address[300]; /* "ip:port" or "via proxy host:port" */
  char tls_version[16];
  const char *cert; /* verdict, "" without TLS */
  char auth[256];
  double ms;
  unsigned rank;
  bool silent; /* connected, nothing received before the deadline */
};

struct probe_host {
  char name[256];
  char source[64];
  unsigned ports[PROBE_MAX_PORTS];
  size_t port_count;
  struct mw__addrlist addrs;
  char dns_error[PROBE_MSG_LEN];
  struct sockaddr_storage proxy_target; /* SOCKS4/5: sent to the proxy */
  bool proxy_target_ok;
};

struct mw_probe {
  struct probe_host hosts[PROBE_MAX_HOSTS];
  size_t host_count;
  struct probe_row *rows;
  size_t row_count;
  char dns_note[512];
  bool dns_temporary; /* a host's addresses failed for a retryable reason */
  double total_ms;
};

enum conn_state {
  CS_CONNECT,   /* TCP connection under way */
  CS_PROXY,     /* the proxy's handshake, to open the tunnel */
  CS_TLS,       /* implicit TLS handshake */
  CS_GREETING,  /* waiting for 220 */
  CS_EHLO,      /* waiting for the EHLO reply (plaintext or implicit) */
  CS_STARTTLS,  /* waiting for the reply to STARTTLS */
  CS_TLS2,      /* handshake after STARTTLS */
  CS_EHLO2,     /* EHLO reply after STARTTLS */
  CS_DONE
};

struct probe_ctx;

struct probe_conn {
  struct probe_ctx *ctx;
  const struct probe_host *host;
  unsigned port;
  bool implicit;
  enum conn_state state;
  int fd;
  size_t next_addr;
  struct mw__tls *tls;
  struct mw__tls_info info;
  struct mw__reply reply;
  struct mw__capa capa;
  char in[PROBE_LINE_MAX * 2];
  size_t inlen;
  bool got_bytes;
  char out[600];
  size_t outlen, outpos;
  short want;
  int64_t deadline;
  size_t row;         /* implicit row, or the plain row */
  size_t starttls_row; /* plain connections: the STARTTLS row */
  char last_error[PROBE_MSG_LEN];
  struct mw_error err;
  struct mw__proxy_hs hs; /* CS_PROXY */
};

struct probe_ctx {
  const struct mw_options *opt;
  struct mw_probe *probe;
  struct mw__trace trace;
  struct mw__tls_policy policy;
  struct mw__proxy proxy;
  bool use_proxy;
  bool client_resolves; /* SOCKS4, SOCKS5: the server's address is sent */
  struct mw__addrlist proxy_addrs;
  char helo[256];
  int64_t start;
  struct probe_conn *conns;
  size_t nconn;
};

/* -- probe_conn.c: rows --------------------------------------------------- */

/* Sets the row's outcome and detail, unless it already has one (the first
 * verdict stands). */
void mw__probe_row_set(struct probe_row *r, const char *outcome,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The connection's implicit or plain row; its STARTTLS row (NULL for an
 * implicit connection). */
struct probe_row *mw__probe_conn_row(struct probe_conn *c);
struct probe_row *mw__probe_starttls_row(struct probe_conn *c);
/* Stamps the time since the start on the connection's rows that have none. */
void mw__probe_stamp_rows(struct probe_conn *c);

/* -- probe_conn.c: connecting and I/O ------------------------------------- */

/* Frees the TLS state and closes the socket (idempotent). */
void mw__probe_conn_close(struct probe_conn *c);
/* Ends the connection: a QUIT when the dialogue got that far (best effort,
 * never waited for), then close.  Rows still open get the outcome. */
void mw__probe_conn_finish(struct probe_conn *c, const char *outcome,
                           const char *detail);
/* Queues one command line (CRLF added, traced); false when full. */
bool mw__probe_conn_queue(struct probe_conn *c, const char *line);
/* Writes what is queued.  MW_OK (all written, or c->want set), or an
 * error recorded in c->last_error. */
mw_status mw__probe_conn_flush(struct probe_conn *c);
/* Reads what is available.  MW_OK with *got bytes appended (0: c->want
 * set), MW_E_CLOSED at the end of the stream, or another error. */
mw_status mw__probe_conn_fill(struct probe_conn *c, size_t *got);
/* Starts the connection to the next address of the host (of the proxy,
 * with one). */
void mw__probe_connect_next(struct probe_conn *c);
/* CS_CONNECT is writable: the connect's outcome.  Returns true when the
 * state machine can go on at once (connected, or the next address
 * connected at once), false when it must wait (the next address's connect
 * is in progress: c->want is POLLOUT) or the connection ended. */
bool mw__probe_connect_done(struct probe_conn *c);
/* CS_PROXY: moves the proxy's handshake on.  Returns when it must wait
 * (c->want) or it ended (then the state has changed). */
void mw__probe_proxy_step(struct probe_conn *c);

/* -- probe_smtp.c: the dialogue ------------------------------------------- */

/* Starts a TLS handshake on the connection, then state next. */
void mw__probe_start_tls(struct probe_conn *c, enum conn_state next);
/* Runs the connection's state machine as far as it goes without waiting. */
void mw__probe_conn_step(struct probe_conn *c);
/* The deadline passed: what the connection was waiting for says why. */
void mw__probe_conn_expire(struct probe_conn *c, unsigned timeout_ms);

/* -- probe_loop.c --------------------------------------------------------- */

/* Drives the n connections until each is done or past its deadline.
 * MW_OK, MW_E_NOMEM, or MW_E_INTERNAL (poll() failed). */
mw_status mw__probe_loop(struct probe_conn *conns, size_t n,
                         unsigned timeout_ms);

/* -- probe_discover.c ----------------------------------------------------- */

/* Adds the hosts to probe for target (an address, a name, or a mailbox
 * whose domain is used), with SRV and MX lookups when lookup is true. */
void mw__probe_discover(struct probe_ctx *ctx, const char *target,
                        const unsigned *ports, size_t nports, bool lookup,
                        int64_t deadline);
/* A host's addresses could not be had: its rows will say why. */
void mw__probe_host_dns_failed(struct mw_probe *p, struct probe_host *h,
                               const struct mw_error *err);

/* -- probe_rank.c --------------------------------------------------------- */

/* A silent or mismatched row on a port where another mode answered is
 * labelled by what that mode heard. */
void mw__probe_relabel(struct mw_probe *p);
/* Ranks the secure rows that work, best first (rank 1). */
void mw__probe_rank(struct mw_probe *p);

#endif
