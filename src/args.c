/*
 * args.c - `mailwire send` option parsing.
 */
#include "args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char cli_send_help[] =
    "Usage: mailwire send --server HOST[:PORT] --from ADDR --to ADDR [options]\n"
    "\n"
    "Sends one message over SMTP, securely by default: TLS chosen by port\n"
    "(465 implicit, anything else STARTTLS required), certificates verified,\n"
    "no password over an unencrypted connection.\n"
    "\n"
    "Connection:\n"
    "  --server HOST[:PORT]      server (port default 587, or 465 with --tls implicit)\n"
    "  --tls MODE                auto (default), implicit, starttls,\n"
    "                            starttls-optional, none, or detect (probe\n"
    "                            the port(s) first: see mailwire probe)\n"
    "  --bind ADDR               local address to connect from\n"
    "  --dns-server IP[:PORT]    ask this DNS server only\n"
    "  --proxy URL               socks4://, socks4a://, socks5://, socks5h://\n"
    "                            or http:// (CONNECT), [user:pass@]host:port\n"
    "  --proxy-protocol v1|v2    send a HAProxy PROXY header first\n"
    "  -4, -6                    IPv4 or IPv6 only\n"
    "  --connect-timeout DUR     per address attempt (default 15s)\n"
    "  --greeting-timeout DUR    wait for the 220 greeting (default 10s)\n"
    "  --timeout DUR             every other reply (default: RFC 5321 values)\n"
    "                            DUR: 30, 30s, 500ms, 2m\n"
    "TLS:\n"
    "  --tls-ca-file FILE        trust only the CAs in FILE\n"
    "  --tls-fingerprint SHA256  accept exactly this certificate (pin)\n"
    "  --tls-server-name NAME    name to verify and send as SNI\n"
    "  --tls-min VER, --tls-max VER   1.2 or 1.3\n"
    "  --tls-strict              fail when --tls-min is not available (else\n"
    "                            retry once with TLS 1.2, loudly)\n"
    "  --tls-ciphers LIST        OpenSSL ciphers (TLS 1.2) / TLS_* suites (1.3)\n"
    "  --tls-cert FILE           client certificate (PEM), for servers that ask\n"
    "                            and for SASL EXTERNAL\n"
    "  --tls-key FILE            its private key (default: in the --tls-cert file)\n"
    "  --insecure                do NOT verify the certificate (dangerous)\n"
    "Authentication:\n"
    "  --user NAME\n"
    "  --password-env VAR        read the password from environment variable VAR\n"
    "  --password-file FILE      read it from the first line of FILE\n"
    "  --password-cmd CMD        read it from the output of CMD (sh -c)\n"
    "  --oauth2-token-cmd CMD    OAuth 2.0 token for XOAUTH2/OAUTHBEARER\n"
    "  --auth MECHS              allowed mechanisms, e.g. SCRAM-SHA-256,PLAIN\n"
    "                            (default: the strongest both sides support)\n"
    "  --allow-insecure-auth     allow credentials over an unencrypted connection\n"
    "Message:\n"
    "  --from ADDR               envelope sender and From header\n"
    "  --to ADDR, --cc ADDR, --bcc ADDR   recipients (repeatable)\n"
    "  --subject TEXT, --body TEXT, --body-file FILE\n"
    "  --header 'Name: value'    extra header (repeatable)\n"
    "  --message FILE|-          send a complete RFC 5322 message as is\n"
    "  --helo NAME               name for EHLO (default: host name or [address])\n"
    "  --no-pipelining           one command per round trip\n"
    "Output:\n"
    "  --trace                   print the SMTP dialogue to stderr (secrets redacted)\n"
    "  --json                    print the result as JSON on stdout\n"
    "\n"
    "Exit status: 0 sent; 64 usage; 65 bad message; 66 input missing;\n"
    "67 recipient refused; 68 host unknown; 69 refused by server; 70 internal;\n"
    "74 local I/O; 75 temporary failure (retry later); 76 protocol error;\n"
    "77 authentication failed; 78 TLS/certificate/security settings. See README.\n";

