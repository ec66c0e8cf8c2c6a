/*
 * cmd_shell.c - `mailwire shell URL|HOST[:PORT]` (issue 15): an
 * interactive session with an SMTP, POP3 or IMAP server over the
 * library's line session (mw_conn: the same connection set-up, TLS policy,
 * proxies and SASL driver as send and fetch).
 *
 * DESCRIPTION
 *   Lines are sent as typed, with CRLF, and the reply is read to its end
 *   as the protocol frames it (SMTP: the line with "ddd "; POP3: the
 *   status line, and for RETR, TOP, CAPA, LIST and UIDL without argument
 *   the lines up to "."; IMAP: untagged lines and literals up to the
 *   tagged completion, or a "+" continuation), each line shown as it
 *   comes.  Lines that arrive between commands are shown before the next
 *   prompt.  What the shell adds:
 *   - IMAP tags (A0001, ...); a continuation line (after "+") goes
 *     without one;
 *   - IMAP literals: "{}" in a line is replaced by the size of the lines
 *     that follow up to a lone "." (CRLF-joined), "{@FILE}" by FILE's;
 *     the shell waits for the go-ahead and sends the bytes;
 *   - STARTTLS (SMTP, IMAP) and STLS (POP3): after the server's yes, the
 *     injection check and the handshake (mw_conn_starttls()), then EHLO,
 *     CAPABILITY or CAPA again;
 *   - LOGIN USER (IMAP) and PASS (POP3) typed without the password: it is
 *     asked for without echo (or taken from --password-*).
 *
 *   Secrets (see README "mailwire shell"): a password asked for is never
 *   echoed; one typed on a LOGIN, PASS, APOP, AUTH or AUTHENTICATE line,
 *   or as the answer to an AUTH challenge, is masked on the screen (the
 *   typed line is rewritten, on a terminal), redacted in the trace and
 *   cut out of every server line, and that line never enters the
 *   history.  Credentials are not sent over plaintext unless
 *   --allow-insecure-auth.  What is not masked: a secret typed inside
 *   another command, or in message data.
 *
 * DIAGNOSTICS
 *   Exit status: 0 the session ended (input ended, or the server closed
 *   after QUIT/LOGOUT); 1 an .expect check failed (stderr names the line);
 *   64 usage; a connection, TLS or authentication failure as fetch
 *   (exitcode_for_error()).
 */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "output.h"
#include "secrets.h"
#include "settings.h"
#include "shell.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit status of a failed .expect (the message names the line). */
#define SH_EXIT_EXPECT 1

static void sh_trace(void *user, mw_trace_kind kind, double ms,
                     const char *text)
{
  struct shell *sh = user;
  if(sh->trace_on)
    output_trace(stderr, kind, ms, text);
}

const char *sh_prompt(const struct shell *sh)
{
  if(sh->data)
    return "data> ";
  if(sh->cont)
    return "+> ";
  return sh->proto == MW_PROTOCOL_IMAP   ? "imap> "
         : sh->proto == MW_PROTOCOL_POP3 ? "pop3> "
                                         : "smtp> ";
}

/* ---- replies ----------------------------------------------------------- */

void sh_reply_reset(struct shell *sh)
{
  sh->reply_len = 0;
  if(sh->reply)
    sh->reply[0] = '\0';
  sh->status[0] = '\0';
}

static void reply_add(struct shell *sh, const char *line, size_t len)
{
  if(sh->reply_len + len + 2 > 16384)
    return;
  char *r = realloc(sh->reply, sh->reply_len + len + 2);
  if(!r)
    return;
  sh->reply = r;
  if(sh->reply_len)
    r[sh->reply_len++] = '\n';
  memcpy(r + sh->reply_len, line, len);
  sh->reply_len += len;
  r[sh->reply_len] = '\0';
}

/* The word at p (up to a blank), upper-cased into out. */
static void word_upper(const char *p, size_t len, char *out, size_t cap)
{
  size_t n = 0;
  while(n < len && n + 1 < cap && p[n] != ' ') {
    out[n] = (char)toupper((unsigned char)p[n]);
    n++;
  }
  out[n] = '\0';
}

static enum shio_kind classify(const struct shell *sh, const char *l,
                               size_t n)
{
  if(n >= 1 && l[0] == '+' && (n == 1 || l[1] == ' '))
    return SHIO_OK;
  if(sh->proto == MW_PROTOCOL_SMTP) {
    if(n >= 3 && isdigit((unsigned char)l[0]))
      return l[0] == '2' || l[0] == '3' ? SHIO_OK : SHIO_BAD;
    return SHIO_PLAIN;
  }
  if(sh->proto == MW_PROTOCOL_POP3) {
    if(n >= 3 && !memcmp(l, "+OK", 3))
      return SHIO_OK;
    if(n >= 4 && !memcmp(l, "-ERR", 4))
      return SHIO_BAD;
    return SHIO_PLAIN;
  }
  const char *sp = memchr(l, ' ', n);
  if(!sp)
    return SHIO_PLAIN;
  char w[8];
  word_upper(sp + 1, n - (size_t)(sp + 1 - l), w, sizeof(w));
  if(!strcmp(w, "OK"))
    return SHIO_OK;
  if(!strcmp(w, "NO") || !strcmp(w, "BAD") || !strcmp(w, "BYE"))
    return SHIO_BAD;
  return SHIO_PLAIN;
}

