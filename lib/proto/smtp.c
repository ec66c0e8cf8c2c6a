/*
 * proto/smtp.c - the SMTP client session's lifetime and its blocking API
 * over the state machine (proto/smtp_machine.c): creating and freeing the
 * session, connect (the layer stack from the options, net/stack.h, or a
 * given one for tests), the retry with the default minimum TLS version,
 * the session's facts, and QUIT.  The states of the setup are
 * proto/smtp_setup.c's, the mail transaction proto/smtp_send.c's.
 *
 * DESCRIPTION
 *   Each blocking call starts a job and runs the machine's step until it
 *   rests (mw__smtp_run, a loop over mw__engine_run): every wait has an
 *   absolute deadline (RFC 5321 section 4.5.3.2 defaults unless the
 *   caller set a command timeout), so a server that trickles bytes cannot
 *   stretch an operation.
 *
 * DIAGNOSTICS
 *   Every failure leaves its detail in s->err (mw_smtp_error()), with the
 *   server's reply attached when one was involved.
 */
#include "proto/smtp.h"

#include "core/util.h"
#include "net/resolve.h"
#include "net/stack.h"
#include "proto/session.h"

#include <stdio.h>
#include <string.h>

/* ---- session lifetime ------------------------------------------------ */

mw_smtp *mw_smtp_new(const mw_options *o)
{
  if(!o)
    return NULL;
  struct mw_smtp *s = mw__calloc(1, sizeof(*s));
  if(!s)
    return NULL;
  /* The client speaks SMTP whatever the options' protocol says. */
  if(!mw__session_setup(&s->opt, o, MW_PROTOCOL_SMTP, &s->trace,
                        &s->scrub)) {
    mw__free(s);
    return NULL;
  }
  mw__capa_init(&s->capa);
  mw__reply_init(&s->r);
  mw__sbuf_init(&s->bdat_buf);
  mw__sbuf_init(&s->scratch);
  mw__engine_init(&s->eng, "SMTP", MW__SMTP_MAX_LINE, 4, &s->err, &s->trace,
                  &s->scrub);
  s->err.status = MW_OK;
  s->bdat_allowed = s->opt.chunking;
  return s;
}

void mw_smtp_free(mw_smtp *s)
{
  if(!s)
    return;
  mw__smtp_close(s, s->sm == MW__SMTP_READY);
  mw__engine_free(&s->eng);
  mw__smtp_txn_clear(s);
  mw__free(s->chunk);
  mw__sbuf_free(&s->bdat_buf);
  mw__sbuf_free(&s->scratch);
  mw__reply_free(&s->r);
  mw__capa_clear(&s->capa);
  mw__capa_clear(&s->capa_plain);
  mw__scrub_free(&s->scrub);
  mw__free(s->greeting);
  mw__error_clear(&s->err);
  mw__options_release(&s->opt);
  mw__free(s);
}

const mw_error *mw_smtp_error(const mw_smtp *s) { return s ? &s->err : NULL; }

static mw_status smtp_connect_once(mw_smtp *s);

/* A minimum TLS version the server cannot do is, unless --tls-strict, a
 * reason to retry once with the default minimum (TLS 1.2: never lower),
 * said loudly in the trace. */
mw_status mw__smtp_connect(mw_smtp *s)
{
  mw_status st = smtp_connect_once(s);
  if(st != MW_E_TLS || !s->opt.tls_min || s->opt.tls_strict ||
     s->err.tls_failure != MW__TLS_FAIL_VERSION)
    return st;
  mw__trace_emit(&s->trace, MW_TRACE_TLS,
                 "WARNING: the server cannot do TLS %s; retrying with TLS "
                 "1.2 allowed (use {tls-strict} to refuse)",
                 s->opt.tls_min == MW_TLS_VERSION_1_3 ? "1.3" : "1.2");
  s->tls_fallback = s->opt.tls_min;
  s->opt.tls_min = MW_TLS_VERSION_DEFAULT;
  mw__smtp_go(s, MW__SMTP_IDLE);
  mw__capa_clear(&s->capa);
  mw__capa_clear(&s->capa_plain);
  mw__free(s->greeting);
  s->greeting = NULL;
  return smtp_connect_once(s);
}

static mw_status smtp_setup(mw_smtp *s, struct mw__layer *top);

/* Enters a phase of mw_smtp_connect() before the machine runs. */
static void smtp_phase(struct mw_smtp *s, enum mw__smtp_phase ph)
{
  s->phase = ph;
  s->phase_at[ph] = mw__now_ms();
}

/* Whether a connect may start: no connection yet, or after QUIT. */
static mw_status smtp_may_connect(struct mw_smtp *s)
{
  if(s->sm != MW__SMTP_IDLE && s->sm != MW__SMTP_CLOSED)
    return mw__error_set(&s->err, MW_E_STATE,
                         "the session is already connected or has failed");
  return MW_OK;
}

/* Notes the stack's steps as the session's phases (doctor's timings). */
static void stack_step(void *user, enum mw__stack_step step)
{
  static const enum mw__smtp_phase phases[] = {
      [MW__STACK_RESOLVE] = MW__PHASE_RESOLVE,
      [MW__STACK_CONNECT] = MW__PHASE_CONNECT,
      [MW__STACK_PROXY] = MW__PHASE_PROXY};
  smtp_phase(user, phases[step]);
}