enum opt_id {
  O_SERVER, O_TLS, O_FROM, O_TO, O_CC, O_BCC, O_SUBJECT, O_BODY,
  O_BODY_FILE, O_MESSAGE, O_USER, O_PASSWORD, O_PASSWORD_ENV,
  O_PASSWORD_FILE, O_PASSWORD_CMD, O_AUTH, O_OAUTH2_CMD, O_HELO, O_BIND,
  O_IPV4, O_IPV6, O_CONNECT_TIMEOUT, O_GREETING_TIMEOUT, O_TIMEOUT,
  O_CA_FILE, O_FINGERPRINT, O_SERVER_NAME, O_INSECURE, O_TLS_MIN, O_TLS_MAX,
  O_ALLOW_INSECURE_AUTH, O_NO_PIPELINING, O_TRACE, O_JSON, O_HEADER, O_HELP,
  O_NO_COLOR, O_DNS_SERVER, O_PROXY, O_TLS_STRICT, O_TLS_CIPHERS,
  O_PROXY_PROTOCOL, O_PASSWORD_VALUE, O_DOMAIN, O_DKIM_SELECTOR, O_DNSBL,
  O_TLS_CERT, O_TLS_KEY, O_PORTS
};

struct opt_def {
  const char *name;
  bool has_arg;
  enum opt_id id;
};

static const struct opt_def opts[] = {
    {"--server", true, O_SERVER},
    {"--tls", true, O_TLS},
    {"--from", true, O_FROM},
    {"--to", true, O_TO},
    {"--cc", true, O_CC},
    {"--bcc", true, O_BCC},
    {"--subject", true, O_SUBJECT},
    {"--body", true, O_BODY},
    {"--body-file", true, O_BODY_FILE},
    {"--message", true, O_MESSAGE},
    {"--user", true, O_USER},
    {"--password", true, O_PASSWORD},
    {"--password-env", true, O_PASSWORD_ENV},
    {"--password-file", true, O_PASSWORD_FILE},
    {"--password-cmd", true, O_PASSWORD_CMD},
    {"--auth", true, O_AUTH},
    {"--oauth2-token-cmd", true, O_OAUTH2_CMD},
    {"--helo", true, O_HELO},
    {"--bind", true, O_BIND},
    {"--dns-server", true, O_DNS_SERVER},
    {"--proxy", true, O_PROXY},
    {"--proxy-protocol", true, O_PROXY_PROTOCOL},
    /* Only ever produced from a profile (main.c refuses it in argv). */
    {"--password-value", true, O_PASSWORD_VALUE},
    {"-4", false, O_IPV4},
    {"-6", false, O_IPV6},
    {"--connect-timeout", true, O_CONNECT_TIMEOUT},
    {"--greeting-timeout", true, O_GREETING_TIMEOUT},
    {"--timeout", true, O_TIMEOUT},
    {"--tls-ca-file", true, O_CA_FILE},
    {"--tls-fingerprint", true, O_FINGERPRINT},
    {"--tls-server-name", true, O_SERVER_NAME},
    {"--insecure", false, O_INSECURE},
    {"--tls-strict", false, O_TLS_STRICT},
    {"--tls-ciphers", true, O_TLS_CIPHERS},
    {"--tls-cert", true, O_TLS_CERT},
    {"--tls-key", true, O_TLS_KEY},
    {"--ports", true, O_PORTS},
    {"--tls-min", true, O_TLS_MIN},
    {"--tls-max", true, O_TLS_MAX},
    {"--allow-insecure-auth", false, O_ALLOW_INSECURE_AUTH},
    {"--no-pipelining", false, O_NO_PIPELINING},
    {"--trace", false, O_TRACE},
    {"--json", false, O_JSON},
    {"--header", true, O_HEADER},
    {"-H", true, O_HEADER},
    {"--no-color", false, O_NO_COLOR},
    {"--domain", true, O_DOMAIN},
    {"--dkim-selector", true, O_DKIM_SELECTOR},
    {"--dnsbl", true, O_DNSBL},
    {"--help", false, O_HELP},
    {"-h", false, O_HELP},
};

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

bool cli_parse_duration(const char *text, unsigned *ms)
{
  if(!text || !*text)
    return false;
  unsigned long long v = 0;
  const char *p = text;
  while(*p >= '0' && *p <= '9') {
    v = v * 10 + (unsigned long long)(*p - '0');
    if(v > 100000000ULL)
      return false;
    p++;
  }
  if(p == text)
    return false;
  unsigned long long mult;
  if(!*p || strcmp(p, "s") == 0)
    mult = 1000;
  else if(strcmp(p, "ms") == 0)
    mult = 1;
  else if(strcmp(p, "m") == 0)
    mult = 60000;
  else
    return false;
  v *= mult;
  if(v == 0 || v > 24ULL * 3600 * 1000)
    return false;
  *ms = (unsigned)v;
  return true;
}

