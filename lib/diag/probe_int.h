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
 *   probe_conn.c      a connection's life: its stack built without
 *                     blocking (net/stack.h), then the SMTP client's own
 *                     state machine (proto/smtp.h) stepped up to the
 *                     capabilities; its end, and what a deadline means
 *   probe_smtp.c      what the machine's states, replies and failures
 *                     mean for the rows
 *   probe_loop.c      the poll() loop that drives every connection
 *   probe_rank.c      after the run: relabelled mismatches and the ranking
 *   probe_in.c        the incoming run (mw_probe_run_incoming): IMAP and
 *                     POP3 hosts from RFC 6186 SRV records and the usual
 *                     names, every port reached at once, then each
 *                     reachable port's dialogues
 *   probe_in_row.c    one IMAP or POP3 dialogue as a row, the plan of
 *                     candidates, the incoming ranking
 */
#ifndef MW_DIAG_PROBE_INT_H
#define MW_DIAG_PROBE_INT_H

#include "mailwire.h"

#include "core/err.h"
#include "core/options.h"
#include "core/trace.h"
#include "net/proxy.h"
#include "net/resolve.h"
#include "net/stack.h"
#include "proto/capa.h"
#include "proto/reply.h"
#include "proto/smtp.h"
#include "tls/tls.h"

#include <stdbool.h>
#include <stdint.h>

#define PROBE_MAX_HOSTS 6
/* The host slots of a result: the incoming probe (SRV targets of four
 * services and the usual names) may use more than SMTP's 6. */
#define PROBE_HOST_SLOTS 16
#define PROBE_MAX_PORTS 16
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
  const char *protocol; /* "imap", "pop3"; NULL: SMTP */
  char caps[512];       /* incoming: the capabilities, space-separated */
  bool no_login;        /* incoming: no way to log in offered */
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
  struct probe_host hosts[PROBE_HOST_SLOTS];
  size_t host_count;
  struct probe_row *rows;
  size_t row_count;
  char dns_note[512];
  bool dns_temporary; /* a host's addresses failed for a retryable reason */
  double total_ms;
};

/* Where a connection is: building its stack (TCP, proxy, PROXY header),
 * then its SMTP machine (proto/smtp.h) up to the capabilities. */
enum conn_phase { PC_CONNECT, PC_SMTP, PC_DONE };

struct probe_ctx;

struct probe_conn {
  struct probe_ctx *ctx;
  const struct probe_host *host;
  unsigned port;
  bool implicit;
  enum conn_phase phase;
  struct mw__stack_build *build; /* PC_CONNECT */
  struct mw_error err;           /* the build's failures */
  struct mw_smtp *smtp;          /* PC_SMTP: the session's own machine */
  enum mw__smtp_state at;        /* the last state before BROKEN */
  bool tls_up;                   /* a handshake completed */
  struct mw__trace trace;        /* the run's, with this connection's
                                  * prefix ("host:port plain") */
  short want;
  int64_t deadline;              /* the whole connection's */
  size_t row;          /* implicit row, or the plain row */
  size_t starttls_row; /* plain connections: the STARTTLS row */
};

