/*
 * tls/tls_verdict.c - the parts of tls/tls.h that need no OpenSSL code:
 * fingerprint normalisation and the verdicts read from a handshake's
 * facts (OpenSSL's X509_V_* numbers come from its headers only).
 *
 * DESCRIPTION
 *   Built into libmailwire, so options, doctor and the probe classify
 *   and judge without loading the TLS module (tls_module.h); the module
 *   has a private copy for its own verdicts (the verify callback, the
 *   report-only trace).
 */
#include "tls/tls.h"

#include <openssl/x509_vfy.h>
#include <string.h>

bool mw__tls_normalise_fingerprint(const char *in, char out[65])
{
  size_t n = 0;
  for(const char *p = in; *p; p++) {
    char c = *p;
    if(c == ':')
      continue;
    if(c >= 'A' && c <= 'F')
      c = (char)(c - 'A' + 'a');
    if(!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || n == 64)
      return false;
    out[n++] = c;
  }
  out[n] = '\0';
  return n == 64;
}

const char *mw__tls_verify_class(long vr)
{
  switch(vr) {
  case X509_V_OK:
    return "ok";
  case X509_V_ERR_CERT_HAS_EXPIRED:
    return "expired";
  case X509_V_ERR_CERT_NOT_YET_VALID:
    return "not_yet_valid";
  case X509_V_ERR_HOSTNAME_MISMATCH:
  case X509_V_ERR_IP_ADDRESS_MISMATCH:
    return "hostname";
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    return "self_signed";
  case X509_V_ERR_CERT_REVOKED:
    return "revoked";
  case X509_V_ERR_UNABLE_TO_GET_CRL:
  case X509_V_ERR_CRL_HAS_EXPIRED:
  case X509_V_ERR_CRL_NOT_YET_VALID:
  case X509_V_ERR_CRL_SIGNATURE_FAILURE:
  case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
  case X509_V_ERR_OCSP_VERIFY_FAILED:
  case X509_V_ERR_OCSP_CERT_UNKNOWN:
    return "crl";
  default:
    return "untrusted";
  }
}

const char *mw__tls_verdict(const struct mw__tls_policy *policy,
                            const struct mw__tls_info *info)
{
  if(policy->insecure)
    return "insecure";
  if(!info->fingerprint[0])
    return "no_certificate";
  if(policy->fingerprint)
    return strcmp(policy->fingerprint, info->fingerprint) == 0
               ? "pinned"
               : "pin_mismatch";
  if(info->verify_result == X509_V_OK)
    return "verified";
  return mw__tls_verify_class(info->verify_result);
}

bool mw__tls_verdict_ok(const char *verdict)
{
  return strcmp(verdict, "verified") == 0 || strcmp(verdict, "pinned") == 0 ||
         strcmp(verdict, "insecure") == 0;
}
