/*
 * args_help.c - the help of every command, generated from the option
 * table of args.c (see args_int.h): groups in order, one line per option
 * wrapped at 79 columns, the commands' intros and trailers, and the
 * notes where a command says something else about an option.
 */
#include "args_int.h"
#include "args_in.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const group_titles[] = {
    "Profile", "Connection", "Ports", "TLS", "Authentication",
    "Envelope and message", "Deliverability (after the SMTP checks)",
    "Mailbox and store", "Shell", "Output"};

/* Where a command says something else about an option than cli_opt_table[]. */
static const struct {
  enum cli_command cmd;
  enum opt_id id;
  const char *help;
} opt_notes[] = {
    {CLI_DOCTOR, O_SERVER, "the server, if not given as the first word: HOST[:PORT], or a URL imaps://[USER@]HOST[:PORT][/MAILBOX], imap://, pop3s://, pop3://, smtps://, smtp://"},
    {CLI_DOCTOR, O_TLS, "auto (default), implicit, starttls, starttls-optional or none"},
    {CLI_DOCTOR, O_FROM, "with --to: test the envelope (MAIL, RCPT, then RSET; nothing is sent)"},
    {CLI_DOCTOR, O_TO, "the one recipient to test, with --from"},
    {CLI_DOCTOR, O_TRACE, "the SMTP dialogue of the main attempt on stderr"},
    {CLI_FETCH, O_PROTOCOL, "imap or pop3, when --server is HOST[:PORT] (an imap://, imaps://, pop3:// or pop3s:// URL says it; default imap)"},
    {CLI_WATCH, O_PROTOCOL, "imap (watch needs IDLE or NOOP: IMAP only)"},
    /* CLI_FETCH's notes serve every incoming command (option_help()) */
    {CLI_FETCH, O_SERVER, "a URL imaps://[USER@]HOST[:PORT][/MAILBOX], imap://, pop3s://, pop3:// (imaps, pop3s: implicit TLS; imap, pop3: STARTTLS/STLS required), or HOST[:PORT] (ports by protocol: 993/143, 995/110)"},
    {CLI_FETCH, O_TLS, "auto (default: 993 and 995 implicit, other ports STARTTLS/STLS required), implicit, starttls, starttls-optional, none"},
    {CLI_FETCH, O_GREETING_TIMEOUT, "wait for the server's greeting (default 10s)"},
    {CLI_FETCH, O_TIMEOUT, "every other response; DUR is seconds or a number with a unit ms, s, m or h: 30, 1.5s, 500ms, 2m, 1h (1ms to 24h)"},
    {CLI_FETCH, O_TRACE, "print the IMAP or POP3 dialogue to stderr (secrets redacted)"},
    {CLI_FETCH, O_USER, "user name for LOGIN, USER or AUTHENTICATE (default: the URL's)"},
    {CLI_PROBE, O_GREETING_TIMEOUT, "bound of each attempt (default 10s)"},
    {CLI_PROBE, O_PROTOCOL, "smtp (default), imap or pop3: which servers to probe (--incoming: imap and pop3)"},
    {CLI_PROBE, O_PORTS, "ports to try, e.g. 465,587 (default 465,587,25,2525; IMAP 993,143; POP3 995,110)"},
    {CLI_SHELL, O_SERVER, "the server, if not given as the first word: a URL smtp://, submission://, smtps://, imap://, imaps://, pop3://, pop3s:// [USER@]HOST[:PORT], or HOST[:PORT]"},
    {CLI_SHELL, O_TLS, "auto (default: implicit on 465, 993, 995; elsewhere plaintext until you type STARTTLS or STLS), implicit, starttls (upgraded right after the greeting; refused means the end), starttls-optional, none"},
    {CLI_SHELL, O_TIMEOUT, "how long to wait for each reply (default 30s); DUR is seconds or a number with a unit ms, s, m or h"},
    {CLI_SHELL, O_TRACE, "start with the library's trace on stderr (.trace on|off; secrets redacted)"},
    {CLI_SHELL, O_USER, "user name for .auth (else asked for)"},
    {CLI_SHELL, O_HELO, "name for the EHLO the shell sends itself after STARTTLS when none was typed (default localhost)"},
    {CLI_PROBE, O_ACCOUNT, "take the host and the connection and TLS settings of this account"},
};