struct probe_ctx {
  const struct mw_options *opt;
  struct mw_probe *probe;
  struct mw__trace trace;
  struct mw__tls_policy policy; /* for the certificate verdicts */
  struct mw__proxy proxy;       /* for the rows and messages */
  bool use_proxy;
  bool client_resolves; /* SOCKS4, SOCKS5: the server's address is sent */
  struct mw__addrlist proxy_addrs;
  unsigned timeout_ms;
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

/* -- probe_conn.c: a connection's life ------------------------------------ */

/* Starts the connection: the stack builder over the host's addresses (the
 * proxy's, with one), then steps it as far as it goes. */
void mw__probe_conn_start(struct probe_conn *c);
/* Moves the connection on as far as it goes without waiting (c->want set
 * when it must wait). */
void mw__probe_conn_step(struct probe_conn *c);
/* The socket to wait on, when to step again anyway, and whether bytes
 * wait inside the stack (TLS) that poll() cannot see. */
int mw__probe_conn_fd(const struct probe_conn *c);
int64_t mw__probe_conn_wake_at(const struct probe_conn *c);
bool mw__probe_conn_pending(const struct probe_conn *c);
/* Ends the connection: a QUIT when the dialogue got to the capabilities
 * (best effort, never waited for), then close.  Rows still open get the
 * outcome (with detail, when not NULL). */
void mw__probe_conn_finish(struct probe_conn *c, const char *outcome,
                           const char *detail);
/* Frees what the connection holds (idempotent). */
void mw__probe_conn_free(struct probe_conn *c);
/* The deadline passed: what the connection was waiting for says why. */
void mw__probe_conn_expire(struct probe_conn *c);

/* -- probe_smtp.c: what the machine's states mean for the rows ------------ */

/* The machine's transitions (mw_smtp observer, user: the connection). */
void mw__probe_on_transition(void *user, enum mw__smtp_state from,
                             enum mw__smtp_state to);
/* The machine stopped at the capabilities: the rows it fills. */
void mw__probe_on_capabilities(struct probe_conn *c);
/* The machine failed with st (s->err says why) in state c->at. */
void mw__probe_on_failure(struct probe_conn *c, mw_status st);
/* The stack could not be built (c->err says why). */
void mw__probe_on_connect_failure(struct probe_conn *c, mw_status st);

/* -- probe_loop.c --------------------------------------------------------- */

/* Drives the n connections until each is done or past its deadline.
 * MW_OK, MW_E_NOMEM, or MW_E_INTERNAL (poll() failed). */
/* Runs conns until each is done; started is when their deadlines were set
 * (the time spent starting them counts as the loop's own, see
 * probe_loop.c). */
mw_status mw__probe_loop(struct probe_conn *conns, size_t n, int64_t started);

/* -- probe_discover.c ----------------------------------------------------- */

/* Adds the hosts to probe for target (an address, a name, or a mailbox
 * whose domain is used), with SRV and MX lookups when lookup is true. */
void mw__probe_discover(struct probe_ctx *ctx, const char *target,
                        const unsigned *ports, size_t nports, bool lookup,
                        int64_t deadline);
/* A host's addresses could not be had: its rows will say why. */
void mw__probe_host_dns_failed(struct mw_probe *p, struct probe_host *h,
                               const struct mw_error *err);

/* -- probe_in.c, probe_in_row.c: incoming servers ------------------------ */

/* What DNS said for the four RFC 6186 services, in the order of
 * mw__probe_in_services (imaps, imap, pop3s, pop3). */
#define PROBE_IN_SRV 4
#define PROBE_IN_SRV_MAX 4
struct probe_in_dns {
  bool asked[PROBE_IN_SRV];
  struct mw__srv srv[PROBE_IN_SRV][PROBE_IN_SRV_MAX];
  size_t count[PROBE_IN_SRV];
  bool declined[PROBE_IN_SRV]; /* target "." (RFC 6186 section 3.4) */
};
struct probe_in_service {
  const char *prefix; /* "_imaps._tcp." */
  const char *label;  /* "srv _imaps._tcp" */
  mw_protocol protocol;
};
extern const struct probe_in_service mw__probe_in_services[PROBE_IN_SRV];

/* One (host, port, protocol) to probe in its three modes. */
struct probe_in_cand {
  size_t host; /* index into the result's hosts */
  unsigned port;
  mw_protocol protocol;
  bool guessed; /* a usual name (imap.DOMAIN ...), not given nor in DNS */
};

/* The candidates for target (an address, a name or a mailbox), in order:
 * the SRV targets (by service, then priority and weight) on their SRV
 * port, then the given host or the mailbox's domain, then the usual names
 * (imap.DOMAIN for IMAP, pop.DOMAIN for POP3, mail.DOMAIN for both) on
 * the protocol's ports (ports[protocol], as given or the defaults).  A
 * protocol whose every SRV record says "." gets no guessed names.  Adds
 * the hosts to p; at most max candidates.  Pure: no DNS. */
size_t mw__probe_in_plan(struct mw_probe *p, const char *target,
                         unsigned protocols,
                         const unsigned *imap_ports, size_t n_imap,
                         const unsigned *pop3_ports, size_t n_pop3,
                         const struct probe_in_dns *dns,
                         struct probe_in_cand *out, size_t max);
/* Probes one candidate in each mode (implicit; then plaintext, and
 * STARTTLS / STLS when offered), filling its three rows from row on.
 * reach_outcome/reach_detail: the connection already failed (no dialogue
 * then), NULL when the port was reached. */
void mw__probe_in_candidate(struct probe_ctx *ctx,
                            const struct probe_in_cand *c, size_t row,
                            const char *reach_outcome,
                            const char *reach_detail, const char *peer);
/* Ranks the secure incoming rows that work, per protocol (each
 * protocol's best is rank 1): a certificate accepted first, implicit TLS
 * before STARTTLS (RFC 8314), a server that lets no one log in last. */
void mw__probe_in_rank(struct mw_probe *p);

/* -- probe_rank.c --------------------------------------------------------- */

/* A silent or mismatched row on a port where another mode answered is
 * labelled by what that mode heard. */
void mw__probe_relabel(struct mw_probe *p);
/* Ranks the secure rows that work, best first (rank 1). */
void mw__probe_rank(struct mw_probe *p);

#endif
