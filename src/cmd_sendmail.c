/*
 * cmd_sendmail.c - `mailwire sendmail`, and mailwire invoked through a
 * link named sendmail: the interface cron, PHP's mail(), git send-email
 * and monitoring tools call.
 *
 * DESCRIPTION
 *   The message comes on standard input and is spooled to an unlinked
 *   temporary file (memory stays bounded).  Without -i (-oi) a line
 *   holding a single dot ends the message, as sendmail does; standard
 *   input is read to its end either way.  Bcc is removed before sending,
 *   Date and Message-ID are added when absent, and -F gives the display
 *   name of a From header added when the message has none: on the raw
 *   header (sendmail_header.c), so that the message composer (GMime,
 *   GLib) is not loaded.  With -t the recipients are those of To, Cc and
 *   Bcc as well as those of the command line: the composer parses the
 *   message then (mw_compose_set_message_fd), as it does a header
 *   sendmail_header.c leaves to it (see there).
 *
 *   The account: --account/-a NAME when given; else the one whose from
 *   is the -f address, or the message's From address (msmtp's
 *   --read-envelope-from); else the profile's default.  The envelope
 *   sender is -f, else that account's from, else the message's From.
 *   The message then goes through `mailwire send --message`, so the
 *   connection, TLS and authentication rules and the exit codes are
 *   send's (sysexits.h, as sendmail's): 64 usage, 65 bad message,
 *   67 recipient refused, 69 refused, 75 temporary failure (retry),
 *   77 authentication, 78 configuration.  A temporary failure keeps the
 *   message in the outbox (send --queue; cmd_queue.c) and exits 0, as
 *   sendmail does once a message is queued.  Nothing is printed on success
 *   unless -v asks for send's report and the SMTP dialogue.
 *
 *   Common sendmail options without a meaning here are accepted and
 *   ignored, as msmtp does (-bm, -B TYPE, -odi and other -o options,
 *   -G, -U, -n, -m, -h N, -L TAG, -O OPT=VAL); any other option, or a
 *   sendmail mode mailwire does not implement (-bp, -bs, -q, ...), is
 *   refused with 64.
 */
#include "commands.h"
#include "exitcode.h"
#include "profile.h"
#include "sendmail_header.h"

#include "mailwire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Standard input beyond this is refused (65), as send's default. */
#define SENDMAIL_MAX_MESSAGE (25ULL * 1024 * 1024)
#define SENDMAIL_MAX_RCPTS 1000

static const char sendmail_help[] =
    "Usage: mailwire sendmail [-t] [-i|-oi] [-f ADDR] [-F NAME] [-v]\n"
    "                         [-C FILE] [-a|--account NAME] [RCPT...]\n"
    "       sendmail ...   (mailwire run through a link named sendmail)\n"
    "\n"
    "Sends the message read from standard input, as sendmail does, with the\n"
    "server and credentials of a profile account (msmtprc syntax).\n"
    "\n"
    "  -t          also send to the To, Cc and Bcc recipients of the message\n"
    "              (Bcc is removed from the copy sent)\n"
    "  -i, -oi     a line with a single dot does not end the message\n"
    "  -f ADDR     envelope sender (default: the account's from); also picks\n"
    "              the account whose from is ADDR\n"
    "  -F NAME     display name of the From header added when the message\n"
    "              has none\n"
    "  -v          print send's report and the SMTP dialogue (stderr)\n"
    "  -C FILE     read the profile from FILE (default $MAILWIRE_CONFIG, else\n"
    "              $XDG_CONFIG_HOME/mailwire/config)\n"
    "  -a, --account NAME  use this account (default: the one whose from is\n"
    "              -f or the message's From, else the default account)\n"
    "\n"
    "Date and Message-ID are added when absent.  Ignored, as msmtp does:\n"
    "-bm, -B TYPE, -odi and other -o options, -G, -U, -n, -m, -h N, -L TAG,\n"
    "-O OPT=VAL.  Other options are refused (exit 64).\n"
    "\n"
    "A message that cannot go now (4xx, network down, timeout, connection\n"
    "lost) is kept in the outbox (the account's queue_dir, else\n"
    "$XDG_STATE_HOME/mailwire/queue) and the exit status is 0, as sendmail\n"
    "does once a message is queued; `mailwire queue run` sends it later\n"
    "(see mailwire help queue).  Without a usable outbox: 75.\n"
    "\n"
    "Exit status (sysexits.h, as sendmail): 0 sent or queued; 64 usage or no\n"
    "recipient; 65 bad message; 67 recipient refused; 68 host unknown;\n"
    "69 refused by server; 70 internal; 74 local I/O; 75 temporary failure\n"
    "(retry later); 76 protocol error; 77 authentication failed;\n"
    "78 configuration (no profile, no sender, TLS settings).\n";

