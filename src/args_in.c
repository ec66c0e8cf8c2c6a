/*
 * args_in.c - see args_in.h.
 */
#include "args_in.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char fetch_intro[] =
    "Usage: mailwire fetch --server URL|HOST[:PORT] (--maildir DIR | --mbox "
    "FILE |\n"
    "                      --mda CMD) [options]\n"
    "\n"
    "Downloads the new messages of a POP3 account or an IMAP mailbox.  The\n"
    "server is a URL, imaps://USER@HOST[:PORT]/MAILBOX, imap://, pop3s:// or\n"
    "pop3:// (imaps and pop3s: TLS from the first byte; imap and pop3:\n"
    "STARTTLS/STLS required), or HOST[:PORT] with --protocol.\n"
    "\n"
    "Nothing is lost: each message is stored durably first (Maildir: written\n"
    "to tmp/, fsync'ed, renamed into new/, the directory fsync'ed; mbox:\n"
    "appended and fsync'ed; MDA: the command exited 0), then recorded in\n"
    "the account's state (IMAP UIDVALIDITY and UIDs, POP3 UIDLs) and only\n"
    "then, with --delete, deleted on the server (IMAP: UID STORE \\Deleted\n"
    "and UID EXPUNGE; POP3: DELE, effective at QUIT).  Killed at any moment,\n"
    "a rerun fetches at worst one message again, and the store drops that\n"
    "copy (Maildir and mbox) instead of keeping it twice.  Messages are\n"
    "read with BODY.PEEK[]: fetching does not set \\Seen.\n";

static const char fetch_trailer[] =
    "\n"
    "Messages are stored with LF line endings (the wire's CRLF converted).\n"
    "Exit status: 0 done (also when nothing was new); 64 usage; 68 host\n"
    "unknown; 69 the server refused a command; 70 internal; 74 local I/O\n"
    "(the store or the state); 75 temporary (connection lost, timeout, an MDA\n"
    "that failed: retry later); 76 protocol error; 77 authentication failed;\n"
    "78 TLS/certificate/security settings; 79 server not verified (SASL).\n"
    "A run that fails midway keeps every message stored before the failure.\n";

static const char watch_intro[] =
    "Usage: mailwire watch --server URL|HOST[:PORT] [--maildir DIR | --mbox "
    "FILE |\n"
    "                      --mda CMD | --exec CMD] [options]\n"
    "\n"
    "Waits for new messages in an IMAP mailbox with IDLE (RFC 2177: re-issued\n"
    "every --idle-interval, under the server's 29-minute limit), polling with\n"
    "NOOP when the server has no IDLE, reconnecting with backoff (1s to 5m)\n"
    "when the connection drops.  For each message that arrives it prints a\n"
    "line (UID, From, Subject), or runs --exec CMD with the message on its\n"
    "standard input, or stores it as mailwire fetch does (--maildir, --mbox,\n"
    "--mda: the same state, so fetch and watch never store a message twice).\n"
    "SIGINT or SIGTERM ends it: at once while it waits, else after the\n"
    "message in hand is stored and recorded.\n";

static const char watch_trailer[] =
    "\n"
    "Exit status: 0 ended by a signal; 64 usage; 74 local I/O; 77\n"
    "authentication failed; 78 TLS/certificate/security settings (these end\n"
    "it at once: retrying would not help).  Temporary failures are retried.\n";

static const char folders_intro[] =
    "Usage: mailwire folders --server URL|HOST[:PORT] [options]\n"
    "\n"
    "Lists the IMAP account's mailboxes (LIST) with their counts (STATUS:\n"
    "messages, unseen, UIDNEXT, UIDVALIDITY, and size when the server offers\n"
    "STATUS=SIZE).\n";

static const char folders_trailer[] =
    "\n"
    "Exit status as for mailwire fetch.\n";

