/*
 * proto/session.c - the set-up every protocol client shares (see
 * proto/session.h).
 */
#include "proto/session.h"

#include <stdio.h>
#include <string.h>

bool mw__session_setup(struct mw_options *dst, const mw_options *src,
                       mw_protocol p, struct mw__trace *trace,
                       struct mw__scrub *sc)
{
  mw__scrub_init(sc);
  if(!mw__options_copy(dst, src))
    return false;
  /* Each client speaks its own protocol: its ports (and what
   * MW_TLS_AUTO means) follow. */
  dst->protocol = p;
  trace->fn = dst->trace_fn;
  trace->user = dst->trace_user;
  mw__trace_start(trace);
  if(!mw__scrub_add_secret(sc, dst->password) ||
     !mw__scrub_add_secret(sc, dst->oauth2_token)) {
    mw__scrub_free(sc);
    mw__options_release(dst);
    return false;
  }
  return true;
}

mw_status mw__session_open(const struct mw_options *o, const char *name,
                           struct mw__trace *trace,
                           mw__stack_step_fn on_step, void *user, char *peer,
                           size_t peer_len, struct mw_error *err,
                           struct mw__layer **top)
{
  *top = NULL;
  if(!o->host)
    return mw__error_set(err, MW_E_INVALID, "no server given");
  unsigned port = mw__options_port(o);
  mw__trace_emit(trace, MW_TRACE_INFO, "%s server %s port %u, TLS mode %s%s",
                 name, o->host, port,
                 mw_tls_mode_name(mw__options_tls_mode(o)),
                 o->tls_mode == MW_TLS_AUTO ? " (auto, by port)" : "");
  if(o->insecure)
    mw__trace_emit(trace, MW_TRACE_TLS,
                   "WARNING: {insecure}: certificates will NOT be verified");
  struct mw__stack_opts so = {.host = o->host,
                              .port = port,
                              .family = o->family,
                              .dns_server = o->dns_server,
                              .bind = o->bind,
                              .connect_timeout_ms = o->connect_timeout_ms,
                              .proxy_url = o->proxy_url,
                              .proxy_protocol = o->proxy_protocol};
  mw_status st = mw__stack_open(&so, trace, on_step, user, peer, peer_len,
                                err, top);
  if(st)
    return st;
  if((*top)->below) {
    char layers[300];
    mw__layer_describe_stack(*top, layers, sizeof(layers));
    mw__trace_emit(trace, MW_TRACE_NET, "connection layers: %s", layers);
  }
  return MW_OK;
}

void mw__session_tls_policy(const struct mw_options *o,
                            struct mw__tls_policy *policy)
{
  memset(policy, 0, sizeof(*policy));
  policy->ca_file = o->ca_file;
  policy->fingerprint = o->fingerprint[0] ? o->fingerprint : NULL;
  policy->insecure = o->insecure;
  policy->min = o->tls_min;
  policy->max = o->tls_max;
  policy->server_name = o->tls_server_name ? o->tls_server_name : o->host;
  policy->ciphers = o->tls_ciphers;
  policy->cert_file = o->tls_cert_file;
  policy->key_file = o->tls_key_file;
  policy->crl_file = o->tls_crl_file;
  policy->ocsp = o->tls_ocsp;
  policy->verify_fn = o->tls_verify_fn;
  policy->verify_user = o->tls_verify_user;
}

mw_status mw__session_start_tls(struct mw__engine *e,
                                const struct mw_options *o,
                                struct mw__trace *trace, struct mw_error *err,
                                unsigned timeout_ms, struct mw__tls **tls,
                                struct mw__tls_info *info)
{
  return mw__session_start_tls_report(e, o, false, trace, err, timeout_ms,
                                      tls, info);
}

mw_status mw__session_start_tls_report(struct mw__engine *e,
                                       const struct mw_options *o,
                                       bool report_only,
                                       struct mw__trace *trace,
                                       struct mw_error *err,
                                       unsigned timeout_ms,
                                       struct mw__tls **tls,
                                       struct mw__tls_info *info)
{
  struct mw__tls_policy policy;
  mw__session_tls_policy(o, &policy);
  policy.report_only = report_only;
  mw_status st = mw__tls_start(&e->stream, &policy, trace,
                               mw__now_ms() + timeout_ms, tls, info);
  mw__session_cert_names_hint(st, info, err);
  return st;
}

void mw__session_cert_names_hint(mw_status st, const struct mw__tls_info *info,
                                 struct mw_error *err)
{
  /* A name mismatch says which names the certificate does carry. */
  if(st == MW_E_CERT && info->names[0] &&
     !strcmp(mw__tls_verify_class(info->verify_result), "hostname")) {
    size_t n = strlen(err->message);
    snprintf(err->message + n, sizeof(err->message) - n,
             "; the certificate is valid for: %s", info->names);
  }
}

mw_status mw__session_no_injection(struct mw__engine *e, struct mw_error *err,
                                   const char *answer)
{
  size_t extra = mw__engine_buffered(e);
  if(!extra)
    return MW_OK;
  return mw__error_set(err, MW_E_INJECTION,
                       "the server sent %zu byte%s after %s, before the TLS "
                       "handshake: they could be an attacker's injected "
                       "replies, so the session was stopped",
                       extra, extra == 1 ? "" : "s", answer);
}
