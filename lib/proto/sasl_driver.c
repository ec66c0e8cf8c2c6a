/*
 * proto/sasl_driver.c - the SASL exchange of every protocol: policy,
 * command line, rounds, cancellation and success, over a descriptor.
 *
 * DESCRIPTION
 *   Policy, in this order (each relied on by tests):
 *   - EXTERNAL asked for (in the allowed list) without a client
 *     certificate, and nothing else allowed that the other credentials
 *     could do: a usage error, before the session goes on as if no
 *     authentication had been asked for;
 *   - a client certificate alone does not oblige the session to
 *     authenticate (it may serve TLS client authentication only); it
 *     counts as credentials when EXTERNAL is asked for, or when the server
 *     offers EXTERNAL over TLS and the user did not restrict mechanisms;
 *   - no credentials: nothing to do;
 *   - never credentials over plaintext unless allowed, and EXTERNAL never
 *     without TLS (no certificate was presented);
 *   - the strongest mechanism both sides can use (proto/sasl.c), EXTERNAL
 *     only over TLS.
 *
 *   The exchange: the command with the initial response when the
 *   mechanism has one and the protocol allows it within its line limit
 *   (else the response answers the server's first, empty, challenge);
 *   then each continuation is a base64 challenge the mechanism answers,
 *   at most MW__SASL_MAX_ROUNDS of them.  A challenge that is not base64
 *   or that the mechanism rejects cancels the exchange with the cancel
 *   line (RFC 4954 section 4, RFC 4422 3.5).  A success reply is success
 *   only when mw__sasl_success() agrees: a mechanism that authenticates
 *   the server needs its verified proof.
 *
 *   Every payload is shown in the trace as <redacted> and added to the
 *   session's scrubbing list, so that a server echoing it cannot get it
 *   into the trace or an error.
 *
 * DIAGNOSTICS
 *   See mw__sasl_authenticate() in sasl_driver.h.  Messages name the
 *   mechanism and the identity, never a payload.
 */
#include "proto/sasl_driver.h"

#include "core/util.h"
#include "proto/sasl.h"

#include <stdio.h>
#include <string.h>

bool mw__sasl_is_base64(const char *text, size_t len)
{
  if(len % 4)
    return false;
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 (c >= '0' && c <= '9') || c == '+' || c == '/';
    if(alpha)
      continue;
    /* '=' only in the last two places, and "x=y=" is not padding. */
    if(c != '=' || i + 2 < len || (i + 2 == len && text[i + 1] != '='))
      return false;
  }
  return true;
}

/* Who the exchange authenticates as, for messages: the user name, else
 * the kind of credential. */
static const char *identity(const struct mw__sasl_request *req,
                            const char *mech)
{
  if(req->user)
    return req->user;
  return strcmp(mech, "EXTERNAL") == 0 ? "the certificate's identity"
                                       : "(token)";
}

/* Queues the command: "AUTH MECH" or "AUTH MECH <initial response>". */
static mw_status send_command(const struct mw__sasl_ctx *ctx,
                              const char *mech, const char *ir)
{
  struct mw__sbuf line, shown;
  mw__sbuf_init(&line);
  mw__sbuf_init(&shown);
  mw__sbuf_printf(&line, "%s %s", ctx->proto->command, mech);
  mw__sbuf_printf(&shown, "%s %s%s", ctx->proto->command, mech,
                  ir ? " " MW__SCRUB_MARK : "");
  if(ir) {
    mw__sbuf_puts(&line, " ");
    mw__sbuf_puts(&line, ir);
  }
  mw_status st = MW_OK;
  if(line.failed || shown.failed ||
     (ir && !mw__scrub_add_payload(ctx->scrub, ir, strlen(ir))))
    st = mw__error_set(ctx->err, MW_E_NOMEM, NULL);
  else
    st = ctx->io->send(ctx->io->user, true, line.data, line.len, shown.data);
  if(line.data)
    mw__wipe(line.data, line.len);
  mw__sbuf_free(&line);
  mw__sbuf_free(&shown);
  return st;
}

