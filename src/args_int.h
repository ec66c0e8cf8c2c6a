/*
 * args_int.h - what args.c (the option table, the parser) shares with
 * args_help.c (the help texts generated from the table): the table's
 * types, the table itself, which command takes which option, and the
 * small string builder both use.  Private to src/args*.c.
 */
#ifndef MW_CLI_ARGS_INT_H
#define MW_CLI_ARGS_INT_H

#include "args.h"

enum opt_id {
  O_SERVER, O_TLS, O_FROM, O_TO, O_CC, O_BCC, O_SUBJECT, O_BODY,
  O_BODY_FILE, O_MESSAGE, O_USER, O_PASSWORD, O_PASSWORD_ENV,
  O_PASSWORD_FILE, O_PASSWORD_CMD, O_AUTH, O_OAUTH2_CMD, O_HELO, O_BIND,
  O_IPV4, O_IPV6, O_CONNECT_TIMEOUT, O_GREETING_TIMEOUT, O_TIMEOUT,
  O_CA_FILE, O_FINGERPRINT, O_SERVER_NAME, O_INSECURE, O_TLS_MIN, O_TLS_MAX,
  O_ALLOW_INSECURE_AUTH, O_NO_PIPELINING, O_TRACE, O_JSON, O_HEADER, O_HELP,
  O_NO_COLOR, O_DNS_SERVER, O_PROXY, O_TLS_STRICT, O_TLS_CIPHERS,
  O_PROXY_PROTOCOL, O_PASSWORD_VALUE, O_DOMAIN, O_DKIM_SELECTOR, O_DNSBL,
  O_TLS_CERT, O_TLS_KEY, O_PORTS, O_CONFIG, O_ACCOUNT, O_MAX_MESSAGE_SIZE,
  O_SECRET_CMD_TIMEOUT, O_PROTOCOL, O_QUEUE, O_QUEUE_DIR,
  /* incoming mail (fetch, watch, folders, append) */
  O_MAILBOX, O_MAILDIR, O_MBOX, O_MDA, O_STATE_DIR, O_ALL, O_UNSEEN,
  O_SINCE, O_KEEP, O_DELETE, O_LIMIT, O_EXEC, O_IDLE_INTERVAL,
  O_POLL_INTERVAL, O_FLAGS, O_NO_PROGRESS,
  /* composition (send) */
  O_HTML, O_ATTACH, O_ATTACH_TYPE, O_INLINE,
  /* SMTP extensions (issue 12) */
  O_NO_CHUNKING, O_DSN_NOTIFY, O_DSN_RET, O_ENVID, O_REQUIRETLS,
  /* probe of incoming servers */
  O_INCOMING,
  /* bulk sending (send, cmd_bulk.c) */
  O_MESSAGES, O_CONNECTIONS, O_RATE,
  /* mailwire shell */
  O_SCRIPT, O_HISTORY, O_NO_HISTORY,
  /* revocation and the trace file (issue 14) */
  O_TLS_CRL_FILE, O_TRACE_FILE, O_TLS_OCSP
};

/* Which commands take an option (bits of 1 << enum cli_command). */
#define SEND (1u << CLI_SEND)
#define DOCTOR (1u << CLI_DOCTOR)
#define PROBE (1u << CLI_PROBE)
#define SD (SEND | DOCTOR)
#define ALL (SEND | DOCTOR | PROBE)
#define FETCH (1u << CLI_FETCH)
#define WATCH (1u << CLI_WATCH)
#define FOLDERS (1u << CLI_FOLDERS)
#define APPEND (1u << CLI_APPEND)
#define FW (FETCH | WATCH)
/* The incoming commands also take the connection, TLS, authentication and
 * output options doctor takes (see takes()). */
#define INCOMING (FETCH | WATCH | FOLDERS | APPEND)
/* mailwire shell: also the connection, TLS, authentication and output
 * options of doctor, --helo included (see cli_takes()). */
#define SHELL (1u << CLI_SHELL)

/* Help groups, printed in this order; G_HIDDEN is never printed. */
enum opt_group {
  G_PROFILE, G_CONN, G_PROBE, G_TLS, G_AUTH, G_MESSAGE, G_DOCTOR,
  G_INCOMING, G_SHELL, G_OUTPUT, G_HIDDEN
};


struct opt_def {
  const char *name;  /* "--server" */
  const char *alias; /* another spelling ("-H"), or NULL */
  const char *arg;   /* the value's name in the help; NULL: takes none */
  enum opt_id id;
  unsigned cmds;     /* SEND, DOCTOR, PROBE */
  enum opt_group group;
  const char *help;  /* one sentence; cli_help() wraps it */
};

/* The options, in help order within each group (args.c). */
extern const struct opt_def cli_opt_table[];
extern const size_t cli_opt_table_len;

/* Whether command c takes option d (args.c). */
bool cli_takes(const struct opt_def *d, enum cli_command c);

/* A bounded string builder (args_help.c): used may pass len, the length
 * needed; buf stays NUL-terminated. */
struct sbuf {
  char *buf;
  size_t len, used;
};
void cli_sb_add(struct sbuf *b, const char *s, size_t n);
void cli_sb_str(struct sbuf *b, const char *s);

#endif