static const char append_intro[] =
    "Usage: mailwire append --server URL|HOST[:PORT] --mailbox NAME\n"
    "                       [--flags FLAGS] FILE|-\n"
    "\n"
    "Stores the message in FILE (- for standard input) into an IMAP mailbox\n"
    "(APPEND), e.g. a copy of a sent message into Sent.  LF line endings are\n"
    "sent as CRLF.  Prints the UID the server gave it (UIDPLUS).\n";

static const char append_trailer[] =
    "\n"
    "Exit status as for mailwire fetch; 66 FILE cannot be read.\n";

const char *cli_in_intro(enum cli_command cmd)
{
  return cmd == CLI_WATCH     ? watch_intro
         : cmd == CLI_FOLDERS ? folders_intro
         : cmd == CLI_APPEND  ? append_intro
                              : fetch_intro;
}

const char *cli_in_trailer(enum cli_command cmd)
{
  return cmd == CLI_WATCH     ? watch_trailer
         : cmd == CLI_FOLDERS ? folders_trailer
         : cmd == CLI_APPEND  ? append_trailer
                              : fetch_trailer;
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

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                     "May", "Jun", "Jul", "Aug",
                                     "Sep", "Oct", "Nov", "Dec"};

bool cli_in_imap_date(const char *text, char *out, size_t len)
{
  int y = 0, m = 0, d = 0, n = 0;
  char mon[4] = "";
  if(sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && !text[n] &&
     n == 10) {
    if(m < 1 || m > 12)
      return false;
  }
  else if(sscanf(text, "%2d-%3[A-Za-z]-%4d%n", &d, mon, &y, &n) == 3 &&
          !text[n]) {
    for(m = 1; m <= 12 && strcasecmp(mon, months[m - 1]); m++)
      ;
    if(m > 12)
      return false;
  }
  else {
    return false;
  }
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if(y < 1900 || y > 9999 || d < 1 || d > mdays[m - 1])
    return false;
  snprintf(out, len, "%d-%s-%04d", d, months[m - 1], y);
  return true;
}

int cli_in_apply(const char *name, const char *v, struct in_args *in,
                 char *err, size_t errlen)
{
  if(strcmp(name, "--protocol") == 0) {
    if(strcasecmp(v, "imap") == 0)
      in->protocol = MW_PROTOCOL_IMAP;
    else if(strcasecmp(v, "pop3") == 0 || strcasecmp(v, "pop") == 0)
      in->protocol = MW_PROTOCOL_POP3;
    else
      return fail(err, errlen, "--protocol: '%s' is not imap or pop3", v);
  }
  else if(strcmp(name, "--mailbox") == 0) {
    if(!*v || strpbrk(v, "\r\n"))
      return fail(err, errlen, "--mailbox: '%s' is not a mailbox name", v);
    in->mailbox = v;
  }
  else if(strcmp(name, "--maildir") == 0 || strcmp(name, "--mbox") == 0 ||
          strcmp(name, "--mda") == 0) {
    if(!*v)
      return fail(err, errlen, "%s: the value is empty", name);
    enum cli_store_kind k = name[3] == 'a'   ? CLI_STORE_MAILDIR
                            : name[3] == 'b' ? CLI_STORE_MBOX
                                             : CLI_STORE_MDA;
    /* Two different ones are refused (cli_in_check sees stores_given);
     * a profile's store is dropped when the command line names one (see
     * cli_in_filter_profile()). */
    if(in->store != k)
      in->stores_given++;
    in->store = k;
    in->store_target = v;
  }
  else if(strcmp(name, "--state-dir") == 0) {
    if(!*v)
      return fail(err, errlen, "--state-dir: the value is empty");
    in->state_dir = v;
  }
  else if(strcmp(name, "--all") == 0)
    in->all = true;
  else if(strcmp(name, "--unseen") == 0)
    in->unseen = true;
  else if(strcmp(name, "--since") == 0) {
    if(!cli_in_imap_date(v, in->since_imap, sizeof(in->since_imap)))
      return fail(err, errlen, "--since: '%s' is not a date (YYYY-MM-DD, "
                               "e.g. 2026-02-01)",
                  v);
    in->since = v;
  }
  else if(strcmp(name, "--keep") == 0 || strcmp(name, "--delete") == 0) {
    int mode = name[2] == 'k' ? 1 : 2;
    in->delete_mode = mode;
  }
  else if(strcmp(name, "--limit") == 0) {
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if(!isdigit((unsigned char)*v) || *end || n == 0 || n > 100000000UL)
      return fail(err, errlen, "--limit: '%s' is not a number of messages "
                               "(1 or more)",
                  v);
    in->limit = n;
  }
  else if(strcmp(name, "--exec") == 0) {
    if(!*v)
      return fail(err, errlen, "--exec: the value is empty");
    in->exec = v;
  }
  else if(strcmp(name, "--flags") == 0) {
    if(strpbrk(v, "\r\n()"))
      return fail(err, errlen, "--flags: '%s' is not a list of flags "
                               "('\\Seen \\Flagged')",
                  v);
    in->flags = v;
  }
  else if(strcmp(name, "--no-progress") == 0)
    in->no_progress = true;
  else
    return fail(err, errlen, "option '%s' is not known here", name);
  return 0;
}