void sh_show_server(struct shell *sh, const char *line, size_t len)
{
  shio_line(classify(sh, line, len), line, len);
  reply_add(sh, line, len);
}

void sh_conn_failed(struct shell *sh)
{
  const mw_error *e = mw_conn_error(sh->c);
  if(mw_error_status(e) == MW_E_CLOSED && sh->quitting) {
    shio_printf(SHIO_NOTE, "the server closed the connection");
    sh->code = EXIT_OK;
    return;
  }
  shio_printf(SHIO_ERROR, "%s", cli_text(mw_error_message(e)));
  /* A refusal that left the connection as it was (a line with a CR in
   * it, STARTTLS twice) is not the session's end. */
  if(!mw_conn_is_open(sh->c))
    sh->code = exitcode_for_error(e);
}

bool sh_step_failed(struct shell *sh, int code, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  shio_printf(SHIO_ERROR, "%s", msg);
  if(shio_interactive())
    return true;
  fflush(stdout);
  fprintf(stderr, "mailwire shell: %s line %u: %s\n", sh->in_name,
          sh->lineno, msg);
  sh->code = code;
  sh->stop = true;
  return false;
}

/* Reads one line; false when the connection is gone (reported) or on a
 * timeout (*timeout set). */
static bool read_line(struct shell *sh, unsigned ms, const char **l,
                      size_t *n, bool *timeout)
{
  *timeout = false;
  mw_status st = mw_conn_read_line(sh->c, ms, l, n);
  if(!st)
    return true;
  if(st == MW_E_TIMEOUT) {
    *timeout = true;
    return false;
  }
  sh_conn_failed(sh);
  return false;
}

/* Shows a literal's bytes line by line as they come. */
struct lit_show {
  char buf[4096];
  size_t n;
};

static void lit_flush(struct lit_show *s)
{
  size_t n = s->n;
  if(n && s->buf[n - 1] == '\r')
    n--;
  shio_line(SHIO_PLAIN, s->buf, n);
  s->n = 0;
}

static mw_status lit_write(void *user, const char *data, size_t len)
{
  struct lit_show *s = user;
  for(size_t i = 0; i < len; i++) {
    if(data[i] == '\n') {
      lit_flush(s);
      continue;
    }
    if(s->n == sizeof(s->buf))
      lit_flush(s);
    s->buf[s->n++] = data[i];
  }
  return MW_OK;
}

/* The size of the literal a line ends with ("{123}", "{123+}"), or -1. */
static long long literal_size(const char *l, size_t n)
{
  if(n < 3 || l[n - 1] != '}')
    return -1;
  size_t i = n - 1;
  if(i && l[i - 1] == '+')
    i--;
  size_t end = i;
  while(i && isdigit((unsigned char)l[i - 1]))
    i--;
  if(i == end || !i || l[i - 1] != '{' || end - i > 12)
    return -1;
  return strtoll(l + i, NULL, 10);
}

/* An IMAP server line (shown), then the literal it announces, and so on
 * while the response goes on.  false when the connection is gone. */
static bool imap_show_response(struct shell *sh, const char *l, size_t n,
                               unsigned ms)
{
  for(;;) {
    sh_show_server(sh, l, n);
    long long size = literal_size(l, n);
    if(size < 0)
      return true;
    struct lit_show ls = {.n = 0};
    mw_status st = mw_conn_read_literal(sh->c, (uint64_t)size, ms,
                                        lit_write, &ls);
    if(ls.n)
      lit_flush(&ls);
    if(st) {
      sh_conn_failed(sh);
      return false;
    }
    bool timeout;
    if(!read_line(sh, ms, &l, &n, &timeout)) {
      if(timeout)
        shio_printf(SHIO_ERROR, "the response did not go on after a "
                                "literal within %.1f s",
                    ms / 1000.0);
      return !timeout;
    }
  }
}

static bool is_pop3_multi(const char *verb, const char *args)
{
  if(!strcmp(verb, "RETR") || !strcmp(verb, "TOP") || !strcmp(verb, "CAPA"))
    return true;
  return (!strcmp(verb, "LIST") || !strcmp(verb, "UIDL")) && !*args;
}

