/*
 * args.c - option parsing for `mailwire send`, `doctor` and `probe`.
 *
 * DESCRIPTION
 *   One table (cli_opt_table[] below) says, for every option, its name
 *   and other spelling, the name of its value, which commands take it,
 *   its group and its one-line help.  The parser, the help texts
 *   (cli_help), the "did you mean" hints and the `mailwire doctor ...` line printed after
 *   a failed send are all derived from it, so the help cannot forget an
 *   option the parser takes, nor list one it refuses (tests/unit/
 *   test_args.c checks both ways).  Adding an option is one line in
 *   cli_opt_table[], an enum value (args_int.h), and its case in apply().
 *   The help texts are generated in args_help.c; durations and sizes are
 *   read in args_values.c.
 */
#include "args.h"
#include "args_in.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args_int.h"

/* The options, in help order within each group.  One line each. */
const struct opt_def cli_opt_table[] = {
    /* main.c reads these two before the rest (the profile comes first). */
    {"--config", "-C", "FILE", O_CONFIG, ALL, G_PROFILE, "read account profiles from FILE (msmtprc syntax; default $MAILWIRE_CONFIG, else $XDG_CONFIG_HOME/mailwire/config)"},
    {"--account", NULL, "NAME", O_ACCOUNT, ALL, G_PROFILE, "use this account of the profile file (default: its default account); options given here override it"},
    {"--server", NULL, "HOST[:PORT]", O_SERVER, SD, G_CONN, "server (port default 587, or 465 with --tls implicit); [v6addr]:port for IPv6"},
    {"--protocol", NULL, "NAME", O_PROTOCOL, DOCTOR | FW | PROBE, G_CONN, "smtp, pop3 or imap (default: the URL's scheme, else by port: 110 and 995 POP3, 143 and 993 IMAP, any other SMTP)"},
    {"--tls", NULL, "MODE", O_TLS, SD, G_CONN, "auto (default: 465 implicit, other ports STARTTLS required), implicit, starttls, starttls-optional, none, or detect (probe the ports first: see mailwire probe)"},
    {"--bind", NULL, "ADDR", O_BIND, ALL, G_CONN, "local address to connect from"},
    {"-4", NULL, NULL, O_IPV4, ALL, G_CONN, "IPv4 only"},
    {"-6", NULL, NULL, O_IPV6, ALL, G_CONN, "IPv6 only"},
    {"--dns-server", NULL, "IP[:PORT]", O_DNS_SERVER, ALL, G_CONN, "ask this DNS server only"},
    {"--proxy", NULL, "URL", O_PROXY, ALL, G_CONN, "connect through a proxy: socks4://, socks4a://, socks5://, socks5h:// or http:// (CONNECT), [user:pass@]host:port"},
    {"--proxy-protocol", NULL, "v1|v2", O_PROXY_PROTOCOL, SD, G_CONN, "send a HAProxy PROXY header first"},
    {"--connect-timeout", NULL, "DUR", O_CONNECT_TIMEOUT, ALL, G_CONN, "per address attempt (default 15s)"},
    {"--greeting-timeout", NULL, "DUR", O_GREETING_TIMEOUT, ALL, G_CONN, "wait for the 220 greeting (default 10s)"},
    {"--timeout", NULL, "DUR", O_TIMEOUT, ALL, G_CONN, "every other reply (default: the RFC 5321 values); DUR is a number of seconds or a number with a unit ms, s, m or h: 30, 1.5s, 500ms, 2m, 1h (1ms to 24h)"},
    {"--helo", NULL, "NAME", O_HELO, ALL, G_CONN, "name for EHLO (default: host name or [address])"},
    {"--ports", NULL, "LIST", O_PORTS, PROBE, G_PROBE, "ports to try, e.g. 465,587 (default 465,587,25,2525)"},
    {"--incoming", NULL, NULL, O_INCOMING, PROBE, G_PROBE, "probe the incoming servers, IMAP and POP3, instead of SMTP (RFC 6186 SRV records, then the usual names imap., pop., mail.; ports 993,143 and 995,110)"},
    {"--tls-ca-file", NULL, "FILE", O_CA_FILE, ALL, G_TLS, "trust only the CAs in FILE"},
    {"--tls-crl-file", NULL, "FILE", O_TLS_CRL_FILE, SD, G_TLS, "refuse a server certificate revoked by a CRL in FILE (PEM; checking is off without it)"},
    {"--tls-ocsp", NULL, NULL, O_TLS_OCSP, SD, G_TLS, "ask for the server's stapled OCSP response and refuse a revoked certificate (a server stapling none is accepted)"},
    {"--tls-fingerprint", NULL, "SHA256", O_FINGERPRINT, ALL, G_TLS, "accept exactly this certificate (pin)"},
    {"--tls-server-name", NULL, "NAME", O_SERVER_NAME, ALL, G_TLS, "name to verify and send as SNI"},
    {"--tls-min", NULL, "VER", O_TLS_MIN, ALL, G_TLS, "lowest TLS version: 1.2 (default) or 1.3"},
    {"--tls-max", NULL, "VER", O_TLS_MAX, ALL, G_TLS, "highest TLS version: 1.2 or 1.3"},
    {"--tls-strict", NULL, NULL, O_TLS_STRICT, SD, G_TLS, "fail when --tls-min is not available (else retry once with TLS 1.2, loudly)"},
    {"--tls-ciphers", NULL, "LIST", O_TLS_CIPHERS, ALL, G_TLS, "OpenSSL ciphers (TLS 1.2) / TLS_* suites (TLS 1.3)"},
    {"--tls-cert", NULL, "FILE", O_TLS_CERT, ALL, G_TLS, "client certificate (PEM), for servers that ask and for SASL EXTERNAL"},
    {"--tls-key", NULL, "FILE", O_TLS_KEY, ALL, G_TLS, "its private key (default: in the --tls-cert file)"},
    {"--insecure", NULL, NULL, O_INSECURE, ALL, G_TLS, "do NOT verify the certificate (dangerous)"},
    {"--user", NULL, "NAME", O_USER, SD, G_AUTH, "user name for AUTH"},
    {"--password-env", NULL, "VAR", O_PASSWORD_ENV, SD, G_AUTH, "read the password from environment variable VAR"},
    {"--password-file", NULL, "FILE", O_PASSWORD_FILE, SD, G_AUTH, "read it from the first line of FILE"},
    {"--password-cmd", NULL, "CMD", O_PASSWORD_CMD, SD, G_AUTH, "read it from the output of CMD (sh -c)"},
    {"--oauth2-token-cmd", NULL, "CMD", O_OAUTH2_CMD, SD, G_AUTH, "OAuth 2.0 token for XOAUTH2/OAUTHBEARER, from the output of CMD"},
    {"--secret-cmd-timeout", NULL, "DUR", O_SECRET_CMD_TIMEOUT, SD, G_AUTH, "how long --password-cmd and --oauth2-token-cmd may run (default 30s; then their process group is killed)"},
    {"--auth", NULL, "MECHS", O_AUTH, SD, G_AUTH, "allowed mechanisms, e.g. SCRAM-SHA-256,PLAIN (default: the strongest both sides support)"},
    {"--allow-insecure-auth", NULL, NULL, O_ALLOW_INSECURE_AUTH, SD, G_AUTH, "allow credentials over an unencrypted connection"},
    /* Refused with a reason (a password in argv is visible to all). */
    {"--password", NULL, "PASSWORD", O_PASSWORD, SD, G_HIDDEN, NULL},
    /* Only ever produced from a profile (main.c refuses it in argv). */
    {"--password-value", NULL, "PASSWORD", O_PASSWORD_VALUE, SD, G_HIDDEN, NULL},
    {"--from", NULL, "ADDR", O_FROM, SD, G_MESSAGE, "envelope sender and From header"},
    {"--to", NULL, "ADDR", O_TO, SD, G_MESSAGE, "recipient (repeatable)"},
    {"--cc", NULL, "ADDR", O_CC, SEND, G_MESSAGE, "recipient shown in Cc (repeatable)"},
    {"--bcc", NULL, "ADDR", O_BCC, SEND, G_MESSAGE, "recipient in the envelope only (repeatable)"},
    {"--subject", NULL, "TEXT", O_SUBJECT, SEND, G_MESSAGE, "the Subject header"},
    {"--body", NULL, "TEXT", O_BODY, SEND, G_MESSAGE, "the body text"},
    {"--body-file", NULL, "FILE", O_BODY_FILE, SEND, G_MESSAGE, "the body, read from FILE (- for standard input)"},
    {"--html", NULL, "FILE", O_HTML, SEND, G_MESSAGE, "an HTML version of the body, read from FILE (multipart/alternative with the text)"},
    {"--attach", NULL, "FILE", O_ATTACH, SEND, G_MESSAGE, "attach FILE (repeatable; its type guessed from the name and content; streamed, not loaded)"},
    {"--attach-type", NULL, "TYPE", O_ATTACH_TYPE, SEND, G_MESSAGE, "the content type of the --attach before it, e.g. application/pdf"},
    {"--inline", NULL, "FILE", O_INLINE, SEND, G_MESSAGE, "an image for the HTML, which shows it as <img src=\"cid:NAME\"> where NAME is the file's name (repeatable)"},
    {"--header", "-H", "'Name: value'", O_HEADER, SEND, G_MESSAGE, "extra header (repeatable)"},
    {"--message", NULL, "FILE|-", O_MESSAGE, SEND, G_MESSAGE, "send a complete RFC 5322 message as is (- for standard input)"},
    {"--messages", NULL, "DIR|MBOX|JSONL", O_MESSAGES, SEND, G_MESSAGE, "bulk: send every message of a directory (its *.eml files, by name), an mbox, or a JSON lines file ({\"from\":..,\"to\":[..],\"file\":..} a line); repeatable, and with repeated --message; one result line per message (see BULK below)"},
    {"--connections", NULL, "N", O_CONNECTIONS, SEND, G_MESSAGE, "bulk: send over N connections at once (1-32, default 1), each message over exactly one"},
    {"--rate", NULL, "N/s", O_RATE, SEND, G_MESSAGE, "bulk: start at most N messages a second over all connections (also N/m, N/h), for providers that throttle"},
    {"--max-message-size", NULL, "SIZE", O_MAX_MESSAGE_SIZE, SEND, G_MESSAGE, "the most read from standard input, a pipe or a device, or --body-file (default 25M; K, M, G: powers of 1024; at most 1T)"},
    {"--no-pipelining", NULL, NULL, O_NO_PIPELINING, SEND, G_MESSAGE, "one command per round trip"},
    {"--no-chunking", NULL, NULL, O_NO_CHUNKING, SEND, G_MESSAGE, "send with DATA even when the server offers CHUNKING (default: BDAT chunks, RFC 3030)"},
    {"--dsn-notify", NULL, "LIST", O_DSN_NOTIFY, SEND, G_MESSAGE, "ask for delivery status notifications (RFC 3461): never, or success,failure,delay; needs the server's DSN (else exit 80, nothing sent)"},
    {"--dsn-ret", NULL, "full|hdrs", O_DSN_RET, SEND, G_MESSAGE, "what a failure report returns: the full message or its headers (DSN)"},
    {"--envid", NULL, "ID", O_ENVID, SEND, G_MESSAGE, "an envelope id the reports quote (DSN; printable ASCII, at most 100 characters encoded)"},
    {"--requiretls", NULL, NULL, O_REQUIRETLS, SEND, G_MESSAGE, "REQUIRETLS (RFC 8689): every hop must relay the message over verified TLS, else return it; refused (exit 80) without verified TLS or when the server does not offer it"},
    {"--queue", NULL, NULL, O_QUEUE, SEND, G_MESSAGE, "when the message cannot be delivered now (4xx, network down, timeout), keep it in the outbox for `mailwire queue run` and exit 0 (see mailwire help queue)"},
    {"--queue-dir", NULL, "DIR", O_QUEUE_DIR, SEND, G_MESSAGE, "the outbox (default $XDG_STATE_HOME/mailwire/queue, else ~/.local/state/mailwire/queue)"},
    {"--domain", NULL, "DOMAIN", O_DOMAIN, DOCTOR, G_DOCTOR, "the sender's domain (default: that of --from), for its SPF, DMARC, MTA-STS and TLS-RPT"},
    {"--dkim-selector", NULL, "NAME", O_DKIM_SELECTOR, DOCTOR, G_DOCTOR, "also check the DKIM key NAME._domainkey.DOMAIN"},
    {"--dnsbl", NULL, "ZONE[,ZONE...]", O_DNSBL, DOCTOR, G_DOCTOR, "look the server's IPv4 address up in these DNS blocklists (none by default: no query is sent)"},
    {"--mailbox", NULL, "NAME", O_MAILBOX, FW | APPEND, G_INCOMING, "the IMAP mailbox (default INBOX, or the URL's path)"},
    {"--maildir", NULL, "DIR", O_MAILDIR, FW, G_INCOMING, "store each message in this Maildir (tmp/, fsync, rename into new/)"},
    {"--mbox", NULL, "FILE", O_MBOX, FW, G_INCOMING, "append each message to this mbox (mboxrd quoting)"},
    {"--mda", NULL, "CMD", O_MDA, FW, G_INCOMING, "run CMD (sh -c) per message, the message on its standard input; exit 0 means stored"},
    {"--state-dir", NULL, "DIR", O_STATE_DIR, FW, G_INCOMING, "where the account's fetch state lives (default $XDG_STATE_HOME/mailwire, else ~/.local/state/mailwire)"},
    {"--all", NULL, NULL, O_ALL, FETCH, G_INCOMING, "every message of the mailbox, also those fetched before (IMAP; POP3: all the server holds)"},
    {"--unseen", NULL, NULL, O_UNSEEN, FETCH, G_INCOMING, "only messages without the \\Seen flag (IMAP)"},
    {"--since", NULL, "DATE", O_SINCE, FETCH, G_INCOMING, "only messages that arrived on or after DATE, YYYY-MM-DD (IMAP)"},
    {"--keep", NULL, NULL, O_KEEP, FW, G_INCOMING, "leave the messages on the server (default)"},
    {"--delete", NULL, NULL, O_DELETE, FW, G_INCOMING, "delete each message from the server once it is stored durably and recorded"},
    {"--limit", NULL, "N", O_LIMIT, FETCH, G_INCOMING, "fetch at most N messages this run"},
    {"--no-progress", NULL, NULL, O_NO_PROGRESS, FETCH, G_INCOMING, "no progress bar (it is shown only when stderr is a terminal)"},
    {"--exec", NULL, "CMD", O_EXEC, WATCH, G_INCOMING, "run CMD (sh -c) for each new message, the message on its standard input"},
    {"--idle-interval", NULL, "DUR", O_IDLE_INTERVAL, WATCH, G_INCOMING, "re-issue IDLE after DUR (default 28m, under RFC 2177's 29 minutes)"},
    {"--poll-interval", NULL, "DUR", O_POLL_INTERVAL, WATCH, G_INCOMING, "when the server has no IDLE (or for POP3): poll every DUR (default 60s)"},
    {"--flags", NULL, "FLAGS", O_FLAGS, APPEND, G_INCOMING, "flags of the appended message, e.g. '\\Seen \\Flagged'"},
    {"--script", NULL, "FILE", O_SCRIPT, SHELL, G_SHELL, "read the commands from FILE instead of the terminal (- for standard input); lines '.expect CODE' check the last reply"},
    {"--history", NULL, "FILE", O_HISTORY, SHELL, G_SHELL, "the line editor's history file (default: one per server under $XDG_STATE_HOME/mailwire/shell, mode 0600)"},
    {"--no-history", NULL, NULL, O_NO_HISTORY, SHELL, G_SHELL, "keep no history file"},
    {"--json", NULL, NULL, O_JSON, ALL, G_OUTPUT, "print the result as JSON on stdout (schema in README.md); errors too"},
    {"--trace", NULL, NULL, O_TRACE, ALL, G_OUTPUT, "print the SMTP dialogue to stderr (secrets redacted)"},
    {"--trace-file", NULL, "FILE", O_TRACE_FILE, ALL, G_OUTPUT, "append that dialogue to FILE instead (created mode 0600; secrets redacted as with --trace)"},
    {"--no-color", NULL, NULL, O_NO_COLOR, ALL, G_OUTPUT, "no colour even on a terminal (also NO_COLOR=1)"},
    {"--help", "-h", NULL, O_HELP, ALL, G_OUTPUT, "show this help"},
};

