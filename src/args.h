/*
 * args.h - command-line parsing for `mailwire send`, `doctor` and `probe`
 * (pure: no I/O but cli_print_help), so the unit tests can drive it with
 * any argv.
 *
 * Owns: the option table (and the help texts, "did you mean" hints and
 * `mailwire doctor ...` lines generated from it), value validation
 * (durations, TLS modes and versions, fingerprints), and the rules between
 * options (one body source, one password source, passwords never as
 * arguments).  Errors come back as one sentence naming the option.
 */
#ifndef MW_CLI_ARGS_H
#define MW_CLI_ARGS_H

#include "mailwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_MAX_LIST 1024
#define CLI_MAX_PORTS 16

/* The values of a repeatable option, in order.  items is grown as they
 * come (most runs give one or two), owned by the send_args and freed by
 * cli_args_release(); the strings are argv's or the profile's. */
struct cli_list {
  const char **items;
  size_t count, cap;
};

enum cli_command {
  CLI_SEND, CLI_DOCTOR, CLI_PROBE,
  /* Incoming mail (args_in.c has their rules and help texts). */
  CLI_FETCH, CLI_WATCH, CLI_FOLDERS, CLI_APPEND,
  CLI_SHELL, /* mailwire shell (issue 15) */
  CLI_ANY /* not a command: any option of any command (profile checks) */
};

/* Where fetched messages go: --maildir, --mbox or --mda. */
enum cli_store_kind { CLI_STORE_NONE = 0, CLI_STORE_MAILDIR, CLI_STORE_MBOX,
                      CLI_STORE_MDA };

/* The options of fetch, watch, folders and append (besides the connection,
 * TLS and authentication ones they share with send). */
struct in_args {
  int protocol;              /* -1: not given, else an mw_protocol */
  const char *mailbox;       /* --mailbox (IMAP) */
  enum cli_store_kind store; /* which of the three */
  const char *store_target;  /* its directory, file or command */
  int stores_given;          /* how many of the three (more is an error) */
  const char *state_dir;     /* --state-dir */
  const char *since;         /* --since, as given */
  char since_imap[32];       /* --since as IMAP wants it: 1-Feb-2026 */
  bool all, unseen;          /* --all, --unseen */
  int delete_mode;           /* 0 default (keep), 1 --keep, 2 --delete */
  unsigned long limit;       /* --limit N, 0: none */
  const char *exec;          /* watch --exec CMD */
  unsigned idle_interval_ms; /* watch --idle-interval (0: 28 min) */
  unsigned poll_interval_ms; /* watch --poll-interval (0: 60 s) */
  const char *flags;         /* append --flags */
  const char *file;          /* append: the message file (positional) */
  bool no_progress;          /* fetch --no-progress */
  char url_user[256];        /* the user of a server URL (decoded) */
};

