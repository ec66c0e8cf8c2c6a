/*
 * cmd_probe.c - `mailwire probe HOST|DOMAIN|ADDRESS`: every port and TLS
 * mode at once (mw_probe_run), the table of what works, the recommended
 * settings as send flags and as a profile block (msmtprc syntax).
 */
#include "args.h"
#include "commands.h"
#include "exitcode.h"
#include "flags.h"
#include "output.h"
#include "secrets.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Options a profile may give probe: where and how to connect.  The rest
 * of an account (sender, credentials) does not apply and is skipped. */
static const struct {
  const char *name;
  bool has_arg;
} profile_keep[] = {
    {"--bind", true},          {"--dns-server", true},
    {"--proxy", true},         {"-4", false},
    {"-6", false},             {"--connect-timeout", true},
    {"--greeting-timeout", true}, {"--timeout", true},
    {"--tls-ca-file", true},   {"--tls-fingerprint", true},
    {"--tls-server-name", true}, {"--insecure", false},
    {"--tls-min", true},       {"--tls-max", true},
    {"--tls-ciphers", true},   {"--tls-cert", true},
    {"--tls-key", true},       {"--helo", true},
    {"--protocol", true}, /* an incoming account probes its protocol */
};

/* Keeps the probe options of the profile's words [0, nprofile) and the
 * command line's; a profile's --server is returned in *profile_server (the
 * target when the command line gives none). */
static int filter_profile_words(char **words, int n, int nprofile,
                                char ***out, int *outc,
                                const char **profile_server)
{
  char **kept = calloc((size_t)n + 1, sizeof(*kept));
  if(!kept)
    return -1;
  int k = 0;
  *profile_server = NULL;
  for(int i = 0; i < nprofile; i++) {
    const char *w = words[i];
    bool next_is_value = i + 1 < nprofile && words[i + 1][0] != '-';
    if(strcmp(w, "--server") == 0 && next_is_value) {
      *profile_server = words[++i];
      continue;
    }
    bool keep = false, arg = false;
    for(size_t j = 0; j < sizeof(profile_keep) / sizeof(profile_keep[0]); j++)
      if(strcmp(w, profile_keep[j].name) == 0) {
        keep = true;
        arg = profile_keep[j].has_arg;
      }
    if(keep) {
      kept[k++] = words[i];
      if(arg && i + 1 < nprofile)
        kept[k++] = words[++i];
    }
    else if(next_is_value) {
      i++; /* an option probe does not take, and its value */
    }
  }
  for(int i = nprofile; i < n; i++)
    kept[k++] = words[i];
  *out = kept;
  *outc = k;
  return 0;
}

/* "587" into 1-65535. */
static bool parse_port(const char *text, unsigned *port)
{
  unsigned long v = 0;
  const char *p = text;
  while(*p >= '0' && *p <= '9' && v <= 65535)
    v = v * 10 + (unsigned long)(*p++ - '0');
  if(p == text || *p || v == 0 || v > 65535)
    return false;
  *port = (unsigned)v;
  return true;
}

static bool cert_ok(const char *verdict)
{
  return !strcmp(verdict, "verified") || !strcmp(verdict, "pinned") ||
         !strcmp(verdict, "insecure");
}

static const char *cert_fix(const char *verdict)
{
  if(!strcmp(verdict, "hostname"))
    return "the certificate does not name this host: connect with a name "
           "it lists, or set --tls-server-name";
  if(!strcmp(verdict, "expired"))
    return "the certificate has expired: its administrator must renew it";
  if(!strcmp(verdict, "not_yet_valid"))
    return "the certificate is not valid yet: check this machine's clock";
  if(!strcmp(verdict, "pin_mismatch"))
    return "the certificate does not match --tls-fingerprint";
  return "the certificate is not trusted here: give its CA with "
         "--tls-ca-file, or pin it with --tls-fingerprint";
}

/* "host:port" with brackets for IPv6 literals. */
static void host_port(const char *host, unsigned port, char *buf, size_t len)
{
  if(strchr(host, ':'))
    snprintf(buf, len, "[%s]:%u", host, port);
  else
    snprintf(buf, len, "%s:%u", host, port);
}

