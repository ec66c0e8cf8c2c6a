/*
 * core/options.c - mw_options defaults, copies, and the setters that need
 * nothing but core/ to validate their value.
 *
 * The setters whose validation belongs to a higher layer (a proxy URL, a
 * fingerprint, a cipher list, SASL mechanism names, DNS names for the
 * deliverability checks) are in api/setopt.c, so that core/ stays a leaf.
 */
#include "core/options.h"

#include "core/trace.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

mw_options *mw_options_new(void)
{
  struct mw_options *o = mw__calloc(1, sizeof(*o));
  if(!o)
    return NULL;
  o->tls_mode = MW_TLS_AUTO;
  o->connect_timeout_ms = MW__DEFAULT_CONNECT_TIMEOUT_MS;
  o->greeting_timeout_ms = MW__DEFAULT_GREETING_TIMEOUT_MS;
  o->pipelining = true;
  o->chunking = true;
  return o;
}

void mw__options_release(struct mw_options *o)
{
  mw__free(o->host);
  mw__free(o->mailbox);
  mw__free(o->bind);
  mw__free(o->dns_server);
  mw__free_secret(o->proxy_url);
  mw__free(o->ca_file);
  mw__free(o->tls_server_name);
  mw__free(o->tls_ciphers);
  mw__free(o->tls_cert_file);
  mw__free(o->tls_key_file);
  mw__free(o->helo);
  mw__free(o->user);
  mw__free_secret(o->password);
  mw__free_secret(o->oauth2_token);
  mw__free(o->auth_mechs);
  mw__free(o->sender_domain);
  mw__free(o->dkim_selector);
  mw__free(o->dnsbl_zones);
  mw__free(o->tls_crl_file);
  memset(o, 0, sizeof(*o));
}

void mw_options_free(mw_options *o)
{
  if(!o)
    return;
  mw__options_release(o);
  mw__free(o);
}

bool mw__options_copy(struct mw_options *dst, const struct mw_options *src)
{
  *dst = *src;
  dst->host = dst->bind = dst->ca_file = dst->tls_server_name = NULL;
  dst->mailbox = NULL;
  dst->dns_server = NULL;
  dst->tls_ciphers = NULL;
  dst->tls_cert_file = dst->tls_key_file = NULL;
  dst->proxy_url = NULL;
  dst->helo = dst->user = dst->password = dst->oauth2_token = NULL;
  dst->auth_mechs = NULL;
  dst->sender_domain = dst->dkim_selector = dst->dnsbl_zones = NULL;
  dst->tls_crl_file = NULL;
  if(!mw__replace_string(&dst->host, src->host) ||
     !mw__replace_string(&dst->bind, src->bind) ||
     !mw__replace_string(&dst->dns_server, src->dns_server) ||
     !mw__replace_string(&dst->proxy_url, src->proxy_url) ||
     !mw__replace_string(&dst->ca_file, src->ca_file) ||
     !mw__replace_string(&dst->tls_server_name, src->tls_server_name) ||
     !mw__replace_string(&dst->tls_ciphers, src->tls_ciphers) ||
     !mw__replace_string(&dst->tls_cert_file, src->tls_cert_file) ||
     !mw__replace_string(&dst->tls_key_file, src->tls_key_file) ||
     !mw__replace_string(&dst->helo, src->helo) ||
     !mw__replace_string(&dst->user, src->user) ||
     !mw__replace_string(&dst->password, src->password) ||
     !mw__replace_string(&dst->oauth2_token, src->oauth2_token) ||
     !mw__replace_string(&dst->auth_mechs, src->auth_mechs) ||
     !mw__replace_string(&dst->sender_domain, src->sender_domain) ||
     !mw__replace_string(&dst->dkim_selector, src->dkim_selector) ||
     !mw__replace_string(&dst->dnsbl_zones, src->dnsbl_zones) ||
     !mw__replace_string(&dst->mailbox, src->mailbox) ||
     !mw__replace_string(&dst->tls_crl_file, src->tls_crl_file)) {
    mw__options_release(dst);
    return false;
  }
  return true;
}

/* Ports by protocol (RFC 8314 for the implicit ones), in mw_protocol's
 * order. */
static const struct {
  const char *name;
  unsigned implicit_port, starttls_port;
} protocols[] = {
    {"smtp", 465, 587},
    {"pop3", 995, 110},
    {"imap", 993, 143},
};