struct send_args {
  const char *config, *account; /* -C/--config, --account (main.c reads
                                   them before parsing; kept if seen) */
  const char *server;
  mw_tls_mode tls_mode;
  const char *from;
  struct cli_list to, cc, bcc, headers;
  const char *subject;
  const char *body;
  const char *body_file;
  const char *message_file; /* "-" for standard input */
  bool queue;             /* --queue (issue 12): outbox on a temporary failure */
  const char *queue_dir;  /* --queue-dir */
  /* Since 0.2 (issue 12): an HTML alternative, attachments (each with the
   * --attach-type given after it, or NULL) and inline parts. */
  const char *html_file;
  struct cli_list attach, inline_files;
  struct cli_list attach_type; /* one per --attach (NULL: not given) */
  const char *user;
  const char *password_env, *password_file, *password_cmd;
  const char *password_value; /* from a profile only (never argv) */
  const char *auth;
  const char *oauth2_token_cmd;
  const char *helo;
  const char *bind;
  const char *dns_server;
  const char *proxy;
  int proxy_protocol;
  const char *domain;        /* doctor: the sender's domain */
  const char *dkim_selector; /* doctor */
  const char *dnsbl;         /* doctor: "zone1,zone2" */
  mw_family family;
  unsigned connect_timeout_ms, greeting_timeout_ms, timeout_ms; /* 0: default */
  const char *tls_ca_file;
  const char *tls_crl_file; /* --tls-crl-file (issue 14) */
  bool tls_ocsp;            /* --tls-ocsp (issue 14) */
  const char *trace_file;   /* --trace-file (issue 14): the trace there */
  const char *tls_fingerprint;
  const char *tls_server_name;
  const char *tls_cert, *tls_key; /* client certificate (SASL EXTERNAL) */
  const char *ports;              /* probe: "465,587" */
  bool incoming;                  /* probe --incoming: IMAP and POP3 */
  bool insecure;
  bool tls_strict;
  const char *tls_ciphers;
  mw_tls_version tls_min, tls_max;
  bool allow_insecure_auth;
  bool no_pipelining;
  /* SMTP extensions (issue 12): DATA instead of BDAT; DSN (RFC 3461:
   * 0 / MW_DSN_RET_DEFAULT / NULL: not asked); REQUIRETLS (RFC 8689). */
  bool no_chunking;
  unsigned dsn_notify;
  mw_dsn_ret dsn_ret;
  const char *envid;
  bool requiretls;
  bool trace;
  bool json;
  bool help;
  bool no_color;
  /* Input bounds (issue 9): 0 means the default below. */
  unsigned long long max_message_size; /* --max-message-size, bytes */
  unsigned secret_cmd_timeout_ms;      /* --secret-cmd-timeout */
  /* doctor --protocol (issue 11); cli_parse_doctor sets it from the URL's
   * scheme or the port when not given */
  bool protocol_set;
  mw_protocol protocol;
  struct in_args in; /* fetch, watch, folders, append */
  /* Bulk sending (issue 12; cmd_bulk.c): every --message in order (two or
   * more make a bulk run), --messages sources (a directory of .eml files,
   * an mbox, JSON lines), --connections (0: not given, 1) and --rate in
   * messages per second (0: none).  bulk is set by cli_parse_send. */
  struct cli_list message_files, message_sources;
  unsigned connections;
  double rate;
  bool bulk;
  /* mailwire shell (issue 15) */
  const char *shell_script;  /* --script FILE */
  const char *shell_history; /* --history FILE */
  bool shell_no_history;     /* --no-history */
};

/* The protocol a doctor run speaks: --protocol, else the URL's scheme,
 * else by the port given (110, 995 POP3; 143, 993 IMAP; else SMTP). */
mw_protocol cli_protocol_of(const struct send_args *a);

/* The largest message read from standard input, a pipe or a device
 * (--message) or from --body-file, unless --max-message-size says
 * otherwise: 25 MiB. */
#define CLI_DEFAULT_MAX_MESSAGE_SIZE (25ULL * 1024 * 1024)
/* How long --password-cmd and --oauth2-token-cmd may run. */
#define CLI_DEFAULT_SECRET_CMD_TIMEOUT_MS 30000u

/* Bulk sending: the most --connections. */
#define CLI_MAX_CONNECTIONS 32

/* "10/s", "600/m", "3600/h", "0.5/s" (a plain number is per second): a
 * positive rate, at most 1000 messages a second, in *per_second.  Returns
 * false when invalid. */
bool cli_parse_rate(const char *text, double *per_second);

/* "1048576", "512K", "25M", "1G" (K, M, G: powers of 1024; case does not
 * matter).  Returns false when invalid or out of range (1 byte to 1 TiB). */
bool cli_parse_size(const char *text, unsigned long long *bytes);

/* Every cli_parse_* starts with cli_args_release(out), so out must be
 * zeroed or hold an earlier parse (whose lists are freed then).
 * cli_args_release() frees the lists' arrays (not the strings) and leaves
 * *out zeroed; cli_args_free() releases and frees a heap send_args (NULL
 * is fine). */
void cli_args_release(struct send_args *a);
void cli_args_free(struct send_args *a);

/* Parses argv[0..argc) (the words after "send").  Returns 0, or -1 with a
 * message in err. */
int cli_parse_send(int argc, char **argv, struct send_args *out, char *err,
                   size_t errlen);

/* Parses `mailwire doctor` words: the target HOST[:PORT] as the first
 * positional word (stored in out->server), the connection, TLS and
 * authentication options of send, --from/--to (both or neither), --json,
 * --no-color, and the deliverability options --domain, --dkim-selector,
 * --dnsbl.  Returns 0, or -1 with a message in err. */