static int add_list(struct cli_list *l, const char *value, const char *name,
                    char *err, size_t errlen)
{
  if(l->count == CLI_MAX_LIST)
    return fail(err, errlen, "too many %s values (at most %d)", name,
                CLI_MAX_LIST);
  l->items[l->count++] = value;
  return 0;
}

static int set_duration(const char *name, const char *value, unsigned *out,
                        char *err, size_t errlen)
{
  if(!cli_parse_duration(value, out))
    return fail(err, errlen,
                "%s: '%s' is not a duration (examples: 30, 30s, 500ms, 2m; "
                "at most 24h)",
                name, value);
  return 0;
}

static int set_version(const char *name, const char *value,
                       mw_tls_version *out, char *err, size_t errlen)
{
  if(mw_tls_version_parse(value, out) != MW_OK)
    return fail(err, errlen, "%s: '%s' is not a TLS version (1.2 or 1.3)",
                name, value);
  return 0;
}

/* An address option takes one mailbox: a list, a group or two addresses
 * is a usage error (the headers would show more than the envelope
 * carries).  Other defects of an address are the message's (exit 65,
 * reported when the envelope is built). */
static int one_mailbox(const char *name, const char *v, char *err,
                       size_t errlen)
{
  const char *why = NULL;
  if(mw_mailbox_check(v, NULL, 0, &why) != MW_MAILBOX_SEVERAL)
    return 0;
  bool from = strcmp(name, "--from") == 0;
  return fail(err, errlen, "%s takes one address, and '%.200s' %s: %s", name,
              v, why,
              from ? "give the one sender (recipients go in --to, --cc or "
                     "--bcc)"
                   : "repeat the option for each recipient");
}

