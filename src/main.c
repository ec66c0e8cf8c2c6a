/*
 * main.c - the `mailwire` command: argument dispatch and the send flow.
 *
 * The CLI uses only include/mailwire.h.  It prints; the library never does.
 */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "output.h"
#include "secrets.h"
#include "profile.h"
#include "settings.h"
#include "send_compose.h"
#include "send_progress.h"
#include "cmd_bulk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char main_help[] =
    "Usage: mailwire COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  send       send a message over SMTP (mailwire send --help)\n"
    "  doctor     find why a connection fails, and the fix\n"
    "  probe      find the port and TLS mode that work, all at once\n"
    "  explain    what an SMTP reply code means (mailwire explain 535)\n"
    "  config show [--account NAME] [-C FILE]   the effective profile\n"
    "  sendmail   sendmail-compatible: the message on standard input\n"
    "  queue      the outbox: list, run, show ID, drop ID (send --queue)\n"
    "  shell      talk to an SMTP, POP3 or IMAP server by hand, or script it\n"
    "\n"
    "Incoming mail (IMAP, POP3):\n"
    "  fetch      download new messages into a Maildir, an mbox or an MDA\n"
    "  watch      wait for new messages (IMAP IDLE) and print, run or store\n"
    "  folders    list the IMAP mailboxes with their counts\n"
    "  append     store a message file into an IMAP mailbox (e.g. Sent)\n"
    "\n"
    "Every command but explain reads account profiles (msmtprc syntax) from\n"
    "-C FILE, $MAILWIRE_CONFIG or $XDG_CONFIG_HOME/mailwire/config;\n"
    "--account NAME picks one.  Command-line options override the profile.\n"
    "  help CMD   show the help of a command\n"
    "\n"
    "Options: --help, --version\n";

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static mw_status file_read(void *user, char *buf, size_t len, size_t *got)
{
  FILE *f = user;
  *got = fread(buf, 1, len, f);
  return ferror(f) ? MW_E_IO : MW_OK;
}

