/*
 * proto/pop3_auth.c - the POP3 login (RFC 1939 USER/PASS, RFC 5034 SASL
 * through proto/sasl_driver.h) and what a refused login means (RFC 2449
 * and RFC 3206 response codes).
 *
 * DESCRIPTION
 *   SASL when the server offers a mechanism usable with the credentials
 *   and allowed by the options (the strongest, proto/sasl.c); else
 *   USER/PASS when the server offers USER (or has no CAPA) and the
 *   allowed list, if any, names PLAIN or LOGIN (mechanisms that reveal the
 *   password anyway); else the driver says why not.  Credentials never go
 *   over plaintext unless allowed.  APOP is never used (MD5 of a shared
 *   secret, RFC 1939 section 7).
 *
 * DIAGNOSTICS
 *   [AUTH] or no code: MW_E_AUTH; [IN-USE], [LOGIN-DELAY], [SYS/TEMP]:
 *   MW_E_REJECTED, temporary; [SYS/PERM]: MW_E_REJECTED, permanent.  The
 *   code is in err.response_code.
 */
#include "proto/pop3.h"

#include "core/util.h"
#include "proto/sasl.h"
#include "proto/sasl_driver.h"

#include <stdio.h>
#include <string.h>

/* A refused login: [AUTH] (or no code) is the credentials, the other
 * codes say why the account cannot be used now or at all. */
mw_status mw__pop3_login_refused(struct mw_pop3 *p, const char *text,
                                 size_t len, const char *mech)
{
  char code[32];
  mw__pop3_response_code(text, len, code, sizeof(code));
  const char *who = p->opt.user ? p->opt.user : "(token)";
  if(mw__strieq(code, "IN-USE"))
    return mw__pop3_refusal(p, MW_E_REJECTED, text, len,
                            "the mailbox of %s is in use by another "
                            "session (RFC 2449 IN-USE): retry later",
                            who);
  if(mw__strieq(code, "LOGIN-DELAY"))
    return mw__pop3_refusal(p, MW_E_REJECTED, text, len,
                            "%s logged in too recently (RFC 2449 "
                            "LOGIN-DELAY): retry later",
                            who);
  if(mw__strieq(code, "SYS/TEMP"))
    return mw__pop3_refusal(p, MW_E_REJECTED, text, len,
                            "the server cannot log %s in now (RFC 3206 "
                            "SYS/TEMP): retry later",
                            who);
  if(mw__strieq(code, "SYS/PERM"))
    return mw__pop3_refusal(p, MW_E_REJECTED, text, len,
                            "the server refuses %s for a reason of its own "
                            "(RFC 3206 SYS/PERM): ask its administrator",
                            who);
  return mw__pop3_refusal(p, MW_E_AUTH, text, len,
                          "the server rejected the user name or password "
                          "(%s as %s)",
                          mech, who);
}

/* ---- login: SASL (RFC 5034) through the driver, or USER/PASS -------- */

static bool pop3_auth_success(const char *line, size_t len,
                              const char **data, size_t *dlen)
{
  *data = NULL;
  *dlen = 0;
  return len >= 3 && memcmp(line, "+OK", 3) == 0 &&
         (len == 3 || line[3] == ' ');
}

const struct mw__sasl_proto mw__pop3_sasl = {
    .name = "POP3",
    .service = "pop",
    .command = "AUTH",
    .continuation = "+ ",
    .initial_response = true,
    /* RFC 5034 section 4 and RFC 2449 section 4: the AUTH command keeps
     * POP3's 255-octet command limit; a longer initial response answers
     * an empty challenge instead. */
    .ir_max = 255,
    .empty_ir = "=",
    .cancel = "*",
    .success = pop3_auth_success,
    /* RFC 5034: a mechanism's last data comes as a "+ " challenge,
     * answered empty; +OK carries only human text. */
    .success_data = false,
};

static mw_status pop3_sasl_send(void *user, bool command, const char *line,
                                size_t len, const char *shown)
{
  (void)command;
  struct mw_pop3 *p = user;
  if(memchr(line, '\r', len) || memchr(line, '\n', len) ||
     memchr(line, '\0', len))
    return mw__error_set(&p->err, MW_E_INVALID,
                         "refused to send a command containing a line break");
  mw__trace_emit(&p->trace, MW_TRACE_OUT, "%s", shown);
  char *buf = mw__malloc(len + 3);
  if(!buf)
    return mw__error_set(&p->err, MW_E_NOMEM, NULL);
  memcpy(buf, line, len);
  memcpy(buf + len, "\r\n", 3);
  mw_status st = mw__engine_queue_raw(&p->eng, buf, len + 2);
  mw__free_secret(buf);
  return st;
}

static mw_status pop3_flush_step(void *machine, short *want, bool *done)
{
  struct mw_pop3 *p = machine;
  mw_status st = mw__engine_flush(&p->eng, want);
  *done = !st && !*want;
  return st;
}

static mw_status pop3_sasl_flush(void *user)
{
  struct mw_pop3 *p = user;
  mw__engine_deadline_in(&p->eng, mw__pop3_cmd_ms(p), "sending AUTH");
  return mw__engine_run(&p->eng, pop3_flush_step, p);
}