/* The scheme of a URL ("imaps") into out, or false when s is none. */
static bool url_scheme(const char *s, char *out, size_t len)
{
  const char *sep = strstr(s, "://");
  if(!sep || (size_t)(sep - s) >= len || sep == s)
    return false;
  for(const char *p = s; p < sep; p++)
    if(!isalnum((unsigned char)*p))
      return false;
  memcpy(out, s, (size_t)(sep - s));
  out[sep - s] = '\0';
  return true;
}

static int hexval(char c)
{
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

bool cli_in_url_mailbox(const char *url, char *out, size_t len)
{
  char scheme[16];
  if(!url_scheme(url, scheme, sizeof(scheme)) ||
     (strcasecmp(scheme, "imap") && strcasecmp(scheme, "imaps")))
    return false;
  const char *host = strstr(url, "://") + 3;
  const char *slash = strchr(host, '/');
  if(!slash || !slash[1])
    return false;
  size_t o = 0;
  for(const char *p = slash + 1; *p && *p != ';' && *p != '?'; p++) {
    char c = *p;
    if(c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
      c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
      p += 2;
    }
    if(o + 1 >= len)
      return false;
    out[o++] = c;
  }
  out[o] = '\0';
  return o > 0;
}

int cli_in_check(enum cli_command cmd, struct send_args *a, char *err,
                 size_t errlen)
{
  struct in_args *in = &a->in;
  const char *name = cmd == CLI_WATCH     ? "watch"
                     : cmd == CLI_FOLDERS ? "folders"
                     : cmd == CLI_APPEND  ? "append"
                                          : "fetch";
  if(!a->server)
    return fail(err, errlen, "--server is required (a URL such as "
                             "imaps://user@host/INBOX, or HOST[:PORT] with "
                             "--protocol)");
  char scheme[16];
  mw_options *probe = mw_options_new();
  if(!probe)
    return fail(err, errlen, "out of memory");
  int proto = in->protocol;
  if(url_scheme(a->server, scheme, sizeof(scheme))) {
    mw_status st = mw_options_set_server_url(probe, a->server);
    mw_protocol p = mw_options_protocol(probe);
    mw_options_free(probe);
    if(st)
      return fail(err, errlen, "--server: '%s' is not a server URL "
                               "(imaps://[user@]host[:port][/mailbox], "
                               "imap://, pop3s://, pop3://; no password in "
                               "it)",
                  a->server);
    if(p == MW_PROTOCOL_SMTP)
      return fail(err, errlen, "--server: %s:// is an SMTP server: %s "
                               "reads mail over IMAP or POP3 (imaps://, "
                               "imap://, pop3s://, pop3://)",
                  scheme, name);
    if(proto >= 0 && proto != (int)p)
      return fail(err, errlen, "--protocol %s contradicts the URL's "
                               "scheme %s://",
                  mw_protocol_name((mw_protocol)proto), scheme);
    proto = (int)p;
    /* The URL's user, unless --user says otherwise. */
    const char *auth = strstr(a->server, "://") + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for(const char *q = auth; q < auth + alen; q++)
      if(*q == '@')
        at = q;
    if(at && !a->user) {
      size_t o = 0;
      for(const char *q = auth; q < at && o + 1 < sizeof(in->url_user);
          q++) {
        char c = *q;
        if(c == '%' && q + 2 < at && hexval(q[1]) >= 0 &&
           hexval(q[2]) >= 0) {
          c = (char)(hexval(q[1]) * 16 + hexval(q[2]));
          q += 2;
        }
        in->url_user[o++] = c;
      }
      in->url_user[o] = '\0';
      a->user = in->url_user;
    }
  }
  else {
    mw_status st = mw_options_set_server_string(probe, a->server);
    mw_options_free(probe);
    if(st)
      return fail(err, errlen, "--server: '%s' is not a URL, HOST, "
                               "HOST:PORT or [IPv6]:PORT (port 1-65535)",
                  a->server);
    if(proto < 0)
      proto = MW_PROTOCOL_IMAP;
  }
  if(proto == MW_PROTOCOL_SMTP)
    return fail(err, errlen, "--protocol smtp: %s reads mail over IMAP or "
                             "POP3 (--protocol imap or pop3)",
                name);
  in->protocol = proto;
  bool imap = proto == MW_PROTOCOL_IMAP;
  if(!imap && (cmd == CLI_FOLDERS || cmd == CLI_APPEND))
    return fail(err, errlen, "mailwire %s needs an IMAP server: POP3 has "
                             "one mailbox and no APPEND",
                name);
  if(!imap && in->mailbox)
    return fail(err, errlen, "--mailbox is for IMAP: a POP3 account has "
                             "one mailbox");
  if(!imap && (in->unseen || in->since))
    return fail(err, errlen, "--%s is for IMAP: POP3 has no flags nor "
                             "arrival dates to search",
                in->unseen ? "unseen" : "since");
  if(in->stores_given > 1)
    return fail(err, errlen, "--maildir, --mbox and --mda exclude each "
                             "other");
  if(cmd == CLI_FETCH && in->store == CLI_STORE_NONE)
    return fail(err, errlen, "say where the messages go: --maildir DIR, "
                             "--mbox FILE or --mda CMD");
  if(cmd == CLI_WATCH && in->exec && in->store != CLI_STORE_NONE)
    return fail(err, errlen, "--exec and --maildir, --mbox or --mda "
                             "exclude each other");
  if(cmd == CLI_WATCH && in->delete_mode == 2 &&
     in->store == CLI_STORE_NONE)
    return fail(err, errlen, "--delete needs a store (--maildir, --mbox or "
                             "--mda): a message is deleted only once it is "
                             "stored");
  if(cmd == CLI_WATCH && !imap)
    return fail(err, errlen, "mailwire watch needs an IMAP server (POP3 "
                             "has no IDLE: run mailwire fetch from a timer "
                             "instead)");
  if(cmd == CLI_APPEND) {
    char mb[512];
    if(!in->mailbox && !cli_in_url_mailbox(a->server, mb, sizeof(mb)))
      return fail(err, errlen, "--mailbox is required (the mailbox to "
                               "append to, e.g. Sent)");
    if(!in->file)
      return fail(err, errlen, "give the message file: mailwire append "
                               "--mailbox NAME FILE (- for standard "
                               "input)");
  }
  return 0;
}
