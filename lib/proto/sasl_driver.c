/*
 * proto/sasl_driver.c - the SASL exchange of every protocol: policy,
 * command line, rounds, cancellation and success, over a descriptor.
 * Owns the I/O-free exchange (mw__sasl_exchange_start / _feed: a line in,
 * the next line out, like net/proxy.c's handshake), which a protocol's
 * state machine drives from its AUTH state, and mw__sasl_authenticate(),
 * the same exchange as a blocking loop over I/O callbacks.
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

/* ---- the exchange, without I/O --------------------------------------- */

struct mw__sasl_exchange {
  struct mw__sasl_ctx ctx;        /* copied: its pointers outlive x */
  struct mw__sasl_request req;    /* likewise */
  struct mw__sasl *sasl;
  const char *mech;               /* static name */
  char *pending;   /* the initial response, for the first challenge */
  bool is_oauth;
  char oauth_status[24];
  int rounds;
  struct mw__sbuf out, shown;     /* the line to send, and its trace */
};

/* Makes out/shown the next line to send. */
static mw_status set_line(struct mw__sasl_exchange *x, struct mw__sasl_line *l,
                          bool command, bool reply_expected, int secret_from)
{
  if(x->out.failed || x->shown.failed)
    return mw__error_set(x->ctx.err, MW_E_NOMEM, NULL);
  l->line = x->out.data ? x->out.data : "";
  l->len = x->out.len;
  l->shown = x->shown.data ? x->shown.data : "";
  l->command = command;
  l->reply_expected = reply_expected;
  l->secret_from = secret_from;
  return MW_OK;
}

static void clear_line(struct mw__sasl_exchange *x)
{
  if(x->out.data)
    mw__wipe(x->out.data, x->out.len);
  mw__sbuf_reset(&x->out);
  mw__sbuf_reset(&x->shown);
}

/* The command: "AUTH MECH" or "AUTH MECH <initial response>". */
static mw_status command_line(struct mw__sasl_exchange *x, const char *ir,
                              struct mw__sasl_line *l)
{
  const struct mw__sasl_ctx *ctx = &x->ctx;
  clear_line(x);
  mw__sbuf_printf(&x->out, "%s %s", ctx->proto->command, x->mech);
  mw__sbuf_printf(&x->shown, "%s %s%s", ctx->proto->command, x->mech,
                  ir ? " " MW__SCRUB_MARK : "");
  int secret_from = -1;
  if(ir) {
    mw__sbuf_puts(&x->out, " ");
    secret_from = (int)x->out.len;
    mw__sbuf_puts(&x->out, ir);
    if(!mw__scrub_add_payload(ctx->scrub, ir, strlen(ir)))
      return mw__error_set(ctx->err, MW_E_NOMEM, NULL);
  }
  return set_line(x, l, true, true, secret_from);
}

/* A response line (maybe empty), shown as <redacted>. */
static mw_status response_line(struct mw__sasl_exchange *x, const char *resp,
                               struct mw__sasl_line *l)
{
  size_t n = strlen(resp);
  clear_line(x);
  if(!mw__scrub_add_payload(x->ctx.scrub, resp, n))
    return mw__error_set(x->ctx.err, MW_E_NOMEM, NULL);
  mw__sbuf_append(&x->out, resp, n);
  mw__sbuf_puts(&x->shown, MW__SCRUB_MARK);
  return set_line(x, l, false, true, 0);
}

/* The cancel line, with the failure st already recorded: the caller
 * sends it (best effort, the error stays) and reads no reply. */