const size_t cli_opt_table_len =
    sizeof(cli_opt_table) / sizeof(cli_opt_table[0]);
#define N_OPTS cli_opt_table_len

/* Whether command c takes option d: its bit in the table, or for the
 * incoming commands also the connection, TLS, authentication and output
 * options of doctor (not --helo: no EHLO there).  CLI_ANY takes all. */
bool cli_takes(const struct opt_def *d, enum cli_command c)
{
  if(c == CLI_ANY || (d->cmds & (1u << c)))
    return true;
  if(c == CLI_SHELL)
    return (d->cmds & DOCTOR) && d->id != O_JSON &&
           (d->group == G_PROFILE || d->group == G_CONN ||
            d->group == G_TLS || d->group == G_AUTH ||
            d->group == G_OUTPUT || d->group == G_HIDDEN);
  if(!((1u << c) & INCOMING) || !(d->cmds & DOCTOR) || d->id == O_HELO)
    return false;
  return d->group == G_PROFILE || d->group == G_CONN || d->group == G_TLS ||
         d->group == G_AUTH || d->group == G_OUTPUT || d->group == G_HIDDEN;
}

static const struct opt_def *find_option(const char *arg, size_t nlen)
{
  for(size_t k = 0; k < N_OPTS; k++) {
    const char *names[2] = {cli_opt_table[k].name, cli_opt_table[k].alias};
    for(int j = 0; j < 2; j++)
      if(names[j] && strlen(names[j]) == nlen &&
         strncmp(names[j], arg, nlen) == 0)
        return &cli_opt_table[k];
  }
  return NULL;
}