/* Queues a response line (maybe empty), shown as <redacted>. */
static mw_status send_response(const struct mw__sasl_ctx *ctx,
                               const char *resp)
{
  size_t n = strlen(resp);
  if(!mw__scrub_add_payload(ctx->scrub, resp, n))
    return mw__error_set(ctx->err, MW_E_NOMEM, NULL);
  return ctx->io->send(ctx->io->user, false, resp, n, MW__SCRUB_MARK);
}

/* Cancels the exchange.  The error already recorded stays: a failure to
 * send the cancel line (the server may be gone) does not replace it. */
static void cancel(const struct mw__sasl_ctx *ctx)
{
  mw_status saved = ctx->err->status;
  char msg[sizeof(ctx->err->message)];
  memcpy(msg, ctx->err->message, sizeof(msg));
  const char *c = ctx->proto->cancel;
  mw_status st = ctx->io->send(ctx->io->user, false, c, strlen(c), c);
  if(!st)
    st = ctx->io->flush(ctx->io->user);
  if(st && saved)
    mw__error_set(ctx->err, saved, "%s", msg);
}

/* Whether line is a continuation; its challenge in *chal and *clen. */
static bool continuation(const struct mw__sasl_proto *p, const char *line,
                         size_t len, const char **chal, size_t *clen)
{
  size_t pl = strlen(p->continuation);
  if(len >= pl && memcmp(line, p->continuation, pl) == 0) {
    *chal = line + pl;
    *clen = len - pl;
    return true;
  }
  /* A bare "334" or "+": an empty challenge. */
  if(pl && p->continuation[pl - 1] == ' ' && len == pl - 1 &&
     memcmp(line, p->continuation, pl - 1) == 0) {
    *chal = line + len;
    *clen = 0;
    return true;
  }
  return false;
}

