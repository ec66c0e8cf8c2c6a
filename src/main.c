/*
 * main.c - the `mailwire` command: argument dispatch and the send flow.
 *
 * The CLI uses only include/mailwire.h.  It prints; the library never does.
 */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "output.h"
#include "secrets.h"
#include "profile.h"
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char main_help[] =
    "Usage: mailwire COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  send       send a message over SMTP (mailwire send --help)\n"
    "  doctor     find why a connection fails, and the fix\n"
    "  probe      find the port and TLS mode that work, all at once\n"
    "  explain    what an SMTP reply code means (mailwire explain 535)\n"
    "  config show [--account NAME] [-C FILE]   the effective profile\n"
    "\n"
    "send, doctor and probe read account profiles (msmtprc syntax) from -C FILE,\n"
    "$MAILWIRE_CONFIG or $XDG_CONFIG_HOME/mailwire/config; --account NAME\n"
    "picks one.  Command-line options override the profile.\n"
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

/* Opens the --message source; stdin is spooled to a temporary file so it
 * can be scanned (size, 8-bit) and then streamed in constant memory. */
static FILE *open_message(const char *path, char *err, size_t errlen)
{
  if(strcmp(path, "-") != 0) {
    FILE *f = fopen(path, "rb");
    if(!f)
      snprintf(err, errlen, "--message: cannot read '%s': %s", path,
               strerror(errno));
    return f;
  }
  FILE *tmp = tmpfile();
  if(!tmp) {
    snprintf(err, errlen, "cannot create a temporary file for standard "
                          "input: %s",
             strerror(errno));
    return NULL;
  }
  char buf[65536];
  size_t n;
  while((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
    if(fwrite(buf, 1, n, tmp) != n) {
      snprintf(err, errlen, "cannot spool standard input: %s",
               strerror(errno));
      fclose(tmp);
      return NULL;
    }
  }
  if(ferror(stdin)) {
    snprintf(err, errlen, "cannot read standard input: %s", strerror(errno));
    fclose(tmp);
    return NULL;
  }
  rewind(tmp);
  return tmp;
}

static char *read_whole_file(const char *path, size_t *len, char *err,
                             size_t errlen)
{
  FILE *f = fopen(path, "rb");
  if(!f) {
    snprintf(err, errlen, "--body-file: cannot read '%s': %s", path,
             strerror(errno));
    return NULL;
  }
  size_t cap = 65536, used = 0;
  char *buf = malloc(cap);
  size_t n;
  while(buf && (n = fread(buf + used, 1, cap - used, f)) > 0) {
    used += n;
    if(used == cap) {
      char *p = realloc(buf, cap * 2);
      if(!p) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = p;
      cap *= 2;
    }
  }
  if(!buf || ferror(f)) {
    snprintf(err, errlen, "--body-file: cannot read '%s'", path);
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *len = used;
  return buf;
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

static int fail_usage(const char *msg)
{
  fprintf(stderr, "mailwire send: %s\n", msg);
  return EXIT_USAGE;
}

static int fail_with(int code, const char *msg)
{
  fprintf(stderr, "mailwire send: %s\n", msg);
  return code;
}

static int compose_message(const struct send_args *a, char **msg,
                           size_t *len, char *err, size_t errlen)
{
  mw_compose *c = mw_compose_new();
  if(!c) {
    snprintf(err, errlen, "out of memory");
    return EXIT_SOFTWARE;
  }
  char *body = NULL;
  size_t body_len = 0;
  if(a->body_file) {
    body = read_whole_file(a->body_file, &body_len, err, errlen);
    if(!body) {
      mw_compose_free(c);
      return EXIT_NOINPUT;
    }
  }
  else if(a->body) {
    body_len = strlen(a->body);
  }
  mw_status st = mw_compose_set_from(c, a->from);
  for(size_t i = 0; !st && i < a->to.count; i++)
    st = mw_compose_add_to(c, a->to.items[i]);
  for(size_t i = 0; !st && i < a->cc.count; i++)
    st = mw_compose_add_cc(c, a->cc.items[i]);
  if(!st)
    st = mw_compose_set_subject(c, a->subject ? a->subject : "");
  if(!st)
    st = mw_compose_set_body(c, body ? body : a->body, body_len);
  for(size_t i = 0; !st && i < a->headers.count; i++) {
    const char *h = a->headers.items[i];
    const char *colon = strchr(h, ':');
    char name[128];
    size_t nl = (size_t)(colon - h);
    if(nl >= sizeof(name)) {
      snprintf(err, errlen, "--header: name too long in '%.40s...'", h);
      free(body);
      mw_compose_free(c);
      return EXIT_DATAERR;
    }
    memcpy(name, h, nl);
    name[nl] = '\0';
    const char *value = colon + 1;
    while(*value == ' ' || *value == '\t')
      value++;
    st = mw_compose_add_header(c, name, value);
  }
  if(!st)
    st = mw_compose_render(c, msg, len);
  free(body);
  if(st) {
    bool bad_input = st == MW_E_MESSAGE || st == MW_E_INVALID;
    snprintf(err, errlen, "%s", bad_input ? mw_compose_error(c)
                                          : "cannot build the message");
    mw_compose_free(c);
    return bad_input ? EXIT_DATAERR : EXIT_SOFTWARE;
  }
  mw_compose_free(c);
  return EXIT_OK;
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
        fprintf(stderr, "mailwire %s: option '%s' needs a value\n", cmd, a);
        free(rest);
        return EXIT_USAGE;
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
      fprintf(stderr, "mailwire %s: unknown option '--password-value'\n",
              cmd);
      free(rest);
      return EXIT_USAGE;
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
    fprintf(stderr, "mailwire %s: %s\n", cmd, err);
    free(rest);
    return EXIT_CONFIG;
  }
  char **words = NULL;
  int nwords = 0;
  if(rc == 0) {
    if(profile_to_words(&prof, &words, &nwords, err, sizeof(err))) {
      fprintf(stderr, "mailwire %s: %s\n", cmd, err);
      profile_free(&prof);
      free(rest);
      return EXIT_CONFIG;
    }
    profile_free(&prof);
  }
  /* doctor tests the envelope only with --to: a profile's from alone is
   * not a request for that test. */
  bool cli_to = false;
  for(int i = 0; i < nrest; i++)
    cli_to = cli_to || strcmp(rest[i], "--to") == 0 ||
             strncmp(rest[i], "--to=", 5) == 0;
  if(strcmp(cmd, "doctor") == 0 && !cli_to) {
    for(int i = 0; i + 1 < nwords; i++) {
      if(strcmp(words[i], "--from") != 0)
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

static int cmd_send_words(int argc, char **argv);

static int cmd_send(int argc, char **argv)
{
  char **words = NULL;
  int n = 0;
  int rc = cli_apply_profile("send", argc, argv, &words, &n);
  if(rc)
    return rc;
  rc = cmd_send_words(n, words);
  cli_free_words(words, n);
  return rc;
}

static int cmd_send_words(int argc, char **argv)
{
  struct send_args *a = calloc(1, sizeof(*a));
  char err[1024];
  if(!a)
    return fail_with(EXIT_SOFTWARE, "out of memory");
  if(cli_parse_send(argc, argv, a, err, sizeof(err))) {
    free(a);
    return fail_usage(err);
  }
  if(a->help) {
    fputs(cli_send_help, stdout);
    free(a);
    return EXIT_OK;
  }
  if(mw_global_init() != MW_OK) {
    free(a);
    return fail_with(EXIT_SOFTWARE, "library initialisation failed");
  }
  double t0 = now_ms();
  int code = EXIT_OK;
  char *password = NULL, *token = NULL, *msg = NULL;
  size_t msg_len = 0;
  FILE *msg_file = NULL;
  mw_options *o = mw_options_new();
  mw_envelope *env = mw_envelope_new();
  mw_smtp *s = NULL;
  mw_result *res = NULL;
  if(!o || !env) {
    code = fail_with(EXIT_SOFTWARE, "out of memory");
    goto done;
  }
  if(a->trace)
    mw_options_set_trace(o, output_trace, stderr);
  code = cli_build_options(a, o, &password, &token, err, sizeof(err));
  if(!code)
    code = build_envelope(a, env, err, sizeof(err));
  if(!code && a->message_file) {
    msg_file = open_message(a->message_file, err, sizeof(err));
    if(!msg_file)
      code = EXIT_NOINPUT;
  }
  else if(!code) {
    code = compose_message(a, &msg, &msg_len, err, sizeof(err));
  }
  if(code) {
    fail_with(code, err);
    goto done;
  }
  mw_message_info info;
  if(msg_file) {
    mw_status st = mw_message_info_scan_reader(&info, file_read, msg_file);
    if(st || fseek(msg_file, 0, SEEK_SET) != 0) {
      code = fail_with(EXIT_IOERR, "cannot read the message file");
      goto done;
    }
  }
  else {
    mw_message_info_scan(&info, msg, msg_len);
  }

  s = mw_smtp_new(o);
  if(!s) {
    code = fail_with(EXIT_SOFTWARE, "out of memory");
    goto done;
  }
  const mw_error *e = NULL;
  double connect_ms = 0;
  mw_status st = mw_smtp_connect(s);
  connect_ms = now_ms() - t0;
  if(st) {
    e = mw_smtp_error(s);
    code = exitcode_for_error(e);
  }
  else {
    if(msg_file)
      st = mw_smtp_send(s, env, &info, file_read, msg_file, &res);
    else
      st = mw_smtp_send_buffer(s, env, msg, msg_len, &res);
    if(st) {
      e = mw_smtp_error(s);
      code = exitcode_for_error(e);
    }
    else {
      code = exitcode_for_result(res);
    }
  }
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
  struct send_report rep = {.host = hostbuf,
                            .port = port,
                            .tls_mode = mw_tls_mode_name(eff),
                            .session = s,
                            .result = res,
                            .error = e,
                            .exit_code = code,
                            .connect_ms = connect_ms};
  rep.total_ms = now_ms() - t0;
  if(a->json)
    output_send_json(stdout, &rep);
  else
    output_send_human(stdout, stderr, &rep);
  mw_smtp_quit(s);

done:
  mw_result_free(res);
  mw_smtp_free(s);
  mw_envelope_free(env);
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  free(msg);
  if(msg_file)
    fclose(msg_file);
  free(a);
  mw_global_cleanup();
  return code;
}

int main(int argc, char **argv)
{
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
    if(argc > 2 && strcmp(argv[2], "send") == 0)
      fputs(cli_send_help, stdout);
    else if(argc > 2 && strcmp(argv[2], "doctor") == 0)
      fputs(cli_doctor_help, stdout);
    else if(argc > 2 && strcmp(argv[2], "probe") == 0)
      fputs(cli_probe_help, stdout);
    else if(argc > 2 && strcmp(argv[2], "explain") == 0) {
      char help[] = "--help";
      char *words[] = {help, NULL};
      return cmd_explain(1, words);
    }
    else
      fputs(main_help, stdout);
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
  fprintf(stderr, "mailwire: unknown command '%s'\n%s", cmd, main_help);
  return EXIT_USAGE;
}