/* The proxy URL without its user:password (printed flags must not leak
 * it; the user adds it back). */
static void proxy_without_secret(const char *url, char *buf, size_t len)
{
  const char *scheme_end = strstr(url, "://");
  const char *at = scheme_end ? strrchr(scheme_end, '@') : NULL;
  if(!at) {
    snprintf(buf, len, "%s", url);
    return;
  }
  snprintf(buf, len, "%.*sUSER:PASSWORD@%s",
           (int)(scheme_end + 3 - url), url, at + 1);
}

/* The TLS and path settings the recommendation carries over, as send
 * flags and as msmtp's profile keys (so the block works in ~/.msmtprc). */
struct carried {
  const char *flag, *key, *value; /* key NULL: not a profile key */
};

static size_t carried_settings(const struct send_args *a, char *proxy,
                               size_t proxy_len, struct carried *out)
{
  if(a->proxy)
    proxy_without_secret(a->proxy, proxy, proxy_len);
  /* mailwire's profile keys for the path (msmtp has no PROXY protocol) */
  const struct carried all[] = {
      {"--tls-ca-file", "tls_trust_file", a->tls_ca_file},
      {"--tls-fingerprint", "tls_fingerprint", a->tls_fingerprint},
      {"--tls-server-name", "tls_host_override", a->tls_server_name},
      {"--tls-cert", "tls_cert_file", a->tls_cert},
      {"--tls-key", "tls_key_file", a->tls_key},
      {"--bind", "source_ip", a->bind},
      {"--proxy", "proxy", a->proxy ? proxy : NULL},
      {"--proxy-protocol", "proxy_protocol",
       a->proxy_protocol == 1   ? "v1"
       : a->proxy_protocol == 2 ? "v2"
                                : NULL}};
  size_t n = 0;
  for(size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
    if(all[k].value)
      out[n++] = all[k];
  return n;
}

/* Appends to buf (holding *used bytes), never past len. */
static void append(char *buf, size_t len, size_t *used, const char *fmt,
                   const char *name, const char *value)
{
  if(*used >= len)
    return;
  int m = snprintf(buf + *used, len - *used, fmt, name, value);
  if(m > 0)
    *used += (size_t)m;
}

static void send_flags(const mw_probe *p, size_t i,
                       const struct send_args *a, char *buf, size_t len)
{
  char hp[300], proxy[300] = "";
  host_port(mw_probe_row_host(p, i), mw_probe_row_port(p, i), hp,
            sizeof(hp));
  size_t used = 0;
  append(buf, len, &used, "--server %s --tls %s", hp,
         mw_probe_row_mode(p, i));
  struct carried c[8];
  size_t n = carried_settings(a, proxy, sizeof(proxy), c);
  for(size_t k = 0; k < n; k++)
    append(buf, len, &used, " %s %s", c[k].flag, c[k].value);
}

static void profile_block(const mw_probe *p, size_t i,
                          const struct send_args *a, char *buf, size_t len)
{
  bool implicit = !strcmp(mw_probe_row_mode(p, i), "implicit");
  int n0 = snprintf(buf, len,
                    "account %s\nhost %s\nport %u\ntls on\ntls_starttls %s\n",
                    mw_probe_row_host(p, i), mw_probe_row_host(p, i),
                    mw_probe_row_port(p, i), implicit ? "off" : "on");
  size_t used = n0 > 0 ? (size_t)n0 : 0;
  char proxy[300] = "";
  struct carried c[8];
  size_t n = carried_settings(a, proxy, sizeof(proxy), c);
  for(size_t k = 0; k < n; k++)
    if(c[k].key)
      append(buf, len, &used, "%s %s\n", c[k].key, c[k].value);
}

/* The exit status: 0 a secure combination works; 78 only insecure ones;
 * 68 the name does not exist; 69 nothing answered. */
static int probe_exit_code(const mw_probe *p)
{
  size_t best;
  if(mw_probe_best(p, &best))
    return cert_ok(mw_probe_row_cert(p, best)) ? EXIT_OK : EXIT_CONFIG;
  bool any_plain = false, all_dns = mw_probe_row_count(p) > 0;
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
    const char *o = mw_probe_row_outcome(p, i);
    any_plain = any_plain || !strcmp(o, "works");
    all_dns = all_dns && !strcmp(o, "dns");
  }
  if(any_plain)
    return EXIT_CONFIG;
  if(all_dns && mw_probe_dns_temporary(p))
    return EXIT_TEMPFAIL;
  if(all_dns || mw_probe_row_count(p) == 0)
    return EXIT_NOHOST;
  return EXIT_UNAVAILABLE;
}

