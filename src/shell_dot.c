/*
 * shell_dot.c - the dot commands of `mailwire shell` (see cmd_shell.c):
 * .auth (a SASL exchange through the library's driver, the password asked
 * for without echo), .data (SMTP DATA with dot-stuffing), .tls, .trace,
 * .explain, .doctor, .expect, .help and .quit.
 */
#include "exitcode.h"
#include "flags.h"
#include "secrets.h"
#include "shell.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Exit status of a failed .expect (cmd_shell.c's header). */
#define SH_EXIT_EXPECT 1

static const char dot_help[] =
    ".auth MECH [USER]   authenticate: plain, login, cram-md5, "
    "scram-sha-256,\n"
    "                    xoauth2 (the password or token is asked for "
    "without echo,\n"
    "                    unless --password-* or --oauth2-token-cmd gives "
    "it)\n"
    ".data [FILE]        SMTP: DATA, then FILE (or the lines typed up to a "
    "lone \".\"),\n"
    "                    dot-stuffed, then the final reply\n"
    ".tls                the TLS version, cipher and the server's "
    "certificate\n"
    ".trace on|off       the library's trace on stderr (secrets redacted)\n"
    ".explain            what the last reply means (mailwire explain)\n"
    ".doctor             run mailwire doctor with this session's settings\n"
    ".expect CODE        check the last reply: 250, 2xx, +OK, -ERR, OK, NO,"
    " BAD, +\n"
    "                    (in a script a failure ends the session, exit 1)\n"
    ".quit               QUIT (LOGOUT for IMAP) and end\n"
    "IMAP: tags are added; {} in a line is replaced by the size of the "
    "lines that\n"
    "follow up to a lone \".\", {@FILE} by FILE's; the bytes go after the "
    "go-ahead.\n"
    "LOGIN USER (IMAP) and PASS (POP3) without a password ask for it "
    "without echo.";

/* ---- .auth -------------------------------------------------------------- */

static void auth_show(void *user, bool from_server, const char *line,
                      size_t len)
{
  struct shell *sh = user;
  if(from_server)
    sh_show_server(sh, line, len);
  else
    shio_line(SHIO_SENT, line, len);
}

static bool dot_auth(struct shell *sh, const char *args)
{
  char mech[40] = "", user[256] = "";
  if(sscanf(args, "%39s %255s", mech, user) < 1)
    return sh_step_failed(sh, EXIT_USAGE,
                          ".auth MECH [USER]: plain, login, cram-md5, "
                          "scram-sha-256 or xoauth2");
  bool oauth =
      !strcasecmp(mech, "xoauth2") || !strcasecmp(mech, "oauthbearer");
  const char *who = user[0] ? user : sh->a->user;
  char *typed_user = NULL;
  bool external = !strcasecmp(mech, "external");
  if(!who && !external) {
    if(!shio_interactive())
      return sh_step_failed(sh, EXIT_USAGE,
                            "no user name: .auth %s USER, or --user", mech);
    typed_user = shio_read(NULL, "Username: ");
    if(!typed_user)
      return true;
    who = typed_user;
  }
  if(!mw_conn_is_encrypted(sh->c) && !sh->a->allow_insecure_auth) {
    free(typed_user);
    return sh_step_failed(sh, EXIT_CONFIG,
                          "not sent: the connection is not encrypted (type "
                          "%s first, or start the shell with "
                          "--allow-insecure-auth)",
                          sh->proto == MW_PROTOCOL_POP3 ? "STLS"
                                                        : "STARTTLS");
  }
  char *secret = NULL;
  if(external)
    secret = strdup(""); /* the client certificate is the credential */
  else if(oauth)
    secret = sh->token ? strdup(sh->token) : shio_secret("Access token: ");
  else
    secret = sh->password ? strdup(sh->password) : shio_secret("Password: ");
  if(!secret) {
    free(typed_user);
    return sh_step_failed(
        sh, EXIT_USAGE, "no %s: give %s, or run the shell on a terminal to "
                        "be asked",
        oauth ? "token" : "password",
        oauth ? "--oauth2-token-cmd"
              : "--password-env, --password-file or --password-cmd");
  }
  const char *tag = NULL;
  if(sh->proto == MW_PROTOCOL_IMAP)
    tag = sh_next_tag(sh);
  sh_reply_reset(sh);
  const char *used = NULL;
  mw_status st = mw_conn_authenticate(
      sh->c, mech, who, oauth || external ? NULL : secret,
      oauth ? secret : NULL, tag, auth_show, sh, &used);
  secret_free(secret);
  /* The status of the last reply, for .expect. */
  const char *last = sh->reply ? strrchr(sh->reply, '\n') : NULL;
  last = last ? last + 1 : sh->reply ? sh->reply : "";
  if(sh->proto == MW_PROTOCOL_SMTP)
    snprintf(sh->status, sizeof(sh->status), "%.3s", last);
  else {
    if(tag && !strncmp(last, tag, strlen(tag)) && last[strlen(tag)] == ' ')
      last += strlen(tag) + 1;
    size_t n = 0;
    while(last[n] && last[n] != ' ' && n + 1 < sizeof(sh->status)) {
      sh->status[n] = (char)toupper((unsigned char)last[n]);
      n++;
    }
    sh->status[n] = '\0';
  }
  bool go_on = true;
  if(!st)
    shio_printf(SHIO_NOTE, "authenticated as %s with %s",
                who ? who : "the certificate's identity", used);
  else if(!mw_conn_is_open(sh->c))
    sh_conn_failed(sh);
  else
    go_on = sh_step_failed(
        sh, exitcode_for_error(mw_conn_error(sh->c)), ".auth %s: %s", mech,
        cli_text(mw_error_message(mw_conn_error(sh->c))));
  free(typed_user);
  return go_on && mw_conn_is_open(sh->c);
}