static const char shell_intro[] =
    "Usage: mailwire shell URL|HOST[:PORT] [options]\n"
    "\n"
    "An interactive session with an SMTP, POP3 or IMAP server, instead of\n"
    "telnet or openssl s_client.  The protocol comes from the URL's scheme\n"
    "(smtp, submission, smtps, imap, imaps, pop3, pop3s), else --protocol,\n"
    "else the port (110 and 995 POP3, 143 and 993 IMAP, any other SMTP).\n"
    "Lines are sent as typed, with CRLF.  The shell adds IMAP tags, sends\n"
    "a literal's size ({N}) and waits for the go-ahead, does the TLS\n"
    "handshake after STARTTLS/STLS (and asks the capabilities again), and\n"
    "asks for a password without echo after LOGIN USER (IMAP) or PASS\n"
    "(POP3) typed without one.  Dot commands:\n"
    "  .auth MECH [USER]   plain, login, cram-md5, scram-sha-256, xoauth2\n"
    "  .data [FILE]        SMTP: DATA, then the message (FILE, or lines up\n"
    "                      to a lone \".\"), dot-stuffed\n"
    "  .tls  .trace on|off  .explain  .doctor  .expect CODE  .help  .quit\n";

static const char shell_trailer[] =
    "\n"
    "Secrets never reach the screen, the history or the trace: passwords\n"
    "are asked without echo; a password typed on a LOGIN, PASS or AUTH\n"
    "line is shown masked and that line is kept out of the history.\n"
    "Exit status: 0 the session ended; 1 an .expect check failed (the\n"
    "message names the line); 64 usage; 66 a file that cannot be read;\n"
    "otherwise as mailwire send for a connection, TLS or authentication\n"
    "failure (in a script, .auth refused ends it: 77).\n";

static const char send_intro[] =
    "Usage: mailwire send --server HOST[:PORT] --from ADDR --to ADDR [options]\n"
    "       mailwire send --server HOST[:PORT] --messages DIR|MBOX|JSONL\n"
    "                     [--message FILE]... [--connections N] [--rate N/s]\n"
    "\n"
    "Sends one message over SMTP, securely by default: TLS chosen by port\n"
    "(465 implicit, anything else STARTTLS required), certificates verified,\n"
    "no password over an unencrypted connection.\n";

static const char send_trailer[] =
    "\n"
    "Exit status: 0 sent; 64 usage; 65 bad message; 66 input missing;\n"
    "67 recipient refused; 68 host unknown; 69 refused by server; 70 internal;\n"
    "74 local I/O; 75 temporary failure (retry later); 76 protocol error;\n"
    "77 authentication failed; 78 TLS/certificate/security settings;\n"
    "80 the server lacks an extension the message needs (REQUIRETLS, DSN,\n"
    "SMTPUTF8, BINARYMIME). See README.\n"
    "A failed send ends with the `mailwire doctor ...` command that diagnoses it.\n"
    "\n"
    "BULK: with --messages, or --message given more than once, every message\n"
    "goes as it is over one connection (or --connections N), RSET between\n"
    "messages.  The envelope: the JSON line's from/to, else --from/--to (a\n"
    "profile's from too), else the message's From and To, Cc, Bcc (Bcc then\n"
    "removed from"
    " the copy sent, Date and Message-ID added when absent, as\n"
    "sendmail -t).\n"
    "A 421 or a connection lost before the end of a message: reconnect and\n"
    "send that message again.  Lost after the final dot: result \"unknown\",\n"
    "never sent again (the server may have it).  One line per message on\n"
    "stdout (a JSON object per line with --json): N/TOTAL, the message, the\n"
    "result (delivered, unknown, deferred, failed, partly delivered) and\n"
    "the server's queue id or reason.  Exit status: 0 all delivered; 81 some\n"
    "were not (see their lines), or, when not one connection could be made,\n"
    "the code of that failure (75, 77, 78...); 65 a source cannot be read as\n"
    "messages (a bad JSON line: nothing is sent); 66 a file is missing.\n";