void cli_print_sendmail_help(FILE *f)
{
  fputs(sendmail_help, f);
}

struct sm_args {
  bool read_rcpts, dot_ok, verbose, help;
  const char *from, *full_name, *config, *account;
  const char *rcpts[SENDMAIL_MAX_RCPTS];
  size_t nrcpts;
};

static int usage(const char *fmt, const char *what)
{
  fprintf(stderr, "mailwire sendmail: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, " (see mailwire help sendmail)\n");
  return EXIT_USAGE;
}

/* "-odi", "-oem", ...: sendmail options with no meaning here. */
static bool ignored_o_option(const char *a)
{
  static const char *const known[] = {
      "-odi", "-odb", "-odq", "-odd", "-oem", "-oee", "-oep", "-oeq",
      "-oew", "-om",  "-oo",  "-os",  "-osFALSE"};
  for(size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    if(strcmp(a, known[i]) == 0)
      return true;
  return false;
}

/* The value of -X: attached ("-fADDR") or the next word. */
static const char *value_of(int argc, char **argv, int *i)
{
  if(argv[*i][2])
    return argv[*i] + 2;
  if(*i + 1 < argc)
    return argv[++*i];
  return NULL;
}

static int parse(int argc, char **argv, struct sm_args *a)
{
  bool options = true;
  for(int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if(!options || arg[0] != '-' || !arg[1]) {
      if(a->nrcpts == SENDMAIL_MAX_RCPTS)
        return usage("more than %s recipients", "1000");
      a->rcpts[a->nrcpts++] = arg;
      continue;
    }
    if(strcmp(arg, "--") == 0) {
      options = false;
      continue;
    }
    if(strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      a->help = true;
      continue;
    }
    if(strcmp(arg, "--account") == 0 || strncmp(arg, "--account=", 10) == 0 ||
       strcmp(arg, "--config") == 0 || strncmp(arg, "--config=", 9) == 0) {
      bool acc = arg[2] == 'a';
      const char *eq = strchr(arg, '=');
      const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
      if(!v)
        return usage("option '%s' needs a value", arg);
      *(acc ? &a->account : &a->config) = v;
      continue;
    }
    if(arg[1] == '-')
      return usage("unknown option '%s'", arg);
    const char *v;
    switch(arg[1]) {
    case 't':
    case 'i':
    case 'v':
    case 'G':
    case 'U':
    case 'n':
    case 'm':
      if(arg[2])
        return usage("unknown option '%s'", arg);
      if(arg[1] == 't')
        a->read_rcpts = true;
      else if(arg[1] == 'i')
        a->dot_ok = true;
      else if(arg[1] == 'v')
        a->verbose = true;
      break;
    case 'o':
      if(strcmp(arg, "-oi") == 0)
        a->dot_ok = true;
      else if(!ignored_o_option(arg))
        return usage("unknown option '%s'", arg);
      break;
    case 'b':
      if(strcmp(arg, "-bm") != 0)
        return usage("'%s': mailwire sendmail only sends a message (-bm); "
                     "it has no queue, daemon or test mode",
                     arg);
      break;
    case 'f':
    case 'r': /* -r: sendmail's old spelling of -f */
    case 'F':
    case 'C':
    case 'a':
    case 'B':
    case 'h':
    case 'L':
    case 'O':
      v = value_of(argc, argv, &i);
      if(!v)
        return usage("option '%s' needs a value", arg);
      if(arg[1] == 'f' || arg[1] == 'r')
        a->from = v;
      else if(arg[1] == 'F')
        a->full_name = v;
      else if(arg[1] == 'C')
        a->config = v;
      else if(arg[1] == 'a')
        a->account = v;
      break;
    default:
      return usage("unknown option '%s'", arg);
    }
  }
  return 0;
}

/* Standard input into fd.  Without dot_ok a line holding only "." ends
 * the message (the rest is read and dropped).  Returns 0, or an exit
 * code with the reason printed. */
static int spool_stdin(int fd, bool dot_ok, unsigned long long *total)
{
  FILE *out = fdopen(dup(fd), "wb");
  if(!out) {
    fprintf(stderr, "mailwire sendmail: cannot spool the message: %s\n",
            strerror(errno));
    return EXIT_IOERR;
  }
  /* at_bol: at the start of a line; dots: a "." read there, kept back
   * until we know whether the line is the lone dot ("." then "\r"?
   * then "\n"). */
  bool at_bol = true, ended = false;
  int held = 0; /* 1: "." held; 2: ".\r" held */
  int ch;
  unsigned long long n = 0;
  while((ch = getchar()) != EOF) {
    if(ended)
      continue; /* read to the end, as sendmail's callers expect */
    if(!dot_ok && held) {
      if(ch == '\n') {
        ended = true;
        continue;
      }
      if(ch == '\r' && held == 1) {
        held = 2;
        continue;
      }
      fputs(held == 1 ? "." : ".\r", out);
      n += (unsigned)held;
      held = 0;
    }
    if(!dot_ok && at_bol && ch == '.') {
      held = 1;
      at_bol = false;
      continue;
    }
    at_bol = ch == '\n';
    putc(ch, out);
    if(++n > SENDMAIL_MAX_MESSAGE)
      break;
  }
  if(held && !ended) {
    fputs(held == 1 ? "." : ".\r", out);
    n += (unsigned)held;
  }
  bool read_err = ferror(stdin);
  int werr = ferror(out);
  if(fclose(out) != 0)
    werr = 1;
  *total = n;
  if(n > SENDMAIL_MAX_MESSAGE) {
    fprintf(stderr, "mailwire sendmail: the message is larger than %llu "
                    "bytes; nothing was sent\n",
            SENDMAIL_MAX_MESSAGE);
    return EXIT_DATAERR;
  }
  if(read_err || werr) {
    fprintf(stderr, "mailwire sendmail: cannot %s the message\n",
            read_err ? "read" : "spool");
    return EXIT_IOERR;
  }
  return 0;
}

static int temp_file(char *path, size_t len)
{
  const char *dir = getenv("TMPDIR");
  snprintf(path, len, "%s/mailwire-sendmail-XXXXXX",
           dir && *dir ? dir : "/tmp");
  int fd = mkstemp(path);
  if(fd < 0)
    fprintf(stderr, "mailwire sendmail: cannot create a temporary file in "
                    "%s: %s\n",
            dir && *dir ? dir : "/tmp", strerror(errno));
  return fd;
}

/* "NAME <addr>" with NAME quoted (RFC 5322 quoted-string). */
static void display_mailbox(const char *name, const char *addr, char *out,
                            size_t len)
{
  size_t n = 0;
  out[n++] = '"';
  for(const char *p = name; *p && n + 3 < len; p++) {
    if(*p == '"' || *p == '\\')
      out[n++] = '\\';
    out[n++] = *p;
  }
  out[n] = '\0';
  snprintf(out + n, len - n, "\" <%s>", addr);
}

int cmd_sendmail(int argc, char **argv)
{
  struct sm_args *a = calloc(1, sizeof(*a));
  if(!a)
    return EXIT_SOFTWARE;
  int code = parse(argc, argv, a);
  if(code || a->help) {
    if(a->help)
      fputs(sendmail_help, stdout);
    free(a);
    return code;
  }
  char spool_path[4096] = "", out_path[4096] = "";
  int spool = -1, outfd = -1;
  mw_compose *c = NULL;
  struct sm_header hdr;
  bool have_hdr = false;
  char *found_account = NULL;
  struct profile prof;
  bool have_prof = false;
  char err[1024];
  char **words = NULL;
  int nwords = 0;
  /* The message first: sendmail's callers write it and wait. */
  spool = temp_file(spool_path, sizeof(spool_path));
  if(spool < 0) {
    code = EXIT_IOERR;
    goto done;
  }
  unlink(spool_path);
  unsigned long long total = 0;
  code = spool_stdin(spool, a->dot_ok, &total);
  if(code)
    goto done;
  /* Without -t the header is fixed up as it is, without the composer,
   * when it is plain fields (sendmail_header.c); else the composer. */
  bool raw = false;
  if(!a->read_rcpts) {
    int r = sm_header_read(spool, &hdr);
    if(r < 0) {
      fprintf(stderr, "mailwire sendmail: cannot read the message: %s\n",
              strerror(errno));
      code = EXIT_IOERR;
      goto done;
    }
    raw = r == 0;
    have_hdr = raw;
    /* A From to add with a -F name that needs encoding: the composer. */
    for(const char *p = a->full_name; raw && !hdr.has_from && p && *p; p++)
      if((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
        raw = false;
  }
  mw_status st = MW_OK;
  if(!raw) {
    if(!(c = mw_compose_new())) {
      code = EXIT_SOFTWARE;
      goto done;
    }
    lseek(spool, 0, SEEK_SET);
    st = mw_compose_set_message_fd(c, spool);
    if(st) {
      fprintf(stderr, "mailwire sendmail: %s\n",
              st == MW_E_NOMEM ? "out of memory"
                               : mw_compose_error_message(c));
      code = st == MW_E_NOMEM ? EXIT_SOFTWARE : EXIT_DATAERR;
      goto done;
    }
  }
  if(!total)
    fprintf(stderr, "mailwire sendmail: warning: the message is empty\n");
  const char *sender = raw ? (hdr.sender[0] ? hdr.sender : NULL)
                           : mw_compose_sender(c);
  /* The account: given, or the one whose from is -f or the From. */
  const char *key = a->from ? a->from : sender;
  const char *account = a->account;
  if(!account && key && *key) {
    found_account = profile_account_for_address(a->config, key);
    account = found_account;
  }
  int rc = profile_load(a->config, account, &prof, err, sizeof(err));
  if(rc != 0) {
    fprintf(stderr, "mailwire sendmail: %s\n",
            rc < 0 ? err
                   : "no profile: sendmail mode takes the server from an "
                     "account (-C FILE, $MAILWIRE_CONFIG or "
                     "$XDG_CONFIG_HOME/mailwire/config)");
    code = EXIT_CONFIG;
    goto done;
  }
  have_prof = true;
  const char *envfrom = a->from;
  if(!envfrom)
    envfrom = profile_get(&prof, "from");
  if(!envfrom)
    envfrom = sender;
  if(!envfrom) {
    fprintf(stderr, "mailwire sendmail: no sender: give -f ADDR, a From "
                    "header, or from in the account '%s'\n",
            prof.name);
    code = EXIT_CONFIG;
    goto done;
  }
  if(strcmp(envfrom, "<>") == 0)
    envfrom = "";
  char addr[400] = "";
  const char *why = NULL;
  if(*envfrom &&
     mw_mailbox_check(envfrom, addr, sizeof(addr), &why) != MW_MAILBOX_OK) {
    fprintf(stderr, "mailwire sendmail: sender '%s' is not an address: "
                    "%s\n",
            envfrom, why);
    code = EXIT_DATAERR;
    goto done;
  }
  char mailbox[800] = "";
  if(*addr) {
    if(a->full_name)
      display_mailbox(a->full_name, addr, mailbox, sizeof(mailbox));
    else
      snprintf(mailbox, sizeof(mailbox), "%s", addr);
    /* Added only if the message has none. */
    if(raw && !hdr.has_from &&
       mw_mailbox_check(mailbox, NULL, 0, &why) != MW_MAILBOX_OK) {
      fprintf(stderr, "mailwire sendmail: -F: the From address '%s' %s\n",
              mailbox, why);
      code = EXIT_DATAERR;
      goto done;
    }
    st = raw ? MW_OK : mw_compose_set_from(c, mailbox);
    if(st) {
      fprintf(stderr, "mailwire sendmail: -F: %s\n",
              mw_compose_error_message(c));
      code = EXIT_DATAERR;
      goto done;
    }
  }
  size_t nheader = a->read_rcpts ? mw_compose_recipient_count(c) : 0;
  if(!a->nrcpts && !nheader) {
    fprintf(stderr, "mailwire sendmail: no recipients: name them on the "
                    "command line, or give -t to take them from To, Cc "
                    "and Bcc\n");
    code = EXIT_USAGE;
    goto done;
  }
  /* The copy sent: Bcc removed, Date and Message-ID added. */
  outfd = temp_file(out_path, sizeof(out_path));
  if(outfd < 0) {
    code = EXIT_IOERR;
    goto done;
  }
  if(raw) {
    if(sm_header_write(&hdr, spool, outfd, *addr ? mailbox : NULL,
                       sender ? sender : addr)) {
      fprintf(stderr, "mailwire sendmail: cannot write the message: %s\n",
              strerror(errno));
      code = EXIT_IOERR;
      goto done;
    }
  }
  else if((st = mw_compose_write_fd(c, outfd))) {
    fprintf(stderr, "mailwire sendmail: %s\n", mw_compose_error_message(c));
    code = st == MW_E_MESSAGE ? EXIT_DATAERR : EXIT_IOERR;
    goto done;
  }
  size_t cap = 16 + 2 * (a->nrcpts + nheader);
  words = calloc(cap, sizeof(*words));
  if(!words) {
    code = EXIT_SOFTWARE;
    goto done;
  }
  words[nwords++] = "--from";
  words[nwords++] = addr;
  for(size_t i = 0; i < a->nrcpts; i++) {
    words[nwords++] = "--to";
    words[nwords++] = (char *)a->rcpts[i];
  }
  for(size_t i = 0; i < nheader; i++) {
    words[nwords++] = "--to";
    words[nwords++] = (char *)mw_compose_recipient(c, i);
  }
  words[nwords++] = "--message";
  words[nwords++] = out_path;
  if(a->config) {
    words[nwords++] = "-C";
    words[nwords++] = (char *)a->config;
  }
  words[nwords++] = "--account";
  words[nwords++] = prof.name;
  if(a->verbose)
    words[nwords++] = "--trace";
  /* A temporary failure keeps the message in the outbox (exit 0, as
   * sendmail's callers expect once the message is accepted). */
  words[nwords++] = "--queue";
  cli_queue_optional = true;
  /* send's report goes to stdout; sendmail is silent unless -v.  Errors
   * stay on stderr. */
  fflush(stdout);
  int saved = a->verbose ? -1 : dup(STDOUT_FILENO);
  int null = a->verbose ? -1 : open("/dev/null", O_WRONLY | O_CLOEXEC);
  if(null >= 0)
    dup2(null, STDOUT_FILENO);
  code = cmd_send(nwords, words);
  fflush(stdout);
  if(saved >= 0) {
    dup2(saved, STDOUT_FILENO);
    close(saved);
  }
  if(null >= 0)
    close(null);

done:
  if(outfd >= 0) {
    unlink(out_path);
    close(outfd);
  }
  mw_compose_free(c);
  if(have_hdr)
    sm_header_free(&hdr);
  if(spool >= 0)
    close(spool);
  if(have_prof)
    profile_free(&prof);
  free(found_account);
  free(words);
  free(a);
  return code;
}
