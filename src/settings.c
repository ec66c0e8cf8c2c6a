/*
 * settings.c - see settings.h.
 */
#include "settings.h"

#include "exitcode.h"
#include "output.h"
#include "secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --trace-file: opened once, closed at exit. */
static FILE *trace_out;

static void trace_out_close(void)
{
  if(trace_out)
    fclose(trace_out);
  trace_out = NULL;
}

/* Opens path for the trace: appended, created 0600 (a trace names the
 * server, the user and the mailboxes), never through a symbolic link.
 * NULL with the reason in err. */
static FILE *trace_file_open(const char *path, char *err, size_t errlen)
{
  if(trace_out)
    return trace_out;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                0600);
  FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
  if(!f) {
    snprintf(err, errlen, "--trace-file: cannot open '%s': %s", path,
             strerror(errno));
    if(fd >= 0)
      close(fd);
    return NULL;
  }
  trace_out = f;
  atexit(trace_out_close);
  return f;
}

int cli_build_options(const struct send_args *a, mw_options *o,
                         char **password, char **token, char *err,
                         size_t errlen)
{
  /* A URL (imaps://user@host/mailbox) sets the protocol, the port and
   * the TLS mode its scheme implies; --tls given overrides the mode. */
  bool url = a->server && strstr(a->server, "://");
  if((a->server && (url ? mw_options_set_server_url(o, a->server)
                        : mw_options_set_server_string(o, a->server))) ||
     ((!url || a->tls_mode != MW_TLS_AUTO) &&
      mw_options_set_tls_mode(o, a->tls_mode)) ||
     (a->protocol_set && mw_options_set_protocol(o, a->protocol)) ||
     mw_options_set_family(o, a->family) ||
     (a->bind && mw_options_set_bind(o, a->bind)) ||
     (a->dns_server && mw_options_set_dns_server(o, a->dns_server)) ||
     (a->proxy && mw_options_set_proxy(o, a->proxy)) ||
     mw_options_set_proxy_protocol(o, a->proxy_protocol) ||
     (a->domain && mw_options_set_sender_domain(o, a->domain)) ||
     (a->dkim_selector &&
      mw_options_set_dkim_selector(o, a->dkim_selector)) ||
     (a->dnsbl && mw_options_set_dnsbl_zones(o, a->dnsbl)) ||
     (a->connect_timeout_ms &&
      mw_options_set_connect_timeout(o, a->connect_timeout_ms)) ||
     (a->greeting_timeout_ms &&
      mw_options_set_greeting_timeout(o, a->greeting_timeout_ms)) ||
     (a->timeout_ms && mw_options_set_command_timeout(o, a->timeout_ms)) ||
     (a->tls_ca_file && mw_options_set_tls_ca_file(o, a->tls_ca_file)) ||
     (a->tls_crl_file && mw_options_set_tls_crl_file(o, a->tls_crl_file)) ||
     mw_options_set_tls_ocsp(o, a->tls_ocsp) ||
     (a->tls_fingerprint &&
      mw_options_set_tls_fingerprint(o, a->tls_fingerprint)) ||
     (a->tls_server_name &&
      mw_options_set_tls_server_name(o, a->tls_server_name)) ||
     mw_options_set_tls_insecure(o, a->insecure) ||
     mw_options_set_tls_strict(o, a->tls_strict) ||
     (a->tls_ciphers && mw_options_set_tls_ciphers(o, a->tls_ciphers)) ||
     (a->tls_cert &&
      mw_options_set_tls_client_cert(o, a->tls_cert, a->tls_key)) ||
     mw_options_set_tls_versions(o, a->tls_min, a->tls_max) ||
     (a->helo && mw_options_set_helo_name(o, a->helo)) ||
     (a->auth && mw_options_set_auth_mechanisms(o, a->auth)) ||
     mw_options_set_allow_insecure_auth(o, a->allow_insecure_auth) ||
     mw_options_set_pipelining(o, !a->no_pipelining) ||
     mw_options_set_chunking(o, !a->no_chunking)) {
    snprintf(err, errlen, "invalid connection settings (check --server, "
                          "--bind, --helo, --domain, --dnsbl and the --tls "
                          "options)");
    return EXIT_USAGE;
  }
  if(a->trace_file) {
    FILE *f = trace_file_open(a->trace_file, err, errlen);
    if(!f)
      return EXIT_IOERR;
    mw_options_set_trace(o, output_trace, f);
  }
  const char *files[][2] = {{"--tls-ca-file", a->tls_ca_file},
                             {"--tls-crl-file", a->tls_crl_file},
                             {"--tls-cert", a->tls_cert},
                             {"--tls-key", a->tls_key}};
  for(size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    if(!files[i][1])
      continue;
    /* Checked without opening it: the TLS set-up opens and loads it,
     * once (issue 13: the CA file was opened twice). */
    if(faccessat(AT_FDCWD, files[i][1], R_OK, AT_EACCESS) != 0) {
      snprintf(err, errlen, "%s: cannot read '%s': %s", files[i][0],
               files[i][1], strerror(errno));
      return EXIT_NOINPUT;
    }
  }
  if(a->password_value)
    *password = strdup(a->password_value);
  else if(a->password_env)
    *password = secret_from_env(a->password_env, err, errlen);
  else if(a->password_file)
    *password = secret_from_file(a->password_file, err, errlen);
  else if(a->password_cmd)
    *password = secret_from_command(a->password_cmd, "--password-cmd",
                                    a->secret_cmd_timeout_ms, err, errlen);
  if((a->password_env || a->password_file || a->password_cmd ||
      a->password_value) && !*password)
    return EXIT_CONFIG;
  if(a->oauth2_token_cmd) {
    *token = secret_from_command(a->oauth2_token_cmd, "--oauth2-token-cmd",
                                 a->secret_cmd_timeout_ms, err, errlen);
    if(!*token)
      return EXIT_CONFIG;
    if(mw_options_set_oauth2_token(o, *token)) {
      snprintf(err, errlen, "--oauth2-token-cmd: the token contains "
                            "control characters");
      return EXIT_CONFIG;
    }
  }
  if(a->user && mw_options_set_credentials(o, a->user, *password)) {
    snprintf(err, errlen, "--user or the password contains control "
                          "characters");
    return EXIT_CONFIG;
  }
  return EXIT_OK;
}

