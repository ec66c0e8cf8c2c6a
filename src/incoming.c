/*
 * incoming.c - see incoming.h.
 */
#include "incoming.h"

#include "args_in.h"
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "outbox.h"
#include "output.h"
#include "settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

double in_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static bool is_url(const char *s)
{
  const char *sep = strstr(s, "://");
  return sep && sep > s && (size_t)(sep - s) < 16;
}

/* Whether the URL's scheme is one of TLS from the first byte. */
static bool url_implicit(const char *s)
{
  const char *sep = strstr(s, "://");
  return sep && sep > s && (sep[-1] == 's' || sep[-1] == 'S');
}

int in_build_options(const struct send_args *a, mw_options *o,
                     char **password, char **token, char *err,
                     size_t errlen)
{
  struct send_args *copy = malloc(sizeof(*copy));
  if(!copy) {
    snprintf(err, errlen, "out of memory");
    return EXIT_SOFTWARE;
  }
  memcpy(copy, a, sizeof(*copy));
  copy->server = NULL; /* set below: it may be a URL */
  int code = cli_build_options(copy, o, password, token, err, errlen);
  free(copy);
  if(code)
    return code;
  mw_status st;
  if(is_url(a->server)) {
    /* The URL sets the user too: keep the one cli_build_options() gave
     * the credentials (--user, or this URL's). */
    st = mw_options_set_server_url(o, a->server);
    if(!st && a->user)
      st = mw_options_set_credentials(o, a->user, *password);
    if(!st && a->tls_mode == MW_TLS_AUTO && url_implicit(a->server))
      st = mw_options_set_tls_mode(o, MW_TLS_IMPLICIT);
  }
  else {
    st = mw_options_set_protocol(o, (mw_protocol)a->in.protocol);
    if(!st)
      st = mw_options_set_server_string(o, a->server);
  }
  if(!st && a->in.mailbox)
    st = mw_options_set_mailbox(o, a->in.mailbox);
  if(st) {
    snprintf(err, errlen, "--server: '%s' cannot be used", a->server);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

void in_account(const struct send_args *a, char *out, size_t len)
{
  const char *s = a->server;
  if(is_url(s)) {
    s = strstr(s, "://") + 3;
    const char *at = NULL;
    size_t alen = strcspn(s, "/?#");
    for(const char *q = s; q < s + alen; q++)
      if(*q == '@')
        at = q;
    if(at)
      s = at + 1;
  }
  size_t hlen = strcspn(s, "/?#");
  char host[300];
  snprintf(host, sizeof(host), "%.*s", (int)hlen, s);
  /* Without the port: the same mailbox over STARTTLS or implicit TLS is
   * the same account ("[v6]:p", "host:p"; a bare IPv6 address has
   * several colons and no port). */
  char *close = host[0] == '[' ? strchr(host, ']') : NULL;
  char *colon = close ? (close[1] == ':' ? close + 1 : NULL)
                      : strchr(host, ':');
  if(colon && !close && strchr(colon + 1, ':'))
    colon = NULL;
  if(colon)
    *colon = '\0';
  for(char *p = host; *p; p++)
    if(*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  snprintf(out, len, "%s:%s@%s",
           a->in.protocol == MW_PROTOCOL_POP3 ? "pop3" : "imap",
           a->user ? a->user : "", host);
}

const char *in_mailbox(const struct send_args *a, char *buf, size_t len)
{
  if(a->in.mailbox)
    return a->in.mailbox;
  if(cli_in_url_mailbox(a->server, buf, len))
    return buf;
  return "INBOX";
}

bool in_state_dir(const struct send_args *a, char *out, size_t len,
                  char *err, size_t errlen)
{
  const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  if(a->in.state_dir)
    snprintf(out, len, "%s", a->in.state_dir);
  else if(x && x[0] == '/')
    snprintf(out, len, "%s/mailwire", x);
  else if(home && home[0] == '/')
    snprintf(out, len, "%s/.local/state/mailwire", home);
  else {
    snprintf(err, errlen, "no place for the fetch state: give --state-dir "
                          "DIR (neither XDG_STATE_HOME nor HOME is set)");
    return false;
  }
  /* A fresh account has no ~/.local/state yet (the XDG base directory
   * specification: create it, 0700); the library makes the last part. */
  if(!a->in.state_dir) {
    char *slash = strrchr(out, '/');
    if(slash && slash != out) {
      *slash = '\0';
      int rc = cli_mkdirs(out);
      int saved = errno;
      *slash = '/';
      if(rc) {
        snprintf(err, errlen, "cannot create the fetch state's directory "
                              "'%s': %s", out, strerror(saved));
        return false;
      }
    }
  }
  return true;
}

int in_open_store(const struct send_args *a, mw_store **out, char *err,
                  size_t errlen)
{
  *out = NULL;
  mw_store_kind kind = a->in.store == CLI_STORE_MAILDIR ? MW_STORE_MAILDIR
                       : a->in.store == CLI_STORE_MBOX  ? MW_STORE_MBOX
                                                        : MW_STORE_MDA;
  if(a->in.store == CLI_STORE_NONE)
    return EXIT_OK;
  mw_store *s = NULL;
  mw_status st = mw_store_open(kind, a->in.store_target, &s);
  if(!s) {
    snprintf(err, errlen, "out of memory");
    return EXIT_SOFTWARE;
  }
  if(st) {
    snprintf(err, errlen, "%s", cli_text(mw_error_message(mw_store_error(s))));
    mw_store_free(s);
    return in_store_exit(a, st);
  }
  *out = s;
  return EXIT_OK;
}

int in_store_exit(const struct send_args *a, mw_status st)
{
  if(st == MW_E_NOMEM)
    return EXIT_SOFTWARE;
  if(st == MW_E_STATE || st == MW_E_TIMEOUT ||
     (a->in.store == CLI_STORE_MDA && st == MW_E_IO))
    return EXIT_TEMPFAIL;
  if(st == MW_E_INVALID)
    return EXIT_USAGE;
  return EXIT_IOERR;
}

int in_open_state(const struct send_args *a, const char *account,
                  const char *mailbox, mw_fetch_state **out, char *err,
                  size_t errlen)
{
  char dir[1024];
  *out = NULL;
  if(!in_state_dir(a, dir, sizeof(dir), err, errlen))
    return EXIT_CONFIG;
  bool pop3 = a->in.protocol == MW_PROTOCOL_POP3;
  mw_fetch_state *fs = NULL;
  mw_status st = mw_fetch_state_open(dir, account, pop3 ? "" : mailbox,
                                     pop3 ? MW_FETCH_STATE_POP3
                                          : MW_FETCH_STATE_IMAP,
                                     &fs);
  if(!fs) {
    snprintf(err, errlen, "out of memory");
    return EXIT_SOFTWARE;
  }
  if(st) {
    snprintf(err, errlen, "fetch state: %s",
             cli_text(mw_error_message(mw_fetch_state_error(fs))));
    mw_fetch_state_free(fs);
    /* Another run holds it: retry later. */
    return st == MW_E_STATE ? EXIT_TEMPFAIL : EXIT_IOERR;
  }
  *out = fs;
  return EXIT_OK;
}

void in_print_error(const char *cmd, const mw_error *e, const char *alert)
{
  fprintf(stderr, "mailwire %s: %s\n", cmd,
          cli_text(mw_error_message(e)));
  const char *text = mw_error_server_text(e);
  const char *code = mw_error_response_code(e);
  if(text && *text)
    fprintf(stderr, "  server said: %s%s%s%s\n", code && *code ? "[" : "",
            code && *code ? code : "", code && *code ? "] " : "", text);
  if(alert && *alert)
    fprintf(stderr, "  server alert: %s\n", alert);
}

void in_json_error(FILE *f, const mw_error *e)
{
  fputs("{\"status\":", f);
  output_json_string(f, mw_status_name(mw_error_status(e)));
  fputs(",\"category\":", f);
  output_json_string(f, mw_category_name(mw_error_category(e)));
  fputs(",\"message\":", f);
  output_json_string(f, cli_text(mw_error_message(e)));
  const char *text = mw_error_server_text(e);
  const char *code = mw_error_response_code(e);
  fputs(",\"server_text\":", f);
  output_json_string(f, text && *text ? text : NULL);
  fputs(",\"response_code\":", f);
  output_json_string(f, code && *code ? code : NULL);
  fprintf(f, ",\"temporary\":%s}", mw_error_is_temporary(e) ? "true"
                                                            : "false");
}

void in_progress_start(struct in_progress *p, bool enabled, size_t total)
{
  memset(p, 0, sizeof(*p));
  p->on = enabled && total > 0 && isatty(STDERR_FILENO);
  p->total = total;
}

void in_progress_step(struct in_progress *p, size_t done, uint64_t bytes)
{
  if(!p->on)
    return;
  p->done = done;
  p->bytes = bytes;
  double now = in_now_ms();
  if(done < p->total && now - p->last_ms < 100)
    return;
  p->last_ms = now;
  enum { WIDTH = 30 };
  size_t fill = p->total ? done * WIDTH / p->total : WIDTH;
  char bar[WIDTH + 1];
  for(size_t i = 0; i < WIDTH; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[WIDTH] = '\0';
  fprintf(stderr, "\r[%s] %zu/%zu messages, %.1f MB", bar, done, p->total,
          (double)bytes / 1e6);
  fflush(stderr);
}

void in_progress_end(struct in_progress *p)
{
  if(!p->on)
    return;
  p->last_ms = -1e9; /* draw the last state now */
  in_progress_step(p, p->done, p->bytes);
  fputs("\n", stderr);
  p->on = false;
}

/* Whether words[0..n) (a command line) names a store or --exec. */
static bool names_store(char **words, int n)
{
  for(int i = 0; i < n; i++) {
    const char *w = words[i];
    static const char *const opts[] = {"--maildir", "--mbox", "--mda",
                                       "--exec"};
    for(size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
      size_t l = strlen(opts[k]);
      if(strncmp(w, opts[k], l) == 0 && (w[l] == '\0' || w[l] == '='))
        return true;
    }
  }
  return false;
}

int cli_apply_profile_in(const char *cmd, int argc, char **argv,
                         char ***out, int *outc)
{
  enum cli_command c = strcmp(cmd, "watch") == 0     ? CLI_WATCH
                       : strcmp(cmd, "folders") == 0 ? CLI_FOLDERS
                       : strcmp(cmd, "append") == 0  ? CLI_APPEND
                                                     : CLI_FETCH;
  char **words = NULL;
  int n = 0, nprofile = 0;
  int rc = cli_apply_profile_split(cmd, argc, argv, &words, &n, &nprofile);
  if(rc)
    return rc;
  /* The profile's words this command takes (an account serves send and
   * fetch alike: --from is not for fetch); its store only when the
   * command line names none. */
  bool cli_store = names_store(words + nprofile, n - nprofile);
  int k = 0;
  for(int i = 0; i < n; i++) {
    bool has_value = false;
    bool keep = i >= nprofile || cli_option_takes(c, words[i], &has_value);
    if(i < nprofile && !keep)
      cli_option_takes(CLI_ANY, words[i], &has_value);
    if(i < nprofile && keep && cli_store && names_store(&words[i], 1))
      keep = false;
    int span = i < nprofile && has_value && i + 1 < nprofile ? 2 : 1;
    for(int j = 0; j < span; j++) {
      if(keep) {
        words[k++] = words[i + j];
      }
      else { /* it may be a password: wiped as cli_free_words() does */
        memset(words[i + j], 0, strlen(words[i + j]));
        free(words[i + j]);
      }
    }
    i += span - 1;
  }
  *out = words;
  *outc = k;
  return 0;
}