static void print_human(FILE *f, const mw_probe *p, const char *target,
                        const struct send_args *a, bool colour)
{
  const char *bold = colour ? "\033[1m" : "", *reset = colour ? "\033[0m" : "";
  const char *green = colour ? "\033[32m" : "", *red = colour ? "\033[31m" : "";
  fprintf(f, "%smailwire probe %s%s: %zu combinations in %.2f s\n", bold,
          target, reset, mw_probe_row_count(p), mw_probe_total_ms(p) / 1000.0);
  for(size_t i = 0; i < mw_probe_host_count(p); i++)
    fprintf(f, "  host %s (%s)\n", mw_probe_host_name(p, i),
            mw_probe_host_source(p, i));
  if(mw_probe_dns_note(p)[0])
    fprintf(f, "  dns: %s\n", cli_text(mw_probe_dns_note(p)));
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
    char hp[300], rank[8] = "-";
    host_port(mw_probe_row_host(p, i), mw_probe_row_port(p, i), hp,
              sizeof(hp));
    if(mw_probe_row_rank(p, i))
      snprintf(rank, sizeof(rank), "%u", mw_probe_row_rank(p, i));
    const char *o = mw_probe_row_outcome(p, i);
    bool works = !strcmp(o, "works");
    fprintf(f, "  %-3s %-24s %-9s %s%-12s%s", rank, hp, mw_probe_row_mode(p, i),
            works ? green : red, o, reset);
    if(works && mw_probe_row_tls_version(p, i)[0])
      fprintf(f, " %s, certificate %s, AUTH %s\n",
              mw_probe_row_tls_version(p, i), mw_probe_row_cert(p, i),
              mw_probe_row_auth(p, i)[0] ? mw_probe_row_auth(p, i)
                                         : "not offered");
    else if(works)
      fprintf(f, " no encryption, AUTH %s (never recommended)\n",
              mw_probe_row_auth(p, i)[0] ? mw_probe_row_auth(p, i)
                                         : "not offered");
    else
      fprintf(f, " %s\n", cli_text(mw_probe_row_detail(p, i)));
  }
  size_t best;
  if(!mw_probe_best(p, &best)) {
    fprintf(f, "\n%sno secure combination works.%s %s\n", bold, reset,
            probe_exit_code(p) == EXIT_CONFIG
                ? "Only plaintext answered: mailwire will not recommend it "
                  "(anyone on the path can read the password and the mail)."
                : "Check the host name, the ports (--ports), and whether a "
                  "firewall blocks outgoing mail ports (try mailwire "
                  "doctor).");
    return;
  }
  char flags[1500], block[1500];
  send_flags(p, best, a, flags, sizeof(flags));
  profile_block(p, best, a, block, sizeof(block));
  const char *cert = mw_probe_row_cert(p, best);
  fprintf(f, "\n%srecommended:%s %s on port %u of %s (%s, certificate %s)\n",
          bold, reset,
          !strcmp(mw_probe_row_mode(p, best), "implicit") ? "implicit TLS"
                                                          : "STARTTLS",
          mw_probe_row_port(p, best), mw_probe_row_host(p, best),
          mw_probe_row_tls_version(p, best), cert);
  if(!cert_ok(cert))
    fprintf(f, "%sfirst:%s %s\n", bold, reset, cert_fix(cert));
  fprintf(f, "%ssend flags:%s %s\n", bold, reset, flags);
  fprintf(f, "%sprofile:%s\n", bold, reset);
  for(const char *l = block; *l;) {
    size_t n = strcspn(l, "\n");
    fprintf(f, "  %.*s\n", (int)n, l);
    l += n + (l[n] ? 1 : 0);
  }
}