/* ---- .data -------------------------------------------------------------- */

struct stuffer {
  struct shell *sh;
  char buf[16384];
  size_t n;
  bool bol; /* at the beginning of a line */
  bool cr;  /* the last byte was CR */
  bool failed;
};

static void stuff_flush(struct stuffer *s)
{
  if(!s->n || s->failed)
    return;
  if(mw_conn_send_data(s->sh->c, s->buf, s->n)) {
    s->failed = true;
    sh_conn_failed(s->sh);
  }
  s->n = 0;
}

static void stuff_put(struct stuffer *s, char c)
{
  if(s->n == sizeof(s->buf))
    stuff_flush(s);
  s->buf[s->n++] = c;
}

/* Message bytes out with CRLF line ends and a dot doubled at the start of
 * a line (RFC 5321 4.5.2). */
static void stuff(struct stuffer *s, const char *data, size_t len)
{
  for(size_t i = 0; i < len && !s->failed; i++) {
    char c = data[i];
    if(c == '\n') {
      if(!s->cr)
        stuff_put(s, '\r');
      stuff_put(s, '\n');
      s->bol = true;
      s->cr = false;
      continue;
    }
    if(s->bol && c == '.')
      stuff_put(s, '.');
    stuff_put(s, c);
    s->bol = false;
    s->cr = c == '\r';
  }
}

static bool dot_data(struct shell *sh, const char *args)
{
  if(sh->proto != MW_PROTOCOL_SMTP)
    return sh_step_failed(sh, EXIT_USAGE, ".data is for SMTP (IMAP: APPEND "
                                          "with {} or {@FILE})");
  FILE *f = NULL;
  char *block = NULL;
  size_t blen = 0;
  if(*args) {
    f = fopen(args, "rb");
    if(!f)
      return sh_step_failed(sh, EXIT_NOINPUT, "cannot read '%s': %s", args,
                            strerror(errno));
  }
  else {
    if(shio_interactive())
      shio_printf(SHIO_NOTE, "type the message; a line with a lone \".\" "
                             "ends it");
    block = sh_read_block(sh, &blen);
    if(!block)
      return sh_step_failed(sh, EXIT_USAGE,
                            "the input ended before the lone \".\"");
  }
  bool go_on = true;
  if(!sh_send(sh, "DATA", -1, NULL, true)) {
    go_on = false;
    goto done;
  }
  enum sh_wait w = sh_wait_reply(sh, false);
  if(w == SH_GONE) {
    go_on = false;
    goto done;
  }
  if(strcmp(sh->status, "354"))
    goto done; /* refused: nothing of the message was sent */
  struct stuffer *s = calloc(1, sizeof(*s));
  if(!s) {
    go_on = false;
    goto done;
  }
  s->sh = sh;
  s->bol = true;
  size_t total = 0;
  if(f) {
    char chunk[8192];
    size_t got;
    while((got = fread(chunk, 1, sizeof(chunk), f)) > 0 && !s->failed) {
      stuff(s, chunk, got);
      total += got;
    }
  }
  else {
    stuff(s, block, blen);
    total = blen;
  }
  if(!s->bol)
    stuff(s, "\n", 1);
  stuff_put(s, '.');
  stuff_put(s, '\r');
  stuff_put(s, '\n');
  stuff_flush(s);
  bool failed = s->failed;
  free(s);
  if(failed) {
    go_on = false;
    goto done;
  }
  shio_printf(SHIO_NOTE, "sent %zu bytes of message (dot-stuffed) and "
                         "\".\"",
              total);
  go_on = sh_wait_reply(sh, false) != SH_GONE;
done:
  if(f)
    fclose(f);
  free(block);
  return go_on && mw_conn_is_open(sh->c);
}

