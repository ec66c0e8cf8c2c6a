/*
 * diag/probe.c - mw_probe_run(): which port and TLS mode work, found in
 * parallel.
 *
 * DESCRIPTION
 *   Every host and port gets two connections at once: one that starts TLS
 *   at the first byte (the "implicit" row) and one that starts in plaintext
 *   (the "plain" row: greeting and EHLO; then STARTTLS when offered, which
 *   fills the "starttls" row).  All sockets are non-blocking and one poll()
 *   loop drives every connection's state machine, so a silent port costs
 *   its greeting timeout once, concurrently with the others, instead of
 *   adding up as in a sequential "automatic mode".  Each connection,
 *   connect to last EHLO, is bounded by the greeting timeout.
 *
 *   Only EHLO, STARTTLS and QUIT are ever sent: no credentials, no
 *   envelope.  Certificates are not enforced here (the handshake completes
 *   and the verdict is reported), so that a self-signed server still shows
 *   which modes it speaks; ranking puts verified rows first.
 *
 *   Through a proxy, each connection goes to the proxy and runs the
 *   proxy's handshake (net/proxy.h's state machine) in the same loop
 *   before the SMTP dialogue; the server's addresses are looked up first
 *   only for the kinds where the client resolves (SOCKS4, SOCKS5).
 *
 * DISCOVERY
 *   For a name that is not an address literal, RFC 6186's SRV records
 *   (_submissions._tcp: implicit TLS; _submission._tcp: STARTTLS) and the
 *   MX records add hosts to probe (SRV hosts on their SRV port only).
 */
#include "diag/probe.h"

#include "core/err.h"
#include "core/options.h"
#include "core/trace.h"
#include "core/util.h"
#include "net/proxy.h"
#include "net/resolve.h"
#include "net/tcp.h"
#include "proto/capa.h"
#include "proto/reply.h"
#include "proto/smtp.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* -- rows ------------------------------------------------------------- */