static void print_json(FILE *f, const mw_probe *p, const char *target,
                       const struct send_args *a, int code)
{
  fputs("{\"target\":", f);
  output_json_string(f, target);
  fprintf(f, ",\"total_ms\":%.1f,\"hosts\":[", mw_probe_total_ms(p));
  for(size_t i = 0; i < mw_probe_host_count(p); i++) {
    fputs(i ? ",{\"name\":" : "{\"name\":", f);
    output_json_string(f, mw_probe_host_name(p, i));
    fputs(",\"source\":", f);
    output_json_string(f, mw_probe_host_source(p, i));
    fputs("}", f);
  }
  fputs("],\"dns_note\":", f);
  output_json_string(f, cli_text(mw_probe_dns_note(p)));
  fputs(",\"results\":[", f);
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
    fputs(i ? ",{\"host\":" : "{\"host\":", f);
    output_json_string(f, mw_probe_row_host(p, i));
    fprintf(f, ",\"port\":%u,\"mode\":", mw_probe_row_port(p, i));
    output_json_string(f, mw_probe_row_mode(p, i));
    fputs(",\"outcome\":", f);
    output_json_string(f, mw_probe_row_outcome(p, i));
    fputs(",\"detail\":", f);
    output_json_string(f, cli_text(mw_probe_row_detail(p, i)));
    fputs(",\"address\":", f);
    output_json_string(f, mw_probe_row_address(p, i));
    fputs(",\"tls_version\":", f);
    output_json_string(f, mw_probe_row_tls_version(p, i));
    fputs(",\"cert\":", f);
    output_json_string(f, mw_probe_row_cert(p, i));
    fputs(",\"auth\":", f);
    output_json_string(f, mw_probe_row_auth(p, i));
    fprintf(f, ",\"ms\":%.1f,\"rank\":%u}", mw_probe_row_ms(p, i),
            mw_probe_row_rank(p, i));
  }
  fputs("],\"recommended\":", f);
  size_t best;
  if(mw_probe_best(p, &best)) {
    char flags[1500], block[1500];
    send_flags(p, best, a, flags, sizeof(flags));
    profile_block(p, best, a, block, sizeof(block));
    const char *cert = mw_probe_row_cert(p, best);
    fputs("{\"host\":", f);
    output_json_string(f, mw_probe_row_host(p, best));
    fprintf(f, ",\"port\":%u,\"mode\":", mw_probe_row_port(p, best));
    output_json_string(f, mw_probe_row_mode(p, best));
    fputs(",\"send_flags\":", f);
    output_json_string(f, flags);
    fputs(",\"profile\":", f);
    output_json_string(f, block);
    fputs(",\"fix_first\":", f);
    output_json_string(f, cert_ok(cert) ? NULL : cert_fix(cert));
    fputs("}", f);
  }
  else {
    fputs("null", f);
  }
  fprintf(f, ",\"exit_code\":%d}\n", code);
}

/* ---- incoming servers (--incoming, --protocol imap|pop3) ------------- */

static const char *const in_protos[] = {"imap", "pop3"};

static bool in_asked(unsigned protocols, size_t k)
{
  return protocols & (k == 0 ? MW_PROBE_IMAP : MW_PROBE_POP3);
}

/* fetch's flags: the URL says the protocol and the TLS mode. */
static void in_flags(const mw_probe *p, size_t i, const struct send_args *a,
                     char *buf, size_t len)
{
  char hp[300], proxy[300] = "";
  host_port(mw_probe_row_host(p, i), mw_probe_row_port(p, i), hp,
            sizeof(hp));
  bool implicit = !strcmp(mw_probe_row_mode(p, i), "implicit");
  size_t used = 0;
  int n = snprintf(buf, len, "--server %s%s://%s",
                   mw_probe_row_protocol(p, i), implicit ? "s" : "", hp);
  used = n > 0 ? (size_t)n : 0;
  struct carried c[8];
  size_t nc = carried_settings(a, proxy, sizeof(proxy), c);
  for(size_t k = 0; k < nc; k++)
    if(strcmp(c[k].flag, "--proxy-protocol") != 0)
      append(buf, len, &used, " %s %s", c[k].flag, c[k].value);
}