/* "26214400 bytes (25M)" */
static void describe_size(unsigned long long n, char *out, size_t len)
{
  static const struct {
    unsigned shift;
    char unit;
  } units[] = {{30, 'G'}, {20, 'M'}, {10, 'K'}};
  for(size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if(n >= (1ULL << units[i].shift) &&
       n % (1ULL << units[i].shift) == 0) {
      snprintf(out, len, "%llu bytes (%llu%c)", n, n >> units[i].shift,
               units[i].unit);
      return;
    }
  snprintf(out, len, "%llu bytes", n);
}

/* Reading --message.  A regular file (named, or standard input redirected
 * from one) is scanned where it is: its size is fixed.  Standard input
 * from a pipe, a FIFO or a device is copied to a temporary file while it
 * is scanned, and never more than a cap: --max-message-size when given;
 * otherwise 25M, and when that much has come without an end, the server
 * is asked (connect, EHLO) and its SIZE limit becomes the cap (no SIZE
 * announced: the 25M stand).  Small messages, the usual case, are thus
 * read whole before any connection is held open.  The scan itself stops
 * at the first line over 998 bytes, so /dev/zero ends at once. */
struct msg_source {
  FILE *in;
  FILE *spool;   /* NULL: a regular file, read in place */
  unsigned long long total, cap;
  bool explicit_cap;   /* --max-message-size given */
  bool cap_is_server;  /* cap came from the server's SIZE */
  bool over;           /* more than cap bytes */
  bool read_failed, write_failed;
  int errno_saved;
  /* connecting early, to learn the server's SIZE */
  mw_smtp *s;
  bool connected; /* mw_smtp_connect was called */
  mw_status connect_st;
  double t0, connect_ms;
};

static mw_status source_read(void *user, char *buf, size_t len, size_t *got)
{
  struct msg_source *m = user;
  *got = fread(buf, 1, len, m->in);
  if(ferror(m->in)) {
    m->read_failed = true;
    m->errno_saved = errno;
    return MW_E_IO;
  }
  if(!m->spool)
    return MW_OK;
  if(m->total + *got > m->cap && !m->explicit_cap && !m->connected &&
     m->s) {
    m->connected = true;
    m->connect_st = mw_smtp_connect(m->s);
    m->connect_ms = now_ms() - m->t0;
    if(m->connect_st)
      return MW_E_IO;
    unsigned long long limit = mw_smtp_size_limit(m->s);
    if(limit) {
      m->cap = limit;
      m->cap_is_server = true;
    }
  }
  if(m->total + *got > m->cap) {
    m->over = true;
    return MW_E_IO;
  }
  m->total += *got;
  if(*got && fwrite(buf, 1, *got, m->spool) != *got) {
    m->write_failed = true;
    m->errno_saved = errno;
    return MW_E_IO;
  }
  return MW_OK;
}

/* A regular file up to this size is read once, whole (issue 13: it was
 * scanned, then read again while sent): scanned in memory and sent from
 * there.  A larger one is scanned where it is and read again while it
 * goes (the scan must finish before MAIL FROM: SIZE=, BODY=, SMTPUTF8 and
 * the 998-byte limit), so memory stays bounded whatever its size. */
#define CLI_MESSAGE_IN_MEMORY_MAX (1024 * 1024)

/* The len bytes of fd from off, in a new buffer (pread: the offset is
 * left where it is).  NULL with *changed when the file no longer holds
 * len bytes there (it grew or shrank since fstat: the caller reads it as
 * a stream instead), NULL with errno on a read error or OOM. */
static char *read_whole(int fd, off_t off, size_t len, bool *changed)
{
  char *buf = malloc(len + 1);
  size_t got = 0;
  *changed = false;
  while(buf && got <= len) {
    ssize_t n = pread(fd, buf + got, len + 1 - got, off + (off_t)got);
    if(n < 0 && errno == EINTR)
      continue;
    if(n < 0) {
      int saved = errno;
      free(buf);
      errno = saved;
      return NULL;
    }
    if(n == 0)
      break;
    got += (size_t)n;
  }
  if(buf && got != len) {
    *changed = true;
    free(buf);
    return NULL;
  }
  return buf;
}

/* Opens and scans --message into *out and *info.  Returns 0; -1 when
 * connecting on the way failed (m->connect_st, the session's error); or
 * an exit code with a message in err.  m->connected tells whether the
 * session was connected on the way.  A small regular file is read into
 * *mem (the caller frees it after closing *out, which reads from it) and
 * *raw is the file itself, positioned at the message's start (for
 * cli_fit_7bit(), which hands GMime a descriptor); otherwise both NULL. */
static int open_message(const char *path, struct msg_source *m,
                        FILE **out, FILE **raw, char **mem,
                        mw_message_info *info, char *err, size_t errlen)
{
  *raw = NULL;
  *mem = NULL;
  bool is_stdin = strcmp(path, "-") == 0;
  char name[600];
  if(is_stdin)
    snprintf(name, sizeof(name), "standard input");
  else
    snprintf(name, sizeof(name), "'%.500s'", path);
  m->in = is_stdin ? stdin : fopen(path, "rb");
  if(!m->in) {
    snprintf(err, errlen, "--message: cannot read %s: %s", name,
             strerror(errno));
    return EXIT_NOINPUT;
  }
  /* A regular file (stdin redirected from one too) is scanned where it
   * is, from where it stands, and read again from there. */
  struct stat st;
  bool regular = fstat(fileno(m->in), &st) == 0 && S_ISREG(st.st_mode);
  off_t start = regular ? ftello(m->in) : 0;
  if(start < 0) {
    regular = false;
    start = 0;
  }
  int code = EXIT_OK;
  if(!regular && !(m->spool = tmpfile())) {
    snprintf(err, errlen, "cannot create a temporary file for %s: %s", name,
             strerror(errno));
    code = EXIT_IOERR;
  }
  char *whole = NULL;
  size_t whole_len = 0;
  mw_status scan = MW_OK;
  bool streamed = !code;
  if(!code && regular && st.st_size > start &&
     st.st_size - start <= CLI_MESSAGE_IN_MEMORY_MAX) {
    bool changed;
    whole_len = (size_t)(st.st_size - start);
    whole = read_whole(fileno(m->in), start, whole_len, &changed);
    if(whole) {
      mw_message_info_scan(info, whole, whole_len);
      scan = info->long_line ? MW_E_MESSAGE : MW_OK;
      streamed = false;
    }
    else if(!changed) {
      m->read_failed = true;
      m->errno_saved = errno;
      scan = MW_E_IO;
      streamed = false;
    }
  }
  if(streamed)
    scan = mw_message_info_scan_reader(info, source_read, m);
  char limit[64];
  describe_size(m->cap, limit, sizeof(limit));
  if(code)
    ; /* no temporary file: reported above */
  else if(m->connected && m->connect_st) {
    code = -1; /* the caller reports the connection's error */
  }
  else if(scan == MW_E_MESSAGE) {
    snprintf(err, errlen, "--message: %s: line %llu is longer than 998 "
                          "bytes (RFC 5321 section 4.5.3.1.6): encode the "
                          "body as quoted-printable or base64; nothing was "
                          "sent",
             name, (unsigned long long)info->long_line);
    code = EXIT_DATAERR;
  }
  else if(m->over) {
    if(m->cap_is_server)
      snprintf(err, errlen, "--message: %s is larger than the server's "
                            "SIZE limit of %s; nothing was sent",
               name, limit);
    else if(m->explicit_cap)
      snprintf(err, errlen, "--message: %s is larger than the limit of %s "
                            "set by --max-message-size; nothing was sent",
               name, limit);
    else
      snprintf(err, errlen, "--message: %s is larger than the default limit "
                            "of %s and the server announced no SIZE limit "
                            "(--max-message-size SIZE raises it); nothing "
                            "was sent",
               name, limit);
    code = EXIT_DATAERR;
  }
  else if(scan) {
    snprintf(err, errlen, "--message: cannot %s %s: %s",
             m->write_failed ? "spool" : "read", name,
             strerror(m->errno_saved));
    code = EXIT_IOERR;
  }
  FILE *f = regular ? m->in : m->spool;
  if(!code && whole) {
    f = fmemopen(whole, whole_len, "rb");
    if(!f) {
      snprintf(err, errlen, "--message: cannot read %s: %s", name,
               strerror(errno));
      code = EXIT_IOERR;
    }
  }
  else if(!code && fseeko(f, regular ? start : 0, SEEK_SET) != 0) {
    snprintf(err, errlen, "--message: cannot rewind %s: %s", name,
             strerror(errno));
    code = EXIT_IOERR;
  }
  if(!code && whole) {
    *raw = m->in; /* pread left it at the start */
    *mem = whole;
  }
  else
    free(whole);
  if(!is_stdin && (code || !regular))
    fclose(m->in);
  if(code && m->spool)
    fclose(m->spool);
  m->in = m->spool = NULL;
  *out = code ? NULL : f;
  return code;
}

/* "Alice <alice@example.org>" -> "alice@example.org" in out, by the same
 * rule the composer applies to the header (mw_mailbox_check), so the
 * envelope carries exactly the mailbox the header shows.  NULL when fine,
 * else why not. */
static const char *envelope_address(const char *arg, char *out, size_t len)
{
  const char *why = "address missing";
  if(mw_mailbox_check(arg, out, len, &why) == MW_MAILBOX_OK)
    return NULL;
  return why;
}

/* An error before any connection: on stderr, and as JSON on stdout with
 * --json. */
static bool send_json;

static int fail_with(int code, const char *msg)
{
  return output_early_error("send", send_json, code, msg);
}

static int build_envelope(const struct send_args *a, mw_envelope *e,
                          char *err, size_t errlen)
{
  char addr[400];
  const char *why = NULL;
  /* "" is the null reverse-path (the envelope only). */
  if(a->from[0])
    why = envelope_address(a->from, addr, sizeof(addr));
  if(!why && mw_envelope_set_from(e, a->from[0] ? addr : ""))
    why = "not a valid envelope address";
  if(why) {
    snprintf(err, errlen, "--from: '%s' is not a valid address: %s",
             a->from, why);
    return EXIT_DATAERR;
  }
  const struct cli_list *lists[] = {&a->to, &a->cc, &a->bcc};
  const char *names[] = {"--to", "--cc", "--bcc"};
  for(size_t l = 0; l < 3; l++) {
    for(size_t i = 0; i < lists[l]->count; i++) {
      const char *v = lists[l]->items[i];
      why = envelope_address(v, addr, sizeof(addr));
      if(!why && mw_envelope_add_recipient(e, addr))
        why = "not a valid envelope address";
      if(why) {
        snprintf(err, errlen, "%s: '%s' is not a valid address: %s",
                 names[l], v, why);
        return EXIT_DATAERR;
      }
    }
  }
  /* DSN (every recipient gets --dsn-notify and its own ORCPT) and
   * REQUIRETLS: the library refuses, exit 80, when the server cannot. */
  if((a->dsn_notify || a->dsn_ret || a->envid) &&
     mw_envelope_set_dsn(e, a->dsn_notify, a->dsn_ret, a->envid)) {
    snprintf(err, errlen, "--dsn-notify, --dsn-ret or --envid: invalid");
    return EXIT_USAGE;
  }
  if(a->requiretls)
    mw_envelope_set_requiretls(e, true);
  return EXIT_OK;
}

/* Splits --account/-C out of argv, loads the profile they name (or the
 * default file), and returns profile words followed by the remaining
 * words (the command line wins over the profile).  0, or an exit code
 * with a message printed. */
int cli_apply_profile(const char *cmd, int argc, char **argv, char ***out,
                      int *outc)
{
  int nprofile = 0;
  return cli_apply_profile_split(cmd, argc, argv, out, outc, &nprofile);
}

int cli_apply_profile_split(const char *cmd, int argc, char **argv,
                            char ***out, int *outc, int *nprofile)
{
  const char *account = NULL, *config = NULL;
  bool json = cli_wants_json(argc, argv);
  char **rest = calloc((size_t)argc + 1, sizeof(*rest));
  int nrest = 0;
  if(!rest)
    return EXIT_SOFTWARE;
  for(int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    const char *value = NULL;
    if(strcmp(a, "--account") == 0 || strcmp(a, "-C") == 0 ||
       strcmp(a, "--config") == 0) {
      slot = a[2] == 'a' ? &account : &config;
      if(i + 1 >= argc) {
        char msg[200];
        snprintf(msg, sizeof(msg), "option '%s' needs a value", a);
        free(rest);
        return output_early_error(cmd, json, EXIT_USAGE, msg);
      }
      value = argv[++i];
    }
    else if(strncmp(a, "--account=", 10) == 0) {
      slot = &account;
      value = a + 10;
    }
    else if(strncmp(a, "--config=", 9) == 0) {
      slot = &config;
      value = a + 9;
    }
    else if(strncmp(a, "--password-value", 16) == 0) {
      free(rest);
      return output_early_error(cmd, json, EXIT_USAGE,
                                "unknown option '--password-value'");
    }
    if(slot) {
      *slot = value;
      continue;
    }
    rest[nrest++] = argv[i];
  }
  struct profile prof;
  char err[1024];
  int rc = profile_load(config, account, &prof, err, sizeof(err));
  if(rc < 0) {
    free(rest);
    return output_early_error(cmd, json, EXIT_CONFIG, err);
  }
  char **words = NULL;
  int nwords = 0;
  if(rc == 0) {
    if(profile_to_words(&prof, &words, &nwords, err, sizeof(err))) {
      profile_free(&prof);
      free(rest);
      return output_early_error(cmd, json, EXIT_CONFIG, err);
    }
    profile_free(&prof);
  }
  /* doctor tests the envelope only with --to: a profile's from alone is
   * not a request for that test. */
  bool cli_to = false;
  for(int i = 0; i < nrest; i++)
    cli_to = cli_to || strcmp(rest[i], "--to") == 0 ||
             strncmp(rest[i], "--to=", 5) == 0;
  /* An incoming account (protocol imap or pop3) is not one to send with;
   * its mailbox and store options are for fetch and watch only. */
  bool incoming_cmd = strcmp(cmd, "fetch") == 0 ||
                      strcmp(cmd, "watch") == 0 ||
                      strcmp(cmd, "folders") == 0 ||
                      strcmp(cmd, "append") == 0;
  for(int i = 0; !incoming_cmd && i < nwords; i++) {
    enum cli_command c = strcmp(cmd, "send") == 0    ? CLI_SEND
                         : strcmp(cmd, "shell") == 0 ? CLI_SHELL
                                                     : CLI_DOCTOR;
    if(strcmp(cmd, "send") == 0 && strcmp(words[i], "--protocol") == 0) {
      char msg[300];
      snprintf(msg, sizeof(msg), "the account is one to read mail from "
                                 "(protocol %s): use mailwire fetch, or "
                                 "another account to send",
               i + 1 < nwords ? words[i + 1] : "?");
      profile_words_free(words, nwords);
      free(rest);
      return output_early_error(cmd, json, EXIT_CONFIG, msg);
    }
    bool has_value = false;
    if(!cli_option_takes(CLI_ANY, words[i], &has_value))
      continue; /* not an option (a value): never here */
    if(strcmp(cmd, "probe") == 0 || cli_option_takes(c, words[i], NULL)) {
      i += has_value; /* kept, and its value with it */
      continue;
    }
    int span = has_value && i + 1 < nwords ? 2 : 1;
    for(int j = 0; j < span; j++) {
      memset(words[i + j], 0, strlen(words[i + j]));
      free(words[i + j]);
    }
    memmove(&words[i], &words[i + span],
            (size_t)(nwords - i - span) * sizeof(*words));
    nwords -= span;
    i--;
  }
  /* Nor does a profile's message size limit apply to doctor (it sends
   * no message). */
  if(strcmp(cmd, "doctor") == 0) {
    for(int i = 0; i + 1 < nwords; i++) {
      bool drop = strcmp(words[i], "--max-message-size") == 0 ||
                  (!cli_to && strcmp(words[i], "--from") == 0);
      if(!drop)
        continue;
      free(words[i]);
      free(words[i + 1]);
      memmove(&words[i], &words[i + 2],
              (size_t)(nwords - i - 2) * sizeof(*words));
      nwords -= 2;
      i--;
    }
  }
  char **all = calloc((size_t)(nwords + nrest) + 1, sizeof(*all));
  if(!all) {
    profile_words_free(words, nwords);
    free(rest);
    return EXIT_SOFTWARE;
  }
  for(int i = 0; i < nwords; i++)
    all[i] = words[i]; /* ownership moves to all */
  free(words);
  for(int i = 0; i < nrest; i++)
    all[nwords + i] = strdup(rest[i]);
  free(rest);
  *out = all;
  *outc = nwords + nrest;
  *nprofile = nwords;
  return 0;
}

void cli_free_words(char **words, int n)
{
  profile_words_free(words, n);
}

static int cmd_send_words(int argc, char **argv, int cmdc, char **cmdv);

int cmd_send(int argc, char **argv)
{
  char **words = NULL;
  int n = 0;
  send_json = cli_wants_json(argc, argv);
  int rc = cli_apply_profile("send", argc, argv, &words, &n);
  if(rc)
    return rc;
  rc = cmd_send_words(n, words, argc, argv);
  cli_free_words(words, n);
  return rc;
}

/* The proxy URL of a without its user:password, for display. */
static void proxy_display(const char *url, char *buf, size_t len)
{
  const char *scheme_end = strstr(url, "://");
  const char *at = scheme_end ? strrchr(scheme_end, '@') : NULL;
  if(!at)
    snprintf(buf, len, "%s", url);
  else
    snprintf(buf, len, "%.*s%s", (int)(scheme_end + 3 - url), url, at + 1);
}

/* argv/argc: the words after the profile's; cmdv/cmdc: the command line
 * as typed (for the `mailwire doctor ...` line). */
static int cmd_send_words(int argc, char **argv, int cmdc, char **cmdv)
{
  struct send_args *a = calloc(1, sizeof(*a));
  char err[1024];
  if(!a)
    return fail_with(EXIT_SOFTWARE, "out of memory");
  if(cli_parse_send(argc, argv, a, err, sizeof(err))) {
    cli_args_free(a);
    return fail_with(EXIT_USAGE, err);
  }
  if(a->help) {
    cli_print_help(stdout, CLI_SEND);
    cli_args_free(a);
    return EXIT_OK;
  }
  if(a->bulk) { /* many messages: cmd_bulk.c */
    int rc = cli_send_bulk(a);
    cli_args_free(a);
    return rc;
  }
  if(mw_global_init() != MW_OK) {
    cli_args_free(a);
    return fail_with(EXIT_SOFTWARE, "library initialisation failed");
  }
  double t0 = now_ms();
  int code = EXIT_OK;
  char *password = NULL, *token = NULL;
  mw_compose *comp = NULL;
  FILE *msg_file = NULL, *msg_raw = NULL;
  char *msg_mem = NULL;
  mw_options *o = mw_options_new();
  mw_envelope *env = mw_envelope_new();
  mw_smtp *s = NULL;
  mw_result *res = NULL;
  if(!o || !env) {
    code = fail_with(EXIT_SOFTWARE, "out of memory");
    goto done;
  }
  if(a->trace && !a->trace_file)
    mw_options_set_trace(o, output_trace, stderr);
  code = cli_build_options(a, o, &password, &token, err, sizeof(err));
  if(!code)
    code = build_envelope(a, env, err, sizeof(err));
  /* A bar on a terminal while a large message goes (send_progress.h);
   * not over --trace's lines. */
  struct cli_progress bar;
  cli_progress_attach(&bar, o, a->json || a->trace);
  if(!code) {
    s = mw_smtp_new(o);
    if(!s) {
      snprintf(err, sizeof(err), "out of memory");
      code = EXIT_SOFTWARE;
    }
  }
  mw_message_info info;
  struct msg_source src = {
      .cap = a->max_message_size ? a->max_message_size
                                 : CLI_DEFAULT_MAX_MESSAGE_SIZE,
      .explicit_cap = a->max_message_size != 0,
      .s = s,
      .t0 = t0};
  if(!code && a->message_file) {
    code = open_message(a->message_file, &src, &msg_file, &msg_raw,
                        &msg_mem, &info, err, sizeof(err));
  }
  else if(!code) {
    code = cli_compose(a, &comp, &info, err, sizeof(err));
  }
  struct queue_stash *qs = calloc(1, sizeof(*qs));
  if(!qs && !code) {
    snprintf(err, sizeof(err), "out of memory");
    code = EXIT_SOFTWARE;
  }
  if(!code && a->queue) {
    code = queue_stash(qs, a->queue_dir, msg_file, comp, cmdc, cmdv, err,
                       sizeof(err));
    /* sendmail mode without an outbox (no HOME...): sent as before. */
    if(code && cli_queue_optional)
      code = 0;
  }
  if(code > 0) {
    fail_with(code, err);
    if(src.connected)
      mw_smtp_quit(s);
    free(qs);
    goto done;
  }

  const mw_error *e = NULL;
  double connect_ms = src.connect_ms;
  mw_status st = src.connected ? src.connect_st : mw_smtp_connect(s);
  if(!src.connected)
    connect_ms = now_ms() - t0;
  if(st) {
    e = mw_smtp_error(s);
    code = exitcode_for_error(e);
  }
  else {
    /* no 8BITMIME: 7-bit (GMime reads the file itself) */
    cli_fit_7bit(s, msg_raw ? msg_raw : msg_file, &comp, &info);
    /* One message a run: QUIT goes with its end (one round trip less);
     * mw_smtp_quit() below reads the 221. */
    mw_smtp_quit_after_send(s);
    if(!comp)
      st = mw_smtp_send(s, env, &info, file_read, msg_file, &res);
    else
      st = mw_smtp_send(s, env, &info, mw_compose_read, comp, &res);
    cli_progress_clear(&bar);
    if(st) {
      e = mw_smtp_error(s);
      code = exitcode_for_error(e);
    }
    else {
      code = exitcode_for_result(res);
    }
  }
  memset(&cli_last_send, 0, sizeof(cli_last_send));
  cli_last_send.status = e ? mw_error_status(e) : MW_OK;
  cli_last_send.session = e != NULL;
  cli_last_send.queueable = cli_error_is_queueable(e);
  if(e)
    snprintf(cli_last_send.reason, sizeof(cli_last_send.reason), "%s",
             mw_error_message(e));
  else if(code && res) {
    /* The message went, to some recipients: name the others. */
    cli_last_send.partly_sent = true;
    size_t used = (size_t)snprintf(cli_last_send.reason,
                                   sizeof(cli_last_send.reason),
                                   "accepted for some recipients only; "
                                   "refused:");
    for(size_t i = 0; i < mw_result_recipient_count(res); i++) {
      if(mw_result_recipient_accepted(res, i) ||
         used >= sizeof(cli_last_send.reason))
        continue;
      used += (size_t)snprintf(cli_last_send.reason + used,
                               sizeof(cli_last_send.reason) - used,
                               " %s (%d)", mw_result_recipient(res, i),
                               mw_result_recipient_code(res, i));
    }
  }
  /* send --queue: kept in the outbox when it cannot go now. */
  char queued_id[OUTBOX_ID_MAX] = "";
  if(qs->active) {
    if(code && cli_error_is_queueable(e)) {
      snprintf(queued_id, sizeof(queued_id), "%s", qs->e.id);
      if(queue_keep(qs, mw_error_status(e) == MW_E_DELIVERY_UNKNOWN,
                    mw_error_message(e), err, sizeof(err))) {
        fprintf(stderr, "mailwire send: cannot keep the message in the "
                        "outbox: %s\n",
                err);
        queued_id[0] = '\0';
      }
    }
    else
      queue_discard(qs);
  }
  free(qs);
  /* Report the send error before QUIT clears the session's error. */
  char hostbuf[300];
  snprintf(hostbuf, sizeof(hostbuf), "%s", a->server);
  {
    char *colon = hostbuf[0] == '[' ? strchr(hostbuf, ']') : hostbuf;
    colon = colon ? strchr(colon, ':') : NULL;
    if(colon)
      *colon = '\0';
  }
  /* The session knows the port and mode in use (auto, detect). */
  unsigned port = mw_smtp_port(s);
  mw_tls_mode eff = mw_smtp_tls_mode(s);
  char proxybuf[600] = "", doctor[2048] = "";
  if(a->proxy)
    proxy_display(a->proxy, proxybuf, sizeof(proxybuf));
  /* A failed session ends with the doctor command that diagnoses it (not
   * for a message the server cannot take, nor a local failure). */
  if(e && mw_error_category(e) != MW_CAT_MESSAGE &&
     mw_error_category(e) != MW_CAT_LOCAL) {
    /* The mode in use when the user chose one (--tls detect: what it
     * found; doctor finds the mode itself and refuses detect). */
    const char *mode = NULL;
    if(a->tls_mode == MW_TLS_DETECT)
      mode = eff == MW_TLS_DETECT || eff == MW_TLS_AUTO
                 ? "auto"
                 : mw_tls_mode_name(eff);
    else if(a->tls_mode != MW_TLS_AUTO)
      mode = mw_tls_mode_name(a->tls_mode);
    char bare[300];
    snprintf(bare, sizeof(bare), "%s", hostbuf + (hostbuf[0] == '['));
    if(hostbuf[0] == '[' && strchr(bare, ']'))
      *strchr(bare, ']') = '\0';
    cli_doctor_line(cmdc, cmdv, bare, port, mode, doctor, sizeof(doctor));
  }
  struct send_report rep = {.host = hostbuf,
                            .proxy = a->proxy ? proxybuf : NULL,
                            .doctor_command = doctor[0] ? doctor : NULL,
                            .port = port,
                            .tls_mode = mw_tls_mode_name(eff),
                            .session = s,
                            .result = res,
                            .error = e,
                            .exit_code = code,
                            .connect_ms = connect_ms};
  rep.total_ms = now_ms() - t0;
  if(queued_id[0] && a->json) {
    printf("{\"status\":\"queued\",\"exit_code\":0,\"id\":");
    output_json_string(stdout, queued_id);
    printf(",\"reason\":");
    output_json_string(stdout, mw_error_message(e));
    printf("}\n");
  }
  else if(a->json)
    output_send_json(stdout, &rep);
  else
    output_send_human(stdout, stderr, &rep);
  if(queued_id[0]) {
    if(!a->json)
      printf("queued as %s (mailwire queue run sends it)\n", queued_id);
    code = EXIT_OK;
  }
  mw_smtp_quit(s);

done:
  mw_result_free(res);
  mw_smtp_free(s);
  mw_envelope_free(env);
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  mw_compose_free(comp);
  if(msg_file)
    fclose(msg_file);
  if(msg_raw)
    fclose(msg_raw);
  free(msg_mem);
  cli_args_free(a);
  mw_global_cleanup();
  return code;
}

int main(int argc, char **argv)
{
  /* Through a link named sendmail: sendmail's command line. */
  const char *base = argc ? strrchr(argv[0], '/') : NULL;
  base = base ? base + 1 : argc ? argv[0] : "";
  if(strcmp(base, "sendmail") == 0)
    return cmd_sendmail(argc - 1, argv + 1);
  if(argc < 2) {
    fputs(main_help, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if(strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("mailwire %s\n", mw_version());
    return EXIT_OK;
  }
  if(strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    fputs(main_help, stdout);
    return EXIT_OK;
  }
  if(strcmp(cmd, "help") == 0) {
    char help[] = "--help";
    char *words[] = {help, NULL};
    if(argc == 2)
      fputs(main_help, stdout);
    else if(argc > 3) {
      fprintf(stderr, "mailwire help: give one command (send, doctor, "
                      "probe, explain, config, fetch, watch, folders, "
                      "append, sendmail)\n");
      return EXIT_USAGE;
    }
    else if(strcmp(argv[2], "send") == 0)
      cli_print_help(stdout, CLI_SEND);
    else if(strcmp(argv[2], "doctor") == 0)
      cli_print_help(stdout, CLI_DOCTOR);
    else if(strcmp(argv[2], "probe") == 0)
      cli_print_help(stdout, CLI_PROBE);
    else if(strcmp(argv[2], "explain") == 0)
      return cmd_explain(1, words);
    else if(strcmp(argv[2], "fetch") == 0)
      cli_print_help(stdout, CLI_FETCH);
    else if(strcmp(argv[2], "watch") == 0)
      cli_print_help(stdout, CLI_WATCH);
    else if(strcmp(argv[2], "folders") == 0)
      cli_print_help(stdout, CLI_FOLDERS);
    else if(strcmp(argv[2], "append") == 0)
      cli_print_help(stdout, CLI_APPEND);
    else if(strcmp(argv[2], "config") == 0)
      return cmd_config(1, words);
    else if(strcmp(argv[2], "sendmail") == 0)
      cli_print_sendmail_help(stdout);
    else if(strcmp(argv[2], "queue") == 0)
      cli_print_queue_help(stdout);
    else if(strcmp(argv[2], "shell") == 0)
      cli_print_help(stdout, CLI_SHELL);
    else {
      fprintf(stderr, "mailwire help: no command '%s' (send, doctor, probe, "
                      "explain, config, fetch, watch, folders, append, "
                      "sendmail)\n",
              argv[2]);
      return EXIT_USAGE;
    }
    return EXIT_OK;
  }
  if(strcmp(cmd, "send") == 0)
    return cmd_send(argc - 2, argv + 2);
  if(strcmp(cmd, "doctor") == 0)
    return cmd_doctor(argc - 2, argv + 2);
  if(strcmp(cmd, "probe") == 0)
    return cmd_probe(argc - 2, argv + 2);
  if(strcmp(cmd, "explain") == 0)
    return cmd_explain(argc - 2, argv + 2);
  if(strcmp(cmd, "config") == 0)
    return cmd_config(argc - 2, argv + 2);
  if(strcmp(cmd, "fetch") == 0)
    return cmd_fetch(argc - 2, argv + 2);
  if(strcmp(cmd, "watch") == 0)
    return cmd_watch(argc - 2, argv + 2);
  if(strcmp(cmd, "folders") == 0)
    return cmd_folders(argc - 2, argv + 2);
  if(strcmp(cmd, "append") == 0)
    return cmd_append(argc - 2, argv + 2);
  if(strcmp(cmd, "sendmail") == 0)
    return cmd_sendmail(argc - 2, argv + 2);
  if(strcmp(cmd, "queue") == 0)
    return cmd_queue(argc - 2, argv + 2);
  if(strcmp(cmd, "shell") == 0)
    return cmd_shell(argc - 2, argv + 2);
  fprintf(stderr, "mailwire: unknown command '%s'\n%s", cmd, main_help);
  return EXIT_USAGE;
}