static void row_set(struct probe_row *r, const char *outcome, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

static void row_set(struct probe_row *r, const char *outcome, const char *fmt,
                    ...)
{
  if(r->outcome)
    return; /* the first verdict stands */
  r->outcome = outcome;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
  va_end(ap);
}

static struct probe_row *conn_row(struct probe_conn *c)
{
  return &c->ctx->probe->rows[c->row];
}

static struct probe_row *conn_starttls_row(struct probe_conn *c)
{
  return c->implicit ? NULL : &c->ctx->probe->rows[c->starttls_row];
}

static void stamp_rows(struct probe_conn *c)
{
  double ms = (double)(mw__now_ms() - c->ctx->start);
  struct probe_row *r = conn_row(c);
  if(!r->ms)
    r->ms = ms;
  struct probe_row *t = conn_starttls_row(c);
  if(t && !t->ms)
    t->ms = ms;
}

/* -- connection plumbing ---------------------------------------------- */

static void conn_close(struct probe_conn *c)
{
  if(c->tls) {
    mw__tls_free(c->tls);
    c->tls = NULL;
  }
  if(c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
  }
}

/* Ends the connection: a QUIT when the dialogue got that far (best effort,
 * never waited for), then close.  Rows still open get the outcome. */
static void conn_finish(struct probe_conn *c, const char *outcome,
                        const char *detail)
{
  if(c->state == CS_DONE)
    return;
  bool talking = c->state == CS_EHLO || c->state == CS_EHLO2 ||
                 c->state == CS_GREETING || c->state == CS_STARTTLS;
  if(talking && c->fd >= 0 && !strcmp(outcome, "works")) {
    static const char quit[] = "QUIT\r\n";
    size_t put = 0;
    short want = 0;
    if(c->tls)
      (void)mw__tls_nb_write(c->tls, quit, sizeof(quit) - 1, &put, &want,
                             &c->err);
    else
      (void)!send(c->fd, quit, sizeof(quit) - 1, MSG_NOSIGNAL);
  }
  stamp_rows(c);
  struct probe_row *r = conn_row(c);
  if(detail)
    row_set(r, outcome, "%s", detail);
  struct probe_row *t = conn_starttls_row(c);
  if(t && detail)
    row_set(t, outcome, "%s", detail);
  mw__trace_emit(&c->ctx->trace, MW_TRACE_NET, "probe %s port %u %s: %s%s%s",
                 c->host->name, c->port, c->implicit ? "implicit" : "plain",
                 outcome, detail ? ": " : "", detail ? detail : "");
  conn_close(c);
  c->state = CS_DONE;
  c->want = 0;
}

static bool conn_queue(struct probe_conn *c, const char *line)
{
  size_t n = strlen(line);
  if(c->outlen - c->outpos + n + 2 > sizeof(c->out))
    return false;
  if(c->outpos) {
    memmove(c->out, c->out + c->outpos, c->outlen - c->outpos);
    c->outlen -= c->outpos;
    c->outpos = 0;
  }
  memcpy(c->out + c->outlen, line, n);
  memcpy(c->out + c->outlen + n, "\r\n", 2);
  c->outlen += n + 2;
  mw__trace_emit(&c->ctx->trace, MW_TRACE_OUT, "[%s:%u %s] %s",
                 c->host->name, c->port, c->implicit ? "implicit" : "plain",
                 line);
  return true;
}

/* Writes what is queued.  MW_OK (all written, or c->want set), or an
 * error recorded in c->last_error. */
static mw_status conn_flush(struct probe_conn *c)
{
  while(c->outpos < c->outlen) {
    size_t left = c->outlen - c->outpos, put = 0;
    if(c->tls) {
      short want = 0;
      mw_status st = mw__tls_nb_write(c->tls, c->out + c->outpos, left, &put,
                                      &want, &c->err);
      if(st) {
        snprintf(c->last_error, sizeof(c->last_error), "%s",
                 c->err.message);
        return st;
      }
      if(!put) {
        c->want = want;
        return MW_OK;
      }
    }
    else {
      ssize_t n = send(c->fd, c->out + c->outpos, left, MSG_NOSIGNAL);
      if(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        c->want = POLLOUT;
        return MW_OK;
      }
      if(n < 0) {
        snprintf(c->last_error, sizeof(c->last_error),
                 "sending failed: %s", strerror(errno));
        return MW_E_CLOSED;
      }
      put = (size_t)n;
    }
    c->outpos += put;
  }
  c->outpos = c->outlen = 0;
  return MW_OK;
}

/* Reads what is available.  MW_OK with *got bytes appended (0: c->want
 * set), MW_E_CLOSED at the end of the stream, or another error. */
static mw_status conn_fill(struct probe_conn *c, size_t *got)
{
  *got = 0;
  size_t room = sizeof(c->in) - c->inlen;
  if(!room) {
    snprintf(c->last_error, sizeof(c->last_error),
             "a reply line longer than %d bytes", PROBE_LINE_MAX);
    return MW_E_PROTOCOL;
  }
  if(c->tls) {
    short want = 0;
    mw_status st = mw__tls_nb_read(c->tls, c->in + c->inlen, room, got, &want,
                                   &c->err);
    if(st) {
      snprintf(c->last_error, sizeof(c->last_error), "%s", c->err.message);
      return st;
    }
    if(!*got)
      c->want = want;
  }
  else {
    ssize_t n = recv(c->fd, c->in + c->inlen, room, 0);
    if(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c->want = POLLIN;
      return MW_OK;
    }
    if(n < 0) {
      snprintf(c->last_error, sizeof(c->last_error), "connection lost: %s",
               strerror(errno));
      return MW_E_CLOSED;
    }
    if(n == 0) {
      snprintf(c->last_error, sizeof(c->last_error),
               "the server closed the connection");
      return MW_E_CLOSED;
    }
    *got = (size_t)n;
  }
  c->inlen += *got;
  if(*got)
    c->got_bytes = true;
  return MW_OK;
}

/* -- the dialogue ------------------------------------------------------- */

static void conn_step(struct probe_conn *c);

static void start_tls(struct probe_conn *c, enum conn_state next)
{
  /* SNI and the name check use the host probed (or the override). */
  struct mw__tls_policy policy = c->ctx->policy;
  policy.server_name = c->ctx->opt->tls_server_name
                           ? c->ctx->opt->tls_server_name
                           : c->host->name;
  mw__error_clear(&c->err);
  if(mw__tls_nb_new(c->fd, &policy, &c->err, &c->tls)) {
    conn_finish(c, "tls_failed", c->err.message);
    return;
  }
  c->state = next;
}

static void record_tls(struct probe_conn *c, struct probe_row *r)
{
  snprintf(r->tls_version, sizeof(r->tls_version), "%s", c->info.version);
  r->cert = mw__tls_verdict(&c->ctx->policy, &c->info);
}

static void record_auth(struct probe_conn *c, struct probe_row *r)
{
  const struct mw__capa_entry *e = mw__capa_find(&c->capa, "AUTH");
  snprintf(r->auth, sizeof(r->auth), "%s", e ? e->params : "");
}

static void reply_summary(const struct mw__reply *r, char *buf, size_t len)
{
  const char *text = r->text ? r->text : "";
  size_t n = strcspn(text, "\n");
  snprintf(buf, len, "%d %.*s", r->code, (int)(n > 200 ? 200 : n), text);
}

/* Implicit TLS works on this port: the plaintext connection to it that
 * has heard nothing is waiting for a greeting that will never come.  End
 * it now rather than at the deadline (the usual case: 465 answers in
 * milliseconds, and the probe need not wait for its plaintext twin). */
static void abandon_plain_twin(struct probe_conn *c)
{
  for(size_t i = 0; i < c->ctx->nconn; i++) {
    struct probe_conn *t = &c->ctx->conns[i];
    if(t == c || t->implicit || t->host != c->host || t->port != c->port ||
       (t->state != CS_GREETING && t->state != CS_CONNECT) || t->got_bytes)
      continue;
    conn_finish(t, "mismatch",
                "no greeting in plaintext, and implicit TLS works on this "
                "port: it speaks implicit TLS (a plaintext client waits "
                "for a greeting that never comes)");
  }
}

/* A complete reply arrived in the current state. */
static void on_reply(struct probe_conn *c)
{
  struct mw__reply *r = &c->reply;
  char said[260];
  reply_summary(r, said, sizeof(said));
  struct probe_row *row = conn_row(c);
  struct probe_row *st_row = conn_starttls_row(c);
  switch(c->state) {
  case CS_GREETING:
    if(r->code != 220) {
      char d[300];
      snprintf(d, sizeof(d), "the greeting refuses service: %s", said);
      conn_finish(c, "rejected", d);
      return;
    }
    c->state = CS_EHLO;
    break;
  case CS_EHLO:
  case CS_EHLO2: {
    if(r->code / 100 == 5 && c->state == CS_EHLO) {
      /* A HELO-only server (RFC 821): mail can go, without extensions,
       * so without STARTTLS or AUTH. */
      if(c->implicit) {
        row_set(row, "works", "implicit TLS, %s; HELO only (EHLO refused: "
                "%s), so no AUTH", c->info.version, said);
      }
      else {
        row_set(row, "works", "plaintext SMTP, HELO only (EHLO refused: "
                "%s) (never recommended)", said);
        row_set(st_row, "no_starttls",
                "no ESMTP, so no STARTTLS (EHLO refused: %s)", said);
      }
      conn_finish(c, "works", NULL);
      return;
    }
    if(r->code != 250) {
      char d[300];
      snprintf(d, sizeof(d), "EHLO refused: %s", said);
      conn_finish(c, "rejected", d);
      return;
    }
    mw__capa_clear(&c->capa);
    mw__capa_init(&c->capa);
    mw__capa_parse(&c->capa, r->text);
    if(c->state == CS_EHLO2) {
      record_auth(c, st_row);
      row_set(st_row, "works", "STARTTLS, then %s", c->info.version);
      conn_finish(c, "works", NULL);
      return;
    }
    if(c->implicit) {
      record_auth(c, row);
      row_set(row, "works", "implicit TLS, %s", c->info.version);
      conn_finish(c, "works", NULL);
      abandon_plain_twin(c);
      return;
    }
    record_auth(c, row);
    stamp_rows(c);
    row_set(row, "works", "plaintext SMTP (never recommended)%s",
            row->auth[0] ? "; AUTH offered without encryption" : "");
    if(!mw__capa_has(&c->capa, "STARTTLS")) {
      row_set(st_row, "no_starttls",
              "the server does not offer STARTTLS on this port");
      conn_finish(c, "works", NULL);
      return;
    }
    c->state = CS_STARTTLS;
    if(!conn_queue(c, "STARTTLS"))
      conn_finish(c, "protocol", "internal: output full");
    break;
  }
  case CS_STARTTLS:
    if(r->code != 220) {
      char d[300];
      snprintf(d, sizeof(d), "STARTTLS refused: %s", said);
      row_set(st_row, "no_starttls", "%s", d);
      conn_finish(c, "works", NULL);
      return;
    }
    if(c->inlen) {
      char d[200];
      snprintf(d, sizeof(d),
               "%zu bytes arrived after the 220 to STARTTLS, before the TLS "
               "handshake (possible injection)",
               c->inlen);
      row_set(st_row, "protocol", "%s", d);
      conn_finish(c, "works", NULL);
      return;
    }
    start_tls(c, CS_TLS2);
    break;
  default:
    break;
  }
  if(c->state == CS_EHLO || c->state == CS_EHLO2) {
    char ehlo[300];
    snprintf(ehlo, sizeof(ehlo), "EHLO %s", c->ctx->helo);
    if(!conn_queue(c, ehlo))
      conn_finish(c, "protocol", "internal: output full");
  }
}

/* Feeds complete lines to the reply parser. */
static void consume_lines(struct probe_conn *c)
{
  while(c->state != CS_DONE) {
    char *nl = memchr(c->in, '\n', c->inlen);
    if(!nl) {
      if(c->inlen > PROBE_LINE_MAX) {
        conn_finish(c, "protocol", "a reply line is too long");
      }
      return;
    }
    size_t len = (size_t)(nl - c->in);
    size_t used = len + 1;
    if(len && c->in[len - 1] == '\r')
      len--;
    mw__trace_emit_n(&c->ctx->trace, MW_TRACE_IN, c->in, len);
    const char *why = NULL;
    enum mw__reply_feed f = mw__reply_feed(&c->reply, c->in, len, &why);
    if(f != MW__REPLY_BAD) {
      memmove(c->in, c->in + used, c->inlen - used);
      c->inlen -= used;
    }
    if(f == MW__REPLY_BAD) {
      char d[300];
      const char *proto = mw__reply_foreign_protocol(c->in, len);
      if(proto) {
        snprintf(d, sizeof(d),
                 "the port speaks %s%s, not SMTP: use an SMTP port (587 "
                 "with --tls starttls, 465 with --tls implicit)",
                 proto, c->tls ? " over TLS" : "");
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
        conn_finish(c, "wrong_protocol", d);
        return;
      }
      snprintf(d, sizeof(d), "not an SMTP reply (%s)", why ? why : "?");
      memmove(c->in, c->in + used, c->inlen - used);
      c->inlen -= used;
      conn_finish(c, "protocol", d);
      return;
    }
    if(f == MW__REPLY_DONE) {
      on_reply(c);
      mw__reply_free(&c->reply);
      mw__reply_init(&c->reply);
    }
  }
}

static void connect_next(struct probe_conn *c);

static void after_connect(struct probe_conn *c)
{
  struct probe_row *r = conn_row(c);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if(c->ctx->use_proxy) {
    snprintf(r->address, sizeof(r->address), "via proxy %s:%u",
             c->ctx->proxy.host, c->ctx->proxy.port);
  }
  else if(getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0) {
    struct mw__addr a;
    memcpy(&a.sa, &ss, sizeof(ss));
    a.len = sl;
    mw__addr_format(&a, r->address, sizeof(r->address));
  }
  struct probe_row *t = conn_starttls_row(c);
  if(t)
    snprintf(t->address, sizeof(t->address), "%s", r->address);
  if(c->implicit)
    start_tls(c, CS_TLS);
  else
    c->state = CS_GREETING;
}

static const char *connect_outcome(const struct probe_conn *c, int e)
{
  if(c->ctx->use_proxy)
    return "proxy";
  return e == ECONNREFUSED ? "refused" : "unreachable";
}

static void proxy_start(struct probe_conn *c);

/* TCP is up: to the server, or to the proxy that opens the tunnel. */
static void on_connected(struct probe_conn *c)
{
  if(c->ctx->use_proxy)
    proxy_start(c);
  else
    after_connect(c);
}

/* Starts the connection to the next address of the host (of the proxy,
 * with one). */
static void connect_next(struct probe_conn *c)
{
  bool via = c->ctx->use_proxy;
  const struct mw__addrlist *l = via ? &c->ctx->proxy_addrs : &c->host->addrs;
  unsigned port = via ? c->ctx->proxy.port : c->port;
  while(c->next_addr < l->count) {
    struct mw__addr a = l->items[c->next_addr++];
    if(a.sa.ss_family == AF_INET)
      ((struct sockaddr_in *)&a.sa)->sin_port = htons((uint16_t)port);
    else
      ((struct sockaddr_in6 *)&a.sa)->sin6_port = htons((uint16_t)port);
    char where[64];
    mw__addr_format(&a, where, sizeof(where));
    int fd = -1;
    int rc = mw__tcp_start(&a, c->ctx->opt->bind, &fd);
    if(rc == 0 || rc == EINPROGRESS) {
      c->fd = fd;
      c->state = CS_CONNECT;
      if(rc == 0)
        on_connected(c);
      else
        c->want = POLLOUT;
      return;
    }
    snprintf(c->last_error, sizeof(c->last_error), "%s%s: %s",
             via ? "cannot reach the proxy " : "", where,
             rc == EAFNOSUPPORT ? "the bind address is of the other family"
             : rc == EADDRNOTAVAIL
                 ? "the --bind address is not an address of this machine"
                 : strerror(rc));
    if(c->next_addr >= l->count) {
      conn_finish(c, connect_outcome(c, rc), c->last_error);
      return;
    }
  }
  conn_finish(c, via ? "proxy" : "unreachable",
              c->last_error[0] ? c->last_error : "no address to try");
}

/* -- through a proxy ------------------------------------------------------ */

/* The TCP connection to the proxy is up: start its handshake. */
static void proxy_start(struct probe_conn *c)
{
  const struct probe_host *h = c->host;
  mw__error_clear(&c->err);
  if(mw__proxy_hs_init(&c->hs, &c->ctx->proxy, h->name, c->port,
                       h->proxy_target_ok ? &h->proxy_target : NULL,
                       &c->err)) {
    conn_finish(c, "proxy", c->err.message);
    return;
  }
  c->state = CS_PROXY;
}

/* Moves the handshake on: sends what it has to say, reads no more than
 * its reply.  Returns when it must wait (c->want) or it ended. */
static void proxy_step(struct probe_conn *c)
{
  for(;;) {
    size_t outlen = 0;
    const unsigned char *out = mw__proxy_hs_output(&c->hs, &outlen);
    if(outlen) {
      /* Copied unlogged: it may hold the proxy's credentials. */
      if(outlen > sizeof(c->out) - c->outlen) {
        conn_finish(c, "proxy", "proxy request too long");
        return;
      }
      memcpy(c->out + c->outlen, out, outlen);
      c->outlen += outlen;
      mw__proxy_hs_sent(&c->hs);
    }
    if(conn_flush(c)) {
      conn_finish(c, "proxy", c->last_error);
      return;
    }
    if(c->want)
      return;
    if(mw__proxy_hs_done(&c->hs)) {
      mw__proxy_hs_release(&c->hs);
      explicit_bzero(c->out, sizeof(c->out)); /* the proxy credentials */
      mw__trace_emit(&c->ctx->trace, MW_TRACE_NET,
                     "probe %s port %u %s: proxy tunnel open",
                     c->host->name, c->port,
                     c->implicit ? "implicit" : "plain");
      after_connect(c);
      return;
    }
    unsigned char buf[512];
    size_t want = mw__proxy_hs_want(&c->hs);
    if(!want) {
      conn_finish(c, "proxy", "the proxy handshake cannot go on");
      return;
    }
    ssize_t n = recv(c->fd, buf, want < sizeof(buf) ? want : sizeof(buf), 0);
    if(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c->want = POLLIN;
      return;
    }
    mw__error_clear(&c->err);
    if(n <= 0) {
      if(n == 0)
        mw__proxy_hs_closed(&c->hs, &c->err);
      else
        mw__error_set(&c->err, MW_E_PROXY, "the proxy connection failed: %s",
                      strerror(errno));
      conn_finish(c, "proxy", c->err.message);
      return;
    }
    if(mw__proxy_hs_feed(&c->hs, buf, (size_t)n, &c->err)) {
      conn_finish(c, "proxy", c->err.message);
      return;
    }
  }
}

/* -- the state machine -------------------------------------------------- */

static void conn_step(struct probe_conn *c)
{
  for(int guard = 0; guard < 1024 && c->state != CS_DONE; guard++) {
    c->want = 0;
    switch(c->state) {
    case CS_PROXY:
      proxy_step(c);
      if(c->state == CS_PROXY)
        return; /* waiting (c->want) */
      continue;
    case CS_CONNECT: {
      int e = mw__tcp_finish(c->fd);
      if(e) {
        bool via = c->ctx->use_proxy;
        snprintf(c->last_error, sizeof(c->last_error), "%s%s",
                 via ? "cannot reach the proxy: " : "", strerror(e));
        close(c->fd);
        c->fd = -1;
        size_t count = via ? c->ctx->proxy_addrs.count : c->host->addrs.count;
        if(c->next_addr < count) {
          connect_next(c);
          continue;
        }
        conn_finish(c, connect_outcome(c, e), c->last_error);
        return;
      }
      on_connected(c);
      continue;
    }
    case CS_TLS:
    case CS_TLS2: {
      short want = 0;
      mw__error_clear(&c->err);
      mw_status st = mw__tls_nb_handshake(c->tls, &want, &c->info, &c->err);
      if(st) {
        bool plain = c->info.plaintext_peer;
        if(c->state == CS_TLS2)
          row_set(conn_starttls_row(c), "tls_failed", "%s", c->err.message);
        conn_finish(c,
                    c->state == CS_TLS && plain ? "mismatch" : "tls_failed",
                    c->state == CS_TLS && plain
                        ? "the port answered in plaintext: it speaks "
                          "plain SMTP or STARTTLS, not implicit TLS"
                        : c->err.message);
        return;
      }
      if(want) {
        c->want = want;
        return;
      }
      if(c->state == CS_TLS) {
        record_tls(c, conn_row(c));
        c->state = CS_GREETING;
      }
      else {
        record_tls(c, conn_starttls_row(c));
        c->state = CS_EHLO2;
        char ehlo[300];
        snprintf(ehlo, sizeof(ehlo), "EHLO %s", c->ctx->helo);
        conn_queue(c, ehlo);
      }
      continue;
    }
    case CS_GREETING:
    case CS_EHLO:
    case CS_STARTTLS:
    case CS_EHLO2: {
      if(conn_flush(c)) {
        conn_finish(c, "closed", c->last_error);
        return;
      }
      if(c->want)
        return; /* the write must finish first */
      size_t got = 0;
      mw_status st = conn_fill(c, &got);
      if(st) {
        const char *outcome = st == MW_E_CLOSED ? "closed"
                              : st == MW_E_TLS  ? "tls_failed"
                                                : "protocol";
        if(c->state == CS_GREETING && !c->got_bytes) {
          char d[PROBE_MSG_LEN + 80];
          snprintf(d, sizeof(d),
                   "accepted the connection, then closed it without a "
                   "greeting (%s)",
                   c->last_error);
          conn_finish(c, outcome, d);
        }
        else {
          conn_finish(c, outcome, c->last_error);
        }
        return;
      }
      if(!got && !(c->tls && mw__tls_nb_pending(c->tls)))
        return; /* c->want says what to wait for */
      if(c->state == CS_GREETING && !c->tls && c->inlen &&
         (c->in[0] == 0x15 || c->in[0] == 0x16)) {
        /* A TLS record (alert or handshake) where a 220 was expected. */
        conn_finish(c, "mismatch",
                    "the port answered with TLS bytes: it speaks implicit "
                    "TLS, not plaintext");
        return;
      }
      consume_lines(c);
      continue;
    }
    case CS_DONE:
      return;
    }
  }
}

/* The deadline passed: what the connection was waiting for says why. */
static void conn_expire(struct probe_conn *c, unsigned timeout_ms)
{
  char d[PROBE_MSG_LEN];
  double secs = timeout_ms / 1000.0;
  switch(c->state) {
  case CS_PROXY:
    snprintf(d, sizeof(d),
             "the %s proxy %s:%u did not finish its handshake within %.1f s",
             mw__proxy_kind_name(c->ctx->proxy.kind), c->ctx->proxy.host,
             c->ctx->proxy.port, secs);
    conn_finish(c, "proxy", d);
    return;
  case CS_CONNECT:
    snprintf(d, sizeof(d),
             "no answer to the connection%s within %.1f s (filtered: a "
             "firewall drops the packets)",
             c->ctx->use_proxy ? " to the proxy" : "", secs);
    conn_finish(c, c->ctx->use_proxy ? "proxy" : "timeout", d);
    return;
  case CS_TLS:
  case CS_GREETING:
    if(!c->got_bytes) {
      snprintf(d, sizeof(d),
               c->state == CS_TLS
                   ? "connected, but no answer to the TLS handshake within "
                     "%.1f s"
                   : "connected, but no greeting within %.1f s",
               secs);
      conn_row(c)->silent = true;
      if(conn_starttls_row(c))
        conn_starttls_row(c)->silent = true;
      conn_finish(c, "silent", d);
      return;
    }
    snprintf(d, sizeof(d), "the greeting did not complete within %.1f s",
             secs);
    conn_finish(c, "timeout", d);
    return;
  default:
    snprintf(d, sizeof(d), "no reply within %.1f s (%s)", secs,
             c->state == CS_STARTTLS ? "to STARTTLS"
             : c->state == CS_TLS2   ? "during the TLS handshake"
                                     : "to EHLO");
    if(c->state == CS_STARTTLS || c->state == CS_TLS2 ||
       c->state == CS_EHLO2)
      row_set(conn_starttls_row(c), "timeout", "%s", d);
    conn_finish(c, "timeout", d);
    return;
  }
}

/* -- discovery -------------------------------------------------------- */

static void strip_dot(char *name)
{
  size_t n = strlen(name);
  if(n > 1 && name[n - 1] == '.')
    name[n - 1] = '\0';
}

static void add_host(struct mw_probe *p, const char *name, const char *source,
                     const unsigned *ports, size_t nports)
{
  char clean[256];
  snprintf(clean, sizeof(clean), "%s", name);
  strip_dot(clean);
  if(!clean[0] || !strcmp(clean, "."))
    return;
  struct probe_host *h = NULL;
  for(size_t i = 0; i < p->host_count; i++)
    if(mw__strieq(p->hosts[i].name, clean))
      h = &p->hosts[i];
  if(!h) {
    if(p->host_count == PROBE_MAX_HOSTS)
      return;
    h = &p->hosts[p->host_count++];
    snprintf(h->name, sizeof(h->name), "%s", clean);
    snprintf(h->source, sizeof(h->source), "%s", source);
  }
  for(size_t k = 0; k < nports; k++) {
    bool seen = false;
    for(size_t j = 0; j < h->port_count; j++)
      seen |= h->ports[j] == ports[k];
    if(!seen && h->port_count < PROBE_MAX_PORTS)
      h->ports[h->port_count++] = ports[k];
  }
}

static void note_dns(struct mw_probe *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note_dns(struct mw_probe *p, const char *fmt, ...)
{
  size_t used = strlen(p->dns_note);
  if(used + 3 >= sizeof(p->dns_note))
    return;
  if(used) {
    memcpy(p->dns_note + used, "; ", 3);
    used += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->dns_note + used, sizeof(p->dns_note) - used, fmt, ap);
  va_end(ap);
}

/* A host's addresses could not be had: its rows will say why. */
static void host_dns_failed(struct mw_probe *p, struct probe_host *h,
                            const struct mw_error *err)
{
  snprintf(h->dns_error, sizeof(h->dns_error), "%s", err->message);
  note_dns(p, "%s", err->message);
  p->dns_temporary = p->dns_temporary || err->temporary ||
                     err->status == MW_E_TIMEOUT;
}

static void discover(struct probe_ctx *ctx, const char *target,
                     const unsigned *ports, size_t nports, bool lookup,
                     int64_t deadline)
{
  struct mw_probe *p = ctx->probe;
  const char *at = strrchr(target, '@');
  const char *domain = at ? at + 1 : target;
  char bare[64]; /* "[::1]" is the address ::1 */
  size_t dlen = strlen(domain);
  if(domain[0] == '[' && dlen >= 2 && domain[dlen - 1] == ']' &&
     dlen - 2 < sizeof(bare)) {
    memcpy(bare, domain + 1, dlen - 2);
    bare[dlen - 2] = '\0';
    if(mw__is_ip_literal(bare))
      domain = bare;
  }
  if(mw__is_ip_literal(domain)) {
    add_host(p, domain, "given", ports, nports);
    return;
  }
  if(!at)
    add_host(p, domain, "given", ports, nports);
  if(!lookup)
    return;
  static const struct {
    const char *prefix, *label;
  } srv_names[] = {{"_submissions._tcp.", "srv _submissions._tcp"},
                   {"_submission._tcp.", "srv _submission._tcp"}};
  for(size_t i = 0; i < 2; i++) {
    char name[300];
    snprintf(name, sizeof(name), "%s%s", srv_names[i].prefix, domain);
    struct mw__srv srv[4];
    size_t n = 0;
    bool declined = false;
    struct mw_error err;
    memset(&err, 0, sizeof(err));
    if(mw__resolve_srv(name, ctx->opt->dns_server, deadline, srv, 4, &n,
                       &declined, &err)) {
      note_dns(p, "%s", err.message);
    }
    else if(declined) {
      note_dns(p, "%s says the service is not offered (target \".\")",
               name);
    }
    for(size_t k = 0; k < n; k++) {
      mw__trace_emit(&ctx->trace, MW_TRACE_NET, "%s: %s port %u", name,
                     srv[k].target, srv[k].port);
      add_host(p, srv[k].target, srv_names[i].label, &srv[k].port, 1);
    }
    mw__error_clear(&err);
  }
  if(at)
    add_host(p, domain, "domain", ports, nports);
  struct mw__mx mx[4];
  size_t nmx = 0;
  struct mw_error err;
  memset(&err, 0, sizeof(err));
  if(mw__resolve_mx(domain, ctx->opt->dns_server, deadline, mx, 4, &nmx,
                    &err)) {
    note_dns(p, "%s", err.message);
  }
  for(size_t k = 0; k < nmx; k++) {
    char label[32];
    snprintf(label, sizeof(label), "mx %u", mx[k].preference);
    mw__trace_emit(&ctx->trace, MW_TRACE_NET, "MX of %s: %u %s", domain,
                   mx[k].preference, mx[k].host);
    add_host(p, mx[k].host, label, ports, nports);
  }
  mw__error_clear(&err);
}

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

static void rank_rows(struct mw_probe *p)
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
static void relabel_mismatches(struct mw_probe *p)
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

/* -- the run ------------------------------------------------------------ */

mw_status mw_probe_ports_parse(const char *list, unsigned *out, size_t max,
                               size_t *count)
{
  if(!count)
    return MW_E_INVALID;
  *count = 0;
  if(!list || !out || !*list)
    return MW_E_INVALID;
  const char *p = list;
  for(;;) {
    unsigned long v = 0;
    const char *start = p;
    while(*p >= '0' && *p <= '9' && v <= 65535)
      v = v * 10 + (unsigned long)(*p++ - '0');
    if(p == start || v == 0 || v > 65535)
      return MW_E_INVALID;
    bool dup = false;
    for(size_t i = 0; i < *count; i++)
      dup |= out[i] == v;
    if(!dup) {
      if(*count == max)
        return MW_E_INVALID;
      out[(*count)++] = (unsigned)v;
    }
    if(!*p)
      return MW_OK;
    if(*p != ',')
      return MW_E_INVALID;
    p++;
  }
}

static bool parse_ports(const char *list, unsigned *out, size_t *count)
{
  return mw_probe_ports_parse(list && *list ? list : "465,587,25,2525", out,
                              PROBE_MAX_PORTS, count) == MW_OK;
}

static bool valid_target(const char *t)
{
  if(!t || !*t || strlen(t) > 255)
    return false;
  for(const unsigned char *p = (const unsigned char *)t; *p; p++)
    if(*p <= ' ' || *p == 0x7f || *p == '/' || *p == '\\')
      return false;
  const char *at = strrchr(t, '@');
  return !at || at[1];
}

static mw_status run_loop(struct probe_conn *conns, size_t n,
                          unsigned timeout_ms)
{
  struct pollfd *pfd = mw__calloc(n ? n : 1, sizeof(*pfd));
  size_t *idx = mw__calloc(n ? n : 1, sizeof(*idx));
  if(!pfd || !idx) {
    mw__free(pfd);
    mw__free(idx);
    return MW_E_NOMEM;
  }
  for(;;) {
    nfds_t used = 0;
    int64_t now = mw__now_ms(), next = INT64_MAX;
    for(size_t i = 0; i < n; i++) {
      struct probe_conn *c = &conns[i];
      if(c->state == CS_DONE)
        continue;
      if(now >= c->deadline) {
        conn_expire(c, timeout_ms);
        continue;
      }
      if(c->tls && mw__tls_nb_pending(c->tls)) {
        conn_step(c); /* decrypted bytes poll() cannot see */
        if(c->state == CS_DONE)
          continue;
      }
      if(c->deadline < next)
        next = c->deadline;
      pfd[used].fd = c->fd;
      pfd[used].events = c->want ? c->want : POLLIN;
      pfd[used].revents = 0;
      idx[used++] = i;
    }
    if(!used)
      break;
    int64_t wait = next - now;
    int rc = poll(pfd, used, wait > 60000 ? 60000 : (int)wait);
    if(rc < 0 && errno != EINTR) {
      mw__free(pfd);
      mw__free(idx);
      return MW_E_INTERNAL;
    }
    for(nfds_t k = 0; rc > 0 && k < used; k++)
      if(pfd[k].revents)
        conn_step(&conns[idx[k]]);
  }
  mw__free(pfd);
  mw__free(idx);
  return MW_OK;
}

mw_status mw_probe_run(const mw_options *o, const char *target,
                       const char *ports, mw_probe **out)
{
  return mw__probe_run(o, target, ports, true, out);
}

mw_status mw__probe_run(const mw_options *o, const char *target,
                        const char *ports, bool lookup, mw_probe **out)
{
  if(out)
    *out = NULL;
  unsigned port_list[PROBE_MAX_PORTS];
  size_t nports = 0;
  if(!o || !out || !valid_target(target) ||
     !parse_ports(ports, port_list, &nports))
    return MW_E_INVALID;
  struct mw_probe *p = mw__calloc(1, sizeof(*p));
  struct probe_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  if(!p)
    return MW_E_NOMEM;
  ctx.opt = o;
  ctx.probe = p;
  ctx.trace.fn = o->trace_fn;
  ctx.trace.user = o->trace_user;
  mw__trace_start(&ctx.trace);
  ctx.start = mw__now_ms();
  unsigned timeout = o->greeting_timeout_ms ? o->greeting_timeout_ms
                                            : MW__DEFAULT_GREETING_TIMEOUT_MS;
  if(o->proxy_url) {
    char why[160];
    if(mw__proxy_parse_url(o->proxy_url, &ctx.proxy, why, sizeof(why))) {
      mw__free(p);
      return MW_E_INVALID;
    }
    ctx.use_proxy = true;
    ctx.client_resolves = ctx.proxy.kind == MW__PROXY_SOCKS4 ||
                          ctx.proxy.kind == MW__PROXY_SOCKS5;
  }
  /* One name for every connection: no socket yet to take an address
   * literal from, so the fallback is [127.0.0.1]. */
  mw__smtp_default_helo(o->helo, -1, ctx.helo, sizeof(ctx.helo));

  /* Discovery and addresses: bounded by one greeting timeout too. */
  int64_t dns_deadline = ctx.start + timeout;
  discover(&ctx, target, port_list, nports, lookup, dns_deadline);
  size_t rows = 0;
  for(size_t i = 0; i < p->host_count; i++)
    rows += 3 * p->hosts[i].port_count;
  p->rows = mw__calloc(rows ? rows : 1, sizeof(*p->rows));
  struct probe_conn *conns =
      mw__calloc(rows ? 2 * rows / 3 : 1, sizeof(*conns));
  if(!p->rows || !conns) {
    mw__free(conns);
    mw__proxy_release(&ctx.proxy);
    mw_probe_free(p);
    return MW_E_NOMEM;
  }
  for(size_t i = 0; i < p->host_count; i++) {
    struct probe_host *h = &p->hosts[i];
    struct mw_error err;
    memset(&err, 0, sizeof(err));
    if(ctx.use_proxy && !ctx.client_resolves)
      continue; /* the proxy resolves the name */
    if(ctx.use_proxy) {
      bool needed = false;
      if(!mw__proxy_resolve_target(&ctx.proxy, h->name, 25, o->dns_server,
                                   dns_deadline, &h->proxy_target, &needed,
                                   &err))
        h->proxy_target_ok = true;
      else
        host_dns_failed(p, h, &err);
      mw__error_clear(&err);
      continue;
    }
    if(mw__resolve(h->name, 25, o->family, o->dns_server, dns_deadline,
                   &h->addrs, &err))
      host_dns_failed(p, h, &err);
    mw__error_clear(&err);
  }

  char proxy_error[PROBE_MSG_LEN + 32] = "";
  if(ctx.use_proxy) {
    struct mw_error err;
    memset(&err, 0, sizeof(err));
    if(mw__resolve(ctx.proxy.host, ctx.proxy.port, o->family, o->dns_server,
                   dns_deadline, &ctx.proxy_addrs, &err))
      snprintf(proxy_error, sizeof(proxy_error), "cannot reach the proxy: %s",
               err.message);
    mw__error_clear(&err);
  }

  ctx.policy = (struct mw__tls_policy){
      .ca_file = o->ca_file,
      .fingerprint = o->fingerprint[0] ? o->fingerprint : NULL,
      .insecure = o->insecure,
      .min = o->tls_min,
      .max = o->tls_max,
      .ciphers = o->tls_ciphers,
      .cert_file = o->tls_cert_file,
      .key_file = o->tls_key_file};

  /* Every attempt starts now, with one deadline each. */
  int64_t attempts_start = mw__now_ms();
  size_t nconn = 0;
  ctx.conns = conns;
  for(size_t i = 0; i < p->host_count; i++) {
    struct probe_host *h = &p->hosts[i];
    for(size_t k = 0; k < h->port_count; k++) {
      for(int implicit = 1; implicit >= 0; implicit--) {
        struct probe_conn *c = &conns[nconn++];
        ctx.nconn = nconn;
        c->ctx = &ctx;
        c->host = h;
        c->port = h->ports[k];
        c->implicit = implicit;
        c->fd = -1;
        c->deadline = attempts_start + timeout;
        mw__reply_init(&c->reply);
        mw__capa_init(&c->capa);
        c->row = p->row_count++;
        struct probe_row *r = &p->rows[c->row];
        snprintf(r->host, sizeof(r->host), "%s", h->name);
        r->port = c->port;
        r->mode = implicit ? "implicit" : "plain";
        r->cert = "";
        if(!implicit) {
          c->starttls_row = p->row_count++;
          struct probe_row *t = &p->rows[c->starttls_row];
          snprintf(t->host, sizeof(t->host), "%s", h->name);
          t->port = c->port;
          t->mode = "starttls";
          t->cert = "";
        }
        bool resolved = ctx.use_proxy ? !ctx.client_resolves ||
                                             h->proxy_target_ok
                                       : h->addrs.count > 0;
        if(proxy_error[0]) {
          c->state = CS_CONNECT;
          conn_finish(c, "proxy", proxy_error);
          continue;
        }
        if(!resolved) {
          c->state = CS_CONNECT;
          conn_finish(c, "dns", h->dns_error[0] ? h->dns_error
                                                : "the name has no address");
          continue;
        }
        /* SNI and name checks use the host probed. */
        connect_next(c);
        if(c->state != CS_DONE && !c->want)
          conn_step(c);
      }
    }
  }
  mw_status st = run_loop(conns, nconn, timeout);
  for(size_t i = 0; i < nconn; i++) {
    mw__proxy_hs_release(&conns[i].hs);
    explicit_bzero(conns[i].out, sizeof(conns[i].out));
    conn_close(&conns[i]);
    mw__reply_free(&conns[i].reply);
    mw__capa_clear(&conns[i].capa);
    mw__error_clear(&conns[i].err);
  }
  mw__free(conns);
  mw__proxy_release(&ctx.proxy);
  mw__addrlist_free(&ctx.proxy_addrs);
  if(st) {
    mw_probe_free(p);
    return st;
  }
  relabel_mismatches(p);
  rank_rows(p);
  p->total_ms = (double)(mw__now_ms() - ctx.start);
  *out = p;
  return MW_OK;
}

void mw_probe_free(mw_probe *p)
{
  if(!p)
    return;
  for(size_t i = 0; i < p->host_count; i++)
    mw__addrlist_free(&p->hosts[i].addrs);
  mw__free(p->rows);
  mw__free(p);
}

/* -- accessors ---------------------------------------------------------- */

size_t mw_probe_host_count(const mw_probe *p) { return p ? p->host_count : 0; }

const char *mw_probe_host_name(const mw_probe *p, size_t i)
{
  return p && i < p->host_count ? p->hosts[i].name : "";
}

const char *mw_probe_host_source(const mw_probe *p, size_t i)
{
  return p && i < p->host_count ? p->hosts[i].source : "";
}

const char *mw_probe_dns_note(const mw_probe *p)
{
  return p ? p->dns_note : "";
}

bool mw_probe_dns_temporary(const mw_probe *p)
{
  return p && p->dns_temporary;
}

size_t mw_probe_count(const mw_probe *p) { return p ? p->row_count : 0; }

static const struct probe_row *row_at(const mw_probe *p, size_t i)
{
  static const struct probe_row empty = {.mode = "", .outcome = "",
                                         .cert = ""};
  return p && i < p->row_count ? &p->rows[i] : &empty;
}

const char *mw_probe_row_host(const mw_probe *p, size_t i)
{
  return row_at(p, i)->host;
}

unsigned mw_probe_row_port(const mw_probe *p, size_t i)
{
  return row_at(p, i)->port;
}

const char *mw_probe_row_mode(const mw_probe *p, size_t i)
{
  return row_at(p, i)->mode;
}

const char *mw_probe_row_outcome(const mw_probe *p, size_t i)
{
  const char *o = row_at(p, i)->outcome;
  return o ? o : "";
}

const char *mw_probe_row_detail(const mw_probe *p, size_t i)
{
  return row_at(p, i)->detail;
}

const char *mw_probe_row_address(const mw_probe *p, size_t i)
{
  return row_at(p, i)->address;
}

const char *mw_probe_row_tls_version(const mw_probe *p, size_t i)
{
  return row_at(p, i)->tls_version;
}

const char *mw_probe_row_cert(const mw_probe *p, size_t i)
{
  return row_at(p, i)->cert;
}

const char *mw_probe_row_auth(const mw_probe *p, size_t i)
{
  return row_at(p, i)->auth;
}

double mw_probe_row_ms(const mw_probe *p, size_t i)
{
  return row_at(p, i)->ms;
}

unsigned mw_probe_row_rank(const mw_probe *p, size_t i)
{
  return row_at(p, i)->rank;
}

bool mw_probe_best(const mw_probe *p, size_t *index)
{
  for(size_t i = 0; p && i < p->row_count; i++) {
    if(p->rows[i].rank == 1) {
      if(index)
        *index = i;
      return true;
    }
  }
  return false;
}

double mw_probe_total_ms(const mw_probe *p) { return p ? p->total_ms : 0; }