/* ---- the others --------------------------------------------------------- */

static void dot_tls(struct shell *sh)
{
  if(!mw_conn_is_encrypted(sh->c)) {
    shio_printf(SHIO_NOTE, "not encrypted (type %s to start TLS)",
                sh->proto == MW_PROTOCOL_POP3 ? "STLS" : "STARTTLS");
    return;
  }
  shio_printf(SHIO_NOTE, "protocol     %s", mw_conn_tls_version(sh->c));
  shio_printf(SHIO_NOTE, "cipher       %s", mw_conn_tls_cipher(sh->c));
  shio_printf(SHIO_NOTE, "subject      %s", mw_conn_peer_subject(sh->c));
  shio_printf(SHIO_NOTE, "issuer       %s", mw_conn_peer_issuer(sh->c));
  shio_printf(SHIO_NOTE, "names        %s", mw_conn_peer_names(sh->c));
  shio_printf(SHIO_NOTE, "expires      %s", mw_conn_peer_not_after(sh->c));
  shio_printf(SHIO_NOTE, "sha256       %s", mw_conn_peer_fingerprint(sh->c));
  shio_printf(SHIO_NOTE, "chain        %s", mw_conn_peer_chain(sh->c));
}

static void dot_explain(struct shell *sh)
{
  if(!sh->reply || !sh->reply[0]) {
    shio_printf(SHIO_NOTE, "no reply yet to explain");
    return;
  }
  /* SMTP: the reply as a whole; POP3 and IMAP: its last line (the
   * status), without our tag. */
  const char *text = sh->reply;
  if(sh->proto != MW_PROTOCOL_SMTP) {
    const char *nl = strrchr(text, '\n');
    text = nl ? nl + 1 : text;
  }
  mw_explanation x;
  if(mw_explain(text, &x) != MW_OK) {
    shio_printf(SHIO_NOTE, "the last reply carries no code to explain");
    return;
  }
  if(x.code)
    shio_printf(SHIO_NOTE, "reply %d%s%s (%s)", x.code,
                x.enhanced[0] ? " " : "",
                x.enhanced, x.temporary ? "temporary" : "permanent");
  else if(x.response_code[0])
    shio_printf(SHIO_NOTE, "%s [%s] (%s)", x.protocol, x.response_code,
                x.temporary ? "temporary" : "permanent");
  shio_printf(SHIO_NOTE, "meaning: %s", cli_text(x.meaning));
  if(x.advice)
    shio_printf(SHIO_NOTE, "advice:  %s", cli_text(x.advice));
  if(x.provider)
    shio_printf(SHIO_NOTE, "provider: %s", x.provider);
}

static void dot_doctor(struct shell *sh)
{
  shio_printf(SHIO_NOTE, "running the doctor with this session's "
                         "settings...");
  mw_report *r = NULL;
  mw_status st = mw_doctor_run(sh->o, NULL, NULL, &r);
  if(st) {
    shio_printf(SHIO_ERROR, "the doctor could not run: %s",
                mw_status_message(st));
    return;
  }
  for(size_t i = 0; i < mw_report_check_count(r); i++)
    shio_printf(SHIO_NOTE, "%-7s %-12s %s",
                mw_check_status_name(mw_report_check_status(r, i)),
                mw_report_check_layer(r, i),
                cli_text(mw_report_check_evidence(r, i)));
  shio_printf(SHIO_NOTE, "%s", cli_text(mw_report_summary(r)));
  const char *fix = mw_report_fix(r);
  if(fix && *fix)
    shio_printf(SHIO_NOTE, "fix: %s", cli_text(fix));
  mw_report_free(r);
}

