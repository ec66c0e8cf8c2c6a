/*
 * flags.c - the CLI's spelling of the library's settings (see flags.h).
 *
 * Owns: the table from mw_setting to command-line flag, and the rendering
 * of library texts with it.  The library holds no flag names: when a
 * setting or a flag is added, this table is where the two meet.
 */
#include "flags.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const flags[] = {
  [MW_SETTING_SERVER] = "--server",
  [MW_SETTING_TLS] = "--tls",
  [MW_SETTING_TLS_CA_FILE] = "--tls-ca-file",
  [MW_SETTING_TLS_FINGERPRINT] = "--tls-fingerprint",
  [MW_SETTING_TLS_SERVER_NAME] = "--tls-server-name",
  [MW_SETTING_TLS_CERT] = "--tls-cert",
  [MW_SETTING_TLS_KEY] = "--tls-key",
  [MW_SETTING_TLS_MIN] = "--tls-min",
  [MW_SETTING_TLS_MAX] = "--tls-max",
  [MW_SETTING_TLS_STRICT] = "--tls-strict",
  [MW_SETTING_INSECURE] = "--insecure",
  [MW_SETTING_BIND] = "--bind",
  [MW_SETTING_PROXY] = "--proxy",
  [MW_SETTING_PROXY_PROTOCOL] = "--proxy-protocol",
  [MW_SETTING_DNS_SERVER] = "--dns-server",
  [MW_SETTING_IPV4] = "-4",
  [MW_SETTING_IPV6] = "-6",
  [MW_SETTING_GREETING_TIMEOUT] = "--greeting-timeout",
  [MW_SETTING_HELO] = "--helo",
  [MW_SETTING_USER] = "--user",
  [MW_SETTING_PASSWORD] = "--password-*",
  [MW_SETTING_PASSWORD_ENV] = "--password-env",
  [MW_SETTING_PASSWORD_FILE] = "--password-file",
  [MW_SETTING_PASSWORD_CMD] = "--password-cmd",
  [MW_SETTING_OAUTH2_TOKEN] = "--oauth2-token-cmd",
  [MW_SETTING_AUTH] = "--auth",
  [MW_SETTING_ALLOW_INSECURE_AUTH] = "--allow-insecure-auth",
  [MW_SETTING_NO_PIPELINING] = "--no-pipelining",
  [MW_SETTING_TRACE] = "--trace",
  [MW_SETTING_DKIM_SELECTOR] = "--dkim-selector",
  [MW_SETTING_DNSBL] = "--dnsbl",
  [MW_SETTING_FROM] = "--from",
  [MW_SETTING_TO] = "--to",
  [MW_SETTING_CC] = "--cc",
  [MW_SETTING_BCC] = "--bcc",
  [MW_SETTING_SUBJECT] = "--subject",
  [MW_SETTING_MESSAGE] = "--message",
  [MW_SETTING_TLS_CRL_FILE] = "--tls-crl-file",
  [MW_SETTING_TLS_OCSP] = "--tls-ocsp",
};
_Static_assert(sizeof(flags) / sizeof(flags[0]) == MW_SETTING_COUNT,
               "every library setting has a flag in src/flags.c");

const char *cli_flag_name(mw_setting s)
{
  if((unsigned)s >= MW_SETTING_COUNT || !flags[s])
    return "?";
  return flags[s];
}

int cli_flag_render(void *user, mw_setting s, const char *value, char *out,
                    size_t len)
{
  (void)user;
  if((unsigned)s >= MW_SETTING_COUNT || !flags[s])
    return -1; /* the library's own words */
  return value ? snprintf(out, len, "%s %s", flags[s], value)
               : snprintf(out, len, "%s", flags[s]);
}

#define RING 8
static char *ring[RING];
static unsigned ring_next;

static void ring_free(void)
{
  for(unsigned i = 0; i < RING; i++) {
    free(ring[i]);
    ring[i] = NULL;
  }
}

const char *cli_text(const char *text)
{
  if(!text)
    return NULL;
  if(!strchr(text, '{'))
    return text; /* no token: nothing to render */
  static bool registered;
  if(!registered)
    registered = atexit(ring_free) == 0;
  size_t need = mw_render_settings(text, cli_flag_render, NULL, NULL, 0);
  char *buf = malloc(need + 1);
  if(!buf)
    return text;
  mw_render_settings(text, cli_flag_render, NULL, buf, need + 1);
  unsigned slot = ring_next++ % RING;
  free(ring[slot]);
  ring[slot] = buf;
  return buf;
}