/* ---- "did you mean" ---------------------------------------------------- */

/* Edit distance of a[0..an) and b, capped at 99: insertions, deletions,
 * substitutions and swaps of two neighbours ("prots" is 1 from "ports")
 * count one each (optimal string alignment). */
static size_t edit_distance(const char *a, size_t an, const char *b)
{
  size_t bn = strlen(b);
  if(an > 64 || bn > 64)
    return 99;
  size_t prev2[65], prev[65], row[65];
  for(size_t j = 0; j <= bn; j++)
    prev[j] = j;
  for(size_t i = 1; i <= an; i++) {
    row[0] = i;
    for(size_t j = 1; j <= bn; j++) {
      size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
      if(row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      if(prev[j] + 1 < best)
        best = prev[j] + 1;
      if(i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
         prev2[j - 2] + 1 < best)
        best = prev2[j - 2] + 1;
      row[j] = best;
    }
    memcpy(prev2, prev, sizeof(prev));
    memcpy(prev, row, sizeof(row));
  }
  return prev[bn];
}

const char *cli_suggest_option(enum cli_command cmd, const char *word,
                               size_t len)
{
  const char *best = NULL, *prefix_of = NULL;
  size_t best_d = 99, prefixes = 0;
  for(size_t k = 0; k < N_OPTS; k++) {
    const struct opt_def *d = &cli_opt_table[k];
    if(d->group == G_HIDDEN || !cli_takes(d, cmd))
      continue;
    size_t dist = edit_distance(word, len, d->name);
    if(dist < best_d) {
      best_d = dist;
      best = d->name;
    }
    if(len >= 4 && strlen(d->name) > len &&
       strncmp(d->name, word, len) == 0) {
      prefixes++;
      prefix_of = d->name;
    }
  }
  /* The start of exactly one option's name, or close enough to be a
   * typo: at most a third of the word's letters (and 3) changed. */
  if(prefixes == 1)
    return prefix_of;
  size_t limit = len / 3 > 3 ? 3 : len / 3;
  if(best && best_d && best_d <= limit)
    return best;
  return NULL;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static int add_list(struct cli_list *l, const char *value, const char *name,
                    char *err, size_t errlen)
{
  if(l->count == CLI_MAX_LIST)
    return fail(err, errlen, "too many %s values (at most %d)", name,
                CLI_MAX_LIST);
  if(l->count == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 4;
    const char **n = realloc(l->items, ncap * sizeof(*n));
    if(!n)
      return fail(err, errlen, "out of memory");
    l->items = n;
    l->cap = ncap;
  }
  l->items[l->count++] = value;
  return 0;
}

static void list_release(struct cli_list *l)
{
  free(l->items);
  memset(l, 0, sizeof(*l));
}

void cli_args_release(struct send_args *a)
{
  if(!a)
    return;
  struct cli_list *lists[] = {&a->to, &a->cc, &a->bcc, &a->headers,
                              &a->attach, &a->inline_files, &a->attach_type,
                              &a->message_files, &a->message_sources};
  for(size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
    list_release(lists[i]);
  memset(a, 0, sizeof(*a));
}

void cli_args_free(struct send_args *a)
{
  cli_args_release(a);
  free(a);
}

static int set_duration(const char *name, const char *value, unsigned *out,
                        char *err, size_t errlen)
{
  const char *why = cli_duration_error(value, out);
  if(why)
    return fail(err, errlen,
                "%s: '%s' %s: give seconds (30, 1.5) or a number with a "
                "unit ms, s, m or h (500ms, 2m, 1h), from 1ms to 24h",
                name, value, why);
  return 0;
}

static int set_version(const char *name, const char *value,
                       mw_tls_version *out, char *err, size_t errlen)
{
  if(mw_tls_version_parse(value, out) != MW_OK)
    return fail(err, errlen, "%s: '%s' is not a TLS version (1.2 or 1.3)",
                name, value);
  return 0;
}

/* An address option takes one mailbox: a list, a group or two addresses
 * is a usage error (the headers would show more than the envelope
 * carries).  Other defects of an address are the message's (exit 65,
 * reported when the envelope is built). */
static int one_mailbox(const char *name, const char *v, char *err,
                       size_t errlen)
{
  const char *why = NULL;
  if(mw_mailbox_check(v, NULL, 0, &why) != MW_MAILBOX_SEVERAL)
    return 0;
  bool from = strcmp(name, "--from") == 0;
  return fail(err, errlen, "%s takes one address, and '%.200s' %s: %s", name,
              v, why,
              from ? "give the one sender (recipients go in --to, --cc or "
                     "--bcc)"
                   : "repeat the option for each recipient");
}

static int apply(const struct opt_def *d, const char *v, struct send_args *a,
                 char *err, size_t errlen)
{
  switch(d->id) {
  case O_SERVER: a->server = v; break;
  case O_PROTOCOL:
    if(strcasecmp(v, "smtp") == 0)
      a->protocol = MW_PROTOCOL_SMTP;
    else if(strcasecmp(v, "pop3") == 0 || strcasecmp(v, "pop") == 0)
      a->protocol = MW_PROTOCOL_POP3;
    else if(strcasecmp(v, "imap") == 0)
      a->protocol = MW_PROTOCOL_IMAP;
    else
      return fail(err, errlen,
                  "--protocol: '%s' is not smtp, pop3 or imap", v);
    a->protocol_set = true;
    a->in.protocol = (int)a->protocol; /* fetch, watch */
    break;
  case O_TLS:
    if(mw_tls_mode_parse(v, &a->tls_mode) != MW_OK)
      return fail(err, errlen,
                  "--tls: '%s' is not a TLS mode (auto, implicit, starttls, "
                  "starttls-optional, none, detect)",
                  v);
    break;
  case O_FROM:
    if(one_mailbox(d->name, v, err, errlen))
      return -1;
    a->from = v;
    break;
  case O_TO:
  case O_CC:
  case O_BCC:
    if(one_mailbox(d->name, v, err, errlen))
      return -1;
    return add_list(d->id == O_TO ? &a->to : d->id == O_CC ? &a->cc : &a->bcc,
                    v, d->name, err, errlen);
  case O_HEADER: return add_list(&a->headers, v, "--header", err, errlen);
  case O_SUBJECT: a->subject = v; break;
  case O_BODY: a->body = v; break;
  case O_BODY_FILE: a->body_file = v; break;
  case O_MESSAGE:
    if(!a->message_file)
      a->message_file = v;
    return add_list(&a->message_files, v, d->name, err, errlen);
  case O_MESSAGES:
    return add_list(&a->message_sources, v, d->name, err, errlen);
  case O_CONNECTIONS: {
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if(!*v || *end || *v == '-' || n < 1 || n > CLI_MAX_CONNECTIONS)
      return fail(err, errlen, "--connections: '%s' is not a number from 1 "
                               "to %d", v, CLI_MAX_CONNECTIONS);
    a->connections = (unsigned)n;
    break;
  }
  case O_RATE:
    if(!cli_parse_rate(v, &a->rate))
      return fail(err, errlen, "--rate: '%s' is not a rate: N/s, N/m or N/h "
                               "(N a positive number, at most 1000/s), e.g. "
                               "10/s", v);
    break;
  case O_HTML: a->html_file = v; break;
  case O_ATTACH:
    /* attach_type runs beside attach: NULL until --attach-type says. */
    if(add_list(&a->attach, v, d->name, err, errlen) ||
       add_list(&a->attach_type, NULL, d->name, err, errlen))
      return -1;
    break;
  case O_INLINE: return add_list(&a->inline_files, v, d->name, err, errlen);
  case O_ATTACH_TYPE:
    if(!a->attach.count)
      return fail(err, errlen, "--attach-type sets the type of the --attach "
                               "before it: give --attach FILE first");
    if(!strchr(v, '/') || strpbrk(v, " \t\r\n;"))
      return fail(err, errlen, "--attach-type: '%s' is not a MIME type "
                               "(type/subtype, e.g. application/pdf)", v);
    a->attach_type.items[a->attach.count - 1] = v;
    break;
  case O_USER: a->user = v; break;
  case O_PASSWORD:
    return fail(err, errlen,
                "--password is not accepted: a password on the command line "
                "is visible to every user (ps, shell history). Use "
                "--password-env VAR, --password-file FILE or --password-cmd "
                "CMD");
  case O_PASSWORD_ENV: a->password_env = v; break;
  case O_PASSWORD_FILE: a->password_file = v; break;
  case O_PASSWORD_CMD: a->password_cmd = v; break;
  case O_PASSWORD_VALUE: a->password_value = v; break;
  case O_AUTH: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_auth_mechanisms(probe, v)
                         : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen,
                  "--auth: '%s' is not a list of supported mechanisms (%s)",
                  v, mw_auth_supported_mechanisms());
    a->auth = v;
    break;
  }
  case O_OAUTH2_CMD: a->oauth2_token_cmd = v; break;
  case O_HELO:
    if(!*v || strpbrk(v, " \t\r\n"))
      return fail(err, errlen, "--helo: '%s' is not a host name", v);
    a->helo = v;
    break;
  case O_BIND: a->bind = v; break;
  case O_PROXY: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_proxy(probe, v) : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen,
                  "--proxy: not a proxy URL (socks4://, socks4a://, "
                  "socks5://[user:pass@]host:port, socks5h://, "
                  "http://[user:pass@]host:port)");
    a->proxy = v;
    break;
  }
  case O_DNS_SERVER: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_dns_server(probe, v) : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen, "--dns-server: '%s' is not IP[:PORT]", v);
    a->dns_server = v;
    break;
  }
  case O_IPV4: a->family = MW_FAMILY_IPV4; break;
  case O_IPV6: a->family = MW_FAMILY_IPV6; break;
  case O_CONNECT_TIMEOUT:
    return set_duration(d->name, v, &a->connect_timeout_ms, err, errlen);
  case O_GREETING_TIMEOUT:
    return set_duration(d->name, v, &a->greeting_timeout_ms, err, errlen);
  case O_TIMEOUT:
    return set_duration(d->name, v, &a->timeout_ms, err, errlen);
  case O_CA_FILE: a->tls_ca_file = v; break;
  case O_TLS_CRL_FILE: a->tls_crl_file = v; break;
  case O_TLS_OCSP: a->tls_ocsp = true; break;
  case O_FINGERPRINT: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_tls_fingerprint(probe, v)
                         : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen,
                  "--tls-fingerprint: '%s' is not a SHA-256 fingerprint (64 "
                  "hex digits, colons allowed)",
                  v);
    a->tls_fingerprint = v;
    break;
  }
  case O_SERVER_NAME: a->tls_server_name = v; break;
  case O_TLS_CERT: a->tls_cert = v; break;
  case O_TLS_KEY: a->tls_key = v; break;
  case O_PORTS:
    if(!cli_ports_valid(v))
      return fail(err, errlen,
                  "--ports: '%s' is not a list of ports (1-65535, "
                  "comma-separated, at most %d)",
                  v, CLI_MAX_PORTS);
    a->ports = v;
    break;
  case O_INCOMING: a->incoming = true; break;
  case O_INSECURE: a->insecure = true; break;
  case O_TLS_STRICT: a->tls_strict = true; break;
  case O_PROXY_PROTOCOL:
    if(strcmp(v, "v1") == 0 || strcmp(v, "1") == 0)
      a->proxy_protocol = 1;
    else if(strcmp(v, "v2") == 0 || strcmp(v, "2") == 0)
      a->proxy_protocol = 2;
    else
      return fail(err, errlen, "--proxy-protocol: '%s' is not v1 or v2", v);
    break;
  case O_TLS_CIPHERS: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_tls_ciphers(probe, v) : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen, "--tls-ciphers: OpenSSL knows none of '%s'",
                  v);
    a->tls_ciphers = v;
    break;
  }
  case O_TLS_MIN: return set_version(d->name, v, &a->tls_min, err, errlen);
  case O_TLS_MAX: return set_version(d->name, v, &a->tls_max, err, errlen);
  case O_ALLOW_INSECURE_AUTH: a->allow_insecure_auth = true; break;
  case O_NO_PIPELINING: a->no_pipelining = true; break;
  case O_NO_CHUNKING: a->no_chunking = true; break;
  case O_REQUIRETLS: a->requiretls = true; break;
  case O_DSN_NOTIFY:
    if(mw_dsn_notify_parse(v, &a->dsn_notify))
      return fail(err, errlen,
                  "%s: '%s' is not never, nor a list of success, failure "
                  "and delay (e.g. failure,delay)",
                  d->name, v);
    break;
  case O_DSN_RET:
    if(mw_dsn_ret_parse(v, &a->dsn_ret))
      return fail(err, errlen, "%s: '%s' is not full or hdrs", d->name, v);
    break;
  case O_ENVID: {
    mw_envelope *probe = mw_envelope_new();
    mw_status st =
        probe ? mw_envelope_set_dsn(probe, 0, MW_DSN_RET_DEFAULT, v)
              : MW_E_NOMEM;
    mw_envelope_free(probe);
    if(st)
      return fail(err, errlen,
                  "%s: '%s' is not printable ASCII of at most 100 "
                  "characters (encoded)",
                  d->name, v);
    a->envid = v;
    break;
  }
  case O_TRACE: a->trace = true; break;
  case O_TRACE_FILE: a->trace_file = v; break;
  case O_JSON: a->json = true; break;
  case O_QUEUE: a->queue = true; break;
  case O_QUEUE_DIR: a->queue_dir = v; break;
  case O_HELP: a->help = true; break;
  case O_CONFIG: a->config = v; break;
  case O_ACCOUNT: a->account = v; break;
  case O_NO_COLOR: a->no_color = true; break;
  case O_MAX_MESSAGE_SIZE:
    if(!cli_parse_size(v, &a->max_message_size))
      return fail(err, errlen,
                  "%s: '%s' is not a size (examples: 1048576, 512K, 25M, "
                  "1G; at most 1T)",
                  d->name, v);
    break;
  case O_SECRET_CMD_TIMEOUT:
    return set_duration(d->name, v, &a->secret_cmd_timeout_ms, err, errlen);
  case O_IDLE_INTERVAL:
    return set_duration(d->name, v, &a->in.idle_interval_ms, err, errlen);
  case O_POLL_INTERVAL:
    return set_duration(d->name, v, &a->in.poll_interval_ms, err, errlen);
  case O_MAILBOX: case O_MAILDIR: case O_MBOX: case O_MDA:
  case O_STATE_DIR: case O_ALL: case O_UNSEEN: case O_SINCE: case O_KEEP:
  case O_DELETE: case O_LIMIT: case O_EXEC: case O_FLAGS: case O_NO_PROGRESS:
    return cli_in_apply(d->name, v, &a->in, err, errlen);
  case O_SCRIPT: a->shell_script = v; break;
  case O_HISTORY: a->shell_history = v; break;
  case O_NO_HISTORY: a->shell_no_history = true; break;
  case O_DOMAIN:
  case O_DKIM_SELECTOR:
  case O_DNSBL: {
    mw_options *probe = mw_options_new();
    mw_status st = MW_E_NOMEM;
    if(probe && d->id == O_DOMAIN)
      st = mw_options_set_sender_domain(probe, v);
    else if(probe && d->id == O_DNSBL)
      st = mw_options_set_dnsbl_zones(probe, v);
    else if(probe)
      st = mw_options_set_dkim_selector(probe, v);
    mw_options_free(probe);
    if(st)
      return fail(err, errlen, "%s: '%s' is not a DNS name%s", d->name, v,
                  d->id == O_DNSBL ? " list (ZONE[,ZONE...])" : "");
    if(d->id == O_DOMAIN)
      a->domain = v;
    else if(d->id == O_DNSBL)
      a->dnsbl = v;
    else
      a->dkim_selector = v;
    break;
  }
  }
  return 0;
}