/* The profile keys an incoming account needs (src/profile.c). */
static void in_block(const mw_probe *p, size_t i, const struct send_args *a,
                     char *buf, size_t len)
{
  bool implicit = !strcmp(mw_probe_row_mode(p, i), "implicit");
  int n0 = snprintf(buf, len,
                    "account %s-%s\nprotocol %s\nhost %s\nport %u\ntls on\n"
                    "tls_starttls %s\n",
                    mw_probe_row_host(p, i), mw_probe_row_protocol(p, i),
                    mw_probe_row_protocol(p, i), mw_probe_row_host(p, i),
                    mw_probe_row_port(p, i), implicit ? "off" : "on");
  size_t used = n0 > 0 ? (size_t)n0 : 0;
  char proxy[300] = "";
  struct carried c[8];
  size_t n = carried_settings(a, proxy, sizeof(proxy), c);
  for(size_t k = 0; k < n; k++)
    if(c[k].key && strcmp(c[k].flag, "--proxy-protocol") != 0)
      append(buf, len, &used, "%s %s\n", c[k].key, c[k].value);
}

static int in_exit_code(const mw_probe *p, unsigned protocols)
{
  bool any_best = false;
  for(size_t k = 0; k < 2; k++) {
    size_t best;
    if(in_asked(protocols, k) && mw_probe_best_of(p, in_protos[k], &best)) {
      if(cert_ok(mw_probe_row_cert(p, best)))
        return EXIT_OK;
      any_best = true;
    }
  }
  if(any_best)
    return EXIT_CONFIG;
  bool any_plain = false, all_dns = mw_probe_row_count(p) > 0;
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
    const char *o = mw_probe_row_outcome(p, i);
    any_plain = any_plain || !strcmp(o, "works");
    all_dns = all_dns && !strcmp(o, "dns");
  }
  if(any_plain)
    return EXIT_CONFIG;
  if(mw_probe_row_count(p) == 0 && mw_probe_dns_temporary(p))
    return EXIT_TEMPFAIL;
  if(all_dns && mw_probe_dns_temporary(p))
    return EXIT_TEMPFAIL;
  if(all_dns || mw_probe_row_count(p) == 0)
    return EXIT_NOHOST;
  return EXIT_UNAVAILABLE;
}

