/*
 * tls/ocsp.c - the server's stapled OCSP response (RFC 6066
 * status_request, RFC 6960), requested and verified when the caller asks
 * for revocation checking (mw_options_set_tls_ocsp).
 *
 * DESCRIPTION
 *   The response must be well formed and successful, signed by the
 *   certificate's issuer or a responder it delegated to (checked against
 *   the same trust store as the chain), about this certificate, and
 *   current (thisUpdate/nextUpdate, five minutes of clock skew allowed).
 *   Its verdict becomes the connection's verify result, so everything
 *   downstream (the refusal, doctor's cause, the callback's verdict)
 *   treats a revoked certificate the same whether a CRL or the staple
 *   said so.  A server that staples nothing is accepted (soft fail, as
 *   browsers do), and the trace says so.
 */
#include "tls/tls_int.h"

#include "core/trace.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* The issuer of cert among the chain the server sent, or NULL. */
static X509 *issuer_in(STACK_OF(X509) *chain, X509 *cert)
{
  for(int i = 0; chain && i < sk_X509_num(chain); i++) {
    X509 *c = sk_X509_value(chain, i);
    if(c != cert && X509_check_issued(c, cert) == X509_V_OK)
      return c;
  }
  return NULL;
}

long mw__tls_ocsp_check(SSL *ssl, X509 *cert, struct mw__trace *trace)
{
  const unsigned char *der = NULL;
  long len = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
  if(len <= 0 || !der) {
    mw__trace_emit(trace, MW_TRACE_TLS, "OCSP: the server stapled no "
                   "response (revocation not checked by OCSP)");
    return X509_V_OK;
  }
  long result = X509_V_ERR_OCSP_VERIFY_FAILED;
  const char *why = "the response is malformed";
  OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &der, len);
  OCSP_BASICRESP *basic = NULL;
  OCSP_CERTID *id = NULL;
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
  X509 *issuer = issuer_in(chain, cert);
  X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
  int status = -1, reason = 0;
  ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_upd = NULL, *next_upd = NULL;
  if(!resp)
    goto done;
  if(OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    why = "the responder did not answer successfully";
    goto done;
  }
  basic = OCSP_response_get1_basic(resp);
  if(!basic)
    goto done;
  if(!issuer) {
    why = "the server sent no issuer certificate to check it with";
    goto done;
  }
  if(OCSP_basic_verify(basic, chain, store, 0) <= 0) {
    why = "its signature does not verify against the trust store";
    goto done;
  }
  id = OCSP_cert_to_id(NULL, cert, issuer);
  if(!id || !OCSP_resp_find_status(basic, id, &status, &reason, &revoked_at,
                                   &this_upd, &next_upd)) {
    why = "it is not about the server's certificate";
    result = X509_V_ERR_OCSP_CERT_UNKNOWN;
    goto done;
  }
  if(!OCSP_check_validity(this_upd, next_upd, 300, -1)) {
    why = "it is out of date";
    goto done;
  }
  switch(status) {
  case V_OCSP_CERTSTATUS_GOOD:
    result = X509_V_OK;
    mw__trace_emit(trace, MW_TRACE_TLS, "OCSP: the stapled response says "
                   "good");
    break;
  case V_OCSP_CERTSTATUS_REVOKED:
    result = X509_V_ERR_CERT_REVOKED;
    mw__trace_emit(trace, MW_TRACE_TLS, "OCSP: the stapled response says "
                   "REVOKED (reason %s)", OCSP_crl_reason_str(reason));
    break;
  default:
    why = "the responder does not know the certificate";
    result = X509_V_ERR_OCSP_CERT_UNKNOWN;
    break;
  }

done:
  if(result != X509_V_OK && result != X509_V_ERR_CERT_REVOKED) {
    ERR_clear_error();
    mw__trace_emit(trace, MW_TRACE_TLS, "OCSP: the stapled response is "
                   "refused: %s", why);
  }
  OCSP_CERTID_free(id);
  OCSP_BASICRESP_free(basic);
  OCSP_RESPONSE_free(resp);
  return result;
}
