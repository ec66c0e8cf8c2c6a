/*
 * core/setting.c - the settings the library's texts name, and their
 * rendering (mw_setting_id, mw_setting_api, mw_render_settings).
 *
 * Owns: the one table of setting ids ("tls", "tls-ca-file", ...) with the
 * API that sets each, and the renderer that turns the tokens "{ID}" and
 * "{ID=VALUE}" in a library text into the caller's words.  The library
 * never spells a program's flag: a message says "use {tls=implicit}" and
 * the mailwire CLI renders it as "use --tls implicit" (src/flags.c), a
 * library user as "use mw_options_set_tls_mode(implicit)".
 *
 * Syntax (also in include/mailwire.h): ID is [a-z0-9-]+ and must be in the
 * table, else the '{' is ordinary text; VALUE runs to the first unescaped
 * '}', with "\\" and "\}" standing for '\' and '}'.  mw__setting_escape()
 * (core/setting.h) writes a value in that form.
 */
#include "core/setting.h"

#include <stdio.h>
#include <string.h>

struct setting_row {
  const char *id;
  const char *api;
  const char *arg; /* the argument a bare {ID} stands for, or NULL */
};

/* Indexed by mw_setting: the order of the enum in mailwire.h. */
static const struct setting_row settings[MW_SETTING_COUNT] = {
  [MW_SETTING_SERVER] = {"server", "mw_options_set_server", NULL},
  [MW_SETTING_TLS] = {"tls", "mw_options_set_tls_mode", NULL},
  [MW_SETTING_TLS_CA_FILE] = {"tls-ca-file", "mw_options_set_tls_ca_file",
                              NULL},
  [MW_SETTING_TLS_FINGERPRINT] = {"tls-fingerprint",
                                  "mw_options_set_tls_fingerprint", NULL},
  [MW_SETTING_TLS_SERVER_NAME] = {"tls-server-name",
                                  "mw_options_set_tls_server_name", NULL},
  [MW_SETTING_TLS_CERT] = {"tls-cert", "mw_options_set_tls_client_cert",
                           NULL},
  [MW_SETTING_TLS_KEY] = {"tls-key", "mw_options_set_tls_client_cert", NULL},
  [MW_SETTING_TLS_MIN] = {"tls-min", "mw_options_set_tls_versions", NULL},
  [MW_SETTING_TLS_MAX] = {"tls-max", "mw_options_set_tls_versions", NULL},
  [MW_SETTING_TLS_STRICT] = {"tls-strict", "mw_options_set_tls_strict",
                             "true"},
  [MW_SETTING_INSECURE] = {"insecure", "mw_options_set_tls_insecure", "true"},
  [MW_SETTING_BIND] = {"bind", "mw_options_set_bind", NULL},
  [MW_SETTING_PROXY] = {"proxy", "mw_options_set_proxy", NULL},
  [MW_SETTING_PROXY_PROTOCOL] = {"proxy-protocol",
                                 "mw_options_set_proxy_protocol", NULL},
  [MW_SETTING_DNS_SERVER] = {"dns-server", "mw_options_set_dns_server", NULL},
  [MW_SETTING_IPV4] = {"ipv4", "mw_options_set_family", "MW_FAMILY_IPV4"},
  [MW_SETTING_IPV6] = {"ipv6", "mw_options_set_family", "MW_FAMILY_IPV6"},
  [MW_SETTING_GREETING_TIMEOUT] = {"greeting-timeout",
                                   "mw_options_set_greeting_timeout", NULL},
  [MW_SETTING_HELO] = {"helo", "mw_options_set_helo_name", NULL},
  [MW_SETTING_USER] = {"user", "mw_options_set_credentials", NULL},
  [MW_SETTING_PASSWORD] = {"password", "mw_options_set_credentials", NULL},
  [MW_SETTING_PASSWORD_ENV] = {"password-env", "mw_options_set_credentials",
                               NULL},
  [MW_SETTING_PASSWORD_FILE] = {"password-file",
                                "mw_options_set_credentials", NULL},
  [MW_SETTING_PASSWORD_CMD] = {"password-cmd", "mw_options_set_credentials",
                               NULL},
  [MW_SETTING_OAUTH2_TOKEN] = {"oauth2-token", "mw_options_set_oauth2_token",
                               NULL},
  [MW_SETTING_AUTH] = {"auth", "mw_options_set_auth_mechanisms", NULL},
  [MW_SETTING_ALLOW_INSECURE_AUTH] = {"allow-insecure-auth",
                                      "mw_options_set_allow_insecure_auth",
                                      "true"},
  [MW_SETTING_NO_PIPELINING] = {"no-pipelining", "mw_options_set_pipelining",
                                "false"},
  [MW_SETTING_TRACE] = {"trace", "mw_options_set_trace", NULL},
  [MW_SETTING_DKIM_SELECTOR] = {"dkim-selector",
                                "mw_options_set_dkim_selector", NULL},
  [MW_SETTING_DNSBL] = {"dnsbl", "mw_options_set_dnsbl_zones", NULL},
  [MW_SETTING_FROM] = {"from", "mw_envelope_set_from", NULL},
  [MW_SETTING_TO] = {"to", "mw_envelope_add_recipient", NULL},
  [MW_SETTING_CC] = {"cc", "mw_compose_add_cc", NULL},
  [MW_SETTING_BCC] = {"bcc", "mw_envelope_add_recipient", NULL},
  [MW_SETTING_SUBJECT] = {"subject", "mw_compose_set_subject", NULL},
  [MW_SETTING_MESSAGE] = {"message", "mw_smtp_send", NULL},
  [MW_SETTING_TLS_CRL_FILE] = {"tls-crl-file", "mw_options_set_tls_crl_file",
                               NULL},
  [MW_SETTING_TLS_OCSP] = {"tls-ocsp", "mw_options_set_tls_ocsp", "true"},
};