static int apply(const struct opt_def *d, const char *v, struct send_args *a,
                 char *err, size_t errlen)
{
  switch(d->id) {
  case O_SERVER: a->server = v; break;
  case O_TLS:
    if(mw_tls_mode_parse(v, &a->tls_mode) != MW_OK)
      return fail(err, errlen,
                  "--tls: '%s' is not a TLS mode (auto, implicit, starttls, "
                  "starttls-optional, none, detect)",
                  v);
    break;
  case O_FROM:
    if(one_mailbox(d->name, v, err, errlen))
      return -1;
    a->from = v;
    break;
  case O_TO:
  case O_CC:
  case O_BCC:
    if(one_mailbox(d->name, v, err, errlen))
      return -1;
    return add_list(d->id == O_TO ? &a->to : d->id == O_CC ? &a->cc : &a->bcc,
                    v, d->name, err, errlen);
  case O_HEADER: return add_list(&a->headers, v, "--header", err, errlen);
  case O_SUBJECT: a->subject = v; break;
  case O_BODY: a->body = v; break;
  case O_BODY_FILE: a->body_file = v; break;
  case O_MESSAGE: a->message_file = v; break;
  case O_USER: a->user = v; break;
  case O_PASSWORD:
    return fail(err, errlen,
                "--password is not accepted: a password on the command line "
                "is visible to every user (ps, shell history). Use "
                "--password-env VAR, --password-file FILE or --password-cmd "
                "CMD");
  case O_PASSWORD_ENV: a->password_env = v; break;
  case O_PASSWORD_FILE: a->password_file = v; break;
  case O_PASSWORD_CMD: a->password_cmd = v; break;
  case O_PASSWORD_VALUE: a->password_value = v; break;
  case O_AUTH: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_auth_mechanisms(probe, v)
                         : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen,
                  "--auth: '%s' is not a list of supported mechanisms (%s)",
                  v, mw_auth_supported_mechanisms());
    a->auth = v;
    break;
  }
  case O_OAUTH2_CMD: a->oauth2_token_cmd = v; break;
  case O_HELO:
    if(!*v || strpbrk(v, " \t\r\n"))
      return fail(err, errlen, "--helo: '%s' is not a host name", v);
    a->helo = v;
    break;
  case O_BIND: a->bind = v; break;
  case O_PROXY: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_proxy(probe, v) : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen,
                  "--proxy: not a proxy URL (socks4://, socks4a://, "
                  "socks5://[user:pass@]host:port, socks5h://, "
                  "http://[user:pass@]host:port)");
    a->proxy = v;
    break;
  }
  case O_DNS_SERVER: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_dns_server(probe, v) : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen, "--dns-server: '%s' is not IP[:PORT]", v);
    a->dns_server = v;
    break;
  }
  case O_IPV4: a->family = MW_FAMILY_IPV4; break;
  case O_IPV6: a->family = MW_FAMILY_IPV6; break;
  case O_CONNECT_TIMEOUT:
    return set_duration(d->name, v, &a->connect_timeout_ms, err, errlen);
  case O_GREETING_TIMEOUT:
    return set_duration(d->name, v, &a->greeting_timeout_ms, err, errlen);
  case O_TIMEOUT:
    return set_duration(d->name, v, &a->timeout_ms, err, errlen);
  case O_CA_FILE: a->tls_ca_file = v; break;
  case O_FINGERPRINT: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_tls_fingerprint(probe, v)
                         : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen,
                  "--tls-fingerprint: '%s' is not a SHA-256 fingerprint (64 "
                  "hex digits, colons allowed)",
                  v);
    a->tls_fingerprint = v;
    break;
  }
  case O_SERVER_NAME: a->tls_server_name = v; break;
  case O_TLS_CERT: a->tls_cert = v; break;
  case O_TLS_KEY: a->tls_key = v; break;
  case O_PORTS:
    if(!cli_ports_valid(v))
      return fail(err, errlen,
                  "--ports: '%s' is not a list of ports (1-65535, "
                  "comma-separated, at most %d)",
                  v, CLI_MAX_PORTS);
    a->ports = v;
    break;
  case O_INSECURE: a->insecure = true; break;
  case O_TLS_STRICT: a->tls_strict = true; break;
  case O_PROXY_PROTOCOL:
    if(strcmp(v, "v1") == 0 || strcmp(v, "1") == 0)
      a->proxy_protocol = 1;
    else if(strcmp(v, "v2") == 0 || strcmp(v, "2") == 0)
      a->proxy_protocol = 2;
    else
      return fail(err, errlen, "--proxy-protocol: '%s' is not v1 or v2", v);
    break;
  case O_TLS_CIPHERS: {
    mw_options *probe = mw_options_new();
    mw_status st = probe ? mw_options_set_tls_ciphers(probe, v) : MW_E_NOMEM;
    mw_options_free(probe);
    if(st)
      return fail(err, errlen, "--tls-ciphers: OpenSSL knows none of '%s'",
                  v);
    a->tls_ciphers = v;
    break;
  }
  case O_TLS_MIN: return set_version(d->name, v, &a->tls_min, err, errlen);
  case O_TLS_MAX: return set_version(d->name, v, &a->tls_max, err, errlen);
  case O_ALLOW_INSECURE_AUTH: a->allow_insecure_auth = true; break;
  case O_NO_PIPELINING: a->no_pipelining = true; break;
  case O_TRACE: a->trace = true; break;
  case O_JSON: a->json = true; break;
  case O_HELP: a->help = true; break;
  case O_NO_COLOR: a->no_color = true; break;
  case O_DOMAIN:
  case O_DKIM_SELECTOR:
  case O_DNSBL: {
    mw_options *probe = mw_options_new();
    mw_status st = MW_E_NOMEM;
    if(probe && d->id == O_DOMAIN)
      st = mw_options_set_sender_domain(probe, v);
    else if(probe && d->id == O_DNSBL)
      st = mw_options_set_dnsbl_zones(probe, v);
    else if(probe)
      st = mw_options_set_dkim_selector(probe, v);
    mw_options_free(probe);
    if(st)
      return fail(err, errlen, "%s: '%s' is not a DNS name%s", d->name, v,
                  d->id == O_DNSBL ? " list (ZONE[,ZONE...])" : "");
    if(d->id == O_DOMAIN)
      a->domain = v;
    else if(d->id == O_DNSBL)
      a->dnsbl = v;
    else
      a->dkim_selector = v;
    break;
  }
  }
  return 0;
}

static int check_credentials(const struct send_args *a, char *err,
                             size_t errlen);