enum sh_wait sh_wait_reply(struct shell *sh, bool pop3_multi)
{
  sh_reply_reset(sh);
  unsigned ms = sh->timeout_ms;
  bool timeout = false;
  const char *l;
  size_t n;
  for(;;) {
    if(!read_line(sh, ms, &l, &n, &timeout))
      break;
    if(sh->proto == MW_PROTOCOL_SMTP) {
      sh_show_server(sh, l, n);
      if(n >= 4 && l[3] == '-')
        continue;
      snprintf(sh->status, sizeof(sh->status), "%.3s", l);
      return SH_DONE;
    }
    if(l[0] == '+' && (n == 1 || l[1] == ' ') &&
       (sh->proto == MW_PROTOCOL_IMAP || !sh->status[0])) {
      sh_show_server(sh, l, n);
      snprintf(sh->status, sizeof(sh->status), "+");
      return SH_CONT;
    }
    if(sh->proto == MW_PROTOCOL_POP3) {
      sh_show_server(sh, l, n);
      if(sh->status[0]) { /* a multi-line body */
        if(n == 1 && l[0] == '.')
          return SH_DONE;
        continue;
      }
      word_upper(l, n, sh->status, sizeof(sh->status));
      if(!pop3_multi || strcmp(sh->status, "+OK"))
        return SH_DONE;
      continue;
    }
    /* IMAP */
    size_t tl = strlen(sh->tag);
    bool tagged = tl && n > tl && !memcmp(l, sh->tag, tl) && l[tl] == ' ';
    if(!imap_show_response(sh, l, n, ms))
      return SH_GONE;
    if(tagged) {
      word_upper(l + tl + 1, n - tl - 1, sh->status, sizeof(sh->status));
      return SH_DONE;
    }
    if(!tl) { /* the greeting: one line, "* OK ..." */
      if(n > 2 && l[0] == '*' && l[1] == ' ')
        word_upper(l + 2, n - 2, sh->status, sizeof(sh->status));
      return SH_DONE;
    }
  }
  if(!timeout)
    return SH_GONE;
  shio_printf(SHIO_ERROR, "no complete reply within %.1f s (lines that "
                          "come later are shown before the next prompt)",
              ms / 1000.0);
  return SH_TIMEOUT;
}

/* Shows what arrived between commands. */
static bool drain(struct shell *sh)
{
  const char *l;
  size_t n;
  bool timeout;
  while(mw_conn_is_open(sh->c)) {
    if(!read_line(sh, 0, &l, &n, &timeout))
      return timeout;
    if(sh->proto == MW_PROTOCOL_IMAP) {
      if(!imap_show_response(sh, l, n, sh->timeout_ms))
        return false;
    }
    else {
      sh_show_server(sh, l, n);
    }
  }
  return false;
}

/* The editor's watch: the server sent something while the prompt shows. */
static bool server_ready(void *user)
{
  struct shell *sh = user;
  drain(sh);
  return mw_conn_is_open(sh->c);
}

/* ---- sending ------------------------------------------------------------ */

const char *sh_next_tag(struct shell *sh)
{
  snprintf(sh->tag, sizeof(sh->tag), "A%04u", ++sh->tagn);
  return sh->tag;
}

bool sh_send(struct shell *sh, const char *line, int secret_from,
             const char *shown, bool show)
{
  if(show)
    shio_line(SHIO_SENT, shown ? shown : line, strlen(shown ? shown : line));
  if(mw_conn_send_line(sh->c, line, secret_from)) {
    sh_conn_failed(sh);
    return false;
  }
  return true;
}