static int check_credentials(const struct send_args *a, char *err,
                             size_t errlen);

/* A bulk run (two --message or more, --messages, --connections, --rate):
 * complete messages only; the envelope may come from each message's
 * headers (or a JSON line), so --from and --to are optional. */
static int check_bulk_rules(struct send_args *a, char *err, size_t errlen)
{
  if(!a->message_files.count && !a->message_sources.count)
    return fail(err, errlen, "--connections and --rate are for sending "
                             "many messages: give --messages DIR|MBOX|JSONL "
                             "or --message FILE more than once");
  for(size_t i = 0; i < a->message_files.count; i++)
    if(strcmp(a->message_files.items[i], "-") == 0)
      return fail(err, errlen, "--message -: standard input is one message; "
                               "with several, name files (or an mbox with "
                               "--messages)");
  if(a->body || a->body_file || a->subject || a->headers.count ||
     a->html_file || a->attach.count || a->inline_files.count)
    return fail(err, errlen, "sending many messages (--messages, repeated "
                             "--message) sends complete messages as they "
                             "are: --body, --body-file, --subject, --header, "
                             "--html, --attach and --inline do not apply");
  if(a->queue)
    return fail(err, errlen, "--queue keeps one message in the outbox: it "
                             "does not apply to sending many (each message "
                             "gets a result line; resend those not "
                             "delivered)");
  if(check_credentials(a, err, errlen))
    return -1;
  if(a->tls_min && a->tls_max && a->tls_min > a->tls_max)
    return fail(err, errlen, "--tls-min is above --tls-max");
  return 0;
}

