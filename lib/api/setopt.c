/*
 * api/setopt.c - the public mw_options setters whose validation needs a
 * layer above core/.
 *
 * Owns: checking a value with the layer that understands it before it is
 * stored: the proxy URL (net/proxy.c parses it), the certificate
 * fingerprint and the cipher list (tls/), the SASL mechanism list
 * (proto/sasl.c), and the DNS names of the deliverability checks
 * (diag/deliver.c).  The other setters, the defaults and the copies are in
 * core/options.c; both store into struct mw_options (core/options.h).
 */
#include "core/options.h"

#include "core/util.h"
#include "diag/deliver.h"
#include "net/proxy.h"
#include "proto/sasl.h"
#include "tls/tls.h"

#include <string.h>

mw_status mw_options_set_proxy(mw_options *o, const char *url)
{
  if(!o)
    return MW_E_INVALID;
  if(url) {
    struct mw__proxy p;
    char why[160];
    mw_status st = mw__proxy_parse_url(url, &p, why, sizeof(why));
    if(st)
      return st;
    mw__proxy_release(&p);
  }
  char *copy = url ? mw__strdup(url) : NULL;
  if(url && !copy)
    return MW_E_NOMEM;
  mw__free_secret(o->proxy_url); /* it may hold a password */
  o->proxy_url = copy;
  return MW_OK;
}

mw_status mw_options_set_sender_domain(mw_options *o, const char *domain)
{
  if(!o || (domain && !mw__dns_name_ok(domain)))
    return MW_E_INVALID;
  return mw__options_set_string(&o->sender_domain, domain);
}

mw_status mw_options_set_dkim_selector(mw_options *o, const char *selector)
{
  if(!o || (selector && !mw__dns_name_ok(selector)))
    return MW_E_INVALID;
  return mw__options_set_string(&o->dkim_selector, selector);
}

mw_status mw_options_set_dnsbl_zones(mw_options *o, const char *zones)
{
  if(!o)
    return MW_E_INVALID;
  if(zones) {
    const char *p = zones;
    char zone[256];
    size_t n = 0;
    for(; mw__next_zone(&p, zone, sizeof(zone)); n++)
      if(strlen(zone) > 200 || !mw__dns_name_ok(zone))
        return MW_E_INVALID;
    if(!n)
      return MW_E_INVALID;
  }
  return mw__options_set_string(&o->dnsbl_zones, zones);
}

mw_status mw_options_set_tls_fingerprint(mw_options *o, const char *hex)
{
  if(!o)
    return MW_E_INVALID;
  if(!hex) {
    o->fingerprint[0] = '\0';
    return MW_OK;
  }
  char norm[65];
  if(!mw__tls_normalise_fingerprint(hex, norm))
    return MW_E_INVALID;
  memcpy(o->fingerprint, norm, sizeof(norm));
  return MW_OK;
}

mw_status mw_options_set_tls_ciphers(mw_options *o, const char *list)
{
  if(!o || (list && !mw__tls_ciphers_valid(list)))
    return MW_E_INVALID;
  return mw__options_set_string(&o->tls_ciphers, list);
}

mw_status mw_options_set_auth_mechanisms(mw_options *o, const char *list)
{
  if(!o)
    return MW_E_INVALID;
  if(!list) {
    mw__free(o->auth_mechs);
    o->auth_mechs = NULL;
    return MW_OK;
  }
  char *norm = NULL;
  mw_status st = mw__sasl_normalise_list(list, &norm);
  if(st)
    return st;
  mw__free(o->auth_mechs);
  o->auth_mechs = norm;
  return MW_OK;
}