static void print_human_in(FILE *f, const mw_probe *p, const char *target,
                           const struct send_args *a, unsigned protocols,
                           bool colour)
{
  const char *bold = colour ? "\033[1m" : "", *reset = colour ? "\033[0m" : "";
  const char *green = colour ? "\033[32m" : "", *red = colour ? "\033[31m" : "";
  fprintf(f, "%smailwire probe %s%s (incoming): %zu combinations in %.2f s\n",
          bold, target, reset, mw_probe_row_count(p),
          mw_probe_total_ms(p) / 1000.0);
  for(size_t i = 0; i < mw_probe_host_count(p); i++)
    fprintf(f, "  host %s (%s)\n", mw_probe_host_name(p, i),
            mw_probe_host_source(p, i));
  if(mw_probe_dns_note(p)[0])
    fprintf(f, "  dns: %s\n", cli_text(mw_probe_dns_note(p)));
  for(size_t k = 0; k < 2; k++) {
    if(!in_asked(protocols, k))
      continue;
    fprintf(f, "\n%s%s%s\n", bold, k == 0 ? "IMAP" : "POP3", reset);
    size_t shown = 0;
    for(size_t i = 0; i < mw_probe_row_count(p); i++) {
      if(strcmp(mw_probe_row_protocol(p, i), in_protos[k]))
        continue;
      shown++;
      char hp[300], rank[8] = "-";
      host_port(mw_probe_row_host(p, i), mw_probe_row_port(p, i), hp,
                sizeof(hp));
      if(mw_probe_row_rank(p, i))
        snprintf(rank, sizeof(rank), "%u", mw_probe_row_rank(p, i));
      const char *o = mw_probe_row_outcome(p, i);
      bool works = !strcmp(o, "works");
      fprintf(f, "  %-3s %-24s %-9s %s%-14s%s", rank, hp,
              mw_probe_row_mode(p, i), works ? green : red, o, reset);
      if(works && mw_probe_row_tls_version(p, i)[0])
        fprintf(f, " certificate %s, %s\n", mw_probe_row_cert(p, i),
                cli_text(mw_probe_row_detail(p, i)));
      else
        fprintf(f, " %s\n", cli_text(mw_probe_row_detail(p, i)));
    }
    if(!shown)
      fprintf(f, "  (no host to probe)\n");
    size_t best;
    if(!mw_probe_best_of(p, in_protos[k], &best)) {
      fprintf(f, "%sno secure %s combination works.%s\n", bold,
              k == 0 ? "IMAP" : "POP3", reset);
      continue;
    }
    char flags[1500], block[1500];
    in_flags(p, best, a, flags, sizeof(flags));
    in_block(p, best, a, block, sizeof(block));
    const char *cert = mw_probe_row_cert(p, best);
    fprintf(f, "%srecommended:%s %s on port %u of %s (%s, certificate %s)\n",
            bold, reset,
            !strcmp(mw_probe_row_mode(p, best), "implicit")
                ? "implicit TLS"
                : (k == 0 ? "STARTTLS" : "STLS"),
            mw_probe_row_port(p, best), mw_probe_row_host(p, best),
            mw_probe_row_tls_version(p, best), cert);
    if(!cert_ok(cert))
      fprintf(f, "%sfirst:%s %s\n", bold, reset, cert_fix(cert));
    fprintf(f, "%sfetch flags:%s %s\n", bold, reset, flags);
    fprintf(f, "%sprofile:%s\n", bold, reset);
    for(const char *l = block; *l;) {
      size_t n = strcspn(l, "\n");
      fprintf(f, "  %.*s\n", (int)n, l);
      l += n + (l[n] ? 1 : 0);
    }
  }
}

static void print_json_in(FILE *f, const mw_probe *p, const char *target,
                          const struct send_args *a, unsigned protocols,
                          int code)
{
  fputs("{\"target\":", f);
  output_json_string(f, target);
  fputs(",\"protocols\":[", f);
  bool first = true;
  for(size_t k = 0; k < 2; k++)
    if(in_asked(protocols, k)) {
      fprintf(f, "%s\"%s\"", first ? "" : ",", in_protos[k]);
      first = false;
    }
  fprintf(f, "],\"total_ms\":%.1f,\"hosts\":[", mw_probe_total_ms(p));
  for(size_t i = 0; i < mw_probe_host_count(p); i++) {
    fputs(i ? ",{\"name\":" : "{\"name\":", f);
    output_json_string(f, mw_probe_host_name(p, i));
    fputs(",\"source\":", f);
    output_json_string(f, mw_probe_host_source(p, i));
    fputs("}", f);
  }
  fputs("],\"dns_note\":", f);
  output_json_string(f, cli_text(mw_probe_dns_note(p)));
  fputs(",\"results\":[", f);
  for(size_t i = 0; i < mw_probe_row_count(p); i++) {
    fputs(i ? ",{\"protocol\":" : "{\"protocol\":", f);
    output_json_string(f, mw_probe_row_protocol(p, i));
    fputs(",\"host\":", f);
    output_json_string(f, mw_probe_row_host(p, i));
    fprintf(f, ",\"port\":%u,\"mode\":", mw_probe_row_port(p, i));
    output_json_string(f, mw_probe_row_mode(p, i));
    fputs(",\"outcome\":", f);
    output_json_string(f, mw_probe_row_outcome(p, i));
    fputs(",\"detail\":", f);
    output_json_string(f, cli_text(mw_probe_row_detail(p, i)));
    fputs(",\"address\":", f);
    output_json_string(f, mw_probe_row_address(p, i));
    fputs(",\"tls_version\":", f);
    output_json_string(f, mw_probe_row_tls_version(p, i));
    fputs(",\"cert\":", f);
    output_json_string(f, mw_probe_row_cert(p, i));
    fputs(",\"auth\":", f);
    output_json_string(f, mw_probe_row_auth(p, i));
    fputs(",\"capabilities\":", f);
    output_json_string(f, cli_text(mw_probe_row_capabilities(p, i)));
    fprintf(f, ",\"ms\":%.1f,\"rank\":%u}", mw_probe_row_ms(p, i),
            mw_probe_row_rank(p, i));
  }
  fputs("],\"recommended\":{", f);
  first = true;
  for(size_t k = 0; k < 2; k++) {
    if(!in_asked(protocols, k))
      continue;
    fprintf(f, "%s\"%s\":", first ? "" : ",", in_protos[k]);
    first = false;
    size_t best;
    if(!mw_probe_best_of(p, in_protos[k], &best)) {
      fputs("null", f);
      continue;
    }
    char flags[1500], block[1500];
    in_flags(p, best, a, flags, sizeof(flags));
    in_block(p, best, a, block, sizeof(block));
    const char *cert = mw_probe_row_cert(p, best);
    fputs("{\"host\":", f);
    output_json_string(f, mw_probe_row_host(p, best));
    fprintf(f, ",\"port\":%u,\"mode\":", mw_probe_row_port(p, best));
    output_json_string(f, mw_probe_row_mode(p, best));
    fputs(",\"fetch_flags\":", f);
    output_json_string(f, flags);
    fputs(",\"profile\":", f);
    output_json_string(f, block);
    fputs(",\"fix_first\":", f);
    output_json_string(f, cert_ok(cert) ? NULL : cert_fix(cert));
    fputs("}", f);
  }
  fprintf(f, "},\"exit_code\":%d}\n", code);
}