static int check_rules(struct send_args *a, char *err, size_t errlen)
{
  if(a->help)
    return 0;
  if(!a->server)
    return fail(err, errlen, "--server is required");
  mw_options *probe = mw_options_new();
  mw_status st = probe ? mw_options_set_server_string(probe, a->server)
                       : MW_E_NOMEM;
  mw_options_free(probe);
  if(st)
    return fail(err, errlen,
                "--server: '%s' is not HOST, HOST:PORT or [IPv6]:PORT (port "
                "1-65535)",
                a->server);
  a->bulk = a->message_files.count > 1 || a->message_sources.count ||
            a->connections || a->rate > 0;
  if(a->bulk)
    return check_bulk_rules(a, err, errlen);
  if(!a->from)
    return fail(err, errlen, "--from is required");
  if(!a->to.count && !a->cc.count && !a->bcc.count)
    return fail(err, errlen, "at least one --to, --cc or --bcc is required");
  int bodies = !!a->body + !!a->body_file + !!a->message_file;
  if(bodies > 1)
    return fail(err, errlen,
                "--body, --body-file and --message exclude each other");
  if(a->message_file && (a->subject || a->headers.count))
    return fail(err, errlen,
                "--message sends a complete message as is: --subject and "
                "--header do not apply");
  if(a->message_file &&
     (a->html_file || a->attach.count || a->inline_files.count))
    return fail(err, errlen,
                "--message sends a complete message as is: --html, --attach "
                "and --inline do not apply");
  if(a->inline_files.count && !a->html_file)
    return fail(err, errlen, "--inline adds an image for the HTML part: "
                             "give --html FILE too");
  if(check_credentials(a, err, errlen))
    return -1;
  if(a->tls_min && a->tls_max && a->tls_min > a->tls_max)
    return fail(err, errlen, "--tls-min is above --tls-max");
  for(size_t i = 0; i < a->headers.count; i++)
    if(!strchr(a->headers.items[i], ':'))
      return fail(err, errlen, "--header: '%s' is not 'Name: value'",
                  a->headers.items[i]);
  return 0;
}