const char *mw_setting_id(mw_setting s)
{
  return (unsigned)s < MW_SETTING_COUNT ? settings[s].id : NULL;
}

const char *mw_setting_api(mw_setting s)
{
  return (unsigned)s < MW_SETTING_COUNT ? settings[s].api : NULL;
}

/* The setting whose id is the n bytes at p, or MW_SETTING_COUNT. */
static mw_setting setting_lookup(const char *p, size_t n)
{
  for(unsigned i = 0; i < MW_SETTING_COUNT; i++)
    if(strlen(settings[i].id) == n && !memcmp(settings[i].id, p, n))
      return (mw_setting)i;
  return MW_SETTING_COUNT;
}

/* The output so far: like snprintf, counts past the end of the buffer. */
struct out {
  char *buf;
  size_t len;
  size_t used;
};

static void out_put(struct out *o, const char *s, size_t n)
{
  if(o->used < o->len) {
    size_t room = o->len - 1 - o->used;
    memcpy(o->buf + o->used, s, n < room ? n : room);
  }
  o->used += n;
}

static void render_default(struct out *o, mw_setting s, const char *value)
{
  const struct setting_row *r = &settings[s];
  out_put(o, r->api, strlen(r->api));
  out_put(o, "(", 1);
  const char *arg = value ? value : r->arg;
  if(arg)
    out_put(o, arg, strlen(arg));
  out_put(o, ")", 1);
}

/* Parses a token at t ('{'): on success sets *s, copies the unescaped
 * value (or NULL) into val (cap bytes) and returns the token's length; 0
 * when t does not start a token. */
static size_t token_parse(const char *t, mw_setting *s, char *val,
                          size_t cap, bool *has_value)
{
  size_t n = 1;
  while((t[n] >= 'a' && t[n] <= 'z') || (t[n] >= '0' && t[n] <= '9') ||
        t[n] == '-')
    n++;
  if(n == 1 || (t[n] != '}' && t[n] != '='))
    return 0;
  *s = setting_lookup(t + 1, n - 1);
  if(*s == MW_SETTING_COUNT)
    return 0;
  *has_value = false;
  if(t[n] == '}')
    return n + 1;
  size_t v = 0;
  for(n++; t[n] && t[n] != '}'; n++) {
    if(t[n] == '\\' && (t[n + 1] == '\\' || t[n + 1] == '}'))
      n++;
    if(v + 1 >= cap)
      return 0; /* a value this long is not a token */
    val[v++] = t[n];
  }
  if(t[n] != '}')
    return 0;
  val[v] = '\0';
  *has_value = true;
  return n + 1;
}

size_t mw_render_settings(const char *text, mw_setting_render_fn fn,
                          void *user, char *out, size_t len)
{
  struct out o = {out, len, 0};
  char value[1024], spelled[1024];
  if(!text)
    text = "";
  for(const char *p = text; *p;) {
    const char *brace = strchr(p, '{');
    if(!brace) {
      out_put(&o, p, strlen(p));
      break;
    }
    out_put(&o, p, (size_t)(brace - p));
    mw_setting s;
    bool has_value;
    size_t n = token_parse(brace, &s, value, sizeof(value), &has_value);
    if(!n) {
      out_put(&o, "{", 1);
      p = brace + 1;
      continue;
    }
    const char *v = has_value ? value : NULL;
    int w = fn ? fn(user, s, v, spelled, sizeof(spelled)) : -1;
    if(w >= 0 && (size_t)w < sizeof(spelled))
      out_put(&o, spelled, (size_t)w);
    else
      render_default(&o, s, v);
    p = brace + n;
  }
  if(len)
    out[o.used < len ? o.used : len - 1] = '\0';
  return o.used;
}

size_t mw__setting_escape(const char *value, char *out, size_t len)
{
  struct out o = {out, len, 0};
  for(const char *p = value ? value : ""; *p; p++) {
    if(*p == '\\' || *p == '}')
      out_put(&o, "\\", 1);
    out_put(&o, p, 1);
  }
  if(len)
    out[o.used < len ? o.used : len - 1] = '\0';
  return o.used;
}

bool mw__sbuf_put_value(struct mw__sbuf *b, const char *value)
{
  for(const char *p = value ? value : ""; *p; p++) {
    if((*p == '\\' || *p == '}') && !mw__sbuf_append(b, "\\", 1))
      return false;
    if(!mw__sbuf_append(b, p, 1))
      return false;
  }
  return true;
}