/* A refusal: the protocol's message, or a neutral one. */
static mw_status refused(const struct mw__sasl_ctx *ctx,
                         const struct mw__sasl_request *req, const char *mech,
                         const char *oauth_status, const char *line,
                         size_t len)
{
  struct mw__sasl_refusal why = {mech, identity(req, mech), oauth_status,
                                 line, len};
  mw_status st;
  if(ctx->io->refused) {
    st = ctx->io->refused(ctx->io->user, &why);
  }
  else {
    char shown[128];
    size_t n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;
    for(size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)line[i];
      shown[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    shown[n] = '\0';
    st = mw__error_set(ctx->err, MW_E_AUTH,
                       "the %s server refused the %s authentication as %s: "
                       "\"%s\"",
                       ctx->proto->name, mech, why.identity, shown);
  }
  if(oauth_status[0])
    snprintf(ctx->err->oauth_status, sizeof(ctx->err->oauth_status), "%s",
             oauth_status);
  return st;
}

/* The server announced success, maybe with final data. */
static mw_status succeeded(const struct mw__sasl_ctx *ctx,
                           const struct mw__sasl_request *req,
                           struct mw__sasl *sasl, const char *mech,
                           const char *data, size_t dlen)
{
  char *final_data = NULL;
  if(ctx->proto->success_data && data && dlen) {
    final_data = mw__strndup(data, dlen);
    if(!final_data)
      return mw__error_set(ctx->err, MW_E_NOMEM, NULL);
  }
  bool was_verified = mw__sasl_server_verified(sasl);
  mw_status st = mw__sasl_success(sasl, final_data, ctx->err);
  mw__free(final_data);
  if(st)
    return st;
  if(!was_verified && mw__sasl_server_verified(sasl))
    mw__trace_emit(ctx->trace, MW_TRACE_INFO,
                   "server signature verified (%s)", mech);
  mw__trace_emit(ctx->trace, MW_TRACE_INFO, "authenticated as %s with %s",
                 identity(req, mech), mech);
  return MW_OK;
}

/* Sends the command, then answers challenges until the server decides. */
static mw_status exchange(const struct mw__sasl_ctx *ctx,
                          const struct mw__sasl_request *req,
                          struct mw__sasl *sasl, const char *mech)
{
  const struct mw__sasl_proto *p = ctx->proto;
  char *pending = NULL; /* the initial response, for the first challenge */
  char *resp = NULL;
  mw_status st = MW_OK;
  if(mw__sasl_client_first(mech)) {
    st = mw__sasl_step(sasl, NULL, &resp, ctx->err);
    if(!st) {
      const char *ir = resp[0] ? resp : p->empty_ir;
      size_t line = strlen(p->command) + 1 + strlen(mech) + 1 + strlen(ir) +
                    2;
      if(p->initial_response && (!p->ir_max || line <= p->ir_max)) {
        st = send_command(ctx, mech, ir);
      }
      else {
        st = send_command(ctx, mech, NULL);
        pending = resp;
        resp = NULL;
      }
    }
    mw__free_secret(resp);
    resp = NULL;
  }
  else {
    st = send_command(ctx, mech, NULL);
  }
  /* An OAuth server reports a refused token in a challenge (RFC 7628
   * 3.2.2). */
  bool is_oauth = strcmp(mech, "XOAUTH2") == 0 ||
                  strcmp(mech, "OAUTHBEARER") == 0;
  char oauth_status[24] = "";
  int rounds = 0;
  while(!st) {
    const char *line = NULL, *chal = NULL;
    size_t len = 0, clen = 0;
    st = ctx->io->read(ctx->io->user, &line, &len);
    if(st)
      break;
    if(!continuation(p, line, len, &chal, &clen)) {
      const char *data = NULL;
      size_t dlen = 0;
      if(p->success(line, len, &data, &dlen))
        st = succeeded(ctx, req, sasl, mech, data, dlen);
      else
        st = refused(ctx, req, mech, oauth_status, line, len);
      break;
    }
    char *challenge = mw__strndup(chal, clen);
    if(!challenge) {
      st = mw__error_set(ctx->err, MW_E_NOMEM, NULL);
      break;
    }
    if(is_oauth && !oauth_status[0])
      (void)mw__sasl_oauth_status(challenge, oauth_status,
                                  sizeof(oauth_status));
    if(rounds >= MW__SASL_MAX_ROUNDS) {
      st = mw__error_set(ctx->err, MW_E_PROTOCOL,
                         "the server prolonged the %s exchange past %d "
                         "rounds",
                         mech, MW__SASL_MAX_ROUNDS);
      cancel(ctx);
    }
    else if(pending && clen) {
      st = mw__error_set(ctx->err, MW_E_PROTOCOL,
                         "the server sent a %s challenge where the client's "
                         "initial response belongs (RFC 4422 section 5.1): "
                         "exchange cancelled",
                         mech);
      cancel(ctx);
    }
    else if(pending) {
      st = send_response(ctx, pending);
      mw__free_secret(pending);
      pending = NULL;
    }
    else if(!mw__sasl_is_base64(challenge, clen) &&
            !mw__sasl_expects_proof(sasl)) {
      /* (Where the server's proof belongs, the mechanism reports a bad
       * one as an unverified server.) */
      st = mw__error_set(ctx->err, MW_E_AUTH,
                         "the server's %s challenge is not valid base64 "
                         "(RFC 4954 section 4): exchange cancelled",
                         mech);
      cancel(ctx);
    }
    else {
      bool was_verified = mw__sasl_server_verified(sasl);
      st = mw__sasl_step(sasl, challenge, &resp, ctx->err);
      if(!st && !was_verified && mw__sasl_server_verified(sasl))
        mw__trace_emit(ctx->trace, MW_TRACE_INFO,
                       "server signature verified (%s)", mech);
      if(st)
        cancel(ctx); /* RFC 4954: the server answers 501 */
      else
        st = send_response(ctx, resp);
      mw__free_secret(resp);
      resp = NULL;
    }
    mw__free(challenge);
    rounds++;
  }
  mw__free_secret(pending);
  if(st == MW_E_AUTH_SERVER_UNVERIFIED)
    mw__trace_emit(ctx->trace, MW_TRACE_INFO,
                   "server signature NOT verified (%s): %s", mech,
                   mw_error_message(ctx->err));
  return st;
}

mw_status mw__sasl_authenticate(const struct mw__sasl_ctx *ctx,
                                const struct mw__sasl_request *req,
                                const struct mw__sasl_server *srv,
                                const char **mech_out)
{
  *mech_out = NULL;
  struct mw_error *err = ctx->err;
  bool have_password = req->user && req->password;
  bool have_token = req->token != NULL;
  bool have_cert = req->cert_file != NULL;
  bool external_asked = mw__sasl_list_has(req->allowed, "EXTERNAL");
  bool external_offered = mw__sasl_list_has(srv->mechanisms, "EXTERNAL");
  /* EXTERNAL asked for, without a certificate, and nothing else allowed
   * that the credentials at hand could do. */
  if(external_asked && !have_cert &&
     !mw__sasl_choose(req->allowed, req->allowed, have_password, have_token))
    return mw__error_set(err, MW_E_INVALID,
                         "{auth=EXTERNAL} needs a client certificate "
                         "({tls-cert=FILE}): SASL EXTERNAL takes the "
                         "identity from the certificate presented in the "
                         "TLS handshake");
  /* Offered counts only when the user's list (if any) allows EXTERNAL. */
  bool cert_auth = have_cert && (external_asked ||
                                 (srv->tls && external_offered &&
                                  !req->allowed));
  if(!have_password && !have_token && !cert_auth)
    return MW_OK;
  if(!srv->tls && cert_auth && !have_password && !have_token)
    return mw__error_set(err, MW_E_INSECURE,
                         "SASL EXTERNAL needs TLS: the client certificate "
                         "is only presented in the TLS handshake, and this "
                         "connection is not encrypted; use {tls=starttls} "
                         "or {tls=implicit}");
  if(!srv->tls && !req->allow_insecure)
    return mw__error_set(err, MW_E_INSECURE,
                         "refusing to send credentials over an unencrypted "
                         "connection%s; use {tls=starttls} or {tls=implicit} "
                         "(or, knowingly, {allow-insecure-auth})",
                         srv->starttls_offered
                             ? " (the server offers STARTTLS)"
                             : "");
  if(!srv->mechanisms)
    return mw__error_set(err, MW_E_AUTH_UNAVAILABLE,
                         "the server does not offer AUTH (it offers: %s)%s",
                         srv->offers ? srv->offers : "(none)",
                         srv->tls ? ""
                                  : "; many servers offer AUTH only after "
                                    "TLS");
  /* EXTERNAL only over TLS: without it no certificate was presented. */
  const char *mech =
      mw__sasl_choose_cert(srv->mechanisms, req->allowed, have_password,
                           have_token, have_cert && srv->tls);
  if(!mech)
    return mw__error_set(err, MW_E_AUTH_UNAVAILABLE,
                         "no authentication mechanism usable by both sides: "
                         "the server offers [%s], allowed [%s], with %s%s",
                         srv->mechanisms,
                         req->allowed ? req->allowed
                                      : mw_auth_supported_mechanisms(),
                         have_token      ? "an OAuth token"
                         : have_password ? "a password"
                                         : "a client certificate",
                         have_cert && (have_token || have_password)
                             ? " and a client certificate"
                             : "");
  struct mw__sasl *sasl = NULL;
  mw_status st = mw__sasl_start_service(mech, ctx->proto->service, req->user,
                                        req->password, req->token, req->host,
                                        &sasl, err);
  if(st)
    return st;
  st = exchange(ctx, req, sasl, mech);
  mw__sasl_free(sasl);
  if(!st)
    *mech_out = mech;
  return st;
}