static const char *command_name(enum cli_command c)
{
  static const char *const names[] = {"send",    "doctor", "probe",
                                      "fetch",   "watch",  "folders",
                                      "append",  "shell",  "send"};
  return names[c];
}

/* Why an option of the table is refused by command c. */
static int not_for_command(const struct opt_def *d, enum cli_command c,
                           char *err, size_t errlen)
{
  if((1u << c) & (INCOMING | SHELL))
    return fail(err, errlen, "option '%s' does not apply to %s", d->name,
                command_name(c));
  if(c == CLI_PROBE)
    return fail(err, errlen, "option '%s' does not apply to probe (it "
                             "only connects, says EHLO and leaves)",
                d->name);
  if(c == CLI_DOCTOR && (d->cmds & SEND))
    return fail(err, errlen, "option '%s' does not apply to doctor (no "
                             "message is sent)",
                d->name);
  bool doctor = d->cmds & DOCTOR, probe = d->cmds & PROBE;
  return fail(err, errlen, "option '%s' is for mailwire %s%s%s", d->name,
              doctor ? "doctor" : "", doctor && probe ? " and " : "",
              probe ? "probe" : "");
}

static int parse_words(int argc, char **argv, struct send_args *out,
                       enum cli_command command, char *err, size_t errlen)
{
  bool takes_target = command == CLI_DOCTOR || command == CLI_PROBE ||
                      command == CLI_APPEND || command == CLI_SHELL;
  const char *cmd = command_name(command);
  bool target_seen = false;
  cli_args_release(out); /* zeroed, or a parse before this one */
  out->in.protocol = -1;
  err[0] = '\0';
  for(int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt_def *d = find_option(arg, nlen);
    if(!d && takes_target && arg[0] != '-' && !target_seen) {
      if(command == CLI_APPEND)
        out->in.file = arg; /* the message file */
      else
        out->server = arg; /* the target (it overrides a profile's host) */
      target_seen = true;
      continue;
    }
    if(!d) {
      if(arg[0] != '-' || !arg[1])
        return fail(err, errlen, "unexpected argument '%s' (see mailwire "
                                 "%s --help)",
                    arg, cmd);
      const char *near = cli_suggest_option(command, arg, nlen);
      if(near)
        return fail(err, errlen, "unknown option '%.*s': did you mean %s? "
                                 "(see mailwire %s --help)",
                    (int)nlen, arg, near, cmd);
      return fail(err, errlen, "unknown option '%.*s' (see mailwire %s "
                               "--help)",
                  (int)nlen, arg, cmd);
    }
    if(!cli_takes(d, command))
      return not_for_command(d, command, err, errlen);
    if(d->id == O_PASSWORD)
      return apply(d, NULL, out, err, errlen);
    const char *value = NULL;
    if(d->arg) {
      if(eq)
        value = eq + 1;
      else if(i + 1 < argc)
        value = argv[++i];
      else
        return fail(err, errlen, "option '%s' needs a value", d->name);
    }
    else if(eq) {
      return fail(err, errlen, "option '%s' takes no value", d->name);
    }
    if(apply(d, value, out, err, errlen))
      return -1;
  }
  return 0;
}

