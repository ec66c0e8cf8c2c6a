/*
 * pop3_check.c - the library's POP3 client against a real server: connect
 * with the given TLS mode, then run the actions given, and report what
 * each call returned.  Used by test_pop3.py against the rig's Dovecot.
 *
 * usage: pop3_check HOST:PORT TLS_MODE CA_FILE USER ACTION...
 * The password comes from the environment variable MW_PASSWORD (none: no
 * credentials).  MW_ALLOW_INSECURE=1 allows credentials in clear,
 * MW_AUTH_MECHS restricts the SASL mechanisms, MW_TLS_MIN ("1.2", "1.3")
 * sets the minimum TLS version and MW_TLS_STRICT=1 forbids falling back
 * from it, MW_TRACE=1 prints the
 * client's lines and the server's as "trace > LINE" / "trace < LINE" on
 * stderr.  Actions:
 *   list            LIST+UIDL: "message N SIZE UID" per message
 *   stat            "stat COUNT OCTETS"
 *   retr:N:FILE     RETR N into FILE
 *   top:N:L:FILE    TOP N L into FILE
 *   many:DIR        mw_pop3_retrieve_many of every listed message into
 *                   DIR/N (list first)
 *   dele:N          DELE N
 *   quit            QUIT
 * Prints, one per line: "connect STATUS", "encrypted yes|no",
 * "mechanism NAME|-", then "ACTION STATUS" per action; for each failure
 * "code RESPONSE_CODE", "temporary 0|1" and "message TEXT".  Stops at the
 * first failing action.  Exit status 0 when everything succeeded, 1
 * otherwise, 64 on bad usage.
 */
#include "mailwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void trace_fn(void *user, mw_trace_kind kind, double ms,
                     const char *text)
{
  (void)user;
  (void)ms;
  if(kind == MW_TRACE_IN || kind == MW_TRACE_OUT)
    fprintf(stderr, "trace %c %s\n", kind == MW_TRACE_IN ? '<' : '>', text);
  else if(kind == MW_TRACE_TLS)
    fprintf(stderr, "trace tls %s\n", text);
}

static void report(const mw_pop3 *p, const char *what, mw_status st)
{
  printf("%s %s\n", what, mw_status_name(st));
  if(st) {
    const mw_error *e = mw_pop3_error(p);
    printf("code %s\n", mw_error_response_code(e));
    printf("temporary %d\n", (int)mw_error_is_temporary(e));
    printf("message %s\n", mw_error_message(e));
  }
}

static mw_status to_file(void *user, const char *data, size_t len)
{
  return fwrite(data, 1, len, user) == len ? MW_OK : MW_E_IO;
}

struct many {
  const char *dir;
  const mw_pop3_message *list;
  FILE *f;
};

static mw_status many_fn(void *user, size_t index, const char *data,
                         size_t len, bool last)
{
  struct many *m = user;
  if(!m->f) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%u", m->dir, m->list[index].number);
    m->f = fopen(path, "wb");
    if(!m->f)
      return MW_E_IO;
  }
  if(len && fwrite(data, 1, len, m->f) != len)
    return MW_E_IO;
  if(last) {
    fclose(m->f);
    m->f = NULL;
  }
  return MW_OK;
}