static const char doctor_intro[] =
    "Usage: mailwire doctor HOST[:PORT] [options]\n"
    "\n"
    "Walks the troubleshooting checklist (DNS, TCP to every address, greeting,\n"
    "TLS mode, certificate, EHLO, AUTH, envelope) and names the root cause\n"
    "with its evidence and the fix.  No message is sent.\n"
    "HOST may be an address or domain (alice@example.org): its MX is checked,\n"
    "on port 25 unless a port is given.\n";

static const char doctor_trailer[] =
    "\n"
    "Exit status: 0 healthy; 10 DNS; 11 connection refused or unreachable;\n"
    "12 filtered (timeout, port 25 blocked); 13 greeting/service; 14 TLS mode\n"
    "mismatch or STARTTLS missing; 15 TLS handshake/version; 16 certificate;\n"
    "17 authentication; 18 envelope refused; 19 temporary (greylisted, rate\n"
    "limited); 20 protocol error; 21 proxy; 64 usage.\n";

static const char probe_intro[] =
    "Usage: mailwire probe HOST|DOMAIN|ADDRESS [--ports LIST] [options]\n"
    "\n"
    "Finds the port and TLS mode that work: every port (default\n"
    "465,587,25,2525) in every mode (implicit TLS, STARTTLS, plain) at once,\n"
    "each attempt bounded by the greeting timeout, so the whole probe takes\n"
    "about one greeting timeout.  Reports each combination (TLS version,\n"
    "certificate verdict, AUTH offered after TLS), ranks the secure ones\n"
    "(implicit TLS on 465, STARTTLS on 587, then the rest; plaintext is never\n"
    "recommended) and prints the settings as send flags and a profile block.\n"
    "For a domain or an address (alice@example.org) the SRV records of\n"
    "RFC 6186 (_submissions._tcp, _submission._tcp) and the MX records are\n"
    "looked up first and their hosts probed too.  No credentials are sent.\n"
    "\n"
    "With --incoming (or --protocol imap, --protocol pop3) the IMAP and POP3\n"
    "servers are probed instead: the SRV records _imaps._tcp, _imap._tcp,\n"
    "_pop3s._tcp and _pop3._tcp (a target \".\" means not offered), then the\n"
    "host or domain and the usual names imap., pop. and mail. on 993,143\n"
    "(IMAP) and 995,110 (POP3); each port in each mode (implicit TLS, plain,\n"
    "STARTTLS/STLS) with its capabilities (IMAP4rev1/rev2, IDLE,\n"
    "LOGINDISABLED, AUTH=; POP3 USER, UIDL, PIPELINING, SASL), implicit TLS\n"
    "ranked first (RFC 8314), and per protocol the settings as fetch flags\n"
    "(a URL imaps://HOST:PORT) and a profile block (protocol imap).  The\n"
    "target may be such a URL (imaps://, imap://, pop3s://, pop3://, smtps://,\n"
    "smtp://): its scheme picks the protocol, its port is probed first.\n";

static const char probe_trailer[] =
    "\n"
    "Exit status: 0 a secure combination works (the first one printed;\n"
    "with --incoming, one for IMAP or POP3);\n"
    "64 usage; 68 the name does not exist; 69 nothing answered SMTP;\n"
    "75 DNS failed for a reason that may pass;\n"
    "78 only insecure combinations work (plaintext, or a certificate that\n"
    "is not accepted: see the fix printed).\n";

/* ---- help, generated from cli_opt_table[] -------------------------------------- */

#define HELP_COLUMN 28
#define HELP_WIDTH 79

void cli_sb_add(struct sbuf *b, const char *s, size_t n)
{
  if(b->used < b->len) {
    size_t room = b->len - b->used - 1;
    memcpy(b->buf + b->used, s, n < room ? n : room);
    b->buf[b->used + (n < room ? n : room)] = '\0';
  }
  b->used += n;
}

void cli_sb_str(struct sbuf *b, const char *s)
{
  cli_sb_add(b, s, strlen(s));
}

static void sb_spaces(struct sbuf *b, size_t n)
{
  while(n--)
    cli_sb_add(b, " ", 1);
}