static mw_status cancel_line(struct mw__sasl_exchange *x, mw_status st,
                             struct mw__sasl_line *l)
{
  clear_line(x);
  mw__sbuf_puts(&x->out, x->ctx.proto->cancel);
  mw__sbuf_puts(&x->shown, x->ctx.proto->cancel);
  if(set_line(x, l, false, false, -1))
    memset(l, 0, sizeof(*l));
  return st;
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
  if(ctx->io && ctx->io->refused) {
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

mw_status mw__sasl_exchange_feed(struct mw__sasl_exchange *x,
                                 const char *line, size_t len,
                                 struct mw__sasl_line *next, bool *done)
{
  const struct mw__sasl_ctx *ctx = &x->ctx;
  const struct mw__sasl_proto *p = ctx->proto;
  memset(next, 0, sizeof(*next));
  *done = false;
  const char *chal = NULL;
  size_t clen = 0;
  mw_status st = MW_OK;
  if(!continuation(p, line, len, &chal, &clen)) {
    const char *data = NULL;
    size_t dlen = 0;
    if(p->success(line, len, &data, &dlen)) {
      st = succeeded(ctx, &x->req, x->sasl, x->mech, data, dlen);
      *done = !st;
    }
    else {
      st = refused(ctx, &x->req, x->mech, x->oauth_status, line, len);
    }
    goto out;
  }
  char *challenge = mw__strndup(chal, clen);
  if(!challenge)
    return mw__error_set(ctx->err, MW_E_NOMEM, NULL);
  /* An OAuth server reports a refused token in a challenge (RFC 7628
   * 3.2.2). */
  if(x->is_oauth && !x->oauth_status[0])
    (void)mw__sasl_oauth_status(challenge, x->oauth_status,
                                sizeof(x->oauth_status));
  char *resp = NULL;
  if(x->rounds >= MW__SASL_MAX_ROUNDS) {
    st = cancel_line(x, mw__error_set(ctx->err, MW_E_PROTOCOL,
                                      "the server prolonged the %s exchange "
                                      "past %d rounds",
                                      x->mech, MW__SASL_MAX_ROUNDS),
                     next);
  }
  else if(x->pending && clen) {
    st = cancel_line(x, mw__error_set(ctx->err, MW_E_PROTOCOL,
                                      "the server sent a %s challenge where "
                                      "the client's initial response belongs "
                                      "(RFC 4422 section 5.1): exchange "
                                      "cancelled",
                                      x->mech),
                     next);
  }
  else if(x->pending) {
    st = response_line(x, x->pending, next);
    mw__free_secret(x->pending);
    x->pending = NULL;
  }
  else if(!mw__sasl_is_base64(challenge, clen) &&
          !mw__sasl_expects_proof(x->sasl)) {
    /* (Where the server's proof belongs, the mechanism reports a bad
     * one as an unverified server.) */
    st = cancel_line(x, mw__error_set(ctx->err, MW_E_AUTH,
                                      "the server's %s challenge is not "
                                      "valid base64 (RFC 4954 section 4): "
                                      "exchange cancelled",
                                      x->mech),
                     next);
  }
  else {
    bool was_verified = mw__sasl_server_verified(x->sasl);
    st = mw__sasl_step(x->sasl, challenge, &resp, ctx->err);
    if(!st && !was_verified && mw__sasl_server_verified(x->sasl))
      mw__trace_emit(ctx->trace, MW_TRACE_INFO,
                     "server signature verified (%s)", x->mech);
    if(st)
      st = cancel_line(x, st, next); /* RFC 4954: the server answers 501 */
    else
      st = response_line(x, resp, next);
    mw__free_secret(resp);
  }
  mw__free(challenge);
  x->rounds++;
out:
  if(st == MW_E_AUTH_SERVER_UNVERIFIED)
    mw__trace_emit(ctx->trace, MW_TRACE_INFO,
                   "server signature NOT verified (%s): %s", x->mech,
                   mw_error_message(ctx->err));
  return st;
}

const char *mw__sasl_exchange_mech(const struct mw__sasl_exchange *x)
{
  return x ? x->mech : NULL;
}

void mw__sasl_exchange_free(struct mw__sasl_exchange *x)
{
  if(!x)
    return;
  mw__sasl_free(x->sasl);
  mw__free_secret(x->pending);
  clear_line(x);
  mw__sbuf_free(&x->out);
  mw__sbuf_free(&x->shown);
  mw__free(x);
}

/* The first line of the exchange with mech. */
static mw_status first_line(struct mw__sasl_exchange *x,
                            struct mw__sasl_line *l)
{
  const struct mw__sasl_proto *p = x->ctx.proto;
  const char *mech = x->mech;
  if(!mw__sasl_client_first(mech))
    return command_line(x, NULL, l);
  char *resp = NULL;
  mw_status st = mw__sasl_step(x->sasl, NULL, &resp, x->ctx.err);
  if(st)
    return st;
  const char *ir = resp[0] ? resp : p->empty_ir;
  size_t len = strlen(p->command) + 1 + strlen(mech) + 1 + strlen(ir) + 2;
  if(p->initial_response && (!p->ir_max || len <= p->ir_max)) {
    st = command_line(x, ir, l);
    mw__free_secret(resp);
  }
  else {
    st = command_line(x, NULL, l);
    x->pending = resp;
  }
  return st;
}

mw_status mw__sasl_exchange_start(const struct mw__sasl_ctx *ctx,
                         const struct mw__sasl_request *req,
                         const struct mw__sasl_server *srv,
                         struct mw__sasl_exchange **out,
                         struct mw__sasl_line *first)
{
  *out = NULL;
  memset(first, 0, sizeof(*first));
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
  struct mw__sasl_exchange *x = mw__calloc(1, sizeof(*x));
  if(!x)
    return mw__error_set(err, MW_E_NOMEM, NULL);
  x->ctx = *ctx;
  x->req = *req;
  x->mech = mech;
  x->is_oauth = strcmp(mech, "XOAUTH2") == 0 ||
                strcmp(mech, "OAUTHBEARER") == 0;
  mw__sbuf_init(&x->out);
  mw__sbuf_init(&x->shown);
  mw_status st = mw__sasl_start_service(mech, ctx->proto->service, req->user,
                                        req->password, req->token, req->host,
                                        &x->sasl, err);
  if(!st)
    st = first_line(x, first);
  if(st) {
    mw__sasl_exchange_free(x);
    memset(first, 0, sizeof(*first));
    return st;
  }
  *out = x;
  return MW_OK;
}

/* ---- the blocking exchange over callbacks ----------------------------- */

/* Sends the cancel line.  The error already recorded stays: a failure to
 * send it (the server may be gone) does not replace it. */
static void send_cancel(const struct mw__sasl_ctx *ctx,
                        const struct mw__sasl_line *l)
{
  mw_status saved = ctx->err->status;
  char msg[sizeof(ctx->err->message)];
  memcpy(msg, ctx->err->message, sizeof(msg));
  mw_status st = ctx->io->send(ctx->io->user, false, l->line, l->len,
                               l->shown);
  if(!st)
    st = ctx->io->flush(ctx->io->user);
  if(st && saved)
    mw__error_set(ctx->err, saved, "%s", msg);
}

mw_status mw__sasl_authenticate(const struct mw__sasl_ctx *ctx,
                                const struct mw__sasl_request *req,
                                const struct mw__sasl_server *srv,
                                const char **mech_out)
{
  *mech_out = NULL;
  struct mw__sasl_exchange *x = NULL;
  struct mw__sasl_line l;
  mw_status st = mw__sasl_exchange_start(ctx, req, srv, &x, &l);
  if(st || !x)
    return st;
  bool done = false;
  while(!st && !done) {
    st = ctx->io->send(ctx->io->user, l.command, l.line, l.len, l.shown);
    const char *line = NULL;
    size_t len = 0;
    if(!st)
      st = ctx->io->read(ctx->io->user, &line, &len);
    if(!st) {
      st = mw__sasl_exchange_feed(x, line, len, &l, &done);
      if(st && l.line)
        send_cancel(ctx, &l);
    }
  }
  if(!st)
    *mech_out = x->mech;
  mw__sasl_exchange_free(x);
  return st;
}