static int check_rules(struct send_args *a, char *err, size_t errlen)
{
  if(a->help)
    return 0;
  if(!a->server)
    return fail(err, errlen, "--server is required");
  mw_options *probe = mw_options_new();
  mw_status st = probe ? mw_options_set_server_string(probe, a->server)
                       : MW_E_NOMEM;
  mw_options_free(probe);
  if(st)
    return fail(err, errlen,
                "--server: '%s' is not HOST, HOST:PORT or [IPv6]:PORT (port "
                "1-65535)",
                a->server);
  if(!a->from)
    return fail(err, errlen, "--from is required");
  if(!a->to.count && !a->cc.count && !a->bcc.count)
    return fail(err, errlen, "at least one --to, --cc or --bcc is required");
  int bodies = !!a->body + !!a->body_file + !!a->message_file;
  if(bodies > 1)
    return fail(err, errlen,
                "--body, --body-file and --message exclude each other");
  if(a->message_file && (a->subject || a->headers.count))
    return fail(err, errlen,
                "--message sends a complete message as is: --subject and "
                "--header do not apply");
  if(check_credentials(a, err, errlen))
    return -1;
  if(a->tls_min && a->tls_max && a->tls_min > a->tls_max)
    return fail(err, errlen, "--tls-min is above --tls-max");
  for(size_t i = 0; i < a->headers.count; i++)
    if(!strchr(a->headers.items[i], ':'))
      return fail(err, errlen, "--header: '%s' is not 'Name: value'",
                  a->headers.items[i]);
  return 0;
}

enum cli_command { CLI_SEND, CLI_DOCTOR, CLI_PROBE };

/* Options that only make sense when a message is sent. */
static bool is_message_option(enum opt_id id)
{
  return id == O_SUBJECT || id == O_BODY || id == O_BODY_FILE ||
         id == O_MESSAGE || id == O_HEADER || id == O_CC || id == O_BCC ||
         id == O_NO_PIPELINING;
}

/* What probe accepts: where and how to connect, and the TLS policy. */
static bool is_probe_option(enum opt_id id)
{
  switch(id) {
  case O_PORTS: case O_BIND: case O_DNS_SERVER: case O_PROXY:
  case O_IPV4: case O_IPV6: case O_CONNECT_TIMEOUT: case O_GREETING_TIMEOUT:
  case O_TIMEOUT: case O_CA_FILE: case O_FINGERPRINT: case O_SERVER_NAME:
  case O_INSECURE: case O_TLS_CIPHERS: case O_TLS_MIN: case O_TLS_MAX:
  case O_TLS_CERT: case O_TLS_KEY: case O_HELO: case O_TRACE: case O_JSON:
  case O_HELP: case O_NO_COLOR:
    return true;
  default:
    return false;
  }
}