const char *mw_protocol_name(mw_protocol p)
{
  return (unsigned)p < sizeof(protocols) / sizeof(protocols[0])
             ? protocols[p].name
             : "?";
}

unsigned mw__protocol_implicit_port(mw_protocol p)
{
  return (unsigned)p < sizeof(protocols) / sizeof(protocols[0])
             ? protocols[p].implicit_port
             : 0;
}

unsigned mw__protocol_starttls_port(mw_protocol p)
{
  return (unsigned)p < sizeof(protocols) / sizeof(protocols[0])
             ? protocols[p].starttls_port
             : 0;
}

unsigned mw__options_port(const struct mw_options *o)
{
  if(o->port)
    return o->port;
  return o->tls_mode == MW_TLS_IMPLICIT
             ? mw__protocol_implicit_port(o->protocol)
             : mw__protocol_starttls_port(o->protocol);
}

mw_tls_mode mw__options_tls_mode(const struct mw_options *o)
{
  if(o->tls_mode != MW_TLS_AUTO)
    return o->tls_mode;
  return mw__options_port(o) == mw__protocol_implicit_port(o->protocol)
             ? MW_TLS_IMPLICIT
             : MW_TLS_STARTTLS;
}

mw_status mw_options_set_protocol(mw_options *o, mw_protocol p)
{
  if(!o || (unsigned)p >= sizeof(protocols) / sizeof(protocols[0]))
    return MW_E_INVALID;
  o->protocol = p;
  return MW_OK;
}

mw_protocol mw_options_protocol(const mw_options *o)
{
  return o ? o->protocol : MW_PROTOCOL_SMTP;
}

mw_status mw_options_set_mailbox(mw_options *o, const char *mailbox)
{
  if(!o || (mailbox && !*mailbox))
    return MW_E_INVALID;
  return mw__options_set_string(&o->mailbox, mailbox);
}

/* Decodes %XX escapes of in[0..len) into out (size > len): false on a bad
 * escape or a decoded NUL or control byte. */
static bool percent_decode(const char *in, size_t len, char *out)
{
  size_t j = 0;
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    if(c == '%') {
      if(i + 2 >= len)
        return false;
      int v = 0;
      for(int k = 1; k <= 2; k++) {
        char h = in[i + (size_t)k];
        v = v * 16 + (h >= '0' && h <= '9'   ? h - '0'
                      : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                             : -1000);
      }
      if(v < 0x20 || v == 0x7f)
        return false;
      c = (unsigned char)v;
      i += 2;
    }
    else if(c < 0x20 || c == 0x7f)
      return false;
    out[j++] = (char)c;
  }
  out[j] = '\0';
  return true;
}

static const struct {
  const char *scheme;
  mw_protocol protocol;
  bool implicit;
} url_schemes[] = {
    {"smtp", MW_PROTOCOL_SMTP, false},  {"submission", MW_PROTOCOL_SMTP, false},
    {"smtps", MW_PROTOCOL_SMTP, true},  {"pop3", MW_PROTOCOL_POP3, false},
    {"pop3s", MW_PROTOCOL_POP3, true},  {"pop", MW_PROTOCOL_POP3, false},
    {"pops", MW_PROTOCOL_POP3, true},   {"imap", MW_PROTOCOL_IMAP, false},
    {"imaps", MW_PROTOCOL_IMAP, true},
};