static int cmd_probe_words(int argc, char **argv, const char *profile_server);

int cmd_probe(int argc, char **argv)
{
  char **words = NULL, **kept = NULL;
  int n = 0, nprofile = 0, nkept = 0;
  const char *profile_server = NULL;
  int rc = cli_apply_profile_split("probe", argc, argv, &words, &n,
                                   &nprofile);
  if(rc)
    return rc;
  if(filter_profile_words(words, n, nprofile, &kept, &nkept,
                          &profile_server)) {
    cli_free_words(words, n);
    return EXIT_SOFTWARE;
  }
  rc = cmd_probe_words(nkept, kept, profile_server);
  free(kept); /* the words themselves belong to words */
  cli_free_words(words, n);
  return rc;
}

static int cmd_probe_words(int argc, char **argv, const char *profile_server)
{
  struct send_args *a = calloc(1, sizeof(*a));
  char err[1024];
  if(!a)
    return EXIT_SOFTWARE;
  if(cli_parse_probe(argc, argv, profile_server, a, err, sizeof(err))) {
    cli_args_free(a);
    return output_early_error("probe", cli_wants_json(argc, argv),
                              EXIT_USAGE, err);
  }
  if(a->help) {
    cli_print_help(stdout, CLI_PROBE);
    cli_args_free(a);
    return EXIT_OK;
  }
  if(mw_global_init() != MW_OK) {
    cli_args_free(a);
    return EXIT_SOFTWARE;
  }
  /* A URL names the protocol (and the TLS mode by its scheme, which the
   * probe tries anyway) and the host: imaps://[user@]host[:port][/box]. */
  char url_target[300] = "";
  if(strstr(a->server, "://")) {
    mw_options *u = mw_options_new();
    bool ok = u && mw_options_set_server_url(u, a->server) == MW_OK;
    mw_protocol up = ok ? mw_options_protocol(u) : MW_PROTOCOL_SMTP;
    mw_options_free(u);
    const char *h = strstr(a->server, "://") + 3;
    const char *at = strchr(h, '@');
    const char *slash = strchr(h, '/');
    if(at && (!slash || at < slash))
      h = at + 1;
    size_t n = slash ? (size_t)(slash - h) : strlen(h);
    if(ok && (a->protocol_set && a->protocol != up)) {
      cli_args_free(a);
      mw_global_cleanup();
      return output_early_error("probe", cli_wants_json(argc, argv),
                                EXIT_USAGE,
                                "--protocol contradicts the URL's scheme");
    }
    if(!ok || !n || n >= sizeof(url_target)) {
      cli_args_free(a);
      mw_global_cleanup();
      return output_early_error("probe", cli_wants_json(argc, argv),
                                EXIT_USAGE,
                                "the URL is not SCHEME://HOST[:PORT] with "
                                "SCHEME imap, imaps, pop3, pop3s, smtp, smtps "
                                "or submission");
    }
    memcpy(url_target, h, n);
    url_target[n] = '\0';
    a->server = url_target;
    a->protocol = up;
    a->protocol_set = true;
  }
  /* --incoming, --protocol imap|pop3: the incoming servers instead. */
  unsigned protocols = 0;
  if(a->incoming || (a->protocol_set && a->protocol != MW_PROTOCOL_SMTP)) {
    if(a->protocol_set && a->protocol == MW_PROTOCOL_SMTP) {
      cli_args_free(a);
      mw_global_cleanup();
      return output_early_error("probe", cli_wants_json(argc, argv),
                                EXIT_USAGE,
                                "--incoming probes IMAP and POP3: it "
                                "contradicts --protocol smtp");
    }
    protocols = !a->protocol_set ? MW_PROBE_IMAP | MW_PROBE_POP3
                : a->protocol == MW_PROTOCOL_IMAP ? MW_PROBE_IMAP
                                                  : MW_PROBE_POP3;
  }
  /* The target may carry a port (a profile's host:port): probe the host
   * on that port besides the list. */
  char target[300], ports[200], pop3_ports[200] = "";
  snprintf(target, sizeof(target), "%s", a->server);
  snprintf(ports, sizeof(ports), "%s", a->ports ? a->ports : "");
  char *colon = strrchr(target, ':');
  if(colon && !strchr(target, '@') &&
     (target[0] == '[' ? colon[-1] == ']' : strchr(target, ':') == colon)) {
    unsigned port = 0;
    if(parse_port(colon + 1, &port)) {
      *colon = '\0';
      /* HOST:PORT probes that port first, then the list. */
      snprintf(ports, sizeof(ports), "%u,%s", port,
               a->ports ? a->ports
               : protocols ? "993,143"
                           : "465,587,25,2525");
      snprintf(pop3_ports, sizeof(pop3_ports), "%u,%s", port,
               a->ports ? a->ports : "995,110");
    }
  }
  a->server = NULL; /* not a session's server */
  char *password = NULL, *token = NULL;
  mw_options *o = mw_options_new();
  int code = o ? cli_build_options(a, o, &password, &token, err, sizeof(err))
               : EXIT_SOFTWARE;
  if(code) {
    output_early_error("probe", a->json, code, o ? err : "out of memory");
    goto done;
  }
  if(a->trace && !a->trace_file)
    mw_options_set_trace(o, output_trace, stderr);
  mw_probe *p = NULL;
  mw_status st =
      protocols ? mw_probe_run_incoming(o, target, protocols,
                                        ports[0] ? ports : NULL,
                                        pop3_ports[0] ? pop3_ports
                                        : ports[0]    ? ports
                                                      : NULL,
                                        &p)
                : mw_probe_run(o, target, ports[0] ? ports : NULL, &p);
  if(st) {
    fprintf(stderr, "mailwire probe: %s\n",
            st == MW_E_INVALID ? "invalid target or port list"
                               : mw_status_message(st));
    code = st == MW_E_INVALID ? EXIT_USAGE : EXIT_SOFTWARE;
    goto done;
  }
  bool colour = !a->no_color && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
  if(protocols) {
    code = in_exit_code(p, protocols);
    if(a->json)
      print_json_in(stdout, p, target, a, protocols, code);
    else
      print_human_in(stdout, p, target, a, protocols, colour);
  }
  else {
    code = probe_exit_code(p);
    if(a->json)
      print_json(stdout, p, target, a, code);
    else
      print_human(stdout, p, target, a, colour);
  }
  mw_probe_free(p);
done:
  mw_options_free(o);
  secret_free(password);
  secret_free(token);
  cli_args_free(a);
  mw_global_cleanup();
  return code;
}