bool cli_wants_json(int argc, char **argv)
{
  for(int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt_def *d = find_option(arg, nlen);
    if(d && d->id == O_JSON)
      return true;
    if(d && d->arg && !eq)
      i++; /* its value, whatever it says */
  }
  return false;
}

int cli_check_words(int argc, char **argv, char *err, size_t errlen)
{
  struct send_args *scratch = calloc(1, sizeof(*scratch));
  if(!scratch)
    return fail(err, errlen, "out of memory");
  int rc = parse_words(argc, argv, scratch, CLI_ANY, err, errlen);
  cli_args_free(scratch);
  return rc;
}

int cli_parse_incoming(enum cli_command cmd, int argc, char **argv,
                       struct send_args *out, char *err, size_t errlen)
{
  if(parse_words(argc, argv, out, cmd, err, errlen))
    return -1;
  if(out->help)
    return 0;
  if(out->tls_min && out->tls_max && out->tls_min > out->tls_max)
    return fail(err, errlen, "--tls-min is above --tls-max");
  /* The rules first: they take the user from a server URL. */
  if(cli_in_check(cmd, out, err, errlen))
    return -1;
  return check_credentials(out, err, errlen);
}

bool cli_option_takes(enum cli_command cmd, const char *word,
                      bool *has_value)
{
  const char *eq = strncmp(word, "--", 2) == 0 ? strchr(word, '=') : NULL;
  const struct opt_def *d = find_option(word, eq ? (size_t)(eq - word)
                                                 : strlen(word));
  if(has_value)
    *has_value = d && d->arg && !eq;
  return d && cli_takes(d, cmd);
}

int cli_parse_send(int argc, char **argv, struct send_args *out, char *err,
                   size_t errlen)
{
  if(parse_words(argc, argv, out, CLI_SEND, err, errlen))
    return -1;
  return check_rules(out, err, errlen);
}

/* ---- the `mailwire doctor ...` line after a failed send ---------------- */

/* Appends word for a POSIX shell: as is when every byte is plain, else in
 * single quotes. */
static void sb_shell_word(struct sbuf *b, const char *word)
{
  cli_sb_str(b, " ");
  bool plain = *word != '\0';
  for(const char *p = word; *p && plain; p++)
    plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("@%+=:,./_-", *p);
  if(plain) {
    cli_sb_str(b, word);
    return;
  }
  cli_sb_str(b, "'");
  for(const char *p = word; *p; p++) {
    if(*p == '\'')
      cli_sb_str(b, "'\\''");
    else
      cli_sb_add(b, p, 1);
  }
  cli_sb_str(b, "'");
}

/* A proxy URL with its user:password replaced by USER:PASSWORD. */
static void sb_proxy_word(struct sbuf *b, const char *url)
{
  const char *scheme_end = strstr(url, "://");
  const char *at = scheme_end ? strrchr(scheme_end, '@') : NULL;
  if(!at) {
    sb_shell_word(b, url);
    return;
  }
  char tmp[600];
  snprintf(tmp, sizeof(tmp), "%.*sUSER:PASSWORD@%s",
           (int)(scheme_end + 3 - url), url, at + 1);
  sb_shell_word(b, tmp);
}

size_t cli_doctor_line(int argc, char **argv, const char *host,
                       unsigned port, const char *tls_mode, char *buf,
                       size_t len)
{
  struct sbuf b = {buf, len, 0};
  if(len)
    buf[0] = '\0';
  cli_sb_str(&b, "mailwire doctor");
  char target[400];
  if(strchr(host, ':') && host[0] != '[')
    snprintf(target, sizeof(target), "[%s]:%u", host, port);
  else
    snprintf(target, sizeof(target), "%s:%u", host, port);
  sb_shell_word(&b, target);
  if(tls_mode) {
    sb_shell_word(&b, "--tls");
    sb_shell_word(&b, tls_mode);
  }
  for(int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt_def *d = find_option(arg, nlen);
    if(!d)
      continue;
    const char *value = NULL;
    if(d->arg)
      value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
    if(d->arg && !value)
      continue;
    /* Where and how to connect, and who to be: what the failure may
     * depend on.  The server and the TLS mode are given above. */
    bool carried = (d->cmds & DOCTOR) && d->group != G_HIDDEN &&
                   d->group != G_MESSAGE && d->group != G_OUTPUT &&
                   d->id != O_SERVER && d->id != O_TLS;
    if(!carried)
      continue;
    sb_shell_word(&b, d->name);
    if(!value)
      continue;
    if(d->id == O_PROXY)
      sb_proxy_word(&b, value);
    else if(d->id == O_PASSWORD_CMD || d->id == O_OAUTH2_CMD)
      sb_shell_word(&b, "CMD"); /* a command may hold a secret */
    else
      sb_shell_word(&b, value);
  }
  return b.used;
}

/* "EXTERNAL" alone in a mechanism list. */
static bool only_external(const char *list)
{
  const char *p = list + strspn(list, " ,\t");
  size_t n = strcspn(p, " ,\t");
  if(n != 8 || strncasecmp(p, "EXTERNAL", 8) != 0)
    return false;
  return p[n + strspn(p + n, " ,\t")] == '\0';
}

static int check_credentials(const struct send_args *a, char *err,
                             size_t errlen)
{
  int passwords = !!a->password_env + !!a->password_file + !!a->password_cmd +
                  !!a->password_value;
  if(passwords > 1)
    return fail(err, errlen,
                "--password-env, --password-file and --password-cmd exclude "
                "each other");
  if(passwords && !a->user)
    return fail(err, errlen, "a password source needs --user");
  if(a->user && !passwords && !a->oauth2_token_cmd && !a->tls_cert)
    return fail(err, errlen,
                "--user needs --password-env, --password-file, "
                "--password-cmd, --oauth2-token-cmd or --tls-cert (SASL "
                "EXTERNAL)");
  if(a->tls_key && !a->tls_cert)
    return fail(err, errlen, "--tls-key needs --tls-cert");
  if(a->auth && !a->tls_cert && only_external(a->auth))
    return fail(err, errlen, "--auth EXTERNAL needs a client certificate "
                             "(--tls-cert FILE)");
  if(a->insecure && a->tls_fingerprint)
    return fail(err, errlen, "--insecure and --tls-fingerprint exclude each "
                             "other");
  return 0;
}