mw_status mw_options_set_server_url(mw_options *o, const char *url)
{
  if(!o || !url)
    return MW_E_INVALID;
  const char *sep = strstr(url, "://");
  if(!sep)
    return MW_E_INVALID;
  size_t i = 0, n = sizeof(url_schemes) / sizeof(url_schemes[0]);
  for(; i < n; i++)
    if(strlen(url_schemes[i].scheme) == (size_t)(sep - url) &&
       !strncasecmp(url, url_schemes[i].scheme, (size_t)(sep - url)))
      break;
  if(i == n)
    return MW_E_INVALID;
  const char *auth = sep + 3;
  const char *path = strchr(auth, '/');
  size_t alen = path ? (size_t)(path - auth) : strlen(auth);
  /* The user ends at the last '@' of the authority. */
  const char *at = NULL;
  for(const char *p = auth; p < auth + alen; p++)
    if(*p == '@')
      at = p;
  char user[512] = "", hostport[300], mailbox[1024] = "";
  if(at) {
    size_t ulen = (size_t)(at - auth);
    if(memchr(auth, ':', ulen))
      return MW_E_INVALID; /* a password, or ";AUTH=": not taken here */
    if(!ulen || ulen >= sizeof(user) || !percent_decode(auth, ulen, user))
      return MW_E_INVALID;
    alen -= ulen + 1;
    auth = at + 1;
  }
  if(!alen || alen >= sizeof(hostport))
    return MW_E_INVALID;
  memcpy(hostport, auth, alen);
  hostport[alen] = '\0';
  if(path && path[1]) {
    size_t mlen = strlen(path + 1);
    if(mlen >= sizeof(mailbox) || url_schemes[i].protocol != MW_PROTOCOL_IMAP ||
       !percent_decode(path + 1, mlen, mailbox))
      return MW_E_INVALID;
    /* RFC 5092 puts ";UIDVALIDITY=" and the like after the mailbox. */
    if(strchr(mailbox, ';') || strchr(mailbox, '?'))
      return MW_E_INVALID;
  }
  /* Validate everything before changing anything. */
  mw_options probe;
  memset(&probe, 0, sizeof(probe));
  mw_status st = mw_options_set_server_string(&probe, hostport);
  if(st) {
    mw__options_release(&probe);
    return st;
  }
  st = mw_options_set_server(o, probe.host, probe.port);
  mw__options_release(&probe);
  if(!st && user[0])
    st = mw__options_set_string(&o->user, user);
  if(!st && mailbox[0])
    st = mw__options_set_string(&o->mailbox, mailbox);
  if(st)
    return st;
  o->protocol = url_schemes[i].protocol;
  if(url_schemes[i].implicit)
    o->tls_mode = MW_TLS_IMPLICIT;
  return MW_OK;
}

static bool valid_text(const char *s)
{
  if(!s)
    return true;
  for(const unsigned char *p = (const unsigned char *)s; *p; p++)
    if(*p < 0x20 || *p == 0x7f)
      return false;
  return true;
}

mw_status mw__options_set_string(char **slot, const char *value)
{
  if(!valid_text(value))
    return MW_E_INVALID;
  return mw__replace_string(slot, value) ? MW_OK : MW_E_NOMEM;
}

mw_status mw_options_set_server(mw_options *o, const char *host,
                                unsigned port)
{
  if(!o || !host || !*host || port > 65535 || strpbrk(host, " \t/"))
    return MW_E_INVALID;
  mw_status st = mw__options_set_string(&o->host, host);
  if(!st)
    o->port = port;
  return st;
}

mw_status mw_options_set_server_string(mw_options *o, const char *hostport)
{
  if(!o || !hostport || !*hostport)
    return MW_E_INVALID;
  char host[256];
  const char *port_text = NULL;
  if(hostport[0] == '[') {
    const char *end = strchr(hostport, ']');
    if(!end || (size_t)(end - hostport - 1) >= sizeof(host) ||
       end == hostport + 1)
      return MW_E_INVALID;
    memcpy(host, hostport + 1, (size_t)(end - hostport - 1));
    host[end - hostport - 1] = '\0';
    if(end[1] == ':')
      port_text = end + 2;
    else if(end[1])
      return MW_E_INVALID;
  }
  else {
    const char *colon = strchr(hostport, ':');
    if(colon && strchr(colon + 1, ':'))
      return MW_E_INVALID; /* a bare IPv6 address needs brackets */
    size_t hl = colon ? (size_t)(colon - hostport) : strlen(hostport);
    if(hl == 0 || hl >= sizeof(host))
      return MW_E_INVALID;
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    port_text = colon ? colon + 1 : NULL;
  }
  unsigned port = 0;
  if(port_text) {
    if(!*port_text || strlen(port_text) > 5)
      return MW_E_INVALID;
    for(const char *p = port_text; *p; p++) {
      if(*p < '0' || *p > '9')
        return MW_E_INVALID;
      port = port * 10 + (unsigned)(*p - '0');
    }
    if(port == 0 || port > 65535)
      return MW_E_INVALID;
  }
  return mw_options_set_server(o, host, port);
}

static const char *const tls_mode_names[] = {"auto", "implicit", "starttls",
                                             "starttls-optional", "none",
                                             "detect"};

const char *mw_tls_mode_name(mw_tls_mode mode)
{
  if((unsigned)mode >= sizeof(tls_mode_names) / sizeof(tls_mode_names[0]))
    return "?";
  return tls_mode_names[mode];
}