mw_status mw__smtp_connect_over(mw_smtp *s, struct mw__layer *top)
{
  if(!s || !top)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(smtp_may_connect(s))
    return MW_E_STATE;
  memset(s->phase_at, 0, sizeof(s->phase_at));
  mw__trace_start(&s->trace);
  snprintf(s->peer, sizeof(s->peer), "%s", "memory");
  smtp_phase(s, MW__PHASE_CONNECT);
  return smtp_setup(s, top);
}

static mw_status smtp_connect_once(mw_smtp *s)
{
  if(!s)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(smtp_may_connect(s))
    return MW_E_STATE;
  memset(s->phase_at, 0, sizeof(s->phase_at));
  if(!s->opt.host)
    return mw__error_set(&s->err, MW_E_INVALID, "no server given");
  mw__trace_start(&s->trace);
  /* The layer stack: TCP, then the proxy tunnel and the PROXY header. */
  struct mw__layer *top = NULL;
  mw_status st = mw__session_open(&s->opt, "SMTP", &s->trace, stack_step, s,
                                  s->peer, sizeof(s->peer), &s->err, &top);
  if(st) {
    mw__smtp_go(s, MW__SMTP_BROKEN);
    return st;
  }
  return smtp_setup(s, top);
}

/* The session on a connected stack: implicit TLS, greeting, EHLO,
 * STARTTLS, AUTH, as the machine's connect job.  Takes ownership of top. */
static mw_status smtp_setup(mw_smtp *s, struct mw__layer *top)
{
  s->mode = mw__options_tls_mode(&s->opt);
  mw__engine_attach(&s->eng, top);
  mw__reply_free(&s->r);
  mw__reply_init(&s->r);
  s->ehlo_refused[0] = s->starttls_refused[0] = '\0';
  s->injected = 0;
  return mw__smtp_run(s, MW__SMTP_JOB_CONNECT,
                      s->mode == MW_TLS_IMPLICIT ? MW__SMTP_TLS_IMPLICIT
                                                 : MW__SMTP_GREETING);
}

mw_status mw__smtp_connect_start(mw_smtp *s, struct mw__layer *top)
{
  if(!s || !top)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(smtp_may_connect(s))
    return MW_E_STATE;
  memset(s->phase_at, 0, sizeof(s->phase_at));
  mw__trace_start(&s->trace);
  smtp_phase(s, MW__PHASE_CONNECT);
  s->mode = mw__options_tls_mode(&s->opt);
  mw__engine_attach(&s->eng, top);
  mw__reply_free(&s->r);
  mw__reply_init(&s->r);
  s->ehlo_refused[0] = s->starttls_refused[0] = '\0';
  s->injected = 0;
  return mw__smtp_begin(s, MW__SMTP_JOB_CONNECT,
                        s->mode == MW_TLS_IMPLICIT ? MW__SMTP_TLS_IMPLICIT
                                                   : MW__SMTP_GREETING);
}

/* ---- facts ------------------------------------------------------------- */

bool mw_smtp_has_capability(const mw_smtp *s, const char *keyword)
{
  return s && keyword && mw__capa_has(&s->capa, keyword);
}

const char *mw_smtp_capability_param(const mw_smtp *s, const char *keyword)
{
  const struct mw__capa_entry *e =
      s && keyword ? mw__capa_find(&s->capa, keyword) : NULL;
  return e ? e->params : NULL;
}

uint64_t mw_smtp_size_limit(const mw_smtp *s)
{
  return s ? mw__capa_size(&s->capa) : 0;
}

bool mw_smtp_is_encrypted(const mw_smtp *s) { return s && s->tls; }

#define TLS_FACT(fn, field)                                                  \
  const char *fn(const mw_smtp *s)                                           \
  {                                                                          \
    return s && s->tls ? s->tls_info.field : NULL;                           \
  }
TLS_FACT(mw_smtp_tls_version, version)
TLS_FACT(mw_smtp_tls_cipher, cipher)
TLS_FACT(mw_smtp_peer_subject, subject)
TLS_FACT(mw_smtp_peer_issuer, issuer)
TLS_FACT(mw_smtp_peer_not_after, not_after)
TLS_FACT(mw_smtp_peer_fingerprint, fingerprint)

const char *mw_smtp_auth_mechanism(const mw_smtp *s)
{
  return s ? s->auth_mech : NULL;
}
const char *mw_smtp_greeting(const mw_smtp *s)
{
  return s && s->greeting ? s->greeting : "";
}
unsigned mw_smtp_port(const mw_smtp *s)
{
  return s ? mw__options_port(&s->opt) : 0;
}

mw_tls_mode mw_smtp_tls_mode(const mw_smtp *s)
{
  return s ? mw__options_tls_mode(&s->opt) : MW_TLS_AUTO;
}

const char *mw_smtp_peer_address(const mw_smtp *s)
{
  return s ? s->peer : "";
}

mw_status mw_smtp_quit_after_send(mw_smtp *s)
{
  if(!s)
    return MW_E_INVALID;
  s->quit_after_send = true;
  return MW_OK;
}

mw_status mw_smtp_quit(mw_smtp *s)
{
  if(!s)
    return MW_E_INVALID;
  mw__error_clear(&s->err);
  if(s->sm != MW__SMTP_READY) {
    mw__smtp_go(s, MW__SMTP_CLOSED);
    return MW_OK;
  }
  return mw__smtp_run(s, MW__SMTP_JOB_QUIT, MW__SMTP_QUIT);
}