char *sh_read_block(struct shell *sh, size_t *len)
{
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if(!buf)
    return NULL;
  for(;;) {
    char *l = shio_read(sh->in, "data> ");
    if(!l) {
      free(buf);
      return NULL;
    }
    sh->lineno++;
    if(!strcmp(l, ".")) {
      free(l);
      break;
    }
    size_t ll = strlen(l);
    if(n + ll + 3 > cap) {
      while(n + ll + 3 > cap)
        cap *= 2;
      char *b = realloc(buf, cap);
      if(!b) {
        free(l);
        free(buf);
        return NULL;
      }
      buf = b;
    }
    memcpy(buf + n, l, ll);
    memcpy(buf + n + ll, "\r\n", 2);
    n += ll + 2;
    free(l);
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Reads FILE whole (at most 64 MiB), LF turned into CRLF. */
static char *read_file_crlf(struct shell *sh, const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if(!f) {
    sh_step_failed(sh, EXIT_NOINPUT, "cannot read '%s': %s", path,
                   strerror(errno));
    return NULL;
  }
  size_t cap = 8192, n = 0;
  char *buf = malloc(cap);
  int c, prev = 0;
  while(buf && (c = getc(f)) != EOF) {
    if(n + 3 > cap) {
      char *b = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
      if(!b) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = b;
      cap *= 2;
    }
    if(c == '\n' && prev != '\r')
      buf[n++] = '\r';
    buf[n++] = (char)c;
    prev = c;
  }
  fclose(f);
  if(!buf)
    sh_step_failed(sh, EXIT_DATAERR, "'%s' is too large (64 MiB at most)",
                   path);
  *len = n;
  return buf;
}

/* Sends an IMAP command whose text holds literal markers ("{}",
 * "{@FILE}"): each part up to a marker with "{N}", the go-ahead awaited,
 * then the bytes.  Returns the wait's outcome of the last part sent. */
static enum sh_wait imap_send_literals(struct shell *sh, const char *cmd)
{
  char *line = NULL;
  const char *p = cmd;
  enum sh_wait w = SH_DONE;
  bool first = true;
  for(;;) {
    const char *m = strstr(p, "{}");
    const char *f = strstr(p, "{@");
    const char *mark = m && (!f || m < f) ? m : f;
    size_t seg = mark ? (size_t)(mark - p) : strlen(p);
    char *data = NULL;
    size_t dlen = 0;
    const char *after = NULL;
    if(mark == m && mark) {
      data = sh_read_block(sh, &dlen);
      if(!data)
        sh_step_failed(sh, EXIT_USAGE, "the input ended before the lone "
                                       "\".\" of the literal");
      after = mark + 2;
    }
    else if(mark) {
      const char *close = strchr(mark, '}');
      if(!close) {
        sh_step_failed(sh, EXIT_USAGE, "'{@FILE}' has no closing brace: "
                                       "nothing more was sent");
        free(line);
        return first ? SH_DONE : SH_GONE;
      }
      char path[4096];
      snprintf(path, sizeof(path), "%.*s", (int)(close - mark - 2), mark + 2);
      data = read_file_crlf(sh, path, &dlen);
      after = close + 1;
    }
    if(mark && !data) {
      free(line);
      if(first)
        return SH_DONE; /* nothing was sent */
      /* The command is half sent: end it as the server will see fit. */
      sh_send(sh, "", -1, NULL, true);
      return sh_wait_reply(sh, false);
    }
    size_t need = (first ? strlen(sh->tag) + 1 : 0) + seg + 32;
    free(line);
    line = malloc(need);
    if(!line) {
      free(data);
      return SH_GONE;
    }
    snprintf(line, need, "%s%s%.*s", first ? sh->tag : "", first ? " " : "",
             (int)seg, p);
    if(mark) {
      size_t l = strlen(line);
      snprintf(line + l, need - l, "{%zu}", dlen);
    }
    if(!sh_send(sh, line, -1, NULL, true)) {
      free(data);
      free(line);
      return SH_GONE;
    }
    first = false;
    if(!mark) {
      free(line);
      return sh_wait_reply(sh, false);
    }
    w = sh_wait_reply(sh, false);
    if(w != SH_CONT) {
      free(data);
      free(line);
      if(w == SH_DONE)
        shio_printf(SHIO_NOTE, "the server refused the literal: its bytes "
                               "were not sent");
      return w;
    }
    shio_printf(SHIO_NOTE, "sending a literal of %zu bytes", dlen);
    mw_status st = mw_conn_send_data(sh->c, data, dlen);
    free(data);
    if(st) {
      free(line);
      sh_conn_failed(sh);
      return SH_GONE;
    }
    p = after;
    if(!strstr(p, "{}") && !strstr(p, "{@")) {
      /* The rest of the command, then its completion. */
      bool ok = sh_send(sh, p, -1, NULL, *p != '\0');
      free(line);
      return ok ? sh_wait_reply(sh, false) : SH_GONE;
    }
    /* Another literal: the text between goes before its size. */
    (void)w;
  }
}

/* ---- secrets typed ------------------------------------------------------ */

/* The offset of the n-th word (0: the first) of s, or -1. */
static int word_at(const char *s, int n)
{
  int i = 0, w = 0;
  while(s[i] == ' ')
    i++;
  while(s[i]) {
    if(w == n)
      return i;
    while(s[i] && s[i] != ' ')
      i++;
    while(s[i] == ' ')
      i++;
    w++;
  }
  return -1;
}

/* Where the secret of a typed command starts (-1: none). */
static int secret_offset(const struct shell *sh, const char *verb,
                         const char *line)
{
  if(sh->cont && sh->cont_secret)
    return 0;
  if(sh->proto == MW_PROTOCOL_IMAP && !strcmp(verb, "LOGIN"))
    return word_at(line, 2);
  if(sh->proto == MW_PROTOCOL_POP3 &&
     (!strcmp(verb, "PASS") || !strcmp(verb, "APOP")))
    return word_at(line, !strcmp(verb, "PASS") ? 1 : 2);
  if(!strcmp(verb, "AUTH") || !strcmp(verb, "AUTHENTICATE"))
    return word_at(line, 2);
  return -1;
}

/* "LOGIN alice ********" */
static char *masked(const char *line, int from)
{
  char *m = malloc((size_t)from + 9);
  if(m)
    snprintf(m, (size_t)from + 9, "%.*s********", from, line);
  return m;
}

/* An IMAP quoted string of s, or NULL when it cannot be one. */
static char *imap_quote(const char *s)
{
  size_t n = strlen(s);
  char *q = malloc(2 * n + 3);
  if(!q)
    return NULL;
  size_t o = 0;
  q[o++] = '"';
  for(size_t i = 0; i < n; i++) {
    if(s[i] == '"' || s[i] == '\\')
      q[o++] = '\\';
    q[o++] = s[i];
  }
  q[o++] = '"';
  q[o] = '\0';
  return q;
}

/* The configured password, else one asked for without echo. */
static char *get_password(struct shell *sh, const char *prompt)
{
  if(sh->password)
    return strdup(sh->password);
  return shio_secret(prompt);
}

/* ---- one typed command -------------------------------------------------- */

static void after_tls(struct shell *sh)
{
  shio_printf(SHIO_NOTE, "TLS %s, %s; certificate: %s",
              mw_conn_tls_version(sh->c), mw_conn_tls_cipher(sh->c),
              mw_conn_peer_subject(sh->c));
  /* What was learnt in plaintext is forgotten: ask again. */
  if(sh->proto == MW_PROTOCOL_SMTP) {
    char line[300];
    snprintf(line, sizeof(line), "EHLO %s", sh->ehlo);
    if(sh_send(sh, line, -1, NULL, true))
      sh_wait_reply(sh, false);
  }
  else if(sh->proto == MW_PROTOCOL_POP3) {
    if(sh_send(sh, "CAPA", -1, NULL, true))
      sh_wait_reply(sh, true);
  }
  else {
    char line[64];
    snprintf(line, sizeof(line), "%s CAPABILITY", sh_next_tag(sh));
    if(sh_send(sh, line, -1, NULL, true))
      sh_wait_reply(sh, false);
  }
}

static bool positive(const struct shell *sh)
{
  return sh->proto == MW_PROTOCOL_SMTP   ? sh->status[0] == '2'
         : sh->proto == MW_PROTOCOL_POP3 ? !strcmp(sh->status, "+OK")
                                         : !strcmp(sh->status, "OK");
}

/* STARTTLS / STLS answered: the handshake, then the capabilities. */
static void starttls_answered(struct shell *sh)
{
  bool go = sh->proto == MW_PROTOCOL_SMTP ? !strcmp(sh->status, "220")
                                          : positive(sh);
  if(!go)
    return;
  if(mw_conn_starttls(sh->c)) {
    sh_conn_failed(sh);
    return;
  }
  after_tls(sh);
}

/* Runs a typed protocol line.  false when the session must end. */
static bool run_command(struct shell *sh, const char *typed)
{
  char verb[24];
  word_upper(typed, strlen(typed), verb, sizeof(verb));
  const char *args = typed + strlen(verb);
  while(*args == ' ')
    args++;
  bool cont = sh->cont;
  char *line = strdup(typed), *shown = NULL;
  if(!line)
    return false;
  int secret = secret_offset(sh, verb, typed);
  char *asked = NULL; /* a password asked for, appended to the line */
  bool ask = (sh->proto == MW_PROTOCOL_IMAP && !strcmp(verb, "LOGIN") &&
              word_at(typed, 1) > 0) ||
             (sh->proto == MW_PROTOCOL_POP3 && !strcmp(verb, "PASS"));
  if(!cont && secret < 0 && ask) {
    if(!mw_conn_is_encrypted(sh->c) && !sh->a->allow_insecure_auth) {
      free(line);
      return sh_step_failed(sh, EXIT_CONFIG,
                            "not sent: the connection is not encrypted "
                            "(type %s first, or start the shell with "
                            "--allow-insecure-auth)",
                            sh->proto == MW_PROTOCOL_POP3 ? "STLS"
                                                          : "STARTTLS");
    }
    shio_history_add(typed); /* the password is not on it */
    asked = get_password(sh, "Password: ");
    if(!asked) {
      free(line);
      return sh_step_failed(sh, EXIT_USAGE,
                            "no password: give --password-env, "
                            "--password-file or --password-cmd, or run the "
                            "shell on a terminal to be asked");
    }
    char *q = sh->proto == MW_PROTOCOL_IMAP ? imap_quote(asked)
                                            : strdup(asked);
    size_t need = strlen(typed) + (q ? strlen(q) : 0) + 2;
    char *l2 = q ? malloc(need) : NULL;
    if(l2) {
      size_t tl = strlen(typed);
      while(tl && typed[tl - 1] == ' ')
        tl--;
      snprintf(l2, need, "%.*s %s", (int)tl, typed, q);
      secret = (int)tl + 1;
      free(line);
      line = l2;
    }
    secret_free(q);
    mw_conn_add_secret(sh->c, asked);
    secret_free(asked);
    if(!l2) {
      free(line);
      return false;
    }
  }
  else if(secret >= 0) {
    if(!mw_conn_is_encrypted(sh->c) && !sh->a->allow_insecure_auth) {
      shio_mask_typed(sh_prompt(sh), "(not sent)");
      secret_free(line);
      return sh_step_failed(sh, EXIT_CONFIG,
                            "not sent: the connection is not encrypted "
                            "(type %s first, or start the shell with "
                            "--allow-insecure-auth)",
                            sh->proto == MW_PROTOCOL_POP3 ? "STLS"
                                                          : "STARTTLS");
    }
    shown = masked(typed, secret);
    shio_mask_typed(sh_prompt(sh), shown ? shown : "********");
    mw_conn_add_secret(sh->c, typed + secret);
  }
  else {
    shio_history_add(typed);
  }
  if(secret >= 0 && !shown)
    shown = masked(line, secret);
  /* IMAP: the tag (none on a continuation line). */
  bool imap = sh->proto == MW_PROTOCOL_IMAP;
  if(imap && !cont && (strstr(line, "{}") || strstr(line, "{@")) &&
     secret < 0) {
    sh_next_tag(sh);
    enum sh_wait w = imap_send_literals(sh, line);
    free(line);
    sh->cont = w == SH_CONT;
    sh->cont_secret = false;
    return w != SH_GONE && mw_conn_is_open(sh->c);
  }
  char *sent = line;
  int sent_secret = secret;
  char *sent_shown = shown;
  if(imap && !cont) {
    const char *tag = sh_next_tag(sh);
    size_t tl = strlen(tag);
    sent = malloc(tl + strlen(line) + 2);
    sent_shown = shown ? malloc(tl + strlen(shown) + 2) : NULL;
    if(!sent || (shown && !sent_shown)) {
      free(sent);
      free(sent_shown);
      secret_free(line);
      free(shown);
      return false;
    }
    snprintf(sent, tl + strlen(line) + 2, "%s %s", tag, line);
    if(shown)
      snprintf(sent_shown, tl + strlen(shown) + 2, "%s %s", tag, shown);
    if(secret >= 0)
      sent_secret = secret + (int)tl + 1;
  }
  /* What the terminal showed as typed is not shown again. */
  bool show = !shio_interactive() || sent != line || asked;
  bool ok = sh_send(sh, sent, sent_secret, sent_shown, show);
  if(sent != line) {
    secret_free(sent);
    free(sent_shown);
  }
  secret_free(line);
  free(shown);
  if(!ok)
    return mw_conn_is_open(sh->c);
  if(!cont) {
    if(sh->proto == MW_PROTOCOL_SMTP &&
       (!strcmp(verb, "EHLO") || !strcmp(verb, "HELO")) && *args)
      snprintf(sh->ehlo, sizeof(sh->ehlo), "%s", args);
    sh->quitting = !strcmp(verb, "QUIT") || !strcmp(verb, "LOGOUT");
    /* What answers a continuation of these is a secret (a SASL response,
     * a password sent as an IMAP literal). */
    sh->cont_secret =
        !strcmp(verb, "AUTH") || !strcmp(verb, "AUTHENTICATE") ||
        (sh->proto == MW_PROTOCOL_IMAP && !strcmp(verb, "LOGIN"));
  }
  enum sh_wait w =
      sh_wait_reply(sh, sh->proto == MW_PROTOCOL_POP3 && !cont &&
                            is_pop3_multi(verb, args));
  if(w == SH_GONE)
    return false;
  /* SMTP's 334 is its continuation. */
  sh->cont = w == SH_CONT ||
             (sh->proto == MW_PROTOCOL_SMTP && !strcmp(sh->status, "334"));
  if(!sh->cont)
    sh->cont_secret = false;
  if(w == SH_DONE && sh->quitting)
    return false; /* the server closes now: no prompt again */
  if(w != SH_DONE || cont)
    return mw_conn_is_open(sh->c);
  if(!strcmp(verb, "STARTTLS") || !strcmp(verb, "STLS"))
    starttls_answered(sh);
  else if(sh->proto == MW_PROTOCOL_SMTP && !strcmp(verb, "DATA") &&
          !strcmp(sh->status, "354"))
    sh->data = true;
  return mw_conn_is_open(sh->c);
}

/* A line of message data after a 354 to DATA typed by hand: sent as
 * typed; the lone "." ends it and the reply is read. */
static bool run_data_line(struct shell *sh, const char *typed)
{
  if(!sh_send(sh, typed, -1, NULL, !shio_interactive()))
    return false;
  if(strcmp(typed, "."))
    return true;
  sh->data = false;
  return sh_wait_reply(sh, false) != SH_GONE && mw_conn_is_open(sh->c);
}

/* One line of input.  false when the session must end. */
static bool run_line(struct shell *sh, const char *typed)
{
  if(sh->data)
    return run_data_line(sh, typed);
  const char *p = typed;
  while(*p == ' ' || *p == '\t')
    p++;
  if(!*p || (!shio_interactive() && *p == '#'))
    return true;
  if(!strncmp(p, "--expect", 8) && (p[8] == ' ' || !p[8])) {
    char dot[64];
    snprintf(dot, sizeof(dot), ".expect%s", p + 8);
    shio_history_add(typed);
    return sh_dot(sh, dot);
  }
  if(*p == '.' && !sh->cont) {
    shio_history_add(typed); /* no dot command carries a secret */
    return sh_dot(sh, p);
  }
  return run_command(sh, sh->cont ? typed : p);
}

/* ---- the session -------------------------------------------------------- */

/* The history file of this server: --history, else one per protocol and
 * server under $XDG_STATE_HOME/mailwire/shell (~/.local/state). */
static bool history_path(const struct shell *sh, char *out, size_t len)
{
  const struct send_args *a = sh->a;
  if(a->shell_no_history)
    return false;
  if(a->shell_history) {
    snprintf(out, len, "%s", a->shell_history);
    return true;
  }
  const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  char base[2048];
  if(xdg && xdg[0] == '/')
    snprintf(base, sizeof(base), "%s/mailwire/shell", xdg);
  else if(home && home[0] == '/')
    snprintf(base, sizeof(base), "%s/.local/state/mailwire/shell", home);
  else
    return false;
  /* The server as given, without the scheme and the user. */
  const char *s = a->server;
  const char *sep = strstr(s, "://");
  if(sep)
    s = sep + 3;
  const char *at = strrchr(s, '@');
  if(at)
    s = at + 1;
  char name[256];
  size_t n = 0;
  for(; *s && *s != '/' && n + 1 < sizeof(name); s++)
    name[n++] = isalnum((unsigned char)*s) || *s == '.' || *s == '-'
                    ? *s
                    : '_';
  name[n] = '\0';
  snprintf(out, len, "%s/%s_%s.history", base, mw_protocol_name(sh->proto),
           name);
  return true;
}

/* --tls starttls / starttls-optional: the upgrade right after the
 * greeting (with AUTO the shell leaves it to the user). */
static bool auto_starttls(struct shell *sh)
{
  if(sh->proto == MW_PROTOCOL_SMTP) {
    char line[300];
    snprintf(line, sizeof(line), "EHLO %s", sh->ehlo);
    if(!sh_send(sh, line, -1, NULL, true) ||
       sh_wait_reply(sh, false) == SH_GONE)
      return false;
  }
  if(sh->proto == MW_PROTOCOL_IMAP) {
    char line[64];
    snprintf(line, sizeof(line), "%s STARTTLS", sh_next_tag(sh));
    if(!sh_send(sh, line, -1, NULL, true))
      return false;
  }
  else if(!sh_send(sh, sh->proto == MW_PROTOCOL_POP3 ? "STLS" : "STARTTLS",
                   -1, NULL, true))
    return false;
  enum sh_wait w = sh_wait_reply(sh, false);
  if(w == SH_GONE)
    return false;
  bool go = w == SH_DONE && (sh->proto == MW_PROTOCOL_SMTP
                                 ? !strcmp(sh->status, "220")
                                 : positive(sh));
  if(!go) {
    if(sh->a->tls_mode == MW_TLS_STARTTLS) {
      shio_printf(SHIO_ERROR, "the server refused STARTTLS, which --tls "
                              "starttls requires");
      sh->code = EXIT_CONFIG;
      return false;
    }
    shio_printf(SHIO_NOTE, "WARNING: continuing WITHOUT encryption (--tls "
                           "starttls-optional)");
    return true;
  }
  if(mw_conn_starttls(sh->c)) {
    sh_conn_failed(sh);
    return false;
  }
  after_tls(sh);
  return mw_conn_is_open(sh->c);
}

static int shell_session(struct shell *sh)
{
  sh->c = mw_conn_new(sh->o);
  if(!sh->c)
    return output_early_error("shell", false, EXIT_SOFTWARE,
                              "out of memory");
  if(mw_conn_open(sh->c)) {
    const mw_error *e = mw_conn_error(sh->c);
    fprintf(stderr, "mailwire shell: %s\n", cli_text(mw_error_message(e)));
    return exitcode_for_error(e);
  }
  shio_printf(SHIO_NOTE, "connected to %s (%s)%s",
              mw_conn_peer_address(sh->c), mw_protocol_name(sh->proto),
              mw_conn_is_encrypted(sh->c) ? ", TLS" : "");
  if(mw_conn_is_encrypted(sh->c))
    shio_printf(SHIO_NOTE, "TLS %s, %s; certificate: %s",
                mw_conn_tls_version(sh->c), mw_conn_tls_cipher(sh->c),
                mw_conn_peer_subject(sh->c));
  sh->timeout_ms = sh->a->greeting_timeout_ms ? sh->a->greeting_timeout_ms
                                              : 10000;
  sh->tag[0] = '\0';
  enum sh_wait w = sh_wait_reply(sh, false);
  sh->timeout_ms = sh->a->timeout_ms ? sh->a->timeout_ms : 30000;
  if(w == SH_GONE || w == SH_TIMEOUT)
    return sh->code ? sh->code : EXIT_TEMPFAIL;
  if(sh->a->tls_mode == MW_TLS_STARTTLS ||
     sh->a->tls_mode == MW_TLS_STARTTLS_OPTIONAL) {
    if(!auto_starttls(sh))
      return sh->code ? sh->code : EXIT_PROTOCOL;
  }
  else if(!mw_conn_is_encrypted(sh->c) && shio_interactive()) {
    shio_printf(SHIO_NOTE, "not encrypted: type %s to start TLS; .help "
                           "lists the shell's commands",
                sh->proto == MW_PROTOCOL_POP3 ? "STLS" : "STARTTLS");
  }
  sh->code = EXIT_OK;
  for(;;) {
    if(!drain(sh) || !mw_conn_is_open(sh->c))
      break;
    bool gone = false;
    char *line = shio_interactive()
                     ? shio_read_watch(sh_prompt(sh), mw_conn_fd(sh->c),
                                       server_ready, sh, &gone)
                     : shio_read(sh->in, sh_prompt(sh));
    if(!line)
      break;
    sh->lineno++;
    bool go_on = run_line(sh, line);
    secret_free(line);
    if(!go_on || sh->stop || !mw_conn_is_open(sh->c))
      break;
  }
  if(sh->code == EXIT_OK && !mw_conn_is_open(sh->c) && !sh->quitting &&
     mw_error_status(mw_conn_error(sh->c)) != MW_OK)
    sh->code = exitcode_for_error(mw_conn_error(sh->c));
  return sh->code;
}

int cmd_shell(int argc, char **argv)
{
  char **words = NULL;
  int n = 0;
  int rc = cli_apply_profile("shell", argc, argv, &words, &n);
  if(rc)
    return rc;
  struct send_args *a = calloc(1, sizeof(*a));
  struct shell sh = {0};
  bool inited = false;
  char err[1024];
  int code = EXIT_SOFTWARE;
  if(!a)
    goto done;
  if(cli_parse_shell(n, words, a, err, sizeof(err))) {
    code = output_early_error("shell", false, EXIT_USAGE, err);
    goto done;
  }
  if(a->help) {
    cli_print_help(stdout, CLI_SHELL);
    code = EXIT_OK;
    goto done;
  }
  sh.a = a;
  sh.proto = a->protocol;
  sh.in = stdin;
  sh.in_name = "standard input";
  if(a->shell_script && strcmp(a->shell_script, "-")) {
    sh.in = fopen(a->shell_script, "r");
    if(!sh.in) {
      snprintf(err, sizeof(err), "--script: cannot read '%s': %s",
               a->shell_script, strerror(errno));
      code = output_early_error("shell", false, EXIT_NOINPUT, err);
      goto done;
    }
    sh.in_name = a->shell_script;
  }
  if(shio_load(err, sizeof(err))) {
    code = output_early_error("shell", false, EXIT_SOFTWARE, err);
    goto done;
  }
  bool interactive = !a->shell_script && isatty(STDIN_FILENO);
  shio_init(interactive, !a->no_color && isatty(STDOUT_FILENO) &&
                             !getenv("NO_COLOR"));
  if(mw_global_init() != MW_OK) {
    code = output_early_error("shell", false, EXIT_SOFTWARE,
                              "library initialisation failed");
    goto done;
  }
  inited = true;
  sh.o = mw_options_new();
  code = sh.o ? cli_build_options(a, sh.o, &sh.password, &sh.token, err,
                                  sizeof(err))
              : EXIT_SOFTWARE;
  if(code) {
    output_early_error("shell", false, code, sh.o ? err : "out of memory");
    goto done;
  }
  sh.trace_on = a->trace;
  mw_options_set_trace(sh.o, sh_trace, &sh);
  snprintf(sh.ehlo, sizeof(sh.ehlo), "%s", a->helo ? a->helo : "localhost");
  char hist[4096];
  if(history_path(&sh, hist, sizeof(hist)) &&
     shio_history_open(hist, err, sizeof(err)))
    shio_printf(SHIO_NOTE, "no history: %s", err);
  code = shell_session(&sh);
  shio_history_close();
done:
  if(sh.in && sh.in != stdin)
    fclose(sh.in);
  mw_conn_free(sh.c);
  mw_options_free(sh.o);
  secret_free(sh.password);
  secret_free(sh.token);
  free(sh.reply);
  cli_args_free(a);
  cli_free_words(words, n);
  if(inited)
    mw_global_cleanup();
  return code;
}