mw_status mw_tls_mode_parse(const char *text, mw_tls_mode *out)
{
  if(!text)
    return MW_E_INVALID;
  for(unsigned i = 0; i < sizeof(tls_mode_names) / sizeof(tls_mode_names[0]);
      i++) {
    if(mw__strieq(text, tls_mode_names[i])) {
      *out = (mw_tls_mode)i;
      return MW_OK;
    }
  }
  /* Aliases people type from other tools' vocabularies. */
  if(mw__strieq(text, "ssl") || mw__strieq(text, "tls") ||
     mw__strieq(text, "smtps")) {
    *out = MW_TLS_IMPLICIT;
    return MW_OK;
  }
  if(mw__strieq(text, "plain")) {
    *out = MW_TLS_NONE;
    return MW_OK;
  }
  return MW_E_INVALID;
}

mw_status mw_options_set_tls_mode(mw_options *o, mw_tls_mode mode)
{
  if(!o || (unsigned)mode > MW_TLS_DETECT)
    return MW_E_INVALID;
  o->tls_mode = mode;
  return MW_OK;
}

mw_status mw_options_set_family(mw_options *o, mw_family family)
{
  if(!o || (unsigned)family > MW_FAMILY_IPV6)
    return MW_E_INVALID;
  o->family = family;
  return MW_OK;
}

mw_status mw_options_set_bind(mw_options *o, const char *address)
{
  if(!o || (address && !*address))
    return MW_E_INVALID;
  return mw__options_set_string(&o->bind, address);
}

mw_status mw_options_set_proxy_protocol(mw_options *o, int version)
{
  if(!o || version < 0 || version > 2)
    return MW_E_INVALID;
  o->proxy_protocol = version;
  return MW_OK;
}

mw_status mw_options_set_dns_server(mw_options *o, const char *server)
{
  if(!o)
    return MW_E_INVALID;
  if(server) {
    /* "ip", "ip:port", "[v6]:port": digits, dots, colons, brackets only */
    if(!*server || strspn(server, "0123456789abcdefABCDEF.:[]") !=
                       strlen(server))
      return MW_E_INVALID;
  }
  return mw__options_set_string(&o->dns_server, server);
}

#define MAX_TIMEOUT_MS (24u * 3600u * 1000u)

mw_status mw_options_set_connect_timeout(mw_options *o, unsigned ms)
{
  if(!o || ms > MAX_TIMEOUT_MS)
    return MW_E_INVALID;
  o->connect_timeout_ms = ms ? ms : MW__DEFAULT_CONNECT_TIMEOUT_MS;
  return MW_OK;
}

mw_status mw_options_set_greeting_timeout(mw_options *o, unsigned ms)
{
  if(!o || ms > MAX_TIMEOUT_MS)
    return MW_E_INVALID;
  o->greeting_timeout_ms = ms ? ms : MW__DEFAULT_GREETING_TIMEOUT_MS;
  return MW_OK;
}

mw_status mw_options_set_command_timeout(mw_options *o, unsigned ms)
{
  if(!o || ms > MAX_TIMEOUT_MS)
    return MW_E_INVALID;
  o->command_timeout_ms = ms;
  return MW_OK;
}

mw_status mw_options_set_tls_ca_file(mw_options *o, const char *path)
{
  if(!o || (path && !*path))
    return MW_E_INVALID;
  return mw__options_set_string(&o->ca_file, path);
}

mw_status mw_options_set_tls_crl_file(mw_options *o, const char *path)
{
  if(!o || (path && !*path))
    return MW_E_INVALID;
  return mw__options_set_string(&o->tls_crl_file, path);
}

mw_status mw_options_set_tls_ocsp(mw_options *o, bool on)
{
  if(!o)
    return MW_E_INVALID;
  o->tls_ocsp = on;
  return MW_OK;
}

mw_status mw_options_set_tls_verify_callback(mw_options *o,
                                             mw_tls_verify_fn fn, void *user)
{
  if(!o)
    return MW_E_INVALID;
  o->tls_verify_fn = fn;
  o->tls_verify_user = fn ? user : NULL;
  return MW_OK;
}

mw_status mw_options_set_tls_insecure(mw_options *o, bool insecure)
{
  if(!o)
    return MW_E_INVALID;
  o->insecure = insecure;
  return MW_OK;
}

mw_status mw_tls_version_parse(const char *text, mw_tls_version *out)
{
  if(!text)
    return MW_E_INVALID;
  if(strcmp(text, "1.2") == 0 || mw__strieq(text, "tls1.2") ||
     mw__strieq(text, "tlsv1.2")) {
    *out = MW_TLS_VERSION_1_2;
    return MW_OK;
  }
  if(strcmp(text, "1.3") == 0 || mw__strieq(text, "tls1.3") ||
     mw__strieq(text, "tlsv1.3")) {
    *out = MW_TLS_VERSION_1_3;
    return MW_OK;
  }
  return MW_E_INVALID;
}