static mw_status action(mw_pop3 *p, const char *a)
{
  unsigned n = 0, lines = 0;
  char file[4096];
  const mw_pop3_message *list = NULL;
  size_t count = 0;
  if(strcmp(a, "list") == 0) {
    mw_status st = mw_pop3_list(p, &list, &count);
    for(size_t i = 0; !st && i < count; i++)
      printf("message %u %llu %s\n", list[i].number,
             (unsigned long long)list[i].size,
             list[i].uid[0] ? list[i].uid : "-");
    return st;
  }
  if(strcmp(a, "stat") == 0) {
    uint64_t octets = 0;
    mw_status st = mw_pop3_stat(p, &count, &octets);
    if(!st)
      printf("stat %zu %llu\n", count, (unsigned long long)octets);
    return st;
  }
  if(sscanf(a, "retr:%u:%4095s", &n, file) == 2 ||
     sscanf(a, "top:%u:%u:%4095s", &n, &lines, file) == 3) {
    FILE *f = fopen(file, "wb");
    if(!f)
      return MW_E_IO;
    mw_status st = a[0] == 'r' ? mw_pop3_retrieve(p, n, to_file, f)
                               : mw_pop3_top(p, n, lines, to_file, f);
    fclose(f);
    return st;
  }
  if(strncmp(a, "many:", 5) == 0) {
    mw_status st = mw_pop3_list(p, &list, &count);
    if(st)
      return st;
    unsigned *numbers = calloc(count + 1, sizeof(*numbers));
    if(!numbers)
      return MW_E_NOMEM;
    for(size_t i = 0; i < count; i++)
      numbers[i] = list[i].number;
    struct many m = {.dir = a + 5, .list = list};
    st = mw_pop3_retrieve_many(p, numbers, count, many_fn, &m);
    if(m.f)
      fclose(m.f);
    free(numbers);
    printf("retrieved %zu\n", count);
    return st;
  }
  if(sscanf(a, "dele:%u", &n) == 1)
    return mw_pop3_delete(p, n);
  if(strcmp(a, "quit") == 0)
    return mw_pop3_quit(p);
  fprintf(stderr, "pop3_check: unknown action %s\n", a);
  exit(64);
}

int main(int argc, char **argv)
{
  if(argc < 5) {
    fprintf(stderr,
            "usage: pop3_check HOST:PORT TLS_MODE CA_FILE USER ACTION...\n");
    return 64;
  }
  mw_tls_mode mode;
  const char *password = getenv("MW_PASSWORD");
  const char *insecure = getenv("MW_ALLOW_INSECURE");
  const char *mechs = getenv("MW_AUTH_MECHS");
  const char *trace = getenv("MW_TRACE");
  const char *tls_min = getenv("MW_TLS_MIN");
  const char *strict = getenv("MW_TLS_STRICT");
  mw_tls_version vmin = MW_TLS_VERSION_DEFAULT;
  if(tls_min && mw_tls_version_parse(tls_min, &vmin))
    return 64;
  if(mw_global_init() != MW_OK || mw_tls_mode_parse(argv[2], &mode))
    return 64;
  mw_options *o = mw_options_new();
  if(!o || mw_options_set_server_string(o, argv[1]) ||
     mw_options_set_tls_mode(o, mode) ||
     mw_options_set_tls_ca_file(o, argv[3]) ||
     (password && mw_options_set_credentials(o, argv[4], password)) ||
     (insecure && insecure[0] == '1' &&
      mw_options_set_allow_insecure_auth(o, true)) ||
     (mechs && mechs[0] && mw_options_set_auth_mechanisms(o, mechs)) ||
     (trace && trace[0] == '1' && mw_options_set_trace(o, trace_fn, NULL)) ||
     mw_options_set_tls_versions(o, vmin, MW_TLS_VERSION_DEFAULT) ||
     (strict && strict[0] == '1' && mw_options_set_tls_strict(o, true))) {
    mw_options_free(o);
    return 64;
  }
  mw_pop3 *p = mw_pop3_new(o);
  mw_options_free(o);
  if(!p)
    return 70;
  mw_status st = mw_pop3_connect(p);
  report(p, "connect", st);
  const char *mech = mw_pop3_auth_mechanism(p);
  printf("encrypted %s\n", mw_pop3_is_encrypted(p) ? "yes" : "no");
  printf("mechanism %s\n", mech ? mech : "-");
  for(int i = 5; !st && i < argc; i++) {
    st = action(p, argv[i]);
    char what[64];
    snprintf(what, sizeof(what), "%.*s", (int)strcspn(argv[i], ":"),
             argv[i]);
    report(p, what, st);
  }
  fflush(stdout);
  mw_pop3_free(p);
  mw_global_cleanup();
  return st ? 1 : 0;
}