int cli_parse_doctor(int argc, char **argv, struct send_args *out, char *err,
                     size_t errlen);

/* Parses `mailwire probe` words: the target (host, domain or address) as
 * the first positional word (in out->server; default_target, a profile's
 * host, when none), --ports and the connection and TLS options.  Returns
 * 0, or -1 with a message in err. */
int cli_parse_probe(int argc, char **argv, const char *default_target,
                    struct send_args *out, char *err, size_t errlen);

/* Parses the words of fetch, watch, folders or append (cmd): options,
 * and for append the message FILE as the one positional word; then the
 * rules between them (args_in.c).  Returns 0, or -1 with a message in
 * err. */
int cli_parse_incoming(enum cli_command cmd, int argc, char **argv,
                       struct send_args *out, char *err, size_t errlen);
/* Parses `mailwire shell` words: the server (URL or HOST[:PORT]) as the
 * first positional word, the connection, TLS and authentication options,
 * --protocol, --helo, --trace, --no-color, --script, --history and
 * --no-history; the protocol is decided as doctor decides it (--protocol,
 * the URL's scheme, the port).  Returns 0, or -1 with a message in err. */
int cli_parse_shell(int argc, char **argv, struct send_args *out, char *err,
                    size_t errlen);
/* Whether word (an option name, "--x=v" allowed) is an option cmd takes;
 * *has_value tells whether it takes a value (when known at all). */
bool cli_option_takes(enum cli_command cmd, const char *word,
                      bool *has_value);

/* "465,587,25": 1 to CLI_MAX_PORTS ports of 1-65535
 * (mw_probe_ports_parse()). */
bool cli_ports_valid(const char *list);

/* Checks option words (as a profile produces them) on their own: 0, or -1
 * with the reason in err. */
int cli_check_words(int argc, char **argv, char *err, size_t errlen);

/* "30" or "1.5" (seconds), "30s", "1.5s", "500ms", "2m", "2h": a decimal
 * number and an optional unit, rounded to the millisecond.  Returns false
 * when invalid or out of range (1 ms to 24 h). */
bool cli_parse_duration(const char *text, unsigned *ms);
/* The same, returning NULL, or why text is not a duration ("is negative",
 * "has an unknown unit (use ms, s, m or h)", ...; static storage). */
const char *cli_duration_error(const char *text, unsigned *ms);

/* The help of a command, generated from the option table: written into
 * buf (NUL-terminated, truncated to len); returns the length needed. */
size_t cli_help(enum cli_command cmd, char *buf, size_t len);
void cli_print_help(FILE *f, enum cli_command cmd);

/* The option table, for tests: entry i (false past the end). */
struct cli_option_info {
  const char *name;  /* "--header" */
  const char *alias; /* "-H", or NULL */
  bool takes_value;
  bool hidden;       /* accepted but never listed (--password: refused
                        with a reason; --password-value: profiles only) */
  unsigned commands; /* bit (1u << CLI_SEND) etc. */
};
size_t cli_option_count(void);
bool cli_option_get(size_t i, struct cli_option_info *out);

/* The option of cmd nearest to word[0..len) (a typo: small edit distance,
 * or a unique prefix), or NULL.  Static storage. */
const char *cli_suggest_option(enum cli_command cmd, const char *word,
                               size_t len);

/* Whether the words hold --json as an option (not as another option's
 * value): usage errors are then printed as JSON too. */
bool cli_wants_json(int argc, char **argv);

/* The `mailwire doctor` command line that diagnoses a failed send: the
 * target host:port (IPv6 bracketed), --tls MODE when tls_mode is not
 * NULL, then the connection, TLS, authentication and profile options of
 * argv (the send command line as typed: -C and --account included), shell
 * quoted.  Secrets never appear: a proxy's user:password becomes
 * USER:PASSWORD and a --password-cmd/--oauth2-token-cmd command CMD
 * (passwords never are options).  Written into buf (NUL-terminated,
 * truncated); returns the length needed. */
size_t cli_doctor_line(int argc, char **argv, const char *host,
                       unsigned port, const char *tls_mode, char *buf,
                       size_t len);

#endif