mw_status mw_options_set_tls_versions(mw_options *o, mw_tls_version min,
                                      mw_tls_version max)
{
  if(!o || (unsigned)min > MW_TLS_VERSION_1_3 ||
     (unsigned)max > MW_TLS_VERSION_1_3 ||
     (min && max && min > max))
    return MW_E_INVALID;
  o->tls_min = min;
  o->tls_max = max;
  return MW_OK;
}

mw_status mw_options_set_tls_strict(mw_options *o, bool strict)
{
  if(!o)
    return MW_E_INVALID;
  o->tls_strict = strict;
  return MW_OK;
}

mw_status mw_options_set_tls_client_cert(mw_options *o, const char *cert_file,
                                         const char *key_file)
{
  if(!o || (key_file && !cert_file) || (cert_file && !*cert_file) ||
     (key_file && !*key_file))
    return MW_E_INVALID;
  char *cert = NULL, *key = NULL;
  if(mw__options_set_string(&cert, cert_file) ||
     mw__options_set_string(&key, key_file)) {
    mw__free(cert);
    mw__free(key);
    return MW_E_INVALID;
  }
  mw__free(o->tls_cert_file);
  mw__free(o->tls_key_file);
  o->tls_cert_file = cert;
  o->tls_key_file = key;
  return MW_OK;
}

mw_status mw_options_set_tls_server_name(mw_options *o, const char *name)
{
  if(!o || (name && (!*name || strpbrk(name, " \t/"))))
    return MW_E_INVALID;
  return mw__options_set_string(&o->tls_server_name, name);
}

mw_status mw_options_set_helo_name(mw_options *o, const char *name)
{
  if(!o || (name && (!*name || strpbrk(name, " \t"))))
    return MW_E_INVALID;
  return mw__options_set_string(&o->helo, name);
}

mw_status mw_options_set_credentials(mw_options *o, const char *user,
                                     const char *password)
{
  if(!o || (user && !*user) || !valid_text(user) || !valid_text(password))
    return MW_E_INVALID;
  char *u = NULL, *p = NULL;
  if(user && !(u = mw__strdup(user)))
    return MW_E_NOMEM;
  if(password && !(p = mw__strdup(password))) {
    mw__free(u);
    return MW_E_NOMEM;
  }
  mw__free(o->user);
  mw__free_secret(o->password);
  o->user = u;
  o->password = p;
  return MW_OK;
}

mw_status mw_options_set_oauth2_token(mw_options *o, const char *token)
{
  if(!o || (token && !*token) || !valid_text(token))
    return MW_E_INVALID;
  char *t = NULL;
  if(token && !(t = mw__strdup(token)))
    return MW_E_NOMEM;
  mw__free_secret(o->oauth2_token);
  o->oauth2_token = t;
  return MW_OK;
}

mw_status mw_options_set_allow_insecure_auth(mw_options *o, bool allow)
{
  if(!o)
    return MW_E_INVALID;
  o->allow_insecure_auth = allow;
  return MW_OK;
}

mw_status mw_options_set_pipelining(mw_options *o, bool enable)
{
  if(!o)
    return MW_E_INVALID;
  o->pipelining = enable;
  return MW_OK;
}

mw_status mw_options_set_chunking(mw_options *o, bool enable)
{
  if(!o)
    return MW_E_INVALID;
  o->chunking = enable;
  return MW_OK;
}

mw_status mw_options_set_trace_fd(mw_options *o, int fd)
{
  if(!o || fd < -1)
    return MW_E_INVALID;
  o->trace_fn = fd >= 0 ? mw__trace_fd_writer : NULL;
  o->trace_user = fd >= 0 ? (void *)(intptr_t)fd : NULL;
  return MW_OK;
}

mw_status mw_options_set_trace(mw_options *o, mw_trace_fn fn, void *user)
{
  if(!o)
    return MW_E_INVALID;
  o->trace_fn = fn;
  o->trace_user = user;
  return MW_OK;
}

mw_status mw_options_set_progress(mw_options *o, mw_progress_fn fn,
                                  void *user)
{
  if(!o)
    return MW_E_INVALID;
  o->progress_fn = fn;
  o->progress_user = user;
  return MW_OK;
}