static int parse_words(int argc, char **argv, struct send_args *out,
                       enum cli_command command, char *err, size_t errlen)
{
  bool doctor = command == CLI_DOCTOR;
  bool takes_target = command != CLI_SEND;
  const char *cmd = command == CLI_DOCTOR  ? "doctor"
                    : command == CLI_PROBE ? "probe"
                                           : "send";
  bool target_seen = false;
  memset(out, 0, sizeof(*out));
  err[0] = '\0';
  for(int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt_def *d = NULL;
    for(size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
      if(strlen(opts[k].name) == nlen && strncmp(opts[k].name, arg, nlen) == 0)
        d = &opts[k];
    if(!d && takes_target && arg[0] != '-' && !target_seen) {
      out->server = arg; /* the target (it overrides a profile's host) */
      target_seen = true;
      continue;
    }
    if(!d) {
      if(arg[0] == '-')
        return fail(err, errlen, "unknown option '%.*s' (see mailwire %s "
                                 "--help)",
                    (int)nlen, arg, cmd);
      return fail(err, errlen, "unexpected argument '%s' (see mailwire %s "
                               "--help)",
                  arg, cmd);
    }
    if(command == CLI_PROBE && !is_probe_option(d->id))
      return fail(err, errlen, "option '%s' does not apply to probe (it "
                               "only connects, says EHLO and leaves)",
                  d->name);
    if(command == CLI_SEND && d->id == O_PORTS)
      return fail(err, errlen, "option '--ports' is for mailwire probe");
    if(!doctor && (d->id == O_DOMAIN || d->id == O_DKIM_SELECTOR ||
                   d->id == O_DNSBL))
      return fail(err, errlen, "option '%s' is for mailwire doctor",
                  d->name);
    if(doctor && (is_message_option(d->id) || d->id == O_PORTS))
      return fail(err, errlen, "option '%s' does not apply to doctor (no "
                               "message is sent)",
                  d->name);
    if(d->id == O_PASSWORD)
      return apply(d, NULL, out, err, errlen);
    const char *value = NULL;
    if(d->has_arg) {
      if(eq)
        value = eq + 1;
      else if(i + 1 < argc)
        value = argv[++i];
      else
        return fail(err, errlen, "option '%s' needs a value", d->name);
    }
    else if(eq) {
      return fail(err, errlen, "option '%s' takes no value", d->name);
    }
    if(apply(d, value, out, err, errlen))
      return -1;
  }
  return 0;
}

int cli_check_words(int argc, char **argv, char *err, size_t errlen)
{
  struct send_args *scratch = calloc(1, sizeof(*scratch));
  if(!scratch)
    return fail(err, errlen, "out of memory");
  int rc = parse_words(argc, argv, scratch, CLI_SEND, err, errlen);
  free(scratch);
  return rc;
}

int cli_parse_send(int argc, char **argv, struct send_args *out, char *err,
                   size_t errlen)
{
  if(parse_words(argc, argv, out, CLI_SEND, err, errlen))
    return -1;
  return check_rules(out, err, errlen);
}

/* "EXTERNAL" alone in a mechanism list. */
static bool only_external(const char *list)
{
  const char *p = list + strspn(list, " ,\t");
  size_t n = strcspn(p, " ,\t");
  if(n != 8 || strncasecmp(p, "EXTERNAL", 8) != 0)
    return false;
  return p[n + strspn(p + n, " ,\t")] == '\0';
}

static int check_credentials(const struct send_args *a, char *err,
                             size_t errlen)
{
  int passwords = !!a->password_env + !!a->password_file + !!a->password_cmd +
                  !!a->password_value;
  if(passwords > 1)
    return fail(err, errlen,
                "--password-env, --password-file and --password-cmd exclude "
                "each other");
  if(passwords && !a->user)
    return fail(err, errlen, "a password source needs --user");
  if(a->user && !passwords && !a->oauth2_token_cmd && !a->tls_cert)
    return fail(err, errlen,
                "--user needs --password-env, --password-file, "
                "--password-cmd, --oauth2-token-cmd or --tls-cert (SASL "
                "EXTERNAL)");
  if(a->tls_key && !a->tls_cert)
    return fail(err, errlen, "--tls-key needs --tls-cert");
  if(a->auth && !a->tls_cert && only_external(a->auth))
    return fail(err, errlen, "--auth EXTERNAL needs a client certificate "
                             "(--tls-cert FILE)");
  if(a->insecure && a->tls_fingerprint)
    return fail(err, errlen, "--insecure and --tls-fingerprint exclude each "
                             "other");
  return 0;
}

int cli_parse_doctor(int argc, char **argv, struct send_args *out, char *err,
                     size_t errlen)
{
  if(parse_words(argc, argv, out, CLI_DOCTOR, err, errlen))
    return -1;
  if(out->help)
    return 0;
  if(!out->server)
    return fail(err, errlen, "give the server to check: mailwire doctor "
                             "HOST[:PORT]");
  if(out->tls_mode == MW_TLS_DETECT)
    return fail(err, errlen, "--tls detect is for send; doctor already "
                             "finds the mode the port speaks");
  mw_options *probe = mw_options_new();
  mw_status st = probe ? mw_options_set_server_string(probe, out->server)
                       : MW_E_NOMEM;
  mw_options_free(probe);
  if(st)
    return fail(err, errlen,
                "'%s' is not HOST, HOST:PORT or [IPv6]:PORT (port 1-65535)",
                out->server);
  if(!out->from != !out->to.count)
    return fail(err, errlen, "--from and --to go together (they test the "
                             "envelope)");
  if(out->to.count > 1)
    return fail(err, errlen, "doctor tests one --to address");
  return check_credentials(out, err, errlen);
}

const char cli_doctor_help[] =
    "Usage: mailwire doctor HOST[:PORT] [options]\n"
    "\n"
    "Walks the troubleshooting checklist (DNS, TCP to every address, greeting,\n"
    "TLS mode, certificate, EHLO, AUTH, envelope) and names the root cause\n"
    "with its evidence and the fix.  No message is sent.\n"
    "\n"
    "Options: the connection, TLS and authentication options of `mailwire\n"
    "send` (--tls, --bind, -4/-6, --connect-timeout, --greeting-timeout,\n"
    "--timeout, --tls-*, --insecure, --user, --password-*, --oauth2-token-cmd,\n"
    "--auth, --allow-insecure-auth, --helo), and:\n"
    "  --from ADDR --to ADDR   test the envelope (MAIL, RCPT, then RSET)\n"
    "  --dns-server IP[:PORT]  ask this DNS server only (split horizon, tests)\n"
    "Deliverability (after the SMTP checks; warnings unless a reply blames\n"
    "them): SPF, DMARC, MTA-STS and TLS-RPT of the sender's domain:\n"
    "  --domain DOMAIN         the sender's domain (default: that of --from)\n"
    "  --dkim-selector NAME    also check the DKIM key NAME._domainkey.DOMAIN\n"
    "  --dnsbl ZONE[,ZONE...]  look the server's IPv4 address up in these DNS\n"
    "                          blocklists (none by default: no query is sent)\n"
    "HOST may be an address or domain (alice@example.org): its MX is checked,\n"
    "on port 25 unless a port is given.\n"
    "  --json                  the report as JSON (schema in README.md)\n"
    "  --no-color              no colour even on a terminal\n"
    "  --trace                 the SMTP dialogue of the main attempt on stderr\n"
    "\n"
    "Exit status: 0 healthy; 10 DNS; 11 connection refused or unreachable;\n"
    "12 filtered (timeout, port 25 blocked); 13 greeting/service; 14 TLS mode\n"
    "mismatch or STARTTLS missing; 15 TLS handshake/version; 16 certificate;\n"
    "17 authentication; 18 envelope refused; 19 temporary (greylisted, rate\n"
    "limited); 20 protocol error; 21 proxy; 64 usage.\n";

bool cli_ports_valid(const char *list)
{
  unsigned ports[CLI_MAX_PORTS];
  size_t n = 0;
  return mw_probe_ports_parse(list, ports, CLI_MAX_PORTS, &n) == MW_OK;
}

int cli_parse_probe(int argc, char **argv, const char *default_target,
                    struct send_args *out, char *err, size_t errlen)
{
  if(parse_words(argc, argv, out, CLI_PROBE, err, errlen))
    return -1;
  if(out->help)
    return 0;
  if(!out->server)
    out->server = default_target;
  if(!out->server)
    return fail(err, errlen, "give the host, domain or address to probe: "
                             "mailwire probe HOST");
  const char *at = strrchr(out->server, '@');
  if(!*out->server || strpbrk(out->server, " \t\r\n/\\") ||
     (at && !at[1]) || strlen(out->server) > 255)
    return fail(err, errlen, "'%s' is not a host name, address or e-mail "
                             "address%s",
                out->server, at && !at[1] ? " (no domain after '@')" : "");
  if(out->tls_min && out->tls_max && out->tls_min > out->tls_max)
    return fail(err, errlen, "--tls-min is above --tls-max");
  if(out->insecure && out->tls_fingerprint)
    return fail(err, errlen, "--insecure and --tls-fingerprint exclude each "
                             "other");
  if(out->tls_key && !out->tls_cert)
    return fail(err, errlen, "--tls-key needs --tls-cert");
  return 0;
}

const char cli_probe_help[] =
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
    "Options:\n"
    "  --ports LIST              e.g. 465,587 (default 465,587,25,2525)\n"
    "  --greeting-timeout DUR    bound of each attempt (default 10s)\n"
    "  --connect-timeout DUR, --timeout DUR, --bind ADDR, -4, -6,\n"
    "  --dns-server IP[:PORT], --proxy URL, --helo NAME\n"
    "  --tls-ca-file FILE, --tls-fingerprint SHA256, --tls-server-name NAME,\n"
    "  --tls-min VER, --tls-max VER, --tls-ciphers LIST, --tls-cert FILE,\n"
    "  --tls-key FILE, --insecure    as for send\n"
    "  --json                    the result as JSON (schema in README.md)\n"
    "  --no-color, --trace\n"
    "\n"
    "Exit status: 0 a secure combination works (the first one printed);\n"
    "64 usage; 68 the name does not exist; 69 nothing answered SMTP;\n"
    "75 DNS failed for a reason that may pass;\n"
    "78 only insecure combinations work (plaintext, or a certificate that\n"
    "is not accepted: see the fix printed).\n";