static const char *option_help(const struct opt_def *d, enum cli_command cmd)
{
  for(size_t i = 0; i < sizeof(opt_notes) / sizeof(opt_notes[0]); i++)
    if(opt_notes[i].cmd == cmd && opt_notes[i].id == d->id)
      return opt_notes[i].help;
  for(size_t i = 0; ((1u << cmd) & INCOMING) &&
                    i < sizeof(opt_notes) / sizeof(opt_notes[0]);
      i++)
    if(opt_notes[i].cmd == CLI_FETCH && opt_notes[i].id == d->id)
      return opt_notes[i].help;
  return d->help;
}

/* "  -H, --header 'Name: value'   text wrapped at HELP_WIDTH" */
static void help_line(struct sbuf *b, const struct opt_def *d,
                      enum cli_command cmd)
{
  size_t col = 2;
  cli_sb_str(b, "  ");
  if(d->alias) {
    cli_sb_str(b, d->alias);
    cli_sb_str(b, ", ");
    col += strlen(d->alias) + 2;
  }
  cli_sb_str(b, d->name);
  col += strlen(d->name);
  if(d->arg) {
    cli_sb_str(b, " ");
    cli_sb_str(b, d->arg);
    col += 1 + strlen(d->arg);
  }
  if(col + 2 > HELP_COLUMN) {
    cli_sb_str(b, "\n");
    col = 0;
  }
  sb_spaces(b, HELP_COLUMN - col);
  col = HELP_COLUMN;
  const char *p = option_help(d, cmd);
  while(*p) {
    size_t w = strcspn(p, " ");
    if(col > HELP_COLUMN && col + 1 + w > HELP_WIDTH) {
      cli_sb_str(b, "\n");
      sb_spaces(b, HELP_COLUMN);
      col = HELP_COLUMN;
    }
    else if(col > HELP_COLUMN) {
      cli_sb_str(b, " ");
      col++;
    }
    cli_sb_add(b, p, w);
    col += w;
    p += w;
    while(*p == ' ')
      p++;
  }
  cli_sb_str(b, "\n");
}

size_t cli_help(enum cli_command cmd, char *buf, size_t len)
{
  struct sbuf b = {buf, len, 0};
  if(len)
    buf[0] = '\0';
  cli_sb_str(&b, ((1u << cmd) & INCOMING) ? cli_in_intro(cmd)
             : cmd == CLI_SHELL         ? shell_intro
             : cmd == CLI_DOCTOR        ? doctor_intro
             : cmd == CLI_PROBE         ? probe_intro
                                        : send_intro);
  for(int g = 0; g < G_HIDDEN; g++) {
    bool title = false;
    for(size_t i = 0; i < cli_opt_table_len; i++) {
      const struct opt_def *d = &cli_opt_table[i];
      if(d->group != (enum opt_group)g || !cli_takes(d, cmd))
        continue;
      if(!title) {
        cli_sb_str(&b, "\n");
        cli_sb_str(&b, group_titles[g]);
        cli_sb_str(&b, ":\n");
        title = true;
      }
      help_line(&b, d, cmd);
    }
  }
  cli_sb_str(&b, ((1u << cmd) & INCOMING) ? cli_in_trailer(cmd)
             : cmd == CLI_SHELL   ? shell_trailer
             : cmd == CLI_DOCTOR  ? doctor_trailer
             : cmd == CLI_PROBE ? probe_trailer
                                : send_trailer);
  return b.used;
}

void cli_print_help(FILE *f, enum cli_command cmd)
{
  char *buf = malloc(32768);
  if(!buf)
    return;
  size_t need = cli_help(cmd, buf, 32768);
  if(need >= 32768) { /* never with today's table; be safe anyway */
    char *big = realloc(buf, need + 1);
    if(big) {
      buf = big;
      cli_help(cmd, buf, need + 1);
    }
  }
  fputs(buf, f);
  free(buf);
}

size_t cli_option_count(void)
{
  return cli_opt_table_len;
}

bool cli_option_get(size_t i, struct cli_option_info *out)
{
  if(i >= cli_opt_table_len)
    return false;
  out->name = cli_opt_table[i].name;
  out->alias = cli_opt_table[i].alias;
  out->takes_value = cli_opt_table[i].arg != NULL;
  out->hidden = cli_opt_table[i].group == G_HIDDEN;
  out->commands = 0;
  for(unsigned c = CLI_SEND; c < CLI_ANY; c++)
    if(cli_takes(&cli_opt_table[i], (enum cli_command)c))
      out->commands |= 1u << c;
  return true;
}