mw_protocol cli_protocol_of(const struct send_args *a)
{
  if(a->protocol_set)
    return a->protocol;
  if(!a->server)
    return MW_PROTOCOL_SMTP;
  mw_options *o = mw_options_new();
  mw_protocol p = MW_PROTOCOL_SMTP;
  if(o && strstr(a->server, "://")) {
    if(mw_options_set_server_url(o, a->server) == MW_OK)
      p = mw_options_protocol(o);
  }
  else if(o && mw_options_set_server_string(o, a->server) == MW_OK) {
    /* valid: "host:port" or "[v6]:port"; the port is after the last ':'
     * that follows any ']' */
    const char *end = strrchr(a->server, ']');
    const char *colon = strrchr(end ? end : a->server, ':');
    unsigned port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
    p = port == 110 || port == 995   ? MW_PROTOCOL_POP3
        : port == 143 || port == 993 ? MW_PROTOCOL_IMAP
                                     : MW_PROTOCOL_SMTP;
  }
  mw_options_free(o);
  return p;
}

int cli_parse_doctor(int argc, char **argv, struct send_args *out, char *err,
                     size_t errlen)
{
  if(parse_words(argc, argv, out, CLI_DOCTOR, err, errlen))
    return -1;
  if(out->help)
    return 0;
  if(!out->server)
    return fail(err, errlen, "give the server to check: mailwire doctor "
                             "HOST[:PORT]");
  if(out->tls_mode == MW_TLS_DETECT)
    return fail(err, errlen, "--tls detect is for send; doctor already "
                             "finds the mode the port speaks");
  mw_options *probe = mw_options_new();
  bool url = strstr(out->server, "://") != NULL;
  mw_status st = !probe ? MW_E_NOMEM
                 : url  ? mw_options_set_server_url(probe, out->server)
                        : mw_options_set_server_string(probe, out->server);
  mw_options_free(probe);
  if(st && url)
    return fail(err, errlen,
                "'%s' is not a server URL: imaps://[USER@]HOST[:PORT]"
                "[/MAILBOX] (or imap, pop3s, pop3, smtps, smtp)",
                out->server);
  if(st)
    return fail(err, errlen,
                "'%s' is not HOST, HOST:PORT or [IPv6]:PORT (port 1-65535)",
                out->server);
  /* doctor decides the protocol now: --protocol, the URL, the port */
  out->protocol = cli_protocol_of(out);
  out->protocol_set = true;
  if(out->from && out->protocol != MW_PROTOCOL_SMTP)
    return fail(err, errlen, "--from and --to test an SMTP envelope: not "
                             "for a POP3 or IMAP server");
  if(!out->from != !out->to.count)
    return fail(err, errlen, "--from and --to go together (they test the "
                             "envelope)");
  if(out->to.count > 1)
    return fail(err, errlen, "doctor tests one --to address");
  return check_credentials(out, err, errlen);
}

/* The user of a server URL (imaps://alice%40example.org@host), decoded
 * into buf: .auth's and LOGIN's default when --user is not given. */
static const char *shell_url_user(const char *server, char *buf, size_t len)
{
  const char *sep = strstr(server, "://");
  if(!sep)
    return NULL;
  const char *auth = sep + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for(const char *q = auth; q < auth + alen; q++)
    if(*q == '@')
      at = q;
  if(!at || at == auth)
    return NULL;
  size_t o = 0;
  for(const char *q = auth; q < at && o + 1 < len; q++) {
    unsigned v;
    if(*q == '%' && q + 2 < at && sscanf(q + 1, "%2x", &v) == 1) {
      buf[o++] = (char)v;
      q += 2;
    }
    else
      buf[o++] = *q;
  }
  buf[o] = '\0';
  return buf;
}

int cli_parse_shell(int argc, char **argv, struct send_args *out, char *err,
                    size_t errlen)
{
  if(parse_words(argc, argv, out, CLI_SHELL, err, errlen))
    return -1;
  if(out->help)
    return 0;
  if(!out->server)
    return fail(err, errlen, "give the server: mailwire shell "
                             "URL|HOST[:PORT] (e.g. imaps://mail.example.org"
                             " or mail.example.org:587)");
  if(out->tls_mode == MW_TLS_DETECT)
    return fail(err, errlen, "--tls detect is for send: give the shell a "
                             "TLS mode (implicit, starttls, none)");
  mw_options *probe = mw_options_new();
  bool url = strstr(out->server, "://") != NULL;
  mw_status st = !probe ? MW_E_NOMEM
                 : url  ? mw_options_set_server_url(probe, out->server)
                        : mw_options_set_server_string(probe, out->server);
  mw_options_free(probe);
  if(st)
    return fail(err, errlen,
                url ? "'%s' is not a server URL: smtp://, submission://, "
                      "smtps://, imap://, imaps://, pop3://, pop3s:// "
                      "[USER@]HOST[:PORT]"
                    : "'%s' is not HOST, HOST:PORT or [IPv6]:PORT (port "
                      "1-65535)",
                out->server);
  if(out->tls_min && out->tls_max && out->tls_min > out->tls_max)
    return fail(err, errlen, "--tls-min is above --tls-max");
  out->protocol = cli_protocol_of(out);
  out->protocol_set = true;
  if(!out->user)
    out->user = shell_url_user(out->server, out->in.url_user,
                               sizeof(out->in.url_user));
  /* --user alone is fine here: the shell asks for the password. */
  const char *user = out->user;
  if(user && !out->password_env && !out->password_file &&
     !out->password_cmd && !out->password_value)
    out->user = NULL;
  int rc = check_credentials(out, err, errlen);
  out->user = user;
  return rc;
}

bool cli_ports_valid(const char *list)
{
  unsigned ports[CLI_MAX_PORTS];
  size_t n = 0;
  return mw_probe_ports_parse(list, ports, CLI_MAX_PORTS, &n) == MW_OK;
}

int cli_parse_probe(int argc, char **argv, const char *default_target,
                    struct send_args *out, char *err, size_t errlen)
{
  if(parse_words(argc, argv, out, CLI_PROBE, err, errlen))
    return -1;
  if(out->help)
    return 0;
  if(!out->server)
    out->server = default_target;
  if(!out->server)
    return fail(err, errlen, "give the host, domain or address to probe: "
                             "mailwire probe HOST");
  /* a URL (imaps://host:993) is read by cmd_probe.c */
  bool url = strstr(out->server, "://") &&
             !strpbrk(out->server, " \t\r\n\\") &&
             strlen(out->server) <= 300;
  const char *at = strrchr(out->server, '@');
  if(!url && (!*out->server || strpbrk(out->server, " \t\r\n/\\") ||
              (at && !at[1]) || strlen(out->server) > 255))
    return fail(err, errlen, "'%s' is not a host name, address or e-mail "
                             "address%s",
                out->server, at && !at[1] ? " (no domain after '@')" : "");
  if(out->tls_min && out->tls_max && out->tls_min > out->tls_max)
    return fail(err, errlen, "--tls-min is above --tls-max");
  if(out->insecure && out->tls_fingerprint)
    return fail(err, errlen, "--insecure and --tls-fingerprint exclude each "
                             "other");
  if(out->tls_key && !out->tls_cert)
    return fail(err, errlen, "--tls-key needs --tls-cert");
  return 0;
}