bool sh_expect_matches(const struct shell *sh, const char *code)
{
  const char *st = sh->status;
  size_t n = strlen(code);
  if(!n || !st[0])
    return false;
  /* "2xx", "2XX", "2" and "25x": a class of SMTP codes. */
  if(isdigit((unsigned char)code[0])) {
    if(strlen(st) != 3 || n > 3)
      return false;
    for(size_t i = 0; i < n; i++)
      if(code[i] != 'x' && code[i] != 'X' && code[i] != st[i])
        return false;
    return true;
  }
  return strcasecmp(code, st) == 0;
}

static bool dot_expect(struct shell *sh, const char *args)
{
  char code[16] = "";
  if(sscanf(args, "%15s", code) != 1) {
    shio_printf(SHIO_ERROR, ".expect CODE: 250, 2xx, +OK, -ERR, OK, NO, "
                            "BAD or +");
    if(!shio_interactive())
      sh->code = EXIT_USAGE;
    return shio_interactive();
  }
  if(sh_expect_matches(sh, code)) {
    if(shio_interactive())
      shio_printf(SHIO_NOTE, "expected %s: ok", code);
    return true;
  }
  /* The line that carries the status: POP3's first, else the last. */
  char shown[256] = "";
  const char *r = sh->reply ? sh->reply : "";
  const char *last = strrchr(r, '\n');
  last = sh->proto == MW_PROTOCOL_POP3 || !last ? r : last + 1;
  snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(last, "\n"), last);
  last = shown;
  if(shio_interactive()) {
    shio_printf(SHIO_ERROR, "expected %s, got %s", code,
                sh->status[0] ? sh->status : "no reply");
    return true;
  }
  fflush(stdout);
  fprintf(stderr,
          "mailwire shell: %s line %u: expected %s, got %s%s%.200s%s\n",
          sh->in_name, sh->lineno, code,
          sh->status[0] ? sh->status : "no complete reply",
          last[0] ? " (\"" : "", last, last[0] ? "\")" : "");
  sh->code = SH_EXIT_EXPECT;
  return false;
}

bool sh_dot(struct shell *sh, const char *line)
{
  char name[16] = "";
  size_t n = 0;
  while(line[n] && line[n] != ' ' && n + 1 < sizeof(name)) {
    name[n] = line[n];
    n++;
  }
  name[n] = '\0';
  const char *args = line + strlen(name);
  while(*args == ' ')
    args++;
  if(!strcmp(name, ".auth"))
    return dot_auth(sh, args);
  if(!strcmp(name, ".data"))
    return dot_data(sh, args);
  if(!strcmp(name, ".expect"))
    return dot_expect(sh, args);
  if(!strcmp(name, ".tls"))
    dot_tls(sh);
  else if(!strcmp(name, ".trace")) {
    if(!strcmp(args, "on") || !strcmp(args, "off"))
      sh->trace_on = !strcmp(args, "on");
    shio_printf(SHIO_NOTE, "trace %s", sh->trace_on ? "on" : "off");
  }
  else if(!strcmp(name, ".explain"))
    dot_explain(sh);
  else if(!strcmp(name, ".doctor"))
    dot_doctor(sh);
  else if(!strcmp(name, ".help"))
    shio_printf(SHIO_NOTE, "%s", dot_help);
  else if(!strcmp(name, ".quit")) {
    char l[64];
    if(sh->proto == MW_PROTOCOL_IMAP)
      snprintf(l, sizeof(l), "%s LOGOUT", sh_next_tag(sh));
    else
      snprintf(l, sizeof(l), "QUIT");
    sh->quitting = true;
    if(sh_send(sh, l, -1, NULL, true))
      sh_wait_reply(sh, false);
    return false;
  }
  else {
    return sh_step_failed(sh, EXIT_USAGE, "no command '%s' (.help lists "
                                          "them)",
                          name);
  }
  return true;
}