static mw_status pop3_line_step(void *machine, short *want, bool *done)
{
  struct mw_pop3 *p = machine;
  struct mw__engine_event ev;
  mw_status st = mw__engine_next(&p->eng, &ev, want);
  if(st || ev.kind == MW__EV_NONE)
    return st;
  mw__sbuf_reset(&p->sasl_line);
  if(!mw__sbuf_append(&p->sasl_line, ev.data, ev.len))
    return mw__error_set(&p->err, MW_E_NOMEM, NULL);
  *done = true;
  return MW_OK;
}

static mw_status pop3_sasl_read(void *user, const char **line, size_t *len)
{
  struct mw_pop3 *p = user;
  mw__engine_deadline_in(&p->eng, mw__pop3_cmd_ms(p),
                         "waiting for the response to AUTH");
  mw_status st = mw__engine_run(&p->eng, pop3_line_step, p);
  if(st)
    return st;
  *line = p->sasl_line.data ? p->sasl_line.data : "";
  *len = p->sasl_line.len;
  return MW_OK;
}

static mw_status pop3_sasl_refused(void *user,
                                   const struct mw__sasl_refusal *why)
{
  struct mw_pop3 *p = user;
  bool ok = false;
  const char *text = NULL;
  size_t tlen = 0;
  if(!mw__pop3_status_line(why->line, why->len, &ok, &text, &tlen) || ok) {
    char shown[80];
    mw__pop3_shown(why->line, why->len, shown, sizeof(shown));
    return mw__error_set(&p->err, MW_E_PROTOCOL,
                         "malformed POP3 response to AUTH %s: \"%s\"",
                         why->mech, shown);
  }
  if(why->oauth_status[0])
    return mw__pop3_refusal(p, MW_E_AUTH, text, tlen,
                            "the server refused the OAuth access token as "
                            "expired or invalid (its report said status "
                            "\"%s\"): get a fresh token (%s as %s)",
                            why->oauth_status, why->mech, why->identity);
  return mw__pop3_login_refused(p, text, tlen, why->mech);
}

static mw_status pop3_sasl(struct mw_pop3 *p, const char *mechanisms)
{
  char caps[512];
  mw__pop3_state(p, POP3_AUTH);
  struct mw__sasl_server srv = {
      .tls = p->tls != NULL,
      .mechanisms = mechanisms,
      .starttls_offered = mw__capa_has(&p->capa, "STLS"),
      .offers = mechanisms ? NULL
                           : mw__pop3_capa_summary(p, caps, sizeof(caps)),
  };
  struct mw__sasl_request req = {
      .user = p->opt.user,
      .password = p->opt.password,
      .token = p->opt.oauth2_token,
      .cert_file = p->opt.tls_cert_file,
      .allowed = p->opt.auth_mechs,
      .allow_insecure = p->opt.allow_insecure_auth,
      .host = p->opt.host,
  };
  const struct mw__sasl_io io = {
      .user = p,
      .send = pop3_sasl_send,
      .flush = pop3_sasl_flush,
      .read = pop3_sasl_read,
      .refused = pop3_sasl_refused,
  };
  const struct mw__sasl_ctx ctx = {
      .proto = &mw__pop3_sasl,
      .io = &io,
      .trace = &p->trace,
      .scrub = &p->scrub,
      .err = &p->err,
  };
  const char *mech = NULL;
  mw_status st = mw__sasl_authenticate(&ctx, &req, &srv, &mech);
  if(st)
    return st;
  p->auth_mech = mech;
  mw__pop3_state(p, POP3_READY);
  return MW_OK;
}

/* Logs in: SASL when the server offers a mechanism usable with the
 * credentials and allowed, else USER/PASS (offered, or no CAPA at all)
 * when the allowed list (if any) names a mechanism that reveals the
 * password anyway (PLAIN or LOGIN), else the driver says why not. */
mw_status mw__pop3_login(struct mw_pop3 *p)
{
  const struct mw__capa_entry *sasl = mw__capa_find(&p->capa, "SASL");
  const char *mechs = sasl ? (sasl->params ? sasl->params : "") : NULL;
  bool tls = p->tls != NULL;
  bool have_pw = p->opt.user && p->opt.password;
  const char *allowed = p->opt.auth_mechs;
  const char *mech =
      mechs ? mw__sasl_choose_cert(mechs, allowed, have_pw,
                                   p->opt.oauth2_token != NULL,
                                   p->opt.tls_cert_file && tls)
            : NULL;
  bool user_ok = have_pw && (!p->capa_ok || mw__capa_has(&p->capa, "USER")) &&
                 (!allowed || mw__sasl_list_has(allowed, "PLAIN") ||
                  mw__sasl_list_has(allowed, "LOGIN"));
  if(mech || !user_ok)
    return pop3_sasl(p, mechs);
  if(!tls && !p->opt.allow_insecure_auth)
    return mw__error_set(&p->err, MW_E_INSECURE,
                         "refusing to send the password over an "
                         "unencrypted connection%s; use {tls=starttls} or "
                         "{tls=implicit} (or, knowingly, "
                         "{allow-insecure-auth})",
                         mw__capa_has(&p->capa, "STLS")
                             ? " (the server offers STLS)"
                             : "");
  mw__pop3_state(p, POP3_USER);
  return mw__pop3_send(p, POP3_CMD_USER, 0, -1, "USER %s", p->opt.user);
}

